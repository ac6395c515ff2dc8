use super::*;
use crate::test_rng::Rng;

fn run(input: &[(u64, char)]) -> Vec<Command> {
    let t0 = Instant::now();
    let mut p = CommandParser::new();
    input
        .iter()
        .filter_map(|&(ms, key)| p.handle_digit(key, t0 + Duration::from_millis(ms)))
        .collect()
}

#[test]
fn star_eight_and_star_six() {
    assert_eq!(run(&[(0, '*'), (300, '8')]), [Command::NextLayout]);
    assert_eq!(run(&[(0, '*'), (300, '6')]), [Command::ToggleMute]);
    let got = run(&[
        (0, '*'),
        (100, '8'),
        (200, '*'),
        (300, '8'),
        (400, '*'),
        (500, '6'),
    ]);
    assert_eq!(
        got,
        [
            Command::NextLayout,
            Command::NextLayout,
            Command::ToggleMute
        ]
    );
    assert_eq!(Command::NextLayout.key(), '8');
    assert_eq!(Command::ToggleMute.key(), '6');
}

#[test]
fn keys_without_star_are_ignored() {
    assert!(run(&[(0, '8'), (100, '6'), (200, '#'), (300, '1'), (400, 'A')]).is_empty());
    assert!(run(&[(0, '6'), (100, '8')]).is_empty());
}

#[test]
fn other_keys_cancel_the_star() {
    assert!(run(&[(0, '*'), (100, '1'), (200, '8')]).is_empty());
    assert!(run(&[(0, '*'), (100, '#'), (200, '6')]).is_empty());
    assert!(run(&[(0, '*'), (100, 'x'), (200, '6')]).is_empty());
}

#[test]
fn double_star_starts_over() {
    assert_eq!(
        run(&[(0, '*'), (1500, '*'), (3000, '8')]),
        [Command::NextLayout]
    );
}

#[test]
fn star_expires_after_two_seconds() {
    assert_eq!(run(&[(0, '*'), (1999, '8')]), [Command::NextLayout]);
    assert!(
        run(&[(0, '*'), (2000, '8')]).is_empty(),
        "at the deadline is too late"
    );
    assert!(run(&[(0, '*'), (5000, '6')]).is_empty());
}

#[test]
fn poll_timeout_and_handle_timeout() {
    let t0 = Instant::now();
    let mut p = CommandParser::new();
    assert_eq!(p.poll_timeout(), None);
    assert_eq!(p.handle_digit('*', t0), None);
    let deadline = p.poll_timeout().expect("a * waits");
    assert_eq!(deadline, t0 + STAR_TIMEOUT);
    p.handle_timeout(deadline - Duration::from_millis(1));
    assert_eq!(
        p.poll_timeout(),
        Some(deadline),
        "early timeouts do nothing"
    );
    p.handle_timeout(deadline);
    assert_eq!(p.poll_timeout(), None);
    assert_eq!(p.handle_digit('8', deadline), None, "dropped");
    p.handle_digit('*', deadline);
    p.handle_digit('6', deadline + Duration::from_millis(10));
    assert_eq!(
        p.poll_timeout(),
        None,
        "a completed command leaves nothing pending"
    );
}

/// The rules, written the simple way: a command is `*` then its key, strictly within 2 s.
fn model(input: &[(u64, char)]) -> Vec<Command> {
    let mut out = Vec::new();
    for pair in input.windows(2) {
        let ((t1, k1), (t2, k2)) = (pair[0], pair[1]);
        if k1 == '*' && t2 - t1 < 2000 {
            match k2 {
                '8' => out.push(Command::NextLayout),
                '6' => out.push(Command::ToggleMute),
                _ => {}
            }
        }
    }
    out
}

#[test]
fn random_input_matches_the_model() {
    let keys = ['*', '*', '*', '8', '6', '0', '1', '#', 'A', 'd', '\0', 'é'];
    let gaps = [0, 1, 50, 400, 1999, 2000, 2001, 10_000];
    let mut rng = Rng::new(0x5eed_0002);
    for _ in 0..3_000 {
        let mut t = 0;
        let mut input = Vec::new();
        let t0 = Instant::now();
        let mut p = CommandParser::new();
        let mut got = Vec::new();
        for _ in 0..rng.below(30) {
            t += rng.pick(&gaps);
            let key = rng.pick(&keys);
            input.push((t, key));
            let now = t0 + Duration::from_millis(t);
            // Sometimes the driver runs the timer first, as it would when it fires.
            if rng.below(3) == 0 && p.poll_timeout().is_some_and(|d| d <= now) {
                p.handle_timeout(now);
            }
            got.extend(p.handle_digit(key, now));
            assert_eq!(p.poll_timeout().is_some(), key == '*', "{input:?}");
        }
        assert_eq!(got, model(&input), "{input:?}");
    }
}
