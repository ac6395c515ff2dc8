//! The IVR over real signalling: callers dial `key@domain`, type the conference ID as DTMF
//! (RFC 4733 from baresip, SIP INFO from a raw UAC), reach the lobby, get admitted through
//! the API; wrong IDs three times end with BYE; a source over its failure limit is turned away.
//! No prompts are heard yet (the media pipeline is issue 4's next step).

mod sip_support;

use anyhow::{Context, Result, ensure};
use cvi_e2e::baresip::{Baresip, BaresipOpts};
use cvi_e2e::{CallEvent, Transport};
use cvi_sip::Method;
use serde_json::Value;
use sip_support::{Gateway, KEY_LOCAL, Leg, Opts, Tp, Uac, sdp_offer};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(15);

fn wait_state(gw: &Gateway, call_id: Option<&str>, state: &str) -> Result<Value> {
    gw.wait_call(&format!("state {state}"), |c| {
        call_id.is_none_or(|id| c["callId"] == id) && c["state"] == state
    })
}

fn baresip(gw: &Gateway) -> Result<Baresip> {
    let _ = gw;
    // PCMU so that telephone-event/8000 is negotiated and DTMF goes as RFC 4733.
    Baresip::start(BaresipOpts {
        audio_codecs: Some("PCMU".into()),
        ..BaresipOpts::default()
    })
}

#[test]
fn baresip_types_the_id_waits_in_the_lobby_and_is_admitted() -> Result<()> {
    let gw = Gateway::start(Opts::default())?;
    let vid = gw.provision()?;
    let b = baresip(&gw)?;
    b.dial(&format!("sip:{KEY_LOCAL}@{}", gw.sip), Transport::Udp)?;
    b.wait_for(&CallEvent::Established, WAIT)?;
    let call = wait_state(&gw, None, "ivr")?;
    assert_eq!(call["dialMethod"], "ivr");
    let id = call["callId"].as_str().context("callId")?.to_string();
    std::thread::sleep(Duration::from_millis(500));
    b.send_dtmf(&format!("{vid}#"))?;
    // A guest caller and lobbyBypass=organization: the lobby.
    let call = wait_state(&gw, Some(&id), "lobby")?;
    assert!(call["meetingId"].is_string(), "{call}");
    let r = gw.http("POST", &format!("/api/v1/calls/{id}/admit"), None)?;
    assert_eq!(r.status, 202, "{}", r.body);
    wait_state(&gw, Some(&id), "connected")?;
    // Admitting twice is a conflict, not a crash.
    let r = gw.http("POST", &format!("/api/v1/calls/{id}/admit"), None)?;
    assert_eq!(r.status, 409, "{}", r.body);
    b.hangup()?;
    b.wait_for(&CallEvent::local_hangup(), WAIT)?;
    gw.wait_call_gone(&id, WAIT)?;
    assert!(
        !gw.log().contains(&vid),
        "the conference ID must not be logged"
    );
    Ok(())
}

#[test]
fn three_wrong_ids_end_the_call_and_repeat_offenders_are_turned_away() -> Result<()> {
    let gw = Gateway::start(Opts {
        ivr_max_failures: Some(3),
        ..Opts::default()
    })?;
    gw.provision()?;
    let b = baresip(&gw)?;
    b.dial(&format!("sip:{KEY_LOCAL}@{}", gw.sip), Transport::Udp)?;
    b.wait_for(&CallEvent::Established, WAIT)?;
    std::thread::sleep(Duration::from_millis(500));
    // Wrong length, wrong check digit, and a well-formed ID of no meeting.
    for wrong in ["12#", "0123456789#", "0000000000#"] {
        b.send_dtmf(wrong)?;
        std::thread::sleep(Duration::from_millis(300));
    }
    b.wait_for(&CallEvent::remote_bye(), WAIT)?;
    assert_eq!(gw.metric("cvi_ivr_failed_attempts_total")?, 3);
    // The same source calls again: try again later, and BYE without any digit.
    b.dial(&format!("sip:{KEY_LOCAL}@{}", gw.sip), Transport::Udp)?;
    b.wait_for(&CallEvent::Established, WAIT)?;
    b.wait_for(&CallEvent::remote_bye(), WAIT)?;
    assert_eq!(gw.metric("cvi_ivr_blocked_calls_total")?, 1);
    Ok(())
}

#[test]
fn sip_info_digits_reach_the_ivr_and_reject_from_the_lobby_hangs_up() -> Result<()> {
    let gw = Gateway::start(Opts::default())?;
    let vid = gw.provision()?;
    let mut uac = Uac::new(Tp::Udp, gw.sip)?;
    let mut leg = Leg::new(&uac, &format!("sip:{KEY_LOCAL}@{}", gw.sip));
    let inv = leg.invite(&[], Some(&sdp_offer("sendrecv", 49172)));
    uac.send(&inv)?;
    let r = uac.final_response(Method::Invite, leg.invite_seq, WAIT)?;
    ensure!(r.status == 200, "IVR INVITE answered {r:?}");
    leg.established(&r)?;
    uac.send(&leg.ack(None))?;
    wait_state(&gw, Some(&leg.call_id), "ivr")?;
    for d in format!("{vid}#").chars() {
        let body = format!("Signal={d}\r\nDuration=160\r\n");
        let info = leg.request("INFO", &[], Some(("application/dtmf-relay", &body)));
        uac.send(&info)?;
        let r = uac.final_response(Method::Info, leg.cseq, WAIT)?;
        ensure!(r.status == 200, "INFO answered {r:?}");
    }
    wait_state(&gw, Some(&leg.call_id), "lobby")?;
    let r = gw.http(
        "POST",
        &format!("/api/v1/calls/{}/reject", leg.call_id),
        None,
    )?;
    assert_eq!(r.status, 202, "{}", r.body);
    let bye = uac.request_from_gateway(Method::Bye, WAIT)?;
    uac.reply(&bye, 200)?;
    gw.wait_call_gone(&leg.call_id, WAIT)?;
    Ok(())
}
