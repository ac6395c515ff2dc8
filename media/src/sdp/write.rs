//! [`SessionDescription`] → SDP text (CRLF line endings, RFC 8866 order).
//!
//! The output of a parsed description parses back to an equal value (the
//! `sdp_parse` fuzz target checks this). Values are written as stored: a
//! description built by hand must not put CR or LF inside a value.

use std::fmt;

use super::model::{
    Attribute, Bandwidth, Connection, ExtraLine, MediaDescription, Origin, SessionDescription,
};

impl fmt::Display for SessionDescription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("v=0\r\n")?;
        write!(f, "o={}\r\n", self.origin)?;
        write!(f, "s={}\r\n", self.session_name)?;
        if let Some(i) = &self.session_info {
            write!(f, "i={i}\r\n")?;
        }
        let (before_c, after_t): (Vec<&ExtraLine>, Vec<&ExtraLine>) =
            self.extra.iter().partition(|e| e.rank() == 0);
        for e in before_c {
            write!(f, "{e}\r\n")?;
        }
        if let Some(c) = &self.connection {
            write!(f, "c={c}\r\n")?;
        }
        for b in &self.bandwidths {
            write!(f, "b={b}\r\n")?;
        }
        for t in &self.timings {
            write!(f, "t={} {}\r\n", t.start, t.stop)?;
        }
        for e in after_t {
            write!(f, "{e}\r\n")?;
        }
        for a in &self.attributes {
            write!(f, "a={a}\r\n")?;
        }
        for m in &self.media {
            write!(f, "{m}")?;
        }
        Ok(())
    }
}

impl fmt::Display for MediaDescription {
    /// The whole section, each line ending in CRLF.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "m={} {}", self.media.as_str(), self.port)?;
        if let Some(n) = self.port_count {
            write!(f, "/{n}")?;
        }
        write!(f, " {}", self.protocol)?;
        for fmt in &self.formats {
            write!(f, " {fmt}")?;
        }
        f.write_str("\r\n")?;
        if let Some(i) = &self.info {
            write!(f, "i={i}\r\n")?;
        }
        for c in &self.connections {
            write!(f, "c={c}\r\n")?;
        }
        for b in &self.bandwidths {
            write!(f, "b={b}\r\n")?;
        }
        for e in &self.extra {
            write!(f, "{e}\r\n")?;
        }
        for a in &self.attributes {
            write!(f, "a={a}\r\n")?;
        }
        Ok(())
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {} {} {}",
            self.username,
            self.session_id,
            self.session_version,
            self.net_type,
            self.addr_type,
            self.address
        )
    }
}

impl fmt::Display for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.net_type, self.addr_type, self.address)
    }
}

impl fmt::Display for Bandwidth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind.as_str(), self.value)
    }
}

impl fmt::Display for ExtraLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.kind, self.value)
    }
}

impl fmt::Display for Attribute {
    /// The text after `a=`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Attribute::Rtpmap(r) => write!(f, "rtpmap:{r}"),
            Attribute::Fmtp(x) => write!(f, "fmtp:{x}"),
            Attribute::RtcpFb(x) => write!(f, "rtcp-fb:{x}"),
            Attribute::Crypto(x) => write!(f, "crypto:{x}"),
            Attribute::Direction(d) => f.write_str(d.as_str()),
            Attribute::Content(v) => write!(f, "content:{v}"),
            Attribute::Rtcp(x) => write!(f, "rtcp:{x}"),
            Attribute::RtcpMux => f.write_str("rtcp-mux"),
            Attribute::Mid(v) => write!(f, "mid:{v}"),
            Attribute::Label(v) => write!(f, "label:{v}"),
            Attribute::Other { name, value: None } => f.write_str(name),
            Attribute::Other {
                name,
                value: Some(v),
            } => write!(f, "{name}:{v}"),
        }
    }
}
