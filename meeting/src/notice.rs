//! Recording and transcription notices for VTCs: an overlay that stays on the picture while
//! either is on, and a spoken notice at every change.
//!
//! The spoken notices are the prompt assets `assets/prompts/<language>/<name>.opus`
//! ([`NoticeKind::name`]), the same files as the IVR's `Prompt::RecordingStarted` and
//! friends. Setting a state that is already in force does nothing.

use std::time::Instant;

/// A spoken notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NoticeKind {
    RecordingStarted,
    RecordingStopped,
    TranscriptionStarted,
    TranscriptionStopped,
}

impl NoticeKind {
    pub const ALL: [NoticeKind; 4] = [
        NoticeKind::RecordingStarted,
        NoticeKind::RecordingStopped,
        NoticeKind::TranscriptionStarted,
        NoticeKind::TranscriptionStopped,
    ];

    /// The prompt asset name (`recording_started` for `assets/prompts/en/recording_started.opus`).
    pub fn name(self) -> &'static str {
        match self {
            NoticeKind::RecordingStarted => "recording_started",
            NoticeKind::RecordingStopped => "recording_stopped",
            NoticeKind::TranscriptionStarted => "transcription_started",
            NoticeKind::TranscriptionStopped => "transcription_stopped",
        }
    }
}

/// What the driver does for every VTC in the meeting, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoticeAction {
    /// Show this text on the outgoing picture until replaced or hidden (replaces any text
    /// shown before).
    ShowOverlay(String),
    HideOverlay,
    /// Play this notice into the VTC's audio.
    PlayNotice(NoticeKind),
}

/// Whether the meeting is being recorded and transcribed, as announced to VTCs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Notices {
    recording: bool,
    transcription: bool,
    changed_at: Option<Instant>,
}

impl Notices {
    /// Nothing on.
    pub fn new() -> Notices {
        Notices::default()
    }

    pub fn recording(&self) -> bool {
        self.recording
    }

    pub fn transcription(&self) -> bool {
        self.transcription
    }

    /// When the state last changed (`None` before any change).
    pub fn changed_at(&self) -> Option<Instant> {
        self.changed_at
    }

    /// Recording started or stopped; empty if it already was.
    pub fn set_recording(&mut self, on: bool, now: Instant) -> Vec<NoticeAction> {
        if self.recording == on {
            return Vec::new();
        }
        self.recording = on;
        let kind = if on {
            NoticeKind::RecordingStarted
        } else {
            NoticeKind::RecordingStopped
        };
        self.changed(kind, now)
    }

    /// Transcription started or stopped; empty if it already was.
    pub fn set_transcription(&mut self, on: bool, now: Instant) -> Vec<NoticeAction> {
        if self.transcription == on {
            return Vec::new();
        }
        self.transcription = on;
        let kind = if on {
            NoticeKind::TranscriptionStarted
        } else {
            NoticeKind::TranscriptionStopped
        };
        self.changed(kind, now)
    }

    /// The overlay text for the current state, `None` when nothing is on.
    pub fn overlay_text(&self) -> Option<&'static str> {
        match (self.recording, self.transcription) {
            (true, true) => Some("Recording and transcription"),
            (true, false) => Some("Recording"),
            (false, true) => Some("Transcription"),
            (false, false) => None,
        }
    }

    /// For a VTC that joins now: the overlay and the "started" notices of whatever is on
    /// (empty when nothing is).
    pub fn for_new_viewer(&self) -> Vec<NoticeAction> {
        let mut out: Vec<NoticeAction> = self.overlay().into_iter().collect();
        if self.recording {
            out.push(NoticeAction::PlayNotice(NoticeKind::RecordingStarted));
        }
        if self.transcription {
            out.push(NoticeAction::PlayNotice(NoticeKind::TranscriptionStarted));
        }
        out
    }

    fn changed(&mut self, kind: NoticeKind, now: Instant) -> Vec<NoticeAction> {
        self.changed_at = Some(now);
        let overlay = self.overlay().unwrap_or(NoticeAction::HideOverlay);
        vec![overlay, NoticeAction::PlayNotice(kind)]
    }

    fn overlay(&self) -> Option<NoticeAction> {
        self.overlay_text()
            .map(|t| NoticeAction::ShowOverlay(t.to_string()))
    }
}

#[cfg(test)]
mod tests;
