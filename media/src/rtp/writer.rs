//! The sending side of one RTP stream (RFC 3550 §5.1): header fields and the
//! sender counters an RTCP sender report needs (§6.4.1).

/// Writes the RTP packets of one outgoing stream (one SSRC, one payload type).
///
/// Each [`write`](RtpWriter::write) produces a version 2 packet with the 12-byte fixed
/// header (no padding, extension or CSRC list) and advances the sequence number,
/// wrapping at 65535. The counters wrap too, as RFC 3550 §6.4.1 allows.
///
/// ```
/// use cvi_media::rtp::{RtpHeader, RtpWriter};
/// let mut w = RtpWriter::new(0x1234_5678, 96, 65535);
/// let mut out = Vec::new();
/// w.write(true, 3000, &[1, 2, 3], &mut out);
/// let h = RtpHeader::parse(&out).expect("rtp");
/// assert_eq!((h.sequence, h.timestamp, h.ssrc, h.marker), (65535, 3000, 0x1234_5678, true));
/// assert_eq!(w.next_sequence(), 0);
/// assert_eq!((w.packets_sent(), w.octets_sent()), (1, 3));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpWriter {
    ssrc: u32,
    payload_type: u8,
    sequence: u16,
    packets_sent: u32,
    octets_sent: u32,
    last_timestamp: Option<u32>,
}

impl RtpWriter {
    /// A writer whose first packet carries sequence number `first_seq`. Only the low
    /// 7 bits of `payload_type` are used.
    pub fn new(ssrc: u32, payload_type: u8, first_seq: u16) -> Self {
        RtpWriter {
            ssrc,
            payload_type: payload_type & 0x7f,
            sequence: first_seq,
            packets_sent: 0,
            octets_sent: 0,
            last_timestamp: None,
        }
    }

    /// Clears `out` and writes one RTP packet into it: header (with `marker` and
    /// `timestamp`) followed by `payload`. Advances the sequence number.
    pub fn write(&mut self, marker: bool, timestamp: u32, payload: &[u8], out: &mut Vec<u8>) {
        out.clear();
        out.reserve(12 + payload.len());
        out.push(0x80); // V=2, P=0, X=0, CC=0
        out.push(u8::from(marker) << 7 | self.payload_type);
        out.extend_from_slice(&self.sequence.to_be_bytes());
        out.extend_from_slice(&timestamp.to_be_bytes());
        out.extend_from_slice(&self.ssrc.to_be_bytes());
        out.extend_from_slice(payload);
        self.sequence = self.sequence.wrapping_add(1);
        self.packets_sent = self.packets_sent.wrapping_add(1);
        let octets = u32::try_from(payload.len()).unwrap_or(u32::MAX);
        self.octets_sent = self.octets_sent.wrapping_add(octets);
        self.last_timestamp = Some(timestamp);
    }

    /// The SSRC of the stream.
    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// The payload type written in every packet (7 bits).
    pub fn payload_type(&self) -> u8 {
        self.payload_type
    }

    /// The sequence number the next packet will carry.
    pub fn next_sequence(&self) -> u16 {
        self.sequence
    }

    /// The sender's packet count (RFC 3550 §6.4.1), wrapping.
    pub fn packets_sent(&self) -> u32 {
        self.packets_sent
    }

    /// The sender's octet count: payload octets only, no headers (RFC 3550 §6.4.1), wrapping.
    pub fn octets_sent(&self) -> u32 {
        self.octets_sent
    }

    /// The RTP timestamp of the last packet written, None before the first.
    pub fn last_timestamp(&self) -> Option<u32> {
        self.last_timestamp
    }
}

#[cfg(test)]
mod tests {
    use super::RtpWriter;
    use crate::rtp::RtpHeader;

    #[test]
    fn writes_header_and_counts() {
        let mut w = RtpWriter::new(0xdead_beef, 0xff, 0xfffe);
        assert_eq!(w.payload_type(), 0x7f);
        assert_eq!(w.last_timestamp(), None);
        let mut out = vec![9; 40];
        w.write(false, 90_000, &[0xaa; 5], &mut out);
        assert_eq!(
            out,
            [
                0x80, 0x7f, 0xff, 0xfe, 0, 1, 0x5f, 0x90, 0xde, 0xad, 0xbe, 0xef, 0xaa, 0xaa, 0xaa,
                0xaa, 0xaa
            ]
        );
        w.write(true, 93_000, &[], &mut out);
        let h = RtpHeader::parse(&out).expect("rtp");
        assert!(h.marker);
        assert_eq!(
            (h.sequence, h.timestamp, h.payload_type),
            (0xffff, 93_000, 0x7f)
        );
        assert!(h.payload(&out).is_empty());
        w.write(false, 96_000, &[1], &mut out);
        assert_eq!(RtpHeader::parse(&out).map(|h| h.sequence), Some(0));
        assert_eq!(w.next_sequence(), 1);
        assert_eq!(w.packets_sent(), 3);
        assert_eq!(w.octets_sent(), 6);
        assert_eq!(w.last_timestamp(), Some(96_000));
        assert_eq!(w.ssrc(), 0xdead_beef);
    }
}
