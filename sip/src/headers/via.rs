//! Via (RFC 3261 §20.42, §18.2.1 `received`, RFC 3581 `rport`).

use super::HeaderError;
use super::params::{
    Cursor, Params, find_param, is_token_char, parse_params, set_param, write_params,
};
use super::uri::host_port;
use crate::message::Headers;
use std::fmt;

/// One `via-parm`. The protocol must be `SIP/2.0`; `transport` is upper-cased. IPv6 hosts
/// keep their brackets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Via {
    pub transport: String,
    pub host: String,
    pub port: Option<u16>,
    pub params: Params,
}

impl Via {
    pub fn parse(s: &str) -> Result<Self, HeaderError> {
        let bad = |why| HeaderError::Malformed { what: "Via", why };
        let mut c = Cursor::new(s.trim_matches(super::params::is_ws));
        let proto = c.take_while(is_token_char);
        c.skip_ws();
        if !proto.eq_ignore_ascii_case("SIP") || !c.eat('/') {
            return Err(bad("protocol is not SIP"));
        }
        c.skip_ws();
        let version = c.take_while(|ch| ch.is_ascii_digit() || ch == '.');
        c.skip_ws();
        if version != "2.0" || !c.eat('/') {
            return Err(bad("version is not 2.0"));
        }
        c.skip_ws();
        let transport = c.take_while(is_token_char).to_ascii_uppercase();
        if transport.is_empty() {
            return Err(bad("missing transport"));
        }
        if c.skip_ws() == 0 {
            return Err(bad("missing space before sent-by"));
        }
        let (host, port) = host_port(&mut c, true, "Via")?;
        let params = parse_params(&mut c, "Via")?;
        Ok(Self {
            transport,
            host,
            port,
            params,
        })
    }
    pub fn branch(&self) -> Option<&str> {
        find_param(&self.params, "branch").flatten()
    }
    /// `None`: no `rport`; `Some(None)`: `rport` without a (numeric) value; `Some(Some(p))`.
    pub fn rport(&self) -> Option<Option<u16>> {
        find_param(&self.params, "rport").map(|v| v.and_then(|p| p.parse().ok()))
    }
    pub fn received(&self) -> Option<&str> {
        find_param(&self.params, "received").flatten()
    }
    /// Sets (replacing) or adds a parameter, e.g. `received` and `rport` on arrival.
    pub fn set_param(&mut self, name: &str, value: Option<&str>) {
        set_param(&mut self.params, name, value);
    }
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SIP/2.0/{} {}", self.transport, self.host)?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        write_params(f, &self.params)
    }
}

/// The first Via of a message (the first element of the first Via header).
pub fn top_via(headers: &Headers) -> Result<Via, HeaderError> {
    let first = headers.get("Via").ok_or(HeaderError::Missing("Via"))?;
    let top = crate::message::split_list(first)
        .into_iter()
        .next()
        .ok_or(HeaderError::Missing("Via"))?;
    Via::parse(&top)
}
