//! G.722 decoder: bit-exactness against FFmpeg's decoder (GStreamer
//! `avdec_g722`) on audio encoded by FFmpeg's encoder (`avenc_g722`), DTMF
//! through a G.722 round trip, and robustness on random payloads.
//!
//! The GStreamer tests need `gst-launch-1.0` with gst-libav
//! (`gstreamer1.0-libav`); without `gst-launch-1.0` they print `SKIPPED`
//! and return. Figures: `cargo test -p cvi-media --test g722 -- --nocapture`.
#![allow(clippy::unwrap_used)]

use std::f64::consts::PI;
use std::path::PathBuf;
use std::process::Command;

use cvi_media::dtmf::ToneDetector;
use cvi_media::dtmf::g722::G722Decoder;
use cvi_media::dtmf::goertzel::{COL_HZ, KEYPAD, ROW_HZ, ZERO_DBM0_PEAK};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const RATE: f64 = 16_000.0;

fn gst_available(test: &str) -> bool {
    let ok = Command::new("gst-launch-1.0")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!(
            "SKIPPED {test}: gst-launch-1.0 not found (install gstreamer1.0-tools and gstreamer1.0-libav)"
        );
    }
    ok
}

/// Scratch directory of one test, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("cvi-g722-{}-{tag}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
    fn path(&self, name: &str) -> String {
        self.0.join(name).to_str().unwrap().to_owned()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Encodes 16 kHz mono PCM with `avenc_g722` and decodes the result with
/// `avdec_g722` in the same pipeline (a `tee` after the encoder: the
/// decoder needs a TIME segment, which a bare `filesrc` of G.722 bytes
/// does not give). Returns (G.722 bytes, FFmpeg's decoded PCM).
fn ffmpeg_round_trip(tag: &str, pcm: &[i16]) -> (Vec<u8>, Vec<i16>) {
    let dir = Scratch::new(tag);
    let (raw, g722, dec) = (
        dir.path("in.raw"),
        dir.path("enc.g722"),
        dir.path("dec.raw"),
    );
    let bytes: Vec<u8> = pcm.iter().flat_map(|s| s.to_le_bytes()).collect();
    std::fs::write(&raw, bytes).unwrap();
    let pipeline = format!(
        "filesrc location={raw} ! rawaudioparse use-sink-caps=false format=pcm pcm-format=s16le \
         sample-rate=16000 num-channels=1 ! avenc_g722 ! tee name=t \
         t. ! queue ! filesink location={g722} \
         t. ! queue ! avdec_g722 ! audio/x-raw,format=S16LE,layout=interleaved,channels=1,rate=16000 \
         ! filesink location={dec}"
    );
    let out = Command::new("gst-launch-1.0")
        .arg("-q")
        .args(pipeline.split_whitespace())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "gst-launch-1.0 failed (is gstreamer1.0-libav installed?): {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let g722 = std::fs::read(&g722).unwrap();
    let dec = std::fs::read(&dec).unwrap();
    let dec = dec
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect();
    (g722, dec)
}

/// Decodes arbitrary G.722 bytes with `avdec_g722`. The bytes are read
/// as 8 kHz U8 "PCM" by `rawaudioparse` (one codeword per 1/8000 s, which
/// gives the decoder the TIME segment it needs) and relabelled as G.722 by
/// `capssetter`.
fn ffmpeg_decode(tag: &str, g722: &[u8]) -> Vec<i16> {
    let dir = Scratch::new(tag);
    let (src, dec) = (dir.path("in.g722"), dir.path("dec.raw"));
    std::fs::write(&src, g722).unwrap();
    let pipeline = format!(
        "filesrc location={src} ! rawaudioparse use-sink-caps=false format=pcm pcm-format=u8 \
         sample-rate=8000 num-channels=1 ! capssetter join=false replace=true \
         caps=audio/G722,rate=16000,channels=1 ! avdec_g722 \
         ! audio/x-raw,format=S16LE,layout=interleaved,channels=1,rate=16000 \
         ! filesink location={dec}"
    );
    let out = Command::new("gst-launch-1.0")
        .arg("-q")
        .args(pipeline.split_whitespace())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "gst-launch-1.0 failed (are gstreamer1.0-libav and -plugins-good installed?): {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let dec = std::fs::read(&dec).unwrap();
    dec.chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect()
}

/// (max |diff|, number identical, first differing index).
fn compare(label: &str, ours: &[i16], reference: &[i16]) -> (i32, usize, Option<usize>) {
    assert_eq!(
        reference.len(),
        ours.len(),
        "{label}: avdec_g722 output length"
    );
    let diffs: Vec<i32> = ours
        .iter()
        .zip(reference)
        .map(|(&a, &b)| (i32::from(a) - i32::from(b)).abs())
        .collect();
    let max = diffs.iter().copied().max().unwrap_or(0);
    let identical = diffs.iter().filter(|&&d| d == 0).count();
    let first = diffs.iter().position(|&d| d != 0);
    let peak = ours.iter().map(|s| s.unsigned_abs()).max().unwrap_or(0);
    eprintln!(
        "{label}: {} samples vs avdec_g722, max |diff| {max}, identical {identical} ({:.4} %), \
         first difference at {first:?}, peak |output| {peak}",
        ours.len(),
        100.0 * identical as f64 / ours.len() as f64,
    );
    (max, identical, first)
}

/// Decodes in RTP-sized payloads (20 ms = 160 bytes), as the gateway will.
fn our_decode(g722: &[u8]) -> Vec<i16> {
    let mut dec = G722Decoder::new();
    let mut out = Vec::new();
    for payload in g722.chunks(160) {
        dec.decode_into(payload, &mut out);
    }
    out
}

fn quantise(x: &[f64]) -> Vec<i16> {
    x.iter()
        .map(|&v| v.round().clamp(-32768.0, 32767.0) as i16)
        .collect()
}

fn tone(out: &mut Vec<f64>, secs: f64, parts: &[(f64, f64)]) {
    let start = out.len();
    let n = (secs * RATE) as usize;
    out.extend((0..n).map(|i| {
        let t = (start + i) as f64 / RATE;
        parts
            .iter()
            .map(|&(hz, amp)| amp * (2.0 * PI * hz * t).sin())
            .sum::<f64>()
    }));
}

fn dbm0(level: f64) -> f64 {
    f64::from(ZERO_DBM0_PEAK) * 10f64.powf(level / 20.0)
}

fn dtmf_freqs(digit: char) -> (f64, f64) {
    for (r, row) in KEYPAD.iter().enumerate() {
        for (c, &d) in row.iter().enumerate() {
            if d == digit {
                return (f64::from(ROW_HZ[r]), f64::from(COL_HZ[c]));
            }
        }
    }
    panic!("not a DTMF key: {digit}");
}

/// 4.5 s: 1 kHz sine, DTMF "5", a 50 Hz–7.9 kHz chirp, full-scale noise,
/// a clipped full-scale square wave (drives the predictors and the output
/// saturation), and silence.
fn test_signal() -> Vec<i16> {
    let mut s = Vec::new();
    tone(&mut s, 1.0, &[(1000.0, 16000.0)]);
    let (lo, hi) = dtmf_freqs('5');
    tone(&mut s, 1.0, &[(lo, dbm0(-6.0)), (hi, dbm0(-6.0))]);
    let n = RATE as usize;
    let start = s.len();
    s.extend((0..n).map(|i| {
        let t = i as f64 / RATE;
        // Instantaneous frequency 50 + 7850·t Hz.
        12000.0 * (2.0 * PI * (50.0 * t + 7850.0 / 2.0 * t * t)).sin()
    }));
    assert_eq!(s.len(), start + n);
    let mut rng = StdRng::seed_from_u64(722);
    s.extend((0..n / 2).map(|_| rng.gen_range(-32768.0..32767.0)));
    s.extend((0..n / 2).map(|i| if (i / 20) % 2 == 0 { 40000.0 } else { -40000.0 }));
    s.extend(std::iter::repeat_n(0.0, n / 2));
    quantise(&s)
}

#[test]
fn matches_ffmpeg_decoder() {
    if !gst_available("matches_ffmpeg_decoder") {
        return;
    }
    let pcm = test_signal();
    let (g722, reference) = ffmpeg_round_trip("xcheck", &pcm);
    assert_eq!(g722.len(), pcm.len() / 2, "encoder output size");
    let ours = our_decode(&g722);
    assert_eq!(ours.len(), 2 * g722.len());
    let (max, _, first) = compare("G.722 (avenc_g722 output)", &ours, &reference);
    assert_eq!(
        max, 0,
        "not bit-exact with FFmpeg (first difference at {first:?})"
    );
    // The decoded audio is the signal (sanity check of the whole chain,
    // independent of FFmpeg): the 1 kHz second correlates with the input.
    let delay = best_delay(&pcm[..16000], &ours[..16000]);
    assert!(delay < 64, "codec delay {delay}");
}

#[test]
fn random_codewords_match_ffmpeg_decoder() {
    // Arbitrary bytes (what a broken or hostile peer sends) drive the
    // predictors and scale factors to states an encoder never produces:
    // limits of the pole coefficients, saturated predictions and output.
    if !gst_available("random_codewords_match_ffmpeg_decoder") {
        return;
    }
    let mut rng = StdRng::seed_from_u64(0x722);
    let mut g722: Vec<u8> = (0..40_000).map(|_| rng.r#gen()).collect();
    // Runs of single codewords (largest steps, silence) and alternations.
    for code in [0x04u8, 0x24, 0xC4, 0xE4, 0x3C, 0xFA, 0x00, 0xFF, 0x7F, 0x80] {
        g722.extend(std::iter::repeat_n(code, 3000));
        g722.extend((0..3000).map(|i| if i % 2 == 0 { code } else { code ^ 0x20 }));
    }
    let reference = ffmpeg_decode("random", &g722);
    let ours = our_decode(&g722);
    let (max, _, first) = compare("G.722 (random codewords)", &ours, &reference);
    assert_eq!(
        max, 0,
        "not bit-exact with FFmpeg (first difference at {first:?})"
    );
}

/// Delay (in samples, 0..64) with the highest correlation between input
/// and decoded output.
fn best_delay(input: &[i16], output: &[i16]) -> usize {
    (0..64)
        .max_by_key(|&d| {
            input
                .iter()
                .zip(&output[d..])
                .map(|(&a, &b)| i64::from(a) * i64::from(b))
                .sum::<i64>()
        })
        .unwrap()
}

#[test]
fn dtmf_through_g722() {
    if !gst_available("dtmf_through_g722") {
        return;
    }
    let keys = ['5', '#', '5', '#'];
    let levels = [-6.0, -10.0, -20.0, -28.0];
    let mut s = Vec::new();
    tone(&mut s, 0.2, &[]);
    for (&key, &level) in keys.iter().zip(&levels) {
        let (lo, hi) = dtmf_freqs(key);
        tone(&mut s, 0.08, &[(lo, dbm0(level)), (hi, dbm0(level))]);
        tone(&mut s, 0.1, &[]);
    }
    let (g722, _) = ffmpeg_round_trip("dtmf", &quantise(&s));
    let pcm = our_decode(&g722);

    let mut det = ToneDetector::new(16_000).unwrap();
    let mut got = Vec::new();
    for block in pcm.chunks(320) {
        det.push_samples(block);
        while let Some(d) = det.poll_digit() {
            got.push(d);
        }
    }
    eprintln!("DTMF through G.722: {got:?}");
    let digits: Vec<char> = got.iter().map(|d| d.digit).collect();
    assert_eq!(digits, keys);
}

#[test]
fn random_payloads_never_panic() {
    let mut rng = StdRng::seed_from_u64(0x6722);
    let mut dec = G722Decoder::new();
    let mut out = Vec::new();
    for i in 0..10_000 {
        let len = rng.gen_range(0..=480);
        let payload: Vec<u8> = (0..len).map(|_| rng.r#gen()).collect();
        out.clear();
        dec.decode_into(&payload, &mut out);
        assert_eq!(out.len(), 2 * len);
        if i % 1000 == 999 {
            dec.reset();
        }
    }
    // Worst cases for the adaptation: runs of one codeword.
    for code in 0..=255u8 {
        let mut dec = G722Decoder::default();
        out.clear();
        dec.decode_into(&[code; 2000], &mut out);
        assert_eq!(out.len(), 4000);
    }
}

#[test]
fn chunking_does_not_matter() {
    let mut rng = StdRng::seed_from_u64(1);
    let payload: Vec<u8> = (0..5000).map(|_| rng.r#gen()).collect();
    let mut whole = Vec::new();
    G722Decoder::new().decode_into(&payload, &mut whole);
    let mut dec = G722Decoder::new();
    let mut parts = Vec::new();
    let mut rest = &payload[..];
    while !rest.is_empty() {
        let n = rng.gen_range(1..=rest.len().min(37));
        let (a, b) = rest.split_at(n);
        dec.decode_into(a, &mut parts);
        rest = b;
    }
    assert_eq!(whole, parts);
}
