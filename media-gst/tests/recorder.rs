#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use cvi_media_gst::{EncodedFrame, Recorder};
use gst::prelude::*;

const WIDTH: u32 = 320;
const HEIGHT: u32 = 240;
const FPS: u32 = 15;

fn temp_path(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cvi-recorder-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// Live H.264 (`videotestsrc is-live=true ! x264enc`, one IDR a second, the
/// first one after a few P frames are dropped on purpose) and a 440 Hz sine
/// in 20 ms chunks, both at wall-clock pace, into `recorder` until `stop`;
/// video only from `video_from` on, audio only from `audio_from` on.
fn feed(recorder: &Recorder, stop: &AtomicBool, video_from: Duration, audio_from: Duration) {
    let pipeline = gst::parse::launch(&format!(
        "videotestsrc is-live=true pattern=ball ! \
         video/x-raw,width={WIDTH},height={HEIGHT},framerate={FPS}/1 ! \
         x264enc tune=zerolatency speed-preset=ultrafast key-int-max={FPS} bitrate=300 ! \
         video/x-h264,stream-format=byte-stream,alignment=au,profile=constrained-baseline ! \
         appsink name=sink sync=false max-buffers=30"
    ))
    .unwrap()
    .downcast::<gst::Pipeline>()
    .unwrap();
    let sink = pipeline
        .by_name("sink")
        .unwrap()
        .downcast::<gst_app::AppSink>()
        .unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();
    let sine_wave = sine(48000, 440.0, 1.0, 12000.0);
    let started = Instant::now();
    let mut chunks = 0u32;
    std::thread::scope(|s| {
        s.spawn(|| {
            // Audio: 20 ms chunks on a 20 ms schedule.
            while !stop.load(Ordering::Relaxed) {
                let at = started + Duration::from_millis(20) * (chunks + 1);
                if let Some(wait) = at.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
                let offset = (chunks as usize % 50) * 960;
                chunks += 1;
                if started.elapsed() < audio_from {
                    continue;
                }
                let t0 = Instant::now();
                recorder.push_audio(&sine_wave[offset..offset + 960]);
                assert!(
                    t0.elapsed() < Duration::from_millis(20),
                    "push_audio blocked"
                );
            }
        });
        let mut frames = 0;
        while !stop.load(Ordering::Relaxed) {
            let Some(sample) = sink.try_pull_sample(gst::ClockTime::from_mseconds(100)) else {
                continue;
            };
            if started.elapsed() < video_from {
                continue;
            }
            let buffer = sample.buffer().unwrap();
            let frame = EncodedFrame {
                data: buffer.map_readable().unwrap().to_vec(),
                keyframe: !buffer.flags().contains(gst::BufferFlags::DELTA_UNIT),
                pts: Duration::ZERO,
            };
            frames += 1;
            let t0 = Instant::now();
            recorder.push_video(&frame);
            assert!(
                t0.elapsed() < Duration::from_millis(20),
                "push_video blocked"
            );
            if frames == 1 {
                // A P frame before any keyframe: must be dropped.
                recorder.push_video(&EncodedFrame {
                    keyframe: false,
                    ..frame
                });
            }
        }
    });
    pipeline.set_state(gst::State::Null).unwrap();
}

#[derive(Default)]
struct Decoded {
    video_frames: u64,
    video_start: Option<Duration>,
    video_end: Duration,
    width: i32,
    height: i32,
    audio_samples: u64,
    audio_start: Option<Duration>,
    audio_end: Duration,
    audio_rate: i32,
    audio_tone: f64,
    pcm: Vec<i16>,
    error: Option<String>,
    duration: Option<Duration>,
}

impl std::fmt::Debug for Decoded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} frames {}x{} {:?}..{:?}, {} samples @{} {:?}..{:?} (440 Hz at {:.0}), \
             duration {:?}, error {:?}",
            self.video_frames,
            self.width,
            self.height,
            self.video_start,
            self.video_end,
            self.audio_samples,
            self.audio_rate,
            self.audio_start,
            self.audio_end,
            self.audio_tone,
            self.duration,
            self.error
        )
    }
}

/// Decodes the whole file (`uridecodebin`), counting video frames and audio
/// samples and the 440 Hz level of the audio.
fn decode_file(path: &Path) -> Decoded {
    cvi_media_gst::init().unwrap();
    let pipeline = gst::Pipeline::new();
    let decodebin = gst::ElementFactory::make("uridecodebin")
        .property(
            "uri",
            gst::glib::filename_to_uri(path, None).unwrap().as_str(),
        )
        .build()
        .unwrap();
    pipeline.add(&decodebin).unwrap();
    let out: Arc<Mutex<Decoded>> = Arc::default();
    let audio_pcm: Arc<Mutex<Vec<i16>>> = Arc::default();
    let weak = pipeline.downgrade();
    let (out_cb, pcm_cb) = (Arc::clone(&out), Arc::clone(&audio_pcm));
    decodebin.connect_pad_added(move |_, pad| {
        let Some(pipeline) = weak.upgrade() else {
            return;
        };
        let caps = pad.current_caps().unwrap();
        let is_video = caps.structure(0).unwrap().name().starts_with("video/");
        let convert = if is_video {
            "videoconvert ! video/x-raw,format=I420"
        } else {
            "audioconvert ! audioresample ! audio/x-raw,format=S16LE,channels=1,rate=48000"
        };
        let bin = gst::parse::bin_from_description(
            &format!("queue ! {convert} ! appsink name=sink sync=false"),
            true,
        )
        .unwrap();
        pipeline.add(&bin).unwrap();
        let sink = bin
            .by_name("sink")
            .unwrap()
            .downcast::<gst_app::AppSink>()
            .unwrap();
        let (out, pcm) = (Arc::clone(&out_cb), Arc::clone(&pcm_cb));
        sink.set_callbacks(
            gst_app::AppSinkCallbacks::builder()
                .new_sample(move |sink| {
                    let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                    let buffer = sample.buffer().unwrap();
                    let pts = buffer.pts().unwrap();
                    let start = Duration::from_nanos(pts.nseconds());
                    let end = Duration::from_nanos(
                        (pts + buffer.duration().unwrap_or_default()).nseconds(),
                    );
                    let s = sample.caps().unwrap().structure(0).unwrap();
                    let mut out = out.lock().unwrap();
                    if is_video {
                        out.video_frames += 1;
                        out.video_start.get_or_insert(start);
                        out.video_end = out.video_end.max(end);
                        out.width = s.get("width").unwrap();
                        out.height = s.get("height").unwrap();
                    } else {
                        let data = s16(&buffer.map_readable().unwrap());
                        out.audio_samples += data.len() as u64;
                        out.audio_start.get_or_insert(start);
                        out.audio_end = out.audio_end.max(end);
                        out.audio_rate = s.get("rate").unwrap();
                        pcm.lock().unwrap().extend(data);
                    }
                    Ok(gst::FlowSuccess::Ok)
                })
                .build(),
        );
        bin.sync_state_with_parent().unwrap();
        pad.link(&bin.static_pad("sink").unwrap()).unwrap();
    });
    pipeline.set_state(gst::State::Playing).unwrap();
    let bus = pipeline.bus().unwrap();
    let msg = bus.timed_pop_filtered(
        gst::ClockTime::from_seconds(10),
        &[gst::MessageType::Eos, gst::MessageType::Error],
    );
    let duration = pipeline
        .query_duration::<gst::ClockTime>()
        .map(|d| Duration::from_nanos(d.nseconds()));
    pipeline.set_state(gst::State::Null).unwrap();
    let mut decoded = std::mem::take(&mut *out.lock().unwrap());
    decoded.duration = duration;
    match msg.as_ref().map(|m| m.view()) {
        Some(gst::MessageView::Eos(_)) => {}
        Some(gst::MessageView::Error(e)) => decoded.error = Some(format!("{:?}", e.error())),
        _ => decoded.error = Some("timeout".into()),
    }
    let pcm = std::mem::take(&mut *audio_pcm.lock().unwrap());
    // Skip the AAC priming, then look for the tone.
    if pcm.len() > 48000 {
        let steady = &pcm[9600..pcm.len() - 4800];
        decoded.audio_tone = goertzel(steady, 48000, 440.0);
    }
    decoded.pcm = pcm;
    decoded
}

fn goertzel(x: &[i16], rate: u32, hz: f64) -> f64 {
    let coeff = 2.0 * (2.0 * std::f64::consts::PI * hz / f64::from(rate)).cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &v in x {
        let s = f64::from(v) + coeff * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    2.0 * (s1 * s1 + s2 * s2 - coeff * s1 * s2).max(0.0).sqrt() / x.len() as f64
}

#[test]
fn records_three_seconds_of_video_and_audio() {
    let path = temp_path("three-seconds.mp4");
    let started = Instant::now();
    let recorder = Recorder::start(&path, WIDTH, HEIGHT, FPS).unwrap();
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| feed(&recorder, &stop, Duration::ZERO, Duration::ZERO));
        std::thread::sleep(Duration::from_secs(3));
        stop.store(true, Ordering::Relaxed);
    });
    let wall = started.elapsed();
    let t0 = Instant::now();
    let summary = recorder.finish().unwrap();
    let finish_time = t0.elapsed();
    println!("{summary:?} after {wall:?} of wall clock, finish took {finish_time:?}");
    assert!(finish_time < Duration::from_secs(3));
    assert_eq!(summary.path, path);
    assert_eq!(summary.bytes, std::fs::metadata(&path).unwrap().len());
    assert!(summary.bytes > 20_000, "{} bytes", summary.bytes);
    assert_eq!(summary.dropped_video + summary.dropped_audio, 0);
    // ~15 fps for ~3 s, minus the start of the encoder.
    assert!(
        (30..=50).contains(&summary.video_frames),
        "{} frames",
        summary.video_frames
    );
    let ratio = summary.duration.as_secs_f64() / wall.as_secs_f64();
    assert!(
        (0.9..=1.1).contains(&ratio),
        "summary duration {:?}",
        summary.duration
    );

    let decoded = decode_file(&path);
    println!("{decoded:?}");
    assert_eq!(decoded.error, None);
    assert_eq!(
        (decoded.width, decoded.height),
        (WIDTH as i32, HEIGHT as i32)
    );
    assert_eq!(decoded.video_frames, summary.video_frames);
    assert_eq!(decoded.audio_rate, 48000);
    let file_duration = decoded.duration.expect("duration");
    for (what, d) in [
        ("file", file_duration),
        ("video", decoded.video_end),
        ("audio", decoded.audio_end),
    ] {
        let ratio = d.as_secs_f64() / wall.as_secs_f64();
        assert!(
            (0.9..=1.1).contains(&ratio),
            "{what} duration {d:?} for {wall:?}"
        );
    }
    assert!(
        decoded.audio_samples as f64 > 0.9 * 48000.0 * wall.as_secs_f64(),
        "{} audio samples",
        decoded.audio_samples
    );
    assert!(
        (decoded.audio_tone / 12000.0 - 1.0).abs() < 0.25,
        "440 Hz tone at {} (sent 12000)",
        decoded.audio_tone
    );
    std::fs::remove_file(&path).unwrap();
}

/// A stream that starts late keeps its place on the recording's timeline
/// (arrival time), so audio and video stay in sync: late video starts with
/// its first picture held from 0, late audio with silence.
#[test]
fn late_stream_keeps_its_place() {
    let late = Duration::from_millis(700);
    let length = Duration::from_millis(2000);
    for (video_from, audio_from) in [(late, Duration::ZERO), (Duration::ZERO, late)] {
        let path = temp_path("late.mp4");
        let recorder = Recorder::start(&path, WIDTH, HEIGHT, FPS).unwrap();
        let stop = AtomicBool::new(false);
        std::thread::scope(|s| {
            s.spawn(|| feed(&recorder, &stop, video_from, audio_from));
            std::thread::sleep(length);
            stop.store(true, Ordering::Relaxed);
        });
        let summary = recorder.finish().unwrap();
        let decoded = decode_file(&path);
        let Decoded { pcm, .. } = &decoded;
        let tone = |from: f64, to: f64| {
            goertzel(
                &pcm[(from * 48000.0) as usize..(to * 48000.0) as usize],
                48000,
                440.0,
            )
        };
        let (before, after) = (tone(0.05, 0.6), tone(0.85, 1.9));
        println!(
            "video from {video_from:?}, audio from {audio_from:?}: {summary:?} \
             {:?}..{:?} video, {:?}..{:?} audio, tone {before:.0} before {late:?}, {after:.0} after",
            decoded.video_start, decoded.video_end, decoded.audio_start, decoded.audio_end
        );
        assert_eq!(decoded.error, None);
        for (what, start, end) in [
            ("video", decoded.video_start, decoded.video_end),
            ("audio", decoded.audio_start, decoded.audio_end),
        ] {
            assert!(
                start.unwrap() < Duration::from_millis(50),
                "{what} starts at {start:?}"
            );
            assert!(
                end.abs_diff(length) < Duration::from_millis(150),
                "{what} ends at {end:?}"
            );
        }
        let frames = (length - video_from).as_secs_f64() * f64::from(FPS);
        assert!(
            (decoded.video_frames as f64 - frames).abs() < 5.0,
            "{} frames, about {frames} expected",
            decoded.video_frames
        );
        if audio_from > Duration::ZERO {
            assert!(
                before < 500.0 && after > 10_000.0,
                "tone {before} then {after}"
            );
        } else {
            assert!(
                before > 10_000.0 && after > 10_000.0,
                "tone {before} then {after}"
            );
        }
        std::fs::remove_file(&path).unwrap();
    }
}

const CHILD_ENV: &str = "CVI_RECORDER_CHILD_PATH";

/// Not a test on its own: the recording process [`killed_recording_is_readable`]
/// SIGKILLs.
#[test]
#[ignore = "run by killed_recording_is_readable in a child process"]
fn recording_child() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    let recorder = Recorder::start(Path::new(&path), WIDTH, HEIGHT, FPS).unwrap();
    let stop = AtomicBool::new(false);
    eprintln!("recording started");
    feed(&recorder, &stop, Duration::ZERO, Duration::ZERO); // until killed
}

/// A recording whose process is killed (SIGKILL, no EOS, no finalization)
/// still plays up to its last complete fragment.
#[test]
fn killed_recording_is_readable() {
    let path = temp_path("killed.mp4");
    let _ = std::fs::remove_file(&path);
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "recording_child", "--ignored", "--nocapture"])
        .env(CHILD_ENV, &path)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    assert!(
        wait_until(Duration::from_secs(10), || path.exists()),
        "child did not start recording"
    );
    std::thread::sleep(Duration::from_millis(3500));
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let recorded = started.elapsed();

    let decoded = decode_file(&path);
    println!(
        "killed after {recorded:?}: {} bytes, {decoded:?}",
        std::fs::metadata(&path).unwrap().len()
    );
    // Fragments are ~1 s: at least two complete ones are in the file.
    assert!(
        decoded.video_end >= Duration::from_millis(1900),
        "video up to {:?}",
        decoded.video_end
    );
    assert!(
        decoded.audio_end >= Duration::from_millis(1900),
        "audio up to {:?}",
        decoded.audio_end
    );
    assert!(
        decoded.video_frames >= 25,
        "{} frames",
        decoded.video_frames
    );
    assert!(decoded.audio_tone > 6000.0, "tone {}", decoded.audio_tone);
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn drop_without_finish_finalizes_and_bad_arguments_fail() {
    let path = temp_path("dropped.mp4");
    {
        let recorder = Recorder::start(&path, WIDTH, HEIGHT, FPS).unwrap();
        let stop = AtomicBool::new(false);
        std::thread::scope(|s| {
            s.spawn(|| feed(&recorder, &stop, Duration::ZERO, Duration::ZERO));
            std::thread::sleep(Duration::from_millis(700));
            stop.store(true, Ordering::Relaxed);
        });
        let t0 = Instant::now();
        drop(recorder);
        println!("drop took {:?}", t0.elapsed());
        assert!(t0.elapsed() < Duration::from_secs(3));
    }
    let decoded = decode_file(&path);
    assert_eq!(decoded.error, None, "{decoded:?}");
    assert!(
        decoded.audio_end >= Duration::from_millis(500),
        "{decoded:?}"
    );
    assert!(decoded.video_frames >= 5, "{decoded:?}");

    std::fs::remove_file(&path).unwrap();
    assert!(Recorder::start(&path, 0, 240, 15).is_err());
    assert!(Recorder::start(&path, 320, 240, 0).is_err());
    assert!(Recorder::start(Path::new("/nonexistent-dir/x.mp4"), 320, 240, 15).is_err());
}
