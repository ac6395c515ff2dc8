//! Results of negotiation: what each accepted stream carries, why a
//! stream was refused, and why a whole negotiation failed.

use std::net::SocketAddr;

use super::caps::RtcpFeedback;
use super::h264_fmtp::VideoLimits;
use super::model::{Direction, MediaType, SessionDescription};
use super::srtp::SrtpParams;

/// The kinds of stream the SIP leg carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StreamKind {
    Audio,
    Video,
}

/// RFC 4796 role of a stream (`a=content`); `Main` when absent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContentRole {
    Main,
    Slides,
    /// `speaker`, `sl`, `alt` or anything else, verbatim.
    Other(String),
}

impl ContentRole {
    /// From an `a=content` value (a comma-separated list; `slides` wins,
    /// then `main`, then the first other token).
    pub fn from_value(v: &str) -> Self {
        let roles: Vec<&str> = v
            .split(',')
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .collect();
        if roles.iter().any(|r| r.eq_ignore_ascii_case("slides")) {
            ContentRole::Slides
        } else if roles.is_empty() || roles.iter().any(|r| r.eq_ignore_ascii_case("main")) {
            ContentRole::Main
        } else {
            ContentRole::Other(roles.join(","))
        }
    }
}

/// The codec chosen for a stream. `fmtp` is the far end's parameters for
/// this payload type, verbatim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NegotiatedCodec {
    pub payload_type: u8,
    pub name: String,
    pub clock_rate: u32,
    pub channels: Option<u16>,
    pub fmtp: Option<String>,
}

/// One accepted m-line, ready for the media pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NegotiatedStream {
    /// Position of the m-line in the offer (and answer).
    pub index: usize,
    pub kind: StreamKind,
    pub content: ContentRole,
    /// Our RTP port for this stream.
    pub local_port: u16,
    /// Where to send RTP: m-line port at the media-level `c=` (else the
    /// session-level one). `None` when the address is not an IP literal.
    pub remote_rtp: Option<SocketAddr>,
    /// Where to send RTCP: the RTP address with rtcp-mux, else `a=rtcp`,
    /// else RTP port + 1.
    pub remote_rtcp: Option<SocketAddr>,
    pub rtcp_mux: bool,
    pub codec: NegotiatedCodec,
    /// RFC 4733 payload type at the codec's clock rate, if negotiated.
    pub telephone_event: Option<u8>,
    /// Feedback both sides agreed on; empty means key frames must be asked
    /// for another way (SIP INFO picture_fast_update).
    pub rtcp_fb: Vec<RtcpFeedback>,
    /// Our direction for this stream.
    pub direction: Direction,
    /// SDES-SRTP keys, `None` for plain RTP.
    pub srtp: Option<SrtpParams>,
    /// H.264 limits for what we send (video only).
    pub video: Option<VideoLimits>,
}

/// Why one m-line was answered with port 0.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RefusalReason {
    /// The offer disabled it (port 0).
    Disabled,
    /// Not audio or video (BFCP, H.224 FECC, text…), or video is turned off.
    UnsupportedMedia,
    /// A protocol other than RTP/AVP(F) or RTP/SAVP(F) (e.g. DTLS).
    UnsupportedTransport(String),
    /// No offered codec is one we support.
    NoCommonCodec,
    /// SRTP is required but the line has no usable `a=crypto`.
    SrtpRequired,
    /// RTP/SAVP(F) without a usable `a=crypto` (suite, key or parameters),
    /// or SRTP is disabled.
    NoUsableCrypto,
    /// A second audio or main-video line (only one of each is bridged).
    ExtraStream,
    /// A content (`a=content:slides`) video line: not bridged yet.
    ContentStream,
}

/// One m-line answered with port 0, for logs and call records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedStream {
    pub index: usize,
    pub media: MediaType,
    pub reason: RefusalReason,
}

/// The answer SDP plus what was agreed per stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The SDP to send (every offered m-line, in order).
    pub sdp: SessionDescription,
    /// Accepted streams, in m-line order.
    pub streams: Vec<NegotiatedStream>,
    /// Refused m-lines, in m-line order.
    pub refused: Vec<RefusedStream>,
}

/// Why a negotiation failed as a whole. Every variant maps to
/// SIP 488 Not Acceptable Here ([`NegotiationError::sip_status`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NegotiationError {
    /// The SDP has no m-line, or every audio/video line was disabled.
    #[error("no media stream offered")]
    NoMedia,
    /// Neither an audio nor a video line has a codec in common.
    #[error("no common codec")]
    NoCommonCodec,
    /// Only SRTP/crypto problems kept the audio/video lines out.
    #[error("no acceptable SRTP parameters")]
    SrtpMismatch,
    /// Only unsupported transports (e.g. UDP/TLS/RTP/SAVPF) were offered.
    #[error("unsupported media transport")]
    UnsupportedTransport,
    /// An answer that does not match our offer (m-line count or kinds).
    #[error("answer does not match the offer: {0}")]
    AnswerMismatch(&'static str),
}

impl NegotiationError {
    /// The SIP response code to reject the INVITE (or the ACK's answer) with.
    pub fn sip_status(&self) -> u16 {
        488
    }

    /// The error for a negotiation in which nothing was accepted: decided
    /// by the first audio or video line's refusal.
    pub(crate) fn from_refusals(refused: &[RefusedStream]) -> Self {
        let first = refused
            .iter()
            .find(|r| matches!(r.media, MediaType::Audio | MediaType::Video));
        match first.map(|r| &r.reason) {
            None | Some(RefusalReason::Disabled) => NegotiationError::NoMedia,
            Some(RefusalReason::SrtpRequired | RefusalReason::NoUsableCrypto) => {
                NegotiationError::SrtpMismatch
            }
            Some(RefusalReason::UnsupportedTransport(_)) => NegotiationError::UnsupportedTransport,
            Some(_) => NegotiationError::NoCommonCodec,
        }
    }
}
