//! Answering the INVITE: pre-checks, the decision, media sockets, SDP, the 200 OK.

use super::*;

impl Call {
    /// Pre-checks, decision, media, 200 OK. None when the call ended before the answer.
    pub(super) async fn answer(&mut self, rx: &mut mpsc::Receiver<CallInput>) -> Option<()> {
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
        if let Outcome::Ivr {
            tenant_key,
            language,
            ..
        } = &decision.outcome
        {
            self.ivr_key = Some(tenant_key.clone());
            self.ivr_language = language.clone();
        }
        self.in_lobby = state == CallState::Lobby;
        // Media: real sockets, then the SDP.
        let (audio_tx, audio_rx) = mpsc::channel(256);
        self.audio_rx = Some(audio_rx);
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        self.media_events = Some(events_rx);
        let setup = MediaSetup {
            ip: shared.rtp_ip,
            shared: shared.media.clone(),
            registry: shared.registry.clone(),
            call_id: self.ctx.call_id.clone(),
            host: shared.host.clone(),
        };
        let media = match CallMedia::bind(setup, audio_tx, events_tx).await {
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
            audio_port: media.audio_port,
            video_port: media.video_port,
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
        if !streams.is_empty() {
            media.send(MediaCmd::Streams(streams.clone()));
        }
        self.note_streams(&streams);
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
            self.ivr = Some(IvrDriver::new(
                &provider,
                &self.ivr_language,
                blocked,
                audio,
                now,
            ));
        } else if self.in_lobby {
            self.show_lobby();
        } else {
            self.show_connected();
        }
        Some(())
    }

    /// Consumes a pending CANCEL (answering 487) or hang-up before the answer.
    pub(super) async fn cancelled(&self, rx: &mut mpsc::Receiver<CallInput>) -> bool {
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
}
