//! VideoInteropServiceProvider routes.

use super::extract::{Body, Q};
use super::{ApiError, AppState, Auth, scope};
use crate::store::ProviderPatch;
use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use cvi_provisioning::model::Provider;
use serde::Deserialize;
use utoipa::ToSchema;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/tenants/{tenant}/providers", post(new_provider).get(list))
        .route(
            "/tenants/{tenant}/providers/{identity}",
            get(one).patch(set).delete(remove),
        )
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct NewProvider {
    identity: String,
    tenant_key: String,
    #[serde(default)]
    aad_application_ids: Vec<String>,
    #[serde(default)]
    instruction_uri: Option<String>,
    #[serde(default)]
    allow_app_guest_joins_as_authenticated: bool,
    #[serde(default)]
    language: Option<String>,
}

async fn new_provider(
    State(s): State<AppState>,
    auth: Auth,
    Path(t): Path<String>,
    Body(b): Body<NewProvider>,
) -> Result<impl axum::response::IntoResponse, ApiError> {
    let id = scope(&s, &auth, &t).await?;
    let p = Provider {
        tenant_id: id,
        identity: b.identity,
        tenant_key: b.tenant_key,
        aad_application_ids: b.aad_application_ids,
        instruction_uri: b.instruction_uri,
        allow_app_guest_joins_as_authenticated: b.allow_app_guest_joins_as_authenticated,
        language: b.language.unwrap_or_else(|| "en".into()),
    };
    Ok((
        StatusCode::CREATED,
        Json(s.store.create_provider(&auth.actor(), p).await?),
    ))
}

#[derive(Deserialize)]
pub(super) struct Filter {
    filter: Option<String>,
}

async fn list(
    State(s): State<AppState>,
    auth: Auth,
    Path(t): Path<String>,
    Q(f): Q<Filter>,
) -> Result<impl axum::response::IntoResponse, ApiError> {
    let id = scope(&s, &auth, &t).await?;
    Ok(Json(s.store.providers(id, f.filter.as_deref()).await?))
}

async fn one(
    State(s): State<AppState>,
    auth: Auth,
    Path((t, identity)): Path<(String, String)>,
) -> Result<impl axum::response::IntoResponse, ApiError> {
    let id = scope(&s, &auth, &t).await?;
    Ok(Json(s.store.provider(id, &identity).await?))
}

async fn set(
    State(s): State<AppState>,
    auth: Auth,
    Path((t, identity)): Path<(String, String)>,
    Body(b): Body<ProviderPatch>,
) -> Result<impl axum::response::IntoResponse, ApiError> {
    let id = scope(&s, &auth, &t).await?;
    Ok(Json(
        s.store
            .update_provider(&auth.actor(), id, &identity, b)
            .await?,
    ))
}

async fn remove(
    State(s): State<AppState>,
    auth: Auth,
    Path((t, identity)): Path<(String, String)>,
) -> Result<impl axum::response::IntoResponse, ApiError> {
    let id = scope(&s, &auth, &t).await?;
    s.store
        .remove_provider(&auth.actor(), id, &identity)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
