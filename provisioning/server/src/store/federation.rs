//! External (ACS) federation: the tenant configuration and external access policies.

use super::{Actor, Result, Store, StoreError, audit, get_b, get_s, grants, json_list, parse_list};
use cvi_provisioning::FieldError;
use cvi_provisioning::federation::{
    self, AssignedPolicy, ExternalAccessPolicy, FederationDecision, TenantAcsConfiguration,
};
use cvi_provisioning::video_policy::{self, GrantSource, PolicyType};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FederationCheck {
    pub user: String,
    pub resource: String,
    pub assigned_policy: String,
    pub decision: FederationDecision,
}

async fn load_config(
    conn: &mut sqlx::AnyConnection,
    tenant: Uuid,
) -> Result<TenantAcsConfiguration> {
    let r = sqlx::query("SELECT * FROM federation_configs WHERE tenant_id = $1")
        .bind(tenant.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    match r {
        None => Ok(TenantAcsConfiguration::default()),
        Some(r) => Ok(TenantAcsConfiguration {
            enable_acs_users: get_b(&r, "enable_acs_users")?,
            allowed_acs_resources: parse_list(&get_s(&r, "allowed_acs_resources")?),
            allow_all_acs_resources: get_b(&r, "allow_all_acs_resources")?,
            blocked_acs_resources: parse_list(&get_s(&r, "blocked_acs_resources")?),
        }),
    }
}

async fn load_policies(
    conn: &mut sqlx::AnyConnection,
    tenant: Uuid,
) -> Result<Vec<ExternalAccessPolicy>> {
    let rows = sqlx::query(
        "SELECT * FROM external_access_policies WHERE tenant_id = $1 ORDER BY identity",
    )
    .bind(tenant.to_string())
    .fetch_all(&mut *conn)
    .await?;
    let mut v: Vec<ExternalAccessPolicy> = rows
        .iter()
        .map(|r| {
            Ok(ExternalAccessPolicy {
                identity: get_s(r, "identity")?,
                enable_acs_federation_access: get_b(r, "enable_acs_federation_access")?,
            })
        })
        .collect::<Result<_>>()?;
    if !v.iter().any(|p| p.identity == "Global") {
        // The built-in Global external access policy allows ACS federation.
        v.insert(
            0,
            ExternalAccessPolicy {
                identity: "Global".into(),
                enable_acs_federation_access: true,
            },
        );
    }
    Ok(v)
}

impl Store {
    pub async fn federation_config(&self, tenant: Uuid) -> Result<TenantAcsConfiguration> {
        let mut conn = self.read.acquire().await?;
        load_config(&mut conn, tenant).await
    }

    pub async fn set_federation_config(
        &self,
        actor: &Actor,
        tenant: Uuid,
        c: TenantAcsConfiguration,
    ) -> Result<TenantAcsConfiguration> {
        for r in c
            .allowed_acs_resources
            .iter()
            .chain(&c.blocked_acs_resources)
        {
            if r.trim().is_empty()
                || r.len() > 128
                || r.chars().any(|ch| ch.is_whitespace() || ch.is_control())
            {
                return Err(FieldError::new(
                    "allowedAcsResources",
                    format!("'{r}' is not a resource id"),
                )
                .into());
            }
        }
        let mut tx = self.write.begin().await?;
        sqlx::query(
            "INSERT INTO federation_configs (tenant_id, enable_acs_users, allowed_acs_resources, allow_all_acs_resources, blocked_acs_resources) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (tenant_id) DO UPDATE SET enable_acs_users = excluded.enable_acs_users, allowed_acs_resources = excluded.allowed_acs_resources, \
             allow_all_acs_resources = excluded.allow_all_acs_resources, blocked_acs_resources = excluded.blocked_acs_resources",
        )
        .bind(tenant.to_string())
        .bind(i64::from(c.enable_acs_users))
        .bind(json_list(&c.allowed_acs_resources))
        .bind(i64::from(c.allow_all_acs_resources))
        .bind(json_list(&c.blocked_acs_resources))
        .execute(&mut *tx)
        .await?;
        audit::record(
            &mut tx,
            actor,
            Some(tenant),
            "federation.config",
            "acs",
            serde_json::to_value(&c).unwrap_or_default(),
        )
        .await?;
        tx.commit().await?;
        Ok(c)
    }

    pub async fn external_access_policies(
        &self,
        tenant: Uuid,
    ) -> Result<Vec<ExternalAccessPolicy>> {
        let mut conn = self.read.acquire().await?;
        load_policies(&mut conn, tenant).await
    }

    /// Creates or changes a custom external access policy (or the tenant's Global one).
    pub async fn put_external_access_policy(
        &self,
        actor: &Actor,
        tenant: Uuid,
        p: ExternalAccessPolicy,
    ) -> Result<ExternalAccessPolicy> {
        let id = video_policy::strip_tag(&p.identity).to_string();
        cvi_provisioning::model::validate_identity(&id)?;
        let id = if id.eq_ignore_ascii_case("global") {
            "Global".to_string()
        } else {
            id
        };
        let p = ExternalAccessPolicy { identity: id, ..p };
        let mut tx = self.write.begin().await?;
        sqlx::query(
            "INSERT INTO external_access_policies (tenant_id, identity, enable_acs_federation_access) VALUES ($1, $2, $3) \
             ON CONFLICT (tenant_id, identity) DO UPDATE SET enable_acs_federation_access = excluded.enable_acs_federation_access",
        )
        .bind(tenant.to_string())
        .bind(p.identity.clone())
        .bind(i64::from(p.enable_acs_federation_access))
        .execute(&mut *tx)
        .await?;
        audit::record(
            &mut tx,
            actor,
            Some(tenant),
            "externalAccess.set",
            &p.identity,
            serde_json::to_value(&p).unwrap_or_default(),
        )
        .await?;
        tx.commit().await?;
        Ok(p)
    }

    /// Is ACS federation with `resource` enabled for `upn`?
    pub async fn federation_check(
        &self,
        tenant: Uuid,
        upn: &str,
        resource: &str,
    ) -> Result<FederationCheck> {
        let user = self.user(tenant, upn).await?;
        let mut conn = self.read.acquire().await?;
        let config = load_config(&mut conn, tenant).await?;
        let policies = load_policies(&mut conn, tenant).await?;
        let all = grants::load_grants(&mut conn, tenant).await?;
        drop(conn);
        let eff = video_policy::effective(&all, PolicyType::ExternalAccess, &user, "Global");
        let global = policies
            .iter()
            .find(|p| p.identity == "Global")
            .cloned()
            .ok_or_else(|| StoreError::NotFound("Global external access policy".into()))?;
        // A policy assigned by user or group grant is a custom one; the tenant-wide grant or no
        // grant means the Global policy is in force.
        let custom = match eff.source {
            GrantSource::User | GrantSource::Group { .. } if eff.policy_name != "Global" => {
                policies
                    .iter()
                    .find(|p| p.identity.eq_ignore_ascii_case(&eff.policy_name))
            }
            _ => None,
        };
        let global_effective = match (&eff.source, custom) {
            (GrantSource::Global, _) => policies
                .iter()
                .find(|p| p.identity.eq_ignore_ascii_case(&eff.policy_name))
                .cloned()
                .unwrap_or(global),
            _ => global,
        };
        let assigned = if custom.is_some() {
            AssignedPolicy::Custom
        } else {
            AssignedPolicy::Global
        };
        let decision = federation::evaluate(&config, &global_effective, custom, assigned, resource);
        Ok(FederationCheck {
            user: user.user_principal_name,
            resource: resource.to_string(),
            assigned_policy: eff.policy_name,
            decision,
        })
    }
}
