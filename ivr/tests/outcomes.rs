//! What the caller hears and sees after the decision, and the blocked caller.

mod common;

use common::*;
use cvi_ivr::{
    Action, AttemptFailure, Config, DecisionResult, HangUpReason, Phase, Prompt, SlateKind,
};

#[test]
fn not_found_three_times_says_goodbye_and_hangs_up() {
    let mut sim = Sim::new(Config::default());
    sim.advance(secs(7));
    for attempt in 1..=2u32 {
        let out = sim.enter_valid_and_decide(DecisionResult::NotFound);
        assert!(out.contains(&Action::AttemptFailed {
            reason: AttemptFailure::NotFound,
            failed_attempts: attempt
        }));
        assert_eq!(
            slates(&out),
            [
                SlateKind::Checking,
                SlateKind::WrongId {
                    attempt: attempt + 1,
                    max: 3
                }
            ]
        );
        assert_eq!(prompts(&out), [Prompt::NotFound]);
        assert_eq!(prompts(&sim.advance(secs(4))), [Prompt::EnterId]);
        assert_eq!(sim.ivr.phase(), Phase::Collecting);
    }
    let out = sim.enter_valid_and_decide(DecisionResult::NotFound);
    assert_eq!(sim.ivr.failed_attempts(), 3);
    assert_eq!(failures(&out), 1);
    assert_eq!(slates(&out).last(), Some(&SlateKind::TooManyAttempts));
    // "Too many attempts. Goodbye." plays to its end (3 s here), then the BYE.
    assert_eq!(prompts(&out), [Prompt::TooManyAttempts]);
    let out = sim.advance(secs(2));
    assert_eq!(hang_up(&out), None, "the goodbye plays first");
    let out = sim.advance(secs(1));
    assert_eq!(
        out,
        [Action::HangUp {
            reason: HangUpReason::TooManyAttempts
        }]
    );
    assert!(sim.ivr.is_finished());
    assert_eq!(sim.ivr.poll_timeout(), None);
    assert!(
        sim.press("1#").is_empty(),
        "inputs after hang-up do nothing"
    );
}

#[test]
fn mixed_failures_count_together_and_max_attempts_is_configurable() {
    let mut sim = Sim::new(Config {
        max_attempts: 2,
        ..Config::default()
    });
    sim.advance(secs(7));
    sim.press(&format!("{}#", mistyped_id()));
    assert_eq!(sim.ivr.failed_attempts(), 1);
    sim.advance(secs(7));
    let out = sim.enter_valid_and_decide(DecisionResult::NotFound);
    assert_eq!(prompts(&out), [Prompt::TooManyAttempts]);
    assert_eq!(
        hang_up(&sim.advance(secs(10))),
        Some(HangUpReason::TooManyAttempts)
    );
}

#[test]
fn hang_up_after_goodbye_even_if_the_prompt_never_reports() {
    let mut sim = Sim::new(Config {
        max_attempts: 1,
        ..Config::default()
    });
    sim.prompt_len = None; // a media side that never says "finished"
    sim.drain();
    let out = sim.press(&format!("{}#", mistyped_id()));
    assert_eq!(prompts(&out), [Prompt::TooManyAttempts]);
    // The goodbye gets the 10 s prompt guard, then the IVR hangs up regardless.
    let out = sim.advance(secs(9));
    assert_eq!(hang_up(&out), None);
    let out = sim.advance(secs(2));
    assert_eq!(hang_up(&out), Some(HangUpReason::TooManyAttempts));
}

#[test]
fn forbidden_shows_the_reason_then_hangs_up() {
    let mut sim = Sim::new(Config::default());
    sim.advance(secs(7));
    let reason = "This meeting does not allow anonymous callers";
    let out = sim.enter_valid_and_decide(DecisionResult::Forbidden {
        reason: reason.into(),
    });
    assert_eq!(
        slates(&out).last(),
        Some(&SlateKind::Rejected {
            reason_text: reason.into()
        })
    );
    let Some(Action::ShowSlate { slate }) = out
        .iter()
        .rev()
        .find(|a| matches!(a, Action::ShowSlate { .. }))
    else {
        panic!("no slate");
    };
    assert_eq!(slate.lines, ["You cannot join this meeting", reason]);
    assert_eq!(prompts(&out), [Prompt::Rejected]);
    assert_eq!(failures(&out), 0, "a right ID is not a failed attempt");
    assert_eq!(
        hang_up(&sim.advance(secs(3))),
        Some(HangUpReason::Forbidden)
    );
}

#[test]
fn unavailable_and_decision_timeout_say_try_later() {
    let mut sim = Sim::new(Config::default());
    sim.advance(secs(7));
    let out = sim.enter_valid_and_decide(DecisionResult::Unavailable);
    assert_eq!(slates(&out).last(), Some(&SlateKind::TryLater));
    // The TryLater recording blames failed attempts; a plain goodbye fits an outage.
    assert_eq!(prompts(&out), [Prompt::Goodbye]);
    assert_eq!(
        hang_up(&sim.advance(secs(3))),
        Some(HangUpReason::Unavailable)
    );

    let mut sim = Sim::new(Config::default());
    sim.advance(secs(7));
    sim.press(&format!("{}#", valid_id()));
    let out = sim.advance(secs(1));
    assert_eq!(
        prompts(&out),
        [Prompt::Checking],
        "a slow decision is announced"
    );
    let out = sim.advance(secs(9));
    assert_eq!(prompts(&out), [Prompt::Goodbye], "no decision in 10 s");
    assert_eq!(slates(&out), [SlateKind::TryLater]);
    assert_eq!(
        hang_up(&sim.advance(secs(3))),
        Some(HangUpReason::Unavailable)
    );
    // A decision arriving after that is ignored.
    assert!(
        sim.decide(DecisionResult::Join {
            lobby: false,
            meeting_name: None
        })
        .is_empty()
    );
}

#[test]
fn a_fast_decision_plays_no_checking_prompt() {
    let mut sim = Sim::new(Config::default());
    sim.advance(secs(7));
    let out = sim.enter_valid_and_decide(DecisionResult::Join {
        lobby: false,
        meeting_name: None,
    });
    assert!(prompts(&out).is_empty());
    assert!(sim.advance(secs(5)).is_empty());
}

#[test]
fn decisions_without_a_question_are_ignored() {
    let mut sim = Sim::new(Config::default());
    sim.drain();
    assert!(sim.decide(DecisionResult::NotFound).is_empty());
    assert_eq!(sim.ivr.failed_attempts(), 0);
    assert_eq!(sim.ivr.phase(), Phase::Collecting);
}

#[test]
fn blocked_caller_hears_try_later_and_is_hung_up() {
    let mut sim = Sim::blocked(Config::default());
    let out = sim.drain();
    assert_eq!(slates(&out), [SlateKind::TryLater]);
    assert_eq!(prompts(&out), [Prompt::TryLater]);
    assert_eq!(sim.ivr.phase(), Phase::Ending);
    assert!(
        sim.press("1234#").is_empty(),
        "no collecting for a blocked caller"
    );
    let out = sim.advance(secs(3));
    assert_eq!(hang_up(&out), Some(HangUpReason::Blocked));
    assert!(decides(&sim.log).is_empty());
    assert_eq!(failures(&sim.log), 0);
}
