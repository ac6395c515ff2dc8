//! DTMF receivers for the SIP leg: RFC 4733 telephone-events and in-band
//! tones in decoded G.711/G.722 audio.
//!
//! A room system may send a key press three ways; the gateway has a
//! receiver for each and the IVR merges them:
//!
//! | source | where | output |
//! |---|---|---|
//! | RFC 4733 `telephone-event` RTP packets | [`rfc4733::Rfc4733Receiver`] | [`DtmfEvent`] |
//! | in-band tones in the audio | [`goertzel::ToneDetector`] (+ [`g711`] or [`g722`] to decode) | [`InbandDigit`] |
//! | SIP INFO `application/dtmf-relay`, `application/dtmf` | [`info::parse`] | `char` |
//!
//! Each receiver reports every key press exactly once *for its source*;
//! an endpoint that sends the same key by RFC 4733 and INFO (or whose
//! tones also leak into the audio) produces one report per source, and
//! the IVR de-duplicates across sources.
//!
//! Both receivers here are sans-IO: they take bytes or samples plus the
//! time the caller observed, never read a clock or a socket, and so are
//! tested on simulated streams.

pub mod g711;
pub mod g722;
pub mod goertzel;
pub mod info;
pub mod rfc4733;

pub use goertzel::{InbandDigit, ToneDetector, UnsupportedSampleRate};
pub use rfc4733::{DtmfEvent, Rfc4733Receiver};

/// The 16 DTMF keys, indexed by RFC 4733 event code (§3.2: 0–9, `*`,
/// `#`, `A`–`D`).
pub const DIGITS: [char; 16] = [
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '#', 'A', 'B', 'C', 'D',
];

/// The key for an RFC 4733 event code, or `None` for codes that are not
/// DTMF (16 is "flash", 32+ are fax and modem tones, RFC 4734).
pub fn digit_for_event(code: u8) -> Option<char> {
    DIGITS.get(usize::from(code)).copied()
}

/// The RFC 4733 event code for a key (`'a'`–`'d'` accepted as `A`–`D`).
pub fn event_for_digit(digit: char) -> Option<u8> {
    let up = digit.to_ascii_uppercase();
    DIGITS
        .iter()
        .position(|&d| d == up)
        .and_then(|i| u8::try_from(i).ok())
}
