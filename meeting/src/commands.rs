//! In-meeting DTMF commands from a VTC's keypad: `*8` next layout, `*6` toggle mute.
//!
//! Sans-IO like the IVR: feed each key (after the driver's de-duplication of RFC 4733, SIP
//! INFO and in-band copies) with [`CommandParser::handle_digit`]; call
//! [`CommandParser::handle_timeout`] at [`CommandParser::poll_timeout`]. A `*` waits
//! [`STAR_TIMEOUT`] for its second key: a key at or after the deadline is too late and is
//! treated as if no `*` had been pressed. Any other key after `*` cancels it; keys without a
//! `*` before them are ignored; `**` starts over with the second `*`.

use std::time::{Duration, Instant};

/// How long a `*` waits for the key that completes the command.
pub const STAR_TIMEOUT: Duration = Duration::from_secs(2);

/// What a VTC asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Command {
    /// `*8`: switch to [`crate::Layout::next`].
    NextLayout,
    /// `*6`: mute the VTC's microphone in the meeting, or unmute it.
    ToggleMute,
}

impl Command {
    /// The key after `*` for this command.
    pub fn key(self) -> char {
        match self {
            Command::NextLayout => '8',
            Command::ToggleMute => '6',
        }
    }
}

/// Turns keys into [`Command`]s; see the [module docs](self).
#[derive(Debug, Clone, Default)]
pub struct CommandParser {
    /// Set after a `*`: when it expires.
    star_deadline: Option<Instant>,
}

impl CommandParser {
    pub fn new() -> CommandParser {
        CommandParser::default()
    }

    /// One key: `0`–`9`, `*`, `#`, `A`–`D` (anything else is ignored like an unknown key).
    pub fn handle_digit(&mut self, key: char, now: Instant) -> Option<Command> {
        self.handle_timeout(now);
        let pending = self.star_deadline.take().is_some();
        match key {
            '*' => {
                self.star_deadline = Some(now + STAR_TIMEOUT);
                None
            }
            '8' if pending => Some(Command::NextLayout),
            '6' if pending => Some(Command::ToggleMute),
            _ => None,
        }
    }

    /// When to call [`CommandParser::handle_timeout`]: while a `*` waits.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.star_deadline
    }

    /// Drops a `*` whose time is up; before its deadline it does nothing.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.star_deadline.is_some_and(|d| now >= d) {
            self.star_deadline = None;
        }
    }
}

#[cfg(test)]
mod tests;
