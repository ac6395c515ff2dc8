//! Meetings (Graph onlineMeetings) and consent.

use super::extract::{Body, Q};
use super::{ApiError, AppState, Auth, scope};
use crate::store::NewMeeting;
use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{delete, get, post};
use serde::Deserialize;
use utoipa::ToSchema;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/tenants/{tenant}/onlineMeetings",
            post(new_meeting).get(list),
        )
        .route("/tenants/{tenant}/onlineMeetings/{id}", get(one))
        .route(
            "/tenants/{tenant}/consents",
            post(grant_consent).get(consents),
        )
        .route(
            "/tenants/{tenant}/consents/{app_id}",
            delete(revoke_consent),
        )
}

async fn new_meeting(
    State(s): State<AppState>,
    auth: Auth,
    Path(t): Path<String>,
    Body(b): Body<NewMeeting>,
) -> Result<impl IntoResponse, ApiError> {
    let id = scope(&s, &auth, &t).await?;
    Ok((
        StatusCode::CREATED,
        Json(s.store.create_meeting(&auth.actor(), id, b).await?),
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ListQuery {
    #[serde(rename = "$filter")]
    filter: Option<String>,
    video_teleconference_id: Option<String>,
    #[serde(rename = "$top")]
    top: Option<i64>,
}

/// Parses Graph's `VideoTeleconferenceId eq '123'` (the only filter Graph supports here).
fn vtc_filter(f: &str) -> Result<String, ApiError> {
    let bad = || {
        ApiError::field(
            StatusCode::BAD_REQUEST,
            "$filter",
            "supported: VideoTeleconferenceId eq '<id>'",
        )
    };
    let (name, rest) = f.trim().split_once(char::is_whitespace).ok_or_else(bad)?;
    let (op, value) = rest
        .trim_start()
        .split_once(char::is_whitespace)
        .ok_or_else(bad)?;
    if !name.eq_ignore_ascii_case("VideoTeleconferenceId") || !op.eq_ignore_ascii_case("eq") {
        return Err(bad());
    }
    let v = value.trim();
    let v = v
        .strip_prefix('\'')
        .and_then(|v| v.strip_suffix('\''))
        .ok_or_else(bad)?;
    Ok(v.to_string())
}

async fn list(
    State(s): State<AppState>,
    auth: Auth,
    Path(t): Path<String>,
    Q(q): Q<ListQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let id = scope(&s, &auth, &t).await?;
    let vtc = match (q.filter, q.video_teleconference_id) {
        (Some(f), _) => Some(vtc_filter(&f)?),
        (None, v) => v,
    };
    Ok(Json(match vtc {
        Some(v) => s.store.meetings_by_vtc(id, &v).await?,
        None => s.store.meetings(id, q.top.unwrap_or(100)).await?,
    }))
}

async fn one(
    State(s): State<AppState>,
    auth: Auth,
    Path((t, mid)): Path<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    let id = scope(&s, &auth, &t).await?;
    Ok(Json(s.store.meeting(id, &mid).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct ConsentRequest {
    app_id: String,
    permissions: Option<Vec<String>>,
}

async fn grant_consent(
    State(s): State<AppState>,
    auth: Auth,
    Path(t): Path<String>,
    Body(b): Body<ConsentRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let id = scope(&s, &auth, &t).await?;
    Ok((
        StatusCode::CREATED,
        Json(
            s.store
                .grant_consent(&auth.actor(), id, &b.app_id, b.permissions)
                .await?,
        ),
    ))
}

async fn consents(
    State(s): State<AppState>,
    auth: Auth,
    Path(t): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let id = scope(&s, &auth, &t).await?;
    Ok(Json(s.store.consents(id).await?))
}

async fn revoke_consent(
    State(s): State<AppState>,
    auth: Auth,
    Path((t, app)): Path<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    let id = scope(&s, &auth, &t).await?;
    s.store.revoke_consent(&auth.actor(), id, &app).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::vtc_filter;

    #[test]
    fn graph_filter() {
        assert_eq!(
            vtc_filter("VideoTeleconferenceId eq '0179206841'")
                .ok()
                .as_deref(),
            Some("0179206841")
        );
        assert_eq!(
            vtc_filter("videoteleconferenceid  eq '1'").ok().as_deref(),
            Some("1")
        );
        for bad in [
            "",
            "VideoTeleconferenceId eq 1",
            "Subject eq 'x'",
            "VideoTeleconferenceId ne '1'",
            "VideoTeleconferenceId eq '1",
        ] {
            assert!(vtc_filter(bad).is_err(), "{bad}");
        }
    }
}
