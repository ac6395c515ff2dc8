//! Offer/answer rules on small hand-made offers: directions, SRTP, 488,
//! codec choice, H.264 levels, late offer.
#![allow(clippy::unwrap_used)]

mod common;

use common::{answer_default, answer_with, assert_round_trip, fmtp_of, local, offer_text, rng};
use cvi_media::sdp::{
    self, Attribute, CodecPreference, Direction, LocalAddrs, LocalCapabilities, NegotiationError,
    RefusalReason, SessionDescription, SrtpPolicy, SrtpSuite,
};

const AUDIO: &str = "m=audio 5004 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000";
const KEY_A: &str = "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz";
const KEY_B: &str = "MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkw";

fn with_dir(dir: &str) -> String {
    offer_text(&[AUDIO, &format!("a={dir}")])
}

#[test]
fn directions_are_answered_per_rfc3264() {
    for (offered, answered) in [
        ("sendrecv", Direction::SendRecv),
        ("sendonly", Direction::RecvOnly),
        ("recvonly", Direction::SendOnly),
        ("inactive", Direction::Inactive),
    ] {
        let a = answer_default(&with_dir(offered)).unwrap();
        assert_eq!(a.streams[0].direction, answered, "{offered}");
        assert!(
            a.sdp.media[0]
                .attributes
                .contains(&Attribute::Direction(answered))
        );
    }
    // Session-level direction applies to lines without their own.
    let text = offer_text(&[AUDIO]).replace("t=0 0\r\n", "t=0 0\r\na=sendonly\r\n");
    assert_eq!(
        answer_default(&text).unwrap().streams[0].direction,
        Direction::RecvOnly
    );
    // Our own limit is intersected.
    let caps = LocalCapabilities {
        direction: Direction::RecvOnly,
        ..Default::default()
    };
    let a = answer_with(&with_dir("sendrecv"), &caps).unwrap();
    assert_eq!(a.streams[0].direction, Direction::RecvOnly);
}

#[test]
fn savp_first_supported_suite_and_fresh_key() {
    let text = offer_text(&[
        "m=audio 5004 RTP/SAVP 8",
        "a=crypto:1 AES_256_CM_HMAC_SHA1_80 inline:AAAA",
        &format!("a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:{KEY_A}|2^31"),
        &format!("a=crypto:3 AES_CM_128_HMAC_SHA1_80 inline:{KEY_B}"),
    ]);
    let a = answer_default(&text).unwrap();
    let s = a.streams[0].srtp.as_ref().unwrap();
    assert_eq!((s.tag, s.suite), (2, SrtpSuite::AesCm128HmacSha1_32));
    assert_eq!(s.remote_key.to_base64(), KEY_A);
    assert_eq!(s.local_key.to_base64().len(), 40);
    assert_eq!(a.sdp.media[0].protocol, "RTP/SAVP");
    // Deterministic with the same seed, different with another one.
    let again = answer_default(&text).unwrap();
    assert_eq!(again.streams[0].srtp, a.streams[0].srtp);
    let offer = SessionDescription::parse(&text).unwrap();
    let mut other = rand::rngs::mock::StepRng::new(3, 7);
    let b = sdp::answer(&offer, &LocalCapabilities::default(), &local(), &mut other).unwrap();
    assert_ne!(b.streams[0].srtp.as_ref().unwrap().local_key, s.local_key);
}

#[test]
fn savp_without_usable_crypto_is_refused() {
    // Session parameters, MKI and short keys are not supported.
    let text = offer_text(&[
        "m=audio 5004 RTP/SAVP 0",
        &format!("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:{KEY_A} UNENCRYPTED_SRTCP"),
        &format!("a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:{KEY_A}|2^20|1:4"),
        "a=crypto:3 AES_CM_128_HMAC_SHA1_80 inline:c2hvcnQ=",
    ]);
    let err = answer_default(&text).unwrap_err();
    assert_eq!(err, NegotiationError::SrtpMismatch);
    assert_eq!(err.sip_status(), 488);
    // SRTP disabled: SAVP refused even with a good key.
    let text = offer_text(&[
        "m=audio 5004 RTP/SAVP 0",
        &format!("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:{KEY_A}"),
    ]);
    let caps = LocalCapabilities {
        srtp: SrtpPolicy::Disabled,
        ..Default::default()
    };
    assert_eq!(
        answer_with(&text, &caps).unwrap_err(),
        NegotiationError::SrtpMismatch
    );
}

#[test]
fn srtp_required_refuses_plain_lines_but_keeps_the_call() {
    let caps = LocalCapabilities {
        srtp: SrtpPolicy::Required,
        ..Default::default()
    };
    assert_eq!(
        answer_with(&offer_text(&[AUDIO]), &caps).unwrap_err(),
        NegotiationError::SrtpMismatch
    );
    let text = offer_text(&[
        &format!("{AUDIO}\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:{KEY_A}"),
        "m=video 5006 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 profile-level-id=42e01f",
    ]);
    let a = answer_with(&text, &caps).unwrap();
    assert_eq!(a.sdp.media[1].port, 0);
    assert_eq!(a.refused[0].reason, RefusalReason::SrtpRequired);
    assert!(
        a.streams[0].srtp.is_some(),
        "best-effort crypto in RTP/AVP accepted"
    );
}

#[test]
fn best_effort_srtp_can_be_turned_off() {
    let text = offer_text(&[&format!(
        "{AUDIO}\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:{KEY_A}"
    )]);
    let caps = LocalCapabilities {
        best_effort_srtp: false,
        ..Default::default()
    };
    let a = answer_with(&text, &caps).unwrap();
    assert!(a.streams[0].srtp.is_none());
    assert!(!a.sdp.to_string().contains("a=crypto"));
}

#[test]
fn no_common_codec_is_488_and_video_failure_keeps_the_call() {
    let g729_h261 = offer_text(&["m=audio 5004 RTP/AVP 18", "m=video 5006 RTP/AVP 31"]);
    let err = answer_default(&g729_h261).unwrap_err();
    assert_eq!(err, NegotiationError::NoCommonCodec);
    assert_eq!(err.sip_status(), 488);

    let pcmu_h261 = offer_text(&["m=audio 5004 RTP/AVP 0", "m=video 5006 RTP/AVP 31"]);
    let a = answer_default(&pcmu_h261).unwrap();
    assert_eq!(a.sdp.media[1].port, 0);
    assert_eq!(a.sdp.media[1].formats, ["31"]);
    assert_eq!(a.refused[0].reason, RefusalReason::NoCommonCodec);

    assert_eq!(
        answer_default(&offer_text(&[])).unwrap_err(),
        NegotiationError::NoMedia
    );
    let disabled = offer_text(&["m=audio 0 RTP/AVP 0"]);
    assert_eq!(
        answer_default(&disabled).unwrap_err(),
        NegotiationError::NoMedia
    );
}

#[test]
fn codec_preference_offerer_or_local() {
    let text = offer_text(&["m=audio 5004 RTP/AVP 8 0 9"]);
    assert_eq!(
        answer_default(&text).unwrap().streams[0].codec.payload_type,
        8
    );
    let caps = LocalCapabilities {
        preference: CodecPreference::Local,
        ..Default::default()
    };
    assert_eq!(
        answer_with(&text, &caps).unwrap().streams[0]
            .codec
            .payload_type,
        9
    );
}

#[test]
fn telephone_event_follows_the_codec_clock() {
    let text = offer_text(&[
        "m=audio 5004 RTP/AVP 111 0 126 110",
        "a=rtpmap:111 opus/48000/2",
        "a=rtpmap:126 telephone-event/8000",
        "a=rtpmap:110 telephone-event/48000",
    ]);
    let a = answer_default(&text).unwrap();
    assert_eq!(a.streams[0].telephone_event, Some(110));
    assert_eq!(a.sdp.media[0].formats, ["111", "110"]);
    assert_eq!(fmtp_of(&a.sdp, 0, 111), "minptime=10;useinbandfec=1");
    let caps = LocalCapabilities {
        telephone_event: false,
        ..Default::default()
    };
    assert_eq!(
        answer_with(&text, &caps).unwrap().streams[0].telephone_event,
        None
    );
}

fn video(lines: &[&str]) -> String {
    let mut v = vec!["m=audio 5004 RTP/AVP 0"];
    v.extend_from_slice(lines);
    offer_text(&v)
}

#[test]
fn h264_packetization_mode_choice() {
    let both = video(&[
        "m=video 5006 RTP/AVP 97 98",
        "a=rtpmap:97 H264/90000",
        "a=fmtp:97 profile-level-id=42e01f",
        "a=rtpmap:98 H264/90000",
        "a=fmtp:98 profile-level-id=42e01f;packetization-mode=1",
    ]);
    let a = answer_default(&both).unwrap();
    assert_eq!(a.streams[1].codec.payload_type, 98);
    let pm0_only = video(&[
        "m=video 5006 RTP/AVP 97",
        "a=rtpmap:97 H264/90000",
        "a=fmtp:97 profile-level-id=42e01f",
    ]);
    let a = answer_default(&pm0_only).unwrap();
    assert_eq!(
        fmtp_of(&a.sdp, 1, 97),
        "profile-level-id=42e01f;packetization-mode=0"
    );
    let pm2 = video(&[
        "m=video 5006 RTP/AVP 97",
        "a=rtpmap:97 H264/90000",
        "a=fmtp:97 packetization-mode=2",
    ]);
    assert_eq!(answer_default(&pm2).unwrap().sdp.media[1].port, 0);
}

#[test]
fn h264_levels_and_profiles_in_answers() {
    let one = |fmtp: &str| {
        let t = video(&[
            "m=video 5006 RTP/AVP 96",
            "a=rtpmap:96 H264/90000",
            &format!("a=fmtp:96 {fmtp}"),
        ]);
        answer_default(&t)
            .map(|a| fmtp_of(&a.sdp, 1, 96))
            .unwrap_or_default()
    };
    assert_eq!(
        one("profile-level-id=640033;packetization-mode=1"),
        "profile-level-id=640028;packetization-mode=1"
    );
    assert_eq!(
        one("profile-level-id=42f00b"),
        "profile-level-id=42f00b;packetization-mode=0"
    );
    assert_eq!(
        one("profile-level-id=4d401e"),
        "profile-level-id=4d401e;packetization-mode=0"
    );
    assert_eq!(one(""), "profile-level-id=42000a;packetization-mode=0");
    // High 10 is not decodable by our High decoder: refused (empty fmtp).
    assert_eq!(one("profile-level-id=6e001f"), "");
    assert_eq!(one("profile-level-id=zzzzzz"), "");
    let caps = LocalCapabilities {
        video: Some(sdp::VideoCapabilities {
            h264: sdp::H264Capabilities {
                profiles: vec![sdp::H264Profile::ConstrainedBaseline],
                ..Default::default()
            },
            ..Default::default()
        }),
        ..Default::default()
    };
    let t = video(&[
        "m=video 5006 RTP/AVP 96",
        "a=rtpmap:96 H264/90000",
        "a=fmtp:96 profile-level-id=640028",
    ]);
    assert_eq!(
        answer_with(&t, &caps).unwrap().refused[0].reason,
        RefusalReason::NoCommonCodec
    );
}

#[test]
fn rtcp_mux_mid_and_extra_streams() {
    let text = offer_text(&[
        "m=audio 5004 RTP/AVP 0\r\na=rtcp-mux\r\na=mid:a",
        "m=audio 5008 RTP/AVP 0",
        "m=video 5006 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=content:slides",
        "m=text 5010 RTP/AVP 98",
    ]);
    let a = answer_default(&text).unwrap();
    let s = &a.streams[0];
    assert!(s.rtcp_mux);
    assert_eq!(s.remote_rtcp, s.remote_rtp);
    assert!(a.sdp.media[0].attributes.contains(&Attribute::RtcpMux));
    assert!(
        a.sdp.media[0]
            .attributes
            .contains(&Attribute::Mid("a".into()))
    );
    let reasons: Vec<_> = a.refused.iter().map(|r| r.reason.clone()).collect();
    assert_eq!(
        reasons,
        [
            RefusalReason::ExtraStream,
            RefusalReason::ContentStream,
            RefusalReason::UnsupportedMedia
        ]
    );
    let caps = LocalCapabilities {
        rtcp_mux: false,
        ..Default::default()
    };
    assert!(!answer_with(&text, &caps).unwrap().streams[0].rtcp_mux);
}

#[test]
fn answers_are_valid_sdp_and_ipv6_is_written_as_ip6() {
    let mut l = local();
    l.ip = "2001:db8::10".parse().unwrap();
    let offer = SessionDescription::parse(&offer_text(&[AUDIO])).unwrap();
    let a = sdp::answer(&offer, &LocalCapabilities::default(), &l, &mut rng()).unwrap();
    assert_round_trip(&a.sdp);
    let text = a.sdp.to_string();
    assert!(text.contains("c=IN IP6 2001:db8::10\r\n"), "{text}");
    assert!(text.starts_with("v=0\r\no=cvi-gateway "));
}

/// Late offer: we offer, a peer (here our own answerer, with other ports)
/// answers, we accept. Both sides must agree on codecs, ports and keys.
#[test]
fn late_offer_round_trip() {
    let caps = LocalCapabilities::default();
    let ours = sdp::offer(&caps, &local(), &mut rng());
    assert_round_trip(&ours);
    assert_eq!(ours.media[0].formats, ["111", "9", "0", "8", "101", "110"]);
    assert_eq!(
        ours.media[1].formats,
        ["96", "97", "98", "99", "100", "101"]
    );
    assert_eq!(
        fmtp_of(&ours, 1, 96),
        "profile-level-id=42e028;packetization-mode=1;level-asymmetry-allowed=1"
    );
    assert_eq!(
        fmtp_of(&ours, 1, 101),
        "profile-level-id=640028;packetization-mode=0;level-asymmetry-allowed=1"
    );

    let peer = LocalAddrs {
        ip: "198.51.100.7".parse().unwrap(),
        audio_port: 6000,
        video_port: 6002,
    };
    let mut peer_rng = rand::rngs::mock::StepRng::new(11, 13);
    let theirs = sdp::answer(&ours, &caps, &peer, &mut peer_rng).unwrap();
    let text = theirs.sdp.to_string();
    let parsed = SessionDescription::parse(&text).unwrap();
    let mine = sdp::accept_answer(&ours, &parsed).unwrap();

    assert_eq!(mine.len(), 2);
    for (m, t) in mine.iter().zip(&theirs.streams) {
        assert_eq!(m.codec.payload_type, t.codec.payload_type);
        assert_eq!(m.telephone_event, t.telephone_event);
        assert_eq!(m.rtcp_mux, t.rtcp_mux);
        let (ms, ts) = (m.srtp.as_ref().unwrap(), t.srtp.as_ref().unwrap());
        assert_eq!(ms.local_key, ts.remote_key);
        assert_eq!(ms.remote_key, ts.local_key);
    }
    assert_eq!(mine[0].codec.name, "opus");
    assert_eq!(
        mine[0].remote_rtp,
        Some("198.51.100.7:6000".parse().unwrap())
    );
    assert_eq!(mine[1].codec.payload_type, 96);
    assert_eq!(mine[1].video.unwrap().level, sdp::H264Level::L4);
    assert_eq!(mine[1].rtcp_fb.len(), 3);

    // A peer that refuses video and answers sendonly audio.
    let mut refused = parsed.clone();
    refused.media[1].port = 0;
    refused.media[0]
        .attributes
        .retain(|a| !matches!(a, Attribute::Direction(_)));
    refused.media[0]
        .attributes
        .push(Attribute::Direction(Direction::SendOnly));
    let mine = sdp::accept_answer(&ours, &refused).unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].direction, Direction::RecvOnly);

    let mut short = parsed.clone();
    short.media.pop();
    assert!(matches!(
        sdp::accept_answer(&ours, &short),
        Err(NegotiationError::AnswerMismatch(_))
    ));
}

#[test]
fn srtp_required_offer_uses_savp() {
    let caps = LocalCapabilities {
        srtp: SrtpPolicy::Required,
        video: None,
        ..Default::default()
    };
    let ours = sdp::offer(&caps, &local(), &mut rng());
    assert_eq!(ours.media.len(), 1);
    assert_eq!(ours.media[0].protocol, "RTP/SAVP");
    let n = ours.media[0]
        .attributes
        .iter()
        .filter(|a| matches!(a, Attribute::Crypto(_)))
        .count();
    assert_eq!(n, 2);
    // An answer without crypto leaves nothing usable.
    let plain = ours.to_string().replace("a=crypto", "a=x-crypto");
    let mut rng2 = rng();
    let theirs = sdp::answer(
        &SessionDescription::parse(&plain).unwrap(),
        &LocalCapabilities::default(),
        &local(),
        &mut rng2,
    );
    assert_eq!(theirs.unwrap_err(), NegotiationError::SrtpMismatch);
}
