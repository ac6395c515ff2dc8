//! Bytes → [`Message`]: datagram (UDP) and stream (TCP/TLS) framing, tolerant of what real
//! endpoints send (LF-only line ends, compact and mixed-case header names, folding, spaces
//! around `:`), strict where a mistake would desynchronise a stream or hide an attack
//! (Content-Length, size limits, non-UTF-8 headers). [`validate_request`] checks the
//! RFC 3261 §8.1.1 mandatory headers. Never panics on any input.

mod head;
mod names;
mod validate;

pub use validate::validate_request;

use crate::message::{Message, Request, Response};
use head::{StartLine, content_length, find_head_end, parse_head, start_line};

/// Why bytes are not a SIP message. [`ParseError::status`] is the response to send to a
/// request that failed so (when one can be sent), [`ParseError::reason`] a short phrase for it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The first line is neither `Method SP Request-URI SP SIP-Version` nor
    /// `SIP-Version SP Status-Code SP Reason-Phrase`.
    #[error("malformed start line")]
    BadStartLine,
    /// `SIP/x.y` other than 2.0.
    #[error("unsupported SIP version")]
    UnsupportedVersion,
    /// A header line (1-based line number in the message) without `:`.
    #[error("header line {line} has no colon")]
    MissingColon { line: usize },
    /// A header line whose name is not a token, a continuation line with nothing to continue,
    /// or a bare CR inside a line.
    #[error("malformed header line {line}")]
    BadHeader { line: usize },
    /// Content-Length is not a number, or several disagree.
    #[error("malformed Content-Length")]
    BadContentLength,
    /// A stream message without Content-Length (RFC 3261 §18.3: mandatory on streams).
    #[error("Content-Length missing on a stream transport")]
    MissingContentLength,
    /// A datagram shorter than its Content-Length says.
    #[error("body has {available} bytes, Content-Length says {declared}")]
    BodyTruncated { declared: usize, available: usize },
    /// The header section (or, without its end, the bytes buffered) exceeds the limit.
    #[error("message exceeds {max} bytes")]
    TooLarge { max: usize },
    /// The header section fits but header section + Content-Length exceeds the limit.
    #[error("body of {declared} bytes exceeds the {max}-byte message limit")]
    BodyTooLarge { declared: usize, max: usize },
    /// The start line or a header line is not UTF-8.
    #[error("header section is not UTF-8")]
    NotUtf8,
}

impl ParseError {
    /// The status code to answer a request that failed to parse so.
    pub fn status(&self) -> u16 {
        match self {
            ParseError::UnsupportedVersion => 505,
            ParseError::TooLarge { .. } => 513,
            ParseError::BodyTooLarge { .. } => 413,
            _ => 400,
        }
    }
    /// A short phrase for a reason phrase or `Warning` text (no input echoed).
    pub fn reason(&self) -> &'static str {
        match self {
            ParseError::BadStartLine => "Malformed Start Line",
            ParseError::UnsupportedVersion => "Version Not Supported",
            ParseError::MissingColon { .. } => "Header Line Without Colon",
            ParseError::BadHeader { .. } => "Malformed Header Line",
            ParseError::BadContentLength => "Malformed Content-Length",
            ParseError::MissingContentLength => "Content-Length Required",
            ParseError::BodyTruncated { .. } => "Body Shorter Than Content-Length",
            ParseError::TooLarge { .. } => "Message Too Large",
            ParseError::BodyTooLarge { .. } => "Request Entity Too Large",
            ParseError::NotUtf8 => "Header Section Not UTF-8",
        }
    }
}

/// What one call to [`parse_stream`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamItem {
    Message(Message),
    /// A bare CRLFCRLF keep-alive ping (RFC 5626 §3.5.1); answer with CRLF.
    KeepAlive,
}

fn build(start: StartLine, headers: crate::message::Headers, body: &[u8]) -> Message {
    let body = body.to_vec();
    match start {
        StartLine::Request { method, uri } => Message::Request(Request {
            method,
            uri,
            headers,
            body,
        }),
        StartLine::Response { status, reason } => Message::Response(Response {
            status,
            reason,
            headers,
            body,
        }),
    }
}

/// Number of leading CR/LF bytes (a datagram may be preceded by stray line ends).
fn leading_line_ends(buf: &[u8]) -> usize {
    buf.iter()
        .take_while(|&&b| b == b'\r' || b == b'\n')
        .count()
}

/// Parses one UDP datagram. The body is Content-Length bytes (extra bytes are discarded,
/// RFC 3261 §18.3), or everything after the empty line if Content-Length is absent. A
/// datagram without an empty line is taken as headers only.
pub fn parse_datagram(buf: &[u8]) -> Result<Message, ParseError> {
    let buf = buf.get(leading_line_ends(buf)..).unwrap_or_default();
    let (head, rest) = match find_head_end(buf) {
        Some((nl, body_start)) => (buf.get(..nl), buf.get(body_start..)),
        None => {
            let head = buf.strip_suffix(b"\n").unwrap_or(buf);
            (Some(head.strip_suffix(b"\r").unwrap_or(head)), None)
        }
    };
    let (start, headers) = parse_head(head.unwrap_or_default())?;
    let rest = rest.unwrap_or_default();
    let body = match content_length(&headers)? {
        Some(n) => rest.get(..n).ok_or(ParseError::BodyTruncated {
            declared: n,
            available: rest.len(),
        })?,
        None => rest,
    };
    Ok(build(start, headers, body))
}

/// Frames one item from the front of a stream buffer. `Ok(None)`: need more bytes;
/// `Ok(Some((item, n)))`: drop `n` bytes from the buffer and call again. Single CRLFs before
/// a message are skipped (counted in `n`). Content-Length is mandatory. Errors are final
/// for the connection (framing is lost). A prefix of a buffer never yields a different
/// answer than the whole buffer, other than `Ok(None)`.
pub fn parse_stream(
    buf: &[u8],
    max_message: usize,
) -> Result<Option<(StreamItem, usize)>, ParseError> {
    let mut i = 0;
    loop {
        if i > max_message {
            // Endless stray line ends: refuse rather than buffer them forever.
            return Err(ParseError::TooLarge { max: max_message });
        }
        let rest = buf.get(i..).unwrap_or_default();
        if rest.starts_with(b"\r\n\r\n") {
            return Ok(Some((StreamItem::KeepAlive, i + 4)));
        }
        if rest.len() < 4 && b"\r\n\r\n".starts_with(rest) {
            return Ok(None); // empty, or maybe the start of a keep-alive
        }
        if rest.starts_with(b"\r\n") {
            i += 2;
        } else if rest.starts_with(b"\n") {
            i += 1;
        } else {
            break;
        }
    }
    let msg = buf.get(i..).unwrap_or_default();
    // Reject a bad start line as soon as it is complete, without waiting for the rest.
    let window = msg.get(..max_message).unwrap_or(msg);
    if let Some(nl) = window.iter().position(|&b| b == b'\n') {
        start_line(window.get(..nl).unwrap_or_default())?;
    }
    let Some((nl, body_start)) = find_head_end(msg) else {
        return if msg.len() > max_message {
            Err(ParseError::TooLarge { max: max_message })
        } else {
            Ok(None)
        };
    };
    if body_start > max_message {
        return Err(ParseError::TooLarge { max: max_message });
    }
    let (start, headers) = parse_head(msg.get(..nl).unwrap_or_default())?;
    let declared = content_length(&headers)?.ok_or(ParseError::MissingContentLength)?;
    let total = body_start
        .checked_add(declared)
        .filter(|&t| t <= max_message)
        .ok_or(ParseError::BodyTooLarge {
            declared,
            max: max_message,
        })?;
    let Some(body) = msg.get(body_start..total) else {
        return Ok(None);
    };
    Ok(Some((
        StreamItem::Message(build(start, headers, body)),
        i + total,
    )))
}
