//! One key press reported over several DTMF paths counts once; repeats count every time.

mod common;

use DigitSource::{InBand, Rfc4733 as Rtp, SipInfo as Info};
use common::*;
use cvi_ivr::{Action, AttemptFailure, Config, DigitSource, Prompt};
use cvi_provisioning::vtc_id;

/// Types `keys` with every key reported by each `(source, delay)` pair.
fn type_on(sim: &mut Sim, keys: &str, copies: &[(DigitSource, u64)]) -> Vec<Action> {
    let mut out = Vec::new();
    for c in keys.chars() {
        out.extend(sim.advance(KEY_GAP));
        let mut elapsed = 0;
        for &(src, delay) in copies {
            out.extend(sim.advance(ms(delay - elapsed)));
            elapsed = delay;
            out.extend(sim.key(c, src));
        }
    }
    out
}

fn ready() -> Sim {
    let mut sim = Sim::new(Config::default());
    sim.advance(secs(7));
    sim
}

#[test]
fn rfc4733_and_info_for_every_key_read_once() {
    let mut sim = ready();
    let out = type_on(
        &mut sim,
        &format!("{}#", valid_id()),
        &[(Rtp, 0), (Info, 40)],
    );
    assert_eq!(decides(&out), [valid_id()]);
    assert_eq!(failures(&out), 0);
}

#[test]
fn info_first_then_rtp_and_all_three_sources() {
    let mut sim = ready();
    let out = type_on(
        &mut sim,
        &format!("{}#", valid_id()),
        &[(Info, 0), (Rtp, 30), (InBand, 100)],
    );
    assert_eq!(decides(&out), [valid_id()]);
}

#[test]
fn a_copy_past_the_window_is_a_new_press() {
    let mut sim = ready();
    // Every key doubled 200 ms later: 20 digits, refused without a lookup.
    let out = type_on(
        &mut sim,
        &format!("{}#", valid_id()),
        &[(Rtp, 0), (Info, 200)],
    );
    assert!(decides(&out).is_empty());
    assert!(out.contains(&Action::AttemptFailed {
        reason: AttemptFailure::Invalid,
        failed_attempts: 1
    }));
}

#[test]
fn the_window_is_configurable() {
    let mut sim = Sim::new(Config {
        dedup_window: ms(250),
        ..Config::default()
    });
    sim.advance(secs(7));
    let out = type_on(
        &mut sim,
        &format!("{}#", valid_id()),
        &[(Rtp, 0), (Info, 200)],
    );
    assert_eq!(decides(&out), [valid_id()]);
}

#[test]
fn the_same_key_twice_on_one_source_counts_twice() {
    let mut body = "112233445".to_string();
    body.push(vtc_id::check_digit(&body).expect("digits"));
    let mut sim = ready();
    let mut out = Vec::new();
    // Fast repeats, 30 ms apart, on RTP only: nothing is merged.
    for c in body.chars().chain(['#']) {
        out.extend(sim.advance(ms(30)));
        out.extend(sim.key(c, Rtp));
    }
    assert_eq!(decides(&out), [body.clone()]);

    // And with INFO copies 20 ms behind each press, still each press once.
    let mut sim = ready();
    let out = type_on(&mut sim, &format!("{body}#"), &[(Rtp, 0), (Info, 20)]);
    assert_eq!(decides(&out), [body]);
}

#[test]
fn star_and_pound_are_merged_too() {
    let mut sim = ready();
    let out = type_on(&mut sim, "12*", &[(Rtp, 0), (Info, 40)]);
    assert_eq!(prompts(&out), [Prompt::EnterId], "one clear, one re-prompt");
    let out = type_on(
        &mut sim,
        &format!("{}#", valid_id()),
        &[(Rtp, 0), (Info, 40)],
    );
    assert_eq!(decides(&out), [valid_id()], "one submit");
}
