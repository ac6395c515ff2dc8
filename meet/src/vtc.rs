//! How a SIP call puts its VTC into a meeting: the call task holds a [`VtcLink`] (control:
//! lobby verdicts, notices to play, keyframe requests, keypad commands) and hands its
//! [`VtcMedia`] to the call's media task (the VTC's RTP in, the composite and the mix out).
//! Dropping the link takes the VTC out of the meeting.

use crate::room::{RoomCmd, RoomTx};
use cvi_media_gst::{AudioCodec, CompositeSubscription, SlateParams};
use cvi_meeting::{NoticeKind, ParticipantId as Pid};
use tokio::sync::mpsc;

/// What the meeting needs to know of a joining VTC.
#[derive(Debug, Clone)]
pub struct VtcJoin {
    pub call_id: String,
    /// Shown on the page and on tiles (see `cvi_meeting::vtc_name`).
    pub name: String,
    /// The VTC's negotiated audio codec (None: no audio).
    pub audio: Option<AudioCodec>,
    /// It waits in the lobby until a host admits it.
    pub waiting: bool,
}

/// From the meeting to the call task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VtcEvent {
    /// A host admitted the VTC from the meeting page.
    Admitted,
    /// A host turned the VTC away.
    Rejected,
    /// Play this spoken notice (recording/transcription started or stopped).
    Notice(NoticeKind),
    /// Someone in the meeting needs a keyframe of the VTC's video: ask the VTC (FIR/PLI or
    /// SIP INFO).
    AskKeyframe,
}

/// From the VTC's media task to the meeting.
#[derive(Debug)]
pub enum VtcMediaIn {
    /// The encoding the VTC can receive (its negotiated H.264 resolution, rate, profile),
    /// or None when it receives no video from us (then no composite is made for it).
    Params(Option<SlateParams>),
    /// One frame's RTP packets of the VTC's H.264, as they came: forwarded to browsers
    /// without depacketizing (`docs/decisions.md`, "VTC video to browsers as RTP").
    Video(VideoPackets),
    /// One RTP packet's payload of the VTC's audio (its negotiated codec).
    Audio { payload: Vec<u8>, timestamp: u32 },
}

/// One frame's RTP payloads of a VTC's video (one timestamp), in arrival order, stored back
/// to back with where each ends and its marker bit: one message per frame between the
/// call's media task and the room, one allocation for all its packets.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct VideoPackets {
    /// The RTP timestamp of every packet in it.
    pub timestamp: u32,
    bytes: Vec<u8>,
    ends: Vec<(usize, bool)>,
}

impl VideoPackets {
    /// A frame holds at most this many packets (a 4K IDR at a high rate is far fewer);
    /// the call sends a frame on once it has them, marker or not.
    pub const MAX_PACKETS: usize = 2048;

    /// Adds one packet's payload.
    pub fn push(&mut self, payload: &[u8], marker: bool) {
        self.bytes.extend_from_slice(payload);
        self.ends.push((self.bytes.len(), marker));
    }

    /// An empty frame with room for as much as `like` holds (frames of one stream are
    /// about the same size: appending then rarely reallocates).
    pub fn sized_like(like: &VideoPackets) -> VideoPackets {
        VideoPackets {
            timestamp: 0,
            bytes: Vec::with_capacity(like.bytes.len()),
            ends: Vec::with_capacity(like.ends.len()),
        }
    }

    /// Packets in it.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Whether it is full ([`Self::MAX_PACKETS`]) or its last packet has the marker bit.
    pub fn complete(&self) -> bool {
        self.ends.len() >= Self::MAX_PACKETS || self.ends.last().is_some_and(|(_, m)| *m)
    }

    /// (payload, marker) of each packet, in order.
    pub fn packets(&self) -> impl Iterator<Item = (&[u8], bool)> + '_ {
        let mut start = 0;
        self.ends.iter().map(move |&(end, marker)| {
            let p = self.bytes.get(start..end).unwrap_or_default();
            start = end;
            (p, marker)
        })
    }
}

/// From the meeting to the VTC's media task.
pub enum VtcMediaOut {
    /// The composite picture to send the VTC from now on (replaces any earlier one).
    Video(CompositeSubscription),
    /// 20 ms of the VTC's mix (everyone but itself) encoded in its codec.
    Audio(Vec<u8>),
}

impl std::fmt::Debug for VtcMediaOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VtcMediaOut::Video(_) => f.write_str("Video(..)"),
            VtcMediaOut::Audio(a) => write!(f, "Audio({} bytes)", a.len()),
        }
    }
}

/// The media task's end of the meeting.
#[derive(Debug)]
pub struct VtcMedia {
    pub(crate) id: Pid,
    pub(crate) tx: mpsc::Sender<(Pid, VtcMediaIn)>,
    pub rx: mpsc::UnboundedReceiver<VtcMediaOut>,
}

impl VtcMedia {
    /// Queues media for the meeting; drops it (returns false) when the meeting is behind.
    pub fn send(&self, m: VtcMediaIn) -> bool {
        self.tx.try_send((self.id, m)).is_ok()
    }
}

/// The call task's end of the meeting.
#[derive(Debug)]
pub struct VtcLink {
    pub(crate) id: Pid,
    pub(crate) room: RoomTx,
    pub(crate) events: Option<mpsc::UnboundedReceiver<VtcEvent>>,
    pub(crate) media: Option<VtcMedia>,
}

impl VtcLink {
    /// The participant id the page knows the VTC by (`p3`).
    pub fn participant(&self) -> String {
        crate::room::participant_ref(self.id)
    }

    /// The meeting's events for the call task (once).
    pub fn take_events(&mut self) -> Option<mpsc::UnboundedReceiver<VtcEvent>> {
        self.events.take()
    }

    /// The media end, for the call's media task (once).
    pub fn take_media(&mut self) -> Option<VtcMedia> {
        self.media.take()
    }

    /// The VTC is in the meeting now (admitted by the API or the page, or no lobby).
    pub fn enter(&self) {
        let _ = self.room.send(RoomCmd::VtcEnter { id: self.id });
    }

    /// A keypad digit from the VTC (RFC 4733, in-band or SIP INFO): `*8`, `*6`.
    pub fn digit(&self, key: char) {
        let _ = self.room.send(RoomCmd::VtcDigit { id: self.id, key });
    }

    /// The VTC's audio codec changed (re-INVITE).
    pub fn set_audio(&self, codec: Option<AudioCodec>) {
        let _ = self.room.send(RoomCmd::VtcAudio { id: self.id, codec });
    }
}

impl Drop for VtcLink {
    fn drop(&mut self) {
        let _ = self.room.send(RoomCmd::VtcLeave { id: self.id });
    }
}
