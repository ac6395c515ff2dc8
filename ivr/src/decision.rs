//! The IVR's view of a provisioning decision: join (maybe via the lobby), not found, refused,
//! or not available. The gateway runs `cvi_provisioning::decide::decide` for the direct-dial
//! URI built from the ID the IVR asked about ([`crate::Action::Decide`]) and hands the result
//! back with [`crate::Ivr::handle_decision`].

use cvi_provisioning::decide::{Check, Decision, Outcome};

/// What the IVR needs to know about a decision.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DecisionResult {
    /// The caller may join, at once or after waiting in the lobby.
    Join {
        lobby: bool,
        /// Shown on the lobby slate when the gateway knows it.
        meeting_name: Option<String>,
    },
    /// No meeting has this ID (or it expired): a failed attempt, the caller may retry.
    NotFound,
    /// The meeting exists but this caller may not join; `reason` is caller-facing text.
    Forbidden { reason: String },
    /// The decision could not be made; the caller is asked to try later.
    Unavailable,
}

impl DecisionResult {
    /// Maps a provisioning outcome. Operator-facing detail (policy names, trace) stays out of
    /// the caller-facing reason.
    pub fn from_outcome(outcome: &Outcome) -> DecisionResult {
        match outcome {
            Outcome::Join { lobby, .. } => DecisionResult::Join {
                lobby: *lobby,
                meeting_name: None,
            },
            // The gateway asks with a direct-dial URI; an IVR outcome means it built a wrong one.
            Outcome::Ivr { .. } => DecisionResult::Unavailable,
            Outcome::Reject { check, .. } => match check {
                Check::ConferenceIdValid | Check::MeetingFound | Check::NotExpired => {
                    DecisionResult::NotFound
                }
                // The URI and key were fine when the call arrived: a gateway-side problem or a
                // provider removed meanwhile, not the caller's mistake.
                Check::RequestUri
                | Check::DomainServed
                | Check::DialString
                | Check::TenantKeyKnown => DecisionResult::Unavailable,
                Check::OrganizerProvisioned => {
                    forbidden("The meeting organizer cannot host video device callers")
                }
                Check::PolicyEnablesProvider => {
                    forbidden("This meeting does not accept calls from this video service")
                }
                Check::TenantConsent => {
                    forbidden("The organization has not enabled video device callers")
                }
                Check::AnonymousJoin => forbidden("This meeting does not allow anonymous callers"),
                Check::Lobby => forbidden("You are not allowed to join this meeting"),
            },
        }
    }
}

fn forbidden(reason: &str) -> DecisionResult {
    DecisionResult::Forbidden {
        reason: reason.to_string(),
    }
}

impl From<&Outcome> for DecisionResult {
    fn from(o: &Outcome) -> Self {
        DecisionResult::from_outcome(o)
    }
}

impl From<&Decision> for DecisionResult {
    fn from(d: &Decision) -> Self {
        DecisionResult::from_outcome(&d.outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reject(check: Check, status: u16) -> Outcome {
        Outcome::Reject {
            status,
            reason: "x".into(),
            check,
        }
    }

    #[test]
    fn rejections_map_by_check() {
        assert_eq!(
            DecisionResult::from_outcome(&reject(Check::MeetingFound, 404)),
            DecisionResult::NotFound
        );
        assert_eq!(
            DecisionResult::from_outcome(&reject(Check::NotExpired, 404)),
            DecisionResult::NotFound
        );
        assert_eq!(
            DecisionResult::from_outcome(&reject(Check::TenantKeyKnown, 404)),
            DecisionResult::Unavailable
        );
        let DecisionResult::Forbidden { reason } =
            DecisionResult::from_outcome(&reject(Check::TenantConsent, 403))
        else {
            panic!("consent refusal must be Forbidden");
        };
        assert!(!reason.contains("Calls."), "no operator detail: {reason}");
    }
}
