//! VTCs in the room: lobby, entering, their H.264 forwarded to browsers without decoding,
//! their audio forwarded as it came to browsers that take its codec (G.711, G.722) and
//! coded to Opus for the others, keypad commands.

use super::peer::{FORWARD_PAYLOAD, REPACKETIZE_PAYLOAD};
use super::*;
use crate::vtc::{VideoPackets, VtcMediaOut};
use cvi_media::rtp::h264;
use cvi_media_gst::{SlateParams, VideoCodec};
use cvi_meeting::{Command, CommandParser, Layout};
use str0m::format::Codec;
use str0m::media::{Frequency, MediaKind, MediaTime, Mid, Pt};

pub(super) struct VtcState {
    pub id: Pid,
    pub name: String,
    pub call_id: String,
    pub entered: bool,
    /// Muted in the meeting with `*6`.
    pub muted: bool,
    pub layout: Layout,
    pub events: mpsc::UnboundedSender<VtcEvent>,
    pub media_out: mpsc::UnboundedSender<VtcMediaOut>,
    pub params: Option<SlateParams>,
    /// The view (composite output) this VTC receives, if subscribed.
    pub view: Option<String>,
    pub audio: Option<AudioCodec>,
    audio_dec: Option<cvi_media_gst::AudioDecoder>,
    opus: Option<cvi_media_gst::AudioEncoder>,
    pub encoder: Option<cvi_media_gst::AudioEncoder>,
    pub pcm: super::pcm::PcmQueue,
    opus_samples: u64,
    /// The clock of the audio forwarded in the VTC's own codec (samples at its rate).
    own_samples: u64,
    /// The VTC's frames made access units again, for the composite and a transcode.
    depack: h264::Depacketizer,
    pub has_video: bool,
    /// (profile_idc, constraint flags) of the VTC's SPS, once seen.
    sps: Option<(u8, u8)>,
    keys: CommandParser,
    last_ask: Option<Instant>,
}

impl VtcState {
    pub(super) fn kinds(&self) -> Vec<MediaKind> {
        let mut k = Vec::new();
        if self.audio.is_some() {
            k.push(MediaKind::Audio);
        }
        if self.has_video {
            k.push(MediaKind::Video);
        }
        k
    }

    pub(super) fn ask_keyframe(&mut self, now: Instant) {
        if self
            .last_ask
            .is_some_and(|t| now.duration_since(t) < KEYFRAME_ASK_EVERY)
        {
            return;
        }
        self.last_ask = Some(now);
        let _ = self.events.send(VtcEvent::AskKeyframe);
    }
}

impl Room {
    pub(super) fn vtc_join(&mut self, join: VtcJoin) -> VtcLink {
        let id = self.new_id();
        let (events_tx, events) = mpsc::unbounded_channel();
        let (out_tx, out_rx) = mpsc::unbounded_channel();
        tracing::info!(meeting = %self.meeting.id, participant = id.0, waiting = join.waiting, "VTC joining");
        self.vtcs.push(VtcState {
            id,
            name: join.name,
            call_id: join.call_id,
            entered: false,
            muted: false,
            layout: Layout::default(),
            events: events_tx,
            media_out: out_tx,
            params: None,
            view: None,
            audio: join.audio,
            audio_dec: None,
            own_samples: 0,
            opus: None,
            encoder: None,
            pcm: Default::default(),
            opus_samples: 0,
            depack: h264::Depacketizer::new(),
            has_video: false,
            sps: None,
            keys: CommandParser::new(),
            last_ask: None,
        });
        self.ever_joined = true;
        if !join.waiting {
            self.vtc_enter(id);
        } else {
            self.broadcast_roster();
        }
        VtcLink {
            id,
            room: self.tx.clone(),
            events: Some(events),
            media: Some(VtcMedia {
                id,
                tx: self.media_tx.clone(),
                rx: out_rx,
            }),
        }
    }

    pub(super) fn vtc_enter(&mut self, id: Pid) {
        let Some(v) = self.vtcs.iter_mut().find(|v| v.id == id) else {
            return;
        };
        if v.entered {
            return;
        }
        v.entered = true;
        self.order.push(id);
        let kinds = v.kinds();
        for p in &mut self.peers {
            for k in &kinds {
                p.want(id, *k);
            }
        }
        tracing::info!(meeting = %self.meeting.id, participant = id.0, "VTC in the meeting");
        // It sees and hears what is going on, including a recording already running.
        for a in self.notices.for_new_viewer() {
            if let cvi_meeting::NoticeAction::PlayNotice(kind) = a
                && let Some(v) = self.vtcs.iter().find(|v| v.id == id)
            {
                let _ = v.events.send(VtcEvent::Notice(kind));
            }
        }
        self.subscribe_vtc(id);
        self.broadcast_roster();
    }

    pub(super) fn vtc_leave(&mut self, id: Pid) {
        let Some(i) = self.vtcs.iter().position(|v| v.id == id) else {
            return;
        };
        self.vtcs.remove(i);
        self.stop_transcode(id);
        self.order.retain(|o| *o != id);
        self.speaker.remove(id);
        self.mix.remove_source(id);
        for p in &mut self.peers {
            p.forget(id);
        }
        tracing::info!(meeting = %self.meeting.id, participant = id.0, "VTC left");
        self.broadcast_roster();
        self.mix.drop_unused_views(&self.vtcs);
    }

    /// A host's lobby decision from the page.
    pub(super) fn lobby_verdict(&mut self, who: &str, admit: bool) {
        let Some(v) = self
            .vtcs
            .iter()
            .find(|v| !v.entered && participant_ref(v.id) == who)
        else {
            return;
        };
        tracing::info!(meeting = %self.meeting.id, participant = v.id.0, call_id = %v.call_id, admit, "lobby verdict from the page");
        let _ = v.events.send(if admit {
            VtcEvent::Admitted
        } else {
            VtcEvent::Rejected
        });
        // The call confirms with `enter()` once it has carried the verdict out; a rejected
        // VTC leaves when its call ends.
    }

    pub(super) fn vtc_digit(&mut self, id: Pid, key: char) {
        let now = Instant::now();
        let Some(v) = self.vtcs.iter_mut().find(|v| v.id == id && v.entered) else {
            return;
        };
        match v.keys.handle_digit(key, now) {
            Some(Command::NextLayout) => {
                v.layout = v.layout.next();
                tracing::info!(
                    participant = id.0,
                    layout = v.layout.as_str(),
                    "VTC changed layout"
                );
                self.subscribe_vtc(id);
            }
            Some(Command::ToggleMute) => {
                v.muted = !v.muted;
                tracing::info!(participant = id.0, muted = v.muted, "VTC toggled its mute");
                self.broadcast_roster();
            }
            None => {}
        }
    }

    pub(super) fn vtc_audio(&mut self, id: Pid, codec: Option<AudioCodec>) {
        if let Some(v) = self.vtcs.iter_mut().find(|v| v.id == id)
            && v.audio != codec
        {
            v.audio = codec;
            v.audio_dec = None;
            v.opus = None;
            v.encoder = None;
        }
    }

    pub(super) fn on_vtc_media(&mut self, id: Pid, m: VtcMediaIn) {
        let now = Instant::now();
        match m {
            VtcMediaIn::Params(p) => {
                if let Some(v) = self.vtcs.iter_mut().find(|v| v.id == id) {
                    if p.is_none() {
                        v.view = None;
                    }
                    v.params = p;
                }
                self.subscribe_vtc(id);
                self.mix.drop_unused_views(&self.vtcs);
                self.refresh_layouts();
            }
            VtcMediaIn::Audio { payload, .. } => self.vtc_audio_in(id, &payload),
            VtcMediaIn::Video(frame) => self.vtc_video_in(id, frame, now),
        }
    }

    fn vtc_audio_in(&mut self, id: Pid, payload: &[u8]) {
        let Some(v) = self.vtcs.iter_mut().find(|v| v.id == id && v.entered) else {
            return;
        };
        let Some(codec) = v.audio else { return };
        if v.audio_dec.is_none() {
            v.audio_dec = cvi_media_gst::AudioDecoder::new(codec, 48_000)
                .map_err(|e| tracing::warn!("no decoder for the VTC's audio: {e}"))
                .ok();
        }
        // One decode: 48 kHz for the mix, the codec's own rate (8 or 16 kHz) for the
        // browsers' Opus, which then codes narrow- or wideband at about half the CPU of a
        // 48 kHz input (`cargo bench -p cvi-media-gst --bench live_audio`).
        let Some(dec) = v.audio_dec.as_mut() else {
            return;
        };
        let (mut native, mut pcm) = (Vec::new(), Vec::new());
        if dec.decode_both(payload, &mut native, &mut pcm).is_err() {
            return;
        }
        let native_rate = dec.codec_rate();
        let level = cvi_media_gst::level_dbov(&pcm);
        let muted = v.muted;
        if muted {
            pcm.fill(0);
            native.fill(0);
        }
        v.pcm.push(&pcm);
        // Each listening browser gets the VTC's own payload if it took the VTC's codec
        // (WebRTC requires G.711; Chromium takes G.722), else Opus, coded only while some
        // browser needs it. Both clocks run on regardless.
        let own = str0m_codec(codec);
        // Per listening browser: the payload types of the VTC's codec and of Opus.
        let mut listeners: Vec<(usize, Mid, Option<Pt>, Option<Pt>)> = Vec::new();
        for (i, p) in self.peers.iter_mut().enumerate() {
            let Some(mid) = p.out_mid(id, MediaKind::Audio) else {
                continue;
            };
            let Some(w) = p.rtc.writer(mid) else { continue };
            let pt_of = |c: Codec| {
                w.payload_params()
                    .find(|pp| pp.spec().codec == c)
                    .map(|pp| pp.pt())
            };
            listeners.push((i, mid, pt_of(own), pt_of(Codec::Opus)));
        }
        let opus_needed = listeners.iter().any(|l| l.2.is_none() && l.3.is_some());
        if opus_needed && v.opus.is_none() {
            v.opus = cvi_media_gst::AudioEncoder::new(AudioCodec::Opus, native_rate)
                .map_err(|e| tracing::warn!("no Opus encoder for the VTC's audio: {e}"))
                .ok();
        }
        let packets = match v.opus.as_mut() {
            Some(e) if opus_needed => e.encode(&native).unwrap_or_default(),
            _ => Vec::new(),
        };
        let mut times = Vec::with_capacity(packets.len());
        for _ in &packets {
            times.push(MediaTime::new(v.opus_samples, Frequency::FORTY_EIGHT_KHZ));
            v.opus_samples += FRAME as u64;
        }
        if packets.is_empty() && !opus_needed {
            v.opus_samples += pcm.len() as u64;
        }
        let own_time = MediaTime::new(v.own_samples, own_frequency(native_rate));
        v.own_samples += native.len() as u64;
        let now = Instant::now();
        if !muted && self.speaker.report(id, level, now) {
            self.refresh_layouts();
        }
        let level = -(level.min(127) as i8);
        for (i, mid, own_pt, opus_pt) in listeners {
            let Some(p) = self.peers.get_mut(i) else {
                continue;
            };
            // The VTC's own payload where the browser took its codec (none while the VTC is
            // muted: the browser plays silence), else the Opus packets.
            let own = own_pt.filter(|_| !muted).map(|pt| (pt, own_time, payload));
            let opus = opus_pt
                .filter(|_| own_pt.is_none())
                .into_iter()
                .flat_map(|pt| {
                    packets
                        .iter()
                        .zip(&times)
                        .map(move |(packet, t)| (pt, *t, packet.as_slice()))
                });
            for (pt, t, data) in own.into_iter().chain(opus) {
                let Some(w) = p.rtc.writer(mid) else { break };
                let w = w.audio_level(level, level > -60);
                if let Err(e) = w.write(pt, now, t, data.to_vec()) {
                    tracing::debug!("VTC audio to browser: {e}");
                }
            }
        }
    }

    fn vtc_video_in(&mut self, id: Pid, frame: VideoPackets, now: Instant) {
        let mode = self.cfg.vtc_video;
        let Some(v) = self.vtcs.iter_mut().find(|v| v.id == id && v.entered) else {
            return;
        };
        if frame.is_empty() {
            return;
        }
        let keyframe = frame.packets().any(|(p, _)| h264::payload_is_keyframe(p));
        // SPS/PPS come with IDRs: only keyframes are scanned a second time.
        if keyframe
            && let Some(sps) = frame
                .packets()
                .find_map(|(p, _)| h264::payload_sps_profile(p))
        {
            v.sps = Some(sps);
        }
        let profile = v.sps;
        if !v.has_video {
            v.has_video = true;
            for p in &mut self.peers {
                p.want(id, MediaKind::Video);
            }
            self.refresh_layouts();
        }
        // The packets for browsers, made once for all of them: the VTC's own, unless one is
        // too big to go on as it is.
        let mut out: Option<Vec<(Arc<[u8]>, bool)>> = None;
        let mut transcode = false;
        for p in &mut self.peers {
            let Some(mid) = p.out_mid(id, MediaKind::Video) else {
                continue;
            };
            let Some(w) = p.rtc.writer(mid) else { continue };
            // Passthrough to every browser that takes the stream's profile.
            let Some(pt) = passthrough_pt(
                w.payload_params().map(|pp| (pp.pt(), pp.spec())),
                profile,
                mode,
            ) else {
                transcode = true;
                continue;
            };
            if p.out_ready(id, MediaKind::Video, keyframe).is_none() {
                continue;
            }
            let out = out.get_or_insert_with(|| forwarded(&frame));
            p.write_video_rtp(
                id,
                mid,
                pt,
                frame.timestamp,
                out.iter().map(|(b, m)| (b, *m)),
                now,
            );
        }
        if transcode {
            self.start_transcode(id);
        } else {
            self.stop_transcode(id);
        }
        // Depacketized only for the composite or a transcode.
        if self.mix.shows(id)
            && let Some(v) = self.vtcs.iter_mut().find(|v| v.id == id)
            && let Some(au) = depacketize(&mut v.depack, &frame)
        {
            self.mix.push_video(id, VideoCodec::H264, &au, keyframe);
        }
    }

    /// The transcoded VTC video (for browsers that cannot take its profile).
    pub(super) fn on_transcoded(&mut self, id: Pid, f: &cvi_media_gst::EncodedFrame) {
        let mode = self.cfg.vtc_video;
        let profile = self.vtcs.iter().find(|v| v.id == id).and_then(|v| v.sps);
        let now = Instant::now();
        let time = (f.pts.as_micros() * 9 / 100) as u32;
        let mut out: Option<Vec<(Arc<[u8]>, bool)>> = None;
        for p in &mut self.peers {
            let Some(mid) = p.out_mid(id, MediaKind::Video) else {
                continue;
            };
            let Some(w) = p.rtc.writer(mid) else { continue };
            let specs: Vec<_> = w.payload_params().map(|pp| (pp.pt(), pp.spec())).collect();
            if passthrough_pt(specs.iter().copied(), profile, mode).is_some() {
                continue;
            }
            // Ours is constrained baseline: any H.264 decoder takes it.
            let Some(pt) = specs
                .iter()
                .filter(|(_, s)| s.codec == Codec::H264)
                .max_by_key(|(_, s)| {
                    h264_preference(s.format.packetization_mode, s.format.profile_level_id)
                })
                .map(|(pt, _)| *pt)
            else {
                continue;
            };
            if p.out_ready(id, MediaKind::Video, f.keyframe).is_none() {
                continue;
            }
            // Written as RTP like the passthrough, so the track's numbering stays one
            // sequence if the browser moves between the two.
            let out = out.get_or_insert_with(|| packetized(&f.data));
            p.write_video_rtp(id, mid, pt, time, out.iter().map(|(b, m)| (b, *m)), now);
        }
    }
}

/// The str0m codec of a VTC's audio codec.
fn str0m_codec(codec: AudioCodec) -> Codec {
    match codec {
        AudioCodec::Pcmu => Codec::PCMU,
        AudioCodec::Pcma => Codec::PCMA,
        AudioCodec::G722 => Codec::G722,
        AudioCodec::Opus => Codec::Opus,
    }
}

/// The audio codec of a browser's payload, if the mix can decode it.
pub(super) fn audio_codec(codec: Codec) -> Option<AudioCodec> {
    match codec {
        Codec::Opus => Some(AudioCodec::Opus),
        Codec::PCMU => Some(AudioCodec::Pcmu),
        Codec::PCMA => Some(AudioCodec::Pcma),
        Codec::G722 => Some(AudioCodec::G722),
        _ => None,
    }
}

/// str0m's media clock for a codec decoding at `rate` (G.722: 16 kHz, though its RTP
/// clock is 8 kHz; str0m converts).
fn own_frequency(rate: u32) -> Frequency {
    match rate {
        16_000 => Frequency::SIXTEEN_KHZ,
        48_000 => Frequency::FORTY_EIGHT_KHZ,
        _ => Frequency::EIGHT_KHZ,
    }
}

/// A VTC frame's packets to forward: its own payloads, or all cut anew if one is bigger
/// than [`FORWARD_PAYLOAD`] (the whole frame then, so the marker and order stay right).
fn forwarded(frame: &VideoPackets) -> Vec<(Arc<[u8]>, bool)> {
    if frame.packets().all(|(p, _)| p.len() <= FORWARD_PAYLOAD) {
        return frame.packets().map(|(p, m)| (Arc::from(p), m)).collect();
    }
    depacketize(&mut h264::Depacketizer::new(), frame)
        .map(|au| packetized(&au))
        .unwrap_or_default()
}

/// An access unit cut into mode-1 RTP payloads of at most [`REPACKETIZE_PAYLOAD`] bytes.
fn packetized(au: &[u8]) -> Vec<(Arc<[u8]>, bool)> {
    let mut out = Vec::new();
    h264::packetize(
        au,
        h264::PacketizationMode::NonInterleaved,
        REPACKETIZE_PAYLOAD,
        &mut |p, m| out.push((Arc::from(p), m)),
    );
    out
}

/// The access unit of a frame's packets, if they make a whole one. Each frame starts
/// afresh: what a frame without its last packet left behind is dropped.
fn depacketize(depack: &mut h264::Depacketizer, frame: &VideoPackets) -> Option<Vec<u8>> {
    depack.reset();
    frame.packets().find_map(|(p, m)| depack.push(p, m))
}

/// The payload type to forward a VTC's H.264 on without decoding, if the browser can take
/// it: packetization mode 1 and the stream's profile (a constrained-baseline stream suits
/// any profile). None: the browser needs it transcoded.
fn passthrough_pt(
    specs: impl Iterator<Item = (str0m::media::Pt, str0m::format::CodecSpec)>,
    profile: Option<(u8, u8)>,
    mode: crate::VtcVideo,
) -> Option<str0m::media::Pt> {
    if mode == crate::VtcVideo::Transcode {
        return None;
    }
    let constrained_baseline = |(idc, flags): (u8, u8)| idc == 66 && flags & 0x40 != 0;
    specs
        .filter(|(_, s)| s.codec == Codec::H264 && s.format.packetization_mode == Some(1))
        .filter(|(_, s)| {
            let offered = s.format.profile_level_id.map(|p| (p >> 16) as u8);
            match profile {
                // Nothing seen yet: the first frames are SPS/PPS/IDR; take the likeliest.
                None => true,
                Some(p) if constrained_baseline(p) => true,
                Some((idc, _)) => offered == Some(idc),
            }
        })
        .max_by_key(|(_, s)| {
            h264_preference(s.format.packetization_mode, s.format.profile_level_id)
        })
        .map(|(pt, _)| pt)
}

/// Which of a browser's H.264 payload types to forward a VTC's stream on: packetization
/// mode 1 over 0, constrained baseline (42e0xx) over baseline over anything else.
fn h264_preference(mode: Option<u8>, profile_level_id: Option<u32>) -> u32 {
    let mode = u32::from(mode == Some(1)) * 10;
    let profile = match profile_level_id.map(|p| p >> 8) {
        Some(0x42e0) => 3,
        Some(0x4200) => 2,
        Some(_) => 1,
        None => 0,
    };
    mode + profile
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn audio_codecs_map_both_ways_with_their_clocks() {
        for c in [
            AudioCodec::Pcmu,
            AudioCodec::Pcma,
            AudioCodec::G722,
            AudioCodec::Opus,
        ] {
            assert_eq!(audio_codec(str0m_codec(c)), Some(c));
        }
        assert_eq!(audio_codec(Codec::Vp8), None);
        // G.722 decodes at 16 kHz: str0m's media clock for it is 16 kHz (8 kHz on the wire).
        assert_eq!(own_frequency(16_000), Frequency::SIXTEEN_KHZ);
        assert_eq!(own_frequency(8_000), Frequency::EIGHT_KHZ);
        assert_eq!(own_frequency(48_000), Frequency::FORTY_EIGHT_KHZ);
    }

    #[test]
    fn sps_profiles_are_read_from_access_units() {
        let au = [
            0, 0, 0, 1, 0x67, 0x42, 0xe0, 0x1f, 0xaa, 0, 0, 1, 0x68, 0xce, 0, 0, 1, 0x65, 1,
        ];
        assert_eq!(h264::sps_profile(&au), Some((0x42, 0xe0)));
        assert_eq!(h264::sps_profile(&[0, 0, 1, 0x65, 1, 2]), None);
        assert_eq!(h264::sps_profile(&[0, 0, 1, 0x67]), None);
        assert_eq!(h264::sps_profile(&[]), None);
    }

    #[test]
    fn preference_is_mode_1_then_constrained_baseline() {
        assert!(
            h264_preference(Some(1), Some(0x42e01f)) > h264_preference(Some(1), Some(0x42001f))
        );
        assert!(
            h264_preference(Some(1), Some(0x64001f)) > h264_preference(Some(0), Some(0x42e01f))
        );
    }

    fn spec(pt: u8, pm: u8, pli: u32) -> (str0m::media::Pt, str0m::format::CodecSpec) {
        let format = str0m::format::FormatParams {
            packetization_mode: Some(pm),
            profile_level_id: Some(pli),
            ..Default::default()
        };
        (
            str0m::media::Pt::new_with_value(pt),
            str0m::format::CodecSpec {
                codec: Codec::H264,
                clock_rate: Frequency::NINETY_KHZ,
                channels: None,
                format,
            },
        )
    }

    #[test]
    fn passthrough_needs_mode_1_and_the_profile() {
        use crate::VtcVideo::{Auto, Transcode};
        let browser = [
            spec(102, 1, 0x42e01f),
            spec(103, 0, 0x42e01f),
            spec(104, 1, 0x4d001f),
        ];
        let (cb, main, high) = (Some((66, 0xe0)), Some((77, 0)), Some((100, 0)));
        let pt = |s: &[(str0m::media::Pt, str0m::format::CodecSpec)], p, m| {
            passthrough_pt(s.iter().copied(), p, m)
        };
        assert_eq!(pt(&browser, cb, Auto), Some(browser[0].0));
        assert_eq!(pt(&browser, main, Auto), Some(browser[2].0));
        assert_eq!(pt(&browser, high, Auto), None);
        assert_eq!(pt(&browser, cb, Transcode), None);
        assert_eq!(pt(&[spec(96, 0, 0x42e01f)], cb, Auto), None);
        assert_eq!(pt(&browser, None, Auto), Some(browser[0].0));
    }

    fn frame_of(packets: &[(&[u8], bool)]) -> VideoPackets {
        let mut f = VideoPackets::default();
        for (p, m) in packets {
            f.push(p, *m);
        }
        f
    }

    #[test]
    fn a_vtc_frame_goes_on_as_its_own_packets() {
        let sps = [0x67, 0x42, 0xe0, 0x1f];
        let big = vec![0x41; 900];
        let f = frame_of(&[(&sps, false), (&big, true)]);
        assert!(f.complete());
        let out = forwarded(&f);
        let got: Vec<(&[u8], bool)> = out.iter().map(|(p, m)| (&p[..], *m)).collect();
        assert_eq!(got, [(&sps[..], false), (&big[..], true)]);
    }

    #[test]
    fn an_oversized_packet_has_its_frame_cut_anew() {
        let huge: Vec<u8> = std::iter::once(0x65)
            .chain((0..3000).map(|i| (i % 251) as u8 | 1))
            .collect();
        let f = frame_of(&[(&[0x67, 0x42, 0xe0, 0x1f], false), (&huge, true)]);
        let out = forwarded(&f);
        assert!(out.len() >= 4, "{}", out.len());
        assert!(out.iter().all(|(p, _)| p.len() <= REPACKETIZE_PAYLOAD));
        let markers: Vec<bool> = out.iter().map(|(_, m)| *m).collect();
        assert_eq!(markers.iter().filter(|m| **m).count(), 1);
        assert_eq!(markers.last(), Some(&true));
        // Depacketized again, it is the same access unit.
        let mut d = h264::Depacketizer::new();
        let au = out.iter().find_map(|(p, m)| d.push(p, *m)).unwrap();
        let mut want = vec![0, 0, 0, 1, 0x67, 0x42, 0xe0, 0x1f, 0, 0, 0, 1];
        want.extend_from_slice(&huge);
        assert!(h264::nal_units(&au).eq(h264::nal_units(&want)));
        // An oversized frame that lost its end is not sent at all.
        assert!(forwarded(&frame_of(&[(&huge, false)])).is_empty());
    }

    #[test]
    fn frames_depacketize_afresh_each_time() {
        let mut d = h264::Depacketizer::new();
        // A frame that lost its end leaves nothing behind for the next one.
        assert_eq!(
            depacketize(&mut d, &frame_of(&[(&[0x7c, 0x85, 1], false)])),
            None
        );
        let au = depacketize(&mut d, &frame_of(&[(&[0x65, 7], true)])).unwrap();
        assert_eq!(au, [0, 0, 0, 1, 0x65, 7]);
    }

    #[test]
    fn video_packets_keep_order_markers_and_bounds() {
        let mut f = VideoPackets::default();
        assert!(f.is_empty() && !f.complete());
        f.push(&[1, 2], false);
        f.push(&[], false);
        f.push(&[3], true);
        let got: Vec<(Vec<u8>, bool)> = f.packets().map(|(p, m)| (p.to_vec(), m)).collect();
        assert_eq!(got, [(vec![1, 2], false), (vec![], false), (vec![3], true)]);
        assert!(f.complete());
        let mut g = VideoPackets::default();
        for _ in 0..VideoPackets::MAX_PACKETS {
            assert!(!g.complete());
            g.push(&[0x41], false);
        }
        assert!(g.complete());
    }
}
