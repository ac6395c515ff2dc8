//! Tenant-admin API tokens. Only a SHA-256 of each token is stored; the token is shown once.

use super::{Actor, Result, Store, audit, get_s, get_uuid, ms};
use chrono::Utc;
use cvi_provisioning::model::validate_name;
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IssuedToken {
    pub id: Uuid,
    pub name: String,
    pub role: String,
    pub tenant_id: Uuid,
    /// Shown once; store it safely.
    pub token: String,
}

/// A token as listed (never the secret).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenSummary {
    pub id: Uuid,
    pub name: String,
    pub role: String,
    pub tenant_id: Uuid,
    pub created_at: chrono::DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    pub id: Uuid,
    pub name: String,
    pub tenant_id: Uuid,
}

pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

impl Store {
    pub async fn issue_token(
        &self,
        actor: &Actor,
        tenant: Uuid,
        name: &str,
    ) -> Result<IssuedToken> {
        validate_name("name", name)?;
        let mut raw = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut raw);
        let token = format!("cvi_{}", hex::encode(raw));
        let id = Uuid::new_v4();
        let mut tx = self.write.begin().await?;
        sqlx::query("INSERT INTO api_tokens (id, token_hash, name, role, tenant_id, created_at) VALUES ($1, $2, $3, 'tenantAdmin', $4, $5)")
            .bind(id.to_string())
            .bind(hash_token(&token))
            .bind(name.trim().to_string())
            .bind(tenant.to_string())
            .bind(ms(Utc::now()))
            .execute(&mut *tx)
            .await?;
        audit::record(
            &mut tx,
            actor,
            Some(tenant),
            "token.new",
            name.trim(),
            serde_json::json!({"id": id}),
        )
        .await?;
        tx.commit().await?;
        Ok(IssuedToken {
            id,
            name: name.trim().to_string(),
            role: "tenantAdmin".into(),
            tenant_id: tenant,
            token,
        })
    }

    pub async fn tokens(&self, tenant: Uuid) -> Result<Vec<TokenSummary>> {
        let rows = sqlx::query("SELECT id, name, role, created_at FROM api_tokens WHERE tenant_id = $1 ORDER BY created_at, id")
            .bind(tenant.to_string())
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(TokenSummary {
                    id: get_uuid(r, "id")?,
                    name: get_s(r, "name")?,
                    role: get_s(r, "role")?,
                    tenant_id: tenant,
                    created_at: super::from_ms(super::get_i(r, "created_at")?),
                })
            })
            .collect()
    }

    /// Revokes a tenant-admin token: the next request with it gets 401.
    pub async fn revoke_token(&self, actor: &Actor, tenant: Uuid, id: &str) -> Result<()> {
        let id = Uuid::parse_str(id).map_err(|_| super::StoreError::NotFound("token".into()))?;
        let mut tx = self.write.begin().await?;
        let done = sqlx::query("DELETE FROM api_tokens WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.to_string())
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(super::StoreError::NotFound("token".into()));
        }
        audit::record(
            &mut tx,
            actor,
            Some(tenant),
            "token.revoke",
            &id.to_string(),
            serde_json::json!({}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn token(&self, token: &str) -> Result<Option<TokenInfo>> {
        let r = sqlx::query("SELECT id, name, tenant_id FROM api_tokens WHERE token_hash = $1")
            .bind(hash_token(token))
            .fetch_optional(&self.read)
            .await?;
        r.map(|r| {
            Ok(TokenInfo {
                id: get_uuid(&r, "id")?,
                name: get_s(&r, "name")?,
                tenant_id: get_uuid(&r, "tenant_id")?,
            })
        })
        .transpose()
    }
}
