//! Waiting in the lobby: admitted, refused, or left waiting too long.

mod common;

use common::*;
use cvi_ivr::{Action, Admission, Config, DecisionResult, HangUpReason, Phase, Prompt, SlateKind};

fn in_lobby() -> Sim {
    let mut sim = Sim::new(Config::default());
    sim.advance(secs(7));
    let out = sim.enter_valid_and_decide(DecisionResult::Join {
        lobby: true,
        meeting_name: Some("Quarterly review".into()),
    });
    assert_eq!(
        slates(&out).last(),
        Some(&SlateKind::Lobby {
            meeting_name: Some("Quarterly review".into())
        })
    );
    assert_eq!(prompts(&out), [Prompt::Lobby]);
    assert_eq!(sim.ivr.phase(), Phase::Lobby);
    // Music after the lobby prompt.
    let out = sim.advance(secs(3));
    assert_eq!(out, [Action::PlayLobbyMusic]);
    sim
}

#[test]
fn admitted_caller_joins_after_the_notice() {
    let mut sim = in_lobby();
    sim.advance(secs(60));
    let out = sim.admission(Admission::Admit);
    assert_eq!(prompts(&out), [Prompt::Admitted]);
    assert_eq!(sim.ivr.phase(), Phase::Admitted);
    let out = sim.advance(secs(3));
    assert_eq!(
        out,
        [Action::Join {
            conference_id: valid_id(),
            lobby: true
        }]
    );
    assert_eq!(sim.ivr.phase(), Phase::Joined);
}

#[test]
fn admission_during_the_lobby_prompt_and_digits_in_the_lobby() {
    let mut sim = Sim::new(Config::default());
    sim.advance(secs(7));
    sim.enter_valid_and_decide(DecisionResult::Join {
        lobby: true,
        meeting_name: None,
    });
    assert!(sim.press("123#").is_empty(), "keys in the lobby do nothing");
    let out = sim.admission(Admission::Admit);
    assert_eq!(prompts(&out), [Prompt::Admitted]);
    let out = sim.advance(secs(10));
    assert!(!out.contains(&Action::PlayLobbyMusic));
    assert_eq!(
        count(
            &out,
            &Action::Join {
                conference_id: valid_id(),
                lobby: true
            }
        ),
        1
    );
}

#[test]
fn refused_caller_hears_why_and_is_hung_up() {
    let mut sim = in_lobby();
    let out = sim.admission(Admission::Reject);
    assert!(matches!(
        slates(&out).as_slice(),
        [SlateKind::Rejected { .. }]
    ));
    assert_eq!(prompts(&out), [Prompt::Rejected]);
    assert_eq!(
        hang_up(&sim.advance(secs(3))),
        Some(HangUpReason::LobbyRejected)
    );
}

#[test]
fn nobody_admits_in_time() {
    let mut sim = in_lobby();
    // 15 min from entering the lobby (the fixture spent 3 s of it on the prompt).
    let out = sim.advance(secs(15 * 60 - 4));
    assert!(out.is_empty(), "{out:?}");
    let out = sim.advance(secs(1));
    assert_eq!(slates(&out), [SlateKind::Goodbye]);
    assert_eq!(prompts(&out), [Prompt::Goodbye]);
    assert_eq!(
        hang_up(&sim.advance(secs(3))),
        Some(HangUpReason::LobbyTimeout)
    );
    // The meeting side's admit arrives too late.
    assert!(sim.admission(Admission::Admit).is_empty());
}

#[test]
fn the_meeting_side_can_time_the_wait_out() {
    let mut sim = in_lobby();
    let out = sim.admission(Admission::Timeout);
    assert_eq!(prompts(&out), [Prompt::Goodbye]);
    assert_eq!(
        hang_up(&sim.advance(secs(3))),
        Some(HangUpReason::LobbyTimeout)
    );
}

#[test]
fn admission_outside_the_lobby_is_ignored() {
    let mut sim = Sim::new(Config::default());
    sim.drain();
    assert!(sim.admission(Admission::Admit).is_empty());
    assert_eq!(sim.ivr.phase(), Phase::Collecting);
}
