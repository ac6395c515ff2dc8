//! Mix-minus: every receiver hears everybody except itself.
//!
//! [`mix_for`] plans whose audio goes into one receiver's mix; [`mix_minus`] sums one frame of
//! 16-bit PCM for it. Both are per receiver and allocation-light, for the media layer's
//! mixing tick (typically 20 ms at 48 kHz).

use crate::participant::{Participant, ParticipantId};

/// Whose audio `receiver` hears: every unmuted participant except `receiver`, in the order
/// given. A muted receiver still hears the others.
pub fn mix_for(participants: &[Participant], receiver: ParticipantId) -> Vec<ParticipantId> {
    participants
        .iter()
        .filter(|p| !p.muted && p.id != receiver)
        .map(|p| p.id)
        .collect()
}

/// Mixes one frame for `receiver` into `out` (replacing what it held): the sum of every frame
/// in `frames` not from `receiver`, saturated to `i16`.
///
/// Frames should be of equal length; `out` is as long as the longest, shorter ones count as
/// silence at the end. The caller passes the frames of [`mix_for`]'s participants (muting is
/// not re-checked here). Samples are summed in `i32` and clamped once, so loud voices that
/// cancel out do not clip on the way.
pub fn mix_minus(frames: &[(ParticipantId, &[i16])], receiver: ParticipantId, out: &mut Vec<i16>) {
    let len = frames.iter().map(|(_, f)| f.len()).max().unwrap_or(0);
    let mut acc = vec![0i32; len];
    for (_, frame) in frames.iter().filter(|(id, _)| *id != receiver) {
        for (a, &s) in acc.iter_mut().zip(frame.iter()) {
            *a += i32::from(s);
        }
    }
    out.clear();
    out.extend(acc.into_iter().map(saturate));
}

fn saturate(v: i32) -> i16 {
    i16::try_from(v).unwrap_or(if v < 0 { i16::MIN } else { i16::MAX })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::participant::Kind;

    fn p(id: u64, muted: bool) -> Participant {
        Participant {
            id: ParticipantId(id),
            name: format!("P{id}"),
            kind: Kind::Browser,
            muted,
            video: true,
        }
    }

    fn ids(v: &[u64]) -> Vec<ParticipantId> {
        v.iter().copied().map(ParticipantId).collect()
    }

    #[test]
    fn everybody_unmuted_but_the_receiver() {
        let ps = [p(1, false), p(2, true), p(3, false), p(4, false)];
        assert_eq!(mix_for(&ps, ParticipantId(1)), ids(&[3, 4]));
        assert_eq!(
            mix_for(&ps, ParticipantId(2)),
            ids(&[1, 3, 4]),
            "muted still hears"
        );
        assert_eq!(mix_for(&ps, ParticipantId(9)), ids(&[1, 3, 4]));
        assert!(mix_for(&[p(1, false)], ParticipantId(1)).is_empty());
        assert!(mix_for(&[], ParticipantId(1)).is_empty());
    }

    #[test]
    fn sums_without_the_receiver() {
        let (a, b, c): (&[i16], &[i16], &[i16]) = (&[1, 2, 3], &[10, 20, 30], &[100, 200, 300]);
        let frames = [
            (ParticipantId(1), a),
            (ParticipantId(2), b),
            (ParticipantId(3), c),
        ];
        let mut out = vec![7; 99];
        mix_minus(&frames, ParticipantId(2), &mut out);
        assert_eq!(out, [101, 202, 303]);
        mix_minus(&frames, ParticipantId(9), &mut out);
        assert_eq!(out, [111, 222, 333]);
    }

    #[test]
    fn saturates_and_clamps_once() {
        let (a, b, c): (&[i16], &[i16], &[i16]) = (
            &[i16::MAX, i16::MIN, 30_000],
            &[1, -1, 30_000],
            &[0, 0, -30_000],
        );
        let frames = [
            (ParticipantId(1), a),
            (ParticipantId(2), b),
            (ParticipantId(3), c),
        ];
        let mut out = Vec::new();
        mix_minus(&frames, ParticipantId(4), &mut out);
        assert_eq!(out, [i16::MAX, i16::MIN, 30_000]);
    }

    #[test]
    fn shorter_frames_are_padded_with_silence() {
        let (a, b): (&[i16], &[i16]) = (&[1, 1, 1, 1], &[5]);
        let mut out = Vec::new();
        mix_minus(
            &[(ParticipantId(1), a), (ParticipantId(2), b)],
            ParticipantId(3),
            &mut out,
        );
        assert_eq!(out, [6, 1, 1, 1]);
        // The receiver's own frame still sets the length: the tick's frame size.
        mix_minus(
            &[(ParticipantId(1), a), (ParticipantId(2), b)],
            ParticipantId(1),
            &mut out,
        );
        assert_eq!(out, [5, 0, 0, 0]);
        mix_minus(&[], ParticipantId(1), &mut out);
        assert!(out.is_empty());
    }
}
