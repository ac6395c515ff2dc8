//! The meeting recording: H.264 video as given plus the meeting's audio mix
//! (48 kHz mono PCM, encoded to AAC-LC here) into a *fragmented* MP4 file.
//!
//! ```text
//! appsrc video (H.264 byte-stream AUs) ! h264parse ! mux.
//! appsrc audio (S16LE 48 kHz mono) ! audiorate ! audioconvert ! avenc_aac ! aacparse ! mux.
//! mp4mux fragment-duration=1000 ! filesink buffer-mode=unbuffered
//! ```
//!
//! `mp4mux` writes `ftyp` + `moov` up front and then one `moof`+`mdat`
//! fragment per track about every second, each written out unbuffered as soon
//! as it is complete, so a file whose gateway was killed plays up to its last
//! complete fragment. [`Recorder::finish`] (or drop) ends the file properly
//! (durations in the `moov`, `mfra` index).
//!
//! Timestamps are arrival times on the pipeline clock (running time since
//! [`Recorder::start`]): video frames get their arrival time, audio is
//! sample-counted from its first arrival and re-anchored to arrival time when
//! it drifts by more than [`AUDIO_RESYNC`]. Both tracks start at 0, because
//! `mp4mux` (1.22, fragmented) starts every track at its own first timestamp,
//! which would put a late stream out of sync: the first video keyframe is
//! stamped 0 (shown from the start until the next frame) and `audiorate`
//! fills audio gaps, including the one before the first chunk, with silence.
//! A pause in the video is a longer frame. The sources are live, so the muxer
//! never waits more than [`MUX_LATENCY`] for a stream that stopped.
//!
//! `mp4mux` writes the header once every track has its format, i.e. after the
//! first video keyframe: audio waits in the (bounded) queues until then, and
//! a recording that never gets a video frame is not a playable file (its
//! video track has no sample description).
//!
//! The `push_*` calls never block: they copy the data into a bounded `appsrc`
//! queue which drops its *oldest* buffer when full (counted in
//! [`RecordingSummary`]).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use gst::prelude::*;

use crate::Error;
use crate::slate::EncodedFrame;
use crate::util::{by_name, parse_pipeline};

/// Audio input rate.
pub const AUDIO_RATE: u32 = 48_000;
/// AAC bit rate (bits/s).
pub const AAC_BITRATE: u32 = 64_000;
/// MP4 fragment duration.
pub const FRAGMENT: Duration = Duration::from_millis(1000);
/// How long the live muxer waits for a late stream before muxing without it.
pub const MUX_LATENCY: Duration = Duration::from_millis(200);
/// Video frames queued at most before the oldest is dropped.
pub const MAX_QUEUED_VIDEO_FRAMES: u64 = 60;
/// Audio chunks queued at most before the oldest is dropped.
pub const MAX_QUEUED_AUDIO_CHUNKS: u64 = 200;
/// Sample-counted audio timestamps are re-anchored to arrival time beyond this drift.
pub const AUDIO_RESYNC: Duration = Duration::from_millis(60);
/// Longest wait for the muxer to finish the file in [`Recorder::finish`].
pub const FINISH_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest wait when a [`Recorder`] is dropped without `finish`.
pub const DROP_TIMEOUT: Duration = Duration::from_secs(2);

/// What [`Recorder::finish`] wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordingSummary {
    pub path: PathBuf,
    /// File size.
    pub bytes: u64,
    /// Media duration (the end of the last video frame or audio sample, from
    /// the start of the recording).
    pub duration: Duration,
    /// Video frames that reached the muxer.
    pub video_frames: u64,
    /// Audio samples handed over.
    pub audio_samples: u64,
    /// Buffers dropped because a queue was full.
    pub dropped_video: u64,
    pub dropped_audio: u64,
}

#[derive(Default)]
struct BusState {
    eos: bool,
    error: Option<String>,
}

#[derive(Default)]
struct Shared {
    bus: Mutex<BusState>,
    changed: Condvar,
    video_frames: AtomicU64,
    dropped_video: AtomicU64,
    dropped_audio: AtomicU64,
    audio_samples: AtomicU64,
    /// End of the latest buffer handed over (ns of running time).
    end_ns: AtomicU64,
}

#[derive(Default)]
struct Timing {
    /// Video: a keyframe was seen (frames before it are dropped).
    video_started: bool,
    last_video_pts: Option<gst::ClockTime>,
    /// Audio: the next sample-counted timestamp.
    next_audio_pts: Option<gst::ClockTime>,
}

/// A running MP4 recording. Dropping it without [`Recorder::finish`] still
/// finalizes the file (bounded by [`DROP_TIMEOUT`]).
pub struct Recorder {
    pipeline: gst::Pipeline,
    video: gst_app::AppSrc,
    audio: gst_app::AppSrc,
    clock: gst::Clock,
    base_time: gst::ClockTime,
    frame_duration: gst::ClockTime,
    path: PathBuf,
    shared: Arc<Shared>,
    timing: Mutex<Timing>,
    done: bool,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl Recorder {
    /// Starts writing a fragmented MP4 file at `path` (created or truncated)
    /// for H.264 video of `width`×`height` at `fps` and 48 kHz mono audio.
    pub fn start(path: &Path, width: u32, height: u32, fps: u32) -> Result<Recorder, Error> {
        crate::init()?;
        if !(16..=8192).contains(&width) || !(16..=8192).contains(&height) {
            return Err(Error::InvalidInput(format!(
                "recording size {width}x{height}"
            )));
        }
        if !(1..=120).contains(&fps) {
            return Err(Error::InvalidInput(format!("recording fps {fps}")));
        }
        let location = path
            .to_str()
            .ok_or_else(|| Error::InvalidInput(format!("non UTF-8 path {path:?}")))?;
        let pipeline = parse_pipeline(&format!(
            "appsrc name=video is-live=true format=time \
               caps=video/x-h264,stream-format=byte-stream,alignment=au,\
             width={width},height={height},framerate={fps}/1 ! \
             h264parse name=vparse ! mux. \
             appsrc name=audio is-live=true format=time \
               caps=audio/x-raw,format=S16LE,layout=interleaved,channels=1,rate={AUDIO_RATE} ! \
             audiorate skip-to-first=false ! audioconvert ! \
             avenc_aac bitrate={AAC_BITRATE} ! aacparse ! mux. \
             mp4mux name=mux fragment-duration={frag} latency={latency} ! \
             filesink name=file buffer-mode=unbuffered sync=false async=false",
            frag = FRAGMENT.as_millis(),
            latency = nanos(MUX_LATENCY),
        ))?;
        let file: gst::Element = by_name(&pipeline, "file")?;
        file.set_property("location", location);
        let video: gst_app::AppSrc = by_name(&pipeline, "video")?;
        let audio: gst_app::AppSrc = by_name(&pipeline, "audio")?;
        for (src, max) in [
            (&video, MAX_QUEUED_VIDEO_FRAMES),
            (&audio, MAX_QUEUED_AUDIO_CHUNKS),
        ] {
            src.set_max_bytes(0);
            src.set_max_time(gst::ClockTime::ZERO);
            src.set_max_buffers(max);
            src.set_leaky_type(gst_app::AppLeakyType::Downstream);
            src.set_block(false);
        }

        let shared = Arc::new(Shared::default());
        let vparse: gst::Element = by_name(&pipeline, "vparse")?;
        let counter = Arc::clone(&shared);
        vparse
            .static_pad("src")
            .ok_or_else(|| Error::Pipeline("h264parse has no src pad".into()))?
            .add_probe(gst::PadProbeType::BUFFER, move |_pad, _info| {
                counter.video_frames.fetch_add(1, Ordering::Relaxed);
                gst::PadProbeReturn::Ok
            });

        let bus = pipeline
            .bus()
            .ok_or_else(|| Error::Pipeline("pipeline has no bus".into()))?;
        let bus_shared = Arc::clone(&shared);
        // Handled and dropped here: nothing accumulates on the bus of a long recording.
        bus.set_sync_handler(move |_bus, msg| {
            match msg.view() {
                gst::MessageView::Eos(_) => {
                    lock(&bus_shared.bus).eos = true;
                    bus_shared.changed.notify_all();
                }
                gst::MessageView::Error(err) => {
                    let text = crate::util::describe_error(err);
                    tracing::warn!(error = %text, "recording pipeline error");
                    lock(&bus_shared.bus).error.get_or_insert(text);
                    bus_shared.changed.notify_all();
                }
                gst::MessageView::Warning(w) => {
                    tracing::debug!(warning = %w.error(), "recording pipeline warning");
                }
                _ => {}
            }
            gst::BusSyncReply::Drop
        });

        // Our own clock and base time, so running time (the timestamps) is
        // known from the first push on, whatever the state change is doing.
        let clock = gst::SystemClock::obtain();
        pipeline.use_clock(Some(&clock));
        pipeline.set_start_time(gst::ClockTime::NONE);
        let base_time = clock.time();
        pipeline.set_base_time(base_time);
        if let Err(e) = pipeline.set_state(gst::State::Playing) {
            let _ = pipeline.set_state(gst::State::Null);
            return Err(e.into());
        }
        tracing::debug!(path = %path.display(), width, height, fps, "recording started");
        Ok(Recorder {
            pipeline,
            video,
            audio,
            clock,
            base_time,
            frame_duration: gst::ClockTime::from_nseconds(1_000_000_000 / u64::from(fps)),
            path: path.to_path_buf(),
            shared,
            timing: Mutex::new(Timing::default()),
            done: false,
        })
    }

    /// The recording's running time now.
    fn now(&self) -> gst::ClockTime {
        self.clock.time().saturating_sub(self.base_time)
    }

    fn note_end(&self, end: gst::ClockTime) {
        self.shared
            .end_ns
            .fetch_max(end.nseconds(), Ordering::Relaxed);
    }

    /// Hands one H.264 access unit over, timestamped with its arrival time.
    /// Frames before the first keyframe are dropped.
    pub fn push_video(&self, frame: &EncodedFrame) {
        if frame.data.is_empty() {
            return;
        }
        let pts = {
            let mut timing = lock(&self.timing);
            if !timing.video_started {
                if !frame.keyframe {
                    return;
                }
                timing.video_started = true;
            }
            let now = self.now();
            let pts = match timing.last_video_pts {
                // The first picture is shown from the start of the recording:
                // mp4mux would otherwise move a late video track to 0, out of sync.
                None => gst::ClockTime::ZERO,
                Some(last) if now <= last => last + gst::ClockTime::from_nseconds(1),
                Some(_) => now,
            };
            timing.last_video_pts = Some(pts);
            pts
        };
        let mut buffer = gst::Buffer::from_mut_slice(frame.data.clone());
        if let Some(b) = buffer.get_mut() {
            b.set_pts(pts);
            b.set_dts(pts);
            b.set_duration(self.frame_duration);
            if !frame.keyframe {
                b.set_flags(gst::BufferFlags::DELTA_UNIT);
            }
        }
        if self.video.current_level_buffers() >= MAX_QUEUED_VIDEO_FRAMES {
            self.shared.dropped_video.fetch_add(1, Ordering::Relaxed);
        }
        if self.video.push_buffer(buffer).is_ok() {
            self.note_end(pts + self.frame_duration);
        } else {
            self.shared.dropped_video.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Hands 48 kHz mono PCM over (any length; the meeting mix, normally 20 ms).
    pub fn push_audio(&self, pcm: &[i16]) {
        if pcm.is_empty() {
            return;
        }
        let duration =
            gst::ClockTime::from_nseconds(pcm.len() as u64 * 1_000_000_000 / u64::from(AUDIO_RATE));
        let pts = {
            let mut timing = lock(&self.timing);
            // The chunk has just arrived, so it started `duration` ago.
            let arrived = self.now().saturating_sub(duration);
            let pts = match timing.next_audio_pts {
                Some(next)
                    if next.nseconds().abs_diff(arrived.nseconds()) <= nanos(AUDIO_RESYNC) =>
                {
                    next
                }
                _ => arrived,
            };
            timing.next_audio_pts = Some(pts + duration);
            pts
        };
        let data: Vec<u8> = pcm.iter().flat_map(|s| s.to_le_bytes()).collect();
        let mut buffer = gst::Buffer::from_mut_slice(data);
        if let Some(b) = buffer.get_mut() {
            b.set_pts(pts);
            b.set_duration(duration);
        }
        if self.audio.current_level_buffers() >= MAX_QUEUED_AUDIO_CHUNKS {
            self.shared.dropped_audio.fetch_add(1, Ordering::Relaxed);
        }
        if self.audio.push_buffer(buffer).is_ok() {
            self.shared
                .audio_samples
                .fetch_add(pcm.len() as u64, Ordering::Relaxed);
            self.note_end(pts + duration);
        } else {
            self.shared.dropped_audio.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Ends the file properly (EOS, waits at most [`FINISH_TIMEOUT`] for the
    /// muxer) and returns what was written.
    pub fn finish(mut self) -> Result<RecordingSummary, Error> {
        self.finalize(FINISH_TIMEOUT)
    }

    fn finalize(&mut self, timeout: Duration) -> Result<RecordingSummary, Error> {
        self.done = true;
        if !lock(&self.timing).video_started {
            tracing::warn!(path = %self.path.display(), "recording has no video: the file may not play");
        }
        let _ = self.video.end_of_stream();
        let _ = self.audio.end_of_stream();
        let deadline = Instant::now() + timeout;
        let outcome = {
            let mut state = lock(&self.shared.bus);
            loop {
                if let Some(error) = &state.error {
                    break Err(Error::Pipeline(error.clone()));
                }
                if state.eos {
                    break Ok(());
                }
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break Err(Error::Timeout(timeout));
                }
                state = self
                    .shared
                    .changed
                    .wait_timeout(state, left)
                    .unwrap_or_else(|p| p.into_inner())
                    .0;
            }
        };
        let _ = self.pipeline.set_state(gst::State::Null);
        outcome?;
        let bytes = std::fs::metadata(&self.path)
            .map_err(|e| Error::Pipeline(format!("{}: {e}", self.path.display())))?
            .len();
        let summary = RecordingSummary {
            path: self.path.clone(),
            bytes,
            duration: Duration::from_nanos(self.shared.end_ns.load(Ordering::Relaxed)),
            video_frames: self.shared.video_frames.load(Ordering::Relaxed),
            audio_samples: self.shared.audio_samples.load(Ordering::Relaxed),
            dropped_video: self.shared.dropped_video.load(Ordering::Relaxed),
            dropped_audio: self.shared.dropped_audio.load(Ordering::Relaxed),
        };
        tracing::debug!(?summary, "recording finished");
        Ok(summary)
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        if !self.done
            && let Err(e) = self.finalize(DROP_TIMEOUT)
        {
            tracing::warn!(path = %self.path.display(), error = %e, "recording not finalized");
        }
    }
}
