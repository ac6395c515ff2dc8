use std::sync::OnceLock;

use crate::Error;

/// GStreamer element factories this crate uses.
pub const REQUIRED_ELEMENTS: &[&str] = &[
    "appsrc",
    "appsink",
    "capsfilter",
    "oggdemux",
    "opusdec",
    "opusenc",
    "audioconvert",
    "audioresample",
    "avenc_g722",
    "videotestsrc",
    "textoverlay",
    "videoconvert",
    "x264enc",
    "rtpjitterbuffer",
    "rtph264depay",
    "h264parse",
    "avdec_h264",
    // The meeting: composite views, live transcoding, the recording.
    "compositor",
    "vp8dec",
    "videoscale",
    "avdec_g722",
    "mp4mux",
    "avenc_aac",
    "aacparse",
    "audiorate",
    "filesink",
];

static READY: OnceLock<()> = OnceLock::new();

/// Initialises GStreamer (idempotent) and checks that every element in
/// [`REQUIRED_ELEMENTS`] is installed; the error names the first missing one.
///
/// Success is cached; a failure is re-checked on the next call.
pub fn init() -> Result<(), Error> {
    if READY.get().is_some() {
        return Ok(());
    }
    gst::init().map_err(|e| Error::Init(e.to_string()))?;
    for name in REQUIRED_ELEMENTS {
        if gst::ElementFactory::find(name).is_none() {
            return Err(Error::MissingElement((*name).to_string()));
        }
    }
    let _ = READY.set(());
    Ok(())
}
