//! Policy grants (all three policy types) and the rules checked when they change.

use super::{Actor, Result, Store, StoreError, audit, get_s, users};
use cvi_provisioning::FieldError;
use cvi_provisioning::interop::{self, InteropViolation};
use cvi_provisioning::model::User;
use cvi_provisioning::video_policy::{self, Effective, Grant, Grantee, PolicyType};
use serde::Serialize;
use sqlx::Any;
use sqlx::Row;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EffectivePolicies {
    pub video_interop: Effective,
    pub teams_interop: Effective,
    pub external_access: Effective,
}

pub(crate) async fn load_grants(
    conn: &mut sqlx::AnyConnection,
    tenant: Uuid,
) -> Result<Vec<Grant>> {
    let rows = sqlx::query(
        "SELECT * FROM policy_grants WHERE tenant_id = $1 ORDER BY policy_type, scope, principal",
    )
    .bind(tenant.to_string())
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let Some(policy_type) = PolicyType::parse(&get_s(r, "policy_type")?) else {
            continue;
        };
        let principal = get_s(r, "principal")?;
        let grantee = match get_s(r, "scope")?.as_str() {
            "user" => Grantee::User {
                identity: principal,
            },
            "group" => Grantee::Group {
                group: principal,
                rank: u32::try_from(
                    r.try_get::<Option<i64>, _>("grant_rank")?
                        .unwrap_or(i64::MAX),
                )
                .unwrap_or(u32::MAX),
            },
            _ => Grantee::Global,
        };
        out.push(Grant {
            policy_type,
            grantee,
            policy_name: get_s(r, "policy_name")?,
        });
    }
    Ok(out)
}

fn default_policy(t: PolicyType) -> &'static str {
    match t {
        PolicyType::VideoInterop => video_policy::GLOBAL,
        PolicyType::TeamsInterop => interop::global_default_identity(),
        PolicyType::ExternalAccess => "Global",
    }
}

pub(crate) fn effective_all(grants: &[Grant], user: &User) -> EffectivePolicies {
    EffectivePolicies {
        video_interop: video_policy::effective(
            grants,
            PolicyType::VideoInterop,
            user,
            default_policy(PolicyType::VideoInterop),
        ),
        teams_interop: video_policy::effective(
            grants,
            PolicyType::TeamsInterop,
            user,
            default_policy(PolicyType::TeamsInterop),
        ),
        external_access: video_policy::effective(
            grants,
            PolicyType::ExternalAccess,
            user,
            default_policy(PolicyType::ExternalAccess),
        ),
    }
}

fn violations_error(v: &[InteropViolation]) -> StoreError {
    let field = v
        .first()
        .map(|x| x.to_string())
        .and_then(|m| m.split(':').next().map(str::to_string))
        .unwrap_or_else(|| "policyName".into());
    let message = v
        .iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join("; ");
    StoreError::Invalid(FieldError::new(field, message))
}

/// TeamsInteropPolicy special cases for one user, against the grants as they are in `tx`.
pub(crate) async fn check_interop_for_user(
    conn: &mut sqlx::AnyConnection,
    user: &User,
) -> Result<()> {
    let grants = load_grants(conn, user.tenant_id).await?;
    let eff = video_policy::effective(
        &grants,
        PolicyType::TeamsInterop,
        user,
        interop::global_default_identity(),
    );
    let Some(policy) = interop::find_policy(&eff.policy_name) else {
        return Ok(());
    };
    interop::validate_assignment(&policy, user.homing, user.hybrid_voice).map_err(|v| {
        let mut e = violations_error(&v);
        if let StoreError::Invalid(f) = &mut e {
            f.message = format!(
                "{} (user {}, effective TeamsInteropPolicy {})",
                f.message, user.user_principal_name, policy.identity
            );
        }
        e
    })
}

async fn users_affected(
    tx: &mut sqlx::Transaction<'_, Any>,
    tenant: Uuid,
    grantee: &Grantee,
) -> Result<Vec<User>> {
    let upns: Vec<String> = match grantee {
        Grantee::User { identity } => vec![identity.clone()],
        Grantee::Group { group, .. } => {
            sqlx::query("SELECT upn FROM user_groups WHERE tenant_id = $1 AND group_name = $2")
                .bind(tenant.to_string())
                .bind(group.clone())
                .fetch_all(&mut **tx)
                .await?
                .iter()
                .map(|r| get_s(r, "upn"))
                .collect::<Result<_>>()?
        }
        Grantee::Global => sqlx::query("SELECT upn FROM users WHERE tenant_id = $1")
            .bind(tenant.to_string())
            .fetch_all(&mut **tx)
            .await?
            .iter()
            .map(|r| get_s(r, "upn"))
            .collect::<Result<_>>()?,
    };
    let mut out = Vec::with_capacity(upns.len());
    for u in upns {
        if let Some(user) = users::load_user(tx, tenant, &u).await? {
            out.push(user);
        }
    }
    Ok(out)
}

impl Store {
    pub async fn grants(
        &self,
        tenant: Uuid,
        policy_type: Option<PolicyType>,
    ) -> Result<Vec<Grant>> {
        let mut conn = self.read.acquire().await?;
        let g = load_grants(&mut conn, tenant).await?;
        Ok(g.into_iter()
            .filter(|g| policy_type.is_none_or(|t| g.policy_type == t))
            .collect())
    }

    pub async fn effective_policies(&self, tenant: Uuid, upn: &str) -> Result<EffectivePolicies> {
        let user = self.user(tenant, upn).await?;
        let mut conn = self.read.acquire().await?;
        let grants = load_grants(&mut conn, tenant).await?;
        Ok(effective_all(&grants, &user))
    }

    /// Grants `policy_name` (canonicalized) to `grantee`, or removes the grant when `None`.
    /// Returns the stored grant, or `None` after a removal.
    pub async fn grant(
        &self,
        actor: &Actor,
        tenant: Uuid,
        policy_type: PolicyType,
        policy_name: Option<&str>,
        grantee: Grantee,
    ) -> Result<Option<Grant>> {
        let policy_name = policy_name.map(str::trim).filter(|n| {
            !n.is_empty() && !n.eq_ignore_ascii_case("none") && !n.eq_ignore_ascii_case("$null")
        });
        let mut tx = self.write.begin().await?;
        // Canonical grantee: existing user / group; normalized names.
        let grantee = match grantee {
            Grantee::User { identity } => {
                let upn = cvi_provisioning::model::validate_upn(&identity).map_err(|_| {
                    FieldError::new("grantee.identity", "a UPN has the form name@domain")
                })?;
                if users::load_user(&mut tx, tenant, &upn).await?.is_none() {
                    return Err(FieldError::new(
                        "grantee.identity",
                        format!("no user '{upn}' in this tenant"),
                    )
                    .into());
                }
                Grantee::User { identity: upn }
            }
            Grantee::Group { group, rank } => {
                let exists = sqlx::query(
                    "SELECT name FROM tenant_groups WHERE tenant_id = $1 AND name = $2",
                )
                .bind(tenant.to_string())
                .bind(group.trim().to_string())
                .fetch_optional(&mut *tx)
                .await?;
                if exists.is_none() {
                    return Err(FieldError::new(
                        "grantee.group",
                        format!("no group '{}' in this tenant", group.trim()),
                    )
                    .into());
                }
                Grantee::Group {
                    group: group.trim().to_string(),
                    rank,
                }
            }
            Grantee::Global => Grantee::Global,
        };
        let canonical = match policy_name {
            None => None,
            Some(n) => Some(canonical_policy_name(&mut tx, tenant, policy_type, n).await?),
        };
        let (scope, principal, rank) = match &grantee {
            Grantee::User { identity } => ("user", identity.clone(), None),
            Grantee::Group { group, rank } => ("group", group.clone(), Some(i64::from(*rank))),
            Grantee::Global => ("global", String::new(), None),
        };
        sqlx::query("DELETE FROM policy_grants WHERE tenant_id = $1 AND policy_type = $2 AND scope = $3 AND principal = $4")
            .bind(tenant.to_string())
            .bind(policy_type.as_str())
            .bind(scope)
            .bind(principal.clone())
            .execute(&mut *tx)
            .await?;
        if let (Some(name), Some(r)) = (&canonical, rank) {
            let clash = sqlx::query("SELECT principal FROM policy_grants WHERE tenant_id = $1 AND policy_type = $2 AND scope = 'group' AND grant_rank = $3")
                .bind(tenant.to_string())
                .bind(policy_type.as_str())
                .bind(r)
                .fetch_optional(&mut *tx)
                .await?;
            if let Some(c) = clash {
                return Err(StoreError::Conflict {
                    field: "grantee.rank".into(),
                    message: format!(
                        "grantee.rank: rank {r} is held by group '{}' for {}",
                        get_s(&c, "principal")?,
                        name
                    ),
                });
            }
        }
        if let Some(name) = &canonical {
            sqlx::query("INSERT INTO policy_grants (tenant_id, policy_type, scope, principal, grant_rank, policy_name) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(tenant.to_string())
                .bind(policy_type.as_str())
                .bind(scope)
                .bind(principal.clone())
                .bind(rank)
                .bind(name.clone())
                .execute(&mut *tx)
                .await?;
        }
        if policy_type == PolicyType::TeamsInterop {
            for user in users_affected(&mut tx, tenant, &grantee).await? {
                check_interop_for_user(&mut tx, &user).await?;
            }
        }
        audit::record(
            &mut tx,
            actor,
            Some(tenant),
            if canonical.is_some() {
                "policy.grant"
            } else {
                "policy.revoke"
            },
            &format!("{}:{scope}:{principal}", policy_type.as_str()),
            serde_json::json!({"policyName": canonical, "rank": rank}),
        )
        .await?;
        tx.commit().await?;
        Ok(canonical.map(|policy_name| Grant {
            policy_type,
            grantee,
            policy_name,
        }))
    }
}

async fn canonical_policy_name(
    tx: &mut sqlx::Transaction<'_, Any>,
    tenant: Uuid,
    t: PolicyType,
    name: &str,
) -> Result<String> {
    let unknown = || {
        FieldError::new(
            "policyName",
            format!("no {} policy named '{name}'", t.as_str()),
        )
    };
    match t {
        PolicyType::VideoInterop => {
            let providers = super::providers::load_providers(tx, tenant).await?;
            video_policy::resolve(name, &providers)
                .map(|p| p.identity)
                .ok_or_else(|| unknown().into())
        }
        PolicyType::TeamsInterop => interop::find_policy(name)
            .map(|p| p.identity)
            .ok_or_else(|| unknown().into()),
        PolicyType::ExternalAccess => {
            let n = video_policy::strip_tag(name);
            let rows =
                sqlx::query("SELECT identity FROM external_access_policies WHERE tenant_id = $1")
                    .bind(tenant.to_string())
                    .fetch_all(&mut **tx)
                    .await?;
            for r in &rows {
                let id = get_s(r, "identity")?;
                if id.eq_ignore_ascii_case(n) {
                    return Ok(id);
                }
            }
            if n.eq_ignore_ascii_case("Global") {
                return Ok("Global".into());
            }
            Err(unknown().into())
        }
    }
}
