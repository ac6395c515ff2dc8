//! The SIP endpoint: one task that owns the sans-IO transaction layer, routes requests to
//! call tasks by Call-ID, answers OPTIONS/CANCEL/stray requests itself, and turns the
//! layer's timers into sleeps.

use super::SipShared;
use super::call::{self, CallCtx, CallInput};
use super::registry::{CallInfo, CallState};
use super::transport::{Inbound, Transports};
use cvi_sip::Message;
use cvi_sip::headers::{self, NameAddr};
use cvi_sip::message::{Method, Request, Response};
use cvi_sip::parse::validate_request;
use cvi_sip::transaction::{ClientKey, Event, Peer, ServerKey, TransactionLayer, make_response};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;
use tokio::sync::mpsc;

/// What call tasks ask of the endpoint.
#[derive(Debug)]
pub(crate) enum Cmd {
    Respond {
        key: ServerKey,
        resp: Response,
    },
    Request {
        req: Request,
        to: Peer,
        call_id: String,
    },
    Ended {
        call_id: String,
    },
}

pub(crate) const ALLOW: &str = "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, UPDATE";
pub(crate) const SUPPORTED: &str = "timer";
pub(crate) const ACCEPT: &str =
    "application/sdp, application/dtmf-relay, application/dtmf, application/media_control+xml";

struct CallHandle {
    tx: mpsc::Sender<CallInput>,
    invite_key: ServerKey,
}

pub(crate) struct Endpoint {
    txl: TransactionLayer,
    calls: HashMap<String, CallHandle>,
    clients: HashMap<ClientKey, String>,
    current_tls: Option<String>,
    shared: Arc<SipShared>,
    transports: Arc<Transports>,
    cmd_tx: mpsc::Sender<Cmd>,
}

impl Endpoint {
    pub(crate) fn new(
        shared: Arc<SipShared>,
        transports: Arc<Transports>,
        cmd_tx: mpsc::Sender<Cmd>,
    ) -> Self {
        Self {
            txl: TransactionLayer::new(shared.timers),
            calls: HashMap::new(),
            clients: HashMap::new(),
            current_tls: None,
            shared,
            transports,
            cmd_tx,
        }
    }

    pub(crate) async fn run(
        mut self,
        mut inbound: mpsc::Receiver<Inbound>,
        mut cmds: mpsc::Receiver<Cmd>,
    ) {
        loop {
            let deadline = self.txl.poll_timeout();
            let sleep = async {
                match deadline {
                    Some(t) => tokio::time::sleep_until(tokio::time::Instant::from_std(t)).await,
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                m = inbound.recv() => match m {
                    Some(m) => self.on_inbound(m),
                    None => break,
                },
                c = cmds.recv() => match c {
                    Some(c) => self.on_cmd(c),
                    None => break,
                },
                () = sleep => self.txl.handle_timeout(Instant::now()),
            }
            self.pump().await;
        }
    }

    async fn pump(&mut self) {
        loop {
            let mut progressed = false;
            while let Some(ev) = self.txl.poll_event() {
                progressed = true;
                self.on_event(ev);
            }
            while let Some(t) = self.txl.poll_transmit() {
                progressed = true;
                self.transports.send(t).await;
            }
            if !progressed {
                break;
            }
        }
    }

    fn on_cmd(&mut self, c: Cmd) {
        let now = Instant::now();
        match c {
            Cmd::Respond { key, resp } => {
                self.txl.respond(&key, resp, now);
            }
            Cmd::Request { req, to, call_id } => {
                if let Some(k) = self.txl.send_request(req, to, now) {
                    self.clients.insert(k, call_id);
                }
            }
            Cmd::Ended { call_id } => {
                self.calls.remove(&call_id);
                self.clients.retain(|_, c| *c != call_id);
            }
        }
    }

    fn on_inbound(&mut self, m: Inbound) {
        let now = Instant::now();
        if let Message::Request(req) = &m.msg {
            if let Err((status, why)) = validate_request(req) {
                self.shared
                    .registry
                    .metrics
                    .invalid_requests
                    .fetch_add(1, Ordering::Relaxed);
                if req.method != Method::Ack && headers::top_via(&req.headers).is_ok() {
                    let mut r = make_response(req, status, None);
                    r.headers
                        .push("Warning", format!("399 cvi \"{}\"", why.replace('"', "'")));
                    self.txl.send_stateless(Message::Response(r), m.peer);
                }
                return;
            }
            let scheme_ok = {
                let u = req.uri.trim_start().to_ascii_lowercase();
                u.starts_with("sip:") || u.starts_with("sips:")
            };
            if !scheme_ok && req.method != Method::Ack {
                self.shared
                    .registry
                    .metrics
                    .invalid_requests
                    .fetch_add(1, Ordering::Relaxed);
                self.txl
                    .send_stateless(Message::Response(make_response(req, 416, None)), m.peer);
                return;
            }
        }
        // Events of this message are pumped before the next input: the TLS evidence of the
        // message travels with them through this field.
        self.current_tls = m.tls_domain;
        self.txl.handle_message(m.msg, m.peer, now);
    }

    fn respond_now(&mut self, key: &ServerKey, resp: Response) {
        self.txl.respond(key, resp, Instant::now());
    }

    fn on_event(&mut self, ev: Event) {
        match ev {
            Event::Request { key, request, from } => self.on_request(key, request, from),
            Event::Ack { request, .. } => {
                if let Some(h) = request.call_id().and_then(|c| self.calls.get(c)) {
                    let _ = h.tx.try_send(CallInput::Ack(request));
                }
            }
            Event::StrayAck { .. } => {}
            Event::Response { key, response } => {
                if let Some(h) = self.clients.get(&key).and_then(|c| self.calls.get(c)) {
                    let _ = h.tx.try_send(CallInput::Response(response));
                }
            }
            Event::Stray2xx { .. } => {}
            Event::Timeout { key } => {
                if let Some(h) = self.clients.remove(&key).and_then(|c| self.calls.get(&c)) {
                    let _ = h.tx.try_send(CallInput::Timeout);
                }
            }
            Event::AckTimeout { call_id, .. } => {
                if let Some(h) = self.calls.get(&call_id) {
                    let _ = h.tx.try_send(CallInput::AckTimeout);
                }
            }
        }
    }

    fn on_request(&mut self, key: ServerKey, req: Request, from: Peer) {
        let call_id = req.call_id().unwrap_or_default().to_string();
        let in_dialog = to_tag(&req).is_some();
        match req.method {
            Method::Invite if !in_dialog => self.new_call(key, req, from),
            Method::Cancel => self.cancel(key, req, from),
            Method::Options if !in_dialog || !self.calls.contains_key(&call_id) => {
                self.shared
                    .registry
                    .metrics
                    .options
                    .fetch_add(1, Ordering::Relaxed);
                let status = if self.shared.draining() { 503 } else { 200 };
                let mut r = make_response(&req, status, Some(&local_tag()));
                r.headers.push("Allow", ALLOW);
                r.headers.push("Accept", ACCEPT);
                r.headers.push("Supported", SUPPORTED);
                if status == 503 {
                    r.headers.push("Retry-After", "30");
                }
                self.respond_now(&key, r);
            }
            Method::Invite | Method::Bye | Method::Info | Method::Update | Method::Options => {
                match self.calls.get(&call_id) {
                    Some(h) => {
                        if h.tx
                            .try_send(CallInput::Request {
                                key: key.clone(),
                                req: req.clone(),
                            })
                            .is_err()
                        {
                            self.respond_now(&key, make_response(&req, 500, None));
                        }
                    }
                    None => self.respond_now(&key, make_response(&req, 481, None)),
                }
            }
            _ => {
                let mut r = make_response(&req, 405, Some(&local_tag()));
                r.headers.push("Allow", ALLOW);
                self.respond_now(&key, r);
            }
        }
    }

    fn cancel(&mut self, key: ServerKey, req: Request, _from: Peer) {
        let invite_key = ServerKey {
            method: Method::Invite,
            ..key.clone()
        };
        let pending = self.txl.invite_pending(&invite_key);
        let call = self
            .calls
            .iter()
            .find(|(_, h)| h.invite_key == invite_key)
            .map(|(c, h)| (c.clone(), h.tx.clone()));
        match (pending, call) {
            (true, Some((_, tx))) => {
                self.respond_now(&key, make_response(&req, 200, None));
                // The call task answers 487 to the INVITE (it holds the to-tag).
                let _ = tx.try_send(CallInput::Cancelled);
                self.shared
                    .registry
                    .metrics
                    .cancelled
                    .fetch_add(1, Ordering::Relaxed);
            }
            (false, Some(_)) => self.respond_now(&key, make_response(&req, 200, None)),
            (_, None) => self.respond_now(&key, make_response(&req, 481, None)),
        }
    }

    fn new_call(&mut self, key: ServerKey, req: Request, from: Peer) {
        let call_id = req.call_id().unwrap_or_default().to_string();
        if self.calls.contains_key(&call_id) {
            // Same Call-ID, new branch, no To tag: a merged request (RFC 3261 §8.2.2.2).
            self.respond_now(&key, make_response(&req, 482, None));
            return;
        }
        let reg = &self.shared.registry;
        if self.shared.draining() || reg.len() >= self.shared.max_calls {
            let mut r = make_response(&req, 503, Some(&local_tag()));
            r.headers.push(
                "Retry-After",
                if self.shared.draining() { "60" } else { "5" },
            );
            reg.count_reject(
                503,
                if self.shared.draining() {
                    "draining"
                } else {
                    "capacity"
                },
            );
            self.respond_now(&key, r);
            return;
        }
        reg.metrics.attempts.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(64);
        let caller = req
            .headers
            .get("From")
            .and_then(|f| NameAddr::parse(f).ok())
            .map(|n| n.uri)
            .unwrap_or_default();
        reg.insert(
            CallInfo {
                call_id: call_id.clone(),
                state: CallState::Deciding,
                dial_method: None,
                tenant_id: None,
                meeting_id: None,
                provider: None,
                caller,
                transport: from.transport.as_str().to_string(),
                source: from.addr.to_string(),
                streams: Vec::new(),
                media: None,
                started_at: chrono::Utc::now(),
            },
            tx.clone(),
        );
        self.calls.insert(
            call_id.clone(),
            CallHandle {
                tx,
                invite_key: key.clone(),
            },
        );
        let tls_domain = self.current_tls.clone();
        let call_id_for_watch = call_id.clone();
        let ctx = CallCtx {
            call_id,
            invite_key: key,
            invite: req,
            peer: from,
            tls_domain,
            shared: self.shared.clone(),
            cmd: self.cmd_tx.clone(),
        };
        let (cmd, registry, id) = (
            self.cmd_tx.clone(),
            self.shared.registry.clone(),
            call_id_for_watch,
        );
        let task = tokio::spawn(call::run(ctx, rx));
        // A call task that panics must not leave its call listed or routed.
        tokio::spawn(async move {
            if let Err(e) = task.await {
                tracing::error!(call_id = %id, error = %e, "call task failed");
                registry.remove(&id);
                let _ = cmd.send(Cmd::Ended { call_id: id }).await;
            }
        });
    }
}

fn to_tag(req: &Request) -> Option<String> {
    req.headers
        .get("To")
        .and_then(|t| NameAddr::parse(t).ok())
        .and_then(|n| n.tag().map(str::to_string))
}

pub(crate) fn local_tag() -> String {
    format!("{:016x}", rand::random::<u64>())
}
