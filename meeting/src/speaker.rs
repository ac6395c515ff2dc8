//! Active-speaker detection from per-participant audio levels.
//!
//! Levels are RFC 6464 audio levels, as the RTP header extension
//! `urn:ietf:params:rtp-hdrext:ssrc-audio-level` carries them: `0..=127` in **-dBov**, so
//! `0` is the loudest possible and `127` is silence (larger values are clamped to 127).
//! The media layer reports each one with [`SpeakerDetector::report`] as it arrives (every
//! packet or every few; a report older than [`SpeakerConfig::stale_after`] counts as silence).
//!
//! Rules, evaluated at every report:
//! - The *loudest* participant is the one with the lowest fresh level that is at least as
//!   loud as [`SpeakerConfig::threshold`]; ties keep the current speaker, else the lower id.
//! - With no active speaker, the loudest becomes active once it has been the loudest without
//!   a break for [`SpeakerConfig::activate_after`] (300 ms).
//! - Switching needs another participant to stay the loudest, so louder than the active
//!   speaker, for [`SpeakerConfig::switch_after`] (1 s): hysteresis against flapping.
//! - Silence (nobody above the threshold) resets the pending candidate and keeps the last
//!   speaker.

use crate::participant::ParticipantId;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Tuning of the [`SpeakerDetector`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpeakerConfig {
    /// Levels at or below this many -dBov are speech (default 50, i.e. -50 dBov or louder).
    pub threshold: u8,
    /// How long the first speaker must be the loudest (default 300 ms).
    pub activate_after: Duration,
    /// How long a new speaker must be louder than the active one (default 1 s).
    pub switch_after: Duration,
    /// A participant's last report stops counting after this long (default 500 ms).
    pub stale_after: Duration,
}

impl Default for SpeakerConfig {
    fn default() -> Self {
        SpeakerConfig {
            threshold: 50,
            activate_after: Duration::from_millis(300),
            switch_after: Duration::from_secs(1),
            stale_after: Duration::from_millis(500),
        }
    }
}

/// The RFC 6464 level of silence.
pub const SILENCE: u8 = 127;

/// Decides who the active speaker is; see the [module docs](self).
#[derive(Debug, Clone)]
pub struct SpeakerDetector {
    cfg: SpeakerConfig,
    /// Last level (-dBov) and when it was reported.
    levels: BTreeMap<ParticipantId, (u8, Instant)>,
    active: Option<ParticipantId>,
    /// The loudest participant other than the active one, and since when.
    candidate: Option<(ParticipantId, Instant)>,
}

impl SpeakerDetector {
    pub fn new(cfg: SpeakerConfig) -> SpeakerDetector {
        SpeakerDetector {
            cfg,
            levels: BTreeMap::new(),
            active: None,
            candidate: None,
        }
    }

    /// The active speaker, if anyone has spoken yet (and has not left).
    pub fn active(&self) -> Option<ParticipantId> {
        self.active
    }

    /// One audio level of `who` (-dBov, 0 = loudest, 127 = silence). Returns `true` when the
    /// active speaker changed.
    pub fn report(&mut self, who: ParticipantId, level: u8, now: Instant) -> bool {
        self.levels.insert(who, (level.min(SILENCE), now));
        let before = self.active;
        let Some(loudest) = self.loudest(now) else {
            self.candidate = None;
            return false;
        };
        if Some(loudest) == self.active {
            self.candidate = None;
            return false;
        }
        let since = match self.candidate {
            Some((id, since)) if id == loudest => since,
            _ => {
                self.candidate = Some((loudest, now));
                now
            }
        };
        let needed = if self.active.is_some() {
            self.cfg.switch_after
        } else {
            self.cfg.activate_after
        };
        if now.saturating_duration_since(since) >= needed {
            self.active = Some(loudest);
            self.candidate = None;
        }
        self.active != before
    }

    /// `who` left: forgets its levels; if it was the active speaker there is none until the
    /// next one qualifies (as the first speaker, after `activate_after`).
    pub fn remove(&mut self, who: ParticipantId) {
        self.levels.remove(&who);
        if self.active == Some(who) {
            self.active = None;
        }
        if self.candidate.is_some_and(|(id, _)| id == who) {
            self.candidate = None;
        }
    }

    fn loudest(&self, now: Instant) -> Option<ParticipantId> {
        let fresh =
            |&(_, at): &(u8, Instant)| now.saturating_duration_since(at) <= self.cfg.stale_after;
        let speaking = self
            .levels
            .iter()
            .filter(|(_, l)| fresh(l) && l.0 <= self.cfg.threshold)
            .map(|(&id, &(level, _))| (level, id));
        // Lowest -dBov wins; on a tie the active speaker, then the lowest id (BTreeMap order).
        speaking
            .min_by_key(|&(level, id)| (level, Some(id) != self.active))
            .map(|(_, id)| id)
    }
}

impl Default for SpeakerDetector {
    fn default() -> Self {
        SpeakerDetector::new(SpeakerConfig::default())
    }
}

#[cfg(test)]
mod tests;
