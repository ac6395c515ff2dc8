//! The IVR of cvi-gateway, as a sans-IO state machine in the style of quinn-proto and str0m.
//!
//! It never reads a clock, a socket or a file: the driver (the call task) feeds it inputs,
//! each with `now`, and carries out the [`Action`]s it queues. It imports nothing of SIP or
//! media; the only outside knowledge it uses is the conference-ID check digit
//! ([`cvi_provisioning::vtc_id::validate`]), so mistyped IDs are refused without a lookup.
//!
//! Inputs: [`Ivr::handle_digit`] (with its [`DigitSource`]; copies of one press from several
//! sources are merged), [`Ivr::handle_decision`], [`Ivr::handle_admission`],
//! [`Ivr::handle_prompt_finished`], [`Ivr::handle_timeout`].
//! Outputs: [`Ivr::poll_action`] until `None`, then [`Ivr::poll_timeout`] for the instant at
//! which to call `handle_timeout`. Both must be polled again after every input.
//!
//! ```
//! use cvi_ivr::{Action, Config, DecisionResult, Digit, DigitSource, Ivr};
//! use std::time::{Duration, Instant};
//!
//! let mut now = Instant::now(); // the driver's clock; tests use a simulated one
//! let mut ivr = Ivr::new(Config { provider_name: "Polycom".into(), ..Config::default() }, now);
//! for c in "1234567894#".chars() {
//!     now += Duration::from_millis(300);
//!     ivr.handle_digit(Digit::from_char(c).expect("DTMF key"), DigitSource::Rfc4733, now);
//! }
//! let mut decided = None;
//! while let Some(action) = ivr.poll_action() {
//!     match action {
//!         Action::Decide { conference_id } => decided = Some(conference_id),
//!         Action::ShowSlate { slate } => println!("slate: {:?}", slate.lines),
//!         _ => {}
//!     }
//! }
//! assert_eq!(decided.as_deref(), Some("1234567894"));
//! let result = DecisionResult::Join { lobby: false, meeting_name: None };
//! ivr.handle_decision(result, now);
//! assert!(matches!(ivr.poll_action(), Some(Action::Join { lobby: false, .. })));
//! assert!(ivr.is_finished());
//! ```

mod action;
mod config;
mod decision;
mod dedup;
mod machine;
mod player;
mod slate;
mod types;

pub use action::Action;
pub use config::Config;
pub use decision::DecisionResult;
pub use machine::Ivr;
pub use slate::{MAX_LINE_CHARS, Slate, SlateKind};
pub use types::{
    Admission, AttemptFailure, Digit, DigitSource, HangUpReason, Language, Phase, Prompt, PromptId,
};
