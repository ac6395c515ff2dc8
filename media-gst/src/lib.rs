//! GStreamer parts of the SIP leg of the gateway:
//!
//! * [`prompt`]: decoding Ogg Opus prompts to PCM and encoding PCM into
//!   20 ms RTP payloads (PCMU, PCMA, G.722, Opus);
//! * [`slate`]: shared, live H.264 encoders of a text "slate" picture;
//! * [`decoder`]: per-call inbound H.264 RTP decoding;
//! * [`prompt_cache`]: the prompt assets compiled in, encoded once per codec and shared.
//!
//! Call [`init`] once before anything else (every entry point also calls it,
//! it is cheap and idempotent).

mod error;
mod feed;
mod init;
mod util;

pub mod decoder;
pub mod prompt;
pub mod slate;

pub use decoder::{DecodeStats, H264Decoder};
pub use error::Error;
pub use init::{REQUIRED_ELEMENTS, init};
pub use prompt::{AudioCodec, decode_ogg_opus, encode_frames};
pub use slate::{EncodedFrame, H264Profile, SlateHub, SlateParams, SlateSubscription};
pub mod prompt_cache;
pub use prompt_cache::{Frames, PromptCache};
pub mod live_audio;
pub use live_audio::{AudioDecoder, AudioEncoder, level_dbov};
pub mod recorder;
pub use recorder::{Recorder, RecordingSummary};
pub mod composite;
pub use composite::{CompositeLayout, CompositeSubscription, Mixer, TileSpec, VideoCodec};
