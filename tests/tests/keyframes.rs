//! Keyframes on the SIP leg, on real sockets: the slate stream starts with SPS/PPS/IDR; a
//! PLI from the caller brings a new IDR at once; a caller that negotiated `nack pli` is asked
//! for keyframes by RTCP PLI, one that negotiated no feedback by SIP INFO
//! `picture_fast_update` (RFC 5168).

mod sip_support;

use anyhow::{Context, Result, bail, ensure};
use cvi_sip::Method;
use sip_support::{Gateway, KEY_LOCAL, Leg, Opts, Tp, Uac};
use std::net::UdpSocket;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(15);

/// The caller's media sockets: audio RTP/RTCP and video RTP/RTCP on ephemeral ports.
struct Sockets {
    audio: UdpSocket,
    video: UdpSocket,
    video_rtcp: UdpSocket,
}

fn bind() -> Result<Sockets> {
    let s = || -> Result<UdpSocket> {
        let s = UdpSocket::bind("127.0.0.1:0")?;
        s.set_read_timeout(Some(Duration::from_millis(100)))?;
        Ok(s)
    };
    Ok(Sockets {
        audio: s()?,
        video: s()?,
        video_rtcp: s()?,
    })
}

fn offer(s: &Sockets, feedback: &str) -> Result<String> {
    let port = |u: &UdpSocket| -> Result<u16> { Ok(u.local_addr()?.port()) };
    Ok(format!(
        "v=0\r\no=room 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=audio {} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n\
         m=video {} RTP/AVPF 97\r\na=rtpmap:97 H264/90000\r\n\
         a=fmtp:97 profile-level-id=42e01e;packetization-mode=1\r\n\
         a=rtcp:{}\r\n{feedback}a=sendrecv\r\n",
        port(&s.audio)?,
        port(&s.video)?,
        port(&s.video_rtcp)?
    ))
}

/// NAL unit types in one H.264 RTP payload (single NAL, or the FU-A's inner type on its
/// first fragment).
fn nal_types(payload: &[u8]) -> Vec<u8> {
    match payload.first().map(|b| b & 0x1f) {
        Some(28) => match payload.get(1) {
            Some(fu) if fu & 0x80 != 0 => vec![fu & 0x1f],
            _ => vec![],
        },
        Some(24) => {
            // STAP-A: 16-bit sizes.
            let mut v = Vec::new();
            let mut i = 1;
            while let (Some(a), Some(b)) = (payload.get(i), payload.get(i + 1)) {
                let len = usize::from(*a) << 8 | usize::from(*b);
                if let Some(h) = payload.get(i + 2) {
                    v.push(h & 0x1f);
                }
                i += 2 + len;
            }
            v
        }
        Some(t) => vec![t],
        None => vec![],
    }
}

/// Reads video RTP until a packet carries NAL type 5 (IDR); returns what came before it
/// and the SSRC.
fn wait_idr(video: &UdpSocket, within: Duration) -> Result<(Vec<u8>, u32)> {
    let deadline = Instant::now() + within;
    let mut seen = Vec::new();
    let mut buf = [0u8; 2048];
    while Instant::now() < deadline {
        let Ok(n) = video.recv(&mut buf) else {
            continue;
        };
        let p = buf.get(..n).context("short read")?;
        ensure!(p.len() > 12 && p[0] >> 6 == 2, "not RTP: {p:02x?}");
        let cc = usize::from(p[0] & 0x0f);
        let ssrc = u32::from_be_bytes([p[8], p[9], p[10], p[11]]);
        let types = nal_types(p.get(12 + 4 * cc..).unwrap_or_default());
        if types.contains(&5) {
            return Ok((seen, ssrc));
        }
        seen.extend(types);
    }
    bail!("no IDR within {within:?}; NAL types seen: {seen:?}")
}

fn call(gw: &Gateway, uac: &mut Uac, ruri: &str, sdp: &str) -> Result<(Leg, cvi_sip::Response)> {
    let mut leg = Leg::new(uac, ruri);
    uac.send(&leg.invite(&[], Some(sdp)))?;
    let r = uac.final_response(Method::Invite, leg.invite_seq, WAIT)?;
    ensure!(r.status == 200, "INVITE answered {r:?}\n{}", gw.log());
    leg.established(&r)?;
    uac.send(&leg.ack(None))?;
    Ok((leg, r))
}

#[test]
fn slate_starts_with_an_idr_and_a_pli_brings_another_at_once() -> Result<()> {
    let gw = Gateway::start(Opts::default())?;
    gw.provision()?;
    let s = bind()?;
    let mut uac = Uac::new(Tp::Udp, gw.sip)?;
    let sdp = offer(&s, "a=rtcp-fb:97 nack pli\r\na=rtcp-fb:97 ccm fir\r\n")?;
    let (leg, r) = call(&gw, &mut uac, &format!("sip:{KEY_LOCAL}@{}", gw.sip), &sdp)?;
    // Sent before any of our packets: the gateway sends to the signalled addresses.
    let (before, ssrc) = wait_idr(&s.video, Duration::from_secs(5))?;
    // SPS and PPS, perhaps the encoder's SEI, then the IDR: no slice of another picture
    // and no access unit delimiters (some room systems choke on them).
    ensure!(
        before.contains(&7) && before.contains(&8) && before.iter().all(|t| [6, 7, 8].contains(t)),
        "the stream must start with SPS/PPS and the IDR, saw {before:?}"
    );
    // Let the stream run into P frames, then ask for a keyframe.
    let start = Instant::now();
    let mut buf = [0u8; 2048];
    while start.elapsed() < Duration::from_millis(1500) {
        let _ = s.video.recv(&mut buf);
    }
    let video_rtcp = sip_support::media_of(&r, "video")?.port + 1;
    let mut pli = vec![0x81, 206, 0, 2];
    pli.extend_from_slice(&0x1234_5678u32.to_be_bytes());
    pli.extend_from_slice(&ssrc.to_be_bytes());
    let asked = Instant::now();
    s.video_rtcp.send_to(&pli, ("127.0.0.1", video_rtcp))?;
    wait_idr(&s.video, Duration::from_millis(800)).context("IDR after the PLI")?;
    println!("IDR {:?} after the PLI", asked.elapsed());
    // The slate's regular keyframe interval is 10 s: this one answered the PLI.
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let c = gw.call(&leg.call_id)?.context("call")?;
        if c["media"]["video"]["keyframeRequestsReceived"].as_u64() >= Some(1) {
            break;
        }
        ensure!(Instant::now() < deadline, "PLI not counted: {c:#}");
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}

/// Admits a direct-dial caller and returns once the call is connected.
fn connected_call(gw: &Gateway, uac: &mut Uac, s: &Sockets, fb: &str) -> Result<Leg> {
    let vid = gw.provision()?;
    let sdp = offer(s, fb)?;
    let (leg, _) = call(gw, uac, &format!("sip:{KEY_LOCAL}.{vid}@{}", gw.sip), &sdp)?;
    gw.wait_call("the lobby", |c| {
        c["callId"] == leg.call_id.as_str() && c["state"] == "lobby"
    })?;
    let r = gw.http(
        "POST",
        &format!("/api/v1/calls/{}/admit", leg.call_id),
        None,
    )?;
    ensure!(r.status == 202, "{}", r.body);
    Ok(leg)
}

#[test]
fn a_caller_without_feedback_is_asked_for_a_keyframe_by_sip_info() -> Result<()> {
    let gw = Gateway::start(Opts::default())?;
    let s = bind()?;
    let mut uac = Uac::new(Tp::Udp, gw.sip)?;
    let _leg = connected_call(&gw, &mut uac, &s, "")?;
    let info = uac.request_from_gateway(Method::Info, WAIT)?;
    let body = String::from_utf8_lossy(&info.body).to_string();
    ensure!(
        info.headers.get("Content-Type") == Some("application/media_control+xml")
            && body.contains("<picture_fast_update"),
        "{info:?}"
    );
    uac.reply(&info, 200)?;
    Ok(())
}

#[test]
fn a_caller_with_nack_pli_is_asked_by_rtcp_pli() -> Result<()> {
    let gw = Gateway::start(Opts::default())?;
    let s = bind()?;
    let mut uac = Uac::new(Tp::Udp, gw.sip)?;
    let _leg = connected_call(&gw, &mut uac, &s, "a=rtcp-fb:97 nack pli\r\n")?;
    let deadline = Instant::now() + WAIT;
    let mut buf = [0u8; 2048];
    loop {
        ensure!(
            Instant::now() < deadline,
            "no PLI on the caller's RTCP port"
        );
        let Ok(n) = s.video_rtcp.recv(&mut buf) else {
            continue;
        };
        // PSFB (206) FMT 1 anywhere in the compound packet.
        if rtcp_packets(buf.get(..n).unwrap_or_default()).any(|p| p[1] == 206 && p[0] & 0x1f == 1) {
            break;
        }
    }
    Ok(())
}

/// Hold (the caller re-INVITEs with `sendonly`) stops our video; resuming starts it again
/// with an IDR, not mid-GOP.
#[test]
fn hold_stops_our_video_and_resume_starts_with_an_idr() -> Result<()> {
    let gw = Gateway::start(Opts::default())?;
    gw.provision()?;
    let s = bind()?;
    let mut uac = Uac::new(Tp::Udp, gw.sip)?;
    let sdp = offer(&s, "")?;
    let (mut leg, _) = call(&gw, &mut uac, &format!("sip:{KEY_LOCAL}@{}", gw.sip), &sdp)?;
    wait_idr(&s.video, Duration::from_secs(5))?;
    let reinvite = |leg: &mut Leg, uac: &mut Uac, dir: &str| -> Result<()> {
        let body = sdp
            .replace("a=sendrecv", dir)
            .replace("o=room 1 1", "o=room 1 2");
        let req = leg.invite(&[], Some(&body));
        uac.send(&req)?;
        let r = uac.final_response(Method::Invite, leg.invite_seq, WAIT)?;
        ensure!(r.status == 200, "re-INVITE answered {r:?}");
        uac.send(&leg.ack(None))?;
        Ok(())
    };
    reinvite(&mut leg, &mut uac, "a=sendonly")?;
    // Drain what was in flight, then nothing may come for a while.
    std::thread::sleep(Duration::from_millis(300));
    let mut buf = [0u8; 2048];
    s.video.set_nonblocking(true)?;
    while s.video.recv(&mut buf).is_ok() {}
    s.video.set_nonblocking(false)?;
    let quiet_until = Instant::now() + Duration::from_millis(1500);
    while Instant::now() < quiet_until {
        if let Ok(n) = s.video.recv(&mut buf) {
            bail!("video sent while on hold ({n} bytes)");
        }
    }
    reinvite(&mut leg, &mut uac, "a=sendrecv")?;
    let (before, _) = wait_idr(&s.video, Duration::from_millis(1500))?;
    ensure!(
        before.iter().all(|t| [6, 7, 8].contains(t)),
        "after resume the first picture must be an IDR, saw {before:?}"
    );
    Ok(())
}

/// Symmetric RTP: a caller behind NAT signals an address that does not reach it (here
/// port 9 on loopback, where nothing listens); once its packets arrive from its real
/// address, our audio and video go there.
#[test]
fn media_latches_to_where_the_callers_packets_come_from() -> Result<()> {
    let gw = Gateway::start(Opts::default())?;
    gw.provision()?;
    let s = bind()?;
    let mut uac = Uac::new(Tp::Udp, gw.sip)?;
    let sdp = "v=0\r\no=room 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
               m=audio 9 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n\
               m=video 9 RTP/AVP 97\r\na=rtpmap:97 H264/90000\r\n\
               a=fmtp:97 profile-level-id=42e01e;packetization-mode=1\r\na=sendrecv\r\n";
    let (leg, r) = call(&gw, &mut uac, &format!("sip:{KEY_LOCAL}@{}", gw.sip), sdp)?;
    let audio_port = sip_support::media_of(&r, "audio")?.port;
    let video_port = sip_support::media_of(&r, "video")?.port;
    let mut buf = [0u8; 2048];
    std::thread::sleep(Duration::from_millis(500));
    ensure!(
        s.video.recv(&mut buf).is_err(),
        "nothing may reach us before we send"
    );
    // One RTP packet on each stream from the real sockets (PCMU silence; an H.264 filler).
    let rtp = |pt: u8, payload: &[u8]| {
        let mut p = vec![0x80, pt, 0, 1, 0, 0, 0, 160, 0xde, 0xad, 0xbe, 0xef];
        p.extend_from_slice(payload);
        p
    };
    s.audio
        .send_to(&rtp(0, &[0xff; 160]), ("127.0.0.1", audio_port))?;
    s.video
        .send_to(&rtp(97, &[0x0c, 0xff]), ("127.0.0.1", video_port))?;
    wait_idr(&s.video, Duration::from_secs(3)).context("video after latching")?;
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        ensure!(Instant::now() < deadline, "no audio after latching");
        if let Ok(n) = s.audio.recv(&mut buf)
            && n == 172
        {
            break;
        }
    }
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let c = gw.call(&leg.call_id)?.context("call")?;
        let want = |k: &str, sock: &UdpSocket| -> Result<bool> {
            Ok(c["media"][k]["latched"] == true
                && c["media"][k]["remoteRtp"] == sock.local_addr()?.to_string())
        };
        if want("audio", &s.audio)? && want("video", &s.video)? {
            break;
        }
        ensure!(Instant::now() < deadline, "not latched: {c:#}");
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}

/// One real H.264 IDR access unit (SPS, PPS, IDR) of a small flat picture, made by x264.
fn tiny_idr() -> Result<Vec<Vec<u8>>> {
    let dir = tempfile::tempdir()?;
    let out = dir.path().join("idr.h264");
    let status = std::process::Command::new("gst-launch-1.0")
        .args(["-q", "videotestsrc", "num-buffers=1", "pattern=black", "!"])
        .args(["video/x-raw,width=160,height=96,framerate=25/1", "!"])
        .args(["x264enc", "tune=zerolatency", "!"])
        .args([
            "video/x-h264,stream-format=byte-stream,profile=constrained-baseline",
            "!",
        ])
        .arg("filesink")
        .arg(format!("location={}", out.display()))
        .status()
        .context("gst-launch-1.0")?;
    ensure!(status.success(), "x264enc failed");
    let data = std::fs::read(&out)?;
    let mut nals = Vec::new();
    let mut rest = data.as_slice();
    while let Some(at) = rest.windows(3).position(|w| w == [0, 0, 1]) {
        rest = &rest[at + 3..];
        let end = rest
            .windows(3)
            .position(|w| w == [0, 0, 1])
            .unwrap_or(rest.len());
        let mut nal = rest[..end].to_vec();
        while nal.last() == Some(&0) {
            nal.pop();
        }
        if !nal.is_empty() {
            nals.push(nal);
        }
        rest = &rest[end..];
    }
    ensure!(
        nals.iter().any(|n| n[0] & 0x1f == 5) && nals.iter().all(|n| n.len() < 1200),
        "want small SPS/PPS/IDR NAL units, got sizes {:?}",
        nals.iter().map(Vec::len).collect::<Vec<_>>()
    );
    Ok(nals)
}

/// Counts RTCP PLIs (PSFB FMT 1) arriving on `rtcp` for `during`.
fn count_plis(rtcp: &UdpSocket, during: Duration) -> usize {
    let deadline = Instant::now() + during;
    let mut buf = [0u8; 2048];
    let mut plis = 0;
    while Instant::now() < deadline {
        let Ok(n) = rtcp.recv(&mut buf) else { continue };
        plis += rtcp_packets(buf.get(..n).unwrap_or_default())
            .filter(|p| p[1] == 206 && p[0] & 0x1f == 1)
            .count();
    }
    plis
}

/// The packets of an RTCP compound datagram, each from its 4-byte header on (by the
/// headers' length fields; a truncated last one still shows its header).
fn rtcp_packets(datagram: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = datagram;
    std::iter::from_fn(move || {
        let h = rest.get(..4)?;
        let len = 4 * (usize::from(u16::from_be_bytes([h[2], h[3]])) + 1);
        let packet = rest.get(..len.min(rest.len()))?;
        rest = rest.get(len..).unwrap_or_default();
        Some(packet)
    })
}

/// In a meeting, keyframes go both ways: a browser that starts receiving the VTC's video
/// gets it asked for a keyframe by RTCP PLI (the VTC negotiated `nack pli`), and the VTC's
/// own PLI brings an IDR of the composite it receives at once.
#[test]
fn in_a_meeting_keyframes_go_both_ways() -> Result<()> {
    let gw = Gateway::start(Opts::default())?;
    let s = bind()?;
    let mut uac = Uac::new(Tp::Udp, gw.sip)?;
    let leg = connected_call(&gw, &mut uac, &s, "a=rtcp-fb:97 nack pli\r\n")?;
    let call = gw.wait_call("in the meeting", |c| {
        c["callId"] == leg.call_id.as_str() && c["media"]["view"].is_string()
    })?;
    let meeting = call["meetingId"].as_str().context("meetingId")?.to_string();
    let video_port = call["streams"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| s["kind"] == "video")
        .and_then(|s| s["localPort"].as_u64())
        .context("the gateway's video port")?;
    // The VTC's camera: a real IDR every 200 ms (each one decodes on its own).
    let nals = tiny_idr()?;
    let sender = s.video.try_clone()?;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop2 = stop.clone();
    let camera = std::thread::spawn(move || {
        let (mut seq, mut ts) = (1u16, 0u32);
        while !stop2.load(std::sync::atomic::Ordering::Relaxed) {
            for (i, nal) in nals.iter().enumerate() {
                let marker = if i + 1 == nals.len() { 0x80 } else { 0 };
                let mut p = vec![0x80, marker | 97];
                p.extend_from_slice(&seq.to_be_bytes());
                p.extend_from_slice(&ts.to_be_bytes());
                p.extend_from_slice(&0xcafe_f00du32.to_be_bytes());
                p.extend_from_slice(nal);
                let _ = sender.send_to(&p, ("127.0.0.1", video_port as u16));
                seq = seq.wrapping_add(1);
            }
            ts = ts.wrapping_add(18_000);
            std::thread::sleep(Duration::from_millis(200));
        }
    });
    // Whatever the join asked for settles first; then a quiet spell with no browser.
    count_plis(&s.video_rtcp, Duration::from_millis(2500));
    let quiet = count_plis(&s.video_rtcp, Duration::from_millis(1500));
    ensure!(quiet == 0, "{quiet} PLIs with nobody subscribing");
    let room = gw.room(&meeting)?;
    let host_page = room["hostPage"].as_str().context("hostPage")?;
    let chrome = cvi_e2e::chromium::Chromium::launch()?;
    let joined = Instant::now();
    chrome.goto(&format!("http://{}{host_page}&name=Alice", gw.http))?;
    let mut plis = 0;
    while plis == 0 && joined.elapsed() < WAIT {
        plis = count_plis(&s.video_rtcp, Duration::from_millis(200));
    }
    ensure!(
        plis > 0,
        "the browser's subscription brought no PLI to the VTC"
    );
    println!(
        "PLI to the VTC {:?} after the browser opened the page",
        joined.elapsed()
    );
    chrome.wait_for(
        "cvi.stats().then(s => Object.values(s.participants).some(p => p.framesDecoded > 3))",
        WAIT,
    )?;
    // The VTC asks for a keyframe of its composite: an IDR comes at once (the composite's
    // own keyframe interval is 10 s).
    let (_, ssrc) = wait_idr(&s.video, Duration::from_secs(5))?;
    let mut buf = [0u8; 2048];
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(1500) {
        let _ = s.video.recv(&mut buf);
    }
    let video_rtcp = video_port as u16 + 1;
    let mut pli = vec![0x81, 206, 0, 2];
    pli.extend_from_slice(&0xcafe_f00du32.to_be_bytes());
    pli.extend_from_slice(&ssrc.to_be_bytes());
    let asked = Instant::now();
    s.video_rtcp.send_to(&pli, ("127.0.0.1", video_rtcp))?;
    wait_idr(&s.video, Duration::from_millis(800)).context("composite IDR after the PLI")?;
    println!("composite IDR {:?} after the VTC's PLI", asked.elapsed());
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = camera.join();
    Ok(())
}

/// RFC 3550 §6.6: at hang-up the gateway says goodbye on RTCP for the SSRC it sent video
/// with (a last report and a BYE in one compound packet), so the caller's media stops at
/// once instead of timing out.
#[test]
fn hang_up_sends_an_rtcp_bye_for_our_video() -> Result<()> {
    let gw = Gateway::start(Opts::default())?;
    gw.provision()?;
    let s = bind()?;
    let mut uac = Uac::new(Tp::Udp, gw.sip)?;
    let sdp = offer(&s, "a=rtcp-fb:97 nack pli\r\n")?;
    let (mut leg, _) = call(&gw, &mut uac, &format!("sip:{KEY_LOCAL}@{}", gw.sip), &sdp)?;
    let (_, ssrc) = wait_idr(&s.video, Duration::from_secs(5))?;
    // Reports that came before the hang-up do not count.
    let mut buf = [0u8; 2048];
    while s.video_rtcp.recv(&mut buf).is_ok() {}
    uac.send(&leg.request("BYE", &[], None))?;
    let r = uac.final_response(Method::Bye, leg.cseq, WAIT)?;
    ensure!(r.status == 200, "BYE answered {r:?}");
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        let Ok(n) = s.video_rtcp.recv(&mut buf) else {
            continue;
        };
        let mut kinds = Vec::new();
        for p in rtcp_packets(buf.get(..n).unwrap_or_default()) {
            kinds.push(p[1]);
            if let (203, Some(&[a, b, c, d])) = (p[1], p.get(4..8)) {
                let bye_ssrc = u32::from_be_bytes([a, b, c, d]);
                ensure!(
                    bye_ssrc == ssrc,
                    "BYE for {bye_ssrc:#x}, video was {ssrc:#x}"
                );
                ensure!(
                    kinds.first().is_some_and(|k| *k == 200 || *k == 201),
                    "the BYE must follow a report in its compound packet: {kinds:?}"
                );
                return Ok(());
            }
        }
    }
    bail!("no RTCP BYE within 3 s of hanging up\n{}", gw.log())
}
