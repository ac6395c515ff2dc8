//! What we send on a negotiated stream: the slate's and the meeting view's formats for a
//! caller's H.264 limits, and the prompt codec for its audio.

use cvi_media::rtp::h264::PacketizationMode;
use cvi_media::sdp::{H264Profile as SdpProfile, NegotiatedStream, StreamKind, VideoLimits};
use cvi_media_gst::{AudioCodec, H264Profile, SlateParams};

/// Slate frame rate: text needs few frames, and the encoder cost scales with it.
pub(super) const SLATE_FPS: u32 = 10;
/// Slate bit rate before the caller's ceiling applies.
const SLATE_KBPS: u32 = 256;
/// Slice size for packetization-mode 0 (no fragmentation): one slice per RTP packet.
const MODE0_NAL_BYTES: u32 = 1100;
/// Sizes tried, largest first (16:9 first, then CIF-family sizes older systems expect).
const SIZES: [(u32, u32); 7] = [
    (1280, 720),
    (960, 540),
    (640, 360),
    (352, 288),
    (320, 180),
    (176, 144),
    (128, 96),
];

/// The slate format for a video stream: the largest size its limits allow at
/// [`SLATE_FPS`], 256 kbit/s capped at 80 % of the offered ceiling, the negotiated profile
/// family, and slices that fit one packet in packetization-mode 0. None for a stream we
/// cannot send H.264 on.
pub(super) fn slate_params(s: &NegotiatedStream) -> Option<SlateParams> {
    if s.kind != StreamKind::Video || !s.codec.name.eq_ignore_ascii_case("H264") {
        return None;
    }
    let limits = s.video?;
    let (width, height) = SIZES
        .into_iter()
        .find(|&(w, h)| limits.allows(w, h, SLATE_FPS))?;
    let bitrate_kbps = ceiling_kbps(&limits)
        .map_or(SLATE_KBPS, |c| c.min(SLATE_KBPS))
        .max(16);
    let profile = match limits.profile {
        SdpProfile::High | SdpProfile::ProgressiveHigh | SdpProfile::ConstrainedHigh => {
            H264Profile::High
        }
        SdpProfile::Main => H264Profile::Main,
        _ => H264Profile::ConstrainedBaseline,
    };
    let max_nal_bytes =
        (packetization(s) == PacketizationMode::SingleNal).then_some(MODE0_NAL_BYTES);
    Some(SlateParams {
        width,
        height,
        fps: SLATE_FPS,
        bitrate_kbps,
        profile,
        max_nal_bytes,
    })
}

/// Frame rates a meeting view is tried at, best first (for the largest size the caller's
/// limits allow at any of them).
const VIEW_FPS: [u32; 3] = [30, 15, 10];

/// A view's bit rate without an offered ceiling, by picture height (720p: 1.5 Mbit/s).
fn view_default_kbps(height: u32) -> u32 {
    match height {
        h if h >= 720 => 1500,
        h if h >= 540 => 1000,
        h if h >= 360 => 600,
        h if h >= 288 => 384,
        _ => 256,
    }
}

/// The format of the meeting's composite for a caller (docs/decisions.md, "Meeting views
/// at the caller's negotiated format"): the largest size its limits allow at 10 fps or
/// more, at the highest of 30, 15, 10 fps they allow for it; 80 % of its offered bit rate
/// ceiling (at most twice the size's default;
/// the default without a ceiling), its profile family and packetization. None for a
/// stream we cannot send H.264 on.
pub(super) fn view_params(s: &NegotiatedStream) -> Option<SlateParams> {
    let slate = slate_params(s)?;
    let limits = s.video?;
    let ((width, height), fps) = SIZES.into_iter().find_map(|(w, h)| {
        VIEW_FPS
            .into_iter()
            .find(|&fps| limits.allows(w, h, fps))
            .map(|fps| ((w, h), fps))
    })?;
    let default = view_default_kbps(height);
    let bitrate_kbps = ceiling_kbps(&limits)
        .map_or(default, |c| c.min(default.saturating_mul(2)))
        .max(16);
    Some(SlateParams {
        width,
        height,
        fps,
        bitrate_kbps,
        ..slate
    })
}

/// 80 % of the caller's offered bit rate ceiling (b=AS/TIAS), in kbit/s: the rest is
/// headroom for audio and RTCP.
fn ceiling_kbps(limits: &VideoLimits) -> Option<u32> {
    limits
        .max_bitrate_bps
        .map(|b| u32::try_from(b.saturating_mul(8) / 10 / 1000).unwrap_or(u32::MAX))
}

pub(super) fn packetization(s: &NegotiatedStream) -> PacketizationMode {
    PacketizationMode::from_fmtp(s.codec.fmtp.as_deref())
}

/// The codec our prompts are encoded in for an audio stream.
pub(super) fn audio_codec(s: &NegotiatedStream) -> Option<AudioCodec> {
    if s.kind != StreamKind::Audio {
        return None;
    }
    cvi_media_gst::prompt_cache::codec_of(&s.codec.name)
}

/// `sprop-parameter-sets` of the caller's H.264 fmtp, if given.
pub(super) fn sprop(s: &NegotiatedStream) -> Option<String> {
    let fmtp = s.codec.fmtp.as_deref()?;
    cvi_media::sdp::attr::fmtp_pairs(fmtp)
        .find(|(k, _)| k.eq_ignore_ascii_case("sprop-parameter-sets"))
        .map(|(_, v)| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use cvi_media::sdp::{ContentRole, Direction, H264Level, NegotiatedCodec, VideoLimits};

    fn video(
        profile: SdpProfile,
        level: H264Level,
        fmtp: &str,
        br: Option<u64>,
    ) -> NegotiatedStream {
        let l = level.limits();
        NegotiatedStream {
            index: 1,
            kind: StreamKind::Video,
            content: ContentRole::Main,
            local_port: 5000,
            remote_rtp: None,
            remote_rtcp: None,
            rtcp_mux: false,
            codec: NegotiatedCodec {
                payload_type: 97,
                name: "H264".into(),
                clock_rate: 90000,
                channels: None,
                fmtp: Some(fmtp.into()),
            },
            telephone_event: None,
            rtcp_fb: vec![],
            direction: Direction::SendRecv,
            srtp: None,
            video: Some(VideoLimits {
                profile,
                level,
                max_fs: l.max_fs,
                max_mbps: l.max_mbps,
                max_bitrate_bps: br,
            }),
        }
    }

    #[test]
    fn size_follows_the_level_and_bitrate_the_ceiling() {
        let p = slate_params(&video(
            SdpProfile::High,
            H264Level::L3_1,
            "packetization-mode=1",
            None,
        ))
        .expect("an H.264 stream has slate params");
        assert_eq!(
            (p.width, p.height, p.profile),
            (1280, 720, H264Profile::High)
        );
        assert_eq!((p.bitrate_kbps, p.max_nal_bytes), (256, None));
        // Level 1.2 (396 MBs): CIF.
        let p = slate_params(&video(
            SdpProfile::ConstrainedBaseline,
            H264Level::L1_2,
            "packetization-mode=0",
            Some(128_000),
        ))
        .expect("an H.264 stream has slate params");
        assert_eq!((p.width, p.height), (352, 288));
        assert_eq!(p.bitrate_kbps, 102);
        assert_eq!(p.max_nal_bytes, Some(1100));
        assert_eq!(p.profile, H264Profile::ConstrainedBaseline);
        // Level 3 (1620 MBs): 960×540 (2040 MBs) is too large.
        let p = slate_params(&video(SdpProfile::Main, H264Level::L3, "", None))
            .expect("an H.264 stream has slate params");
        assert_eq!(
            (p.width, p.height, p.profile),
            (640, 360, H264Profile::Main)
        );
    }

    #[test]
    fn views_take_the_negotiated_size_rate_and_bitrate() {
        let v = |level, br| {
            view_params(&video(SdpProfile::High, level, "packetization-mode=1", br))
                .expect("an H.264 stream has view params")
        };
        let p = v(H264Level::L3_1, Some(2_048_000));
        assert_eq!((p.width, p.height, p.fps), (1280, 720, 30));
        assert_eq!((p.bitrate_kbps, p.profile), (1638, H264Profile::High));
        // No ceiling: the size's default; a huge one: twice that at most.
        assert_eq!(v(H264Level::L3_1, None).bitrate_kbps, 1500);
        assert_eq!(v(H264Level::L3_1, Some(20_000_000)).bitrate_kbps, 3000);
        // Level 3 (1620 MBs, 40500 MB/s): 640×360 at 30.
        let p = v(H264Level::L3, None);
        assert_eq!(
            (p.width, p.height, p.fps, p.bitrate_kbps),
            (640, 360, 30, 600)
        );
        // Level 1.2 (396 MBs, 6000 MB/s): CIF at 15 rather than QCIF at 30.
        let p = v(H264Level::L1_2, Some(384_000));
        assert_eq!(
            (p.width, p.height, p.fps, p.bitrate_kbps),
            (352, 288, 15, 307)
        );
        // Mode 0 keeps its slice limit.
        let p = view_params(&video(
            SdpProfile::ConstrainedBaseline,
            H264Level::L3_1,
            "packetization-mode=0",
            None,
        ))
        .expect("view params");
        assert_eq!(p.max_nal_bytes, Some(1100));
    }

    #[test]
    fn sprop_is_read_from_the_fmtp() {
        let s = video(
            SdpProfile::Main,
            H264Level::L3,
            "profile-level-id=4d001f; sprop-parameter-sets=Z00AH5Y=,aO48gA==",
            None,
        );
        assert_eq!(sprop(&s).as_deref(), Some("Z00AH5Y=,aO48gA=="));
    }
}
