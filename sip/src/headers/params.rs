//! Shared lexing for header values: a byte cursor that never panics, quoted strings and
//! `;name[=value]` generic parameters (RFC 3261 §25.1 `generic-param`).

use super::HeaderError;
use std::fmt;

/// Header or URI parameters in order, names as received (compare case-insensitively).
pub type Params = Vec<(String, Option<String>)>;

pub(crate) fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-.!%*_+`'~".contains(c)
}

pub(crate) fn is_ws(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// The value of parameter `name` (case-insensitive): `Some(None)` for a flag without value.
pub fn find_param<'a>(
    params: &'a [(String, Option<String>)],
    name: &str,
) -> Option<Option<&'a str>> {
    params
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_deref())
}

/// Replaces the first parameter `name` (case-insensitive, later duplicates removed) or appends it.
pub fn set_param(params: &mut Params, name: &str, value: Option<&str>) {
    let mut seen = false;
    params.retain_mut(|(n, v)| {
        if !n.eq_ignore_ascii_case(name) {
            return true;
        }
        if seen {
            return false;
        }
        seen = true;
        *v = value.map(str::to_string);
        true
    });
    if !seen {
        params.push((name.to_string(), value.map(str::to_string)));
    }
}

/// Writes `;name[=value]` for each parameter.
pub(crate) fn write_params(
    f: &mut fmt::Formatter<'_>,
    params: &[(String, Option<String>)],
) -> fmt::Result {
    for (n, v) in params {
        match v {
            Some(v) => write!(f, ";{n}={v}")?,
            None => write!(f, ";{n}")?,
        }
    }
    Ok(())
}

/// A position in a `&str`; every read is bounds-checked.
pub(crate) struct Cursor<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(s: &'a str) -> Self {
        Self { s, pos: 0 }
    }
    pub(crate) fn rest(&self) -> &'a str {
        self.s.get(self.pos..).unwrap_or("")
    }
    pub(crate) fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }
    pub(crate) fn at_end(&self) -> bool {
        self.rest().is_empty()
    }
    /// Consumes `c` if it is next.
    pub(crate) fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }
    pub(crate) fn take_while(&mut self, f: impl Fn(char) -> bool) -> &'a str {
        let rest = self.rest();
        let n = rest
            .char_indices()
            .find(|&(_, c)| !f(c))
            .map_or(rest.len(), |(i, _)| i);
        self.pos += n;
        rest.get(..n).unwrap_or("")
    }
    /// Skips spaces and tabs; returns how many bytes were skipped.
    pub(crate) fn skip_ws(&mut self) -> usize {
        self.take_while(is_ws).len()
    }
    /// Reads a quoted string starting at `"`; returns it raw (quotes and escapes kept).
    pub(crate) fn quoted_raw(&mut self) -> Option<&'a str> {
        let rest = self.rest();
        let mut chars = rest.char_indices();
        if chars.next().map(|(_, c)| c) != Some('"') {
            return None;
        }
        let mut escaped = false;
        for (i, c) in chars {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                let end = i + 1;
                self.pos += end;
                return rest.get(..end);
            }
        }
        None
    }
}

/// The content of a raw quoted string (`"a\"b"` → `a"b`).
pub(crate) fn unquote(raw: &str) -> String {
    let inner = raw
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .unwrap_or(raw);
    let mut out = String::with_capacity(inner.len());
    let mut escaped = false;
    for c in inner.chars() {
        if !escaped && c == '\\' {
            escaped = true;
            continue;
        }
        escaped = false;
        out.push(c);
    }
    out
}

/// `s` as a quoted string, escaping `"` and `\`.
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

fn is_value_char(c: char) -> bool {
    !c.is_control() && !is_ws(c) && !";,\"<>".contains(c)
}

/// Parses the rest of `c` as `*( SEMI generic-param )`, allowing whitespace around `;` and `=`.
/// Quoted values are kept raw, quotes included.
pub(crate) fn parse_params(c: &mut Cursor<'_>, what: &'static str) -> Result<Params, HeaderError> {
    let bad = |why| HeaderError::Malformed { what, why };
    let mut out = Params::new();
    loop {
        c.skip_ws();
        if c.at_end() {
            return Ok(out);
        }
        if !c.eat(';') {
            return Err(bad("unexpected text where `;param` expected"));
        }
        c.skip_ws();
        let name = c.take_while(is_token_char);
        if name.is_empty() {
            return Err(bad("empty parameter name"));
        }
        c.skip_ws();
        let value = if c.eat('=') {
            c.skip_ws();
            if c.peek() == Some('"') {
                Some(c.quoted_raw().ok_or(bad("unterminated quoted parameter"))?)
            } else {
                Some(c.take_while(is_value_char))
            }
        } else {
            None
        };
        out.push((name.to_string(), value.map(str::to_string)));
    }
}
