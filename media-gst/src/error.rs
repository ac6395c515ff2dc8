use std::time::Duration;

use crate::prompt::AudioCodec;

/// Every error of this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `gst::init()` failed.
    #[error("GStreamer initialisation failed: {0}")]
    Init(String),
    /// A GStreamer element needed by this crate is not installed.
    #[error("GStreamer element `{0}` is not available (missing plugin?)")]
    MissingElement(String),
    /// A pipeline could not be built, changed state, or posted an error.
    #[error("GStreamer pipeline error: {0}")]
    Pipeline(String),
    /// A synchronous pipeline run did not reach EOS in time.
    #[error("GStreamer pipeline did not finish within {0:?}")]
    Timeout(Duration),
    /// The PCM sample rate does not match what the codec needs.
    #[error("{codec:?} needs {expected} Hz PCM, got {rate} Hz")]
    SampleRate {
        codec: AudioCodec,
        rate: u32,
        expected: u32,
    },
    /// Invalid argument (e.g. zero width, empty input where data is needed).
    #[error("invalid input: {0}")]
    InvalidInput(String),
}

impl From<gst::glib::BoolError> for Error {
    fn from(e: gst::glib::BoolError) -> Self {
        Error::Pipeline(e.to_string())
    }
}

impl From<gst::glib::Error> for Error {
    fn from(e: gst::glib::Error) -> Self {
        Error::Pipeline(e.to_string())
    }
}

impl From<gst::StateChangeError> for Error {
    fn from(e: gst::StateChangeError) -> Self {
        Error::Pipeline(format!("state change failed: {e}"))
    }
}
