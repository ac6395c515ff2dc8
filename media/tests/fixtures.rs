//! One test per real offer in `shared/fixtures/sdp` (see its SOURCES.md),
//! asserting on the concrete answer.
#![allow(clippy::unwrap_used)]

mod common;

use common::{answer_default, assert_round_trip, fmtp_of, local};
use cvi_media::sdp::{
    Attribute, ContentRole, Direction, H264Level, H264Profile, MediaType, ParseError,
    RefusalReason, RtcpFeedback, SessionDescription, SrtpKey, SrtpSuite, StreamKind,
};

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!("../../../shared/fixtures/sdp/", $name))
    };
}

/// Ports of the answer's m-lines.
fn ports(sdp: &SessionDescription) -> Vec<u16> {
    sdp.media.iter().map(|m| m.port).collect()
}

fn refusals(a: &cvi_media::sdp::Answer) -> Vec<(usize, RefusalReason)> {
    a.refused
        .iter()
        .map(|r| (r.index, r.reason.clone()))
        .collect()
}

/// The SIP body of a full INVITE (after the blank line).
fn body(invite: &str) -> &str {
    invite.split_once("\r\n\r\n").map(|(_, b)| b).unwrap()
}

#[test]
fn all_fixtures_round_trip() {
    for text in [
        fixture!("02-polycom-alphapolycom.sdp"),
        fixture!("03-polycom-mba-p2p-srtp.sdp"),
        fixture!("04-cisco-tandberg257-te4.sdp"),
        fixture!("06-tandberg-5mlines.sdp"),
        fixture!("08-lgn-ip-phone.sdp"),
        fixture!("09-linphone-3.6.1.sdp"),
        fixture!("10-counterpath-eyebeam-1.5.sdp"),
        fixture!("11-pjsip-pjmedia.sdp"),
        fixture!("12-chrome120-webrtc.sdp"),
        fixture!("13-polycom-fragment.sdp"),
    ] {
        assert_round_trip(&SessionDescription::parse(text).unwrap());
    }
}

/// The damaged Group Series offer is rejected cleanly at the first wrapped
/// line (31: `max-mbps=…` without a type letter) — the gateway answers 400
/// or 488 instead of guessing. Repairing the three wraps gives a sane answer.
#[test]
fn f01_polycom_groupseries500_damaged_is_a_clean_error() {
    let text = fixture!("01-polycom-groupseries500.sdp");
    let err = SessionDescription::parse(text).unwrap_err();
    assert_eq!(err, ParseError::MalformedLine { line: 31 });
    assert_eq!(err.line(), Some(31));
    assert_eq!(SessionDescription::parse_bytes(text.as_bytes()), Err(err));
}

#[test]
fn f01_polycom_groupseries500_repaired() {
    let text = fixture!("01-polycom-groupseries500.sdp")
        .replace(
            "packetization-mode=1;\r\nmax-mbps",
            "packetization-mode=1; max-mbps",
        )
        .replace("CUST\r\nOM=", "CUSTOM=")
        .replace("H26\r\n1/90000", "H261/90000");
    let a = answer_default(&text).unwrap();
    assert_eq!(ports(&a.sdp), [40000, 40002, 0, 0]);
    let (audio, video) = (&a.streams[0], &a.streams[1]);
    assert_eq!(
        (audio.codec.payload_type, audio.codec.name.as_str()),
        (9, "G722")
    );
    assert_eq!(audio.telephone_event, Some(101));
    // 109 (pm 0), 110 (pm 1), 111 (High, pm 1): mode 1 first, then offer order.
    assert_eq!(video.codec.payload_type, 110);
    assert_eq!(
        fmtp_of(&a.sdp, 1, 110),
        "profile-level-id=428020;packetization-mode=1"
    );
    let lim = video.video.unwrap();
    assert_eq!(
        (lim.profile, lim.level),
        (H264Profile::Baseline, H264Level::L3_2)
    );
    assert_eq!((lim.max_fs, lim.max_mbps), (8192, 245000));
    assert_eq!(lim.max_bitrate_bps, Some(1_024_000));
    assert_eq!(video.rtcp_fb, [RtcpFeedback::CcmFir]);
    assert_eq!(
        refusals(&a),
        [
            (2, RefusalReason::UnsupportedMedia),
            (3, RefusalReason::UnsupportedMedia)
        ]
    );
    assert_eq!(a.sdp.media[3].formats, ["*"]);
    assert_eq!(a.sdp.media[3].protocol, "UDP/BFCP");
}

#[test]
fn f02_polycom_alphapolycom() {
    let a = answer_default(fixture!("02-polycom-alphapolycom.sdp")).unwrap();
    assert_eq!(ports(&a.sdp), [40000, 40002, 0]);
    assert_eq!(a.streams[0].codec.payload_type, 9);
    assert_eq!(a.streams[0].telephone_event, Some(119));
    assert_eq!(a.sdp.media[0].formats, ["9", "119"]);
    let v = &a.streams[1];
    assert_eq!(v.codec.payload_type, 110);
    assert_eq!(
        fmtp_of(&a.sdp, 1, 110),
        "profile-level-id=428016;packetization-mode=1"
    );
    // `ccm fir tmmbr` is read as ccm fir (+ tmmbr, unsupported).
    assert_eq!(v.rtcp_fb, [RtcpFeedback::CcmFir]);
    let lim = v.video.unwrap();
    assert_eq!(lim.level, H264Level::L2_2);
    assert_eq!((lim.max_fs, lim.max_mbps), (8160, 244800));
    assert_eq!(
        lim.max_bitrate_bps,
        Some(1_024_000),
        "b=TIAS 1024000 < max-br 5120 kbit/s"
    );
    assert_eq!(refusals(&a), [(2, RefusalReason::UnsupportedMedia)]);
}

#[test]
fn f03_polycom_srtp_answers_savp_with_our_key() {
    let text = fixture!("03-polycom-mba-p2p-srtp.sdp");
    let a = answer_default(text).unwrap();
    assert_eq!(ports(&a.sdp), [40000, 40002, 0, 0]);
    assert_eq!(a.sdp.media[0].protocol, "RTP/SAVP");
    assert_eq!(a.sdp.media[1].protocol, "RTP/SAVP");
    let audio = &a.streams[0];
    assert_eq!(
        (audio.codec.payload_type, audio.telephone_event),
        (9, Some(119))
    );
    let srtp = audio.srtp.as_ref().unwrap();
    assert_eq!((srtp.suite, srtp.tag), (SrtpSuite::AesCm128HmacSha1_80, 1));
    assert_eq!(
        Some(&srtp.remote_key),
        SrtpKey::from_base64("/zGEzmmZ+bwyADxwH8UyTCqwURw2INvVdzyQ/egu").as_ref()
    );
    // Our key is in the answer, 30 bytes, and not the offerer's.
    let line = a.sdp.media[0]
        .attributes
        .iter()
        .find_map(|x| match x {
            Attribute::Crypto(c) => Some(c.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(line.tag, 1);
    assert_eq!(
        line.key_params,
        format!("inline:{}", srtp.local_key.to_base64())
    );
    assert_ne!(srtp.local_key, srtp.remote_key);
    let video = &a.streams[1];
    assert_ne!(
        video.srtp.as_ref().unwrap().local_key,
        srtp.local_key,
        "one key per stream"
    );
    // High 64001f pm 1 is offered first.
    assert_eq!(video.codec.payload_type, 111);
    assert_eq!(
        fmtp_of(&a.sdp, 1, 111),
        "profile-level-id=64001f;packetization-mode=1"
    );
    assert_eq!(video.rtcp_fb, [RtcpFeedback::NackPli, RtcpFeedback::CcmFir]);
    let lim = video.video.unwrap();
    assert_eq!(
        (lim.profile, lim.level),
        (H264Profile::High, H264Level::L3_1)
    );
    assert_eq!(lim.max_bitrate_bps, Some(896_000), "session b=AS:896");
    // BFCP and the SRTP FECC line are refused.
    assert_eq!(
        refusals(&a),
        [
            (2, RefusalReason::UnsupportedMedia),
            (3, RefusalReason::UnsupportedMedia)
        ]
    );
    assert!(
        !format!("{a:?}").contains("/zGEzmmZ"),
        "Debug output must not show keys"
    );
}

#[test]
fn f04_cisco_te4_best_effort_srtp_and_slides_refused() {
    let invite = fixture!("04-cisco-tandberg257-te4.invite.sip");
    let text = fixture!("04-cisco-tandberg257-te4.sdp");
    assert_eq!(body(invite), text);
    let a = answer_default(text).unwrap();
    assert_eq!(ports(&a.sdp), [40000, 40002, 0, 0, 0]);
    // Crypto inside RTP/AVP: answered in RTP/AVP with crypto, tag 0 (the
    // first line without UNENCRYPTED_SRTCP).
    assert_eq!(a.sdp.media[0].protocol, "RTP/AVP");
    let srtp = a.streams[0].srtp.as_ref().unwrap();
    assert_eq!((srtp.suite, srtp.tag), (SrtpSuite::AesCm128HmacSha1_80, 0));
    assert_eq!(a.streams[0].codec.payload_type, 9);
    let v = &a.streams[1];
    assert_eq!(v.codec.payload_type, 98);
    assert_eq!(v.content, ContentRole::Main);
    assert_eq!(
        fmtp_of(&a.sdp, 1, 98),
        "profile-level-id=42800d;packetization-mode=1"
    );
    assert!(
        a.sdp.media[1]
            .attributes
            .contains(&Attribute::Content("main".into()))
    );
    let lim = v.video.unwrap();
    assert_eq!(
        (lim.level, lim.max_fs, lim.max_mbps),
        (H264Level::L1_3, 1344, 40500)
    );
    assert_eq!(
        lim.max_bitrate_bps,
        Some(906_000),
        "max-br 906 < TIAS 1152000"
    );
    assert_eq!(
        refusals(&a),
        [
            (2, RefusalReason::UnsupportedMedia),
            (3, RefusalReason::ContentStream),
            (4, RefusalReason::UnsupportedMedia)
        ]
    );
    assert_eq!(a.sdp.media[3].formats, ["97", "98", "99", "34", "31"]);
}

#[test]
fn f06_tandberg_five_mlines() {
    let a = answer_default(fixture!("06-tandberg-5mlines.sdp")).unwrap();
    assert_eq!(ports(&a.sdp), [40000, 40002, 0, 0, 0]);
    assert_eq!(a.streams[0].codec.payload_type, 9);
    assert!(a.streams[0].srtp.is_none());
    let v = &a.streams[1];
    assert_eq!(v.codec.payload_type, 98);
    assert_eq!(
        fmtp_of(&a.sdp, 1, 98),
        "profile-level-id=428014;packetization-mode=1"
    );
    assert_eq!(v.rtcp_fb, [RtcpFeedback::NackPli]);
    let lim = v.video.unwrap();
    assert_eq!(
        (lim.level, lim.max_fs, lim.max_mbps),
        (H264Level::L2, 3600, 108000)
    );
    assert_eq!(lim.max_bitrate_bps, Some(3_333_000));
    assert!(lim.allows(1280, 720, 30));
    assert_eq!(a.refused[1].media, MediaType::Video);
    assert_eq!(a.refused[1].reason, RefusalReason::ContentStream);
}

#[test]
fn f08_lg_phone_media_level_c_and_pm1_over_pm0() {
    let a = answer_default(fixture!("08-lgn-ip-phone.sdp")).unwrap();
    assert_eq!(ports(&a.sdp), [40000, 40002]);
    let audio = &a.streams[0];
    assert_eq!(
        audio.remote_rtp,
        Some("85.112.135.82:17412".parse().unwrap())
    );
    assert_eq!(audio.codec.payload_type, 9);
    let v = &a.streams[1];
    assert_eq!(v.codec.payload_type, 102, "PT 98 is pm 0, 102 is pm 1");
    assert_eq!(
        fmtp_of(&a.sdp, 1, 102),
        "profile-level-id=42800c;packetization-mode=1"
    );
    assert!(v.rtcp_fb.is_empty(), "no rtcp-fb: key frames via SIP INFO");
    let lim = v.video.unwrap();
    assert_eq!((lim.level, lim.max_fs), (H264Level::L1_2, 396));
    assert_eq!(
        lim.max_bitrate_bps,
        Some(329_000),
        "TIAS 329000 < AS 366 kbit/s"
    );
}

#[test]
fn f09_linphone_opus_without_channels_and_no_h264() {
    let invite = fixture!("09-linphone-3.6.1.invite.sip");
    let text = fixture!("09-linphone-3.6.1.sdp");
    assert_eq!(body(invite), text);
    let a = answer_default(text).unwrap();
    assert_eq!(ports(&a.sdp), [40000, 0]);
    let audio = &a.streams[0];
    assert_eq!(
        (audio.codec.payload_type, audio.codec.name.as_str()),
        (124, "opus")
    );
    assert_eq!(audio.codec.channels, Some(2));
    assert_eq!(
        audio.codec.fmtp.as_deref(),
        Some("useinbandfec=1; usedtx=1")
    );
    assert_eq!(
        audio.telephone_event, None,
        "only telephone-event/8000 offered"
    );
    assert_eq!(refusals(&a), [(1, RefusalReason::NoCommonCodec)]);
}

#[test]
fn f10_counterpath_mixed_line_endings_h263_only() {
    let text = fixture!("10-counterpath-eyebeam-1.5.sdp");
    assert!(text.starts_with("v=0\no="));
    let offer = SessionDescription::parse(text).unwrap();
    assert!(offer.media[0].attributes.contains(&Attribute::other(
        "x-rtp-session-id",
        "EE42E5DC96034E1A95B8843DA28640E4"
    )));
    let a = answer_default(text).unwrap();
    assert_eq!(ports(&a.sdp), [40000, 0]);
    assert_eq!(a.streams[0].codec.payload_type, 0);
    assert_eq!(a.streams[0].telephone_event, Some(101));
    assert_eq!(refusals(&a), [(1, RefusalReason::NoCommonCodec)]);
}

#[test]
fn f11_pjsip_constrained_baseline_and_rtcp_attribute() {
    let a = answer_default(fixture!("11-pjsip-pjmedia.sdp")).unwrap();
    assert_eq!(ports(&a.sdp), [40000, 40002]);
    let audio = &a.streams[0];
    assert_eq!(
        (audio.codec.payload_type, audio.telephone_event),
        (0, Some(96))
    );
    assert_eq!(
        audio.remote_rtcp,
        Some("132.177.252.51:40001".parse().unwrap())
    );
    let v = &a.streams[1];
    assert_eq!(v.codec.payload_type, 97);
    assert_eq!(
        fmtp_of(&a.sdp, 1, 97),
        "profile-level-id=42e01e;packetization-mode=1"
    );
    let lim = v.video.unwrap();
    assert_eq!(
        (lim.profile, lim.level),
        (H264Profile::ConstrainedBaseline, H264Level::L3)
    );
    assert_eq!(lim.max_bitrate_bps, Some(256_000));
}

#[test]
fn f12_chrome_dtls_is_refused_with_488() {
    let text = fixture!("12-chrome120-webrtc.sdp");
    let err = answer_default(text).unwrap_err();
    assert_eq!(err, cvi_media::sdp::NegotiationError::UnsupportedTransport);
    assert_eq!(err.sip_status(), 488);
}

/// The same Chrome offer with its transport changed to RTP/AVPF (as a
/// B2BUA that terminates ICE/DTLS would present it): many H.264 PTs, all
/// with level-asymmetry-allowed, rtcp-mux, opus + telephone-event/48000.
#[test]
fn f12_chrome_as_plain_avpf() {
    let text = fixture!("12-chrome120-webrtc.sdp").replace("UDP/TLS/RTP/SAVPF", "RTP/AVPF");
    let a = answer_default(&text).unwrap();
    let audio = &a.streams[0];
    assert_eq!(
        (audio.codec.payload_type, audio.telephone_event),
        (111, Some(110))
    );
    assert!(audio.rtcp_mux);
    assert_eq!(audio.remote_rtcp, audio.remote_rtp);
    assert!(
        a.sdp.media[0]
            .attributes
            .contains(&Attribute::Mid("0".into()))
    );
    let v = &a.streams[1];
    assert_eq!(v.codec.payload_type, 102, "first pm=1 H.264 (42001f)");
    assert_eq!(
        fmtp_of(&a.sdp, 1, 102),
        "profile-level-id=420028;packetization-mode=1;level-asymmetry-allowed=1"
    );
    assert_eq!(
        v.video.unwrap().level,
        H264Level::L3_1,
        "we send at Chrome's level"
    );
    assert_eq!(
        v.rtcp_fb,
        [
            RtcpFeedback::Nack,
            RtcpFeedback::NackPli,
            RtcpFeedback::CcmFir
        ]
    );
    assert_eq!(v.direction, Direction::SendRecv);
}

#[test]
fn f13_polycom_fragment_plain_rtp() {
    let a = answer_default(fixture!("13-polycom-fragment.sdp")).unwrap();
    assert_eq!(ports(&a.sdp), [40000, 40002]);
    assert_eq!(a.sdp.media[1].protocol, "RTP/AVP");
    assert!(a.streams.iter().all(|s| s.srtp.is_none()));
    assert_eq!(a.streams[1].codec.payload_type, 111);
    assert_eq!(a.streams[1].kind, StreamKind::Video);
    assert_eq!(a.streams[1].local_port, local().video_port);
    assert_eq!(
        a.sdp.connection.as_ref().map(|c| c.address.as_str()),
        Some("203.0.113.10")
    );
}
