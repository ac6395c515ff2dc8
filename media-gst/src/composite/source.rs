//! Per-source decoding: one decoder pipeline per participant, whatever the
//! number of outputs, plus the cheap bitstream checks that keep garbage away
//! from the decoders.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use gst::prelude::*;

use super::{Shared, VideoCodec, lock, stop_pipeline};
use crate::Error;
use crate::util::{by_name, parse_pipeline};

/// Frames larger than this are dropped as garbage.
pub const MAX_FRAME_BYTES: usize = 4 << 20;
/// Pictures wider or taller than this (VP8 key frame header) are refused.
pub const MAX_SOURCE_DIMENSION: u32 = 4096;
/// Encoded frames queued in front of a decoder before new ones are dropped.
const MAX_QUEUED: u64 = 10;
/// Frames pushed without any decoded picture before a keyframe is requested.
const STALL_FRAMES: u32 = 12;
/// While waiting for a keyframe, the request is repeated every this many frames.
const KEYFRAME_REPEAT: u32 = 10;

/// What the decoder callbacks share with the rest of the mixer.
pub(super) struct SourceCore {
    pub(super) id: u64,
    /// Set (before the pads are removed) when the source is removed.
    pub(super) removed: AtomicBool,
    /// The latest decoded picture (refcounted, never copied).
    pub(super) latest: Mutex<Option<gst::Sample>>,
    undecoded_run: AtomicU32,
}

pub(super) struct Source {
    pub(super) core: Arc<SourceCore>,
    state: Mutex<SourceState>,
}

#[derive(Default)]
struct SourceState {
    decoder: Option<Decoder>,
    waiting_for_keyframe: bool,
    dropped_while_waiting: u32,
}

impl Source {
    pub(super) fn new(id: u64) -> Self {
        Source {
            core: Arc::new(SourceCore {
                id,
                removed: AtomicBool::new(false),
                latest: Mutex::new(None),
                undecoded_run: AtomicU32::new(0),
            }),
            state: Mutex::new(SourceState::default()),
        }
    }

    pub(super) fn has_decoder(&self) -> bool {
        lock(&self.state).decoder.is_some()
    }

    /// Stops the decoder (asynchronously) and marks the source removed.
    pub(super) fn shut_down(&self) {
        self.core.removed.store(true, Ordering::SeqCst);
        let decoder = lock(&self.state).decoder.take();
        drop(decoder);
    }

    /// Feeds one access unit; never blocks on the decoder.
    pub(super) fn push(&self, shared: &Arc<Shared>, codec: VideoCodec, frame: &[u8]) {
        let id = self.core.id;
        let Some(keyframe) = inspect(codec, frame) else {
            tracing::trace!(
                source = id,
                ?codec,
                len = frame.len(),
                "invalid video frame dropped"
            );
            let mut st = lock(&self.state);
            st.waiting_for_keyframe = true;
            st.dropped_while_waiting = 1;
            drop(st);
            shared.request_keyframe(id);
            return;
        };
        let buffer = gst::Buffer::from_slice(frame.to_vec());
        let src = {
            let mut st = lock(&self.state);
            let restart = st
                .decoder
                .as_ref()
                .is_none_or(|d| d.codec != codec || d.health.broken.load(Ordering::Relaxed));
            if restart {
                // Dropping the old decoder stops it on the reaper thread.
                st.decoder = None;
                match Decoder::start(codec, Arc::clone(&self.core), Arc::downgrade(shared)) {
                    Ok(d) => st.decoder = Some(d),
                    Err(e) => {
                        tracing::warn!(source = id, error = %e, "cannot start video decoder");
                        return;
                    }
                }
                st.waiting_for_keyframe = true;
                st.dropped_while_waiting = 0;
            }
            if st.waiting_for_keyframe {
                if !keyframe {
                    st.dropped_while_waiting = st.dropped_while_waiting.saturating_add(1);
                    let ask = st.dropped_while_waiting % KEYFRAME_REPEAT == 1;
                    drop(st);
                    if ask {
                        shared.request_keyframe(id);
                    }
                    return;
                }
                st.waiting_for_keyframe = false;
                st.dropped_while_waiting = 0;
            }
            let Some(decoder) = st.decoder.as_ref() else {
                return;
            };
            let health = &decoder.health;
            let queued = health
                .pushed
                .load(Ordering::Relaxed)
                .saturating_sub(health.entered.load(Ordering::Relaxed));
            if queued >= MAX_QUEUED {
                st.waiting_for_keyframe = true;
                st.dropped_while_waiting = 1;
                drop(st);
                tracing::debug!(source = id, "video decoder saturated, frame dropped");
                shared.request_keyframe(id);
                return;
            }
            health.pushed.fetch_add(1, Ordering::Relaxed);
            decoder.src.clone()
        };
        let run = self.core.undecoded_run.fetch_add(1, Ordering::Relaxed) + 1;
        if run >= STALL_FRAMES {
            // The decoder swallows frames without producing pictures (e.g. it
            // silently drops undecodable ones).
            self.core.undecoded_run.store(0, Ordering::Relaxed);
            shared.request_keyframe(id);
        }
        if let Err(e) = src.push_buffer(buffer) {
            tracing::trace!(source = id, error = ?e, "video decoder not accepting frames");
        }
    }
}

#[derive(Default)]
struct Health {
    /// The pipeline posted an error: it is rebuilt on the next push.
    broken: AtomicBool,
    pushed: AtomicU64,
    /// Buffers that left the appsrc queue.
    entered: AtomicU64,
}

/// `appsrc ! vp8dec ! appsink` or `appsrc ! h264parse ! avdec_h264 ! appsink`.
struct Decoder {
    codec: VideoCodec,
    pipeline: gst::Pipeline,
    src: gst_app::AppSrc,
    health: Arc<Health>,
}

impl Decoder {
    fn start(
        codec: VideoCodec,
        core: Arc<SourceCore>,
        shared: Weak<Shared>,
    ) -> Result<Self, Error> {
        let head =
            "appsrc name=src is-live=true format=time do-timestamp=true block=false max-bytes=0";
        let tail = "appsink name=sink sync=false max-buffers=1 drop=true";
        let desc = match codec {
            VideoCodec::Vp8 => {
                format!("{head} caps=video/x-vp8 ! vp8dec name=dec max-errors=-1 ! {tail}")
            }
            VideoCodec::H264 => format!(
                "{head} caps=video/x-h264,stream-format=byte-stream,alignment=au ! \
                 h264parse ! avdec_h264 name=dec max-errors=-1 max-threads=1 ! {tail}"
            ),
        };
        let pipeline = parse_pipeline(&desc)?;
        let src: gst_app::AppSrc = by_name(&pipeline, "src")?;
        let sink: gst_app::AppSink = by_name(&pipeline, "sink")?;
        let health = Arc::new(Health::default());
        let id = core.id;

        let src_pad = src
            .static_pad("src")
            .ok_or_else(|| Error::Pipeline("appsrc has no src pad".into()))?;
        let probe_health = Arc::clone(&health);
        let probe_shared = shared.clone();
        src_pad.add_probe(
            gst::PadProbeType::BUFFER | gst::PadProbeType::EVENT_UPSTREAM,
            move |_pad, info| {
                match &info.data {
                    Some(gst::PadProbeData::Buffer(_)) => {
                        probe_health.entered.fetch_add(1, Ordering::Relaxed);
                    }
                    Some(gst::PadProbeData::Event(event))
                        if event
                            .structure()
                            .is_some_and(|s| s.name() == "GstForceKeyUnit") =>
                    {
                        if let Some(shared) = probe_shared.upgrade() {
                            shared.request_keyframe(id);
                        }
                    }
                    _ => {}
                }
                gst::PadProbeReturn::Ok
            },
        );

        let sink_shared = shared.clone();
        sink.set_callbacks(
            gst_app::AppSinkCallbacks::builder()
                .new_sample(move |sink| {
                    let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                    core.undecoded_run.store(0, Ordering::Relaxed);
                    if core.removed.load(Ordering::SeqCst) {
                        return Ok(gst::FlowSuccess::Ok);
                    }
                    *lock(&core.latest) = Some(sample.clone());
                    if let Some(shared) = sink_shared.upgrade() {
                        shared.deliver(&core, &sample);
                    }
                    Ok(gst::FlowSuccess::Ok)
                })
                .build(),
        );

        let bus = pipeline
            .bus()
            .ok_or_else(|| Error::Pipeline("pipeline has no bus".into()))?;
        let bus_health = Arc::clone(&health);
        // Nobody pops this bus: every message is handled and dropped here.
        bus.set_sync_handler(move |_bus, msg| {
            let ask = match msg.view() {
                gst::MessageView::Error(err) => {
                    tracing::debug!(source = id, error = %crate::util::describe_error(err), "video decoder error");
                    bus_health.broken.store(true, Ordering::Relaxed);
                    true
                }
                gst::MessageView::Warning(warn) => {
                    tracing::trace!(source = id, warning = %warn.error(), "video decoder warning");
                    true
                }
                // Decoders post QoS messages for the frames they drop.
                gst::MessageView::Qos(_) => true,
                _ => false,
            };
            if ask && let Some(shared) = shared.upgrade() {
                shared.request_keyframe(id);
            }
            gst::BusSyncReply::Drop
        });

        if let Err(e) = pipeline.set_state(gst::State::Playing) {
            bus.unset_sync_handler();
            stop_pipeline(pipeline);
            return Err(e.into());
        }
        tracing::debug!(source = id, ?codec, "video decoder started");
        Ok(Decoder {
            codec,
            pipeline,
            src,
            health,
        })
    }
}

impl Drop for Decoder {
    fn drop(&mut self) {
        stop_pipeline(self.pipeline.clone());
    }
}

/// Cheap structural check of one access unit. `Some(keyframe)` when it looks
/// decodable, `None` for garbage. The keyframe flag comes from the bitstream
/// (VP8 frame tag, H.264 IDR NAL unit), not from the caller.
pub(super) fn inspect(codec: VideoCodec, data: &[u8]) -> Option<bool> {
    if data.len() > MAX_FRAME_BYTES {
        return None;
    }
    match codec {
        VideoCodec::Vp8 => inspect_vp8(data),
        VideoCodec::H264 => inspect_h264(data),
    }
}

/// RFC 6386 section 9.1: 3-byte frame tag, key frames add a start code and
/// the picture size.
fn inspect_vp8(data: &[u8]) -> Option<bool> {
    let &[t0, t1, t2, ..] = data else {
        return None;
    };
    let tag = u32::from(t0) | (u32::from(t1) << 8) | (u32::from(t2) << 16);
    let keyframe = tag & 1 == 0;
    let version = (tag >> 1) & 7;
    let first_partition = usize::try_from(tag >> 5).ok()?;
    if version > 3 {
        return None;
    }
    let header = if keyframe { 10 } else { 3 };
    let payload = data.len().checked_sub(header)?;
    if first_partition == 0 || first_partition > payload {
        return None;
    }
    if keyframe {
        let &[_, _, _, 0x9d, 0x01, 0x2a, w0, w1, h0, h1, ..] = data else {
            return None;
        };
        let width = u32::from(u16::from_le_bytes([w0, w1]) & 0x3fff);
        let height = u32::from(u16::from_le_bytes([h0, h1]) & 0x3fff);
        if width == 0
            || height == 0
            || width > MAX_SOURCE_DIMENSION
            || height > MAX_SOURCE_DIMENSION
        {
            return None;
        }
    }
    Some(keyframe)
}

/// Annex-B: starts with a start code; every NAL header valid; keyframe when
/// an IDR slice is present.
fn inspect_h264(data: &[u8]) -> Option<bool> {
    if !(data.starts_with(&[0, 0, 1]) || data.starts_with(&[0, 0, 0, 1])) {
        return None;
    }
    let mut keyframe = false;
    let mut nals = 0usize;
    let mut at = 0usize;
    while let Some(rest) = data.get(at..) {
        let Some(p) = rest.windows(3).position(|w| w == [0, 0, 1]) else {
            break;
        };
        at += p + 3;
        let Some(&header) = data.get(at) else {
            // A start code at the very end.
            break;
        };
        let nal_type = header & 0x1f;
        if header & 0x80 != 0 || nal_type == 0 {
            return None;
        }
        keyframe |= nal_type == 5;
        nals += 1;
    }
    (nals > 0).then_some(keyframe)
}
