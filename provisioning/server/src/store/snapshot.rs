//! Loads the rows one decision can touch, in one read transaction, so every decision sees
//! the latest committed writes of every node (no cache to go stale).

use super::{Result, Store, consents, grants, meetings, providers, users};
use cvi_provisioning::decide::Snapshot;
use cvi_provisioning::dial::{self, DialString};
use std::collections::BTreeSet;
use uuid::Uuid;

impl Store {
    /// The snapshot for `request_uri`. `served_domains` are the configured SIP domains; when
    /// empty, the domains of all tenant keys are served. `only_tenant` hides every other
    /// tenant (a tenant admin's `explain`).
    pub async fn snapshot_for(
        &self,
        request_uri: &str,
        served_domains: &[String],
        only_tenant: Option<Uuid>,
    ) -> Result<Snapshot> {
        let mut conn = self.read.begin().await?;
        let served = if served_domains.is_empty() {
            let rows = sqlx::query("SELECT DISTINCT key_domain FROM providers")
                .fetch_all(&mut *conn)
                .await?;
            rows.iter()
                .map(|r| super::get_s(r, "key_domain"))
                .collect::<Result<Vec<_>>>()?
        } else {
            served_domains.to_vec()
        };
        let mut snap = Snapshot::new(served);
        let Ok(uri) = dial::parse_sip_uri(request_uri) else {
            return Ok(snap);
        };
        let Some(user) = uri.user.as_deref() else {
            return Ok(snap);
        };
        let Ok(ds) = dial::parse_dial_string(user, &uri.host) else {
            return Ok(snap);
        };
        let wanted: Vec<(String, Option<String>)> = match ds {
            DialString::Ivr(k) => vec![(k.to_string(), None)],
            DialString::Direct(c) => c
                .into_iter()
                .map(|c| (c.key.to_string(), Some(c.conference_id)))
                .collect(),
        };
        let mut tenants = BTreeSet::new();
        for (key, conf) in wanted {
            let Some(p) = providers::provider_by_key(&mut conn, &key).await? else {
                continue;
            };
            if only_tenant.is_some_and(|t| t != p.tenant_id) {
                continue;
            }
            let t = p.tenant_id;
            if let Some(conf) = conf
                && let Some(m) = meetings::meeting_by_vtc(&mut conn, t, &conf).await?
            {
                if let Some(u) = users::load_user(&mut conn, t, &m.organizer).await? {
                    snap.add_user(u);
                }
                snap.add_meeting(m);
            }
            tenants.insert(t);
        }
        for t in tenants {
            let tenant = sqlx::query("SELECT * FROM tenants WHERE id = $1")
                .bind(t.to_string())
                .fetch_optional(&mut *conn)
                .await?;
            if let Some(r) = tenant {
                snap.add_tenant(cvi_provisioning::model::Tenant {
                    id: t,
                    name: super::get_s(&r, "name")?,
                    verified_domains: super::parse_list(&super::get_s(&r, "verified_domains")?),
                    created_at: super::from_ms(super::get_i(&r, "created_at")?),
                });
            }
            for p in providers::load_providers(&mut conn, t).await? {
                snap.add_provider(p);
            }
            for g in grants::load_grants(&mut conn, t).await? {
                snap.add_grant(t, g);
            }
            for c in consents::load_consents(&mut conn, t).await? {
                snap.add_consent(c);
            }
        }
        conn.commit().await?;
        Ok(snap)
    }
}
