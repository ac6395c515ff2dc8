//! Self-test of the headless-Chromium harness ([`cvi_e2e::chromium`]) and of the meeting
//! page (`meet/assets/`) without the gateway.
//!
//! Pages are served by a tiny HTTP server on 127.0.0.1:0 in a thread (no server crate);
//! the meeting page's WebSocket can be routed to the test itself, which then plays the
//! signalling server, with a second tab of the same browser as the far WebRTC peer.
//! Each test owns its browser and stops by itself well within 60 s.

use anyhow::{Context, Result, bail, ensure};
use cvi_e2e::chromium::{Chromium, Page};
use cvi_e2e::media_check::png_size;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};
use tungstenite::{Message, WebSocket};

const STEP: Duration = Duration::from_secs(20);

// ------------------------------------------------------------------ tiny HTTP server

/// Serves fixed files; a request for `ws_path` (a WebSocket upgrade) is handed, unread, to
/// the test through a channel when one is set, else answered 404. Stops on drop.
struct TinyServer {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

type Files = HashMap<String, (&'static str, Vec<u8>)>;

impl TinyServer {
    fn start(files: Files, ws: Option<(String, mpsc::Sender<TcpStream>)>) -> Result<TinyServer> {
        let listener = TcpListener::bind("127.0.0.1:0").context("binding the page server")?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let files = Arc::new(files);
        let ws = Arc::new(Mutex::new(ws));
        let thread = std::thread::spawn(move || {
            while !stop2.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((s, _)) => {
                        let files = files.clone();
                        let ws = ws.clone();
                        std::thread::spawn(move || {
                            let _ = serve(s, &files, &ws);
                        });
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    Err(_) => break,
                }
            }
        });
        Ok(TinyServer {
            port,
            stop,
            thread: Some(thread),
        })
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for TinyServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(
    mut s: TcpStream,
    files: &Files,
    ws: &Mutex<Option<(String, mpsc::Sender<TcpStream>)>>,
) -> Result<()> {
    s.set_nonblocking(false)?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    // Peek at the request line without consuming it (a WebSocket goes on to tungstenite).
    let mut buf = [0u8; 2048];
    let deadline = Instant::now() + Duration::from_secs(5);
    let head = loop {
        let n = s.peek(&mut buf)?;
        let text = String::from_utf8_lossy(&buf[..n]).into_owned();
        if text.contains("\r\n\r\n") || n == buf.len() || Instant::now() > deadline {
            break text;
        }
        if n == 0 {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let target = head.split_whitespace().nth(1).unwrap_or("/").to_string();
    let path = target.split('?').next().unwrap_or("/").to_string();
    {
        let ws = ws.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((ws_path, tx)) = ws.as_ref()
            && &path == ws_path
        {
            let _ = tx.send(s);
            return Ok(());
        }
    }
    // Consume the request head (no bodies here).
    let end = head.find("\r\n\r\n").map(|i| i + 4).unwrap_or(head.len());
    let mut sink = vec![0u8; end];
    s.read_exact(&mut sink)?;
    match files.get(&path) {
        Some((ctype, body)) => {
            write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n\
                 Cache-Control: no-store\r\nConnection: close\r\n\r\n",
                body.len()
            )?;
            s.write_all(body)?;
        }
        None => {
            let body = b"not found";
            write!(
                s,
                "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n",
                body.len()
            )?;
            s.write_all(body)?;
        }
    }
    s.flush()?;
    Ok(())
}

fn html(body: &str) -> (&'static str, Vec<u8>) {
    ("text/html; charset=utf-8", body.as_bytes().to_vec())
}

fn meet_assets_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../meet/assets")
}

/// The meeting page at `/meet/demo`, its assets at `/meet/assets/…`, plus `extra`.
fn meet_files(extra: &[(&str, &str)]) -> Result<Files> {
    let dir = meet_assets_dir();
    let read = |name: &str| {
        std::fs::read(dir.join(name)).with_context(|| format!("reading meet/assets/{name}"))
    };
    let mut files = Files::new();
    files.insert(
        "/meet/demo".into(),
        ("text/html; charset=utf-8", read("meet.html")?),
    );
    files.insert(
        "/meet/assets/meet.js".into(),
        ("text/javascript; charset=utf-8", read("meet.js")?),
    );
    files.insert(
        "/meet/assets/meet.css".into(),
        ("text/css; charset=utf-8", read("meet.css")?),
    );
    for (path, body) in extra {
        files.insert(path.to_string(), html(body));
    }
    Ok(files)
}

/// A screenshot into `$CVI_E2E_SCREENSHOTS/<name>` when that is set (to look at the
/// page), else into a temp dir that is removed at once.
fn shot(page: &Page, name: &str) -> Result<()> {
    match std::env::var_os("CVI_E2E_SCREENSHOTS") {
        Some(dir) => page.screenshot(&Path::new(&dir).join(name)),
        None => {
            let dir = tempfile::tempdir()?;
            page.screenshot(&dir.path().join(name))
        }
    }
}

fn exceptions(console: &[String]) -> Vec<&String> {
    console
        .iter()
        .filter(|l| l.starts_with("[exception]"))
        .collect()
}

// ------------------------------------------------------------------ (1) DevTools basics

const BASIC_PAGE: &str = r#"<!doctype html><title>basic</title>
<body style="background:#123456"><p id="p">hi</p>
<script>
  console.log('hello from the page', 42);
  window.x = 42;
  setTimeout(() => { window.ready = 'yes'; console.warn('ready now'); }, 300);
</script></body>"#;

#[test]
fn devtools_eval_wait_for_console_and_errors() -> Result<()> {
    let server = TinyServer::start(Files::from([("/".to_string(), html(BASIC_PAGE))]), None)?;
    let b = Chromium::launch()?;
    b.goto(&server.url("/"))?;

    ensure!(b.eval("1 + 1")? == json!(2));
    ensure!(b.eval("window.x")? == json!(42));
    ensure!(b.eval("document.getElementById('p').textContent")? == json!("hi"));
    ensure!(b.eval("undefined")? == Value::Null);
    ensure!(b.eval("({a: [1, 'two']})")? == json!({"a": [1, "two"]}));
    // Promises are awaited.
    ensure!(b.eval("new Promise(r => setTimeout(() => r('late'), 100))")? == json!("late"));
    ensure!(b.eval("(async () => { await null; return 7; })()")? == json!(7));
    // Statements: the value of the last one.
    ensure!(b.eval("let y = 20; y + 1")? == json!(21));

    let v = b.wait_for("window.ready", Duration::from_secs(5))?;
    ensure!(v == json!("yes"), "wait_for returned {v}");

    // A JS exception (thrown, rejected or a syntax error) is an Err with its message.
    let e = b
        .eval("throw new Error('boom')")
        .err()
        .context("throw was Ok")?;
    ensure!(format!("{e:#}").contains("boom"), "{e:#}");
    let e = b
        .eval("Promise.reject(new Error('nope'))")
        .err()
        .context("rejection was Ok")?;
    ensure!(format!("{e:#}").contains("nope"), "{e:#}");
    ensure!(b.eval("this is not js").is_err());

    // wait_for fails after its timeout, with the last value and the console log.
    let started = Instant::now();
    let e = b
        .wait_for("window.never === true", Duration::from_secs(1))
        .err()
        .context("wait_for(false) was Ok")?;
    ensure!(started.elapsed() < Duration::from_secs(5));
    let msg = format!("{e:#}");
    ensure!(
        msg.contains("value false") && msg.contains("hello from the page"),
        "{msg}"
    );

    // Console calls and uncaught exceptions are collected.
    b.eval(
        "console.error('an error line'); setTimeout(() => { throw new Error('uncaught!'); }, 0); 1",
    )?;
    b.wait_for("new Promise(r => setTimeout(() => r(true), 200))", STEP)?;
    let console = b.console();
    ensure!(
        console.iter().any(|l| l == "[log] hello from the page 42"),
        "{console:#?}"
    );
    ensure!(
        console.iter().any(|l| l == "[warning] ready now"),
        "{console:#?}"
    );
    ensure!(
        console.iter().any(|l| l == "[error] an error line"),
        "{console:#?}"
    );
    ensure!(
        console
            .iter()
            .any(|l| l.starts_with("[exception]") && l.contains("uncaught!")),
        "{console:#?}"
    );

    // A second tab of the same browser is independent.
    let tab = b.new_page()?;
    tab.goto(&server.url("/"))?;
    tab.eval("window.x = 'second'")?;
    ensure!(tab.eval("window.x")? == json!("second"));
    ensure!(b.eval("window.x")? == json!(42));
    drop(tab);
    ensure!(b.eval("2 * 21")? == json!(42));
    Ok(())
}

// ------------------------------------------------------------------ (2) WebRTC loopback

const RTC_PAGE: &str = r#"<!doctype html><title>rtc</title><body>
<video id="v" autoplay playsinline muted></video><audio id="a" autoplay></audio>
<script>
async function start() {
  const stream = await navigator.mediaDevices.getUserMedia({audio: true, video: {width: 640, height: 360}});
  const pc1 = new RTCPeerConnection(), pc2 = new RTCPeerConnection();
  window.pc1 = pc1; window.pc2 = pc2;
  pc1.onicecandidate = e => e.candidate && pc2.addIceCandidate(e.candidate);
  pc2.onicecandidate = e => e.candidate && pc1.addIceCandidate(e.candidate);
  pc2.ontrack = e => {
    const el = e.track.kind === 'video' ? document.getElementById('v') : document.getElementById('a');
    el.srcObject = e.streams[0];
  };
  for (const t of stream.getTracks()) pc1.addTrack(t, stream);
  await pc1.setLocalDescription(await pc1.createOffer());
  await pc2.setRemoteDescription(pc1.localDescription);
  await pc2.setLocalDescription(await pc2.createAnswer());
  await pc1.setRemoteDescription(pc2.localDescription);
  return stream.getTracks().map(t => t.kind + ':' + t.label);
}
async function inbound() {
  const out = {video: 0, audio: 0, width: 0, candidates: []};
  if (!window.pc2) return out;
  (await pc2.getStats()).forEach(r => {
    if (r.type === 'inbound-rtp' && r.kind === 'video') { out.video = r.framesDecoded || 0; out.width = r.frameWidth || 0; }
    if (r.type === 'inbound-rtp' && r.kind === 'audio') out.audio = r.totalAudioEnergy || 0;
    if (r.type === 'local-candidate') out.candidates.push(r.address + ':' + r.port);
  });
  return out;
}
</script></body>"#;

#[test]
fn webrtc_on_loopback_with_fake_devices() -> Result<()> {
    let server = TinyServer::start(Files::from([("/".to_string(), html(RTC_PAGE))]), None)?;
    let b = Chromium::launch()?;
    b.goto(&server.url("/"))?;
    let tracks = b.eval("start()")?;
    let tracks = tracks.as_array().context("start() returned no list")?;
    ensure!(tracks.len() == 2, "fake devices gave {tracks:?}");
    b.wait_for(
        "inbound().then(s => s.video > 10 && s.audio > 0 && s)",
        Duration::from_secs(30),
    )
    .context("no media decoded between the two peer connections")?;
    let s = b.eval("inbound()")?;
    ensure!(s["width"] == json!(640), "decoded video size: {s}");
    ensure!(
        b.eval("pc1.connectionState")? == json!("connected"),
        "{}",
        b.eval("pc1.connectionState")?
    );
    Ok(())
}

// ------------------------------------------------------------------ (3) screenshot

#[test]
fn screenshot_writes_a_png() -> Result<()> {
    let server = TinyServer::start(Files::from([("/".to_string(), html(BASIC_PAGE))]), None)?;
    let b = Chromium::launch()?;
    b.goto(&server.url("/"))?;
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("shot.png");
    b.screenshot(&path)?;
    let (w, h) = png_size(&path)?;
    let (vw, vh) = (b.eval("window.innerWidth")?, b.eval("window.innerHeight")?);
    ensure!(
        json!(w) == vw && json!(h) == vh,
        "screenshot {w}x{h}, viewport {vw}x{vh}"
    );
    ensure!(w >= 800 && h >= 500, "screenshot {w}x{h}");
    Ok(())
}

// ------------------------------------------------------------------ (4) the meeting page, no server

#[test]
fn meet_page_without_server_shows_an_error() -> Result<()> {
    let server = TinyServer::start(meet_files(&[])?, None)?;
    let b = Chromium::launch()?;

    // Without ?name: the join form, window.cvi with every hook.
    b.goto(&server.url("/meet/demo"))?;
    let hooks = b.eval(
        "['join','stats','admit','reject','setRecording','setTranscription','mute','leave']\
         .filter(k => typeof window.cvi?.[k] !== 'function')",
    )?;
    ensure!(hooks == json!([]), "missing window.cvi functions: {hooks}");
    let props = b.eval(
        "({roster: cvi.roster, me: cvi.me, host: cvi.host, state: cvi.state, lobby: cvi.lobby, \
          log: Array.isArray(cvi.log)})",
    )?;
    ensure!(
        props
            == json!({"roster": [], "me": null, "host": false,
                      "state": {"recording": false, "transcription": false},
                      "lobby": [], "log": true}),
        "{props}"
    );
    ensure!(
        b.eval(
            "['name','join','grid','status','notice','lobby','recording','transcription',\
             'mute-audio','mute-video','leave'].filter(id => !document.getElementById(id))"
        )? == json!([])
    );
    ensure!(
        b.eval("getComputedStyle(document.body).backgroundColor")? != json!("rgba(0, 0, 0, 0)")
    );
    // cvi.join() against no WebSocket server rejects, and #status says why.
    let e = b
        .eval("cvi.join('Tester')")
        .err()
        .context("join without a server succeeded")?;
    ensure!(format!("{e:#}").contains("could not connect"), "{e:#}");
    let status = b.eval("document.getElementById('status').textContent")?;
    ensure!(
        status
            .as_str()
            .is_some_and(|s| s.contains("Could not connect")),
        "#status: {status}"
    );

    shot(b.page(), "meet-no-server.png")?;

    // With ?name=…: auto-join, same error, nothing thrown.
    b.goto(&server.url("/meet/demo?name=Auto&host=KEY"))?;
    let status = b.wait_for(
        "document.getElementById('status').textContent.includes('Could not connect') \
         && document.getElementById('status').textContent",
        STEP,
    )?;
    ensure!(
        b.eval("document.getElementById('join-panel').hidden")? == json!(false),
        "join form not shown again; status {status}"
    );
    let console = b.console();
    ensure!(
        exceptions(&console).is_empty(),
        "exceptions in the page: {console:#?}"
    );
    ensure!(
        console.iter().any(|l| l.contains("join Auto meeting demo")),
        "{console:#?}"
    );
    Ok(())
}

// ------------------------------------------------------------------ (5) the meeting page, fake signalling

/// The far WebRTC peer, in a second tab: answers the page's offer with its own fake
/// camera and microphone, as participant `b2` (the msid stream id is rewritten), and can
/// make a renegotiation offer like the gateway does.
const PEER_PAGE: &str = r#"<!doctype html><title>peer</title><body><script>
let pc;
const munge = sdp => sdp.replace(/msid:[^ \r\n]+ /g, 'msid:b2 ');
function gathered() {
  return new Promise(resolve => {
    if (pc.iceGatheringState === 'complete') return resolve();
    const t = setTimeout(resolve, 5000);
    pc.addEventListener('icegatheringstatechange', () => {
      if (pc.iceGatheringState === 'complete') { clearTimeout(t); resolve(); }
    });
  });
}
async function answer(sdp) {
  const stream = await navigator.mediaDevices.getUserMedia({audio: true, video: {width: 640, height: 360}});
  pc = new RTCPeerConnection();
  window.remoteTracks = 0;
  pc.ontrack = () => { window.remoteTracks++; };
  await pc.setRemoteDescription({type: 'offer', sdp});
  for (const t of stream.getTracks()) pc.addTrack(t, stream);
  await pc.setLocalDescription(await pc.createAnswer());
  await gathered();
  return munge(pc.localDescription.sdp);
}
async function candidate(c) { await pc.addIceCandidate(c); }
async function reoffer() {
  await pc.setLocalDescription(await pc.createOffer());
  await gathered();
  return munge(pc.localDescription.sdp);
}
async function applyAnswer(sdp) { await pc.setRemoteDescription({type: 'answer', sdp}); return pc.signalingState; }
async function inboundFrames() {
  let n = 0;
  (await pc.getStats()).forEach(r => { if (r.type === 'inbound-rtp' && r.kind === 'video') n += r.framesDecoded || 0; });
  return n;
}
</script></body>"#;

/// The test's end of the page's signalling WebSocket.
struct FakeSignalling {
    ws: WebSocket<TcpStream>,
    candidates: Vec<Value>,
    other: Vec<Value>,
}

impl FakeSignalling {
    fn accept(rx: &mpsc::Receiver<TcpStream>) -> Result<FakeSignalling> {
        let stream = rx
            .recv_timeout(STEP)
            .context("the page opened no WebSocket")?;
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        let ws = tungstenite::accept(stream).map_err(|e| anyhow::anyhow!("ws accept: {e}"))?;
        ws.get_ref()
            .set_read_timeout(Some(Duration::from_millis(100)))?;
        Ok(FakeSignalling {
            ws,
            candidates: Vec::new(),
            other: Vec::new(),
        })
    }

    fn send(&mut self, v: Value) -> Result<()> {
        self.ws
            .send(Message::text(v.to_string()))
            .map_err(|e| anyhow::anyhow!("ws send: {e}"))
    }

    /// The next message of type `ty` (candidates are kept aside, others too).
    fn expect(&mut self, ty: &str, timeout: Duration) -> Result<Value> {
        if let Some(i) = self.other.iter().position(|m| m["type"] == ty) {
            return Ok(self.other.remove(i));
        }
        let deadline = Instant::now() + timeout;
        loop {
            if Instant::now() > deadline {
                bail!(
                    "no `{ty}` from the page within {timeout:?}; other messages: {:?}",
                    self.other
                );
            }
            let msg = match self.ws.read() {
                Ok(Message::Text(t)) => t.to_string(),
                Ok(Message::Close(c)) => bail!("the page closed the socket: {c:?}"),
                Ok(_) => continue,
                Err(tungstenite::Error::Io(e))
                    if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
                {
                    continue;
                }
                Err(e) => bail!("ws read: {e}"),
            };
            let v: Value = serde_json::from_str(&msg).context("page sent non-JSON")?;
            if v["type"] == ty {
                return Ok(v);
            }
            if v["type"] == "candidate" {
                self.candidates.push(v);
            } else {
                self.other.push(v);
            }
        }
    }
}

fn js_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

fn text_of(b: &Page, selector: &str) -> Result<Value> {
    b.eval(&format!(
        "document.querySelector({})?.textContent ?? null",
        js_str(selector)
    ))
}

#[test]
fn meet_page_against_fake_signalling() -> Result<()> {
    let (tx, rx) = mpsc::channel();
    let server = TinyServer::start(
        meet_files(&[("/peer", PEER_PAGE)])?,
        Some(("/meet/demo/ws".into(), tx)),
    )?;
    let b = Chromium::launch()?;
    let peer = b.new_page()?;
    peer.goto(&server.url("/peer"))?;
    let page = b.page();
    page.goto(&server.url("/meet/demo?name=Alice&host=KEY"))?;

    let mut sig = FakeSignalling::accept(&rx)?;
    let join = sig.expect("join", STEP)?;
    ensure!(join["name"] == "Alice", "{join}");
    sig.send(json!({"type": "joined", "id": "b1", "host": true,
        "meeting": {"id": "demo", "title": "Demo meeting"}, "iceServers": []}))?;
    sig.send(json!({"type": "roster", "participants": [
        {"id": "b1", "name": "Alice", "kind": "browser", "audioMuted": false, "videoMuted": false},
        {"id": "b2", "name": "Bob", "kind": "browser", "audioMuted": true, "videoMuted": false},
        {"id": "v5", "name": "Room 5", "kind": "video_device", "audioMuted": false, "videoMuted": false},
    ]}))?;
    sig.send(json!({"type": "lobby", "waiting": [{"id": "v3", "name": "Room 12"}]}))?;
    sig.send(json!({"type": "state", "recording": true, "transcription": false}))?;

    // The one client offer, answered by the peer tab as participant b2.
    let offer = sig.expect("offer", STEP)?;
    let sdp = offer["sdp"].as_str().context("offer without sdp")?;
    ensure!(
        sdp.contains("m=audio") && sdp.contains("m=video"),
        "offer: {sdp}"
    );
    let answer = peer.eval(&format!("answer({})", js_str(sdp)))?;
    sig.send(json!({"type": "answer", "sdp": answer}))?;
    std::thread::sleep(Duration::from_millis(300));
    sig.expect("__none__", Duration::from_millis(200)).ok(); // collect the candidates
    for c in std::mem::take(&mut sig.candidates) {
        if c["candidate"].is_string() {
            peer.eval(&format!("candidate({c})"))?;
        }
    }

    // The UI reflects joined / roster / lobby / state.
    ensure!(page.eval("cvi.me")? == json!("b1") && page.eval("cvi.host")? == json!(true));
    ensure!(text_of(page, "#title")? == json!("Demo meeting"));
    ensure!(
        page.eval("[...document.querySelectorAll('#grid .tile')].map(t => t.dataset.participant)")?
            == json!(["b1", "b2", "v5"])
    );
    ensure!(text_of(page, ".tile[data-participant=b2] .name")? == json!("Bob"));
    ensure!(
        page.eval("document.querySelector('.tile[data-participant=b1]').classList.contains('self') && document.querySelector('.tile[data-participant=b1] video').muted")?
            == json!(true)
    );
    ensure!(
        page.eval("!document.querySelector('.tile[data-participant=v5] .badge').hidden && document.querySelector('.tile[data-participant=b2] .badge').hidden")?
            == json!(true)
    );
    ensure!(
        page.eval("!document.querySelector('.tile[data-participant=b2] .audio-off').hidden")?
            == json!(true)
    );
    ensure!(page.eval("!document.getElementById('lobby').hidden")? == json!(true));
    ensure!(text_of(page, "li.waiting[data-id=v3] .name")? == json!("Room 12"));
    ensure!(
        page.eval("!document.getElementById('notice').hidden && document.getElementById('notice').textContent.trim()")?
            == json!("Recording")
    );
    ensure!(page.eval("document.getElementById('recording').checked")? == json!(true));
    ensure!(page.eval("cvi.state")? == json!({"recording": true, "transcription": false}));

    shot(page, "meet-host.png")?;
    if std::env::var_os("CVI_E2E_SCREENSHOTS").is_some() {
        // The same on a phone-sized viewport.
        let metrics = json!({"width": 390, "height": 800, "deviceScaleFactor": 1, "mobile": true});
        page.call("Emulation.setDeviceMetricsOverride", metrics, STEP)?;
        std::thread::sleep(Duration::from_millis(300));
        shot(page, "meet-host-phone.png")?;
        page.call("Emulation.clearDeviceMetricsOverride", json!({}), STEP)?;
    }

    // Host buttons send their messages.
    page.eval("document.querySelector('li.waiting[data-id=v3] button.admit').click()")?;
    ensure!(sig.expect("admit", STEP)?["id"] == "v3");
    page.eval("document.querySelector('li.waiting[data-id=v3] button.reject').click()")?;
    ensure!(sig.expect("reject", STEP)?["id"] == "v3");
    page.eval("document.getElementById('transcription').click()")?;
    ensure!(sig.expect("transcription", STEP)?["on"] == true);
    page.eval("cvi.setRecording(false)")?;
    ensure!(sig.expect("recording", STEP)?["on"] == false);

    // Media from the peer reaches b2's tile; stats are per participant.
    let stats = page
        .wait_for(
            "cvi.stats().then(s => s.participants.b2 && s.participants.b2.framesDecoded > 10 \
             && s.participants.b2.totalAudioEnergy > 0 && s.outbound.video.framesEncoded > 0 && s)",
            Duration::from_secs(30),
        )
        .with_context(|| format!("page log: {:#?}", page.eval("cvi.log").unwrap_or_default()))?;
    ensure!(
        stats["participants"]["b2"]["frameWidth"] == json!(640),
        "{stats}"
    );
    ensure!(
        stats["participants"]["v5"]["framesDecoded"] == json!(0),
        "{stats}"
    );
    ensure!(
        page.eval("document.querySelector('.tile[data-participant=b2] video').srcObject.getTracks().length")?
            == json!(2)
    );
    peer.wait_for("inboundFrames().then(n => n > 10)", STEP)?;

    // A server offer (renegotiation) is answered.
    let reoffer = peer.eval("reoffer()")?;
    sig.send(json!({"type": "offer", "sdp": reoffer}))?;
    let answer = sig.expect("answer", STEP)?;
    let answer_sdp = answer["sdp"].as_str().context("answer without sdp")?;
    ensure!(peer.eval(&format!("applyAnswer({})", js_str(answer_sdp)))? == json!("stable"));
    ensure!(page.eval("cvi.pc.signalingState")? == json!("stable"));

    // Mute disables the local track and tells the server.
    page.eval("document.getElementById('mute-audio').click()")?;
    let m = sig.expect("mute", STEP)?;
    ensure!(m["audio"] == true && m["video"] == false, "{m}");
    ensure!(
        page.eval("cvi.pc.getSenders().find(s => s.track?.kind === 'audio').track.enabled")?
            == json!(false)
    );

    // A participant leaving removes its tile; state off hides the banner.
    sig.send(json!({"type": "roster", "participants": [
        {"id": "b1", "name": "Alice", "kind": "browser", "audioMuted": true, "videoMuted": false},
        {"id": "b2", "name": "Bob", "kind": "browser", "audioMuted": false, "videoMuted": false},
    ]}))?;
    sig.send(json!({"type": "state", "recording": false, "transcription": false}))?;
    page.wait_for(
        "!document.querySelector('.tile[data-participant=v5]') && document.getElementById('notice').hidden",
        STEP,
    )?;
    shot(page, "meet-after-leave.png")?;

    // bye ends the session: shown in #status, pc closed, form back.
    sig.send(json!({"type": "bye", "reason": "the test is over"}))?;
    page.wait_for(
        "document.getElementById('status').textContent.includes('the test is over') \
         && cvi.pc === null && !document.getElementById('join-panel').hidden",
        STEP,
    )?;
    let console = page.console();
    ensure!(
        exceptions(&console).is_empty(),
        "exceptions in the page: {console:#?}"
    );
    Ok(())
}

#[test]
fn meet_page_receive_only_and_server_error() -> Result<()> {
    let (tx, rx) = mpsc::channel();
    let server = TinyServer::start(meet_files(&[])?, Some(("/meet/demo/ws".into(), tx)))?;
    let b = Chromium::launch()?;
    // No camera or microphone: getUserMedia fails as it does without devices.
    b.page().call(
        "Page.addScriptToEvaluateOnNewDocument",
        json!({"source": "navigator.mediaDevices.getUserMedia = () => \
            Promise.reject(new DOMException('Requested device not found', 'NotFoundError'));"}),
        STEP,
    )?;
    b.goto(&server.url("/meet/demo?name=Viewer"))?;
    let mut sig = FakeSignalling::accept(&rx)?;
    ensure!(sig.expect("join", STEP)?["name"] == "Viewer");
    sig.send(json!({"type": "joined", "id": "b7", "host": false,
        "meeting": {"id": "demo", "title": "Demo"}, "iceServers": []}))?;
    let offer = sig.expect("offer", STEP)?;
    let sdp = offer["sdp"].as_str().context("offer without sdp")?;
    ensure!(
        sdp.matches("a=recvonly").count() == 2 && !sdp.contains("a=sendrecv"),
        "receive-only offer expected: {sdp}"
    );
    let status = text_of(b.page(), "#status")?;
    ensure!(
        status.as_str().is_some_and(|s| s.contains("receive only")),
        "#status: {status}"
    );
    ensure!(b.eval("cvi.host")? == json!(false));
    ensure!(b.eval("document.getElementById('lobby').hidden")? == json!(true));
    ensure!(b.eval("!!document.querySelector('.tile[data-participant=b7].self')")? == json!(true));
    // Everyone sees the notice.
    sig.send(json!({"type": "state", "recording": false, "transcription": true}))?;
    b.wait_for(
        "!document.getElementById('notice').hidden && \
         document.getElementById('notice').textContent.trim() === 'Transcription'",
        STEP,
    )?;
    // An error is shown in #status.
    sig.send(json!({"type": "error", "message": "only the host may do that"}))?;
    b.wait_for(
        "document.getElementById('status').textContent === 'only the host may do that'",
        STEP,
    )?;
    // Leave sends `leave` and closes the connection.
    b.eval("document.getElementById('leave').click()")?;
    sig.expect("leave", STEP)?;
    ensure!(b.eval("cvi.pc === null && cvi.me === null")? == json!(true));

    // An error before `joined` rejects cvi.join().
    b.eval("cvi.join('Again').catch(e => { window.joinError = e.message; }); 0")?;
    let mut sig = FakeSignalling::accept(&rx)?;
    ensure!(sig.expect("join", STEP)?["name"] == "Again");
    sig.send(json!({"type": "error", "message": "meeting not found"}))?;
    b.wait_for("window.joinError === 'meeting not found'", STEP)?;
    ensure!(text_of(b.page(), "#status")? == json!("meeting not found"));
    ensure!(b.eval("!document.getElementById('join-panel').hidden")? == json!(true));
    let console = b.console();
    ensure!(
        exceptions(&console).is_empty(),
        "exceptions in the page: {console:#?}"
    );
    Ok(())
}
