//! Per-call inbound H.264 RTP decoding.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use gst::prelude::*;

use crate::Error;
use crate::util::{by_name, parse_pipeline};

/// Decoder statistics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DecodeStats {
    /// Decoded pictures so far.
    pub frames_decoded: u64,
    /// Size of the last decoded picture (0 before the first one).
    pub width: u32,
    pub height: u32,
    /// Keyframe requests so far (upstream force-key-unit events from the
    /// depayloader/decoder, plus decoder warnings/errors).
    pub keyframe_requests: u64,
    /// Warnings and errors posted by the pipeline.
    pub errors: u64,
}

#[derive(Default)]
struct Shared {
    frames: AtomicU64,
    width: AtomicU32,
    height: AtomicU32,
    requests: AtomicU64,
    pending_requests: AtomicU64,
    errors: AtomicU64,
}

impl Shared {
    fn keyframe_request(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.pending_requests.fetch_add(1, Ordering::Relaxed);
    }
}

/// Decodes one call's inbound H.264 RTP stream:
/// `appsrc ! rtpjitterbuffer latency=50 ! rtph264depay ! h264parse ! avdec_h264 ! appsink`.
///
/// Dropping it stops the pipeline.
pub struct H264Decoder {
    pipeline: gst::Pipeline,
    src: gst_app::AppSrc,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for H264Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("H264Decoder")
            .field("stats", &self.stats())
            .finish()
    }
}

impl H264Decoder {
    /// Starts a decoder for RTP payload type `payload_type` (dynamic, < 128),
    /// with the SDP `sprop-parameter-sets` if the offer had them.
    pub fn new(payload_type: u8, sprop_parameter_sets: Option<&str>) -> Result<Self, Error> {
        crate::init()?;
        if payload_type >= 128 {
            return Err(Error::InvalidInput(format!(
                "RTP payload type {payload_type} out of range"
            )));
        }
        let mut caps = gst::Caps::builder("application/x-rtp")
            .field("media", "video")
            .field("encoding-name", "H264")
            .field("clock-rate", 90000i32)
            .field("payload", i32::from(payload_type));
        if let Some(sprop) = sprop_parameter_sets
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            let valid = sprop
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+/=,".contains(&b));
            if !valid {
                return Err(Error::InvalidInput(format!(
                    "invalid sprop-parameter-sets {sprop:?}"
                )));
            }
            caps = caps.field("sprop-parameter-sets", sprop);
        }
        let caps = caps.build();

        let pipeline = parse_pipeline(
            "appsrc name=src is-live=true format=time do-timestamp=true ! \
             rtpjitterbuffer latency=50 ! \
             rtph264depay request-keyframe=true wait-for-keyframe=true ! \
             h264parse ! avdec_h264 name=dec max-threads=1 ! \
             appsink name=sink sync=false max-buffers=1 drop=true",
        )?;
        let src: gst_app::AppSrc = by_name(&pipeline, "src")?;
        let sink: gst_app::AppSink = by_name(&pipeline, "sink")?;
        src.set_caps(Some(&caps));
        let shared = Arc::new(Shared::default());

        // Keyframe requests travel upstream as GstForceKeyUnit events and end
        // at the source.
        let src_pad = src
            .static_pad("src")
            .ok_or_else(|| Error::Pipeline("appsrc has no src pad".into()))?;
        let probe_shared = Arc::clone(&shared);
        src_pad.add_probe(gst::PadProbeType::EVENT_UPSTREAM, move |_pad, info| {
            if let Some(gst::PadProbeData::Event(event)) = &info.data
                && event
                    .structure()
                    .is_some_and(|s| s.name() == "GstForceKeyUnit")
            {
                probe_shared.keyframe_request();
            }
            gst::PadProbeReturn::Ok
        });

        let sink_shared = Arc::clone(&shared);
        sink.set_callbacks(
            gst_app::AppSinkCallbacks::builder()
                .new_sample(move |sink| {
                    let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                    if let Some(s) = sample.caps().and_then(|c| c.structure(0))
                        && let (Ok(w), Ok(h)) = (s.get::<i32>("width"), s.get::<i32>("height"))
                    {
                        sink_shared
                            .width
                            .store(u32::try_from(w).unwrap_or(0), Ordering::Relaxed);
                        sink_shared
                            .height
                            .store(u32::try_from(h).unwrap_or(0), Ordering::Relaxed);
                    }
                    sink_shared.frames.fetch_add(1, Ordering::Relaxed);
                    Ok(gst::FlowSuccess::Ok)
                })
                .build(),
        );

        let bus = pipeline
            .bus()
            .ok_or_else(|| Error::Pipeline("pipeline has no bus".into()))?;
        let bus_shared = Arc::clone(&shared);
        // Nobody pops this bus, so every message is dropped here.
        bus.set_sync_handler(move |_bus, msg| {
            match msg.view() {
                gst::MessageView::Error(err) => {
                    tracing::debug!(error = %crate::util::describe_error(err), "H.264 decoder error");
                    bus_shared.errors.fetch_add(1, Ordering::Relaxed);
                    bus_shared.keyframe_request();
                }
                gst::MessageView::Warning(warn) => {
                    tracing::debug!(warning = %warn.error(), "H.264 decoder warning");
                    bus_shared.errors.fetch_add(1, Ordering::Relaxed);
                    bus_shared.keyframe_request();
                }
                _ => {}
            }
            gst::BusSyncReply::Drop
        });

        if let Err(e) = pipeline.set_state(gst::State::Playing) {
            let _ = pipeline.set_state(gst::State::Null);
            bus.unset_sync_handler();
            return Err(e.into());
        }
        Ok(H264Decoder {
            pipeline,
            src,
            shared,
        })
    }

    /// Pushes one RTP packet (copied). Errors (e.g. after the pipeline
    /// failed) are ignored; packets shorter than an RTP header are dropped.
    pub fn push_rtp(&self, packet: &[u8]) {
        if packet.len() < 12 {
            return;
        }
        let buffer = gst::Buffer::from_slice(packet.to_vec());
        if let Err(e) = self.src.push_buffer(buffer) {
            tracing::trace!(error = ?e, "H.264 decoder not accepting RTP");
        }
    }

    /// Current statistics.
    pub fn stats(&self) -> DecodeStats {
        let s = &self.shared;
        DecodeStats {
            frames_decoded: s.frames.load(Ordering::Relaxed),
            width: s.width.load(Ordering::Relaxed),
            height: s.height.load(Ordering::Relaxed),
            keyframe_requests: s.requests.load(Ordering::Relaxed),
            errors: s.errors.load(Ordering::Relaxed),
        }
    }

    /// True once for each keyframe request not yet taken (send a PLI/FIR to
    /// the remote for each).
    pub fn take_keyframe_request(&self) -> bool {
        self.shared
            .pending_requests
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
            .is_ok()
    }
}

impl Drop for H264Decoder {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
        if let Some(bus) = self.pipeline.bus() {
            bus.unset_sync_handler();
        }
    }
}
