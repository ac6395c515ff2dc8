//! RFC 4733 receiver on simulated packet streams: one report per press,
//! whatever the loss, reordering, wrap-around and garbage.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use cvi_media::dtmf::{DtmfEvent, Rfc4733Receiver, event_for_digit};

/// One RTP packet of the telephone-event payload type.
#[derive(Debug, Clone)]
struct Pkt {
    seq: u16,
    ts: u32,
    marker: bool,
    payload: Vec<u8>,
    /// Milliseconds since the start of the test.
    at_ms: u64,
}

fn report(code: u8, end: bool, volume: u8, duration: u16) -> Vec<u8> {
    let d = duration.to_be_bytes();
    vec![
        code,
        if end { 0x80 } else { 0 } | (volume & 0x3F),
        d[0],
        d[1],
    ]
}

/// A sender as RFC 4733 §2.5 describes it: a first packet with the marker,
/// an update every 20 ms (160 samples), and the end packet three times.
struct Sender {
    seq: u16,
    /// Time of the next packet, ms.
    now_ms: u64,
}

impl Sender {
    fn new(seq: u16) -> Sender {
        Sender { seq, now_ms: 0 }
    }

    fn next_seq(&mut self) -> u16 {
        let s = self.seq;
        self.seq = self.seq.wrapping_add(1);
        s
    }

    /// Packets for one press of `digit` lasting `ms`, starting at RTP
    /// timestamp `ts`; then `gap_ms` of silence (audio packets use seq
    /// numbers too: one per 20 ms).
    fn press(&mut self, digit: char, ts: u32, ms: u32, gap_ms: u32) -> Vec<Pkt> {
        let code = event_for_digit(digit).unwrap();
        let total = u16::try_from(ms * 8).unwrap();
        let mut out = Vec::new();
        let mut dur: u16 = 0;
        let mut first = true;
        while dur < total {
            dur = (dur + 160).min(total);
            let seq = self.next_seq();
            out.push(Pkt {
                seq,
                ts,
                marker: first,
                payload: report(code, false, 10, dur),
                at_ms: self.now_ms,
            });
            first = false;
            self.now_ms += 20;
        }
        for _ in 0..3 {
            let seq = self.next_seq();
            out.push(Pkt {
                seq,
                ts,
                marker: false,
                payload: report(code, true, 10, total),
                at_ms: self.now_ms,
            });
            self.now_ms += 5;
        }
        for _ in 0..gap_ms / 20 {
            self.next_seq();
        }
        self.now_ms += u64::from(gap_ms);
        out
    }
}

fn feed(rx: &mut Rfc4733Receiver, base: Instant, pkts: &[Pkt]) -> Vec<DtmfEvent> {
    pkts.iter()
        .filter_map(|p| {
            rx.handle_packet(
                p.seq,
                p.ts,
                p.marker,
                &p.payload,
                base + Duration::from_millis(p.at_ms),
            )
        })
        .collect()
}

fn digits(events: &[DtmfEvent]) -> String {
    events.iter().map(|e| e.digit).collect()
}

#[test]
fn one_press_is_one_event() {
    let mut tx = Sender::new(1000);
    let pkts = tx.press('5', 48_000, 200, 100);
    assert!(pkts.len() > 10, "start, updates, three ends");
    let mut rx = Rfc4733Receiver::default();
    let ev = feed(&mut rx, Instant::now(), &pkts);
    assert_eq!(
        ev,
        vec![DtmfEvent {
            digit: '5',
            duration_ms: None,
            volume_dbm0: 10
        }]
    );
    // Reported on the very first packet.
    let mut rx = Rfc4733Receiver::default();
    assert!(
        rx.handle_packet(
            pkts[0].seq,
            pkts[0].ts,
            true,
            &pkts[0].payload,
            Instant::now()
        )
        .is_some()
    );
}

#[test]
fn every_key() {
    let mut tx = Sender::new(7);
    let mut pkts = Vec::new();
    let keys = "0123456789*#ABCD";
    for (i, d) in keys.chars().enumerate() {
        pkts.extend(tx.press(d, 1000 + 2000 * i as u32, 100, 100));
    }
    let ev = feed(&mut Rfc4733Receiver::default(), Instant::now(), &pkts);
    assert_eq!(digits(&ev), keys);
}

#[test]
fn same_key_twice_is_two_events() {
    let mut tx = Sender::new(1);
    let mut pkts = tx.press('7', 8000, 120, 80);
    pkts.extend(tx.press('7', 8000 + 1600, 120, 80));
    let ev = feed(&mut Rfc4733Receiver::default(), Instant::now(), &pkts);
    assert_eq!(digits(&ev), "77");
}

#[test]
fn same_key_twice_with_every_end_packet_lost() {
    // The E packets of the first press are lost, so the second press of
    // the same key follows an event that never ended — and its first
    // packet (the marker) is lost too.
    let mut tx = Sender::new(1);
    let mut first = tx.press('7', 8000, 120, 80);
    first.retain(|p| p.payload[1] & 0x80 == 0);
    let mut second = tx.press('7', 8000 + 1600, 120, 80);
    second.remove(0);
    let pkts: Vec<Pkt> = first.into_iter().chain(second).collect();
    let ev = feed(&mut Rfc4733Receiver::default(), Instant::now(), &pkts);
    assert_eq!(digits(&ev), "77");
}

#[test]
fn lost_first_packet_still_reported_once() {
    let mut tx = Sender::new(500);
    let mut pkts = tx.press('9', 160, 200, 0);
    pkts.drain(..3);
    let ev = feed(&mut Rfc4733Receiver::default(), Instant::now(), &pkts);
    assert_eq!(digits(&ev), "9");
    assert_eq!(ev[0].duration_ms, None);
}

#[test]
fn only_end_packets_arrive() {
    let mut tx = Sender::new(500);
    let pkts: Vec<Pkt> = tx
        .press('#', 160, 250, 0)
        .into_iter()
        .filter(|p| p.payload[1] & 0x80 != 0)
        .collect();
    assert_eq!(pkts.len(), 3);
    let ev = feed(&mut Rfc4733Receiver::default(), Instant::now(), &pkts);
    assert_eq!(
        ev,
        vec![DtmfEvent {
            digit: '#',
            duration_ms: Some(250),
            volume_dbm0: 10
        }]
    );
}

#[test]
fn duration_uses_the_clock_rate() {
    let mut rx = Rfc4733Receiver::new(48_000);
    let ev = rx.handle_packet(1, 0, true, &report(1, true, 7, 4800), Instant::now());
    assert_eq!(
        ev,
        Some(DtmfEvent {
            digit: '1',
            duration_ms: Some(100),
            volume_dbm0: 7
        })
    );
    assert_eq!(Rfc4733Receiver::new(0).clock_rate(), 8000);
}

#[test]
fn reordering_is_ignored_and_keeps_order() {
    let mut tx = Sender::new(100);
    let a = tx.press('1', 1000, 100, 60);
    let b = tx.press('2', 3000, 100, 60);
    // The end packets of '1' and one of its updates arrive after '2' began.
    let mut pkts: Vec<Pkt> = a[..2].to_vec();
    pkts.push(b[0].clone());
    pkts.extend(a[2..].iter().cloned());
    pkts.extend(b[1..].iter().cloned());
    let ev = feed(&mut Rfc4733Receiver::default(), Instant::now(), &pkts);
    assert_eq!(digits(&ev), "12");

    // A whole press delayed behind the next one is dropped, not reported
    // out of order.
    let mut tx = Sender::new(100);
    let a = tx.press('3', 1000, 100, 60);
    let b = tx.press('4', 3000, 100, 60);
    let pkts: Vec<Pkt> = b.into_iter().chain(a).collect();
    let ev = feed(&mut Rfc4733Receiver::default(), Instant::now(), &pkts);
    assert_eq!(digits(&ev), "4");
}

#[test]
fn sequence_number_wrap() {
    let mut tx = Sender::new(65_530);
    let mut pkts = tx.press('1', 1000, 200, 60); // wraps inside the event
    pkts.extend(tx.press('1', 4000, 100, 60));
    pkts.extend(tx.press('2', 6000, 100, 60));
    assert!(pkts.iter().any(|p| p.seq == 65_535) && pkts.iter().any(|p| p.seq == 0));
    let ev = feed(&mut Rfc4733Receiver::default(), Instant::now(), &pkts);
    assert_eq!(digits(&ev), "112");
}

#[test]
fn timestamp_wrap() {
    let mut tx = Sender::new(10);
    let start = u32::MAX - 1000;
    let mut pkts = tx.press('4', start, 100, 60);
    pkts.extend(tx.press('5', start.wrapping_add(2000), 100, 60)); // after the wrap
    pkts.extend(tx.press('5', start.wrapping_add(4000), 100, 60));
    // A late end packet of '4' (timestamp before the wrap) changes nothing.
    let late = pkts[6].clone();
    pkts.push(Pkt {
        at_ms: 2000,
        ..late
    });
    let ev = feed(&mut Rfc4733Receiver::default(), Instant::now(), &pkts);
    assert_eq!(digits(&ev), "455");
}

#[test]
fn garbage_is_ignored_without_panic_or_state_change() {
    let now = Instant::now();
    let mut rx = Rfc4733Receiver::default();
    for payload in [
        &[][..],
        &[1],
        &[1, 2],
        &[1, 2, 3],
        &[16, 0, 0, 160],
        &[17, 0x80, 1, 0],
        &[255; 4],
    ] {
        assert_eq!(
            rx.handle_packet(1, 1, true, payload, now),
            None,
            "{payload:?}"
        );
    }
    // Nothing was taken as the current event: a real press is reported …
    assert!(
        rx.handle_packet(2, 1, true, &report(3, false, 10, 160), now)
            .is_some()
    );
    // … garbage in the middle of it does not make its end packets new …
    assert_eq!(
        rx.handle_packet(3, 999_999, true, &report(40, true, 10, 160), now),
        None
    );
    assert_eq!(
        rx.handle_packet(4, 1, false, &report(3, true, 10, 800), now),
        None
    );
    // … and a packet with the same timestamp but another key is ignored.
    assert_eq!(
        rx.handle_packet(5, 1, false, &report(4, true, 10, 800), now),
        None
    );
    // Reserved R bit and trailing bytes are tolerated.
    let mut p = report(8, false, 10, 160);
    p[1] |= 0x40;
    p.extend_from_slice(&[9, 9, 9]);
    assert_eq!(
        rx.handle_packet(6, 5000, true, &p, now).map(|e| e.digit),
        Some('8')
    );
}

#[test]
fn long_press_segments_are_one_event() {
    // RFC 4733 §2.5.1.3: past 0xFFFF the sender starts a new segment at
    // timestamp + 0xFFFF, without the marker and without the E bit.
    let now = Instant::now();
    let mut rx = Rfc4733Receiver::new(48_000);
    let ts = 100_000u32;
    let mut seq = 1u16;
    let mut events = Vec::new();
    let mut pkt = |rx: &mut Rfc4733Receiver, ts: u32, marker: bool, payload: Vec<u8>| {
        seq = seq.wrapping_add(1);
        events.extend(rx.handle_packet(seq, ts, marker, &payload, now));
    };
    pkt(&mut rx, ts, true, report(0, false, 10, 960));
    for d in (1920..=0xFFFF).step_by(30_000) {
        pkt(&mut rx, ts, false, report(0, false, 10, d as u16));
    }
    pkt(&mut rx, ts, false, report(0, false, 10, 0xFFFF));
    let ts2 = ts.wrapping_add(0xFFFF);
    pkt(&mut rx, ts2, false, report(0, false, 10, 960));
    pkt(&mut rx, ts2, false, report(0, true, 10, 20_000));
    pkt(&mut rx, ts2, false, report(0, true, 10, 20_000));
    assert_eq!(digits(&events), "0");
}

#[test]
fn sender_moving_the_timestamp_inside_an_event_is_one_event() {
    // A non-conformant sender that advances the timestamp with every
    // update (as for audio): each new timestamp lies inside the duration
    // already reported, so it is the same press.
    let now = Instant::now();
    let mut rx = Rfc4733Receiver::default();
    let mut ev = Vec::new();
    for i in 0..8u16 {
        let ts = 5000 + u32::from(i) * 160;
        ev.extend(rx.handle_packet(i, ts, i == 0, &report(6, false, 10, 160 * (i + 1)), now));
    }
    ev.extend(rx.handle_packet(8, 5000 + 8 * 160, false, &report(6, true, 10, 1440), now));
    assert_eq!(digits(&ev), "6");
}

#[test]
fn marker_on_a_retransmitted_start_is_not_a_new_press() {
    let now = Instant::now();
    let mut rx = Rfc4733Receiver::default();
    let p = report(2, false, 10, 0);
    assert!(rx.handle_packet(10, 800, true, &p, now).is_some());
    assert_eq!(rx.handle_packet(11, 800, true, &p, now), None);
    assert_eq!(rx.handle_packet(12, 800, true, &p, now), None);
}

#[test]
fn timestamp_jumping_back_with_newer_sequence_is_a_new_press() {
    let now = Instant::now();
    let mut rx = Rfc4733Receiver::default();
    assert!(
        rx.handle_packet(100, 900_000, true, &report(1, true, 10, 800), now)
            .is_some()
    );
    // The source behind a B2BUA changed: timestamps restart lower, the
    // sequence numbers go on.
    let ev = rx.handle_packet(140, 2_000, true, &report(2, false, 10, 160), now);
    assert_eq!(ev.map(|e| e.digit), Some('2'));
    // Its retransmissions and the old event's packets stay ignored.
    assert_eq!(
        rx.handle_packet(141, 2_000, false, &report(2, true, 10, 800), now),
        None
    );
    assert_eq!(
        rx.handle_packet(101, 900_000, false, &report(1, true, 10, 800), now),
        None
    );
}

#[test]
fn stale_state_accepts_any_new_timestamp_but_drops_duplicates() {
    let t0 = Instant::now();
    let later = t0 + Duration::from_secs(11);
    let mut rx = Rfc4733Receiver::default();
    assert!(
        rx.handle_packet(100, 900_000, true, &report(1, true, 10, 800), t0)
            .is_some()
    );
    // The exact end packet again, much later: still a duplicate.
    assert_eq!(
        rx.handle_packet(100, 900_000, false, &report(1, true, 10, 800), later),
        None
    );

    let mut rx = Rfc4733Receiver::default();
    assert!(
        rx.handle_packet(100, 900_000, true, &report(1, true, 10, 800), t0)
            .is_some()
    );
    // Within the expiry, older sequence and timestamp: a late packet.
    assert_eq!(
        rx.handle_packet(50, 1_000, true, &report(5, false, 10, 160), t0),
        None
    );
    // After it, the sender is taken to have restarted.
    let ev = rx.handle_packet(50, 1_000, true, &report(5, false, 10, 160), later);
    assert_eq!(ev.map(|e| e.digit), Some('5'));
    assert_eq!(
        rx.handle_packet(51, 1_000, false, &report(5, true, 10, 800), later),
        None
    );
    assert_eq!(
        rx.handle_packet(49, 500, true, &report(6, false, 10, 160), later),
        None
    );
    rx.reset();
    assert!(
        rx.handle_packet(49, 500, true, &report(6, false, 10, 160), later)
            .is_some()
    );
}

/// RFC 2198 payload: redundant blocks `(pt, ts_offset, data)` + primary.
fn red(redundant: &[(u8, u32, Vec<u8>)], primary_pt: u8, primary: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for (pt, off, data) in redundant {
        let len = data.len();
        out.push(0x80 | pt);
        out.push((off >> 6) as u8);
        out.push((((off & 0x3F) as u8) << 2) | ((len >> 8) as u8 & 0x03));
        out.push((len & 0xFF) as u8);
    }
    out.push(primary_pt & 0x7F);
    for (_, _, data) in redundant {
        out.extend_from_slice(data);
    }
    out.extend_from_slice(primary);
    out
}

#[test]
fn red_recovers_a_lost_press_in_order() {
    let now = Instant::now();
    let mut rx = Rfc4733Receiver::default();
    // Press '1' at ts 1000 (reported), '2' at ts 3000 entirely lost,
    // '3' at ts 5000 whose first packet carries '2's end redundantly.
    assert!(
        rx.handle_packet(1, 1000, true, &report(1, false, 10, 160), now)
            .is_some()
    );
    let p = red(
        &[(101, 2000, report(2, true, 10, 800))],
        101,
        &report(3, false, 10, 160),
    );
    let ev = rx.handle_red_packet(20, 5000, true, &p, 101, now);
    assert_eq!(digits(&ev), "23");
    // The next RED packet repeats both: nothing new.
    let p = red(
        &[
            (101, 2000, report(2, true, 10, 800)),
            (101, 0, report(3, false, 10, 160)),
        ],
        101,
        &report(3, false, 10, 320),
    );
    assert!(
        rx.handle_red_packet(21, 5000, false, &p, 101, now)
            .is_empty()
    );
    // Redundant copies of an older event never count as a timestamp jump.
    let p = red(
        &[(101, 4000, report(1, true, 10, 800))],
        101,
        &report(3, true, 10, 800),
    );
    assert!(
        rx.handle_red_packet(22, 5000, false, &p, 101, now)
            .is_empty()
    );
}

#[test]
fn red_skips_other_payload_types_and_rejects_malformed() {
    let now = Instant::now();
    let mut rx = Rfc4733Receiver::default();
    let p = red(
        &[(0, 160, vec![0xFF; 160])],
        101,
        &report(4, false, 10, 160),
    );
    assert_eq!(
        digits(&rx.handle_red_packet(1, 800, true, &p, 101, now)),
        "4"
    );
    // Primary of another payload type (e.g. audio) carries no event.
    let p = red(&[], 0, &[0xFF; 160]);
    assert!(
        rx.handle_red_packet(2, 2000, false, &p, 101, now)
            .is_empty()
    );
    // Block length running past the end, truncated header, empty.
    let mut p = red(
        &[(101, 160, report(5, false, 10, 160))],
        101,
        &report(5, false, 10, 320),
    );
    p.truncate(7);
    assert!(rx.handle_red_packet(3, 3000, true, &p, 101, now).is_empty());
    assert!(
        rx.handle_red_packet(3, 3000, true, &[0x80 | 101, 1], 101, now)
            .is_empty()
    );
    assert!(
        rx.handle_red_packet(3, 3000, true, &[], 101, now)
            .is_empty()
    );
    // The malformed packets did not disturb the state.
    let p = red(&[], 101, &report(5, false, 10, 160));
    assert_eq!(
        digits(&rx.handle_red_packet(4, 3000, true, &p, 101, now)),
        "5"
    );
}
