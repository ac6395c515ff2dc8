//! The IVR state machine: inputs (`handle_*`, each with `now`) queue [`Action`]s and move
//! deadlines; the driver drains [`Ivr::poll_action`] and calls [`Ivr::handle_timeout`] at
//! [`Ivr::poll_timeout`].

use crate::action::Action;
use crate::config::Config;
use crate::decision::DecisionResult;
use crate::dedup::Dedup;
use crate::player::Player;
use crate::slate::{Slate, SlateKind};
use crate::types::{
    Admission, AttemptFailure, Digit, DigitSource, HangUpReason, Phase, Prompt, PromptId,
};
use cvi_provisioning::vtc_id;
use std::collections::VecDeque;
use std::time::Instant;

#[derive(Debug)]
enum State {
    /// `deadline`: first-digit timeout while `digits` is empty, else inter-digit timeout.
    Collecting {
        digits: String,
        deadline: Instant,
    },
    Deciding {
        conference_id: String,
        deadline: Instant,
        /// When to play the "checking" prompt, until it has played.
        announce_at: Option<Instant>,
    },
    Lobby {
        conference_id: String,
        deadline: Instant,
        music: bool,
    },
    Admitted {
        conference_id: String,
    },
    Ending {
        reason: HangUpReason,
    },
    Joined,
    HungUp,
}

/// The IVR of one call. See the crate documentation for the protocol.
#[derive(Debug)]
pub struct Ivr {
    cfg: Config,
    state: State,
    player: Player,
    dedup: Dedup,
    actions: VecDeque<Action>,
    slate: Option<SlateKind>,
    failed: u32,
    silent_reprompts: u32,
    started: Instant,
}

impl Ivr {
    /// Answers the call: the welcome slate and prompt, then "enter the conference ID".
    pub fn new(config: Config, now: Instant) -> Ivr {
        let mut ivr = Ivr::blank(config, now);
        ivr.show(SlateKind::Welcome {
            provider_name: ivr.cfg.provider_name.clone(),
        });
        ivr.play(&[Prompt::Welcome, Prompt::EnterId], now);
        ivr
    }

    /// Answers a caller whose source is blocked for too many failed attempts: the "try again
    /// later" slate and prompt, then `HangUp { reason: Blocked }`.
    pub fn new_blocked(config: Config, now: Instant) -> Ivr {
        let mut ivr = Ivr::blank(config, now);
        ivr.end(
            SlateKind::TryLater,
            &[Prompt::TryLater],
            HangUpReason::Blocked,
            now,
        );
        ivr
    }

    fn blank(config: Config, now: Instant) -> Ivr {
        let cfg = config.sanitized();
        Ivr {
            player: Player::new(cfg.language.clone(), cfg.prompt_guard),
            dedup: Dedup::new(cfg.dedup_window),
            state: State::Collecting {
                digits: String::new(),
                deadline: now + cfg.first_digit_timeout,
            },
            cfg,
            actions: VecDeque::new(),
            slate: None,
            failed: 0,
            silent_reprompts: 0,
            started: now,
        }
    }

    /// The next action for the driver, in order.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// The earliest instant at which [`Ivr::handle_timeout`] has something to do; `None`
    /// once the IVR is finished (or waits only for inputs).
    pub fn poll_timeout(&self) -> Option<Instant> {
        let state = match &self.state {
            State::Collecting { deadline, .. } => {
                Some((*deadline).min(self.started + self.cfg.time_limit))
            }
            State::Deciding {
                deadline,
                announce_at,
                ..
            } => Some(announce_at.map_or(*deadline, |a| a.min(*deadline))),
            State::Lobby { deadline, .. } => Some(*deadline),
            State::Admitted { .. } | State::Ending { .. } | State::Joined | State::HungUp => None,
        };
        state.into_iter().chain(self.player.deadline()).min()
    }

    /// Where the IVR is.
    pub fn phase(&self) -> Phase {
        match self.state {
            State::Collecting { .. } => Phase::Collecting,
            State::Deciding { .. } => Phase::Deciding,
            State::Lobby { .. } => Phase::Lobby,
            State::Admitted { .. } => Phase::Admitted,
            State::Ending { .. } => Phase::Ending,
            State::Joined => Phase::Joined,
            State::HungUp => Phase::HungUp,
        }
    }

    /// True once `Join` or `HangUp` was emitted; every later input is ignored.
    pub fn is_finished(&self) -> bool {
        matches!(self.state, State::Joined | State::HungUp)
    }

    /// Failed conference-ID attempts on this call so far.
    pub fn failed_attempts(&self) -> u32 {
        self.failed
    }

    /// A key press from `source`. Copies of one press from several sources are merged;
    /// digits outside ID collection (deciding, lobby, goodbye) are ignored.
    pub fn handle_digit(&mut self, digit: Digit, source: DigitSource, now: Instant) {
        if self.is_finished() || !self.dedup.accept(digit, source, now) {
            return;
        }
        if !matches!(self.state, State::Collecting { .. })
            || matches!(digit, Digit::A | Digit::B | Digit::C | Digit::D)
        {
            return;
        }
        self.silent_reprompts = 0;
        self.player.stop(&mut self.actions);
        let State::Collecting { digits, deadline } = &mut self.state else {
            return;
        };
        match digit {
            Digit::Star => self.reprompt(now),
            Digit::Pound if digits.is_empty() => self.reprompt(now),
            Digit::Pound => {
                let id = std::mem::take(digits);
                self.submit(id, now);
            }
            _ if digits.len() >= self.cfg.max_digits => {
                digits.clear();
                self.fail(AttemptFailure::TooLong, now);
            }
            d => {
                digits.push(d.as_char());
                *deadline = now + self.cfg.inter_digit_timeout;
            }
        }
    }

    /// The gateway's decision on the ID of the last `Decide`. Ignored unless one is pending.
    pub fn handle_decision(&mut self, result: DecisionResult, now: Instant) {
        let State::Deciding { conference_id, .. } = &mut self.state else {
            return;
        };
        let conference_id = std::mem::take(conference_id);
        match result {
            DecisionResult::Join { lobby: false, .. } => {
                self.player.forget();
                self.state = State::Joined;
                self.actions.push_back(Action::Join {
                    conference_id,
                    lobby: false,
                });
            }
            DecisionResult::Join {
                lobby: true,
                meeting_name,
            } => {
                self.show(SlateKind::Lobby { meeting_name });
                self.state = State::Lobby {
                    conference_id,
                    deadline: now + self.cfg.lobby_timeout,
                    music: false,
                };
                self.play(&[Prompt::Lobby], now);
            }
            DecisionResult::NotFound => self.fail(AttemptFailure::NotFound, now),
            DecisionResult::Forbidden { reason } => self.end(
                SlateKind::Rejected {
                    reason_text: reason,
                },
                &[Prompt::Rejected],
                HangUpReason::Forbidden,
                now,
            ),
            DecisionResult::Unavailable => self.unavailable(now),
        }
    }

    /// The meeting side's answer for a caller in the lobby. Ignored anywhere else.
    pub fn handle_admission(&mut self, admission: Admission, now: Instant) {
        let State::Lobby { conference_id, .. } = &mut self.state else {
            return;
        };
        match admission {
            Admission::Admit => {
                self.state = State::Admitted {
                    conference_id: std::mem::take(conference_id),
                };
                self.play(&[Prompt::Admitted], now);
            }
            Admission::Reject => self.end(
                SlateKind::Rejected {
                    reason_text: "You were not admitted to the meeting".into(),
                },
                &[Prompt::Rejected],
                HangUpReason::LobbyRejected,
                now,
            ),
            Admission::Timeout => self.lobby_timeout(now),
        }
    }

    /// The media side finished playing prompt `id` (stale ids are ignored).
    pub fn handle_prompt_finished(&mut self, id: PromptId, now: Instant) {
        if self.player.finished(id, now, &mut self.actions) {
            self.sequence_done(now);
        }
    }

    /// Runs every deadline that is due at `now`; before [`Ivr::poll_timeout`] it does nothing.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.player.handle_timeout(now, &mut self.actions) {
            self.sequence_done(now);
        }
        match &mut self.state {
            State::Collecting { .. } if self.started + self.cfg.time_limit <= now => self.end(
                SlateKind::Goodbye,
                &[Prompt::Goodbye],
                HangUpReason::TimeLimit,
                now,
            ),
            State::Collecting { digits, deadline } if *deadline <= now => {
                if !digits.is_empty() {
                    self.reprompt(now); // inter-digit timeout: not an attempt
                } else if self.silent_reprompts >= self.cfg.max_silent_reprompts {
                    self.end(
                        SlateKind::Goodbye,
                        &[Prompt::Goodbye],
                        HangUpReason::NoInput,
                        now,
                    );
                } else {
                    self.silent_reprompts += 1;
                    self.reprompt(now);
                }
            }
            State::Deciding { deadline, .. } if *deadline <= now => self.unavailable(now),
            State::Deciding { announce_at, .. } if announce_at.is_some_and(|a| a <= now) => {
                *announce_at = None;
                self.play(&[Prompt::Checking], now);
            }
            State::Lobby { deadline, .. } if *deadline <= now => self.lobby_timeout(now),
            _ => {}
        }
    }

    /// A prompt sequence ran to its end (reported or guarded): what comes after it.
    fn sequence_done(&mut self, now: Instant) {
        match &mut self.state {
            // The caller gets the full first-digit time after being asked.
            State::Collecting { digits, deadline } if digits.is_empty() => {
                *deadline = now + self.cfg.first_digit_timeout;
            }
            State::Lobby { music, .. } if !*music => {
                *music = true;
                self.actions.push_back(Action::PlayLobbyMusic);
            }
            State::Admitted { conference_id } => {
                let conference_id = std::mem::take(conference_id);
                self.state = State::Joined;
                self.actions.push_back(Action::Join {
                    conference_id,
                    lobby: true,
                });
            }
            State::Ending { reason } => {
                let reason = *reason;
                self.state = State::HungUp;
                self.actions.push_back(Action::HangUp { reason });
            }
            _ => {}
        }
    }

    /// Clears the digits and asks for the ID again.
    fn reprompt(&mut self, now: Instant) {
        self.show(SlateKind::EnterId {
            attempt: self.failed + 1,
            max: self.cfg.max_attempts,
        });
        self.collect(now);
        self.play(&[Prompt::EnterId], now);
    }

    fn collect(&mut self, now: Instant) {
        self.state = State::Collecting {
            digits: String::new(),
            deadline: now + self.cfg.first_digit_timeout,
        };
    }

    fn submit(&mut self, id: String, now: Instant) {
        if vtc_id::validate(&id).is_err() {
            return self.fail(AttemptFailure::Invalid, now);
        }
        self.show(SlateKind::Checking);
        self.actions.push_back(Action::Decide {
            conference_id: id.clone(),
        });
        self.state = State::Deciding {
            conference_id: id,
            deadline: now + self.cfg.decision_timeout,
            announce_at: Some(now + self.cfg.checking_prompt_after),
        };
    }

    fn fail(&mut self, reason: AttemptFailure, now: Instant) {
        self.failed += 1;
        self.actions.push_back(Action::AttemptFailed {
            reason,
            failed_attempts: self.failed,
        });
        if self.failed >= self.cfg.max_attempts {
            return self.end(
                SlateKind::TooManyAttempts,
                &[Prompt::TooManyAttempts], // it ends with "Goodbye."
                HangUpReason::TooManyAttempts,
                now,
            );
        }
        self.show(SlateKind::WrongId {
            attempt: self.failed + 1,
            max: self.cfg.max_attempts,
        });
        self.collect(now);
        let said = match reason {
            AttemptFailure::NotFound => Prompt::NotFound,
            AttemptFailure::Invalid | AttemptFailure::TooLong => Prompt::InvalidId,
        };
        self.play(&[said, Prompt::EnterId], now);
    }

    /// The slate asks to try later; the audio is the plain goodbye, because the `TryLater`
    /// recording blames failed attempts (it is meant for blocked callers).
    fn unavailable(&mut self, now: Instant) {
        self.end(
            SlateKind::TryLater,
            &[Prompt::Goodbye],
            HangUpReason::Unavailable,
            now,
        );
    }

    fn lobby_timeout(&mut self, now: Instant) {
        self.end(
            SlateKind::Goodbye,
            &[Prompt::Goodbye],
            HangUpReason::LobbyTimeout,
            now,
        );
    }

    /// Shows `slate`, plays `prompts`, then hangs up with `reason`.
    fn end(&mut self, slate: SlateKind, prompts: &[Prompt], reason: HangUpReason, now: Instant) {
        self.show(slate);
        self.state = State::Ending { reason };
        self.play(prompts, now);
    }

    fn play(&mut self, prompts: &[Prompt], now: Instant) {
        self.player.play(prompts, now, &mut self.actions);
    }

    /// Emits `ShowSlate` unless the caller already sees this slate.
    fn show(&mut self, kind: SlateKind) {
        if self.slate.as_ref() == Some(&kind) {
            return;
        }
        self.slate = Some(kind.clone());
        let slate = Slate::render(kind, &self.cfg.language);
        self.actions.push_back(Action::ShowSlate { slate });
    }
}
