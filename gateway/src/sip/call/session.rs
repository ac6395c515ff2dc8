//! The established call: ACK, BYE, re-INVITE/UPDATE, INFO, session timers, hang-up.

use super::*;

impl Call {
    pub(super) async fn established(&mut self, rx: &mut mpsc::Receiver<CallInput>) {
        let mut refresh_deadline = self
            .session_interval
            .map(|d| tokio::time::Instant::now() + d);
        let mut bye_sent = false;
        let mut audio_rx = self.audio_rx.take();
        let mut media_events = self.media_events.take();
        let mut meeting_events = None;
        // A direct-dial caller waits in the lobby as long as an IVR caller would.
        let lobby_deadline = (self.in_lobby && self.ivr.is_none())
            .then(|| tokio::time::Instant::now() + cvi_ivr::Config::default().lobby_timeout);
        let media_timeout = self.ctx.shared.media_timeout;
        // Check a few times per timeout period (at most every 5 s).
        let check_every = media_timeout
            .map(|t| (t / 4).clamp(Duration::from_millis(200), Duration::from_secs(5)));
        let mut next_media_check = check_every.map(|e| tokio::time::Instant::now() + e);
        if self.drive_ivr().await {
            self.send_bye("IVR finished").await;
            bye_sent = true;
            refresh_deadline = Some(tokio::time::Instant::now() + Duration::from_secs(32));
        }
        loop {
            // Audio RTP is only needed while the IVR listens for digits: closing the channel
            // stops the socket task from copying every packet for nobody.
            if self.ivr.is_none() && self.meeting.is_none() && self.meeting_tried {
                audio_rx = None;
            }
            self.sync_meeting().await;
            if meeting_events.is_none() {
                meeting_events = self.meeting_events.take();
            }
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
            let media_check = async {
                match next_media_check {
                    Some(t) if !bye_sent => tokio::time::sleep_until(t).await,
                    _ => std::future::pending::<()>().await,
                }
            };
            let audio = async {
                match audio_rx.as_mut() {
                    Some(r) => r.recv().await,
                    None => std::future::pending().await,
                }
            };
            let media_event = async {
                match media_events.as_mut() {
                    Some(r) => r.recv().await,
                    None => std::future::pending().await,
                }
            };
            let lobby_timer = async {
                match lobby_deadline {
                    Some(t) if self.in_lobby && self.ivr.is_none() && !bye_sent => {
                        tokio::time::sleep_until(t).await
                    }
                    _ => std::future::pending::<()>().await,
                }
            };
            let meeting_event = async {
                match meeting_events.as_mut() {
                    Some(r) => r.recv().await,
                    None => std::future::pending().await,
                }
            };
            let input = tokio::select! {
                i = rx.recv() => i,
                e = meeting_event => {
                    match e {
                        Some(e) => self.on_meeting_event(e).await,
                        None => {
                            meeting_events = None;
                            self.meeting = None;
                        }
                    }
                    continue;
                }
                () = lobby_timer => {
                    tracing::info!("nobody admitted the caller: lobby timeout");
                    self.in_lobby = false;
                    self.send_bye("lobby timeout").await;
                    bye_sent = true;
                    refresh_deadline = Some(tokio::time::Instant::now() + Duration::from_secs(32));
                    continue;
                }
                e = media_event => {
                    match e {
                        Some(MediaEvent::PromptFinished(id)) => {
                            if let Some(d) = self.ivr.as_mut() {
                                d.ivr.handle_prompt_finished(id, std::time::Instant::now());
                            }
                        }
                        Some(MediaEvent::FastUpdate) => {
                            if !bye_sent {
                                self.send_fast_update().await;
                            }
                        }
                        None => media_events = None,
                    }
                    if self.drive_ivr().await && !bye_sent {
                        self.send_bye("IVR finished").await;
                        bye_sent = true;
                        refresh_deadline = Some(tokio::time::Instant::now() + Duration::from_secs(32));
                    }
                    continue;
                }
                () = media_check => {
                    let idle = self.media.as_ref().map(|m| m.idle_for()).unwrap_or_default();
                    if let Some(limit) = media_timeout && idle >= limit {
                        tracing::info!(idle_s = idle.as_secs(), "no RTP or RTCP from the caller: hanging up");
                        self.send_bye("media timeout").await;
                        bye_sent = true;
                        refresh_deadline = Some(tokio::time::Instant::now() + Duration::from_secs(32));
                    }
                    next_media_check = check_every.map(|e| tokio::time::Instant::now() + e);
                    continue;
                }
                p = audio => {
                    match (p, self.ivr.as_mut()) {
                        (Some(p), Some(d)) => d.on_rtp(&p, std::time::Instant::now()),
                        (Some(p), None) => self.meeting_rtp(&p),
                        (None, _) => audio_rx = None,
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
                            self.show_connected();
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

    /// A re-INVITE or UPDATE: new offer → new answer on the same ports; none → our SDP.
    pub(super) async fn reoffer(&mut self, key: ServerKey, req: Request) {
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
            audio_port: media.audio_port,
            video_port: media.video_port,
        };
        match negotiate(&req.body, &self.ctx.shared, &local) {
            Ok((mut answer, streams)) => {
                if let Some(prev) = &self.local_sdp {
                    keep_origin(&mut answer, prev);
                }
                tracing::info!(streams = streams.len(), "session modified");
                media.send(MediaCmd::Streams(streams.clone()));
                self.note_streams(&streams);
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

    pub(super) fn take_answer(&mut self, body: &[u8]) -> Result<(), String> {
        let ours = self.local_sdp.as_ref().ok_or("no offer")?;
        let theirs = SessionDescription::parse_bytes(body).map_err(|e| e.to_string())?;
        let streams = sdp::accept_answer(ours, &theirs).map_err(|e| e.to_string())?;
        if let Some(m) = &self.media {
            m.send(MediaCmd::Streams(streams.clone()));
        }
        self.note_streams(&streams);
        let infos = stream_infos(&streams);
        self.ctx
            .shared
            .registry
            .update(&self.ctx.call_id, |c| c.streams = infos);
        Ok(())
    }

    pub(super) async fn info(&mut self, key: ServerKey, req: Request) {
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
                    } else {
                        self.meeting_digit(d);
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
                if let Some(m) = &self.media {
                    m.send(MediaCmd::KeyframeRequest);
                }
            }
            self.respond(&key, &req, 200, &[], None).await;
        } else {
            self.respond(&key, &req, 415, &[("Accept", ACCEPT.into())], None)
                .await;
        }
    }
}
