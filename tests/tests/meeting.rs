//! The embedded meeting end to end: headless Chromium (fake camera and microphone) joins a
//! meeting's page as its organizer; baresip, its camera an mp4 with motion, dials the
//! meeting directly, waits in the lobby and is admitted from the page. Then, from both
//! ends: the browser decodes the VTC's video and hears it; baresip decodes the composite
//! (the browser's picture in a tile) and hears the browser; the VTC's name shows on the
//! page; turning recording on puts the notice band on the VTC's picture and writes a file.

mod sip_support;

use anyhow::{Context, Result, ensure};
use cvi_e2e::baresip::{Audio, Baresip, BaresipOpts, Video};
use cvi_e2e::chromium::Chromium;
use cvi_e2e::media_check::{Gray, Rgb, Wav, png_size, test_clip};
use cvi_e2e::{CallEvent, Transport};
use serde_json::Value;
use sip_support::{Gateway, KEY_LOCAL, Opts};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(20);

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or(0.0)
}

/// Waits until baresip's latest decoded frame satisfies `pred` (returns its gray image).
fn wait_frame(b: &Baresip, what: &str, pred: impl Fn(&Gray) -> bool) -> Result<Gray> {
    let deadline = Instant::now() + WAIT;
    loop {
        let png = b.received_frame(Duration::from_secs(5))?;
        let g = Gray::from_png(&png)?;
        if pred(&g) {
            return Ok(g);
        }
        ensure!(
            Instant::now() < deadline,
            "baresip's picture never showed {what} (whole mean {:.1})",
            g.mean(0.0, 0.0, 1.0, 1.0)
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// With `CVI_E2E_SCREENSHOTS=<dir>`, keeps what each end showed.
fn keep(name: &str, png: &std::path::Path, chrome: &Chromium) {
    if let Some(dir) = std::env::var_os("CVI_E2E_SCREENSHOTS") {
        let dir = std::path::PathBuf::from(dir);
        let _ = std::fs::create_dir_all(&dir);
        let _ = std::fs::copy(png, dir.join(format!("{name}-vtc.png")));
        let _ = chrome.screenshot(&dir.join(format!("{name}-page.png")));
    }
}

/// #C62828 as a decoder that takes the view's BT.709 YUV for BT.601 shows it (baresip's
/// snapshot ignores the stream's colour description): about (184, 23, 42).
fn red_seen_as_bt601() -> [f64; 3] {
    let [r, g, b] = [198.0 / 255.0, 40.0 / 255.0, 40.0 / 255.0];
    let (kr, kb) = (0.2126, 0.0722);
    let y = kr * r + (1.0 - kr - kb) * g + kb * b;
    let (cb, cr) = ((b - y) / (2.0 * (1.0 - kb)), (r - y) / (2.0 * (1.0 - kr)));
    let (kr, kb) = (0.299, 0.114);
    let (r2, b2) = (y + 2.0 * (1.0 - kr) * cr, y + 2.0 * (1.0 - kb) * cb);
    let g2 = (y - kr * r2 - kb * b2) / (1.0 - kr - kb);
    [r2 * 255.0, g2 * 255.0, b2 * 255.0]
}

/// Whether the notice band is on: the top eighth of the frame solid #C62828 (198, 40, 40),
/// or that colour decoded as BT.601, read at its left (clear of the centred text). Returns
/// the colour seen too.
fn notice_on(b: &Baresip) -> Result<(bool, [f64; 3])> {
    let png = b.received_frame(Duration::from_secs(5))?;
    let c = Rgb::from_png(&png)?.mean(0.02, 0.02, 0.25, 0.1);
    let near = |want: [f64; 3]| c.iter().zip(want).all(|(v, w)| (v - w).abs() < 25.0);
    Ok((near([198.0, 40.0, 40.0]) || near(red_seen_as_bt601()), c))
}

/// Waits until the notice band is `on` (or off) on baresip's picture.
fn wait_notice(b: &Baresip, on: bool) -> Result<[f64; 3]> {
    let deadline = Instant::now() + WAIT;
    loop {
        let (is, c) = notice_on(b)?;
        if is == on {
            return Ok(c);
        }
        ensure!(
            Instant::now() < deadline,
            "the notice band never turned {} (colour {c:?})",
            if on { "on" } else { "off" }
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn browser_and_vtc_see_and_hear_each_other() -> Result<()> {
    meeting_flow(Opts::default(), (640.0, 360.0))
}

/// As above with the gateway transcoding the VTC's video for the browser (decode, scale,
/// constrained-baseline H.264 at 720p) instead of forwarding it.
#[test]
fn browser_gets_the_vtc_transcoded_when_asked() -> Result<()> {
    meeting_flow(
        Opts {
            extra_args: vec!["--meet-vtc-video".into(), "transcode".into()],
            ..Opts::default()
        },
        (1280.0, 720.0),
    )
}

/// `browser_size`: the size the browser decodes the VTC's video at.
fn meeting_flow(opts: Opts, browser_size: (f64, f64)) -> Result<()> {
    let gw = Gateway::start(opts)?;
    let (vid, meeting) = gw.provision_meeting()?;
    let links = gw.room(&meeting)?;
    let host_page = links["hostPage"].as_str().context("hostPage")?;
    ensure!(links["live"].is_null(), "nobody is in it yet: {links}");

    let chrome = Chromium::launch()?;
    chrome.goto(&format!("http://{}{host_page}&name=Alice", gw.http))?;
    chrome.wait_for("window.cvi && cvi.me && cvi.host === true", WAIT)?;

    let dir = tempfile::tempdir()?;
    let b = Baresip::start(BaresipOpts {
        user: "boardroom".into(),
        audio_codecs: Some("PCMU".into()),
        audio: Audio::Sine,
        video: Video::File(test_clip(dir.path(), 640, 360, 30)?),
        extra_config: vec!["video_size 640x360".into()],
        record: true,
        ..BaresipOpts::default()
    })?;
    b.dial(&format!("sip:{KEY_LOCAL}.{vid}@{}", gw.sip), Transport::Udp)?;
    b.wait_for(&CallEvent::Established, WAIT)?;

    // The organizer sees the VTC waiting and lets it in.
    let waiting = chrome.wait_for("cvi.lobby.length === 1 && cvi.lobby[0]", WAIT)?;
    ensure!(waiting["name"] == "boardroom", "lobby: {waiting}");
    let vtc = waiting["id"].as_str().context("lobby id")?.to_string();
    chrome.eval(&format!("cvi.admit('{vtc}'); 0"))?;
    chrome.wait_for(
        &format!("cvi.roster.some(p => p.id === '{vtc}' && p.kind === 'video_device')"),
        WAIT,
    )?;
    let label = chrome.wait_for(
        &format!(
            "(document.querySelector('.tile[data-participant=\"{vtc}\"] .name') || {{}}).textContent"
        ),
        WAIT,
    )?;
    ensure!(label == "boardroom", "the VTC's tile says {label}");

    // Browser side: the VTC's H.264 decodes (640×360 as sent, or as transcoded) and its
    // audio has energy.
    let s = chrome.wait_for(
        &format!(
            "cvi.stats().then(s => {{ const p = s.participants['{vtc}']; \
             return p && p.framesDecoded > 30 && p.totalAudioEnergy > 0 ? s : null; }})"
        ),
        Duration::from_secs(30),
    )?;
    let p = &s["participants"][vtc.as_str()];
    println!("browser receives the VTC: {p}");
    ensure!(
        (f(&p["frameWidth"]), f(&p["frameHeight"])) == browser_size,
        "VTC video at {}x{}",
        p["frameWidth"],
        p["frameHeight"]
    );
    // baresip sends PCMU, which Chromium takes: the VTC's audio arrives as it was sent,
    // not coded again to Opus.
    ensure!(
        p["audioCodec"]
            .as_str()
            .is_some_and(|c| c.eq_ignore_ascii_case("audio/PCMU")),
        "the browser receives the VTC's audio as {}",
        p["audioCodec"]
    );
    let energy = f(&p["totalAudioEnergy"]);
    std::thread::sleep(Duration::from_secs(2));
    let s2 = chrome.eval("cvi.stats()")?;
    let p2 = &s2["participants"][vtc.as_str()];
    ensure!(
        f(&p2["totalAudioEnergy"]) > energy && f(&p2["framesDecoded"]) > f(&p["framesDecoded"]),
        "the VTC's media stopped: {p} then {p2}"
    );

    // VTC side: the composite it receives has the browser in a tile (the room says where),
    // and that tile shows Chromium's fake camera (green, a moving disc), not the background.
    let me = chrome.eval("cvi.me")?;
    let me = me.as_str().context("cvi.me")?.to_string();
    let (tile, (vw, vh)) = gw.tile_in_view(&meeting, &vtc, &me)?;
    println!("the VTC's view is {vw}x{vh}; the browser's tile {tile}");
    // The tile's middle band (the fake camera fills it; letterboxing only at its sides).
    let (x0, y0) = (
        (f(&tile["x"]) + f(&tile["w"]) * 0.3) / vw,
        (f(&tile["y"]) + f(&tile["h"]) * 0.3) / vh,
    );
    let (x1, y1) = (
        (f(&tile["x"]) + f(&tile["w"]) * 0.7) / vw,
        (f(&tile["y"]) + f(&tile["h"]) * 0.7) / vh,
    );
    let g = wait_frame(&b, "the browser's camera in its tile", |g| {
        // Chromium's fake camera is dark green (luma ~75) with a bright green disc (~180);
        // the background is luma ~40.
        g.mean(x0, y0, x1, y1) > 60.0 && g.max(x0, y0, x1, y1) > 150
    })?;
    let png = b.received_frame(Duration::from_secs(5))?;
    let (w, h) = png_size(&png)?;
    println!(
        "baresip decodes {w}x{h}: browser tile mean {:.1} max {}",
        g.mean(x0, y0, x1, y1),
        g.max(x0, y0, x1, y1),
    );
    ensure!(
        (f64::from(w), f64::from(h)) == (vw, vh),
        "composite {w}x{h}, view {vw}x{vh}"
    );
    keep("meeting", &png, &chrome);
    let (on, before) = notice_on(&b)?;
    ensure!(
        !on,
        "the notice band is on before any recording ({before:?})"
    );

    // Recording on: the band appears on the VTC's picture within a second or two.
    let t0 = Instant::now();
    chrome.eval("cvi.setRecording(true); 0")?;
    chrome.wait_for("cvi.state.recording === true", WAIT)?;
    // The VTC hears it said (the prompt lasts ~2 s: look at once) …
    gw.wait_call("the spoken recording notice", |c| {
        c["media"]["playing"] == "en/recording_started"
    })?;
    // … and sees the band, which stays while recording is on.
    let c = wait_notice(&b, true)?;
    println!(
        "notice on the VTC's picture after {:.1} s (band colour {before:?} → {c:?})",
        t0.elapsed().as_secs_f64()
    );
    keep(
        "recording",
        &b.received_frame(Duration::from_secs(5))?,
        &chrome,
    );
    let live = gw.room(&meeting)?;
    ensure!(live["live"]["recording"] == true, "{live}");
    std::thread::sleep(Duration::from_secs(3));
    chrome.eval("cvi.setRecording(false); 0")?;
    chrome.wait_for("cvi.state.recording === false", WAIT)?;
    wait_notice(&b, false)?;

    // The recording is a real file.
    let deadline = Instant::now() + WAIT;
    let file = loop {
        let found = std::fs::read_dir(gw.recordings_dir())
            .ok()
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|e| e == "mp4"));
        if let Some(p) = found
            && std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0) > 20_000
            && gw.log().contains("recording written")
        {
            break p;
        }
        ensure!(
            Instant::now() < deadline,
            "no recording in {:?}",
            gw.recordings_dir()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    println!(
        "recording {} ({} bytes)",
        file.display(),
        std::fs::metadata(&file)?.len()
    );

    // The browser's audio reached the VTC: Chromium's fake microphone beeps.
    b.hangup()?;
    b.wait_for(&CallEvent::local_hangup(), WAIT)?;
    std::thread::sleep(Duration::from_millis(300));
    let wav = Wav::read(&b.received_audio()?)?;
    let rms = wav.rms(2.0, wav.duration_secs() - 0.5);
    println!("baresip heard the meeting at rms {rms:.0}");
    ensure!(
        rms > 100.0,
        "the browser's audio did not reach the VTC (rms {rms:.0})"
    );
    chrome.wait_for(&format!("!cvi.roster.some(p => p.id === '{vtc}')"), WAIT)?;
    Ok(())
}

/// The VTC's keypad in the meeting: `*8` cycles its layout (1+7 → 2×2), `*6` mutes it in
/// the meeting (the page shows it muted) and `*6` again unmutes it.
#[test]
fn vtc_keypad_changes_layout_and_mutes() -> Result<()> {
    let gw = Gateway::start(Opts::default())?;
    let (vid, meeting) = gw.provision_meeting()?;
    let links = gw.room(&meeting)?;
    let host_page = links["hostPage"].as_str().context("hostPage")?;
    let chrome = Chromium::launch()?;
    chrome.goto(&format!("http://{}{host_page}&name=Alice", gw.http))?;
    chrome.wait_for("window.cvi && cvi.me && cvi.host === true", WAIT)?;
    let b = Baresip::start(BaresipOpts {
        user: "boardroom".into(),
        audio_codecs: Some("PCMU".into()),
        video: Video::Fake,
        ..BaresipOpts::default()
    })?;
    b.dial(&format!("sip:{KEY_LOCAL}.{vid}@{}", gw.sip), Transport::Udp)?;
    b.wait_for(&CallEvent::Established, WAIT)?;
    let waiting = chrome.wait_for("cvi.lobby.length === 1 && cvi.lobby[0]", WAIT)?;
    let vtc = waiting["id"].as_str().context("lobby id")?.to_string();
    chrome.eval(&format!("cvi.admit('{vtc}'); 0"))?;
    let watching = |want: &str| -> Result<Value> {
        let deadline = Instant::now() + WAIT;
        loop {
            let r = gw.room(&meeting)?;
            let w = r["live"]["watching"][vtc.as_str()]
                .as_str()
                .unwrap_or_default()
                .to_string();
            if w.starts_with(want) {
                return Ok(r);
            }
            ensure!(
                Instant::now() < deadline,
                "the VTC never watched {want}: {r}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    watching("speaker_plus_7")?;
    b.send_dtmf("*8")?;
    let r = watching("grid_2x2")?;
    let view = r["live"]["views"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|v| v["view"] == "grid_2x2")
        .cloned()
        .context("the 2x2 view")?;
    // Four equal cells: the two participants take the first two.
    let tiles = view["tiles"].as_array().context("tiles")?;
    ensure!(tiles.len() == 2, "{view}");
    ensure!(
        tiles.iter().all(|t| t["w"] == 640 && t["h"] == 360),
        "2x2 cells of a 1280x720 view: {view}"
    );
    b.send_dtmf("*6")?;
    chrome.wait_for(
        &format!("cvi.roster.some(p => p.id === '{vtc}' && p.audioMuted === true)"),
        WAIT,
    )?;
    chrome.wait_for(
        &format!("document.querySelector('.tile[data-participant=\"{vtc}\"]').classList.contains('audio-muted')"),
        WAIT,
    )?;
    b.send_dtmf("*6")?;
    chrome.wait_for(
        &format!("cvi.roster.some(p => p.id === '{vtc}' && p.audioMuted === false)"),
        WAIT,
    )?;
    b.send_dtmf("*8")?;
    watching("grid_3x3")?;
    b.hangup()?;
    Ok(())
}
