//! Time as input: `poll_timeout` is the earliest deadline, nothing happens before it, and
//! random drives never stall or act after the end.

mod common;

use common::*;
use cvi_ivr::{
    Action, Admission, Config, DecisionResult, Digit, DigitSource, Ivr, Phase, PromptId,
};
use std::time::{Duration, Instant};

#[test]
fn poll_timeout_tracks_the_earliest_deadline() {
    let t0 = Instant::now();
    let cfg = Config::default();
    let mut ivr = Ivr::new(cfg.clone(), t0);
    // Welcome playing: its 10 s guard is before the 20 s first-digit timeout.
    assert_eq!(ivr.poll_timeout(), Some(t0 + cfg.prompt_guard));
    // A digit stops the prompt: only the inter-digit timeout is left.
    let t1 = t0 + ms(500);
    ivr.handle_digit(Digit::D1, DigitSource::Rfc4733, t1);
    assert_eq!(ivr.poll_timeout(), Some(t1 + cfg.inter_digit_timeout));
    // With a short time limit, the time limit is earliest.
    let short = Config {
        time_limit: secs(3),
        ..cfg.clone()
    };
    let mut ivr = Ivr::new(short, t0);
    ivr.handle_digit(Digit::D1, DigitSource::Rfc4733, t1);
    assert_eq!(ivr.poll_timeout(), Some(t0 + secs(3)));
}

#[test]
fn handle_timeout_before_the_deadline_does_nothing() {
    let t0 = Instant::now();
    let mut ivr = Ivr::new(Config::default(), t0);
    while ivr.poll_action().is_some() {}
    let due = ivr.poll_timeout().expect("a deadline");
    for early in [t0, t0 + ms(1), due - Duration::from_nanos(1)] {
        ivr.handle_timeout(early);
        assert_eq!(ivr.poll_action(), None);
        assert_eq!(ivr.poll_timeout(), Some(due));
    }
    ivr.handle_timeout(due);
    assert!(ivr.poll_action().is_some());
    assert!(ivr.poll_timeout().is_some_and(|t| t > due));
}

#[test]
fn stale_prompt_reports_are_ignored() {
    let mut sim = Sim::new(Config::default());
    let first = match sim.drain().as_slice() {
        [_, Action::PlayPrompt { id, .. }] => *id,
        other => panic!("{other:?}"),
    };
    sim.press("*"); // replaces the greeting with a new EnterId playback
    let before = sim.ivr.poll_timeout();
    sim.ivr.handle_prompt_finished(first, sim.now);
    assert_eq!(sim.ivr.poll_action(), None);
    assert_eq!(sim.ivr.poll_timeout(), before);
}

/// A tiny deterministic generator (xorshift64*), so the drive is the same every run.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[test]
fn random_drives_always_make_progress_and_end_cleanly() {
    const KEYS: &str = "0123456789*#A";
    let sources = [
        DigitSource::Rfc4733,
        DigitSource::SipInfo,
        DigitSource::InBand,
    ];
    for seed in 1..=300u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let t0 = Instant::now();
        let mut now = t0;
        let mut ivr = if seed % 25 == 0 {
            Ivr::new_blocked(Config::default(), t0)
        } else {
            Ivr::new(Config::default(), t0)
        };
        let mut playing: Option<PromptId> = None;
        let mut finished_at = None;
        for _step in 0..400 {
            while let Some(a) = ivr.poll_action() {
                assert!(
                    finished_at.is_none(),
                    "seed {seed}: action after the end: {a:?}"
                );
                match a {
                    Action::PlayPrompt { id, .. } => playing = Some(id),
                    Action::StopPrompt => playing = None,
                    Action::Join { .. } | Action::HangUp { .. } => finished_at = Some(now),
                    _ => {}
                }
            }
            if let Some(t) = ivr.poll_timeout() {
                assert!(t > now, "seed {seed}: a deadline in the past");
            }
            now += ms(rng.below(3000));
            match rng.below(10) {
                0..=4 => {
                    let k = KEYS.as_bytes()[rng.below(KEYS.len() as u64) as usize];
                    let d = Digit::from_char(char::from(k)).expect("key");
                    ivr.handle_digit(d, sources[rng.below(3) as usize], now);
                }
                5 => {
                    if let Some(id) = playing.take() {
                        ivr.handle_prompt_finished(id, now);
                    }
                }
                6 => {
                    let r = match rng.below(5) {
                        0 => DecisionResult::NotFound,
                        1 => DecisionResult::Unavailable,
                        2 => DecisionResult::Forbidden {
                            reason: "no".into(),
                        },
                        l => DecisionResult::Join {
                            lobby: l == 3,
                            meeting_name: None,
                        },
                    };
                    ivr.handle_decision(r, now);
                }
                7 => {
                    let a = [Admission::Admit, Admission::Reject, Admission::Timeout];
                    ivr.handle_admission(a[rng.below(3) as usize], now);
                }
                _ => {
                    if let Some(t) = ivr.poll_timeout() {
                        now = now.max(t);
                        ivr.handle_timeout(now);
                    }
                }
            }
            if let Some(t) = ivr.poll_timeout()
                && t <= now
            {
                ivr.handle_timeout(now);
            }
        }
        // Left alone (no prompt reports, no answers), every call ends on its timers.
        let mut guard = 0;
        while let Some(t) = ivr.poll_timeout() {
            now = now.max(t);
            ivr.handle_timeout(now);
            guard += 1;
            assert!(guard < 100, "seed {seed}: timers never settle");
        }
        while let Some(a) = ivr.poll_action() {
            if matches!(a, Action::Join { .. } | Action::HangUp { .. }) {
                finished_at = Some(now);
            }
        }
        assert!(ivr.is_finished(), "seed {seed}: {:?}", ivr.phase());
        assert!(matches!(ivr.phase(), Phase::Joined | Phase::HungUp));
        assert!(
            finished_at.is_some(),
            "seed {seed}: finished without Join or HangUp"
        );
        assert!(ivr.failed_attempts() <= 3);
    }
}
