//! Tenants and groups.

use super::{
    Actor, Result, Store, StoreError, audit, from_ms, get_i, get_s, get_uuid, json_list, ms,
    parse_list,
};
use chrono::Utc;
use cvi_provisioning::FieldError;
use cvi_provisioning::model::{Group, Tenant, validate_domain, validate_name};
use sqlx::any::AnyRow;
use uuid::Uuid;

fn tenant_row(r: &AnyRow) -> Result<Tenant> {
    Ok(Tenant {
        id: get_uuid(r, "id")?,
        name: get_s(r, "name")?,
        verified_domains: parse_list(&get_s(r, "verified_domains")?),
        created_at: from_ms(get_i(r, "created_at")?),
    })
}

impl Store {
    pub async fn create_tenant(
        &self,
        actor: &Actor,
        name: &str,
        verified_domains: &[String],
    ) -> Result<Tenant> {
        validate_name("name", name)?;
        let mut domains = Vec::with_capacity(verified_domains.len());
        for d in verified_domains {
            domains.push(validate_domain(d).map_err(|m| FieldError::new("verifiedDomains", m))?);
        }
        domains.sort();
        domains.dedup();
        let t = Tenant {
            id: Uuid::new_v4(),
            name: name.trim().to_string(),
            verified_domains: domains,
            created_at: Utc::now(),
        };
        let mut tx = self.write.begin().await?;
        let exists = sqlx::query("SELECT id FROM tenants WHERE name_lower = $1")
            .bind(t.name.to_lowercase())
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_some() {
            return Err(StoreError::Conflict {
                field: "name".into(),
                message: format!("name: a tenant named '{}' exists", t.name),
            });
        }
        sqlx::query("INSERT INTO tenants (id, name, name_lower, verified_domains, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(t.id.to_string())
            .bind(t.name.clone())
            .bind(t.name.to_lowercase())
            .bind(json_list(&t.verified_domains))
            .bind(ms(t.created_at))
            .execute(&mut *tx)
            .await?;
        audit::record(
            &mut tx,
            actor,
            Some(t.id),
            "tenant.new",
            &t.name,
            serde_json::json!({"verifiedDomains": t.verified_domains}),
        )
        .await?;
        tx.commit().await?;
        Ok(t)
    }

    pub async fn list_tenants(&self) -> Result<Vec<Tenant>> {
        let rows = sqlx::query("SELECT * FROM tenants ORDER BY name_lower")
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(tenant_row).collect()
    }

    /// By GUID or by (case-insensitive) name.
    pub async fn tenant(&self, id_or_name: &str) -> Result<Tenant> {
        let row = match Uuid::parse_str(id_or_name) {
            Ok(id) => {
                sqlx::query("SELECT * FROM tenants WHERE id = $1")
                    .bind(id.to_string())
                    .fetch_optional(&self.read)
                    .await?
            }
            Err(_) => {
                sqlx::query("SELECT * FROM tenants WHERE name_lower = $1")
                    .bind(id_or_name.trim().to_lowercase())
                    .fetch_optional(&self.read)
                    .await?
            }
        };
        match row {
            Some(r) => tenant_row(&r),
            None => Err(StoreError::NotFound("tenant".into())),
        }
    }

    pub async fn create_group(
        &self,
        actor: &Actor,
        tenant: Uuid,
        name: &str,
        display_name: &str,
    ) -> Result<Group> {
        validate_name("name", name)?;
        let g = Group {
            tenant_id: tenant,
            name: name.trim().to_string(),
            display_name: if display_name.trim().is_empty() {
                name.trim().to_string()
            } else {
                display_name.trim().to_string()
            },
        };
        let mut tx = self.write.begin().await?;
        let exists =
            sqlx::query("SELECT name FROM tenant_groups WHERE tenant_id = $1 AND name = $2")
                .bind(tenant.to_string())
                .bind(g.name.clone())
                .fetch_optional(&mut *tx)
                .await?;
        if exists.is_some() {
            return Err(StoreError::Conflict {
                field: "name".into(),
                message: format!("name: group '{}' exists", g.name),
            });
        }
        sqlx::query(
            "INSERT INTO tenant_groups (tenant_id, name, display_name) VALUES ($1, $2, $3)",
        )
        .bind(tenant.to_string())
        .bind(g.name.clone())
        .bind(g.display_name.clone())
        .execute(&mut *tx)
        .await?;
        audit::record(
            &mut tx,
            actor,
            Some(tenant),
            "group.new",
            &g.name,
            serde_json::json!({}),
        )
        .await?;
        tx.commit().await?;
        Ok(g)
    }

    pub async fn list_groups(&self, tenant: Uuid) -> Result<Vec<Group>> {
        let rows = sqlx::query("SELECT * FROM tenant_groups WHERE tenant_id = $1 ORDER BY name")
            .bind(tenant.to_string())
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(Group {
                    tenant_id: tenant,
                    name: get_s(r, "name")?,
                    display_name: get_s(r, "display_name")?,
                })
            })
            .collect()
    }
}
