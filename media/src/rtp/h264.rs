//! The RFC 6184 H.264 RTP payload format: Annex-B helpers, a packetizer for
//! packetization modes 0 and 1, and a depacketizer (single NAL unit, STAP-A, FU-A).
//!
//! ```
//! use cvi_media::rtp::h264::{self, Depacketizer, PacketizationMode};
//! let au = [0, 0, 0, 1, 0x67, 0x42, 0, 0x1f, 0, 0, 1, 0x65, 1, 2, 3, 4, 5, 6, 7, 8];
//! let mut packets = Vec::new();
//! h264::packetize(&au, PacketizationMode::NonInterleaved, 5, &mut |p, m| {
//!     packets.push((p.to_vec(), m))
//! });
//! assert_eq!(packets.len(), 4); // SPS whole, the IDR slice in three FU-A fragments
//! let mut depack = Depacketizer::new();
//! let out: Vec<_> = packets.iter().filter_map(|(p, m)| depack.push(p, *m)).collect();
//! assert_eq!(out.len(), 1);
//! assert!(h264::nal_units(&out[0]).eq(h264::nal_units(&au)));
//! assert!(h264::is_keyframe(&out[0]));
//! ```

/// NAL unit type of an IDR slice.
const NAL_IDR: u8 = 5;
/// Aggregation packet, single-time, no DON (RFC 6184 §5.7.1).
const NAL_STAP_A: u8 = 24;
/// Fragmentation unit without DON (RFC 6184 §5.8).
const NAL_FU_A: u8 = 28;

/// An access unit larger than this is dropped by the [`Depacketizer`] (a 4K IDR
/// frame at a sane bitrate is far smaller; this bounds memory on garbage input).
pub const MAX_ACCESS_UNIT: usize = 8 * 1024 * 1024;

/// Splits an Annex-B byte stream into its NAL units, without start codes.
///
/// Start codes are `00 00 01` or `00 00 00 01`; bytes before the first start code
/// are ignored (so input without any start code yields nothing), trailing zero bytes
/// of a NAL unit (`trailing_zero_8bits`, the first byte of a 4-byte start code) are
/// stripped, and empty NAL units are skipped. Never panics on any input.
pub fn nal_units(annexb: &[u8]) -> impl Iterator<Item = &[u8]> {
    let rest = match find_start_code(annexb) {
        Some(at) => annexb.get(at + 3..).unwrap_or_default(),
        None => &[],
    };
    NalUnits { rest }
}

/// The offset of the first `00 00 01` in `buf` (SIMD substring search: a frame of the
/// VTC's video is scanned at memory speed, not byte by byte).
fn find_start_code(buf: &[u8]) -> Option<usize> {
    memchr::memmem::find(buf, &[0, 0, 1])
}

struct NalUnits<'a> {
    /// The bytes after the last start code found.
    rest: &'a [u8],
}

impl<'a> Iterator for NalUnits<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        while !self.rest.is_empty() {
            let (nal, rest) = match find_start_code(self.rest) {
                Some(at) => (
                    self.rest.get(..at).unwrap_or_default(),
                    self.rest.get(at + 3..).unwrap_or_default(),
                ),
                None => (self.rest, &[][..]),
            };
            self.rest = rest;
            let end = nal.iter().rposition(|b| *b != 0).map_or(0, |i| i + 1);
            let nal = nal.get(..end).unwrap_or_default();
            if !nal.is_empty() {
                return Some(nal);
            }
        }
        None
    }
}

/// `(profile_idc, constraint flags)` of the first SPS (NAL unit type 7) in an Annex-B
/// access unit: `(66, 0x40..)` is constrained baseline. None without a (long enough) SPS.
pub fn sps_profile(annexb: &[u8]) -> Option<(u8, u8)> {
    let sps = nal_units(annexb).find(|n| n.first().is_some_and(|b| b & 0x1f == 7))?;
    Some((*sps.get(1)?, *sps.get(2)?))
}

/// True when the Annex-B access unit contains an IDR slice (NAL unit type 5).
pub fn is_keyframe(annexb: &[u8]) -> bool {
    nal_units(annexb).any(|nal| nal.first().is_some_and(|b| b & 0x1f == NAL_IDR))
}

/// The NAL units an RTP payload carries whole or begins (RFC 6184): a single NAL unit,
/// each unit of a STAP-A, the reconstructed header of an FU-A start fragment (its data
/// then follows in later packets). Malformed aggregates end the iteration; never panics.
pub fn payload_nal_units(payload: &[u8]) -> impl Iterator<Item = PayloadNal<'_>> {
    let first = payload.first().copied().unwrap_or(0);
    let mut state = match first & 0x1f {
        1..=23 => PayloadIter::Single(Some(payload)),
        NAL_STAP_A => PayloadIter::Stap(payload.get(1..).unwrap_or_default()),
        NAL_FU_A => match payload.get(1) {
            Some(&fu) if fu & 0x80 != 0 => {
                PayloadIter::FuStart(Some((first & 0xe0) | (fu & 0x1f)), payload.get(2..))
            }
            _ => PayloadIter::Done,
        },
        _ => PayloadIter::Done,
    };
    std::iter::from_fn(move || match &mut state {
        PayloadIter::Single(p) => p.take().map(PayloadNal::Whole),
        PayloadIter::Stap(rest) => {
            let (size, tail) = rest.split_at_checked(2)?;
            let size = usize::from(u16::from_be_bytes([*size.first()?, *size.get(1)?]));
            let Some((nal, tail)) = tail.split_at_checked(size) else {
                *rest = &[];
                return None;
            };
            *rest = tail;
            Some(PayloadNal::Whole(nal))
        }
        PayloadIter::FuStart(h, data) => h.take().map(|header| PayloadNal::Start {
            header,
            data: data.unwrap_or_default(),
        }),
        PayloadIter::Done => None,
    })
}

/// One NAL unit of an RTP payload, see [`payload_nal_units`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadNal<'a> {
    /// A whole NAL unit (header byte first).
    Whole(&'a [u8]),
    /// The first fragment of a NAL unit: its header and the start of its body.
    Start { header: u8, data: &'a [u8] },
}

impl PayloadNal<'_> {
    /// The NAL unit type (1–23 for units sent whole or fragmented; 0 for an empty unit).
    pub fn nal_type(&self) -> u8 {
        match self {
            PayloadNal::Whole(n) => n.first().map_or(0, |b| b & 0x1f),
            PayloadNal::Start { header, .. } => header & 0x1f,
        }
    }
}

enum PayloadIter<'a> {
    Single(Option<&'a [u8]>),
    Stap(&'a [u8]),
    FuStart(Option<u8>, Option<&'a [u8]>),
    Done,
}

/// True when the RTP payload carries (or begins) an IDR slice.
pub fn payload_is_keyframe(payload: &[u8]) -> bool {
    payload_nal_units(payload).any(|n| n.nal_type() == NAL_IDR)
}

/// (profile_idc, constraint flags) of an SPS the RTP payload carries whole.
pub fn payload_sps_profile(payload: &[u8]) -> Option<(u8, u8)> {
    payload_nal_units(payload).find_map(|n| match n {
        PayloadNal::Whole(sps) if n.nal_type() == 7 => Some((*sps.get(1)?, *sps.get(2)?)),
        _ => None,
    })
}

/// The RFC 6184 packetization mode of a stream (§6.2; the interleaved mode 2 is not supported).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum PacketizationMode {
    /// Mode 0: every RTP packet carries one whole NAL unit.
    #[default]
    SingleNal,
    /// Mode 1: single NAL unit packets, STAP-A and FU-A, in decoding order.
    NonInterleaved,
}

impl PacketizationMode {
    /// The mode of an H.264 `a=fmtp` parameter list (`profile-level-id=42e01f;packetization-mode=1`):
    /// `packetization-mode=1` (names matched case-insensitively, spaces tolerated) gives
    /// [`NonInterleaved`](Self::NonInterleaved); no fmtp, no parameter, `0`, or anything
    /// else (including the unsupported mode 2) gives [`SingleNal`](Self::SingleNal).
    pub fn from_fmtp(fmtp: Option<&str>) -> Self {
        let one = fmtp
            .into_iter()
            .flat_map(|f| f.split(';'))
            .filter_map(|p| p.split_once('='))
            .rfind(|(k, _)| {
                // Tolerate the payload type in front when given the whole attribute value.
                let k = k.trim();
                let k = k.rsplit(char::is_whitespace).next().unwrap_or(k);
                k.eq_ignore_ascii_case("packetization-mode")
            })
            .is_some_and(|(_, v)| v.trim() == "1");
        if one {
            PacketizationMode::NonInterleaved
        } else {
            PacketizationMode::SingleNal
        }
    }

    /// The fmtp value of the mode (`0` or `1`).
    pub fn as_fmtp_value(self) -> u8 {
        match self {
            PacketizationMode::SingleNal => 0,
            PacketizationMode::NonInterleaved => 1,
        }
    }
}

/// Packetizes one Annex-B access unit into RTP payloads, calling `emit(payload, marker)`
/// for each packet in order.
///
/// `mtu` is the budget for the RTP *payload* (the caller subtracts the RTP header,
/// SRTP tag etc.). Each non-empty NAL unit that fits is sent as a single NAL unit
/// packet. A larger one is, in [`PacketizationMode::NonInterleaved`], split into FU-A
/// fragments of at most `mtu` bytes (an `mtu` below 3 is treated as 3, the smallest
/// FU-A that carries data). In [`PacketizationMode::SingleNal`] an oversize NAL unit is
/// still emitted whole: mode 0 has no fragmentation, and the encoder is configured
/// to keep slices below the MTU, so this only happens if that configuration fails,
/// and then an IP-fragmented packet is better than a dropped slice.
///
/// No STAP-A is built. The marker is true only on the last packet of the access unit
/// (RFC 6184 §5.1), so `annexb` must hold exactly one access unit. Nothing is emitted
/// for input without NAL units.
pub fn packetize(
    annexb: &[u8],
    mode: PacketizationMode,
    mtu: usize,
    emit: &mut dyn FnMut(&[u8], bool),
) {
    let mut nals = nal_units(annexb).peekable();
    let mut fu = Vec::new();
    while let Some(nal) = nals.next() {
        let last = nals.peek().is_none();
        let Some((&header, body)) = nal.split_first() else {
            continue;
        };
        if nal.len() <= mtu || mode == PacketizationMode::SingleNal {
            emit(nal, last);
            continue;
        }
        let indicator = (header & 0xe0) | NAL_FU_A;
        let nal_type = header & 0x1f;
        let chunk = mtu.max(3) - 2;
        let count = body.len().div_ceil(chunk);
        for (i, part) in body.chunks(chunk).enumerate() {
            let start = i == 0;
            let end = i + 1 == count;
            fu.clear();
            fu.push(indicator);
            fu.push(u8::from(start) << 7 | u8::from(end) << 6 | nal_type);
            fu.extend_from_slice(part);
            emit(&fu, last && end);
        }
    }
}

/// Reassembles RFC 6184 payloads (single NAL unit packets, STAP-A, FU-A) into Annex-B
/// access units, for tests and receive statistics.
///
/// Push the payload of every RTP packet of the stream in sequence order; the packet
/// with the marker bit completes the access unit, which is returned with a 4-byte start
/// code before each NAL unit, which therefore always holds at least one NAL unit for
/// [`nal_units`]. Anything malformed (an empty payload, a truncated STAP-A, an FU-A
/// without its start, with start and end set or mixing two NAL units, an aggregated or
/// fragmented NAL unit whose type is not 1–23, a reserved type or one of the
/// interleaved mode, an access unit over [`MAX_ACCESS_UNIT`]) marks the access unit
/// broken: it is dropped when its marker arrives and counted in
/// [`dropped`](Self::dropped). The caller detects packet loss from sequence numbers and
/// should [`reset`](Self::reset) on a gap. Never panics.
#[derive(Debug, Clone, Default)]
pub struct Depacketizer {
    access_unit: Vec<u8>,
    /// The NAL unit being reassembled from FU-A fragments (header byte first).
    fragment: Option<Vec<u8>>,
    broken: bool,
    completed: u64,
    dropped: u64,
}

impl Depacketizer {
    /// An empty depacketizer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one RTP payload; returns the access unit when `marker` completes a good one.
    pub fn push(&mut self, payload: &[u8], marker: bool) -> Option<Vec<u8>> {
        if !self.broken && self.add(payload).is_none() {
            self.break_unit();
        }
        if self.access_unit.len() > MAX_ACCESS_UNIT {
            self.break_unit();
        }
        if !marker {
            return None;
        }
        if self.fragment.is_some() {
            self.broken = true; // FU-A without its end fragment
        }
        let broken = std::mem::take(&mut self.broken);
        let unit = std::mem::take(&mut self.access_unit);
        self.fragment = None;
        if broken {
            self.dropped += 1;
            None
        } else if unit.is_empty() {
            None
        } else {
            self.completed += 1;
            Some(unit)
        }
    }

    /// Forgets the access unit in progress (after packet loss, for example).
    pub fn reset(&mut self) {
        self.access_unit.clear();
        self.fragment = None;
        self.broken = false;
    }

    /// Access units returned so far.
    pub fn completed(&self) -> u64 {
        self.completed
    }

    /// Access units dropped as malformed so far.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    fn break_unit(&mut self) {
        self.broken = true;
        self.access_unit = Vec::new();
        self.fragment = None;
    }

    fn append_nal(&mut self, nal: &[u8]) {
        self.access_unit.extend_from_slice(&[0, 0, 0, 1]);
        self.access_unit.extend_from_slice(nal);
    }

    /// Adds a payload to the unit in progress; None if it is malformed.
    fn add(&mut self, payload: &[u8]) -> Option<()> {
        let (&first, body) = payload.split_first()?;
        match first & 0x1f {
            1..=23 => {
                if self.fragment.is_some() {
                    return None;
                }
                self.append_nal(payload);
            }
            NAL_STAP_A => {
                if self.fragment.is_some() {
                    return None;
                }
                let mut rest = body;
                if rest.is_empty() {
                    return None;
                }
                while !rest.is_empty() {
                    let (size, tail) = rest.split_at_checked(2)?;
                    let size = usize::from(u16::from_be_bytes([*size.first()?, *size.get(1)?]));
                    let (nal, tail) = tail.split_at_checked(size)?;
                    if !is_single_nal_type(*nal.first()?) {
                        return None;
                    }
                    self.append_nal(nal);
                    rest = tail;
                }
            }
            NAL_FU_A => {
                let (&fu_header, data) = body.split_first()?;
                let start = fu_header & 0x80 != 0;
                let end = fu_header & 0x40 != 0;
                if start {
                    if end || self.fragment.is_some() || !is_single_nal_type(fu_header) {
                        return None;
                    }
                    let mut nal = Vec::with_capacity(data.len() * 4 + 1);
                    nal.push((first & 0xe0) | (fu_header & 0x1f));
                    self.fragment = Some(nal);
                }
                let nal = self.fragment.as_mut()?;
                if nal.first().map(|h| h & 0x1f) != Some(fu_header & 0x1f) {
                    return None; // a fragment of another NAL unit
                }
                nal.extend_from_slice(data);
                if nal.len() > MAX_ACCESS_UNIT {
                    return None;
                }
                if end {
                    let nal = self.fragment.take()?;
                    self.append_nal(&nal);
                }
            }
            // 0 and 30–31 are reserved; 25–27 (STAP-B, MTAP) and 29 (FU-B) belong to
            // the interleaved mode.
            _ => return None,
        }
        Some(())
    }
}

/// True for the NAL unit types that may be sent whole or inside STAP-A/FU-A (1–23).
fn is_single_nal_type(header: u8) -> bool {
    (1..=23).contains(&(header & 0x1f))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    fn annexb(nals: &[Vec<u8>]) -> Vec<u8> {
        let mut out = Vec::new();
        for (i, n) in nals.iter().enumerate() {
            if i % 2 == 0 {
                out.extend_from_slice(&[0, 0, 0, 1]);
            } else {
                out.extend_from_slice(&[0, 0, 1]);
            }
            out.extend_from_slice(n);
        }
        out
    }

    /// A NAL unit of `len` bytes with header `header` and no start-code emulation.
    fn nal(header: u8, len: usize) -> Vec<u8> {
        let mut v = vec![header];
        v.extend((1..len).map(|i| (i % 251) as u8 | 0x10));
        v
    }

    fn packets(au: &[u8], mode: PacketizationMode, mtu: usize) -> Vec<(Vec<u8>, bool)> {
        let mut out = Vec::new();
        packetize(au, mode, mtu, &mut |p, m| out.push((p.to_vec(), m)));
        out
    }

    fn round_trip(au: &[u8], mode: PacketizationMode, mtu: usize) -> Vec<(Vec<u8>, bool)> {
        let pkts = packets(au, mode, mtu);
        let mut d = Depacketizer::new();
        let mut units = Vec::new();
        for (p, m) in &pkts {
            units.extend(d.push(p, *m));
        }
        assert_eq!(units.len(), 1, "one access unit out");
        let got: Vec<&[u8]> = nal_units(&units[0]).collect();
        let want: Vec<&[u8]> = nal_units(au).collect();
        assert_eq!(got, want);
        assert_eq!(pkts.iter().filter(|(_, m)| *m).count(), 1);
        assert!(pkts.last().unwrap().1, "marker on the last packet");
        pkts
    }

    #[test]
    fn splits_annexb() {
        let s = [
            0xff, 0xee, 0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 0, 1, 0, 0, 1, 0x65, 0,
            0, 4, 0,
        ];
        let n: Vec<&[u8]> = nal_units(&s).collect();
        assert_eq!(n, [&[0x67, 1, 2][..], &[0x68, 3], &[0x65, 0, 0, 4]]);
        assert_eq!(nal_units(&[]).count(), 0);
        assert_eq!(nal_units(&[0x65, 1, 2]).count(), 0, "no start code");
        assert_eq!(nal_units(&[0, 0, 1]).count(), 0);
        assert_eq!(nal_units(&[0, 0, 0, 1, 0, 0, 0, 1]).count(), 0);
        assert_eq!(nal_units(&[0, 0, 1, 9]).collect::<Vec<_>>(), [&[9][..]]);
        assert!(is_keyframe(&s));
        assert!(!is_keyframe(&s[..12]));
        assert!(!is_keyframe(&[0x65]));
    }

    #[test]
    fn mode_from_fmtp() {
        use PacketizationMode::*;
        assert_eq!(PacketizationMode::from_fmtp(None), SingleNal);
        assert_eq!(PacketizationMode::from_fmtp(Some("")), SingleNal);
        assert_eq!(
            PacketizationMode::from_fmtp(Some("profile-level-id=42e01f;packetization-mode=1")),
            NonInterleaved
        );
        assert_eq!(
            PacketizationMode::from_fmtp(Some("profile-level-id=42e01f; Packetization-Mode = 1 ")),
            NonInterleaved
        );
        assert_eq!(
            PacketizationMode::from_fmtp(Some("96 packetization-mode=1")),
            NonInterleaved
        );
        assert_eq!(
            PacketizationMode::from_fmtp(Some("packetization-mode=0")),
            SingleNal
        );
        assert_eq!(
            PacketizationMode::from_fmtp(Some("packetization-mode=2")),
            SingleNal
        );
        assert_eq!(
            PacketizationMode::from_fmtp(Some("x-packetization-mode=1")),
            SingleNal
        );
        assert_eq!(NonInterleaved.as_fmtp_value(), 1);
        assert_eq!(SingleNal.as_fmtp_value(), 0);
    }

    #[test]
    fn round_trip_both_modes() {
        let au = annexb(&[
            nal(0x09, 2),    // AUD
            nal(0x67, 12),   // SPS
            nal(0x68, 4),    // PPS
            nal(0x65, 5000), // IDR
            nal(0x41, 1),    // header-only slice
        ]);
        for mtu in [3, 4, 100, 1200, 1400, 5000, 6000] {
            let pkts = round_trip(&au, PacketizationMode::NonInterleaved, mtu);
            assert!(pkts.iter().all(|(p, _)| p.len() <= mtu), "mtu {mtu}");
            let pkts = round_trip(&au, PacketizationMode::SingleNal, mtu);
            assert_eq!(pkts.len(), 5, "mode 0 sends each NAL whole");
        }
    }

    #[test]
    fn mtu_edges() {
        let mtu = 1200;
        // Exactly mtu: one single NAL unit packet.
        let au = annexb(&[nal(0x65, mtu)]);
        let pkts = round_trip(&au, PacketizationMode::NonInterleaved, mtu);
        assert_eq!(pkts.len(), 1);
        assert_eq!(pkts[0].0.len(), mtu);
        assert_eq!(pkts[0].0[0], 0x65);
        // mtu + 1: two FU-A fragments, each within mtu.
        let au = annexb(&[nal(0x65, mtu + 1)]);
        let pkts = round_trip(&au, PacketizationMode::NonInterleaved, mtu);
        assert_eq!(pkts.len(), 2);
        assert!(pkts.iter().all(|(p, _)| p.len() <= mtu));
        assert_eq!(pkts[0].0[..2], [0x60 | 28, 0x80 | 5]);
        assert_eq!(pkts[1].0[..2], [0x60 | 28, 0x40 | 5]);
        assert_eq!(pkts[0].0.len(), mtu);
        assert_eq!(pkts[1].0.len(), 2 + mtu - (mtu - 2));
        assert_eq!([pkts[0].1, pkts[1].1], [false, true]);
        // Mode 0 sends it whole anyway.
        let pkts = round_trip(&au, PacketizationMode::SingleNal, mtu);
        assert_eq!(pkts.len(), 1);
        assert_eq!(pkts[0].0.len(), mtu + 1);
        // A fragment boundary that falls exactly on the end: body = 2 * (mtu - 2).
        let au = annexb(&[nal(0x25, 2 * (mtu - 2) + 1)]);
        let pkts = round_trip(&au, PacketizationMode::NonInterleaved, mtu);
        assert_eq!(pkts.len(), 2);
        assert!(pkts.iter().all(|(p, _)| p.len() == mtu));
        assert_eq!(pkts[0].0[0], 0x20 | 28, "NRI kept in the FU indicator");
        // Nothing to send.
        assert!(packets(&[], PacketizationMode::NonInterleaved, mtu).is_empty());
        assert!(packets(&[0, 0, 1, 0, 0, 1], PacketizationMode::SingleNal, mtu).is_empty());
        // A tiny mtu still terminates and keeps to 3 bytes.
        let au = annexb(&[nal(0x65, 10)]);
        for mtu in 0..3 {
            let pkts = round_trip(&au, PacketizationMode::NonInterleaved, mtu);
            assert_eq!(pkts.len(), 9);
            assert!(pkts.iter().all(|(p, _)| p.len() == 3));
        }
    }

    #[test]
    fn random_access_units_round_trip() {
        let mut rng = StdRng::seed_from_u64(6184);
        for _ in 0..300 {
            let nals: Vec<Vec<u8>> = (0..rng.gen_range(1..6))
                .map(|_| {
                    let header = rng.gen_range(1..=23) | rng.gen_range(0..4) << 5;
                    nal(header, rng.gen_range(1..3000))
                })
                .collect();
            let au = annexb(&nals);
            let mtu = rng.gen_range(3..1500);
            round_trip(&au, PacketizationMode::NonInterleaved, mtu);
            round_trip(&au, PacketizationMode::SingleNal, mtu);
        }
    }

    #[test]
    fn depacketizes_stap_a() {
        let mut d = Depacketizer::new();
        let stap = [0x78, 0, 3, 0x67, 1, 2, 0, 2, 0x68, 3];
        assert_eq!(d.push(&stap, false), None);
        let au = d.push(&[0x65, 9], true).unwrap();
        assert_eq!(
            au,
            [
                0, 0, 0, 1, 0x67, 1, 2, 0, 0, 0, 1, 0x68, 3, 0, 0, 0, 1, 0x65, 9
            ]
        );
        assert_eq!((d.completed(), d.dropped()), (1, 0));
    }

    #[test]
    fn malformed_drops_the_unit() {
        let bad: &[&[u8]] = &[
            &[],                       // empty
            &[0x78],                   // empty STAP-A
            &[0x78, 0, 5, 0x67, 1],    // STAP-A size beyond packet
            &[0x78, 0, 1, 0x67, 0],    // STAP-A trailing byte
            &[0x78, 0, 0],             // STAP-A zero-size NAL
            &[0x7c],                   // FU-A without header
            &[0x7c, 0x05, 1],          // FU-A middle without start
            &[0x7c, 0x45, 1],          // FU-A end without start
            &[0x7c, 0xc5, 1],          // FU-A start and end
            &[0x78, 0, 1, 0x00],       // STAP-A holding a type-0 NAL
            &[0x78, 0, 2, 0x7c, 0x85], // STAP-A holding an FU-A
            &[0x7c, 0x80, 0],          // FU-A of a type-0 NAL
            &[0x7c, 0x98, 1],          // FU-A of a STAP-A
            &[0x79, 0, 0, 0, 1, 0x65], // STAP-B
            &[0x7d, 0x85, 1],          // FU-B
            &[0x00, 1],                // reserved type 0
            &[0x1f, 1],                // reserved type 31
        ];
        for b in bad {
            let mut d = Depacketizer::new();
            assert_eq!(d.push(&[0x67, 1], false), None);
            assert_eq!(d.push(b, false), None, "{b:?}");
            assert_eq!(d.push(&[0x65, 1], true), None, "{b:?} drops the unit");
            assert_eq!(d.dropped(), 1);
            // The next access unit is fine.
            assert_eq!(d.push(&[0x41, 1], true), Some(vec![0, 0, 0, 1, 0x41, 1]));
        }
        // An FU-A interrupted by a single NAL unit, or by a new start.
        let mut d = Depacketizer::new();
        d.push(&[0x7c, 0x85, 1], false);
        d.push(&[0x41, 1], false);
        assert_eq!(d.push(&[0x7c, 0x45, 2], true), None);
        d.push(&[0x7c, 0x85, 1], false);
        d.push(&[0x7c, 0x85, 1], false);
        assert_eq!(d.push(&[0x7c, 0x45, 2], true), None);
        // Fragments of two different NAL units.
        d.push(&[0x7c, 0x85, 1], false);
        assert_eq!(d.push(&[0x7c, 0x41, 2], true), None);
        // An FU-A cut short by the marker.
        d.push(&[0x7c, 0x85, 1], false);
        assert_eq!(d.push(&[0x7c, 0x05, 2], true), None);
        assert_eq!(d.dropped(), 4);
        // Marker on an empty unit is not an access unit, and not a drop.
        let mut d = Depacketizer::new();
        assert_eq!(d.push(&[0x7c, 0x85, 1], false), None);
        d.reset();
        assert_eq!(d.push(&[0x7c, 0x45, 1], true), None);
        assert_eq!(d.dropped(), 1);
    }

    #[test]
    fn random_payloads_never_panic() {
        let mut rng = StdRng::seed_from_u64(28);
        let mut d = Depacketizer::new();
        for _ in 0..20_000 {
            let len = rng.gen_range(0..40);
            let mut p: Vec<u8> = (0..len).map(|_| rng.r#gen()).collect();
            if let Some(b) = p.first_mut() {
                // Bias toward the interesting types.
                if rng.gen_bool(0.6) {
                    *b = (*b & 0xe0) | [24, 28, 5, 1][rng.gen_range(0..4)];
                }
            }
            if let Some(au) = d.push(&p, rng.gen_bool(0.2)) {
                assert!(au.starts_with(&[0, 0, 0, 1]));
            }
        }
    }

    #[test]
    fn payload_units_of_each_packet_kind() {
        let sps = [0x67, 0x42, 0xe0, 0x1f, 0xaa];
        let idr = [0x65u8, 1, 2, 3];
        // Single NAL unit packets.
        assert!(payload_is_keyframe(&idr));
        assert!(!payload_is_keyframe(&[0x41, 9, 9]));
        assert_eq!(payload_sps_profile(&sps), Some((0x42, 0xe0)));
        // STAP-A with SPS, PPS and an IDR slice.
        let mut stap = vec![0x78];
        for n in [&sps[..], &[0x68, 0xce][..], &idr[..]] {
            stap.extend_from_slice(&(n.len() as u16).to_be_bytes());
            stap.extend_from_slice(n);
        }
        let types: Vec<_> = payload_nal_units(&stap).map(|n| n.nal_type()).collect();
        assert_eq!(types, [7, 8, 5]);
        assert!(payload_is_keyframe(&stap));
        assert_eq!(payload_sps_profile(&stap), Some((0x42, 0xe0)));
        // FU-A: only the start fragment begins a unit.
        assert!(payload_is_keyframe(&[0x7c, 0x85, 1, 2]));
        assert!(!payload_is_keyframe(&[0x7c, 0x05, 1, 2]));
        assert!(!payload_is_keyframe(&[0x7c, 0x45, 1, 2]));
        assert_eq!(
            payload_nal_units(&[0x7c, 0x85, 1]).next(),
            Some(PayloadNal::Start {
                header: 0x65,
                data: &[1]
            })
        );
    }

    #[test]
    fn payload_units_of_damaged_packets_end_quietly() {
        for bad in [
            &[][..],
            &[0x78],
            &[0x78, 0],
            &[0x78, 0, 9, 0x65],
            &[0x7c],
            &[0x00, 1],
            &[0x7f, 1, 2],
        ] {
            assert!(!payload_is_keyframe(bad), "{bad:?}");
            assert_eq!(payload_sps_profile(bad), None);
        }
        // A truncated second unit: the first still counts.
        assert!(payload_is_keyframe(&[0x78, 0, 2, 0x65, 1, 0, 9, 0x67]));
        let mut rng = StdRng::seed_from_u64(7);
        for _ in 0..2000 {
            let len = rng.gen_range(0..40);
            let p: Vec<u8> = (0..len).map(|_| rng.r#gen()).collect();
            let _ = payload_nal_units(&p).count();
            let _ = payload_sps_profile(&p);
        }
    }
}
