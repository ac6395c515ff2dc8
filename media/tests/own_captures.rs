//! Answers to the hand-written offers in `tests/data` (see its README:
//! modelled on known client behaviour, not captures).
#![allow(clippy::unwrap_used)]

mod common;

use common::{answer_default, answer_with, assert_round_trip, fmtp_of};
use cvi_media::sdp::{
    CodecPreference, Direction, H264Level, LocalCapabilities, RtcpFeedback, SessionDescription,
    SrtpSuite,
};

#[test]
fn baresip_pm0_listed_first_still_gets_pm1() {
    let text = include_str!("data/baresip-h264-pm0-first.sdp");
    assert_round_trip(&SessionDescription::parse(text).unwrap());
    let a = answer_default(text).unwrap();
    let audio = &a.streams[0];
    assert_eq!(
        (audio.codec.payload_type, audio.codec.name.as_str()),
        (96, "opus")
    );
    assert_eq!(
        audio.telephone_event, None,
        "telephone-event/8000 does not match opus"
    );
    let v = &a.streams[1];
    assert_eq!(v.codec.payload_type, 98);
    assert_eq!(
        fmtp_of(&a.sdp, 1, 98),
        "profile-level-id=42e01f;packetization-mode=1"
    );
    assert_eq!(v.rtcp_fb, [RtcpFeedback::NackPli, RtcpFeedback::CcmFir]);
    assert_eq!(v.video.unwrap().max_bitrate_bps, Some(1_500_000));
    // With pm 1 disabled, pm 0 is answered.
    let mut caps = LocalCapabilities::default();
    if let Some(v) = caps.video.as_mut() {
        v.h264.packetization_modes = vec![0];
    }
    let a = answer_with(text, &caps).unwrap();
    assert_eq!(a.streams[1].codec.payload_type, 97);
}

#[test]
fn linphone_avpf_video_and_48k_telephone_event() {
    let text = include_str!("data/linphone-video-avpf.sdp");
    let a = answer_default(text).unwrap();
    let audio = &a.streams[0];
    assert_eq!(
        (audio.codec.payload_type, audio.telephone_event),
        (96, Some(101))
    );
    assert_eq!(a.sdp.media[1].protocol, "RTP/AVPF");
    let v = &a.streams[1];
    assert_eq!(v.codec.payload_type, 97);
    assert_eq!(
        fmtp_of(&a.sdp, 1, 97),
        "profile-level-id=42801f;packetization-mode=1"
    );
    assert_eq!(v.video.unwrap().level, H264Level::L3_1);
    assert_eq!(v.rtcp_fb, [RtcpFeedback::NackPli, RtcpFeedback::CcmFir]);
}

#[test]
fn chromium_like_sdes_rtcp_mux_many_h264() {
    let text = include_str!("data/chromium-like-sdes-rtcp-mux.sdp");
    assert!(!text.contains('\r'));
    let a = answer_default(text).unwrap();
    assert_eq!(a.sdp.media[0].protocol, "RTP/SAVPF");
    for s in &a.streams {
        assert!(s.rtcp_mux);
        assert_eq!(s.remote_rtcp, s.remote_rtp);
        assert_eq!(
            s.srtp.as_ref().unwrap().suite,
            SrtpSuite::AesCm128HmacSha1_80
        );
    }
    assert_eq!(
        a.streams[0].remote_rtp,
        Some("192.0.2.40:41000".parse().unwrap())
    );
    assert_eq!(
        (
            a.streams[0].codec.payload_type,
            a.streams[0].telephone_event
        ),
        (111, Some(110))
    );
    // Offer order: 102 (Baseline 42001f, pm 1) is the first pm-1 H.264.
    let v = &a.streams[1];
    assert_eq!(v.codec.payload_type, 102);
    assert_eq!(
        fmtp_of(&a.sdp, 1, 102),
        "profile-level-id=420028;packetization-mode=1;level-asymmetry-allowed=1"
    );
    assert_eq!(
        v.rtcp_fb,
        [
            RtcpFeedback::Nack,
            RtcpFeedback::NackPli,
            RtcpFeedback::CcmFir
        ]
    );
    // Our order: Constrained Baseline first → 106 (42e01f, pm 1).
    let caps = LocalCapabilities {
        preference: CodecPreference::Local,
        ..Default::default()
    };
    let a = answer_with(text, &caps).unwrap();
    assert_eq!(a.streams[1].codec.payload_type, 106);
    assert_eq!(
        a.streams[0].codec.payload_type, 111,
        "opus is our first audio codec too"
    );
}

#[test]
fn asterisk_hold_is_answered_recvonly() {
    let text = include_str!("data/asterisk-hold-sendonly.sdp");
    let a = answer_default(text).unwrap();
    assert!(a.streams.iter().all(|s| s.direction == Direction::RecvOnly));
    assert_eq!(a.streams[0].codec.payload_type, 8);
    assert_eq!(a.streams[0].telephone_event, Some(101));
    assert_eq!(
        fmtp_of(&a.sdp, 1, 99),
        "profile-level-id=42000a;packetization-mode=1"
    );
    assert_eq!(a.streams[1].video.unwrap().level, H264Level::L1);
}
