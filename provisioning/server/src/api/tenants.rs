//! Tenants, groups, users, tokens, audit.

use super::extract::{Body, Q};
use super::{ApiError, AppState, Auth, scope};
use crate::store::{NewUser, UserPatch};
use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde::Deserialize;
use utoipa::ToSchema;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/tenants", post(new_tenant).get(list_tenants))
        .route("/tenants/{tenant}", get(get_tenant))
        .route("/tenants/{tenant}/tokens", post(new_token).get(list_tokens))
        .route(
            "/tenants/{tenant}/tokens/{id}",
            axum::routing::delete(revoke_token),
        )
        .route("/tenants/{tenant}/groups", post(new_group).get(list_groups))
        .route("/tenants/{tenant}/users", post(new_user).get(list_users))
        .route(
            "/tenants/{tenant}/users/{upn}",
            get(get_user).patch(set_user),
        )
        .route(
            "/tenants/{tenant}/users/{upn}/effectivePolicies",
            get(effective),
        )
        .route("/audit", get(audit))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct NewTenant {
    name: String,
    #[serde(default)]
    verified_domains: Vec<String>,
}

async fn new_tenant(
    State(s): State<AppState>,
    auth: Auth,
    Body(b): Body<NewTenant>,
) -> Result<impl axum::response::IntoResponse, ApiError> {
    auth.require_operator()?;
    let t = s
        .store
        .create_tenant(&auth.actor(), &b.name, &b.verified_domains)
        .await?;
    Ok((StatusCode::CREATED, Json(t)))
}

async fn list_tenants(
    State(s): State<AppState>,
    auth: Auth,
) -> Result<impl axum::response::IntoResponse, ApiError> {
    let all = s.store.list_tenants().await?;
    Ok(Json(match auth {
        Auth::Operator => all,
        Auth::TenantAdmin { tenant, .. } => all.into_iter().filter(|t| t.id == tenant).collect(),
    }))
}

async fn get_tenant(
    State(s): State<AppState>,
    auth: Auth,
    Path(t): Path<String>,
) -> Result<impl axum::response::IntoResponse, ApiError> {
    let id = scope(&s, &auth, &t).await?;
    Ok(Json(s.store.tenant(&id.to_string()).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct NewToken {
    name: String,
}

async fn new_token(
    State(s): State<AppState>,
    auth: Auth,
    Path(t): Path<String>,
    Body(b): Body<NewToken>,
) -> Result<impl axum::response::IntoResponse, ApiError> {
    auth.require_operator()?;
    let id = scope(&s, &auth, &t).await?;
    Ok((
        StatusCode::CREATED,
        Json(s.store.issue_token(&auth.actor(), id, &b.name).await?),
    ))
}

async fn list_tokens(
    State(s): State<AppState>,
    auth: Auth,
    Path(t): Path<String>,
) -> Result<impl axum::response::IntoResponse, ApiError> {
    auth.require_operator()?;
    let id = scope(&s, &auth, &t).await?;
    Ok(Json(s.store.tokens(id).await?))
}

async fn revoke_token(
    State(s): State<AppState>,
    auth: Auth,
    Path((t, token)): Path<(String, String)>,
) -> Result<impl axum::response::IntoResponse, ApiError> {
    auth.require_operator()?;
    let id = scope(&s, &auth, &t).await?;
    s.store.revoke_token(&auth.actor(), id, &token).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct NewGroup {
    name: String,
    #[serde(default)]
    display_name: String,
}

async fn new_group(
    State(s): State<AppState>,
    auth: Auth,
    Path(t): Path<String>,
    Body(b): Body<NewGroup>,
) -> Result<impl axum::response::IntoResponse, ApiError> {
    let id = scope(&s, &auth, &t).await?;
    Ok((
        StatusCode::CREATED,
        Json(
            s.store
                .create_group(&auth.actor(), id, &b.name, &b.display_name)
                .await?,
        ),
    ))
}

async fn list_groups(
    State(s): State<AppState>,
    auth: Auth,
    Path(t): Path<String>,
) -> Result<impl axum::response::IntoResponse, ApiError> {
    let id = scope(&s, &auth, &t).await?;
    Ok(Json(s.store.list_groups(id).await?))
}

async fn new_user(
    State(s): State<AppState>,
    auth: Auth,
    Path(t): Path<String>,
    Body(b): Body<NewUser>,
) -> Result<impl axum::response::IntoResponse, ApiError> {
    let id = scope(&s, &auth, &t).await?;
    Ok((
        StatusCode::CREATED,
        Json(s.store.create_user(&auth.actor(), id, b).await?),
    ))
}

async fn list_users(
    State(s): State<AppState>,
    auth: Auth,
    Path(t): Path<String>,
) -> Result<impl axum::response::IntoResponse, ApiError> {
    let id = scope(&s, &auth, &t).await?;
    Ok(Json(s.store.list_users(id).await?))
}

async fn get_user(
    State(s): State<AppState>,
    auth: Auth,
    Path((t, upn)): Path<(String, String)>,
) -> Result<impl axum::response::IntoResponse, ApiError> {
    let id = scope(&s, &auth, &t).await?;
    Ok(Json(s.store.user(id, &upn).await?))
}

async fn set_user(
    State(s): State<AppState>,
    auth: Auth,
    Path((t, upn)): Path<(String, String)>,
    Body(b): Body<UserPatch>,
) -> Result<impl axum::response::IntoResponse, ApiError> {
    let id = scope(&s, &auth, &t).await?;
    Ok(Json(s.store.update_user(&auth.actor(), id, &upn, b).await?))
}

async fn effective(
    State(s): State<AppState>,
    auth: Auth,
    Path((t, upn)): Path<(String, String)>,
) -> Result<impl axum::response::IntoResponse, ApiError> {
    let id = scope(&s, &auth, &t).await?;
    Ok(Json(s.store.effective_policies(id, &upn).await?))
}

#[derive(Deserialize)]
pub(super) struct AuditQuery {
    tenant: Option<String>,
    limit: Option<i64>,
}

async fn audit(
    State(s): State<AppState>,
    auth: Auth,
    Q(q): Q<AuditQuery>,
) -> Result<impl axum::response::IntoResponse, ApiError> {
    let tenant = match (&auth, q.tenant) {
        (Auth::Operator, None) => None,
        (_, Some(t)) => Some(scope(&s, &auth, &t).await?),
        (Auth::TenantAdmin { tenant, .. }, None) => Some(*tenant),
    };
    Ok(Json(s.store.audit(tenant, q.limit.unwrap_or(100)).await?))
}
