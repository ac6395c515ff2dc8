//! SDP text → [`SessionDescription`].
//!
//! Strict where it matters: every non-blank line must be `<letter>=<value>`,
//! the first must be `v=0`, `o=` is required, and the structural lines
//! (`o= c= b= t= m=`) must be well-formed. Lenient elsewhere: LF or CRLF,
//! trailing whitespace, blank lines, lines out of RFC order, unknown line
//! types and unknown or malformed attributes (kept verbatim).

use super::attr::{parse_attribute, parse_connection, split_token, tokens};
use super::model::{
    Bandwidth, BandwidthType, ExtraLine, MediaDescription, MediaType, Origin, SessionDescription,
    Timing,
};

/// Largest body accepted: a SIP message over UDP cannot be larger, and it
/// bounds the work done for one untrusted input.
pub const MAX_SDP_LEN: usize = 64 * 1024;

/// Why an SDP body was rejected. Every variant tied to a line carries its
/// 1-based line number. Messages are for logs, not a contract.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// No non-blank line.
    #[error("SDP body is empty")]
    Empty,
    /// Over [`MAX_SDP_LEN`] bytes.
    #[error("SDP body is larger than {max} bytes")]
    TooLarge { max: usize },
    /// The first line is not a `v=` line.
    #[error("line {line}: the first line must be v=0")]
    MissingVersion { line: usize },
    /// `v=` with a value other than 0.
    #[error("line {line}: unsupported SDP version")]
    UnsupportedVersion { line: usize },
    /// Not of the form `<letter>=<value>` (e.g. a line wrapped in transit).
    #[error("line {line}: not a <type>=<value> line")]
    MalformedLine { line: usize },
    /// NUL or a bare CR inside a line.
    #[error("line {line}: forbidden control character")]
    InvalidCharacter { line: usize },
    /// A structural line (`o= c= b= t= m=`) whose fields do not parse.
    #[error("line {line}: malformed {field}= line")]
    InvalidField { line: usize, field: char },
    /// A second `o=`, `s=` or session-level `c=`.
    #[error("line {line}: duplicate {field}= line")]
    DuplicateLine { line: usize, field: char },
    /// A session-only line (`v= o= s= t=`) inside a media section.
    #[error("line {line}: {field}= is not allowed in a media section")]
    UnexpectedLine { line: usize, field: char },
    /// The description has no `o=` line.
    #[error("SDP has no o= line")]
    MissingOrigin,
}

impl ParseError {
    /// The 1-based line number the error refers to, if any.
    pub fn line(&self) -> Option<usize> {
        match self {
            ParseError::MissingVersion { line }
            | ParseError::UnsupportedVersion { line }
            | ParseError::MalformedLine { line }
            | ParseError::InvalidCharacter { line }
            | ParseError::InvalidField { line, .. }
            | ParseError::DuplicateLine { line, .. }
            | ParseError::UnexpectedLine { line, .. } => Some(*line),
            ParseError::Empty | ParseError::TooLarge { .. } | ParseError::MissingOrigin => None,
        }
    }
}

impl SessionDescription {
    /// Parses an SDP body received as bytes. Invalid UTF-8 is replaced
    /// (U+FFFD) rather than rejected: legacy endpoints put Latin-1 in `s=`.
    pub fn parse_bytes(input: &[u8]) -> Result<Self, ParseError> {
        if input.len() > MAX_SDP_LEN {
            return Err(ParseError::TooLarge { max: MAX_SDP_LEN });
        }
        Self::parse(&String::from_utf8_lossy(input))
    }

    /// Parses an SDP body. See the module docs for what is strict.
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        if input.len() > MAX_SDP_LEN {
            return Err(ParseError::TooLarge { max: MAX_SDP_LEN });
        }
        let mut lines = input
            .split('\n')
            .enumerate()
            .map(|(i, l)| (i + 1, l.trim_end_matches([' ', '\t', '\r'])))
            .filter(|(_, l)| !l.trim_start_matches([' ', '\t']).is_empty());

        let (first_no, first) = lines.next().ok_or(ParseError::Empty)?;
        match split_line(first_no, first)? {
            ('v', "0") => {}
            ('v', _) => return Err(ParseError::UnsupportedVersion { line: first_no }),
            _ => return Err(ParseError::MissingVersion { line: first_no }),
        }

        let mut b = Builder::default();
        for (line, text) in lines {
            let (kind, value) = split_line(line, text)?;
            b.line(line, kind, value)?;
        }
        b.finish()
    }
}

/// Splits `x=value`, checking the type letter and forbidden characters.
fn split_line(line: usize, text: &str) -> Result<(char, &str), ParseError> {
    if text.contains(['\0', '\r']) {
        return Err(ParseError::InvalidCharacter { line });
    }
    let mut chars = text.chars();
    match (chars.next(), chars.next()) {
        (Some(kind), Some('=')) if kind.is_ascii_alphabetic() => Ok((kind, chars.as_str())),
        _ => Err(ParseError::MalformedLine { line }),
    }
}

/// Accumulates lines into a description.
#[derive(Default)]
struct Builder {
    origin: Option<Origin>,
    session_name: Option<String>,
    info: Option<String>,
    connection: Option<super::model::Connection>,
    bandwidths: Vec<Bandwidth>,
    timings: Vec<Timing>,
    attributes: Vec<super::model::Attribute>,
    extra: Vec<ExtraLine>,
    media: Vec<MediaDescription>,
}

impl Builder {
    fn line(&mut self, line: usize, kind: char, value: &str) -> Result<(), ParseError> {
        if let Some(m) = self.media.last_mut() {
            return match kind {
                'v' | 'o' | 's' | 't' => Err(ParseError::UnexpectedLine { line, field: kind }),
                'm' => self.media_line(line, value),
                'i' => {
                    m.info.get_or_insert_with(|| value.to_owned());
                    Ok(())
                }
                'c' => {
                    let c = parse_connection(value)
                        .ok_or(ParseError::InvalidField { line, field: 'c' })?;
                    m.connections.push(c);
                    Ok(())
                }
                'b' => {
                    m.bandwidths.push(parse_bandwidth(line, value)?);
                    Ok(())
                }
                'a' => {
                    m.attributes.push(attribute(value));
                    Ok(())
                }
                _ => {
                    m.extra.push(ExtraLine {
                        kind,
                        value: value.to_owned(),
                    });
                    Ok(())
                }
            };
        }
        match kind {
            'v' => return Err(ParseError::DuplicateLine { line, field: 'v' }),
            'o' if self.origin.is_some() => {
                return Err(ParseError::DuplicateLine { line, field: 'o' });
            }
            'o' => self.origin = Some(parse_origin(line, value)?),
            's' if self.session_name.is_some() => {
                return Err(ParseError::DuplicateLine { line, field: 's' });
            }
            's' => self.session_name = Some(value.to_owned()),
            'i' => {
                self.info.get_or_insert_with(|| value.to_owned());
            }
            'c' if self.connection.is_some() => {
                return Err(ParseError::DuplicateLine { line, field: 'c' });
            }
            'c' => {
                self.connection = Some(
                    parse_connection(value).ok_or(ParseError::InvalidField { line, field: 'c' })?,
                );
            }
            'b' => self.bandwidths.push(parse_bandwidth(line, value)?),
            't' => self.timings.push(parse_timing(line, value)?),
            'a' => self.attributes.push(attribute(value)),
            'm' => return self.media_line(line, value),
            _ => self.extra.push(ExtraLine {
                kind,
                value: value.to_owned(),
            }),
        }
        Ok(())
    }

    fn media_line(&mut self, line: usize, value: &str) -> Result<(), ParseError> {
        let bad = ParseError::InvalidField { line, field: 'm' };
        let mut t = tokens(value);
        let media = MediaType::from_token(t.next().ok_or(bad.clone())?);
        let port_text = t.next().ok_or(bad.clone())?;
        let (port, port_count) = match port_text.split_once('/') {
            Some((p, n)) => (p.parse().ok(), Some(n.parse().map_err(|_| bad.clone())?)),
            None => (port_text.parse().ok(), None),
        };
        let port = port.ok_or(bad.clone())?;
        let protocol = t.next().ok_or(bad)?;
        let mut m = MediaDescription::new(media, port, protocol, t.map(str::to_owned).collect());
        m.port_count = port_count;
        self.media.push(m);
        Ok(())
    }

    fn finish(mut self) -> Result<SessionDescription, ParseError> {
        // Canonical order so that serialize → parse gives an equal value.
        self.extra.sort_by_key(ExtraLine::rank);
        Ok(SessionDescription {
            origin: self.origin.ok_or(ParseError::MissingOrigin)?,
            session_name: self.session_name.unwrap_or_else(|| "-".to_owned()),
            session_info: self.info,
            connection: self.connection,
            bandwidths: self.bandwidths,
            timings: self.timings,
            attributes: self.attributes,
            extra: self.extra,
            media: self.media,
        })
    }
}

fn attribute(value: &str) -> super::model::Attribute {
    match value.split_once(':') {
        Some((name, v)) => parse_attribute(name, Some(v)),
        None => parse_attribute(value, None),
    }
}

fn parse_origin(line: usize, value: &str) -> Result<Origin, ParseError> {
    let mut t = tokens(value).map(str::to_owned);
    let mut next = || {
        t.next()
            .ok_or(ParseError::InvalidField { line, field: 'o' })
    };
    let o = Origin {
        username: next()?,
        session_id: next()?,
        session_version: next()?,
        net_type: next()?,
        addr_type: next()?,
        address: next()?,
    };
    match next() {
        Ok(_) => Err(ParseError::InvalidField { line, field: 'o' }),
        Err(_) => Ok(o),
    }
}

fn parse_bandwidth(line: usize, value: &str) -> Result<Bandwidth, ParseError> {
    let bad = ParseError::InvalidField { line, field: 'b' };
    let (kind, v) = value.split_once(':').ok_or(bad.clone())?;
    let (kind, rest) = split_token(kind);
    if kind.is_empty() || !rest.is_empty() {
        return Err(bad);
    }
    let (v, rest) = split_token(v);
    if !rest.is_empty() {
        return Err(bad);
    }
    Ok(Bandwidth {
        kind: BandwidthType::from_token(kind),
        value: v.parse().map_err(|_| bad)?,
    })
}

fn parse_timing(line: usize, value: &str) -> Result<Timing, ParseError> {
    let bad = ParseError::InvalidField { line, field: 't' };
    let mut t = tokens(value);
    let start = t.next().and_then(|s| s.parse().ok()).ok_or(bad.clone())?;
    let stop = t.next().and_then(|s| s.parse().ok()).ok_or(bad.clone())?;
    if t.next().is_some() {
        return Err(bad);
    }
    Ok(Timing { start, stop })
}
