//! Typed views of the headers the stack reads. Each has `parse(&str)` over one header value
//! (one element of a list header) and a `Display` that parses back to an equal value.
//! Unknown parameters are kept in order; values are kept as received (quotes included).

mod name_addr;
mod params;
mod uri;
mod via;

pub use name_addr::NameAddr;
pub use params::{Params, find_param, set_param};
pub use uri::{Scheme, SipUri};
pub use via::{Via, top_via};

use crate::message::{Headers, Method};
pub(crate) use params::is_token_char;
use params::{Cursor, is_ws, parse_params};
use std::fmt;

/// Why a header value could not be read. Messages are for logs, not a contract.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HeaderError {
    /// A header the caller needed is absent.
    #[error("missing {0} header")]
    Missing(&'static str),
    /// The value does not match the header's grammar.
    #[error("malformed {what}: {why}")]
    Malformed {
        what: &'static str,
        why: &'static str,
    },
}

/// `CSeq: 4711 INVITE` (RFC 3261 §20.16).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CSeq {
    pub seq: u32,
    pub method: Method,
}

impl CSeq {
    pub fn parse(s: &str) -> Result<Self, HeaderError> {
        let bad = |why| HeaderError::Malformed { what: "CSeq", why };
        let mut c = Cursor::new(s.trim_matches(is_ws));
        let seq = c
            .take_while(|ch| ch.is_ascii_digit())
            .parse()
            .map_err(|_| bad("bad sequence number"))?;
        if c.skip_ws() == 0 {
            return Err(bad("missing space before method"));
        }
        let method = c.take_while(is_token_char);
        if method.is_empty() || !c.at_end() {
            return Err(bad("bad method"));
        }
        Ok(Self {
            seq,
            method: Method::parse(method),
        })
    }
}

impl fmt::Display for CSeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.seq, self.method)
    }
}

/// Who refreshes a session (RFC 4028 `refresher`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refresher {
    Uac,
    Uas,
}

/// `Session-Expires: 1800;refresher=uac` (RFC 4028 §4). Other parameters are dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionExpires {
    pub delta: u32,
    pub refresher: Option<Refresher>,
}

fn delta_seconds(c: &mut Cursor<'_>, what: &'static str) -> Result<u32, HeaderError> {
    c.skip_ws();
    c.take_while(|ch| ch.is_ascii_digit())
        .parse()
        .map_err(|_| HeaderError::Malformed {
            what,
            why: "bad delta-seconds",
        })
}

impl SessionExpires {
    pub fn parse(s: &str) -> Result<Self, HeaderError> {
        let mut c = Cursor::new(s);
        let delta = delta_seconds(&mut c, "Session-Expires")?;
        let params = parse_params(&mut c, "Session-Expires")?;
        let refresher = match find_param(&params, "refresher") {
            None => None,
            Some(Some(v)) if v.eq_ignore_ascii_case("uac") => Some(Refresher::Uac),
            Some(Some(v)) if v.eq_ignore_ascii_case("uas") => Some(Refresher::Uas),
            Some(_) => {
                return Err(HeaderError::Malformed {
                    what: "Session-Expires",
                    why: "refresher is not uac or uas",
                });
            }
        };
        Ok(Self { delta, refresher })
    }
}

impl fmt::Display for SessionExpires {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.delta)?;
        match self.refresher {
            Some(Refresher::Uac) => f.write_str(";refresher=uac"),
            Some(Refresher::Uas) => f.write_str(";refresher=uas"),
            None => Ok(()),
        }
    }
}

/// `Min-SE: 90` (RFC 4028 §5). Parameters are accepted and dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinSe(pub u32);

impl MinSe {
    pub fn parse(s: &str) -> Result<Self, HeaderError> {
        let mut c = Cursor::new(s);
        let delta = delta_seconds(&mut c, "Min-SE")?;
        parse_params(&mut c, "Min-SE")?;
        Ok(Self(delta))
    }
}

impl fmt::Display for MinSe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The option tags of `Supported`, `Require` (or any comma-separated token list header)
/// across all its entries, as received. Tags that are not tokens are skipped.
pub fn option_tags(headers: &Headers, name: &str) -> Vec<String> {
    headers
        .values(name)
        .into_iter()
        .filter(|t| t.chars().all(is_token_char))
        .collect()
}
