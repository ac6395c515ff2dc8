//! Users and their group memberships.

use super::{Actor, Result, Store, StoreError, audit, get_b, get_s, grants};
use cvi_provisioning::FieldError;
use cvi_provisioning::model::{Homing, User, validate_upn};
use serde::Deserialize;
use sqlx::Any;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewUser {
    pub user_principal_name: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub groups: Vec<String>,
    #[serde(default)]
    pub homing: Homing,
    #[serde(default)]
    pub hybrid_voice: bool,
}

/// Only the fields given change.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserPatch {
    pub display_name: Option<String>,
    pub groups: Option<Vec<String>>,
    pub homing: Option<Homing>,
    pub hybrid_voice: Option<bool>,
    pub deprovisioned: Option<bool>,
}

pub(crate) async fn load_user(
    conn: &mut sqlx::AnyConnection,
    tenant: Uuid,
    upn: &str,
) -> Result<Option<User>> {
    let row = sqlx::query("SELECT * FROM users WHERE tenant_id = $1 AND upn = $2")
        .bind(tenant.to_string())
        .bind(upn.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    let Some(r) = row else { return Ok(None) };
    let groups = sqlx::query(
        "SELECT group_name FROM user_groups WHERE tenant_id = $1 AND upn = $2 ORDER BY group_name",
    )
    .bind(tenant.to_string())
    .bind(upn.to_string())
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|g| get_s(g, "group_name"))
    .collect::<Result<Vec<_>>>()?;
    Ok(Some(User {
        tenant_id: tenant,
        user_principal_name: get_s(&r, "upn")?,
        display_name: get_s(&r, "display_name")?,
        groups,
        homing: Homing::parse(&get_s(&r, "homing")?).unwrap_or_default(),
        hybrid_voice: get_b(&r, "hybrid_voice")?,
        deprovisioned: get_b(&r, "deprovisioned")?,
    }))
}

async fn set_groups(
    tx: &mut sqlx::Transaction<'_, Any>,
    tenant: Uuid,
    upn: &str,
    groups: &[String],
) -> Result<Vec<String>> {
    let mut groups: Vec<String> = groups
        .iter()
        .map(|g| g.trim().to_string())
        .filter(|g| !g.is_empty())
        .collect();
    groups.sort();
    groups.dedup();
    sqlx::query("DELETE FROM user_groups WHERE tenant_id = $1 AND upn = $2")
        .bind(tenant.to_string())
        .bind(upn.to_string())
        .execute(&mut **tx)
        .await?;
    for g in &groups {
        let exists =
            sqlx::query("SELECT name FROM tenant_groups WHERE tenant_id = $1 AND name = $2")
                .bind(tenant.to_string())
                .bind(g.clone())
                .fetch_optional(&mut **tx)
                .await?;
        if exists.is_none() {
            return Err(FieldError::new("groups", format!("no group '{g}' in this tenant")).into());
        }
        sqlx::query("INSERT INTO user_groups (tenant_id, upn, group_name) VALUES ($1, $2, $3)")
            .bind(tenant.to_string())
            .bind(upn.to_string())
            .bind(g.clone())
            .execute(&mut **tx)
            .await?;
    }
    Ok(groups)
}

impl Store {
    pub async fn create_user(&self, actor: &Actor, tenant: Uuid, new: NewUser) -> Result<User> {
        let upn = validate_upn(&new.user_principal_name)?;
        let display_name = new.display_name.unwrap_or_default().trim().to_string();
        if display_name.len() > 256 || display_name.chars().any(char::is_control) {
            return Err(FieldError::new("displayName", "at most 256 printable characters").into());
        }
        let mut tx = self.write.begin().await?;
        if load_user(&mut tx, tenant, &upn).await?.is_some() {
            return Err(StoreError::Conflict {
                field: "userPrincipalName".into(),
                message: format!("userPrincipalName: '{upn}' exists"),
            });
        }
        let display_name = if display_name.is_empty() {
            upn.clone()
        } else {
            display_name
        };
        sqlx::query("INSERT INTO users (tenant_id, upn, display_name, homing, hybrid_voice, deprovisioned) VALUES ($1, $2, $3, $4, $5, 0)")
            .bind(tenant.to_string())
            .bind(upn.clone())
            .bind(display_name.clone())
            .bind(new.homing.as_str())
            .bind(i64::from(new.hybrid_voice))
            .execute(&mut *tx)
            .await?;
        let groups = set_groups(&mut tx, tenant, &upn, &new.groups).await?;
        let user = User {
            tenant_id: tenant,
            user_principal_name: upn.clone(),
            display_name,
            groups,
            homing: new.homing,
            hybrid_voice: new.hybrid_voice,
            deprovisioned: false,
        };
        grants::check_interop_for_user(&mut tx, &user).await?;
        audit::record(
            &mut tx,
            actor,
            Some(tenant),
            "user.new",
            &upn,
            serde_json::to_value(&user).unwrap_or_default(),
        )
        .await?;
        tx.commit().await?;
        Ok(user)
    }

    pub async fn update_user(
        &self,
        actor: &Actor,
        tenant: Uuid,
        upn: &str,
        patch: UserPatch,
    ) -> Result<User> {
        let upn = validate_upn(upn)?;
        let mut tx = self.write.begin().await?;
        let Some(mut user) = load_user(&mut tx, tenant, &upn).await? else {
            return Err(StoreError::NotFound("user".into()));
        };
        if let Some(d) = &patch.display_name {
            let d = d.trim();
            if d.is_empty() || d.len() > 256 || d.chars().any(char::is_control) {
                return Err(FieldError::new("displayName", "1 to 256 printable characters").into());
            }
            user.display_name = d.to_string();
        }
        if let Some(h) = patch.homing {
            user.homing = h;
        }
        if let Some(h) = patch.hybrid_voice {
            user.hybrid_voice = h;
        }
        if let Some(d) = patch.deprovisioned {
            user.deprovisioned = d;
        }
        sqlx::query("UPDATE users SET display_name = $1, homing = $2, hybrid_voice = $3, deprovisioned = $4 WHERE tenant_id = $5 AND upn = $6")
            .bind(user.display_name.clone())
            .bind(user.homing.as_str())
            .bind(i64::from(user.hybrid_voice))
            .bind(i64::from(user.deprovisioned))
            .bind(tenant.to_string())
            .bind(upn.clone())
            .execute(&mut *tx)
            .await?;
        if let Some(g) = &patch.groups {
            user.groups = set_groups(&mut tx, tenant, &upn, g).await?;
        }
        grants::check_interop_for_user(&mut tx, &user).await?;
        audit::record(
            &mut tx,
            actor,
            Some(tenant),
            "user.set",
            &upn,
            serde_json::to_value(&user).unwrap_or_default(),
        )
        .await?;
        tx.commit().await?;
        Ok(user)
    }

    pub async fn user(&self, tenant: Uuid, upn: &str) -> Result<User> {
        let upn = validate_upn(upn).map_err(|_| StoreError::NotFound("user".into()))?;
        let mut conn = self.read.acquire().await?;
        load_user(&mut conn, tenant, &upn)
            .await?
            .ok_or_else(|| StoreError::NotFound("user".into()))
    }

    pub async fn list_users(&self, tenant: Uuid) -> Result<Vec<User>> {
        let mut conn = self.read.acquire().await?;
        let upns = sqlx::query("SELECT upn FROM users WHERE tenant_id = $1 ORDER BY upn")
            .bind(tenant.to_string())
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|r| get_s(r, "upn"))
            .collect::<Result<Vec<_>>>()?;
        let mut out = Vec::with_capacity(upns.len());
        for u in upns {
            if let Some(user) = load_user(&mut conn, tenant, &u).await? {
                out.push(user);
            }
        }
        Ok(out)
    }
}
