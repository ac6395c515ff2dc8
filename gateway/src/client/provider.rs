//! `cvi provider new|set|get|remove` (New/Set/Get/Remove-CsVideoInteropServiceProvider).

use super::http::Api;
use super::output::{self, OutputFormat};
use super::{List, TenantArg};
use serde_json::{Map, Value, json};
use std::process::ExitCode;

/// The provider's settings; on `set` only the given ones change.
#[derive(clap::Args, Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProviderFields {
    /// The tenant key, `local@domain` (e.g. `813878896@t.plcm.vc`).
    #[arg(long)]
    tenant_key: Option<String>,
    /// AAD application IDs (GUIDs), `a;b`.
    #[arg(long)]
    aad_application_ids: Option<List>,
    /// https URL of the alternate dialing instructions; `''` clears it.
    #[arg(long)]
    instruction_uri: Option<String>,
    /// `true` or `false`.
    #[arg(long)]
    allow_app_guest_joins_as_authenticated: Option<bool>,
    /// IVR prompt language for this provider's callers (`en`, `de`, `fr`, …).
    #[arg(long)]
    language: Option<String>,
}

impl ProviderFields {
    /// The JSON fields that were given; an empty `--instruction-uri` becomes `null`.
    pub(crate) fn body(&self) -> Map<String, Value> {
        let mut b = Map::new();
        if let Some(k) = &self.tenant_key {
            b.insert("tenantKey".into(), json!(k));
        }
        if let Some(a) = &self.aad_application_ids {
            b.insert("aadApplicationIds".into(), json!(a.0));
        }
        if let Some(u) = &self.instruction_uri {
            let u = u.trim();
            b.insert(
                "instructionUri".into(),
                if u.is_empty() { Value::Null } else { json!(u) },
            );
        }
        if let Some(g) = self.allow_app_guest_joins_as_authenticated {
            b.insert("allowAppGuestJoinsAsAuthenticated".into(), json!(g));
        }
        if let Some(l) = &self.language {
            b.insert("language".into(), json!(l));
        }
        b
    }
}

#[derive(clap::Subcommand, Debug, PartialEq, Eq)]
pub(crate) enum ProviderCmd {
    /// Create a provider; its policy `<Identity>ServiceProviderEnabled` appears with it.
    New {
        #[command(flatten)]
        tenant: TenantArg,
        #[arg(long)]
        identity: String,
        #[command(flatten)]
        fields: ProviderFields,
    },
    /// Change a provider: only the given fields are sent.
    Set {
        #[command(flatten)]
        tenant: TenantArg,
        #[arg(long)]
        identity: String,
        #[command(flatten)]
        fields: ProviderFields,
    },
    /// Show one provider, or the tenant's providers (optionally those matching --filter).
    Get {
        #[command(flatten)]
        tenant: TenantArg,
        #[arg(long, conflicts_with = "filter")]
        identity: Option<String>,
        /// A regular expression over identities.
        #[arg(long)]
        filter: Option<String>,
    },
    /// Remove a provider (refused while its policy is granted).
    Remove {
        #[command(flatten)]
        tenant: TenantArg,
        #[arg(long)]
        identity: String,
    },
}

pub(crate) async fn run(
    api: &Api,
    out: OutputFormat,
    cmd: ProviderCmd,
) -> anyhow::Result<ExitCode> {
    let v = match cmd {
        ProviderCmd::New {
            tenant,
            identity,
            fields,
        } => {
            if fields.tenant_key.is_none() {
                return Err(super::usage("provider new: --tenant-key is required"));
            }
            let mut body = fields.body();
            body.insert("identity".into(), json!(identity));
            // A new provider has no instruction URI to clear.
            if body.get("instructionUri").is_some_and(Value::is_null) {
                body.remove("instructionUri");
            }
            api.post(
                &["tenants", &tenant.tenant, "providers"],
                &Value::Object(body),
            )
            .await?
        }
        ProviderCmd::Set {
            tenant,
            identity,
            fields,
        } => {
            let body = fields.body();
            if body.is_empty() {
                return Err(super::usage(
                    "provider set: give at least one field to change",
                ));
            }
            api.patch(
                &["tenants", &tenant.tenant, "providers", &identity],
                &Value::Object(body),
            )
            .await?
        }
        ProviderCmd::Get {
            tenant,
            identity: Some(id),
            ..
        } => {
            api.get(&["tenants", &tenant.tenant, "providers", &id], &[])
                .await?
        }
        ProviderCmd::Get { tenant, filter, .. } => {
            let q: Vec<(&str, String)> = filter.into_iter().map(|f| ("filter", f)).collect();
            api.get(&["tenants", &tenant.tenant, "providers"], &q)
                .await?
        }
        ProviderCmd::Remove { tenant, identity } => {
            api.delete(&["tenants", &tenant.tenant, "providers", &identity])
                .await?;
            if out == OutputFormat::Table {
                println!("removed provider '{identity}'");
            }
            return Ok(ExitCode::SUCCESS);
        }
    };
    output::emit(out, &v, table);
    Ok(ExitCode::SUCCESS)
}

fn table(v: &Value) -> String {
    output::list(
        v,
        &[
            ("identity", "identity"),
            ("tenant key", "tenantKey"),
            ("aad application ids", "aadApplicationIds"),
            ("instruction uri", "instructionUri"),
            (
                "guests as authenticated",
                "allowAppGuestJoinsAsAuthenticated",
            ),
        ],
    )
}
