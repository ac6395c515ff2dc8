//! Browsers in the room: joining, signalling, leaving, and forwarding their media (SFU).

use super::peer::{Peer, PeerOut};
use super::*;
use cvi_media_gst::VideoCodec;
use str0m::format::Codec;
use str0m::media::{MediaData, MediaKind};

/// Most browsers in one room.
const MAX_BROWSERS: usize = 50;

impl Room {
    pub(super) fn browser_join(
        &mut self,
        name: String,
        host: bool,
        tx: mpsc::UnboundedSender<ServerMsg>,
    ) -> Result<Pid, String> {
        if self.peers.len() >= MAX_BROWSERS {
            return Err(format!("the meeting is full ({MAX_BROWSERS} browsers)"));
        }
        let id = self.new_id();
        let name = clean_name(&name);
        let peer = Peer::new(id, name.clone(), host, tx, self.local, Instant::now())?;
        peer.send(ServerMsg::Joined {
            id: participant_ref(id),
            host,
            meeting: self.meeting.clone(),
            ice_servers: self.cfg.ice_servers.clone(),
        });
        tracing::info!(meeting = %self.meeting.id, participant = id.0, host, "browser joined");
        self.peers.push(peer);
        self.order.push(id);
        self.ever_joined = true;
        // The newcomer receives everyone's tracks; everyone receives the newcomer's once its
        // offer shows what it sends.
        let sources: Vec<(Pid, MediaKind)> = self
            .peers
            .iter()
            .filter(|p| p.id != id)
            .flat_map(|p| p.tracks_in.iter().map(move |(_, k)| (p.id, *k)))
            .chain(
                self.vtcs
                    .iter()
                    .filter(|v| v.entered)
                    .flat_map(|v| v.kinds().into_iter().map(move |k| (v.id, k))),
            )
            .collect();
        if let Some(p) = self.peers.iter_mut().find(|p| p.id == id) {
            for (src, kind) in sources {
                p.want(src, kind);
            }
        }
        self.broadcast_roster();
        self.broadcast_state();
        Ok(id)
    }

    pub(super) fn browser_leave(&mut self, id: Pid) {
        let Some(i) = self.peers.iter().position(|p| p.id == id) else {
            return;
        };
        let mut p = self.peers.remove(i);
        p.rtc.disconnect();
        self.order.retain(|o| *o != id);
        self.speaker.remove(id);
        self.mix.remove_source(id);
        for other in &mut self.peers {
            other.forget(id);
        }
        tracing::info!(meeting = %self.meeting.id, participant = id.0, "browser left");
        self.broadcast_roster();
    }

    pub(super) fn on_browser(&mut self, id: Pid, msg: ClientMsg) {
        let now = Instant::now();
        let Some(p) = self.peers.iter_mut().find(|p| p.id == id) else {
            return;
        };
        match msg {
            ClientMsg::Join { .. } => p.error("already joined"),
            ClientMsg::Offer { sdp } => {
                if let Err(e) = p.on_offer(&sdp) {
                    p.error(e);
                }
            }
            ClientMsg::Answer { sdp } => match p.on_answer(&sdp) {
                Ok(opened) => {
                    for (src, kind) in opened {
                        if kind == MediaKind::Video {
                            self.ask_keyframe_of(src, now);
                        }
                    }
                }
                Err(e) => p.error(e),
            },
            ClientMsg::Candidate { candidate } => {
                if let Some(c) = candidate {
                    p.on_candidate(&c);
                }
            }
            ClientMsg::Mute { audio, video } => {
                let changed = p.audio_muted != audio || p.video_muted != video;
                p.audio_muted = audio;
                p.video_muted = video;
                if changed {
                    self.broadcast_roster();
                }
            }
            ClientMsg::Admit { id: who } | ClientMsg::Reject { id: who } if !p.host => {
                let _ = who;
                p.error("only the organizer can admit or reject");
            }
            ClientMsg::Admit { id: who } => self.lobby_verdict(&who, true),
            ClientMsg::Reject { id: who } => self.lobby_verdict(&who, false),
            ClientMsg::Recording { .. } | ClientMsg::Transcription { .. } if !p.host => {
                p.error("only the organizer can record or transcribe");
            }
            ClientMsg::Recording { on } => self.set_recording(on, now),
            ClientMsg::Transcription { on } => self.set_transcription(on, now),
            ClientMsg::Leave => self.browser_leave(id),
        }
    }

    pub(super) fn on_peer_out(&mut self, id: Pid, o: PeerOut) {
        let now = Instant::now();
        match o {
            PeerOut::Connected => {
                tracing::info!(meeting = %self.meeting.id, participant = id.0, "browser media connected");
            }
            PeerOut::KeyframeWanted { source, kind } => {
                if kind == MediaKind::Video {
                    self.ask_keyframe_of(source, now);
                }
            }
            PeerOut::TrackAdded(kind) => {
                for o in self.peers.iter_mut().filter(|o| o.id != id) {
                    o.want(id, kind);
                }
                if kind == MediaKind::Video {
                    self.refresh_layouts();
                }
            }
            PeerOut::Media(kind, data) => self.forward_browser_media(id, kind, *data, now),
        }
    }

    /// A browser's frame: to every other browser as is, and to the mixes if anyone needs them.
    fn forward_browser_media(&mut self, id: Pid, kind: MediaKind, data: MediaData, now: Instant) {
        let keyframe = data.is_keyframe();
        for o in self.peers.iter_mut().filter(|o| o.id != id) {
            let Some(mid) = o.out_ready(id, kind, keyframe) else {
                continue;
            };
            let Some(w) = o.rtc.writer(mid) else { continue };
            let Some(pt) = w.match_params(data.params) else {
                continue;
            };
            if let Err(e) = w.write(pt, data.network_time, data.time, data.data.clone()) {
                tracing::debug!(participant = o.id.0, "forwarding failed: {e}");
            }
        }
        match kind {
            MediaKind::Audio => {
                if let Some(level) = data.ext_vals.audio_level {
                    let level = level.unsigned_abs().min(127);
                    if self.speaker.report(id, level, now) {
                        self.refresh_layouts();
                    }
                }
                if self.mix.needed() {
                    self.browser_audio_to_mix(id, &data);
                }
            }
            MediaKind::Video => {
                if self.mix.video_needed() {
                    let codec = match data.params.spec().codec {
                        Codec::Vp8 => Some(VideoCodec::Vp8),
                        Codec::H264 => Some(VideoCodec::H264),
                        _ => None,
                    };
                    if let Some(codec) = codec {
                        if !data.contiguous {
                            self.ask_keyframe_of(id, now);
                        }
                        self.mix
                            .push_video(id, codec, &data.data, data.is_keyframe());
                    }
                }
            }
        }
    }

    fn browser_audio_to_mix(&mut self, id: Pid, data: &MediaData) {
        let Some(p) = self.peers.iter_mut().find(|p| p.id == id) else {
            return;
        };
        // Opus from browsers, but G.711 and G.722 are negotiated too (for the VTCs' audio
        // they receive), and a browser may send in them.
        let Some(codec) = super::vtcs::audio_codec(data.params.spec().codec) else {
            return;
        };
        if p.audio_dec.as_ref().is_none_or(|d| d.codec() != codec) {
            match cvi_media_gst::AudioDecoder::new(codec, 48_000) {
                Ok(d) => p.audio_dec = Some(d),
                Err(e) => {
                    tracing::warn!("no {codec:?} decoder for the mix: {e}");
                    p.audio_dec = None;
                    return;
                }
            }
        }
        if let Some(d) = p.audio_dec.as_mut() {
            match d.decode(&data.data) {
                Ok(pcm) => p.pcm.push(&pcm),
                Err(e) => tracing::debug!(participant = id.0, "{codec:?} decode: {e}"),
            }
        }
    }

    /// A browser needs a keyframe of `source`'s video: from our transcoder if we transcode
    /// it, else from the source itself.
    pub(super) fn ask_keyframe_of(&mut self, source: Pid, now: Instant) {
        if !self.mix.transcode_keyframe(source) {
            self.ask_source_keyframe(source, now);
        }
    }

    /// Asks the source of a video for a keyframe: a browser by PLI/FIR, a VTC by its call.
    pub(super) fn ask_source_keyframe(&mut self, source: Pid, now: Instant) {
        if let Some(p) = self.peers.iter_mut().find(|p| p.id == source) {
            p.ask_keyframe(now);
        } else if let Some(v) = self.vtcs.iter_mut().find(|v| v.id == source) {
            v.ask_keyframe(now);
        }
    }
}

/// A display name from the page: trimmed, control characters dropped, at most 64 chars.
pub(super) fn clean_name(name: &str) -> String {
    let n: String = name
        .chars()
        .filter(|c| !c.is_control())
        .take(64)
        .collect::<String>()
        .trim()
        .to_string();
    if n.is_empty() { "Guest".into() } else { n }
}

#[cfg(test)]
mod tests {
    use super::clean_name;

    #[test]
    fn names_are_cleaned() {
        assert_eq!(clean_name("  Alice \n"), "Alice");
        assert_eq!(clean_name(""), "Guest");
        assert_eq!(clean_name("\u{7}"), "Guest");
        assert_eq!(clean_name(&"x".repeat(100)).chars().count(), 64);
    }
}
