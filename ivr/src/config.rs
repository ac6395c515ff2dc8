//! IVR settings. Every duration is measured on the clock the driver passes in as `now`.

use crate::types::Language;
use std::time::Duration;

/// IVR settings; [`Config::default`] holds the documented defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Shown on the welcome slate (the provider's or the gateway's name).
    pub provider_name: String,
    /// Prompt language (see [`Language::choose`]).
    pub language: Language,
    /// Failed ID attempts before the goodbye. Default 3; at least 1.
    pub max_attempts: u32,
    /// Times the IVR re-prompts a caller who types nothing before it hangs up. Default 2.
    pub max_silent_reprompts: u32,
    /// Wait for the first digit, counted from the end of the prompt asking for it (or from
    /// the prompt's start if the media side never reports its end). Default 20 s.
    pub first_digit_timeout: Duration,
    /// Wait for the next digit once one was typed; on expiry the digits are dropped and the
    /// caller is asked again, without counting an attempt. Default 8 s.
    pub inter_digit_timeout: Duration,
    /// More digits than this before `#` is a failed attempt (an ID has 10). Default 32.
    pub max_digits: usize,
    /// Two reports of the same key from *different* sources (RFC 4733, SIP INFO, in-band)
    /// this close together are one key press; default 120 ms.
    ///
    /// Why 120 ms: endpoints that send RFC 4733 and INFO for every key report both at key-down,
    /// and in-band detection needs ~40 ms of tone plus the jitter buffer, so copies of one press
    /// arrive tens of milliseconds apart. A person repeating a key takes longer than that (tone
    /// plus pause: ≥ ~150 ms in practice, ≥ 80 ms even for dialers per ITU-T Q.24). Repeats from
    /// the *same* source are never merged, so a short window only matters if one source drops
    /// a press that the other delivers. This assumes each DTMF layer reports a key at its onset
    /// (RFC 4733: the first packet of a new event, not its end).
    pub dedup_window: Duration,
    /// Longest a prompt may play before the IVR treats it as finished, so a lost "finished"
    /// report never stalls the call (e.g. hang-up after the goodbye). Default 10 s.
    pub prompt_guard: Duration,
    /// Longest wait for the gateway's decision before telling the caller to try later. 10 s.
    pub decision_timeout: Duration,
    /// The "checking" prompt plays only if the decision takes longer than this. Default 1 s.
    pub checking_prompt_after: Duration,
    /// Longest wait in the lobby. Default 15 min.
    pub lobby_timeout: Duration,
    /// Longest time in the IVR before the ID is accepted (covers callers who keep typing
    /// single digits to hold a line). Default 5 min.
    pub time_limit: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            provider_name: String::new(),
            language: Language::english(),
            max_attempts: 3,
            max_silent_reprompts: 2,
            first_digit_timeout: Duration::from_secs(20),
            inter_digit_timeout: Duration::from_secs(8),
            max_digits: 32,
            dedup_window: Duration::from_millis(120),
            prompt_guard: Duration::from_secs(10),
            decision_timeout: Duration::from_secs(10),
            checking_prompt_after: Duration::from_secs(1),
            lobby_timeout: Duration::from_secs(15 * 60),
            time_limit: Duration::from_secs(5 * 60),
        }
    }
}

impl Config {
    /// Clamps values that would make the machine misbehave: at least one attempt, room for a
    /// full ID, and timers of at least 1 ms (a zero timer would fire forever).
    pub(crate) fn sanitized(mut self) -> Config {
        let min = Duration::from_millis(1);
        self.max_attempts = self.max_attempts.max(1);
        self.max_digits = self.max_digits.max(cvi_provisioning::vtc_id::LEN);
        for d in [
            &mut self.first_digit_timeout,
            &mut self.inter_digit_timeout,
            &mut self.prompt_guard,
            &mut self.decision_timeout,
            &mut self.checking_prompt_after,
            &mut self.lobby_timeout,
            &mut self.time_limit,
        ] {
            *d = (*d).max(min);
        }
        self
    }
}
