#![allow(dead_code)] // shared by several test binaries; each uses a part
//! Helpers for the SIP-level tests: a `cvi serve` per test (port 0 everywhere, a temporary
//! directory, killed on drop), a tiny HTTP/1.1 client for its REST API, and a raw SIP UAC
//! over UDP or TCP (messages written as text, parsed with `cvi_sip::parse`).

use anyhow::{Context, Result, bail, ensure};
use cvi_e2e::cvi_bin;
use cvi_sip::headers::{CSeq, NameAddr};
use cvi_sip::parse::{self, StreamItem};
use cvi_sip::{Message, Method, Response};
use serde_json::{Value, json};
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub(crate) const SIP_DOMAIN: &str = "t.plcm.vc";
pub(crate) const TENANT_KEY: &str = "813878896@t.plcm.vc";
pub(crate) const KEY_LOCAL: &str = "813878896";
pub(crate) const APP_ID: &str = "b4e4d0c8-7e3b-4c44-8b4f-1a2b3c4d5e6f";
pub(crate) const ORGANIZER: &str = "alice@contoso.com";

/// A random 64-bit number from the standard library's randomly seeded hasher.
pub(crate) fn random_u64() -> u64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    h.finish()
}

pub(crate) fn random_hex() -> String {
    format!("{:016x}", random_u64())
}

/// Options for one gateway.
#[derive(Debug, Clone, Default)]
pub(crate) struct Opts {
    pub(crate) max_calls: Option<usize>,
    pub(crate) min_se: Option<u32>,
    /// (certificate, key, client CA): SIP over TLS with optional client certificates.
    pub(crate) tls: Option<(PathBuf, PathBuf, Option<PathBuf>)>,
    pub(crate) ivr_max_failures: Option<usize>,
    pub(crate) media_timeout: Option<u64>,
    /// More `cvi serve` flags.
    pub(crate) extra_args: Vec<String>,
}

/// A running `cvi serve` (CVI_LOG=debug, stderr to `serve.log`); killed on drop.
pub(crate) struct Gateway {
    child: Child,
    dir: tempfile::TempDir,
    pub(crate) http: SocketAddr,
    pub(crate) sip: SocketAddr,
    pub(crate) sip_tls: Option<SocketAddr>,
    pub(crate) admin: String,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let log = self.log();
            let tail: Vec<&str> = log.lines().rev().take(80).collect();
            eprintln!("--- gateway log (last 80 lines) ---");
            for l in tail.iter().rev() {
                eprintln!("{l}");
            }
        }
    }
}

/// An HTTP answer.
#[derive(Debug)]
pub(crate) struct HttpResponse {
    pub(crate) status: u16,
    pub(crate) body: String,
}

impl HttpResponse {
    pub(crate) fn json(&self) -> Result<Value> {
        serde_json::from_str(&self.body).with_context(|| format!("not JSON: {self:?}"))
    }
}

impl Gateway {
    pub(crate) fn start(opts: Opts) -> Result<Self> {
        let bin = cvi_bin()?;
        let dir = tempfile::tempdir()?;
        let admin = random_hex();
        let ready = dir.path().join("ready.json");
        let log = std::fs::File::create(dir.path().join("serve.log"))?;
        let db = format!("sqlite://{}", dir.path().join("cvi.db").display());
        let mut cmd = Command::new(&bin);
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("CVI_") {
                cmd.env_remove(k);
            }
        }
        cmd.env("CVI_LOG", "debug,sqlx=warn")
            .env("NO_COLOR", "1")
            .args(["serve", "--http-listen", "127.0.0.1:0", "--database", &db])
            .args(["--admin-token", &admin, "--sip-domain", SIP_DOMAIN])
            .args(["--sip-listen", "127.0.0.1:0"])
            .arg("--recordings-dir")
            .arg(dir.path().join("recordings"))
            .arg("--ready-file")
            .arg(&ready);
        if let Some(n) = opts.max_calls {
            cmd.args(["--max-calls", &n.to_string()]);
        }
        if let Some(n) = opts.min_se {
            cmd.args(["--min-se", &n.to_string()]);
        }
        if let Some(n) = opts.media_timeout {
            cmd.args(["--media-timeout", &n.to_string()]);
        }
        if let Some(n) = opts.ivr_max_failures {
            cmd.args(["--ivr-max-failures", &n.to_string()]);
        }
        cmd.args(&opts.extra_args);
        if let Some((cert, key, ca)) = &opts.tls {
            cmd.arg("--tls-cert").arg(cert).arg("--tls-key").arg(key);
            if let Some(ca) = ca {
                cmd.arg("--tls-client-ca").arg(ca);
            }
            cmd.args(["--sip-tls-listen", "127.0.0.1:0"]);
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .with_context(|| format!("starting {} serve", bin.display()))?;
        let mut gw = Gateway {
            child,
            dir,
            http: SocketAddr::from(([127, 0, 0, 1], 0)),
            sip: SocketAddr::from(([127, 0, 0, 1], 0)),
            sip_tls: None,
            admin,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(v) = std::fs::read_to_string(&ready)
                .ok()
                .and_then(|s| serde_json::from_str::<Value>(&s).ok())
            {
                let addr = |k: &str| -> Result<SocketAddr> {
                    v[k].as_str()
                        .with_context(|| format!("ready file has no {k}: {v}"))?
                        .parse()
                        .with_context(|| format!("ready file {k}: {v}"))
                };
                gw.http = addr("http")?;
                gw.sip = addr("sipUdp")?;
                ensure!(addr("sipTcp")? == gw.sip, "SIP UDP and TCP differ: {v}");
                gw.sip_tls = addr("sipTls").ok();
                return Ok(gw);
            }
            if let Some(status) = gw.child.try_wait()? {
                bail!(
                    "cvi serve exited ({status}) before it was ready:\n{}",
                    gw.log()
                );
            }
            if Instant::now() > deadline {
                bail!("cvi serve was not ready within 20 s:\n{}", gw.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The process ID of `cvi serve`.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("serve.log")).unwrap_or_default()
    }

    /// One HTTP/1.1 request as the operator (Connection: close).
    pub(crate) fn http(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<HttpResponse> {
        let mut s = TcpStream::connect(self.http).context("connecting to the HTTP API")?;
        s.set_read_timeout(Some(Duration::from_secs(10)))?;
        let body = body.map(Value::to_string).unwrap_or_default();
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.http,
            self.admin,
            body.len()
        );
        s.write_all(req.as_bytes())?;
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).context("reading the HTTP answer")?;
        let text = String::from_utf8_lossy(&raw).into_owned();
        let (head, rest) = text
            .split_once("\r\n\r\n")
            .with_context(|| format!("no header end in {text:?}"))?;
        let status: u16 = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .with_context(|| format!("bad status line in {head:?}"))?;
        let chunked = head.lines().any(|l| {
            l.to_ascii_lowercase()
                .starts_with("transfer-encoding: chunked")
        });
        let body = if chunked {
            dechunk(rest)
        } else {
            rest.to_string()
        };
        Ok(HttpResponse { status, body })
    }

    /// A request that must answer 2xx; returns the JSON body (Null when empty).
    pub(crate) fn api(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value> {
        let r = self.http(method, path, body)?;
        ensure!(
            (200..300).contains(&r.status),
            "{method} {path} {body:?}: {r:?}"
        );
        if r.body.trim().is_empty() {
            Ok(Value::Null)
        } else {
            r.json()
        }
    }

    /// Tenant Contoso, its user alice, the provider with the tenant key, the grant, the
    /// consent and one meeting. Returns the meeting's video teleconference ID.
    pub(crate) fn provision(&self) -> Result<String> {
        Ok(self.provision_meeting()?.0)
    }

    /// `GET /api/v1/meetings/{id}/room`: the page links and, while anyone is in it, the room.
    #[allow(dead_code)]
    pub(crate) fn room(&self, meeting: &str) -> Result<Value> {
        self.api("GET", &format!("/api/v1/meetings/{meeting}/room"), None)
    }

    /// `who`'s tile in the view the VTC `vtc` watches, and that view's size (waits up to
    /// 20 s for the room to show it).
    #[allow(dead_code)]
    pub(crate) fn tile_in_view(
        &self,
        meeting: &str,
        vtc: &str,
        who: &str,
    ) -> Result<(Value, (f64, f64))> {
        let num = |v: &Value| v.as_f64().unwrap_or(0.0);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let live = self.room(meeting)?;
            let watching = live["live"]["watching"][vtc]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let view = live["live"]["views"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|v| v["view"] == watching.as_str())
                .cloned();
            let tile = view.as_ref().and_then(|v| {
                v["tiles"]
                    .as_array()?
                    .iter()
                    .find(|t| t["participant"] == who)
                    .cloned()
            });
            if let (Some(t), Some(v)) = (tile, view) {
                return Ok((t, (num(&v["width"]), num(&v["height"]))));
            }
            ensure!(
                Instant::now() < deadline,
                "the view VTC {vtc} watches has no tile for {who}: {live}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Where the gateway writes meeting recordings.
    #[allow(dead_code)]
    pub(crate) fn recordings_dir(&self) -> PathBuf {
        self.dir.path().join("recordings")
    }

    /// As [`Gateway::provision`]; returns the video teleconference ID and the meeting ID.
    pub(crate) fn provision_meeting(&self) -> Result<(String, String)> {
        self.api(
            "POST",
            "/api/v1/tenants",
            Some(&json!({"name": "Contoso", "verifiedDomains": ["contoso.com"]})),
        )?;
        self.api(
            "POST",
            "/api/v1/tenants/Contoso/users",
            Some(&json!({"userPrincipalName": ORGANIZER})),
        )?;
        self.api(
            "POST",
            "/api/v1/tenants/Contoso/providers",
            Some(&json!({"identity": "Polycom", "tenantKey": TENANT_KEY, "aadApplicationIds": [APP_ID]})),
        )?;
        self.grant(Some("PolycomServiceProviderEnabled"))?;
        self.api(
            "POST",
            "/api/v1/tenants/Contoso/consents",
            Some(&json!({"appId": APP_ID})),
        )?;
        let m = self.api(
            "POST",
            "/api/v1/tenants/Contoso/onlineMeetings",
            Some(&json!({"organizer": ORGANIZER, "subject": "SIP test"})),
        )?;
        let vid = m["videoTeleconferenceId"]
            .as_str()
            .with_context(|| format!("the meeting has no videoTeleconferenceId: {m}"))?;
        let id = m["id"]
            .as_str()
            .with_context(|| format!("the meeting has no id: {m}"))?;
        Ok((vid.to_string(), id.to_string()))
    }

    /// Grants (Some) or revokes (None) the organizer's video-interop policy.
    pub(crate) fn grant(&self, policy: Option<&str>) -> Result<()> {
        self.api(
            "POST",
            "/api/v1/tenants/Contoso/grants",
            Some(&json!({
                "policyType": "videoInterop",
                "policyName": policy,
                "grantee": {"kind": "user", "identity": ORGANIZER},
            })),
        )?;
        Ok(())
    }

    /// `GET /api/v1/calls`.
    pub(crate) fn calls(&self) -> Result<Vec<Value>> {
        let v = self.api("GET", "/api/v1/calls", None)?;
        v.as_array()
            .cloned()
            .with_context(|| format!("/api/v1/calls is not an array: {v}"))
    }

    /// The call with this Call-ID in `GET /api/v1/calls`.
    pub(crate) fn call(&self, call_id: &str) -> Result<Option<Value>> {
        Ok(self.calls()?.into_iter().find(|c| c["callId"] == call_id))
    }

    /// The first call in `/api/v1/calls` for which `pred` holds, within 15 s (`what` names
    /// the wait in the error, with the calls and the gateway's log).
    pub(crate) fn wait_call(&self, what: &str, pred: impl Fn(&Value) -> bool) -> Result<Value> {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let calls = self.calls()?;
            if let Some(c) = calls.iter().find(|c| pred(c)) {
                return Ok(c.clone());
            }
            ensure!(
                Instant::now() < deadline,
                "no call with {what}: {calls:#?}\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until the call is gone from `/api/v1/calls`.
    pub(crate) fn wait_call_gone(&self, call_id: &str, within: Duration) -> Result<()> {
        let deadline = Instant::now() + within;
        loop {
            let Some(c) = self.call(call_id)? else {
                return Ok(());
            };
            ensure!(
                Instant::now() < deadline,
                "call {call_id} still listed after {within:?}: {c}"
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// A counter from `/metrics`.
    pub(crate) fn metric(&self, name: &str) -> Result<u64> {
        let r = self.http("GET", "/metrics", None)?;
        ensure!(r.status == 200, "/metrics: {r:?}");
        r.body
            .lines()
            .find_map(|l| {
                l.strip_prefix(name)
                    .and_then(|v| v.strip_prefix(' '))
                    .and_then(|v| v.trim().parse().ok())
            })
            .with_context(|| format!("{name} not in /metrics:\n{}", r.body))
    }
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(rest.get(..n).unwrap_or_default());
        s = rest.get(n..).unwrap_or_default().trim_start_matches("\r\n");
    }
    out
}

// ---------------------------------------------------------------------------------------
// The raw SIP UAC.

/// The UAC's transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tp {
    Udp,
    Tcp,
}

enum Sock {
    Udp(UdpSocket),
    Tcp(TcpStream, Vec<u8>),
}

/// One socket to the gateway's SIP port; sends text, receives parsed messages.
pub(crate) struct Uac {
    sock: Sock,
    pub(crate) tp: Tp,
    pub(crate) local: SocketAddr,
    /// Everything received, in order (for failure messages).
    pub(crate) seen: Vec<String>,
}

impl Uac {
    pub(crate) fn new(tp: Tp, server: SocketAddr) -> Result<Self> {
        let (sock, local) = match tp {
            Tp::Udp => {
                let s = UdpSocket::bind("127.0.0.1:0")?;
                s.connect(server)?;
                let l = s.local_addr()?;
                (Sock::Udp(s), l)
            }
            Tp::Tcp => {
                let s = TcpStream::connect(server).context("connecting to SIP TCP")?;
                s.set_nodelay(true)?;
                let l = s.local_addr()?;
                (Sock::Tcp(s, Vec::new()), l)
            }
        };
        Ok(Self {
            sock,
            tp,
            local,
            seen: Vec::new(),
        })
    }

    pub(crate) fn send_bytes(&mut self, b: &[u8]) -> Result<()> {
        match &mut self.sock {
            Sock::Udp(s) => {
                s.send(b).context("UDP send")?;
            }
            Sock::Tcp(s, _) => s.write_all(b).context("TCP send")?,
        }
        Ok(())
    }

    pub(crate) fn send(&mut self, msg: &str) -> Result<()> {
        self.send_bytes(msg.as_bytes())
    }

    /// The next message within `timeout`, or None.
    pub(crate) fn recv(&mut self, timeout: Duration) -> Result<Option<Message>> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            let left = left.max(Duration::from_millis(1));
            match &mut self.sock {
                Sock::Udp(s) => {
                    s.set_read_timeout(Some(left))?;
                    let mut buf = vec![0u8; 65_535];
                    match s.recv(&mut buf) {
                        Ok(n) => {
                            let data = buf.get(..n).unwrap_or_default();
                            let m = parse::parse_datagram(data).with_context(|| {
                                format!(
                                    "the gateway sent an unparsable datagram: {:?}",
                                    String::from_utf8_lossy(data)
                                )
                            })?;
                            self.seen.push(summary(&m));
                            return Ok(Some(m));
                        }
                        Err(e)
                            if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
                        {
                            return Ok(None);
                        }
                        Err(e) => return Err(e).context("UDP receive"),
                    }
                }
                Sock::Tcp(s, buf) => {
                    match parse::parse_stream(buf, 1 << 20) {
                        Ok(Some((item, used))) => {
                            buf.drain(..used.min(buf.len()));
                            if let StreamItem::Message(m) = item {
                                self.seen.push(summary(&m));
                                return Ok(Some(m));
                            }
                            continue;
                        }
                        Ok(None) => {}
                        Err(e) => bail!(
                            "the gateway sent unparsable stream data ({e}): {:?}",
                            String::from_utf8_lossy(buf)
                        ),
                    }
                    s.set_read_timeout(Some(left))?;
                    let mut chunk = [0u8; 16 * 1024];
                    match s.read(&mut chunk) {
                        Ok(0) => bail!("the gateway closed the TCP connection"),
                        Ok(n) => buf.extend_from_slice(chunk.get(..n).unwrap_or_default()),
                        Err(e)
                            if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
                        {
                            return Ok(None);
                        }
                        Err(e) => return Err(e).context("TCP receive"),
                    }
                }
            }
        }
    }

    /// The first message matching `pred` within `timeout`; others are skipped.
    pub(crate) fn expect(
        &mut self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&Message) -> bool,
    ) -> Result<Message> {
        let deadline = Instant::now() + timeout;
        let first = self.seen.len();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.recv(left)? {
                Some(m) if pred(&m) => return Ok(m),
                Some(_) => {}
                None => bail!(
                    "no {what} within {timeout:?}; received meanwhile: {:#?}",
                    self.seen.get(first..).unwrap_or_default()
                ),
            }
        }
    }

    /// The first final response (≥ 200) to `method` with CSeq number `seq`.
    pub(crate) fn final_response(
        &mut self,
        method: Method,
        seq: u32,
        timeout: Duration,
    ) -> Result<Response> {
        let m = self.expect(
            &format!("final response to {method} {seq}"),
            timeout,
            |m| matches!(m, Message::Response(r) if r.status >= 200 && cseq_is(m, &method, seq)),
        )?;
        match m {
            Message::Response(r) => Ok(r),
            Message::Request(_) => bail!("unreachable: not a response"),
        }
    }

    /// The first request of `method` from the gateway.
    pub(crate) fn request_from_gateway(
        &mut self,
        method: Method,
        timeout: Duration,
    ) -> Result<cvi_sip::Request> {
        let m = self.expect(
            &format!("{method} from the gateway"),
            timeout,
            |m| matches!(m, Message::Request(r) if r.method == method),
        )?;
        match m {
            Message::Request(r) => Ok(r),
            Message::Response(_) => bail!("unreachable: not a request"),
        }
    }

    /// Answers a request from the gateway (copying Via, From, To, Call-ID, CSeq).
    pub(crate) fn reply(&mut self, req: &cvi_sip::Request, status: u16) -> Result<()> {
        let r = cvi_sip::transaction::make_response(req, status, None);
        self.send_bytes(&r.into_message().to_bytes())
    }
}

fn summary(m: &Message) -> String {
    match m {
        Message::Request(r) => format!(
            "{} {} (CSeq {})",
            r.method,
            r.uri,
            r.headers.get("CSeq").unwrap_or_default()
        ),
        Message::Response(r) => format!(
            "{} {} (CSeq {})",
            r.status,
            r.reason,
            r.headers.get("CSeq").unwrap_or_default()
        ),
    }
}

pub(crate) fn cseq_is(m: &Message, method: &Method, seq: u32) -> bool {
    m.headers()
        .get("CSeq")
        .and_then(|c| CSeq::parse(c).ok())
        .is_some_and(|c| &c.method == method && c.seq == seq)
}

/// One call (or out-of-dialog exchange) from the UAC's side: builds requests as text.
pub(crate) struct Leg {
    pub(crate) call_id: String,
    pub(crate) from_tag: String,
    /// The request-URI of the INVITE.
    pub(crate) ruri: String,
    /// The To header (with the gateway's tag once answered).
    pub(crate) to: String,
    pub(crate) cseq: u32,
    /// CSeq number and branch of the last INVITE (for ACK and CANCEL).
    pub(crate) invite_seq: u32,
    pub(crate) invite_branch: String,
    /// The gateway's Contact URI once answered.
    pub(crate) remote_target: Option<String>,
    tp: Tp,
    local: SocketAddr,
}

impl Leg {
    pub(crate) fn new(uac: &Uac, ruri: &str) -> Self {
        Self {
            call_id: format!("{}@cvi-e2e", random_hex()),
            from_tag: random_hex(),
            ruri: ruri.to_string(),
            to: format!("<{ruri}>"),
            cseq: 0,
            invite_seq: 0,
            invite_branch: String::new(),
            remote_target: None,
            tp: uac.tp,
            local: uac.local,
        }
    }

    fn tp_str(&self) -> &'static str {
        match self.tp {
            Tp::Udp => "UDP",
            Tp::Tcp => "TCP",
        }
    }

    pub(crate) fn contact(&self) -> String {
        match self.tp {
            Tp::Udp => format!("<sip:room@{}>", self.local),
            Tp::Tcp => format!("<sip:room@{};transport=tcp>", self.local),
        }
    }

    /// A request as text. `headers` are added after the standard ones (and may replace
    /// them: a header given here with an empty value removes the standard one).
    pub(crate) fn build(
        &self,
        method: &str,
        ruri: &str,
        seq: u32,
        branch: &str,
        headers: &[(&str, &str)],
        body: Option<(&str, &str)>,
    ) -> String {
        let mut std_h: Vec<(String, String)> = vec![
            (
                "Via".into(),
                format!(
                    "SIP/2.0/{} {};branch={branch};rport",
                    self.tp_str(),
                    self.local
                ),
            ),
            ("Max-Forwards".into(), "70".into()),
            (
                "From".into(),
                format!("\"Room\" <sip:room@vtc.example.com>;tag={}", self.from_tag),
            ),
            ("To".into(), self.to.clone()),
            ("Call-ID".into(), self.call_id.clone()),
            ("CSeq".into(), format!("{seq} {method}")),
            ("Contact".into(), self.contact()),
            ("User-Agent".into(), "cvi-e2e".into()),
        ];
        for (n, v) in headers {
            if std_h.iter().any(|(s, _)| s.eq_ignore_ascii_case(n)) {
                std_h.retain(|(s, _)| !s.eq_ignore_ascii_case(n));
                if v.is_empty() {
                    continue;
                }
            }
            std_h.push(((*n).to_string(), (*v).to_string()));
        }
        let mut s = format!("{method} {ruri} SIP/2.0\r\n");
        for (n, v) in &std_h {
            s.push_str(&format!("{n}: {v}\r\n"));
        }
        let body = match body {
            Some((ct, b)) => {
                s.push_str(&format!("Content-Type: {ct}\r\n"));
                b
            }
            None => "",
        };
        s.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
        s
    }

    /// A new request of this leg (CSeq incremented; in-dialog once answered).
    pub(crate) fn request(
        &mut self,
        method: &str,
        headers: &[(&str, &str)],
        body: Option<(&str, &str)>,
    ) -> String {
        self.cseq += 1;
        let branch = cvi_sip::transaction::new_branch();
        if method == "INVITE" {
            self.invite_seq = self.cseq;
            self.invite_branch = branch.clone();
        }
        let ruri = self
            .remote_target
            .clone()
            .unwrap_or_else(|| self.ruri.clone());
        self.build(method, &ruri, self.cseq, &branch, headers, body)
    }

    /// An INVITE with an SDP offer (or without one).
    pub(crate) fn invite(&mut self, headers: &[(&str, &str)], sdp: Option<&str>) -> String {
        self.request("INVITE", headers, sdp.map(|s| ("application/sdp", s)))
    }

    /// The CANCEL of the last INVITE (same branch and CSeq number, no Contact).
    pub(crate) fn cancel(&self) -> String {
        self.build(
            "CANCEL",
            &self.ruri,
            self.invite_seq,
            &self.invite_branch,
            &[("Contact", "")],
            None,
        )
    }

    /// The ACK to a non-2xx final response (same branch as the INVITE, To from the response).
    pub(crate) fn ack_failure(&self, resp: &Response) -> String {
        self.build(
            "ACK",
            &self.ruri,
            self.invite_seq,
            &self.invite_branch,
            &[
                ("To", resp.headers.get("To").unwrap_or_default()),
                ("Contact", ""),
            ],
            None,
        )
    }

    /// The ACK to a 2xx (a new branch, CSeq of the INVITE), with an optional SDP answer.
    pub(crate) fn ack(&self, sdp: Option<&str>) -> String {
        let ruri = self
            .remote_target
            .clone()
            .unwrap_or_else(|| self.ruri.clone());
        self.build(
            "ACK",
            &ruri,
            self.invite_seq,
            &cvi_sip::transaction::new_branch(),
            &[],
            sdp.map(|s| ("application/sdp", s)),
        )
    }

    /// Takes the dialog from a 2xx: the To tag and the remote target.
    pub(crate) fn established(&mut self, resp: &Response) -> Result<()> {
        let to = resp.headers.get("To").context("2xx without To")?;
        let na = NameAddr::parse(to).map_err(|e| anyhow::anyhow!("To {to:?}: {e}"))?;
        ensure!(na.tag().is_some(), "2xx To has no tag: {to}");
        self.to = to.to_string();
        let contact = resp.headers.get("Contact").context("2xx without Contact")?;
        let c =
            NameAddr::parse(contact).map_err(|e| anyhow::anyhow!("Contact {contact:?}: {e}"))?;
        self.remote_target = Some(c.uri);
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// SDP.

/// A G.711 + H.264 offer from 127.0.0.1 with the given direction and video port.
pub(crate) fn sdp_offer(direction: &str, video_port: u16) -> String {
    let mut s = String::from(
        "v=0\r\no=room 2890844526 2890844526 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n\
         t=0 0\r\nm=audio 49170 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\n\
         a=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n",
    );
    s.push_str(&format!("a={direction}\r\n"));
    s.push_str(&format!(
        "m=video {video_port} RTP/AVP 97\r\na=rtpmap:97 H264/90000\r\n\
         a=fmtp:97 profile-level-id=42e01f;packetization-mode=1\r\n"
    ));
    if video_port != 0 {
        s.push_str(&format!("a={direction}\r\n"));
    }
    s
}

/// The answer to an offer of ours (in an ACK): G.711 + H.264 on fixed ports.
pub(crate) fn sdp_answer_to(offer: &str) -> String {
    let mut s = String::from(
        "v=0\r\no=room 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n",
    );
    for m in media(offer) {
        match m.kind.as_str() {
            "audio" => {
                let pt = m
                    .rtpmap("PCMU/8000")
                    .or_else(|| m.rtpmap("PCMA/8000"))
                    .unwrap_or_else(|| "0".into());
                s.push_str(&format!(
                    "m=audio 49170 RTP/AVP {pt}\r\na=rtpmap:{pt} {}\r\na=sendrecv\r\n",
                    m.rtpmap_of(&pt).unwrap_or_else(|| "PCMU/8000".into())
                ));
            }
            "video" => match m.rtpmap("H264/90000") {
                Some(pt) => {
                    let fmtp = m
                        .attr(&format!("fmtp:{pt}"))
                        .unwrap_or_else(|| "packetization-mode=1".into());
                    s.push_str(&format!(
                        "m=video 49172 RTP/AVP {pt}\r\na=rtpmap:{pt} H264/90000\r\n\
                         a=fmtp:{pt} {fmtp}\r\na=sendrecv\r\n"
                    ));
                }
                None => s.push_str(&format!("m=video 0 RTP/AVP {}\r\n", m.fmts)),
            },
            k => s.push_str(&format!("m={k} 0 RTP/AVP {}\r\n", m.fmts)),
        }
    }
    s
}

/// One m= section of an SDP, read loosely.
#[derive(Debug, Clone)]
pub(crate) struct Media {
    pub(crate) kind: String,
    pub(crate) port: u16,
    pub(crate) fmts: String,
    pub(crate) lines: Vec<String>,
    session: Vec<String>,
}

impl Media {
    /// The value of `a=NAME...` (everything after `a=NAME `), first match.
    pub(crate) fn attr(&self, name: &str) -> Option<String> {
        self.lines.iter().find_map(|l| {
            let a = l.strip_prefix("a=")?;
            let rest = a.strip_prefix(name)?;
            if rest.is_empty() {
                Some(String::new())
            } else {
                rest.strip_prefix(' ').map(str::to_string)
            }
        })
    }

    /// The payload type whose rtpmap is `enc` (case-insensitive).
    pub(crate) fn rtpmap(&self, enc: &str) -> Option<String> {
        self.lines.iter().find_map(|l| {
            let (pt, e) = l.strip_prefix("a=rtpmap:")?.split_once(' ')?;
            e.to_ascii_lowercase()
                .starts_with(&enc.to_ascii_lowercase())
                .then(|| pt.to_string())
        })
    }

    pub(crate) fn rtpmap_of(&self, pt: &str) -> Option<String> {
        self.attr(&format!("rtpmap:{pt}"))
    }

    /// sendrecv / sendonly / recvonly / inactive (media level, then session, default sendrecv).
    pub(crate) fn direction(&self) -> String {
        const D: [&str; 4] = ["sendrecv", "sendonly", "recvonly", "inactive"];
        let find = |ls: &[String]| {
            ls.iter().find_map(|l| {
                let a = l.strip_prefix("a=")?;
                D.contains(&a).then(|| a.to_string())
            })
        };
        find(&self.lines)
            .or_else(|| find(&self.session))
            .unwrap_or_else(|| "sendrecv".into())
    }
}

/// The m= sections of an SDP.
pub(crate) fn media(sdp: &str) -> Vec<Media> {
    let mut out: Vec<Media> = Vec::new();
    let mut session = Vec::new();
    for l in sdp.lines().map(str::trim_end) {
        if let Some(m) = l.strip_prefix("m=") {
            let mut it = m.splitn(4, ' ');
            let kind = it.next().unwrap_or_default().to_string();
            let port = it
                .next()
                .and_then(|p| p.split('/').next())
                .and_then(|p| p.parse().ok())
                .unwrap_or(0);
            let _proto = it.next();
            let fmts = it.next().unwrap_or_default().to_string();
            out.push(Media {
                kind,
                port,
                fmts,
                lines: Vec::new(),
                session: session.clone(),
            });
        } else if let Some(cur) = out.last_mut() {
            cur.lines.push(l.to_string());
        } else {
            session.push(l.to_string());
        }
    }
    out
}

/// The body of a message as text.
pub(crate) fn body_text(m: &Response) -> String {
    String::from_utf8_lossy(&m.body).into_owned()
}

/// The m= section of `kind` in the body of `r`.
pub(crate) fn media_of(r: &Response, kind: &str) -> Result<Media> {
    let body = body_text(r);
    media(&body)
        .into_iter()
        .find(|m| m.kind == kind)
        .with_context(|| format!("no m={kind} in the SDP:\n{body}"))
}
