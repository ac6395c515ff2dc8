//! End-to-end test harness for cvi-gateway: real SIP user agents driven from Rust tests.
//!
//! * [`baresip::Baresip`] and [`linphone::Linphone`] — SIP clients (UAC side) with
//!   `dial(uri, transport)`, `hangup()`, `send_dtmf()` and a parsed [`CallEvent`] stream with
//!   `wait_for(&CallEvent, timeout)`.
//! * [`sipp::Sipp`] — SIPp as a UAS (built-in `uas`, answer, reject with a status, answer then
//!   BYE, or any XML), on UDP, TCP or TLS (TLS through a `socat` front, since Debian's sipp is
//!   built without OpenSSL).
//! * [`tls::TestPki`] — a throw-away CA, server and client certificates as PEM files.
//! * [`proc::ChildGuard`] — process-group guard with captured output; [`net`] — free ports.
//!
//! Every resource is per test (temp dirs, ports, processes), so tests can run in parallel.
//! The Debian packages these need are listed in `tests/PACKAGES`.

pub mod baresip;
pub mod chromium;
pub mod linphone;
pub mod media_check;
pub mod net;
pub mod proc;
pub mod sipp;
pub mod tls;

use anyhow::{Context, Result, bail, ensure};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// SIP transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transport {
    /// SIP over UDP.
    Udp,
    /// SIP over TCP.
    Tcp,
    /// SIP over TLS (over TCP).
    Tls,
}

impl Transport {
    /// The `transport=` URI parameter value: `udp`, `tcp`, `tls`.
    pub fn param(self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
            Transport::Tls => "tls",
        }
    }

    /// The Via token: `UDP`, `TCP`, `TLS`.
    pub fn via(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
            Transport::Tls => "TLS",
        }
    }
}

/// `uri` with `;transport=udp|tcp|tls` appended (replacing an existing `transport=`).
///
/// `with_transport("sip:svc@127.0.0.1:5070", Transport::Tls)` →
/// `sip:svc@127.0.0.1:5070;transport=tls`.
pub fn with_transport(uri: &str, transport: Transport) -> String {
    let (base, rest) = match uri.find(['?', '>']) {
        Some(i) => uri.split_at(i),
        None => (uri, ""),
    };
    let kept: Vec<&str> = base
        .split(';')
        .enumerate()
        .filter(|(i, p)| *i == 0 || !p.to_ascii_lowercase().starts_with("transport="))
        .map(|(_, p)| p)
        .collect();
    format!("{};transport={}{rest}", kept.join(";"), transport.param())
}

/// Reason used in [`CallEvent::Closed`] when the far end hung up with a BYE.
pub const REASON_REMOTE_BYE: &str = "remote BYE";
/// Reason used in [`CallEvent::Closed`] when the call was hung up from our side.
pub const REASON_LOCAL_HANGUP: &str = "local hangup";

/// A call event parsed from a client's output. Both clients map their own log lines onto
/// these (see the module docs of [`baresip`] and [`linphone`] for the exact lines).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallEvent {
    /// A provisional response `1xx` (101–199) was received.
    Progress(u16),
    /// The far end is ringing (180).
    Ringing,
    /// The call was answered (2xx received and ACKed).
    Established,
    /// The call is over. `status` is the SIP final status for a failed call (e.g. 404);
    /// `reason` is `"404 Not Found"`-like for those, [`REASON_REMOTE_BYE`] when the far end
    /// sent BYE, [`REASON_LOCAL_HANGUP`] after our own hangup, or the client's own text
    /// otherwise (e.g. a transport error).
    Closed {
        /// Why it closed.
        reason: String,
        /// SIP status of a failed call, if any.
        status: Option<u16>,
    },
}

impl CallEvent {
    /// Pattern matching any `Closed`.
    pub fn closed() -> Self {
        CallEvent::Closed {
            reason: String::new(),
            status: None,
        }
    }

    /// Pattern matching a `Closed` with this SIP status.
    pub fn closed_with_status(status: u16) -> Self {
        CallEvent::Closed {
            reason: String::new(),
            status: Some(status),
        }
    }

    /// Pattern matching a `Closed` caused by a BYE from the far end.
    pub fn remote_bye() -> Self {
        CallEvent::Closed {
            reason: REASON_REMOTE_BYE.into(),
            status: None,
        }
    }

    /// Pattern matching a `Closed` after our own hangup.
    pub fn local_hangup() -> Self {
        CallEvent::Closed {
            reason: REASON_LOCAL_HANGUP.into(),
            status: None,
        }
    }

    /// Whether this is a `Closed`.
    pub fn is_closed(&self) -> bool {
        matches!(self, CallEvent::Closed { .. })
    }

    /// Whether `actual` matches `self` used as a pattern: equal for `Progress`, `Ringing`,
    /// `Established`; for `Closed`, a `Some` status must be equal and a non-empty reason must
    /// be contained (case-insensitively) in the actual reason.
    pub fn matches(&self, actual: &CallEvent) -> bool {
        match (self, actual) {
            (
                CallEvent::Closed { reason, status },
                CallEvent::Closed {
                    reason: ar,
                    status: ast,
                },
            ) => {
                status.is_none_or(|s| Some(s) == *ast)
                    && (reason.is_empty() || ar.to_lowercase().contains(&reason.to_lowercase()))
            }
            (a, b) => a == b,
        }
    }
}

/// Turns client log lines into [`CallEvent`]s; stateful, fed line by line.
pub(crate) trait EventParser: Send {
    fn feed(&mut self, line: &str, out: &mut Vec<CallEvent>);
}

/// Parsed events of one client process, with a read cursor for `wait_for`.
pub(crate) struct EventStream<P: EventParser> {
    parser: P,
    fed: usize,
    events: Vec<(std::time::Duration, CallEvent)>,
    cursor: usize,
}

impl<P: EventParser> EventStream<P> {
    pub(crate) fn new(parser: P) -> Self {
        Self {
            parser,
            fed: 0,
            events: Vec::new(),
            cursor: 0,
        }
    }

    fn pump(&mut self, lines: &[proc::LogLine]) {
        for l in lines {
            let mut out = Vec::new();
            self.parser.feed(&l.text, &mut out);
            self.events.extend(out.into_iter().map(|e| (l.at, e)));
        }
        self.fed += lines.len();
    }

    /// All events so far (feeds any unread output first).
    pub(crate) fn all(&mut self, proc: &proc::ChildGuard) -> Vec<CallEvent> {
        let (new, _) = proc.lines_since(self.fed, Instant::now());
        self.pump(&new);
        self.events.iter().map(|(_, e)| e.clone()).collect()
    }

    /// Waits for the next event (after the cursor) matching `want`; advances the cursor past
    /// it. Fails at once when the call closes while waiting for a non-`Closed` event, and
    /// on timeout or process exit, with the client's recent output in the error.
    pub(crate) fn wait_for(
        &mut self,
        proc: &proc::ChildGuard,
        want: &CallEvent,
        timeout: Duration,
    ) -> Result<CallEvent> {
        let deadline = Instant::now() + timeout;
        loop {
            while self.cursor < self.events.len() {
                let ev = self.events[self.cursor].1.clone();
                self.cursor += 1;
                if want.matches(&ev) {
                    return Ok(ev);
                }
                if ev.is_closed() && !want.is_closed() {
                    bail!(
                        "{}: waiting for {want:?}, but the call ended: {ev:?}\nrecent output:\n{}",
                        proc.name(),
                        proc.log_tail(60)
                    );
                }
            }
            let (new, closed) = proc.lines_since(self.fed, deadline);
            if new.is_empty() {
                let seen: Vec<_> = self.events.iter().map(|(_, e)| e).collect();
                if closed {
                    bail!(
                        "{}: exited while waiting for {want:?} (events so far: {seen:?})\n\
                         recent output:\n{}",
                        proc.name(),
                        proc.log_tail(60)
                    );
                }
                if Instant::now() >= deadline {
                    bail!(
                        "{}: no {want:?} within {timeout:?} (events so far: {seen:?})\n\
                         recent output:\n{}",
                        proc.name(),
                        proc.log_tail(60)
                    );
                }
                continue;
            }
            self.pump(&new);
        }
    }
}

/// The `cvi` binary of this build: `<target>/<profile>/cvi`, next to the test executable's
/// `deps/` directory. Tests run it but do not build it: the README test command runs
/// `cargo build --bins` first.
pub fn cvi_bin() -> Result<PathBuf> {
    let exe = std::env::current_exe().context("locating the test executable")?;
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .context("the test executable is not in <target>/<profile>/deps")?;
    let bin = dir.join(format!("cvi{}", std::env::consts::EXE_SUFFIX));
    ensure!(
        bin.is_file(),
        "{} is missing: tests run the cvi binary but do not build it; \
         run `cargo build --bins` first, then `cargo test -p cvi-e2e`",
        bin.display()
    );
    Ok(bin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transport_param_is_appended_or_replaced() {
        assert_eq!(
            with_transport("sip:a@127.0.0.1:5060", Transport::Tcp),
            "sip:a@127.0.0.1:5060;transport=tcp"
        );
        assert_eq!(
            with_transport("sip:a@h;transport=udp;lr", Transport::Tls),
            "sip:a@h;lr;transport=tls"
        );
    }

    #[test]
    fn closed_patterns() {
        let c404 = CallEvent::Closed {
            reason: "404 Not Found".into(),
            status: Some(404),
        };
        assert!(CallEvent::closed().matches(&c404));
        assert!(CallEvent::closed_with_status(404).matches(&c404));
        assert!(!CallEvent::closed_with_status(486).matches(&c404));
        assert!(!CallEvent::remote_bye().matches(&c404));
        assert!(!CallEvent::Established.matches(&c404));
    }
}
