//! Media statistics of a call, as `GET /api/v1/calls` shows them.

use serde::Serialize;

/// Both streams of the SIP leg.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MediaStats {
    pub audio: StreamStats,
    pub video: StreamStats,
    /// Lines of the slate the caller sees, if any.
    pub slate: Option<Vec<String>>,
    /// The prompt or sound playing (`en/welcome`, `lobby`), if any.
    pub playing: Option<String>,
    /// The meeting's composite view sent instead of a slate (`speaker_plus_7`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub view: Option<String>,
}

/// One stream, both directions.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StreamStats {
    /// Where we send RTP: the address the caller's packets come from once latched.
    pub remote_rtp: Option<String>,
    pub remote_rtcp: Option<String>,
    /// True once a packet from the caller moved the destination (symmetric RTP).
    pub latched: bool,
    pub srtp: bool,
    pub packets_sent: u64,
    pub octets_sent: u64,
    pub packets_received: u64,
    pub octets_received: u64,
    /// From our receiver statistics (RFC 3550 A.3): may be negative with duplicates.
    pub packets_lost: i64,
    pub jitter_ms: f64,
    pub rtcp_sent: u64,
    pub rtcp_received: u64,
    /// Packets that did not parse, failed SRTP authentication or replayed.
    pub packets_dropped: u64,
    /// PLI/FIR (RTCP) or picture_fast_update (INFO) from the caller.
    pub keyframe_requests_received: u64,
    /// PLI/FIR/INFO we sent to the caller.
    pub keyframe_requests_sent: u64,
    /// Video from the caller decoded (once connected).
    pub frames_decoded: u64,
    pub width: u32,
    pub height: u32,
    pub decode_errors: u64,
}
