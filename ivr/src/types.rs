//! The small value types the IVR speaks in: digits and where they came from, prompt ids,
//! languages, and the reasons attached to failed attempts and hang-ups.

use std::fmt;

/// One DTMF key (RFC 4733 §3.2 events 0–15, declared in event-code order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Digit {
    D0,
    D1,
    D2,
    D3,
    D4,
    D5,
    D6,
    D7,
    D8,
    D9,
    /// `*`: clears what was typed.
    Star,
    /// `#`: submits what was typed.
    Pound,
    A,
    B,
    C,
    D,
}

const DIGITS: [Digit; 16] = [
    Digit::D0,
    Digit::D1,
    Digit::D2,
    Digit::D3,
    Digit::D4,
    Digit::D5,
    Digit::D6,
    Digit::D7,
    Digit::D8,
    Digit::D9,
    Digit::Star,
    Digit::Pound,
    Digit::A,
    Digit::B,
    Digit::C,
    Digit::D,
];
const CHARS: &[u8; 16] = b"0123456789*#ABCD";

impl Digit {
    /// `0`–`9`, `*`, `#`, `A`–`D` (either case), as SIP INFO bodies and tone detectors give them.
    pub fn from_char(c: char) -> Option<Digit> {
        let c = c.to_ascii_uppercase();
        CHARS
            .iter()
            .position(|&b| char::from(b) == c)
            .map(|i| DIGITS[i])
    }

    /// An RFC 4733 telephone-event code (0–9, 10 = `*`, 11 = `#`, 12–15 = A–D).
    pub fn from_event(code: u8) -> Option<Digit> {
        DIGITS.get(usize::from(code)).copied()
    }

    /// The RFC 4733 event code.
    pub fn event(self) -> u8 {
        // Variants are declared in event-code order.
        self as u8
    }

    pub fn as_char(self) -> char {
        char::from(CHARS[usize::from(self.event())])
    }

    /// `Some(0..=9)` for the numeric keys.
    pub fn value(self) -> Option<u8> {
        let e = self.event();
        (e < 10).then_some(e)
    }
}

impl fmt::Display for Digit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.as_char())
    }
}

/// Which path a digit took to the gateway. An endpoint may report one key press on several.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DigitSource {
    /// RFC 4733 telephone-event in the RTP stream.
    Rfc4733,
    /// SIP INFO (`application/dtmf-relay` or `application/dtmf`).
    SipInfo,
    /// Tones detected in the decoded audio.
    InBand,
}

impl DigitSource {
    pub(crate) fn bit(self) -> u8 {
        match self {
            DigitSource::Rfc4733 => 1,
            DigitSource::SipInfo => 2,
            DigitSource::InBand => 4,
        }
    }
}

/// The recorded prompts. The media side plays `assets/prompts/<language>/<name>.opus`
/// (see [`Prompt::name`]), falling back to `en` when a language or file is missing. The
/// English wording is in `assets/prompts/prompts.tsv`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Prompt {
    /// "Welcome to the video meeting service."
    Welcome,
    /// "Please enter the conference ID, followed by the pound key."
    EnterId,
    /// "That conference ID is not valid. …" (check digit or length wrong, or too many digits)
    InvalidId,
    /// "We could not find a meeting with that conference ID. …"
    NotFound,
    /// "One moment, please." (only when the decision is slow)
    Checking,
    /// "Please wait. Someone in the meeting will let you in soon."
    Lobby,
    /// "You are now joining the meeting."
    Admitted,
    /// "Your request to join was declined. Goodbye."
    Rejected,
    /// "Too many attempts. Goodbye."
    TooManyAttempts,
    /// "Too many failed attempts from your system. Please try again later. Goodbye."
    TryLater,
    /// "Thank you for calling. Goodbye."
    Goodbye,
    /// Recording and transcription notices: played by the call task during the meeting, not
    /// by the IVR; listed here so every prompt asset has one id.
    RecordingStarted,
    RecordingStopped,
    TranscriptionStarted,
    TranscriptionStopped,
}

impl Prompt {
    pub const ALL: [Prompt; 15] = [
        Prompt::Welcome,
        Prompt::EnterId,
        Prompt::InvalidId,
        Prompt::NotFound,
        Prompt::Checking,
        Prompt::Lobby,
        Prompt::Admitted,
        Prompt::Rejected,
        Prompt::TooManyAttempts,
        Prompt::TryLater,
        Prompt::Goodbye,
        Prompt::RecordingStarted,
        Prompt::RecordingStopped,
        Prompt::TranscriptionStarted,
        Prompt::TranscriptionStopped,
    ];

    /// The snake_case asset name (`enter_id` for `assets/prompts/en/enter_id.opus`).
    pub fn name(self) -> &'static str {
        match self {
            Prompt::Welcome => "welcome",
            Prompt::EnterId => "enter_id",
            Prompt::InvalidId => "invalid_id",
            Prompt::NotFound => "not_found",
            Prompt::Checking => "checking",
            Prompt::Lobby => "lobby",
            Prompt::Admitted => "admitted",
            Prompt::Rejected => "rejected",
            Prompt::TooManyAttempts => "too_many_attempts",
            Prompt::TryLater => "try_later",
            Prompt::Goodbye => "goodbye",
            Prompt::RecordingStarted => "recording_started",
            Prompt::RecordingStopped => "recording_stopped",
            Prompt::TranscriptionStarted => "transcription_started",
            Prompt::TranscriptionStopped => "transcription_stopped",
        }
    }
}

/// Names one playback of a prompt, so that a late "finished" report for a prompt that was
/// already replaced or stopped is ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PromptId(pub(crate) u64);

/// The prompt language: a lowercase BCP 47 tag such as `en` or `en-gb`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Language(String);

impl Language {
    /// The language every deployment has prompts for, and the fallback.
    pub const FALLBACK: &'static str = "en";

    pub fn english() -> Language {
        Language(Self::FALLBACK.to_string())
    }

    /// The provider's chosen language if prompts exist for it: exact tag first (`en-GB`),
    /// then its primary subtag (`en`), else English. Case and `_`/`-` are not significant.
    pub fn choose(requested: Option<&str>, available: &[&str]) -> Language {
        let norm = |s: &str| s.trim().replace('_', "-").to_ascii_lowercase();
        let Some(req) = requested.map(norm).filter(|r| !r.is_empty()) else {
            return Language::english();
        };
        let have: Vec<String> = available.iter().map(|a| norm(a)).collect();
        if have.contains(&req) {
            return Language(req);
        }
        let primary = req.split('-').next().unwrap_or_default();
        if have.iter().any(|h| h == primary) {
            return Language(primary.to_string());
        }
        Language::english()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for Language {
    fn default() -> Self {
        Language::english()
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a conference-ID attempt failed. Carries no digits: safe to log and count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttemptFailure {
    /// Wrong length or check digit: refused without a lookup.
    Invalid,
    /// More digits than any ID has (`Config::max_digits`).
    TooLong,
    /// The decision found no meeting for the ID.
    NotFound,
}

impl AttemptFailure {
    pub fn as_str(self) -> &'static str {
        match self {
            AttemptFailure::Invalid => "invalid",
            AttemptFailure::TooLong => "too_long",
            AttemptFailure::NotFound => "not_found",
        }
    }
}

/// Why the IVR hung up. Stable names for CDRs and metric labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HangUpReason {
    /// No digits after the configured number of re-prompts.
    NoInput,
    /// `Config::max_attempts` failed conference-ID attempts.
    TooManyAttempts,
    /// The decision refused the join (policy, consent, anonymous join).
    Forbidden,
    /// The decision could not be made (timeout, gateway-side failure).
    Unavailable,
    /// Someone in the meeting refused the caller waiting in the lobby.
    LobbyRejected,
    /// Nobody admitted the caller in time.
    LobbyTimeout,
    /// The caller's source is blocked for too many failed attempts (`Ivr::new_blocked`).
    Blocked,
    /// The caller spent longer than `Config::time_limit` entering an ID.
    TimeLimit,
}

impl HangUpReason {
    pub fn as_str(self) -> &'static str {
        match self {
            HangUpReason::NoInput => "no_input",
            HangUpReason::TooManyAttempts => "too_many_attempts",
            HangUpReason::Forbidden => "forbidden",
            HangUpReason::Unavailable => "unavailable",
            HangUpReason::LobbyRejected => "lobby_rejected",
            HangUpReason::LobbyTimeout => "lobby_timeout",
            HangUpReason::Blocked => "blocked",
            HangUpReason::TimeLimit => "time_limit",
        }
    }
}

/// What the meeting side said about a caller waiting in the lobby.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Admission {
    Admit,
    Reject,
    /// The meeting side gave up waiting (the IVR also has its own `Config::lobby_timeout`).
    Timeout,
}

/// Where the IVR is, for `GET /api/v1/calls` and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Prompting for and collecting the conference ID.
    Collecting,
    /// Waiting for the gateway's decision on a submitted ID.
    Deciding,
    /// Waiting in the lobby.
    Lobby,
    /// Admitted from the lobby; the "admitted" prompt plays, then `Join`.
    Admitted,
    /// Playing the last prompts before `HangUp`.
    Ending,
    /// `Join` was emitted; the IVR is finished.
    Joined,
    /// `HangUp` was emitted; the IVR is finished.
    HungUp,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_round_trip() {
        for code in 0..16u8 {
            let d = Digit::from_event(code).expect("event");
            assert_eq!(d.event(), code);
            assert_eq!(Digit::from_char(d.as_char()), Some(d));
        }
        assert_eq!(Digit::from_event(16), None);
        assert_eq!(Digit::from_char('x'), None);
        assert_eq!(Digit::from_char('a'), Some(Digit::A));
        assert_eq!(Digit::D7.value(), Some(7));
        assert_eq!(Digit::Pound.value(), None);
    }

    #[test]
    fn language_falls_back_to_english() {
        let av = ["en", "fr", "de-CH"];
        assert_eq!(Language::choose(Some("fr"), &av).as_str(), "fr");
        assert_eq!(Language::choose(Some("FR_ca"), &av).as_str(), "fr");
        assert_eq!(Language::choose(Some("de_ch"), &av).as_str(), "de-ch");
        assert_eq!(Language::choose(Some("de"), &av).as_str(), "en");
        assert_eq!(Language::choose(Some("  "), &av).as_str(), "en");
        assert_eq!(Language::choose(None, &av), Language::default());
    }

    #[test]
    fn prompt_names_are_unique() {
        let mut names: Vec<_> = Prompt::ALL.iter().map(|p| p.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Prompt::ALL.len());
    }
}
