//! `cvi_media::srtp` against libsrtp (GStreamer's `srtpenc`/`srtpdec`), for
//! both SDES suites: SRTP and SRTCP packets libsrtp protects are
//! byte-identical to ours and unprotect to the original; packets we protect
//! come out of `srtpdec` (keyed by its `request-key` signal) unchanged, and
//! tampered ones are dropped. RTP packets carry CSRCs, header extensions and padding and
//! cross the 65535 -> 0 sequence wrap (so the ROC must agree); RTCP
//! compounds check the SRTCP trailer and the 80-bit SRTCP tag.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::{Arc, Mutex};

use cvi_media::rtp::rtcp::{self, ReportBlock};
use cvi_media::sdp::{SrtpKey, SrtpSuite};
use cvi_media::srtp::SrtpContext;
use gst::prelude::*;

const SUITES: [SrtpSuite; 2] = [
    SrtpSuite::AesCm128HmacSha1_80,
    SrtpSuite::AesCm128HmacSha1_32,
];
const SSRC: u32 = 0x1234_5678;

fn key() -> SrtpKey {
    let mut k = [0u8; 30];
    for (i, b) in k.iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(37).wrapping_add(11);
    }
    SrtpKey(k)
}

fn auth_nick(suite: SrtpSuite) -> &'static str {
    match suite {
        SrtpSuite::AesCm128HmacSha1_80 => "hmac-sha1-80",
        SrtpSuite::AesCm128HmacSha1_32 => "hmac-sha1-32",
    }
}

/// RTP packets from seq 65526 across the wrap, in several shapes.
fn rtp_packets() -> Vec<Vec<u8>> {
    (0..20u16)
        .map(|i| {
            let seq = 65_526u16.wrapping_add(i);
            let csrcs = [0u8, 2, 0, 1][usize::from(i % 4)];
            let ext = i % 3 == 1;
            let pad = if i % 5 == 2 { 3u8 } else { 0 };
            let mut b0 = 0x80 | csrcs;
            if ext {
                b0 |= 0x10;
            }
            if pad > 0 {
                b0 |= 0x20;
            }
            let mut p = vec![b0, 96 | if i % 7 == 0 { 0x80 } else { 0 }];
            p.extend_from_slice(&seq.to_be_bytes());
            p.extend_from_slice(&(u32::from(i) * 3000).to_be_bytes());
            p.extend_from_slice(&SSRC.to_be_bytes());
            for c in 0..u32::from(csrcs) {
                p.extend_from_slice(&(0xc5c5_0000 + c).to_be_bytes());
            }
            if ext {
                p.extend_from_slice(&[0xbe, 0xde, 0, 1, 0x10, 0xaa, 0, 0]);
            }
            let len = 20 + 97 * usize::from(i);
            p.extend((0..len).map(|j| (j as u8) ^ (i as u8)));
            if pad > 0 {
                p.extend_from_slice(&[0, 0, pad]);
            }
            p
        })
        .collect()
}

fn rtcp_packets() -> Vec<Vec<u8>> {
    (0..6u32)
        .map(|i| {
            let block = ReportBlock {
                ssrc: 0xabcd,
                fraction_lost: 1,
                cumulative_lost: i as i32,
                highest_seq: 1000 + i,
                jitter: 12,
                lsr: 34,
                dlsr: 56,
            };
            let mut p = rtcp::sender_report(
                SSRC,
                0x1111_2222_3333_4444 + u64::from(i),
                i * 3000,
                i,
                i * 100,
                &[block],
                "interop",
            );
            p.extend(rtcp::pli(SSRC, 0xabcd));
            p
        })
        .collect()
}

/// Runs `desc` (with `appsrc name=src` and `appsink name=sink`) after
/// `setup` configured its elements; returns the bytes of every sample.
fn run(desc: &str, setup: impl FnOnce(&gst::Pipeline), input: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let input = input.iter().map(|p| common::buffer(p)).collect();
    common::run_samples_with(desc, setup, input)
        .iter()
        .map(common::bytes)
        .collect()
}

fn srtpenc(suite: SrtpSuite, rtcp: bool, input: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let (caps, pad) = if rtcp {
        ("application/x-rtcp", "rtcp")
    } else {
        ("application/x-rtp", "rtp")
    };
    let desc = format!(
        "appsrc name=src caps={caps} ! enc.{pad}_sink_0 \
         srtpenc name=enc enc.{pad}_src_0 ! appsink name=sink sync=false"
    );
    let setup = |p: &gst::Pipeline| {
        let enc = p.by_name("enc").unwrap();
        enc.set_property("key", gst::Buffer::from_slice(key().0));
        enc.set_property_from_str("rtp-cipher", "aes-128-icm");
        enc.set_property_from_str("rtp-auth", auth_nick(suite));
        enc.set_property_from_str("rtcp-cipher", "aes-128-icm");
        enc.set_property_from_str("rtcp-auth", "hmac-sha1-80");
    };
    run(&desc, setup, input)
}

/// `srtpdec`, keyed through its `request-key` signal; returns the decoded
/// packets and the SSRCs it asked keys for.
fn srtpdec(suite: SrtpSuite, rtcp: bool, input: &[Vec<u8>]) -> (Vec<Vec<u8>>, Vec<u32>) {
    let (caps, pad) = if rtcp {
        ("application/x-srtcp", "rtcp")
    } else {
        ("application/x-srtp", "rtp")
    };
    let desc = format!(
        "appsrc name=src caps={caps} ! dec.{pad}_sink \
         srtpdec name=dec dec.{pad}_src ! appsink name=sink sync=false"
    );
    let asked = Arc::new(Mutex::new(Vec::new()));
    let asked_in = asked.clone();
    let setup = move |p: &gst::Pipeline| {
        let dec = p.by_name("dec").unwrap();
        dec.connect("request-key", false, move |args| {
            let ssrc = args[1].get::<u32>().unwrap();
            asked_in.lock().unwrap().push(ssrc);
            let caps = gst::Caps::builder("application/x-srtp")
                .field("srtp-key", gst::Buffer::from_slice(key().0))
                .field("srtp-cipher", "aes-128-icm")
                .field("srtp-auth", auth_nick(suite))
                .field("srtcp-cipher", "aes-128-icm")
                .field("srtcp-auth", "hmac-sha1-80")
                .build();
            Some(caps.to_value())
        });
    };
    let out = run(&desc, setup, input);
    let asked = asked.lock().unwrap().clone();
    (out, asked)
}

#[test]
fn libsrtp_protects_rtp_like_we_do() {
    let plain = rtp_packets();
    for suite in SUITES {
        let theirs = srtpenc(suite, false, &plain);
        assert_eq!(theirs.len(), plain.len(), "{suite:?}");
        let mut ours_tx = SrtpContext::new(suite, &key());
        let mut rx = SrtpContext::new(suite, &key());
        let (mut ours, mut back) = (Vec::new(), Vec::new());
        for (p, t) in plain.iter().zip(&theirs) {
            ours_tx.protect_rtp(p, &mut ours).unwrap();
            assert_eq!(&ours, t, "{suite:?}: protect differs from libsrtp");
            rx.unprotect_rtp(t, &mut back).unwrap();
            assert_eq!(&back, p, "{suite:?}");
        }
    }
}

#[test]
fn libsrtp_unprotects_our_rtp() {
    let plain = rtp_packets();
    for suite in SUITES {
        let mut tx = SrtpContext::new(suite, &key());
        let protected: Vec<Vec<u8>> = plain
            .iter()
            .map(|p| {
                let mut out = Vec::new();
                tx.protect_rtp(p, &mut out).unwrap();
                out
            })
            .collect();
        let (decoded, asked) = srtpdec(suite, false, &protected);
        assert_eq!(asked, [SSRC], "{suite:?}");
        assert_eq!(decoded, plain, "{suite:?}");
    }
}

#[test]
fn libsrtp_protects_rtcp_like_we_do() {
    let plain = rtcp_packets();
    for suite in SUITES {
        let theirs = srtpenc(suite, true, &plain);
        assert_eq!(theirs.len(), plain.len(), "{suite:?}");
        let mut rx = SrtpContext::new(suite, &key());
        // libsrtp numbers SRTCP from 1, we from 0 (RFC 3711 §3.4): after
        // one packet of ours thrown away, the indices and bytes agree.
        let mut tx = SrtpContext::new(suite, &key());
        let (mut back, mut ours) = (Vec::new(), Vec::new());
        tx.protect_rtcp(&plain[0], &mut ours).unwrap();
        for (p, t) in plain.iter().zip(&theirs) {
            tx.protect_rtcp(p, &mut ours).unwrap();
            assert_eq!(&ours, t, "{suite:?}: protect differs from libsrtp");
            // E flag, 31-bit index, 80-bit tag even for the _32 suite.
            assert_eq!(t.len(), p.len() + 4 + 10, "{suite:?}");
            assert_eq!(t[p.len()] & 0x80, 0x80);
            rx.unprotect_rtcp(t, &mut back).unwrap();
            assert_eq!(&back, p, "{suite:?}");
        }
    }
}

#[test]
fn libsrtp_unprotects_our_rtcp() {
    let plain = rtcp_packets();
    for suite in SUITES {
        let mut tx = SrtpContext::new(suite, &key());
        let protected: Vec<Vec<u8>> = plain
            .iter()
            .map(|p| {
                let mut out = Vec::new();
                tx.protect_rtcp(p, &mut out).unwrap();
                out
            })
            .collect();
        let (decoded, _) = srtpdec(suite, true, &protected);
        assert_eq!(decoded, plain, "{suite:?}");
    }
}

#[test]
fn libsrtp_refuses_our_tampered_rtp() {
    let plain = rtp_packets();
    let mut tx = SrtpContext::new(SrtpSuite::AesCm128HmacSha1_80, &key());
    let protected: Vec<Vec<u8>> = plain
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mut out = Vec::new();
            tx.protect_rtp(p, &mut out).unwrap();
            if i % 2 == 1 {
                let last = out.len() - 1;
                out[last] ^= 1;
            }
            out
        })
        .collect();
    let (decoded, _) = srtpdec(SrtpSuite::AesCm128HmacSha1_80, false, &protected);
    let expected: Vec<Vec<u8>> = plain.into_iter().step_by(2).collect();
    assert_eq!(decoded, expected);
}
