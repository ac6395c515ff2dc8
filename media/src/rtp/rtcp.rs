//! RTCP (RFC 3550 §6) with the AVPF feedback messages the gateway uses
//! (RFC 4585 generic NACK and PLI, RFC 5104 FIR): builders, a compound-packet
//! parser that never trusts a length, and the receiver statistics of RFC 3550
//! appendix A.1, A.3 and A.8 for report blocks.
//!
//! Everything is sans-IO: times are passed in ([`ntp_now`] takes the wall clock
//! time, [`ReceiverStats`] takes arrival times on any monotonic origin).
//!
//! ```
//! use cvi_media::rtp::rtcp::{self, RtcpPacket};
//! let mut compound = rtcp::receiver_report(0x1111, &[], "gw@cvi");
//! compound.extend(rtcp::pli(0x1111, 0x2222));
//! let packets = rtcp::parse(&compound)?;
//! assert_eq!(packets, [
//!     RtcpPacket::ReceiverReport { ssrc: 0x1111, blocks: vec![] },
//!     RtcpPacket::Sdes,
//!     RtcpPacket::Pli { sender_ssrc: 0x1111, media_ssrc: 0x2222 },
//! ]);
//! # Ok::<(), rtcp::RtcpError>(())
//! ```

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Sender report (RFC 3550 §6.4.1).
pub const PT_SR: u8 = 200;
/// Receiver report (RFC 3550 §6.4.2).
pub const PT_RR: u8 = 201;
/// Source description (RFC 3550 §6.5).
pub const PT_SDES: u8 = 202;
/// Goodbye (RFC 3550 §6.6).
pub const PT_BYE: u8 = 203;
/// Application-defined (RFC 3550 §6.7).
pub const PT_APP: u8 = 204;
/// Transport-layer feedback (RFC 4585 §6.2).
pub const PT_RTPFB: u8 = 205;
/// Payload-specific feedback (RFC 4585 §6.3).
pub const PT_PSFB: u8 = 206;

/// RTPFB FMT of a generic NACK (RFC 4585 §6.2.1).
const FMT_NACK: u8 = 1;
/// PSFB FMT of a picture loss indication (RFC 4585 §6.3.1).
const FMT_PLI: u8 = 1;
/// PSFB FMT of a full intra request (RFC 5104 §4.3.1).
const FMT_FIR: u8 = 4;
/// SDES item type of the canonical name.
const SDES_CNAME: u8 = 1;
/// Seconds from the NTP epoch (1900) to the Unix epoch (1970).
const NTP_UNIX_OFFSET: u64 = 2_208_988_800;
/// Largest count a report/source count field holds (5 bits).
const MAX_COUNT: usize = 31;
/// Bounds of the 24-bit signed cumulative loss field.
const LOST_MAX: i32 = 0x7f_ffff;
const LOST_MIN: i32 = -0x80_0000;

/// A reception report block (RFC 3550 §6.4.1), 24 bytes on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct ReportBlock {
    /// The source this block reports on.
    pub ssrc: u32,
    /// Fraction of packets lost since the previous report, in 1/256.
    pub fraction_lost: u8,
    /// Cumulative packets lost; 24-bit signed on the wire (written clamped to
    /// −8 388 608 ..= 8 388 607), negative when duplicates outnumber losses.
    pub cumulative_lost: i32,
    /// Extended highest sequence number received (cycles in the high 16 bits).
    pub highest_seq: u32,
    /// Interarrival jitter in RTP timestamp units.
    pub jitter: u32,
    /// Middle 32 bits of the NTP timestamp of the last sender report received, 0 if none.
    pub lsr: u32,
    /// Delay since that sender report in 1/65536 s, 0 if none.
    pub dlsr: u32,
}

/// One packet of a compound RTCP packet, as [`parse`] returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RtcpPacket {
    /// A sender report (PT 200); `ntp` is the 64-bit NTP timestamp.
    SenderReport {
        ssrc: u32,
        ntp: u64,
        rtp_ts: u32,
        packets: u32,
        octets: u32,
        blocks: Vec<ReportBlock>,
    },
    /// A receiver report (PT 201).
    ReceiverReport { ssrc: u32, blocks: Vec<ReportBlock> },
    /// A source description (PT 202); its items are not decoded.
    Sdes,
    /// A goodbye (PT 203); the reason text is not decoded.
    Bye { ssrcs: Vec<u32> },
    /// A picture loss indication (PSFB FMT 1).
    Pli { sender_ssrc: u32, media_ssrc: u32 },
    /// A full intra request (PSFB FMT 4): (media SSRC, command sequence number) per FCI entry.
    Fir {
        sender_ssrc: u32,
        requests: Vec<(u32, u8)>,
    },
    /// A generic NACK (RTPFB FMT 1): the lost sequence numbers, in FCI order.
    Nack {
        sender_ssrc: u32,
        media_ssrc: u32,
        lost: Vec<u16>,
    },
    /// Any other RTCP packet (APP, XR, REMB and other feedback, …): its packet type and
    /// the 5-bit count/FMT field of its header.
    Other { packet_type: u8, fmt: u8 },
}

/// Why [`parse`] refused a compound packet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RtcpError {
    /// A packet header is not version 2.
    #[error("RTCP version {0}, expected 2")]
    Version(u8),
    /// The buffer ends before the packet does (or is empty).
    #[error("truncated RTCP packet: needs {needed} bytes, {available} left")]
    Truncated { needed: usize, available: usize },
    /// A packet's length field or padding does not fit its contents (a report count
    /// larger than the packet, a feedback message without its FCI, ...).
    #[error("RTCP packet type {packet_type}: length does not match its contents")]
    Length { packet_type: u8 },
    /// The packet type is outside the RTCP range 192–223 (RFC 5761 §4).
    #[error("packet type {0} is not RTCP")]
    PacketType(u8),
}

/// The 64-bit NTP timestamp (RFC 5905: seconds since 1900 in the high 32 bits, fraction
/// in the low 32) of a wall-clock time. Times before 1970 give the NTP time of 1970;
/// seconds wrap in 2036 as NTP era 1 does.
pub fn ntp_now(unix: SystemTime) -> u64 {
    let d = unix.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs().wrapping_add(NTP_UNIX_OFFSET);
    let frac = (u64::from(d.subsec_nanos()) << 32) / 1_000_000_000;
    (secs << 32) | frac
}

// ---------------------------------------------------------------------------
// Builders

/// Starts a packet: header with `count` and `pt`, length filled in by [`finish`].
fn begin(out: &mut Vec<u8>, count: u8, pt: u8) -> usize {
    let start = out.len();
    out.extend_from_slice(&[0x80 | (count & 0x1f), pt, 0, 0]);
    start
}

/// Writes the length field of the packet begun at `start` (its size is a multiple of 4).
fn finish(out: &mut [u8], start: usize) {
    let words = (out.len().saturating_sub(start) / 4).saturating_sub(1);
    let words = u16::try_from(words).unwrap_or(u16::MAX).to_be_bytes();
    if let Some(len) = out.get_mut(start + 2..start + 4) {
        len.copy_from_slice(&words);
    }
}

fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_be_bytes());
}

fn put_block(out: &mut Vec<u8>, b: &ReportBlock) {
    put_u32(out, b.ssrc);
    let lost = b.cumulative_lost.clamp(LOST_MIN, LOST_MAX).to_be_bytes();
    out.push(b.fraction_lost);
    out.extend_from_slice(lost.get(1..).unwrap_or_default());
    put_u32(out, b.highest_seq);
    put_u32(out, b.jitter);
    put_u32(out, b.lsr);
    put_u32(out, b.dlsr);
}

/// An SDES packet with one chunk: `ssrc` and its CNAME (cut to 255 bytes at a
/// character boundary).
fn put_sdes(out: &mut Vec<u8>, ssrc: u32, cname: &str) {
    let mut end = cname.len().min(255);
    while !cname.is_char_boundary(end) {
        end -= 1;
    }
    let text = cname.get(..end).unwrap_or_default().as_bytes();
    let start = begin(out, 1, PT_SDES);
    put_u32(out, ssrc);
    out.push(SDES_CNAME);
    out.push(u8::try_from(text.len()).unwrap_or(u8::MAX));
    out.extend_from_slice(text);
    // The END item, then nulls up to the next 32-bit boundary (RFC 3550 §6.5).
    let nulls = 4 - (2 + text.len()) % 4;
    out.extend(std::iter::repeat_n(0, nulls));
    finish(out, start);
}

/// A compound packet: a sender report (at most the first 31 of `blocks`) followed by
/// an SDES with `cname`.
pub fn sender_report(
    ssrc: u32,
    ntp: u64,
    rtp_ts: u32,
    packets: u32,
    octets: u32,
    blocks: &[ReportBlock],
    cname: &str,
) -> Vec<u8> {
    let blocks = blocks
        .get(..blocks.len().min(MAX_COUNT))
        .unwrap_or_default();
    let mut out = Vec::with_capacity(28 + 24 * blocks.len() + 12 + cname.len());
    let start = begin(&mut out, blocks.len() as u8, PT_SR);
    put_u32(&mut out, ssrc);
    out.extend_from_slice(&ntp.to_be_bytes());
    put_u32(&mut out, rtp_ts);
    put_u32(&mut out, packets);
    put_u32(&mut out, octets);
    blocks.iter().for_each(|b| put_block(&mut out, b));
    finish(&mut out, start);
    put_sdes(&mut out, ssrc, cname);
    out
}

/// A compound packet: a receiver report (at most the first 31 of `blocks`) followed by
/// an SDES with `cname`.
pub fn receiver_report(ssrc: u32, blocks: &[ReportBlock], cname: &str) -> Vec<u8> {
    let blocks = blocks
        .get(..blocks.len().min(MAX_COUNT))
        .unwrap_or_default();
    let mut out = Vec::with_capacity(8 + 24 * blocks.len() + 12 + cname.len());
    let start = begin(&mut out, blocks.len() as u8, PT_RR);
    put_u32(&mut out, ssrc);
    blocks.iter().for_each(|b| put_block(&mut out, b));
    finish(&mut out, start);
    put_sdes(&mut out, ssrc, cname);
    out
}

/// A picture loss indication (RFC 4585 §6.3.1): PSFB, FMT 1, no FCI. Append it to a
/// report for a full compound packet, or send it alone (reduced-size RTCP, RFC 5506).
pub fn pli(sender_ssrc: u32, media_ssrc: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(12);
    let start = begin(&mut out, FMT_PLI, PT_PSFB);
    put_u32(&mut out, sender_ssrc);
    put_u32(&mut out, media_ssrc);
    finish(&mut out, start);
    out
}

/// A full intra request (RFC 5104 §4.3.1): PSFB, FMT 4, media source SSRC 0 in the
/// common header, one FCI entry with `media_ssrc` and the command sequence number
/// `seq_nr` (which the caller increments for each new request).
pub fn fir(sender_ssrc: u32, media_ssrc: u32, seq_nr: u8) -> Vec<u8> {
    let mut out = Vec::with_capacity(20);
    let start = begin(&mut out, FMT_FIR, PT_PSFB);
    put_u32(&mut out, sender_ssrc);
    put_u32(&mut out, 0);
    put_u32(&mut out, media_ssrc);
    out.extend_from_slice(&[seq_nr, 0, 0, 0]);
    finish(&mut out, start);
    out
}

/// A generic NACK (RFC 4585 §6.2.1) for the `lost` sequence numbers: each FCI entry
/// holds a PID and a bitmask of the 16 following numbers, filled greedily in the given
/// order. Empty when `lost` is.
pub fn nack(sender_ssrc: u32, media_ssrc: u32, lost: &[u16]) -> Vec<u8> {
    let mut fci: Vec<(u16, u16)> = Vec::new();
    for &seq in lost {
        if let Some((pid, blp)) = fci.last_mut() {
            let d = seq.wrapping_sub(*pid);
            if (1..=16).contains(&d) {
                *blp |= 1 << (d - 1);
                continue;
            }
            if d == 0 {
                continue;
            }
        }
        fci.push((seq, 0));
    }
    if fci.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::with_capacity(12 + 4 * fci.len());
    let start = begin(&mut out, FMT_NACK, PT_RTPFB);
    put_u32(&mut out, sender_ssrc);
    put_u32(&mut out, media_ssrc);
    for (pid, blp) in fci {
        out.extend_from_slice(&pid.to_be_bytes());
        out.extend_from_slice(&blp.to_be_bytes());
    }
    finish(&mut out, start);
    out
}

/// A goodbye (RFC 3550 §6.6) for `ssrc`, without a reason. RFC 3550 wants it after a
/// report in a compound packet: append it to [`receiver_report`] or [`sender_report`].
pub fn bye(ssrc: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(8);
    let start = begin(&mut out, 1, PT_BYE);
    put_u32(&mut out, ssrc);
    finish(&mut out, start);
    out
}

// ---------------------------------------------------------------------------
// Parser

/// Big-endian reads from a slice that never go past its end.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn u8(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }

    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_be_bytes([self.u8()?, self.u8()?]))
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_be_bytes([
            self.u8()?,
            self.u8()?,
            self.u8()?,
            self.u8()?,
        ]))
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from(self.u32()?) << 32 | u64::from(self.u32()?))
    }

    fn block(&mut self) -> Option<ReportBlock> {
        let ssrc = self.u32()?;
        let word = self.u32()?;
        Some(ReportBlock {
            ssrc,
            fraction_lost: (word >> 24) as u8,
            // Sign-extend the 24-bit field.
            cumulative_lost: ((word << 8) as i32) >> 8,
            highest_seq: self.u32()?,
            jitter: self.u32()?,
            lsr: self.u32()?,
            dlsr: self.u32()?,
        })
    }

    fn blocks(&mut self, count: u8) -> Option<Vec<ReportBlock>> {
        (0..count).map(|_| self.block()).collect()
    }

    fn remaining(&self) -> usize {
        self.0.len()
    }
}

/// RTCP packet types (RFC 5761 §4: 192–223, which RTP cannot use with the marker set).
const RTCP_PACKET_TYPES: std::ops::RangeInclusive<u8> = 192..=223;

/// Whether a datagram on a multiplexed RTP/RTCP port is RTCP (RFC 5761 §4: its second byte
/// is an RTCP packet type).
pub fn is_rtcp(datagram: &[u8]) -> bool {
    datagram
        .get(1)
        .is_some_and(|b| RTCP_PACKET_TYPES.contains(b))
}

/// Parses a compound RTCP packet (or a single one: reduced-size RTCP, RFC 5506, is
/// accepted, so the first packet need not be a report).
///
/// Every packet must be version 2, of an RTCP packet type (192–223), and lie within the
/// buffer with a length that holds what its header announces; one bad packet fails the
/// whole compound. Padding (P bit) is honoured. Bytes after the announced contents
/// (profile extensions, SDES items, BYE reasons) are skipped. Never panics.
pub fn parse(buf: &[u8]) -> Result<Vec<RtcpPacket>, RtcpError> {
    if buf.is_empty() {
        return Err(RtcpError::Truncated {
            needed: 4,
            available: 0,
        });
    }
    let mut packets = Vec::new();
    let mut rest = buf;
    while !rest.is_empty() {
        let truncated = |needed| RtcpError::Truncated {
            needed,
            available: rest.len(),
        };
        let mut r = Reader(rest);
        let (Some(b0), Some(packet_type), Some(length)) = (r.u8(), r.u8(), r.u16()) else {
            return Err(truncated(4));
        };
        if b0 >> 6 != 2 {
            return Err(RtcpError::Version(b0 >> 6));
        }
        if !RTCP_PACKET_TYPES.contains(&packet_type) {
            return Err(RtcpError::PacketType(packet_type));
        }
        let size = (usize::from(length) + 1) * 4;
        let (packet, tail) = rest.split_at_checked(size).ok_or_else(|| truncated(size))?;
        let mut body = packet.get(4..).unwrap_or_default();
        if b0 & 0x20 != 0 {
            let pad = usize::from(*body.last().ok_or(RtcpError::Length { packet_type })?);
            let end = body.len().checked_sub(pad);
            body = match end {
                Some(end) if pad > 0 => body.get(..end).unwrap_or_default(),
                _ => return Err(RtcpError::Length { packet_type }),
            };
        }
        let count = b0 & 0x1f;
        let packet =
            parse_one(packet_type, count, body).ok_or(RtcpError::Length { packet_type })?;
        packets.push(packet);
        rest = tail;
    }
    Ok(packets)
}

/// One packet's body (after the 4-byte header, padding removed); None if too short.
fn parse_one(packet_type: u8, count: u8, body: &[u8]) -> Option<RtcpPacket> {
    let mut r = Reader(body);
    Some(match (packet_type, count) {
        (PT_SR, _) => RtcpPacket::SenderReport {
            ssrc: r.u32()?,
            ntp: r.u64()?,
            rtp_ts: r.u32()?,
            packets: r.u32()?,
            octets: r.u32()?,
            blocks: r.blocks(count)?,
        },
        (PT_RR, _) => RtcpPacket::ReceiverReport {
            ssrc: r.u32()?,
            blocks: r.blocks(count)?,
        },
        (PT_SDES, _) => RtcpPacket::Sdes,
        (PT_BYE, _) => RtcpPacket::Bye {
            ssrcs: (0..count).map(|_| r.u32()).collect::<Option<_>>()?,
        },
        (PT_RTPFB | PT_PSFB, fmt) => {
            let sender_ssrc = r.u32()?;
            let media_ssrc = r.u32()?;
            match (packet_type, fmt) {
                (PT_RTPFB, FMT_NACK) => {
                    if r.remaining() == 0 || r.remaining() % 4 != 0 {
                        return None;
                    }
                    let mut lost = Vec::new();
                    while r.remaining() > 0 {
                        let pid = r.u16()?;
                        let blp = r.u16()?;
                        lost.push(pid);
                        lost.extend(
                            (0..16u16)
                                .filter(|i| blp & (1 << i) != 0)
                                .map(|i| pid.wrapping_add(i + 1)),
                        );
                    }
                    RtcpPacket::Nack {
                        sender_ssrc,
                        media_ssrc,
                        lost,
                    }
                }
                (PT_PSFB, FMT_PLI) => RtcpPacket::Pli {
                    sender_ssrc,
                    media_ssrc,
                },
                (PT_PSFB, FMT_FIR) => {
                    if r.remaining() == 0 || r.remaining() % 8 != 0 {
                        return None;
                    }
                    let mut requests = Vec::new();
                    while r.remaining() > 0 {
                        let ssrc = r.u32()?;
                        let seq = r.u8()?;
                        r.u8()?;
                        r.u16()?;
                        requests.push((ssrc, seq));
                    }
                    RtcpPacket::Fir {
                        sender_ssrc,
                        requests,
                    }
                }
                _ => RtcpPacket::Other { packet_type, fmt },
            }
        }
        (_, fmt) => RtcpPacket::Other { packet_type, fmt },
    })
}

// ---------------------------------------------------------------------------
// Receiver statistics

/// A sequence number jump of at least this much is a restart, not loss (RFC 3550 A.1).
const MAX_DROPOUT: u16 = 3000;
/// A packet this far behind the highest is reordered, not a restart (RFC 3550 A.1).
const MAX_MISORDER: u16 = 100;

/// The reception statistics of one remote source, for its report block: loss (RFC 3550
/// appendix A.1, A.3), interarrival jitter (A.8) and the LSR/DLSR of its last sender
/// report. The caller keeps the remote SSRC and passes it to
/// [`report_block`](Self::report_block).
///
/// Sequence numbers may wrap and arrive out of order or duplicated (a duplicate counts
/// as received, so cumulative loss can go negative, as A.3 notes). A jump of 3000 or
/// more ahead (or 100 or more behind) is ignored unless the next packet follows it, in
/// which case the source is taken to have restarted and the statistics start over.
/// There is no probation.
#[derive(Debug, Clone)]
pub struct ReceiverStats {
    clock_rate: u32,
    total: u64,
    seq: Option<SeqState>,
    last_sr: Option<(u32, Duration)>,
}

#[derive(Debug, Clone)]
struct SeqState {
    max_seq: u16,
    /// Sequence number wraps, times 65536.
    cycles: u64,
    base_seq: u64,
    /// The sequence number after a suspected restart.
    bad_seq: Option<u16>,
    received: u64,
    expected_prior: u64,
    received_prior: u64,
    /// Relative transit time of the previous packet, in RTP timestamp units.
    transit: Option<u32>,
    /// Jitter times 16 (A.8).
    jitter_q4: u64,
}

impl SeqState {
    fn new(seq: u16) -> Self {
        SeqState {
            max_seq: seq,
            cycles: 0,
            base_seq: u64::from(seq),
            bad_seq: None,
            received: 0,
            expected_prior: 0,
            received_prior: 0,
            transit: None,
            jitter_q4: 0,
        }
    }

    fn extended_max(&self) -> u64 {
        self.cycles + u64::from(self.max_seq)
    }

    fn expected(&self) -> u64 {
        (self.extended_max() + 1).saturating_sub(self.base_seq)
    }
}

impl ReceiverStats {
    /// Statistics for a stream with RTP clock rate `clock_rate` (Hz; 0 leaves jitter at 0).
    pub fn new(clock_rate: u32) -> Self {
        ReceiverStats {
            clock_rate,
            total: 0,
            seq: None,
            last_sr: None,
        }
    }

    /// Records one RTP packet: its sequence number, RTP timestamp and arrival time
    /// (on any fixed origin, the same for every call).
    pub fn on_packet(&mut self, seq: u16, rtp_ts: u32, arrival: Duration) {
        self.total += 1;
        let state = self.seq.get_or_insert_with(|| SeqState::new(seq));
        let udelta = seq.wrapping_sub(state.max_seq);
        if udelta < MAX_DROPOUT {
            if seq < state.max_seq {
                state.cycles += 1 << 16;
            }
            state.max_seq = seq;
        } else if udelta <= u16::MAX - MAX_MISORDER + 1 {
            // A large jump: a restart if the next packet follows it.
            if state.bad_seq == Some(seq) {
                *state = SeqState::new(seq);
            } else {
                state.bad_seq = Some(seq.wrapping_add(1));
                return;
            }
        }
        // Else a duplicate or reordered packet.
        state.received += 1;

        if self.clock_rate == 0 {
            return;
        }
        let ticks = arrival.as_nanos() * u128::from(self.clock_rate) / 1_000_000_000;
        let transit = (ticks as u32).wrapping_sub(rtp_ts);
        if let Some(prev) = state.transit {
            let d = u64::from((transit.wrapping_sub(prev) as i32).unsigned_abs());
            state.jitter_q4 = (state.jitter_q4 + d).saturating_sub((state.jitter_q4 + 8) >> 4);
        }
        state.transit = Some(transit);
    }

    /// Records a sender report from the source: its NTP timestamp and arrival time (same
    /// origin as [`on_packet`](Self::on_packet)), for the LSR and DLSR fields.
    pub fn on_sender_report(&mut self, ntp: u64, arrival: Duration) {
        self.last_sr = Some(((ntp >> 16) as u32, arrival));
    }

    /// The report block on source `ssrc` at time `now`. The fraction lost covers the
    /// packets since the previous call (which this call starts a new interval for).
    pub fn report_block(&mut self, ssrc: u32, now: Duration) -> ReportBlock {
        let (lsr, dlsr) = match self.last_sr {
            Some((lsr, at)) => {
                let delay = now.saturating_sub(at).as_nanos() * 65536 / 1_000_000_000;
                (lsr, u32::try_from(delay).unwrap_or(u32::MAX))
            }
            None => (0, 0),
        };
        let mut block = ReportBlock {
            ssrc,
            lsr,
            dlsr,
            ..ReportBlock::default()
        };
        let Some(s) = self.seq.as_mut() else {
            return block;
        };
        let expected = s.expected();
        let lost = i128::from(expected) - i128::from(s.received);
        let expected_interval = expected.saturating_sub(s.expected_prior);
        let received_interval = s.received.saturating_sub(s.received_prior);
        s.expected_prior = expected;
        s.received_prior = s.received;
        let lost_interval = i128::from(expected_interval) - i128::from(received_interval);
        block.fraction_lost = if expected_interval == 0 || lost_interval <= 0 {
            0
        } else {
            ((lost_interval << 8) / i128::from(expected_interval)).min(255) as u8
        };
        block.cumulative_lost = lost.clamp(i128::from(LOST_MIN), i128::from(LOST_MAX)) as i32;
        block.highest_seq = s.extended_max() as u32;
        block.jitter = u32::try_from(s.jitter_q4 >> 4).unwrap_or(u32::MAX);
        block
    }

    /// Every packet given to [`on_packet`](Self::on_packet), duplicates and ignored jumps
    /// included.
    pub fn packets_received(&self) -> u64 {
        self.total
    }

    /// The RTP clock rate given to [`new`](Self::new).
    pub fn clock_rate(&self) -> u32 {
        self.clock_rate
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn rtcp_is_told_from_rtp_on_a_muxed_port() {
        assert!(is_rtcp(&receiver_report(1, &[], "x")));
        assert!(is_rtcp(&pli(1, 2)));
        // RTP: PT 0 / PT 96 with the marker bit (0xe0), and short datagrams.
        assert!(!is_rtcp(&[0x80, 0x00, 0, 1]));
        assert!(!is_rtcp(&[0x80, 0xe0, 0, 1]));
        assert!(!is_rtcp(&[0x80]));
        assert!(!is_rtcp(&[]));
    }

    fn block(n: u32) -> ReportBlock {
        ReportBlock {
            ssrc: 0x1000 + n,
            fraction_lost: 25 + n as u8,
            cumulative_lost: if n.is_multiple_of(2) { -3 } else { 70_000 },
            highest_seq: 0x0001_fff0 + n,
            jitter: 120 + n,
            lsr: 0xabcd_0000 + n,
            dlsr: 65536 * n,
        }
    }

    #[test]
    fn sender_report_round_trip() {
        let blocks = [block(0), block(1)];
        let ntp = 0xe8f0_1234_8000_0000;
        let p = sender_report(0x0102_0304, ntp, 160_000, 1000, 172_000, &blocks, "gw@cvi");
        assert_eq!(p.len() % 4, 0);
        assert_eq!(p[..4], [0x82, 200, 0, 6 + 12]);
        assert_eq!(
            parse(&p).unwrap(),
            [
                RtcpPacket::SenderReport {
                    ssrc: 0x0102_0304,
                    ntp,
                    rtp_ts: 160_000,
                    packets: 1000,
                    octets: 172_000,
                    blocks: blocks.to_vec(),
                },
                RtcpPacket::Sdes,
            ]
        );
        // The SDES chunk: SSRC, CNAME item, END and padding to a word.
        assert_eq!(
            p[76..],
            [
                0x81, 202, 0, 4, 1, 2, 3, 4, 1, 6, b'g', b'w', b'@', b'c', b'v', b'i', 0, 0, 0, 0
            ]
        );
    }

    #[test]
    fn receiver_report_round_trip() {
        let p = receiver_report(7, &[], "");
        assert_eq!(
            p,
            [
                0x80, 201, 0, 1, 0, 0, 0, 7, 0x81, 202, 0, 2, 0, 0, 0, 7, 1, 0, 0, 0
            ]
        );
        assert_eq!(
            parse(&p).unwrap(),
            [
                RtcpPacket::ReceiverReport {
                    ssrc: 7,
                    blocks: vec![],
                },
                RtcpPacket::Sdes
            ]
        );
        let blocks: Vec<ReportBlock> = (0..40).map(block).collect();
        let long = "é".repeat(200);
        let p = receiver_report(9, &blocks, &long);
        let parsed = parse(&p).unwrap();
        assert_eq!(
            parsed[0],
            RtcpPacket::ReceiverReport {
                ssrc: 9,
                blocks: blocks[..31].to_vec(),
            }
        );
        let sdes = &p[8 + 31 * 24..];
        assert_eq!(sdes[9], 254, "CNAME cut at a character boundary");
        assert_eq!(sdes.len() % 4, 0);
    }

    #[test]
    fn cumulative_loss_is_24_bit_signed() {
        let mut b = block(0);
        for (v, want) in [
            (-1, -1),
            (LOST_MIN, LOST_MIN),
            (LOST_MAX, LOST_MAX),
            (i32::MAX, LOST_MAX),
            (i32::MIN, LOST_MIN),
        ] {
            b.cumulative_lost = v;
            let p = receiver_report(1, &[b], "x");
            let Ok(packets) = parse(&p) else { panic!() };
            let RtcpPacket::ReceiverReport { blocks, .. } = &packets[0] else {
                panic!()
            };
            assert_eq!(blocks[0].cumulative_lost, want);
        }
        b.cumulative_lost = -2;
        let p = receiver_report(1, &[b], "x");
        assert_eq!(p[12..16], [0x19, 0xff, 0xff, 0xfe]);
    }

    #[test]
    fn pli_layout() {
        // RFC 4585 §6.1 common feedback header, FMT 1, PT 206, length 2, no FCI.
        let want = [
            0x81, 0xce, 0x00, 0x02, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
        ];
        assert_eq!(pli(0x1122_3344, 0x5566_7788), want);
        assert_eq!(
            parse(&want).unwrap(),
            [RtcpPacket::Pli {
                sender_ssrc: 0x1122_3344,
                media_ssrc: 0x5566_7788
            }]
        );
    }

    #[test]
    fn fir_layout() {
        // RFC 5104 §4.3.1.1: FMT 4, PT 206, length 4, media source 0, FCI SSRC + seq + 3 reserved.
        let want = [
            0x84, 0xce, 0x00, 0x04, 0x11, 0x22, 0x33, 0x44, 0, 0, 0, 0, 0x55, 0x66, 0x77, 0x88,
            0x09, 0, 0, 0,
        ];
        assert_eq!(fir(0x1122_3344, 0x5566_7788, 9), want);
        assert_eq!(
            parse(&want).unwrap(),
            [RtcpPacket::Fir {
                sender_ssrc: 0x1122_3344,
                requests: vec![(0x5566_7788, 9)]
            }]
        );
        // Two FCI entries.
        let mut two = want.to_vec();
        two[3] = 6;
        two.extend_from_slice(&[0, 0, 0, 5, 200, 0, 0, 0]);
        assert_eq!(
            parse(&two).unwrap(),
            [RtcpPacket::Fir {
                sender_ssrc: 0x1122_3344,
                requests: vec![(0x5566_7788, 9), (5, 200)]
            }]
        );
        // No FCI, or half of one, is a length error.
        let mut none = want[..12].to_vec();
        none[3] = 2;
        assert_eq!(parse(&none), Err(RtcpError::Length { packet_type: 206 }));
        let mut half = want[..16].to_vec();
        half[3] = 3;
        assert_eq!(parse(&half), Err(RtcpError::Length { packet_type: 206 }));
    }

    #[test]
    fn bye_and_nack() {
        assert_eq!(bye(0xa0b0_c0d0), [0x81, 203, 0, 1, 0xa0, 0xb0, 0xc0, 0xd0]);
        assert_eq!(
            parse(&bye(5)).unwrap(),
            [RtcpPacket::Bye { ssrcs: vec![5] }]
        );
        // BYE with two sources and a reason.
        let p = [0x82, 203, 0, 3, 0, 0, 0, 1, 0, 0, 0, 2, 3, b'b', b'y', b'e'];
        assert_eq!(parse(&p).unwrap(), [RtcpPacket::Bye { ssrcs: vec![1, 2] }]);

        let lost = [65534, 65535, 0, 14, 40, 40, 41];
        let p = nack(1, 2, &lost);
        // PID 65534 with bits for 65535, 0 and 14 (offsets 1, 2, 16); PID 40 with 41.
        assert_eq!(
            p,
            [
                0x81, 205, 0, 4, 0, 0, 0, 1, 0, 0, 0, 2, 0xff, 0xfe, 0x80, 0x03, 0, 40, 0, 1
            ]
        );
        assert_eq!(
            parse(&p).unwrap(),
            [RtcpPacket::Nack {
                sender_ssrc: 1,
                media_ssrc: 2,
                lost: vec![65534, 65535, 0, 14, 40, 41]
            }]
        );
        assert!(nack(1, 2, &[]).is_empty());
    }

    #[test]
    fn other_packets() {
        // REMB (PSFB FMT 15, RFC draft-alvestrand-rmcat-remb) and APP and XR.
        let remb = [
            0x8f, 206, 0, 5, 0, 0, 0, 1, 0, 0, 0, 0, b'R', b'E', b'M', b'B', 1, 0x0a, 0x12, 0x34,
            0, 0, 0, 9,
        ];
        let app = [0x83, 204, 0, 2, 0, 0, 0, 1, b'n', b'a', b'm', b'e'];
        let xr = [0x80, 207, 0, 1, 0, 0, 0, 1];
        let mut compound = sender_report(1, 0, 0, 0, 0, &[], "a");
        compound.extend_from_slice(&remb);
        compound.extend_from_slice(&app);
        compound.extend_from_slice(&xr);
        let parsed = parse(&compound).unwrap();
        assert_eq!(
            parsed[2..],
            [
                RtcpPacket::Other {
                    packet_type: 206,
                    fmt: 15
                },
                RtcpPacket::Other {
                    packet_type: 204,
                    fmt: 3
                },
                RtcpPacket::Other {
                    packet_type: 207,
                    fmt: 0
                },
            ]
        );
    }

    #[test]
    fn bad_packets_fail_the_compound() {
        let good = receiver_report(1, &[block(1)], "gw");
        assert!(parse(&good).is_ok());
        assert_eq!(
            parse(&[]),
            Err(RtcpError::Truncated {
                needed: 4,
                available: 0
            })
        );
        // A trailing partial header.
        let mut p = good.clone();
        p.extend_from_slice(&[0x81, 206]);
        assert_eq!(
            parse(&p),
            Err(RtcpError::Truncated {
                needed: 4,
                available: 2
            })
        );
        // A sub-packet longer than the buffer.
        let mut p = good.clone();
        p.extend_from_slice(&pli(1, 2)[..8]);
        assert_eq!(
            parse(&p),
            Err(RtcpError::Truncated {
                needed: 12,
                available: 8
            })
        );
        // Version 1 after a good packet.
        let mut p = good.clone();
        p.extend_from_slice(&[0x41, 206, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2]);
        assert_eq!(parse(&p), Err(RtcpError::Version(1)));
        // An RTP packet is not RTCP.
        assert_eq!(
            parse(&[0x80, 96, 0, 1, 0, 0, 0, 0]),
            Err(RtcpError::PacketType(96))
        );
        // A report count larger than the packet.
        let mut p = good.clone();
        p[0] = 0x82;
        assert_eq!(parse(&p), Err(RtcpError::Length { packet_type: 201 }));
        // An SR too short for its sender info.
        assert_eq!(
            parse(&[0x80, 200, 0, 1, 0, 0, 0, 1]),
            Err(RtcpError::Length { packet_type: 200 })
        );
        // Feedback without the media SSRC.
        assert_eq!(
            parse(&[0x81, 206, 0, 1, 0, 0, 0, 1]),
            Err(RtcpError::Length { packet_type: 206 })
        );
        // NACK without FCI.
        assert_eq!(
            parse(&[0x81, 205, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2]),
            Err(RtcpError::Length { packet_type: 205 })
        );
        // Padding: valid, zero, and beyond the packet.
        let padded = [0xa1, 203, 0, 2, 0, 0, 0, 9, 0, 0, 0, 4];
        assert_eq!(
            parse(&padded).unwrap(),
            [RtcpPacket::Bye { ssrcs: vec![9] }]
        );
        let mut p = padded;
        p[11] = 0;
        assert_eq!(parse(&p), Err(RtcpError::Length { packet_type: 203 }));
        p[11] = 9;
        assert_eq!(parse(&p), Err(RtcpError::Length { packet_type: 203 }));
        // Padding eating the SSRC the count announces.
        p[11] = 8;
        assert_eq!(parse(&p), Err(RtcpError::Length { packet_type: 203 }));
        // A header-only packet with P set has no padding octet.
        assert_eq!(
            parse(&[0xa0, 202, 0, 0]),
            Err(RtcpError::Length { packet_type: 202 })
        );
    }

    #[test]
    fn ntp_timestamps() {
        assert_eq!(ntp_now(UNIX_EPOCH), NTP_UNIX_OFFSET << 32);
        assert_eq!(
            ntp_now(UNIX_EPOCH + Duration::from_millis(1500)),
            (NTP_UNIX_OFFSET + 1) << 32 | 0x8000_0000
        );
        assert_eq!(
            ntp_now(UNIX_EPOCH - Duration::from_secs(5)),
            NTP_UNIX_OFFSET << 32
        );
        // 2036-02-07T06:28:16Z starts NTP era 1.
        assert_eq!(
            ntp_now(UNIX_EPOCH + Duration::from_secs((1 << 32) - NTP_UNIX_OFFSET)),
            0
        );
    }

    const MS20: Duration = Duration::from_millis(20);

    #[test]
    fn loss_with_gap_and_wrap() {
        let mut s = ReceiverStats::new(8000);
        let mut t = Duration::from_secs(100);
        let mut ts = 1_000u32;
        let mut seq = 65530u16;
        for _ in 0..17 {
            // 2 and 3 (after the wrap) are lost.
            if seq != 2 && seq != 3 {
                s.on_packet(seq, ts, t);
            }
            seq = seq.wrapping_add(1);
            ts = ts.wrapping_add(160);
            t += MS20;
        }
        assert_eq!(s.packets_received(), 15);
        let b = s.report_block(0xfeed, t);
        assert_eq!(b.ssrc, 0xfeed);
        assert_eq!(b.highest_seq, 65536 + 10);
        assert_eq!(b.cumulative_lost, 2);
        assert_eq!(b.fraction_lost, (2 * 256 / 17) as u8);
        assert_eq!(b.jitter, 0, "constant transit");
        assert_eq!((b.lsr, b.dlsr), (0, 0));
        // The next interval: 11..=20, with 15 lost.
        for _ in 0..10 {
            if seq != 15 {
                s.on_packet(seq, ts, t);
            }
            seq = seq.wrapping_add(1);
            ts = ts.wrapping_add(160);
            t += MS20;
        }
        let b = s.report_block(0xfeed, t);
        assert_eq!(b.highest_seq, 65536 + 20);
        assert_eq!(b.cumulative_lost, 3);
        assert_eq!(b.fraction_lost, (256 / 10) as u8);
        // No packets since: fraction 0, cumulative unchanged.
        let b = s.report_block(0xfeed, t);
        assert_eq!((b.fraction_lost, b.cumulative_lost), (0, 3));
    }

    #[test]
    fn reordering_and_duplicates() {
        let mut s = ReceiverStats::new(90_000);
        let t = Duration::ZERO;
        for seq in [65534u16, 0, 65535, 1, 3, 2, 4] {
            s.on_packet(seq, 0, t);
        }
        let b = s.report_block(1, t);
        assert_eq!(b.highest_seq, 65536 + 4);
        assert_eq!(b.cumulative_lost, 0);
        s.on_packet(4, 0, t);
        s.on_packet(4, 0, t);
        let b = s.report_block(1, t);
        assert_eq!(b.cumulative_lost, -2, "duplicates count as received");
        assert_eq!(b.fraction_lost, 0);
        // A late packet from well before does not move the highest.
        s.on_packet(65000, 0, t);
        assert_eq!(s.report_block(1, t).highest_seq, 65536 + 4);
    }

    #[test]
    fn restart_after_a_large_jump() {
        let mut s = ReceiverStats::new(8000);
        for seq in 100..110 {
            s.on_packet(seq, 0, Duration::ZERO);
        }
        // One stray packet far ahead is ignored ...
        s.on_packet(30_000, 0, Duration::ZERO);
        let b = s.report_block(1, Duration::ZERO);
        assert_eq!((b.highest_seq, b.cumulative_lost), (109, 0));
        // ... two in sequence restart the statistics.
        s.on_packet(40_000, 0, Duration::ZERO);
        s.on_packet(40_001, 0, Duration::ZERO);
        s.on_packet(40_003, 0, Duration::ZERO);
        let b = s.report_block(1, Duration::ZERO);
        assert_eq!((b.highest_seq, b.cumulative_lost), (40_003, 1));
        assert_eq!(s.packets_received(), 14);
    }

    #[test]
    fn fraction_lost_per_interval() {
        let mut s = ReceiverStats::new(8000);
        s.on_packet(10, 0, Duration::ZERO);
        s.report_block(1, Duration::ZERO);
        // Nothing in between 11..=29 arrives, then 30.
        s.on_packet(30, 0, Duration::ZERO);
        let b = s.report_block(1, Duration::ZERO);
        assert_eq!(b.cumulative_lost, 19);
        assert_eq!(b.fraction_lost, (19 * 256 / 20) as u8);
        // Negative interval loss (duplicates) reports 0.
        s.on_packet(30, 0, Duration::ZERO);
        assert_eq!(s.report_block(1, Duration::ZERO).fraction_lost, 0);
    }

    #[test]
    fn jitter_a8() {
        let mut s = ReceiverStats::new(8000);
        let base = Duration::from_secs(3);
        // Packets every 20 ms (160 ticks); packet 2 arrives 10 ms (80 ticks) late.
        for i in 0..4u32 {
            let late = if i == 2 {
                Duration::from_millis(10)
            } else {
                Duration::ZERO
            };
            s.on_packet(i as u16, 5000 + 160 * i, base + MS20 * i + late);
        }
        // D = 0, 80, 80: J = 0 + 80/16 = 5, then 5 + (80 - 5)/16 = 9.6875.
        assert_eq!(s.report_block(1, base).jitter, 9);
        let mut z = ReceiverStats::new(0);
        z.on_packet(1, 0, Duration::ZERO);
        z.on_packet(2, 0, Duration::from_secs(1));
        assert_eq!(z.report_block(1, Duration::ZERO).jitter, 0);
        assert_eq!(z.clock_rate(), 0);
    }

    #[test]
    fn lsr_and_dlsr() {
        let mut s = ReceiverStats::new(90_000);
        let ntp = 0x1234_5678_9abc_def0;
        s.on_sender_report(ntp, Duration::from_secs(10));
        let b = s.report_block(3, Duration::from_millis(11_500));
        assert_eq!(b.lsr, 0x5678_9abc);
        assert_eq!(b.dlsr, 65536 * 3 / 2);
        // A report time before the SR arrival gives 0, not a wrap.
        assert_eq!(s.report_block(3, Duration::from_secs(9)).dlsr, 0);
        // No packets yet: the loss fields are 0.
        assert_eq!(b.highest_seq, 0);
        assert_eq!(b.cumulative_lost, 0);
    }
}
