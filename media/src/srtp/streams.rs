//! Per-SSRC state with a bound on the number of SSRCs. On receive the least
//! recently used SSRC makes room for a new one; on send a new SSRC is
//! refused instead, since forgetting a sender's index would reuse keystream.

use std::collections::HashMap;

/// SSRCs tracked per direction and per SRTP/SRTCP.
pub const MAX_STREAMS: usize = 64;

pub(crate) struct Streams<T> {
    /// SSRC -> (last use, state).
    map: HashMap<u32, (u64, T)>,
    clock: u64,
}

impl<T> Streams<T> {
    pub(crate) fn new() -> Self {
        Streams {
            map: HashMap::new(),
            clock: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether `ssrc` is tracked or there is room for it without eviction.
    pub(crate) fn has_room_for(&self, ssrc: u32) -> bool {
        self.map.len() < MAX_STREAMS || self.map.contains_key(&ssrc)
    }

    pub(crate) fn get(&self, ssrc: u32) -> Option<&T> {
        self.map.get(&ssrc).map(|(_, t)| t)
    }

    /// The state of `ssrc`, created by `init` if it is new (evicting the
    /// least recently used SSRC when [`MAX_STREAMS`] are tracked).
    pub(crate) fn entry(&mut self, ssrc: u32, init: impl FnOnce() -> T) -> &mut T {
        self.clock = self.clock.wrapping_add(1);
        if !self.map.contains_key(&ssrc) && self.map.len() >= MAX_STREAMS {
            let oldest = self
                .map
                .iter()
                .min_by_key(|(_, (used, _))| *used)
                .map(|(k, _)| *k);
            if let Some(k) = oldest {
                self.map.remove(&k);
            }
        }
        let slot = self.map.entry(ssrc).or_insert_with(|| (0, init()));
        slot.0 = self.clock;
        &mut slot.1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_least_recently_used() {
        let mut s = Streams::new();
        for ssrc in 0..MAX_STREAMS as u32 {
            *s.entry(ssrc, || 0u32) += ssrc;
        }
        assert_eq!(s.len(), MAX_STREAMS);
        // Touch 0 so that 1 is the oldest.
        *s.entry(0, || 0) += 1;
        s.entry(1000, || 7);
        assert_eq!(s.len(), MAX_STREAMS);
        assert_eq!(s.get(0), Some(&1));
        assert_eq!(s.get(1), None);
        assert_eq!(s.get(1000), Some(&7));
        assert_eq!(s.get(2), Some(&2));
        assert!(s.has_room_for(2));
        assert!(!s.has_room_for(5000));
    }
}
