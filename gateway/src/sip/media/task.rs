//! The media task of one call: the sockets, the 20 ms audio clock, the slate stream, the
//! inbound decoder, RTCP, and the commands of the call task.

use super::format::{audio_codec, packetization, slate_params, sprop, view_params};
use super::stats::MediaStats;
use super::stream::{Inbound, StreamIo};
use super::{MediaCmd, MediaEvent, MediaSetup, RtpPair};
use cvi_ivr::PromptId;
use cvi_media::rtp::RtpHeader;
use cvi_media::rtp::h264::{PacketizationMode, packetize};
use cvi_media::rtp::rtcp::{self, RtcpPacket};
use cvi_media::sdp::{ContentRole, NegotiatedStream, RtcpFeedback, StreamKind};
use cvi_media_gst::prompt_cache::ts_per_frame;
use cvi_media_gst::{
    AudioCodec, CompositeSubscription, EncodedFrame, Frames, H264Decoder, SlateParams,
    SlateSubscription,
};
use cvi_meet::{VideoPackets, VtcMedia, VtcMediaIn, VtcMediaOut};
use rand::Rng;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinSet;
use tokio::time::MissedTickBehavior;

/// Largest RTP payload we send (FU-A fragments of slate frames).
const VIDEO_MTU: usize = 1200;
/// PLI/FIR/INFO from one caller reach the shared encoder at most this often.
const KEYFRAME_FORWARD_EVERY: Duration = Duration::from_millis(500);
/// We ask the caller for a keyframe at most this often.
const KEYFRAME_ASK_EVERY: Duration = Duration::from_secs(1);
/// RTCP report interval (RFC 3550 §6.2: 5 s minimum, randomised ×0.5–1.5).
const RTCP_INTERVAL: Duration = Duration::from_secs(5);
/// The RTCP goodbyes at the end of a call get this long, then the task ends regardless.
pub(super) const GOODBYE_WITHIN: Duration = Duration::from_millis(200);
/// Mix frames from the meeting queued for the 20 ms clock (then the oldest goes).
const MIX_QUEUE: usize = 5;
/// Datagrams read from a socket at once after the one that woke the task (a 720p frame is
/// about ten; the bound keeps the other sockets and commands served).
const DRAIN_AT_ONCE: usize = 64;

pub(crate) struct TaskIo {
    pub setup: MediaSetup,
    pub audio: RtpPair,
    pub video: RtpPair,
    pub cmd: mpsc::UnboundedReceiver<MediaCmd>,
    pub audio_tx: mpsc::Sender<Vec<u8>>,
    pub events: mpsc::UnboundedSender<MediaEvent>,
    pub started: Instant,
    pub last_packet_ms: Arc<AtomicU64>,
}

/// Results of blocking (GStreamer) work done off the runtime threads.
enum Loaded {
    Prompt {
        generation: u64,
        frames: Option<Frames>,
        start: usize,
    },
    Silence {
        codec: AudioCodec,
        frame: Option<Vec<u8>>,
    },
    Slate {
        generation: u64,
        sub: Result<SlateSubscription, String>,
    },
    Decoder(Result<H264Decoder, String>),
}

/// A prompt or sound asked for: kept so a codec change can re-encode it.
#[derive(Clone)]
struct PlayRequest {
    id: Option<PromptId>,
    lang: String,
    name: String,
    looped: bool,
}

struct Playing {
    frames: Frames,
    pos: usize,
}

struct Task {
    setup: MediaSetup,
    audio_tx: mpsc::Sender<Vec<u8>>,
    events: mpsc::UnboundedSender<MediaEvent>,
    started: Instant,
    last_packet_ms: Arc<AtomicU64>,
    cname: String,
    audio: StreamIo,
    video: StreamIo,
    jobs: JoinSet<Loaded>,
    codec: Option<AudioCodec>,
    silence: Option<Vec<u8>>,
    request: Option<PlayRequest>,
    playing: Option<Playing>,
    play_generation: u64,
    audio_ts: u32,
    audio_marker: bool,
    slate_lines: Option<Vec<String>>,
    slate_params: Option<SlateParams>,
    /// The format the caller receives the meeting in (its negotiated size and rate).
    view_params: Option<SlateParams>,
    slate: Option<SlateSubscription>,
    slate_generation: u64,
    video_ts_base: u32,
    mode: PacketizationMode,
    connected: bool,
    decoder: Option<H264Decoder>,
    decoder_pending: bool,
    /// A keyframe request of ours waits for the rate limit.
    pending_ask: bool,
    last_forward: Option<Instant>,
    last_ask: Option<Instant>,
    fir_seq: u8,
    /// The packets of the frame being sent, back to back, and (end, marker) of each:
    /// reused from frame to frame, so sending allocates nothing per packet.
    packet_bytes: Vec<u8>,
    packet_ends: Vec<(usize, bool)>,
    /// In a meeting: the caller's media goes there, its composite and mix come back.
    meeting: Option<VtcMedia>,
    composite: Option<CompositeSubscription>,
    mix: VecDeque<Vec<u8>>,
    /// The packets of the caller's H.264 frame in progress, for the meeting.
    video_frame: VideoPackets,
    /// What the meeting was last told the caller receives (None: not told yet).
    meeting_params: Option<Option<SlateParams>>,
}

enum Ev {
    Cmd(Option<MediaCmd>),
    Datagram(Stream, Port, std::io::Result<(usize, SocketAddr)>),
    AudioTick,
    Rtcp,
    Publish,
    Frame(Result<Arc<EncodedFrame>, broadcast::error::RecvError>),
    Job(Result<Loaded, tokio::task::JoinError>),
    Meeting(Option<VtcMediaOut>),
}

#[derive(Clone, Copy)]
enum Stream {
    Audio,
    Video,
}

#[derive(Clone, Copy)]
enum Port {
    Rtp,
    Rtcp,
}

pub(crate) async fn run(io: TaskIo) {
    let TaskIo {
        setup,
        audio,
        video,
        mut cmd,
        audio_tx,
        events,
        started,
        last_packet_ms,
    } = io;
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::from_entropy();
    let sockets = [
        audio.rtp.clone(),
        audio.rtcp.clone(),
        video.rtp.clone(),
        video.rtcp.clone(),
    ];
    let cname = format!("cvi-{:08x}@{}", rng.r#gen::<u32>(), setup.host);
    let mut t = Task {
        audio: StreamIo::new(audio, rng.r#gen(), rng.r#gen()),
        video: StreamIo::new(video, rng.r#gen(), rng.r#gen()),
        setup,
        audio_tx,
        events,
        started,
        last_packet_ms,
        cname,
        jobs: JoinSet::new(),
        codec: None,
        silence: None,
        request: None,
        playing: None,
        play_generation: 0,
        audio_ts: rng.r#gen(),
        audio_marker: true,
        slate_lines: None,
        slate_params: None,
        view_params: None,
        slate: None,
        slate_generation: 0,
        video_ts_base: rng.r#gen(),
        mode: PacketizationMode::NonInterleaved,
        connected: false,
        decoder: None,
        decoder_pending: false,
        pending_ask: false,
        last_forward: None,
        last_ask: None,
        fir_seq: 0,
        packet_bytes: Vec::new(),
        packet_ends: Vec::new(),
        meeting: None,
        composite: None,
        mix: VecDeque::new(),
        meeting_params: None,
        video_frame: VideoPackets::default(),
    };
    let mut bufs = [[0u8; 2048]; 4];
    let mut audio_tick = tokio::time::interval(Duration::from_millis(20));
    audio_tick.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let first_report = Duration::from_millis(rng.gen_range(500..1500));
    // One timer for the reports, reset after each: a Sleep made afresh on every turn of the
    // loop would be registered in and removed from the timer wheel once per packet.
    let rtcp = tokio::time::sleep(first_report);
    tokio::pin!(rtcp);
    let mut publish = tokio::time::interval(Duration::from_secs(1));
    publish.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut ticking = true;
    loop {
        // No 20 ms wake-ups for a call that sends no audio and has nothing to check.
        let tick = t.wants_ticks();
        if tick && !ticking {
            // Not the ticks missed meanwhile in a burst: the next one is due now.
            audio_tick.reset_immediately();
        }
        ticking = tick;
        let [b0, b1, b2, b3] = &mut bufs;
        let ev = tokio::select! {
            c = cmd.recv() => Ev::Cmd(c),
            r = sockets[0].recv_from(b0) => Ev::Datagram(Stream::Audio, Port::Rtp, r),
            r = sockets[1].recv_from(b1) => Ev::Datagram(Stream::Audio, Port::Rtcp, r),
            r = sockets[2].recv_from(b2) => Ev::Datagram(Stream::Video, Port::Rtp, r),
            r = sockets[3].recv_from(b3) => Ev::Datagram(Stream::Video, Port::Rtcp, r),
            _ = audio_tick.tick(), if tick => Ev::AudioTick,
            () = &mut rtcp => Ev::Rtcp,
            _ = publish.tick() => Ev::Publish,
            f = next_frame(&mut t.composite, &mut t.slate) => Ev::Frame(f),
            m = next_meeting(&mut t.meeting) => Ev::Meeting(m),
            Some(j) = t.jobs.join_next(), if !t.jobs.is_empty() => Ev::Job(j),
        };
        match ev {
            Ev::Cmd(None) => break,
            Ev::Cmd(Some(c)) => t.command(c),
            Ev::Datagram(stream, port, Ok((n, from))) => {
                let i = match (stream, port) {
                    (Stream::Audio, Port::Rtp) => 0,
                    (Stream::Audio, Port::Rtcp) => 1,
                    (Stream::Video, Port::Rtp) => 2,
                    (Stream::Video, Port::Rtcp) => 3,
                };
                let data = bufs.get(i).and_then(|b| b.get(..n)).unwrap_or_default();
                t.datagram(stream, port, data, from).await;
                // A frame's packets come in a burst: the rest are read here, not one turn
                // of the select (11 futures polled) each.
                if let (Some(socket), Some(buf)) = (sockets.get(i), bufs.get_mut(i)) {
                    for _ in 0..DRAIN_AT_ONCE {
                        let Ok((n, from)) = socket.try_recv_from(buf) else {
                            break;
                        };
                        let data = buf.get(..n).unwrap_or_default();
                        t.datagram(stream, port, data, from).await;
                    }
                }
            }
            Ev::Datagram(..) => {
                // ICMP port unreachable and the like: the caller may come back.
            }
            Ev::AudioTick => {
                t.audio_tick().await;
                t.check_decoder().await;
            }
            Ev::Rtcp => {
                t.send_reports(false).await;
                rtcp.as_mut().reset(
                    tokio::time::Instant::now() + RTCP_INTERVAL.mul_f64(rng.gen_range(0.5..1.5)),
                );
            }
            Ev::Publish => t.publish(),
            Ev::Frame(Ok(f)) => {
                let first = t.video.stats.packets_sent == 0;
                t.send_frame(&f).await;
                if first {
                    t.publish();
                }
            }
            Ev::Frame(Err(broadcast::error::RecvError::Closed)) => {
                if t.composite.take().is_none() {
                    t.slate = None;
                }
            }
            Ev::Meeting(Some(VtcMediaOut::Video(sub))) => {
                t.composite = Some(sub);
                // The slate's encoder stops unless other callers still watch it.
                t.subscribe_slate();
                t.force_keyframe();
            }
            Ev::Meeting(Some(VtcMediaOut::Audio(a))) => {
                if t.mix.len() >= MIX_QUEUE {
                    t.mix.pop_front();
                }
                t.mix.push_back(a);
            }
            Ev::Meeting(None) => {
                t.meeting = None;
                t.composite = None;
                t.subscribe_slate();
            }
            Ev::Frame(Err(broadcast::error::RecvError::Lagged(_))) => {}
            Ev::Job(Ok(l)) => {
                t.loaded(l);
                t.publish();
            }
            Ev::Job(Err(e)) => tracing::warn!(error = %e, "media job failed"),
        }
    }
    // The call is over (its command channel closed).
    let _ = tokio::time::timeout(GOODBYE_WITHIN, t.send_reports(true)).await;
    t.publish();
}

/// The next frame to send: the meeting's composite once there is one, else the slate.
async fn next_frame(
    c: &mut Option<CompositeSubscription>,
    s: &mut Option<SlateSubscription>,
) -> Result<Arc<EncodedFrame>, broadcast::error::RecvError> {
    match (c, s) {
        (Some(c), _) => c.recv().await,
        (None, Some(s)) => s.recv().await,
        (None, None) => std::future::pending().await,
    }
}

async fn next_meeting(m: &mut Option<VtcMedia>) -> Option<VtcMediaOut> {
    match m {
        Some(m) => m.rx.recv().await,
        None => std::future::pending().await,
    }
}

impl Task {
    fn since_start(&self) -> Duration {
        self.started.elapsed()
    }

    fn command(&mut self, c: MediaCmd) {
        match c {
            MediaCmd::Streams(streams) => self.streams(streams),
            MediaCmd::Play {
                id,
                lang,
                name,
                looped,
            } => {
                self.request = Some(PlayRequest {
                    id,
                    lang,
                    name,
                    looped,
                });
                self.playing = None;
                self.load_prompt(0);
            }
            MediaCmd::StopAudio => {
                self.request = None;
                self.playing = None;
                self.play_generation += 1;
            }
            MediaCmd::Slate(lines) => {
                self.slate_lines = Some(lines);
                self.subscribe_slate();
            }
            MediaCmd::Connected => {
                self.connected = true;
                self.start_decoder();
            }
            MediaCmd::KeyframeRequest => {
                self.video.stats.keyframe_requests_received += 1;
                self.forward_keyframe_request();
            }
            MediaCmd::Meeting(m) => {
                // The meeting decodes the caller's video only if someone needs it decoded.
                self.decoder = None;
                self.meeting = Some(m);
                self.meeting_params = None;
                self.tell_meeting_params();
            }
            MediaCmd::AskKeyframe => {
                self.pending_ask = true;
            }
        }
    }

    fn streams(&mut self, streams: Vec<NegotiatedStream>) {
        let audio = streams
            .iter()
            .find(|s| s.kind == StreamKind::Audio)
            .cloned();
        let video = streams
            .iter()
            .find(|s| s.kind == StreamKind::Video && s.content == ContentRole::Main)
            .or_else(|| streams.iter().find(|s| s.kind == StreamKind::Video))
            .cloned();
        let codec = audio.as_ref().and_then(audio_codec);
        let params = video.as_ref().and_then(slate_params);
        self.view_params = video.as_ref().and_then(view_params);
        self.mode = video
            .as_ref()
            .map_or(PacketizationMode::NonInterleaved, packetization);
        let video_codec_changed =
            self.video.neg.as_ref().map(|n| &n.codec) != video.as_ref().map(|n| &n.codec);
        let was_sending = self.video.can_send();
        let was_allowed = self.video.sends();
        self.audio.configure(audio);
        self.video.configure(video);
        if !was_sending && self.video.can_send() {
            // Off hold (or video added): the caller's decoder needs an IDR to start again.
            self.force_keyframe();
        }
        if codec != self.codec {
            self.codec = codec;
            self.silence = None;
            if let Some(c) = codec {
                let prompts = self.setup.shared.prompts.clone();
                self.jobs.spawn_blocking(move || Loaded::Silence {
                    codec: c,
                    frame: prompts.silence_blocking(c),
                });
            }
            if self.request.is_some() {
                let pos = self.playing.as_ref().map_or(0, |p| p.pos);
                self.load_prompt(pos);
            }
        }
        if params != self.slate_params || was_allowed != self.video.sends() {
            self.slate_params = params;
            self.subscribe_slate();
        }
        self.tell_meeting_params();
        if video_codec_changed && self.connected {
            self.decoder = None;
            self.start_decoder();
        }
    }

    /// Tells the meeting what video the caller can receive: its encoding, or none when we
    /// may not send it video (no video, `a=sendonly`/`inactive` from the caller, hold), so
    /// that no composite is made for nobody.
    fn tell_meeting_params(&mut self) {
        let want = self.view_params.clone().filter(|_| self.video.sends());
        if let Some(m) = &self.meeting
            && self.meeting_params.as_ref() != Some(&want)
        {
            m.send(VtcMediaIn::Params(want.clone()));
            self.meeting_params = Some(want);
        }
    }

    fn load_prompt(&mut self, start: usize) {
        self.play_generation += 1;
        let (Some(codec), Some(req)) = (self.codec, self.request.clone()) else {
            // Nothing to play it on: it is over at once.
            if let Some(id) = self.request.take().and_then(|r| r.id) {
                let _ = self.events.send(MediaEvent::PromptFinished(id));
            }
            return;
        };
        let generation = self.play_generation;
        let prompts = self.setup.shared.prompts.clone();
        self.jobs.spawn_blocking(move || Loaded::Prompt {
            generation,
            frames: prompts.frames_blocking(&req.lang, &req.name, codec),
            start,
        });
    }

    /// Subscribes to the slate the caller should see — none while the meeting's composite
    /// is sent instead or while we may not send video (hold, `sendonly`): no encoding for
    /// nobody.
    fn subscribe_slate(&mut self) {
        self.slate_generation += 1;
        let (Some(lines), Some(params)) = (self.slate_lines.clone(), self.slate_params.clone())
        else {
            self.slate = None;
            return;
        };
        if self.composite.is_some() || !self.video.sends() {
            self.slate = None;
            return;
        }
        let generation = self.slate_generation;
        let hub = self.setup.shared.slates.clone();
        self.jobs.spawn_blocking(move || Loaded::Slate {
            generation,
            sub: hub.subscribe(&lines, &params).map_err(|e| e.to_string()),
        });
    }

    fn start_decoder(&mut self) {
        if self.decoder.is_some() || self.decoder_pending || self.meeting.is_some() {
            return;
        }
        let Some(n) = self.video.neg.as_ref() else {
            return;
        };
        if !n.codec.name.eq_ignore_ascii_case("H264") || !self.video.receives() {
            return;
        }
        let (pt, sprop) = (n.codec.payload_type, sprop(n));
        self.decoder_pending = true;
        self.jobs.spawn_blocking(move || {
            Loaded::Decoder(H264Decoder::new(pt, sprop.as_deref()).map_err(|e| e.to_string()))
        });
    }

    fn loaded(&mut self, l: Loaded) {
        match l {
            Loaded::Prompt {
                generation,
                frames,
                start,
            } if generation == self.play_generation => match frames {
                Some(frames) => {
                    self.playing = Some(Playing { frames, pos: start });
                    self.audio_marker = true;
                }
                None => self.prompt_over(),
            },
            Loaded::Prompt { .. } => {}
            Loaded::Silence { codec, frame } if Some(codec) == self.codec => self.silence = frame,
            Loaded::Silence { .. } => {}
            Loaded::Slate { generation, sub } if generation == self.slate_generation => match sub {
                Ok(s) => self.slate = Some(s),
                Err(e) => {
                    tracing::error!(error = %e, "cannot start the slate encoder");
                    self.slate = None;
                }
            },
            Loaded::Slate { .. } => {}
            Loaded::Decoder(d) => {
                self.decoder_pending = false;
                match d {
                    Ok(d) if self.connected && self.meeting.is_none() => {
                        self.decoder = Some(d);
                        // Decoding starts at an IDR: ask for one now.
                        self.last_ask = None;
                        self.pending_ask = true;
                    }
                    Ok(_) => {}
                    Err(e) => tracing::error!(error = %e, "cannot start the H.264 decoder"),
                }
            }
        }
    }

    /// The prompt ended (or could not be prepared): loop it or report it.
    fn prompt_over(&mut self) {
        let Some(req) = self.request.clone() else {
            self.playing = None;
            return;
        };
        if req.looped
            && let Some(p) = self.playing.as_mut()
        {
            p.pos = 0;
            return;
        }
        self.playing = None;
        self.request = None;
        if let Some(id) = req.id {
            let _ = self.events.send(MediaEvent::PromptFinished(id));
        }
    }

    /// Whether the 20 ms tick has work: audio to send, a decoder's state to read, or a
    /// keyframe request to pass on.
    fn wants_ticks(&self) -> bool {
        (self.codec.is_some() && self.audio.sends())
            || self.decoder.is_some()
            || self.decoder_pending
            || self.pending_ask
    }

    async fn audio_tick(&mut self) {
        let Some(codec) = self.codec else { return };
        let ts = self.audio_ts;
        self.audio_ts = ts.wrapping_add(ts_per_frame(codec));
        let mut frame = None;
        if let Some(p) = self.playing.as_mut() {
            frame = p.frames.get(p.pos).cloned();
            p.pos += 1;
            if frame.is_none() {
                self.prompt_over();
                frame = self.playing.as_mut().and_then(|p| {
                    let f = p.frames.first().cloned();
                    p.pos = 1;
                    f
                });
            }
        }
        let mix = if frame.is_none() {
            self.mix.pop_front()
        } else {
            None
        };
        let payload = match frame.or(mix).or_else(|| self.silence.clone()) {
            Some(p) => p,
            None => return,
        };
        if !self.audio.can_send() {
            return;
        }
        let marker = std::mem::take(&mut self.audio_marker);
        self.audio.send_rtp(marker, ts, &payload).await;
    }

    fn video_ts(&self) -> u32 {
        let ticks = self.since_start().as_micros() * 9 / 100;
        self.video_ts_base.wrapping_add(ticks as u32)
    }

    async fn send_frame(&mut self, f: &EncodedFrame) {
        if !self.video.can_send() {
            return;
        }
        let ts = self.video_ts();
        let (mut bytes, mut ends) = (
            std::mem::take(&mut self.packet_bytes),
            std::mem::take(&mut self.packet_ends),
        );
        bytes.clear();
        ends.clear();
        packetize(&f.data, self.mode, VIDEO_MTU, &mut |p, m| {
            bytes.extend_from_slice(p);
            ends.push((bytes.len(), m));
        });
        let mut start = 0;
        for &(end, m) in &ends {
            self.video
                .send_rtp(m, ts, bytes.get(start..end).unwrap_or_default())
                .await;
            start = end;
        }
        (self.packet_bytes, self.packet_ends) = (bytes, ends);
    }

    async fn datagram(&mut self, stream: Stream, port: Port, data: &[u8], from: SocketAddr) {
        let ms = u64::try_from(self.since_start().as_millis()).unwrap_or(u64::MAX);
        self.last_packet_ms.store(ms, Ordering::Relaxed);
        let (now, since) = (Instant::now(), self.since_start());
        let s = match stream {
            Stream::Audio => &mut self.audio,
            Stream::Video => &mut self.video,
        };
        let inbound = match port {
            Port::Rtp => s.on_rtp_socket(data, from, now, since),
            Port::Rtcp => match s.on_rtcp(data, from, now, false) {
                Some(p) => Inbound::Rtcp(p),
                None => Inbound::Dropped,
            },
        };
        match (stream, inbound) {
            (_, Inbound::Dropped) => {}
            (_, Inbound::Rtcp(packets)) => self.rtcp_in(stream, &packets, since),
            (Stream::Audio, Inbound::Rtp) => {
                if !self.audio_tx.is_closed() {
                    let _ = self.audio_tx.try_send(self.audio.plain.clone());
                }
                self.forward_to_meeting(Stream::Audio);
            }
            (Stream::Video, Inbound::Rtp) => {
                if let Some(d) = &self.decoder {
                    d.push_rtp(&self.video.plain);
                }
                self.forward_to_meeting(Stream::Video);
                if std::mem::take(&mut self.video.moved) {
                    // What we sent before went elsewhere: start the caller's picture afresh.
                    self.force_keyframe();
                }
            }
        }
    }

    /// The caller's audio or H.264 payload to the meeting (its main codec only: no DTMF
    /// events, no comfort noise).
    ///
    /// Video goes a frame's packets at a time (as they came, not depacketized: the room
    /// forwards them to browsers as they are): one message per frame, not one per packet,
    /// between this task and the room.
    fn forward_to_meeting(&mut self, stream: Stream) {
        let Some(m) = &self.meeting else { return };
        let s = match stream {
            Stream::Audio => &self.audio,
            Stream::Video => &self.video,
        };
        let (Some(h), Some(n)) = (RtpHeader::parse(&s.plain), s.neg.as_ref()) else {
            return;
        };
        if h.payload_type != n.codec.payload_type {
            return;
        }
        match stream {
            Stream::Audio => {
                m.send(VtcMediaIn::Audio {
                    payload: h.payload(&s.plain).to_vec(),
                    timestamp: h.timestamp,
                });
            }
            Stream::Video => {
                let f = &mut self.video_frame;
                if !f.is_empty() && f.timestamp != h.timestamp {
                    // The last packet of the frame before (its marker) was lost.
                    let next = VideoPackets::sized_like(f);
                    m.send(VtcMediaIn::Video(std::mem::replace(f, next)));
                }
                f.timestamp = h.timestamp;
                f.push(h.payload(&s.plain), h.marker);
                if f.complete() {
                    let next = VideoPackets::sized_like(f);
                    m.send(VtcMediaIn::Video(std::mem::replace(f, next)));
                }
            }
        }
    }

    fn rtcp_in(&mut self, stream: Stream, packets: &[RtcpPacket], since: Duration) {
        for p in packets {
            match p {
                RtcpPacket::SenderReport { ssrc, ntp, .. } => {
                    let s = match stream {
                        Stream::Audio => &mut self.audio,
                        Stream::Video => &mut self.video,
                    };
                    if s.remote_ssrc == Some(*ssrc) {
                        s.rx.on_sender_report(*ntp, since);
                    }
                }
                RtcpPacket::Pli { .. } | RtcpPacket::Fir { .. } => {
                    self.video.stats.keyframe_requests_received += 1;
                    self.forward_keyframe_request();
                }
                _ => {}
            }
        }
    }

    /// An IDR for this caller now, past the rate limit (its decoder starts afresh).
    fn force_keyframe(&mut self) {
        self.last_forward = None;
        self.forward_keyframe_request();
    }

    /// A keyframe request from the caller reaches the shared encoder, rate-limited (one
    /// caller must not make every caller's stream all IDRs).
    fn forward_keyframe_request(&mut self) {
        let now = Instant::now();
        if self
            .last_forward
            .is_some_and(|t| now.duration_since(t) < KEYFRAME_FORWARD_EVERY)
        {
            return;
        }
        self.last_forward = Some(now);
        if let Some(c) = &self.composite {
            c.request_keyframe();
        } else if let Some(s) = &self.slate {
            s.request_keyframe();
        }
    }

    /// Our decoder's needs: a keyframe asked for by PLI, FIR or SIP INFO.
    async fn check_decoder(&mut self) {
        let mut wants = std::mem::take(&mut self.pending_ask);
        if let Some(d) = &self.decoder {
            wants |= d.take_keyframe_request();
            let st = d.stats();
            if self.video.stats.frames_decoded == 0 && st.frames_decoded > 0 {
                self.publish();
            }
            self.video.stats.frames_decoded = st.frames_decoded;
            self.video.stats.width = st.width;
            self.video.stats.height = st.height;
            self.video.stats.decode_errors = st.errors;
        }
        if !wants || self.video.neg.is_none() {
            return;
        }
        let now = Instant::now();
        if self
            .last_ask
            .is_some_and(|t| now.duration_since(t) < KEYFRAME_ASK_EVERY)
        {
            self.pending_ask = true;
            return;
        }
        self.last_ask = Some(now);
        self.video.stats.keyframe_requests_sent += 1;
        let fb = self
            .video
            .neg
            .as_ref()
            .map(|n| n.rtcp_fb.clone())
            .unwrap_or_default();
        let (ours, theirs) = (
            self.video.writer.ssrc(),
            self.video.remote_ssrc.unwrap_or(0),
        );
        if fb.contains(&RtcpFeedback::NackPli) {
            let mut p = self
                .video
                .report(self.video_ts(), &self.cname, self.since_start());
            p.extend(rtcp::pli(ours, theirs));
            self.video.send_rtcp(&p).await;
        } else if fb.contains(&RtcpFeedback::CcmFir) {
            self.fir_seq = self.fir_seq.wrapping_add(1);
            let mut p = self
                .video
                .report(self.video_ts(), &self.cname, self.since_start());
            p.extend(rtcp::fir(ours, theirs, self.fir_seq));
            self.video.send_rtcp(&p).await;
        } else {
            let _ = self.events.send(MediaEvent::FastUpdate);
        }
    }

    /// Our RTCP report on each negotiated stream; with `goodbye` (RFC 3550 §6.6, when the
    /// call's media ends) a BYE follows it in the compound packet, so the far end stops
    /// waiting for our packets at once.
    async fn send_reports(&mut self, goodbye: bool) {
        let since = self.since_start();
        let (audio_ts, video_ts) = (self.audio_ts, self.video_ts());
        for (s, ts) in [(&mut self.audio, audio_ts), (&mut self.video, video_ts)] {
            if s.neg.is_some() {
                let mut p = s.report(ts, &self.cname, since);
                if goodbye {
                    p.extend_from_slice(&rtcp::bye(s.ssrc()));
                }
                s.send_rtcp(&p).await;
            }
        }
    }

    fn publish(&self) {
        let stats = MediaStats {
            audio: self.audio.snapshot(),
            video: self.video.snapshot(),
            slate: match self.composite {
                Some(_) => None,
                None => self.slate.as_ref().and(self.slate_lines.clone()),
            },
            view: self.composite.as_ref().map(|c| c.view().to_string()),
            playing: self.playing.as_ref().and(self.request.as_ref()).map(|r| {
                if r.lang.is_empty() {
                    r.name.clone()
                } else {
                    format!("{}/{}", r.lang, r.name)
                }
            }),
        };
        self.setup
            .registry
            .update(&self.setup.call_id, |c| c.media = Some(stats));
    }
}
