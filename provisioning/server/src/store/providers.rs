//! VideoInteropServiceProvider: New / Set / Get / Remove with the cmdlets' semantics.

use super::{
    Actor, Result, Store, StoreError, audit, get_b, get_os, get_s, get_uuid, json_list, parse_list,
};
use cvi_provisioning::FieldError;
use cvi_provisioning::model::{
    Provider, TenantKey, validate_app_id, validate_identity, validate_instruction_uri,
};
use cvi_provisioning::video_policy::{ENABLED_SUFFIX, PolicyType};
use serde::Deserialize;
use sqlx::any::AnyRow;
use utoipa::ToSchema;
use uuid::Uuid;

/// Set-CsVideoInteropServiceProvider: only the fields present change. `instructionUri: null`
/// clears the link; an absent field is left alone.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProviderPatch {
    pub tenant_key: Option<String>,
    pub aad_application_ids: Option<Vec<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub instruction_uri: Option<Option<String>>,
    pub allow_app_guest_joins_as_authenticated: Option<bool>,
    pub language: Option<String>,
}

fn double_option<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<Option<String>>, D::Error> {
    Ok(Some(Option::<String>::deserialize(d)?))
}

fn row(r: &AnyRow) -> Result<Provider> {
    Ok(Provider {
        tenant_id: get_uuid(r, "tenant_id")?,
        identity: get_s(r, "identity")?,
        tenant_key: get_s(r, "tenant_key")?,
        aad_application_ids: parse_list(&get_s(r, "aad_application_ids")?),
        instruction_uri: get_os(r, "instruction_uri")?,
        allow_app_guest_joins_as_authenticated: get_b(r, "allow_app_guest_joins_as_authenticated")?,
        language: get_s(r, "language")?,
    })
}

pub(crate) async fn load_providers(
    conn: &mut sqlx::AnyConnection,
    tenant: Uuid,
) -> Result<Vec<Provider>> {
    sqlx::query("SELECT * FROM providers WHERE tenant_id = $1 ORDER BY identity_lower")
        .bind(tenant.to_string())
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(row)
        .collect()
}

/// The tenant's provider named `identity` (case-insensitive), or NotFound.
async fn find_provider(
    conn: &mut sqlx::AnyConnection,
    tenant: Uuid,
    identity: &str,
) -> Result<Provider> {
    sqlx::query("SELECT * FROM providers WHERE tenant_id = $1 AND identity_lower = $2")
        .bind(tenant.to_string())
        .bind(identity.trim().to_ascii_lowercase())
        .fetch_optional(&mut *conn)
        .await?
        .as_ref()
        .map(row)
        .transpose()?
        .ok_or_else(|| StoreError::NotFound("provider".into()))
}

pub(crate) async fn provider_by_key(
    conn: &mut sqlx::AnyConnection,
    key: &str,
) -> Result<Option<Provider>> {
    sqlx::query("SELECT * FROM providers WHERE tenant_key = $1")
        .bind(key.to_string())
        .fetch_optional(&mut *conn)
        .await?
        .as_ref()
        .map(row)
        .transpose()
}

fn normalize(p: &mut Provider) -> Result<()> {
    validate_identity(&p.identity)?;
    p.tenant_key = TenantKey::parse(&p.tenant_key)?.to_string();
    p.language = cvi_provisioning::model::validate_language(&p.language)?;
    let mut ids = Vec::with_capacity(p.aad_application_ids.len());
    for id in &p.aad_application_ids {
        let id = id.trim().to_ascii_lowercase();
        validate_app_id(&id)?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    p.aad_application_ids = ids;
    if let Some(u) = &p.instruction_uri {
        if u.trim().is_empty() {
            p.instruction_uri = None;
        } else {
            validate_instruction_uri(u.trim())?;
            p.instruction_uri = Some(u.trim().to_string());
        }
    }
    Ok(())
}

async fn key_taken(
    conn: &mut sqlx::AnyConnection,
    key: &str,
    except: Option<(Uuid, &str)>,
) -> Result<()> {
    if let Some(other) = provider_by_key(conn, key).await? {
        let same = except
            .is_some_and(|(t, id)| other.tenant_id == t && other.identity.eq_ignore_ascii_case(id));
        if !same {
            // Say nothing about who holds it.
            return Err(StoreError::Conflict {
                field: "tenantKey".into(),
                message: "tenantKey: this tenant key is already claimed".into(),
            });
        }
    }
    Ok(())
}

impl Store {
    pub async fn create_provider(&self, actor: &Actor, mut p: Provider) -> Result<Provider> {
        normalize(&mut p)?;
        let mut tx = self.write.begin().await?;
        let exists = sqlx::query(
            "SELECT identity FROM providers WHERE tenant_id = $1 AND identity_lower = $2",
        )
        .bind(p.tenant_id.to_string())
        .bind(p.identity.to_ascii_lowercase())
        .fetch_optional(&mut *tx)
        .await?;
        if exists.is_some() {
            return Err(StoreError::Conflict {
                field: "identity".into(),
                message: format!("identity: provider '{}' exists in this tenant", p.identity),
            });
        }
        key_taken(&mut tx, &p.tenant_key, None).await?;
        let key = TenantKey::parse(&p.tenant_key)?;
        sqlx::query(
            "INSERT INTO providers (tenant_id, identity, identity_lower, tenant_key, key_domain, aad_application_ids, instruction_uri, allow_app_guest_joins_as_authenticated, language) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(p.tenant_id.to_string())
        .bind(p.identity.clone())
        .bind(p.identity.to_ascii_lowercase())
        .bind(p.tenant_key.clone())
        .bind(key.domain().to_string())
        .bind(json_list(&p.aad_application_ids))
        .bind(p.instruction_uri.clone())
        .bind(i64::from(p.allow_app_guest_joins_as_authenticated))
        .bind(p.language.clone())
        .execute(&mut *tx)
        .await?;
        audit::record(
            &mut tx,
            actor,
            Some(p.tenant_id),
            "provider.new",
            &p.identity,
            serde_json::to_value(&p).unwrap_or_default(),
        )
        .await?;
        tx.commit().await?;
        Ok(p)
    }

    pub async fn update_provider(
        &self,
        actor: &Actor,
        tenant: Uuid,
        identity: &str,
        patch: ProviderPatch,
    ) -> Result<Provider> {
        let mut tx = self.write.begin().await?;
        let mut p = find_provider(&mut tx, tenant, identity).await?;
        if let Some(k) = patch.tenant_key {
            p.tenant_key = k;
        }
        if let Some(ids) = patch.aad_application_ids {
            p.aad_application_ids = ids;
        }
        if let Some(u) = patch.instruction_uri {
            p.instruction_uri = u;
        }
        if let Some(a) = patch.allow_app_guest_joins_as_authenticated {
            p.allow_app_guest_joins_as_authenticated = a;
        }
        if let Some(l) = patch.language {
            p.language = l;
        }
        normalize(&mut p)?;
        key_taken(&mut tx, &p.tenant_key, Some((tenant, &p.identity))).await?;
        let key = TenantKey::parse(&p.tenant_key)?;
        sqlx::query(
            "UPDATE providers SET tenant_key = $1, key_domain = $2, aad_application_ids = $3, instruction_uri = $4, allow_app_guest_joins_as_authenticated = $5, language = $6 \
             WHERE tenant_id = $7 AND identity_lower = $8",
        )
        .bind(p.tenant_key.clone())
        .bind(key.domain().to_string())
        .bind(json_list(&p.aad_application_ids))
        .bind(p.instruction_uri.clone())
        .bind(i64::from(p.allow_app_guest_joins_as_authenticated))
        .bind(p.language.clone())
        .bind(tenant.to_string())
        .bind(p.identity.to_ascii_lowercase())
        .execute(&mut *tx)
        .await?;
        audit::record(
            &mut tx,
            actor,
            Some(tenant),
            "provider.set",
            &p.identity,
            serde_json::to_value(&p).unwrap_or_default(),
        )
        .await?;
        tx.commit().await?;
        Ok(p)
    }

    /// Get-CsVideoInteropServiceProvider: all, or those whose identity matches `filter`.
    pub async fn providers(&self, tenant: Uuid, filter: Option<&str>) -> Result<Vec<Provider>> {
        let re = match filter {
            Some(f) => Some(
                regex::RegexBuilder::new(f)
                    .case_insensitive(true)
                    .size_limit(1 << 16)
                    .build()
                    .map_err(|e| {
                        FieldError::new("filter", format!("not a valid regular expression: {e}"))
                    })?,
            ),
            None => None,
        };
        let mut conn = self.read.acquire().await?;
        let all = load_providers(&mut conn, tenant).await?;
        Ok(all
            .into_iter()
            .filter(|p| re.as_ref().is_none_or(|re| re.is_match(&p.identity)))
            .collect())
    }

    pub async fn provider(&self, tenant: Uuid, identity: &str) -> Result<Provider> {
        let mut conn = self.read.acquire().await?;
        find_provider(&mut conn, tenant, identity).await
    }

    /// Remove-CsVideoInteropServiceProvider. Refused while its policy is granted: grant another
    /// policy first, so no user silently changes policy.
    pub async fn remove_provider(&self, actor: &Actor, tenant: Uuid, identity: &str) -> Result<()> {
        let mut tx = self.write.begin().await?;
        let p = find_provider(&mut tx, tenant, identity).await?;
        let policy = format!("{}{ENABLED_SUFFIX}", p.identity);
        let n = sqlx::query("SELECT principal FROM policy_grants WHERE tenant_id = $1 AND policy_type = $2 AND policy_name = $3")
            .bind(tenant.to_string())
            .bind(PolicyType::VideoInterop.as_str())
            .bind(policy.clone())
            .fetch_all(&mut *tx)
            .await?
            .len();
        if n > 0 {
            return Err(StoreError::Conflict {
                field: "identity".into(),
                message: format!(
                    "identity: {policy} is granted {n} time(s); grant another policy first"
                ),
            });
        }
        sqlx::query("DELETE FROM providers WHERE tenant_id = $1 AND identity_lower = $2")
            .bind(tenant.to_string())
            .bind(p.identity.to_ascii_lowercase())
            .execute(&mut *tx)
            .await?;
        audit::record(
            &mut tx,
            actor,
            Some(tenant),
            "provider.remove",
            &p.identity,
            serde_json::json!({}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
