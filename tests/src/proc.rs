//! A child-process guard for end-to-end tests.
//!
//! * The child runs in its own process group (`process_group(0)`); dropping the guard sends
//!   SIGTERM to the whole group, waits up to 2 s, then SIGKILLs the group and reaps the child.
//!   Nothing outlives the guard, including grandchildren (socat's forks, for instance).
//! * As a safety net against the test process itself being SIGKILLed (no `Drop` then), the
//!   command is wrapped in coreutils `timeout -k 5 <lifetime>`, so a forgotten child dies by
//!   itself after `lifetime` (default [`DEFAULT_LIFETIME`]).
//! * stdout and stderr are read by two threads into one shared buffer of [`LogLine`]s, split
//!   on `\n` *and* `\r` (baresip redraws its status line with `\r`), ANSI colour codes removed,
//!   empty lines dropped, each stamped with the time since spawn.
//! * When the guard is dropped while the thread is panicking (a failed assertion), the last
//!   lines of output are printed to stderr, so a failing test shows what the client said.
//!   Set `CVI_E2E_ECHO=1` to echo every line live.

use anyhow::{Context, Result, bail};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use regex::Regex;
use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Default maximum lifetime of a child (see the module docs).
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(300);

/// Which pipe a line came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// One line of a child's output.
#[derive(Clone, Debug)]
pub struct LogLine {
    /// Time since the child was spawned.
    pub at: Duration,
    /// The pipe it came from.
    pub stream: Stream,
    /// The text, without line terminator or ANSI escape sequences.
    pub text: String,
}

#[derive(Default)]
struct Buffer {
    lines: Vec<LogLine>,
    open_pipes: usize,
}

struct Shared {
    buf: Mutex<Buffer>,
    cv: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Buffer> {
        self.buf.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A running child process; see the module docs.
pub struct ChildGuard {
    name: String,
    child: Mutex<Child>,
    stdin: Mutex<Option<ChildStdin>>,
    shared: Arc<Shared>,
    started: Instant,
    pgid: Pid,
    exit: Mutex<Option<ExitStatus>>,
}

/// `Some(path)` if `program` is an executable found in `PATH` (or is a path that exists).
pub fn find_in_path(program: &str) -> Option<PathBuf> {
    if program.contains('/') {
        let p = PathBuf::from(program);
        return p.is_file().then_some(p);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

/// Fails with a message naming the Debian package when `program` is not installed.
pub fn require_binary(program: &str, debian_package: &str) -> Result<PathBuf> {
    find_in_path(program).with_context(|| {
        format!(
            "`{program}` is not installed (not found in PATH): install the Debian package \
             `{debian_package}` (apt-get install -y {debian_package}; tests/PACKAGES lists \
             everything these tests need)"
        )
    })
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                // CSI: parameters then one final byte in 0x40..=0x7e.
                for d in chars.by_ref() {
                    if ('\u{40}'..='\u{7e}').contains(&d) {
                        break;
                    }
                }
            }
            continue;
        }
        if c.is_control() && c != '\t' {
            continue;
        }
        out.push(c);
    }
    out
}

fn reader_thread(
    name: String,
    pipe: impl Read + Send + 'static,
    stream: Stream,
    shared: Arc<Shared>,
    started: Instant,
) {
    let echo = std::env::var_os("CVI_E2E_ECHO").is_some_and(|v| v != "0");
    std::thread::Builder::new()
        .name(format!("{name}-{stream:?}"))
        .spawn(move || {
            let mut reader = BufReader::new(pipe);
            let mut raw = Vec::new();
            loop {
                raw.clear();
                // Split on '\n'; '\r' splitting is done below.
                match reader.read_until(b'\n', &mut raw) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
                let text = String::from_utf8_lossy(&raw);
                let mut new = Vec::new();
                for part in text.split(['\n', '\r']) {
                    let clean = strip_ansi(part);
                    if clean.trim().is_empty() {
                        continue;
                    }
                    if echo {
                        eprintln!("[{name} {:>8.3}] {clean}", started.elapsed().as_secs_f64());
                    }
                    new.push(LogLine {
                        at: started.elapsed(),
                        stream,
                        text: clean,
                    });
                }
                if !new.is_empty() {
                    shared.lock().lines.extend(new);
                    shared.cv.notify_all();
                }
            }
            shared.lock().open_pipes -= 1;
            shared.cv.notify_all();
        })
        .expect("spawning an output reader thread");
}

impl ChildGuard {
    /// Spawns `program args…` with the default lifetime. See [`ChildGuard::spawn_with`].
    pub fn spawn<I, S>(name: &str, program: &str, args: I) -> Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        Self::spawn_with(name, program, args, DEFAULT_LIFETIME, |_| {})
    }

    /// Spawns `program args…` in a new process group, stdin/stdout/stderr piped, wrapped in
    /// `timeout -k 5 <lifetime>`. `configure` may set the working directory or environment.
    /// `name` labels the output in failure dumps.
    pub fn spawn_with<I, S>(
        name: &str,
        program: &str,
        args: I,
        lifetime: Duration,
        configure: impl FnOnce(&mut Command),
    ) -> Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let exe = find_in_path(program)
            .with_context(|| format!("`{program}` is not installed (not found in PATH)"))?;
        let timeout = require_binary("timeout", "coreutils")?;
        let mut cmd = Command::new(timeout);
        cmd.arg("-k")
            .arg("5")
            .arg(format!("{}", lifetime.as_secs().max(1)))
            .arg(&exe)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        configure(&mut cmd);
        let started = Instant::now();
        let mut child = cmd
            .spawn()
            .with_context(|| format!("spawning {name} ({})", exe.display()))?;
        let pid = i32::try_from(child.id()).context("pid out of range")?;
        let shared = Arc::new(Shared {
            buf: Mutex::new(Buffer {
                lines: Vec::new(),
                open_pipes: 2,
            }),
            cv: Condvar::new(),
        });
        let stdout = child.stdout.take().context("child stdout")?;
        let stderr = child.stderr.take().context("child stderr")?;
        reader_thread(name.into(), stdout, Stream::Stdout, shared.clone(), started);
        reader_thread(name.into(), stderr, Stream::Stderr, shared.clone(), started);
        let stdin = child.stdin.take();
        Ok(Self {
            name: name.to_string(),
            child: Mutex::new(child),
            stdin: Mutex::new(stdin),
            shared,
            started,
            pgid: Pid::from_raw(pid),
            exit: Mutex::new(None),
        })
    }

    /// The label given at spawn.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Process id of the group leader (the `timeout` wrapper).
    pub fn pid(&self) -> u32 {
        self.pgid.as_raw().unsigned_abs()
    }

    /// Time since spawn.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Writes `text` to the child's stdin as is (no newline added) and flushes.
    pub fn write_stdin(&self, text: &str) -> Result<()> {
        let mut guard = self.stdin.lock().unwrap_or_else(|e| e.into_inner());
        let stdin = guard
            .as_mut()
            .with_context(|| format!("{}: stdin is closed", self.name))?;
        stdin
            .write_all(text.as_bytes())
            .and_then(|()| stdin.flush())
            .with_context(|| format!("{}: writing to stdin", self.name))
    }

    /// Writes `line` and a newline to the child's stdin.
    pub fn send_line(&self, line: &str) -> Result<()> {
        self.write_stdin(&format!("{line}\n"))
    }

    /// Closes the child's stdin (EOF).
    pub fn close_stdin(&self) {
        self.stdin.lock().unwrap_or_else(|e| e.into_inner()).take();
    }

    /// A copy of every line so far.
    pub fn lines(&self) -> Vec<LogLine> {
        self.shared.lock().lines.clone()
    }

    /// Number of lines so far.
    pub fn line_count(&self) -> usize {
        self.shared.lock().lines.len()
    }

    /// The lines from index `from` on, waiting until at least one exists, the output is
    /// closed, or `deadline` passes. Returns the new lines and whether the output is closed.
    pub fn lines_since(&self, from: usize, deadline: Instant) -> (Vec<LogLine>, bool) {
        let mut buf = self.shared.lock();
        loop {
            let closed = buf.open_pipes == 0;
            if buf.lines.len() > from || closed {
                let new = buf.lines.get(from..).map(<[_]>::to_vec).unwrap_or_default();
                return (new, closed);
            }
            let now = Instant::now();
            if now >= deadline {
                return (Vec::new(), closed);
            }
            buf = self
                .shared
                .cv
                .wait_timeout(buf, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Waits for a line (from the start of output) matching `re`; returns the first such.
    pub fn wait_for_line(&self, re: &Regex, timeout: Duration) -> Option<String> {
        self.wait_for_line_from(0, re, timeout).map(|(_, s)| s)
    }

    /// Waits for a line at index ≥ `from` matching `re`; returns its index and text.
    pub fn wait_for_line_from(
        &self,
        from: usize,
        re: &Regex,
        timeout: Duration,
    ) -> Option<(usize, String)> {
        let deadline = Instant::now() + timeout;
        let mut next = from;
        loop {
            let (new, closed) = self.lines_since(next, deadline);
            for (i, l) in new.iter().enumerate() {
                if re.is_match(&l.text) {
                    return Some((next + i, l.text.clone()));
                }
            }
            next += new.len();
            if new.is_empty() && (closed || Instant::now() >= deadline) {
                return None;
            }
        }
    }

    /// Waits until both output pipes are closed (the process and its group are gone) or
    /// `timeout` passes, so that the buffer holds the complete output.
    pub fn drain(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let mut buf = self.shared.lock();
        while buf.open_pipes > 0 {
            let now = Instant::now();
            if now >= deadline {
                return;
            }
            buf = self
                .shared
                .cv
                .wait_timeout(buf, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// The output as text, one `[   1.234 out] line` per line.
    pub fn log_text(&self) -> String {
        Self::format_lines(&self.lines())
    }

    /// The last `n` lines formatted like [`ChildGuard::log_text`].
    pub fn log_tail(&self, n: usize) -> String {
        let lines = self.lines();
        let start = lines.len().saturating_sub(n);
        Self::format_lines(&lines[start..])
    }

    fn format_lines(lines: &[LogLine]) -> String {
        let mut s = String::new();
        for l in lines {
            let tag = match l.stream {
                Stream::Stdout => "out",
                Stream::Stderr => "err",
            };
            s.push_str(&format!("[{:>8.3} {tag}] {}\n", l.at.as_secs_f64(), l.text));
        }
        s
    }

    /// The exit status if the child has exited.
    pub fn try_wait(&self) -> Option<ExitStatus> {
        let mut exit = self.exit.lock().unwrap_or_else(|e| e.into_inner());
        if exit.is_none() {
            let mut child = self.child.lock().unwrap_or_else(|e| e.into_inner());
            *exit = child.try_wait().ok().flatten();
        }
        *exit
    }

    /// Waits up to `timeout` for the child to exit by itself.
    pub fn wait_exit(&self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(s) = self.try_wait() {
                return Some(s);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// Fails unless the child is still running (with its output in the message).
    pub fn ensure_running(&self) -> Result<()> {
        if let Some(status) = self.try_wait() {
            self.drain(Duration::from_secs(1));
            bail!(
                "{} exited early ({status}); its output:\n{}",
                self.name,
                self.log_tail(80)
            );
        }
        Ok(())
    }

    /// SIGTERM to the process group, up to `grace` to exit, then SIGKILL; reaps the child.
    pub fn stop(&self, grace: Duration) -> Option<ExitStatus> {
        self.close_stdin();
        if self.try_wait().is_none() {
            let _ = killpg(self.pgid, Signal::SIGTERM);
            let _ = self.wait_exit(grace);
        }
        // Always sweep the group: grandchildren may outlive the leader.
        let _ = killpg(self.pgid, Signal::SIGKILL);
        let status = {
            let mut child = self.child.lock().unwrap_or_else(|e| e.into_inner());
            child.wait().ok()
        };
        let mut exit = self.exit.lock().unwrap_or_else(|e| e.into_inner());
        if exit.is_none() {
            *exit = status;
        }
        *exit
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(2));
        if std::thread::panicking() {
            eprintln!(
                "----- last output of {} (pid {}) -----\n{}----- end of {} -----",
                self.name,
                self.pid(),
                self.log_tail(150),
                self.name
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_ansi_and_controls() {
        assert_eq!(strip_ansi("\u{1b}[31mmain: x\u{1b}[;m"), "main: x");
        assert_eq!(strip_ansi("a\u{7}b"), "ab");
    }

    #[test]
    fn captures_lines_and_kills_group() {
        let g = ChildGuard::spawn(
            "sh",
            "sh",
            [
                "-c",
                "printf 'one\\rtwo\\n'; echo three >&2; sleep 60 & sleep 60",
            ],
        )
        .expect("spawn sh");
        let re = Regex::new("three").expect("regex");
        assert!(g.wait_for_line(&re, Duration::from_secs(5)).is_some());
        let texts: Vec<String> = g.lines().into_iter().map(|l| l.text).collect();
        assert!(texts.contains(&"one".to_string()), "{texts:?}");
        assert!(texts.contains(&"two".to_string()), "{texts:?}");
        let started = Instant::now();
        g.stop(Duration::from_secs(2));
        assert!(started.elapsed() < Duration::from_secs(4));
    }
}
