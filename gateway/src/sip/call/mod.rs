//! One task per call: it asks the provisioning decision once, answers the INVITE (SDP
//! offer/answer with real RTP sockets), and then owns the dialog — BYE both ways, re-INVITE
//! and UPDATE (hold/resume, codec change), INFO (DTMF relay, picture_fast_update), session
//! timers (RFC 4028, refresher = UAC), and hang-up from the API. Every log line of the call
//! carries its Call-ID (the task's span).

use super::SipShared;
use super::endpoint::{ACCEPT, ALLOW, Cmd, SUPPORTED, local_tag};
use super::ivr_driver::IvrDriver;
use super::media::{CallMedia, MediaCmd, MediaEvent, MediaSetup};
use super::registry::{CallState, DialMethod, StreamInfo};
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

mod answer;
mod ivr;
mod media;
mod meeting;
mod session;
mod support;

use support::*;

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
    ivr_language: String,
    audio_rx: Option<mpsc::Receiver<Vec<u8>>>,
    media_events: Option<mpsc::UnboundedReceiver<MediaEvent>>,
    /// Waiting in the lobby (direct dial or after the IVR).
    in_lobby: bool,
    /// Admitted: in the meeting (or about to be).
    in_meeting: bool,
    /// The meeting room: joined once the meeting is known.
    meeting: Option<cvi_meet::VtcLink>,
    meeting_events: Option<mpsc::UnboundedReceiver<cvi_meet::VtcEvent>>,
    meeting_tried: bool,
    meeting_entered: bool,
    audio_codec: Option<cvi_media_gst::AudioCodec>,
    /// Keypad digits from the caller's audio while in the meeting.
    keypad: Option<super::ivr_driver::DigitTap>,
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
            ivr_language: String::new(),
            audio_rx: None,
            media_events: None,
            in_lobby: false,
            in_meeting: false,
            meeting: None,
            meeting_events: None,
            meeting_tried: false,
            meeting_entered: false,
            audio_codec: None,
            keypad: None,
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
}
