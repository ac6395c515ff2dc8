//! Packet index estimation (RFC 3711 §3.3.1, Appendix A) and the sliding
//! replay window (§3.3.2).

use super::SrtpError;

/// Packets this far below the highest index are still accepted once.
pub const WINDOW: u64 = 64;

/// The highest authenticated index of a stream and which of the [`WINDOW`]
/// indices at and below it were received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ReplayWindow {
    top: u64,
    /// Bit `n` set: index `top - n` was received.
    seen: u64,
}

impl ReplayWindow {
    /// A window whose first received packet had `index`.
    pub(crate) fn new(index: u64) -> Self {
        ReplayWindow {
            top: index,
            seen: 1,
        }
    }

    /// The highest index received (for RTP: `ROC * 2^16 + s_l`).
    pub(crate) fn top(&self) -> u64 {
        self.top
    }

    /// `Replayed` if `index` was received already or is below the window.
    pub(crate) fn check(&self, index: u64) -> Result<(), SrtpError> {
        let Some(age) = self.top.checked_sub(index) else {
            return Ok(());
        };
        if age >= WINDOW || (self.seen >> age) & 1 == 1 {
            return Err(SrtpError::Replayed);
        }
        Ok(())
    }

    /// Records an authenticated `index` (one that passed [`Self::check`]).
    pub(crate) fn accept(&mut self, index: u64) {
        match index.checked_sub(self.top) {
            Some(0) => self.seen |= 1,
            Some(ahead) => {
                self.seen = if ahead >= WINDOW {
                    0
                } else {
                    self.seen << ahead
                };
                self.seen |= 1;
                self.top = index;
            }
            None => {
                let age = self.top - index;
                if age < WINDOW {
                    self.seen |= 1 << age;
                }
            }
        }
    }
}

/// The 48-bit index `v * 2^16 + seq` of Appendix A, `v` being the ROC
/// guessed from `top`, the highest index so far. A guess below 0 means the
/// packet predates the stream (`Replayed`); one past 2^32 - 1 means the
/// index space of the key is used up (`IndexExhausted`).
pub(crate) fn estimate_index(top: u64, seq: u16) -> Result<u64, SrtpError> {
    let roc = top >> 16;
    let s_l = (top & 0xffff) as u16;
    let v = if s_l < 0x8000 {
        if seq > s_l && seq - s_l > 0x8000 {
            roc.checked_sub(1).ok_or(SrtpError::Replayed)?
        } else {
            roc
        }
    } else if s_l - 0x8000 > seq {
        roc + 1
    } else {
        roc
    };
    if v > u64::from(u32::MAX) {
        return Err(SrtpError::IndexExhausted);
    }
    Ok((v << 16) | u64::from(seq))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimate_follows_appendix_a() {
        assert_eq!(estimate_index(100, 101), Ok(101));
        assert_eq!(estimate_index(100, 50), Ok(50));
        // Near the wrap: 65535 -> 0 is the next ROC.
        assert_eq!(estimate_index(0xffff, 0), Ok(0x1_0000));
        assert_eq!(estimate_index(0x1_0000, 0xfffe), Ok(0xfffe));
        assert_eq!(estimate_index(0x5_fff0, 0x0010), Ok(0x6_0010));
        assert_eq!(estimate_index(0x6_0010, 0xfff0), Ok(0x5_fff0));
        // Before the stream start with ROC 0.
        assert_eq!(estimate_index(5, 0xfff0), Err(SrtpError::Replayed));
        // ROC would pass 2^32 - 1.
        let last = (u64::from(u32::MAX) << 16) | 0xfff0;
        assert_eq!(estimate_index(last, 3), Err(SrtpError::IndexExhausted));
        assert_eq!(estimate_index(last, 0xfff1), Ok(last + 1));
    }

    #[test]
    fn window_accepts_once_and_slides() {
        let mut w = ReplayWindow::new(1000);
        assert_eq!(w.check(1000), Err(SrtpError::Replayed));
        assert_eq!(w.check(999), Ok(()));
        w.accept(999);
        assert_eq!(w.check(999), Err(SrtpError::Replayed));
        assert_eq!(w.check(1000 - 63), Ok(()));
        assert_eq!(w.check(1000 - 64), Err(SrtpError::Replayed));
        w.accept(1010);
        assert_eq!(w.top(), 1010);
        assert_eq!(w.check(1000), Err(SrtpError::Replayed));
        assert_eq!(w.check(999), Err(SrtpError::Replayed));
        assert_eq!(w.check(1005), Ok(()));
        w.accept(1010 + 200);
        assert_eq!(w.check(1010), Err(SrtpError::Replayed));
        assert_eq!(w.check(1209), Ok(()));
        assert_eq!(w.check(1210), Err(SrtpError::Replayed));
    }
}
