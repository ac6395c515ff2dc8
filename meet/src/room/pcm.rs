//! One source's decoded audio waiting for the mixer's 20 ms tick: a small playout buffer.
//!
//! Packets arrive with jitter and the tick is a timer on a busy task, so at a tick a source
//! may be a little short or a little ahead. A source that runs dry is silent for whole
//! frames until it has [`START`] samples again (never cut mid-frame and padded with zeros,
//! which clicks and, repeated, drops a fixed fraction of the audio); one that falls behind
//! by more than [`MAX`] loses its oldest audio down to [`START`], so latency cannot creep up.

use std::collections::VecDeque;

/// 20 ms at 48 kHz mono.
pub(crate) const FRAME: usize = 960;
/// Playout starts (and restarts after running dry) with this much queued.
const START: usize = FRAME * 2;
/// More than this queued and the oldest is dropped down to [`START`].
const MAX: usize = FRAME * 6;

/// A source's playout so far, for the room API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Playout {
    /// Audio dropped because the source ran ahead of the mixer.
    pub dropped_ms: u64,
    /// Ticks at which it had nothing (once at the start, then each time it ran dry).
    pub dry_ticks: u64,
    pub queued_ms: u64,
}

#[derive(Debug, Default)]
pub(crate) struct PcmQueue {
    q: VecDeque<i16>,
    playing: bool,
    dropped: u64,
    dry_ticks: u64,
}

impl PcmQueue {
    pub(crate) fn push(&mut self, pcm: &[i16]) {
        self.q.extend(pcm.iter().copied());
        if self.q.len() > MAX {
            let excess = self.q.len() - START;
            self.q.drain(..excess);
            self.dropped += excess as u64;
        }
    }

    /// The next 20 ms, or `None` while the buffer (re)fills.
    pub(crate) fn take(&mut self) -> Option<Vec<i16>> {
        if !self.playing {
            if self.q.len() < START {
                return None;
            }
            self.playing = true;
        }
        if self.q.len() < FRAME {
            self.playing = false;
            self.dry_ticks += 1;
            return None;
        }
        Some(self.q.drain(..FRAME).collect())
    }

    pub(crate) fn playout(&self) -> Playout {
        Playout {
            dropped_ms: self.dropped / (FRAME as u64 / 20),
            dry_ticks: self.dry_ticks,
            queued_ms: self.q.len() as u64 / (FRAME as u64 / 20),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_for_two_frames_then_plays_whole_frames() {
        let mut q = PcmQueue::default();
        q.push(&[1; FRAME]);
        assert_eq!(q.take(), None, "one frame is not enough to start");
        q.push(&[2; FRAME]);
        assert_eq!(q.take(), Some(vec![1; FRAME]));
        q.push(&[3; 100]);
        assert_eq!(q.take(), Some(vec![2; FRAME]));
        // 100 samples left: dry, and nothing is cut from them.
        assert_eq!(q.take(), None);
        q.push(&[4; FRAME * 2]);
        let f = q.take().expect("playing again");
        assert_eq!((f[99], f[100], f.len()), (3, 4, FRAME));
        assert_eq!((q.playout().dropped_ms, q.playout().dry_ticks), (0, 1));
    }

    #[test]
    fn a_source_far_ahead_drops_its_oldest_audio() {
        let mut q = PcmQueue::default();
        for i in 0..7 {
            q.push(&[i; FRAME]);
        }
        // 7 frames > 6: down to the newest 2.
        assert_eq!(q.take(), Some(vec![5; FRAME]));
        assert_eq!(q.take(), Some(vec![6; FRAME]));
        assert_eq!((q.playout().dropped_ms, q.playout().dry_ticks), (100, 0));
    }

    #[test]
    fn same_rate_in_and_out_loses_nothing_despite_jitter() {
        // Packets arrive in clumps (0, 2 or 1 per tick) at the tick's average rate.
        let mut q = PcmQueue::default();
        let arrivals = [1, 0, 2, 1, 1, 0, 0, 3, 1, 1];
        let (mut n, mut played) = (0i16, 0usize);
        for _ in 0..50 {
            for &k in &arrivals {
                for _ in 0..k {
                    q.push(&[n; FRAME]);
                    n = n.wrapping_add(1);
                }
                played += usize::from(q.take().is_some());
            }
        }
        assert_eq!(q.playout().dropped_ms, 0);
        // Only the start (and the clumps at the start) are silent.
        assert!(played >= 500 - 3, "played {played} of 500");
    }
}
