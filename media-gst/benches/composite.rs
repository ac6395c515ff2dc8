//! Composite mixer cost at 1280×720 30 fps: `cargo bench -p cvi-media-gst --bench composite`.
//!
//! Input: two 640×360 30 fps VP8 clips with real motion, encoded once up
//! front (`videotestsrc pattern=ball` — a moving ball — and
//! `videotestsrc pattern=smpte horizontal-speed=4` — the bars scrolling),
//! 10 s each, looped, pushed at 30 fps. Output: both side by side in a
//! 1280×720 30 fps H.264 picture (x264 ultrafast/zerolatency, 2500 kbit/s).
//!
//! Measures process CPU (getrusage: user + system) per second of media, for the bare GStreamer pipeline doing the
//! same codec work and for the [`Mixer`], plus the marginal cost of more
//! subscribers / outputs and the RSS per output. Prints figures, asserts
//! nothing. `COMPOSITE_BENCH_SECS` sets the measuring window (default 8 s).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use cvi_media_gst::{
    CompositeLayout, CompositeSubscription, H264Profile, Mixer, SlateParams, TileSpec, VideoCodec,
};
use gst::prelude::*;

const FPS: u64 = 30;
const WARMUP: Duration = Duration::from_secs(2);

type Clip = Arc<Vec<(Vec<u8>, bool)>>;

fn main() {
    cvi_media_gst::init().expect("GStreamer");
    let secs = std::env::var("COMPOSITE_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(8u64);
    let window = Duration::from_secs(secs);
    println!("composite bench: 1280x720@30 out, 2x VP8 640x360@30 in, {secs} s windows");
    let t = Instant::now();
    let ball = encode("videotestsrc pattern=ball");
    let bars = encode("videotestsrc pattern=smpte horizontal-speed=4");
    println!(
        "clips: {} + {} frames, {} + {} kB ({:.1} s to encode)",
        ball.len(),
        bars.len(),
        ball.iter().map(|f| f.0.len()).sum::<usize>() / 1000,
        bars.iter().map(|f| f.0.len()).sum::<usize>() / 1000,
        t.elapsed().as_secs_f64()
    );

    let mut bare_runs = Vec::new();
    let mut mixer_runs = Vec::new();
    for round in 1..=2 {
        let bare = run_bare(&ball, &bars, window);
        println!(
            "[{round}] bare pipeline : {:.3} CPU s per media s ({:.1} fps out)",
            bare.cpu, bare.fps
        );
        bare_runs.push(bare.cpu);
        let mixed = run_mixer(&ball, &bars, window, round == 2);
        println!(
            "[{round}] Mixer, 1 output: {:.3} CPU s per media s ({:.1} fps out)",
            mixed.cpu, mixed.fps
        );
        mixer_runs.push(mixed.cpu);
    }
    let bare = mean(&bare_runs);
    let mixed = mean(&mixer_runs);
    println!(
        "ratio Mixer / bare: {:.3} (bare {bare:.3}, Mixer {mixed:.3}; target <= 1.15)",
        mixed / bare
    );
}

struct Run {
    cpu: f64,
    fps: f64,
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

/// 300 frames (10 s) of 640×360 30 fps VP8.
fn encode(source: &str) -> Clip {
    let desc = format!(
        "{source} num-buffers=300 ! video/x-raw,width=640,height=360,framerate=30/1 ! \
         vp8enc deadline=1 cpu-used=4 end-usage=cbr target-bitrate=1000000 \
           keyframe-max-dist=10000 ! appsink name=sink sync=false"
    );
    let pipeline = gst::parse::launch(&desc)
        .expect("clip pipeline")
        .downcast::<gst::Pipeline>()
        .expect("pipeline");
    let sink = pipeline
        .by_name("sink")
        .and_then(|s| s.downcast::<gst_app::AppSink>().ok())
        .expect("appsink");
    pipeline.set_state(gst::State::Playing).expect("play");
    let mut frames = Vec::new();
    while let Some(sample) = sink.try_pull_sample(gst::ClockTime::from_seconds(10)) {
        let buffer = sample.buffer().expect("buffer");
        let key = !buffer.flags().contains(gst::BufferFlags::DELTA_UNIT);
        frames.push((buffer.map_readable().expect("map").to_vec(), key));
    }
    let _ = pipeline.set_state(gst::State::Null);
    Arc::new(frames)
}

/// Calls `push(i)` at 30 fps until `stop`.
fn feeder(stop: Arc<AtomicBool>, mut push: impl FnMut(usize) + Send + 'static) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let start = Instant::now();
        let mut i = 0usize;
        while !stop.load(Ordering::Relaxed) {
            push(i);
            i += 1;
            let due = start + Duration::from_nanos(i as u64 * 1_000_000_000 / FPS);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
        }
    })
}

/// CPU seconds and output frames over `window`, after the warm-up.
fn measure(window: Duration, frames: &AtomicU64) -> Run {
    std::thread::sleep(WARMUP);
    let (c0, f0, t0) = (
        cpu_seconds(),
        frames.load(Ordering::Relaxed),
        Instant::now(),
    );
    std::thread::sleep(window);
    let (c1, f1, t1) = (
        cpu_seconds(),
        frames.load(Ordering::Relaxed),
        Instant::now(),
    );
    let wall = (t1 - t0).as_secs_f64();
    Run {
        cpu: (c1 - c0) / wall,
        fps: (f1 - f0) as f64 / wall,
    }
}

fn run_bare(ball: &Clip, bars: &Clip, window: Duration) -> Run {
    let src = "is-live=true format=time do-timestamp=true caps=video/x-vp8";
    let desc = format!(
        "compositor name=mix background=black \
           sink_0::zorder=0 \
           sink_1::xpos=0 sink_1::ypos=180 sink_1::width=640 sink_1::height=360 sink_1::zorder=10 \
           sink_2::xpos=640 sink_2::ypos=180 sink_2::width=640 sink_2::height=360 sink_2::zorder=10 ! \
         video/x-raw,format=I420,width=1280,height=720,framerate=30/1,colorimetry=bt709,\
           chroma-site=mpeg2 ! \
         x264enc tune=zerolatency speed-preset=ultrafast aud=false bitrate=2500 key-int-max=300 ! \
         video/x-h264,profile=constrained-baseline,stream-format=byte-stream,alignment=au ! \
         appsink name=sink sync=false max-buffers=32 drop=true \
         videotestsrc is-live=true pattern=solid-color foreground-color=4280163898 ! \
           video/x-raw,format=I420,width=1280,height=720,framerate=30/1,colorimetry=bt709,\
           chroma-site=mpeg2 ! mix.sink_0 \
         appsrc name=a {src} ! vp8dec ! mix.sink_1 \
         appsrc name=b {src} ! vp8dec ! mix.sink_2"
    );
    let pipeline = gst::parse::launch(&desc)
        .expect("bare pipeline")
        .downcast::<gst::Pipeline>()
        .expect("pipeline");
    for pad in ["sink_1", "sink_2"] {
        if let Some(pad) = pipeline.by_name("mix").and_then(|m| m.static_pad(pad)) {
            pad.set_property_from_str("sizing-policy", "keep-aspect-ratio");
        }
    }
    let get_src = |name: &str| {
        pipeline
            .by_name(name)
            .and_then(|s| s.downcast::<gst_app::AppSrc>().ok())
            .expect("appsrc")
    };
    let (a, b) = (get_src("a"), get_src("b"));
    let sink = pipeline
        .by_name("sink")
        .and_then(|s| s.downcast::<gst_app::AppSink>().ok())
        .expect("appsink");
    let frames = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&frames);
    sink.set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |sink| {
                let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                // Same per-frame work as the Mixer's output: one copy out.
                if let Some(buffer) = sample.buffer()
                    && let Ok(map) = buffer.map_readable()
                {
                    std::hint::black_box(map.as_slice().to_vec());
                }
                counter.fetch_add(1, Ordering::Relaxed);
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );
    pipeline.set_state(gst::State::Playing).expect("play");
    let stop = Arc::new(AtomicBool::new(false));
    let (ball, bars) = (Arc::clone(ball), Arc::clone(bars));
    let feed = feeder(Arc::clone(&stop), move |i| {
        for (src, clip) in [(&a, &ball), (&b, &bars)] {
            if let Some((data, _)) = clip.get(i % clip.len()) {
                let _ = src.push_buffer(gst::Buffer::from_slice(data.clone()));
            }
        }
    });
    let run = measure(window, &frames);
    stop.store(true, Ordering::Relaxed);
    let _ = feed.join();
    let _ = pipeline.set_state(gst::State::Null);
    run
}

fn tiles(swap: bool) -> CompositeLayout {
    let tile = |source, x, label: &str| TileSpec {
        source,
        x,
        y: 180,
        w: 640,
        h: 360,
        label: label.into(),
        muted: false,
    };
    let (l, r) = if swap { (2, 1) } else { (1, 2) };
    CompositeLayout {
        tiles: vec![tile(l, 0, "Ball"), tile(r, 640, "Bars")],
        notice: None,
    }
}

/// Counts the frames of a subscription on its own thread.
fn consume(
    mut sub: CompositeSubscription,
    stop: Arc<AtomicBool>,
) -> (Arc<AtomicU64>, JoinHandle<()>) {
    let frames = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&frames);
    let handle = std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            match sub.blocking_recv() {
                Ok(frame) => {
                    std::hint::black_box(&frame.data);
                    counter.fetch_add(1, Ordering::Relaxed);
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(_) => break,
            }
        }
    });
    (frames, handle)
}

fn run_mixer(ball: &Clip, bars: &Clip, window: Duration, extras: bool) -> Run {
    let params = SlateParams {
        width: 1280,
        height: 720,
        fps: 30,
        bitrate_kbps: 2500,
        profile: H264Profile::ConstrainedBaseline,
        max_nal_bytes: None,
    };
    let mixer = Mixer::new().expect("mixer");
    let stop = Arc::new(AtomicBool::new(false));
    let (ball, bars) = (Arc::clone(ball), Arc::clone(bars));
    let m = mixer.clone();
    let feed = feeder(Arc::clone(&stop), move |i| {
        for (id, clip) in [(1u64, &ball), (2, &bars)] {
            if let Some((data, key)) = clip.get(i % clip.len()) {
                m.push(id, VideoCodec::Vp8, data, *key);
            }
        }
    });
    std::thread::sleep(Duration::from_millis(300));
    let rss0 = rss_kib();
    let sub = mixer
        .output("main", &params, &tiles(false))
        .expect("output");
    let (frames, h1) = consume(sub, Arc::clone(&stop));
    let one = measure(window, &frames);
    let rss1 = rss_kib();
    let mut handles = vec![h1];
    if extras {
        println!(
            "    RSS of the first output (incl. 2 decoders warm): {:+} MiB",
            (rss1 - rss0) / 1024
        );
        // (3) 2nd and 3rd subscriber of the same (view, params).
        let more: Vec<_> = (0..2)
            .map(|_| {
                let sub = mixer
                    .output("main", &params, &tiles(false))
                    .expect("output");
                consume(sub, Arc::clone(&stop))
            })
            .collect();
        let three = measure(window, &frames);
        println!(
            "    2nd+3rd subscriber, same (view, params): {:+.3} CPU s/s each ({:.1}% of the first output's {:.3}); encoders {}",
            (three.cpu - one.cpu) / 2.0,
            100.0 * (three.cpu - one.cpu) / 2.0 / one.cpu,
            one.cpu,
            mixer.active_encoders()
        );
        let rss2 = rss_kib();
        println!("    RSS per extra subscriber: {:+} KiB", (rss2 - rss1) / 2);
        handles.extend(more.into_iter().map(|(_, h)| h));
        // (4) a 2nd output with another view: decoding shared.
        let rss3 = rss_kib();
        let other = mixer
            .output("other", &params, &tiles(true))
            .expect("output");
        let (other_frames, h) = consume(other, Arc::clone(&stop));
        handles.push(h);
        let two = measure(window, &frames);
        let rss4 = rss_kib();
        println!(
            "    2nd output, other view: {:+.3} CPU s/s ({:.0}% of the first; {:.1} fps); decoders {}, encoders {}",
            two.cpu - three.cpu,
            100.0 * (two.cpu - three.cpu) / one.cpu,
            other_frames.load(Ordering::Relaxed) as f64 / (WARMUP + window).as_secs_f64(),
            mixer.active_decoders(),
            mixer.active_encoders()
        );
        println!("    RSS of the 2nd output: {:+} MiB", (rss4 - rss3) / 1024);
    }
    stop.store(true, Ordering::Relaxed);
    let _ = feed.join();
    drop(mixer);
    for h in handles {
        let _ = h.join();
    }
    // Let the reaper wind the pipelines down before the next run.
    std::thread::sleep(Duration::from_millis(500));
    one
}

/// Process CPU (user + system) from getrusage(RUSAGE_SELF).
fn cpu_seconds() -> f64 {
    use nix::sys::resource::{UsageWho, getrusage};
    use nix::sys::time::TimeValLike;
    match getrusage(UsageWho::RUSAGE_SELF) {
        Ok(u) => {
            (u.user_time().num_microseconds() + u.system_time().num_microseconds()) as f64 / 1e6
        }
        Err(_) => 0.0,
    }
}

fn rss_kib() -> i64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next().and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}
