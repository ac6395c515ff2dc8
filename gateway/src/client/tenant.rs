//! `cvi tenant new|get`.

use super::List;
use super::http::Api;
use super::output::{self, OutputFormat};
use serde_json::{Value, json};
use std::process::ExitCode;

#[derive(clap::Subcommand, Debug, PartialEq, Eq)]
pub(crate) enum TenantCmd {
    /// Create a tenant (operator).
    New {
        #[arg(long)]
        name: String,
        /// Verified domains, `a.com;b.com`.
        #[arg(long)]
        verified_domains: Option<List>,
    },
    /// Show one tenant, or every tenant the token sees.
    Get {
        /// The tenant's GUID or name; all tenants when left out.
        #[arg(long, env = "CVI_TENANT")]
        tenant: Option<String>,
    },
}

pub(crate) async fn run(api: &Api, out: OutputFormat, cmd: TenantCmd) -> anyhow::Result<ExitCode> {
    let v = match cmd {
        TenantCmd::New {
            name,
            verified_domains,
        } => {
            let mut body = json!({ "name": name });
            if let Some(d) = verified_domains {
                body["verifiedDomains"] = json!(d.0);
            }
            api.post(&["tenants"], &body).await?
        }
        TenantCmd::Get { tenant: Some(t) } => api.get(&["tenants", &t], &[]).await?,
        TenantCmd::Get { tenant: None } => api.get(&["tenants"], &[]).await?,
    };
    output::emit(out, &v, table);
    Ok(ExitCode::SUCCESS)
}

fn table(v: &Value) -> String {
    output::list(
        v,
        &[
            ("id", "id"),
            ("name", "name"),
            ("verified domains", "verifiedDomains"),
            ("created", "createdAt"),
        ],
    )
}
