//! The SDP data model (RFC 8866, formerly RFC 4566).
//!
//! The model is deliberately close to the wire: every line the parser does not
//! interpret is kept verbatim ([`ExtraLine`], [`Attribute::Other`]) so that an
//! offer can be logged, re-serialized and re-parsed to an equal value.
//! Serialization is the [`std::fmt::Display`] impl in `write.rs`; parsing is
//! [`SessionDescription::parse`] in `parse.rs`.

use std::net::IpAddr;

use super::attr::{Crypto, Fmtp, RtcpAttr, RtcpFb, Rtpmap};

/// A whole session description: session-level lines followed by media sections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDescription {
    /// `o=` (required).
    pub origin: Origin,
    /// `s=`; `"-"` when the offer had none (lenient).
    pub session_name: String,
    /// `i=` at session level.
    pub session_info: Option<String>,
    /// Session-level `c=`.
    pub connection: Option<Connection>,
    /// Session-level `b=` lines, in order.
    pub bandwidths: Vec<Bandwidth>,
    /// `t=` lines, in order (usually one `t=0 0`).
    pub timings: Vec<Timing>,
    /// Session-level `a=` lines, in order.
    pub attributes: Vec<Attribute>,
    /// Other session-level lines (`u= e= p= r= z= k=` and unknown letters),
    /// kept verbatim in RFC 8866 order (see [`ExtraLine::rank`]).
    pub extra: Vec<ExtraLine>,
    /// `m=` sections, in order.
    pub media: Vec<MediaDescription>,
}

/// `o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>`.
///
/// Session id and version are kept as text: some endpoints send numbers
/// wider than 64 bits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub username: String,
    pub session_id: String,
    pub session_version: String,
    pub net_type: String,
    pub addr_type: String,
    pub address: String,
}

/// `c=<nettype> <addrtype> <connection-address>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    pub net_type: String,
    pub addr_type: String,
    /// The address as written, including any `/ttl[/count]` suffix.
    pub address: String,
}

impl Connection {
    /// `IN IP4 a.b.c.d` or `IN IP6 ::1` for a local address.
    pub fn for_ip(ip: IpAddr) -> Self {
        Connection {
            net_type: "IN".into(),
            addr_type: if ip.is_ipv4() { "IP4" } else { "IP6" }.into(),
            address: ip.to_string(),
        }
    }

    /// The address as an IP, without any `/ttl` suffix; `None` for a host
    /// name or anything else that is not an IP literal.
    pub fn ip(&self) -> Option<IpAddr> {
        let host = self.address.split('/').next().unwrap_or_default();
        host.parse().ok()
    }
}

/// `b=<bwtype>:<bandwidth>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bandwidth {
    pub kind: BandwidthType,
    pub value: u64,
}

/// Bandwidth modifier. `AS` is kbit/s including IP/UDP/RTP overhead;
/// `TIAS` (RFC 3890) is bit/s without it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BandwidthType {
    As,
    Tias,
    Ct,
    Rs,
    Rr,
    /// Any other modifier, verbatim.
    Other(String),
}

impl BandwidthType {
    pub(crate) fn from_token(s: &str) -> Self {
        match s {
            "AS" => BandwidthType::As,
            "TIAS" => BandwidthType::Tias,
            "CT" => BandwidthType::Ct,
            "RS" => BandwidthType::Rs,
            "RR" => BandwidthType::Rr,
            other => BandwidthType::Other(other.to_owned()),
        }
    }

    /// The token as written on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            BandwidthType::As => "AS",
            BandwidthType::Tias => "TIAS",
            BandwidthType::Ct => "CT",
            BandwidthType::Rs => "RS",
            BandwidthType::Rr => "RR",
            BandwidthType::Other(s) => s,
        }
    }
}

/// `t=<start> <stop>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    pub start: u64,
    pub stop: u64,
}

/// A line the model does not interpret, kept verbatim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtraLine {
    /// The type letter (`u`, `e`, `p`, `r`, `z`, `k`, or an unknown one).
    pub kind: char,
    pub value: String,
}

impl ExtraLine {
    /// Position class for serialization in RFC 8866 order:
    /// `u e p` before `c=`, `r z k` after `t=`, unknown letters last.
    pub(crate) fn rank(&self) -> u8 {
        match self.kind {
            'u' | 'e' | 'p' => 0,
            'r' => 1,
            'z' => 2,
            'k' => 3,
            _ => 4,
        }
    }
}

/// The `<media>` token of an `m=` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaType {
    Audio,
    Video,
    Application,
    Text,
    Message,
    /// Anything else, verbatim (matching is case-sensitive).
    Other(String),
}

impl MediaType {
    pub(crate) fn from_token(s: &str) -> Self {
        match s {
            "audio" => MediaType::Audio,
            "video" => MediaType::Video,
            "application" => MediaType::Application,
            "text" => MediaType::Text,
            "message" => MediaType::Message,
            other => MediaType::Other(other.to_owned()),
        }
    }

    /// The token as written on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            MediaType::Audio => "audio",
            MediaType::Video => "video",
            MediaType::Application => "application",
            MediaType::Text => "text",
            MediaType::Message => "message",
            MediaType::Other(s) => s,
        }
    }
}

/// One `m=` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaDescription {
    pub media: MediaType,
    /// Transport port; 0 means the stream is disabled/refused.
    pub port: u16,
    /// The optional `/<number of ports>`.
    pub port_count: Option<u16>,
    /// Transport protocol, e.g. `RTP/AVP`, `RTP/SAVP`, `UDP/BFCP`.
    pub protocol: String,
    /// Format list: RTP payload types as text, or `*` for BFCP.
    pub formats: Vec<String>,
    /// Media-level `i=`.
    pub info: Option<String>,
    /// Media-level `c=` lines (more than one only for layered multicast).
    pub connections: Vec<Connection>,
    /// Media-level `b=` lines.
    pub bandwidths: Vec<Bandwidth>,
    /// Media-level `a=` lines, in order.
    pub attributes: Vec<Attribute>,
    /// Other media-level lines (`k=` and unknown letters), verbatim.
    pub extra: Vec<ExtraLine>,
}

impl MediaDescription {
    /// A section with no attributes.
    pub fn new(media: MediaType, port: u16, protocol: &str, formats: Vec<String>) -> Self {
        MediaDescription {
            media,
            port,
            port_count: None,
            protocol: protocol.to_owned(),
            formats,
            info: None,
            connections: Vec::new(),
            bandwidths: Vec::new(),
            attributes: Vec::new(),
            extra: Vec::new(),
        }
    }

    /// The formats that are valid RTP payload types (0..=127), in order.
    pub fn payload_types(&self) -> impl Iterator<Item = u8> + '_ {
        self.formats
            .iter()
            .filter_map(|f| f.parse::<u8>().ok())
            .filter(|pt| *pt <= 127)
    }

    /// The `a=rtpmap` for a payload type, if any (first wins).
    pub fn rtpmap(&self, pt: u8) -> Option<&Rtpmap> {
        self.attributes.iter().find_map(|a| match a {
            Attribute::Rtpmap(r) if r.payload_type == pt => Some(r),
            _ => None,
        })
    }

    /// The `a=fmtp` for a payload type, if any (first wins).
    pub fn fmtp(&self, pt: u8) -> Option<&Fmtp> {
        self.attributes.iter().find_map(|a| match a {
            Attribute::Fmtp(f) if f.payload_type == pt => Some(f),
            _ => None,
        })
    }

    /// The media-level direction attribute, if any.
    pub fn direction(&self) -> Option<Direction> {
        direction_of(&self.attributes)
    }

    /// Whether a value-less attribute (`a=rtcp-mux`, …) or a typed one of
    /// that name is present.
    pub fn has_flag(&self, name: &str) -> bool {
        self.attributes.iter().any(|a| a.name() == name)
    }

    /// The first bandwidth value of a type.
    pub fn bandwidth(&self, kind: &BandwidthType) -> Option<u64> {
        bandwidth_of(&self.bandwidths, kind)
    }
}

pub(crate) fn direction_of(attrs: &[Attribute]) -> Option<Direction> {
    attrs.iter().find_map(|a| match a {
        Attribute::Direction(d) => Some(*d),
        _ => None,
    })
}

pub(crate) fn bandwidth_of(bws: &[Bandwidth], kind: &BandwidthType) -> Option<u64> {
    bws.iter().find(|b| &b.kind == kind).map(|b| b.value)
}

/// RFC 3264 stream direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

impl Direction {
    /// The attribute name (`sendrecv`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    pub(crate) fn from_name(s: &str) -> Option<Self> {
        match s {
            "sendrecv" => Some(Direction::SendRecv),
            "sendonly" => Some(Direction::SendOnly),
            "recvonly" => Some(Direction::RecvOnly),
            "inactive" => Some(Direction::Inactive),
            _ => None,
        }
    }

    /// The direction seen from the other side: sendonly ↔ recvonly
    /// (RFC 3264 §6.1). This is the answer to an offered direction.
    pub fn reversed(self) -> Self {
        match self {
            Direction::SendOnly => Direction::RecvOnly,
            Direction::RecvOnly => Direction::SendOnly,
            d => d,
        }
    }

    /// Whether this side sends media.
    pub fn sends(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::SendOnly)
    }

    /// Whether this side receives media.
    pub fn receives(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::RecvOnly)
    }

    /// The direction allowed by both `self` and `other` (intersection of
    /// send and receive permissions).
    pub fn intersect(self, other: Direction) -> Direction {
        match (
            self.sends() && other.sends(),
            self.receives() && other.receives(),
        ) {
            (true, true) => Direction::SendRecv,
            (true, false) => Direction::SendOnly,
            (false, true) => Direction::RecvOnly,
            (false, false) => Direction::Inactive,
        }
    }
}

/// An `a=` line. Attributes the parser knows get a typed variant; a known
/// name whose value does not parse, and every unknown name, is kept verbatim
/// as [`Attribute::Other`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attribute {
    Rtpmap(Rtpmap),
    Fmtp(Fmtp),
    RtcpFb(RtcpFb),
    /// RFC 4568 SDES key (its `Debug` output redacts the key).
    Crypto(Crypto),
    Direction(Direction),
    /// RFC 4796 `a=content:` value (e.g. `main`, `slides`), verbatim.
    Content(String),
    /// RFC 3605 `a=rtcp:`.
    Rtcp(RtcpAttr),
    /// RFC 5761 `a=rtcp-mux`.
    RtcpMux,
    /// RFC 5888 `a=mid:`.
    Mid(String),
    /// RFC 4574 `a=label:`.
    Label(String),
    /// Anything else: `a=name` (value `None`) or `a=name:value`.
    Other {
        name: String,
        value: Option<String>,
    },
}

impl Attribute {
    /// The attribute name as written on the wire.
    pub fn name(&self) -> &str {
        match self {
            Attribute::Rtpmap(_) => "rtpmap",
            Attribute::Fmtp(_) => "fmtp",
            Attribute::RtcpFb(_) => "rtcp-fb",
            Attribute::Crypto(_) => "crypto",
            Attribute::Direction(d) => d.as_str(),
            Attribute::Content(_) => "content",
            Attribute::Rtcp(_) => "rtcp",
            Attribute::RtcpMux => "rtcp-mux",
            Attribute::Mid(_) => "mid",
            Attribute::Label(_) => "label",
            Attribute::Other { name, .. } => name,
        }
    }

    /// A value-less flag attribute, e.g. `Attribute::flag("rtcp-rsize")`.
    pub fn flag(name: &str) -> Self {
        Attribute::Other {
            name: name.to_owned(),
            value: None,
        }
    }

    /// A `name:value` attribute the model has no variant for.
    pub fn other(name: &str, value: &str) -> Self {
        Attribute::Other {
            name: name.to_owned(),
            value: Some(value.to_owned()),
        }
    }
}
