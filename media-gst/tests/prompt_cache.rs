//! The embedded prompt assets and the shared per-codec cache.

use cvi_media_gst::prompt_cache::{asset, ts_per_frame};
use cvi_media_gst::{AudioCodec, PromptCache};
use std::sync::Arc;

#[test]
fn every_prompt_file_is_embedded() {
    for n in cvi_ivr::Prompt::ALL.map(cvi_ivr::Prompt::name) {
        for l in ["en", "de", "fr"] {
            assert!(
                asset(l, n).is_some_and(|b| b.starts_with(b"OggS")),
                "{l}/{n}"
            );
        }
    }
    assert!(asset("", "lobby").is_some());
    assert!(asset("", "notice").is_some());
    assert!(asset("xx", "welcome").is_none());
    assert!(asset("en", "nope").is_none());
}

#[test]
fn frames_are_encoded_once_and_shared() {
    let cache = PromptCache::default();
    let a = cache
        .frames_blocking("en", "welcome", AudioCodec::Pcmu)
        .expect("welcome in PCMU");
    // 0.5–15 s of 20 ms frames of 160 bytes.
    assert!((25..=750).contains(&a.len()), "{} frames", a.len());
    assert!(a.iter().all(|f| f.len() == 160));
    let b = cache
        .frames_blocking("en", "welcome", AudioCodec::Pcmu)
        .expect("again");
    assert!(
        Arc::ptr_eq(&a, &b),
        "the second call must come from the cache"
    );
    // A language without the file falls back to English (the same frames).
    let c = cache
        .frames_blocking("xx", "welcome", AudioCodec::Pcmu)
        .expect("fallback");
    assert!(Arc::ptr_eq(&a, &c));
    // Not all silence: µ-law silence is 0xFF/0x7F.
    assert!(
        a.iter()
            .flatten()
            .filter(|&&x| x != 0xff && x != 0x7f)
            .count()
            > 1000
    );
    let g722 = cache
        .frames_blocking("de", "enter_id", AudioCodec::G722)
        .expect("G.722");
    assert!(g722.iter().all(|f| f.len() == 160));
    assert!(
        cache
            .frames_blocking("en", "no_such_prompt", AudioCodec::Pcma)
            .is_none()
    );
}

#[test]
fn silence_and_timestamps() {
    let cache = PromptCache::default();
    let s = cache.silence_blocking(AudioCodec::Pcma).expect("silence");
    assert_eq!(s.len(), 160);
    assert_eq!(ts_per_frame(AudioCodec::G722), 160);
    assert_eq!(ts_per_frame(AudioCodec::Opus), 960);
}
