//! One composite output: `compositor ! textoverlay×19 ! x264enc ! appsink`,
//! shared by every subscriber with the same (view, params). Layout changes
//! are pad/overlay property changes on the running pipeline.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};

use gst::prelude::*;
use tokio::sync::broadcast;

use super::layout::{TextProps, Tile, label_props, marker_props, notice_props, sanitize};
use super::source::SourceCore;
use super::{CompositeLayout, MAX_TILES, NOTICE_ARGB, Shared, lock, notice_height, stop_pipeline};
use crate::Error;
use crate::feed::ForceKeyframe;
use crate::slate::{BACKGROUND_ARGB, CHANNEL_CAPACITY, EncodedFrame, SlateParams};
use crate::util::{by_name, parse_pipeline};

pub(super) type OutputKey = (String, SlateParams);

/// Whether an output draws names, muted marks and notices (a meeting view) or only pictures
/// (a VTC's video transcoded for browsers). A plain output has no compositor either: its
/// first tile's source is scaled straight into the encoder (`appsrc ! videoscale !
/// x264enc`), without 39 text overlays, a background picture to blend onto and a copy of
/// every frame (docs/decisions.md, "Memory of a transcoded call").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Overlays {
    Drawn,
    None,
}

const SOURCE_ZORDER: u32 = 10;
const BAND_ZORDER: u32 = 20;
/// Red of the "muted" marker (ARGB).
const MARKER_ARGB: u32 = 0xffe5_3935;

struct SourcePad {
    src: gst_app::AppSrc,
    sinkpad: gst::Pad,
}

struct OutputState {
    tiles: Vec<Tile>,
    notice: Option<String>,
    pads: HashMap<u64, SourcePad>,
    labels: Vec<Option<TextProps>>,
    marks: Vec<Option<TextProps>>,
    notice_text: Option<TextProps>,
}

/// How pictures reach the encoder.
enum Frame {
    /// The compositor (tiles are its pads) and the notice band's pad.
    Composite {
        mix: gst::Element,
        band_pad: gst::Pad,
    },
    /// One source's pictures, scaled to the output size.
    Direct { src: gst_app::AppSrc },
}

pub(super) struct Output {
    pub(super) key: OutputKey,
    shared: Weak<Shared>,
    pipeline: gst::Pipeline,
    frame: Frame,
    labels: Vec<gst::Element>,
    marks: Vec<gst::Element>,
    /// None for a plain output (no text drawn: a transcode).
    notice: Option<gst::Element>,
    sink: gst_app::AppSink,
    tx: Mutex<Option<broadcast::Sender<Arc<EncodedFrame>>>>,
    state: Mutex<OutputState>,
    stopped: AtomicBool,
}

impl Output {
    /// Builds and starts the pipeline with `layout` (source pads are added
    /// by [`Output::set_layout`] / [`Output::deliver`]); the returned
    /// receiver sees the first IDR.
    pub(super) fn start(
        key: OutputKey,
        shared: Weak<Shared>,
        layout: &CompositeLayout,
        text: Overlays,
    ) -> Result<(Self, broadcast::Receiver<Arc<EncodedFrame>>), Error> {
        let p = &key.1;
        let (width, height, fps) = (p.width, p.height, p.fps);
        // BT.709 with MPEG-2 chroma siting, what an HD H.264 decoder gives (and what
        // vp8dec's uncoloured 720p caps default to): without it the compositor took the
        // background's BT.601 and converted every tile's colours, about 3× the cost of
        // scaling it alone (docs/decisions.md).
        let raw = |w: u32, h: u32| {
            format!(
                "video/x-raw,format=I420,width={w},height={h},framerate={fps}/1,\
                 colorimetry=bt709,chroma-site=mpeg2"
            )
        };
        let overlays = text == Overlays::Drawn;
        let text = "textoverlay halignment=left valignment=top xpad=0 ypad=0 \
                    auto-resize=false wrap-mode=none silent=true";
        let mut chain = String::new();
        let tiles = if overlays { MAX_TILES } else { 0 };
        for i in 0..tiles {
            chain.push_str(&format!(
                "{text} name=label{i} shaded-background=true shading-value=110 ! "
            ));
        }
        for i in 0..tiles {
            chain.push_str(&format!(
                "{text} name=mark{i} color={MARKER_ARGB} outline-color=4294967295 draw-shadow=false ! "
            ));
        }
        if overlays {
            chain.push_str(
                "textoverlay name=notice halignment=center valignment=top xpad=0 ypad=0 \
                 auto-resize=false wrap-mode=none silent=true draw-outline=false \
                 draw-shadow=false ! ",
            );
        }
        let options = match p.max_nal_bytes {
            Some(n) => format!(" option-string=slice-max-size={n}"),
            None => String::new(),
        };
        let encode = format!(
            "x264enc tune=zerolatency speed-preset=ultrafast threads=1 aud=false bitrate={kbps} \
               key-int-max={gop}{options} ! \
             video/x-h264,profile={profile},stream-format=byte-stream,alignment=au ! \
             appsink name=sink sync=false max-buffers={CHANNEL_CAPACITY} drop=true",
            kbps = p.bitrate_kbps,
            gop = fps.saturating_mul(10),
            profile = p.profile.caps_name(),
        );
        let (pipeline, frame) = if overlays {
            let desc = format!(
                "compositor name=mix background=black ! {out} ! {chain}{encode} \
                 videotestsrc name=bg is-live=true pattern=solid-color ! {out} ! mix.sink_0 \
                 videotestsrc name=band is-live=true pattern=solid-color ! {band} ! mix.sink_1",
                out = raw(width, height),
                band = raw(width, notice_height(height)),
            );
            let pipeline = parse_pipeline(&desc)?;
            let bg: gst::Element = by_name(&pipeline, "bg")?;
            bg.set_property("foreground-color", BACKGROUND_ARGB);
            let band: gst::Element = by_name(&pipeline, "band")?;
            band.set_property("foreground-color", NOTICE_ARGB);
            let mix: gst::Element = by_name(&pipeline, "mix")?;
            let pad = |name: &str| {
                mix.static_pad(name)
                    .ok_or_else(|| Error::Pipeline(format!("compositor has no pad {name}")))
            };
            pad("sink_0")?.set_property("zorder", 0u32);
            let band_pad = pad("sink_1")?;
            band_pad.set_property("zorder", BAND_ZORDER);
            band_pad.set_property("alpha", 0.0f64);
            (pipeline, Frame::Composite { mix, band_pad })
        } else {
            // The source's own rate (a VTC sending 15 fps is encoded at 15 fps), its size
            // letterboxed into the output's (videoscale is a passthrough when they match).
            let desc = format!(
                "appsrc name=direct is-live=true format=time do-timestamp=true block=false \
                   max-buffers=1 leaky-type=downstream ! \
                 videoscale ! videoconvert ! \
                 video/x-raw,format=I420,width={width},height={height},pixel-aspect-ratio=1/1 ! \
                 {encode}"
            );
            let pipeline = parse_pipeline(&desc)?;
            let src: gst_app::AppSrc = by_name(&pipeline, "direct")?;
            (pipeline, Frame::Direct { src })
        };
        let labels = (0..tiles)
            .map(|i| by_name(&pipeline, &format!("label{i}")))
            .collect::<Result<Vec<gst::Element>, _>>()?;
        let marks = (0..tiles)
            .map(|i| by_name(&pipeline, &format!("mark{i}")))
            .collect::<Result<Vec<gst::Element>, _>>()?;
        let notice = match overlays {
            true => {
                let notice: gst::Element = by_name(&pipeline, "notice")?;
                notice.set_property("color", 0xffff_ffffu32);
                Some(notice)
            }
            false => None,
        };
        let sink: gst_app::AppSink = by_name(&pipeline, "sink")?;

        let (tx, rx) = broadcast::channel(CHANNEL_CAPACITY);
        crate::slate::broadcast_frames(&sink, tx.clone());
        let bus = pipeline
            .bus()
            .ok_or_else(|| Error::Pipeline("pipeline has no bus".into()))?;
        // Nobody pops this bus (pads come and go: it would only grow).
        bus.set_sync_handler(|_bus, msg| {
            if let gst::MessageView::Error(err) = msg.view() {
                tracing::debug!(error = %crate::util::describe_error(err), "composite output error");
            }
            gst::BusSyncReply::Drop
        });

        let output = Output {
            key,
            shared,
            pipeline,
            frame,
            labels,
            marks,
            notice,
            sink,
            tx: Mutex::new(Some(tx)),
            state: Mutex::new(OutputState {
                tiles: Vec::new(),
                notice: None,
                pads: HashMap::new(),
                labels: vec![None; MAX_TILES],
                marks: vec![None; MAX_TILES],
                notice_text: None,
            }),
            stopped: AtomicBool::new(false),
        };
        {
            let (tiles, notice) = sanitize(layout, width, height);
            let mut st = lock(&output.state);
            st.tiles = tiles;
            st.notice = notice;
            output.sync(&mut st, &[]);
        }
        if let Err(e) = output.pipeline.set_state(gst::State::Playing) {
            output.stop();
            return Err(e.into());
        }
        tracing::debug!(view = %output.key.0, params = ?output.key.1, "composite output started");
        Ok((output, rx))
    }

    /// A new receiver, `None` once stopped.
    pub(super) fn subscribe(&self) -> Option<broadcast::Receiver<Arc<EncodedFrame>>> {
        lock(&self.tx).as_ref().map(broadcast::Sender::subscribe)
    }

    /// Applies `layout` in place: pads move, overlays change, no restart.
    pub(super) fn set_layout(&self, layout: &CompositeLayout) {
        let (tiles, notice) = sanitize(layout, self.key.1.width, self.key.1.height);
        let cores = match self.shared.upgrade() {
            Some(shared) => shared.cores(tiles.iter().map(|t| t.source)),
            None => Vec::new(),
        };
        let mut st = lock(&self.state);
        if self.stopped.load(Ordering::SeqCst) {
            return;
        }
        st.tiles = tiles;
        st.notice = notice;
        self.sync(&mut st, &cores);
    }

    /// A decoded picture of `core`: pushed (refcounted) into this output's
    /// pad for that source if one of its tiles shows it.
    pub(super) fn deliver(&self, core: &SourceCore, sample: &gst::Sample) {
        if let Frame::Direct { src } = &self.frame {
            let shown = {
                let st = lock(&self.state);
                !self.stopped.load(Ordering::SeqCst)
                    && !core.removed.load(Ordering::SeqCst)
                    && st.tiles.first().map(|t| t.source) == Some(core.id)
            };
            if shown {
                push_picture(src, sample);
            }
            return;
        }
        let src = {
            let mut st = lock(&self.state);
            if self.stopped.load(Ordering::SeqCst) || core.removed.load(Ordering::SeqCst) {
                return;
            }
            if let Some(pad) = st.pads.get(&core.id) {
                pad.src.clone()
            } else {
                let Some(tile) = st.tiles.iter().find(|t| t.source == core.id) else {
                    return;
                };
                let Frame::Composite { mix, .. } = &self.frame else {
                    return;
                };
                match self.add_pad(mix, tile, sample) {
                    Ok(pad) => {
                        let src = pad.src.clone();
                        st.pads.insert(core.id, pad);
                        src
                    }
                    Err(e) => {
                        tracing::debug!(source = core.id, error = %e, "cannot add composite pad");
                        return;
                    }
                }
            }
        };
        push_picture(&src, sample);
    }

    pub(super) fn remove_source(&self, id: u64) {
        let mut st = lock(&self.state);
        if let Some(pad) = st.pads.remove(&id) {
            self.remove_pad(pad);
        }
    }

    /// Stops the pipeline (on the reaper thread) and closes the channel.
    pub(super) fn stop(&self) {
        if self.stopped.swap(true, Ordering::SeqCst) {
            return;
        }
        self.sink
            .set_callbacks(gst_app::AppSinkCallbacks::builder().build());
        lock(&self.tx).take();
        lock(&self.state).pads.clear();
        stop_pipeline(self.pipeline.clone());
        tracing::debug!(view = %self.key.0, "composite output stopped");
    }

    /// Brings pads and overlays in line with `st.tiles` / `st.notice`;
    /// `cores` are the sources whose latest picture a new pad starts with.
    fn sync(&self, st: &mut OutputState, cores: &[Arc<SourceCore>]) {
        let (mix, band_pad) = match &self.frame {
            Frame::Composite { mix, band_pad } => (mix, band_pad),
            Frame::Direct { src } => {
                // The first tile's source: its latest picture at once, the rest as decoded.
                let shown = st.tiles.first().map(|t| t.source);
                if let Some(core) = cores.iter().find(|c| Some(c.id) == shown)
                    && !core.removed.load(Ordering::SeqCst)
                    && let Some(sample) = lock(&core.latest).clone()
                {
                    push_picture(src, &sample);
                }
                return;
            }
        };
        let gone: Vec<u64> = st
            .pads
            .keys()
            .filter(|id| !st.tiles.iter().any(|t| t.source == **id))
            .copied()
            .collect();
        for id in gone {
            if let Some(pad) = st.pads.remove(&id) {
                self.remove_pad(pad);
            }
        }
        for (id, pad) in &st.pads {
            if let Some(tile) = st.tiles.iter().find(|t| t.source == *id) {
                set_geometry(&pad.sinkpad, tile);
            }
        }
        for core in cores {
            if st.pads.contains_key(&core.id) || core.removed.load(Ordering::SeqCst) {
                continue;
            }
            let Some(tile) = st.tiles.iter().find(|t| t.source == core.id) else {
                continue;
            };
            let Some(sample) = lock(&core.latest).clone() else {
                continue;
            };
            match self.add_pad(mix, tile, &sample) {
                Ok(pad) => {
                    push_picture(&pad.src, &sample);
                    st.pads.insert(core.id, pad);
                }
                Err(e) => tracing::debug!(source = core.id, error = %e, "cannot add composite pad"),
            }
        }
        let band = notice_height(self.key.1.height);
        let band_bottom = match st.notice {
            Some(_) => i32::try_from(band).unwrap_or(0),
            None => 0,
        };
        for i in 0..MAX_TILES {
            let tile = st.tiles.get(i);
            if let (Some(el), Some(applied)) = (self.labels.get(i), st.labels.get_mut(i)) {
                apply_text(el, applied, tile.and_then(label_props));
            }
            if let (Some(el), Some(applied)) = (self.marks.get(i), st.marks.get_mut(i)) {
                apply_text(el, applied, tile.and_then(|t| marker_props(t, band_bottom)));
            }
        }
        let notice = st
            .notice
            .as_deref()
            .and_then(|n| notice_props(n, self.key.1.width, band));
        if let Some(el) = &self.notice {
            apply_text(el, &mut st.notice_text, notice);
        }
        let alpha = if st.notice.is_some() && self.notice.is_some() {
            1.0f64
        } else {
            0.0
        };
        if band_pad.property::<f64>("alpha") != alpha {
            band_pad.set_property("alpha", alpha);
        }
    }

    fn add_pad(
        &self,
        mix: &gst::Element,
        tile: &Tile,
        sample: &gst::Sample,
    ) -> Result<SourcePad, Error> {
        let caps = sample
            .caps()
            .ok_or_else(|| Error::Pipeline("decoded sample without caps".into()))?
            .to_owned();
        let src = gst_app::AppSrc::builder()
            .is_live(true)
            .format(gst::Format::Time)
            .do_timestamp(true)
            .caps(&caps)
            .block(false)
            // The latest picture only: the compositor takes one per output frame, and
            // each queued one is a decoder buffer kept from its pool.
            .max_buffers(1)
            .leaky_type(gst_app::AppLeakyType::Downstream)
            // A leaky appsrc reports its max-time (0) as maximum latency,
            // which the compositor cannot configure: no latency of its own.
            .min_latency(0)
            .max_latency(-1)
            .build();
        self.pipeline.add(&src)?;
        let Some(sinkpad) = mix.request_pad_simple("sink_%u") else {
            let _ = self.pipeline.remove(&src);
            return Err(Error::Pipeline("compositor refused a sink pad".into()));
        };
        sinkpad.set_property_from_str("sizing-policy", "keep-aspect-ratio");
        sinkpad.set_property("zorder", SOURCE_ZORDER);
        set_geometry(&sinkpad, tile);
        let pad = SourcePad { src, sinkpad };
        let linked = pad
            .src
            .static_pad("src")
            .map(|p| p.link(&pad.sinkpad).is_ok());
        if linked != Some(true) {
            self.remove_pad(pad);
            return Err(Error::Pipeline("cannot link a composite source".into()));
        }
        if let Err(e) = pad.src.sync_state_with_parent() {
            self.remove_pad(pad);
            return Err(e.into());
        }
        Ok(pad)
    }

    fn remove_pad(&self, pad: SourcePad) {
        // Releasing first flushes the pad, so the appsrc thread (possibly
        // waiting in the compositor) returns at once.
        if let Frame::Composite { mix, .. } = &self.frame {
            mix.release_request_pad(&pad.sinkpad);
        }
        let _ = pad.src.set_state(gst::State::Null);
        let _ = self.pipeline.remove(&pad.src);
    }
}

impl ForceKeyframe for Output {
    fn force_keyframe(&self) {
        let event = gst_video::UpstreamForceKeyUnitEvent::builder()
            .all_headers(true)
            .build();
        if !self.sink.send_event(event) {
            tracing::debug!("composite keyframe request not handled");
        }
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        self.stop();
        if let Some(shared) = self.shared.upgrade() {
            shared.forget_output(&self.key);
        }
    }
}

/// Pushes a decoded picture: the memory is shared (shallow buffer copy, only
/// the timestamps differ); appsrc stamps it with this pipeline's running time.
fn push_picture(src: &gst_app::AppSrc, sample: &gst::Sample) {
    let (Some(buffer), Some(caps)) = (sample.buffer(), sample.caps()) else {
        return;
    };
    if src.caps().as_deref() != Some(caps) {
        src.set_caps(Some(&caps.to_owned()));
    }
    let mut buffer = buffer.copy();
    {
        let b = buffer.make_mut();
        b.set_pts(gst::ClockTime::NONE);
        b.set_dts(gst::ClockTime::NONE);
        // Without a duration the compositor keeps showing the picture until
        // the next one.
        b.set_duration(gst::ClockTime::NONE);
    }
    if let Err(e) = src.push_buffer(buffer) {
        tracing::trace!(error = ?e, "composite pad not accepting pictures");
    }
}

fn set_geometry(pad: &gst::Pad, tile: &Tile) {
    if tile.w < 2 || tile.h < 2 {
        pad.set_property("alpha", 0.0f64);
        return;
    }
    pad.set_property("xpos", tile.x);
    pad.set_property("ypos", tile.y);
    pad.set_property("width", tile.w);
    pad.set_property("height", tile.h);
    pad.set_property("alpha", 1.0f64);
}

fn apply_text(el: &gst::Element, applied: &mut Option<TextProps>, new: Option<TextProps>) {
    if *applied == new {
        return;
    }
    match &new {
        None => el.set_property("silent", true),
        Some(t) => {
            el.set_property("font-desc", t.font.as_str());
            el.set_property("text", t.text.as_str());
            el.set_property("deltax", t.x);
            el.set_property("deltay", t.y);
            el.set_property("silent", false);
        }
    }
    *applied = new;
}
