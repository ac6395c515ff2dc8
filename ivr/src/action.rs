//! What the IVR asks its driver to do.

use crate::slate::Slate;
use crate::types::{AttemptFailure, HangUpReason, Language, Prompt, PromptId};

/// One instruction for the driver (the call task), taken with [`crate::Ivr::poll_action`]
/// in order.
///
/// Not `#[non_exhaustive]` on purpose: the driver is in this workspace, and a new action should
/// fail its build rather than be ignored by a wildcard arm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Start playing `prompt` now, replacing any prompt or lobby music still playing; report
    /// its natural end with [`crate::Ivr::handle_prompt_finished`]`(id, now)`.
    PlayPrompt {
        id: PromptId,
        prompt: Prompt,
        language: Language,
    },
    /// Stop the prompt that is playing (the caller barged in); no finished report is needed.
    StopPrompt,
    /// Show this slate on the caller's video until the next `ShowSlate`, `Join` or `HangUp`.
    ShowSlate { slate: Slate },
    /// Loop the lobby music until the next `PlayPrompt`, `StopPrompt`, `Join` or `HangUp`.
    PlayLobbyMusic,
    /// Run the provisioning decision for this conference ID (the direct-dial URI
    /// `key.conference_id@domain` of the tenant key the caller dialed) and hand the result
    /// to [`crate::Ivr::handle_decision`]. The ID passed its check digit already.
    Decide { conference_id: String },
    /// A conference-ID attempt failed; `failed_attempts` is this call's count so far. The
    /// driver feeds its per-source and per-tenant-key brute-force counters (never the digits).
    AttemptFailed {
        reason: AttemptFailure,
        failed_attempts: u32,
    },
    /// Connect the caller to the meeting. The IVR is finished: stop its slate, prompt and music.
    /// `lobby` says the caller was admitted from the lobby.
    Join { conference_id: String, lobby: bool },
    /// End the call (BYE). The IVR is finished.
    HangUp { reason: HangUpReason },
}
