//! `cvi bench meeting`: load against a running gateway's embedded meetings — VTCs over
//! real SIP/RTP dialling the meetings directly, browsers as str0m WebRTC peers on the
//! meeting page's signalling — and the bare GStreamer reference for the same codec work
//! (`--reference`, run in a process of its own). Prints figures; asserts nothing.
//!
//! All media is encoded once at start (see [`clips`]): the VTC's 720p30 H.264 (2 Mbit/s,
//! IDR every 2 s), the browsers' 720p30 VP8, Opus and PCMU tones. Once everything is up and
//! settled, the gateway's utime+stime (/proc/PID/stat) and RSS are read over `--measure` s;
//! latencies and receive rates count only that window.
//!
//! Latency: passthrough — every VTC access unit carries a user-data SEI with (VTC, frame);
//! from the last RTP packet of frame k leaving the VTC socket to str0m handing the browser
//! that frame (the same process, the same clock). Composite (`--latency`) — the browser's
//! camera switches dark ↔ bright every 2 s; the VTC decodes the composite it receives and
//! the first frame on the new side of the luma midpoint ends the sample; the bare
//! vp8dec → compositor → x264enc → avdec_h264 path is measured the same way first.

mod browser;
mod clips;
mod vtc;

use super::stats::{cpu_time, percentile};
use crate::client::OutputFormat;
use anyhow::{Context, anyhow, bail};
use clips::{Clips, Reference};
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

#[derive(Copy, Clone, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Scenario {
    /// N meetings, each 1 VTC + 1 browser: VTC H.264 → browser as it is; browser VP8 →
    /// decoded → composite → x264 → VTC.
    Passthrough,
    /// N VTCs over the meetings given (round robin), 1 browser per meeting that sends only
    /// audio: the VTCs' H.264 goes to browsers (see --vtc-video for their composite).
    OneWay,
    /// 1 meeting, 1 browser sending VP8 + Opus, N VTCs with identical offers (one view).
    Shared,
    /// As passthrough; run it against a gateway started with `--meet-vtc-video transcode`.
    Transcode,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
enum VideoDir {
    Sendrecv,
    Sendonly,
    /// The VTC sends no video: a pure viewer of its view (what sharing one encode saves).
    Recvonly,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
enum AudioSend {
    Send,
    Mute,
    Inactive,
}

#[derive(clap::Args, Debug)]
pub(crate) struct MeetingArgs {
    /// The gateway's HTTP address (meeting pages, API).
    #[arg(long)]
    http: Option<SocketAddr>,
    /// The gateway's SIP UDP address.
    #[arg(long)]
    sip: Option<SocketAddr>,
    /// Admin token for `GET /api/v1/meetings/{id}/room` (host keys, room status).
    #[arg(long, env = "CVI_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
    /// The provider's tenant key (the user part before the dot of the dial string).
    #[arg(long, default_value = "813878896")]
    tenant_key: String,
    /// SIP domain of the dial string.
    #[arg(long, default_value = "t.plcm.vc")]
    domain: String,
    /// Meetings as MEETING_ID:VIDEO_TELECONFERENCE_ID (repeat or comma-separate).
    #[arg(long = "meeting", value_delimiter = ',')]
    meetings: Vec<String>,
    #[arg(long, value_enum, default_value = "passthrough")]
    scenario: Scenario,
    /// Number of VTCs (calls).
    #[arg(long, default_value_t = 1)]
    vtcs: usize,
    /// Direction on the VTCs' video m-line [default: sendrecv].
    #[arg(long, value_enum, default_value = "sendrecv")]
    vtc_video: VideoDir,
    /// Whether the VTCs send their audio (PCMU) [default: send]; `mute` leaves the audio
    /// m-line up but sends nothing on it (the gateway still sends each VTC its mix);
    /// `inactive` offers `a=inactive` audio: no audio either way, the video stream alone.
    #[arg(long, value_enum, default_value = "send")]
    vtc_audio: AudioSend,
    /// New VTC calls per second.
    #[arg(long, default_value_t = 5.0)]
    rate: f64,
    /// Seconds after everything is up before measuring.
    #[arg(long, default_value_t = 5.0)]
    settle: f64,
    /// Seconds of the measuring window.
    #[arg(long, default_value_t = 20.0)]
    measure: f64,
    /// The gateway's PID (CPU and RSS from /proc).
    #[arg(long)]
    gateway_pid: Option<u32>,
    /// Also measure the composite latency (browser picture dark ↔ bright; the VTC side
    /// decodes what it gets). Use with 1 VTC and 1 browser.
    #[arg(long)]
    latency: bool,
    /// Only run the bare GStreamer reference for this codec work, in this process.
    #[arg(long, value_enum)]
    reference: Option<Reference>,
    /// Composite output rate and bit rate of the reference (what the gateway's view for the
    /// bench VTC uses: 30 fps, 80 % of its b=AS:2048).
    #[arg(long, default_value_t = 30)]
    composite_fps: u32,
    #[arg(long, default_value_t = 1638)]
    composite_kbps: u32,
    /// The reference's CPU (% of a core) and the idle gateway's, for the printed ratios.
    #[arg(long)]
    reference_percent: Option<f64>,
    /// The reference's memory per copy (MB), for the printed memory ratio.
    #[arg(long)]
    reference_mb: Option<f64>,
    #[arg(long)]
    idle_percent: Option<f64>,
    /// The gateway's RSS (MB) before any call, for MB per call [default: read at start].
    #[arg(long)]
    rss_before_mb: Option<f64>,
    #[arg(long)]
    label: Option<String>,
    /// Also append the report as one JSON line to this file.
    #[arg(long)]
    json_out: Option<std::path::PathBuf>,
}

// ---------------------------------------------------------------- shared state

macro_rules! counters {
    ($($name:ident),* $(,)?) => {
        #[derive(Default)]
        pub(super) struct Counters { $(pub $name: AtomicU64,)* }
        impl Counters {
            fn snapshot(&self) -> BTreeMap<&'static str, u64> {
                let mut m = BTreeMap::new();
                $(m.insert(stringify!($name), self.$name.load(Ordering::Relaxed));)*
                m
            }
        }
    };
}

counters!(
    vtc_audio_sent,
    vtc_video_packets_sent,
    vtc_video_frames_sent,
    vtc_audio_received,
    vtc_video_packets_received,
    vtc_video_bytes_received,
    vtc_video_frames_received,
    browser_h264_frames,
    browser_vp8_frames,
    browser_video_bytes,
    browser_audio_frames,
    browser_keyframe_requests,
    browser_video_frames_sent,
    browser_audio_frames_sent,
);

/// What the VTC and browser tasks report.
#[derive(Default)]
pub(super) struct Shared {
    pub c: Counters,
    notes: Mutex<BTreeMap<String, u64>>,
    established: AtomicU64,
    connected: AtomicU64,
    measuring: AtomicBool,
    sent: Mutex<HashMap<(u32, u32), Instant>>,
    passthrough: Mutex<Vec<Duration>>,
    /// The latency browser's camera switches and the VTC's decode of its composite.
    pub composite_marker: LumaMarker,
    /// The latency VTC's camera switches and the browser's decode of what it got.
    pub picture_marker: LumaMarker,
}

/// One latency marker: when the sender's picture turned dark/bright, and the receiver's
/// decode of what arrived (frame index → arrival; the probe's (index, luma)).
#[derive(Default)]
pub(super) struct LumaMarker {
    switches: Mutex<Vec<(Instant, bool)>>,
    arrivals: Mutex<Vec<Instant>>,
    out: Mutex<Option<clips::Lumas>>,
}

impl LumaMarker {
    pub(super) fn switch(&self, at: Instant, bright: bool) {
        if let Ok(mut v) = self.switches.lock() {
            v.push((at, bright));
        }
    }
    pub(super) fn arrival(&self, idx: u64, at: Instant) {
        if let Ok(mut v) = self.arrivals.lock()
            && v.len() as u64 == idx
        {
            v.push(at);
        }
    }
    pub(super) fn set_out(&self, out: clips::Lumas) {
        if let Ok(mut p) = self.out.lock() {
            *p = Some(out);
        }
    }

    /// Latencies from the switches at or after `since` (the first ones fall into the
    /// call's start: no keyframe yet, tracks still opening) to the first decoded frame on
    /// the new side, and the luma range seen (see `clips::switch_latencies`).
    fn latency(&self, since: Instant) -> (LatencySummary, (f64, f64)) {
        let arrivals = self.arrivals.lock().map(|v| v.clone()).unwrap_or_default();
        let out = self
            .out
            .lock()
            .ok()
            .and_then(|p| p.clone())
            .and_then(|o| o.lock().ok().map(|v| v.clone()))
            .unwrap_or_default();
        let frames: Vec<(Instant, f64)> = out
            .iter()
            .filter_map(|(i, l)| Some((*arrivals.get(usize::try_from(*i).ok()?)?, *l)))
            .collect();
        let sw: Vec<(Instant, bool)> = self
            .switches
            .lock()
            .map(|v| v.iter().filter(|(at, _)| *at >= since).copied().collect())
            .unwrap_or_default();
        let (l, lo, hi) = clips::switch_latencies(&sw, &frames);
        (summarize(&l), (lo, hi))
    }
}

impl Shared {
    pub(super) fn add(&self, c: &AtomicU64, n: u64) {
        c.fetch_add(n, Ordering::Relaxed);
    }
    pub(super) fn count(&self, what: &str, n: u64) {
        if let Ok(mut m) = self.notes.lock() {
            *m.entry(what.to_string()).or_default() += n;
        }
    }
    pub(super) fn vtc_established(&self) {
        self.established.fetch_add(1, Ordering::Relaxed);
    }
    pub(super) fn browser_connected(&self) {
        self.connected.fetch_add(1, Ordering::Relaxed);
    }
    pub(super) fn frame_sent(&self, vtc: u32, frame: u32, at: Instant) {
        if let Ok(mut m) = self.sent.lock() {
            if m.len() > 50_000 {
                m.retain(|_, t| at.saturating_duration_since(*t) < Duration::from_secs(2));
            }
            m.insert((vtc, frame), at);
        }
    }
    pub(super) fn frame_delivered(&self, vtc: u32, frame: u32, at: Instant) {
        let sent = self
            .sent
            .lock()
            .ok()
            .and_then(|mut m| m.remove(&(vtc, frame)));
        if let Some(s) = sent
            && self.measuring.load(Ordering::Relaxed)
            && let Ok(mut v) = self.passthrough.lock()
        {
            v.push(at.saturating_duration_since(s));
        }
    }
}

/// The user-data-unregistered SEI each VTC access unit starts with: a fixed UUID, then the
/// VTC and frame numbers as 16 hex digits (no zero bytes: no emulation prevention needed).
const TAG_UUID: &[u8; 16] = b"cvi-bench-frame!";

pub(super) fn frame_tag(vtc: u32, frame: u32) -> Vec<u8> {
    let mut t = vec![0, 0, 0, 1, 0x06, 0x05, 32];
    t.extend_from_slice(TAG_UUID);
    t.extend_from_slice(format!("{vtc:08x}{frame:08x}").as_bytes());
    t.push(0x80);
    t
}

/// The (VTC, frame) of a tagged access unit (the tag is at its start).
pub(super) fn parse_frame_tag(au: &[u8]) -> Option<(u32, u32)> {
    let head = au.get(..au.len().min(256))?;
    let at = head.windows(TAG_UUID.len()).position(|w| w == TAG_UUID)? + TAG_UUID.len();
    let hex = std::str::from_utf8(au.get(at..at + 16)?).ok()?;
    let vtc = u32::from_str_radix(hex.get(..8)?, 16).ok()?;
    let frame = u32::from_str_radix(hex.get(8..)?, 16).ok()?;
    Some((vtc, frame))
}

// ---------------------------------------------------------------- gateway helpers

fn rss_mb(pid: &str) -> Option<f64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: f64 = s
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

fn threads(pid: &str) -> Option<usize> {
    Some(std::fs::read_dir(format!("/proc/{pid}/task")).ok()?.count())
}

async fn room(http: SocketAddr, token: &str, meeting: &str) -> anyhow::Result<Value> {
    let url = format!("http://{http}/api/v1/meetings/{meeting}/room");
    let r = reqwest::Client::new()
        .get(&url)
        .bearer_auth(token)
        .send()
        .await
        .with_context(|| format!("GET {url}"))?;
    let status = r.status();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    anyhow::ensure!(status.is_success(), "GET {url}: {status} {body}");
    Ok(body)
}

// ---------------------------------------------------------------- the report

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct LatencySummary {
    n: usize,
    p50_ms: f64,
    p95_ms: f64,
    max_ms: f64,
}

fn summarize(v: &[Duration]) -> LatencySummary {
    let mut us: Vec<u64> = v
        .iter()
        .map(|d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
        .collect();
    us.sort_unstable();
    let ms = |x: u64| x as f64 / 1000.0;
    LatencySummary {
        n: us.len(),
        p50_ms: ms(percentile(&us, 0.5)),
        p95_ms: ms(percentile(&us, 0.95)),
        max_ms: ms(us.last().copied().unwrap_or(0)),
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Report {
    label: Option<String>,
    scenario: Scenario,
    vtcs: usize,
    vtcs_established: u64,
    browsers: usize,
    browsers_connected: u64,
    meetings: usize,
    vtc_video: VideoDir,
    vtc_audio: AudioSend,
    window_s: f64,
    gateway_cpu_percent: Option<f64>,
    idle_percent: Option<f64>,
    per_call_percent: Option<f64>,
    reference_percent: Option<f64>,
    /// Per call above idle / the bare reference.
    ratio_per_call: Option<f64>,
    calls_per_core: Option<f64>,
    bench_cpu_percent: Option<f64>,
    rss_before_mb: Option<f64>,
    rss_mb: Option<f64>,
    mb_per_call: Option<f64>,
    /// RSS growth per call after the first (libraries and shared parts loaded by then).
    mb_per_further_call: Option<f64>,
    /// The bare reference's memory per further copy (MB) and the ratio of ours (per further
    /// call) to it.
    reference_mb: Option<f64>,
    ratio_mb: Option<f64>,
    threads: Option<usize>,
    /// Per second over the window, all calls together.
    rates: BTreeMap<&'static str, f64>,
    passthrough_latency: LatencySummary,
    composite_latency: Option<LatencySummary>,
    /// The VTC's picture dark ↔ bright → the browser decodes the switch (passthrough or
    /// transcoded, whichever the gateway does; includes the bench's own H.264 decode).
    picture_latency: Option<LatencySummary>,
    picture_luma_range: Option<(f64, f64)>,
    composite_luma_range: Option<(f64, f64)>,
    bare_composite_latency_ms: Option<(f64, f64, usize)>,
    rooms: Vec<Value>,
    notes: BTreeMap<String, u64>,
}

pub(crate) async fn run(a: MeetingArgs, output: OutputFormat) -> anyhow::Result<ExitCode> {
    if let Some(what) = a.reference {
        let window = Duration::from_secs_f64(a.measure.clamp(1.0, 600.0));
        let (fps, kbps) = (a.composite_fps, a.composite_kbps);
        let r = tokio::task::spawn_blocking(move || {
            let clips = Clips::encode(10, false)?;
            let mut r = clips::run_reference(what, &clips, fps, kbps, window, false)?;
            r.mb_per_copy = clips::reference_memory(what, &clips, fps, kbps, || rss_mb("self"))?;
            anyhow::Ok(r)
        })
        .await??;
        match output {
            OutputFormat::Json => println!("{}", serde_json::to_string(&r)?),
            OutputFormat::Table => {
                println!("reference {:?}: {}", r.what, r.pipeline);
                println!(
                    "reference_percent={:.2} frames_out_per_s={:.1} reference_mb={:.1}",
                    r.cpu_percent,
                    r.frames_out_per_s,
                    r.mb_per_copy.unwrap_or(f64::NAN)
                );
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let (Some(http), Some(sip), Some(token)) = (a.http, a.sip, a.admin_token.clone()) else {
        bail!("--http, --sip and --admin-token are required (except with --reference)");
    };
    if a.vtcs == 0 || !(a.rate.is_finite() && a.rate > 0.0) {
        bail!("--vtcs and --rate must be positive");
    }
    let meetings: Vec<(String, String)> = a
        .meetings
        .iter()
        .map(|m| {
            m.split_once(':')
                .map(|(i, v)| (i.to_string(), v.to_string()))
                .ok_or_else(|| anyhow!("--meeting {m}: expected MEETING_ID:VIDEO_ID"))
        })
        .collect::<Result<_, _>>()?;
    // Which meeting each VTC dials, and which meetings have a browser.
    let (vtc_meeting, used): (Vec<usize>, usize) = match a.scenario {
        Scenario::Passthrough | Scenario::Transcode => {
            if meetings.len() < a.vtcs {
                bail!("{:?} needs one meeting per VTC", a.scenario);
            }
            ((0..a.vtcs).collect(), a.vtcs)
        }
        Scenario::OneWay => {
            if meetings.is_empty() {
                bail!("one-way needs at least one --meeting");
            }
            let m = meetings.len().min(a.vtcs);
            ((0..a.vtcs).map(|i| i % m).collect(), m)
        }
        Scenario::Shared => {
            if meetings.is_empty() {
                bail!("shared needs one --meeting");
            }
            (vec![0; a.vtcs], 1)
        }
    };
    let camera = match (a.scenario, a.latency) {
        (Scenario::OneWay, _) => browser::Camera::Off,
        (_, true) => browser::Camera::DarkBright,
        _ => browser::Camera::Clip,
    };
    let pid = a.gateway_pid.map(|p| p.to_string());
    let rss_before = a.rss_before_mb.or_else(|| pid.as_deref().and_then(rss_mb));

    let t = Instant::now();
    let latency = a.latency;
    let (fps, kbps) = (a.composite_fps, a.composite_kbps);
    let (clips, bare_latency) = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let clips = Clips::encode(10, latency)?;
        let bare = if latency {
            clips::run_reference(
                Reference::Composite,
                &clips,
                fps,
                kbps,
                Duration::from_secs(10),
                true,
            )?
            .latency_ms
        } else {
            None
        };
        Ok((Arc::new(clips), bare))
    })
    .await??;
    eprintln!(
        "clips encoded once: H.264 {} frames ({} IDR) {} kB, VP8 {} frames ({} key) {} kB ({:.1} s)",
        clips.h264.len(),
        clips.h264.iter().filter(|f| f.key).count(),
        clips.h264.iter().map(|f| f.data.len()).sum::<usize>() / 1000,
        clips.vp8.len(),
        clips.vp8.iter().filter(|f| f.key).count(),
        clips.vp8.iter().map(|f| f.data.len()).sum::<usize>() / 1000,
        t.elapsed().as_secs_f64()
    );
    if let Some((p50, max, n)) = bare_latency {
        eprintln!("bare composite path latency: p50 {p50:.1} ms, max {max:.1} ms ({n} switches)");
    }

    let shared = Arc::new(Shared::default());
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = Vec::new();
    for (i, (id, _)) in meetings.iter().take(used).enumerate() {
        let r = room(http, &token, id).await?;
        let host_key = r["hostPage"]
            .as_str()
            .and_then(|p| p.split_once("host="))
            .map(|(_, k)| k.to_string());
        let o = browser::BrowserOpts {
            idx: i as u32,
            http,
            meeting: id.clone(),
            host_key,
            camera,
            microphone: true,
            clips: clips.clone(),
            shared: shared.clone(),
            stop: stop_rx.clone(),
        };
        let sh = shared.clone();
        tasks.push(tokio::spawn(async move {
            if let Err(e) = browser::run(o).await {
                sh.count(&format!("browser failed: {e:#}"), 1);
            }
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while (shared.connected.load(Ordering::Relaxed) as usize) < used && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut start = tokio::time::Instant::now();
    let mut rss_first = None;
    let video_dir = match a.vtc_video {
        VideoDir::Sendrecv => "sendrecv",
        VideoDir::Sendonly => "sendonly",
        VideoDir::Recvonly => "recvonly",
    };
    for (i, &m) in vtc_meeting.iter().enumerate() {
        if i == 1
            && let Some(pid) = pid.as_deref()
        {
            // The first call alone, settled: the later calls' memory is measured from here,
            // as the reference's is from its first copy (libraries loaded once).
            let deadline = Instant::now() + Duration::from_secs(30);
            while shared.established.load(Ordering::Relaxed) < 1 && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            tokio::time::sleep(Duration::from_secs_f64(a.settle.clamp(0.0, 600.0))).await;
            rss_first = rss_mb(pid);
            start = tokio::time::Instant::now() - Duration::from_secs_f64(1.0 / a.rate);
        }
        tokio::time::sleep_until(start + Duration::from_secs_f64(i as f64 / a.rate)).await;
        let Some((_, vid)) = meetings.get(m) else {
            continue;
        };
        let o = vtc::VtcOpts {
            idx: i as u32,
            target: sip,
            uri: format!("sip:{}.{vid}@{}", a.tenant_key, a.domain),
            video_dir,
            send_audio: a.vtc_audio == AudioSend::Send,
            audio_dir: if a.vtc_audio == AudioSend::Inactive {
                "inactive"
            } else {
                "sendrecv"
            },
            clips: clips.clone(),
            shared: shared.clone(),
            probe: a.latency && i == 0,
            stop: stop_rx.clone(),
        };
        let sh = shared.clone();
        tasks.push(tokio::spawn(async move {
            if let Err(e) = vtc::run(o).await {
                sh.count(&format!("VTC failed: {e:#}"), 1);
            }
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while (shared.established.load(Ordering::Relaxed) as usize) < a.vtcs
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_secs_f64(a.settle.clamp(0.0, 600.0))).await;

    // The window.
    let c0 = shared.c.snapshot();
    let g0 = pid.as_deref().and_then(cpu_time);
    let s0 = cpu_time("self");
    let t0 = Instant::now();
    shared.measuring.store(true, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs_f64(a.measure.clamp(1.0, 3600.0))).await;
    shared.measuring.store(false, Ordering::Relaxed);
    let c1 = shared.c.snapshot();
    let g1 = pid.as_deref().and_then(cpu_time);
    let s1 = cpu_time("self");
    let wall = t0.elapsed().as_secs_f64();
    let rss = pid.as_deref().and_then(rss_mb);
    let nthreads = pid.as_deref().and_then(threads);
    let mut rooms = Vec::new();
    for (id, _) in meetings.iter().take(used) {
        if let Ok(r) = room(http, &token, id).await {
            rooms.push(r["live"].clone());
        }
    }
    let _ = stop_tx.send(true);
    let end = Instant::now() + Duration::from_secs(15);
    for t in tasks {
        let left = end.saturating_duration_since(Instant::now());
        if tokio::time::timeout(left, t).await.is_err() {
            shared.count("tasks not finished 15 s after the stop", 1);
        }
    }

    let pct = |a: Option<Duration>, b: Option<Duration>| match (a, b) {
        (Some(a), Some(b)) => Some(100.0 * b.saturating_sub(a).as_secs_f64() / wall),
        _ => None,
    };
    let gw = pct(g0, g1);
    let calls = a.vtcs as f64;
    let further = rss
        .zip(rss_first)
        .filter(|_| a.vtcs > 1)
        .map(|(r, first)| (r - first) / (calls - 1.0));
    let per_call = gw.map(|g| (g - a.idle_percent.unwrap_or(0.0)) / calls);
    let rates = c1
        .iter()
        .map(|(k, v)| (*k, (v - c0.get(k).copied().unwrap_or(0)) as f64 / wall))
        .collect();
    let passthrough = summarize(
        &shared
            .passthrough
            .lock()
            .map(|v| v.clone())
            .unwrap_or_default(),
    );
    let (composite_latency, luma_range) = if a.latency {
        let (l, range) = shared.composite_marker.latency(t0);
        (Some(l), Some(range))
    } else {
        (None, None)
    };
    let (picture_latency, picture_luma_range) = if a.latency {
        let (l, range) = shared.picture_marker.latency(t0);
        (Some(l), Some(range))
    } else {
        (None, None)
    };
    let report = Report {
        label: a.label.clone(),
        scenario: a.scenario,
        vtcs: a.vtcs,
        vtcs_established: shared.established.load(Ordering::Relaxed),
        browsers: used,
        browsers_connected: shared.connected.load(Ordering::Relaxed),
        meetings: used,
        vtc_video: a.vtc_video,
        vtc_audio: a.vtc_audio,
        window_s: wall,
        gateway_cpu_percent: gw,
        idle_percent: a.idle_percent,
        per_call_percent: per_call,
        reference_percent: a.reference_percent,
        ratio_per_call: per_call.zip(a.reference_percent).map(|(p, r)| p / r),
        calls_per_core: per_call.map(|p| 100.0 / p),
        bench_cpu_percent: pct(s0, s1),
        rss_before_mb: rss_before,
        rss_mb: rss,
        mb_per_call: rss.zip(rss_before).map(|(r, b)| (r - b) / calls),
        mb_per_further_call: further,
        reference_mb: a.reference_mb,
        ratio_mb: further.zip(a.reference_mb).map(|(f, m)| f / m),
        threads: nthreads,
        rates,
        passthrough_latency: passthrough,
        composite_latency,
        picture_latency,
        picture_luma_range,
        composite_luma_range: luma_range,
        bare_composite_latency_ms: bare_latency,
        rooms,
        notes: shared.notes.lock().map(|n| n.clone()).unwrap_or_default(),
    };
    let json = serde_json::to_string(&report)?;
    if let Some(path) = &a.json_out {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("opening {}", path.display()))?;
        writeln!(f, "{json}")?;
    }
    match output {
        OutputFormat::Json => println!("{json}"),
        OutputFormat::Table => print!("{}", render(&report)),
    }
    Ok(ExitCode::SUCCESS)
}

fn render(r: &Report) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let f = |v: Option<f64>, d: usize| v.map_or("—".to_string(), |v| format!("{v:.d$}"));
    let _ = writeln!(
        s,
        "cvi bench meeting — {:?}{}: {} VTCs ({} up, video {:?}), {} browsers ({} connected), {:.1} s window",
        r.scenario,
        r.label
            .as_deref()
            .map(|l| format!(" [{l}]"))
            .unwrap_or_default(),
        r.vtcs,
        r.vtcs_established,
        r.vtc_video,
        r.browsers,
        r.browsers_connected,
        r.window_s
    );
    let _ = writeln!(
        s,
        "gateway CPU  {} % of a core (idle {} %); per call above idle {} %; reference {} %; ratio {}; calls per core {}",
        f(r.gateway_cpu_percent, 1),
        f(r.idle_percent, 2),
        f(r.per_call_percent, 2),
        f(r.reference_percent, 2),
        f(r.ratio_per_call, 3),
        f(r.calls_per_core, 1),
    );
    let _ = writeln!(
        s,
        "memory       RSS {} MB (before {} MB) = {} MB per call, {} MB each after the first; reference {} MB; ratio {}; {} threads; bench CPU {} %",
        f(r.rss_mb, 0),
        f(r.rss_before_mb, 0),
        f(r.mb_per_call, 1),
        f(r.mb_per_further_call, 1),
        f(r.reference_mb, 1),
        f(r.ratio_mb, 2),
        r.threads.map_or("—".into(), |t| t.to_string()),
        f(r.bench_cpu_percent, 1),
    );
    let _ = writeln!(s, "rates /s     (all calls)");
    for (k, v) in &r.rates {
        let _ = writeln!(s, "  {k:<28}{v:>10.1}");
    }
    let l = &r.passthrough_latency;
    let _ = writeln!(
        s,
        "latency      passthrough VTC → browser: p50 {:.2} ms, p95 {:.2} ms, max {:.2} ms (n {})",
        l.p50_ms, l.p95_ms, l.max_ms, l.n
    );
    if let Some(c) = &r.composite_latency {
        let _ = writeln!(
            s,
            "latency      composite browser → VTC (incl. the bench's VP8 send and H.264 decode): \
             p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms (n {}; luma {:?})",
            c.p50_ms, c.p95_ms, c.max_ms, c.n, r.composite_luma_range
        );
    }
    if let Some(c) = &r.picture_latency {
        let _ = writeln!(
            s,
            "latency      VTC picture → browser (dark ↔ bright; incl. the bench's H.264 decode): \
             p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms (n {}; luma {:?})",
            c.p50_ms, c.p95_ms, c.max_ms, c.n, r.picture_luma_range
        );
    }
    if let Some((p50, max, n)) = r.bare_composite_latency_ms {
        let _ = writeln!(
            s,
            "latency      bare vp8dec→compositor→x264enc→avdec_h264: p50 {p50:.1} ms, max {max:.1} ms (n {n})"
        );
        if let Some(c) = &r.composite_latency {
            let _ = writeln!(
                s,
                "latency      composite added by the gateway (p50 − bare p50): {:.1} ms",
                c.p50_ms - p50
            );
        }
    }
    for room in &r.rooms {
        let _ = writeln!(
            s,
            "room         encoders {} decoders {} views {} watching {}",
            room["compositeEncoders"],
            room["decoders"],
            room["views"]
                .as_array()
                .map(|v| v
                    .iter()
                    .map(|v| format!(
                        "{}:{}x{}({} tiles)",
                        v["view"].as_str().unwrap_or("?"),
                        v["width"],
                        v["height"],
                        v["tiles"].as_array().map_or(0, |t| t.len())
                    ))
                    .collect::<Vec<_>>()
                    .join(","))
                .unwrap_or_default(),
            room["watching"]
        );
        let _ = writeln!(
            s,
            "  sends      {} packets to browsers in {} sends (UDP GSO batches; since the room opened)",
            room["packetsToBrowsers"], room["sendsToBrowsers"]
        );
    }
    for (k, v) in &r.notes {
        let _ = writeln!(s, "  note       {v} × {k}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_tags_round_trip_and_garbage_is_none() {
        let mut au = frame_tag(7, 123_456);
        au.extend_from_slice(&[0, 0, 0, 1, 0x65, 1, 2, 3]);
        assert_eq!(parse_frame_tag(&au), Some((7, 123_456)));
        assert!(!frame_tag(0, 0).windows(3).any(|w| w == [0, 0, 3]));
        assert_eq!(parse_frame_tag(&[0, 0, 0, 1, 0x65]), None);
        assert_eq!(parse_frame_tag(&au[..au.len() - 30]), None);
    }
}
