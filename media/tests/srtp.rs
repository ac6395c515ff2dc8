//! SRTP/SRTCP (`cvi_media::srtp`): round trips for both suites, tampering,
//! replays, the ROC across a sequence wrap, reordering, the SSRC bound, and
//! seeded random/mutated input that must never panic nor be accepted.
//!
//! `CVI_MUTATION_ITERS` and `CVI_MUTATION_SEED` as in `rtp_robust.rs`.
#![allow(clippy::unwrap_used)]

use cvi_media::rtp::rtcp::{self, ReportBlock};
use cvi_media::rtp::{RtpHeader, RtpWriter};
use cvi_media::sdp::{SrtpKey, SrtpSuite};
use cvi_media::srtp::{self, SrtpContext, SrtpError};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const SUITES: [SrtpSuite; 2] = [
    SrtpSuite::AesCm128HmacSha1_80,
    SrtpSuite::AesCm128HmacSha1_32,
];

fn key(seed: u8) -> SrtpKey {
    let mut k = [0u8; 30];
    for (i, b) in k.iter_mut().enumerate() {
        *b = seed.wrapping_mul(31).wrapping_add(i as u8);
    }
    SrtpKey(k)
}

fn pair(suite: SrtpSuite) -> (SrtpContext, SrtpContext) {
    (
        SrtpContext::new(suite, &key(1)),
        SrtpContext::new(suite, &key(1)),
    )
}

/// An RTP packet with `csrcs` CSRCs, an optional one-byte-header extension
/// of `ext_words` words, `payload` and `pad` bytes of padding.
fn rtp(seq: u16, ssrc: u32, csrcs: u8, ext_words: Option<u16>, payload: &[u8], pad: u8) -> Vec<u8> {
    let mut b0 = 0x80 | csrcs;
    if ext_words.is_some() {
        b0 |= 0x10;
    }
    if pad > 0 {
        b0 |= 0x20;
    }
    let mut p = vec![b0, 96];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&(u32::from(seq) * 3000).to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    for c in 0..u32::from(csrcs) {
        p.extend_from_slice(&(0xc000 + c).to_be_bytes());
    }
    if let Some(words) = ext_words {
        p.extend_from_slice(&[0xbe, 0xde]);
        p.extend_from_slice(&words.to_be_bytes());
        p.extend((0..words * 4).map(|i| i as u8));
    }
    p.extend_from_slice(payload);
    if pad > 0 {
        p.extend(std::iter::repeat_n(0, usize::from(pad - 1)));
        p.push(pad);
    }
    p
}

fn payload(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 + 3) as u8).collect()
}

fn rtcp_compound(ssrc: u32) -> Vec<u8> {
    let block = ReportBlock {
        ssrc: 0x1111,
        fraction_lost: 3,
        cumulative_lost: 9,
        highest_seq: 77,
        jitter: 5,
        lsr: 6,
        dlsr: 7,
    };
    let mut p = rtcp::sender_report(
        ssrc,
        0x0102_0304_0506_0708,
        90_000,
        10,
        1000,
        &[block],
        "cname@x",
    );
    p.extend(rtcp::pli(ssrc, 0x1111));
    p
}

#[test]
fn rtp_round_trip_with_csrc_extension_and_padding() {
    let shapes: [(u8, Option<u16>, usize, u8); 7] = [
        (0, None, 160, 0),
        (0, None, 0, 0),
        (3, None, 1200, 0),
        (0, Some(2), 500, 0),
        (0, Some(0), 33, 0),
        (0, None, 100, 4),
        (15, Some(5), 1, 255),
    ];
    for suite in SUITES {
        let (mut tx, mut rx) = pair(suite);
        for (i, &(csrcs, ext, len, pad)) in shapes.iter().enumerate() {
            let plain = rtp(100 + i as u16, 0xabcd, csrcs, ext, &payload(len), pad);
            let clear = RtpHeader::parse(&plain).unwrap().payload_start;
            let (mut srtp, mut back) = (Vec::new(), Vec::new());
            tx.protect_rtp(&plain, &mut srtp).unwrap();
            assert_eq!(srtp.len(), plain.len() + srtp::tag_len(suite));
            assert_eq!(srtp[..clear], plain[..clear], "header stays clear");
            if plain.len() > clear {
                assert_ne!(
                    srtp[clear..plain.len()],
                    plain[clear..],
                    "payload encrypted"
                );
            }
            rx.unprotect_rtp(&srtp, &mut back).unwrap();
            assert_eq!(back, plain, "{suite:?} shape {i}");
        }
    }
}

#[test]
fn rtcp_round_trip_and_index() {
    for suite in SUITES {
        let (mut tx, mut rx) = pair(suite);
        for i in 0..5u32 {
            let plain = rtcp_compound(0x5151);
            let (mut srtcp, mut back) = (Vec::new(), Vec::new());
            tx.protect_rtcp(&plain, &mut srtcp).unwrap();
            assert_eq!(srtcp.len(), plain.len() + 4 + srtp::SRTCP_TAG_LEN);
            assert_eq!(srtcp[..8], plain[..8]);
            assert_ne!(srtcp[8..plain.len()], plain[8..]);
            let trailer = &srtcp[plain.len()..plain.len() + 4];
            assert_eq!(trailer, (0x8000_0000 | i).to_be_bytes());
            rx.unprotect_rtcp(&srtcp, &mut back).unwrap();
            assert_eq!(back, plain);
        }
    }
}

#[test]
fn tampering_fails_authentication_and_leaves_state_alone() {
    for suite in SUITES {
        let (mut tx, mut rx) = pair(suite);
        let plain = rtp(7, 1, 1, Some(1), &payload(40), 0);
        let mut srtp = Vec::new();
        tx.protect_rtp(&plain, &mut srtp).unwrap();
        let mut out = vec![1, 2, 3];
        for at in 0..srtp.len() {
            let mut bad = srtp.clone();
            bad[at] ^= 0x01;
            let err = rx.unprotect_rtp(&bad, &mut out).unwrap_err();
            assert!(out.is_empty());
            if at >= 12 + 4 + 8 {
                assert_eq!(err, SrtpError::AuthFailed, "byte {at}");
            } else {
                assert!(
                    matches!(err, SrtpError::AuthFailed | SrtpError::BadHeader),
                    "byte {at}: {err}"
                );
            }
        }
        // A forged far-ahead sequence number moved nothing: the real packet passes.
        rx.unprotect_rtp(&srtp, &mut out).unwrap();
        assert_eq!(out, plain);

        let mut srtcp = Vec::new();
        tx.protect_rtcp(&rtcp_compound(9), &mut srtcp).unwrap();
        for at in 0..srtcp.len() {
            let mut bad = srtcp.clone();
            bad[at] ^= 0x80;
            let err = rx.unprotect_rtcp(&bad, &mut out).unwrap_err();
            assert!(matches!(err, SrtpError::AuthFailed | SrtpError::BadHeader));
        }
        rx.unprotect_rtcp(&srtcp, &mut out).unwrap();
        assert_eq!(out, rtcp_compound(9));
    }
}

#[test]
fn wrong_key_or_suite_fails() {
    let plain = rtp(1, 2, 0, None, &payload(20), 0);
    let mut tx = SrtpContext::new(SrtpSuite::AesCm128HmacSha1_80, &key(1));
    let mut srtp = Vec::new();
    tx.protect_rtp(&plain, &mut srtp).unwrap();
    let mut out = Vec::new();
    let mut other_key = SrtpContext::new(SrtpSuite::AesCm128HmacSha1_80, &key(2));
    assert_eq!(
        other_key.unprotect_rtp(&srtp, &mut out),
        Err(SrtpError::AuthFailed)
    );
    let mut other_suite = SrtpContext::new(SrtpSuite::AesCm128HmacSha1_32, &key(1));
    assert_eq!(
        other_suite.unprotect_rtp(&srtp, &mut out),
        Err(SrtpError::AuthFailed)
    );
}

#[test]
fn replays_are_refused() {
    for suite in SUITES {
        let (mut tx, mut rx) = pair(suite);
        let (mut a, mut b, mut out) = (Vec::new(), Vec::new(), Vec::new());
        tx.protect_rtp(&rtp(10, 3, 0, None, b"one", 0), &mut a)
            .unwrap();
        tx.protect_rtp(&rtp(11, 3, 0, None, b"two", 0), &mut b)
            .unwrap();
        rx.unprotect_rtp(&a, &mut out).unwrap();
        assert_eq!(rx.unprotect_rtp(&a, &mut out), Err(SrtpError::Replayed));
        rx.unprotect_rtp(&b, &mut out).unwrap();
        assert_eq!(rx.unprotect_rtp(&b, &mut out), Err(SrtpError::Replayed));
        assert_eq!(rx.unprotect_rtp(&a, &mut out), Err(SrtpError::Replayed));

        tx.protect_rtcp(&rtcp_compound(3), &mut a).unwrap();
        rx.unprotect_rtcp(&a, &mut out).unwrap();
        assert_eq!(rx.unprotect_rtcp(&a, &mut out), Err(SrtpError::Replayed));
    }
}

#[test]
fn sequence_wrap_advances_the_roc() {
    for suite in SUITES {
        let (mut tx, mut rx) = pair(suite);
        let (mut srtp, mut out) = (Vec::new(), Vec::new());
        let mut seen = Vec::new();
        // Three wraps of the 16-bit sequence number.
        for round in 0..3u32 {
            for seq in (65_500..=65_535u16).chain(0..40) {
                let plain = rtp(seq, 0x77, 0, None, &payload(30), 0);
                tx.protect_rtp(&plain, &mut srtp).unwrap();
                rx.unprotect_rtp(&srtp, &mut out).unwrap();
                assert_eq!(out, plain, "round {round} seq {seq}");
                seen.push(srtp.clone());
            }
            // Jump ahead within the ROC (< 2^15) to reach the next wrap.
            for seq in (10_000..65_500u16).step_by(20_000) {
                let plain = rtp(seq, 0x77, 0, None, &payload(30), 0);
                tx.protect_rtp(&plain, &mut srtp).unwrap();
                rx.unprotect_rtp(&srtp, &mut out).unwrap();
            }
        }
        // Same sequence number and payload under a different ROC: different ciphertext.
        assert_ne!(seen[40], seen[40 + 76]);
        // A late packet from before the wrap still decrypts with the old ROC.
        let (mut tx2, mut rx2) = pair(suite);
        let mut late = Vec::new();
        tx2.protect_rtp(&rtp(65_534, 5, 0, None, b"a", 0), &mut late)
            .unwrap();
        let mut after = Vec::new();
        tx2.protect_rtp(&rtp(65_535, 5, 0, None, b"b", 0), &mut srtp)
            .unwrap();
        tx2.protect_rtp(&rtp(1, 5, 0, None, b"c", 0), &mut after)
            .unwrap();
        rx2.unprotect_rtp(&srtp, &mut out).unwrap();
        rx2.unprotect_rtp(&after, &mut out).unwrap();
        assert_eq!(out, rtp(1, 5, 0, None, b"c", 0));
        rx2.unprotect_rtp(&late, &mut out).unwrap();
        assert_eq!(out, rtp(65_534, 5, 0, None, b"a", 0));
    }
}

#[test]
fn out_of_order_within_the_window() {
    let mut rng = StdRng::seed_from_u64(42);
    for suite in SUITES {
        let (mut tx, mut rx) = pair(suite);
        let mut packets: Vec<(Vec<u8>, Vec<u8>)> = (0..400u16)
            .map(|i| {
                let plain = rtp(65_300u16.wrapping_add(i), 0x99, 0, None, &payload(50), 0);
                let mut srtp = Vec::new();
                tx.protect_rtp(&plain, &mut srtp).unwrap();
                (plain, srtp)
            })
            .collect();
        // Shuffle within blocks of 32 (well inside the 64-packet window).
        for block in packets.chunks_mut(32) {
            for i in (1..block.len()).rev() {
                block.swap(i, rng.gen_range(0..=i));
            }
        }
        let mut out = Vec::new();
        for (plain, srtp) in &packets {
            rx.unprotect_rtp(srtp, &mut out).unwrap();
            assert_eq!(&out, plain);
        }
        // Older than the window: refused even though never received twice.
        let (mut tx, mut rx) = pair(suite);
        let mut old = Vec::new();
        tx.protect_rtp(&rtp(1000, 1, 0, None, b"x", 0), &mut old)
            .unwrap();
        let mut new = Vec::new();
        tx.protect_rtp(
            &rtp(1000 + srtp::REPLAY_WINDOW as u16, 1, 0, None, b"y", 0),
            &mut new,
        )
        .unwrap();
        rx.unprotect_rtp(&new, &mut out).unwrap();
        assert_eq!(rx.unprotect_rtp(&old, &mut out), Err(SrtpError::Replayed));
    }
}

#[test]
fn several_ssrcs_and_the_bound() {
    let suite = SrtpSuite::AesCm128HmacSha1_80;
    // Receive: 200 SSRCs (from 4 senders of 50), the oldest forgotten.
    let mut txs: Vec<SrtpContext> = (0..4).map(|_| SrtpContext::new(suite, &key(1))).collect();
    let mut rx = SrtpContext::new(suite, &key(1));
    let (mut srtp, mut out) = (Vec::new(), Vec::new());
    for seq in 0..5u16 {
        for ssrc in 0..200u32 {
            let plain = rtp(
                seq.wrapping_add(ssrc as u16 * 300),
                ssrc,
                0,
                None,
                &payload(10),
                0,
            );
            txs[ssrc as usize / 50]
                .protect_rtp(&plain, &mut srtp)
                .unwrap();
            rx.unprotect_rtp(&srtp, &mut out).unwrap();
            assert_eq!(out, plain);
        }
    }
    let debug = format!("{rx:?}");
    assert!(
        debug.contains(&format!("rtp_streams_rx: {}", srtp::MAX_STREAMS)),
        "{debug}"
    );
    assert!(debug.contains("<redacted>"));

    // Send: a new SSRC past the bound is refused, known ones go on.
    let mut tx = SrtpContext::new(suite, &key(1));
    for ssrc in 0..srtp::MAX_STREAMS as u32 {
        tx.protect_rtp(&rtp(1, ssrc, 0, None, b"x", 0), &mut srtp)
            .unwrap();
        tx.protect_rtcp(&rtcp_compound(ssrc), &mut srtp).unwrap();
    }
    let extra = srtp::MAX_STREAMS as u32;
    let r = tx.protect_rtp(&rtp(1, extra, 0, None, b"x", 0), &mut srtp);
    assert_eq!(r, Err(SrtpError::TooManyStreams));
    let r = tx.protect_rtcp(&rtcp_compound(extra), &mut srtp);
    assert_eq!(r, Err(SrtpError::TooManyStreams));
    tx.protect_rtp(&rtp(2, 0, 0, None, b"x", 0), &mut srtp)
        .unwrap();
    tx.protect_rtcp(&rtcp_compound(0), &mut srtp).unwrap();
}

#[test]
fn malformed_input_errors() {
    let (mut tx, mut rx) = pair(SrtpSuite::AesCm128HmacSha1_80);
    let mut out = Vec::new();
    assert_eq!(
        tx.protect_rtp(&[0x80; 11], &mut out),
        Err(SrtpError::TooShort)
    );
    assert_eq!(
        tx.protect_rtp(&[0x40; 20], &mut out),
        Err(SrtpError::BadHeader)
    );
    assert_eq!(
        rx.unprotect_rtp(&[0x80; 21], &mut out),
        Err(SrtpError::TooShort)
    );
    assert_eq!(rx.unprotect_rtp(&[], &mut out), Err(SrtpError::TooShort));
    assert_eq!(
        tx.protect_rtcp(&[0x80, 201, 0, 1], &mut out),
        Err(SrtpError::TooShort)
    );
    assert_eq!(
        rx.unprotect_rtcp(&[0x80; 21], &mut out),
        Err(SrtpError::TooShort)
    );
    let huge = rtp(1, 1, 0, None, &vec![0; srtp::MAX_PACKET_LEN], 0);
    assert_eq!(tx.protect_rtp(&huge, &mut out), Err(SrtpError::TooLong));
    // Bad padding is refused when protecting.
    let mut bad_pad = rtp(1, 1, 0, None, b"abc", 0);
    bad_pad[0] |= 0x20;
    *bad_pad.last_mut().unwrap() = 9;
    assert_eq!(
        tx.protect_rtp(&bad_pad, &mut out),
        Err(SrtpError::BadHeader)
    );
    // RTCP where RTP is expected and the other way round.
    let mut srtcp = Vec::new();
    tx.protect_rtcp(&rtcp_compound(4), &mut srtcp).unwrap();
    assert_eq!(
        rx.unprotect_rtp(&srtcp, &mut out),
        Err(SrtpError::BadHeader)
    );
    let mut srtp = Vec::new();
    tx.protect_rtp(&rtp(1, 1, 0, None, &payload(40), 0), &mut srtp)
        .unwrap();
    assert_eq!(
        rx.unprotect_rtcp(&srtp, &mut out),
        Err(SrtpError::BadHeader)
    );
    assert!(!SrtpError::AuthFailed.to_string().is_empty());
}

fn iters() -> usize {
    std::env::var("CVI_MUTATION_ITERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000)
}

fn rng() -> StdRng {
    let seed: u64 = std::env::var("CVI_MUTATION_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5EED_3711);
    StdRng::seed_from_u64(seed)
}

fn mutate(rng: &mut StdRng, input: &[u8]) -> Vec<u8> {
    let mut v = input.to_vec();
    for _ in 0..rng.gen_range(1..=3) {
        let at = rng.gen_range(0..=v.len());
        match rng.gen_range(0..6) {
            0 => {
                if let Some(b) = v.get_mut(at) {
                    *b = rng.r#gen();
                }
            }
            1 => {
                if let Some(b) = v.get_mut(at) {
                    *b ^= 1 << rng.gen_range(0..8);
                }
            }
            2 => {
                let n = rng.gen_range(1..=8);
                v.splice(at..at, (0..n).map(|_| rng.r#gen::<u8>()));
            }
            3 => {
                let end = (at + rng.gen_range(1..=8)).min(v.len());
                v.drain(at..end);
            }
            4 => v.truncate(at),
            _ => {
                // Header bits: CC, X, P, version.
                if let Some(b) = v.get_mut(0) {
                    *b ^= [0x0f, 0x10, 0x20, 0xc0][rng.gen_range(0..4)];
                }
            }
        }
    }
    v
}

/// A mutated SRTP/SRTCP packet is accepted only if it is unchanged, and a
/// refused one changes no state: the genuine packet still passes after it.
#[test]
fn mutated_packets_never_panic_nor_pass() {
    let mut rng = rng();
    for suite in SUITES {
        let (mut tx, mut rx) = pair(suite);
        let mut writer = RtpWriter::new(0x4242, 96, rng.r#gen());
        let (mut plain, mut prot, mut out) = (Vec::new(), Vec::new(), Vec::new());
        let mut refused = 0usize;
        for i in 0..iters() {
            let is_rtcp = i % 4 == 3;
            if is_rtcp {
                plain = rtcp_compound(rng.r#gen::<u32>() % 4);
                tx.protect_rtcp(&plain, &mut prot).unwrap();
            } else {
                let len = rng.gen_range(0..300);
                writer.write(rng.gen_bool(0.1), rng.r#gen(), &payload(len), &mut plain);
                tx.protect_rtp(&plain, &mut prot).unwrap();
            }
            let bad = mutate(&mut rng, &prot);
            let r = if is_rtcp {
                rx.unprotect_rtcp(&bad, &mut out)
            } else {
                rx.unprotect_rtp(&bad, &mut out)
            };
            if bad == prot {
                r.unwrap();
                assert_eq!(out, plain);
                continue;
            }
            assert!(r.is_err(), "mutated packet accepted (iteration {i})");
            assert!(out.is_empty());
            refused += 1;
            let genuine = if is_rtcp {
                rx.unprotect_rtcp(&prot, &mut out)
            } else {
                rx.unprotect_rtp(&prot, &mut out)
            };
            genuine.unwrap();
            assert_eq!(out, plain);
            // Random bytes and mutated plain packets into every entry point.
            let junk: Vec<u8> = (0..rng.gen_range(0..80)).map(|_| rng.r#gen()).collect();
            let _ = rx.unprotect_rtp(&junk, &mut out);
            let _ = rx.unprotect_rtcp(&junk, &mut out);
            let mp = mutate(&mut rng, &plain);
            let mut scratch = SrtpContext::new(suite, &key(3));
            let _ = scratch.protect_rtp(&mp, &mut out);
            let _ = scratch.protect_rtcp(&mp, &mut out);
        }
        assert!(refused > iters() / 2);
    }
}

/// Throughput of protect + unprotect for 1200-byte payloads:
/// `cargo test --release -p cvi-media --test srtp -- --ignored --nocapture throughput`
#[test]
#[ignore]
fn throughput() {
    for suite in SUITES {
        let (mut tx, mut rx) = pair(suite);
        let mut writer = RtpWriter::new(0x1234, 96, 0);
        let body = payload(1200);
        let (mut plain, mut prot, mut out) = (Vec::new(), Vec::new(), Vec::new());
        let n = 200_000u32;
        let start = std::time::Instant::now();
        for i in 0..n {
            writer.write(false, i * 3000, &body, &mut plain);
            tx.protect_rtp(&plain, &mut prot).unwrap();
            rx.unprotect_rtp(&prot, &mut out).unwrap();
        }
        let secs = start.elapsed().as_secs_f64();
        eprintln!(
            "{suite:?}: {:.0} packets/s protect+unprotect ({:.0} Mbit/s of payload)",
            f64::from(n) / secs,
            f64::from(n) * 1200.0 * 8.0 / secs / 1e6
        );
    }
}
