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
        // Walk the compound packet for PSFB (206) FMT 1.
        let mut i = 0;
        let mut found = false;
        while let Some(h) = buf.get(i..(i + 4).min(n)).filter(|h| h.len() == 4) {
            if h[1] == 206 && h[0] & 0x1f == 1 {
                found = true;
            }
            i += 4 * (usize::from(u16::from_be_bytes([h[2], h[3]])) + 1);
        }
        if found {
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
