//! SDES-SRTP (RFC 3711) for the SIP leg, sans-IO: AES-CM-128 encryption with
//! HMAC-SHA1 authentication, for the suites of [`SrtpSuite`].
//!
//! An [`SrtpContext`] holds the session keys derived from one master key
//! (key derivation rate 0, no MKI) and the per-SSRC state: the rollover
//! counter and replay window of SRTP, the SRTCP index and its replay window.
//! A call uses two: one with the local key to protect what it sends, one
//! with the remote key to unprotect what it receives.
//!
//! - SRTP tags are 80 or 32 bits after the suite; SRTCP tags are always 80
//!   bits (RFC 4568 §6.2.2) and SRTCP is always encrypted (E flag set).
//! - Up to [`MAX_STREAMS`] SSRCs are tracked per kind (SRTP/SRTCP) and
//!   direction. On receive a new one evicts the least recently used; on
//!   send a new one is refused ([`SrtpError::TooManyStreams`]), as
//!   forgetting a sender's index could reuse keystream.
//! - On receive the ROC is estimated as in RFC 3711 Appendix A, and the ROC
//!   and replay windows ([`REPLAY_WINDOW`] packets) only advance for
//!   packets that authenticate.
//! - Every input is untrusted: malformed packets give an [`SrtpError`],
//!   never a panic. Key material never appears in `Debug` output or errors.
//!
//! ```
//! use cvi_media::sdp::{SrtpKey, SrtpSuite};
//! use cvi_media::srtp::SrtpContext;
//! let key = SrtpKey([7; 30]);
//! let mut tx = SrtpContext::new(SrtpSuite::AesCm128HmacSha1_80, &key);
//! let mut rx = SrtpContext::new(SrtpSuite::AesCm128HmacSha1_80, &key);
//! let rtp = [0x80, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 42, b'h', b'i'];
//! let (mut srtp, mut plain) = (Vec::new(), Vec::new());
//! tx.protect_rtp(&rtp, &mut srtp)?;
//! assert_eq!(srtp.len(), rtp.len() + 10);
//! rx.unprotect_rtp(&srtp, &mut plain)?;
//! assert_eq!(plain, rtp);
//! # Ok::<(), cvi_media::srtp::SrtpError>(())
//! ```

use std::fmt;

use crate::sdp::srtp::{SrtpKey, SrtpSuite};

mod kdf;
mod replay;
mod rtcp;
mod rtp;
mod streams;

use kdf::{SRTCP_LABELS, SRTP_LABELS, SessionKeys};
use replay::ReplayWindow;
use streams::Streams;

pub use replay::WINDOW as REPLAY_WINDOW;
pub use streams::MAX_STREAMS;

/// The longest RTP or RTCP packet accepted (before protection; SRTP/SRTCP
/// input may be longer by its trailer). Anything a UDP datagram carries fits.
pub const MAX_PACKET_LEN: usize = 65_536;

/// Why a packet could not be protected or unprotected. Carries no packet
/// or key bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SrtpError {
    /// Shorter than a header plus the SRTP/SRTCP trailer.
    #[error("packet too short for SRTP")]
    TooShort,
    /// Longer than [`MAX_PACKET_LEN`] (plus trailer).
    #[error("packet too long for SRTP")]
    TooLong,
    /// Not RTP/RTCP version 2, RTCP where RTP was expected (or the other
    /// way round), CSRC list or header extension past the end, or (when
    /// protecting) inconsistent padding.
    #[error("malformed RTP/RTCP header")]
    BadHeader,
    /// The authentication tag does not match.
    #[error("SRTP authentication failed")]
    AuthFailed,
    /// Received before, or too old for the replay window. When protecting:
    /// a sequence number so far before the stream's first one that it
    /// would need a negative rollover counter.
    #[error("replayed or too old SRTP packet")]
    Replayed,
    /// 2^48 SRTP or 2^31 SRTCP packets of one SSRC: the key must change.
    #[error("SRTP index space exhausted; a new key is needed")]
    IndexExhausted,
    /// Protecting for a new SSRC while [`MAX_STREAMS`] are tracked.
    #[error("too many SSRCs sent under one SRTP key")]
    TooManyStreams,
    /// An authenticated SRTCP packet without the E flag: unencrypted SRTCP
    /// is never negotiated.
    #[error("unencrypted SRTCP packet")]
    Unencrypted,
}

/// SRTP and SRTCP state for one master key, i.e. one direction of a call.
pub struct SrtpContext {
    suite: SrtpSuite,
    rtp_tag_len: usize,
    rtp: SessionKeys,
    rtcp: SessionKeys,
    /// Highest SRTP index sent per SSRC.
    tx_rtp: Streams<u64>,
    rx_rtp: Streams<ReplayWindow>,
    /// Next SRTCP index to send per SSRC.
    tx_rtcp: Streams<u32>,
    rx_rtcp: Streams<ReplayWindow>,
}

impl SrtpContext {
    /// Derives the session keys of `key` for `suite`.
    pub fn new(suite: SrtpSuite, key: &SrtpKey) -> Self {
        SrtpContext {
            suite,
            rtp_tag_len: tag_len(suite),
            rtp: SessionKeys::derive(key, SRTP_LABELS),
            rtcp: SessionKeys::derive(key, SRTCP_LABELS),
            tx_rtp: Streams::new(),
            rx_rtp: Streams::new(),
            tx_rtcp: Streams::new(),
            rx_rtcp: Streams::new(),
        }
    }

    /// The suite the context was made for.
    pub fn suite(&self) -> SrtpSuite {
        self.suite
    }

    /// Encrypts and authenticates an RTP packet into `out` (replacing its
    /// contents; empty on error). The header, CSRCs and header extension
    /// stay clear; payload and padding are encrypted.
    pub fn protect_rtp(&mut self, packet: &[u8], out: &mut Vec<u8>) -> Result<(), SrtpError> {
        out.clear();
        let r = self.protect_rtp_into(packet, out);
        clear_on_error(r, out)
    }

    /// Authenticates, replay-checks and decrypts an SRTP packet into `out`
    /// (replacing its contents; empty on error).
    pub fn unprotect_rtp(&mut self, packet: &[u8], out: &mut Vec<u8>) -> Result<(), SrtpError> {
        out.clear();
        let r = self.unprotect_rtp_into(packet, out);
        clear_on_error(r, out)
    }

    /// Encrypts and authenticates an RTCP (compound) packet into `out`
    /// (replacing its contents; empty on error).
    pub fn protect_rtcp(&mut self, packet: &[u8], out: &mut Vec<u8>) -> Result<(), SrtpError> {
        out.clear();
        let r = self.protect_rtcp_into(packet, out);
        clear_on_error(r, out)
    }

    /// Authenticates, replay-checks and decrypts an SRTCP packet into `out`
    /// (replacing its contents; empty on error).
    pub fn unprotect_rtcp(&mut self, packet: &[u8], out: &mut Vec<u8>) -> Result<(), SrtpError> {
        out.clear();
        let r = self.unprotect_rtcp_into(packet, out);
        clear_on_error(r, out)
    }
}

/// SRTP authentication tag length of a suite.
pub fn tag_len(suite: SrtpSuite) -> usize {
    match suite {
        SrtpSuite::AesCm128HmacSha1_80 => 10,
        SrtpSuite::AesCm128HmacSha1_32 => 4,
    }
}

/// SRTCP authentication tag length (80 bits for every supported suite).
pub const SRTCP_TAG_LEN: usize = rtcp::SRTCP_TAG_LEN;

fn clear_on_error(r: Result<(), SrtpError>, out: &mut Vec<u8>) -> Result<(), SrtpError> {
    if r.is_err() {
        out.clear();
    }
    r
}

impl fmt::Debug for SrtpContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SrtpContext")
            .field("suite", &self.suite)
            .field("keys", &"<redacted>")
            .field("rtp_streams_tx", &self.tx_rtp.len())
            .field("rtp_streams_rx", &self.rx_rtp.len())
            .field("rtcp_streams_tx", &self.tx_rtcp.len())
            .field("rtcp_streams_rx", &self.rx_rtcp.len())
            .finish()
    }
}
