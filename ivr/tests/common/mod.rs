//! A simulated clock and media side for driving the IVR in tests.
#![allow(dead_code, unreachable_pub)]

use cvi_ivr::{
    Action, Admission, Config, DecisionResult, Digit, DigitSource, HangUpReason, Ivr, Prompt,
    PromptId, SlateKind,
};
use cvi_provisioning::vtc_id;
use std::time::{Duration, Instant};

pub const KEY_GAP: Duration = Duration::from_millis(250);

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

pub fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// A well-formed conference ID (10 digits, Damm check digit right).
pub fn valid_id() -> String {
    let mut id = "017920684".to_string();
    id.push(vtc_id::check_digit(&id).expect("digits"));
    id
}

/// `valid_id` with its check digit wrong.
pub fn mistyped_id() -> String {
    let good = valid_id();
    let (body, check) = good.split_at(9);
    let wrong = if check == "0" { '1' } else { '0' };
    format!("{body}{wrong}")
}

/// The IVR plus a media side that reports each prompt finished `prompt_len` after it
/// started (never, if `None`), and a clock that only moves when the test says so.
pub struct Sim {
    pub ivr: Ivr,
    pub t0: Instant,
    pub now: Instant,
    pub prompt_len: Option<Duration>,
    pub playing: Option<(PromptId, Prompt, Instant)>,
    pub music: bool,
    /// Every action so far.
    pub log: Vec<Action>,
}

impl Sim {
    pub fn new(cfg: Config) -> Sim {
        let t0 = Instant::now();
        Sim::wrap(Ivr::new(cfg, t0), t0)
    }

    pub fn blocked(cfg: Config) -> Sim {
        let t0 = Instant::now();
        Sim::wrap(Ivr::new_blocked(cfg, t0), t0)
    }

    fn wrap(ivr: Ivr, t0: Instant) -> Sim {
        Sim {
            ivr,
            t0,
            now: t0,
            prompt_len: Some(secs(3)),
            playing: None,
            music: false,
            log: Vec::new(),
        }
    }

    pub fn elapsed(&self) -> Duration {
        self.now - self.t0
    }

    /// Takes the queued actions, playing them on the simulated media side.
    pub fn drain(&mut self) -> Vec<Action> {
        let mut out = Vec::new();
        while let Some(a) = self.ivr.poll_action() {
            match &a {
                Action::PlayPrompt { id, prompt, .. } => {
                    self.music = false;
                    let end = self
                        .prompt_len
                        .map_or(self.now + secs(3600), |l| self.now + l);
                    self.playing = Some((*id, *prompt, end));
                }
                Action::StopPrompt => {
                    self.music = false;
                    self.playing = None;
                }
                Action::PlayLobbyMusic => self.music = true,
                Action::Join { .. } | Action::HangUp { .. } => {
                    self.playing = None;
                    self.music = false;
                }
                _ => {}
            }
            out.push(a.clone());
            self.log.push(a);
        }
        out
    }

    /// Moves the clock forward by `d`, delivering prompt ends and timer expiries on the way.
    /// At every deadline it first checks that `handle_timeout` just before it does nothing.
    pub fn advance(&mut self, d: Duration) -> Vec<Action> {
        let target = self.now + d;
        let mut out = self.drain();
        loop {
            let prompt_end = self.playing.map(|(_, _, e)| e).filter(|&e| e <= target);
            let timer = self.ivr.poll_timeout().filter(|&t| t <= target);
            match (prompt_end, timer) {
                (Some(e), t) if t.is_none_or(|t| e <= t) => {
                    self.now = self.now.max(e);
                    let (id, _, _) = self.playing.take().expect("playing");
                    self.ivr.handle_prompt_finished(id, self.now);
                }
                (_, Some(t)) => {
                    self.check_quiet_before(t);
                    self.now = self.now.max(t);
                    self.ivr.handle_timeout(self.now);
                    let next = self.ivr.poll_timeout();
                    assert!(next.is_none_or(|n| n > self.now), "deadline not consumed");
                }
                (None, None) => break,
                (Some(_), None) => unreachable!(),
            }
            out.extend(self.drain());
        }
        self.now = target;
        out
    }

    /// `handle_timeout` a microsecond before deadline `t` changes nothing.
    fn check_quiet_before(&mut self, t: Instant) {
        let Some(before) = t.checked_sub(Duration::from_micros(1)) else {
            return;
        };
        if before < self.now {
            return;
        }
        self.ivr.handle_timeout(before);
        assert_eq!(self.ivr.poll_action(), None, "action before its deadline");
        assert_eq!(self.ivr.poll_timeout(), Some(t), "deadline moved early");
    }

    /// One key from `src`, now.
    pub fn key(&mut self, c: char, src: DigitSource) -> Vec<Action> {
        let d = Digit::from_char(c).expect("DTMF key");
        self.ivr.handle_digit(d, src, self.now);
        self.drain()
    }

    /// Types `keys` over RFC 4733, `KEY_GAP` apart (the clock advances before each key).
    pub fn press(&mut self, keys: &str) -> Vec<Action> {
        self.press_from(keys, DigitSource::Rfc4733)
    }

    pub fn press_from(&mut self, keys: &str, src: DigitSource) -> Vec<Action> {
        let mut out = Vec::new();
        for c in keys.chars() {
            out.extend(self.advance(KEY_GAP));
            out.extend(self.key(c, src));
        }
        out
    }

    pub fn decide(&mut self, r: DecisionResult) -> Vec<Action> {
        self.ivr.handle_decision(r, self.now);
        self.drain()
    }

    pub fn admission(&mut self, a: Admission) -> Vec<Action> {
        self.ivr.handle_admission(a, self.now);
        self.drain()
    }

    /// Types a valid ID and `#`, answers the decision with `r`.
    pub fn enter_valid_and_decide(&mut self, r: DecisionResult) -> Vec<Action> {
        let mut out = self.press(&format!("{}#", valid_id()));
        assert_eq!(decides(&out), [valid_id()]);
        out.extend(self.decide(r));
        out
    }
}

pub fn prompts(actions: &[Action]) -> Vec<Prompt> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::PlayPrompt { prompt, .. } => Some(*prompt),
            _ => None,
        })
        .collect()
}

pub fn slates(actions: &[Action]) -> Vec<SlateKind> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::ShowSlate { slate } => Some(slate.kind.clone()),
            _ => None,
        })
        .collect()
}

pub fn decides(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Decide { conference_id } => Some(conference_id.clone()),
            _ => None,
        })
        .collect()
}

pub fn hang_up(actions: &[Action]) -> Option<HangUpReason> {
    actions.iter().find_map(|a| match a {
        Action::HangUp { reason } => Some(*reason),
        _ => None,
    })
}

pub fn failures(actions: &[Action]) -> usize {
    actions
        .iter()
        .filter(|a| matches!(a, Action::AttemptFailed { .. }))
        .count()
}

pub fn count(actions: &[Action], want: &Action) -> usize {
    actions.iter().filter(|a| *a == want).count()
}
