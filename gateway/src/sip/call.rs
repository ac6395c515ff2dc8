//! One task per call: it asks the provisioning decision once, answers the INVITE (SDP
//! offer/answer with real RTP sockets), and then owns the dialog — BYE both ways, re-INVITE
//! and UPDATE (hold/resume, codec change), INFO (DTMF relay, picture_fast_update), session
//! timers (RFC 4028, refresher = UAC), and hang-up from the API. Every log line of the call
//! carries its Call-ID (the task's span).

use super::SipShared;
use super::endpoint::{ACCEPT, ALLOW, Cmd, SUPPORTED, local_tag};
use super::ivr_driver::IvrDriver;
use super::registry::{CallState, DialMethod, StreamInfo};
use super::rtp::CallMedia;
use cvi_media::sdp::{self, LocalAddrs, NegotiatedStream, NegotiationError, SessionDescription};
use cvi_provisioning::decide::{Caller, Outcome, decide};
use cvi_sip::dialog::Dialog;
use cvi_sip::headers::{self, SessionExpires};
use cvi_sip::message::{Method, Request, Response};
use cvi_sip::transaction::{Peer, ServerKey, Transport, make_response};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::sync::mpsc;
use tracing::Instrument;

#[derive(Debug)]
pub(crate) enum CallInput {
    Ack(Request),
    Request {
        key: ServerKey,
        req: Request,
    },
    Response(Response),
    Timeout,
    AckTimeout,
    Cancelled,
    Hangup,
    /// The lobby's verdict (API `POST /api/v1/calls/{id}/admit|reject`).
    Admit(bool),
}

pub(crate) struct CallCtx {
    pub call_id: String,
    pub invite_key: ServerKey,
    pub invite: Request,
    pub peer: Peer,
    pub tls_domain: Option<String>,
    pub shared: Arc<SipShared>,
    pub cmd: mpsc::Sender<Cmd>,
}

pub(crate) async fn run(ctx: CallCtx, rx: mpsc::Receiver<CallInput>) {
    let span = tracing::info_span!("call", call_id = %ctx.call_id);
    let call_id = ctx.call_id.clone();
    let (shared, cmd) = (ctx.shared.clone(), ctx.cmd.clone());
    Call::new(ctx).run(rx).instrument(span).await;
    shared.registry.remove(&call_id);
    let _ = cmd.send(Cmd::Ended { call_id }).await;
}

struct Call {
    ctx: CallCtx,
    tag: String,
    dialog: Option<Dialog>,
    media: Option<CallMedia>,
    /// Our current SDP (answer or offer), reused for re-INVITEs without SDP.
    local_sdp: Option<SessionDescription>,
    /// Late offer: the offer we sent in the 200, waiting for the answer in the ACK.
    awaiting_answer: bool,
    session_interval: Option<Duration>,
    /// The IVR, for calls to `key@domain`, and the tenant key it serves.
    ivr: Option<IvrDriver>,
    ivr_key: Option<String>,
    audio_rx: Option<mpsc::Receiver<Vec<u8>>>,
    /// Waiting in the lobby (direct dial or after the IVR).
    in_lobby: bool,
}

impl Call {
    fn new(ctx: CallCtx) -> Self {
        Self {
            ctx,
            tag: local_tag(),
            dialog: None,
            media: None,
            local_sdp: None,
            awaiting_answer: false,
            session_interval: None,
            ivr: None,
            ivr_key: None,
            audio_rx: None,
            in_lobby: false,
        }
    }

    fn contact(&self) -> String {
        let s = &self.ctx.shared;
        match self.ctx.peer.transport {
            Transport::Udp => format!("<sip:cvi@{}:{}>", s.host, s.ports.udp),
            Transport::Tcp => format!("<sip:cvi@{}:{};transport=tcp>", s.host, s.ports.tcp),
            Transport::Tls => format!(
                "<sip:cvi@{}:{};transport=tls>",
                s.host,
                s.ports.tls.unwrap_or(s.ports.tcp)
            ),
        }
    }

    fn sent_by(&self) -> String {
        let s = &self.ctx.shared;
        let port = match self.ctx.peer.transport {
            Transport::Udp => s.ports.udp,
            Transport::Tcp => s.ports.tcp,
            Transport::Tls => s.ports.tls.unwrap_or(s.ports.tcp),
        };
        format!("{}:{port}", s.host)
    }

    async fn send(&self, c: Cmd) {
        let _ = self.ctx.cmd.send(c).await;
    }

    async fn respond_invite(&self, status: u16, extra: &[(&str, String)]) {
        let mut r = make_response(&self.ctx.invite, status, Some(&self.tag));
        for (n, v) in extra {
            r.headers.push(*n, v.clone());
        }
        self.send(Cmd::Respond {
            key: self.ctx.invite_key.clone(),
            resp: r,
        })
        .await;
    }

    async fn reject(&self, status: u16, check: &str, extra: &[(&str, String)]) {
        let check = header_text(check);
        let check = check.as_str();
        tracing::info!(status, check, "call rejected");
        self.ctx.shared.registry.count_reject(status, check);
        let mut h: Vec<(&str, String)> = vec![
            ("Reason", format!("SIP;cause={status};text=\"{check}\"")),
            ("Warning", format!("399 cvi \"{check}\"")),
        ];
        h.extend(extra.iter().cloned());
        self.respond_invite(status, &h).await;
    }

    async fn run(mut self, mut rx: mpsc::Receiver<CallInput>) {
        if self.answer(&mut rx).await.is_none() {
            return;
        }
        self.established(&mut rx).await;
    }

    /// Pre-checks, decision, media, 200 OK. None when the call ended before the answer.
    async fn answer(&mut self, rx: &mut mpsc::Receiver<CallInput>) -> Option<()> {
        let inv = self.ctx.invite.clone();
        let shared = self.ctx.shared.clone();
        // RFC 3261 §8.2.2.3: option tags we do not support.
        let unsupported: Vec<String> = headers::option_tags(&inv.headers, "Require")
            .into_iter()
            .filter(|t| !t.eq_ignore_ascii_case("timer"))
            .collect();
        if !unsupported.is_empty() {
            self.reject(420, "require", &[("Unsupported", unsupported.join(", "))])
                .await;
            return None;
        }
        if !inv.body.is_empty() {
            let ct = inv
                .headers
                .get("Content-Type")
                .unwrap_or_default()
                .to_ascii_lowercase();
            if !ct.starts_with("application/sdp") {
                self.reject(415, "contentType", &[("Accept", "application/sdp".into())])
                    .await;
                return None;
            }
        }
        // RFC 4028: a Session-Expires below our Min-SE is refused with 422.
        let se = inv
            .headers
            .get("Session-Expires")
            .and_then(|v| SessionExpires::parse(v).ok());
        if let Some(se) = &se
            && se.delta < shared.min_se
        {
            self.reject(
                422,
                "sessionInterval",
                &[("Min-SE", shared.min_se.to_string())],
            )
            .await;
            return None;
        }
        // The decision.
        let caller = Caller {
            from: inv.headers.get("From").unwrap_or_default().to_string(),
            source_address: Some(self.ctx.peer.addr.ip()),
            tls_peer_domain: self.ctx.tls_domain.clone(),
        };
        let uri = dial_uri(&inv.uri, &shared);
        let snap = match shared
            .store
            .snapshot_for(&uri, &shared.served_domains, None)
            .await
        {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "provisioning store unavailable");
                self.reject(503, "storeUnavailable", &[("Retry-After", "10".into())])
                    .await;
                return None;
            }
        };
        let decision = decide(&snap, &uri, &caller, chrono::Utc::now());
        if self.cancelled(rx).await {
            return None;
        }
        let (state, method, tenant, meeting, provider) = match &decision.outcome {
            Outcome::Reject { status, check, .. } => {
                let check = serde_json::to_value(check)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default();
                self.reject(*status, &check, &[]).await;
                return None;
            }
            Outcome::Ivr {
                tenant_id,
                provider,
                ..
            } => (
                CallState::Ivr,
                DialMethod::Ivr,
                *tenant_id,
                None,
                provider.clone(),
            ),
            Outcome::Join {
                tenant_id,
                meeting_id,
                provider,
                lobby,
                invited_room,
                ..
            } => (
                if *lobby {
                    CallState::Lobby
                } else {
                    CallState::Connected
                },
                if *invited_room {
                    DialMethod::OneTouch
                } else {
                    DialMethod::Direct
                },
                *tenant_id,
                Some(*meeting_id),
                provider.clone(),
            ),
        };
        tracing::info!(outcome = ?state, "call accepted by the decision");
        if let Outcome::Ivr { tenant_key, .. } = &decision.outcome {
            self.ivr_key = Some(tenant_key.clone());
        }
        self.in_lobby = state == CallState::Lobby;
        // Media: real sockets, then the SDP.
        let (audio_tx, audio_rx) = mpsc::channel(256);
        self.audio_rx = Some(audio_rx);
        let media = match CallMedia::bind(shared.rtp_ip, audio_tx).await {
            Ok(m) => m,
            Err(e) => {
                tracing::error!(error = %e, "cannot bind RTP ports");
                self.reject(503, "mediaPorts", &[("Retry-After", "5".into())])
                    .await;
                return None;
            }
        };
        let local = LocalAddrs {
            ip: shared.rtp_ip,
            audio_port: media.audio.port,
            video_port: media.video.port,
        };
        let (sdp_out, streams) = if inv.body.is_empty() {
            let offer = sdp::offer(&shared.caps, &local, &mut rand::thread_rng());
            self.awaiting_answer = true;
            (offer, Vec::new())
        } else {
            match negotiate(&inv.body, &shared, &local) {
                Ok(a) => a,
                Err((status, why)) => {
                    self.reject(status, &why, &[]).await;
                    return None;
                }
            }
        };
        let dialog = match Dialog::uas(&inv, &self.tag, &self.contact()) {
            Ok(d) => d,
            Err(e) => {
                self.reject(400, &format!("dialog: {e}"), &[]).await;
                return None;
            }
        };
        if self.cancelled(rx).await {
            return None;
        }
        let mut extra: Vec<(&str, String)> = vec![
            ("Contact", self.contact()),
            ("Allow", ALLOW.into()),
            ("Supported", SUPPORTED.into()),
            ("Accept", ACCEPT.into()),
            ("Content-Type", "application/sdp".into()),
        ];
        let uac_timer = headers::option_tags(&inv.headers, "Supported")
            .iter()
            .any(|t| t.eq_ignore_ascii_case("timer"));
        if uac_timer || se.is_some() {
            let delta = se
                .as_ref()
                .map(|s| s.delta)
                .unwrap_or(shared.session_expires)
                .max(shared.min_se);
            extra.push(("Session-Expires", format!("{delta};refresher=uac")));
            if uac_timer {
                extra.push(("Require", "timer".into()));
            }
            self.session_interval = Some(Duration::from_secs(u64::from(delta)));
        }
        let mut r = make_response(&inv, 200, Some(&self.tag));
        for (n, v) in extra {
            r.headers.push(n, v);
        }
        r.body = sdp_out.to_string().into_bytes();
        // The registry first: whoever sees the 200 finds the call answered in the API.
        let infos = stream_infos(&streams);
        shared.registry.update(&self.ctx.call_id, |c| {
            c.state = state;
            c.dial_method = Some(method);
            c.tenant_id = Some(tenant);
            c.meeting_id = meeting;
            c.provider = Some(provider);
            c.streams = infos;
        });
        self.send(Cmd::Respond {
            key: self.ctx.invite_key.clone(),
            resp: r,
        })
        .await;
        shared
            .registry
            .metrics
            .answered
            .fetch_add(1, Ordering::Relaxed);
        self.local_sdp = Some(sdp_out);
        self.media = Some(media);
        self.dialog = Some(dialog);
        if self.ivr_key.is_some() {
            let now = std::time::Instant::now();
            let blocked = shared.brute.blocked(self.ctx.peer.addr.ip(), now);
            if blocked {
                shared
                    .registry
                    .metrics
                    .ivr_blocked_calls
                    .fetch_add(1, Ordering::Relaxed);
                tracing::warn!(source = %self.ctx.peer.addr.ip(), "IVR call from a source over its failed-attempt limit: try again later");
            }
            let audio = streams.iter().find(|s| s.kind == sdp::StreamKind::Audio);
            let provider = shared
                .registry
                .get(&self.ctx.call_id)
                .and_then(|c| c.provider)
                .unwrap_or_default();
            self.ivr = Some(IvrDriver::new(&provider, blocked, audio, now));
        }
        Some(())
    }

    /// Consumes a pending CANCEL (answering 487) or hang-up before the answer.
    async fn cancelled(&self, rx: &mut mpsc::Receiver<CallInput>) -> bool {
        while let Ok(i) = rx.try_recv() {
            match i {
                CallInput::Cancelled => {
                    tracing::info!("cancelled by the caller");
                    self.respond_invite(487, &[]).await;
                    return true;
                }
                CallInput::Hangup => {
                    self.respond_invite(
                        480,
                        &[(
                            "Reason",
                            "SIP;cause=480;text=\"hung up by operator\"".into(),
                        )],
                    )
                    .await;
                    return true;
                }
                _ => {}
            }
        }
        false
    }

    async fn established(&mut self, rx: &mut mpsc::Receiver<CallInput>) {
        let mut refresh_deadline = self
            .session_interval
            .map(|d| tokio::time::Instant::now() + d);
        let mut bye_sent = false;
        let mut audio_rx = self.audio_rx.take();
        if self.drive_ivr().await {
            self.send_bye("IVR finished").await;
            bye_sent = true;
            refresh_deadline = Some(tokio::time::Instant::now() + Duration::from_secs(32));
        }
        loop {
            let timer = async {
                match refresh_deadline {
                    Some(t) => tokio::time::sleep_until(t).await,
                    None => std::future::pending::<()>().await,
                }
            };
            let ivr_deadline = self.ivr.as_ref().and_then(|d| d.ivr.poll_timeout());
            let ivr_timer = async {
                match ivr_deadline {
                    Some(t) => tokio::time::sleep_until(tokio::time::Instant::from_std(t)).await,
                    None => std::future::pending::<()>().await,
                }
            };
            let audio = async {
                match audio_rx.as_mut() {
                    Some(r) => r.recv().await,
                    None => std::future::pending().await,
                }
            };
            let input = tokio::select! {
                i = rx.recv() => i,
                p = audio => {
                    match (p, self.ivr.as_mut()) {
                        (Some(p), Some(d)) => d.on_rtp(&p, std::time::Instant::now()),
                        (None, _) => audio_rx = None,
                        _ => {}
                    }
                    if self.drive_ivr().await && !bye_sent {
                        self.send_bye("IVR finished").await;
                        bye_sent = true;
                        refresh_deadline = Some(tokio::time::Instant::now() + Duration::from_secs(32));
                    }
                    continue;
                }
                () = ivr_timer => {
                    if let Some(d) = self.ivr.as_mut() {
                        d.ivr.handle_timeout(std::time::Instant::now());
                    }
                    if self.drive_ivr().await && !bye_sent {
                        self.send_bye("IVR finished").await;
                        bye_sent = true;
                        refresh_deadline = Some(tokio::time::Instant::now() + Duration::from_secs(32));
                    }
                    continue;
                }
                () = timer => {
                    if bye_sent {
                        // Our BYE got no final response within 64·T1: the call is over anyway.
                        return;
                    }
                    tracing::info!("session timer expired without a refresh");
                    self.send_bye("session timer expired").await;
                    bye_sent = true;
                    refresh_deadline = Some(tokio::time::Instant::now() + Duration::from_secs(32));
                    continue;
                }
            };
            let Some(input) = input else { return };
            match input {
                CallInput::Ack(ack) => {
                    if self.awaiting_answer {
                        self.awaiting_answer = false;
                        if let Err(why) = self.take_answer(&ack.body) {
                            tracing::info!(reason = %why, "no usable answer in the ACK");
                            self.send_bye("no SDP answer in ACK").await;
                            bye_sent = true;
                        }
                    }
                }
                CallInput::Request { key, req } => {
                    if let Some(d) = self.dialog.as_mut()
                        && let Err(status) = d.accept_remote(&req)
                    {
                        self.respond(&key, &req, status, &[], None).await;
                        continue;
                    }
                    match req.method {
                        Method::Bye => {
                            tracing::info!("BYE from the caller");
                            self.respond(&key, &req, 200, &[], None).await;
                            return;
                        }
                        Method::Invite | Method::Update => {
                            if let Some(d) = self.session_interval {
                                refresh_deadline = Some(tokio::time::Instant::now() + d);
                            }
                            self.reoffer(key, req).await;
                        }
                        Method::Info => self.info(key, req).await,
                        _ => {
                            self.respond(
                                &key,
                                &req,
                                200,
                                &[("Allow", ALLOW.into()), ("Accept", ACCEPT.into())],
                                None,
                            )
                            .await;
                        }
                    }
                }
                CallInput::Response(r) => {
                    if bye_sent && r.status >= 200 {
                        return;
                    }
                }
                CallInput::Timeout => {
                    if bye_sent {
                        return;
                    }
                }
                CallInput::AckTimeout => {
                    tracing::info!("no ACK for our 200 OK");
                    self.send_bye("no ACK").await;
                    return;
                }
                CallInput::Hangup => {
                    if !bye_sent {
                        self.send_bye("hung up by operator").await;
                        bye_sent = true;
                        refresh_deadline =
                            Some(tokio::time::Instant::now() + Duration::from_secs(32));
                    }
                }
                CallInput::Cancelled => {}
                CallInput::Admit(admit) => {
                    if let Some(d) = self.ivr.as_mut() {
                        let a = if admit {
                            cvi_ivr::Admission::Admit
                        } else {
                            cvi_ivr::Admission::Reject
                        };
                        d.ivr.handle_admission(a, std::time::Instant::now());
                    } else if self.in_lobby {
                        self.in_lobby = false;
                        if admit {
                            tracing::info!("admitted from the lobby");
                            self.ctx
                                .shared
                                .registry
                                .update(&self.ctx.call_id, |c| c.state = CallState::Connected);
                        } else if !bye_sent {
                            self.send_bye("not admitted").await;
                            bye_sent = true;
                            refresh_deadline =
                                Some(tokio::time::Instant::now() + Duration::from_secs(32));
                        }
                    }
                }
            }
            if self.drive_ivr().await && !bye_sent {
                self.send_bye("IVR finished").await;
                bye_sent = true;
                refresh_deadline = Some(tokio::time::Instant::now() + Duration::from_secs(32));
            }
        }
    }

    /// Carries out what the IVR asks for. True when it wants the call hung up.
    async fn drive_ivr(&mut self) -> bool {
        let mut hang_up = false;
        loop {
            let now = std::time::Instant::now();
            let Some(action) = self.ivr.as_mut().and_then(|d| d.ivr.poll_action()) else {
                break;
            };
            match action {
                cvi_ivr::Action::PlayPrompt {
                    id,
                    prompt,
                    language,
                } => {
                    // No audio is played until the media pipeline lands (issue 4): a prompt
                    // takes no time.
                    tracing::debug!(prompt = ?prompt, language = %language.as_str(), "IVR prompt");
                    if let Some(d) = self.ivr.as_mut() {
                        d.ivr.handle_prompt_finished(id, now);
                    }
                }
                cvi_ivr::Action::ShowSlate { slate } => {
                    tracing::debug!(slate = ?slate.kind, "IVR slate")
                }
                cvi_ivr::Action::StopPrompt | cvi_ivr::Action::PlayLobbyMusic => {}
                cvi_ivr::Action::Decide { conference_id } => {
                    let result = self.ivr_decide(&conference_id).await;
                    if let Some(d) = self.ivr.as_mut() {
                        d.ivr.handle_decision(result, std::time::Instant::now());
                    }
                }
                cvi_ivr::Action::AttemptFailed {
                    failed_attempts, ..
                } => {
                    let shared = &self.ctx.shared;
                    shared
                        .registry
                        .metrics
                        .ivr_failed_attempts
                        .fetch_add(1, Ordering::Relaxed);
                    let key = self.ivr_key.clone().unwrap_or_default();
                    let (source_over, key_over) =
                        shared.brute.fail(self.ctx.peer.addr.ip(), &key, now);
                    // Never the digits.
                    tracing::info!(failed_attempts, "IVR: wrong conference ID");
                    if source_over {
                        tracing::warn!(source = %self.ctx.peer.addr.ip(), "IVR: source reached its failed-attempt limit");
                    }
                    if key_over {
                        tracing::warn!(tenant_key = %key, "IVR: many failed attempts against this tenant key");
                    }
                }
                cvi_ivr::Action::Join { lobby, .. } => {
                    // `lobby` tells whether the caller came through the lobby; either way the
                    // caller is now in the meeting and the IVR's work is done.
                    tracing::info!(through_lobby = lobby, "IVR: joining the meeting");
                    self.in_lobby = false;
                    self.ctx
                        .shared
                        .registry
                        .update(&self.ctx.call_id, |c| c.state = CallState::Connected);
                    self.ivr = None;
                    break;
                }
                cvi_ivr::Action::HangUp { reason } => {
                    tracing::info!(reason = ?reason, "IVR hangs up");
                    hang_up = true;
                    self.ivr = None;
                    break;
                }
            }
        }
        hang_up
    }

    /// The decision for a conference ID typed into the IVR.
    async fn ivr_decide(&mut self, conference_id: &str) -> cvi_ivr::DecisionResult {
        let Some(key) = self.ivr_key.clone() else {
            return cvi_ivr::DecisionResult::Unavailable;
        };
        let Some((local, domain)) = key.split_once('@') else {
            return cvi_ivr::DecisionResult::Unavailable;
        };
        let uri = format!("sip:{local}.{conference_id}@{domain}");
        let shared = self.ctx.shared.clone();
        let caller = Caller {
            from: self
                .ctx
                .invite
                .headers
                .get("From")
                .unwrap_or_default()
                .to_string(),
            source_address: Some(self.ctx.peer.addr.ip()),
            tls_peer_domain: self.ctx.tls_domain.clone(),
        };
        let snap = match shared
            .store
            .snapshot_for(&uri, &shared.served_domains, None)
            .await
        {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "provisioning store unavailable");
                return cvi_ivr::DecisionResult::Unavailable;
            }
        };
        let decision = decide(&snap, &uri, &caller, chrono::Utc::now());
        if let Outcome::Join {
            meeting_id, lobby, ..
        } = &decision.outcome
        {
            let (m, lobby) = (*meeting_id, *lobby);
            // The IVR keeps a lobby caller until admission; the API sees the lobby now.
            self.in_lobby = lobby;
            shared.registry.update(&self.ctx.call_id, |c| {
                c.meeting_id = Some(m);
                if lobby {
                    c.state = CallState::Lobby;
                }
            });
        }
        cvi_ivr::DecisionResult::from(&decision)
    }

    async fn respond(
        &self,
        key: &ServerKey,
        req: &Request,
        status: u16,
        extra: &[(&str, String)],
        body: Option<(&str, Vec<u8>)>,
    ) {
        let mut r = make_response(req, status, Some(&self.tag));
        for (n, v) in extra {
            r.headers.push(*n, v.clone());
        }
        if let Some((ct, b)) = body {
            r.headers.push("Content-Type", ct);
            r.body = b;
        }
        self.send(Cmd::Respond {
            key: key.clone(),
            resp: r,
        })
        .await;
    }

    async fn send_bye(&mut self, why: &str) {
        tracing::info!(reason = why, "sending BYE");
        if let Some(st) = self
            .ctx
            .shared
            .registry
            .get(&self.ctx.call_id)
            .map(|_| CallState::Ending)
        {
            self.ctx
                .shared
                .registry
                .update(&self.ctx.call_id, |c| c.state = st);
        }
        let (sent_by, transport) = (self.sent_by(), self.ctx.peer.transport.as_str());
        let Some(d) = self.dialog.as_mut() else {
            return;
        };
        let mut bye = d.request(Method::Bye, &sent_by, transport);
        bye.headers
            .push("Reason", format!("SIP;cause=200;text=\"{why}\""));
        // Symmetric signalling: to where the INVITE came from (NAT-friendly).
        self.send(Cmd::Request {
            req: bye,
            to: self.ctx.peer,
            call_id: self.ctx.call_id.clone(),
        })
        .await;
    }

    /// A re-INVITE or UPDATE: new offer → new answer on the same ports; none → our SDP.
    async fn reoffer(&mut self, key: ServerKey, req: Request) {
        let mut extra: Vec<(&str, String)> = vec![
            ("Contact", self.contact()),
            ("Allow", ALLOW.into()),
            ("Supported", SUPPORTED.into()),
        ];
        if let Some(se) = req
            .headers
            .get("Session-Expires")
            .and_then(|v| SessionExpires::parse(v).ok())
        {
            extra.push((
                "Session-Expires",
                format!("{};refresher=uac", se.delta.max(self.ctx.shared.min_se)),
            ));
            self.session_interval = Some(Duration::from_secs(u64::from(
                se.delta.max(self.ctx.shared.min_se),
            )));
        }
        if req.body.is_empty() {
            if req.method == Method::Invite {
                // Offerless re-INVITE: we offer our current session in the 200.
                let body = self
                    .local_sdp
                    .as_ref()
                    .map(|s| s.to_string().into_bytes())
                    .unwrap_or_default();
                self.awaiting_answer = true;
                self.respond(&key, &req, 200, &extra, Some(("application/sdp", body)))
                    .await;
            } else {
                self.respond(&key, &req, 200, &extra, None).await;
            }
            return;
        }
        let Some(media) = &self.media else { return };
        let local = LocalAddrs {
            ip: self.ctx.shared.rtp_ip,
            audio_port: media.audio.port,
            video_port: media.video.port,
        };
        match negotiate(&req.body, &self.ctx.shared, &local) {
            Ok((mut answer, streams)) => {
                if let Some(prev) = &self.local_sdp {
                    keep_origin(&mut answer, prev);
                }
                tracing::info!(streams = streams.len(), "session modified");
                let infos = stream_infos(&streams);
                self.ctx
                    .shared
                    .registry
                    .update(&self.ctx.call_id, |c| c.streams = infos);
                let body = answer.to_string().into_bytes();
                self.local_sdp = Some(answer);
                self.respond(&key, &req, 200, &extra, Some(("application/sdp", body)))
                    .await;
            }
            Err((status, why)) => {
                // The old session stays as it was (RFC 3264 §8).
                tracing::info!(status, reason = %why, "session modification refused");
                self.respond(
                    &key,
                    &req,
                    status,
                    &[("Warning", format!("399 cvi \"{}\"", header_text(&why)))],
                    None,
                )
                .await;
            }
        }
    }

    fn take_answer(&mut self, body: &[u8]) -> Result<(), String> {
        let ours = self.local_sdp.as_ref().ok_or("no offer")?;
        let theirs = SessionDescription::parse_bytes(body).map_err(|e| e.to_string())?;
        let streams = sdp::accept_answer(ours, &theirs).map_err(|e| e.to_string())?;
        let infos = stream_infos(&streams);
        self.ctx
            .shared
            .registry
            .update(&self.ctx.call_id, |c| c.streams = infos);
        Ok(())
    }

    async fn info(&mut self, key: ServerKey, req: Request) {
        let ct = req
            .headers
            .get("Content-Type")
            .unwrap_or_default()
            .to_ascii_lowercase();
        let body = String::from_utf8_lossy(&req.body).to_string();
        if req.body.is_empty() {
            self.respond(&key, &req, 200, &[], None).await;
        } else if ct.starts_with("application/dtmf-relay") || ct.starts_with("application/dtmf") {
            match cvi_media::dtmf::info::parse(&body) {
                Some(d) => {
                    tracing::debug!("DTMF by SIP INFO");
                    if let Some(ivr) = self.ivr.as_mut() {
                        ivr.on_info_digit(d, std::time::Instant::now());
                    }
                    self.respond(&key, &req, 200, &[], None).await;
                }
                None => {
                    self.respond(
                        &key,
                        &req,
                        400,
                        &[("Warning", "399 cvi \"unreadable DTMF\"".into())],
                        None,
                    )
                    .await
                }
            }
        } else if ct.starts_with("application/media_control+xml") {
            if body.contains("picture_fast_update") {
                tracing::debug!("picture_fast_update requested by the caller");
            }
            self.respond(&key, &req, 200, &[], None).await;
        } else {
            self.respond(&key, &req, 415, &[("Accept", ACCEPT.into())], None)
                .await;
        }
    }
}

/// A VTC that dials the gateway's own address (`key.conf@203.0.113.5`) means the one SIP
/// domain the gateway serves: the host is replaced when exactly one domain is configured.
fn dial_uri(uri: &str, shared: &SipShared) -> String {
    let Ok(parsed) = cvi_provisioning::dial::parse_sip_uri(uri) else {
        return uri.to_string();
    };
    let ours = parsed.host == shared.host
        || parsed
            .host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip == shared.rtp_ip || ip.is_loopback());
    match (ours, shared.served_domains.as_slice(), parsed.user) {
        (true, [only], Some(user)) => format!("sip:{user}@{only}"),
        _ => uri.to_string(),
    }
}

/// Text for a quoted header value: printable ASCII without quotes or backslashes, at most
/// 120 characters. Rejection texts may carry parser messages about bytes the caller sent.
fn header_text(s: &str) -> String {
    s.chars()
        .map(|c| {
            if (c.is_ascii_graphic() && c != '"' && c != '\\') || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .take(120)
        .collect()
}

/// RFC 3264 §8: a later SDP of the session keeps the o= line of the previous one, with the
/// version incremented by one when the description changed.
fn keep_origin(next: &mut SessionDescription, prev: &SessionDescription) {
    next.origin = prev.origin.clone();
    if next != prev {
        let v = prev
            .origin
            .session_version
            .parse::<u64>()
            .map_or(1, |v| v.saturating_add(1));
        next.origin.session_version = v.to_string();
    }
}

type Negotiated = (SessionDescription, Vec<NegotiatedStream>);

fn negotiate(
    body: &[u8],
    shared: &SipShared,
    local: &LocalAddrs,
) -> Result<Negotiated, (u16, String)> {
    let offer = SessionDescription::parse_bytes(body).map_err(|e| (400, format!("SDP: {e}")))?;
    match sdp::answer(&offer, &shared.caps, local, &mut rand::thread_rng()) {
        Ok(a) => Ok((a.sdp, a.streams)),
        Err(NegotiationError::NoCommonCodec) => Err((488, "noCommonCodec".into())),
        Err(e) => Err((488, format!("SDP: {e}"))),
    }
}

fn stream_infos(streams: &[NegotiatedStream]) -> Vec<StreamInfo> {
    streams
        .iter()
        .map(|s| StreamInfo {
            kind: format!("{:?}", s.kind).to_lowercase(),
            codec: format!("{}/{}", s.codec.name, s.codec.clock_rate),
            local_port: s.local_port,
            remote: s.remote_rtp.map(|a| a.to_string()),
            direction: format!("{:?}", s.direction).to_lowercase(),
            srtp: s.srtp.is_some(),
        })
        .collect()
}

#[cfg(test)]
mod tests {

    #[test]
    fn header_text_cannot_break_out_of_a_quoted_header() {
        assert_eq!(
            super::header_text("SDP: bad \"x\"\r\nVia: evil"),
            "SDP: bad ?x???Via: evil"
        );
        assert_eq!(super::header_text(&"a".repeat(500)).len(), 120);
    }
}
