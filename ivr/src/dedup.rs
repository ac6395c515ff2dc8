//! Merges the copies of one key press that arrive over different DTMF paths.
//!
//! Each accepted press remembers which sources reported it. A report of digit `d` from source
//! `s` is a copy (dropped) when an accepted press of `d` younger than the window has not been
//! reported by `s` yet; otherwise it is a new press. Matching against every recent press,
//! not only the last one, keeps "1 2" from one path and a late "1 2" from another from
//! turning into "1 2 1 2" when the second path lags by more than the gap between keys.

use crate::types::{Digit, DigitSource};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// More presses than this inside one window is a flood; the oldest are forgotten.
const MAX_RECENT: usize = 32;

#[derive(Debug, Clone)]
struct Press {
    digit: Digit,
    at: Instant,
    sources: u8,
}

#[derive(Debug, Clone)]
pub(crate) struct Dedup {
    window: Duration,
    recent: VecDeque<Press>,
}

impl Dedup {
    pub(crate) fn new(window: Duration) -> Dedup {
        Dedup {
            window,
            recent: VecDeque::new(),
        }
    }

    /// True when `digit` is a new key press, false when it is a copy of one already seen.
    pub(crate) fn accept(&mut self, digit: Digit, source: DigitSource, now: Instant) -> bool {
        while self
            .recent
            .front()
            .is_some_and(|p| now.saturating_duration_since(p.at) > self.window)
        {
            self.recent.pop_front();
        }
        let bit = source.bit();
        if let Some(p) = self
            .recent
            .iter_mut()
            .find(|p| p.digit == digit && p.sources & bit == 0)
        {
            p.sources |= bit;
            return false;
        }
        if self.recent.len() == MAX_RECENT {
            self.recent.pop_front();
        }
        self.recent.push_back(Press {
            digit,
            at: now,
            sources: bit,
        });
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use DigitSource::{InBand, Rfc4733 as Rtp, SipInfo as Info};

    fn run(window_ms: u64, input: &[(u64, Digit, DigitSource)]) -> Vec<Digit> {
        let t0 = Instant::now();
        let mut d = Dedup::new(Duration::from_millis(window_ms));
        input
            .iter()
            .filter(|(ms, digit, src)| d.accept(*digit, *src, t0 + Duration::from_millis(*ms)))
            .map(|(_, digit, _)| *digit)
            .collect()
    }

    #[test]
    fn copies_within_the_window_merge() {
        use Digit::*;
        let got = run(120, &[(0, D1, Rtp), (40, D1, Info), (60, D1, InBand)]);
        assert_eq!(got, [D1]);
        // Exactly at the window edge is still a copy; just past it is a new press.
        assert_eq!(run(120, &[(0, D1, Rtp), (120, D1, Info)]), [D1]);
        assert_eq!(run(120, &[(0, D1, Rtp), (121, D1, Info)]), [D1, D1]);
    }

    #[test]
    fn same_source_repeats_are_presses() {
        use Digit::*;
        assert_eq!(run(120, &[(0, D5, Rtp), (10, D5, Rtp)]), [D5, D5]);
    }

    #[test]
    fn interleaved_paths_keep_the_order_and_count() {
        use Digit::*;
        // RTP says 1 2, INFO says the same 90 ms late, after RTP's 2 already arrived.
        let got = run(
            120,
            &[(0, D1, Rtp), (60, D2, Rtp), (90, D1, Info), (150, D2, Info)],
        );
        assert_eq!(got, [D1, D2]);
        // "11" typed fast, both paths carrying both presses.
        let got = run(
            120,
            &[(0, D1, Rtp), (20, D1, Info), (80, D1, Rtp), (100, D1, Info)],
        );
        assert_eq!(got, [D1, D1]);
    }
}
