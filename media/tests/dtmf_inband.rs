//! In-band DTMF detection on generated audio: DTMF tones through G.711
//! round trips, and signals that must not be taken for DTMF.
#![allow(clippy::unwrap_used)]

use std::f64::consts::PI;

use cvi_media::dtmf::g711::Law;
use cvi_media::dtmf::goertzel::{COL_HZ, KEYPAD, ROW_HZ, ZERO_DBM0_PEAK};
use cvi_media::dtmf::{InbandDigit, ToneDetector};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Peak amplitude of a sine at `dbm0`.
fn amp(dbm0: f64) -> f64 {
    f64::from(ZERO_DBM0_PEAK) * 10f64.powf(dbm0 / 20.0)
}

fn freqs(digit: char) -> (f64, f64) {
    for (r, row) in KEYPAD.iter().enumerate() {
        for (c, &d) in row.iter().enumerate() {
            if d == digit {
                return (f64::from(ROW_HZ[r]), f64::from(COL_HZ[c]));
            }
        }
    }
    panic!("not a DTMF key: {digit}");
}

/// Audio under construction, in f64 to add signals before quantising.
struct Signal {
    rate: u32,
    samples: Vec<f64>,
}

impl Signal {
    fn new(rate: u32) -> Signal {
        Signal {
            rate,
            samples: Vec::new(),
        }
    }

    fn n(&self, ms: f64) -> usize {
        (ms * f64::from(self.rate) / 1000.0).round() as usize
    }

    fn silence_samples(&mut self, count: usize) -> &mut Self {
        self.samples.extend(std::iter::repeat_n(0.0, count));
        self
    }

    fn silence(&mut self, ms: f64) -> &mut Self {
        let n = self.n(ms);
        self.silence_samples(n)
    }

    /// Sum of sines `(hz, dbm0)` for `ms`.
    fn tones(&mut self, ms: f64, parts: &[(f64, f64)]) -> &mut Self {
        let n = self.n(ms);
        let fs = f64::from(self.rate);
        for i in 0..n {
            let t = i as f64 / fs;
            let v: f64 = parts
                .iter()
                .map(|&(hz, db)| amp(db) * (2.0 * PI * hz * t + 0.3).sin())
                .sum();
            self.samples.push(v);
        }
        self
    }

    /// A DTMF digit with both tones at `dbm0`.
    fn digit(&mut self, d: char, ms: f64, dbm0: f64) -> &mut Self {
        let (lo, hi) = freqs(d);
        self.tones(ms, &[(lo, dbm0), (hi, dbm0)])
    }

    /// `keys` at −10 dBm0 per tone, `on` ms each, `off` ms between.
    fn keys(&mut self, keys: &str, on: f64, off: f64) -> &mut Self {
        for d in keys.chars() {
            self.digit(d, on, -10.0).silence(off);
        }
        self
    }

    /// Adds white noise of RMS level `dbm0` (as a sine of that level).
    fn noise(&mut self, dbm0: f64, seed: u64) -> &mut Self {
        let mut rng = StdRng::seed_from_u64(seed);
        // Uniform in ±a has RMS a/√3; a sine's RMS is peak/√2.
        let a = amp(dbm0) / 2f64.sqrt() * 3f64.sqrt();
        for s in &mut self.samples {
            *s += rng.gen_range(-a..a);
        }
        self
    }

    fn pcm(&self) -> Vec<i16> {
        self.samples
            .iter()
            .map(|&v| v.round().clamp(-32768.0, 32767.0) as i16)
            .collect()
    }
}

/// Encodes with `law`, decodes, and detects in 20 ms packets.
fn detect_g711(pcm: &[i16], law: Law) -> Vec<InbandDigit> {
    let mut bytes = Vec::new();
    law.encode_into(pcm, &mut bytes);
    let mut det = ToneDetector::new(8000).unwrap();
    let mut decoded = Vec::with_capacity(160);
    let mut out = Vec::new();
    for packet in bytes.chunks(160) {
        decoded.clear();
        law.decode_into(packet, &mut decoded);
        det.push_samples(&decoded);
        while let Some(d) = det.poll_digit() {
            out.push(d);
        }
    }
    out
}

fn detect(pcm: &[i16], rate: u32, chunk: usize) -> Vec<InbandDigit> {
    let mut det = ToneDetector::new(rate).unwrap();
    let mut out = Vec::new();
    for c in pcm.chunks(chunk) {
        det.push_samples(c);
        while let Some(d) = det.poll_digit() {
            out.push(d);
        }
    }
    out
}

fn text(digits: &[InbandDigit]) -> String {
    digits.iter().map(|d| d.digit).collect()
}

const ALL_KEYS: &str = "123A456B789C*0#D";

#[test]
fn all_sixteen_keys_through_ulaw_and_alaw() {
    let mut s = Signal::new(8000);
    s.silence(100.0).keys(ALL_KEYS, 80.0, 80.0);
    for law in [Law::Ulaw, Law::Alaw] {
        assert_eq!(text(&detect_g711(&s.pcm(), law)), ALL_KEYS, "{law:?}");
    }
}

#[test]
fn conference_id_sequence_end_to_end() {
    // Generated tones → our μ-law encoder → decoder → detector.
    let mut s = Signal::new(8000);
    s.silence(300.0)
        .keys("0179206841#", 80.0, 80.0)
        .silence(200.0);
    let got = detect_g711(&s.pcm(), Law::Ulaw);
    assert_eq!(text(&got), "0179206841#");
    // The reported start is where the tone began, to within one window.
    let first_tone = 300 * 8;
    let start = got[0].start_sample as i64;
    assert!((start - first_tone).abs() <= 160, "start {start}");
    let a = detect_g711(&s.pcm(), Law::Alaw);
    assert_eq!(text(&a), "0179206841#");
}

#[test]
fn fast_dialling_40_on_40_off() {
    let mut s = Signal::new(8000);
    s.silence(37.0).keys("0179206841#", 40.0, 40.0);
    assert_eq!(text(&detect_g711(&s.pcm(), Law::Ulaw)), "0179206841#");
}

#[test]
fn every_alignment_of_a_40_ms_tone_is_accepted_and_20_ms_never() {
    for offset in (0..160).step_by(7) {
        let mut s = Signal::new(8000);
        s.silence_samples(offset)
            .digit('5', 40.0, -10.0)
            .silence(100.0);
        assert_eq!(
            text(&detect(&s.pcm(), 8000, 160)),
            "5",
            "40 ms at offset {offset}"
        );

        let mut s = Signal::new(8000);
        s.silence_samples(offset)
            .digit('5', 20.0, -10.0)
            .silence(100.0);
        assert_eq!(
            text(&detect(&s.pcm(), 8000, 160)),
            "",
            "20 ms at offset {offset}"
        );
    }
}

#[test]
fn short_tones_are_rejected() {
    let mut s = Signal::new(8000);
    for d in ALL_KEYS.chars() {
        s.digit(d, 20.0, -10.0).silence(80.0);
    }
    assert_eq!(text(&detect_g711(&s.pcm(), Law::Ulaw)), "");
}

#[test]
fn same_key_twice_needs_a_pause() {
    let mut s = Signal::new(8000);
    s.keys("55", 80.0, 80.0);
    assert_eq!(text(&detect_g711(&s.pcm(), Law::Ulaw)), "55");

    // A long press is one press.
    let mut s = Signal::new(8000);
    s.digit('5', 2000.0, -10.0).silence(100.0);
    assert_eq!(text(&detect_g711(&s.pcm(), Law::Ulaw)), "5");

    // A 10 ms drop-out inside a tone is bridged (the phase carries on, as
    // after a lost packet that a jitter buffer filled with silence).
    let mut s = Signal::new(8000);
    s.digit('5', 100.0, -10.0);
    let hole = s.n(10.0);
    let at = s.samples.len() - s.n(50.0);
    s.samples[at..at + hole].iter_mut().for_each(|v| *v = 0.0);
    s.silence(100.0);
    assert_eq!(text(&detect_g711(&s.pcm(), Law::Ulaw)), "5");

    // A 40 ms pause separates two presses.
    let mut s = Signal::new(8000);
    s.digit('5', 80.0, -10.0)
        .silence(40.0)
        .digit('5', 80.0, -10.0)
        .silence(100.0);
    assert_eq!(text(&detect_g711(&s.pcm(), Law::Ulaw)), "55");
}

#[test]
fn different_keys_without_pause() {
    let mut s = Signal::new(8000);
    s.digit('1', 80.0, -10.0)
        .digit('2', 80.0, -10.0)
        .silence(80.0);
    assert_eq!(text(&detect(&s.pcm(), 8000, 160)), "12");
}

#[test]
fn noise_alone_is_nothing() {
    for (dbm0, seed) in [(-10.0, 1), (-20.0, 2), (-30.0, 3), (-3.0, 4)] {
        let mut s = Signal::new(8000);
        s.silence(10_000.0).noise(dbm0, seed);
        assert_eq!(
            text(&detect_g711(&s.pcm(), Law::Ulaw)),
            "",
            "noise at {dbm0} dBm0"
        );
    }
}

#[test]
fn noisy_dtmf_is_still_detected() {
    let mut s = Signal::new(8000);
    s.keys("0179206841#", 80.0, 80.0).noise(-30.0, 9);
    assert_eq!(text(&detect_g711(&s.pcm(), Law::Alaw)), "0179206841#");
}

#[test]
fn speech_like_signals_are_nothing() {
    // Voiced "speech": fundamentals 100–440 Hz with 1/k harmonics up to
    // 3.4 kHz, slowly gliding so that harmonics sweep across every DTMF
    // frequency.
    for f0_start in [100.0, 147.0, 220.0, 440.0] {
        let mut s = Signal::new(8000);
        let n = s.n(3000.0);
        let mut phase = vec![0.0f64; 40];
        for i in 0..n {
            let t = i as f64 / 8000.0;
            let f0 = f0_start * (1.0 + 0.2 * (2.0 * PI * 0.7 * t).sin());
            let mut v = 0.0;
            for (k, ph) in phase.iter_mut().enumerate() {
                let h = (k + 1) as f64;
                if f0 * h > 3400.0 {
                    break;
                }
                *ph += 2.0 * PI * f0 * h / 8000.0;
                v += amp(-12.0) / h * ph.sin();
            }
            s.samples.push(v);
        }
        assert_eq!(
            text(&detect_g711(&s.pcm(), Law::Ulaw)),
            "",
            "harmonics of {f0_start} Hz"
        );
    }
    // 440 Hz with its harmonics held steady (880 and 1320 lie near 852 and
    // 1336, i.e. the key '8').
    let mut s = Signal::new(8000);
    let parts: Vec<(f64, f64)> = (1..=7)
        .map(|k| (440.0 * f64::from(k), -10.0 - 20.0 * f64::from(k).log10()))
        .collect();
    s.tones(2000.0, &parts);
    assert_eq!(text(&detect_g711(&s.pcm(), Law::Ulaw)), "");
    // A linear chirp 300 → 3400 Hz and back.
    let mut s = Signal::new(8000);
    let n = s.n(4000.0);
    let mut ph = 0.0f64;
    for i in 0..n {
        let x = i as f64 / n as f64;
        let f = 300.0 + 3100.0 * (1.0 - (2.0 * x - 1.0).abs());
        ph += 2.0 * PI * f / 8000.0;
        s.samples.push(amp(-6.0) * ph.sin());
    }
    assert_eq!(text(&detect_g711(&s.pcm(), Law::Ulaw)), "");
}

#[test]
fn a_single_frequency_is_nothing() {
    for &hz in ROW_HZ.iter().chain(COL_HZ.iter()) {
        let mut s = Signal::new(8000);
        s.tones(500.0, &[(f64::from(hz), -6.0)]);
        assert_eq!(text(&detect_g711(&s.pcm(), Law::Ulaw)), "", "{hz} Hz");
    }
    // Two rows (or two columns) at once are not a key either.
    let mut s = Signal::new(8000);
    s.tones(500.0, &[(697.0, -10.0), (852.0, -10.0)])
        .tones(500.0, &[(1209.0, -10.0), (1477.0, -10.0)]);
    assert_eq!(text(&detect_g711(&s.pcm(), Law::Ulaw)), "");
}

#[test]
fn twist_limits() {
    // (row dBm0, column dBm0, accepted?)
    let cases = [
        (-10.0, -16.0, true),  // normal twist 6 dB
        (-10.0, -20.0, false), // normal twist 10 dB
        (-12.0, -9.0, true),   // reverse twist 3 dB
        (-16.0, -10.0, false), // reverse twist 6 dB
    ];
    for (row_db, col_db, ok) in cases {
        let mut s = Signal::new(8000);
        s.tones(100.0, &[(770.0, row_db), (1336.0, col_db)])
            .silence(100.0);
        let got = text(&detect_g711(&s.pcm(), Law::Ulaw));
        assert_eq!(got, if ok { "5" } else { "" }, "row {row_db} col {col_db}");
    }
}

#[test]
fn levels() {
    for (db, ok) in [(0.0, true), (-25.0, true), (-30.0, true), (-40.0, false)] {
        let mut s = Signal::new(8000);
        s.digit('9', 100.0, db).silence(100.0);
        let got = text(&detect_g711(&s.pcm(), Law::Ulaw));
        assert_eq!(got, if ok { "9" } else { "" }, "{db} dBm0");
    }
}

#[test]
fn frequency_tolerance() {
    // Accepted within ±1 % (measured limit ±1.2 % at equal levels), and
    // rejected at ±3.5 % (Q.24's must-reject figure) in every combination
    // of directions.
    for (dev, accepted) in [(0.01, true), (0.035, false)] {
        for (sr, sc) in [(1.0, 1.0), (1.0, -1.0), (-1.0, 1.0), (-1.0, -1.0)] {
            let mut s = Signal::new(8000);
            for d in ALL_KEYS.chars() {
                let (lo, hi) = freqs(d);
                let parts = [
                    (lo * (1.0 + sr * dev), -10.0),
                    (hi * (1.0 + sc * dev), -10.0),
                ];
                s.tones(80.0, &parts).silence(80.0);
            }
            let got = text(&detect_g711(&s.pcm(), Law::Ulaw));
            assert_eq!(
                got,
                if accepted { ALL_KEYS } else { "" },
                "deviation {dev} ({sr}, {sc})"
            );
        }
    }
}

#[test]
fn synthetic_speech_talk_off() {
    // Two minutes of "speech": voiced segments (gliding fundamental
    // 80–400 Hz, harmonics shaped by three random narrow formants —
    // harsher than real speech, whose formants rarely sit on two DTMF
    // frequencies at once) and unvoiced noise.
    let mut rng = StdRng::seed_from_u64(42);
    let mut s = Signal::new(8000);
    let secs = 120;
    while s.samples.len() < secs * 8000 {
        let len = rng.gen_range(60..300) * 8;
        if rng.gen_bool(0.2) {
            s.samples
                .extend((0..len).map(|_| rng.gen_range(-2000.0..2000.0)));
            continue;
        }
        let f0: f64 = rng.gen_range(80.0..400.0);
        let glide: f64 = rng.gen_range(-0.3..0.3);
        let formants: Vec<(f64, f64)> = (0..3)
            .map(|_| (rng.gen_range(250.0..3200.0), rng.gen_range(60.0..250.0)))
            .collect();
        let level = rng.gen_range(2000.0..12000.0) / 3.0;
        let mut ph = 0.0f64;
        for i in 0..len {
            let f = f0 * (1.0 + glide * i as f64 / len as f64);
            ph += 2.0 * PI * f / 8000.0;
            let mut v = 0.0;
            let mut k = 1.0;
            while f * k < 3400.0 {
                let gain: f64 = formants
                    .iter()
                    .map(|&(c, bw)| 1.0 / (1.0 + ((f * k - c) / bw).powi(2)))
                    .sum();
                v += (gain + 0.02) * (ph * k).sin();
                k += 1.0;
            }
            s.samples.push(v * level);
        }
    }
    let got = detect_g711(&s.pcm(), Law::Ulaw);
    println!(
        "talk-off: {} false digits in {secs} s of synthetic speech",
        got.len()
    );
    assert!(got.is_empty(), "{got:?}");
}

#[test]
fn strong_second_harmonic_is_rejected() {
    // A key with its column tone's second harmonic only 6 dB down.
    let mut s = Signal::new(8000);
    s.tones(200.0, &[(852.0, -10.0), (1336.0, -10.0), (2672.0, -16.0)])
        .silence(100.0);
    assert_eq!(text(&detect_g711(&s.pcm(), Law::Ulaw)), "");
    // … and with it 25 dB down it is a key.
    let mut s = Signal::new(8000);
    s.tones(200.0, &[(852.0, -10.0), (1336.0, -10.0), (2672.0, -35.0)])
        .silence(100.0);
    assert_eq!(text(&detect_g711(&s.pcm(), Law::Ulaw)), "8");
}

#[test]
fn sixteen_khz_for_g722() {
    let mut s = Signal::new(16_000);
    s.silence(50.0)
        .keys(ALL_KEYS, 80.0, 80.0)
        .keys("0179206841#", 50.0, 50.0);
    let expected = format!("{ALL_KEYS}0179206841#");
    assert_eq!(text(&detect(&s.pcm(), 16_000, 320)), expected);
    let mut s = Signal::new(16_000);
    s.digit('3', 20.0, -10.0).silence(100.0).noise(-20.0, 5);
    assert_eq!(text(&detect(&s.pcm(), 16_000, 320)), "");
}

#[test]
fn any_chunking_gives_the_same_digits() {
    let mut s = Signal::new(8000);
    s.keys("0179206841#", 60.0, 60.0);
    let pcm = s.pcm();
    let reference = detect(&pcm, 8000, 160);
    assert_eq!(text(&reference), "0179206841#");
    for chunk in [1, 7, 80, 161, 1000, pcm.len()] {
        assert_eq!(detect(&pcm, 8000, chunk), reference, "chunks of {chunk}");
    }
}

#[test]
fn reset_forgets_a_tone_in_progress() {
    let mut s = Signal::new(8000);
    s.digit('4', 30.0, -10.0);
    let mut det = ToneDetector::new(8000).unwrap();
    det.push_samples(&s.pcm());
    det.reset();
    assert_eq!(det.samples_seen(), 0);
    det.push_samples(&s.pcm());
    det.push_samples(&[0; 800]);
    assert_eq!(det.poll_digit(), None);
}

/// Throughput figure for the module docs; prints, never asserts. Run with
/// `cargo test -p cvi-media --release --test dtmf_inband throughput -- --nocapture`.
#[test]
fn throughput() {
    let mut s = Signal::new(8000);
    s.keys("0179206841#", 80.0, 80.0)
        .silence(1000.0)
        .noise(-20.0, 11);
    let pcm = s.pcm();
    let seconds_of_audio = if cfg!(debug_assertions) { 20 } else { 2000 };
    let rounds = seconds_of_audio * 8000 / pcm.len() + 1;
    let mut det = ToneDetector::new(8000).unwrap();
    let started = std::time::Instant::now();
    let mut found = 0usize;
    for _ in 0..rounds {
        for packet in pcm.chunks(160) {
            det.push_samples(packet);
            while det.poll_digit().is_some() {
                found += 1;
            }
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let samples = (rounds * pcm.len()) as f64;
    println!(
        "DTMF detector ({}): {:.1} M samples/s on one core = {:.0} concurrent 8 kHz streams ({} digits found)",
        if cfg!(debug_assertions) {
            "debug build"
        } else {
            "release build"
        },
        samples / elapsed / 1e6,
        samples / elapsed / 8000.0,
        found,
    );
}
