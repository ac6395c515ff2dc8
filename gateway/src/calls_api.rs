//! `GET /api/v1/calls`, `GET|DELETE /api/v1/calls/{id}`, `POST /api/v1/drain` and
//! `/metrics` — the live side of the gateway, next to the provisioning API.

use crate::sip::SipHandle;
use crate::sip::registry::Registry;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use cvi_provisioning_server::api::{ApiError, AppState, Auth};
use std::sync::Arc;

#[derive(Clone)]
pub(crate) struct Live {
    pub registry: Arc<Registry>,
    pub sip: Option<Arc<SipHandle>>,
    pub meet: cvi_meet::MeetHub,
}

pub(crate) fn routes(live: Live) -> Router<AppState> {
    Router::new()
        .route("/api/v1/calls", get(list))
        .route("/api/v1/calls/{id}", get(one).delete(hangup))
        .route("/api/v1/calls/{id}/admit", post(admit))
        .route("/api/v1/calls/{id}/reject", post(reject))
        .route("/api/v1/drain", post(drain))
        .route("/api/v1/meetings/{id}/room", get(room))
        .route("/metrics", get(metrics))
        .layer(Extension(live))
}

async fn list(
    State(_): State<AppState>,
    auth: Auth,
    Extension(live): Extension<Live>,
) -> Result<impl IntoResponse, ApiError> {
    let calls = live.registry.list();
    Ok(Json(match auth {
        Auth::Operator => calls,
        Auth::TenantAdmin { tenant, .. } => calls
            .into_iter()
            .filter(|c| c.tenant_id == Some(tenant))
            .collect(),
    }))
}

fn visible(auth: &Auth, c: &crate::sip::registry::CallInfo) -> bool {
    match auth {
        Auth::Operator => true,
        Auth::TenantAdmin { tenant, .. } => c.tenant_id == Some(*tenant),
    }
}

async fn one(
    auth: Auth,
    Extension(live): Extension<Live>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    match live.registry.get(&id) {
        Some(c) if visible(&auth, &c) => Ok(Json(c)),
        _ => Err(ApiError::not_found("call")),
    }
}

async fn hangup(
    auth: Auth,
    Extension(live): Extension<Live>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    match live.registry.get(&id) {
        Some(c) if visible(&auth, &c) && live.registry.hangup(&id) => Ok(StatusCode::ACCEPTED),
        _ => Err(ApiError::not_found("call")),
    }
}

/// The embedded meeting of a meeting: the organizer's and the guests' page links and, while
/// anyone is in it, who is there (participants, lobby, recording, encoders).
async fn room(
    State(state): State<AppState>,
    auth: Auth,
    Extension(live): Extension<Live>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let m = state
        .store
        .live_meeting(&id, chrono::Utc::now())
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
        .ok_or_else(|| ApiError::not_found("meeting"))?;
    if let Auth::TenantAdmin { tenant, .. } = auth
        && tenant != m.tenant_id
    {
        return Err(ApiError::not_found("meeting"));
    }
    let id = m.id.to_string();
    Ok(Json(serde_json::json!({
        "meetingId": id,
        "page": format!("/meet/{id}"),
        "hostPage": format!("/meet/{id}?host={}", live.meet.host_key(&id)),
        "live": live.meet.status(&id).await,
    })))
}

/// Lets a caller waiting in the lobby into the meeting: the API's way of doing what the
/// organizer's page does.
async fn admit(
    auth: Auth,
    Extension(live): Extension<Live>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    verdict(auth, live, id, true)
}

/// Turns a caller in the lobby away (the gateway hangs up).
async fn reject(
    auth: Auth,
    Extension(live): Extension<Live>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    verdict(auth, live, id, false)
}

fn verdict(auth: Auth, live: Live, id: String, admit: bool) -> Result<StatusCode, ApiError> {
    match live.registry.get(&id) {
        Some(c) if visible(&auth, &c) => {
            if c.state != crate::sip::registry::CallState::Lobby {
                return Err(ApiError::field(
                    StatusCode::CONFLICT,
                    "state",
                    format!("the call is not in the lobby (state {:?})", c.state),
                ));
            }
            if live.registry.send(&id, crate::sip::CallInput::Admit(admit)) {
                Ok(StatusCode::ACCEPTED)
            } else {
                Err(ApiError::not_found("call"))
            }
        }
        _ => Err(ApiError::not_found("call")),
    }
}

/// Stop taking calls: OPTIONS answers 503 (load balancers move traffic away), new INVITEs
/// get 503 with Retry-After, calls in progress go on.
async fn drain(
    auth: Auth,
    Extension(live): Extension<Live>,
) -> Result<impl IntoResponse, ApiError> {
    auth.require_operator()?;
    if let Some(s) = &live.sip {
        s.drain();
    }
    Ok(StatusCode::ACCEPTED)
}

async fn metrics(Extension(live): Extension<Live>) -> impl IntoResponse {
    let mut text = live.registry.render_metrics();
    text.push_str(&format!(
        "# HELP cvi_meeting_rooms Embedded meetings with someone in them.\n\
         # TYPE cvi_meeting_rooms gauge\ncvi_meeting_rooms {}\n",
        live.meet.active_rooms()
    ));
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text)
}
