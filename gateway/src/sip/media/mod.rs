//! The media of a call's SIP leg: one task per call owns its four sockets (audio and video,
//! RTP and RTCP), latches to where the caller's packets really come from, paces prompt
//! audio in 20 ms frames, sends the shared slate video packetized for this caller, answers
//! PLI/FIR with a keyframe, decodes the caller's H.264 once it is connected (asking for
//! keyframes the negotiated way), sends RTCP reports, and keeps statistics for the API.
//!
//! The call task talks to it with [`MediaCmd`]s and hears back [`MediaEvent`]s; dropping
//! [`CallMedia`] stops the task and closes every socket, encoder subscription and decoder.

mod format;
mod sockets;
mod stats;
mod stream;
mod task;

pub(crate) use sockets::{RtpPair, bind_pair};
pub(crate) use stats::MediaStats;

use cvi_ivr::PromptId;
use cvi_media::sdp::NegotiatedStream;
use cvi_media_gst::{PromptCache, SlateHub};
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

use super::registry::Registry;

/// What the call asks of its media.
#[derive(Debug)]
pub(crate) enum MediaCmd {
    /// The negotiated streams (after the answer, and after every re-INVITE/UPDATE).
    Streams(Vec<NegotiatedStream>),
    /// Play a prompt (`lang` + prompt name) or, with `lang` empty, a sound (`lobby`).
    /// `id` is reported back in [`MediaEvent::PromptFinished`] unless `looped`.
    Play {
        id: Option<PromptId>,
        lang: String,
        name: String,
        looped: bool,
    },
    /// Stop the prompt or music (silence follows).
    StopAudio,
    /// Show a slate with these lines.
    Slate(Vec<String>),
    /// The caller is in the meeting: decode its video.
    Connected,
    /// The caller asked for a keyframe by SIP INFO (`picture_fast_update`).
    KeyframeRequest,
    /// The caller is in a meeting room: its media goes there, the composite comes back.
    Meeting(cvi_meet::VtcMedia),
    /// The meeting needs a keyframe of the caller's video: ask it (PLI, FIR or SIP INFO).
    AskKeyframe,
}

/// What the media tells the call.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum MediaEvent {
    /// A prompt played to its end.
    PromptFinished(PromptId),
    /// Our decoder needs a keyframe and the caller negotiated neither PLI nor FIR: ask by
    /// SIP INFO `picture_fast_update` (RFC 5168).
    FastUpdate,
}

/// Shared by every call: the encoders and prompt frames that calls have in common.
#[derive(Clone, Default)]
pub(crate) struct MediaShared {
    pub slates: SlateHub,
    pub prompts: PromptCache,
}

/// What the media task needs to know about its call.
pub(crate) struct MediaSetup {
    pub ip: IpAddr,
    pub shared: MediaShared,
    pub registry: Arc<Registry>,
    pub call_id: String,
    /// Our host name, for the RTCP CNAME.
    pub host: String,
}

/// The media of one call; dropping it stops the task and closes everything.
pub(crate) struct CallMedia {
    pub audio_port: u16,
    pub video_port: u16,
    cmd: mpsc::UnboundedSender<MediaCmd>,
    started: Instant,
    /// Milliseconds after `started` at which the last packet (RTP or RTCP, any stream) came.
    last_packet_ms: Arc<AtomicU64>,
}

impl CallMedia {
    /// Binds the sockets and starts the task. Audio RTP goes to `audio_tx` while the DTMF
    /// tap is on (dropped when the receiver is slow); events go to `events`.
    pub(crate) async fn bind(
        setup: MediaSetup,
        audio_tx: mpsc::Sender<Vec<u8>>,
        events: mpsc::UnboundedSender<MediaEvent>,
    ) -> std::io::Result<Self> {
        let audio = bind_pair(setup.ip).await?;
        let video = bind_pair(setup.ip).await?;
        let (audio_port, video_port) = (audio.port, video.port);
        let started = Instant::now();
        let last_packet_ms = Arc::new(AtomicU64::new(0));
        let (cmd, cmd_rx) = mpsc::unbounded_channel();
        // Not kept: the task ends when `cmd` (this struct's) is dropped, after its RTCP
        // goodbyes (bounded by `task::GOODBYE_WITHIN`).
        tokio::spawn(task::run(task::TaskIo {
            setup,
            audio,
            video,
            cmd: cmd_rx,
            audio_tx,
            events,
            started,
            last_packet_ms: last_packet_ms.clone(),
        }));
        Ok(Self {
            audio_port,
            video_port,
            cmd,
            started,
            last_packet_ms,
        })
    }

    pub(crate) fn send(&self, c: MediaCmd) {
        let _ = self.cmd.send(c);
    }

    /// How long no RTP or RTCP packet has arrived on any stream of the call (since the
    /// sockets were bound, when none ever came). A muted or lonely endpoint still sends RTCP
    /// reports, so silence here means the far end is gone.
    pub(crate) fn idle_for(&self) -> Duration {
        let last = Duration::from_millis(self.last_packet_ms.load(Ordering::Relaxed));
        self.started.elapsed().saturating_sub(last)
    }
}
