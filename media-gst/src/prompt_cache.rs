//! The IVR's prompts as RTP payloads: the Ogg Opus assets are compiled into the binary,
//! decoded and encoded once per (prompt, language, codec) on first use, and then shared by
//! every call that plays them (encode once, send to many).

use crate::prompt::AudioCodec;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Bytes of `assets/prompts/<lang>/<name>.opus`, or the top-level `lobby`/`notice` files
/// for `lang == ""`.
pub fn asset(lang: &str, name: &str) -> Option<&'static [u8]> {
    macro_rules! table {
        ($($l:literal / $n:literal),* $(,)?) => {
            match (lang, name) {
                $(($l, $n) => Some(include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/../assets/prompts/", $l, "/", $n, ".opus")).as_slice()),)*
                ("", "lobby") => Some(include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/../assets/prompts/lobby.opus")).as_slice()),
                ("", "notice") => Some(include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/../assets/prompts/notice.opus")).as_slice()),
                _ => None,
            }
        };
    }
    macro_rules! langs {
        ($($n:literal),*) => { table!($("en" / $n,)* $("de" / $n,)* $("fr" / $n,)*) };
    }
    langs!(
        "welcome",
        "enter_id",
        "invalid_id",
        "not_found",
        "checking",
        "lobby",
        "admitted",
        "rejected",
        "too_many_attempts",
        "try_later",
        "goodbye",
        "recording_started",
        "recording_stopped",
        "transcription_started",
        "transcription_stopped"
    )
}

/// 20 ms RTP payloads of one sound in one codec.
pub type Frames = Arc<Vec<Vec<u8>>>;

/// The codec of a negotiated audio stream, if we can send it.
pub fn codec_of(name: &str) -> Option<AudioCodec> {
    [
        AudioCodec::Pcmu,
        AudioCodec::Pcma,
        AudioCodec::G722,
        AudioCodec::Opus,
    ]
    .into_iter()
    .find(|c| c.encoding().eq_ignore_ascii_case(name))
}

/// RTP timestamp units per 20 ms frame (G.722's RTP clock is 8000 Hz, RFC 3551 §4.5.2).
pub fn ts_per_frame(codec: AudioCodec) -> u32 {
    codec.clock_rate() / 50
}

/// (language, prompt or sound name, codec).
type CacheKey = (String, String, AudioCodec);

/// Prompt frames by (language, name, codec), shared by every call (cheap to clone).
#[derive(Clone, Default, Debug)]
pub struct PromptCache {
    inner: Arc<Mutex<HashMap<CacheKey, Frames>>>,
}

impl PromptCache {
    /// The frames of prompt `name` in `lang` (falling back to English), or of the
    /// language-independent sound `name` when `lang` is empty. Blocking (GStreamer) on first
    /// use: call from `spawn_blocking`.
    pub fn frames_blocking(&self, lang: &str, name: &str, codec: AudioCodec) -> Option<Frames> {
        let (lang, bytes) = match asset(lang, name) {
            Some(b) => (lang, b),
            None => ("en", asset("en", name)?),
        };
        let key = (lang.to_string(), name.to_string(), codec);
        if let Ok(m) = self.inner.lock()
            && let Some(f) = m.get(&key)
        {
            return Some(f.clone());
        }
        let rate = crate::prompt::pcm_rate(codec);
        let frames = crate::prompt::decode_ogg_opus(bytes, rate)
            .and_then(|pcm| crate::prompt::encode_frames(&pcm, rate, codec));
        match frames {
            Ok(f) => {
                let f = Arc::new(f);
                if let Ok(mut m) = self.inner.lock() {
                    m.insert(key, f.clone());
                }
                Some(f)
            }
            Err(e) => {
                tracing::error!(error = %e, prompt = name, "cannot prepare prompt audio");
                None
            }
        }
    }

    /// One 20 ms frame of silence in `codec`.
    pub fn silence_blocking(&self, codec: AudioCodec) -> Option<Vec<u8>> {
        let key = (String::new(), "\0silence".to_string(), codec);
        if let Ok(m) = self.inner.lock()
            && let Some(f) = m.get(&key)
        {
            return f.first().cloned();
        }
        let rate = crate::prompt::pcm_rate(codec);
        let pcm = vec![0i16; usize::try_from(rate / 50).unwrap_or(160)];
        let f = crate::prompt::encode_frames(&pcm, rate, codec).ok()?;
        let first = f.first().cloned();
        if let Ok(mut m) = self.inner.lock() {
            m.insert(key, Arc::new(f));
        }
        first
    }
}
