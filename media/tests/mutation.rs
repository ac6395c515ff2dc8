//! A stable-Rust stand-in for the libFuzzer targets (which need nightly and
//! do not run in CI): seeded random mutations of every real and hand-written
//! offer, checked for panics and for the serialize → parse round trip.
//!
//! `CVI_MUTATION_ITERS` sets the number of mutated inputs (default 20 000;
//! `CVI_MUTATION_ITERS=200000 cargo test --release -p cvi-media --test mutation`
//! for a longer run). `CVI_MUTATION_SEED` changes the seed.
#![allow(clippy::unwrap_used)]

mod common;

use cvi_media::sdp::{
    CodecPreference, LocalCapabilities, SessionDescription, SrtpPolicy, accept_answer, answer,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const SEEDS: &[&str] = &[
    include_str!("../../../shared/fixtures/sdp/01-polycom-groupseries500.sdp"),
    include_str!("../../../shared/fixtures/sdp/02-polycom-alphapolycom.sdp"),
    include_str!("../../../shared/fixtures/sdp/03-polycom-mba-p2p-srtp.sdp"),
    include_str!("../../../shared/fixtures/sdp/04-cisco-tandberg257-te4.sdp"),
    include_str!("../../../shared/fixtures/sdp/06-tandberg-5mlines.sdp"),
    include_str!("../../../shared/fixtures/sdp/08-lgn-ip-phone.sdp"),
    include_str!("../../../shared/fixtures/sdp/09-linphone-3.6.1.sdp"),
    include_str!("../../../shared/fixtures/sdp/10-counterpath-eyebeam-1.5.sdp"),
    include_str!("../../../shared/fixtures/sdp/11-pjsip-pjmedia.sdp"),
    include_str!("../../../shared/fixtures/sdp/12-chrome120-webrtc.sdp"),
    include_str!("../../../shared/fixtures/sdp/13-polycom-fragment.sdp"),
    include_str!("data/baresip-h264-pm0-first.sdp"),
    include_str!("data/linphone-video-avpf.sdp"),
    include_str!("data/chromium-like-sdes-rtcp-mux.sdp"),
    include_str!("data/asterisk-hold-sendonly.sdp"),
];

/// Fragments that steer mutations toward interesting parser states.
const TOKENS: &[&str] = &[
    "\r\n",
    "\n",
    "\r",
    " ",
    "\t",
    ":",
    "=",
    "/",
    ";",
    "*",
    "|",
    "\0",
    "é",
    "a=",
    "m=video 1 RTP/SAVP 96",
    "m=audio 0 RTP/AVP 0",
    "a=rtpmap:96 H264/90000",
    "a=fmtp:96 profile-level-id=42f00b",
    "a=fmtp:96 packetization-mode=1",
    "a=rtcp-fb:* ccm fir tmmbr",
    "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:",
    "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz",
    "|2^31|1:4",
    "a=content:slides",
    "a=rtcp-mux",
    "a=rtcp:",
    "a=sendonly",
    "a=inactive",
    "c=IN IP6 ::1",
    "b=AS:",
    "b=TIAS:",
    "telephone-event/48000",
    "opus/48000",
    "level-asymmetry-allowed=1",
    "max-fs=",
    "4294967296",
    "65536",
    "127",
    "128",
    "255",
    "-1",
    "0",
];

fn mutate(rng: &mut StdRng, input: &[u8]) -> Vec<u8> {
    let mut v = input.to_vec();
    for _ in 0..rng.gen_range(1..=8) {
        let len = v.len().max(1);
        let at = rng.gen_range(0..len).min(v.len());
        match rng.gen_range(0..8) {
            0 if !v.is_empty() => {
                let i = at.min(v.len() - 1);
                v[i] = rng.r#gen();
            }
            1 => {
                let t = TOKENS[rng.gen_range(0..TOKENS.len())];
                v.splice(at..at, t.bytes());
            }
            2 => {
                let end = (at + rng.gen_range(1..=16)).min(v.len());
                v.drain(at..end);
            }
            3..=5 => {
                let mut lines: Vec<Vec<u8>> =
                    v.split(|b| *b == b'\n').map(<[u8]>::to_vec).collect();
                let n = lines.len();
                let (i, j) = (rng.gen_range(0..n), rng.gen_range(0..n));
                match rng.gen_range(0..3) {
                    0 => lines.insert(j, lines[i].clone()),
                    1 if n > 1 => drop(lines.remove(i)),
                    _ => lines.swap(i, j),
                }
                v = lines.join(&b'\n');
            }
            6 => {
                let t = [
                    "0",
                    "65535",
                    "65536",
                    "4294967296",
                    "18446744073709551616",
                    "128",
                    "9",
                ];
                let t = t[rng.gen_range(0..t.len())];
                let end = (at..v.len())
                    .find(|k| !v[*k].is_ascii_digit())
                    .unwrap_or(v.len());
                v.splice(at..end, t.bytes());
            }
            _ => v.truncate(at),
        }
    }
    v
}

/// The invariants the fuzz targets check, on one input.
fn check(data: &[u8], caps: &[LocalCapabilities]) {
    let Ok(offer) = SessionDescription::parse_bytes(data) else {
        return;
    };
    let text = offer.to_string();
    let again = SessionDescription::parse(&text)
        .unwrap_or_else(|e| panic!("serialized SDP does not parse: {e}\n{text}"));
    assert_eq!(
        again,
        offer,
        "round trip changed:\n{}",
        String::from_utf8_lossy(data)
    );
    for c in caps {
        if let Ok(a) = answer(&offer, c, &common::local(), &mut common::rng()) {
            assert_eq!(a.sdp.media.len(), offer.media.len());
            assert_eq!(
                SessionDescription::parse(&a.sdp.to_string()).unwrap(),
                a.sdp
            );
            let _ = accept_answer(&offer, &a.sdp);
        }
    }
}

#[test]
fn mutated_offers_never_panic_and_round_trip() {
    let iters: usize = std::env::var("CVI_MUTATION_ITERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000);
    let seed: u64 = std::env::var("CVI_MUTATION_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0xC0FFEE);
    let caps = [
        LocalCapabilities::default(),
        LocalCapabilities {
            preference: CodecPreference::Local,
            srtp: SrtpPolicy::Required,
            ..Default::default()
        },
        LocalCapabilities {
            video: None,
            srtp: SrtpPolicy::Disabled,
            ..Default::default()
        },
    ];
    let mut rng = StdRng::seed_from_u64(seed);
    let mut parsed = 0usize;
    for _ in 0..iters {
        let seed_doc = SEEDS[rng.gen_range(0..SEEDS.len())].as_bytes();
        let input = mutate(&mut rng, seed_doc);
        if SessionDescription::parse_bytes(&input).is_ok() {
            parsed += 1;
        }
        check(&input, &caps);
    }
    eprintln!("mutation: {iters} inputs, {parsed} parsed");
    assert!(
        parsed > iters / 10,
        "mutations should mostly keep inputs parseable ({parsed}/{iters})"
    );
}
