//! The media the bench plays, encoded ONCE at start with GStreamer (none of it is encoded
//! while measuring), the bare reference pipelines, and the luma probe of the latency runs.

use anyhow::{Context, anyhow};
use gst::prelude::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

pub(super) const FPS: u32 = 30;
pub(super) const WIDTH: u32 = 1280;
pub(super) const HEIGHT: u32 = 720;

/// One encoded video frame (an Annex-B access unit for H.264, a frame for VP8).
#[derive(Debug, Clone)]
pub(super) struct Frame {
    pub data: Arc<[u8]>,
    pub key: bool,
}

pub(super) type Clip = Arc<Vec<Frame>>;

/// Everything the bench sends, encoded once.
pub(super) struct Clips {
    /// The VTC's camera: 720p30 H.264 constrained baseline 3.1, 2 Mbit/s, IDR every 2 s,
    /// SPS/PPS before every IDR.
    pub h264: Clip,
    /// A browser's camera: 720p30 VP8, 2 Mbit/s, keyframe every 2 s.
    pub vp8: Clip,
    /// The latency runs' browser camera: 2 s dark then 2 s bright, each segment starting
    /// with a keyframe (so the switch is a clean cut).
    pub vp8_dark: Clip,
    pub vp8_bright: Clip,
    /// The same for the latency VTC's camera (H.264, SPS/PPS before each segment's IDR).
    pub h264_dark: Clip,
    pub h264_bright: Clip,
    /// 20 ms Opus frames (mono 48 kHz, a 440 Hz tone) and PCMU frames (160 bytes, the same
    /// tone at a whisper), 1 s each.
    pub opus: Arc<Vec<Vec<u8>>>,
    pub pcmu: Arc<Vec<Vec<u8>>>,
}

/// The VTC's scene: SMPTE bars scrolling (every pixel moves) with the moving ball on
/// top; the browsers' scene scrolls the other way.
const VTC_SCENE: &str = "videotestsrc pattern=smpte horizontal-speed=4";
const BROWSER_SCENE: &str = "videotestsrc pattern=smpte horizontal-speed=-3";
const DARK_SCENE: &str =
    "videotestsrc pattern=ball background-color=0xff101010 foreground-color=0xff404040";
const BRIGHT_SCENE: &str =
    "videotestsrc pattern=ball background-color=0xfff0f0f0 foreground-color=0xffb0b0b0";

pub(super) const H264_ENCODER: &str = "x264enc tune=zerolatency speed-preset=veryfast bitrate=2000 \
     key-int-max=60 ! video/x-h264,profile=constrained-baseline,level=(string)3.1,\
     stream-format=byte-stream,alignment=au";
pub(super) const VP8_ENCODER: &str = "vp8enc deadline=1 cpu-used=8 end-usage=cbr \
     target-bitrate=2000000 keyframe-max-dist=60 threads=2";

impl Clips {
    pub(super) fn encode(secs: u32, latency: bool) -> anyhow::Result<Clips> {
        cvi_media_gst::init().map_err(|e| anyhow!("GStreamer: {e}"))?;
        let frames = secs * FPS;
        let h264 = with_parameter_sets(encode_video(VTC_SCENE, H264_ENCODER, frames)?)?;
        let vp8 = encode_video(BROWSER_SCENE, VP8_ENCODER, frames)?;
        let (dark, bright, h264_dark, h264_bright) = if latency {
            (
                encode_video(DARK_SCENE, VP8_ENCODER, 2 * FPS)?,
                encode_video(BRIGHT_SCENE, VP8_ENCODER, 2 * FPS)?,
                with_parameter_sets(encode_video(DARK_SCENE, H264_ENCODER, 2 * FPS)?)?,
                with_parameter_sets(encode_video(BRIGHT_SCENE, H264_ENCODER, 2 * FPS)?)?,
            )
        } else {
            (Vec::new(), Vec::new(), Vec::new(), Vec::new())
        };
        let tone = |rate: u32| -> Vec<i16> {
            (0..rate)
                .map(|i| {
                    let t = f64::from(i) / f64::from(rate);
                    (8000.0 * (2.0 * std::f64::consts::PI * 440.0 * t).sin()) as i16
                })
                .collect()
        };
        let opus =
            cvi_media_gst::encode_frames(&tone(48_000), 48_000, cvi_media_gst::AudioCodec::Opus)
                .map_err(|e| anyhow!("Opus frames: {e}"))?;
        let pcmu = cvi_media_gst::encode_frames(&tone(8000), 8000, cvi_media_gst::AudioCodec::Pcmu)
            .map_err(|e| anyhow!("PCMU frames: {e}"))?;
        anyhow::ensure!(
            !h264.is_empty() && !vp8.is_empty() && !opus.is_empty() && !pcmu.is_empty(),
            "an encoder produced nothing"
        );
        Ok(Clips {
            h264: Arc::new(h264),
            vp8: Arc::new(vp8),
            vp8_dark: Arc::new(dark),
            vp8_bright: Arc::new(bright),
            h264_dark: Arc::new(h264_dark),
            h264_bright: Arc::new(h264_bright),
            opus: Arc::new(opus),
            pcmu: Arc::new(pcmu),
        })
    }
}

fn pipeline(desc: &str) -> anyhow::Result<gst::Pipeline> {
    gst::parse::launch(desc)
        .with_context(|| format!("pipeline {desc}"))?
        .downcast::<gst::Pipeline>()
        .map_err(|_| anyhow!("not a pipeline: {desc}"))
}

fn element<T: IsA<gst::Element>>(p: &gst::Pipeline, name: &str) -> anyhow::Result<T> {
    p.by_name(name)
        .and_then(|e| e.downcast::<T>().ok())
        .with_context(|| format!("no element {name}"))
}

/// `frames` frames of `scene` at 720p30 through `encoder`, as fast as it goes.
fn encode_video(scene: &str, encoder: &str, frames: u32) -> anyhow::Result<Vec<Frame>> {
    let desc = format!(
        "{scene} num-buffers={frames} ! video/x-raw,format=I420,width={WIDTH},height={HEIGHT},\
         framerate={FPS}/1 ! {encoder} ! appsink name=sink sync=false"
    );
    let p = pipeline(&desc)?;
    let sink: gst_app::AppSink = element(&p, "sink")?;
    p.set_state(gst::State::Playing)?;
    let mut out = Vec::new();
    while let Some(sample) = sink.try_pull_sample(gst::ClockTime::from_seconds(30)) {
        let Some(buffer) = sample.buffer() else {
            continue;
        };
        let key = !buffer.flags().contains(gst::BufferFlags::DELTA_UNIT);
        let map = buffer.map_readable()?;
        out.push(Frame {
            data: Arc::from(map.as_slice()),
            key,
        });
        if sink.is_eos() {
            break;
        }
    }
    let _ = p.set_state(gst::State::Null);
    anyhow::ensure!(
        out.len() as u32 >= frames * 9 / 10,
        "{scene}: {} of {frames} frames encoded",
        out.len()
    );
    Ok(out)
}

/// Puts the first SPS/PPS before every IDR that lacks them (a VTC restarting its clip at
/// an IDR must be decodable from there).
fn with_parameter_sets(frames: Vec<Frame>) -> anyhow::Result<Vec<Frame>> {
    use cvi_media::rtp::h264::nal_units;
    let mut sets: Vec<u8> = Vec::new();
    if let Some(first) = frames.first() {
        for nal in nal_units(&first.data) {
            if matches!(nal.first().map(|b| b & 0x1f), Some(7 | 8)) {
                sets.extend_from_slice(&[0, 0, 0, 1]);
                sets.extend_from_slice(nal);
            }
        }
    }
    anyhow::ensure!(!sets.is_empty(), "the H.264 clip starts without SPS/PPS");
    Ok(frames
        .into_iter()
        .map(|f| {
            let has = nal_units(&f.data).any(|n| n.first().map(|b| b & 0x1f) == Some(7));
            let key = cvi_media::rtp::h264::is_keyframe(&f.data);
            if key && !has {
                let mut d = sets.clone();
                d.extend_from_slice(&f.data);
                Frame {
                    data: d.into(),
                    key,
                }
            } else {
                Frame { key, ..f }
            }
        })
        .collect())
}

/// Mean luma of an I420 frame's Y plane (every 4th pixel of every 4th row).
pub(super) fn mean_luma(y: &[u8], width: usize, height: usize, stride: usize) -> f64 {
    let mut sum = 0u64;
    let mut n = 0u64;
    for row in (0..height).step_by(4) {
        let Some(line) = y.get(row * stride..row * stride + width) else {
            break;
        };
        for v in line.iter().step_by(4) {
            sum += u64::from(*v);
            n += 1;
        }
    }
    if n == 0 { 0.0 } else { sum as f64 / n as f64 }
}

/// `appsrc (H.264 AUs) ! h264parse ! avdec_h264 ! appsink`: the latency probe's decoder.
/// Each pushed AU carries its arrival index as PTS; the sink reports (index, mean luma).
pub(super) struct LumaProbe {
    pipeline: gst::Pipeline,
    src: gst_app::AppSrc,
    pub(super) out: Lumas,
}

/// (frame index, mean luma) of the decoded frames.
pub(super) type Lumas = Arc<std::sync::Mutex<Vec<(u64, f64)>>>;

impl LumaProbe {
    /// `rows`: the fraction of the picture's height, from the top, the mean is taken over
    /// (1.0: all of it; the composite probe takes the speaker's tile only, so the VTC's own
    /// thumbnail does not move the figure).
    pub(super) fn new(input_caps: &str, decoder: &str, rows: f64) -> anyhow::Result<LumaProbe> {
        let desc = format!(
            "appsrc name=src is-live=true format=time caps={input_caps} ! {decoder} ! \
             videoconvert ! video/x-raw,format=I420 ! appsink name=sink sync=false"
        );
        let p = pipeline(&desc)?;
        let src: gst_app::AppSrc = element(&p, "src")?;
        let sink: gst_app::AppSink = element(&p, "sink")?;
        let out = Arc::new(std::sync::Mutex::new(Vec::new()));
        let o = out.clone();
        sink.set_callbacks(
            gst_app::AppSinkCallbacks::builder()
                .new_sample(move |sink| {
                    let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                    let (Some(buffer), Some(caps)) = (sample.buffer(), sample.caps()) else {
                        return Ok(gst::FlowSuccess::Ok);
                    };
                    let s = caps.structure(0);
                    let w = s.and_then(|s| s.get::<i32>("width").ok()).unwrap_or(0);
                    let h = s.and_then(|s| s.get::<i32>("height").ok()).unwrap_or(0);
                    let idx = buffer.pts().map_or(0, |t| t.nseconds() / 1_000_000);
                    if let Ok(map) = buffer.map_readable() {
                        let (w, h) = (w.max(0) as usize, h.max(0) as usize);
                        // I420 Y stride is the width rounded up to 4.
                        let stride = w.div_ceil(4) * 4;
                        let rows = ((h as f64 * rows) as usize).clamp(1, h.max(1));
                        let l = mean_luma(map.as_slice(), w, rows, stride);
                        if let Ok(mut v) = o.lock() {
                            v.push((idx, l));
                        }
                    }
                    Ok(gst::FlowSuccess::Ok)
                })
                .build(),
        );
        p.set_state(gst::State::Playing)?;
        Ok(LumaProbe {
            pipeline: p,
            src,
            out,
        })
    }

    /// Pushes one encoded frame with its index (carried as PTS in ms so it survives).
    pub(super) fn push(&self, idx: u64, data: &[u8]) {
        let mut b = gst::Buffer::from_slice(data.to_vec());
        if let Some(m) = b.get_mut() {
            m.set_pts(gst::ClockTime::from_mseconds(idx));
        }
        let _ = self.src.push_buffer(b);
    }
}

impl Drop for LumaProbe {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

/// Latencies from "the picture turned dark/bright" (times in `switches`, each with the
/// new state) to the first probed frame at or after it on the new side of the midpoint of
/// the observed luma range. Frames are (arrival, luma).
pub(super) fn switch_latencies(
    switches: &[(Instant, bool)],
    frames: &[(Instant, f64)],
) -> (Vec<Duration>, f64, f64) {
    let mut l: Vec<f64> = frames.iter().map(|f| f.1).collect();
    l.sort_by(f64::total_cmp);
    let pick = |q: f64| l.get(((l.len() as f64 * q) as usize).min(l.len().saturating_sub(1)));
    let (lo, hi) = (
        pick(0.05).copied().unwrap_or(0.0),
        pick(0.95).copied().unwrap_or(0.0),
    );
    let mid = (lo + hi) / 2.0;
    let mut out = Vec::new();
    if hi - lo < 8.0 {
        return (out, lo, hi);
    }
    for (i, (t, bright)) in switches.iter().enumerate() {
        let next = switches.get(i + 1).map(|s| s.0);
        let hit = frames.iter().find(|(at, luma)| {
            *at >= *t && next.is_none_or(|n| *at < n) && ((*luma > mid) == *bright)
        });
        if let Some((at, _)) = hit {
            out.push(at.saturating_duration_since(*t));
        }
    }
    (out, lo, hi)
}

/// What the bare reference does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Reference {
    /// The composite a VTC receives: decode the browser's 720p30 VP8 and the VTC's own
    /// 720p30 H.264 (it is a tile of the shared view), compositor, x264enc.
    Composite,
    /// Composite plus the transcode of the VTC's stream for the browser (what
    /// `--meet-vtc-video transcode` does): the avdec_h264 is shared with the tile; add
    /// x264enc 720p30 1500 kbit/s CB of it.
    Transcode,
    /// The composite only: one VP8 720p30 decode, compositor, x264enc (a VTC's view of a
    /// browser when the VTC itself is not shown).
    CompositeBrowserOnly,
}

/// Result of a reference run.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ReferenceRun {
    pub what: Reference,
    pub pipeline: String,
    pub cpu_percent: f64,
    pub frames_out_per_s: f64,
    /// The codec path's own latency (browser frame pushed → composite decoded), when asked.
    pub latency_ms: Option<(f64, f64, usize)>,
    /// What one more copy of this pipeline adds to the RSS (MB), its libraries already
    /// loaded: the bare counterpart of the gateway's memory per call ([`reference_memory`]).
    pub mb_per_copy: Option<f64>,
}

/// The RSS (MB) one more copy of the reference adds once its libraries are loaded, as a
/// further call does in the gateway: a first copy runs; once it has settled the RSS is
/// read, a second copy starts beside it, and once that has settled the RSS is read again.
/// `rss` reads this process's RSS.
pub(super) fn reference_memory(
    what: Reference,
    clips: &Clips,
    out_fps: u32,
    out_kbps: u32,
    rss: impl Fn() -> Option<f64>,
) -> anyhow::Result<Option<f64>> {
    // run_reference warms up 2 s before its window: the first copy outlives the second.
    let settle = Duration::from_secs(3);
    std::thread::scope(|s| {
        let first = s.spawn(|| run_reference(what, clips, out_fps, out_kbps, settle * 3, false));
        std::thread::sleep(settle);
        let one = rss();
        let second = s.spawn(|| run_reference(what, clips, out_fps, out_kbps, settle, false));
        std::thread::sleep(settle);
        let two = rss();
        for run in [second, first] {
            match run.join() {
                Ok(r) => drop(r?),
                Err(_) => anyhow::bail!("a reference copy panicked"),
            }
        }
        Ok(one.zip(two).map(|(one, two)| two - one))
    })
}

/// The bare GStreamer pipeline doing the same codec work as the gateway, fed the same
/// clips live at 30 fps from appsrc (like media-gst/benches/composite.rs). CPU is this
/// process's over `window` after 2 s of warm-up (nothing else runs in it).
pub(super) fn run_reference(
    what: Reference,
    clips: &Clips,
    out_fps: u32,
    out_kbps: u32,
    window: Duration,
    latency: bool,
) -> anyhow::Result<ReferenceRun> {
    let src = "is-live=true format=time do-timestamp=true";
    // The Mixer's output format and the picture a VTC gets in the bench's meeting: the
    // browser (the active speaker) large, the VTC a thumbnail (cvi_meeting::tiles), each
    // letterboxed and labelled like the Mixer's tiles.
    let out = format!(
        "video/x-raw,format=I420,width={WIDTH},height={HEIGHT},framerate={out_fps}/1,\
         colorimetry=bt709,chroma-site=mpeg2"
    );
    let (browser_id, vtc_id) = (cvi_meeting::ParticipantId(1), cvi_meeting::ParticipantId(2));
    let shown: &[_] = match what {
        Reference::CompositeBrowserOnly => &[browser_id],
        _ => &[browser_id, vtc_id],
    };
    let tiles = cvi_meeting::tiles(
        cvi_meeting::Layout::SpeakerPlus7,
        WIDTH,
        HEIGHT,
        shown,
        Some(browser_id),
        cvi_meeting::ParticipantId(0),
    );
    let mut pads = String::new();
    let mut labels = String::new();
    for (t, pad) in tiles.iter().zip([1, 2]) {
        pads.push_str(&format!(
            "sink_{pad}::xpos={} sink_{pad}::ypos={} sink_{pad}::width={} sink_{pad}::height={} \
             sink_{pad}::zorder=10 sink_{pad}::sizing-policy=keep-aspect-ratio ",
            t.x, t.y, t.w, t.h
        ));
        let font = (t.h / 10).clamp(11, 32);
        let margin = (font / 2).max(6);
        labels.push_str(&format!(
            "textoverlay text=\"Participant {pad}\" font-desc=\"Sans Bold {font}px\" \
             halignment=left valignment=top deltax={} deltay={} shaded-background=true \
             shading-value=110 auto-resize=false wrap-mode=none ! ",
            t.x + margin,
            t.y + t.h - margin - font * 6 / 5
        ));
    }
    let tail = if latency {
        "h264parse ! avdec_h264 max-threads=1 ! videoconvert ! video/x-raw,format=I420 ! \
         appsink name=sink sync=false max-buffers=64 drop=true"
            .to_string()
    } else {
        "appsink name=sink sync=false max-buffers=64 drop=true".to_string()
    };
    let mut desc = format!(
        "compositor name=mix background=black {pads}! \
         {out} ! {labels}x264enc tune=zerolatency speed-preset=ultrafast threads=1 aud=false bitrate={out_kbps} \
           key-int-max={gop} ! \
         video/x-h264,profile=constrained-baseline,stream-format=byte-stream,alignment=au ! {tail} \
         videotestsrc is-live=true pattern=solid-color foreground-color=4280163898 ! {out} ! mix.sink_0 \
         appsrc name=b {src} caps=video/x-vp8 ! vp8dec ! mix.sink_1 ",
        gop = out_fps * 10,
    );
    match what {
        Reference::CompositeBrowserOnly => {}
        Reference::Composite => desc.push_str(&format!(
            "appsrc name=v {src} caps=video/x-h264,stream-format=byte-stream,alignment=au ! \
             h264parse ! avdec_h264 max-threads=1 ! mix.sink_2"
        )),
        Reference::Transcode => desc.push_str(&format!(
            "appsrc name=v {src} caps=video/x-h264,stream-format=byte-stream,alignment=au ! \
             h264parse ! avdec_h264 max-threads=1 ! tee name=t ! queue max-size-buffers=2 ! mix.sink_2 \
             t. ! queue max-size-buffers=2 ! x264enc tune=zerolatency speed-preset=ultrafast threads=1 \
               aud=false bitrate=1500 key-int-max=300 ! \
             video/x-h264,profile=constrained-baseline ! fakesink sync=false"
        )),
    }
    // The audio codec work of a call, where the VTC sends audio (not the browser-only
    // reference): the VTC's PCMU decoded, coded to Opus at 8 kHz for the browsers (the
    // gateway's settings) and brought to 48 kHz for the mix; the browser's Opus decoded at
    // 48 kHz and its mix-minus coded to PCMU at 8 kHz.
    let audio = what != Reference::CompositeBrowserOnly;
    if audio {
        desc.push_str(
            " appsrc name=va is-live=true format=time do-timestamp=true \
               caps=audio/x-mulaw,rate=8000,channels=1 ! mulawdec ! tee name=at ! \
               queue max-size-buffers=4 ! opusenc frame-size=20 bitrate=32000 complexity=5 \
                 audio-type=voice inband-fec=true packet-loss-percentage=10 ! fakesink sync=false \
               at. ! queue max-size-buffers=4 ! audioresample ! audio/x-raw,rate=48000 ! \
                 fakesink sync=false \
             appsrc name=ba is-live=true format=time do-timestamp=true \
               caps=audio/x-opus,channel-mapping-family=0,channels=1,rate=48000 ! opusdec ! \
               audio/x-raw,rate=48000,channels=1 ! audioresample ! audio/x-raw,rate=8000 ! \
               mulawenc ! fakesink sync=false",
        );
    }
    let p = pipeline(&desc)?;
    let browser: gst_app::AppSrc = element(&p, "b")?;
    let audio_srcs: Option<(gst_app::AppSrc, gst_app::AppSrc)> = match audio {
        true => Some((element(&p, "va")?, element(&p, "ba")?)),
        false => None,
    };
    let vtc: Option<gst_app::AppSrc> = match what {
        Reference::CompositeBrowserOnly => None,
        _ => Some(element(&p, "v")?),
    };
    let sink: gst_app::AppSink = element(&p, "sink")?;
    let frames = Arc::new(AtomicU64::new(0));
    let lumas = Arc::new(std::sync::Mutex::new(Vec::<(Instant, f64)>::new()));
    {
        let frames = frames.clone();
        let lumas = lumas.clone();
        sink.set_callbacks(
            gst_app::AppSinkCallbacks::builder()
                .new_sample(move |sink| {
                    let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                    if let Some(buffer) = sample.buffer()
                        && let Ok(map) = buffer.map_readable()
                    {
                        if latency {
                            let l = mean_luma(
                                map.as_slice(),
                                WIDTH as usize,
                                HEIGHT as usize,
                                WIDTH as usize,
                            );
                            if let Ok(mut v) = lumas.lock() {
                                v.push((Instant::now(), l));
                            }
                        } else {
                            // The Mixer's per-frame work at its output: one copy out.
                            std::hint::black_box(map.as_slice().to_vec());
                        }
                    }
                    frames.fetch_add(1, Ordering::Relaxed);
                    Ok(gst::FlowSuccess::Ok)
                })
                .build(),
        );
    }
    p.set_state(gst::State::Playing)?;
    let stop = Arc::new(AtomicBool::new(false));
    let switches = Arc::new(std::sync::Mutex::new(Vec::<(Instant, bool)>::new()));
    let feeder = {
        let stop = stop.clone();
        let switches = switches.clone();
        let (vp8, dark, bright, h264) = (
            clips.vp8.clone(),
            clips.vp8_dark.clone(),
            clips.vp8_bright.clone(),
            clips.h264.clone(),
        );
        std::thread::spawn(move || {
            let start = Instant::now();
            let mut i = 0usize;
            while !stop.load(Ordering::Relaxed) {
                let b = if latency && !dark.is_empty() && !bright.is_empty() {
                    let seg = i / (2 * FPS as usize);
                    let clip = if seg.is_multiple_of(2) {
                        &dark
                    } else {
                        &bright
                    };
                    let k = i % (2 * FPS as usize);
                    if k == 0
                        && let Ok(mut s) = switches.lock()
                    {
                        s.push((Instant::now(), seg % 2 == 1));
                    }
                    clip.get(k % clip.len().max(1))
                } else {
                    vp8.get(i % vp8.len().max(1))
                };
                if let Some(f) = b {
                    let _ = browser.push_buffer(gst::Buffer::from_slice(f.data.to_vec()));
                }
                if let (Some(v), Some(f)) = (&vtc, h264.get(i % h264.len().max(1))) {
                    let _ = v.push_buffer(gst::Buffer::from_slice(f.data.to_vec()));
                }
                i += 1;
                let due = start + Duration::from_nanos(i as u64 * 1_000_000_000 / u64::from(FPS));
                if let Some(w) = due.checked_duration_since(Instant::now()) {
                    std::thread::sleep(w);
                }
            }
        })
    };
    let audio_feeder = audio_srcs.map(|(va, ba)| {
        let stop = stop.clone();
        let (pcmu, opus) = (clips.pcmu.clone(), clips.opus.clone());
        std::thread::spawn(move || {
            let start = Instant::now();
            let mut i = 0usize;
            while !stop.load(Ordering::Relaxed) {
                if let Some(f) = pcmu.get(i % pcmu.len().max(1)) {
                    let _ = va.push_buffer(gst::Buffer::from_slice(f.clone()));
                }
                if let Some(f) = opus.get(i % opus.len().max(1)) {
                    let _ = ba.push_buffer(gst::Buffer::from_slice(f.clone()));
                }
                i += 1;
                let due = start + Duration::from_millis(i as u64 * 20);
                if let Some(w) = due.checked_duration_since(Instant::now()) {
                    std::thread::sleep(w);
                }
            }
        })
    });
    std::thread::sleep(Duration::from_secs(2));
    let c0 = super::super::stats::cpu_time("self");
    let f0 = frames.load(Ordering::Relaxed);
    let t0 = Instant::now();
    std::thread::sleep(window);
    let c1 = super::super::stats::cpu_time("self");
    let f1 = frames.load(Ordering::Relaxed);
    let wall = t0.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let _ = feeder.join();
    if let Some(a) = audio_feeder {
        let _ = a.join();
    }
    let _ = p.set_state(gst::State::Null);
    let cpu = match (c0, c1) {
        (Some(a), Some(b)) => 100.0 * b.saturating_sub(a).as_secs_f64() / wall,
        _ => f64::NAN,
    };
    let latency_ms = if latency {
        let sw = switches.lock().map(|s| s.clone()).unwrap_or_default();
        let fr = lumas.lock().map(|s| s.clone()).unwrap_or_default();
        let (mut l, _, _) = switch_latencies(&sw, &fr);
        l.sort_unstable();
        let ms = |d: Option<&Duration>| d.map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0);
        Some((ms(l.get(l.len() / 2)), ms(l.last()), l.len()))
    } else {
        None
    };
    Ok(ReferenceRun {
        what,
        pipeline: desc,
        cpu_percent: cpu,
        frames_out_per_s: (f1 - f0) as f64 / wall,
        latency_ms,
        mb_per_copy: None,
    })
}
