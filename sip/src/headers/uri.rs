//! SIP/SIPS/tel URIs (RFC 3261 §19.1, RFC 3966), and the `host[:port]` shared with Via.

use super::HeaderError;
use super::params::{Cursor, Params, find_param, is_ws};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    Sip,
    Sips,
    Tel,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Sip => "sip",
            Scheme::Sips => "sips",
            Scheme::Tel => "tel",
        }
    }
}

/// A parsed URI. Parts are kept as received (escapes not decoded). IPv6 hosts keep their
/// brackets (`[2001:db8::1]`). For `tel:` the number is in `host` and `user`/`port` are `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipUri {
    pub scheme: Scheme,
    /// Userinfo before `@` (user, and `:password` if sent).
    pub user: Option<String>,
    pub host: String,
    pub port: Option<u16>,
    pub params: Params,
    /// The `?…` part without the `?`; empty if none.
    pub headers: String,
}

fn is_host_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_'
}

/// Reads `host [":" port]`; IPv6 references in brackets. With `lws`, whitespace may surround
/// the colon (Via `sent-by`).
pub(crate) fn host_port(
    c: &mut Cursor<'_>,
    lws: bool,
    what: &'static str,
) -> Result<(String, Option<u16>), HeaderError> {
    let bad = |why| HeaderError::Malformed { what, why };
    let host = if c.eat('[') {
        let inner = c.take_while(|ch| ch.is_ascii_hexdigit() || ch == ':' || ch == '.');
        if inner.is_empty() || !inner.contains(':') || !c.eat(']') {
            return Err(bad("bad IPv6 reference"));
        }
        format!("[{inner}]")
    } else {
        let h = c.take_while(is_host_char);
        if h.is_empty() {
            return Err(bad("missing host"));
        }
        h.to_string()
    };
    let rest = c.rest();
    if lws {
        let ws = rest.len() - rest.trim_start_matches(is_ws).len();
        if rest.get(ws..).is_some_and(|r| r.starts_with(':')) {
            c.skip_ws();
        }
    }
    let port = if c.eat(':') {
        if lws {
            c.skip_ws();
        }
        let digits = c.take_while(|ch| ch.is_ascii_digit());
        Some(digits.parse::<u16>().map_err(|_| bad("bad port"))?)
    } else {
        None
    };
    Ok((host, port))
}

impl SipUri {
    pub fn parse(s: &str) -> Result<Self, HeaderError> {
        let bad = |why| HeaderError::Malformed { what: "URI", why };
        if s.chars()
            .any(|ch| ch.is_control() || ch.is_whitespace() || "<>\"".contains(ch))
        {
            return Err(bad("whitespace, control or delimiter character"));
        }
        let (scheme, rest) = s.split_once(':').ok_or(bad("no scheme"))?;
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "sip" => Scheme::Sip,
            "sips" => Scheme::Sips,
            "tel" => Scheme::Tel,
            _ => return Err(bad("unsupported scheme")),
        };
        let (user, hostpart) = match (scheme, rest.split_once('@')) {
            (Scheme::Tel, _) | (_, None) => (None, rest),
            (_, Some((u, h))) if !u.is_empty() => (Some(u.to_string()), h),
            _ => return Err(bad("empty user part")),
        };
        let mut c = Cursor::new(hostpart);
        let (host, port) = if scheme == Scheme::Tel {
            let number = c.take_while(|ch| ch != ';' && ch != '?');
            if number.is_empty() {
                return Err(bad("empty telephone number"));
            }
            (number.to_string(), None)
        } else {
            host_port(&mut c, false, "URI")?
        };
        let rest = c.rest();
        let (params_str, headers) = rest.split_once('?').unwrap_or((rest, ""));
        let params_str = match params_str.strip_prefix(';') {
            Some(p) => p,
            None if params_str.is_empty() => "",
            None => return Err(bad("unexpected text after host")),
        };
        let mut params = Params::new();
        for p in params_str.split(';').filter(|p| !p.is_empty()) {
            let (n, v) = match p.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (p, None),
            };
            if n.is_empty() {
                return Err(bad("empty parameter name"));
            }
            params.push((n.to_string(), v));
        }
        Ok(Self {
            scheme,
            user,
            host,
            port,
            params,
            headers: headers.to_string(),
        })
    }
    /// The `transport` parameter.
    pub fn transport(&self) -> Option<&str> {
        find_param(&self.params, "transport").flatten()
    }
    /// Whether the `lr` parameter is present (loose routing, RFC 3261 §19.1.1).
    pub fn lr(&self) -> bool {
        find_param(&self.params, "lr").is_some()
    }
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        find_param(&self.params, name)
    }
}

impl fmt::Display for SipUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.scheme.as_str())?;
        if let Some(u) = &self.user {
            write!(f, "{u}@")?;
        }
        f.write_str(&self.host)?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        super::params::write_params(f, &self.params)?;
        if !self.headers.is_empty() {
            write!(f, "?{}", self.headers)?;
        }
        Ok(())
    }
}
