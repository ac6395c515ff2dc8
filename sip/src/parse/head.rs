//! The header section: start line, header lines, folding, Content-Length.

use super::{ParseError, names};
use crate::message::{Headers, Method};

pub(super) enum StartLine {
    Request { method: Method, uri: String },
    Response { status: u16, reason: String },
}

fn is_ws(c: char) -> bool {
    c == ' ' || c == '\t'
}

fn is_token(s: &str) -> bool {
    !s.is_empty() && s.chars().all(crate::headers::is_token_char)
}

/// Index just past the first empty line (`\n\n` or `\n\r\n`) and the index of the `\n` that
/// ends the last header line.
pub(super) fn find_head_end(buf: &[u8]) -> Option<(usize, usize)> {
    let mut i = 0;
    while let Some(off) = buf.get(i..)?.iter().position(|&b| b == b'\n') {
        let nl = i + off;
        match (buf.get(nl + 1), buf.get(nl + 2)) {
            (Some(b'\n'), _) => return Some((nl, nl + 2)),
            (Some(b'\r'), Some(b'\n')) => return Some((nl, nl + 3)),
            _ => i = nl + 1,
        }
    }
    None
}

/// One line without its trailing `\r`.
fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Checks the start line (bytes without the line end).
pub(super) fn start_line(line: &[u8]) -> Result<StartLine, ParseError> {
    let line = strip_cr(line);
    let line = std::str::from_utf8(line).map_err(|_| ParseError::NotUtf8)?;
    if line.chars().any(|c| c.is_control() && c != '\t') {
        return Err(ParseError::BadStartLine);
    }
    let line = line.trim_matches(is_ws);
    let is_sip_version = |v: &str| v.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("SIP/"));
    let check_version = |v: &str| {
        if v.eq_ignore_ascii_case("SIP/2.0") {
            Ok(())
        } else if is_sip_version(v) {
            Err(ParseError::UnsupportedVersion)
        } else {
            Err(ParseError::BadStartLine)
        }
    };
    if is_sip_version(line) {
        let (version, rest) = line.split_once(is_ws).unwrap_or((line, ""));
        check_version(version)?;
        let rest = rest.trim_start_matches(is_ws);
        let (code, reason) = rest.split_once(is_ws).unwrap_or((rest, ""));
        if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ParseError::BadStartLine);
        }
        let status: u16 = code.parse().map_err(|_| ParseError::BadStartLine)?;
        if !(100..=699).contains(&status) {
            return Err(ParseError::BadStartLine);
        }
        return Ok(StartLine::Response {
            status,
            reason: reason.trim_matches(is_ws).to_string(),
        });
    }
    let mut parts = line.split(is_ws).filter(|p| !p.is_empty());
    let (Some(method), Some(uri), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ParseError::BadStartLine);
    };
    check_version(version)?;
    let scheme_ok = uri.split_once(':').is_some_and(|(s, _)| {
        s.starts_with(|c: char| c.is_ascii_alphabetic())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    });
    if !is_token(method) || !scheme_ok {
        return Err(ParseError::BadStartLine);
    }
    Ok(StartLine::Request {
        method: Method::parse(method),
        uri: uri.to_string(),
    })
}

/// Parses a header section (start line and header lines, without the empty line).
pub(super) fn parse_head(head: &[u8]) -> Result<(StartLine, Headers), ParseError> {
    let (first, rest) = match head.iter().position(|&b| b == b'\n') {
        Some(nl) => (head.get(..nl), head.get(nl + 1..)),
        None => (Some(head), None),
    };
    let start = start_line(first.unwrap_or_default())?;
    let rest = std::str::from_utf8(rest.unwrap_or_default()).map_err(|_| ParseError::NotUtf8)?;
    let mut headers = Headers::new();
    // `rest` never ends with a line end: the caller cut the head before the empty line.
    let lines = if rest.is_empty() {
        None
    } else {
        Some(rest.split('\n'))
    };
    for (n, line) in lines.into_iter().flatten().enumerate() {
        let line_no = n + 2;
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.contains('\r') {
            return Err(ParseError::BadHeader { line: line_no });
        }
        if line.starts_with(is_ws) {
            let (_, value) = headers
                .0
                .last_mut()
                .ok_or(ParseError::BadHeader { line: line_no })?;
            let more = line.trim_matches(is_ws);
            if !more.is_empty() {
                if !value.is_empty() {
                    value.push(' ');
                }
                value.push_str(more);
            }
            continue;
        }
        let (name, value) = line
            .split_once(':')
            .ok_or(ParseError::MissingColon { line: line_no })?;
        let name = name.trim_end_matches(is_ws);
        if !is_token(name) {
            return Err(ParseError::BadHeader { line: line_no });
        }
        let name = names::canonical(name).map_or_else(|| name.to_string(), str::to_string);
        headers.push(name, value.trim_matches(is_ws));
    }
    Ok((start, headers))
}

/// The Content-Length, if present; every entry must agree.
pub(super) fn content_length(headers: &Headers) -> Result<Option<usize>, ParseError> {
    let mut found = None;
    for v in headers.get_all("Content-Length") {
        let v = v.trim_matches(is_ws);
        if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ParseError::BadContentLength);
        }
        let n: usize = v.parse().map_err(|_| ParseError::BadContentLength)?;
        if found.is_some_and(|f| f != n) {
            return Err(ParseError::BadContentLength);
        }
        found = Some(n);
    }
    Ok(found)
}
