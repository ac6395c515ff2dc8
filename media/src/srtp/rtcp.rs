//! SRTCP (RFC 3711 §3.4): the first 8 bytes of the compound (header and
//! sender SSRC) stay clear, the rest is encrypted, then come the E flag with
//! the 31-bit SRTCP index and an 80-bit tag over everything before it.

use super::replay::ReplayWindow;
use super::{MAX_PACKET_LEN, SrtpContext, SrtpError};

/// Header and sender SSRC of the first packet of the compound.
const CLEAR_LEN: usize = 8;
/// E flag and SRTCP index.
const TRAILER_LEN: usize = 4;
/// SRTCP always uses HMAC-SHA1-80 with the suites we support (RFC 4568 §6.2).
pub(crate) const SRTCP_TAG_LEN: usize = 10;
const E_FLAG: u32 = 0x8000_0000;
/// The largest SRTCP index; the key must be replaced after it.
const MAX_INDEX: u32 = 0x7fff_ffff;

/// Version 2 and an RTCP packet type (192–223, RFC 5761 §4) in the first
/// header; returns the sender SSRC.
fn parse_header(packet: &[u8]) -> Result<u32, SrtpError> {
    let clear = packet.get(..CLEAR_LEN).ok_or(SrtpError::TooShort)?;
    let mut b = [0u8; CLEAR_LEN];
    b.copy_from_slice(clear);
    let [b0, b1, _, _, s0, s1, s2, s3] = b;
    if b0 >> 6 != 2 || !(192..=223).contains(&b1) {
        return Err(SrtpError::BadHeader);
    }
    Ok(u32::from_be_bytes([s0, s1, s2, s3]))
}

impl SrtpContext {
    pub(super) fn protect_rtcp_into(
        &mut self,
        packet: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), SrtpError> {
        if packet.len() > MAX_PACKET_LEN {
            return Err(SrtpError::TooLong);
        }
        let ssrc = parse_header(packet)?;
        if !self.tx_rtcp.has_room_for(ssrc) {
            return Err(SrtpError::TooManyStreams);
        }
        let index = self.tx_rtcp.get(ssrc).copied().unwrap_or(0);
        if index > MAX_INDEX {
            return Err(SrtpError::IndexExhausted);
        }

        out.extend_from_slice(packet);
        let body = out.get_mut(CLEAR_LEN..).unwrap_or_default();
        self.rtcp.xor(ssrc, u64::from(index), body)?;
        out.extend_from_slice(&(E_FLAG | index).to_be_bytes());
        let mac = self.rtcp.mac(&[out]);
        out.extend_from_slice(mac.get(..SRTCP_TAG_LEN).unwrap_or_default());

        *self.tx_rtcp.entry(ssrc, || 0) = index + 1;
        Ok(())
    }

    pub(super) fn unprotect_rtcp_into(
        &mut self,
        packet: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), SrtpError> {
        if packet.len() > MAX_PACKET_LEN + TRAILER_LEN + SRTCP_TAG_LEN {
            return Err(SrtpError::TooLong);
        }
        if packet.len() < CLEAR_LEN + TRAILER_LEN + SRTCP_TAG_LEN {
            return Err(SrtpError::TooShort);
        }
        let auth_len = packet.len() - SRTCP_TAG_LEN;
        let (authed, tag) = packet
            .split_at_checked(auth_len)
            .ok_or(SrtpError::TooShort)?;
        let (body, trailer) = authed
            .split_at_checked(auth_len - TRAILER_LEN)
            .ok_or(SrtpError::TooShort)?;
        let ssrc = parse_header(body)?;
        let mut t = [0u8; TRAILER_LEN];
        t.copy_from_slice(trailer);
        let e_index = u32::from_be_bytes(t);
        let index = u64::from(e_index & MAX_INDEX);

        if let Some(w) = self.rx_rtcp.get(ssrc) {
            w.check(index)?;
        }
        self.rtcp.verify(&[authed], tag)?;
        if e_index & E_FLAG == 0 {
            // UNENCRYPTED_SRTCP is never negotiated (see `sdp::srtp`).
            return Err(SrtpError::Unencrypted);
        }

        out.extend_from_slice(body);
        let encrypted = out.get_mut(CLEAR_LEN..).unwrap_or_default();
        self.rtcp.xor(ssrc, index, encrypted)?;

        self.rx_rtcp
            .entry(ssrc, || ReplayWindow::new(index))
            .accept(index);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sdp::srtp::{SrtpKey, SrtpSuite};

    #[test]
    fn authenticated_but_unencrypted_is_refused() {
        let key = SrtpKey([5; 30]);
        let mut tx = SrtpContext::new(SrtpSuite::AesCm128HmacSha1_80, &key);
        let mut rx = SrtpContext::new(SrtpSuite::AesCm128HmacSha1_80, &key);
        let mut p = vec![0x80, 201, 0, 1, 1, 2, 3, 4];
        p.extend_from_slice(&7u32.to_be_bytes()); // E = 0, index 7
        let mac = tx.rtcp.mac(&[&p]);
        p.extend_from_slice(&mac[..SRTCP_TAG_LEN]);
        let mut out = Vec::new();
        assert_eq!(rx.unprotect_rtcp(&p, &mut out), Err(SrtpError::Unencrypted));
        // Not recorded: the same index, encrypted, is still accepted.
        let mut srtcp = Vec::new();
        for _ in 0..8 {
            tx.protect_rtcp(&[0x80, 201, 0, 1, 1, 2, 3, 4], &mut srtcp)
                .unwrap_or_else(|e| panic!("{e}"));
        }
        rx.unprotect_rtcp(&srtcp, &mut out)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(out, [0x80, 201, 0, 1, 1, 2, 3, 4]);
    }

    #[test]
    fn header_checks() {
        let rr = [0x80, 201, 0, 1, 1, 2, 3, 4];
        assert_eq!(parse_header(&rr), Ok(0x0102_0304));
        assert_eq!(parse_header(&rr[..7]), Err(SrtpError::TooShort));
        assert_eq!(
            parse_header(&[0x40, 201, 0, 1, 1, 2, 3, 4]),
            Err(SrtpError::BadHeader)
        );
        assert_eq!(
            parse_header(&[0x80, 96, 0, 1, 1, 2, 3, 4]),
            Err(SrtpError::BadHeader)
        );
    }
}
