//! Self-test of the SIP client harness against a known server: sipp as UAS; and of the
//! client-side media capture (baresip's recordings) on baresip↔baresip calls.
//!
//! Each test owns its processes, ports and temp dirs, stops by itself well within 30 s and
//! cleans up on drop. A missing client binary fails the test with the package to install.

use anyhow::{Context, Result, ensure};
use cvi_e2e::baresip::{Audio, Baresip, BaresipOpts, Video};
use cvi_e2e::linphone::{Linphone, LinphoneOpts};
use cvi_e2e::media_check::{Gray, Wav, png_size, test_clip, wav_stats};
use cvi_e2e::sipp::{Sipp, SippOpts, SippScenario, SippTls};
use cvi_e2e::tls::TestPki;
use cvi_e2e::{CallEvent, Transport};
use std::path::Path;
use std::time::{Duration, Instant};

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

// ---------------------------------------------------------------- client-side media capture

/// A's picture (the mp4) and B's (fakevideo at `video_size`): different sizes, so a frame
/// of the wrong direction cannot pass.
const CLIP: (u32, u32) = (640, 360);
const FAKE: (u32, u32) = (320, 240);

fn peer(user: &str, opts: BaresipOpts) -> Result<Baresip> {
    Baresip::start(BaresipOpts {
        user: user.into(),
        audio_codecs: Some("PCMU".into()),
        lifetime: Duration::from_secs(40),
        ..opts
    })
}

/// `a` calls `b` (auto-answer) directly on 127.0.0.1; both see the call established.
/// Returns when that was.
fn call(a: &Baresip, b: &Baresip) -> Result<Instant> {
    a.dial(&b.contact_uri(), Transport::Udp)?;
    a.wait_for(&CallEvent::Established, STEP)?;
    b.wait_for(&CallEvent::Established, STEP)?;
    Ok(Instant::now())
}

/// `a` hangs up; `b` sees the BYE (then its recordings are closed and complete). Returns
/// the call's length since `established`.
fn hang_up(a: &Baresip, b: &Baresip, established: Instant) -> Result<f64> {
    let secs = established.elapsed().as_secs_f64();
    a.hangup()?;
    a.wait_for(&CallEvent::local_hangup(), STEP)?;
    b.wait_for(&CallEvent::remote_bye(), STEP)?;
    Ok(secs)
}

/// Checks that `path` (a decoded-audio dump) lasts about `secs` and has `rms` in `range`.
fn audio_level(path: &Path, secs: f64, range: std::ops::Range<f64>) -> Result<()> {
    let wav = Wav::read(path)?;
    let st = wav.stats();
    // Skip the first half second (jitter buffer fill).
    let rms = wav.rms(0.5, st.duration_secs);
    println!("{}: {st:?}, rms from 0.5 s {rms:.1}", path.display());
    ensure!(
        (st.sample_rate, st.channels) == (8000, 1),
        "PCMU decodes to 8000 Hz mono: {st:?}"
    );
    ensure!(
        (st.duration_secs - secs).abs() < 1.0,
        "about {secs} s of audio expected: {st:?}"
    );
    ensure!(
        range.contains(&rms),
        "rms {rms:.1} not in {range:?}: {st:?}"
    );
    Ok(())
}

/// Video from an mp4 and a 440 Hz sine one way, fakevideo and the sine the other: each side
/// saves a received frame of the size the other sends (the clip's colour bars where they
/// should be) and records non-silent audio.
#[test]
fn baresip_records_received_frames_and_audio() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let clip = test_clip(dir.path(), CLIP.0, CLIP.1, 10)?;
    let a = peer(
        "alice",
        BaresipOpts {
            video: Video::File(clip),
            record: true,
            ..BaresipOpts::default()
        },
    )?;
    let b = peer(
        "bob",
        BaresipOpts {
            video: Video::Fake,
            auto_answer: true,
            record: true,
            extra_config: vec![format!("video_size {}x{}", FAKE.0, FAKE.1)],
            ..BaresipOpts::default()
        },
    )?;
    let established = call(&a, &b)?;
    let at_b = b.received_frame(STEP)?;
    let at_a = a.received_frame(STEP)?;
    ensure!(png_size(&at_b)? == CLIP, "bob got {:?}", png_size(&at_b)?);
    ensure!(png_size(&at_a)? == FAKE, "alice got {:?}", png_size(&at_a)?);
    let bars = Gray::from_png(&at_b)?;
    let (left, right) = (bars.mean(0.0, 0.1, 0.1, 0.6), bars.mean(0.9, 0.1, 1.0, 0.6));
    println!("bob's frame: left bar {left:.1}, right bar {right:.1}");
    ensure!(
        left > 150.0 && right < 80.0,
        "colour bars: left {left:.1}, right {right:.1}"
    );
    std::thread::sleep(Duration::from_secs(2));
    let secs = hang_up(&a, &b, established)?;
    for p in [&a, &b] {
        audio_level(&p.received_audio()?, secs, 3000.0..20000.0)?;
    }
    Ok(())
}

/// The negative case: a caller playing a WAV of zeros is recorded as silence, and asking
/// for a frame without video fails at once.
#[test]
fn baresip_records_silence_as_silence() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let zeros = dir.path().join("zeros.wav");
    // Longer than the call: at the end of the file baresip hangs up.
    Wav::silence(48000, 2, 15.0).write(&zeros)?;
    let a = peer(
        "alice",
        BaresipOpts {
            audio: Audio::File(zeros),
            ..BaresipOpts::default()
        },
    )?;
    let b = peer(
        "bob",
        BaresipOpts {
            auto_answer: true,
            record: true,
            ..BaresipOpts::default()
        },
    )?;
    let established = call(&a, &b)?;
    let started = Instant::now();
    let err = b
        .received_frame(STEP)
        .expect_err("no video, no snapshot module: no frame");
    ensure!(
        started.elapsed() < Duration::from_secs(3) && format!("{err:#}").contains("snapshot"),
        "{err:#}"
    );
    std::thread::sleep(Duration::from_millis(2500));
    let secs = hang_up(&a, &b, established)?;
    audio_level(&b.received_audio()?, secs, 0.0..50.0)?;
    // What bob sent (the sine) was recorded too, and is loud.
    let sent = wav_stats(&b.sent_audio()?)?;
    ensure!(sent.rms > 3000.0, "bob's sent audio: {sent:?}");
    Ok(())
}

/// `srtp` (SDES, `mediaenc=srtp-mand`) on both sides: the call connects with SRTP on the
/// audio stream at both ends and the audio decodes; a plain RTP offer is refused with 488.
#[test]
fn baresip_sdes_srtp_to_baresip() -> Result<()> {
    let srtp = || BaresipOpts {
        srtp: true,
        ..BaresipOpts::default()
    };
    let a = peer("alice", srtp())?;
    let b = peer(
        "bob",
        BaresipOpts {
            auto_answer: true,
            record: true,
            ..srtp()
        },
    )?;
    let established = call(&a, &b)?;
    let enabled = regex::Regex::new(r"srtp: audio: SRTP is Enabled \(cryptosuite=AES_CM_128")?;
    for p in [&a, &b] {
        p.process()
            .wait_for_line(&enabled, STEP)
            .with_context(|| format!("no SRTP:\n{}", p.process().log_tail(40)))?;
    }
    std::thread::sleep(Duration::from_millis(2500));
    let secs = hang_up(&a, &b, established)?;
    audio_level(&b.received_audio()?, secs, 3000.0..20000.0)?;

    let plain = peer("carol", BaresipOpts::default())?;
    plain.dial(&b.contact_uri(), Transport::Udp)?;
    let ev = plain.wait_for(&CallEvent::closed(), STEP)?;
    ensure!(
        CallEvent::closed_with_status(488).matches(&ev),
        "plain RTP to srtp-mand: {ev:?}"
    );
    Ok(())
}
