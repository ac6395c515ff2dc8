//! SDP for the SIP leg: parse and serialize (RFC 8866), H.264 parameters
//! (RFC 6184), and offer/answer (RFC 3264) with SDES-SRTP (RFC 4568).
//!
//! Everything here is a pure function of its inputs: no IO, no clock, and
//! randomness only from a caller-supplied [`rand::RngCore`].

pub mod attr;
pub mod caps;
pub mod h264;
pub mod h264_fmtp;
pub mod model;
pub mod negotiate;
mod offer;
pub mod parse;
mod select;
pub mod srtp;
pub mod stream;
mod write;

pub use attr::{Crypto, FbPayload, Fmtp, InlineKey, RtcpAttr, RtcpFb, Rtpmap};
pub use caps::{
    AudioCodec, CodecPreference, H264Capabilities, LocalAddrs, LocalCapabilities, RtcpFeedback,
    SrtpPolicy, VideoCapabilities,
};
pub use h264::{H264Error, H264Level, H264Profile, LevelLimits, ProfileLevelId};
pub use h264_fmtp::{H264Answer, H264Local, H264Params, VideoLimits, answer_h264};
pub use model::{
    Attribute, Bandwidth, BandwidthType, Connection, Direction, ExtraLine, MediaDescription,
    MediaType, Origin, SessionDescription, Timing,
};
pub use negotiate::{accept_answer, answer, offer};
pub use parse::{MAX_SDP_LEN, ParseError};
pub use srtp::{SrtpKey, SrtpParams, SrtpSuite};
pub use stream::{
    Answer, ContentRole, NegotiatedCodec, NegotiatedStream, NegotiationError, RefusalReason,
    RefusedStream, StreamKind,
};
