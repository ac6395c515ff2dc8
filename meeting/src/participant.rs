//! Who is in the meeting, and what a room system is called there.
//!
//! A VTC's name comes from its SIP `From` header ([`vtc_name`]): the display name if there is
//! a non-empty one, else the user part of the URI, else [`FALLBACK_NAME`].

use std::fmt;

/// A participant, unique within one meeting. Assigned by the driver; never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ParticipantId(pub u64);

impl fmt::Display for ParticipantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "p{}", self.0)
    }
}

/// How a participant is connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A WebRTC client of the meeting.
    Browser,
    /// A SIP room system bridged by this gateway.
    VideoDevice,
}

/// One participant as the meeting core sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Participant {
    pub id: ParticipantId,
    /// Shown on tiles and in rosters; at most [`MAX_NAME_CHARS`] characters, no control
    /// characters (use [`vtc_name`] for VTCs).
    pub name: String,
    pub kind: Kind,
    /// Audio muted: left out of everybody's mix ([`crate::mix_for`]).
    pub muted: bool,
    /// Sends video: only then does it need a tile.
    pub video: bool,
}

impl Participant {
    /// A VTC named after its `From` header value, unmuted, with video.
    pub fn vtc(id: ParticipantId, from_header: &str) -> Participant {
        Participant {
            id,
            name: vtc_name(from_header),
            kind: Kind::VideoDevice,
            muted: false,
            video: true,
        }
    }
}

/// The name of a VTC without a usable display name or URI user part.
pub const FALLBACK_NAME: &str = "Video device";

/// Names are cut to this many characters (Unicode scalar values).
pub const MAX_NAME_CHARS: usize = 64;

/// The name to show for a VTC, from its SIP `From` header value (RFC 3261 §20.20 `name-addr`
/// or `addr-spec`, with header parameters), e.g. `"Room 4" <sip:room4@vtc.example.com>;tag=x`,
/// `Room 4 <sip:room4@h>`, `<sip:room@h>` or `sip:room@h`.
///
/// Takes the display name (quoted, with `\` escapes, or an unquoted token list) if it is
/// non-empty after cleaning, else the URI's user part (`sip:`/`sips:` before `@`,
/// percent-decoded, without a `:password`; or a `tel:` number), else [`FALLBACK_NAME`].
/// Cleaning removes control characters, trims white space and cuts to [`MAX_NAME_CHARS`].
/// Lenient with malformed input (an unterminated quote or `<` runs to the end) and never
/// panics.
pub fn vtc_name(from_header: &str) -> String {
    let (display, uri) = split_name_addr(from_header);
    display
        .and_then(|d| clean(&d))
        .or_else(|| uri_user(uri).and_then(|u| clean(&u)))
        .unwrap_or_else(|| FALLBACK_NAME.to_string())
}

/// Splits into the display name (if any) and the URI text.
fn split_name_addr(value: &str) -> (Option<String>, &str) {
    let s = value.trim_start();
    if let Some(rest) = s.strip_prefix('"') {
        let mut name = String::new();
        let mut chars = rest.char_indices();
        let mut after = "";
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => name.extend(chars.next().map(|(_, e)| e)),
                '"' => {
                    after = &rest[i + 1..];
                    break;
                }
                _ => name.push(c),
            }
        }
        return (Some(name), bracketed(after).unwrap_or(""));
    }
    match s.find('<') {
        Some(lt) => (Some(s[..lt].to_string()), bracketed(&s[lt..]).unwrap_or("")),
        // addr-spec: header parameters follow the first `;`.
        None => (None, s.split(';').next().unwrap_or_default().trim()),
    }
}

/// The text between the first `<` and the next `>` (or the end).
fn bracketed(s: &str) -> Option<&str> {
    let inner = &s[s.find('<')? + 1..];
    Some(inner.split('>').next().unwrap_or_default().trim())
}

fn uri_user(uri: &str) -> Option<String> {
    let lower = uri.get(..5).unwrap_or(uri).to_ascii_lowercase();
    if lower.starts_with("tel:") {
        let number = uri[4..].split(';').next().unwrap_or_default();
        return Some(percent_decode(number));
    }
    let rest = if lower.starts_with("sips:") {
        &uri[5..]
    } else if lower.starts_with("sip:") {
        &uri[4..]
    } else {
        uri
    };
    // userinfo = user [ ":" password ] "@"; without `@` there is no user.
    let (userinfo, _host) = rest.split_once('@')?;
    let user = userinfo.split(':').next().unwrap_or_default();
    Some(percent_decode(user))
}

/// `%XX` to bytes; malformed escapes stay as they are; invalid UTF-8 becomes U+FFFD.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |j: usize| b.get(j).and_then(|&c| char::from(c).to_digit(16));
        match (b[i], hex(i + 1), hex(i + 2)) {
            (b'%', Some(h), Some(l)) => {
                // h, l < 16, so this fits in a byte.
                out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// No control characters, trimmed, at most [`MAX_NAME_CHARS`]; `None` if nothing is left.
fn clean(s: &str) -> Option<String> {
    let kept: String = s.chars().filter(|c| !c.is_control()).collect();
    let cut: String = kept.trim().chars().take(MAX_NAME_CHARS).collect();
    let cut = cut.trim_end();
    (!cut.is_empty()).then(|| cut.to_string())
}

#[cfg(test)]
mod tests;
