//! Self-test of the SIP client harness against a known server: sipp as UAS.
//!
//! Each test owns its processes, ports and temp dirs, stops by itself well within 30 s and
//! cleans up on drop. A missing client binary fails the test with the package to install.

use anyhow::Result;
use cvi_e2e::baresip::{Baresip, BaresipOpts};
use cvi_e2e::linphone::{Linphone, LinphoneOpts};
use cvi_e2e::sipp::{Sipp, SippOpts, SippScenario, SippTls};
use cvi_e2e::tls::TestPki;
use cvi_e2e::{CallEvent, Transport};
use std::time::Duration;

const STEP: Duration = Duration::from_secs(10);

/// What the tests need from either client.
trait Client {
    fn dial(&self, uri: &str, t: Transport) -> Result<()>;
    fn hangup(&self) -> Result<()>;
    fn wait_for(&self, e: &CallEvent, timeout: Duration) -> Result<CallEvent>;
    fn send_dtmf(&self, digits: &str) -> Result<()>;
}

impl Client for Baresip {
    fn dial(&self, uri: &str, t: Transport) -> Result<()> {
        Baresip::dial(self, uri, t)
    }
    fn hangup(&self) -> Result<()> {
        Baresip::hangup(self)
    }
    fn wait_for(&self, e: &CallEvent, timeout: Duration) -> Result<CallEvent> {
        Baresip::wait_for(self, e, timeout)
    }
    fn send_dtmf(&self, digits: &str) -> Result<()> {
        Baresip::send_dtmf(self, digits)
    }
}

impl Client for Linphone {
    fn dial(&self, uri: &str, t: Transport) -> Result<()> {
        Linphone::dial(self, uri, t)
    }
    fn hangup(&self) -> Result<()> {
        Linphone::hangup(self)
    }
    fn wait_for(&self, e: &CallEvent, timeout: Duration) -> Result<CallEvent> {
        Linphone::wait_for(self, e, timeout)
    }
    fn send_dtmf(&self, digits: &str) -> Result<()> {
        Linphone::send_dtmf(self, digits)
    }
}

/// Dial, see it ring and answer, hang up from the client, and check sipp got ACK and BYE
/// and finished its scenario.
fn answered_then_local_hangup(client: &dyn Client, sipp: &Sipp) {
    client
        .dial(&sipp.uri("service"), sipp.transport())
        .expect("dial");
    client
        .wait_for(&CallEvent::Ringing, STEP)
        .expect("180 Ringing seen by the client");
    client
        .wait_for(&CallEvent::Established, STEP)
        .expect("call established");
    client.send_dtmf("1").expect("DTMF");
    client.hangup().expect("hangup");
    client
        .wait_for(&CallEvent::local_hangup(), STEP)
        .expect("call closed after local hangup");
    sipp.wait_success(STEP)
        .expect("sipp saw the whole call, BYE included");
    let mut methods = sipp.received_methods();
    methods.dedup(); // UDP retransmissions
    assert_eq!(methods, ["INVITE", "ACK", "BYE"], "requests sipp received");
}

/// Dial the reject scenario and expect `Closed` with that status.
fn rejected(client: &dyn Client, sipp: &Sipp, status: u16) {
    client
        .dial(&sipp.uri("nobody"), sipp.transport())
        .expect("dial");
    let ev = client
        .wait_for(&CallEvent::closed(), STEP)
        .expect("call closed");
    assert!(
        CallEvent::closed_with_status(status).matches(&ev),
        "expected Closed with status {status}, got {ev:?}"
    );
    sipp.wait_success(STEP).expect("sipp got the ACK");
}

/// Far end answers then sends BYE: `Closed` with REASON_REMOTE_BYE.
fn remote_bye(client: &dyn Client, sipp: &Sipp) {
    client
        .dial(&sipp.uri("service"), sipp.transport())
        .expect("dial");
    client
        .wait_for(&CallEvent::Established, STEP)
        .expect("call established");
    client
        .wait_for(&CallEvent::remote_bye(), STEP)
        .expect("closed by the far end's BYE");
    sipp.wait_success(STEP)
        .expect("sipp got 200 OK for its BYE");
}

fn sipp(scenario: SippScenario, t: Transport) -> Sipp {
    Sipp::start(SippOpts::new(scenario, t)).expect("start sipp")
}

fn sipp_tls(scenario: SippScenario, pki: &TestPki, require_client_cert: bool) -> Sipp {
    let mut opts = SippOpts::tls(scenario, pki);
    opts.tls = Some(SippTls {
        require_client_cert,
        ..SippTls::from_pki(pki)
    });
    Sipp::start(opts).expect("start sipp behind the TLS front")
}

fn baresip(opts: BaresipOpts) -> Baresip {
    Baresip::start(opts).expect("start baresip")
}

fn linphone(opts: LinphoneOpts) -> Linphone {
    Linphone::start(opts).expect("start linphonec")
}

fn pki() -> TestPki {
    TestPki::generate_default().expect("test PKI")
}

// ---------------------------------------------------------------- baresip

#[test]
fn baresip_udp_builtin_uas_answered_then_hangup() {
    let s = sipp(SippScenario::BuiltinUas, Transport::Udp);
    answered_then_local_hangup(&baresip(BaresipOpts::default()), &s);
}

#[test]
fn baresip_tcp_answered_then_hangup() {
    let s = sipp(SippScenario::Answer, Transport::Tcp);
    answered_then_local_hangup(&baresip(BaresipOpts::default()), &s);
}

#[test]
fn baresip_udp_rejected_404() {
    let s = sipp(SippScenario::reject(404), Transport::Udp);
    rejected(&baresip(BaresipOpts::default()), &s, 404);
}

#[test]
fn baresip_tcp_rejected_486() {
    let s = sipp(SippScenario::reject(486), Transport::Tcp);
    rejected(&baresip(BaresipOpts::default()), &s, 486);
}

#[test]
fn baresip_udp_remote_bye() {
    let s = sipp(
        SippScenario::AnswerThenBye {
            after: Duration::from_millis(800),
        },
        Transport::Udp,
    );
    remote_bye(&baresip(BaresipOpts::default()), &s);
}

#[test]
fn baresip_tls_answered_then_hangup() {
    let pki = pki();
    let s = sipp_tls(SippScenario::Answer, &pki, false);
    answered_then_local_hangup(&baresip(BaresipOpts::with_ca(&pki)), &s);
}

#[test]
fn baresip_tls_rejected_404() {
    let pki = pki();
    let s = sipp_tls(SippScenario::reject(404), &pki, false);
    rejected(&baresip(BaresipOpts::with_ca(&pki)), &s, 404);
}

#[test]
fn baresip_tls_client_certificate_remote_bye() {
    let pki = pki();
    let s = sipp_tls(
        SippScenario::AnswerThenBye {
            after: Duration::from_millis(800),
        },
        &pki,
        true,
    );
    remote_bye(&baresip(BaresipOpts::with_client_cert(&pki)), &s);
}

// ---------------------------------------------------------------- linphonec

#[test]
fn linphone_udp_builtin_uas_answered_then_hangup() {
    let s = sipp(SippScenario::BuiltinUas, Transport::Udp);
    answered_then_local_hangup(&linphone(LinphoneOpts::default()), &s);
}

#[test]
fn linphone_tcp_answered_then_hangup() {
    let s = sipp(SippScenario::Answer, Transport::Tcp);
    answered_then_local_hangup(&linphone(LinphoneOpts::default()), &s);
}

#[test]
fn linphone_udp_rejected_404() {
    let s = sipp(SippScenario::reject(404), Transport::Udp);
    rejected(&linphone(LinphoneOpts::default()), &s, 404);
}

#[test]
fn linphone_tcp_rejected_486() {
    let s = sipp(SippScenario::reject(486), Transport::Tcp);
    rejected(&linphone(LinphoneOpts::default()), &s, 486);
}

#[test]
fn linphone_udp_remote_bye() {
    let s = sipp(
        SippScenario::AnswerThenBye {
            after: Duration::from_millis(800),
        },
        Transport::Udp,
    );
    remote_bye(&linphone(LinphoneOpts::default()), &s);
}

#[test]
fn linphone_tls_verified_answered_then_hangup() {
    let pki = pki();
    let s = sipp_tls(SippScenario::Answer, &pki, false);
    answered_then_local_hangup(&linphone(LinphoneOpts::with_ca(&pki)), &s);
}

#[test]
fn linphone_tls_rejected_404() {
    let pki = pki();
    let s = sipp_tls(SippScenario::reject(404), &pki, false);
    rejected(&linphone(LinphoneOpts::with_ca(&pki)), &s, 404);
}

#[test]
fn linphone_tls_client_certificate_remote_bye() {
    let pki = pki();
    let s = sipp_tls(
        SippScenario::AnswerThenBye {
            after: Duration::from_millis(800),
        },
        &pki,
        true,
    );
    remote_bye(&linphone(LinphoneOpts::with_client_cert(&pki)), &s);
}

// ---------------------------------------------------------------- harness

#[test]
fn missing_binary_error_names_the_package() {
    let err = cvi_e2e::proc::require_binary("no-such-sip-client-xyz", "some-debian-package")
        .expect_err("a missing binary is an error");
    let msg = format!("{err:#}");
    assert!(msg.contains("some-debian-package"), "{msg}");
}
