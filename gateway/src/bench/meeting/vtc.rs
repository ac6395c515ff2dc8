//! One VTC over real SIP/RTP: an INVITE (PCMU + H.264 CB 3.1 mode 1, `nack pli`) dialled
//! straight into a meeting, ACK, then 720p30 H.264 and 20 ms PCMU from the clips, paced in
//! real time; what the gateway sends back (the composite, the mix) is counted, and in the
//! latency run the composite is decoded for its luma. BYE at the end.

use super::clips::{Clips, FPS, LumaProbe};
use super::{Shared, frame_tag};
use anyhow::{anyhow, bail};
use cvi_media::rtp::h264::{self, Depacketizer, PacketizationMode};
use cvi_media::rtp::{RtpHeader, RtpWriter, rtcp};
use cvi_media::sdp::{MediaType, SessionDescription};
use cvi_sip::dialog::{Dialog, OutgoingInvite};
use cvi_sip::message::{Message, Method, Response};
use cvi_sip::parse::parse_datagram;
use cvi_sip::transaction::{Event, Peer, Timers, TransactionLayer, Transport, make_response};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::net::UdpSocket;
use tokio::sync::watch;

/// RTP payload budget per packet (FU-A fragments ≤ this).
const MTU: usize = 1200;
const VIDEO_PT: u8 = 96;
/// At most one clip restart (IDR) per this, whatever the requests.
const KEYFRAME_EVERY: Duration = Duration::from_millis(500);

pub(super) struct VtcOpts {
    pub idx: u32,
    pub target: SocketAddr,
    pub uri: String,
    /// `sendrecv`, `sendonly` or `recvonly` (then no video is sent) on the video m-line.
    pub video_dir: &'static str,
    /// Send PCMU on the audio m-line (else nothing: the video path alone).
    pub send_audio: bool,
    /// The audio m-line's direction (`sendrecv`, or `inactive`: no audio either way).
    pub audio_dir: &'static str,
    pub clips: Arc<Clips>,
    pub shared: Arc<Shared>,
    /// The latency run's VTC: decode the composite and record its luma, and send 2 s dark,
    /// 2 s bright, … instead of the clip (the browser decodes it for the VTC → browser
    /// picture latency).
    pub probe: bool,
    pub stop: watch::Receiver<bool>,
}

/// The gateway's media addresses from its answer.
struct Remote {
    audio: Option<(SocketAddr, u8)>,
    video: Option<(SocketAddr, u8)>,
}

fn answer_addresses(body: &[u8]) -> anyhow::Result<Remote> {
    let sdp = SessionDescription::parse_bytes(body).map_err(|e| anyhow!("bad SDP answer: {e}"))?;
    let session_ip = sdp.connection.as_ref().and_then(|c| c.ip());
    let mut r = Remote {
        audio: None,
        video: None,
    };
    for m in &sdp.media {
        if m.port == 0 {
            continue;
        }
        let ip: Option<IpAddr> = m.connections.first().and_then(|c| c.ip()).or(session_ip);
        let (Some(ip), Some(pt)) = (ip, m.payload_types().next()) else {
            continue;
        };
        let a = Some((SocketAddr::new(ip, m.port), pt));
        match m.media {
            MediaType::Audio if r.audio.is_none() => r.audio = a,
            MediaType::Video if r.video.is_none() => r.video = a,
            _ => {}
        }
    }
    Ok(r)
}

/// An RTP socket on an even port and its RTCP socket on the next one (for a gateway that
/// does not mux).
async fn bind_pair(ip: IpAddr) -> anyhow::Result<(Arc<UdpSocket>, Arc<UdpSocket>)> {
    for _ in 0..64 {
        let probe = UdpSocket::bind(SocketAddr::new(ip, 0)).await?;
        let port = probe.local_addr()?.port();
        drop(probe);
        let even = port & !1;
        if even < 1024 || even == u16::MAX - 1 {
            continue;
        }
        let (Ok(rtp), Ok(rtcp)) = (
            UdpSocket::bind(SocketAddr::new(ip, even)).await,
            UdpSocket::bind(SocketAddr::new(ip, even + 1)).await,
        ) else {
            continue;
        };
        return Ok((Arc::new(rtp), Arc::new(rtcp)));
    }
    bail!("no free RTP/RTCP port pair on {ip}")
}

fn offer(ip: IpAddr, audio: u16, video: u16, dirs: (&str, &str), sess: u32) -> String {
    let (audio_dir, video_dir) = dirs;
    format!(
        "v=0\r\n\
         o=cvi-bench {sess} 1 IN IP4 {ip}\r\n\
         s=cvi bench meeting\r\n\
         c=IN IP4 {ip}\r\n\
         t=0 0\r\n\
         m=audio {audio} RTP/AVP 0 101\r\n\
         a=rtpmap:0 PCMU/8000\r\n\
         a=rtpmap:101 telephone-event/8000\r\n\
         a=fmtp:101 0-15\r\n\
         a=ptime:20\r\n\
         a={audio_dir}\r\n\
         m=video {video} RTP/AVP {VIDEO_PT}\r\n\
         b=AS:2048\r\n\
         a=rtpmap:{VIDEO_PT} H264/90000\r\n\
         a=fmtp:{VIDEO_PT} profile-level-id=42e01f;packetization-mode=1\r\n\
         a=rtcp-fb:* nack pli\r\n\
         a={video_dir}\r\n"
    )
}

fn peer(addr: SocketAddr) -> Peer {
    Peer {
        transport: Transport::Udp,
        addr,
        conn: Some(0),
    }
}

async fn flush(txl: &mut TransactionLayer, sock: &UdpSocket) {
    while let Some(t) = txl.poll_transmit() {
        let _ = sock.send_to(&t.bytes, t.to.addr).await;
    }
}

/// Runs one VTC until `stop`; errors only for what kept it from getting into the call.
pub(super) async fn run(mut o: VtcOpts) -> anyhow::Result<()> {
    let ip = o.target.ip();
    let sip = UdpSocket::bind(SocketAddr::new(ip, 0)).await?;
    let local = sip.local_addr()?;
    let (artp, artcp) = bind_pair(ip).await?;
    let (vrtp, vrtcp) = bind_pair(ip).await?;
    let sdp = offer(
        ip,
        artp.local_addr()?.port(),
        vrtp.local_addr()?.port(),
        (o.audio_dir, o.video_dir),
        o.idx,
    );
    let sent_by = local.to_string();
    let contact = format!("<sip:room{}@{sent_by}>", o.idx);
    let from = format!("sip:room{}@{}", o.idx, local.ip());
    let mut invite = OutgoingInvite {
        target: &o.uri,
        from: &from,
        to: &o.uri,
        contact: &contact,
        via_sent_by: &sent_by,
        transport: "UDP",
        sdp: sdp.as_bytes(),
    }
    .build();
    invite.headers.push("User-Agent", "cvi-bench-vtc");
    invite
        .headers
        .push("Allow", "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, UPDATE");
    let mut txl = TransactionLayer::new(Timers::default());
    let Some(invite_key) = txl.send_request(invite.clone(), peer(o.target), Instant::now()) else {
        bail!("the INVITE could not be sent");
    };
    flush(&mut txl, &sip).await;
    let mut buf = vec![0u8; 65_535];
    let mut dialog: Option<Dialog> = None;
    let mut ack: Option<cvi_sip::message::Request> = None;
    let restart = Arc::new(AtomicBool::new(false));
    let mut media: Vec<tokio::task::JoinHandle<()>> = Vec::new();
    let mut bye_key = None;
    let setup_deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let wake = txl
            .poll_timeout()
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(1));
        let stopping = *o.stop.borrow();
        if stopping && bye_key.is_none() {
            match dialog.as_mut() {
                Some(d) => {
                    let bye = d.request(Method::Bye, &sent_by, "UDP");
                    bye_key = txl.send_request(bye, peer(o.target), Instant::now());
                    flush(&mut txl, &sip).await;
                    if bye_key.is_none() {
                        break;
                    }
                }
                None => break,
            }
        }
        if dialog.is_none() && Instant::now() > setup_deadline {
            bail!("no answer to the INVITE within 40 s");
        }
        tokio::select! {
            r = sip.recv_from(&mut buf) => {
                let Ok((n, from)) = r else { continue };
                let Some(data) = buf.get(..n) else { continue };
                if data.iter().all(|b| b.is_ascii_whitespace()) {
                    continue;
                }
                let Ok(msg) = parse_datagram(data) else {
                    o.shared.count("vtc SIP parse errors", 1);
                    continue;
                };
                let now = Instant::now();
                txl.handle_message(msg, Peer { transport: Transport::Udp, addr: from, conn: Some(0) }, now);
            }
            () = tokio::time::sleep_until(tokio::time::Instant::from_std(wake)) => {
                txl.handle_timeout(Instant::now());
            }
            _ = o.stop.changed(), if !stopping => {}
        }
        let now = Instant::now();
        let mut done = false;
        while let Some(ev) = txl.poll_event() {
            match ev {
                Event::Response { key, response } if key == invite_key => {
                    if response.status < 200 {
                        continue;
                    }
                    if !(200..300).contains(&response.status) {
                        bail!("INVITE answered {} {}", response.status, response.reason);
                    }
                    let d = Dialog::uac(&invite, &response).map_err(|e| anyhow!("2xx: {e}"))?;
                    let a = d.ack(1, &sent_by, "UDP");
                    txl.send_stateless(Message::Request(a.clone()), peer(o.target));
                    ack = Some(a);
                    dialog = Some(d);
                    let remote = answer_addresses(&response.body)?;
                    o.shared.vtc_established();
                    let socks = [artp.clone(), artcp.clone(), vrtp.clone(), vrtcp.clone()];
                    media = start_media(&o, remote, &restart, socks)?;
                }
                Event::Response { key, response }
                    if Some(&key) == bye_key.as_ref() && response.status >= 200 =>
                {
                    done = true;
                }
                Event::Stray2xx { from, .. } => {
                    if let Some(a) = &ack {
                        txl.send_stateless(Message::Request(a.clone()), from);
                    }
                }
                Event::Timeout { key } => {
                    if key == invite_key {
                        bail!("the INVITE timed out");
                    }
                    if Some(&key) == bye_key.as_ref() {
                        done = true;
                    }
                }
                Event::Request { key, request, .. } => {
                    let status = match request.method {
                        Method::Bye => {
                            o.shared.count("BYE from the gateway", 1);
                            done = true;
                            200
                        }
                        Method::Info => {
                            let body = String::from_utf8_lossy(&request.body);
                            if body.contains("picture_fast_update") {
                                o.shared.count("vtc keyframe requests (SIP INFO)", 1);
                                restart.store(true, Ordering::Relaxed);
                            }
                            200
                        }
                        Method::Options | Method::Update => 200,
                        Method::Invite => {
                            o.shared.count("re-INVITEs from the gateway", 1);
                            200
                        }
                        _ => 405,
                    };
                    let mut resp: Response = make_response(&request, status, None);
                    if request.method == Method::Invite {
                        resp.headers.push("Contact", contact.clone());
                        resp.headers.push("Content-Type", "application/sdp");
                        resp.body = sdp.clone().into_bytes();
                    }
                    txl.respond(&key, resp, now);
                }
                _ => {}
            }
        }
        flush(&mut txl, &sip).await;
        if done {
            break;
        }
    }
    for m in media {
        m.abort();
    }
    Ok(())
}

/// Spawns the senders and receivers of the call's RTP.
fn start_media(
    o: &VtcOpts,
    remote: Remote,
    restart: &Arc<AtomicBool>,
    socks: [Arc<UdpSocket>; 4],
) -> anyhow::Result<Vec<tokio::task::JoinHandle<()>>> {
    let [artp, artcp, vrtp, vrtcp] = socks;
    let mut tasks = Vec::new();
    let sh = o.shared.clone();
    if let Some((to, _)) = remote.audio.filter(|_| o.send_audio) {
        let pcmu = o.clips.pcmu.clone();
        let s = artp.clone();
        let sh = sh.clone();
        tasks.push(tokio::spawn(async move {
            let mut w = RtpWriter::new(rand::random(), 0, rand::random());
            let mut out = Vec::with_capacity(200);
            let mut tick = tokio::time::interval(Duration::from_millis(20));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            let mut i = 0usize;
            loop {
                tick.tick().await;
                let Some(f) = pcmu.get(i % pcmu.len().max(1)) else {
                    return;
                };
                w.write(false, (i as u32).wrapping_mul(160), f, &mut out);
                if s.send_to(&out, to).await.is_ok() {
                    sh.add(&sh.c.vtc_audio_sent, 1);
                }
                i += 1;
            }
        }));
    }
    if let Some((to, pt)) = remote.video.filter(|_| o.video_dir != "recvonly") {
        let clip = o.clips.h264.clone();
        let s = vrtp.clone();
        let sh = sh.clone();
        let restart = restart.clone();
        let idx = o.idx;
        let pt = if pt == 0 { VIDEO_PT } else { pt };
        let dark_bright = o
            .probe
            .then(|| (o.clips.h264_dark.clone(), o.clips.h264_bright.clone()));
        tasks.push(tokio::spawn(async move {
            let mut w = RtpWriter::new(rand::random(), pt, rand::random());
            let mut out = Vec::with_capacity(MTU + 64);
            let mut au = Vec::new();
            let mut packets: Vec<Vec<u8>> = Vec::new();
            let start = tokio::time::Instant::now();
            let mut last_restart = Instant::now();
            let (mut frame, mut pos) = (0u32, 0usize);
            loop {
                if restart.swap(false, Ordering::Relaxed)
                    && last_restart.elapsed() >= KEYFRAME_EVERY
                {
                    // An IDR now: the clip from its start (every IDR carries SPS/PPS).
                    pos = 0;
                    last_restart = Instant::now();
                }
                let f = match &dark_bright {
                    None => clip.get(pos % clip.len().max(1)),
                    Some((dark, bright)) => {
                        // Segments of one clip's length, each from its IDR.
                        let seg = dark.len().max(1) as u32;
                        let is_bright = (frame / seg) % 2 == 1;
                        if frame % seg == 0 {
                            pos = 0;
                            sh.picture_marker.switch(Instant::now(), is_bright);
                        }
                        let c = if is_bright { bright } else { dark };
                        c.get(pos % c.len().max(1))
                    }
                };
                let Some(f) = f else {
                    return;
                };
                au.clear();
                au.extend_from_slice(&frame_tag(idx, frame));
                au.extend_from_slice(&f.data);
                packets.clear();
                let ts = frame.wrapping_mul(90_000 / FPS);
                h264::packetize(
                    &au,
                    PacketizationMode::NonInterleaved,
                    MTU,
                    &mut |payload, marker| {
                        w.write(marker, ts, payload, &mut out);
                        packets.push(out.clone());
                    },
                );
                let mut ok = 0u64;
                for p in &packets {
                    if s.send_to(p, to).await.is_ok() {
                        ok += 1;
                    }
                }
                sh.frame_sent(idx, frame, Instant::now());
                sh.add(&sh.c.vtc_video_packets_sent, ok);
                sh.add(&sh.c.vtc_video_frames_sent, 1);
                frame = frame.wrapping_add(1);
                pos += 1;
                let due =
                    start + Duration::from_nanos(u64::from(frame) * 1_000_000_000 / u64::from(FPS));
                tokio::time::sleep_until(due).await;
            }
        }));
    }
    // Receivers: audio (the mix), video (the composite), RTCP on both ports of each.
    {
        let sh = sh.clone();
        tasks.push(tokio::spawn(async move {
            let mut buf = vec![0u8; 2048];
            loop {
                let Ok((n, _)) = artp.recv_from(&mut buf).await else {
                    continue;
                };
                let data = buf.get(..n).unwrap_or_default();
                if rtcp::is_rtcp(data) {
                    continue;
                }
                if RtpHeader::parse(data).is_some() {
                    sh.add(&sh.c.vtc_audio_received, 1);
                }
            }
        }));
    }
    let probe = if o.probe {
        Some(LumaProbe::new(
            "video/x-h264,stream-format=byte-stream,alignment=au",
            "h264parse ! avdec_h264 max-threads=1",
            // The top half: inside the speaker's tile of 1+7 (the browser), above the
            // thumbnails (the VTC itself, whose picture switches too).
            0.5,
        )?)
    } else {
        None
    };
    if let Some(p) = &probe {
        sh.composite_marker.set_out(p.out.clone());
    }
    {
        let sh = sh.clone();
        let restart_rtcp = restart.clone();
        tasks.push(tokio::spawn(async move {
            let mut buf = vec![0u8; 2048];
            let mut depack = Depacketizer::new();
            let mut last_seq: Option<u16> = None;
            let mut n_au = 0u64;
            loop {
                let Ok((n, _)) = vrtp.recv_from(&mut buf).await else {
                    continue;
                };
                let at = Instant::now();
                let data = buf.get(..n).unwrap_or_default();
                if rtcp::is_rtcp(data) {
                    on_rtcp(data, &sh, &restart_rtcp);
                    continue;
                }
                let Some(h) = RtpHeader::parse(data) else {
                    continue;
                };
                sh.add(&sh.c.vtc_video_packets_received, 1);
                sh.add(&sh.c.vtc_video_bytes_received, n as u64);
                if h.marker {
                    sh.add(&sh.c.vtc_video_frames_received, 1);
                }
                if let Some(p) = &probe {
                    if last_seq.is_some_and(|s| s.wrapping_add(1) != h.sequence) {
                        depack.reset();
                    }
                    last_seq = Some(h.sequence);
                    if let Some(au) = depack.push(h.payload(data), h.marker) {
                        sh.composite_marker.arrival(n_au, at);
                        p.push(n_au, &au);
                        n_au += 1;
                    }
                }
            }
        }));
    }
    for s in [artcp, vrtcp] {
        let sh = sh.clone();
        let restart = restart.clone();
        tasks.push(tokio::spawn(async move {
            let mut buf = vec![0u8; 2048];
            loop {
                let Ok((n, _)) = s.recv_from(&mut buf).await else {
                    continue;
                };
                on_rtcp(buf.get(..n).unwrap_or_default(), &sh, &restart);
            }
        }));
    }
    Ok(tasks)
}

fn on_rtcp(data: &[u8], sh: &Shared, restart: &AtomicBool) {
    let Ok(packets) = rtcp::parse(data) else {
        return;
    };
    for p in packets {
        if matches!(
            p,
            rtcp::RtcpPacket::Pli { .. } | rtcp::RtcpPacket::Fir { .. }
        ) {
            sh.count("vtc keyframe requests (RTCP PLI/FIR)", 1);
            restart.store(true, Ordering::Relaxed);
        }
    }
}
