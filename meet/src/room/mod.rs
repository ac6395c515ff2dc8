//! One meeting in progress: a single task owns the room's UDP socket, every browser's
//! WebRTC session (str0m, sans-IO), the VTCs, the composite mixer, the audio mixes and the
//! recording. Browsers' media is forwarded to the other browsers as an SFU (no decoding);
//! it is decoded only for what a VTC or the recording needs.

mod browsers;
mod gso;
mod mix;
mod pcm;
mod peer;
mod vtcs;

pub(crate) use peer::participant_ref;

use crate::MeetConfig;
use crate::protocol::{ClientMsg, MeetingRef, RosterEntry, ServerMsg, Waiting};
use crate::vtc::{VtcEvent, VtcJoin, VtcLink, VtcMedia, VtcMediaIn};
use cvi_media_gst::AudioCodec;
use cvi_meeting::{Notices, ParticipantId as Pid, SpeakerDetector};
use peer::Peer;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};
use vtcs::VtcState;

/// We ask one source for a keyframe at most this often.
const KEYFRAME_ASK_EVERY: Duration = Duration::from_millis(500);
/// The audio mix clock.
const AUDIO_TICK: Duration = Duration::from_millis(20);
use pcm::FRAME;
/// Datagrams or VTC media messages taken in one turn of the room's loop at most.
const DRAIN: usize = 32;
/// Queued VTC media packets before the VTC's media task has to drop.
const VTC_MEDIA_QUEUE: usize = 512;

pub(crate) type RoomTx = mpsc::UnboundedSender<RoomCmd>;

pub(crate) enum RoomCmd {
    BrowserJoin {
        name: String,
        host: bool,
        tx: mpsc::UnboundedSender<ServerMsg>,
        reply: oneshot::Sender<Result<Pid, String>>,
    },
    Browser {
        id: Pid,
        msg: ClientMsg,
    },
    BrowserGone {
        id: Pid,
    },
    VtcJoin {
        join: VtcJoin,
        reply: oneshot::Sender<VtcLink>,
    },
    VtcEnter {
        id: Pid,
    },
    VtcDigit {
        id: Pid,
        key: char,
    },
    VtcAudio {
        id: Pid,
        codec: Option<AudioCodec>,
    },
    VtcLeave {
        id: Pid,
    },
    /// A frame of a VTC's transcoded video.
    Transcoded {
        id: Pid,
        frame: Arc<cvi_media_gst::EncodedFrame>,
    },
    /// A snapshot for the API and tests.
    Status {
        reply: oneshot::Sender<RoomStatus>,
    },
}

/// What the room looks like (for `GET /api/v1/meetings/{id}/live` and tests).
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RoomStatus {
    pub participants: Vec<RosterEntry>,
    pub waiting: Vec<Waiting>,
    pub recording: bool,
    pub transcription: bool,
    pub composite_encoders: usize,
    pub decoders: usize,
    /// Packets sent to browsers, and the sends they took (fewer with UDP GSO).
    pub packets_to_browsers: u64,
    pub sends_to_browsers: u64,
    /// The composite pictures being encoded (VTC views and the recording).
    pub views: Vec<mix::ViewStatus>,
    /// Which view each VTC in the meeting receives.
    pub watching: std::collections::BTreeMap<String, String>,
    /// How each participant's audio fared in the mixer's playout buffer.
    pub mix_audio: std::collections::BTreeMap<String, pcm::Playout>,
}

/// Starts a room task; it ends when the last participant leaves.
pub(crate) async fn spawn(
    meeting: MeetingRef,
    cfg: Arc<MeetConfig>,
) -> std::io::Result<(RoomTx, tokio::task::JoinHandle<()>)> {
    let socket = UdpSocket::bind(SocketAddr::new(cfg.media_ip, 0)).await?;
    let local = socket.local_addr()?;
    let (tx, rx) = mpsc::unbounded_channel();
    let (media_tx, media_rx) = mpsc::channel(VTC_MEDIA_QUEUE);
    let room = Room {
        meeting,
        cfg,
        socket,
        local,
        tx: tx.clone(),
        peers: Vec::new(),
        vtcs: Vec::new(),
        next_id: 1,
        order: Vec::new(),
        speaker: SpeakerDetector::default(),
        notices: Notices::new(),
        mix: mix::MixState::default(),
        media_tx,
        sender: gso::Sender::default(),
        started: Instant::now(),
        ever_joined: false,
    };
    let task = tokio::spawn(room.run(rx, media_rx));
    Ok((tx, task))
}

pub(crate) struct Room {
    meeting: MeetingRef,
    cfg: Arc<MeetConfig>,
    socket: UdpSocket,
    local: SocketAddr,
    tx: RoomTx,
    peers: Vec<Peer>,
    vtcs: Vec<VtcState>,
    next_id: u64,
    /// Join order: the order tiles are filled in.
    order: Vec<Pid>,
    speaker: SpeakerDetector,
    notices: Notices,
    mix: mix::MixState,
    media_tx: mpsc::Sender<(Pid, VtcMediaIn)>,
    /// Packets to browsers, batched per destination (UDP GSO).
    sender: gso::Sender,
    started: Instant,
    ever_joined: bool,
}

impl Room {
    async fn run(
        mut self,
        mut rx: mpsc::UnboundedReceiver<RoomCmd>,
        mut media_rx: mpsc::Receiver<(Pid, VtcMediaIn)>,
    ) {
        tracing::info!(meeting = %self.meeting.id, addr = %self.local, "meeting room opened");
        let mut buf = vec![0u8; 2048];
        let mut tick = tokio::time::interval(AUDIO_TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        // One timer, moved only when the browsers' next deadline moves (a Sleep made afresh
        // on every turn would go in and out of the timer wheel once per event).
        let sleep = tokio::time::sleep(Duration::ZERO);
        tokio::pin!(sleep);
        loop {
            let wake = tokio::time::Instant::from_std(self.poll_all());
            if sleep.deadline() != wake {
                sleep.as_mut().reset(wake);
            }
            let mixing = self.mix.needed();
            let mut keyframes = self.mix.take_keyframe_rx();
            tokio::select! {
                r = self.socket.recv_from(&mut buf) => match r {
                    Ok((n, from)) => {
                        self.on_datagram(buf.get(..n).unwrap_or_default(), from);
                        // What else has arrived goes in before the browsers are polled.
                        for _ in 1..DRAIN {
                            let Ok((n, from)) = self.socket.try_recv_from(&mut buf) else {
                                break;
                            };
                            self.on_datagram(buf.get(..n).unwrap_or_default(), from);
                        }
                    }
                    Err(e) => tracing::debug!("room socket: {e}"),
                },
                c = rx.recv() => match c {
                    Some(c) => self.on_cmd(c),
                    None => break,
                },
                m = media_rx.recv() => if let Some((id, m)) = m {
                    self.on_vtc_media(id, m);
                    // Frames of other VTCs queued meanwhile: one poll of the browsers for all.
                    for _ in 1..DRAIN {
                        let Ok((id, m)) = media_rx.try_recv() else { break };
                        self.on_vtc_media(id, m);
                    }
                },
                src = async {
                    match keyframes.as_mut() {
                        Some(k) => k.recv().await,
                        None => std::future::pending().await,
                    }
                } => if let Some(src) = src {
                    // A decoder of ours needs a keyframe: only the source has one.
                    self.ask_source_keyframe(Pid(src), Instant::now());
                },
                _ = tick.tick(), if mixing => self.audio_tick(),
                () = &mut sleep => {}
            }
            // Drive every browser's clock after any event (str0m's pattern): media written to
            // a peer is sent on its next poll only once its queues were looked at, and a busy
            // socket must not starve the timer arm.
            let now = Instant::now();
            for p in &mut self.peers {
                p.input(str0m::Input::Timeout(now));
            }
            if let Some(k) = keyframes {
                self.mix.put_keyframe_rx(k);
            }
            self.reap();
            if self.ever_joined && self.peers.is_empty() && self.vtcs.is_empty() {
                break;
            }
        }
        rx.close();
        while let Ok(c) = rx.try_recv() {
            // Joins that raced with the close get their reply dropped and retry on a new room.
            drop(c);
        }
        self.stop_recording();
        tracing::info!(
            meeting = %self.meeting.id,
            lasted_s = self.started.elapsed().as_secs(),
            "meeting room closed"
        );
    }

    fn on_cmd(&mut self, c: RoomCmd) {
        match c {
            RoomCmd::BrowserJoin {
                name,
                host,
                tx,
                reply,
            } => {
                let _ = reply.send(self.browser_join(name, host, tx));
            }
            RoomCmd::Browser { id, msg } => self.on_browser(id, msg),
            RoomCmd::BrowserGone { id } => self.browser_leave(id),
            RoomCmd::VtcJoin { join, reply } => {
                let link = self.vtc_join(join);
                let _ = reply.send(link);
            }
            RoomCmd::VtcEnter { id } => self.vtc_enter(id),
            RoomCmd::VtcDigit { id, key } => self.vtc_digit(id, key),
            RoomCmd::VtcAudio { id, codec } => self.vtc_audio(id, codec),
            RoomCmd::VtcLeave { id } => self.vtc_leave(id),
            RoomCmd::Transcoded { id, frame } => self.on_transcoded(id, &frame),
            RoomCmd::Status { reply } => {
                let _ = reply.send(self.status());
            }
        }
    }

    fn new_id(&mut self) -> Pid {
        let id = Pid(self.next_id);
        self.next_id += 1;
        id
    }

    fn status(&self) -> RoomStatus {
        RoomStatus {
            participants: self.roster(),
            waiting: self.waiting(),
            recording: self.notices.recording(),
            transcription: self.notices.transcription(),
            composite_encoders: self.mix.encoders(),
            packets_to_browsers: self.sender.packets,
            sends_to_browsers: self.sender.batches,
            decoders: self.mix.decoders(),
            views: self.mix.views(),
            watching: self
                .vtcs
                .iter()
                .filter_map(|v| Some((participant_ref(v.id), v.view.clone()?)))
                .collect(),
            mix_audio: self
                .peers
                .iter()
                .map(|p| (p.id, &p.pcm))
                .chain(self.vtcs.iter().map(|v| (v.id, &v.pcm)))
                .map(|(id, q)| (participant_ref(id), q.playout()))
                .collect(),
        }
    }

    fn roster(&self) -> Vec<RosterEntry> {
        let mut out = Vec::new();
        for id in &self.order {
            if let Some(p) = self.peers.iter().find(|p| p.id == *id) {
                out.push(RosterEntry {
                    id: participant_ref(p.id),
                    name: p.name.clone(),
                    kind: "browser",
                    audio_muted: p.audio_muted,
                    video_muted: p.video_muted,
                });
            } else if let Some(v) = self.vtcs.iter().find(|v| v.id == *id && v.entered) {
                out.push(RosterEntry {
                    id: participant_ref(v.id),
                    name: v.name.clone(),
                    kind: "video_device",
                    audio_muted: v.muted,
                    video_muted: false,
                });
            }
        }
        out
    }

    fn waiting(&self) -> Vec<Waiting> {
        self.vtcs
            .iter()
            .filter(|v| !v.entered)
            .map(|v| Waiting {
                id: participant_ref(v.id),
                name: v.name.clone(),
            })
            .collect()
    }

    /// Tells every page who is here (and hosts who waits), after any change.
    fn broadcast_roster(&mut self) {
        let roster = ServerMsg::Roster {
            participants: self.roster(),
        };
        let lobby = ServerMsg::Lobby {
            waiting: self.waiting(),
        };
        for p in &self.peers {
            p.send(roster.clone());
            if p.host {
                p.send(lobby.clone());
            }
        }
        self.refresh_layouts();
    }

    fn broadcast_state(&self) {
        let m = ServerMsg::State {
            recording: self.notices.recording(),
            transcription: self.notices.transcription(),
        };
        for p in &self.peers {
            p.send(m.clone());
        }
    }

    /// Sends every VTC an event.
    fn tell_vtcs(&self, e: &VtcEvent) {
        for v in self.vtcs.iter().filter(|v| v.entered) {
            let _ = v.events.send(e.clone());
        }
    }

    /// Feeds a datagram to the browser it belongs to.
    fn on_datagram(&mut self, data: &[u8], from: SocketAddr) {
        let Ok(contents) = data.try_into() else {
            return;
        };
        let input = str0m::Input::Receive(
            Instant::now(),
            str0m::net::Receive {
                proto: str0m::net::Protocol::Udp,
                source: from,
                destination: self.local,
                contents,
            },
        );
        if let Some(p) = self.peers.iter_mut().find(|p| p.rtc.accepts(&input)) {
            p.input(input);
        }
    }

    /// Polls every browser, forwards what they produced; returns when to wake next.
    fn poll_all(&mut self) -> Instant {
        let mut wake = Instant::now() + Duration::from_millis(100);
        let mut outs = Vec::new();
        loop {
            let mut any = false;
            for i in 0..self.peers.len() {
                let mut out = Vec::new();
                let socket = &self.socket;
                let sender = &mut self.sender;
                let Some(p) = self.peers.get_mut(i) else {
                    break;
                };
                p.negotiate();
                let t = p.poll(&mut |bytes, to| sender.push(socket, bytes, to), &mut out);
                sender.flush(socket);
                if let Some(t) = t {
                    wake = wake.min(t);
                }
                if !out.is_empty() {
                    any = true;
                    outs.push((p.id, out));
                }
            }
            if !any {
                break;
            }
            for (id, out) in outs.drain(..) {
                for o in out {
                    self.on_peer_out(id, o);
                }
            }
        }
        wake
    }

    /// Removes browsers whose WebRTC session died.
    fn reap(&mut self) {
        let dead: Vec<Pid> = self
            .peers
            .iter()
            .filter(|p| !p.rtc.is_alive())
            .map(|p| p.id)
            .collect();
        for id in dead {
            if let Some(p) = self.peers.iter().find(|p| p.id == id) {
                p.send(ServerMsg::Bye {
                    reason: "the WebRTC connection was lost".into(),
                });
            }
            self.browser_leave(id);
        }
    }
}
