//! One browser in a room: its str0m [`Rtc`], the tracks it sends us, the tracks of other
//! participants we send it, and the offer/answer state of its renegotiations.

use crate::protocol::ServerMsg;
use cvi_meeting::ParticipantId as Pid;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::media::{Direction, KeyframeRequestKind, MediaData, MediaKind, Mid, Pt};
use str0m::rtp::RtpWrite;
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc};
use tokio::sync::mpsc;

/// Timeouts already due that one [`Peer::poll`] drives before it yields to the room.
const DUE_NOW_ROUNDS: usize = 1024;

/// Largest RTP payload of a VTC's H.264 forwarded as it came; larger packets are cut
/// anew (at [`REPACKETIZE_PAYLOAD`]). With RTP header, str0m's header extensions and the
/// SRTP tag, a datagram stays under [`FORWARD_DATAGRAM`]: inside a 1500-byte path MTU over
/// IPv6 or a TURN channel.
pub(super) const FORWARD_PAYLOAD: usize = 1300;
pub(super) const FORWARD_DATAGRAM: usize = 1400;
/// Payload size of the packets we cut ourselves (transcodes, oversized VTC packets).
pub(super) const REPACKETIZE_PAYLOAD: usize = 1200;

/// A track of another participant that this browser receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct TrackOut {
    pub source: Pid,
    pub kind: MediaKind,
    pub state: OutState,
    /// A keyframe went out on it (video is held back until then: P frames before the first
    /// IDR only make decoder errors).
    pub started: bool,
    /// The next RTP sequence number of video we write on it as packets (str0m numbers
    /// only what it packetizes itself; a VTC's video is written as RTP, see
    /// [`Peer::write_video_rtp`]).
    seq: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum OutState {
    ToOpen,
    Negotiating(Mid),
    Open(Mid),
    ToStop(Mid),
    NegotiatingStop(Mid),
}

impl OutState {
    fn mid(self) -> Option<Mid> {
        match self {
            OutState::ToOpen => None,
            OutState::Negotiating(m)
            | OutState::Open(m)
            | OutState::ToStop(m)
            | OutState::NegotiatingStop(m) => Some(m),
        }
    }
}

/// What polling a peer produced, for the room to act on.
pub(super) enum PeerOut {
    /// A frame of this browser's own audio or video.
    Media(MediaKind, Box<MediaData>),
    /// The browser wants a keyframe of the source it receives on this out track.
    KeyframeWanted { source: Pid, kind: MediaKind },
    /// ICE and DTLS are up.
    Connected,
    /// The browser's offer added a track it sends: everyone else receives it from now on.
    TrackAdded(MediaKind),
}

pub(super) struct Peer {
    pub id: Pid,
    pub name: String,
    pub host: bool,
    pub tx: mpsc::UnboundedSender<ServerMsg>,
    pub rtc: Rtc,
    /// The browser's one offer has been answered.
    pub offered: bool,
    pending: Option<SdpPendingOffer>,
    pub tracks_in: Vec<(Mid, MediaKind)>,
    pub tracks_out: Vec<TrackOut>,
    pub audio_muted: bool,
    pub video_muted: bool,
    pub last_keyframe_ask: Option<Instant>,
    /// The browser's audio decoded to 48 kHz (in the codec it sends), for the VTCs' mixes
    /// and the recording.
    pub audio_dec: Option<cvi_media_gst::AudioDecoder>,
    pub pcm: super::pcm::PcmQueue,
    pub connected: bool,
}

impl Peer {
    pub(super) fn new(
        id: Pid,
        name: String,
        host: bool,
        tx: mpsc::UnboundedSender<ServerMsg>,
        local: SocketAddr,
        now: Instant,
    ) -> Result<Peer, String> {
        let mut rtc = Rtc::builder()
            .set_ice_lite(true)
            .clear_codecs()
            // Opus first (what browsers send us); G.722 and G.711 after it so a VTC's audio
            // can go to the browsers that take its codec as it came (vtcs.rs).
            .enable_opus(true, false)
            .enable_g722(true, false)
            .enable_pcmu(true, false)
            .enable_pcma(true, false)
            .enable_vp8(true)
            .enable_h264(true)
            // A VTC's packets go on as they came: up to FORWARD_PAYLOAD bytes of payload,
            // whose datagrams may pass str0m's default warning size (1280).
            .set_mtu(str0m::DATAGRAM_MTU_TARGET..=FORWARD_DATAGRAM)
            .build(now);
        let candidate =
            Candidate::host(local, "udp").map_err(|e| format!("host candidate {local}: {e}"))?;
        rtc.add_local_candidate(candidate);
        Ok(Peer {
            id,
            name,
            host,
            tx,
            rtc,
            offered: false,
            pending: None,
            tracks_in: Vec::new(),
            tracks_out: Vec::new(),
            audio_muted: false,
            video_muted: false,
            last_keyframe_ask: None,
            audio_dec: None,
            pcm: Default::default(),
            connected: false,
        })
    }

    pub(super) fn send(&self, m: ServerMsg) {
        let _ = self.tx.send(m);
    }

    pub(super) fn error(&self, message: impl Into<String>) {
        self.send(ServerMsg::Error {
            message: message.into(),
        });
    }

    /// The browser's offer (its camera and microphone).
    pub(super) fn on_offer(&mut self, sdp: &str) -> Result<(), String> {
        // We never send on the page's own m-lines (others' media comes on m-lines we add):
        // answer them recvonly, so the page sees no phantom remote tracks of its own stream.
        let sdp = send_only(sdp);
        let offer = SdpOffer::from_sdp_string(&sdp).map_err(|e| format!("bad offer: {e}"))?;
        let answer = self
            .rtc
            .sdp_api()
            .accept_offer(offer)
            .map_err(|e| format!("offer not accepted: {e}"))?;
        // An offer cancels any negotiation of ours in flight: redo it afterwards.
        self.pending = None;
        for t in &mut self.tracks_out {
            t.state = match t.state {
                OutState::Negotiating(_) => OutState::ToOpen,
                OutState::NegotiatingStop(m) => OutState::ToStop(m),
                s => s,
            };
        }
        self.offered = true;
        self.send(ServerMsg::Answer {
            sdp: answer.to_sdp_string(),
        });
        Ok(())
    }

    /// The browser's answer to our offer. Returns the out tracks that just opened (their
    /// sources owe this browser a keyframe).
    pub(super) fn on_answer(&mut self, sdp: &str) -> Result<Vec<(Pid, MediaKind)>, String> {
        let Some(pending) = self.pending.take() else {
            return Err("an answer without an offer".into());
        };
        let answer = SdpAnswer::from_sdp_string(sdp).map_err(|e| format!("bad answer: {e}"))?;
        self.rtc
            .sdp_api()
            .accept_answer(pending, answer)
            .map_err(|e| format!("answer not accepted: {e}"))?;
        let mut opened = Vec::new();
        for t in &mut self.tracks_out {
            if let OutState::Negotiating(m) = t.state {
                t.state = OutState::Open(m);
                opened.push((t.source, t.kind));
            }
        }
        self.tracks_out
            .retain(|t| !matches!(t.state, OutState::NegotiatingStop(_)));
        Ok(opened)
    }

    pub(super) fn on_candidate(&mut self, candidate: &str) {
        // mDNS (`.local`) candidates cannot be resolved here; peer-reflexive discovery from the
        // browser's checks covers them.
        match Candidate::from_sdp_string(candidate) {
            Ok(c) => self.rtc.add_remote_candidate(c),
            Err(e) => tracing::debug!(peer = %self.id.0, "ignoring candidate: {e}"),
        }
    }

    /// Sends the browser the participant's track from now on.
    pub(super) fn want(&mut self, source: Pid, kind: MediaKind) {
        let exists = self
            .tracks_out
            .iter()
            .any(|t| t.source == source && t.kind == kind && !is_stopping(t.state));
        if !exists && source != self.id {
            self.tracks_out.push(TrackOut {
                source,
                kind,
                state: OutState::ToOpen,
                started: false,
                // RFC 3550 §5.1: a random first number, in the lower half (as str0m does).
                seq: u64::from(rand::random::<u16>() % 32767 + 1),
            });
        }
    }

    /// Stops sending every track of `source`.
    pub(super) fn forget(&mut self, source: Pid) {
        self.tracks_out.retain_mut(|t| {
            if t.source != source {
                return true;
            }
            match t.state {
                OutState::ToOpen => false,
                OutState::Open(m) | OutState::Negotiating(m) => {
                    t.state = OutState::ToStop(m);
                    true
                }
                _ => true,
            }
        });
    }

    /// Where to write a frame of `source`'s `kind` for this browser: negotiated, and for
    /// video from the first keyframe on.
    pub(super) fn out_ready(
        &mut self,
        source: Pid,
        kind: MediaKind,
        keyframe: bool,
    ) -> Option<Mid> {
        let t = self
            .tracks_out
            .iter_mut()
            .find(|t| t.source == source && t.kind == kind)?;
        let OutState::Open(m) = t.state else {
            return None;
        };
        if kind == MediaKind::Video && !t.started {
            if !keyframe {
                return None;
            }
            t.started = true;
        }
        Some(m)
    }

    /// Writes RTP packets of `source`'s video on `mid` as they are (payload, marker), numbered
    /// by the track; str0m adds the header extensions, encrypts and retransmits on NACK.
    pub(super) fn write_video_rtp<'a>(
        &mut self,
        source: Pid,
        mid: Mid,
        pt: Pt,
        rtp_time: u32,
        packets: impl Iterator<Item = (&'a Arc<[u8]>, bool)>,
        now: Instant,
    ) {
        let Some(t) = self
            .tracks_out
            .iter_mut()
            .find(|t| t.source == source && t.kind == MediaKind::Video)
        else {
            return;
        };
        let mut api = self.rtc.direct_api();
        let Some(stream) = api.stream_tx_by_mid(mid, None) else {
            return;
        };
        for (payload, marker) in packets {
            let seq = t.seq;
            t.seq = t.seq.wrapping_add(1);
            stream.write_rtp(
                RtpWrite::new(pt, seq.into(), rtp_time, now, payload.clone())
                    .marker(marker)
                    .nackable(true),
            );
        }
    }

    /// Where to write `source`'s `kind` for this browser, if negotiated.
    pub(super) fn out_mid(&self, source: Pid, kind: MediaKind) -> Option<Mid> {
        self.tracks_out
            .iter()
            .find(|t| t.source == source && t.kind == kind)
            .and_then(|t| match t.state {
                OutState::Open(m) => Some(m),
                _ => None,
            })
    }

    /// Sends an offer when tracks were added or removed and no negotiation is in flight.
    pub(super) fn negotiate(&mut self) {
        if !self.offered || self.pending.is_some() || !self.rtc.is_alive() {
            return;
        }
        let mut change = self.rtc.sdp_api();
        for t in &mut self.tracks_out {
            match t.state {
                OutState::ToOpen => {
                    let stream = participant_ref(t.source);
                    let track = format!("{stream}-{}", kind_name(t.kind));
                    let mid = change.add_media(
                        t.kind,
                        Direction::SendOnly,
                        Some(stream),
                        Some(track),
                        None,
                    );
                    t.state = OutState::Negotiating(mid);
                }
                OutState::ToStop(m) => {
                    change.stop_media(m);
                    t.state = OutState::NegotiatingStop(m);
                }
                _ => {}
            }
        }
        if !change.has_changes() {
            return;
        }
        if let Some((offer, pending)) = change.apply() {
            self.pending = Some(pending);
            self.send(ServerMsg::Offer {
                sdp: offer.to_sdp_string(),
            });
        }
    }

    /// Asks the browser for a keyframe of its own video.
    pub(super) fn ask_keyframe(&mut self, now: Instant) {
        if self
            .last_keyframe_ask
            .is_some_and(|t| now.duration_since(t) < super::KEYFRAME_ASK_EVERY)
        {
            return;
        }
        let Some(&(mid, _)) = self.tracks_in.iter().find(|(_, k)| *k == MediaKind::Video) else {
            return;
        };
        if let Some(mut w) = self.rtc.writer(mid) {
            let kind = if w.is_request_keyframe_possible(KeyframeRequestKind::Pli) {
                KeyframeRequestKind::Pli
            } else {
                KeyframeRequestKind::Fir
            };
            if w.request_keyframe(None, kind).is_ok() {
                self.last_keyframe_ask = Some(now);
            }
        }
    }

    pub(super) fn input(&mut self, input: Input<'_>) {
        if !self.rtc.is_alive() {
            return;
        }
        if let Err(e) = self.rtc.handle_input(input) {
            tracing::info!(peer = %self.id.0, "browser WebRTC failed: {e}");
            self.rtc.disconnect();
        }
    }

    /// Polls until str0m wants a timeout in the future: datagrams go to `transmit`, events
    /// to `out`.
    ///
    /// str0m's pacer hands out one packet per poll and then a timeout of "now": that
    /// timeout is driven here at once, so a frame's packets (and every queue's) leave in one
    /// go, not one per turn of the room's event loop. [`DUE_NOW_ROUNDS`] bounds the rounds.
    pub(super) fn poll(
        &mut self,
        transmit: &mut dyn FnMut(&[u8], SocketAddr),
        out: &mut Vec<PeerOut>,
    ) -> Option<Instant> {
        let mut rounds = 0;
        loop {
            if !self.rtc.is_alive() {
                return None;
            }
            let o = match self.rtc.poll_output() {
                Ok(o) => o,
                Err(e) => {
                    tracing::info!(peer = %self.id.0, "browser WebRTC failed: {e}");
                    self.rtc.disconnect();
                    return None;
                }
            };
            match o {
                Output::Timeout(t) => {
                    let now = Instant::now();
                    if t > now || rounds >= DUE_NOW_ROUNDS {
                        return Some(t);
                    }
                    rounds += 1;
                    self.input(Input::Timeout(now));
                }
                Output::Transmit(t) => transmit(&t.contents, t.destination),
                Output::Event(e) => self.on_event(e, out),
            }
        }
    }

    fn on_event(&mut self, e: Event, out: &mut Vec<PeerOut>) {
        match e {
            Event::Connected => {
                self.connected = true;
                out.push(PeerOut::Connected);
            }
            Event::IceConnectionStateChange(IceConnectionState::Disconnected) => {
                tracing::info!(peer = %self.id.0, "browser ICE disconnected");
                self.rtc.disconnect();
            }
            Event::MediaAdded(m)
                if m.direction.is_receiving()
                    && !self.tracks_in.iter().any(|(mid, _)| *mid == m.mid) =>
            {
                self.tracks_in.push((m.mid, m.kind));
                out.push(PeerOut::TrackAdded(m.kind));
            }
            Event::MediaData(d) => {
                let kind = self
                    .tracks_in
                    .iter()
                    .find(|(mid, _)| *mid == d.mid)
                    .map(|(_, k)| *k);
                if let Some(kind) = kind {
                    out.push(PeerOut::Media(kind, Box::new(d)));
                }
            }
            Event::KeyframeRequest(r) => {
                if let Some(t) = self
                    .tracks_out
                    .iter()
                    .find(|t| t.state.mid() == Some(r.mid))
                {
                    out.push(PeerOut::KeyframeWanted {
                        source: t.source,
                        kind: t.kind,
                    });
                }
            }
            _ => {}
        }
    }
}

/// The offer with every `sendrecv` m-line made `sendonly` (from the offerer's side).
fn send_only(sdp: &str) -> String {
    sdp.split_inclusive('\n')
        .map(|l| {
            if l.trim_end() == "a=sendrecv" {
                l.replacen("a=sendrecv", "a=sendonly", 1)
            } else {
                l.to_string()
            }
        })
        .collect()
}

fn is_stopping(s: OutState) -> bool {
    matches!(s, OutState::ToStop(_) | OutState::NegotiatingStop(_))
}

fn kind_name(k: MediaKind) -> &'static str {
    match k {
        MediaKind::Audio => "audio",
        MediaKind::Video => "video",
    }
}

/// The id the page knows a participant by (also its msid stream id).
pub(crate) fn participant_ref(p: Pid) -> String {
    format!("p{}", p.0)
}

#[cfg(test)]
mod tests {
    use super::send_only;

    #[test]
    fn the_pages_lines_become_send_only() {
        let offer = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=sendrecv\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=recvonly\r\na=x:a=sendrecv\r\n";
        assert_eq!(
            send_only(offer),
            "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=sendonly\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=recvonly\r\na=x:a=sendrecv\r\n"
        );
        assert_eq!(send_only(""), "");
    }
}
