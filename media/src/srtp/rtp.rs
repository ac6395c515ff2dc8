//! SRTP (RFC 3711 §3.1): the RTP header as far as SRTP needs it, and
//! protect/unprotect of RTP packets.

use super::replay::{ReplayWindow, estimate_index};
use super::{MAX_PACKET_LEN, SrtpContext, SrtpError};

/// Fixed RTP header length.
const FIXED_LEN: usize = 12;

/// What SRTP needs of an RTP header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) sequence: u16,
    pub(crate) ssrc: u32,
    /// Fixed header, CSRC list and header extension: the part sent in the
    /// clear. Never past the end of the packet.
    pub(crate) len: usize,
}

fn be16(p: &[u8], at: usize) -> Option<u16> {
    let b = p.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([*b.first()?, *b.get(1)?]))
}

fn be32(p: &[u8], at: usize) -> Option<u32> {
    let b = p.get(at..at.checked_add(4)?)?;
    let mut w = [0u8; 4];
    w.copy_from_slice(b);
    Some(u32::from_be_bytes(w))
}

/// Parses the clear part of an RTP (or SRTP, tag removed) packet: version 2,
/// not RTCP on a muxed port (RFC 5761), CSRC list and header extension
/// within the packet. Padding is not looked at: in SRTP it is encrypted.
pub(crate) fn parse_header(packet: &[u8]) -> Result<Header, SrtpError> {
    if packet.len() < FIXED_LEN {
        return Err(SrtpError::TooShort);
    }
    let bad = SrtpError::BadHeader;
    let b0 = *packet.first().ok_or(bad)?;
    let b1 = *packet.get(1).ok_or(bad)?;
    if b0 >> 6 != 2 || (200..=204).contains(&b1) {
        return Err(bad);
    }
    let sequence = be16(packet, 2).ok_or(bad)?;
    let ssrc = be32(packet, 8).ok_or(bad)?;
    let mut len = FIXED_LEN + 4 * usize::from(b0 & 0x0f);
    if b0 & 0x10 != 0 {
        let words = be16(packet, len + 2).ok_or(bad)?;
        len += 4 + 4 * usize::from(words);
    }
    if len > packet.len() {
        return Err(bad);
    }
    Ok(Header {
        sequence,
        ssrc,
        len,
    })
}

/// With the P bit set, the last byte counts the padding (itself included):
/// it must be at least 1 and fit in the payload.
fn check_padding(packet: &[u8], header: &Header) -> Result<(), SrtpError> {
    let padded = packet.first().is_some_and(|b0| b0 & 0x20 != 0);
    if !padded {
        return Ok(());
    }
    let pad = usize::from(*packet.last().ok_or(SrtpError::BadHeader)?);
    let payload = packet.len().saturating_sub(header.len);
    if pad == 0 || pad > payload {
        return Err(SrtpError::BadHeader);
    }
    Ok(())
}

fn roc_bytes(index: u64) -> [u8; 4] {
    ((index >> 16) as u32).to_be_bytes()
}

impl SrtpContext {
    pub(super) fn protect_rtp_into(
        &mut self,
        packet: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), SrtpError> {
        if packet.len() > MAX_PACKET_LEN {
            return Err(SrtpError::TooLong);
        }
        let header = parse_header(packet)?;
        check_padding(packet, &header)?;
        if !self.tx_rtp.has_room_for(header.ssrc) {
            return Err(SrtpError::TooManyStreams);
        }
        let index = match self.tx_rtp.get(header.ssrc) {
            Some(&top) => estimate_index(top, header.sequence)?,
            None => u64::from(header.sequence),
        };

        out.extend_from_slice(packet);
        let payload = out.get_mut(header.len..).unwrap_or_default();
        self.rtp.xor(header.ssrc, index, payload)?;
        let mac = self.rtp.mac(&[out, &roc_bytes(index)]);
        out.extend_from_slice(mac.get(..self.rtp_tag_len).unwrap_or_default());

        let top = self.tx_rtp.entry(header.ssrc, || index);
        *top = (*top).max(index);
        Ok(())
    }

    pub(super) fn unprotect_rtp_into(
        &mut self,
        packet: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), SrtpError> {
        if packet.len() > MAX_PACKET_LEN + self.rtp_tag_len {
            return Err(SrtpError::TooLong);
        }
        let auth_len = packet
            .len()
            .checked_sub(self.rtp_tag_len)
            .ok_or(SrtpError::TooShort)?;
        let (authed, tag) = packet
            .split_at_checked(auth_len)
            .ok_or(SrtpError::TooShort)?;
        let header = parse_header(authed)?;

        let window = self.rx_rtp.get(header.ssrc).copied();
        let index = match window {
            Some(w) => {
                let index = estimate_index(w.top(), header.sequence)?;
                w.check(index)?;
                index
            }
            None => u64::from(header.sequence),
        };
        self.rtp.verify(&[authed, &roc_bytes(index)], tag)?;

        out.extend_from_slice(authed);
        let payload = out.get_mut(header.len..).unwrap_or_default();
        self.rtp.xor(header.ssrc, index, payload)?;

        // Only an authenticated packet moves the ROC and the window.
        self.rx_rtp
            .entry(header.ssrc, || ReplayWindow::new(index))
            .accept(index);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rtp(b0: u8, extra: &[u8]) -> Vec<u8> {
        let mut p = vec![b0, 96, 0x12, 0x34, 0, 0, 0, 1, 0xde, 0xad, 0xbe, 0xef];
        p.extend_from_slice(extra);
        p
    }

    #[test]
    fn header_lengths() {
        let h = parse_header(&rtp(0x80, &[1, 2, 3])).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((h.sequence, h.ssrc, h.len), (0x1234, 0xdead_beef, 12));
        // Two CSRCs.
        let h = parse_header(&rtp(0x82, &[0; 8])).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(h.len, 20);
        // Extension of one word after one CSRC.
        let h = parse_header(&rtp(0x91, &[0, 0, 0, 0, 0xbe, 0xde, 0, 1, 9, 9, 9, 9, 7]))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(h.len, 24);
    }

    #[test]
    fn malformed_headers() {
        assert_eq!(parse_header(&[0x80; 11]), Err(SrtpError::TooShort));
        assert_eq!(parse_header(&rtp(0x40, &[])), Err(SrtpError::BadHeader));
        assert_eq!(parse_header(&rtp(0x81, &[0; 3])), Err(SrtpError::BadHeader));
        assert_eq!(
            parse_header(&rtp(0x90, &[0xbe, 0xde])),
            Err(SrtpError::BadHeader)
        );
        assert_eq!(
            parse_header(&rtp(0x90, &[0xbe, 0xde, 0, 2, 0, 0, 0, 0])),
            Err(SrtpError::BadHeader)
        );
        let mut rtcp = rtp(0x80, &[]);
        rtcp[1] = 200;
        assert_eq!(parse_header(&rtcp), Err(SrtpError::BadHeader));
    }

    #[test]
    fn padding_rules() {
        let p = rtp(0xa0, &[1, 2, 3]);
        let h = parse_header(&p).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(check_padding(&p, &h), Ok(()));
        let p = rtp(0xa0, &[1, 2, 0]);
        assert_eq!(check_padding(&p, &h), Err(SrtpError::BadHeader));
        let p = rtp(0xa0, &[1, 2, 4]);
        assert_eq!(check_padding(&p, &h), Err(SrtpError::BadHeader));
        let p = rtp(0xa0, &[]);
        assert_eq!(check_padding(&p, &h), Err(SrtpError::BadHeader));
    }
}
