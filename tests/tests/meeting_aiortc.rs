//! The embedded meeting with an independent WebRTC stack: aiortc (Python, PyPI) joins the
//! meeting's WebSocket as its organizer (`tests/py/aiortc_peer.py`, the same protocol as
//! meet.js), sending a moving blue rectangle and a 440 Hz tone; baresip, its camera an mp4,
//! dials the meeting directly, waits in the lobby and is admitted by the peer. Then, from both
//! ends: the peer decodes the VTC's video (640×360, frames rising) and hears it; baresip's
//! composite shows the peer's blue picture, moving, in the peer's tile (where the room API
//! says it is) and baresip hears the 440 Hz tone; the VTC is in the peer's roster as a video
//! device; recording turns on and off from the peer.
//!
//! Needs `python3` with the packages of `tests/PYTHON_PACKAGES` (scripts/test installs them).
//! `CVI_E2E_ECHO=1` echoes the peer's output live; `CVI_E2E_AIORTC_VERBOSE=1` adds the SDP
//! and aiortc's debug log; `CVI_E2E_SCREENSHOTS=<dir>` keeps the VTC's picture and audio.

mod sip_support;

use anyhow::{Context, Result, bail, ensure};
use cvi_e2e::baresip::{Audio, Baresip, BaresipOpts, Video};
use cvi_e2e::media_check::{Rgb, Wav, png_size, test_clip, tone_hz};
use cvi_e2e::proc::{ChildGuard, Stream, require_binary};
use cvi_e2e::{CallEvent, Transport};
use serde_json::Value;
use sip_support::{Gateway, KEY_LOCAL, Opts};
use std::process::Command;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(20);
/// The peer quits by itself after this long (the test takes well under a minute).
const PEER_LIFETIME: Duration = Duration::from_secs(90);
const PEER_SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/py/aiortc_peer.py");

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or(0.0)
}

/// `tests/py/aiortc_peer.py` under a [`ChildGuard`] (its process group is killed on drop);
/// JSON lines on stdout, its log on stderr, commands on stdin.
struct PyPeer {
    proc: ChildGuard,
}

impl Drop for PyPeer {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.proc.stop(Duration::from_secs(2));
            self.proc.drain(Duration::from_secs(1));
            let lines = self.proc.lines();
            let err: Vec<_> = lines
                .iter()
                .filter(|l| l.stream == Stream::Stderr)
                .collect();
            eprintln!("----- aiortc peer stderr ({} lines) -----", err.len());
            for l in err.iter().skip(err.len().saturating_sub(200)) {
                eprintln!("[{:>8.3}] {}", l.at.as_secs_f64(), l.text);
            }
            eprintln!("----- end of aiortc peer stderr -----");
        }
    }
}

impl PyPeer {
    /// Fails, naming the package, when python3 or aiortc is missing.
    fn check_installed() -> Result<()> {
        let python = require_binary("python3", "python3")?;
        let out = Command::new(&python)
            .args([
                "-c",
                "import aiortc, aioice, av, websockets; print(aiortc.__version__)",
            ])
            .output()
            .context("running python3")?;
        ensure!(
            out.status.success(),
            "the Python package aiortc (PyPI) or one it needs is not importable by {}: {}\n\
             install them with `python3 -m pip install -r tests/PYTHON_PACKAGES` \
             (./scripts/test does this)",
            python.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
        println!(
            "aiortc {} ({})",
            String::from_utf8_lossy(&out.stdout).trim(),
            python.display()
        );
        Ok(())
    }

    fn start(ws: &str, name: &str) -> Result<PyPeer> {
        let lifetime = PEER_LIFETIME.as_secs().to_string();
        let mut args = vec![
            PEER_SCRIPT,
            "--ws",
            ws,
            "--name",
            name,
            "--lifetime",
            &lifetime,
        ];
        // CVI_E2E_AIORTC_VERBOSE=1: the SDP and aiortc's own debug log on stderr.
        if std::env::var_os("CVI_E2E_AIORTC_VERBOSE").is_some_and(|v| v != "0") {
            args.push("--verbose");
        }
        let proc = ChildGuard::spawn_with(
            "aiortc-peer",
            "python3",
            args,
            PEER_LIFETIME + Duration::from_secs(10),
            |c| {
                c.env("PYTHONUNBUFFERED", "1");
            },
        )?;
        Ok(PyPeer { proc })
    }

    /// Every JSON object the peer printed so far.
    fn messages(&self) -> Vec<Value> {
        self.proc
            .lines()
            .iter()
            .filter(|l| l.stream == Stream::Stdout)
            .filter_map(|l| serde_json::from_str::<Value>(&l.text).ok())
            .collect()
    }

    /// The latest stats line.
    fn stats(&self) -> Option<Value> {
        self.messages()
            .into_iter()
            .rev()
            .find(|m| m["type"] == "stats")
    }

    /// Waits for a message that satisfies `pred` (stats lines come once a second); fails if
    /// the peer exits first.
    fn wait(&self, what: &str, timeout: Duration, pred: impl Fn(&Value) -> bool) -> Result<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(m) = self.messages().into_iter().rev().find(|m| pred(m)) {
                return Ok(m);
            }
            self.proc.ensure_running()?;
            if Instant::now() > deadline {
                bail!(
                    "the aiortc peer never showed {what} within {timeout:?}; its last stats: {}",
                    self.stats().unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits for a stats line newer than now that satisfies `pred`.
    fn wait_stats(
        &self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Result<Value> {
        let after = self.stats().map(|s| f(&s["t"])).unwrap_or(-1.0);
        self.wait(what, timeout, |m| {
            m["type"] == "stats" && f(&m["t"]) > after && pred(m)
        })
    }

    fn command(&self, line: &str) -> Result<()> {
        self.proc.ensure_running()?;
        self.proc.send_line(line)
    }
}

/// The fraction of the rectangle (fractions of the picture) that is clearly blue, and the
/// mean x (fraction of the picture) of those pixels.
fn blue_in(img: &Rgb, x0: f64, y0: f64, x1: f64, y1: f64) -> (f64, f64) {
    let (w, h) = (f64::from(img.width), f64::from(img.height));
    let (mut n, mut blue, mut sum_x) = (0u64, 0u64, 0f64);
    for y in ((y0 * h) as usize)..((y1 * h) as usize).min(img.height as usize) {
        for x in ((x0 * w) as usize)..((x1 * w) as usize).min(img.width as usize) {
            let i = (y * img.width as usize + x) * 3;
            let Some(&[r, g, b]) = img.pixels.get(i..i + 3) else {
                continue;
            };
            n += 1;
            let (r, g, b) = (i32::from(r), i32::from(g), i32::from(b));
            if b > 150 && b - r > 90 && b - g > 90 {
                blue += 1;
                sum_x += x as f64;
            }
        }
    }
    if n == 0 || blue == 0 {
        return (0.0, 0.0);
    }
    (blue as f64 / n as f64, sum_x / blue as f64 / w)
}

#[test]
fn aiortc_peer_and_vtc_see_and_hear_each_other() {
    // Everything lives here so that a failure (a panic below) shows the gateway's log and
    // the peer's stderr while their guards drop.
    if let Err(e) = PyPeer::check_installed() {
        panic!("{e:#}");
    }
    let gw = Gateway::start(Opts::default()).expect("starting the gateway");
    let dir = tempfile::tempdir().expect("temp dir");
    let mut peer = None;
    let mut vtc = None;
    if let Err(e) = scenario(&gw, dir.path(), &mut peer, &mut vtc) {
        panic!("{e:#}");
    }
}

fn scenario(
    gw: &Gateway,
    dir: &std::path::Path,
    peer_slot: &mut Option<PyPeer>,
    vtc_slot: &mut Option<Baresip>,
) -> Result<()> {
    let t0 = Instant::now();
    let (vid, meeting) = gw.provision_meeting()?;
    let links = gw.room(&meeting)?;
    let host_page = links["hostPage"].as_str().context("hostPage")?;
    // The page `/meet/{id}?host=KEY` talks on `/meet/{id}/ws?host=KEY`.
    let (path, query) = host_page
        .split_once('?')
        .context("hostPage has no host key")?;
    let ws = format!("ws://{}{path}/ws?{query}", gw.http);

    let peer = peer_slot.insert(PyPeer::start(&ws, "Robot")?);
    let joined = peer.wait("joined", WAIT, |m| m["type"] == "joined")?;
    ensure!(joined["host"] == true, "not joined as the host: {joined}");
    let me = joined["id"].as_str().context("joined id")?.to_string();
    let s = peer.wait_stats("its media connected", WAIT, |s| {
        s["connection"] == "connected"
    })?;
    println!(
        "aiortc peer {me} connected after {:.1} s: {s}",
        t0.elapsed().as_secs_f64()
    );

    let b = vtc_slot.insert(Baresip::start(BaresipOpts {
        user: "boardroom".into(),
        audio_codecs: Some("PCMU".into()),
        audio: Audio::Sine,
        video: Video::File(test_clip(dir, 640, 360, 30)?),
        extra_config: vec!["video_size 640x360".into()],
        record: true,
        ..BaresipOpts::default()
    })?);
    b.dial(&format!("sip:{KEY_LOCAL}.{vid}@{}", gw.sip), Transport::Udp)?;
    b.wait_for(&CallEvent::Established, WAIT)?;

    // The organizer sees the VTC waiting and lets it in.
    let lobby = peer.wait("the VTC in the lobby", WAIT, |m| {
        m["type"] == "lobby" && m["waiting"].as_array().is_some_and(|w| w.len() == 1)
    })?;
    let waiting = &lobby["waiting"][0];
    ensure!(waiting["name"] == "boardroom", "lobby: {lobby}");
    let vtc = waiting["id"].as_str().context("lobby id")?.to_string();
    peer.command(&format!("admit {vtc}"))?;
    // The roster and the lobby come in two messages: wait for both.
    let s = peer.wait_stats(
        "the VTC in its roster as a video device, the lobby empty",
        WAIT,
        |s| {
            s["lobby"].as_array().is_some_and(Vec::is_empty)
                && s["roster"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|p| p["id"] == vtc.as_str() && p["kind"] == "video_device")
        },
    )?;
    println!("roster after admitting {vtc}: {}", s["roster"]);

    // Peer side: the VTC's H.264 decodes at 640×360, and its sine is loud.
    let s1 = peer.wait_stats("the VTC's video and audio", Duration::from_secs(30), |s| {
        let p = &s["participants"][vtc.as_str()];
        f(&p["videoFrames"]) > 30.0 && f(&p["rms"]) > 1000.0
    })?;
    let p1 = s1["participants"][vtc.as_str()].clone();
    println!("aiortc receives the VTC: {p1}");
    ensure!(
        (f(&p1["width"]), f(&p1["height"])) == (640.0, 360.0),
        "the VTC's video decodes at {}x{}",
        p1["width"],
        p1["height"]
    );
    std::thread::sleep(Duration::from_secs(2));
    let s2 = peer.wait_stats("fresh stats", WAIT, |_| true)?;
    let p2 = &s2["participants"][vtc.as_str()];
    let fps = (f(&p2["videoFrames"]) - f(&p1["videoFrames"])) / (f(&s2["t"]) - f(&s1["t"]));
    println!(
        "two seconds later: {p2} ({fps:.1} frames/s; {} frames failed to decode before)",
        s2["decodeErrors"]
    );
    ensure!(
        fps > 5.0 && f(&p2["audioFrames"]) > f(&p1["audioFrames"]) && f(&p2["rms"]) > 1000.0,
        "the VTC's media to the peer stopped: {p1} then {p2}"
    );
    ensure!(
        s2["decodeErrors"] == s1["decodeErrors"],
        "aiortc failed to decode frames while the video flowed: {} then {}",
        s1["decodeErrors"],
        s2["decodeErrors"]
    );

    // VTC side: the composite has the peer in a tile (the room says where) showing its blue
    // rectangle, which moves.
    let (tile, (vw, vh)) = gw.tile_in_view(&meeting, &vtc, &me)?;
    println!("the VTC's view is {vw}x{vh}; the peer's tile {tile}");
    let (tx, ty, tw, th) = (
        f(&tile["x"]) / vw,
        f(&tile["y"]) / vh,
        f(&tile["w"]) / vw,
        f(&tile["h"]) / vh,
    );
    let deadline = Instant::now() + WAIT;
    let mut seen: Vec<f64> = Vec::new();
    let (centre, whole) = loop {
        let png = b.received_frame(Duration::from_secs(5))?;
        let img = Rgb::from_png(&png)?;
        ensure!(
            (f64::from(img.width), f64::from(img.height)) == (vw, vh),
            "baresip decodes {}x{}, the view is {vw}x{vh}",
            img.width,
            img.height
        );
        // The middle of the peer's picture is always blue; the rectangle's centre moves.
        let centre = img.mean(tx + tw * 0.45, ty + th * 0.4, tx + tw * 0.55, ty + th * 0.6);
        let whole = blue_in(&img, tx, ty, tx + tw, ty + th);
        let blue =
            centre[2] > 150.0 && centre[2] - centre[0] > 80.0 && centre[2] - centre[1] > 80.0;
        if blue && whole.0 > 0.2 {
            seen.push((whole.1 - tx) / tw);
        }
        let (lo, hi) = seen
            .iter()
            .fold((f64::MAX, f64::MIN), |(a, b), &x| (a.min(x), b.max(x)));
        if seen.len() >= 2 && hi - lo > 0.03 {
            if let Some(dir) = std::env::var_os("CVI_E2E_SCREENSHOTS") {
                let _ = std::fs::create_dir_all(&dir);
                let _ = std::fs::copy(&png, std::path::Path::new(&dir).join("aiortc-vtc.png"));
            }
            break (centre, whole);
        }
        ensure!(
            Instant::now() < deadline,
            "baresip's picture never showed the peer's moving blue rectangle in its tile \
             (centre colour {centre:?}, blue fraction {:.2}, rectangle centres seen {seen:?})",
            whole.0
        );
        std::thread::sleep(Duration::from_millis(250));
    };
    println!(
        "baresip sees the peer's tile: centre colour {centre:?}, {:.0} % blue, \
         the rectangle's centre at {seen:.2?} of the tile",
        whole.0 * 100.0
    );
    let (w, h) = png_size(&b.received_frame(Duration::from_secs(5))?)?;
    println!("baresip decodes {w}x{h}");

    // The peer's tone reaches the VTC (measured before recording starts: its spoken notice
    // goes into the VTC's audio). The recording is read while the call goes on.
    let wav_path = b.received_audio()?;
    let wav = Wav::read(&wav_path)?;
    let end = wav.duration_secs() - 0.2;
    let rms = wav.rms(end - 3.0, end);
    // The tone's frequency in half-second windows: their median, so that one glitch (a lost
    // packet on a busy machine) does not move it.
    let mut windows: Vec<f64> = (0..6)
        .map(|i| {
            let a = end - 3.0 + f64::from(i) * 0.5;
            tone_hz(&wav, a, a + 0.5)
        })
        .collect();
    println!(
        "baresip has heard the meeting for {:.1} s: the last 3 s at rms {rms:.0}, \
         {windows:.1?} Hz in half seconds",
        wav.duration_secs()
    );
    // Where audio could go missing on the way: the mixer's playout buffer for the peer, and
    // the call's audio counters.
    let room = gw.room(&meeting)?;
    println!("the mixer's playout: {}", room["live"]["mixAudio"]);
    for c in gw.calls()? {
        println!("the call's audio: {}", c["media"]["audio"]);
    }
    windows.sort_by(f64::total_cmp);
    let hz = (windows[2] + windows[3]) / 2.0;
    if let Some(dir) = std::env::var_os("CVI_E2E_SCREENSHOTS") {
        let _ = std::fs::copy(&wav_path, std::path::Path::new(&dir).join("aiortc-vtc.wav"));
    }
    ensure!(
        rms > 1000.0,
        "the peer's tone did not reach the VTC (rms {rms:.0})"
    );
    ensure!(
        (hz - 440.0).abs() < 10.0,
        "the VTC hears {hz:.1} Hz, not the peer's 440 Hz"
    );

    // Recording from the peer: the state comes back, the room shows it.
    peer.command("recording on")?;
    peer.wait_stats("recording on", WAIT, |s| s["state"]["recording"] == true)?;
    ensure!(gw.room(&meeting)?["live"]["recording"] == true);
    peer.command("recording off")?;
    peer.wait_stats("recording off", WAIT, |s| s["state"]["recording"] == false)?;

    // The VTC leaves: the peer's roster follows.
    b.hangup()?;
    b.wait_for(&CallEvent::local_hangup(), WAIT)?;
    peer.wait_stats("the VTC gone from its roster", WAIT, |s| {
        !s["roster"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|p| p["id"] == vtc.as_str())
    })?;

    // The peer leaves when told to, by itself and cleanly.
    peer.command("quit")?;
    let status = peer
        .proc
        .wait_exit(Duration::from_secs(10))
        .context("the aiortc peer did not exit within 10 s of `quit`")?;
    peer.proc.drain(Duration::from_secs(2));
    let exit = peer
        .messages()
        .into_iter()
        .rev()
        .find(|m| m["type"] == "exit")
        .unwrap_or_default();
    ensure!(
        status.success() && exit["reason"] == "quit",
        "the aiortc peer ended with {status}: {exit}"
    );
    let errors = peer
        .messages()
        .into_iter()
        .filter(|m| m["type"] == "error")
        .collect::<Vec<_>>();
    ensure!(errors.is_empty(), "the peer saw errors: {errors:?}");
    let last = peer.stats().unwrap_or_default();
    ensure!(
        last["errors"].as_array().is_some_and(Vec::is_empty),
        "the peer's last stats show errors: {last}"
    );
    let log = gw.log();
    let warnings: Vec<&str> = log
        .lines()
        .filter(|l| l.contains(" WARN ") || l.contains(" ERROR "))
        .collect();
    println!("the gateway logged {} warnings or errors", warnings.len());
    for l in warnings.iter().take(10) {
        println!("  {l}");
    }
    println!("done in {:.1} s", t0.elapsed().as_secs_f64());
    Ok(())
}
