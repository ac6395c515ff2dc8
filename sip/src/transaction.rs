//! RFC 3261 §17 transactions, sans-IO (with the RFC 6026 "Accepted" state for INVITE 2xx).
//!
//! Feed it received messages ([`TransactionLayer::handle_message`]), the TU's responses and
//! requests ([`TransactionLayer::respond`], [`TransactionLayer::send_request`]) and the time
//! ([`TransactionLayer::handle_timeout`]); take out what to send
//! ([`TransactionLayer::poll_transmit`]), what the TU must see
//! ([`TransactionLayer::poll_event`]) and when to call again
//! ([`TransactionLayer::poll_timeout`]). Timers A–K (and L, M of RFC 6026) are plain data.
//!
//! Behaviour worth knowing:
//! - An INVITE gets `100 Trying` at once, so the 200 ms rule holds whatever the TU does.
//! - A 2xx to an INVITE is retransmitted by this layer (T1 doubling to T2) until the ACK
//!   arrives (matched by Call-ID, CSeq number and From tag: the ACK to a 2xx has its own
//!   branch) or until 64·T1, when the TU gets [`Event::AckTimeout`] and should send BYE.
//! - Retransmitted requests are absorbed and answered with the last response sent.
//! - Responses go back where the request came from (RFC 3581 symmetric response); the top
//!   Via gets `received`/`rport` filled in.

use crate::headers::{self, CSeq, NameAddr};
use crate::message::{Headers, Message, Method, Request, Response, reason_phrase};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    Udp,
    Tcp,
    Tls,
}

impl Transport {
    pub fn reliable(self) -> bool {
        !matches!(self, Transport::Udp)
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
            Transport::Tls => "TLS",
        }
    }
}

/// Where a message came from / goes to. `conn` names a stream connection (TCP/TLS).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Peer {
    pub transport: Transport,
    pub addr: SocketAddr,
    pub conn: Option<u64>,
}

#[derive(Debug, Clone, Copy)]
pub struct Timers {
    pub t1: Duration,
    pub t2: Duration,
    pub t4: Duration,
}

impl Default for Timers {
    fn default() -> Self {
        Self {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
        }
    }
}

/// Identifies a server transaction: top Via branch + sent-by + method (ACK → INVITE).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ServerKey {
    pub branch: String,
    pub sent_by: String,
    pub method: Method,
}

/// Identifies a client transaction: our branch + method.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientKey {
    pub branch: String,
    pub method: Method,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    pub to: Peer,
    pub bytes: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A new request for the TU (not a retransmission, not an ACK).
    Request {
        key: ServerKey,
        request: Request,
        from: Peer,
    },
    /// The ACK to a 2xx we sent (first copy only).
    Ack { request: Request, from: Peer },
    /// An ACK that matches no transaction (e.g. after AckTimeout): TU may ignore it.
    StrayAck { request: Request, from: Peer },
    /// A response to a client transaction.
    Response { key: ClientKey, response: Response },
    /// A 2xx retransmission to an INVITE whose client transaction is gone: re-ACK it.
    Stray2xx { response: Response, from: Peer },
    /// Timer B or F: no final response. The TU treats it as 408.
    Timeout { key: ClientKey },
    /// A 2xx to an INVITE was never ACKed within 64·T1. The TU should send BYE.
    AckTimeout { key: ServerKey, call_id: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SState {
    Trying,
    Proceeding,
    Completed,
    Accepted,
    Confirmed,
}

struct ServerTxn {
    state: SState,
    peer: Peer,
    last: Option<Vec<u8>>,
    invite: bool,
    /// For INVITE 2xx matching: (call-id, cseq, from-tag).
    dialog_key: Option<(String, u32, String)>,
    retransmit: Duration,
    epoch: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CState {
    Calling,
    Proceeding,
    Completed,
}

struct ClientTxn {
    state: CState,
    peer: Peer,
    request: Request,
    bytes: Vec<u8>,
    retransmit: Duration,
    epoch: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Timer {
    /// G (INVITE final retransmit), 2xx retransmit in Accepted, J/H/I/L ends.
    ServerRetransmit,
    ServerEnd,
    ClientRetransmit,
    ClientTimeout,
    ClientEnd,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Owner {
    Server(String, String, String),
    Client(String, String),
}

/// The transaction layer of one SIP endpoint.
pub struct TransactionLayer {
    timers_cfg: Timers,
    servers: HashMap<ServerKey, ServerTxn>,
    accepted: HashMap<(String, u32, String), ServerKey>,
    clients: HashMap<ClientKey, ClientTxn>,
    heap: BinaryHeap<Reverse<(Instant, u64, Timer, Owner)>>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
    next_gen: u64,
}

fn owner_of_server(k: &ServerKey) -> Owner {
    Owner::Server(
        k.branch.clone(),
        k.sent_by.clone(),
        k.method.as_str().to_string(),
    )
}

fn owner_of_client(k: &ClientKey) -> Owner {
    Owner::Client(k.branch.clone(), k.method.as_str().to_string())
}

/// Builds a response to `req`: Via, From, To, Call-ID and CSeq copied; `to_tag` added to To
/// when it has none.
pub fn make_response(req: &Request, status: u16, to_tag: Option<&str>) -> Response {
    let mut h = Headers::new();
    for (n, v) in &req.headers.0 {
        match n.as_str() {
            "Via" | "From" | "Call-ID" | "CSeq" => h.push(n.clone(), v.clone()),
            "To" => {
                let v = match (to_tag, NameAddr::parse(v)) {
                    (Some(tag), Ok(na)) if na.tag().is_none() => na.with_tag(tag).to_string(),
                    _ => v.clone(),
                };
                h.push("To", v);
            }
            "Record-Route" if (101..300).contains(&status) => h.push(n.clone(), v.clone()),
            _ => {}
        }
    }
    Response {
        status,
        reason: reason_phrase(status).to_string(),
        headers: h,
        body: Vec::new(),
    }
}

/// Fills `received` and `rport` in the top Via (RFC 3581) so responses reach the source.
fn stamp_via(req: &mut Request, from: &Peer) {
    let Some(idx) = req.headers.0.iter().position(|(n, _)| n == "Via") else {
        return;
    };
    let raw = req.headers.0[idx].1.clone();
    let mut vias = crate::message::split_list(&raw);
    let Some(first) = vias.first() else { return };
    let Ok(mut via) = headers::Via::parse(first) else {
        return;
    };
    let ip = from.addr.ip().to_string();
    if via.host.trim_start_matches('[').trim_end_matches(']') != ip {
        via.set_param("received", Some(&ip));
    }
    if via.rport().is_some() {
        via.set_param("rport", Some(&from.addr.port().to_string()));
    }
    vias[0] = via.to_string();
    req.headers.0[idx].1 = vias.join(", ");
}

impl TransactionLayer {
    pub fn new(timers: Timers) -> Self {
        Self {
            timers_cfg: timers,
            servers: HashMap::new(),
            accepted: HashMap::new(),
            clients: HashMap::new(),
            heap: BinaryHeap::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            next_gen: 0,
        }
    }

    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`TransactionLayer::handle_timeout`] must next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse((t, ..))| *t)
    }

    /// True while the INVITE server transaction `key` has sent no final response (what a
    /// CANCEL needs to know: 487 the INVITE, or just 200 the CANCEL).
    pub fn invite_pending(&self, key: &ServerKey) -> bool {
        self.servers
            .get(key)
            .is_some_and(|t| t.invite && matches!(t.state, SState::Trying | SState::Proceeding))
    }

    /// Live transactions (server, client), for metrics and leak tests.
    pub fn len(&self) -> (usize, usize) {
        (self.servers.len(), self.clients.len())
    }

    fn next_epoch(&mut self) -> u64 {
        self.next_gen += 1;
        self.next_gen
    }

    fn arm(&mut self, at: Instant, epoch: u64, timer: Timer, owner: Owner) {
        self.heap.push(Reverse((at, epoch, timer, owner)));
    }

    fn send(&mut self, to: Peer, bytes: Vec<u8>) {
        self.transmits.push_back(Transmit { to, bytes });
    }

    /// A message from the transport. Malformed messages must have been answered (400) or
    /// dropped by the caller; this takes parsed messages only.
    pub fn handle_message(&mut self, msg: Message, from: Peer, now: Instant) {
        match msg {
            Message::Request(r) => self.handle_request(r, from, now),
            Message::Response(r) => self.handle_response(r, from, now),
        }
    }

    fn server_key(req: &Request) -> Option<ServerKey> {
        let via = headers::top_via(&req.headers).ok()?;
        let branch = via.branch()?.to_string();
        let sent_by = match via.port {
            Some(p) => format!("{}:{p}", via.host),
            None => via.host.clone(),
        };
        let method = if req.method == Method::Ack {
            Method::Invite
        } else {
            req.method.clone()
        };
        Some(ServerKey {
            branch,
            sent_by,
            method,
        })
    }

    fn handle_request(&mut self, mut req: Request, from: Peer, now: Instant) {
        stamp_via(&mut req, &from);
        let Some(key) = Self::server_key(&req) else {
            // Validation upstream answers 400; without a branch there is nothing to match.
            return;
        };
        if req.method == Method::Ack {
            self.handle_ack(key, req, from, now);
            return;
        }
        if let Some(t) = self.servers.get(&key) {
            // A retransmission: answer with the last response, absorb.
            match (t.state, &t.last) {
                (SState::Trying, _) | (SState::Confirmed, _) | (SState::Accepted, None) => {}
                (_, Some(bytes)) => {
                    let (peer, bytes) = (t.peer, bytes.clone());
                    self.send(peer, bytes);
                }
                (_, None) => {}
            }
            return;
        }
        let invite = req.method == Method::Invite;
        let epoch = self.next_epoch();
        let mut txn = ServerTxn {
            state: if invite {
                SState::Proceeding
            } else {
                SState::Trying
            },
            peer: from,
            last: None,
            invite,
            dialog_key: None,
            retransmit: self.timers_cfg.t1,
            epoch,
        };
        if invite {
            let trying = make_response(&req, 100, None).into_message().to_bytes();
            txn.last = Some(trying.clone());
            self.send(from, trying);
        }
        self.servers.insert(key.clone(), txn);
        self.events.push_back(Event::Request {
            key,
            request: req,
            from,
        });
    }

    fn handle_ack(&mut self, key: ServerKey, req: Request, from: Peer, now: Instant) {
        // ACK to a non-2xx final: same branch as the INVITE.
        if let Some(t) = self.servers.get_mut(&key) {
            if t.state == SState::Completed {
                t.state = SState::Confirmed;
                t.epoch += 1;
                let (epoch, reliable) = (t.epoch, t.peer.transport.reliable());
                let wait = if reliable {
                    Duration::ZERO
                } else {
                    self.timers_cfg.t4
                };
                self.arm(now + wait, epoch, Timer::ServerEnd, owner_of_server(&key));
            }
            return;
        }
        // ACK to a 2xx: its own transaction-less request, matched through the dialog.
        let dk = dialog_key(&req);
        if let Some(k) = dk.and_then(|dk| self.accepted.remove(&dk)) {
            if let Some(t) = self.servers.get_mut(&k) {
                t.state = SState::Confirmed;
                t.last = None;
                t.epoch += 1;
                let epoch = t.epoch;
                // Keep absorbing INVITE retransmissions for a while (timer L).
                self.arm(
                    now + self.timers_cfg.t1 * 64,
                    epoch,
                    Timer::ServerEnd,
                    owner_of_server(&k),
                );
            }
            self.events.push_back(Event::Ack { request: req, from });
        } else {
            self.events
                .push_back(Event::StrayAck { request: req, from });
        }
    }

    /// The TU answers the request of server transaction `key`. Unknown keys are ignored
    /// (the transaction ended); returns false then.
    pub fn respond(&mut self, key: &ServerKey, resp: Response, now: Instant) -> bool {
        let t1 = self.timers_cfg.t1;
        let Some(t) = self.servers.get_mut(key) else {
            return false;
        };
        if matches!(
            t.state,
            SState::Completed | SState::Accepted | SState::Confirmed
        ) {
            return false;
        }
        let status = resp.status;
        let dk = if t.invite && (200..300).contains(&status) {
            let m = resp.clone().into_message();
            dialog_key_of_response(&m)
        } else {
            None
        };
        let bytes = resp.into_message().to_bytes();
        t.last = Some(bytes.clone());
        let peer = t.peer;
        let reliable = peer.transport.reliable();
        if status < 200 {
            t.state = SState::Proceeding;
            self.send(peer, bytes);
            return true;
        }
        t.epoch += 1;
        let epoch = t.epoch;
        let owner = owner_of_server(key);
        if t.invite && (200..300).contains(&status) {
            t.state = SState::Accepted;
            t.dialog_key = dk.clone();
            t.retransmit = t1;
            if let Some(dk) = dk {
                self.accepted.insert(dk, key.clone());
            }
            // 2xx: retransmitted until ACK even over TCP (a proxy may be UDP downstream).
            self.arm(now + t1, epoch, Timer::ServerRetransmit, owner.clone());
            self.arm(now + t1 * 64, epoch, Timer::ServerEnd, owner);
        } else if t.invite {
            t.state = SState::Completed;
            t.retransmit = t1;
            if !reliable {
                self.arm(now + t1, epoch, Timer::ServerRetransmit, owner.clone());
            }
            self.arm(now + t1 * 64, epoch, Timer::ServerEnd, owner);
        } else {
            t.state = SState::Completed;
            let wait = if reliable { Duration::ZERO } else { t1 * 64 };
            self.arm(now + wait, epoch, Timer::ServerEnd, owner);
        }
        self.send(peer, bytes);
        true
    }

    /// Sends a request in a new client transaction. The request must carry a top Via with a
    /// unique branch (`z9hG4bK…`). ACKs are not transactions: use [`Self::send_stateless`].
    pub fn send_request(&mut self, req: Request, to: Peer, now: Instant) -> Option<ClientKey> {
        let via = headers::top_via(&req.headers).ok()?;
        let key = ClientKey {
            branch: via.branch()?.to_string(),
            method: req.method.clone(),
        };
        let bytes = req.clone().into_message().to_bytes();
        let epoch = self.next_epoch();
        let t1 = self.timers_cfg.t1;
        let owner = owner_of_client(&key);
        if !to.transport.reliable() {
            self.arm(now + t1, epoch, Timer::ClientRetransmit, owner.clone());
        }
        self.arm(now + t1 * 64, epoch, Timer::ClientTimeout, owner);
        self.send(to, bytes.clone());
        self.clients.insert(
            key.clone(),
            ClientTxn {
                state: CState::Calling,
                peer: to,
                request: req,
                bytes,
                retransmit: t1,
                epoch,
            },
        );
        Some(key)
    }

    /// Sends without a transaction (ACK to a 2xx, stateless 4xx/5xx to junk).
    pub fn send_stateless(&mut self, msg: Message, to: Peer) {
        self.send(to, msg.to_bytes());
    }

    fn handle_response(&mut self, resp: Response, from: Peer, now: Instant) {
        let msg = resp.into_message();
        let key = headers::top_via(msg.headers()).ok().and_then(|v| {
            let cseq = CSeq::parse(msg.headers().get("CSeq")?).ok()?;
            Some(ClientKey {
                branch: v.branch()?.to_string(),
                method: cseq.method,
            })
        });
        let Message::Response(resp) = msg else { return };
        let Some(key) = key else { return };
        let t4 = self.timers_cfg.t4;
        let Some(t) = self.clients.get_mut(&key) else {
            if key.method == Method::Invite && (200..300).contains(&resp.status) {
                self.events.push_back(Event::Stray2xx {
                    response: resp,
                    from,
                });
            }
            return;
        };
        let owner = owner_of_client(&key);
        let reliable = t.peer.transport.reliable();
        match (t.state, resp.status) {
            (CState::Completed, s) if s >= 300 && key.method == Method::Invite => {
                // Retransmitted final: ACK again.
                let ack = ack_for_failure(&t.request, &resp);
                let peer = t.peer;
                self.send(peer, ack.into_message().to_bytes());
            }
            (CState::Completed, _) => {}
            (_, s) if s < 200 => {
                t.state = CState::Proceeding;
                if key.method == Method::Invite {
                    // Timer A stops once a provisional arrives.
                    t.epoch += 1;
                    let epoch = t.epoch;
                    self.arm(
                        now + self.timers_cfg.t1 * 64,
                        epoch,
                        Timer::ClientTimeout,
                        owner,
                    );
                }
                self.events.push_back(Event::Response {
                    key,
                    response: resp,
                });
            }
            (_, s) if key.method == Method::Invite && s < 300 => {
                // 2xx ends the INVITE client transaction; the TU ACKs (and re-ACKs strays).
                self.clients.remove(&key);
                self.events.push_back(Event::Response {
                    key,
                    response: resp,
                });
            }
            (_, _) => {
                t.state = CState::Completed;
                t.epoch += 1;
                let epoch = t.epoch;
                let peer = t.peer;
                let wait = if key.method == Method::Invite {
                    let ack = ack_for_failure(&t.request, &resp);
                    self.send(peer, ack.into_message().to_bytes());
                    if reliable {
                        Duration::ZERO
                    } else {
                        Duration::from_secs(32)
                    }
                } else if reliable {
                    Duration::ZERO
                } else {
                    t4
                };
                self.arm(now + wait, epoch, Timer::ClientEnd, owner);
                self.events.push_back(Event::Response {
                    key,
                    response: resp,
                });
            }
        }
    }

    /// Fires every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(Reverse((at, epoch, timer, owner))) = self.heap.peek().cloned() {
            if at > now {
                break;
            }
            self.heap.pop();
            match owner {
                Owner::Server(branch, sent_by, method) => {
                    let key = ServerKey {
                        branch,
                        sent_by,
                        method: Method::parse(&method),
                    };
                    self.server_timer(key, epoch, timer, now);
                }
                Owner::Client(branch, method) => {
                    let key = ClientKey {
                        branch,
                        method: Method::parse(&method),
                    };
                    self.client_timer(key, epoch, timer, now);
                }
            }
        }
    }

    fn server_timer(&mut self, key: ServerKey, epoch: u64, timer: Timer, now: Instant) {
        let t2 = self.timers_cfg.t2;
        let Some(t) = self.servers.get_mut(&key) else {
            return;
        };
        if t.epoch != epoch {
            return; // superseded
        }
        match timer {
            Timer::ServerRetransmit if matches!(t.state, SState::Completed | SState::Accepted) => {
                t.retransmit = (t.retransmit * 2).min(t2);
                let next = now + t.retransmit;
                let (peer, bytes) = (t.peer, t.last.clone());
                self.arm(next, epoch, Timer::ServerRetransmit, owner_of_server(&key));
                if let Some(b) = bytes {
                    self.send(peer, b);
                }
            }
            Timer::ServerEnd => {
                let state = t.state;
                let dk = t.dialog_key.clone();
                self.servers.remove(&key);
                if state == SState::Accepted
                    && let Some(dk) = dk
                {
                    self.accepted.remove(&dk);
                    self.events
                        .push_back(Event::AckTimeout { key, call_id: dk.0 });
                }
            }
            _ => {}
        }
    }

    fn client_timer(&mut self, key: ClientKey, epoch: u64, timer: Timer, now: Instant) {
        let t2 = self.timers_cfg.t2;
        let Some(t) = self.clients.get_mut(&key) else {
            return;
        };
        if t.epoch != epoch {
            return;
        }
        match timer {
            Timer::ClientRetransmit if t.state != CState::Completed => {
                let invite = key.method == Method::Invite;
                if invite && t.state == CState::Proceeding {
                    return;
                }
                t.retransmit = if invite || t.state == CState::Calling {
                    t.retransmit * 2
                } else {
                    t2
                };
                if !invite {
                    t.retransmit = t.retransmit.min(t2);
                }
                let next = now + t.retransmit;
                let (peer, bytes) = (t.peer, t.bytes.clone());
                self.arm(next, epoch, Timer::ClientRetransmit, owner_of_client(&key));
                self.send(peer, bytes);
            }
            Timer::ClientTimeout if t.state != CState::Completed => {
                self.clients.remove(&key);
                self.events.push_back(Event::Timeout { key });
            }
            Timer::ClientEnd => {
                self.clients.remove(&key);
            }
            _ => {}
        }
    }
}

/// (Call-ID, CSeq number, From tag): what an ACK to a 2xx shares with its INVITE.
fn dialog_key(req: &Request) -> Option<(String, u32, String)> {
    let cseq = CSeq::parse(req.headers.get("CSeq")?).ok()?;
    let from = NameAddr::parse(req.headers.get("From")?).ok()?;
    Some((
        req.headers.get("Call-ID")?.to_string(),
        cseq.seq,
        from.tag()?.to_string(),
    ))
}

fn dialog_key_of_response(m: &Message) -> Option<(String, u32, String)> {
    let h = m.headers();
    let cseq = CSeq::parse(h.get("CSeq")?).ok()?;
    let from = NameAddr::parse(h.get("From")?).ok()?;
    Some((
        h.get("Call-ID")?.to_string(),
        cseq.seq,
        from.tag()?.to_string(),
    ))
}

/// RFC 3261 §17.1.1.3: the ACK a client INVITE transaction sends for a non-2xx final.
fn ack_for_failure(invite: &Request, resp: &Response) -> Request {
    let mut h = Headers::new();
    if let Some(v) = invite.headers.get("Via") {
        h.push(
            "Via",
            crate::message::split_list(v)
                .into_iter()
                .next()
                .unwrap_or_default(),
        );
    }
    for n in ["Route", "From"] {
        for v in invite.headers.get_all(n) {
            h.push(n, v);
        }
    }
    if let Some(to) = resp.headers.get("To") {
        h.push("To", to);
    }
    if let Some(c) = invite.headers.get("Call-ID") {
        h.push("Call-ID", c);
    }
    let seq = invite
        .headers
        .get("CSeq")
        .and_then(|c| CSeq::parse(c).ok())
        .map(|c| c.seq)
        .unwrap_or(1);
    h.push("CSeq", format!("{seq} ACK"));
    h.push("Max-Forwards", "70");
    Request {
        method: Method::Ack,
        uri: invite.uri.clone(),
        headers: h,
        body: Vec::new(),
    }
}

impl Response {
    pub fn into_message(self) -> Message {
        Message::Response(self)
    }
}

impl Request {
    pub fn into_message(self) -> Message {
        Message::Request(self)
    }
}

/// A fresh RFC 3261 branch (`z9hG4bK` + 16 random hex digits).
pub fn new_branch() -> String {
    format!("z9hG4bK{:016x}", rand::random::<u64>())
}
