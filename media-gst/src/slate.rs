//! Shared, live H.264 encoders of a text "slate" picture.
//!
//! A [`SlateHub`] runs one encoder per distinct (lines, [`SlateParams`]);
//! every [`SlateSubscription`] with the same key shares the running encoder
//! through a broadcast channel. The encoder stops when the last subscription
//! is dropped.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use crate::feed::{Feed, ForceKeyframe};
use gst::prelude::*;
use tokio::sync::broadcast;

use crate::Error;
use crate::util::{by_name, parse_pipeline};

/// Broadcast capacity (frames) per encoder; a slower receiver lags.
pub const CHANNEL_CAPACITY: usize = 32;
/// At most this many lines are rendered; extra lines are ignored.
pub const MAX_LINES: usize = 16;
/// Each line is cut to this many characters.
pub const MAX_LINE_CHARS: usize = 200;

/// Slate background colour (ARGB).
pub const BACKGROUND_ARGB: u32 = 0xff1e2a3a;

/// H.264 profile signalled in the encoder's output caps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum H264Profile {
    ConstrainedBaseline,
    Main,
    High,
}

impl H264Profile {
    /// The GStreamer caps name (`constrained-baseline`, `main`, `high`).
    pub fn caps_name(self) -> &'static str {
        match self {
            H264Profile::ConstrainedBaseline => "constrained-baseline",
            H264Profile::Main => "main",
            H264Profile::High => "high",
        }
    }
}

/// Encoder parameters of a slate.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SlateParams {
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    pub bitrate_kbps: u32,
    pub profile: H264Profile,
    /// `Some(n)`: every slice NAL is at most `n` bytes (for RTP
    /// packetization-mode 0), via x264 `slice-max-size`.
    pub max_nal_bytes: Option<u32>,
}

impl Default for SlateParams {
    fn default() -> Self {
        SlateParams {
            width: 640,
            height: 360,
            fps: 10,
            bitrate_kbps: 300,
            profile: H264Profile::ConstrainedBaseline,
            max_nal_bytes: None,
        }
    }
}

impl SlateParams {
    fn validate(&self) -> Result<(), Error> {
        let bad = |what: &str| Err(Error::InvalidInput(format!("slate {what}: {self:?}")));
        if !(16..=4096).contains(&self.width) || !(16..=4096).contains(&self.height) {
            return bad("size out of range");
        }
        if !self.width.is_multiple_of(2) || !self.height.is_multiple_of(2) {
            return bad("size must be even");
        }
        if !(1..=60).contains(&self.fps) {
            return bad("fps out of range");
        }
        if !(16..=100_000).contains(&self.bitrate_kbps) {
            return bad("bitrate out of range");
        }
        if let Some(n) = self.max_nal_bytes
            && !(200..=65_535).contains(&n)
        {
            return bad("max_nal_bytes out of range");
        }
        Ok(())
    }
}

/// One encoded access unit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodedFrame {
    /// One Annex-B access unit; SPS/PPS precede every IDR.
    pub data: Vec<u8>,
    /// True for an IDR access unit.
    pub keyframe: bool,
    /// Presentation time (pipeline running time).
    pub pts: Duration,
}

type Key = (Vec<String>, SlateParams);
type Registry = Mutex<HashMap<Key, Weak<Encoder>>>;

/// Registry of running slate encoders. Cheap to clone (shared state).
#[derive(Clone, Default)]
pub struct SlateHub {
    registry: Arc<Registry>,
}

impl std::fmt::Debug for SlateHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlateHub")
            .field("active_encoders", &self.active_encoders())
            .finish()
    }
}

impl SlateHub {
    pub fn new() -> Self {
        Self::default()
    }

    /// Subscribes to the slate showing `lines` encoded with `params`, starting
    /// its encoder if none runs for this key, and requests a keyframe so the
    /// new subscriber gets an IDR within about one frame interval.
    ///
    /// Lines are shown literally (Pango markup is escaped); control characters become
    /// spaces, at most [`MAX_LINES`] lines of [`MAX_LINE_CHARS`] characters.
    pub fn subscribe(
        &self,
        lines: &[String],
        params: &SlateParams,
    ) -> Result<SlateSubscription, Error> {
        crate::init()?;
        params.validate()?;
        let key: Key = (sanitize(lines), params.clone());
        let mut map = lock(&self.registry);
        map.retain(|_, weak| weak.strong_count() > 0);
        let (encoder, rx, fresh) = match map.get(&key).and_then(Weak::upgrade) {
            Some(encoder) => {
                let rx = encoder.tx.subscribe();
                (encoder, rx, false)
            }
            None => {
                // Encoder::start only returns a fully running encoder, so no
                // Encoder is ever dropped here while the registry is locked.
                let (encoder, rx) = Encoder::start(key.clone(), Arc::downgrade(&self.registry))?;
                let encoder = Arc::new(encoder);
                map.insert(key, Arc::downgrade(&encoder));
                (encoder, rx, true)
            }
        };
        drop(map);
        if !fresh {
            encoder.request_keyframe();
        }
        Ok(SlateSubscription {
            feed: Feed::new(encoder, rx),
        })
    }

    /// Number of running encoders.
    pub fn active_encoders(&self) -> usize {
        lock(&self.registry)
            .values()
            .filter(|weak| weak.strong_count() > 0)
            .count()
    }
}

/// A subscriber's handle on a running slate encoder. Dropping the last one
/// stops the encoder.
pub struct SlateSubscription {
    feed: Feed<Encoder>,
}

impl std::fmt::Debug for SlateSubscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlateSubscription")
            .field("lines", &self.feed.encoder.key.0)
            .field("params", &self.feed.encoder.key.1)
            .finish()
    }
}

impl SlateSubscription {
    /// The raw broadcast receiver (every frame, including any P frames that
    /// were in flight before the first keyframe after subscribing).
    pub fn receiver(&mut self) -> &mut broadcast::Receiver<Arc<EncodedFrame>> {
        self.feed.receiver()
    }

    /// Asks the encoder for an IDR (with SPS/PPS) as soon as possible. It
    /// reaches every subscriber of this encoder.
    pub fn request_keyframe(&self) {
        self.feed.request_keyframe();
    }

    /// Next frame, skipping frames until the first keyframe after subscribing
    /// or after a lag. On lag, returns `Lagged` once and requests a keyframe.
    pub async fn recv(&mut self) -> Result<Arc<EncodedFrame>, broadcast::error::RecvError> {
        self.feed.recv().await
    }

    /// Non-blocking [`Self::recv`].
    pub fn try_recv(&mut self) -> Result<Arc<EncodedFrame>, broadcast::error::TryRecvError> {
        self.feed.try_recv()
    }

    /// Blocking [`Self::recv`] (must not be called from an async context).
    pub fn blocking_recv(&mut self) -> Result<Arc<EncodedFrame>, broadcast::error::RecvError> {
        self.feed.blocking_recv()
    }
}

impl ForceKeyframe for Encoder {
    fn force_keyframe(&self) {
        self.request_keyframe();
    }
}

/// Sends every access unit the encoder's appsink receives to `tx` (no
/// receivers is fine: between subscriptions).
pub(crate) fn broadcast_frames(sink: &gst_app::AppSink, tx: broadcast::Sender<Arc<EncodedFrame>>) {
    sink.set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |sink| {
                let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                let Some(buffer) = sample.buffer() else {
                    return Ok(gst::FlowSuccess::Ok);
                };
                let map = buffer.map_readable().map_err(|_| gst::FlowError::Error)?;
                let frame = EncodedFrame {
                    data: map.as_slice().to_vec(),
                    keyframe: !buffer.flags().contains(gst::BufferFlags::DELTA_UNIT),
                    pts: buffer
                        .pts()
                        .map(|t| Duration::from_nanos(t.nseconds()))
                        .unwrap_or_default(),
                };
                let _ = tx.send(Arc::new(frame));
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );
}

/// One running encoder pipeline.
struct Encoder {
    key: Key,
    registry: Weak<Registry>,
    pipeline: gst::Pipeline,
    sink: gst_app::AppSink,
    tx: broadcast::Sender<Arc<EncodedFrame>>,
}

impl Encoder {
    /// Builds and starts the pipeline; the returned receiver was subscribed
    /// before the first frame, so it sees the initial IDR.
    fn start(
        key: Key,
        registry: Weak<Registry>,
    ) -> Result<(Self, broadcast::Receiver<Arc<EncodedFrame>>), Error> {
        let (lines, p) = &key;
        let options = match p.max_nal_bytes {
            Some(n) => format!(" option-string=slice-max-size={n}"),
            None => String::new(),
        };
        let desc = format!(
            "videotestsrc name=src is-live=true pattern=solid-color ! \
             video/x-raw,width={w},height={h},framerate={fps}/1 ! \
             textoverlay name=overlay halignment=center valignment=center \
               line-alignment=center shaded-background=false auto-resize=false ! \
             videoconvert ! \
             x264enc tune=zerolatency speed-preset=ultrafast threads=1 aud=false bitrate={kbps} \
               key-int-max={gop}{options} ! \
             video/x-h264,profile={profile},stream-format=byte-stream,alignment=au ! \
             appsink name=sink sync=false max-buffers={CHANNEL_CAPACITY} drop=true",
            w = p.width,
            h = p.height,
            fps = p.fps,
            kbps = p.bitrate_kbps,
            gop = p.fps.saturating_mul(10),
            profile = p.profile.caps_name(),
        );
        let pipeline = parse_pipeline(&desc)?;
        let src: gst::Element = by_name(&pipeline, "src")?;
        src.set_property("foreground-color", BACKGROUND_ARGB);
        let overlay: gst::Element = by_name(&pipeline, "overlay")?;
        // textoverlay parses its `text` property as Pango markup, so the
        // (tenant-controlled) lines are escaped to render literally.
        let text = gst::glib::markup_escape_text(&lines.join("\n"));
        overlay.set_property("text", text.as_str());
        overlay.set_property("font-desc", format!("Sans Bold {}", (p.height / 18).max(6)));
        let sink: gst_app::AppSink = by_name(&pipeline, "sink")?;

        let (tx, rx) = broadcast::channel(CHANNEL_CAPACITY);
        crate::slate::broadcast_frames(&sink, tx.clone());

        if let Err(e) = pipeline.set_state(gst::State::Playing) {
            let _ = pipeline.set_state(gst::State::Null);
            return Err(e.into());
        }
        tracing::debug!(lines = ?key.0, params = ?key.1, "slate encoder started");
        Ok((
            Encoder {
                key,
                registry,
                pipeline,
                sink,
                tx,
            },
            rx,
        ))
    }

    fn request_keyframe(&self) {
        let event = gst_video::UpstreamForceKeyUnitEvent::builder()
            .all_headers(true)
            .build();
        if !self.sink.send_event(event) {
            tracing::debug!("slate keyframe request not handled");
        }
    }
}

impl Drop for Encoder {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
        if let Some(registry) = self.registry.upgrade() {
            let mut map = lock(&registry);
            if map.get(&self.key).is_some_and(|w| w.strong_count() == 0) {
                map.remove(&self.key);
            }
        }
        tracing::debug!(lines = ?self.key.0, "slate encoder stopped");
    }
}

fn lock(registry: &Registry) -> std::sync::MutexGuard<'_, HashMap<Key, Weak<Encoder>>> {
    registry.lock().unwrap_or_else(|p| p.into_inner())
}

fn sanitize(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .take(MAX_LINES)
        .map(|line| {
            line.chars()
                .take(MAX_LINE_CHARS)
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect()
        })
        .collect()
}
