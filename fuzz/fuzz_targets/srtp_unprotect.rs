//! SRTP/SRTCP unprotect on arbitrary bytes: never panic, and never accept a
//! packet (forging a tag of the fixed key is out of reach of a fuzzer).
//!
//! The first byte picks the suite (bit 0) and whether the rest goes to
//! `unprotect_rtp` or `unprotect_rtcp` (bit 1); bit 2 first feeds one
//! genuine packet so that the SSRC has state (ROC, replay window); that
//! same packet again is a replay, so every input must be refused.
#![no_main]

use cvi_media::sdp::{SrtpKey, SrtpSuite};
use cvi_media::srtp::SrtpContext;
use libfuzzer_sys::fuzz_target;

const KEY: [u8; 30] = [
    0xe1, 0xf9, 0x7a, 0x0d, 0x3e, 0x01, 0x8b, 0xe0, 0xd6, 0x4f, 0xa3, 0x2c, 0x06, 0xde, 0x41, 0x39,
    0x0e, 0xc6, 0x75, 0xad, 0x49, 0x8a, 0xfe, 0xeb, 0xb6, 0x96, 0x0b, 0x3a, 0xab, 0xe6,
];

fuzz_target!(|data: &[u8]| {
    let Some((&mode, packet)) = data.split_first() else {
        return;
    };
    let suite = if mode & 1 == 0 {
        SrtpSuite::AesCm128HmacSha1_80
    } else {
        SrtpSuite::AesCm128HmacSha1_32
    };
    let key = SrtpKey(KEY);
    let mut rx = SrtpContext::new(suite, &key);
    let mut out = Vec::new();
    if mode & 4 != 0 {
        // A genuine packet for the SSRC the input names (if it has one).
        let mut tx = SrtpContext::new(suite, &key);
        let mut plain = packet.get(..12).map(<[u8]>::to_vec).unwrap_or_default();
        if let Some(b0) = plain.first_mut() {
            *b0 = 0x80;
        }
        if let Some(b1) = plain.get_mut(1) {
            *b1 = if mode & 2 == 0 { 96 } else { 201 };
        }
        let mut prot = Vec::new();
        if mode & 2 == 0 {
            if tx.protect_rtp(&plain, &mut prot).is_ok() {
                assert!(rx.unprotect_rtp(&prot, &mut out).is_ok());
            }
        } else if tx.protect_rtcp(&plain, &mut prot).is_ok() {
            assert!(rx.unprotect_rtcp(&prot, &mut out).is_ok());
        }
    }
    let r = if mode & 2 == 0 {
        rx.unprotect_rtp(packet, &mut out)
    } else {
        rx.unprotect_rtcp(packet, &mut out)
    };
    assert!(r.is_err(), "unauthenticated packet accepted");
    assert!(out.is_empty());
});
