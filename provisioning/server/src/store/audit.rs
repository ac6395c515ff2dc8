//! The audit log: who changed what, when. Written in the same transaction as the change.

use super::{Actor, Result, Store, from_ms, get_i, get_os, get_s};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Any;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    pub id: String,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub tenant_id: Option<String>,
    pub action: String,
    pub target: String,
    pub detail: serde_json::Value,
}

pub(crate) async fn record(
    tx: &mut sqlx::Transaction<'_, Any>,
    actor: &Actor,
    tenant: Option<Uuid>,
    action: &str,
    target: &str,
    detail: serde_json::Value,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (id, at, actor, tenant_id, action, target, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(Uuid::now_v7().to_string())
    .bind(Utc::now().timestamp_millis())
    .bind(actor.0.clone())
    .bind(tenant.map(|t| t.to_string()))
    .bind(action.to_string())
    .bind(target.to_string())
    .bind(detail.to_string())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Store {
    /// Newest first. `tenant` limits to one tenant's entries.
    pub async fn audit(&self, tenant: Option<Uuid>, limit: i64) -> Result<Vec<AuditEntry>> {
        let limit = limit.clamp(1, 1000);
        let rows = match tenant {
            Some(t) => sqlx::query(
                "SELECT * FROM audit_log WHERE tenant_id = $1 ORDER BY at DESC, id DESC LIMIT $2",
            )
            .bind(t.to_string())
            .bind(limit)
            .fetch_all(&self.read)
            .await?,
            None => {
                sqlx::query("SELECT * FROM audit_log ORDER BY at DESC, id DESC LIMIT $1")
                    .bind(limit)
                    .fetch_all(&self.read)
                    .await?
            }
        };
        rows.iter()
            .map(|r| {
                Ok(AuditEntry {
                    id: get_s(r, "id")?,
                    at: from_ms(get_i(r, "at")?),
                    actor: get_s(r, "actor")?,
                    tenant_id: get_os(r, "tenant_id")?,
                    action: get_s(r, "action")?,
                    target: get_s(r, "target")?,
                    detail: serde_json::from_str(&get_s(r, "detail")?).unwrap_or_default(),
                })
            })
            .collect()
    }
}
