#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use cvi_media_gst::live_audio::{alaw_to_linear, frame_samples, ulaw_to_linear};
use cvi_media_gst::{AudioCodec, AudioDecoder, AudioEncoder, level_dbov};

const CODECS: [AudioCodec; 4] = [
    AudioCodec::Pcmu,
    AudioCodec::Pcma,
    AudioCodec::G722,
    AudioCodec::Opus,
];
const RATES: [u32; 3] = [8000, 16000, 48000];

/// Amplitude of the `hz` component of `x` (Goertzel).
fn tone_amplitude(x: &[i16], rate: u32, hz: f64) -> f64 {
    let w = 2.0 * std::f64::consts::PI * hz / f64::from(rate);
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &v in x {
        let s = f64::from(v) + coeff * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    let power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    2.0 * power.max(0.0).sqrt() / x.len() as f64
}

fn zero_crossings(x: &[i16]) -> usize {
    x.windows(2)
        .filter(|w| (w[0] < 0) != (w[1] < 0) && w[0] != w[1])
        .count()
}

fn expected_payload_size(codec: AudioCodec, payload: &[u8]) -> bool {
    match codec {
        AudioCodec::Pcmu | AudioCodec::Pcma | AudioCodec::G722 => payload.len() == 160,
        // 32 kbit/s * 20 ms = 80 bytes on average; VBR.
        AudioCodec::Opus => (3..=400).contains(&payload.len()),
    }
}

/// 200 ms of silence, then 800 ms of a 1 kHz sine at -6 dBFS, 20 ms at a
/// time through encode → decode: the tone comes back at the right frequency
/// and level, one payload per 20 ms in, one 20 ms of PCM per payload out,
/// with a small delay.
#[test]
fn sine_round_trip_every_codec_and_rate() {
    const AMPLITUDE: f64 = 16000.0;
    for codec in CODECS {
        for rate in RATES {
            let spf = frame_samples(rate);
            let mut input = vec![0i16; spf * 10];
            input.extend(sine(rate, 1000.0, 0.8, AMPLITUDE));
            let mut encoder = AudioEncoder::new(codec, rate).unwrap();
            let mut decoder = AudioDecoder::new(codec, rate).unwrap();
            let mut output = Vec::new();
            let mut payloads = 0;
            let started = Instant::now();
            for (i, chunk) in input.chunks(spf).enumerate() {
                let encoded = encoder.encode(chunk).unwrap();
                assert_eq!(
                    encoded.len(),
                    1,
                    "{codec:?}@{rate}: chunk {i} gave {} payloads",
                    encoded.len()
                );
                for payload in &encoded {
                    assert!(
                        expected_payload_size(codec, payload),
                        "{codec:?}@{rate}: payload of {} bytes",
                        payload.len()
                    );
                    let before = output.len();
                    decoder.decode_into(payload, &mut output).unwrap();
                    assert_eq!(
                        output.len() - before,
                        spf,
                        "{codec:?}@{rate}: payload {payloads} decoded to {} samples",
                        output.len() - before
                    );
                    payloads += 1;
                }
            }
            let per_frame = started.elapsed() / payloads;
            assert_eq!(output.len(), input.len());

            // Delay: first sample of the decoded tone vs the input onset.
            let onset = spf * 10;
            let first = output
                .iter()
                .position(|&s| f64::from(s).abs() > AMPLITUDE / 4.0)
                .unwrap();
            let delay_ms = (first as f64 - onset as f64) * 1000.0 / f64::from(rate);

            let steady = &output[onset + spf * 5..];
            let amplitude = tone_amplitude(steady, rate, 1000.0);
            let level_db = 20.0 * (amplitude / AMPLITUDE).log10();
            let purity = amplitude / (rms(steady) * std::f64::consts::SQRT_2);
            let crossings = zero_crossings(steady) as f64;
            let hz = crossings / 2.0 / (steady.len() as f64 / f64::from(rate));
            println!(
                "{codec:?}@{rate}: delay {delay_ms:.2} ms, level {level_db:+.2} dB, \
                 purity {purity:.3}, {hz:.1} Hz, {per_frame:?} per encode+decode"
            );
            assert!(
                (-1.0..=12.0).contains(&delay_ms),
                "{codec:?}@{rate}: delay {delay_ms} ms"
            );
            let tolerance = if codec == AudioCodec::Opus { 3.0 } else { 1.0 };
            assert!(
                level_db.abs() <= tolerance,
                "{codec:?}@{rate}: level {level_db} dB"
            );
            assert!(purity > 0.9, "{codec:?}@{rate}: purity {purity}");
            assert!((hz - 1000.0).abs() < 20.0, "{codec:?}@{rate}: {hz} Hz");
            assert!(
                per_frame < Duration::from_millis(5),
                "{codec:?}@{rate}: {per_frame:?} per frame"
            );
        }
    }
}

/// PCM in odd-sized chunks still gives only complete 20 ms payloads, as many
/// as whole frames went in (give or take the one in progress).
#[test]
fn uneven_chunks_give_whole_payloads() {
    for codec in CODECS {
        for rate in [8000, 48000] {
            let pcm = sine(rate, 440.0, 1.0, 8000.0);
            let mut encoder = AudioEncoder::new(codec, rate).unwrap();
            let mut payloads = Vec::new();
            for chunk in pcm.chunks(frame_samples(rate) * 7 / 20 + 3) {
                payloads.extend(encoder.encode(chunk).unwrap());
            }
            assert!(encoder.encode(&[]).unwrap().is_empty());
            assert!(
                (49..=50).contains(&payloads.len()),
                "{codec:?}@{rate}: {} payloads for 1 s",
                payloads.len()
            );
            for p in &payloads {
                assert!(
                    expected_payload_size(codec, p),
                    "{codec:?}: {} bytes",
                    p.len()
                );
            }
        }
    }
}

/// Garbage, empty and tiny payloads give an error or some samples, never a
/// panic, and the next good packet decodes normally.
#[test]
fn garbage_does_not_wedge_the_decoder() {
    for codec in [AudioCodec::Opus, AudioCodec::G722, AudioCodec::Pcmu] {
        let rate = 48000;
        let spf = frame_samples(rate);
        let mut encoder = AudioEncoder::new(codec, rate).unwrap();
        let good: Vec<Vec<u8>> = sine(rate, 1000.0, 0.4, 16000.0)
            .chunks(spf)
            .flat_map(|c| encoder.encode(c).unwrap())
            .collect();
        let mut decoder = AudioDecoder::new(codec, rate).unwrap();
        for p in &good[..5] {
            assert_eq!(decoder.decode(p).unwrap().len(), spf);
        }
        let mut seed = 0x1234_5678u32;
        let mut noise = |n: usize| -> Vec<u8> {
            (0..n)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 17;
                    seed ^= seed << 5;
                    seed as u8
                })
                .collect()
        };
        let garbage: Vec<Vec<u8>> = vec![
            vec![],
            vec![0x00],
            vec![0xFF],
            // Opus code 3 packet claiming zero frames: invalid.
            vec![0x03, 0x00],
            // Opus code 3 packet claiming 48 frames of 60 ms: too long.
            vec![0x1B, 0x30, 0x00],
            noise(3),
            noise(97),
            noise(1200),
            noise(10_000),
        ];
        let mut errors = 0;
        for g in &garbage {
            match decoder.decode(g) {
                Ok(pcm) => assert!(pcm.len() <= rate as usize / 5, "{codec:?}: {}", pcm.len()),
                Err(_) => errors += 1,
            }
        }
        assert!(errors >= 2, "{codec:?}: only {errors} errors"); // at least: empty, oversized
        if codec == AudioCodec::Opus {
            assert!(
                decoder.decode(&[0x03, 0x00]).is_err(),
                "invalid Opus packet accepted"
            );
        }
        let mut after = Vec::new();
        for p in &good[5..] {
            let pcm = decoder.decode(p).unwrap();
            assert_eq!(pcm.len(), spf, "{codec:?}: after garbage");
            after.extend(pcm);
        }
        // Give the codec a few frames to settle, then the tone is back.
        let amplitude = tone_amplitude(&after[spf * 3..], rate, 1000.0);
        assert!(
            (amplitude / 16000.0 - 1.0).abs() < 0.3,
            "{codec:?}: tone amplitude {amplitude} after garbage"
        );
    }
}

#[test]
fn rates_are_checked() {
    assert!(AudioDecoder::new(AudioCodec::Opus, 7999).is_err());
    assert!(AudioEncoder::new(AudioCodec::G722, 96000).is_err());
    // Odd but valid rates resample.
    let mut encoder = AudioEncoder::new(AudioCodec::Opus, 44100).unwrap();
    let mut decoder = AudioDecoder::new(AudioCodec::G722, 32000).unwrap();
    let pcm = sine(44100, 1000.0, 0.2, 8000.0);
    let packets: Vec<_> = pcm
        .chunks(441 * 2)
        .flat_map(|c| encoder.encode(c).unwrap())
        .collect();
    assert!((9..=10).contains(&packets.len()), "{}", packets.len());
    assert!(
        (639..=641).contains(&decoder.decode(&[0x55; 160]).unwrap().len()),
        "20 ms of G.722 at 32 kHz"
    );
}

#[test]
fn level_dbov_rfc6464() {
    assert_eq!(level_dbov(&[]), 127);
    assert_eq!(level_dbov(&[0; 960]), 127);
    assert_eq!(level_dbov(&sine(48000, 1000.0, 0.02, 32767.0)), 3);
    assert_eq!(level_dbov(&sine(48000, 1000.0, 0.02, 3276.7)), 23);
    assert_eq!(level_dbov(&[1; 960]), 90);
}

/// The Rust G.711 decoders are bit-exact with GStreamer's.
#[test]
fn g711_decoding_matches_gstreamer() {
    let all: Vec<u8> = (0..=255).collect();
    for (element, decode) in [
        ("mulawdec", ulaw_to_linear as fn(u8) -> i16),
        ("alawdec", alaw_to_linear),
    ] {
        let caps = if element == "mulawdec" {
            "audio/x-mulaw"
        } else {
            "audio/x-alaw"
        };
        let samples = run_samples(
            &format!(
                "appsrc name=src caps={caps},rate=8000,channels=1 ! {element} ! \
                 appsink name=sink sync=false"
            ),
            vec![buffer(&all)],
        );
        let theirs: Vec<i16> = samples.iter().flat_map(|s| s16(&bytes(s))).collect();
        let ours: Vec<i16> = all.iter().map(|&b| decode(b)).collect();
        assert_eq!(ours, theirs, "{element}");
    }
}

/// One decode gives the codec's own rate and the output rate: the two carry the same
/// tone, the native PCM is exactly what a decoder at the codec's rate gives, and a bad
/// payload adds nothing to either.
#[test]
fn decode_both_gives_the_codec_rate_and_the_output_rate() {
    for codec in [AudioCodec::Pcmu, AudioCodec::Pcma, AudioCodec::G722] {
        let native_rate = if codec == AudioCodec::G722 {
            16000
        } else {
            8000
        };
        let input = sine(native_rate, 1000.0, 0.6, 16000.0);
        let mut encoder = AudioEncoder::new(codec, native_rate).unwrap();
        let mut both = AudioDecoder::new(codec, 48000).unwrap();
        let mut plain = AudioDecoder::new(codec, native_rate).unwrap();
        assert_eq!(both.codec_rate(), native_rate, "{codec:?}");
        let (mut native, mut out, mut reference) = (Vec::new(), Vec::new(), Vec::new());
        for chunk in input.chunks(frame_samples(native_rate)) {
            for p in encoder.encode(chunk).unwrap() {
                both.decode_both(&p, &mut native, &mut out).unwrap();
                plain.decode_into(&p, &mut reference).unwrap();
            }
        }
        assert_eq!(native, reference, "{codec:?}: native PCM differs");
        assert_eq!(
            out.len(),
            native.len() * 48000 / native_rate as usize,
            "{codec:?}"
        );
        let tail = |x: &[i16], rate: u32| {
            let from = x.len() / 2;
            tone_amplitude(&x[from..], rate, 1000.0)
        };
        let (a_native, a_out) = (tail(&native, native_rate), tail(&out, 48000));
        assert!(
            a_native > 8000.0 && a_out > 8000.0,
            "{codec:?}: {a_native} {a_out}"
        );
        let (n, o) = (native.len(), out.len());
        assert!(both.decode_both(&[], &mut native, &mut out).is_err());
        assert_eq!((native.len(), out.len()), (n, o));
    }
    let opus = AudioDecoder::new(AudioCodec::Opus, 48000).unwrap();
    assert_eq!(opus.codec_rate(), 48000);
}
