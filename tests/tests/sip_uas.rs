//! The gateway as a carrier-grade SIP UAS, tested with a raw UAC over UDP and TCP against a
//! real `cvi serve` (one per test, SQLite in a temporary directory, port 0 everywhere).
//!
//! This test runs the binary, it does not build it: `cargo build -p cvi-gateway --bins`
//! first, then `cargo test -p cvi-e2e --test sip_uas`.

mod sip_support;

use anyhow::{Context, Result, ensure};
use cvi_sip::{Message, Method, Response};
use sip_support::{
    Gateway, KEY_LOCAL, Leg, Opts, SIP_DOMAIN, Tp, Uac, body_text, media, media_of, random_u64,
    sdp_answer_to, sdp_offer,
};
use std::net::UdpSocket;
use std::time::{Duration, Instant};

/// Enough for a decision on a debug build under parallel load.
const FINAL: Duration = Duration::from_secs(8);

/// `sip:813878896.<vid>@t.plcm.vc`.
fn dial(vid: &str) -> String {
    format!("sip:{KEY_LOCAL}.{vid}@{SIP_DOMAIN}")
}

fn header<'a>(r: &'a Response, name: &str) -> &'a str {
    r.headers.get(name).unwrap_or_default()
}

/// The port must be bound by the gateway: binding it here fails with AddrInUse.
fn assert_port_in_use(port: u16, what: &str) -> Result<()> {
    ensure!(port != 0, "{what}: port 0 in the answer");
    match UdpSocket::bind(("127.0.0.1", port)) {
        Ok(_) => anyhow::bail!("{what}: port {port} of the SDP answer is not bound by the gateway"),
        Err(e) => ensure!(
            e.kind() == std::io::ErrorKind::AddrInUse,
            "{what}: binding {port}: {e}"
        ),
    }
    Ok(())
}

/// The o= session id and version of the SDP in `r`.
fn origin(r: &Response) -> Result<(String, u64)> {
    let body = body_text(r);
    let o = body
        .lines()
        .find_map(|l| l.strip_prefix("o="))
        .with_context(|| format!("no o= line:\n{body}"))?;
    let f: Vec<&str> = o.split_whitespace().collect();
    let id = f.get(1).with_context(|| format!("o={o}"))?.to_string();
    let v = f
        .get(2)
        .and_then(|v| v.parse().ok())
        .with_context(|| format!("o= version in o={o}"))?;
    Ok((id, v))
}

/// Sends the INVITE; the first thing back must be 100 Trying within 200 ms; returns the
/// final response.
fn invite_expect_trying(uac: &mut Uac, leg: &mut Leg, invite: &str) -> Result<Response> {
    let sent = Instant::now();
    uac.send(invite)?;
    let first = uac
        .recv(Duration::from_millis(200))?
        .context("nothing within 200 ms of the INVITE (100 Trying expected)")?;
    let elapsed = sent.elapsed();
    match &first {
        Message::Response(r) if r.status == 100 => {}
        other => anyhow::bail!("first answer to the INVITE is not 100 Trying: {other:?}"),
    }
    ensure!(
        elapsed <= Duration::from_millis(200),
        "100 Trying after {elapsed:?}"
    );
    uac.final_response(Method::Invite, leg.invite_seq, FINAL)
}

/// INVITE (with `sdp` offer or none) → 100 → 200 (checked: To tag, Contact, SDP); the
/// dialog is taken; no ACK is sent.
fn invite_200(
    uac: &mut Uac,
    leg: &mut Leg,
    headers: &[(&str, &str)],
    sdp: Option<&str>,
) -> Result<Response> {
    let inv = leg.invite(headers, sdp);
    let r = invite_expect_trying(uac, leg, &inv)?;
    ensure!(r.status == 200, "INVITE {} answered {r:?}", leg.ruri);
    leg.established(&r)?;
    ensure!(
        header(&r, "Content-Type").starts_with("application/sdp"),
        "200 without application/sdp: {r:?}"
    );
    Ok(r)
}

/// A full set-up: INVITE with an offer, 200, ACK.
fn establish(uac: &mut Uac, leg: &mut Leg) -> Result<Response> {
    let r = invite_200(uac, leg, &[], Some(&sdp_offer("sendrecv", 49172)))?;
    uac.send(&leg.ack(None))?;
    Ok(r)
}

/// BYE from the UAC → 200, and the call leaves `/api/v1/calls`.
fn hang_up(gw: &Gateway, uac: &mut Uac, leg: &mut Leg) -> Result<()> {
    let bye = leg.request("BYE", &[], None);
    uac.send(&bye)?;
    let r = uac.final_response(Method::Bye, leg.cseq, FINAL)?;
    ensure!(r.status == 200, "BYE answered {r:?}");
    gw.wait_call_gone(&leg.call_id, Duration::from_secs(3))
}

/// An INVITE that must be refused with `status`; the refusal is ACKed.
fn invite_refused(
    uac: &mut Uac,
    leg: &mut Leg,
    headers: &[(&str, &str)],
    status: u16,
) -> Result<Response> {
    let inv = leg.invite(headers, Some(&sdp_offer("sendrecv", 49172)));
    uac.send(&inv)?;
    let r = uac.final_response(Method::Invite, leg.invite_seq, FINAL)?;
    ensure!(
        r.status == status,
        "INVITE {} expected {status}, got {r:?}",
        leg.ruri
    );
    uac.send(&leg.ack_failure(&r))?;
    Ok(r)
}

/// An out-of-dialog OPTIONS and its final response.
fn options(uac: &mut Uac, within: Duration) -> Result<Response> {
    let mut leg = Leg::new(uac, &format!("sip:{SIP_DOMAIN}"));
    let o = leg.request("OPTIONS", &[("Accept", "application/sdp")], None);
    uac.send(&o)?;
    uac.final_response(Method::Options, leg.cseq, within)
}

#[test]
fn options_then_drain_refuses_with_503() -> Result<()> {
    let gw = Gateway::start(Opts::default())?;
    let vid = gw.provision()?;
    let mut uac = Uac::new(Tp::Udp, gw.sip)?;
    let r = options(&mut uac, FINAL)?;
    ensure!(r.status == 200, "OPTIONS: {r:?}");
    for (h, must) in [
        ("Allow", "INVITE"),
        ("Accept", "application/sdp"),
        ("Supported", "timer"),
    ] {
        ensure!(
            header(&r, h).contains(must),
            "OPTIONS 200 {h} lacks {must}: {r:?}"
        );
    }
    ensure!(header(&r, "Allow").contains("BYE"), "Allow: {r:?}");
    // RFC 3581: the top Via comes back with rport filled in with our source port.
    let via = header(&r, "Via");
    ensure!(
        via.contains(&format!("rport={}", uac.local.port())),
        "OPTIONS 200 Via without rport=<source port>: {via}"
    );

    gw.api("POST", "/api/v1/drain", None)?;
    let r = options(&mut uac, FINAL)?;
    ensure!(r.status == 503, "OPTIONS while draining: {r:?}");
    let mut leg = Leg::new(&uac, &dial(&vid));
    let r = invite_refused(&mut uac, &mut leg, &[], 503)?;
    ensure!(
        header(&r, "Retry-After").trim().parse::<u32>().is_ok(),
        "503 without a Retry-After: {r:?}"
    );
    ensure!(
        gw.calls()?.is_empty(),
        "calls while draining: {:?}",
        gw.calls()?
    );
    Ok(())
}

#[test]
fn direct_dial_both_orders_over_udp() -> Result<()> {
    let gw = Gateway::start(Opts::default())?;
    let vid = gw.provision()?;
    for ruri in [dial(&vid), format!("sip:{vid}.{KEY_LOCAL}@{SIP_DOMAIN}")] {
        let mut uac = Uac::new(Tp::Udp, gw.sip)?;
        let mut leg = Leg::new(&uac, &ruri);
        let r = establish(&mut uac, &mut leg)?;
        let audio = media_of(&r, "audio")?;
        let video = media_of(&r, "video")?;
        assert_port_in_use(audio.port, "audio")?;
        assert_port_in_use(video.port, "video")?;
        ensure!(
            audio.rtpmap("PCMU/8000").is_some() || audio.rtpmap("PCMA/8000").is_some(),
            "no G.711 in the answer:\n{}",
            body_text(&r)
        );
        ensure!(
            video.rtpmap("H264/90000").is_some(),
            "no H.264 in the answer:\n{}",
            body_text(&r)
        );
        let c = gw.call(&leg.call_id)?.with_context(|| {
            format!(
                "call {} not in /api/v1/calls: {:?}",
                leg.call_id,
                gw.calls()
            )
        })?;
        ensure!(
            c["state"] == "connected" || c["state"] == "lobby",
            "call state: {c}"
        );
        ensure!(c["dialMethod"] == "direct", "dialMethod: {c}");
        ensure!(c["transport"] == "UDP", "transport: {c}");
        let codecs: Vec<&str> = c["streams"]
            .as_array()
            .map(|a| a.iter().filter_map(|s| s["codec"].as_str()).collect())
            .unwrap_or_default();
        ensure!(
            codecs.iter().any(|c| c.starts_with("PCM")) && codecs.contains(&"H264/90000"),
            "codecs of the call: {c}"
        );
        hang_up(&gw, &mut uac, &mut leg)?;
    }
    Ok(())
}

#[test]
fn direct_dial_over_tcp_one_connection() -> Result<()> {
    let gw = Gateway::start(Opts::default())?;
    let vid = gw.provision()?;
    let mut uac = Uac::new(Tp::Tcp, gw.sip)?;
    let mut leg = Leg::new(&uac, &dial(&vid));
    let r = invite_200(&mut uac, &mut leg, &[], Some(&sdp_offer("sendrecv", 49172)))?;
    ensure!(
        header(&r, "Contact").contains("transport=tcp"),
        "Contact of a TCP call: {r:?}"
    );
    assert_port_in_use(media_of(&r, "audio")?.port, "audio")?;
    let c = gw.call(&leg.call_id)?.context("TCP call not listed")?;
    ensure!(
        c["transport"] == "TCP" && c["dialMethod"] == "direct",
        "{c}"
    );
    // ACK and BYE in one write.
    let mut both = leg.ack(None);
    both.push_str(&leg.request("BYE", &[], None));
    uac.send(&both)?;
    let r = uac.final_response(Method::Bye, leg.cseq, FINAL)?;
    ensure!(r.status == 200, "BYE: {r:?}");
    gw.wait_call_gone(&leg.call_id, Duration::from_secs(3))?;
    // The connection still serves: OPTIONS on it.
    let r = options(&mut uac, FINAL)?;
    ensure!(r.status == 200, "OPTIONS after the call: {r:?}");
    Ok(())
}

#[test]
fn refusals_name_the_failed_check() -> Result<()> {
    let gw = Gateway::start(Opts::default())?;
    let vid = gw.provision()?;
    let mut uac = Uac::new(Tp::Udp, gw.sip)?;

    let mut leg = Leg::new(&uac, &format!("sip:999999999.{vid}@{SIP_DOMAIN}"));
    let r = invite_refused(&mut uac, &mut leg, &[], 404)?;
    ensure!(
        header(&r, "Reason").contains("tenantKeyKnown")
            && header(&r, "Warning").contains("tenantKeyKnown"),
        "unknown key: Reason/Warning should name tenantKeyKnown: {r:?}"
    );

    let mut leg = Leg::new(&uac, &format!("sip:{KEY_LOCAL}.{vid}@unknown.example.org"));
    invite_refused(&mut uac, &mut leg, &[], 404)?;

    gw.grant(None)?;
    let mut leg = Leg::new(&uac, &dial(&vid));
    let r = invite_refused(&mut uac, &mut leg, &[], 403)?;
    ensure!(
        header(&r, "Reason").contains("policyEnablesProvider")
            && header(&r, "Warning").contains("policyEnablesProvider"),
        "ungranted organizer: Reason/Warning should name policyEnablesProvider: {r:?}"
    );
    ensure!(gw.calls()?.is_empty(), "calls left: {:?}", gw.calls()?);
    Ok(())
}

#[test]
fn late_offer_answered_in_ack() -> Result<()> {
    let gw = Gateway::start(Opts::default())?;
    let vid = gw.provision()?;
    let mut uac = Uac::new(Tp::Udp, gw.sip)?;
    let mut leg = Leg::new(&uac, &dial(&vid));
    let r = invite_200(&mut uac, &mut leg, &[], None)?;
    let offer = body_text(&r);
    let ms = media(&offer);
    ensure!(
        ms.iter().any(|m| m.kind == "audio" && m.port != 0)
            && ms.iter().any(|m| m.kind == "video" && m.port != 0),
        "the 200 to an offerless INVITE carries no audio+video offer:\n{offer}"
    );
    for m in &ms {
        assert_port_in_use(m.port, &m.kind)?;
    }
    uac.send(&leg.ack(Some(&sdp_answer_to(&offer))))?;
    // No BYE comes (an unusable answer would be hung up), the call stays.
    std::thread::sleep(Duration::from_millis(800));
    while let Some(m) = uac.recv(Duration::from_millis(10))? {
        if let Message::Request(q) = &m {
            anyhow::bail!(
                "unexpected {} from the gateway after the ACK: {q:?}",
                q.method
            );
        }
    }
    let c = gw
        .call(&leg.call_id)?
        .context("late-offer call not listed")?;
    ensure!(
        c["streams"].as_array().is_some_and(|s| !s.is_empty()),
        "streams not set from the ACK's answer: {c}"
    );
    hang_up(&gw, &mut uac, &mut leg)
}

#[test]
fn cancel_before_answer_over_tcp() -> Result<()> {
    let gw = Gateway::start(Opts::default())?;
    let vid = gw.provision()?;
    let mut uac = Uac::new(Tp::Tcp, gw.sip)?;
    let mut leg = Leg::new(&uac, &dial(&vid));
    let mut burst = leg.invite(&[], Some(&sdp_offer("sendrecv", 49172)));
    burst.push_str(&leg.cancel());
    uac.send(&burst)?;
    let c = uac.final_response(Method::Cancel, leg.invite_seq, FINAL)?;
    ensure!(c.status == 200, "CANCEL answered {c:?}");
    let r = uac.final_response(Method::Invite, leg.invite_seq, FINAL)?;
    match r.status {
        487 => uac.send(&leg.ack_failure(&r))?,
        200 => {
            // The gateway answered before it saw the CANCEL: the call is up, hang up.
            leg.established(&r)?;
            uac.send(&leg.ack(None))?;
            hang_up(&gw, &mut uac, &mut leg)?;
        }
        s => anyhow::bail!("INVITE after CANCEL answered {s}: {r:?}"),
    }
    gw.wait_call_gone(&leg.call_id, Duration::from_secs(3))?;
    ensure!(
        r.status == 487,
        "with INVITE and CANCEL in one write the INVITE must be cancelled (487), got {r:?}"
    );
    Ok(())
}

#[test]
fn bye_from_the_gateway_on_api_hangup() -> Result<()> {
    let gw = Gateway::start(Opts::default())?;
    let vid = gw.provision()?;
    for tp in [Tp::Udp, Tp::Tcp] {
        let mut uac = Uac::new(tp, gw.sip)?;
        let mut leg = Leg::new(&uac, &dial(&vid));
        establish(&mut uac, &mut leg)?;
        let r = gw.http("DELETE", &format!("/api/v1/calls/{}", leg.call_id), None)?;
        ensure!(r.status == 202, "DELETE call ({tp:?}): {r:?}");
        let bye = uac.request_from_gateway(Method::Bye, Duration::from_secs(3))?;
        ensure!(
            bye.headers.get("Call-ID") == Some(leg.call_id.as_str()),
            "BYE of another call: {bye:?}"
        );
        ensure!(
            bye.uri.contains(&uac.local.to_string()),
            "BYE request-URI is not our Contact ({tp:?}): {}",
            bye.uri
        );
        let from = bye.headers.get("From").unwrap_or_default();
        let to = bye.headers.get("To").unwrap_or_default();
        ensure!(
            leg.to
                .split(";tag=")
                .nth(1)
                .is_some_and(|t| from.contains(t))
                && to.contains(&leg.from_tag),
            "BYE From/To do not carry the dialog tags ({tp:?}): From {from}, To {to}"
        );
        uac.reply(&bye, 200)?;
        gw.wait_call_gone(&leg.call_id, Duration::from_secs(3))?;
        let r = gw.http("DELETE", &format!("/api/v1/calls/{}", leg.call_id), None)?;
        ensure!(r.status == 404, "DELETE of an ended call: {r:?}");
    }
    Ok(())
}

#[test]
fn unacknowledged_200_is_retransmitted_until_ack() -> Result<()> {
    let gw = Gateway::start(Opts::default())?;
    let vid = gw.provision()?;
    let mut uac = Uac::new(Tp::Udp, gw.sip)?;
    let mut leg = Leg::new(&uac, &dial(&vid));
    let invite = leg.invite(&[], Some(&sdp_offer("sendrecv", 49172)));
    let r = invite_expect_trying(&mut uac, &mut leg, &invite)?;
    ensure!(r.status == 200, "INVITE: {r:?}");
    leg.established(&r)?;
    // A retransmitted INVITE is absorbed: answered with the 200 again, no second call.
    uac.send(&invite)?;
    let seq = leg.invite_seq;
    let is_200 = |m: &Message| {
        matches!(m, Message::Response(r) if r.status == 200)
            && sip_support::cseq_is(m, &Method::Invite, seq)
    };
    let first = Instant::now();
    let mut copies = 0;
    while first.elapsed() < Duration::from_millis(2100) {
        if let Some(m) = uac.recv(Duration::from_millis(2100).saturating_sub(first.elapsed()))?
            && is_200(&m)
        {
            copies += 1;
        }
    }
    ensure!(gw.calls()?.len() == 1, "calls: {:?}", gw.calls()?);
    ensure!(
        copies >= 3,
        "{copies} copies of the 200 within 2.1 s without ACK (expected ≥ 3: one answering \
         the retransmitted INVITE, then timer retransmissions at T1 = 0.5 s and 1.5 s)"
    );
    uac.send(&leg.ack(None))?;
    // The next retransmission was due 3.5 s after the first 200: none may come now.
    let quiet = Instant::now();
    while quiet.elapsed() < Duration::from_millis(2500) {
        if let Some(m) = uac.recv(Duration::from_millis(2500).saturating_sub(quiet.elapsed()))? {
            ensure!(!is_200(&m), "200 retransmitted after the ACK");
        }
    }
    ensure!(gw.call(&leg.call_id)?.is_some(), "the call ended");
    hang_up(&gw, &mut uac, &mut leg)
}

#[test]
fn reinvite_update_and_info_in_dialog() -> Result<()> {
    let gw = Gateway::start(Opts::default())?;
    let vid = gw.provision()?;
    let mut uac = Uac::new(Tp::Udp, gw.sip)?;
    let mut leg = Leg::new(&uac, &dial(&vid));
    let first = establish(&mut uac, &mut leg)?;
    let audio_port = media_of(&first, "audio")?.port;
    // RFC 3264 §8: every answer in the dialog keeps the o= session id; a changed
    // description has its version incremented by one.
    let (sess_id, mut version) = origin(&first)?;
    let mut check_origin = |r: &Response, what: &str| -> Result<()> {
        let (id, v) = origin(r)?;
        ensure!(
            id == sess_id && v == version + 1,
            "{what}: o= session {id} version {v}; expected session {sess_id} version {} \
             (RFC 3264 §8):\n{}",
            version + 1,
            body_text(r)
        );
        version = v;
        Ok(())
    };

    // re-INVITEs: hold, resume, drop video.
    for (offer, audio_dir, video) in [
        (sdp_offer("sendonly", 49172), "recvonly", Some("recvonly")),
        (sdp_offer("sendrecv", 49172), "sendrecv", Some("sendrecv")),
        (sdp_offer("sendrecv", 0), "sendrecv", None),
    ] {
        let inv = leg.invite(&[], Some(&offer));
        uac.send(&inv)?;
        let r = uac.final_response(Method::Invite, leg.invite_seq, FINAL)?;
        ensure!(r.status == 200, "re-INVITE ({audio_dir}) answered {r:?}");
        uac.send(&leg.ack(None))?;
        check_origin(&r, &format!("re-INVITE ({audio_dir}, video {video:?})"))?;
        let a = media_of(&r, "audio")?;
        ensure!(
            a.direction() == audio_dir,
            "re-INVITE: audio direction {} instead of {audio_dir}:\n{}",
            a.direction(),
            body_text(&r)
        );
        ensure!(
            a.port == audio_port,
            "re-INVITE moved the audio port:\n{}",
            body_text(&r)
        );
        let v = media_of(&r, "video")?;
        match video {
            Some(d) => ensure!(
                v.port != 0 && v.direction() == d,
                "re-INVITE: video should be {d} on a port:\n{}",
                body_text(&r)
            ),
            None => ensure!(
                v.port == 0,
                "re-INVITE without video: answer keeps video:\n{}",
                body_text(&r)
            ),
        }
    }

    // UPDATE with SDP: hold and resume.
    for (dir, want) in [("sendonly", "recvonly"), ("sendrecv", "sendrecv")] {
        let offer = sdp_offer(dir, 49172);
        let up = leg.request("UPDATE", &[], Some(("application/sdp", offer.as_str())));
        uac.send(&up)?;
        let r = uac.final_response(Method::Update, leg.cseq, FINAL)?;
        ensure!(r.status == 200, "UPDATE ({dir}) answered {r:?}");
        check_origin(&r, &format!("UPDATE ({dir})"))?;
        let a = media_of(&r, "audio")?;
        ensure!(
            a.direction() == want,
            "UPDATE {dir}: audio {} instead of {want}:\n{}",
            a.direction(),
            body_text(&r)
        );
    }

    // In-dialog OPTIONS.
    let o = leg.request("OPTIONS", &[], None);
    uac.send(&o)?;
    let r = uac.final_response(Method::Options, leg.cseq, FINAL)?;
    ensure!(r.status == 200, "in-dialog OPTIONS: {r:?}");

    // INFO.
    for (ct, body, want) in [
        (
            "application/dtmf-relay",
            "Signal=5\r\nDuration=160\r\n",
            200,
        ),
        (
            "application/media_control+xml",
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n<media_control><vc_primitive>\
             <to_encoder><picture_fast_update/></to_encoder></vc_primitive></media_control>\r\n",
            200,
        ),
        ("text/plain", "hello", 415),
    ] {
        let info = leg.request("INFO", &[], Some((ct, body)));
        uac.send(&info)?;
        let r = uac.final_response(Method::Info, leg.cseq, FINAL)?;
        ensure!(r.status == want, "INFO {ct}: expected {want}, got {r:?}");
    }
    ensure!(gw.call(&leg.call_id)?.is_some(), "the call ended");
    hang_up(&gw, &mut uac, &mut leg)
}

#[test]
fn session_timers() -> Result<()> {
    let gw = Gateway::start(Opts::default())?;
    let vid = gw.provision()?;
    let mut uac = Uac::new(Tp::Udp, gw.sip)?;

    let mut leg = Leg::new(&uac, &dial(&vid));
    let r = invite_refused(&mut uac, &mut leg, &[("Session-Expires", "30")], 422)?;
    ensure!(header(&r, "Min-SE").trim() == "90", "422 Min-SE: {r:?}");

    let mut leg = Leg::new(&uac, &dial(&vid));
    let r = invite_200(
        &mut uac,
        &mut leg,
        &[("Supported", "timer"), ("Session-Expires", "120")],
        Some(&sdp_offer("sendrecv", 49172)),
    )?;
    uac.send(&leg.ack(None))?;
    let se = header(&r, "Session-Expires").replace(' ', "");
    ensure!(se == "120;refresher=uac", "200 Session-Expires: {r:?}");
    ensure!(
        r.headers.values("Require").iter().any(|t| t == "timer"),
        "200 without Require: timer: {r:?}"
    );
    hang_up(&gw, &mut uac, &mut leg)
}

#[test]
fn protocol_errors() -> Result<()> {
    let gw = Gateway::start(Opts::default())?;
    let vid = gw.provision()?;
    let mut uac = Uac::new(Tp::Udp, gw.sip)?;

    // Require with an unknown extension → 420 with Unsupported.
    let mut leg = Leg::new(&uac, &dial(&vid));
    let r = invite_refused(&mut uac, &mut leg, &[("Require", "100rel, foo")], 420)?;
    let unsupported = r.headers.values("Unsupported");
    ensure!(
        unsupported.iter().any(|t| t == "100rel") && unsupported.iter().any(|t| t == "foo"),
        "420 Unsupported: {r:?}"
    );

    // BYE for no dialog → 481.
    let mut leg = Leg::new(&uac, &dial(&vid));
    leg.to = format!("<{}>;tag=nosuchdialog", leg.ruri);
    let bye = leg.request("BYE", &[], None);
    uac.send(&bye)?;
    let r = uac.final_response(Method::Bye, leg.cseq, FINAL)?;
    ensure!(r.status == 481, "BYE for no dialog: {r:?}");

    // REGISTER → 405 with Allow.
    let mut leg = Leg::new(&uac, &format!("sip:{SIP_DOMAIN}"));
    let reg = leg.request("REGISTER", &[("Expires", "3600")], None);
    uac.send(&reg)?;
    let r = uac.final_response(Method::Register, leg.cseq, FINAL)?;
    ensure!(
        r.status == 405 && header(&r, "Allow").contains("INVITE"),
        "REGISTER: {r:?}"
    );

    // tel: request-URI → 416.
    let mut leg = Leg::new(&uac, "tel:+15551234567");
    let r = invite_refused(&mut uac, &mut leg, &[], 416)?;
    ensure!(r.status == 416, "{r:?}");

    // No Call-ID → 400 (stateless; matched by CSeq).
    let mut leg = Leg::new(&uac, &dial(&vid));
    leg.cseq = (random_u64() % 1_000_000) as u32 + 1000;
    let inv = leg.invite(&[("Call-ID", "")], Some(&sdp_offer("sendrecv", 49172)));
    uac.send(&inv)?;
    let r = uac.final_response(Method::Invite, leg.invite_seq, FINAL)?;
    ensure!(r.status == 400, "INVITE without Call-ID: {r:?}");

    // CANCEL for no INVITE → 481.
    let mut leg = Leg::new(&uac, &dial(&vid));
    leg.invite_seq = 1;
    leg.invite_branch = cvi_sip::transaction::new_branch();
    uac.send(&leg.cancel())?;
    let r = uac.final_response(Method::Cancel, 1, FINAL)?;
    ensure!(r.status == 481, "CANCEL for no INVITE: {r:?}");

    // An unreadable SDP offer → 400 (or 488), no call.
    let mut leg = Leg::new(&uac, &dial(&vid));
    let inv = leg.invite(&[], Some("this is not SDP\r\n"));
    uac.send(&inv)?;
    let r = uac.final_response(Method::Invite, leg.invite_seq, FINAL)?;
    ensure!(
        matches!(r.status, 400 | 488),
        "INVITE with garbage SDP: {r:?}"
    );
    uac.send(&leg.ack_failure(&r))?;

    // Max-Forwards: 0 → 483.
    let mut leg = Leg::new(&uac, &dial(&vid));
    let r = invite_refused(&mut uac, &mut leg, &[("Max-Forwards", "0")], 483)?;
    ensure!(r.status == 483, "{r:?}");

    ensure!(gw.calls()?.is_empty(), "calls left: {:?}", gw.calls()?);
    // Still serving.
    let r = options(&mut uac, FINAL)?;
    ensure!(r.status == 200, "OPTIONS: {r:?}");
    Ok(())
}

#[test]
fn capacity_limit_refuses_with_503() -> Result<()> {
    let gw = Gateway::start(Opts {
        max_calls: Some(1),
        ..Opts::default()
    })?;
    let vid = gw.provision()?;
    let mut uac = Uac::new(Tp::Udp, gw.sip)?;
    let mut first = Leg::new(&uac, &dial(&vid));
    establish(&mut uac, &mut first)?;
    let mut uac2 = Uac::new(Tp::Udp, gw.sip)?;
    let mut second = Leg::new(&uac2, &dial(&vid));
    let r = invite_refused(&mut uac2, &mut second, &[], 503)?;
    ensure!(
        header(&r, "Retry-After").trim().parse::<u32>().is_ok(),
        "503 without Retry-After: {r:?}"
    );
    hang_up(&gw, &mut uac, &mut first)?;
    // Capacity is back.
    let mut third = Leg::new(&uac2, &dial(&vid));
    establish(&mut uac2, &mut third)?;
    hang_up(&gw, &mut uac2, &mut third)
}

/// xorshift64*: deterministic junk from a random seed.
struct Junk(u64);

impl Junk {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| (self.next() >> 32) as u8).collect()
    }
}

#[test]
fn garbage_does_not_stop_the_gateway() -> Result<()> {
    let gw = Gateway::start(Opts::default())?;
    let mut j = Junk(random_u64() | 1);
    let sock = UdpSocket::bind("127.0.0.1:0")?;
    let half = [
        "INVITE sip:813878896.1234567890@t.plcm.vc SIP/2.0\r\nVia: SIP/2.0/UDP 1.2.3.4;bra",
        "OPTIONS sip:t.plcm.vc SIP/2.0\r\nContent-Length: 99999\r\n\r\nabc",
        "SIP/2.0 200 OK\r\nVia: nonsense\r\n\r\n",
        "BYE sip:x SIP/3.0\r\n\r\n",
        "\u{0}\u{0}\u{0}INVITE",
        "INVITE sip:x SIP/2.0\r\nVia SIP/2.0/UDP 1.2.3.4\r\n\r\n",
        "REGISTER sip:x SIP/2.0\r\n\tfolded-without-header\r\n\r\n",
    ];
    for i in 0..2000usize {
        let d = match i % 10 {
            0 => half[(i / 10) % half.len()].as_bytes().to_vec(),
            1 if i % 200 == 1 => j.bytes(60_000),
            2 => {
                let mut b = b"INVITE sip:a@b SIP/2.0\r\n".to_vec();
                b.extend(j.bytes(200));
                b
            }
            _ => {
                let n = (j.next() % 1400) as usize + 1;
                j.bytes(n)
            }
        };
        // Loopback may drop when the gateway's buffer is full; that is fine.
        let _ = sock.send_to(&d, gw.sip);
        if i % 100 == 99 {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    // A junk TCP connection: binary, then an oversized header section.
    {
        use std::io::Write;
        let mut t = std::net::TcpStream::connect(gw.sip)?;
        let _ = t.write_all(&j.bytes(4096));
        let mut t2 = std::net::TcpStream::connect(gw.sip)?;
        let mut big = b"INVITE sip:a@b SIP/2.0\r\nX: ".to_vec();
        big.extend(std::iter::repeat_n(b'a', 100_000));
        let _ = t2.write_all(&big);
    }
    std::thread::sleep(Duration::from_millis(200));
    let mut uac = Uac::new(Tp::Udp, gw.sip)?;
    let sent = Instant::now();
    let r = options(&mut uac, Duration::from_secs(1))
        .context("OPTIONS not answered within 1 s after the garbage")?;
    ensure!(r.status == 200, "OPTIONS after garbage: {r:?}");
    ensure!(
        sent.elapsed() <= Duration::from_secs(1),
        "OPTIONS took {:?}",
        sent.elapsed()
    );
    let errors = gw.metric("cvi_sip_parse_errors_total")?;
    ensure!(errors > 0, "cvi_sip_parse_errors_total is {errors}");
    // TCP still accepts and serves.
    let mut tcp = Uac::new(Tp::Tcp, gw.sip)?;
    let r = options(&mut tcp, Duration::from_secs(2))?;
    ensure!(r.status == 200, "OPTIONS over TCP after garbage: {r:?}");
    Ok(())
}

/// A room the meeting invited (its From URI is in `invitedRooms`) shows as a one-touch join.
#[test]
fn invited_room_is_a_one_touch_join() -> Result<()> {
    let gw = Gateway::start(Opts::default())?;
    gw.provision()?;
    let m = gw.api(
        "POST",
        "/api/v1/tenants/Contoso/onlineMeetings",
        Some(&serde_json::json!({
            "organizer": sip_support::ORGANIZER,
            "subject": "Room calendar",
            "invitedRooms": ["sip:room@vtc.example.com"],
        })),
    )?;
    let vid = m["videoTeleconferenceId"]
        .as_str()
        .context("vid")?
        .to_string();
    let mut uac = Uac::new(Tp::Udp, gw.sip)?;
    let mut leg = Leg::new(&uac, &dial(&vid));
    establish(&mut uac, &mut leg)?;
    let call = gw.call(&leg.call_id)?.context("the call is listed")?;
    ensure!(call["dialMethod"] == "oneTouch", "{call}");
    hang_up(&gw, &mut uac, &mut leg)
}

/// No RTP and no RTCP at all: the gateway hangs up. RTCP alone (a muted caller) keeps the
/// call up.
#[test]
fn media_timeout_hangs_up_silent_calls_only() -> Result<()> {
    let gw = Gateway::start(Opts {
        media_timeout: Some(2),
        ..Opts::default()
    })?;
    let vid = gw.provision()?;
    // A caller that sends RTCP reports (to the RTCP port, RTP + 1) every 300 ms for 4 s.
    let mut uac = Uac::new(Tp::Udp, gw.sip)?;
    let mut leg = Leg::new(&uac, &dial(&vid));
    let first = establish(&mut uac, &mut leg)?;
    let rtcp_port = media_of(&first, "audio")?.port + 1;
    let sock = UdpSocket::bind("127.0.0.1:0")?;
    let rr = [0x81u8, 201, 0, 1, 0, 0, 0, 1]; // an empty RTCP receiver report
    let until = Instant::now() + Duration::from_secs(4);
    while Instant::now() < until {
        sock.send_to(&rr, ("127.0.0.1", rtcp_port))?;
        if let Some(m) = uac.recv(Duration::from_millis(300))? {
            ensure!(
                !matches!(&m, Message::Request(r) if r.method == Method::Bye),
                "BYE while RTCP flows"
            );
        }
    }
    // Silence from now on: BYE within the timeout plus a check interval.
    let bye = uac.request_from_gateway(Method::Bye, Duration::from_secs(5))?;
    uac.reply(&bye, 200)?;
    gw.wait_call_gone(&leg.call_id, Duration::from_secs(3))?;
    Ok(())
}
