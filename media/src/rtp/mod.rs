//! RTP and RTCP for the gateway's SIP leg, sans-IO.
//!
//! - [`RtpHeader`]: the RTP fixed header (RFC 3550 §5.1), read without trusting a byte of it.
//! - [`RtpWriter`]: writes RTP packets for one outgoing stream and keeps the sender counters.
//! - [`h264`]: the RFC 6184 H.264 payload format (packetizer, depacketizer, Annex-B helpers).
//! - [`rtcp`]: RTCP builders and parser (RFC 3550, RFC 4585, RFC 5104) and receiver
//!   statistics for report blocks.

pub mod h264;
pub mod rtcp;
mod writer;

pub use writer::RtpWriter;

/// What the gateway needs of an RTP packet: the header fields and where the payload is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpHeader {
    pub marker: bool,
    pub payload_type: u8,
    pub sequence: u16,
    pub timestamp: u32,
    pub ssrc: u32,
    /// Byte range of the payload in the packet (padding removed).
    pub payload_start: usize,
    pub payload_end: usize,
}

impl RtpHeader {
    /// Parses an RTP packet; None for anything that is not RTP version 2 with a consistent
    /// header (CSRC list, extension and padding within the packet). RTCP packets (payload
    /// types 72–76 with the marker bit, RFC 5761) are refused too.
    pub fn parse(packet: &[u8]) -> Option<RtpHeader> {
        let b0 = *packet.first()?;
        let b1 = *packet.get(1)?;
        if b0 >> 6 != 2 {
            return None;
        }
        if (200..=204).contains(&b1) {
            return None; // RTCP on a muxed port
        }
        let padding = b0 & 0x20 != 0;
        let extension = b0 & 0x10 != 0;
        let csrc = usize::from(b0 & 0x0f);
        let word = |i: usize| -> Option<u32> {
            let s = packet.get(i..i + 4)?;
            Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
        };
        let sequence = u16::from_be_bytes([*packet.get(2)?, *packet.get(3)?]);
        let timestamp = word(4)?;
        let ssrc = word(8)?;
        let mut start = 12 + 4 * csrc;
        if extension {
            let len = usize::from(u16::from_be_bytes([
                *packet.get(start + 2)?,
                *packet.get(start + 3)?,
            ]));
            start += 4 + 4 * len;
        }
        let mut end = packet.len();
        if padding {
            let pad = usize::from(*packet.last()?);
            if pad == 0 {
                return None;
            }
            end = end.checked_sub(pad)?;
        }
        if start > end {
            return None;
        }
        Some(RtpHeader {
            marker: b1 & 0x80 != 0,
            payload_type: b1 & 0x7f,
            sequence,
            timestamp,
            ssrc,
            payload_start: start,
            payload_end: end,
        })
    }

    /// The payload bytes of `packet` (the one this header was parsed from).
    pub fn payload<'a>(&self, packet: &'a [u8]) -> &'a [u8] {
        packet
            .get(self.payload_start..self.payload_end)
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::RtpHeader;

    #[test]
    fn plain_packet() {
        let mut p = vec![0x80, 0x80 | 101, 0x12, 0x34, 0, 0, 0x0f, 0xa0, 1, 2, 3, 4];
        p.extend_from_slice(&[5, 0x8a, 0, 160]);
        let h = RtpHeader::parse(&p).expect("rtp");
        assert!(h.marker);
        assert_eq!(
            (h.payload_type, h.sequence, h.timestamp, h.ssrc),
            (101, 0x1234, 4000, 0x01020304)
        );
        assert_eq!(h.payload(&p), &[5, 0x8a, 0, 160]);
    }

    #[test]
    fn csrc_extension_and_padding() {
        // 1 CSRC, a 1-word extension, 2 bytes of padding.
        let mut p = vec![0xb1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2];
        p.extend_from_slice(&[9, 9, 9, 9]); // CSRC
        p.extend_from_slice(&[0xbe, 0xde, 0, 1, 7, 7, 7, 7]); // extension
        p.extend_from_slice(&[0xaa, 0xbb]); // payload
        p.extend_from_slice(&[0, 2]); // padding, count 2
        let h = RtpHeader::parse(&p).expect("rtp");
        assert_eq!(h.payload(&p), &[0xaa, 0xbb]);
    }

    #[test]
    fn garbage_is_refused() {
        assert!(RtpHeader::parse(&[]).is_none());
        assert!(RtpHeader::parse(&[0x80, 0, 0]).is_none());
        assert!(RtpHeader::parse(&[0x40; 20]).is_none(), "version 1");
        assert!(
            RtpHeader::parse(&[0x8f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]).is_none(),
            "15 CSRCs missing"
        );
        assert!(
            RtpHeader::parse(&[0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 200]).is_none(),
            "padding beyond the packet"
        );
        assert!(
            RtpHeader::parse(&[0x80, 200, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]).is_none(),
            "RTCP SR"
        );
        for n in 0..64 {
            let p: Vec<u8> = (0..n).map(|i| (i * 37 + 0x90) as u8).collect();
            let _ = RtpHeader::parse(&p);
        }
    }
}
