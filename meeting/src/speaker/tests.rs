use super::*;

const A: ParticipantId = ParticipantId(1);
const B: ParticipantId = ParticipantId(2);
const C: ParticipantId = ParticipantId(3);

/// A detector on a simulated clock; `at(ms)` is `t0 + ms`.
struct Sim {
    t0: Instant,
    d: SpeakerDetector,
}

impl Sim {
    fn new() -> Sim {
        Sim {
            t0: Instant::now(),
            d: SpeakerDetector::default(),
        }
    }

    fn at(&self, ms: u64) -> Instant {
        self.t0 + Duration::from_millis(ms)
    }

    /// Every 20 ms in `from..to`, each `(who, level)` reports.
    fn run(&mut self, from: u64, to: u64, levels: &[(ParticipantId, u8)]) {
        for ms in (from..to).step_by(20) {
            for &(who, level) in levels {
                let now = self.at(ms);
                self.d.report(who, level, now);
            }
        }
    }
}

#[test]
fn nobody_active_at_first_or_in_silence() {
    let mut s = Sim::new();
    assert_eq!(s.d.active(), None);
    s.run(0, 2000, &[(A, 127), (B, 90)]);
    assert_eq!(s.d.active(), None);
}

#[test]
fn first_speaker_after_300ms() {
    let mut s = Sim::new();
    s.run(0, 300, &[(A, 30), (B, 127)]); // last report at 280 ms
    assert_eq!(s.d.active(), None);
    let now = s.at(300);
    assert!(s.d.report(A, 30, now), "300 ms of being loudest");
    assert_eq!(s.d.active(), Some(A));
}

#[test]
fn a_break_restarts_the_300ms() {
    let mut s = Sim::new();
    s.run(0, 200, &[(A, 30)]);
    s.run(200, 260, &[(A, 127)]);
    s.run(260, 500, &[(A, 30)]);
    assert_eq!(s.d.active(), None, "only 220 ms since the break");
    s.run(500, 600, &[(A, 30)]);
    assert_eq!(s.d.active(), Some(A));
}

#[test]
fn switching_needs_one_second_of_being_louder() {
    let mut s = Sim::new();
    s.run(0, 400, &[(A, 30), (B, 127)]);
    assert_eq!(s.d.active(), Some(A));
    // B louder than A for 980 ms: not yet.
    s.run(400, 1400, &[(A, 40), (B, 20)]);
    assert_eq!(s.d.active(), Some(A));
    let now = s.at(1400);
    assert!(s.d.report(B, 20, now));
    assert_eq!(s.d.active(), Some(B));
}

#[test]
fn short_interjections_do_not_switch() {
    let mut s = Sim::new();
    s.run(0, 400, &[(A, 30)]);
    for round in 0..5 {
        let base = 400 + round * 1000;
        s.run(base, base + 800, &[(A, 40), (B, 20)]); // B louder for 800 ms
        s.run(base + 800, base + 1000, &[(A, 30), (B, 60)]); // then A again
    }
    assert_eq!(s.d.active(), Some(A));
}

#[test]
fn silence_keeps_the_last_speaker() {
    let mut s = Sim::new();
    s.run(0, 400, &[(A, 30), (B, 127)]);
    s.run(400, 10_000, &[(A, 127), (B, 127)]);
    assert_eq!(s.d.active(), Some(A));
    // B speaks alone: still a switch, so still 1 s.
    s.run(10_000, 10_900, &[(A, 127), (B, 30)]);
    assert_eq!(s.d.active(), Some(A));
    s.run(10_900, 11_100, &[(A, 127), (B, 30)]);
    assert_eq!(s.d.active(), Some(B));
}

#[test]
fn silence_resets_a_pending_switch() {
    let mut s = Sim::new();
    s.run(0, 400, &[(A, 30)]);
    s.run(400, 1000, &[(A, 40), (B, 20)]);
    s.run(1000, 1100, &[(A, 127), (B, 127)]);
    s.run(1100, 2000, &[(A, 40), (B, 20)]);
    assert_eq!(
        s.d.active(),
        Some(A),
        "the 600 ms before the silence do not count"
    );
    s.run(2000, 2200, &[(A, 40), (B, 20)]);
    assert_eq!(s.d.active(), Some(B));
}

#[test]
fn the_loudest_of_three_and_ties() {
    let mut s = Sim::new();
    s.run(0, 400, &[(A, 30), (B, 30), (C, 25)]);
    assert_eq!(s.d.active(), Some(C));
    // B ties with C, the active one: no switch however long.
    s.run(400, 3000, &[(A, 60), (B, 25), (C, 25)]);
    assert_eq!(s.d.active(), Some(C));
    // A tie among non-active participants goes to the lower id.
    let mut s = Sim::new();
    s.run(0, 400, &[(B, 30), (A, 30)]);
    assert_eq!(s.d.active(), Some(A));
}

#[test]
fn threshold_and_clamping() {
    let mut s = Sim::new();
    s.run(0, 1000, &[(A, 51)]);
    assert_eq!(
        s.d.active(),
        None,
        "-51 dBov is below the default threshold"
    );
    s.run(1000, 1400, &[(A, 50)]);
    assert_eq!(s.d.active(), Some(A));
    let now = s.at(1400);
    assert!(!s.d.report(B, 255, now), "out-of-range levels are silence");
}

#[test]
fn stale_reports_count_as_silence() {
    let mut s = Sim::new();
    s.run(0, 400, &[(A, 20)]);
    // A stops reporting (muted or left without remove); B speaks quietly.
    // A's last level (380 ms) counts until 880 ms; B is the loudest from 900 ms on.
    s.run(400, 1900, &[(B, 45)]);
    assert_eq!(s.d.active(), Some(A));
    s.run(1900, 1920, &[(B, 45)]);
    assert_eq!(s.d.active(), Some(B));
}

#[test]
fn removing_the_active_speaker() {
    let mut s = Sim::new();
    s.run(0, 400, &[(A, 20), (B, 40)]);
    assert_eq!(s.d.active(), Some(A));
    s.d.remove(A);
    assert_eq!(s.d.active(), None);
    s.run(400, 720, &[(B, 40)]);
    assert_eq!(s.d.active(), Some(B), "a first speaker again: 300 ms");
    s.d.remove(C); // unknown: no effect
    assert_eq!(s.d.active(), Some(B));
}

#[test]
fn reports_out_of_order_do_not_panic() {
    let mut s = Sim::new();
    let late = s.at(1000);
    let early = s.at(0);
    s.d.report(A, 20, late);
    s.d.report(B, 10, early);
    s.d.report(A, 20, early);
    assert_eq!(s.d.active(), None);
}
