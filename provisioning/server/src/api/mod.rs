//! The REST API under `/api/v1` (see `docs/api.md`; OpenAPI at `/api/v1/openapi.json`).

mod error;
mod explain;
mod extract;
mod meetings;
mod openapi;
mod policies;
mod providers;
mod tenants;

pub use error::{ApiError, Problem};
pub use extract::Auth;

use crate::store::{Store, hash_token};
use axum::Router;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use std::sync::Arc;
use uuid::Uuid;

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    /// SIP domains served (lowercase); empty means the domains of all tenant keys.
    pub served_domains: Arc<Vec<String>>,
    admin_token_hash: Option<String>,
}

impl AppState {
    pub fn new(store: Store, served_domains: Vec<String>, admin_token: Option<&str>) -> Self {
        Self {
            store,
            served_domains: Arc::new(
                served_domains
                    .into_iter()
                    .map(|d| d.to_ascii_lowercase())
                    .collect(),
            ),
            admin_token_hash: admin_token.filter(|t| !t.is_empty()).map(hash_token),
        }
    }
}

/// The whole HTTP surface: `/healthz`, `/readyz` and `/api/v1/…`.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .merge(tenants::routes())
        .merge(providers::routes())
        .merge(policies::routes())
        .merge(meetings::routes())
        .merge(explain::routes())
        .route("/openapi.json", get(openapi::serve));
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .nest("/api/v1", api)
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "no such route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method not allowed on this route",
            )
        })
        .with_state(state)
}

async fn readyz(
    axum::extract::State(s): axum::extract::State<AppState>,
) -> axum::response::Response {
    match s.store.ping().await {
        Ok(()) => "ready".into_response(),
        Err(_) => {
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response()
        }
    }
}

/// Resolves `{tenant}` (GUID or name) for this caller. Another tenant's resources are 404
/// for a tenant admin, exactly like ones that do not exist.
pub(crate) async fn scope(state: &AppState, auth: &Auth, tenant: &str) -> Result<Uuid, ApiError> {
    let t = state
        .store
        .tenant(tenant)
        .await
        .map_err(|_| ApiError::not_found("tenant"))?;
    match auth {
        Auth::TenantAdmin { tenant, .. } if *tenant != t.id => Err(ApiError::not_found("tenant")),
        _ => Ok(t.id),
    }
}
