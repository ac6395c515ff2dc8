//! Feed arbitrary telephone-event packets (plain and RFC 2198 RED) with
//! arbitrary sequence numbers, timestamps, markers and arrival times into
//! the RFC 4733 receiver; it must never panic, only report DTMF keys, and
//! never report anything for a packet replayed right after itself.
//!
//! Input: records of
//! `flags(1) seq_delta(2) ts_delta(4) len(1) payload(len)`, where flags
//! bit 0 = marker, bit 1 = RED packet (blocks of PT 101), bit 2 = reset
//! first, bits 3–7 = time advance in 500 ms steps (so the 10 s state
//! expiry is reached).
#![no_main]

use std::time::{Duration, Instant};

use cvi_media::dtmf::{DIGITS, DtmfEvent, Rfc4733Receiver};
use libfuzzer_sys::fuzz_target;

const TE_PT: u8 = 101;

fn check(ev: &DtmfEvent) {
    assert!(DIGITS.contains(&ev.digit), "not a DTMF key: {ev:?}");
    assert!(ev.volume_dbm0 <= 63, "volume out of range: {ev:?}");
}

fuzz_target!(|data: &[u8]| {
    let Some((&clock, mut rest)) = data.split_first() else { return };
    let clock_rate = [8000, 16_000, 48_000, 0][usize::from(clock & 3)];
    let mut rx = Rfc4733Receiver::new(clock_rate);
    let mut now = Instant::now();
    let (mut seq, mut ts) = (0u16, 0u32);
    while let [flags, s0, s1, t0, t1, t2, t3, len, tail @ ..] = rest {
        let len = usize::from(*len).min(tail.len());
        let (payload, next) = tail.split_at(len);
        rest = next;
        seq = seq.wrapping_add(u16::from_be_bytes([*s0, *s1]));
        ts = ts.wrapping_add(u32::from_be_bytes([*t0, *t1, *t2, *t3]));
        now += Duration::from_millis(u64::from(flags >> 3) * 500);
        let marker = flags & 1 != 0;
        if flags & 4 != 0 {
            rx.reset();
        }
        if flags & 2 != 0 {
            let events = rx.handle_red_packet(seq, ts, marker, payload, TE_PT, now);
            assert!(events.len() <= payload.len() / 4 + 1, "{events:?}");
            events.iter().for_each(check);
            let again = rx.handle_red_packet(seq, ts, marker, payload, TE_PT, now);
            assert!(again.is_empty(), "replayed RED packet reported {again:?}");
        } else {
            if let Some(ev) = rx.handle_packet(seq, ts, marker, payload, now) {
                check(&ev);
                if payload.len() < 4 || payload[0] > 15 {
                    panic!("garbage payload {payload:?} reported {ev:?}");
                }
            }
            let again = rx.handle_packet(seq, ts, marker, payload, now);
            assert!(again.is_none(), "replayed packet reported {again:?}");
        }
    }
});
