//! RFC 4733 telephone-event receiver (DTMF as RTP named events).
//!
//! # What is reported, and when
//! Each key press is reported **once, on the first packet of the event that
//! arrives** — the lowest latency, and an IVR does not need the duration.
//! Later packets of the same event (duration updates, the long-press
//! updates, the end packet and its two retransmissions, RFC 4733 §2.5.1.4)
//! report nothing. If the start and every update were lost and the first
//! packet that arrives already has the E bit, that packet reports the press
//! and carries the final duration ([`DtmfEvent::duration_ms`] is `Some`).
//!
//! # How a new event is recognised
//! By its **RTP timestamp**, which RFC 4733 §2.5.1.1 fixes at the start of
//! the event for all its packets — not by the marker bit, which is only on
//! the first packet and is lost with it. Timestamps and sequence numbers are
//! compared in serial-number arithmetic, so both wrap:
//!
//! * same timestamp → same event (update, end, retransmission): ignored;
//! * newer timestamp → a new press, except a **continuation** of the current
//!   event, which is not a press: the next segment of a long event
//!   (§2.5.1.3: same code, previous segment not ended, no marker, new
//!   timestamp = old + 0xFFFF), or a sender that (wrongly) moves the
//!   timestamp inside an event (new timestamp within the duration already
//!   reported). A real second press of the same key always starts after the
//!   first one's whole duration plus a pause, so it is never taken for one;
//! * a packet whose **sequence number** is not newer than every packet of
//!   the current event is a late, reordered packet of an earlier event:
//!   ignored (reporting it would also put digits out of order). So a
//!   timestamp that jumps *backwards* while the sequence numbers go on (a
//!   B2BUA switching sources under one SSRC) still starts a new event, and
//!   the old event's late packets are not taken for new ones. Redundant
//!   blocks, which have no sequence number of their own, are ordered by
//!   timestamp.
//!
//! State older than [`STATE_EXPIRY`] is only used to drop exact duplicates,
//! so a receiver can never be stuck ignoring a sender whose sequence
//! numbers and timestamps both jumped; the expiry also keeps the 16-bit
//! sequence comparison meaningful (audio packets share the sequence
//! space: 10 s is ~500 of the 32 768 a comparison can span). The caller
//! should call [`Rfc4733Receiver::reset`] when the SSRC changes.
//!
//! # Redundancy and packing
//! RFC 2198 redundancy (which RFC 4733 suggests for event reports) is
//! decoded by [`Rfc4733Receiver::handle_red_packet`], given packets of the
//! negotiated `red` payload type: redundant blocks are applied oldest first,
//! so a press whose own packets were all lost is still reported, in order.
//! A plain payload longer than four bytes (several events packed in one
//! packet, §2.5.1.5) is read for its first event only: packing requires
//! events with no pause between them, which DTMF key presses always have,
//! and any later event in such a packet has its own packets (with its own
//! timestamp) that report it.
//!
//! # Malformed input
//! Payloads shorter than four bytes and event codes above 15 (flash, fax
//! and modem tones of RFC 4734) are ignored and do not touch the state.

use std::time::{Duration, Instant};

use super::digit_for_event;

/// The clock rate of `telephone-event/8000`, by far the most common.
pub const DEFAULT_CLOCK_RATE: u32 = 8000;

/// After this long without an accepted packet, the last event is kept only
/// to drop its duplicates: any other timestamp starts a new event.
pub const STATE_EXPIRY: Duration = Duration::from_secs(10);

/// Length of a long event's segment (RFC 4733 §2.5.1.3).
const SEGMENT_LEN: u32 = 0xFFFF;

/// One key press received by RFC 4733.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DtmfEvent {
    /// `0`–`9`, `*`, `#`, `A`–`D`.
    pub digit: char,
    /// The press's duration, known only when the first packet that arrived
    /// was already the end of the event; `None` when reported at its start.
    pub duration_ms: Option<u32>,
    /// The power level in −dBm0 (0–63; 10 means −10 dBm0).
    pub volume_dbm0: u8,
}

/// One 4-byte event report (RFC 4733 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Report {
    code: u8,
    end: bool,
    volume: u8,
    duration: u16,
}

impl Report {
    /// Decodes the first event of `payload`; `None` if it is too short or
    /// not a DTMF event.
    fn parse(payload: &[u8]) -> Option<Report> {
        let [code, flags, d_hi, d_lo, ..] = *payload else {
            return None;
        };
        digit_for_event(code)?;
        Some(Report {
            code,
            end: flags & 0x80 != 0,
            // 0x40 is the reserved R bit.
            volume: flags & 0x3F,
            duration: u16::from_be_bytes([d_hi, d_lo]),
        })
    }
}

/// The event the receiver is tracking (always already reported).
#[derive(Debug, Clone, Copy)]
struct Current {
    /// Timestamp of the current segment.
    ts: u32,
    code: u8,
    ended: bool,
    /// Largest duration seen in this segment (timestamp units).
    max_duration: u16,
    /// Highest sequence number seen for this event (not for redundant
    /// blocks, which have none of their own).
    seq: Option<u16>,
    last_accepted: Instant,
}

/// `a` is after `b` in serial-number arithmetic (RFC 1982 style).
fn ts_after(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) > 0
}

fn seq_after(a: u16, b: u16) -> bool {
    (a.wrapping_sub(b) as i16) > 0
}

/// Sans-IO receiver for one RTP stream's telephone-events.
#[derive(Debug, Clone)]
pub struct Rfc4733Receiver {
    clock_rate: u32,
    current: Option<Current>,
}

impl Default for Rfc4733Receiver {
    fn default() -> Self {
        Rfc4733Receiver::new(DEFAULT_CLOCK_RATE)
    }
}

impl Rfc4733Receiver {
    /// A receiver for `telephone-event/<clock_rate>` (0 is taken as 8000).
    pub fn new(clock_rate: u32) -> Rfc4733Receiver {
        let clock_rate = if clock_rate == 0 {
            DEFAULT_CLOCK_RATE
        } else {
            clock_rate
        };
        Rfc4733Receiver {
            clock_rate,
            current: None,
        }
    }

    /// The clock rate durations are converted with.
    pub fn clock_rate(&self) -> u32 {
        self.clock_rate
    }

    /// Forgets the current event (call on an SSRC change).
    pub fn reset(&mut self) {
        self.current = None;
    }

    /// Handles one RTP packet of the negotiated telephone-event payload
    /// type. Returns the key press this packet is the first news of, if any.
    pub fn handle_packet(
        &mut self,
        rtp_seq: u16,
        rtp_timestamp: u32,
        marker: bool,
        payload: &[u8],
        now: Instant,
    ) -> Option<DtmfEvent> {
        let report = Report::parse(payload)?;
        self.apply(report, rtp_timestamp, Some(rtp_seq), marker, now)
    }

    /// Handles one RTP packet of the negotiated RFC 2198 `red` payload type
    /// whose blocks carry telephone-events of payload type
    /// `telephone_event_pt`. Blocks of other payload types are skipped; a
    /// malformed RED header makes the whole packet ignored. Returns the key
    /// presses first seen in this packet, oldest first.
    pub fn handle_red_packet(
        &mut self,
        rtp_seq: u16,
        rtp_timestamp: u32,
        marker: bool,
        payload: &[u8],
        telephone_event_pt: u8,
        now: Instant,
    ) -> Vec<DtmfEvent> {
        let mut events = Vec::new();
        let Some(blocks) = RedBlocks::parse(payload) else {
            return events;
        };
        for block in blocks.redundant {
            if block.pt != telephone_event_pt {
                continue;
            }
            let Some(report) = Report::parse(block.data) else {
                continue;
            };
            let ts = rtp_timestamp.wrapping_sub(block.ts_offset);
            events.extend(self.apply(report, ts, None, false, now));
        }
        if blocks.primary.pt == telephone_event_pt
            && let Some(report) = Report::parse(blocks.primary.data)
        {
            events.extend(self.apply(report, rtp_timestamp, Some(rtp_seq), marker, now));
        }
        events
    }

    fn apply(
        &mut self,
        report: Report,
        ts: u32,
        seq: Option<u16>,
        marker: bool,
        now: Instant,
    ) -> Option<DtmfEvent> {
        let Some(cur) = self.current.as_mut() else {
            return self.start(report, ts, seq, now);
        };
        if ts == cur.ts {
            // Update, end, or retransmission of what we already reported.
            if report.code == cur.code {
                cur.ended |= report.end;
                cur.max_duration = cur.max_duration.max(report.duration);
                if let Some(s) = seq
                    && cur.seq.is_none_or(|c| seq_after(s, c))
                {
                    cur.seq = Some(s);
                }
                cur.last_accepted = now;
            }
            return None;
        }
        let stale = now.saturating_duration_since(cur.last_accepted) > STATE_EXPIRY;
        if stale {
            return self.start(report, ts, seq, now);
        }
        // Sequence numbers order packets; without one (a redundant block)
        // the timestamp does.
        let later = match (seq, cur.seq) {
            (Some(s), Some(c)) => seq_after(s, c),
            _ => ts_after(ts, cur.ts),
        };
        if !later {
            // A late, reordered packet of an earlier event.
            return None;
        }
        let gap = ts.wrapping_sub(cur.ts);
        let continuation = ts_after(ts, cur.ts)
            && report.code == cur.code
            && !cur.ended
            && !marker
            && (gap == SEGMENT_LEN || gap <= u32::from(cur.max_duration));
        if continuation {
            *cur = Current {
                ts,
                code: cur.code,
                ended: report.end,
                max_duration: report.duration,
                seq: seq.or(cur.seq),
                last_accepted: now,
            };
            return None;
        }
        // A redundant block has no sequence number of its own (its packet's
        // comes with the primary block): keep the last one meanwhile.
        let seq = seq.or(cur.seq);
        self.start(report, ts, seq, now)
    }

    fn start(
        &mut self,
        report: Report,
        ts: u32,
        seq: Option<u16>,
        now: Instant,
    ) -> Option<DtmfEvent> {
        self.current = Some(Current {
            ts,
            code: report.code,
            ended: report.end,
            max_duration: report.duration,
            seq,
            last_accepted: now,
        });
        let digit = digit_for_event(report.code)?;
        let duration_ms = report.end.then(|| {
            let ms = u64::from(report.duration) * 1000 / u64::from(self.clock_rate);
            u32::try_from(ms).unwrap_or(u32::MAX)
        });
        Some(DtmfEvent {
            digit,
            duration_ms,
            volume_dbm0: report.volume,
        })
    }
}

/// One RFC 2198 block: its payload type, timestamp offset and data.
#[derive(Debug, Clone, Copy)]
struct RedBlock<'a> {
    pt: u8,
    ts_offset: u32,
    data: &'a [u8],
}

/// A parsed RFC 2198 payload.
#[derive(Debug)]
struct RedBlocks<'a> {
    /// Redundant blocks in header order (oldest first by convention).
    redundant: Vec<RedBlock<'a>>,
    primary: RedBlock<'a>,
}

impl<'a> RedBlocks<'a> {
    /// Parses the RFC 2198 §3 headers and splits the data; `None` if the
    /// headers run past the payload or the block lengths do not fit.
    fn parse(payload: &'a [u8]) -> Option<RedBlocks<'a>> {
        // (pt, ts_offset, len) of the redundant blocks.
        let mut headers = Vec::new();
        let mut pos = 0;
        let primary_pt = loop {
            let first = *payload.get(pos)?;
            if first & 0x80 == 0 {
                pos += 1;
                break first & 0x7F;
            }
            let [_, b1, b2, b3] = *payload.get(pos..pos + 4)? else {
                return None;
            };
            let ts_offset = (u32::from(b1) << 6) | u32::from(b2 >> 2);
            let len = (usize::from(b2 & 0x03) << 8) | usize::from(b3);
            headers.push((first & 0x7F, ts_offset, len));
            pos += 4;
        };
        let mut redundant = Vec::with_capacity(headers.len());
        for (pt, ts_offset, len) in headers {
            let data = payload.get(pos..pos.checked_add(len)?)?;
            pos += len;
            redundant.push(RedBlock {
                pt,
                ts_offset,
                data,
            });
        }
        let primary = RedBlock {
            pt: primary_pt,
            ts_offset: 0,
            data: payload.get(pos..)?,
        };
        Some(RedBlocks { redundant, primary })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn red_header_parse() {
        // One redundant block (PT 101, offset 160, 4 bytes) + primary PT 101.
        let offset: u32 = 160;
        let hdr = [
            0x80 | 101,
            (offset >> 6) as u8,
            (((offset & 0x3F) as u8) << 2),
            4,
            101,
        ];
        let mut p = hdr.to_vec();
        p.extend_from_slice(&[1, 0x8A, 0, 160]);
        p.extend_from_slice(&[2, 0x0A, 0, 0]);
        let b = RedBlocks::parse(&p).expect("valid RED");
        assert_eq!(b.redundant.len(), 1);
        assert_eq!(b.redundant[0].ts_offset, 160);
        assert_eq!(b.redundant[0].data, &[1, 0x8A, 0, 160]);
        assert_eq!(b.primary.pt, 101);
        assert_eq!(b.primary.data, &[2, 0x0A, 0, 0]);
        assert!(
            RedBlocks::parse(&p[..7]).is_none(),
            "block runs past the end"
        );
        assert!(RedBlocks::parse(&[0x80 | 101, 0]).is_none());
        assert!(RedBlocks::parse(&[]).is_none());
    }

    #[test]
    fn serial_comparisons_wrap() {
        assert!(ts_after(5, u32::MAX - 5));
        assert!(!ts_after(u32::MAX - 5, 5));
        assert!(seq_after(2, 65530));
        assert!(!seq_after(65530, 2));
    }
}
