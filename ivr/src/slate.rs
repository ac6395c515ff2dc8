//! Video slates as data: what the caller should see, already worded, so the media side only
//! renders lines of text. Two callers who see the same [`Slate`] see the same picture, so the
//! media side may encode a slate once and share the stream (`Slate` is `Eq + Hash`).

use crate::types::Language;

/// What a slate is about, with the values its text carries.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SlateKind {
    Welcome {
        provider_name: String,
    },
    /// `attempt` is the attempt the caller is about to make (1-based) of `max`.
    EnterId {
        attempt: u32,
        max: u32,
    },
    /// The last ID was refused; `attempt` is the next attempt (1-based) of `max`.
    WrongId {
        attempt: u32,
        max: u32,
    },
    Checking,
    Lobby {
        meeting_name: Option<String>,
    },
    Rejected {
        reason_text: String,
    },
    TooManyAttempts,
    TryLater,
    Goodbye,
}

/// A slate: its kind and the text lines to render, top to bottom.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Slate {
    pub kind: SlateKind,
    pub lines: Vec<String>,
}

/// Longest line handed to the renderer, in characters (names and reasons come from tenants).
pub const MAX_LINE_CHARS: usize = 80;

const ENTER_ID: &str = "Enter the conference ID followed by #";

impl Slate {
    /// Words the slate. The wording is English for every language until translations exist
    /// (prompts carry the language; slates follow when a table for it is added here).
    pub fn render(kind: SlateKind, _language: &Language) -> Slate {
        let attempt_line = |attempt: u32, max: u32| format!("Attempt {attempt} of {max}");
        let lines: Vec<String> = match &kind {
            SlateKind::Welcome { provider_name } => {
                let name = clean(provider_name);
                let first = if name.is_empty() {
                    "Welcome".to_string()
                } else {
                    name
                };
                vec![first, ENTER_ID.into()]
            }
            SlateKind::EnterId { attempt, max } => {
                let mut l = vec![ENTER_ID.to_string()];
                if *attempt > 1 {
                    l.push(attempt_line(*attempt, *max));
                }
                l
            }
            SlateKind::WrongId { attempt, max } => vec![
                "That conference ID was not recognised".into(),
                ENTER_ID.into(),
                attempt_line(*attempt, *max),
            ],
            SlateKind::Checking => vec!["Checking the conference ID...".into()],
            SlateKind::Lobby { meeting_name } => {
                let mut l = Vec::new();
                if let Some(n) = meeting_name.as_deref().map(clean).filter(|n| !n.is_empty()) {
                    l.push(n);
                }
                l.push("Waiting for someone to let you in".into());
                l
            }
            SlateKind::Rejected { reason_text } => {
                let mut l = vec!["You cannot join this meeting".to_string()];
                let r = clean(reason_text);
                if !r.is_empty() {
                    l.push(r);
                }
                l
            }
            SlateKind::TooManyAttempts => vec!["Too many attempts".into(), "Goodbye".into()],
            SlateKind::TryLater => vec![
                "Your call cannot be taken now".into(),
                "Please try again later".into(),
            ],
            SlateKind::Goodbye => vec!["Goodbye".into()],
        };
        Slate { kind, lines }
    }
}

/// Control characters become spaces, runs of whitespace collapse, and long text is cut at
/// [`MAX_LINE_CHARS`] with "...".
fn clean(s: &str) -> String {
    let words: Vec<&str> = s
        .split(|c: char| c.is_whitespace() || c.is_control())
        .collect();
    let joined = words
        .into_iter()
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    if joined.chars().count() <= MAX_LINE_CHARS {
        return joined;
    }
    let mut cut: String = joined.chars().take(MAX_LINE_CHARS - 3).collect();
    cut.truncate(cut.trim_end().len());
    cut.push_str("...");
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(kind: SlateKind) -> Vec<String> {
        Slate::render(kind, &Language::english()).lines
    }

    #[test]
    fn welcome_names_the_provider() {
        let l = lines(SlateKind::Welcome {
            provider_name: "Polycom".into(),
        });
        assert_eq!(l, ["Polycom", "Enter the conference ID followed by #"]);
        let l = lines(SlateKind::Welcome {
            provider_name: " ".into(),
        });
        assert_eq!(l[0], "Welcome");
    }

    #[test]
    fn attempts_and_names_are_shown() {
        assert_eq!(lines(SlateKind::EnterId { attempt: 1, max: 3 }).len(), 1);
        assert_eq!(
            lines(SlateKind::EnterId { attempt: 2, max: 3 })[1],
            "Attempt 2 of 3"
        );
        assert_eq!(
            lines(SlateKind::WrongId { attempt: 3, max: 3 })[2],
            "Attempt 3 of 3"
        );
        let l = lines(SlateKind::Lobby {
            meeting_name: Some("Weekly\nsync\u{7}".into()),
        });
        assert_eq!(l, ["Weekly sync", "Waiting for someone to let you in"]);
    }

    #[test]
    fn long_text_is_cut() {
        let l = lines(SlateKind::Rejected {
            reason_text: "x".repeat(500),
        });
        assert_eq!(l[1].chars().count(), MAX_LINE_CHARS);
        assert!(l[1].ends_with("..."));
        assert_eq!(clean("  a \t b  "), "a b");
    }
}
