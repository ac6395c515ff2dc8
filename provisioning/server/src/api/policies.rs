//! Policy instances, grants, TeamsInteropPolicy routing and ACS federation.

use super::extract::{Body, Q};
use super::{ApiError, AppState, Auth, scope};
use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post, put};
use cvi_provisioning::federation::{ExternalAccessPolicy, TenantAcsConfiguration};
use cvi_provisioning::interop::{self, CallerOrigin};
use cvi_provisioning::video_policy::{self, Grantee, PolicyType};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/tenants/{tenant}/policies/{policy_type}", get(instances))
        .route(
            "/tenants/{tenant}/policies/{policy_type}/{name}",
            get(instance).put(put_policy),
        )
        .route("/tenants/{tenant}/grants", post(grant).get(list_grants))
        .route("/tenants/{tenant}/interop/route", post(route))
        .route(
            "/tenants/{tenant}/federation/configuration",
            put(set_config).get(get_config),
        )
        .route("/tenants/{tenant}/federation/check", post(check))
}

fn policy_type(s: &str) -> Result<PolicyType, ApiError> {
    PolicyType::parse(s).ok_or_else(|| {
        ApiError::field(
            StatusCode::NOT_FOUND,
            "policyType",
            format!("no policy type '{s}' (videoInterop, teamsInterop, externalAccess)"),
        )
    })
}

async fn all_instances(
    s: &AppState,
    tenant: uuid::Uuid,
    t: PolicyType,
) -> Result<Vec<(String, serde_json::Value)>, ApiError> {
    Ok(match t {
        PolicyType::VideoInterop => {
            video_policy::instances(&s.store.providers(tenant, None).await?)
                .into_iter()
                .map(|p| {
                    (
                        p.identity.clone(),
                        serde_json::to_value(p).unwrap_or_default(),
                    )
                })
                .collect()
        }
        PolicyType::TeamsInterop => interop::preconstructed_policies()
            .into_iter()
            .map(|p| {
                (
                    p.identity.clone(),
                    serde_json::to_value(p).unwrap_or_default(),
                )
            })
            .collect(),
        PolicyType::ExternalAccess => s
            .store
            .external_access_policies(tenant)
            .await?
            .into_iter()
            .map(|p| {
                (
                    p.identity.clone(),
                    serde_json::to_value(p).unwrap_or_default(),
                )
            })
            .collect(),
    })
}

async fn instances(
    State(s): State<AppState>,
    auth: Auth,
    Path((t, pt)): Path<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    let id = scope(&s, &auth, &t).await?;
    let all = all_instances(&s, id, policy_type(&pt)?).await?;
    Ok(Json(all.into_iter().map(|(_, v)| v).collect::<Vec<_>>()))
}

async fn instance(
    State(s): State<AppState>,
    auth: Auth,
    Path((t, pt, name)): Path<(String, String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    let id = scope(&s, &auth, &t).await?;
    let want = video_policy::strip_tag(&name);
    all_instances(&s, id, policy_type(&pt)?)
        .await?
        .into_iter()
        .find(|(n, _)| video_policy::strip_tag(n).eq_ignore_ascii_case(want))
        .map(|(_, v)| Json(v))
        .ok_or_else(|| ApiError::not_found("policy"))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct PutPolicy {
    enable_acs_federation_access: bool,
}

/// Only external access policies are user-made; the other types are preconstructed.
async fn put_policy(
    State(s): State<AppState>,
    auth: Auth,
    Path((t, pt, name)): Path<(String, String, String)>,
    Body(b): Body<PutPolicy>,
) -> Result<impl IntoResponse, ApiError> {
    let id = scope(&s, &auth, &t).await?;
    if policy_type(&pt)? != PolicyType::ExternalAccess {
        return Err(ApiError::field(
            StatusCode::METHOD_NOT_ALLOWED,
            "policyType",
            format!("{pt} policies are preconstructed and read-only"),
        ));
    }
    let p = ExternalAccessPolicy {
        identity: name,
        enable_acs_federation_access: b.enable_acs_federation_access,
    };
    Ok(Json(
        s.store
            .put_external_access_policy(&auth.actor(), id, p)
            .await?,
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct GrantRequest {
    #[serde(default = "default_type")]
    policy_type: PolicyType,
    /// `null` or `"none"` removes the grant.
    policy_name: Option<String>,
    grantee: Grantee,
}

fn default_type() -> PolicyType {
    PolicyType::VideoInterop
}

async fn grant(
    State(s): State<AppState>,
    auth: Auth,
    Path(t): Path<String>,
    Body(b): Body<GrantRequest>,
) -> Result<axum::response::Response, ApiError> {
    let id = scope(&s, &auth, &t).await?;
    match s
        .store
        .grant(
            &auth.actor(),
            id,
            b.policy_type,
            b.policy_name.as_deref(),
            b.grantee,
        )
        .await?
    {
        Some(g) => Ok(Json(g).into_response()),
        None => Ok(StatusCode::NO_CONTENT.into_response()),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct GrantQuery {
    policy_type: Option<String>,
}

async fn list_grants(
    State(s): State<AppState>,
    auth: Auth,
    Path(t): Path<String>,
    Q(q): Q<GrantQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let id = scope(&s, &auth, &t).await?;
    let pt = q.policy_type.as_deref().map(policy_type).transpose()?;
    Ok(Json(s.store.grants(id, pt).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct RouteRequest {
    user: String,
    from: CallerOrigin,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct RouteAnswer {
    user: String,
    policy: interop::TeamsInteropPolicy,
    homing: cvi_provisioning::model::Homing,
    call: interop::Routing,
    chat: interop::Routing,
}

async fn route(
    State(s): State<AppState>,
    auth: Auth,
    Path(t): Path<String>,
    Body(b): Body<RouteRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let id = scope(&s, &auth, &t).await?;
    let user = s.store.user(id, &b.user).await?;
    let eff = s.store.effective_policies(id, &b.user).await?.teams_interop;
    let policy = interop::find_policy(&eff.policy_name)
        .ok_or_else(|| ApiError::not_found("TeamsInteropPolicy"))?;
    Ok(Json(RouteAnswer {
        call: interop::route_call(&policy, user.homing, b.from),
        chat: interop::route_chat(&policy, user.homing, b.from),
        user: user.user_principal_name,
        homing: user.homing,
        policy,
    }))
}

async fn get_config(
    State(s): State<AppState>,
    auth: Auth,
    Path(t): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let id = scope(&s, &auth, &t).await?;
    Ok(Json(s.store.federation_config(id).await?))
}

async fn set_config(
    State(s): State<AppState>,
    auth: Auth,
    Path(t): Path<String>,
    Body(b): Body<TenantAcsConfiguration>,
) -> Result<impl IntoResponse, ApiError> {
    let id = scope(&s, &auth, &t).await?;
    Ok(Json(
        s.store.set_federation_config(&auth.actor(), id, b).await?,
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct CheckRequest {
    user: String,
    resource: String,
}

async fn check(
    State(s): State<AppState>,
    auth: Auth,
    Path(t): Path<String>,
    Body(b): Body<CheckRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let id = scope(&s, &auth, &t).await?;
    Ok(Json(
        s.store.federation_check(id, &b.user, &b.resource).await?,
    ))
}
