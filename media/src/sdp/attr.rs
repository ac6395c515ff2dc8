//! Typed `a=` attribute values: rtpmap, fmtp, rtcp-fb, crypto, rtcp.
//!
//! Each type parses from the text after `name:` and prints back in a
//! canonical form that parses to an equal value. A value that does not parse
//! makes the whole attribute an [`Attribute::Other`], kept verbatim.

use std::fmt;

use super::model::{Attribute, Connection, Direction};

/// SDP field separator: space or tab.
pub(crate) fn is_ws(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// Splits off the first whitespace-separated token; the rest is returned
/// with leading whitespace removed (interior whitespace is kept).
pub(crate) fn split_token(s: &str) -> (&str, &str) {
    let s = s.trim_start_matches(is_ws);
    match s.split_once(is_ws) {
        Some((tok, rest)) => (tok, rest.trim_start_matches(is_ws)),
        None => (s, ""),
    }
}

/// All whitespace-separated tokens.
pub(crate) fn tokens(s: &str) -> impl Iterator<Item = &str> {
    s.split(is_ws).filter(|t| !t.is_empty())
}

/// `a=rtpmap:<pt> <encoding>/<clock>[/<channels>]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rtpmap {
    pub payload_type: u8,
    /// Encoding name as written (compare case-insensitively).
    pub encoding: String,
    pub clock_rate: u32,
    /// Encoding parameters (audio channels), if written.
    pub channels: Option<u16>,
}

impl Rtpmap {
    fn parse(v: &str) -> Option<Self> {
        let (pt, rest) = split_token(v);
        if rest.is_empty() || rest.contains(is_ws) {
            return None;
        }
        let mut parts = rest.split('/');
        let encoding = parts.next().filter(|e| !e.is_empty())?;
        let clock_rate = parts.next()?.parse().ok()?;
        let channels = match parts.next() {
            Some(c) => Some(c.parse().ok()?),
            None => None,
        };
        if parts.next().is_some() {
            return None;
        }
        Some(Rtpmap {
            payload_type: pt.parse().ok()?,
            encoding: encoding.to_owned(),
            clock_rate,
            channels,
        })
    }
}

impl fmt::Display for Rtpmap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}/{}",
            self.payload_type, self.encoding, self.clock_rate
        )?;
        if let Some(ch) = self.channels {
            write!(f, "/{ch}")?;
        }
        Ok(())
    }
}

/// `a=fmtp:<pt> <parameters>`; the parameters are kept verbatim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fmtp {
    pub payload_type: u8,
    pub params: String,
}

impl Fmtp {
    fn parse(v: &str) -> Option<Self> {
        let (pt, rest) = split_token(v);
        Some(Fmtp {
            payload_type: pt.parse().ok()?,
            params: rest.to_owned(),
        })
    }

    /// `key=value` pairs separated by `;` (whitespace around each trimmed;
    /// a bare token gives an empty value). Keys keep their case.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        fmtp_pairs(&self.params)
    }
}

/// See [`Fmtp::pairs`].
pub fn fmtp_pairs(params: &str) -> impl Iterator<Item = (&str, &str)> {
    params
        .split(';')
        .map(|p| p.trim_matches(is_ws))
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (k.trim_matches(is_ws), v.trim_matches(is_ws)),
            None => (p, ""),
        })
}

impl fmt::Display for Fmtp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.payload_type)?;
        if !self.params.is_empty() {
            write!(f, " {}", self.params)?;
        }
        Ok(())
    }
}

/// The payload selector of `a=rtcp-fb`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FbPayload {
    /// `*`: every payload type of the m-line.
    All,
    Pt(u8),
}

impl FbPayload {
    /// Whether this selector covers `pt`.
    pub fn covers(self, pt: u8) -> bool {
        match self {
            FbPayload::All => true,
            FbPayload::Pt(p) => p == pt,
        }
    }
}

/// RFC 4585 `a=rtcp-fb:<pt|*> <type> [<parameters>]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtcpFb {
    pub payload: FbPayload,
    /// `nack`, `ccm`, `goog-remb`, `transport-cc`, …
    pub kind: String,
    /// The rest of the line verbatim (`pli`, `fir`, `fir tmmbr`…).
    pub param: Option<String>,
}

impl RtcpFb {
    fn parse(v: &str) -> Option<Self> {
        let (pt, rest) = split_token(v);
        let payload = if pt == "*" {
            FbPayload::All
        } else {
            FbPayload::Pt(pt.parse().ok()?)
        };
        let (kind, param) = split_token(rest);
        if kind.is_empty() {
            return None;
        }
        Some(RtcpFb {
            payload,
            kind: kind.to_owned(),
            param: (!param.is_empty()).then(|| param.to_owned()),
        })
    }
}

impl fmt::Display for RtcpFb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.payload {
            FbPayload::All => f.write_str("*")?,
            FbPayload::Pt(pt) => write!(f, "{pt}")?,
        }
        write!(f, " {}", self.kind)?;
        if let Some(p) = &self.param {
            write!(f, " {p}")?;
        }
        Ok(())
    }
}

/// RFC 4568 `a=crypto:<tag> <suite> <key-params> [<session-params>]`.
///
/// `Debug` redacts the key material: never log an SRTP key.
#[derive(Clone, PartialEq, Eq)]
pub struct Crypto {
    pub tag: u32,
    /// e.g. `AES_CM_128_HMAC_SHA1_80`.
    pub suite: String,
    /// `inline:<key||salt>[|lifetime][|MKI:length]`, possibly several
    /// separated by `;`, verbatim.
    pub key_params: String,
    /// Session parameters verbatim (`UNENCRYPTED_SRTCP`, `KDR=…`), if any.
    pub session_params: Option<String>,
}

/// One `inline:` key parameter split into its parts (borrowed).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct InlineKey<'a> {
    /// base64 of master key ‖ master salt.
    pub key_salt: &'a str,
    /// `2^31`, `2^48`, or a decimal count.
    pub lifetime: Option<&'a str>,
    /// `MKI:length`.
    pub mki: Option<&'a str>,
}

impl Crypto {
    fn parse(v: &str) -> Option<Self> {
        let (tag, rest) = split_token(v);
        let (suite, rest) = split_token(rest);
        let (key_params, session) = split_token(rest);
        if suite.is_empty() || key_params.is_empty() {
            return None;
        }
        Some(Crypto {
            tag: tag.parse().ok()?,
            suite: suite.to_owned(),
            key_params: key_params.to_owned(),
            session_params: (!session.is_empty()).then(|| session.to_owned()),
        })
    }

    /// The single `inline:` key parameter, or `None` if there is none or
    /// there are several (multiple keys are not supported).
    pub fn inline_key(&self) -> Option<InlineKey<'_>> {
        if self.key_params.contains(';') {
            return None;
        }
        let body = self.key_params.strip_prefix("inline:")?;
        let mut parts = body.split('|');
        let key_salt = parts.next().filter(|k| !k.is_empty())?;
        let (mut lifetime, mut mki) = (None, None);
        for part in parts {
            if part.contains(':') && mki.is_none() {
                mki = Some(part);
            } else if lifetime.is_none() && mki.is_none() {
                lifetime = Some(part);
            } else {
                return None;
            }
        }
        Some(InlineKey {
            key_salt,
            lifetime,
            mki,
        })
    }
}

impl fmt::Debug for Crypto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Crypto")
            .field("tag", &self.tag)
            .field("suite", &self.suite)
            .field("key_params", &"<redacted>")
            .field("session_params", &self.session_params)
            .finish()
    }
}

impl fmt::Debug for InlineKey<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InlineKey")
            .field("key_salt", &"<redacted>")
            .field("lifetime", &self.lifetime)
            .field("mki", &self.mki)
            .finish()
    }
}

impl fmt::Display for Crypto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.tag, self.suite, self.key_params)?;
        if let Some(s) = &self.session_params {
            write!(f, " {s}")?;
        }
        Ok(())
    }
}

/// RFC 3605 `a=rtcp:<port> [<nettype> <addrtype> <address>]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtcpAttr {
    pub port: u16,
    pub connection: Option<Connection>,
}

impl RtcpAttr {
    fn parse(v: &str) -> Option<Self> {
        let (port, rest) = split_token(v);
        let connection = if rest.is_empty() {
            None
        } else {
            Some(parse_connection(rest)?)
        };
        Some(RtcpAttr {
            port: port.parse().ok()?,
            connection,
        })
    }
}

impl fmt::Display for RtcpAttr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.port)?;
        if let Some(c) = &self.connection {
            write!(f, " {c}")?;
        }
        Ok(())
    }
}

/// `<nettype> <addrtype> <address>`: exactly three tokens.
pub(crate) fn parse_connection(v: &str) -> Option<Connection> {
    let mut t = tokens(v);
    let c = Connection {
        net_type: t.next()?.to_owned(),
        addr_type: t.next()?.to_owned(),
        address: t.next()?.to_owned(),
    };
    t.next().is_none().then_some(c)
}

/// Builds the typed attribute for `a=<name>[:<value>]`; falls back to
/// [`Attribute::Other`] when the name is unknown or the value malformed.
pub(crate) fn parse_attribute(name: &str, value: Option<&str>) -> Attribute {
    let typed = match (name, value) {
        ("rtpmap", Some(v)) => Rtpmap::parse(v).map(Attribute::Rtpmap),
        ("fmtp", Some(v)) => Fmtp::parse(v).map(Attribute::Fmtp),
        ("rtcp-fb", Some(v)) => RtcpFb::parse(v).map(Attribute::RtcpFb),
        ("crypto", Some(v)) => Crypto::parse(v).map(Attribute::Crypto),
        ("rtcp", Some(v)) => RtcpAttr::parse(v).map(Attribute::Rtcp),
        ("content", Some(v)) => Some(Attribute::Content(v.to_owned())),
        ("mid", Some(v)) => Some(Attribute::Mid(v.to_owned())),
        ("label", Some(v)) => Some(Attribute::Label(v.to_owned())),
        ("rtcp-mux", None) => Some(Attribute::RtcpMux),
        (n, None) => Direction::from_name(n).map(Attribute::Direction),
        _ => None,
    };
    typed.unwrap_or_else(|| Attribute::Other {
        name: name.to_owned(),
        value: value.map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rtpmap_forms() {
        let r = Rtpmap::parse("111 opus/48000/2").expect("valid");
        assert_eq!(
            (r.payload_type, r.clock_rate, r.channels),
            (111, 48000, Some(2))
        );
        assert_eq!(r.to_string(), "111 opus/48000/2");
        assert!(Rtpmap::parse("31 H26").is_none());
        assert!(Rtpmap::parse("96 H263-1998/90000/1/2").is_none());
        assert!(Rtpmap::parse("300 X/1").is_none());
    }

    #[test]
    fn crypto_inline_key_parts() {
        let c = Crypto::parse("1 AES_CM_128_HMAC_SHA1_80 inline:abc|2^31|1:4 UNENCRYPTED_SRTCP")
            .expect("valid");
        let k = c.inline_key().expect("inline");
        assert_eq!(
            (k.key_salt, k.lifetime, k.mki),
            ("abc", Some("2^31"), Some("1:4"))
        );
        assert_eq!(c.session_params.as_deref(), Some("UNENCRYPTED_SRTCP"));
        assert!(
            !format!("{c:?}").contains("abc"),
            "Debug must redact the key"
        );
    }

    #[test]
    fn fmtp_pairs_tolerate_spaces() {
        let f = Fmtp::parse("98 profile-level-id=42800C; packetization-mode=0").expect("valid");
        let v: Vec<_> = f.pairs().collect();
        assert_eq!(
            v,
            [("profile-level-id", "42800C"), ("packetization-mode", "0")]
        );
    }
}
