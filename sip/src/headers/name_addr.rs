//! `name-addr / addr-spec` with header parameters: From, To, Contact, Route, Record-Route
//! (RFC 3261 §20.10, §25.1).

use super::HeaderError;
use super::params::{
    Cursor, Params, find_param, is_token_char, is_ws, parse_params, quote, set_param, unquote,
    write_params,
};
use std::fmt;

/// `display` is unquoted (escapes resolved); `uri` is the text inside `<…>` (or the bare
/// addr-spec) as received. Display always writes the `"name" <uri>;params` form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameAddr {
    pub display: Option<String>,
    pub uri: String,
    pub params: Params,
}

impl NameAddr {
    pub fn parse(s: &str) -> Result<Self, HeaderError> {
        let bad = |why| HeaderError::Malformed {
            what: "name-addr",
            why,
        };
        let s = s.trim_matches(is_ws);
        let mut c = Cursor::new(s);
        let display = if c.peek() == Some('"') {
            let raw = c
                .quoted_raw()
                .ok_or(bad("unterminated quoted display name"))?;
            c.skip_ws();
            if c.peek() != Some('<') {
                return Err(bad("display name not followed by <uri>"));
            }
            Some(unquote(raw))
        } else {
            match s.find(['<', ';', '"']) {
                Some(i) if s.get(i..).is_some_and(|r| r.starts_with('<')) => {
                    let d = c.take_while(|ch| ch != '<').trim_matches(is_ws);
                    // `*(token LWS)`; non-ASCII tolerated (devices send UTF-8 unquoted).
                    if !d
                        .chars()
                        .all(|ch| !ch.is_ascii() || is_token_char(ch) || is_ws(ch))
                    {
                        return Err(bad("display name is neither tokens nor quoted"));
                    }
                    (!d.is_empty()).then(|| d.to_string())
                }
                _ => return Self::parse_addr_spec(c),
            }
        };
        if !c.eat('<') {
            return Err(bad("expected <"));
        }
        let uri = c.take_while(|ch| ch != '>').trim_matches(is_ws);
        if !c.eat('>') {
            return Err(bad("unterminated <uri>"));
        }
        if uri.is_empty() || uri.contains('<') {
            return Err(bad("bad uri in <>"));
        }
        let params = parse_params(&mut c, "name-addr")?;
        Ok(Self {
            display,
            uri: uri.to_string(),
            params,
        })
    }

    /// The bare form: the URI ends at the first `;`, what follows are header parameters.
    fn parse_addr_spec(mut c: Cursor<'_>) -> Result<Self, HeaderError> {
        let bad = |why| HeaderError::Malformed {
            what: "addr-spec",
            why,
        };
        let uri = c.take_while(|ch| ch != ';' && !is_ws(ch));
        if !uri.contains(':')
            || uri.contains(['<', '>', '"', ','])
            || uri.chars().any(char::is_control)
        {
            return Err(bad("not a URI"));
        }
        let params = parse_params(&mut c, "addr-spec")?;
        Ok(Self {
            display: None,
            uri: uri.to_string(),
            params,
        })
    }

    pub fn tag(&self) -> Option<&str> {
        find_param(&self.params, "tag").flatten()
    }
    /// This name-addr with its `tag` parameter set (replaced if present).
    pub fn with_tag(mut self, tag: &str) -> Self {
        set_param(&mut self.params, "tag", Some(tag));
        self
    }
    /// `None`: absent; `Some(None)`: a flag without value.
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        find_param(&self.params, name)
    }
}

impl fmt::Display for NameAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(d) = &self.display {
            write!(f, "{} ", quote(d))?;
        }
        write!(f, "<{}>", self.uri)?;
        write_params(f, &self.params)
    }
}
