//! linphonec (console linphone), headless, as a SIP client driven through stdin.
//!
//! # Empirical facts (Debian 12: package `linphone-cli` 5.1.65, liblinphone 5.1.65)
//!
//! * Binaries: `linphonec` (readline console; reads commands from a pipe fine),
//!   `linphonecsh` and `linphone-daemon` (`--config`, `--pipe`, commands like `call`,
//!   `terminate`, `pop-event`). This module uses `linphonec -c RC -d 5`.
//! * `-d 5` prints liblinphone/belle-sip logs (including whole SIP messages) on stdout/stderr;
//!   the final status of a failed call is only visible there
//!   (`Op [0x…] receiving call response [404], dialog is [0] in state …`). linphonec's own
//!   line for it is just `Call 1 with sip:… error.`; `call-logs` shows `Status: aborted`.
//! * **The database directory must exist**: with HOME=/tmp/x and no
//!   `$HOME/.local/share/linphone/`, "Unable to open linphone database …linphone.db" and the
//!   core stays in `LinphoneGlobalStartup` (`states global`), `ports` says `sip port = 0`, no
//!   listening point is created and `call` fails with "No listening point matching for
//!   [udp://…]" / "Call 1 with … error." / "Error from linphone_core_invite.". Each instance
//!   here gets its own HOME (a temp dir) with that directory created.
//! * Config (`[sip]`): `sip_port=P` (UDP), `sip_tcp_port`, `sip_tls_port`; 0 disables a
//!   transport, -1 is random, -2 means "enabled for outgoing, not bound" (belle-sip logs
//!   `Creating listening point … on [sip:127.0.0.1:-2;transport=TCP]`) — but **do not use
//!   -2**: the Contact then says `sip:127.0.0.1:-2;transport=tls` ("bad port value [-2] for
//!   via") and an in-dialog request from the far end (`BYE sip:127.0.0.1:-2;…`) cannot even
//!   be parsed ("Could not parse [BYE …"), so the call never ends. This module binds free
//!   ports for all three. `bind_address=127.0.0.1`,
//!   `use_ipv6=0`, `auto_net_state_mon=0` (then it warns that apps must call
//!   `linphone_core_set_network_reachable()`, but listening works), `guess_hostname=0` (else
//!   From shows eth0's address), `contact="Tester" <sip:tester@127.0.0.1>`.
//!   `[rtp] bind_address=127.0.0.1` is needed or SDP gets eth0's address (or fd00::2 with
//!   IPv6): "Found media local-ip from configuration file: 127.0.0.1".
//! * No sound card here: "Could not find a suitable soundcard with capabilities : 2" (and
//!   ALSA noise) — harmless; calls connect and RTP flows.
//! * TLS: `root_ca=CA.pem`, `verify_server_certs=1`, `verify_server_cn=1` verify the server;
//!   belle-sip/mbedTLS matches the host against **DNS** SANs only (an IP SAN alone gives
//!   `Found certificate depth=[0], flags=[CN-mismatch ]` and "Cannot connect to
//!   [TLS://127.0.0.1:…]"), so [`crate::tls::TestPki`] adds a DNS SAN "127.0.0.1".
//!   Client certificate: `client_cert_chain` / `client_cert_key` (paths).
//! * The file gets rewritten by linphonec on exit (defaults added, keys like `use_ipv6=0`
//!   dropped when equal to the default) — harmless, each run writes a fresh one.
//!
//! stdout lines (linphonec's own; the prompt `linphonec> ` may prefix them):
//! * dial: `Establishing call id to sip:…, assigned id 1` then `Call 1 to sip:… in progress.`
//!   (with `;transport=tcp` the URI is shown as `<sip:…;transport=tcp>`)
//! * `Call 1 to sip:… ringing.`
//! * `Call 1 with sip:… connected.` then `Media streams established with sip:… for call 1
//!   (audio).`
//! * `Call 1 with sip:… error.` (rejected / unreachable)
//! * `Call 1 with sip:… ended (No error).` — for a far-end BYE *and* our `terminate`; the
//!   debug log tells them apart: `Changing [server] [BYE] transaction …` (far end) vs
//!   `Changing [client] [BYE] transaction …` (ours).
//! * A line with one DTMF digit sends it: `[ToneManager] playDtmf` in the log.
//! * `terminate` with no call: `No active calls`; `quit` → `Terminating...`.

use crate::proc::{ChildGuard, require_binary};
use crate::{
    CallEvent, EventParser, EventStream, REASON_LOCAL_HANGUP, REASON_REMOTE_BYE, Transport,
    net::{self, Proto},
    tls::TestPki,
    with_transport,
};
use anyhow::{Context, Result, bail};
use regex::Regex;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

/// Options for [`Linphone::start`].
#[derive(Clone, Debug)]
pub struct LinphoneOpts {
    /// User part of the identity `sip:USER@127.0.0.1`.
    pub user: String,
    /// `root_ca`: CA for TLS.
    pub ca: Option<PathBuf>,
    /// `verify_server_certs` and `verify_server_cn`.
    pub verify_server: bool,
    /// `client_cert_chain` and `client_cert_key`.
    pub client_cert: Option<(PathBuf, PathBuf)>,
    /// `media_encryption=srtp`, mandatory.
    pub srtp: bool,
    /// `-a`: answer incoming calls automatically.
    pub auto_answer: bool,
    /// Extra `[section]`/`key=value` lines appended to the config.
    pub extra_config: Vec<String>,
    /// Safety lifetime of the process.
    pub lifetime: Duration,
}

impl Default for LinphoneOpts {
    fn default() -> Self {
        Self {
            user: "tester".into(),
            ca: None,
            verify_server: false,
            client_cert: None,
            srtp: false,
            auto_answer: false,
            extra_config: Vec::new(),
            lifetime: Duration::from_secs(120),
        }
    }
}

impl LinphoneOpts {
    /// Defaults plus the test CA with server verification on.
    pub fn with_ca(pki: &TestPki) -> Self {
        Self {
            ca: Some(pki.ca.clone()),
            verify_server: true,
            ..Self::default()
        }
    }

    /// [`LinphoneOpts::with_ca`] plus the client certificate of `pki`.
    pub fn with_client_cert(pki: &TestPki) -> Self {
        Self {
            client_cert: Some((pki.client.cert.clone(), pki.client.key.clone())),
            ..Self::with_ca(pki)
        }
    }
}

static RE_RESPONSE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"receiving call response \[(\d{3})\]").expect("static regex: response")
});
static RE_STATUS_LINE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^SIP/2\.0 (\d{3}) (.*)$").expect("static regex: status line"));
static RE_RINGING: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"Call \d+ to .* ringing\.$").expect("static regex: ringing"));
static RE_CONNECTED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"Call \d+ with .* connected\.$").expect("static regex: conn"));
static RE_ERROR: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"Call \d+ with .* error\.$").expect("static regex: error"));
static RE_ENDED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"Call \d+ with .* ended \((.*)\)\.$").expect("static regex: ended")
});

#[derive(Default)]
struct Parser {
    final_status: Option<u16>,
    reasons: HashMap<u16, String>,
    server_bye: bool,
    client_bye: bool,
}

impl EventParser for Parser {
    fn feed(&mut self, line: &str, out: &mut Vec<CallEvent>) {
        if line.contains("Establishing call id to ") {
            *self = Parser {
                reasons: std::mem::take(&mut self.reasons),
                ..Parser::default()
            };
        } else if let Some(c) = RE_STATUS_LINE.captures(line.trim_end()) {
            if let Ok(code) = c[1].parse::<u16>() {
                self.reasons.insert(code, c[2].trim().to_string());
            }
        } else if let Some(c) = RE_RESPONSE.captures(line) {
            if let Ok(code) = c[1].parse::<u16>() {
                if (101..200).contains(&code) {
                    out.push(CallEvent::Progress(code));
                } else if code >= 300 {
                    self.final_status = Some(code);
                }
            }
        } else if line.contains("Changing [server] [BYE] transaction") {
            self.server_bye = true;
        } else if line.contains("Changing [client] [BYE] transaction") {
            self.client_bye = true;
        } else if RE_RINGING.is_match(line) {
            out.push(CallEvent::Ringing);
        } else if RE_CONNECTED.is_match(line) {
            out.push(CallEvent::Established);
        } else if RE_ERROR.is_match(line) {
            let status = self.final_status;
            let reason = match status {
                Some(s) => match self.reasons.get(&s) {
                    Some(r) => format!("{s} {r}"),
                    None => s.to_string(),
                },
                None => "error".to_string(),
            };
            out.push(CallEvent::Closed { reason, status });
        } else if let Some(c) = RE_ENDED.captures(line) {
            let reason = if self.server_bye {
                REASON_REMOTE_BYE.to_string()
            } else if self.client_bye {
                REASON_LOCAL_HANGUP.to_string()
            } else {
                format!("ended ({})", &c[1])
            };
            out.push(CallEvent::Closed {
                reason,
                status: None,
            });
        }
    }
}

/// A running linphonec; killed (process group) on drop.
pub struct Linphone {
    events: Mutex<EventStream<Parser>>,
    proc: ChildGuard,
    sip_port: u16,
    tcp_port: u16,
    tls_port: u16,
    user: String,
    home: tempfile::TempDir,
}

fn rc_text(opts: &LinphoneOpts, sip_port: u16, tcp_port: u16, tls_port: u16) -> String {
    let mut c = String::new();
    let _ = writeln!(c, "[sip]");
    let kv2 = |c: &mut String, k: &str, v: String| {
        let _ = writeln!(c, "{k}={v}");
    };
    kv2(&mut c, "sip_port", sip_port.to_string());
    kv2(&mut c, "sip_tcp_port", tcp_port.to_string());
    kv2(&mut c, "sip_tls_port", tls_port.to_string());
    kv2(&mut c, "bind_address", "127.0.0.1".into());
    kv2(&mut c, "use_ipv6", "0".into());
    kv2(&mut c, "auto_net_state_mon", "0".into());
    kv2(&mut c, "guess_hostname", "0".into());
    kv2(
        &mut c,
        "contact",
        format!("\"Tester\" <sip:{}@127.0.0.1>", opts.user),
    );
    kv2(&mut c, "default_proxy", "-1".into());
    kv2(&mut c, "register_only_when_network_is_up", "0".into());
    kv2(&mut c, "inc_timeout", "60".into());
    let verify = if opts.verify_server { "1" } else { "0" };
    kv2(&mut c, "verify_server_certs", verify.into());
    kv2(&mut c, "verify_server_cn", verify.into());
    if let Some(ca) = &opts.ca {
        kv2(&mut c, "root_ca", ca.display().to_string());
    }
    if let Some((cert, key)) = &opts.client_cert {
        kv2(&mut c, "client_cert_chain", cert.display().to_string());
        kv2(&mut c, "client_cert_key", key.display().to_string());
    }
    if opts.srtp {
        kv2(&mut c, "media_encryption", "srtp".into());
        kv2(&mut c, "media_encryption_mandatory", "1".into());
    }
    let _ = writeln!(c, "\n[rtp]");
    kv2(&mut c, "bind_address", "127.0.0.1".into());
    kv2(&mut c, "audio_rtp_port", "10000-30000".into());
    kv2(&mut c, "video_rtp_port", "30002-40000".into());
    let _ = writeln!(c, "\n[video]");
    kv2(&mut c, "enabled", "0".into());
    kv2(&mut c, "display", "0".into());
    kv2(&mut c, "capture", "0".into());
    let _ = writeln!(c, "\n[sound]");
    kv2(&mut c, "echocancellation", "0".into());
    let _ = writeln!(c);
    for l in &opts.extra_config {
        let _ = writeln!(c, "{l}");
    }
    c
}

impl Linphone {
    /// Writes a config and HOME, starts `linphonec -c RC -d 5` and waits until its SIP UDP
    /// port is bound (15 s).
    pub fn start(opts: LinphoneOpts) -> Result<Linphone> {
        require_binary("linphonec", "linphone-cli")?;
        let home = tempfile::Builder::new()
            .prefix("cvi-e2e-linphone-")
            .tempdir()
            .context("linphone temp dir")?;
        std::fs::create_dir_all(home.path().join(".local/share/linphone"))
            .context("creating linphone's database dir")?;
        let sip_port = net::free_udp_port();
        let tcp_port = net::free_tcp_port();
        let tls_port = net::free_tcp_port();
        let rc = home.path().join("linphonerc");
        std::fs::write(&rc, rc_text(&opts, sip_port, tcp_port, tls_port))
            .context("writing linphonerc")?;
        let mut args = vec![
            "-c".to_string(),
            rc.display().to_string(),
            "-d".into(),
            "5".into(),
        ];
        if opts.auto_answer {
            args.push("-a".into());
        }
        let h = home.path().to_path_buf();
        let proc = ChildGuard::spawn_with("linphonec", "linphonec", &args, opts.lifetime, |c| {
            c.current_dir(&h).env("HOME", &h);
        })?;
        if !net::wait_listening(Proto::Udp, sip_port, Duration::from_secs(15)) {
            proc.ensure_running()?;
            bail!(
                "linphonec did not bind UDP 127.0.0.1:{sip_port} within 15 s; output:\n{}",
                proc.log_tail(60)
            );
        }
        Ok(Linphone {
            events: Mutex::new(EventStream::new(Parser::default())),
            proc,
            sip_port,
            tcp_port,
            tls_port,
            user: opts.user,
            home,
        })
    }

    /// Dials `uri` with `;transport=` set (`call URI`).
    pub fn dial(&self, uri: &str, transport: Transport) -> Result<()> {
        self.proc.ensure_running()?;
        self.proc
            .send_line(&format!("call {}", with_transport(uri, transport)))
    }

    /// Hangs up the current call (`terminate`).
    pub fn hangup(&self) -> Result<()> {
        self.proc.send_line("terminate")
    }

    /// Sends DTMF digits, one line per digit.
    pub fn send_dtmf(&self, digits: &str) -> Result<()> {
        for d in digits.chars() {
            if !matches!(d, '0'..='9' | '*' | '#' | 'A'..='D') {
                bail!("not a DTMF digit: {d:?}");
            }
            self.proc.send_line(&d.to_string())?;
            std::thread::sleep(Duration::from_millis(250));
        }
        Ok(())
    }

    /// Sends any linphonec command line.
    pub fn command(&self, line: &str) -> Result<()> {
        self.proc.send_line(line)
    }

    /// Waits for the next event matching `want` (see [`CallEvent::matches`]); fails early if
    /// the call closes while waiting for something else.
    pub fn wait_for(&self, want: &CallEvent, timeout: Duration) -> Result<CallEvent> {
        self.events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .wait_for(&self.proc, want, timeout)
    }

    /// Every event parsed so far.
    pub fn events(&self) -> Vec<CallEvent> {
        self.events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .all(&self.proc)
    }

    /// Local SIP UDP port.
    pub fn sip_port(&self) -> u16 {
        self.sip_port
    }

    /// Local SIP TCP port.
    pub fn tcp_port(&self) -> u16 {
        self.tcp_port
    }

    /// Local SIP TLS port.
    pub fn tls_port(&self) -> u16 {
        self.tls_port
    }

    /// `sip:USER@127.0.0.1:PORT` (UDP).
    pub fn contact_uri(&self) -> String {
        format!("sip:{}@127.0.0.1:{}", self.user, self.sip_port)
    }

    /// The HOME / config directory.
    pub fn home(&self) -> &Path {
        self.home.path()
    }

    /// The process guard.
    pub fn process(&self) -> &ChildGuard {
        &self.proc
    }

    /// `quit`, up to 5 s to exit, then kill.
    pub fn quit(self) {
        let _ = self.proc.send_line("quit");
        let _ = self.proc.wait_exit(Duration::from_secs(5));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(lines: &[&str]) -> Vec<CallEvent> {
        let mut p = Parser::default();
        let mut out = Vec::new();
        for l in lines {
            p.feed(l, &mut out);
        }
        out
    }

    #[test]
    fn parses_observed_lines() {
        assert_eq!(
            parse(&[
                "Establishing call id to sip:service@127.0.0.1:5099, assigned id 1",
                "SIP/2.0 404 Not Found",
                "2026-11-22 07:23:27:293 liblinphone-message-Op [0x559a8f33e3e0] receiving call response [404], dialog is [0] in state [BELLE_SIP_DIALOG_NULL]",
                "linphonec> Call 1 with sip:service@127.0.0.1:5099 error.",
            ]),
            vec![CallEvent::Closed {
                reason: "404 Not Found".into(),
                status: Some(404)
            }]
        );
        assert_eq!(
            parse(&[
                "Establishing call id to sip:service@127.0.0.1:5099, assigned id 1",
                "linphonec> Call 1 to sip:service@127.0.0.1:5099 ringing.",
                "Call 1 with sip:service@127.0.0.1:5099 connected.",
                "2026-11-22 07:23:49:257 belle-sip-message-Changing [server] [BYE] transaction [0x564ad6dd4510], from state [INIT] to [TRYING]",
                "Call 1 with sip:service@127.0.0.1:5099 ended (No error).",
            ]),
            vec![
                CallEvent::Ringing,
                CallEvent::Established,
                CallEvent::remote_bye()
            ]
        );
    }
}
