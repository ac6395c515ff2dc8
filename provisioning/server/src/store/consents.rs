//! Tenant consent to a provider application's permissions.

use super::{
    Actor, Result, Store, StoreError, audit, from_ms, get_i, get_s, json_list, ms, parse_list,
};
use chrono::Utc;
use cvi_provisioning::FieldError;
use cvi_provisioning::model::{CONSENT_PERMISSIONS, Consent, validate_app_id};
use uuid::Uuid;

pub(crate) async fn load_consents(
    conn: &mut sqlx::AnyConnection,
    tenant: Uuid,
) -> Result<Vec<Consent>> {
    sqlx::query("SELECT * FROM consents WHERE tenant_id = $1 ORDER BY app_id")
        .bind(tenant.to_string())
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| {
            Ok(Consent {
                tenant_id: tenant,
                app_id: get_s(r, "app_id")?,
                permissions: parse_list(&get_s(r, "permissions")?),
                granted_at: from_ms(get_i(r, "granted_at")?),
                granted_by: get_s(r, "granted_by")?,
            })
        })
        .collect()
}

impl Store {
    /// Grants (or replaces) consent for `app_id`. `permissions` default to the four the CVI
    /// document requires; unknown permission names are refused.
    pub async fn grant_consent(
        &self,
        actor: &Actor,
        tenant: Uuid,
        app_id: &str,
        permissions: Option<Vec<String>>,
    ) -> Result<Consent> {
        let app_id = app_id.trim().to_ascii_lowercase();
        validate_app_id(&app_id).map_err(|e| FieldError::new("appId", e.message))?;
        let mut perms = Vec::new();
        for p in permissions
            .unwrap_or_else(|| CONSENT_PERMISSIONS.iter().map(|s| s.to_string()).collect())
        {
            let Some(known) = CONSENT_PERMISSIONS
                .iter()
                .find(|k| k.eq_ignore_ascii_case(p.trim()))
            else {
                return Err(FieldError::new(
                    "permissions",
                    format!("'{p}' is not one of {}", CONSENT_PERMISSIONS.join(", ")),
                )
                .into());
            };
            if !perms.iter().any(|x: &String| x == known) {
                perms.push(known.to_string());
            }
        }
        let c = Consent {
            tenant_id: tenant,
            app_id: app_id.clone(),
            permissions: perms,
            granted_at: Utc::now(),
            granted_by: actor.0.clone(),
        };
        let mut tx = self.write.begin().await?;
        sqlx::query(
            "INSERT INTO consents (tenant_id, app_id, permissions, granted_at, granted_by) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (tenant_id, app_id) DO UPDATE SET permissions = excluded.permissions, granted_at = excluded.granted_at, granted_by = excluded.granted_by",
        )
        .bind(tenant.to_string())
        .bind(app_id.clone())
        .bind(json_list(&c.permissions))
        .bind(ms(c.granted_at))
        .bind(c.granted_by.clone())
        .execute(&mut *tx)
        .await?;
        audit::record(
            &mut tx,
            actor,
            Some(tenant),
            "consent.grant",
            &app_id,
            serde_json::json!({"permissions": c.permissions}),
        )
        .await?;
        tx.commit().await?;
        Ok(c)
    }

    pub async fn revoke_consent(&self, actor: &Actor, tenant: Uuid, app_id: &str) -> Result<()> {
        let app_id = app_id.trim().to_ascii_lowercase();
        let mut tx = self.write.begin().await?;
        let done = sqlx::query("DELETE FROM consents WHERE tenant_id = $1 AND app_id = $2")
            .bind(tenant.to_string())
            .bind(app_id.clone())
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("consent".into()));
        }
        audit::record(
            &mut tx,
            actor,
            Some(tenant),
            "consent.revoke",
            &app_id,
            serde_json::json!({}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn consents(&self, tenant: Uuid) -> Result<Vec<Consent>> {
        let mut conn = self.read.acquire().await?;
        load_consents(&mut conn, tenant).await
    }
}
