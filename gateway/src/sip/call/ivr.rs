//! The IVR of a call to `key@domain`: its actions carried out, typed IDs decided.

use super::*;

impl Call {
    /// Carries out what the IVR asks for. True when it wants the call hung up.
    pub(super) async fn drive_ivr(&mut self) -> bool {
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
                    tracing::debug!(prompt = ?prompt, language = %language.as_str(), "IVR prompt");
                    match &self.media {
                        Some(m) => m.send(MediaCmd::Play {
                            id: Some(id),
                            lang: language.as_str().to_string(),
                            name: prompt.name().to_string(),
                            looped: false,
                        }),
                        None => {
                            if let Some(d) = self.ivr.as_mut() {
                                d.ivr.handle_prompt_finished(id, now);
                            }
                        }
                    }
                }
                cvi_ivr::Action::ShowSlate { slate } => {
                    tracing::debug!(slate = ?slate.kind, "IVR slate");
                    if let Some(m) = &self.media {
                        m.send(MediaCmd::Slate(slate.lines));
                    }
                }
                cvi_ivr::Action::StopPrompt => {
                    if let Some(m) = &self.media {
                        m.send(MediaCmd::StopAudio);
                    }
                }
                cvi_ivr::Action::PlayLobbyMusic => {
                    if let Some(m) = &self.media {
                        m.send(MediaCmd::Play {
                            id: None,
                            lang: String::new(),
                            name: "lobby".into(),
                            looped: true,
                        });
                    }
                }
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
                    self.show_connected();
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
    pub(super) async fn ivr_decide(&mut self, conference_id: &str) -> cvi_ivr::DecisionResult {
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
}
