//! One browser as the meeting page would be: the WebSocket signalling of meet.js (join →
//! one offer, sendrecv audio + video → answer; every server offer answered; a host admits
//! whoever waits in the lobby) and a str0m WebRTC peer (the controlling ICE agent against
//! the gateway's ICE-lite). It sends 720p30 VP8 and 20 ms Opus from the clips and counts
//! what arrives, decoding nothing; the VTCs' H.264 frames carry a tag for the
//! passthrough latency.

use super::clips::{Clip, Clips, FPS, LumaProbe};
use super::{Shared, parse_frame_tag};
use anyhow::{Context, anyhow, bail};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::format::Codec;
use str0m::media::{Direction, Frequency, MediaKind, MediaTime, Mid};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc};
use tokio::net::UdpSocket;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message as Ws;

/// What a browser's camera sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Camera {
    Off,
    Clip,
    /// 2 s dark, 2 s bright, … (the composite latency marker).
    DarkBright,
}

pub(super) struct BrowserOpts {
    pub idx: u32,
    pub http: SocketAddr,
    pub meeting: String,
    pub host_key: Option<String>,
    pub camera: Camera,
    pub microphone: bool,
    pub clips: Arc<Clips>,
    pub shared: Arc<Shared>,
    pub stop: watch::Receiver<bool>,
}

const KEYFRAME_EVERY: Duration = Duration::from_millis(500);

struct Sender {
    video: Option<Mid>,
    audio: Option<Mid>,
    frame: u64,
    pos: usize,
    audio_n: u64,
    last_restart: Option<Instant>,
    restart: bool,
}

pub(super) async fn run(mut o: BrowserOpts) -> anyhow::Result<()> {
    let mut url = format!("ws://{}/meet/{}/ws", o.http, o.meeting);
    if let Some(k) = &o.host_key {
        url.push_str(&format!("?host={k}"));
    }
    let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .with_context(|| format!("connecting {url}"))?;
    let name = format!("bench browser {}", o.idx);
    ws.send(Ws::text(json!({"type": "join", "name": name}).to_string()))
        .await?;
    // Until `joined`.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let m = tokio::time::timeout_at(deadline, ws.next())
            .await
            .map_err(|_| anyhow!("no `joined` within 20 s"))?;
        let Some(m) = m else {
            bail!("the socket closed before `joined`")
        };
        if let Ws::Text(t) = m? {
            let v: Value = serde_json::from_str(&t).unwrap_or(Value::Null);
            match v["type"].as_str() {
                Some("joined") => break,
                Some("error") => bail!("refused: {}", v["message"]),
                _ => {}
            }
        }
    }
    let sock = UdpSocket::bind(SocketAddr::new(o.http.ip(), 0)).await?;
    let local = sock.local_addr()?;
    let now = Instant::now();
    let mut rtc = Rtc::builder()
        .clear_codecs()
        // What Chromium takes for audio: the gateway forwards a VTC's G.711/G.722 as it came.
        .enable_opus(true, false)
        .enable_g722(true, false)
        .enable_pcmu(true, false)
        .enable_pcma(true, false)
        .enable_vp8(true)
        .enable_h264(true)
        .build(now);
    let cand = Candidate::host(local, "udp").map_err(|e| anyhow!("candidate: {e}"))?;
    rtc.add_local_candidate(cand);
    let mut api = rtc.sdp_api();
    let stream = format!("bench-{}", o.idx);
    let audio_mid = api.add_media(
        MediaKind::Audio,
        Direction::SendRecv,
        Some(stream.clone()),
        Some(format!("{stream}-a")),
        None,
    );
    let video_mid = api.add_media(
        MediaKind::Video,
        Direction::SendRecv,
        Some(stream.clone()),
        Some(format!("{stream}-v")),
        None,
    );
    let Some((offer, pending)) = api.apply() else {
        bail!("str0m made no offer")
    };
    let mut pending: Option<SdpPendingOffer> = Some(pending);
    ws.send(Ws::text(
        json!({"type": "offer", "sdp": offer.to_sdp_string()}).to_string(),
    ))
    .await?;
    let mut tx = Sender {
        video: (o.camera != Camera::Off).then_some(video_mid),
        audio: o.microphone.then_some(audio_mid),
        frame: 0,
        pos: 0,
        audio_n: 0,
        last_restart: None,
        restart: false,
    };
    // The latency run's browser decodes the VTC's H.264 it gets for the picture latency.
    let mut probe = match o.camera {
        Camera::DarkBright => {
            let p = LumaProbe::new(
                "video/x-h264,stream-format=byte-stream,alignment=au",
                "h264parse ! avdec_h264 max-threads=1",
                1.0,
            )?;
            o.shared.picture_marker.set_out(p.out.clone());
            Some((p, 0u64))
        }
        _ => None,
    };
    let mut recv_kinds: HashMap<Mid, MediaKind> = HashMap::new();
    let mut connected = false;
    let mut buf = vec![0u8; 2048];
    let start = tokio::time::Instant::now();
    let mut video_due = start;
    let mut audio_due = start;
    let mut admitted: Vec<String> = Vec::new();
    loop {
        // Drive str0m until it wants a timeout.
        let wake = loop {
            match rtc.poll_output() {
                Ok(Output::Timeout(t)) => break t,
                Ok(Output::Transmit(t)) => {
                    let _ = sock.try_send_to(&t.contents, t.destination);
                }
                Ok(Output::Event(e)) => on_event(
                    e,
                    &o.shared,
                    probe.as_mut(),
                    &mut recv_kinds,
                    &mut tx,
                    &mut connected,
                    video_mid,
                ),
                Err(e) => bail!("WebRTC failed: {e}"),
            }
        };
        if !rtc.is_alive() {
            bail!("the WebRTC session died");
        }
        let sending = connected && (tx.video.is_some() || tx.audio.is_some());
        let next_media = if sending {
            Some(video_due.min(audio_due))
        } else {
            None
        };
        let str0m_wake = tokio::time::Instant::from_std(wake);
        let sleep_to = next_media.map_or(str0m_wake, |m| m.min(str0m_wake));
        tokio::select! {
            r = sock.recv_from(&mut buf) => {
                let Ok((n, from)) = r else { continue };
                let Some(data) = buf.get(..n) else { continue };
                let Ok(contents) = data.try_into() else { continue };
                let input = Input::Receive(Instant::now(), Receive {
                    proto: Protocol::Udp,
                    source: from,
                    destination: local,
                    contents,
                });
                if rtc.accepts(&input) && let Err(e) = rtc.handle_input(input) {
                    bail!("WebRTC input: {e}");
                }
            }
            m = ws.next() => {
                let Some(m) = m else { bail!("the signalling socket closed") };
                let Ws::Text(t) = m? else { continue };
                let v: Value = serde_json::from_str(&t).unwrap_or(Value::Null);
                match v["type"].as_str() {
                    Some("answer") => {
                        let sdp = v["sdp"].as_str().unwrap_or_default();
                        let answer = SdpAnswer::from_sdp_string(sdp).map_err(|e| anyhow!("answer: {e}"))?;
                        if let Some(p) = pending.take() {
                            rtc.sdp_api().accept_answer(p, answer).map_err(|e| anyhow!("answer: {e}"))?;
                        }
                    }
                    Some("offer") => {
                        let sdp = v["sdp"].as_str().unwrap_or_default();
                        let offer = SdpOffer::from_sdp_string(sdp).map_err(|e| anyhow!("offer: {e}"))?;
                        let answer = rtc.sdp_api().accept_offer(offer).map_err(|e| anyhow!("offer: {e}"))?;
                        o.shared.count("server offers answered", 1);
                        ws.send(Ws::text(json!({"type": "answer", "sdp": answer.to_sdp_string()}).to_string())).await?;
                    }
                    Some("lobby") => {
                        for w in v["waiting"].as_array().into_iter().flatten() {
                            if let Some(id) = w["id"].as_str() && !admitted.iter().any(|a| a == id) {
                                admitted.push(id.to_string());
                                ws.send(Ws::text(json!({"type": "admit", "id": id}).to_string())).await?;
                                o.shared.count("VTCs admitted from the page", 1);
                            }
                        }
                    }
                    Some("error") => o.shared.count(&format!("page error: {}", v["message"]), 1),
                    Some("bye") => bail!("the gateway said bye: {}", v["reason"]),
                    _ => {}
                }
            }
            () = tokio::time::sleep_until(sleep_to) => {
                let now = Instant::now();
                if rtc.handle_input(Input::Timeout(now)).is_err() {
                    bail!("WebRTC timeout handling failed");
                }
                if sending && tokio::time::Instant::now() >= video_due {
                    send_video(&mut rtc, &mut tx, &o, now);
                    video_due += Duration::from_nanos(1_000_000_000 / u64::from(FPS));
                }
                if sending && tokio::time::Instant::now() >= audio_due {
                    send_audio(&mut rtc, &mut tx, &o, now);
                    audio_due += Duration::from_millis(20);
                }
                if !sending {
                    video_due = tokio::time::Instant::now();
                    audio_due = video_due;
                }
            }
            _ = o.stop.changed() => {
                let _ = ws.send(Ws::text(json!({"type": "leave"}).to_string())).await;
                let _ = ws.close(None).await;
                rtc.disconnect();
                return Ok(());
            }
        }
    }
}

fn on_event(
    e: Event,
    sh: &Shared,
    probe: Option<&mut (LumaProbe, u64)>,
    recv_kinds: &mut HashMap<Mid, MediaKind>,
    tx: &mut Sender,
    connected: &mut bool,
    video_mid: Mid,
) {
    match e {
        Event::Connected => {
            *connected = true;
            sh.browser_connected();
        }
        Event::MediaAdded(m) => {
            recv_kinds.insert(m.mid, m.kind);
        }
        Event::MediaData(d) => {
            let now = Instant::now();
            let kind = recv_kinds.get(&d.mid).copied();
            match (kind, d.params.spec().codec) {
                (_, Codec::H264) => {
                    sh.add(&sh.c.browser_h264_frames, 1);
                    sh.add(&sh.c.browser_video_bytes, d.data.len() as u64);
                    if let Some((vtc, frame)) = parse_frame_tag(&d.data) {
                        sh.frame_delivered(vtc, frame, now);
                    }
                    if let Some((p, n)) = probe {
                        sh.picture_marker.arrival(*n, now);
                        p.push(*n, &d.data);
                        *n += 1;
                    }
                }
                (_, Codec::Vp8) => {
                    sh.add(&sh.c.browser_vp8_frames, 1);
                    sh.add(&sh.c.browser_video_bytes, d.data.len() as u64);
                }
                (Some(MediaKind::Audio), _) | (_, Codec::Opus) => {
                    sh.add(&sh.c.browser_audio_frames, 1);
                }
                _ => sh.count("browser: other media", 1),
            }
        }
        Event::KeyframeRequest(r) if r.mid == video_mid => {
            sh.add(&sh.c.browser_keyframe_requests, 1);
            tx.restart = true;
        }
        _ => {}
    }
}

fn send_video(rtc: &mut Rtc, tx: &mut Sender, o: &BrowserOpts, now: Instant) {
    let Some(mid) = tx.video else { return };
    if tx.restart
        && tx
            .last_restart
            .is_none_or(|t| now.duration_since(t) >= KEYFRAME_EVERY)
    {
        tx.restart = false;
        tx.last_restart = Some(now);
        if o.camera == Camera::Clip {
            tx.pos = 0; // a keyframe (the clip starts with one)
        }
    }
    let seg = 2 * FPS as usize;
    let (clip, k): (&Clip, usize) = match o.camera {
        Camera::DarkBright => {
            let n = tx.frame as usize;
            let bright = (n / seg) % 2 == 1;
            if n.is_multiple_of(seg) {
                o.shared.composite_marker.switch(now, bright);
            }
            (
                if bright {
                    &o.clips.vp8_bright
                } else {
                    &o.clips.vp8_dark
                },
                n % seg,
            )
        }
        _ => (&o.clips.vp8, tx.pos),
    };
    let Some(f) = clip.get(k % clip.len().max(1)) else {
        return;
    };
    let Some(w) = rtc.writer(mid) else { return };
    let Some(pt) = w
        .payload_params()
        .find(|p| p.spec().codec == Codec::Vp8)
        .map(|p| p.pt())
    else {
        return;
    };
    let t = MediaTime::new(tx.frame * u64::from(90_000 / FPS), Frequency::NINETY_KHZ);
    if w.write(pt, now, t, f.data.clone()).is_ok() {
        o.shared.add(&o.shared.c.browser_video_frames_sent, 1);
    }
    tx.frame += 1;
    tx.pos += 1;
}

fn send_audio(rtc: &mut Rtc, tx: &mut Sender, o: &BrowserOpts, now: Instant) {
    let Some(mid) = tx.audio else { return };
    let Some(f) = o
        .clips
        .opus
        .get(tx.audio_n as usize % o.clips.opus.len().max(1))
    else {
        return;
    };
    let Some(w) = rtc.writer(mid) else { return };
    let Some(pt) = w
        .payload_params()
        .find(|p| p.spec().codec == Codec::Opus)
        .map(|p| p.pt())
    else {
        return;
    };
    let t = MediaTime::new(tx.audio_n * 960, Frequency::FORTY_EIGHT_KHZ);
    // A browser sends RFC 6464 levels: this one talks (-12 dBov), so it is the speaker.
    let w = w.audio_level(-12, true);
    if w.write(pt, now, t, f.clone()).is_ok() {
        o.shared.add(&o.shared.c.browser_audio_frames_sent, 1);
    }
    tx.audio_n += 1;
}
