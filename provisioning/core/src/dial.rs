//! SIP URIs (just enough of RFC 3261 §19.1 for the dial plan) and dial strings.
//!
//! Dial strings: `key@domain` (IVR), `key.conf@domain` and `conf.key@domain` (direct dial).

use crate::model::TenantKey;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipUri {
    pub secure: bool,
    pub user: Option<String>,
    /// Lowercase host; IPv6 without brackets.
    pub host: String,
    pub port: Option<u16>,
}

/// Parses `sip:`/`sips:` URIs, also inside name-addr form (`"Room" <sip:a@b>;tag=x`).
pub fn parse_sip_uri(input: &str) -> Result<SipUri, &'static str> {
    let s = input.trim();
    let s = match (s.find('<'), s.rfind('>')) {
        (Some(a), Some(b)) if a < b => &s[a + 1..b],
        (None, None) => s,
        _ => return Err("unbalanced '<' '>'"),
    };
    let (secure, rest) = if let Some(r) = strip_prefix_ci(s, "sips:") {
        (true, r)
    } else if let Some(r) = strip_prefix_ci(s, "sip:") {
        (false, r)
    } else {
        return Err("not a sip: or sips: URI");
    };
    // Headers (`?`) and URI parameters (`;`) follow the host; the user part may itself
    // contain ';' (user parameters) but never an unescaped '@'.
    let rest = rest.split('?').next().unwrap_or_default();
    let (user, hostport) = match rest.rfind('@') {
        Some(i) => (Some(&rest[..i]), &rest[i + 1..]),
        None => (None, rest),
    };
    let hostport = hostport.split(';').next().unwrap_or_default();
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        let end = v6.find(']').ok_or("unterminated IPv6 reference")?;
        let host = &v6[..end];
        let after = &v6[end + 1..];
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p.parse::<u16>().map_err(|_| "bad port")?),
            None if after.is_empty() => None,
            None => return Err("junk after IPv6 reference"),
        };
        if host.parse::<std::net::Ipv6Addr>().is_err() {
            return Err("bad IPv6 address");
        }
        (host.to_string(), port)
    } else {
        match hostport.split_once(':') {
            Some((h, p)) => (
                h.to_string(),
                Some(p.parse::<u16>().map_err(|_| "bad port")?),
            ),
            None => (hostport.to_string(), None),
        }
    };
    if host.is_empty()
        || !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':'))
    {
        return Err("bad host");
    }
    let user = match user {
        Some(u) => {
            // User parameters (`;user=phone` style inside the user part) are not dial digits.
            let u = u.split(':').next().unwrap_or_default(); // drop a password
            let u = u.split(';').next().unwrap_or_default();
            let u = percent_decode(u).ok_or("bad %-escape in user part")?;
            if u.is_empty() { None } else { Some(u) }
        }
        None => None,
    };
    Ok(SipUri {
        secure,
        user,
        host: host.to_ascii_lowercase().trim_end_matches('.').to_string(),
        port,
    })
}

fn strip_prefix_ci<'a>(s: &'a str, p: &str) -> Option<&'a str> {
    match s.get(..p.len()) {
        Some(h) if h.eq_ignore_ascii_case(p) => Some(&s[p.len()..]),
        _ => None,
    }
}

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Which order a direct-dial string used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum Order {
    KeyConf,
    ConfKey,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectCandidate {
    pub key: TenantKey,
    pub conference_id: String,
    pub order: Order,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialString {
    /// `key@domain`.
    Ivr(TenantKey),
    /// `a.b@domain`: one or two readings, key.conf first.
    Direct(Vec<DirectCandidate>),
}

/// Reads a dial string from the user part and host of the request-URI.
pub fn parse_dial_string(user: &str, domain: &str) -> Result<DialString, &'static str> {
    let is_conf = |s: &str| !s.is_empty() && s.len() <= 32 && s.bytes().all(|b| b.is_ascii_digit());
    match user.split_once('.') {
        None => TenantKey::from_parts(user, domain)
            .map(DialString::Ivr)
            .map_err(|_| "the user part is not a tenant key"),
        Some((a, b)) => {
            if b.contains('.') {
                return Err("a dial string has at most one '.'");
            }
            let mut v = Vec::with_capacity(2);
            if is_conf(b)
                && let Ok(key) = TenantKey::from_parts(a, domain)
            {
                v.push(DirectCandidate {
                    key,
                    conference_id: b.to_string(),
                    order: Order::KeyConf,
                });
            }
            if is_conf(a)
                && let Ok(key) = TenantKey::from_parts(b, domain)
            {
                v.push(DirectCandidate {
                    key,
                    conference_id: a.to_string(),
                    order: Order::ConfKey,
                });
            }
            if v.is_empty() {
                Err("not key.conference or conference.key")
            } else {
                Ok(DialString::Direct(v))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris() {
        let u = parse_sip_uri("sip:813878896.0179206841@T.PLCM.VC:5060;transport=tcp").expect("ok");
        assert_eq!(u.user.as_deref(), Some("813878896.0179206841"));
        assert_eq!(u.host, "t.plcm.vc");
        assert_eq!(u.port, Some(5060));
        assert!(!u.secure);
        let u = parse_sip_uri("\"Room 1\" <sips:room%31@[2001:db8::1]:5061>;tag=abc").expect("ok");
        assert_eq!(u.user.as_deref(), Some("room1"));
        assert_eq!(u.host, "2001:db8::1");
        assert!(u.secure);
        let u = parse_sip_uri("SIP:example.com").expect("ok");
        assert_eq!(u.user, None);
        for bad in [
            "",
            "tel:+1234",
            "sip:",
            "sip:a@[::1",
            "sip:a@b:99999",
            "<sip:a@b",
            "sip:a@b c",
            "sip:%zz@b",
            "sip:a@[zz]",
        ] {
            assert!(parse_sip_uri(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn dial_strings() {
        assert_eq!(
            parse_dial_string("813878896", "t.plcm.vc"),
            Ok(DialString::Ivr(
                TenantKey::parse("813878896@t.plcm.vc").expect("key")
            ))
        );
        let DialString::Direct(c) =
            parse_dial_string("813878896.0179206841", "t.plcm.vc").expect("ok")
        else {
            panic!("direct expected")
        };
        // Both parts are digits: both readings, key.conf first.
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].order, Order::KeyConf);
        assert_eq!(c[0].key.local(), "813878896");
        assert_eq!(c[1].order, Order::ConfKey);
        assert_eq!(c[1].key.local(), "0179206841");
        let DialString::Direct(c) = parse_dial_string("0179206841.acme", "x.com").expect("ok")
        else {
            panic!("direct expected")
        };
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].order, Order::ConfKey);
        assert!(parse_dial_string("a.b", "x.com").is_err());
        assert!(parse_dial_string("1.2.3", "x.com").is_err());
        assert!(parse_dial_string("", "x.com").is_err());
    }
}
