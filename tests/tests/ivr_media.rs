//! What IVR and lobby callers see and hear: the gateway's slate video and prompt audio,
//! checked on the wire and, with baresip, decoded on the client side.

mod sip_support;

use anyhow::{Context, Result, ensure};
use cvi_e2e::baresip::{Baresip, BaresipOpts, Video};
use cvi_e2e::{CallEvent, Transport};
use serde_json::Value;
use sip_support::{Gateway, KEY_LOCAL, Opts};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(15);

fn n(v: &Value) -> u64 {
    v.as_u64().unwrap_or(0)
}

#[test]
fn ivr_caller_gets_slate_video_and_prompt_audio() -> Result<()> {
    let gw = Gateway::start(Opts::default())?;
    let _vid = gw.provision()?;
    let b = Baresip::start(BaresipOpts {
        audio_codecs: Some("PCMU".into()),
        video: Video::Fake,
        ..BaresipOpts::default()
    })?;
    b.dial(&format!("sip:{KEY_LOCAL}@{}", gw.sip), Transport::Udp)?;
    b.wait_for(&CallEvent::Established, WAIT)?;
    let call = gw.wait_call("audio and video sent", |c| {
        n(&c["media"]["audio"]["packetsSent"]) > 50 && n(&c["media"]["video"]["packetsSent"]) > 10
    })?;
    println!("{call:#}");
    let slate = call["media"]["slate"].as_array().context("slate")?;
    ensure!(
        slate
            .iter()
            .any(|l| l.as_str().is_some_and(|l| l.contains("conference ID"))),
        "{call:#}"
    );
    ensure!(call["media"]["playing"].as_str().is_some(), "{call:#}");
    b.hangup()?;
    Ok(())
}

/// A direct-dial guest waits in the lobby with its slate and music (and in the meeting's
/// lobby); once admitted by the API it is in the meeting room as a video device — its
/// H.264 (baresip playing an mp4 as its camera, avformat) goes there, and what it hears is
/// the meeting's mix: silence in an empty meeting. (tests/tests/meeting.rs checks that the
/// video decodes in a browser at the size baresip sends.)
#[test]
fn lobby_then_connected_joins_the_meeting() -> Result<()> {
    let gw = Gateway::start(Opts::default())?;
    let (vid, meeting) = gw.provision_meeting()?;
    let dir = tempfile::tempdir()?;
    let b = Baresip::start(BaresipOpts {
        audio_codecs: Some("PCMU".into()),
        video: Video::File(cvi_e2e::media_check::test_clip(dir.path(), 640, 360, 12)?),
        extra_config: vec!["video_size 640x360".into()],
        record: true,
        ..BaresipOpts::default()
    })?;
    b.dial(&format!("sip:{KEY_LOCAL}.{vid}@{}", gw.sip), Transport::Udp)?;
    b.wait_for(&CallEvent::Established, WAIT)?;
    let established = Instant::now();
    let call = gw.wait_call("the lobby slate and music", |c| {
        c["state"] == "lobby"
            && c["media"]["playing"] == "lobby"
            && n(&c["media"]["video"]["packetsSent"]) > 0
    })?;
    let lines = format!("{}", call["media"]["slate"]);
    ensure!(
        lines.contains("Waiting for someone to let you in"),
        "{lines}"
    );
    let id = call["callId"].as_str().context("callId")?.to_string();
    let room = gw.room(&meeting)?;
    ensure!(
        room["live"]["waiting"][0]["name"] == "tester",
        "the meeting's lobby: {room}"
    );
    // Two seconds of lobby music, then admission.
    std::thread::sleep(Duration::from_secs(2).saturating_sub(established.elapsed()));
    let admitted_at = established.elapsed().as_secs_f64();
    let r = gw.http("POST", &format!("/api/v1/calls/{id}/admit"), None)?;
    ensure!(r.status == 202, "{}", r.body);
    let call = gw
        .wait_call("connected", |c| c["state"] == "connected")
        .with_context(|| format!("baresip:\n{}", b.process().log_tail(30)))?;
    let received = n(&call["media"]["video"]["packetsReceived"]);
    let deadline = Instant::now() + WAIT;
    let room = loop {
        let room = gw.room(&meeting)?;
        let live = &room["live"];
        let vtc = live["participants"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["kind"] == "video_device")
            .cloned();
        if let Some(p) = vtc
            && live["watching"][p["id"].as_str().unwrap_or_default()].is_string()
        {
            break room;
        }
        ensure!(
            Instant::now() < deadline,
            "the VTC never entered the room: {room}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    ensure!(
        room["live"]["waiting"]
            .as_array()
            .is_some_and(|w| w.is_empty()),
        "{room}"
    );
    let call = gw.wait_call(
        "the caller's video flowing and the meeting's view sent",
        |c| {
            n(&c["media"]["video"]["packetsReceived"]) > received
                && c["media"]["view"].is_string()
                && c["media"]["slate"].is_null()
        },
    )?;
    println!("in the meeting, watching {}", call["media"]["view"]);
    ensure!(
        call["media"]["playing"].is_null(),
        "music must stop: {call:#}"
    );
    std::thread::sleep(Duration::from_millis(1500));
    b.hangup()?;
    gw.wait_call_gone(&id, WAIT)?;
    // At the client: music while waiting, silence once in the meeting.
    let wav = cvi_e2e::media_check::Wav::read(&b.received_audio()?)?;
    let (lobby, after) = (
        wav.rms(0.3, admitted_at - 0.2),
        wav.rms(admitted_at + 0.5, wav.duration_secs()),
    );
    println!("lobby music rms {lobby:.0}, after admission {after:.0}");
    ensure!(lobby > 300.0, "lobby music not audible: rms {lobby:.0}");
    ensure!(
        after < 50.0,
        "audio after admission must be silence: rms {after:.0}"
    );
    Ok(())
}

/// Threads and open files of a process.
fn threads_and_fds(pid: u32) -> Result<(usize, usize)> {
    let count =
        |d: String| -> Result<usize> { Ok(std::fs::read_dir(&d).with_context(|| d)?.count()) };
    Ok((
        count(format!("/proc/{pid}/task"))?,
        count(format!("/proc/{pid}/fd"))?,
    ))
}

/// One raw call: INVITE with G.711 + H.264, wait until the gateway sends video (slate
/// encoder subscribed, prompt or music playing), optionally admit from the lobby and wait
/// for the decoder, then BYE.
fn one_call(gw: &Gateway, uac: &mut sip_support::Uac, ruri: &str, admit: bool) -> Result<()> {
    use cvi_sip::Method;
    let mut leg = sip_support::Leg::new(uac, ruri);
    let inv = leg.invite(&[], Some(&sip_support::sdp_offer("sendrecv", 49172)));
    uac.send(&inv)?;
    let r = uac.final_response(Method::Invite, leg.invite_seq, WAIT)?;
    ensure!(r.status == 200, "INVITE answered {r:?}");
    leg.established(&r)?;
    uac.send(&leg.ack(None))?;
    let id = leg.call_id.clone();
    gw.wait_call("video sent", |c| {
        c["callId"] == id.as_str() && n(&c["media"]["video"]["packetsSent"]) > 0
    })?;
    if admit {
        let r = gw.http("POST", &format!("/api/v1/calls/{id}/admit"), None)?;
        ensure!(r.status == 202, "{}", r.body);
        gw.wait_call("connected", |c| {
            c["callId"] == id.as_str() && c["state"] == "connected"
        })?;
    }
    let bye = leg.request("BYE", &[], None);
    uac.send(&bye)?;
    let r = uac.final_response(Method::Bye, leg.cseq, WAIT)?;
    ensure!(r.status == 200, "BYE answered {r:?}");
    gw.wait_call_gone(&id, WAIT)?;
    Ok(())
}

/// 200 calls in a row (IVR calls, and lobby calls admitted so that the decoder runs): the
/// process's threads and file descriptors come back to where they were.
#[test]
fn two_hundred_calls_leak_no_threads_or_sockets() -> Result<()> {
    let gw = Gateway::start(Opts::default())?;
    let vid = gw.provision()?;
    let mut uac = sip_support::Uac::new(sip_support::Tp::Udp, gw.sip)?;
    let ivr = format!("sip:{KEY_LOCAL}@{}", gw.sip);
    let direct = format!("sip:{KEY_LOCAL}.{vid}@{}", gw.sip);
    // Warm up: GStreamer's and the runtime's own threads start on first use and stay.
    for i in 0..6 {
        one_call(
            &gw,
            &mut uac,
            if i % 2 == 0 { &ivr } else { &direct },
            i % 2 == 1,
        )?;
    }
    std::thread::sleep(Duration::from_millis(1500));
    let before = threads_and_fds(gw.pid())?;
    let started = Instant::now();
    for i in 0..200 {
        let admit = i % 2 == 1;
        one_call(&gw, &mut uac, if admit { &direct } else { &ivr }, admit)
            .with_context(|| format!("call {i}"))?;
    }
    let took = started.elapsed();
    // Pipelines stop asynchronously; give them a moment.
    let deadline = Instant::now() + Duration::from_secs(10);
    let after = loop {
        let now = threads_and_fds(gw.pid())?;
        if (now.0 <= before.0 + 2 && now.1 <= before.1 + 2) || Instant::now() > deadline {
            break now;
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    println!("200 calls in {took:?}; threads/fds before {before:?}, after {after:?}");
    ensure!(
        after.0 <= before.0 + 2 && after.1 <= before.1 + 2,
        "threads/fds before {before:?}, after {after:?}"
    );
    Ok(())
}

/// A 16-bit mono 8 kHz WAV of DTMF tones for `digits`: 120 ms tone, 120 ms pause each,
/// after 600 ms of silence (the caller is listening to the prompt).
fn dtmf_wav(digits: &str) -> cvi_e2e::media_check::Wav {
    const RATE: f64 = 8000.0;
    let freqs = |d: char| -> (f64, f64) {
        let rows = [697.0, 770.0, 852.0, 941.0];
        let cols = [1209.0, 1336.0, 1477.0, 1633.0];
        let keys = ["123A", "456B", "789C", "*0#D"];
        for (r, k) in keys.iter().enumerate() {
            if let Some(c) = k.find(d) {
                return (rows[r], cols[c]);
            }
        }
        (0.0, 0.0)
    };
    let mut pcm: Vec<i16> = vec![0; 4800];
    for d in digits.chars() {
        let (lo, hi) = freqs(d);
        for i in 0..960 {
            let t = f64::from(i) / RATE;
            let v = 6000.0
                * ((2.0 * std::f64::consts::PI * lo * t).sin()
                    + (2.0 * std::f64::consts::PI * hi * t).sin());
            pcm.push(v as i16);
        }
        pcm.extend(std::iter::repeat_n(0, 960));
    }
    pcm.extend(std::iter::repeat_n(0, 4000));
    cvi_e2e::media_check::Wav {
        sample_rate: 8000,
        channels: 1,
        samples: pcm,
    }
}

/// In-band DTMF: a caller without telephone-event sends the conference ID as tones in its
/// audio (encoded, packetized and paced by GStreamer — mulawenc/avenc_g722, rtppcmupay/
/// rtpg722pay, udpsink — encoders independent of ours); the IVR hears them and the caller
/// reaches the lobby.
fn in_band_tones_reach_the_ivr(rtpmap: &str, pt: u8, encode: &[&str]) -> Result<()> {
    use cvi_sip::Method;
    let gw = Gateway::start(Opts::default())?;
    let vid = gw.provision()?;
    let mut uac = sip_support::Uac::new(sip_support::Tp::Udp, gw.sip)?;
    let mut leg = sip_support::Leg::new(&uac, &format!("sip:{KEY_LOCAL}@{}", gw.sip));
    let offer = format!(
        "v=0\r\no=room 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=audio 49170 RTP/AVP {pt}\r\na=rtpmap:{pt} {rtpmap}\r\na=sendrecv\r\n"
    );
    uac.send(&leg.invite(&[], Some(&offer)))?;
    let r = uac.final_response(Method::Invite, leg.invite_seq, WAIT)?;
    ensure!(r.status == 200, "INVITE answered {r:?}");
    leg.established(&r)?;
    uac.send(&leg.ack(None))?;
    let audio = sip_support::media_of(&r, "audio")?;
    ensure!(
        audio.rtpmap("telephone-event").is_none(),
        "no telephone-event was offered"
    );
    let dir = tempfile::tempdir()?;
    let wav = dir.path().join("dtmf.wav");
    dtmf_wav(&format!("{vid}#")).write(&wav)?;
    let status = std::process::Command::new("gst-launch-1.0")
        .arg("-q")
        .arg("filesrc")
        .arg(format!("location={}", wav.display()))
        .args([
            "!",
            "wavparse",
            "!",
            "audioconvert",
            "!",
            "audioresample",
            "!",
        ])
        .args(encode)
        .args(["!", "udpsink", "host=127.0.0.1"])
        .arg(format!("port={}", audio.port))
        .arg("sync=true")
        .status()
        .context("gst-launch-1.0")?;
    ensure!(status.success(), "gst-launch-1.0 failed: {status}");
    let id = leg.call_id.clone();
    let call = gw.wait_call("the lobby", |c| {
        c["callId"] == id.as_str() && c["state"] == "lobby"
    })?;
    ensure!(
        n(&call["media"]["audio"]["packetsReceived"]) > 100,
        "{call:#}"
    );
    ensure!(
        !gw.log().contains(&vid),
        "the conference ID must not be logged"
    );
    let bye = leg.request("BYE", &[], None);
    uac.send(&bye)?;
    uac.final_response(Method::Bye, leg.cseq, WAIT)?;
    Ok(())
}

#[test]
fn in_band_g711_tones_reach_the_ivr() -> Result<()> {
    in_band_tones_reach_the_ivr(
        "PCMU/8000",
        0,
        &[
            "mulawenc",
            "!",
            "rtppcmupay",
            "pt=0",
            "min-ptime=20000000",
            "max-ptime=20000000",
        ],
    )
}

#[test]
fn in_band_g722_tones_reach_the_ivr() -> Result<()> {
    in_band_tones_reach_the_ivr(
        "G722/8000",
        9,
        &[
            "audio/x-raw,rate=16000",
            "!",
            "avenc_g722",
            "!",
            "rtpg722pay",
            "pt=9",
        ],
    )
}

/// SDES-SRTP with baresip's srtp module (`mediaenc=srtp-mand`): the caller's packets
/// authenticate and decrypt (none dropped), its RFC 4733 digits reach the IVR through SRTP,
/// and we send SRTP back.
#[test]
fn sdes_srtp_call_with_baresip() -> Result<()> {
    let gw = Gateway::start(Opts::default())?;
    let vid = gw.provision()?;
    let b = Baresip::start(BaresipOpts {
        audio_codecs: Some("PCMU".into()),
        video: Video::Fake,
        srtp: true,
        record: true,
        ..BaresipOpts::default()
    })?;
    b.dial(&format!("sip:{KEY_LOCAL}@{}", gw.sip), Transport::Udp)?;
    b.wait_for(&CallEvent::Established, WAIT)?;
    let call = gw.wait_call("SRTP both ways", |c| {
        let (a, v) = (&c["media"]["audio"], &c["media"]["video"]);
        a["srtp"] == true
            && v["srtp"] == true
            && n(&a["packetsReceived"]) > 25
            && n(&v["packetsReceived"]) > 5
            && n(&a["packetsSent"]) > 25
            && n(&v["packetsSent"]) > 5
    })?;
    // baresip sends one plaintext RTCP APP "PING" per stream at the start (16 bytes, no
    // SRTCP trailer): rightly dropped. Nothing else may be.
    ensure!(
        n(&call["media"]["audio"]["packetsDropped"]) <= 1
            && n(&call["media"]["video"]["packetsDropped"]) <= 1,
        "every SRTP packet must authenticate: {call:#}\n{}",
        gw.log()
            .lines()
            .filter(|l| l.contains("dropped"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    ensure!(
        call["streams"]
            .as_array()
            .is_some_and(|s| s.iter().all(|s| s["srtp"] == true))
    );
    let id = call["callId"].as_str().context("callId")?.to_string();
    b.send_dtmf(&format!("{vid}#"))?;
    gw.wait_call("the lobby", |c| {
        c["callId"] == id.as_str() && c["state"] == "lobby"
    })?;
    b.hangup()?;
    gw.wait_call_gone(&id, WAIT)?;
    Ok(())
}

/// On the client side: baresip decodes the gateway's slate (a picture of the size the
/// gateway chose for baresip's offered H.264 level, bright text on the dark background) and
/// records the prompt as audible audio.
#[test]
fn baresip_decodes_the_slate_and_hears_the_prompt() -> Result<()> {
    use cvi_e2e::media_check::{Gray, Wav, png_size};
    let gw = Gateway::start(Opts::default())?;
    gw.provision()?;
    let b = Baresip::start(BaresipOpts {
        audio_codecs: Some("PCMU".into()),
        video: Video::Fake,
        record: true,
        ..BaresipOpts::default()
    })?;
    b.dial(&format!("sip:{KEY_LOCAL}@{}", gw.sip), Transport::Udp)?;
    b.wait_for(&CallEvent::Established, WAIT)?;
    std::thread::sleep(Duration::from_millis(1500));
    let png = b.received_frame(Duration::from_secs(5))?;
    let (w, h) = png_size(&png)?;
    let gray = Gray::from_png(&png)?;
    let (centre, corner) = (gray.max(0.2, 0.3, 0.8, 0.7), gray.mean(0.0, 0.0, 0.1, 0.1));
    println!("frame {w}x{h}: centre max {centre}, corner mean {corner:.1}");
    // baresip offers H.264 level 3.1 (3600 macroblocks): 1280×720 is the largest slate.
    ensure!((w, h) == (1280, 720), "slate decoded at {w}x{h}");
    // White text on the dark blue-grey background (luma ~50).
    ensure!(
        centre > 200 && corner < 80.0,
        "centre max {centre}, corner {corner:.1}"
    );
    std::thread::sleep(Duration::from_millis(2500));
    let call = gw.calls()?.into_iter().next().context("the call")?;
    b.hangup()?;
    b.wait_for(&CallEvent::local_hangup(), WAIT)?;
    std::thread::sleep(Duration::from_millis(300));
    let wav = Wav::read(&b.received_audio()?)?;
    println!(
        "audio {} Hz × {}, {:.1} s, rms 0.5–4 s {:.0}",
        wav.sample_rate,
        wav.channels,
        wav.duration_secs(),
        wav.rms(0.5, 4.0)
    );
    let rms = wav.rms(0.5, 4.0);
    ensure!(
        rms > 500.0,
        "the prompt is not audible at the client: rms {rms:.0}"
    );
    ensure!(call["media"]["playing"].is_string(), "{call:#}");
    Ok(())
}
