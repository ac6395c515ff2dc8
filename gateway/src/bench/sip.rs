//! `cvi bench sip`: a SIP UAC load generator over UDP.
//!
//! One task owns cvi-sip's client [`TransactionLayer`] (retransmissions, timers B/F, the
//! ACK of a non-2xx final) and every call's state; one task per UDP socket receives and
//! parses datagrams and stamps them with their arrival time. Attempts are paced open-loop
//! at `--rate` (a late tick sends everything due), each with a fresh Call-ID, From tag and
//! branch. An accepted call is ACKed (new branch, the To tag of the 2xx) and hung up with
//! a BYE after `--hold-ms`; a rejected call is ACKed by the transaction layer. Latency is
//! measured from just before the request is handed to the socket to the arrival of the
//! response datagram.

use super::stats::{Counters, CpuUse, Latencies, Summary, cpu_time};
use crate::client::OutputFormat;
use anyhow::Context;
use cvi_sip::dialog::{Dialog, OutgoingInvite};
use cvi_sip::message::{Headers, Message, Method, Request, Response};
use cvi_sip::parse::parse_datagram;
use cvi_sip::transaction::{
    ClientKey, Event, Peer, Timers, TransactionLayer, Transport, make_response, new_branch,
};
use serde::Serialize;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

#[derive(Copy, Clone, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Scenario {
    /// INVITE → 200, ACK, BYE → 200.
    Accept,
    /// INVITE → a 4xx/6xx rejection (ACKed by the transaction layer).
    Reject,
    /// OPTIONS → 200: the reference (parsing plus a transaction-stateful answer, no call).
    Options,
}

#[derive(clap::Args, Debug)]
pub(crate) struct SipArgs {
    /// The gateway's SIP UDP address.
    #[arg(long)]
    target: SocketAddr,
    /// What each attempt is.
    #[arg(long, value_enum, default_value = "accept")]
    scenario: Scenario,
    /// Request-URI, e.g. a dial string sip:KEY.VIDEOID@DOMAIN. Required for accept and
    /// reject; OPTIONS go to sip:TARGET without one.
    #[arg(long, visible_alias = "dial")]
    uri: Option<String>,
    /// Attempts per second.
    #[arg(long, default_value_t = 100.0)]
    rate: f64,
    /// Seconds of sending [default: 10 unless --calls is given].
    #[arg(long, conflicts_with = "calls")]
    duration: Option<f64>,
    /// Number of attempts (instead of --duration).
    #[arg(long)]
    calls: Option<u64>,
    /// At most this many attempts in flight; pacing waits (and catches up) when reached.
    #[arg(long, default_value_t = 5000)]
    concurrency_limit: usize,
    /// Milliseconds between the ACK and the BYE of an accepted call.
    #[arg(long, default_value_t = 0)]
    hold_ms: u64,
    /// The gateway's PID: its CPU time is read from /proc/PID/stat before and after.
    #[arg(long)]
    gateway_pid: Option<u32>,
    /// UDP sockets to send from (attempts are spread round-robin).
    #[arg(long, default_value_t = 4)]
    sockets: usize,
    /// Final statuses of the INVITE/OPTIONS that count as success (comma-separated)
    /// [default: 200 for accept and options; any 4xx but 408, or 6xx, for reject].
    #[arg(long, value_delimiter = ',')]
    expect_status: Vec<u16>,
    /// Seconds to wait after the last attempt for the ones still in progress. Every
    /// transaction ends by itself within 32 s (timer B/F): the default covers INVITE + BYE.
    #[arg(long, default_value_t = 70.0)]
    drain_timeout: f64,
    /// A label copied into the output (for scripts).
    #[arg(long)]
    label: Option<String>,
    /// Also append the report as one JSON line to this file.
    #[arg(long)]
    json_out: Option<std::path::PathBuf>,
}

/// A received, parsed datagram and when it arrived.
struct Inbound {
    msg: Message,
    from: SocketAddr,
    sock: usize,
    at: Instant,
}

#[derive(Default)]
struct RecvCounters {
    datagrams: AtomicU64,
    parse_errors: AtomicU64,
}

struct Attempt {
    started: Instant,
    sock: usize,
    request: Request,
    provisional: bool,
    dialog: Option<Dialog>,
    ack: Option<Request>,
    bye_sent: Option<Instant>,
    failure: Option<String>,
}

/// Everything printed at the end.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Report {
    label: Option<String>,
    scenario: Scenario,
    target: String,
    uri: String,
    target_rate: f64,
    hold_ms: u64,
    attempts: u64,
    sending_seconds: f64,
    attempts_per_second: f64,
    /// From the first send until the last attempt finished (the CPU interval).
    wall_seconds: f64,
    succeeded: u64,
    failed: u64,
    failures: Counters,
    /// Final statuses of the INVITEs / OPTIONS.
    statuses: Counters,
    latency: Vec<Summary>,
    max_send_lag_ms: f64,
    mean_send_lag_ms: f64,
    /// Sends postponed because --concurrency-limit attempts were in flight.
    concurrency_waits: u64,
    max_in_flight: usize,
    datagrams_sent: u64,
    datagrams_received: u64,
    parse_errors: u64,
    send_errors: u64,
    /// Other things worth knowing: 2xx retransmissions re-ACKed, requests from the gateway,
    /// responses to attempts already given up on.
    notes: Counters,
    gateway_cpu: Option<CpuUse>,
    bench_cpu: Option<CpuUse>,
    cores: usize,
}

const SDP_OFFER: &str = "v=0\r\n\
o=cvi-bench {SESS} 1 IN IP4 {IP}\r\n\
s=cvi bench\r\n\
c=IN IP4 {IP}\r\n\
t=0 0\r\n\
m=audio 49170 RTP/AVP 0 8 101\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-15\r\n\
a=ptime:20\r\n\
a=sendrecv\r\n\
m=video 49172 RTP/AVP 96\r\n\
b=AS:2048\r\n\
a=rtpmap:96 H264/90000\r\n\
a=fmtp:96 profile-level-id=42e01f;packetization-mode=1\r\n\
a=rtcp-fb:96 nack pli\r\n\
a=sendrecv\r\n";

struct Runner {
    scenario: Scenario,
    uri: String,
    rate: f64,
    total: u64,
    limit: usize,
    hold: Duration,
    expect: Vec<u16>,
    target: SocketAddr,
    socks: Vec<Arc<UdpSocket>>,
    local: Vec<SocketAddr>,
    txl: TransactionLayer,
    attempts: HashMap<String, Attempt>,
    keys: HashMap<ClientKey, String>,
    holds: BinaryHeap<Reverse<(Instant, String)>>,
    lat: Latencies,
    failures: Counters,
    statuses: Counters,
    notes: Counters,
    sent: u64,
    succeeded: u64,
    start: Instant,
    sending_done: Option<Instant>,
    lag_max: Duration,
    lag_sum: Duration,
    concurrency_waits: u64,
    blocked: bool,
    max_in_flight: usize,
    datagrams_sent: u64,
    send_errors: u64,
}

fn peer(target: SocketAddr, sock: usize) -> Peer {
    Peer {
        transport: Transport::Udp,
        addr: target,
        conn: Some(sock as u64),
    }
}

fn is_2xx(s: u16) -> bool {
    (200..300).contains(&s)
}

impl Runner {
    fn expected(&self, status: u16) -> bool {
        if !self.expect.is_empty() {
            return self.expect.contains(&status);
        }
        match self.scenario {
            Scenario::Accept | Scenario::Options => status == 200,
            Scenario::Reject => {
                ((400..500).contains(&status) && status != 408) || (600..700).contains(&status)
            }
        }
    }

    fn due(&self, i: u64) -> Instant {
        self.start + Duration::from_secs_f64(i as f64 / self.rate)
    }

    fn new_request(&self, sock: usize, seq: u64) -> Request {
        let local = self.local.get(sock).copied().unwrap_or(self.target);
        let sent_by = local.to_string();
        let contact = format!("<sip:bench@{sent_by}>");
        let from = format!("sip:bench@{}", local.ip());
        match self.scenario {
            Scenario::Accept | Scenario::Reject => {
                let sdp = SDP_OFFER
                    .replace("{SESS}", &seq.to_string())
                    .replace("{IP}", &local.ip().to_string());
                let mut r = OutgoingInvite {
                    target: &self.uri,
                    from: &from,
                    to: &self.uri,
                    contact: &contact,
                    via_sent_by: &sent_by,
                    transport: "UDP",
                    sdp: sdp.as_bytes(),
                }
                .build();
                r.headers.push("User-Agent", "cvi-bench");
                r
            }
            Scenario::Options => {
                let mut h = Headers::new();
                h.push(
                    "Via",
                    format!("SIP/2.0/UDP {sent_by};branch={};rport", new_branch()),
                );
                h.push("Max-Forwards", "70");
                h.push(
                    "From",
                    format!("<{from}>;tag={:016x}", rand::random::<u64>()),
                );
                h.push("To", format!("<{}>", self.uri));
                h.push(
                    "Call-ID",
                    format!("{:032x}@cvi-bench", rand::random::<u128>()),
                );
                h.push("CSeq", "1 OPTIONS");
                h.push("Contact", contact);
                h.push("Accept", "application/sdp");
                h.push("User-Agent", "cvi-bench");
                Request {
                    method: Method::Options,
                    uri: self.uri.clone(),
                    headers: h,
                    body: Vec::new(),
                }
            }
        }
    }

    /// Starts every attempt that is due (and fits under the concurrency limit).
    fn send_due(&mut self, now: Instant) {
        while self.sent < self.total && self.due(self.sent) <= now {
            if self.attempts.len() >= self.limit {
                if !self.blocked {
                    self.blocked = true;
                    self.concurrency_waits += 1;
                }
                return;
            }
            self.blocked = false;
            let lag = now.saturating_duration_since(self.due(self.sent));
            self.lag_max = self.lag_max.max(lag);
            self.lag_sum += lag;
            let sock = (self.sent % self.socks.len() as u64) as usize;
            let req = self.new_request(sock, self.sent);
            let Some(call_id) = req.call_id().map(str::to_string) else {
                return;
            };
            self.sent += 1;
            let started = Instant::now();
            match self
                .txl
                .send_request(req.clone(), peer(self.target, sock), started)
            {
                Some(key) => {
                    self.keys.insert(key, call_id.clone());
                    self.attempts.insert(
                        call_id,
                        Attempt {
                            started,
                            sock,
                            request: req,
                            provisional: false,
                            dialog: None,
                            ack: None,
                            bye_sent: None,
                            failure: None,
                        },
                    );
                    self.max_in_flight = self.max_in_flight.max(self.attempts.len());
                }
                None => self.failures.add("request not sendable (no branch)", 1),
            }
        }
        if self.sent >= self.total && self.sending_done.is_none() {
            self.sending_done = Some(now);
        }
    }

    fn finish(&mut self, call_id: &str) {
        let Some(a) = self.attempts.remove(call_id) else {
            return;
        };
        match a.failure {
            Some(f) => self.failures.add(&f, 1),
            None => self.succeeded += 1,
        }
    }

    fn send_bye(&mut self, call_id: &str, now: Instant) {
        let Some(a) = self.attempts.get_mut(call_id) else {
            return;
        };
        let sent_by = self
            .local
            .get(a.sock)
            .map(|l| l.to_string())
            .unwrap_or_default();
        let Some(d) = a.dialog.as_mut() else {
            return;
        };
        let bye = d.request(Method::Bye, &sent_by, "UDP");
        a.bye_sent = Some(now);
        match self.txl.send_request(bye, peer(self.target, a.sock), now) {
            Some(key) => {
                self.keys.insert(key, call_id.to_string());
            }
            None => {
                a.failure.get_or_insert_with(|| "BYE not sendable".into());
                self.finish(call_id);
            }
        }
    }

    fn on_inbound(&mut self, m: Inbound) {
        let from = Peer {
            transport: Transport::Udp,
            addr: m.from,
            conn: Some(m.sock as u64),
        };
        self.txl.handle_message(m.msg, from, m.at);
        self.events(m.at);
    }

    fn events(&mut self, at: Instant) {
        while let Some(ev) = self.txl.poll_event() {
            match ev {
                Event::Response { key, response } => self.on_response(key, response, at),
                Event::Timeout { key } => {
                    if let Some(cid) = self.keys.remove(&key) {
                        if let Some(a) = self.attempts.get_mut(&cid) {
                            a.failure
                                .get_or_insert_with(|| format!("timeout {}", key.method));
                        }
                        self.finish(&cid);
                    }
                }
                Event::Stray2xx { response, from } => {
                    let ack = response
                        .call_id()
                        .and_then(|c| self.attempts.get(c))
                        .and_then(|a| a.ack.clone());
                    match ack {
                        Some(ack) => {
                            self.notes.add("2xx retransmissions re-ACKed", 1);
                            self.txl.send_stateless(Message::Request(ack), from);
                        }
                        None => self.notes.add("stray 2xx (attempt gone)", 1),
                    }
                }
                Event::Request { key, request, .. } => {
                    // The gateway hanging up (no ACK seen, session timer) or probing us.
                    let cid = request.call_id().unwrap_or_default().to_string();
                    let known = self.attempts.contains_key(&cid);
                    let status = if known || request.method == Method::Options {
                        200
                    } else {
                        481
                    };
                    self.notes
                        .add(&format!("{} from the gateway", request.method), 1);
                    self.txl
                        .respond(&key, make_response(&request, status, None), at);
                    if known && request.method == Method::Bye {
                        if let Some(a) = self.attempts.get_mut(&cid) {
                            a.failure
                                .get_or_insert_with(|| "BYE from the gateway".into());
                        }
                        self.finish(&cid);
                    }
                }
                Event::Ack { .. } | Event::StrayAck { .. } | Event::AckTimeout { .. } => {}
            }
        }
    }

    fn on_response(&mut self, key: ClientKey, resp: Response, at: Instant) {
        let Some(cid) = self.keys.get(&key).cloned() else {
            self.notes.add("responses after the attempt ended", 1);
            return;
        };
        let status = resp.status;
        let method = key.method.clone();
        let expected = self.expected(status);
        let Some(a) = self.attempts.get_mut(&cid) else {
            self.keys.remove(&key);
            return;
        };
        if status < 200 {
            if method == Method::Invite && !a.provisional {
                a.provisional = true;
                self.lat.record(
                    &format!("INVITE→{status}"),
                    at.saturating_duration_since(a.started),
                );
            }
            return;
        }
        self.keys.remove(&key);
        match method {
            Method::Invite | Method::Options => {
                self.lat.record(
                    &format!("{method}→{status}"),
                    at.saturating_duration_since(a.started),
                );
                self.statuses.add(&status.to_string(), 1);
                if !expected {
                    a.failure = Some(format!("unexpected {method} {status}"));
                }
                if method == Method::Invite && is_2xx(status) {
                    // ACK (and hang up) even an unexpected 2xx, so the gateway frees it.
                    match Dialog::uac(&a.request, &resp) {
                        Ok(d) => {
                            let sent_by = self
                                .local
                                .get(a.sock)
                                .map(|l| l.to_string())
                                .unwrap_or_default();
                            let ack = d.ack(1, &sent_by, "UDP");
                            self.txl.send_stateless(
                                Message::Request(ack.clone()),
                                peer(self.target, a.sock),
                            );
                            a.ack = Some(ack);
                            a.dialog = Some(d);
                            if self.hold.is_zero() {
                                self.send_bye(&cid, Instant::now());
                            } else {
                                self.holds.push(Reverse((at + self.hold, cid)));
                            }
                        }
                        Err(e) => {
                            a.failure = Some(format!("unusable 2xx: {e}"));
                            self.finish(&cid);
                        }
                    }
                } else {
                    self.finish(&cid);
                }
            }
            Method::Bye => {
                if let Some(t) = a.bye_sent {
                    self.lat
                        .record(&format!("BYE→{status}"), at.saturating_duration_since(t));
                }
                if !is_2xx(status) {
                    a.failure
                        .get_or_insert_with(|| format!("unexpected BYE {status}"));
                }
                self.finish(&cid);
            }
            _ => {}
        }
    }

    fn fire_holds(&mut self, now: Instant) {
        while let Some(Reverse((t, _))) = self.holds.peek() {
            if *t > now {
                break;
            }
            if let Some(Reverse((_, cid))) = self.holds.pop() {
                self.send_bye(&cid, now);
            }
        }
    }

    async fn flush(&mut self) {
        while let Some(t) = self.txl.poll_transmit() {
            let idx = t.to.conn.unwrap_or(0) as usize;
            let Some(sock) = self.socks.get(idx).or_else(|| self.socks.first()) else {
                return;
            };
            match sock.send_to(&t.bytes, t.to.addr).await {
                Ok(_) => self.datagrams_sent += 1,
                Err(_) => self.send_errors += 1,
            }
        }
    }

    async fn run(&mut self, rx: &mut mpsc::Receiver<Inbound>, drain: Duration) {
        loop {
            let now = Instant::now();
            self.txl.handle_timeout(now);
            self.events(now);
            self.fire_holds(now);
            self.send_due(now);
            self.flush().await;
            if let Some(done) = self.sending_done
                && (self.attempts.is_empty() || now >= done + drain)
            {
                break;
            }
            let mut wake: Option<Instant> = self.txl.poll_timeout();
            let mut at = |t: Instant| wake = Some(wake.map_or(t, |w| w.min(t)));
            if self.sent < self.total && self.attempts.len() < self.limit {
                at(self.due(self.sent));
            }
            if let Some(Reverse((t, _))) = self.holds.peek() {
                at(*t);
            }
            if let Some(done) = self.sending_done {
                at(done + drain);
            }
            let sleep = async {
                match wake {
                    Some(t) => tokio::time::sleep_until(tokio::time::Instant::from_std(t)).await,
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                m = rx.recv() => match m {
                    Some(m) => {
                        self.on_inbound(m);
                        // Take what else is queued without sleeping, but keep pacing on time.
                        for _ in 0..64 {
                            match rx.try_recv() {
                                Ok(m) => self.on_inbound(m),
                                Err(_) => break,
                            }
                        }
                    }
                    None => break,
                },
                () = sleep => {}
            }
        }
        let left: Vec<String> = self.attempts.keys().cloned().collect();
        for cid in left {
            if let Some(a) = self.attempts.get_mut(&cid) {
                let what = if a.bye_sent.is_some() {
                    "no final response to BYE before the drain deadline"
                } else {
                    "no final response before the drain deadline"
                };
                a.failure.get_or_insert_with(|| what.into());
            }
            self.finish(&cid);
        }
    }
}

async fn recv_loop(
    sock: Arc<UdpSocket>,
    idx: usize,
    tx: mpsc::Sender<Inbound>,
    counters: Arc<RecvCounters>,
) {
    let mut buf = vec![0u8; 65_535];
    loop {
        let (n, from) = match sock.recv_from(&mut buf).await {
            Ok(v) => v,
            Err(_) => {
                // ICMP port unreachable surfaces here on Linux (gateway not up yet).
                if tx.is_closed() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
                continue;
            }
        };
        let at = Instant::now();
        counters.datagrams.fetch_add(1, Ordering::Relaxed);
        let data = buf.get(..n).unwrap_or_default();
        if data.iter().all(|b| b.is_ascii_whitespace()) {
            continue;
        }
        match parse_datagram(data) {
            Ok(msg) => {
                let m = Inbound {
                    msg,
                    from,
                    sock: idx,
                    at,
                };
                if tx.send(m).await.is_err() {
                    return;
                }
            }
            Err(_) => {
                counters.parse_errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

pub(crate) async fn run(a: SipArgs, output: OutputFormat) -> anyhow::Result<ExitCode> {
    if !(a.rate.is_finite() && a.rate > 0.0) {
        anyhow::bail!("--rate must be a positive number");
    }
    if a.sockets == 0 || a.sockets > 256 {
        anyhow::bail!("--sockets must be between 1 and 256");
    }
    if a.concurrency_limit == 0 {
        anyhow::bail!("--concurrency-limit must be at least 1");
    }
    let duration = a.duration.unwrap_or(10.0);
    if a.calls.is_none() && !(duration.is_finite() && duration > 0.0) {
        anyhow::bail!("--duration must be a positive number of seconds");
    }
    let total = a
        .calls
        .unwrap_or_else(|| (a.rate * duration).round().max(1.0) as u64);
    let uri = match (a.scenario, &a.uri) {
        (_, Some(u)) => u.trim().to_string(),
        (Scenario::Options, None) => format!("sip:{}", a.target),
        (_, None) => anyhow::bail!("--uri (the dial string) is required for accept and reject"),
    };
    let gateway_pid = a.gateway_pid.map(|p| p.to_string());
    if let Some(p) = &gateway_pid
        && cpu_time(p).is_none()
    {
        anyhow::bail!("--gateway-pid {p}: /proc/{p}/stat is not readable");
    }
    let bind_ip = if a.target.ip().is_loopback() {
        a.target.ip()
    } else if a.target.is_ipv4() {
        IpAddr::V4(Ipv4Addr::UNSPECIFIED)
    } else {
        IpAddr::V6(Ipv6Addr::UNSPECIFIED)
    };
    let (tx, mut rx) = mpsc::channel::<Inbound>(65_536);
    let counters = Arc::new(RecvCounters::default());
    let mut socks = Vec::new();
    let mut local = Vec::new();
    let mut tasks = Vec::new();
    for idx in 0..a.sockets {
        let s = UdpSocket::bind(SocketAddr::new(bind_ip, 0))
            .await
            .with_context(|| format!("binding a UDP socket on {bind_ip}"))?;
        let mut l = s.local_addr()?;
        if l.ip().is_unspecified() {
            // Via/Contact need a routable host; rport/received fix up what this misses.
            let probe = std::net::UdpSocket::bind(SocketAddr::new(bind_ip, 0))?;
            probe.connect(a.target)?;
            l.set_ip(probe.local_addr()?.ip());
        }
        let s = Arc::new(s);
        tasks.push(tokio::spawn(recv_loop(
            s.clone(),
            idx,
            tx.clone(),
            counters.clone(),
        )));
        socks.push(s);
        local.push(l);
    }
    drop(tx);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let gw0 = gateway_pid.as_deref().and_then(cpu_time);
    let me0 = cpu_time("self");
    let start = Instant::now();
    let mut r = Runner {
        scenario: a.scenario,
        uri: uri.clone(),
        rate: a.rate,
        total,
        limit: a.concurrency_limit,
        hold: Duration::from_millis(a.hold_ms),
        expect: a.expect_status.clone(),
        target: a.target,
        socks,
        local,
        txl: TransactionLayer::new(Timers::default()),
        attempts: HashMap::new(),
        keys: HashMap::new(),
        holds: BinaryHeap::new(),
        lat: Latencies::default(),
        failures: Counters::default(),
        statuses: Counters::default(),
        notes: Counters::default(),
        sent: 0,
        succeeded: 0,
        start,
        sending_done: None,
        lag_max: Duration::ZERO,
        lag_sum: Duration::ZERO,
        concurrency_waits: 0,
        blocked: false,
        max_in_flight: 0,
        datagrams_sent: 0,
        send_errors: 0,
    };
    let drain = Duration::from_secs_f64(a.drain_timeout.clamp(0.0, 3600.0));
    r.run(&mut rx, drain).await;
    let end = Instant::now();
    let gw1 = gateway_pid.as_deref().and_then(cpu_time);
    let me1 = cpu_time("self");
    for t in &tasks {
        t.abort();
    }
    let wall = end.saturating_duration_since(start);
    let sending = r
        .sending_done
        .unwrap_or(end)
        .saturating_duration_since(start)
        .max(Duration::from_micros(1));
    // The last attempt is sent at (total-1)/rate: count the interval it opens too.
    let sending_s = sending.as_secs_f64() + 1.0 / a.rate;
    let cpu = |a: Option<Duration>, b: Option<Duration>| match (a, b) {
        (Some(a), Some(b)) => Some(CpuUse::new(b.saturating_sub(a), wall, cores)),
        _ => None,
    };
    let report = Report {
        label: a.label.clone(),
        scenario: a.scenario,
        target: a.target.to_string(),
        uri,
        target_rate: a.rate,
        hold_ms: a.hold_ms,
        attempts: r.sent,
        sending_seconds: sending_s,
        attempts_per_second: r.sent as f64 / sending_s,
        wall_seconds: wall.as_secs_f64(),
        succeeded: r.succeeded,
        failed: r.failures.total(),
        failures: r.failures.clone(),
        statuses: r.statuses.clone(),
        latency: r.lat.summaries(),
        max_send_lag_ms: r.lag_max.as_secs_f64() * 1000.0,
        mean_send_lag_ms: if r.sent == 0 {
            0.0
        } else {
            r.lag_sum.as_secs_f64() * 1000.0 / r.sent as f64
        },
        concurrency_waits: r.concurrency_waits,
        max_in_flight: r.max_in_flight,
        datagrams_sent: r.datagrams_sent,
        datagrams_received: counters.datagrams.load(Ordering::Relaxed),
        parse_errors: counters.parse_errors.load(Ordering::Relaxed),
        send_errors: r.send_errors,
        notes: r.notes.clone(),
        gateway_cpu: cpu(gw0, gw1),
        bench_cpu: cpu(me0, me1),
        cores,
    };
    let json = serde_json::to_string(&report)?;
    if let Some(path) = &a.json_out {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("opening {}", path.display()))?;
        writeln!(f, "{json}").with_context(|| format!("writing {}", path.display()))?;
    }
    match output {
        OutputFormat::Json => println!("{json}"),
        OutputFormat::Table => print!("{}", render_table(&report)),
    }
    Ok(ExitCode::SUCCESS)
}

fn render_table(r: &Report) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let scen = match r.scenario {
        Scenario::Accept => "accept",
        Scenario::Reject => "reject",
        Scenario::Options => "options",
    };
    let _ = writeln!(
        s,
        "cvi bench sip — {scen}{} → {} ({})",
        r.label
            .as_deref()
            .map(|l| format!(" [{l}]"))
            .unwrap_or_default(),
        r.target,
        r.uri
    );
    let _ = writeln!(
        s,
        "attempts     {} in {:.2} s = {:.1}/s (asked {}/s; send lag mean {:.2} ms, max {:.2} ms; hold {} ms)",
        r.attempts,
        r.sending_seconds,
        r.attempts_per_second,
        r.target_rate,
        r.mean_send_lag_ms,
        r.max_send_lag_ms,
        r.hold_ms
    );
    let _ = writeln!(
        s,
        "outcome      {} succeeded, {} failed; max in flight {}; concurrency waits {}",
        r.succeeded, r.failed, r.max_in_flight, r.concurrency_waits
    );
    if !r.statuses.0.is_empty() {
        let st: Vec<String> = r
            .statuses
            .0
            .iter()
            .map(|(k, v)| format!("{k}×{v}"))
            .collect();
        let _ = writeln!(s, "statuses     {}", st.join(", "));
    }
    for (k, v) in &r.failures.0 {
        let _ = writeln!(s, "  failed     {v} × {k}");
    }
    let _ = writeln!(
        s,
        "{:<14}{:>8}{:>10}{:>10}{:>10}{:>10}",
        "latency (ms)", "n", "p50", "p90", "p99", "max"
    );
    for l in &r.latency {
        let _ = writeln!(
            s,
            "{:<14}{:>8}{:>10.2}{:>10.2}{:>10.2}{:>10.2}",
            l.outcome, l.n, l.p50_ms, l.p90_ms, l.p99_ms, l.max_ms
        );
    }
    let cpu = |c: &CpuUse| {
        format!(
            "{:.2} s = {:.1}% of one core ({:.1}% of {} cores)",
            c.seconds, c.percent_of_one_core, c.percent_of_machine, r.cores
        )
    };
    if let Some(c) = &r.gateway_cpu {
        let _ = writeln!(s, "gateway CPU  {} over {:.2} s", cpu(c), r.wall_seconds);
    }
    if let Some(c) = &r.bench_cpu {
        let _ = writeln!(s, "bench CPU    {}", cpu(c));
    }
    let _ = writeln!(
        s,
        "datagrams    sent {}, received {}; parse errors {}, send errors {}",
        r.datagrams_sent, r.datagrams_received, r.parse_errors, r.send_errors
    );
    for (k, v) in &r.notes.0 {
        let _ = writeln!(s, "  note       {v} × {k}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use cvi_media::sdp::SessionDescription;

    #[test]
    fn the_offer_is_valid_sdp() {
        let sdp = SDP_OFFER
            .replace("{SESS}", "7")
            .replace("{IP}", "127.0.0.1");
        let parsed = SessionDescription::parse_bytes(sdp.as_bytes());
        assert!(parsed.is_ok(), "{parsed:?}");
    }
}
