//! `POST /explain`: what the gateway would decide for a dial string, check by check.

use super::extract::Body;
use super::{ApiError, AppState, Auth};
use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::post;
use chrono::{DateTime, Utc};
use cvi_provisioning::decide::{Caller, decide};
use serde::Deserialize;
use std::net::IpAddr;
use utoipa::ToSchema;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/explain", post(explain))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct ExplainRequest {
    request_uri: String,
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    source_address: Option<IpAddr>,
    #[serde(default)]
    tls_peer_domain: Option<String>,
    /// Decide as of this time (default: now).
    #[serde(default)]
    at: Option<DateTime<Utc>>,
}

async fn explain(
    State(s): State<AppState>,
    auth: Auth,
    Body(b): Body<ExplainRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let only = match &auth {
        Auth::Operator => None,
        Auth::TenantAdmin { tenant, .. } => Some(*tenant),
    };
    let snap = s
        .store
        .snapshot_for(&b.request_uri, &s.served_domains, only)
        .await?;
    let caller = Caller {
        from: b.from.unwrap_or_default(),
        source_address: b.source_address,
        tls_peer_domain: b.tls_peer_domain,
    };
    Ok(Json(decide(
        &snap,
        &b.request_uri,
        &caller,
        b.at.unwrap_or_else(Utc::now),
    )))
}
