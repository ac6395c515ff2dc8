//! A stable-Rust stand-in for the `rtcp_parse` libFuzzer target: seeded random and
//! mutated RTCP compounds into `rtcp::parse`, and mutated H.264 RTP payloads into the
//! depacketizer, checked for panics and for a few invariants.
//!
//! `CVI_MUTATION_ITERS` sets the number of inputs per part (default 20 000),
//! `CVI_MUTATION_SEED` the seed, as in `mutation.rs`.
#![allow(clippy::unwrap_used)]

use cvi_media::rtp::h264::{self, Depacketizer, PacketizationMode};
use cvi_media::rtp::rtcp::{self, ReportBlock, RtcpPacket};
use cvi_media::rtp::{RtpHeader, RtpWriter};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

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
        .unwrap_or(0x5EED_3550);
    StdRng::seed_from_u64(seed)
}

fn random_block(rng: &mut StdRng) -> ReportBlock {
    ReportBlock {
        ssrc: rng.r#gen(),
        fraction_lost: rng.r#gen(),
        cumulative_lost: rng.gen_range(-0x80_0000..=0x7f_ffff),
        highest_seq: rng.r#gen(),
        jitter: rng.r#gen(),
        lsr: rng.r#gen(),
        dlsr: rng.r#gen(),
    }
}

/// A valid compound (or single) RTCP packet built by the builders.
fn valid_rtcp(rng: &mut StdRng) -> Vec<u8> {
    let blocks: Vec<ReportBlock> = (0..rng.gen_range(0..4))
        .map(|_| random_block(rng))
        .collect();
    let cname: String = (0..rng.gen_range(0..40))
        .map(|_| rng.gen_range(' '..='~'))
        .collect();
    let mut p = if rng.gen_bool(0.5) {
        rtcp::sender_report(
            rng.r#gen(),
            rng.r#gen(),
            rng.r#gen(),
            rng.r#gen(),
            rng.r#gen(),
            &blocks,
            &cname,
        )
    } else {
        rtcp::receiver_report(rng.r#gen(), &blocks, &cname)
    };
    for _ in 0..rng.gen_range(0..3) {
        match rng.gen_range(0..4) {
            0 => p.extend(rtcp::pli(rng.r#gen(), rng.r#gen())),
            1 => p.extend(rtcp::fir(rng.r#gen(), rng.r#gen(), rng.r#gen())),
            2 => {
                let lost: Vec<u16> = (0..rng.gen_range(1..20)).map(|_| rng.r#gen()).collect();
                p.extend(rtcp::nack(rng.r#gen(), rng.r#gen(), &lost));
            }
            _ => p.extend(rtcp::bye(rng.r#gen())),
        }
    }
    p
}

fn mutate(rng: &mut StdRng, input: &[u8]) -> Vec<u8> {
    let mut v = input.to_vec();
    for _ in 0..rng.gen_range(1..=4) {
        let at = rng.gen_range(0..=v.len());
        match rng.gen_range(0..7) {
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
            5 => {
                // Hit a length or count field: the byte at a 4-byte boundary + 3, or + 0.
                let word = at / 4 * 4;
                let off = if rng.gen_bool(0.5) { 3 } else { 0 };
                if let Some(b) = v.get_mut(word + off) {
                    *b = [0, 1, 2, 0x1f, 0xff, b.wrapping_add(1), b.wrapping_sub(1)]
                        [rng.gen_range(0..7)];
                }
            }
            _ => {
                let other = v.clone();
                v.extend_from_slice(&other[..rng.gen_range(0..=other.len())]);
            }
        }
    }
    v
}

#[test]
fn rtcp_parser_survives_random_and_mutated_input() {
    let mut rng = rng();
    let (mut ok, mut valid) = (0usize, 0usize);
    for i in 0..iters() {
        let input = match i % 4 {
            0 => (0..rng.gen_range(0..64)).map(|_| rng.r#gen()).collect(),
            1 => {
                // Random bytes behind a plausible header.
                let mut v: Vec<u8> = (0..rng.gen_range(4..64)).map(|_| rng.r#gen()).collect();
                v[0] = 0x80 | (v[0] & 0x3f);
                v[1] = rng.gen_range(200..=206);
                v
            }
            _ => {
                let good = valid_rtcp(&mut rng);
                let parsed = rtcp::parse(&good).unwrap();
                assert!(matches!(
                    parsed[0],
                    RtcpPacket::SenderReport { .. } | RtcpPacket::ReceiverReport { .. }
                ));
                valid += 1;
                mutate(&mut rng, &good)
            }
        };
        if let Ok(packets) = rtcp::parse(&input) {
            ok += 1;
            assert!(!packets.is_empty());
            // Each RTCP packet takes at least 4 bytes.
            assert!(packets.len() <= input.len() / 4);
        }
    }
    eprintln!("rtcp: {} inputs, {valid} valid seeds, {ok} parsed", iters());
}

/// A random access unit of NAL units without start-code emulation.
fn random_access_unit(rng: &mut StdRng) -> Vec<u8> {
    let mut au = Vec::new();
    for _ in 0..rng.gen_range(1..5) {
        au.extend_from_slice(&[0, 0, 0, 1]);
        au.push(rng.gen_range(1..=23) | (rng.gen_range(0..4) << 5));
        let len = rng.gen_range(0..2500);
        au.extend((0..len).map(|_| rng.gen_range(1..=255u8)));
    }
    au
}

#[test]
fn depacketizer_survives_random_and_mutated_payloads() {
    let mut rng = rng();
    let mut depack = Depacketizer::new();
    let mut writer = RtpWriter::new(0x4242, 96, rng.r#gen());
    let mut packet = Vec::new();
    let (mut units, mut pushed) = (0usize, 0usize);
    while pushed < iters() {
        let au = random_access_unit(&mut rng);
        let mode = if rng.gen_bool(0.7) {
            PacketizationMode::NonInterleaved
        } else {
            PacketizationMode::SingleNal
        };
        let mtu = rng.gen_range(0..1400);
        let mut payloads = Vec::new();
        h264::packetize(&au, mode, mtu, &mut |p, m| payloads.push((p.to_vec(), m)));
        let clean = rng.gen_bool(0.3);
        if clean {
            depack.reset(); // forget what a mutated unit before left
        } else {
            for (p, m) in payloads.iter_mut() {
                match rng.gen_range(0..6) {
                    0 => *p = mutate(&mut rng, p),
                    1 => *m = !*m,
                    2 => p.truncate(rng.gen_range(0..=p.len().min(3))),
                    _ => {}
                }
            }
            if rng.gen_bool(0.2) && !payloads.is_empty() {
                let i = rng.gen_range(0..payloads.len());
                payloads.remove(i);
            }
            if rng.gen_bool(0.1) {
                let junk = (0..rng.gen_range(0..30)).map(|_| rng.r#gen()).collect();
                payloads.push((junk, rng.gen_bool(0.5)));
            }
        }
        let mut got = Vec::new();
        for (p, m) in &payloads {
            // Through a real RTP packet, as a receiver sees it.
            writer.write(*m, 0, p, &mut packet);
            let h = RtpHeader::parse(&packet).unwrap();
            assert_eq!(h.payload(&packet), &p[..]);
            if let Some(unit) = depack.push(h.payload(&packet), h.marker) {
                assert!(unit.starts_with(&[0, 0, 0, 1]));
                assert!(h264::nal_units(&unit).next().is_some());
                got.push(unit);
            }
            pushed += 1;
        }
        if clean {
            assert_eq!(got.len(), 1);
            assert!(h264::nal_units(&got[0]).eq(h264::nal_units(&au)));
        }
        units += got.len();
        if rng.gen_bool(0.05) {
            depack.reset();
        }
    }
    eprintln!(
        "depacketizer: {pushed} payloads, {units} access units, {} dropped",
        depack.dropped()
    );
    assert!(units > 0);
    assert_eq!(writer.packets_sent() as usize, pushed);
}
