//! The prompt player's state as the IVR sees it: which playback is current, what is queued
//! after it, and when to stop waiting for its "finished" report.

use crate::action::Action;
use crate::types::{Language, Prompt, PromptId};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

#[derive(Debug)]
pub(crate) struct Player {
    language: Language,
    guard: Duration,
    next_id: u64,
    /// The playback in progress and when the IVR stops waiting for it to finish.
    current: Option<(PromptId, Instant)>,
    queue: VecDeque<Prompt>,
}

impl Player {
    pub(crate) fn new(language: Language, guard: Duration) -> Player {
        Player {
            language,
            guard,
            next_id: 0,
            current: None,
            queue: VecDeque::new(),
        }
    }

    /// Plays `prompts` one after the other, replacing whatever was playing.
    pub(crate) fn play(&mut self, prompts: &[Prompt], now: Instant, out: &mut VecDeque<Action>) {
        self.queue = prompts.iter().copied().collect();
        self.current = None;
        self.advance(now, out);
    }

    /// Barge-in: stops the current prompt (if any) and drops the queue.
    pub(crate) fn stop(&mut self, out: &mut VecDeque<Action>) {
        self.queue.clear();
        if self.current.take().is_some() {
            out.push_back(Action::StopPrompt);
        }
    }

    /// Forgets the current playback without telling the media side (it is about to be told
    /// something that ends it anyway: `Join` or `HangUp`).
    pub(crate) fn forget(&mut self) {
        self.queue.clear();
        self.current = None;
    }

    /// The media side finished playback `id`. True when that completed the sequence.
    pub(crate) fn finished(
        &mut self,
        id: PromptId,
        now: Instant,
        out: &mut VecDeque<Action>,
    ) -> bool {
        match self.current {
            Some((cur, _)) if cur == id => self.advance(now, out),
            _ => false,
        }
    }

    /// The guard of the current prompt expired: treat it as finished.
    pub(crate) fn handle_timeout(&mut self, now: Instant, out: &mut VecDeque<Action>) -> bool {
        match self.current {
            Some((_, deadline)) if deadline <= now => self.advance(now, out),
            _ => false,
        }
    }

    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.current.map(|(_, d)| d)
    }

    /// Starts the next queued prompt; true when there is none (the sequence is complete).
    fn advance(&mut self, now: Instant, out: &mut VecDeque<Action>) -> bool {
        let Some(prompt) = self.queue.pop_front() else {
            self.current = None;
            return true;
        };
        let id = PromptId(self.next_id);
        self.next_id += 1;
        self.current = Some((id, now + self.guard));
        out.push_back(Action::PlayPrompt {
            id,
            prompt,
            language: self.language.clone(),
        });
        false
    }
}
