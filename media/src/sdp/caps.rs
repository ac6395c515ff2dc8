//! What the gateway's SIP leg can do ([`LocalCapabilities`]) and where it
//! listens ([`LocalAddrs`]): the only inputs to negotiation besides the
//! remote SDP.

use std::net::{IpAddr, Ipv4Addr};

use super::h264::{H264Level, H264Profile};
use super::model::Direction;
use super::srtp::SrtpSuite;

/// An audio codec the media pipeline can decode and encode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AudioCodec {
    /// G.711 µ-law, static PT 0.
    Pcmu,
    /// G.711 A-law, static PT 8.
    Pcma,
    /// G.722, static PT 9 (RTP clock 8000 by RFC 3551's historical error).
    G722,
    /// Opus, `opus/48000/2` (RFC 7587).
    Opus,
}

impl AudioCodec {
    /// Encoding name as written in `a=rtpmap`.
    pub fn encoding(self) -> &'static str {
        match self {
            AudioCodec::Pcmu => "PCMU",
            AudioCodec::Pcma => "PCMA",
            AudioCodec::G722 => "G722",
            AudioCodec::Opus => "opus",
        }
    }

    /// RTP clock rate.
    pub fn clock_rate(self) -> u32 {
        match self {
            AudioCodec::Opus => 48000,
            _ => 8000,
        }
    }

    /// Channel count we write in an rtpmap (only Opus writes one).
    pub fn channels(self) -> Option<u16> {
        match self {
            AudioCodec::Opus => Some(2),
            _ => None,
        }
    }

    /// Payload type we use in our own offers.
    pub fn offer_payload_type(self) -> u8 {
        match self {
            AudioCodec::Pcmu => 0,
            AudioCodec::Pcma => 8,
            AudioCodec::G722 => 9,
            AudioCodec::Opus => 111,
        }
    }

    /// Our receive-side fmtp, if any.
    pub fn local_fmtp(self) -> Option<&'static str> {
        match self {
            AudioCodec::Opus => Some("minptime=10;useinbandfec=1"),
            _ => None,
        }
    }

    /// Whether an offered `encoding/clock[/channels]` is this codec.
    /// Opus without a channel count is accepted (Linphone 3.x writes
    /// `opus/48000`); RFC 7587 requires `/2`.
    pub fn matches(self, encoding: &str, clock_rate: u32, channels: Option<u16>) -> bool {
        encoding.eq_ignore_ascii_case(self.encoding())
            && clock_rate == self.clock_rate()
            && match self {
                AudioCodec::Opus => matches!(channels, None | Some(2)),
                _ => matches!(channels, None | Some(1)),
            }
    }
}

/// The RTCP feedback messages the video pipeline handles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RtcpFeedback {
    /// `nack` (RFC 4585 generic NACK).
    Nack,
    /// `nack pli` (picture loss indication).
    NackPli,
    /// `ccm fir` (RFC 5104 full intra request).
    CcmFir,
}

impl RtcpFeedback {
    /// `(type, parameter)` as written in `a=rtcp-fb`.
    pub fn sdp(self) -> (&'static str, Option<&'static str>) {
        match self {
            RtcpFeedback::Nack => ("nack", None),
            RtcpFeedback::NackPli => ("nack", Some("pli")),
            RtcpFeedback::CcmFir => ("ccm", Some("fir")),
        }
    }
}

/// Whether the codec choice follows the offer's order (RFC 3264 §6.1
/// recommends it) or ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodecPreference {
    Offerer,
    Local,
}

/// SDES-SRTP policy for the SIP leg.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SrtpPolicy {
    /// Plain RTP only; RTP/SAVP lines are refused.
    Disabled,
    /// SRTP when the offer has a usable `a=crypto`, plain RTP otherwise.
    Optional,
    /// Streams without usable SRTP are refused.
    Required,
}

/// H.264 capabilities (the only video codec of the SIP leg for now).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct H264Capabilities {
    /// Profiles we decode, in our preference order. An offered profile is
    /// accepted when it is a subset of one of these
    /// ([`H264Profile::is_subset_of`]).
    pub profiles: Vec<H264Profile>,
    /// Highest level we decode.
    pub max_level: H264Level,
    /// Packetization modes we handle, preferred first.
    pub packetization_modes: Vec<u8>,
    pub level_asymmetry_allowed: bool,
    /// Advertised `max-fs` / `max-mbps` beyond `max_level`.
    pub max_fs: Option<u32>,
    pub max_mbps: Option<u32>,
}

/// Video capabilities.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoCapabilities {
    pub h264: H264Capabilities,
    /// Feedback we answer/offer.
    pub rtcp_fb: Vec<RtcpFeedback>,
    /// Receive bitrate we announce (`b=AS`, `b=TIAS`), in kbit/s.
    pub max_bitrate_kbps: Option<u32>,
}

/// Everything negotiation needs to know about the gateway's media side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalCapabilities {
    /// Audio codecs in preference order (used for offers and with
    /// [`CodecPreference::Local`]).
    pub audio: Vec<AudioCodec>,
    /// RFC 4733 telephone-event at the chosen codec's clock rate.
    pub telephone_event: bool,
    /// `None`: every video line is refused.
    pub video: Option<VideoCapabilities>,
    pub srtp: SrtpPolicy,
    /// Suites we accept, preferred first (answers take the offer's order).
    pub srtp_suites: Vec<SrtpSuite>,
    /// Answer `a=crypto` found in an RTP/AVP line (Cisco/TANDBERG
    /// "best-effort SRTP") with crypto, keeping RTP/AVP.
    pub best_effort_srtp: bool,
    /// Accept (and offer) RFC 5761 rtcp-mux.
    pub rtcp_mux: bool,
    pub preference: CodecPreference,
    /// What the gateway is willing to do; answers intersect it with the
    /// reversed offered direction.
    pub direction: Direction,
}

impl Default for H264Capabilities {
    /// Constrained Baseline, Baseline, Main, High up to level 4.0
    /// (1080p30: 8160 of 8192 macroblocks, 244800 of 245760 MB/s),
    /// packetization-mode 1 preferred over 0.
    fn default() -> Self {
        H264Capabilities {
            profiles: vec![
                H264Profile::ConstrainedBaseline,
                H264Profile::Baseline,
                H264Profile::Main,
                H264Profile::High,
            ],
            max_level: H264Level::L4,
            packetization_modes: vec![1, 0],
            level_asymmetry_allowed: true,
            max_fs: None,
            max_mbps: None,
        }
    }
}

impl Default for VideoCapabilities {
    fn default() -> Self {
        VideoCapabilities {
            h264: H264Capabilities::default(),
            rtcp_fb: vec![
                RtcpFeedback::Nack,
                RtcpFeedback::NackPli,
                RtcpFeedback::CcmFir,
            ],
            max_bitrate_kbps: Some(4096),
        }
    }
}

impl Default for LocalCapabilities {
    /// Opus first (no transcoding toward a WebRTC meeting), then G.722
    /// (wideband), PCMU, PCMA; SRTP optional with both AES-CM-128 suites.
    fn default() -> Self {
        LocalCapabilities {
            audio: vec![
                AudioCodec::Opus,
                AudioCodec::G722,
                AudioCodec::Pcmu,
                AudioCodec::Pcma,
            ],
            telephone_event: true,
            video: Some(VideoCapabilities::default()),
            srtp: SrtpPolicy::Optional,
            srtp_suites: vec![
                SrtpSuite::AesCm128HmacSha1_80,
                SrtpSuite::AesCm128HmacSha1_32,
            ],
            best_effort_srtp: true,
            rtcp_mux: true,
            preference: CodecPreference::Offerer,
            direction: Direction::SendRecv,
        }
    }
}

/// Where the gateway receives media for one call. The caller binds the
/// sockets; negotiation only writes these numbers into the SDP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalAddrs {
    /// Address written in `o=` and `c=`.
    pub ip: IpAddr,
    /// RTP port of the audio stream (RTCP on +1 unless rtcp-mux).
    pub audio_port: u16,
    /// RTP port of the main video stream.
    pub video_port: u16,
}

impl Default for LocalAddrs {
    fn default() -> Self {
        LocalAddrs {
            ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            audio_port: 40000,
            video_port: 40002,
        }
    }
}
