//! Composite video mixer of the embedded meeting.
//!
//! A [`Mixer`] (one per meeting) decodes every participant's video once and
//! composes it into any number of shared, live H.264 outputs.
//!
//! # Design
//!
//! * **Per source**, one decoder pipeline, started on the first
//!   [`Mixer::push`]:
//!   `appsrc ! vp8dec ! appsink` or `appsrc ! h264parse ! avdec_h264 ! appsink`.
//!   Its appsink callback keeps the latest decoded `gst::Sample` and fans the
//!   buffer out (refcounted: a shallow buffer copy that shares the memory, so
//!   only the timestamps differ) to every output whose layout shows that
//!   source. Decoding is thus independent of the number of outputs.
//! * **Per output** (one per distinct `(view, SlateParams)`), one pipeline:
//!   `compositor ! textoverlay×19 ! x264enc ! appsink`, fed by a live
//!   `videotestsrc` of the background colour (so an empty meeting still gives
//!   a steady stream at the output's fps), a live `videotestsrc` of the notice
//!   colour (a compositor pad shown with alpha 1 or 0) and one leaky live
//!   `appsrc` per shown source. Tiles are compositor pad properties (xpos,
//!   ypos, width, height, `sizing-policy=keep-aspect-ratio` for the
//!   letterbox); labels, "muted" markers and the notice text are textoverlay
//!   properties. A layout change is therefore a few property changes on the
//!   running pipeline, visible in the next frame, with no encoder restart.
//! * Outputs are shared like the slates: a registry of `Weak<Output>` keyed
//!   by `(view, params)`, subscriptions hold the `Arc`; the last one dropped
//!   stops the encoder.
//! * No lock is held while a frame goes through GStreamer: `push` takes the
//!   per-source lock only to pick the decoder's appsrc; a decoded picture
//!   takes each output's lock only to look its pad up. Pads are added and
//!   removed (rare) under the output's lock. Pipelines are stopped on one
//!   reaper thread so that dropping a subscription or removing a source never
//!   waits for an encoder or decoder to wind down.
//! * Frames are network data: [`Mixer::push`] checks each one (VP8 frame tag
//!   and key frame header, H.264 Annex-B NAL headers; size limits) before a
//!   decoder sees it; decoders run with `max-errors=-1`, and a decoder whose
//!   pipeline still fails is rebuilt on the next push. Every such event is
//!   reported as a keyframe request for the source.
//!
//! Doing the composition in Rust instead (raw frames, own scaler) would copy
//! every picture and lose the SIMD scalers/blenders of the compositor; one
//! compositor per output costs a scale per (source, output), which differs
//! per layout anyway.

mod layout;
mod output;
mod source;

use std::collections::HashMap;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};

use gst::prelude::*;
use tokio::sync::{broadcast, mpsc as tokio_mpsc};

use crate::Error;
use crate::feed::Feed;
use crate::slate::{EncodedFrame, SlateParams};
use output::{Output, OutputKey, Overlays};
use source::{Source, SourceCore};

pub use source::{MAX_FRAME_BYTES, MAX_SOURCE_DIMENSION};

/// At most this many tiles per output; later ones are ignored.
pub const MAX_TILES: usize = 9;
/// Colour of the notice band (ARGB): RGB(198, 40, 40), #C62828.
pub const NOTICE_ARGB: u32 = 0xffc6_2828;
/// Elements needed on top of [`crate::REQUIRED_ELEMENTS`].
pub const COMPOSITE_ELEMENTS: &[&str] = &["compositor", "vp8dec"];

/// Codec of a participant's encoded video.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VideoCodec {
    /// Annex-B access units (start codes).
    H264,
    /// One VP8 frame per push.
    Vp8,
}

/// One tile of a composite picture (output pixels).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TileSpec {
    pub source: u64,
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
    pub label: String,
    pub muted: bool,
}

/// What an output shows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CompositeLayout {
    /// At most [`MAX_TILES`]; clamped to the frame. A source shown in two
    /// tiles has its picture in the first one only (labels in both).
    pub tiles: Vec<TileSpec>,
    /// A solid [`NOTICE_ARGB`] band across the top (height
    /// [`notice_height`]) with this text in white.
    pub notice: Option<String>,
}

/// Height of the notice band of a `frame_height` picture: 1/8, rounded to even.
pub fn notice_height(frame_height: u32) -> u32 {
    (frame_height.saturating_add(8) / 16)
        .saturating_mul(2)
        .max(2)
}

/// The composite mixer of one meeting. Cheap to clone (shared state);
/// dropping the last clone stops every decoder and output (subscriptions
/// still alive then see their channel closed).
#[derive(Clone)]
pub struct Mixer {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Mixer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mixer")
            .field("active_decoders", &self.active_decoders())
            .field("active_encoders", &self.active_encoders())
            .finish()
    }
}

struct Inner {
    shared: Arc<Shared>,
    first_keyframe_rx: Mutex<Option<tokio_mpsc::UnboundedReceiver<u64>>>,
}

/// State the decoders and outputs reach through weak references.
pub(crate) struct Shared {
    sources: Mutex<HashMap<u64, Arc<Source>>>,
    outputs: Mutex<HashMap<OutputKey, Weak<Output>>>,
    keyframes: Mutex<tokio_mpsc::UnboundedSender<u64>>,
}

impl Shared {
    fn request_keyframe(&self, source: u64) {
        // No receiver (dropped by the caller) is fine.
        let _ = lock(&self.keyframes).send(source);
    }

    fn live_outputs(&self) -> Vec<Arc<Output>> {
        lock(&self.outputs)
            .values()
            .filter_map(Weak::upgrade)
            .collect()
    }

    /// A decoded picture of `core` for every output that shows it.
    fn deliver(&self, core: &SourceCore, sample: &gst::Sample) {
        let outputs = self.live_outputs();
        for output in &outputs {
            output.deliver(core, sample);
        }
    }

    fn cores(&self, ids: impl Iterator<Item = u64>) -> Vec<Arc<SourceCore>> {
        let sources = lock(&self.sources);
        ids.filter_map(|id| sources.get(&id).map(|s| Arc::clone(&s.core)))
            .collect()
    }

    fn forget_output(&self, key: &OutputKey) {
        let mut map = lock(&self.outputs);
        if map.get(key).is_some_and(|w| w.strong_count() == 0) {
            map.remove(key);
        }
    }
}

impl Mixer {
    /// A mixer with no source and no output.
    pub fn new() -> Result<Mixer, Error> {
        crate::init()?;
        for name in COMPOSITE_ELEMENTS {
            if gst::ElementFactory::find(name).is_none() {
                return Err(Error::MissingElement((*name).to_string()));
            }
        }
        let (tx, rx) = tokio_mpsc::unbounded_channel();
        Ok(Mixer {
            inner: Arc::new(Inner {
                shared: Arc::new(Shared {
                    sources: Mutex::default(),
                    outputs: Mutex::default(),
                    keyframes: Mutex::new(tx),
                }),
                first_keyframe_rx: Mutex::new(Some(rx)),
            }),
        })
    }

    /// One encoded access unit of a participant's video (Annex-B H.264 with
    /// start codes, or one VP8 frame). Starts that source's decoder on first
    /// use (and restarts it on a codec change). Never blocks on the decoder:
    /// when its queue is full the frame is dropped.
    ///
    /// `keyframe` is the caller's view; the mixer reads the bitstream (VP8
    /// frame tag, H.264 IDR NAL unit) and trusts that. Until a decoder has a
    /// keyframe, other frames are dropped and keyframe requests are reported
    /// (see [`Mixer::keyframe_requests`]). Invalid frames are dropped and
    /// reported the same way.
    pub fn push(&self, source: u64, codec: VideoCodec, frame: &[u8], keyframe: bool) {
        let shared = &self.inner.shared;
        let entry = {
            let mut sources = lock(&shared.sources);
            Arc::clone(
                sources
                    .entry(source)
                    .or_insert_with(|| Arc::new(Source::new(source))),
            )
        };
        let _ = keyframe;
        entry.push(shared, codec, frame);
    }

    /// Forgets a source: stops its decoder and clears its tiles in every
    /// output (they show the background and the label again).
    pub fn remove_source(&self, source: u64) {
        let shared = &self.inner.shared;
        let removed = lock(&shared.sources).remove(&source);
        if let Some(removed) = removed {
            removed.shut_down();
        }
        for output in shared.live_outputs() {
            output.remove_source(source);
        }
    }

    /// The stream of sources whose decoder needs a keyframe (started without
    /// one, invalid or undecodable frames, decoder saturated, codec change):
    /// send that participant a PLI/FIR. Nothing is rate-limited here; a
    /// source sending garbage is reported about once per frame.
    ///
    /// The first call returns the receiver that has collected every request
    /// since [`Mixer::new`]; a later call starts a new channel (the previous
    /// receiver then sees it closed).
    pub fn keyframe_requests(&self) -> tokio_mpsc::UnboundedReceiver<u64> {
        if let Some(rx) = lock(&self.inner.first_keyframe_rx).take() {
            return rx;
        }
        let (tx, rx) = tokio_mpsc::unbounded_channel();
        *lock(&self.inner.shared.keyframes) = tx;
        rx
    }

    /// Subscribes to the composite picture `view` at `params`, starting its
    /// encoder if none runs for this `(view, params)`; `layout` is applied to
    /// that (shared) output as by [`CompositeSubscription::set_layout`]. A
    /// subscriber joining a running output triggers an IDR.
    pub fn output(
        &self,
        view: &str,
        params: &SlateParams,
        layout: &CompositeLayout,
    ) -> Result<CompositeSubscription, Error> {
        self.output_with(view, params, layout, Overlays::Drawn)
    }

    /// As [`Mixer::output`], for an output that only ever shows pictures: tile labels,
    /// muted marks and notices in `layout` are not drawn (no text overlays are built). For
    /// a VTC's video transcoded for browsers.
    pub fn plain_output(
        &self,
        view: &str,
        params: &SlateParams,
        layout: &CompositeLayout,
    ) -> Result<CompositeSubscription, Error> {
        self.output_with(view, params, layout, Overlays::None)
    }

    fn output_with(
        &self,
        view: &str,
        params: &SlateParams,
        layout: &CompositeLayout,
        text: Overlays,
    ) -> Result<CompositeSubscription, Error> {
        crate::init()?;
        validate(params)?;
        let shared = &self.inner.shared;
        let key: OutputKey = (view.to_owned(), params.clone());
        let existing = lock(&shared.outputs).get(&key).and_then(Weak::upgrade);
        if let Some(output) = existing {
            return Self::join(output, layout);
        }
        // Started outside the registry lock: decoders keep delivering.
        let (output, rx) = Output::start(key.clone(), Arc::downgrade(shared), layout, text)?;
        let output = Arc::new(output);
        {
            let mut map = lock(&shared.outputs);
            map.retain(|_, weak| weak.strong_count() > 0);
            if let Some(raced) = map.get(&key).and_then(Weak::upgrade) {
                drop(map);
                drop(output);
                return Self::join(raced, layout);
            }
            map.insert(key, Arc::downgrade(&output));
        }
        // Sources that already have a picture get their pads now.
        output.set_layout(layout);
        Ok(CompositeSubscription {
            feed: Feed::new(output, rx),
        })
    }

    fn join(output: Arc<Output>, layout: &CompositeLayout) -> Result<CompositeSubscription, Error> {
        let rx = output
            .subscribe()
            .ok_or_else(|| Error::Pipeline("composite output stopped".into()))?;
        output.set_layout(layout);
        let feed = Feed::new(output, rx);
        feed.request_keyframe();
        Ok(CompositeSubscription { feed })
    }

    /// Number of running output encoders.
    pub fn active_encoders(&self) -> usize {
        lock(&self.inner.shared.outputs)
            .values()
            .filter(|w| w.strong_count() > 0)
            .count()
    }

    /// Number of running source decoders.
    pub fn active_decoders(&self) -> usize {
        let sources: Vec<Arc<Source>> =
            lock(&self.inner.shared.sources).values().cloned().collect();
        sources.iter().filter(|s| s.has_decoder()).count()
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        let sources = std::mem::take(&mut *lock(&self.shared.sources));
        for source in sources.values() {
            source.shut_down();
        }
        drop(sources);
        for output in self.shared.live_outputs() {
            output.stop();
        }
    }
}

/// A subscriber's handle on a running composite output; same semantics as
/// [`crate::SlateSubscription`]. Dropping the last one stops the encoder.
pub struct CompositeSubscription {
    feed: Feed<Output>,
}

impl std::fmt::Debug for CompositeSubscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompositeSubscription")
            .field("view", &self.feed.encoder.key.0)
            .field("params", &self.feed.encoder.key.1)
            .finish()
    }
}

impl CompositeSubscription {
    /// The view name of this output.
    pub fn view(&self) -> &str {
        &self.feed.encoder.key.0
    }

    /// The encoder parameters of this output.
    pub fn params(&self) -> &SlateParams {
        &self.feed.encoder.key.1
    }

    /// Updates the running output in place (for every subscriber of it):
    /// tile positions and sizes, labels, muted marks, notice. Visible within
    /// a frame or two; the encoder keeps running (no IDR).
    pub fn set_layout(&self, layout: &CompositeLayout) {
        self.feed.encoder.set_layout(layout);
    }

    /// Asks the encoder for an IDR (with SPS/PPS) on its next frame. It
    /// reaches every subscriber of this output.
    pub fn request_keyframe(&self) {
        self.feed.request_keyframe();
    }

    /// The raw broadcast receiver (every frame, including any P frames that
    /// were in flight before the first keyframe after subscribing).
    pub fn receiver(&mut self) -> &mut broadcast::Receiver<Arc<EncodedFrame>> {
        self.feed.receiver()
    }

    /// Next frame, skipping frames until the first keyframe after subscribing
    /// or after a lag. On lag, returns `Lagged` once and requests a keyframe.
    /// `Closed` once the mixer is dropped.
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

/// Same limits as the slates.
fn validate(p: &SlateParams) -> Result<(), Error> {
    let bad = |what: &str| Err(Error::InvalidInput(format!("composite {what}: {p:?}")));
    if !(16..=4096).contains(&p.width) || !(16..=4096).contains(&p.height) {
        return bad("size out of range");
    }
    if !p.width.is_multiple_of(2) || !p.height.is_multiple_of(2) {
        return bad("size must be even");
    }
    if !(1..=60).contains(&p.fps) {
        return bad("fps out of range");
    }
    if !(16..=100_000).contains(&p.bitrate_kbps) {
        return bad("bitrate out of range");
    }
    if let Some(n) = p.max_nal_bytes
        && !(200..=65_535).contains(&n)
    {
        return bad("max_nal_bytes out of range");
    }
    Ok(())
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Sets `pipeline` to `Null` on the reaper thread (inline if it cannot run).
fn stop_pipeline(pipeline: gst::Pipeline) {
    static REAPER: OnceLock<Option<mpsc::Sender<gst::Pipeline>>> = OnceLock::new();
    let reaper = REAPER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<gst::Pipeline>();
        std::thread::Builder::new()
            .name("composite-stop".into())
            .spawn(move || {
                for pipeline in rx {
                    null(&pipeline);
                }
            })
            .ok()
            .map(|_| tx)
    });
    match reaper {
        Some(tx) => {
            if let Err(mpsc::SendError(pipeline)) = tx.send(pipeline) {
                null(&pipeline);
            }
        }
        None => null(&pipeline),
    }
}

fn null(pipeline: &gst::Pipeline) {
    let _ = pipeline.set_state(gst::State::Null);
    if let Some(bus) = pipeline.bus() {
        bus.unset_sync_handler();
    }
}

const _: () = {
    const fn is_send_sync<T: Send + Sync>() {}
    is_send_sync::<Mixer>();
    is_send_sync::<CompositeSubscription>();
};
