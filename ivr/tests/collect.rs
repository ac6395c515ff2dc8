//! Collecting the conference ID: prompts, keys, timers.

mod common;

use common::*;
use cvi_ivr::{
    Action, AttemptFailure, Config, DecisionResult, DigitSource, HangUpReason, Phase, Prompt,
    SlateKind,
};

fn cfg() -> Config {
    Config {
        provider_name: "Polycom".into(),
        ..Config::default()
    }
}

#[test]
fn answer_shows_welcome_and_asks_for_the_id() {
    let mut sim = Sim::new(cfg());
    let out = sim.drain();
    assert_eq!(
        slates(&out),
        [SlateKind::Welcome {
            provider_name: "Polycom".into()
        }]
    );
    let Some(Action::ShowSlate { slate }) = out.first() else {
        panic!("slate first: {out:?}");
    };
    assert_eq!(
        slate.lines,
        ["Polycom", "Enter the conference ID followed by #"]
    );
    assert_eq!(prompts(&out), [Prompt::Welcome]);
    // The second prompt of the greeting follows when the first finishes.
    assert_eq!(prompts(&sim.advance(secs(4))), [Prompt::EnterId]);
    assert_eq!(sim.ivr.phase(), Phase::Collecting);
}

#[test]
fn happy_path_digits_pound_decide_join() {
    let mut sim = Sim::new(cfg());
    sim.advance(secs(7));
    let out = sim.press(&format!("{}#", valid_id()));
    assert_eq!(decides(&out), [valid_id()]);
    assert_eq!(slates(&out), [SlateKind::Checking]);
    assert_eq!(sim.ivr.phase(), Phase::Deciding);
    let out = sim.decide(DecisionResult::Join {
        lobby: false,
        meeting_name: None,
    });
    assert_eq!(
        out,
        [Action::Join {
            conference_id: valid_id(),
            lobby: false
        }]
    );
    assert_eq!(sim.ivr.phase(), Phase::Joined);
    assert!(sim.ivr.is_finished());
    assert_eq!(sim.ivr.poll_timeout(), None);
    assert_eq!(sim.ivr.failed_attempts(), 0);
}

#[test]
fn wrong_check_digit_fails_without_a_lookup() {
    let mut sim = Sim::new(cfg());
    sim.advance(secs(7));
    let out = sim.press(&format!("{}#", mistyped_id()));
    assert!(
        decides(&out).is_empty(),
        "no Decide for a mistyped ID: {out:?}"
    );
    assert!(out.contains(&Action::AttemptFailed {
        reason: AttemptFailure::Invalid,
        failed_attempts: 1
    }));
    assert_eq!(slates(&out), [SlateKind::WrongId { attempt: 2, max: 3 }]);
    assert_eq!(prompts(&out), [Prompt::InvalidId]);
    assert_eq!(prompts(&sim.advance(secs(4))), [Prompt::EnterId]);
    assert_eq!(sim.ivr.failed_attempts(), 1);
    // Too short is refused the same way.
    let out = sim.press("12345#");
    assert!(decides(&out).is_empty());
    assert_eq!(sim.ivr.failed_attempts(), 2);
    // The next right ID still goes through.
    let out = sim.press(&format!("{}#", valid_id()));
    assert_eq!(decides(&out), [valid_id()]);
}

#[test]
fn star_clears_and_reprompts() {
    let mut sim = Sim::new(cfg());
    sim.advance(secs(7));
    let out = sim.press("999*");
    assert_eq!(prompts(&out), [Prompt::EnterId]);
    assert_eq!(slates(&out), [SlateKind::EnterId { attempt: 1, max: 3 }]);
    let out = sim.press(&format!("{}#", valid_id()));
    assert_eq!(decides(&out), [valid_id()], "the 999 before * is gone");
    assert_eq!(sim.ivr.failed_attempts(), 0);
}

#[test]
fn empty_pound_reprompts_without_an_attempt() {
    let mut sim = Sim::new(cfg());
    sim.advance(secs(7));
    let out = sim.press("#");
    assert_eq!(prompts(&out), [Prompt::EnterId]);
    assert_eq!(failures(&out), 0);
}

#[test]
fn inter_digit_timeout_reprompts_without_an_attempt() {
    let mut sim = Sim::new(cfg());
    sim.advance(secs(7));
    sim.press("0179");
    let out = sim.advance(secs(7));
    assert!(prompts(&out).is_empty(), "not before 8 s");
    let out = sim.advance(secs(1));
    assert_eq!(prompts(&out), [Prompt::EnterId]);
    assert_eq!(failures(&out), 0);
    assert_eq!(sim.ivr.failed_attempts(), 0);
    // The four digits were dropped: a full ID now is read alone.
    let out = sim.press(&format!("{}#", valid_id()));
    assert_eq!(decides(&out), [valid_id()]);
}

#[test]
fn silence_reprompts_then_hangs_up_politely() {
    let mut sim = Sim::new(cfg());
    // Greeting: 2 prompts × 3 s, then 20 s of silence, twice re-prompted (3 s + 20 s each).
    let out = sim.advance(secs(25));
    assert_eq!(prompts(&out), [Prompt::Welcome, Prompt::EnterId]);
    let out = sim.advance(secs(2));
    assert_eq!(
        prompts(&out),
        [Prompt::EnterId],
        "first silent re-prompt at 26 s"
    );
    let out = sim.advance(secs(23));
    assert_eq!(prompts(&out), [Prompt::EnterId], "second at 49 s");
    let out = sim.advance(secs(23));
    assert_eq!(prompts(&out), [Prompt::Goodbye], "goodbye at 72 s");
    assert_eq!(slates(&out), [SlateKind::Goodbye]);
    assert_eq!(hang_up(&out), None, "not before the goodbye ends");
    assert_eq!(sim.ivr.phase(), Phase::Ending);
    let out = sim.advance(secs(3));
    assert_eq!(hang_up(&out), Some(HangUpReason::NoInput));
    assert_eq!(sim.ivr.phase(), Phase::HungUp);
    assert_eq!(sim.ivr.failed_attempts(), 0);
}

#[test]
fn a_key_resets_the_silence_count() {
    let mut sim = Sim::new(cfg());
    sim.advance(secs(49)); // two silent re-prompts so far
    sim.press("#");
    let out = sim.advance(secs(30));
    assert_eq!(prompts(&out), [Prompt::EnterId], "re-prompted, not hung up");
    assert_eq!(hang_up(&out), None);
}

#[test]
fn digits_barge_in_on_a_playing_prompt() {
    let mut sim = Sim::new(cfg());
    sim.drain();
    let out = sim.press("0");
    assert_eq!(out, [Action::StopPrompt]);
    assert!(sim.playing.is_none());
    // The rest of the greeting does not resume.
    let out = sim.press(&format!("{}#", &valid_id()[1..]));
    assert!(prompts(&out).is_empty());
    assert_eq!(decides(&out), [valid_id()]);
    // A key while nothing plays stops nothing.
    let mut sim = Sim::new(cfg());
    sim.advance(secs(7));
    assert!(!sim.press("5").contains(&Action::StopPrompt));
}

#[test]
fn too_many_digits_is_a_failed_attempt() {
    let mut sim = Sim::new(cfg());
    sim.advance(secs(7));
    let out = sim.press(&"1".repeat(32));
    assert_eq!(failures(&out), 0, "32 digits fit");
    let out = sim.press("1");
    assert!(out.contains(&Action::AttemptFailed {
        reason: AttemptFailure::TooLong,
        failed_attempts: 1
    }));
    assert_eq!(prompts(&out), [Prompt::InvalidId]);
    assert!(decides(&out).is_empty());
    // The buffer restarted: a valid ID goes through.
    sim.advance(secs(6));
    assert_eq!(
        decides(&sim.press(&format!("{}#", valid_id()))),
        [valid_id()]
    );
}

#[test]
fn letter_keys_are_ignored() {
    let mut sim = Sim::new(cfg());
    sim.advance(secs(7));
    let id = valid_id();
    let out = sim.press(&format!("{}A{}D#", &id[..4], &id[4..]));
    assert_eq!(decides(&out), [id]);
}

#[test]
fn keys_outside_collection_are_ignored() {
    let mut sim = Sim::new(cfg());
    sim.advance(secs(7));
    sim.press(&format!("{}#", valid_id()));
    let out = sim.press_from("123#", DigitSource::SipInfo);
    // Only the "checking" prompt (the decision is slow: 1 s) and no barge-in.
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(prompts(&out), [Prompt::Checking]);
    assert_eq!(sim.ivr.phase(), Phase::Deciding);
}

#[test]
fn time_limit_ends_a_call_that_never_submits() {
    let mut sim = Sim::new(Config {
        time_limit: secs(60),
        ..cfg()
    });
    // A key every 5 s keeps both digit timers away; `*` keeps the ID short.
    let mut out = Vec::new();
    while sim.elapsed() < secs(55) {
        out.extend(sim.advance(secs(5)));
        out.extend(sim.key('1', DigitSource::Rfc4733));
        out.extend(sim.key('*', DigitSource::Rfc4733));
    }
    assert!(!prompts(&out).contains(&Prompt::Goodbye));
    assert!(
        prompts(&sim.advance(secs(4))).is_empty(),
        "nothing before 60 s"
    );
    let out = sim.advance(secs(1));
    assert_eq!(prompts(&out), [Prompt::Goodbye], "at 60 s");
    let out = sim.advance(secs(3));
    assert_eq!(hang_up(&out), Some(HangUpReason::TimeLimit));
}
