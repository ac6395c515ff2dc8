//! Real SIP clients from Debian — baresip and linphonec — dial the real `cvi` gateway over
//! UDP, TCP and TLS on loopback. Run `cargo build --bins` first (the README test command does).

mod sip_support;

use anyhow::{Context, Result};
use cvi_e2e::baresip::{Baresip, BaresipOpts};
use cvi_e2e::linphone::{Linphone, LinphoneOpts};
use cvi_e2e::tls::TestPki;
use cvi_e2e::{CallEvent, Transport};
use serde_json::json;
use sip_support::{Gateway, KEY_LOCAL, Opts};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(15);

/// A provisioned gateway with SIP over TLS; `client_ca` makes it ask for client certificates.
fn gateway(tls: Option<&TestPki>, client_ca: bool) -> Result<(Gateway, String)> {
    let opts = Opts {
        tls: tls.map(|p| {
            (
                p.server.cert.clone(),
                p.server.key.clone(),
                client_ca.then(|| p.ca.clone()),
            )
        }),
        ..Opts::default()
    };
    let gw = Gateway::start(opts)?;
    let vid = gw.provision()?;
    Ok((gw, vid))
}

fn target(gw: &Gateway, t: Transport, user: &str) -> String {
    let addr = match t {
        Transport::Tls => gw.sip_tls.unwrap_or(gw.sip),
        _ => gw.sip,
    };
    format!("sip:{user}@{addr}")
}

/// Waits for the gateway to list exactly one call and returns it.
fn only_call(gw: &Gateway) -> Result<serde_json::Value> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let calls = gw.calls()?;
        if calls.len() == 1 && calls[0]["state"] != "deciding" {
            return Ok(calls[0].clone());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "expected one call, got {calls:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn pki() -> Result<TestPki> {
    // The client certificate names contoso.com, a verified domain of the test tenant.
    TestPki::generate(&["gw.t.plcm.vc"], "contoso.com")
}

fn baresip_flow(t: Transport) -> Result<()> {
    let pki = pki()?;
    let (gw, vid) = gateway(Some(&pki), true)?;
    let b = Baresip::start(BaresipOpts {
        transport: t,
        ..BaresipOpts::with_ca(&pki)
    })?;
    // key.conf: answered; the client hangs up.
    b.dial(&target(&gw, t, &format!("{KEY_LOCAL}.{vid}")), t)?;
    b.wait_for(&CallEvent::Established, WAIT)?;
    let call = only_call(&gw)?;
    assert_eq!(call["transport"], t.via());
    assert_eq!(call["dialMethod"], "direct");
    assert!(
        call["streams"].as_array().is_some_and(|s| !s.is_empty()),
        "{call}"
    );
    let id = call["callId"].as_str().context("callId")?.to_string();
    b.hangup()?;
    b.wait_for(&CallEvent::local_hangup(), WAIT)?;
    gw.wait_call_gone(&id, WAIT)?;
    // conf.key: answered; the gateway hangs up (API).
    b.dial(&target(&gw, t, &format!("{vid}.{KEY_LOCAL}")), t)?;
    b.wait_for(&CallEvent::Established, WAIT)?;
    let id = only_call(&gw)?["callId"]
        .as_str()
        .context("callId")?
        .to_string();
    let r = gw.http("DELETE", &format!("/api/v1/calls/{id}"), None)?;
    assert_eq!(r.status, 202, "{}", r.body);
    b.wait_for(&CallEvent::remote_bye(), WAIT)?;
    gw.wait_call_gone(&id, WAIT)?;
    // Unknown tenant key: 404.
    b.dial(&target(&gw, t, &format!("999999999.{vid}")), t)?;
    b.wait_for(&CallEvent::closed_with_status(404), WAIT)?;
    // The organizer loses the grant: 403.
    gw.grant(None)?;
    b.dial(&target(&gw, t, &format!("{KEY_LOCAL}.{vid}")), t)?;
    b.wait_for(&CallEvent::closed_with_status(403), WAIT)?;
    Ok(())
}

#[test]
fn baresip_over_udp() -> Result<()> {
    baresip_flow(Transport::Udp)
}

#[test]
fn baresip_over_tcp() -> Result<()> {
    baresip_flow(Transport::Tcp)
}

#[test]
fn baresip_over_tls() -> Result<()> {
    baresip_flow(Transport::Tls)
}

/// A meeting that refuses anonymous callers admits a TLS caller whose certificate names a
/// verified domain of the tenant — and refuses the same caller without a certificate.
#[test]
fn tls_peer_domain_is_trusted_caller_evidence() -> Result<()> {
    let pki = pki()?;
    let (gw, _) = gateway(Some(&pki), true)?;
    let m = gw.api(
        "POST",
        "/api/v1/tenants/Contoso/onlineMeetings",
        Some(&json!({"organizer": sip_support::ORGANIZER, "subject": "Members only", "allowAnonymousJoin": false})),
    )?;
    let vid = m["videoTeleconferenceId"]
        .as_str()
        .context("vid")?
        .to_string();
    let uri = target(&gw, Transport::Tls, &format!("{KEY_LOCAL}.{vid}"));
    let anonymous = Baresip::start(BaresipOpts {
        transport: Transport::Tls,
        ..BaresipOpts::with_ca(&pki)
    })?;
    anonymous.dial(&uri, Transport::Tls)?;
    anonymous.wait_for(&CallEvent::closed_with_status(403), WAIT)?;
    let trusted = Baresip::start(BaresipOpts {
        transport: Transport::Tls,
        ..BaresipOpts::with_client_cert(&pki)
    })?;
    trusted.dial(&uri, Transport::Tls)?;
    trusted.wait_for(&CallEvent::Established, WAIT)?;
    let call = only_call(&gw)?;
    // Trusted callers bypass a lobby set to "organization".
    assert_eq!(call["state"], "connected", "{call}");
    trusted.hangup()?;
    trusted.wait_for(&CallEvent::local_hangup(), WAIT)?;
    Ok(())
}

fn linphone_flow(t: Transport) -> Result<()> {
    let pki = pki()?;
    // linphonec 5.1 (belle-sip/mbedTLS) stalls in the handshake when the server asks for a
    // client certificate it does not have, so this gateway does not ask.
    let (gw, vid) = gateway(Some(&pki), false)?;
    let l = Linphone::start(LinphoneOpts::with_ca(&pki))?;
    l.dial(&target(&gw, t, &format!("{KEY_LOCAL}.{vid}")), t)?;
    l.wait_for(&CallEvent::Established, WAIT)?;
    let call = only_call(&gw)?;
    assert_eq!(call["transport"], t.via());
    let id = call["callId"].as_str().context("callId")?.to_string();
    l.hangup()?;
    l.wait_for(&CallEvent::closed(), WAIT)?;
    gw.wait_call_gone(&id, WAIT)?;
    l.dial(&target(&gw, t, &format!("{vid}.{KEY_LOCAL}")), t)?;
    l.wait_for(&CallEvent::Established, WAIT)?;
    let id = only_call(&gw)?["callId"]
        .as_str()
        .context("callId")?
        .to_string();
    let r = gw.http("DELETE", &format!("/api/v1/calls/{id}"), None)?;
    assert_eq!(r.status, 202, "{}", r.body);
    l.wait_for(&CallEvent::remote_bye(), WAIT)?;
    l.dial(&target(&gw, t, &format!("999999999.{vid}")), t)?;
    l.wait_for(&CallEvent::closed_with_status(404), WAIT)?;
    gw.grant(None)?;
    l.dial(&target(&gw, t, &format!("{KEY_LOCAL}.{vid}")), t)?;
    l.wait_for(&CallEvent::closed_with_status(403), WAIT)?;
    Ok(())
}

#[test]
fn linphone_over_udp() -> Result<()> {
    linphone_flow(Transport::Udp)
}

#[test]
fn linphone_over_tcp() -> Result<()> {
    linphone_flow(Transport::Tcp)
}

#[test]
fn linphone_over_tls() -> Result<()> {
    linphone_flow(Transport::Tls)
}
