#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use cvi_media_gst::prompt::{linear_to_alaw, linear_to_ulaw};
use cvi_media_gst::{AudioCodec, Error, decode_ogg_opus, encode_frames};

const WELCOME: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../assets/prompts/en/welcome.opus"
);

#[test]
fn decodes_welcome_prompt() {
    let bytes = std::fs::read(WELCOME).unwrap();
    for rate in [8000u32, 16000, 48000] {
        let pcm = decode_ogg_opus(&bytes, rate).unwrap();
        let secs = pcm.len() as f64 / f64::from(rate);
        assert!((0.5..=15.0).contains(&secs), "duration {secs} s at {rate}");
        let level = rms(&pcm);
        assert!(level > 100.0, "rms {level} at {rate}");
    }
}

#[test]
fn garbage_is_an_error() {
    assert!(decode_ogg_opus(b"this is not an ogg file at all, sorry", 8000).is_err());
    assert!(decode_ogg_opus(&[], 8000).is_err());
}

#[test]
fn wrong_rate_is_rejected() {
    let pcm = vec![0i16; 800];
    for (codec, wrong) in [
        (AudioCodec::Pcmu, 16000),
        (AudioCodec::Pcma, 48000),
        (AudioCodec::G722, 8000),
        (AudioCodec::Opus, 16000),
    ] {
        assert!(matches!(
            encode_frames(&pcm, wrong, codec),
            Err(Error::SampleRate { .. })
        ));
    }
    assert!(
        encode_frames(&[], 8000, AudioCodec::Pcmu)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn g711_frames() {
    // 1.01 s -> 51 frames, the last padded with silence.
    let pcm = sine(8000, 440.0, 1.01, 8000.0);
    assert_eq!(pcm.len(), 8080);
    for (codec, silence) in [(AudioCodec::Pcmu, 0xFFu8), (AudioCodec::Pcma, 0xD5u8)] {
        let frames = encode_frames(&pcm, 8000, codec).unwrap();
        assert_eq!(frames.len(), 51);
        assert!(frames.iter().all(|f| f.len() == 160));
        let last = frames.last().unwrap();
        assert!(
            last[80..].iter().all(|&b| b == silence),
            "{codec:?} padding"
        );
    }
}

#[test]
fn g711_matches_gstreamer() {
    let pcm: Vec<i16> = (i16::MIN..=i16::MAX).step_by(7).collect();
    let mulaw = run_samples(
        "appsrc name=src format=time caps=audio/x-raw,format=S16LE,layout=interleaved,channels=1,rate=8000 ! \
         mulawenc ! appsink name=sink sync=false",
        vec![pcm_to_buffer(&pcm)],
    );
    let expected: Vec<u8> = mulaw.iter().flat_map(bytes).collect();
    let ours: Vec<u8> = pcm.iter().map(|&s| linear_to_ulaw(s)).collect();
    assert!(ours == expected, "µ-law differs");

    let alaw = run_samples(
        "appsrc name=src format=time caps=audio/x-raw,format=S16LE,layout=interleaved,channels=1,rate=8000 ! \
         alawenc ! appsink name=sink sync=false",
        vec![pcm_to_buffer(&pcm)],
    );
    let expected: Vec<u8> = alaw.iter().flat_map(bytes).collect();
    let ours: Vec<u8> = pcm.iter().map(|&s| linear_to_alaw(s)).collect();
    assert_eq!(ours.len(), expected.len());
    let diffs: Vec<(i16, u8, u8)> = pcm
        .iter()
        .zip(ours.iter().zip(&expected))
        .filter(|(_, (a, b))| a != b)
        .map(|(&s, (&a, &b))| (s, a, b))
        .collect();
    // GStreamer's alawenc rounds negative samples that sit exactly on a
    // quantisation boundary differently from the ITU/Sun reference (which
    // uses the one's complement); nothing else may differ.
    assert!(
        diffs.len() <= 32,
        "A-law: {} diffs, first {:?}",
        diffs.len(),
        &diffs[..diffs.len().min(10)]
    );
}

#[test]
fn g722_frames_round_trip() {
    let pcm = sine(16000, 440.0, 1.01, 8000.0);
    let frames = encode_frames(&pcm, 16000, AudioCodec::G722).unwrap();
    assert_eq!(frames.len(), 51);
    assert!(frames.iter().all(|f| f.len() == 160));

    let stream: Vec<u8> = frames.concat();
    let decoded = run_samples(
        "appsrc name=src format=time caps=audio/G722,rate=16000,channels=1 ! avdec_g722 ! \
         audioconvert ! audio/x-raw,format=S16LE,channels=1 ! appsink name=sink sync=false",
        vec![buffer(&stream)],
    );
    let pcm_out: Vec<i16> = decoded.iter().flat_map(|s| s16(&bytes(s))).collect();
    assert!(pcm_out.len() >= 15000, "{} samples", pcm_out.len());
    let level = rms(&pcm_out);
    assert!(level > 1000.0, "round-trip rms {level}");
}

#[test]
fn opus_frames() {
    let pcm = sine(48000, 440.0, 1.0, 8000.0);
    let frames = encode_frames(&pcm, 48000, AudioCodec::Opus).unwrap();
    assert_eq!(frames.len(), 50);
    assert!(frames.iter().all(|f| !f.is_empty()));
    // TOC byte: config for 20 ms frames (config % 4 == 3), mono.
    for f in &frames {
        assert_eq!((f[0] >> 3) % 4, 3, "TOC {:#x}", f[0]);
        assert_eq!(f[0] & 0x04, 0, "mono");
    }

    // Decoded prompt -> Opus at 48 kHz: frame count follows the duration.
    let bytes = std::fs::read(WELCOME).unwrap();
    let pcm = decode_ogg_opus(&bytes, 48000).unwrap();
    let frames = encode_frames(&pcm, 48000, AudioCodec::Opus).unwrap();
    assert_eq!(frames.len(), pcm.len().div_ceil(960));
}
