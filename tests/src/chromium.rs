//! Headless Chromium driven over the DevTools protocol, for the browser side of the meeting.
//!
//! [`Chromium::launch`] starts `/usr/bin/chromium --headless=new` (Debian package
//! `chromium`) with fake media devices (`--use-fake-device-for-media-stream`: a
//! 640×480-ish test pattern with a frame counter and a beeping audio tone; the camera
//! honours the requested size), auto-accepted permission prompts, loopback ICE
//! (`--allow-loopback-in-peer-connection`) and `--remote-debugging-port=0`. The port the
//! browser picked is read from `<user-data-dir>/DevToolsActivePort` (first line: port,
//! second: the browser target path), the page targets from `GET /json/list`, and each
//! [`Page`] talks to its target over its own WebSocket (sync `tungstenite`, one command at a
//! time; events that arrive while waiting for a reply are collected: console calls and
//! uncaught exceptions end up in [`Page::console`]).
//!
//! * [`Page::eval`] is `Runtime.evaluate` with `awaitPromise` and `returnByValue`: the
//!   value (of the last statement; a promise is awaited) comes back as JSON (`undefined` →
//!   `null`); a thrown exception or rejected promise is an `Err` carrying the exception's
//!   text. There is no top-level `await` (with `replMode` the promise itself came back as
//!   `{}`): write `(async () => { … })()`.
//! * [`Page::wait_for`] evaluates a predicate every 100 ms until it is truthy (an
//!   exception counts as "not yet"); on timeout the error has the last value or exception
//!   and the page's console log.
//! * [`Page::goto`] navigates and waits for `document.readyState == "complete"`.
//! * [`Chromium::new_page`] opens another tab in the same browser (`PUT /json/new`), e.g. a
//!   second meeting participant; it is closed when the [`Page`] is dropped.
//!
//! Dropping the [`Chromium`] kills the browser's whole process group (see
//! [`crate::proc::ChildGuard`]) and removes its temporary profile. If the thread is
//! panicking, each page prints its console log to stderr first.
//!
//! Empirical notes (Debian 12, Chromium 148): `/usr/bin/chromium` is a shell wrapper (it
//! prints a harmless `[: …: unexpected operator` line); without a D-Bus the browser logs
//! many `Failed to connect to the bus` errors, also harmless (`--log-level=3` hides them).

use crate::proc::{ChildGuard, require_binary};
use anyhow::{Context, Result, anyhow, bail, ensure};
use base64::Engine as _;
use serde_json::{Value, json};
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tungstenite::{Message, WebSocket};

/// The browser binary (Debian package `chromium`).
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// Default time limit of one DevTools command (an `eval` of a long promise included).
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);
/// Safety lifetime of the browser process (see [`crate::proc`]).
pub const LIFETIME: Duration = Duration::from_secs(300);

/// The flags every browser gets (plus `--user-data-dir`, extra flags and `about:blank`).
pub const FLAGS: &[&str] = &[
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--disable-features=Translate,MediaRouter,OptimizationHints",
    // Tabs in the background must keep their timers and media running (two participants
    // in two tabs of one browser).
    "--disable-background-timer-throttling",
    "--disable-backgrounding-occluded-windows",
    "--disable-renderer-backgrounding",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--allow-loopback-in-peer-connection",
    "--autoplay-policy=no-user-gesture-required",
    "--password-store=basic",
    "--window-size=1280,800",
    "--log-level=3",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
];

/// A headless Chromium with its first tab ([`Chromium::page`]); see the module docs.
///
/// `goto`, `eval`, `wait_for`, `console` and `screenshot` on the browser act on that first
/// tab.
pub struct Chromium {
    // Field order is drop order: the page's socket, then the browser, then its profile.
    page: Page,
    proc: ChildGuard,
    port: u16,
    profile: tempfile::TempDir,
}

/// One tab, connected to its DevTools target.
pub struct Page {
    target_id: String,
    /// `Some(port)` for tabs opened by [`Chromium::new_page`]: closed on drop.
    close_on_drop: Option<u16>,
    conn: Mutex<Conn>,
}

struct Conn {
    ws: WebSocket<TcpStream>,
    next_id: u64,
    console: Vec<String>,
    broken: Option<String>,
}

impl Chromium {
    /// Starts the browser with [`FLAGS`]; see [`Chromium::launch_with`].
    pub fn launch() -> Result<Chromium> {
        Self::launch_with(&[])
    }

    /// Starts the browser with [`FLAGS`] plus `extra_flags`, waits for its DevTools port
    /// (up to 30 s) and connects to its first tab (`about:blank`).
    pub fn launch_with(extra_flags: &[&str]) -> Result<Chromium> {
        let bin = require_binary(CHROMIUM, "chromium")?;
        let profile = tempfile::Builder::new()
            .prefix("cvi-chromium-")
            .tempdir()
            .context("creating the browser profile dir")?;
        let mut args: Vec<String> = FLAGS.iter().map(|s| s.to_string()).collect();
        args.extend(extra_flags.iter().map(|s| s.to_string()));
        args.push(format!("--user-data-dir={}", profile.path().display()));
        args.push("about:blank".into());
        let home = profile.path().to_path_buf();
        let proc =
            ChildGuard::spawn_with("chromium", &bin.to_string_lossy(), &args, LIFETIME, |cmd| {
                // Keep the browser away from the user's own config and caches.
                cmd.env("HOME", &home)
                    .env("XDG_CONFIG_HOME", home.join("config"))
                    .env("XDG_CACHE_HOME", home.join("cache"));
            })?;
        let port = wait_devtools_port(&proc, profile.path(), Duration::from_secs(30))?;
        let targets = http(port, "GET", "/json/list")?;
        let page = targets
            .as_array()
            .and_then(|a| a.iter().find(|t| t["type"] == "page"))
            .with_context(|| format!("no page target in /json/list: {targets}"))?;
        let page = Page::connect(page, None)?;
        Ok(Chromium {
            page,
            proc,
            port,
            profile,
        })
    }

    /// The first tab.
    pub fn page(&self) -> &Page {
        &self.page
    }

    /// Opens another tab (on `about:blank`) in the same browser. Closed when dropped.
    pub fn new_page(&self) -> Result<Page> {
        let target = http(self.port, "PUT", "/json/new?about:blank")?;
        Page::connect(&target, Some(self.port))
    }

    /// The DevTools HTTP/WebSocket port on 127.0.0.1.
    pub fn devtools_port(&self) -> u16 {
        self.port
    }

    /// The temporary profile directory (`--user-data-dir`).
    pub fn profile_dir(&self) -> &Path {
        self.profile.path()
    }

    /// The browser process's own recent output (stderr; mostly noise at `--log-level=3`).
    pub fn browser_log(&self) -> String {
        self.proc.log_tail(100)
    }

    /// [`Page::goto`] on the first tab.
    pub fn goto(&self, url: &str) -> Result<()> {
        self.page.goto(url)
    }

    /// [`Page::eval`] on the first tab.
    pub fn eval(&self, js: &str) -> Result<Value> {
        self.page.eval(js)
    }

    /// [`Page::wait_for`] on the first tab.
    pub fn wait_for(&self, js_predicate: &str, timeout: Duration) -> Result<Value> {
        self.page.wait_for(js_predicate, timeout)
    }

    /// [`Page::console`] of the first tab.
    pub fn console(&self) -> Vec<String> {
        self.page.console()
    }

    /// [`Page::screenshot`] of the first tab.
    pub fn screenshot(&self, path: &Path) -> Result<()> {
        self.page.screenshot(path)
    }
}

impl Page {
    fn connect(target: &Value, close_on_drop: Option<u16>) -> Result<Page> {
        let url = target["webSocketDebuggerUrl"]
            .as_str()
            .with_context(|| format!("target without webSocketDebuggerUrl: {target}"))?;
        let target_id = target["id"].as_str().unwrap_or_default().to_string();
        let rest = url
            .strip_prefix("ws://")
            .with_context(|| format!("unexpected DevTools URL {url}"))?;
        let host = rest.split('/').next().unwrap_or(rest);
        let stream = TcpStream::connect(host).with_context(|| format!("connecting to {url}"))?;
        stream.set_nodelay(true).ok();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .context("socket timeout")?;
        stream
            .set_write_timeout(Some(Duration::from_secs(10)))
            .context("socket timeout")?;
        let (ws, _) = tungstenite::client(url, stream)
            .map_err(|e| anyhow!("DevTools WebSocket handshake with {url}: {e}"))?;
        let page = Page {
            target_id,
            close_on_drop,
            conn: Mutex::new(Conn {
                ws,
                next_id: 1,
                console: Vec::new(),
                broken: None,
            }),
        };
        page.call("Runtime.enable", json!({}), COMMAND_TIMEOUT)?;
        page.call("Page.enable", json!({}), COMMAND_TIMEOUT)?;
        Ok(page)
    }

    fn lock(&self) -> MutexGuard<'_, Conn> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The DevTools target id of this tab.
    pub fn target_id(&self) -> &str {
        &self.target_id
    }

    /// Sends one DevTools command and waits up to `timeout` for its reply; returns the
    /// reply's `result`. A protocol error is an `Err`.
    pub fn call(&self, method: &str, params: Value, timeout: Duration) -> Result<Value> {
        let mut conn = self.lock();
        conn.call(method, params, timeout)
    }

    /// Navigates to `url` and waits (up to 30 s) until the document has loaded.
    pub fn goto(&self, url: &str) -> Result<()> {
        let r = self.call("Page.navigate", json!({ "url": url }), COMMAND_TIMEOUT)?;
        if let Some(err) = r["errorText"].as_str().filter(|s| !s.is_empty()) {
            bail!("navigating to {url}: {err}");
        }
        self.wait_for("document.readyState === 'complete'", COMMAND_TIMEOUT)
            .with_context(|| format!("loading {url}"))?;
        Ok(())
    }

    /// Evaluates `js` (see the module docs) with a limit of [`COMMAND_TIMEOUT`].
    pub fn eval(&self, js: &str) -> Result<Value> {
        self.eval_timeout(js, COMMAND_TIMEOUT)
    }

    /// Evaluates `js`, waiting up to `timeout` for it (and the promise it returns).
    pub fn eval_timeout(&self, js: &str, timeout: Duration) -> Result<Value> {
        let r = self.call(
            "Runtime.evaluate",
            json!({
                "expression": js,
                "awaitPromise": true,
                "returnByValue": true,
                "userGesture": true,
            }),
            timeout,
        )?;
        if let Some(ex) = r.get("exceptionDetails") {
            bail!("JS exception: {}", exception_text(ex));
        }
        Ok(r["result"].get("value").cloned().unwrap_or(Value::Null))
    }

    /// Evaluates `js_predicate` every 100 ms until its value is truthy and returns that
    /// value. Fails after `timeout` with the last value (or exception) and the console log.
    pub fn wait_for(&self, js_predicate: &str, timeout: Duration) -> Result<Value> {
        let deadline = Instant::now() + timeout;
        let mut last;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let step = left.clamp(Duration::from_secs(1), Duration::from_secs(10));
            match self.eval_timeout(js_predicate, step) {
                Ok(v) if truthy(&v) => return Ok(v),
                Ok(v) => last = format!("value {v}"),
                Err(e) => {
                    if self.lock().broken.is_some() {
                        return Err(e.context(format!("waiting for `{js_predicate}`")));
                    }
                    last = format!("error {e:#}");
                }
            }
            if Instant::now() >= deadline {
                bail!(
                    "`{js_predicate}` not true within {timeout:?}; last: {last}\n\
                     console:\n{}",
                    tail(&self.console(), 80)
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Console messages (`console.*` calls as `"[log] text"`, uncaught exceptions as
    /// `"[exception] text"`) collected so far, oldest first.
    pub fn console(&self) -> Vec<String> {
        let mut conn = self.lock();
        if conn.broken.is_none() {
            // A cheap round trip collects the events the browser sent before its reply.
            let _ = conn.call(
                "Runtime.evaluate",
                json!({ "expression": "0" }),
                Duration::from_secs(5),
            );
        }
        conn.console.clone()
    }

    /// Saves a PNG screenshot of the viewport to `path`.
    pub fn screenshot(&self, path: &Path) -> Result<()> {
        let r = self.call(
            "Page.captureScreenshot",
            json!({ "format": "png" }),
            COMMAND_TIMEOUT,
        )?;
        let data = r["data"]
            .as_str()
            .context("Page.captureScreenshot returned no data")?;
        let png = base64::engine::general_purpose::STANDARD
            .decode(data)
            .context("decoding the screenshot")?;
        std::fs::write(path, png).with_context(|| format!("writing {}", path.display()))
    }
}

impl Conn {
    fn call(&mut self, method: &str, params: Value, timeout: Duration) -> Result<Value> {
        if let Some(why) = &self.broken {
            bail!("DevTools connection is closed ({why}); cannot send {method}");
        }
        let id = self.next_id;
        self.next_id += 1;
        let msg = json!({ "id": id, "method": method, "params": params }).to_string();
        if let Err(e) = self.ws.send(Message::text(msg)) {
            self.broken = Some(e.to_string());
            bail!("sending {method} to the browser: {e}");
        }
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                bail!("no reply to {method} within {timeout:?}");
            }
            self.ws
                .get_mut()
                .set_read_timeout(Some(left.max(Duration::from_millis(1))))
                .ok();
            let frame = match self.ws.read() {
                Ok(f) => f,
                Err(tungstenite::Error::Io(e))
                    if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
                {
                    continue;
                }
                Err(e) => {
                    self.broken = Some(e.to_string());
                    bail!("reading the reply to {method} from the browser: {e}");
                }
            };
            let text = match frame {
                Message::Text(t) => t.to_string(),
                Message::Binary(b) => String::from_utf8_lossy(&b).into_owned(),
                Message::Close(c) => {
                    self.broken = Some(format!("closed by the browser: {c:?}"));
                    bail!("the browser closed the DevTools connection while waiting for {method}");
                }
                _ => continue,
            };
            let Ok(v) = serde_json::from_str::<Value>(&text) else {
                continue;
            };
            if v["id"].as_u64() == Some(id) {
                if let Some(err) = v.get("error") {
                    bail!("{method} failed: {err}");
                }
                return Ok(v.get("result").cloned().unwrap_or(Value::Null));
            }
            if v.get("id").is_none() {
                self.event(&v);
            }
        }
    }

    fn event(&mut self, v: &Value) {
        let p = &v["params"];
        match v["method"].as_str() {
            Some("Runtime.consoleAPICalled") => {
                let args: Vec<String> = p["args"]
                    .as_array()
                    .map(|a| a.iter().map(remote_object_text).collect())
                    .unwrap_or_default();
                let kind = p["type"].as_str().unwrap_or("log");
                self.console.push(format!("[{kind}] {}", args.join(" ")));
            }
            Some("Runtime.exceptionThrown") => {
                let text = exception_text(&p["exceptionDetails"]);
                self.console.push(format!("[exception] {text}"));
            }
            _ => {}
        }
    }
}

impl Drop for Page {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let log = self.lock().console.clone();
            eprintln!(
                "----- console of tab {} -----\n{}----- end of console -----",
                self.target_id,
                tail(&log, 150)
            );
        }
        if let Some(port) = self.close_on_drop {
            let _ = http(port, "GET", &format!("/json/close/{}", self.target_id));
        }
    }
}

/// JavaScript truthiness of a JSON value (`undefined` arrives as `null`).
fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0 && !f.is_nan()),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

/// A console argument (a `RemoteObject`) as text.
fn remote_object_text(o: &Value) -> String {
    match o.get("value") {
        Some(Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
        None => o["description"]
            .as_str()
            .or_else(|| o["unserializableValue"].as_str())
            .or_else(|| o["type"].as_str())
            .unwrap_or("?")
            .to_string(),
    }
}

/// The message of `Runtime.ExceptionDetails` (the exception's description — message and
/// stack — when there is one, else the text and position).
fn exception_text(ex: &Value) -> String {
    let described = ex["exception"]["description"]
        .as_str()
        .map(str::to_string)
        .or_else(|| ex["exception"].get("value").map(|v| v.to_string()));
    match described {
        Some(d) => d,
        None => format!(
            "{} (line {}, column {})",
            ex["text"].as_str().unwrap_or("exception"),
            ex["lineNumber"],
            ex["columnNumber"]
        ),
    }
}

fn tail(lines: &[String], n: usize) -> String {
    let start = lines.len().saturating_sub(n);
    let mut s = String::new();
    for l in &lines[start..] {
        s.push_str(l);
        s.push('\n');
    }
    s
}

/// Waits for `DevToolsActivePort` (port, then browser path) in the profile dir.
fn wait_devtools_port(proc: &ChildGuard, profile: &Path, timeout: Duration) -> Result<u16> {
    let file: PathBuf = profile.join("DevToolsActivePort");
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(text) = std::fs::read_to_string(&file) {
            let mut lines = text.lines();
            if let (Some(port), Some(_browser)) = (lines.next(), lines.next())
                && let Ok(port) = port.trim().parse::<u16>()
            {
                return Ok(port);
            }
        }
        proc.ensure_running()
            .context("chromium exited before opening its DevTools port")?;
        ensure!(
            Instant::now() < deadline,
            "chromium wrote no {} within {timeout:?}; its output:\n{}",
            file.display(),
            proc.log_tail(60)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A tiny HTTP/1.1 request to the DevTools endpoint; the body parsed as JSON (or a JSON
/// string when it is not JSON, e.g. "Target is closing").
fn http(port: u16, method: &str, path: &str) -> Result<Value> {
    let mut s = TcpStream::connect(("127.0.0.1", port))
        .with_context(|| format!("connecting to DevTools on 127.0.0.1:{port}"))?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok();
    s.set_write_timeout(Some(Duration::from_secs(10))).ok();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
         Content-Length: 0\r\n\r\n"
    )
    .context("sending a DevTools HTTP request")?;
    // Read the head, then Content-Length bytes (or to EOF without one).
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    let mut body_at = None;
    loop {
        if let Some(at) = body_at {
            let head = String::from_utf8_lossy(&raw[..at]).to_ascii_lowercase();
            let len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok());
            if len.is_some_and(|len| raw.len() >= at + len) {
                break;
            }
        }
        let n = s
            .read(&mut buf)
            .with_context(|| format!("reading the reply to {method} {path}"))?;
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&buf[..n]);
        if body_at.is_none() {
            body_at = raw.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4);
        }
    }
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .with_context(|| format!("malformed HTTP reply to {method} {path}: {text}"))?;
    let status = head.split_whitespace().nth(1).unwrap_or("");
    ensure!(
        status == "200",
        "{method} {path} on DevTools: {}: {body}",
        head.lines().next().unwrap_or("")
    );
    Ok(serde_json::from_str(body).unwrap_or_else(|_| Value::String(body.to_string())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truthiness() {
        assert!(!truthy(&Value::Null));
        assert!(!truthy(&json!(0)));
        assert!(!truthy(&json!("")));
        assert!(!truthy(&json!(false)));
        assert!(truthy(&json!([])));
        assert!(truthy(&json!({})));
        assert!(truthy(&json!(2.5)));
        assert!(truthy(&json!("x")));
    }

    #[test]
    fn exception_texts() {
        let ex = json!({"text": "Uncaught", "exception": {"description": "Error: boom\n    at <anonymous>:1:7"}});
        assert!(exception_text(&ex).starts_with("Error: boom"));
        let thrown_value = json!({"text": "Uncaught", "exception": {"type": "number", "value": 3}});
        assert_eq!(exception_text(&thrown_value), "3");
        let bare = json!({"text": "Uncaught SyntaxError", "lineNumber": 0, "columnNumber": 4});
        assert!(exception_text(&bare).contains("SyntaxError"));
    }
}
