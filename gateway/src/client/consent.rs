//! `cvi consent grant|revoke|get`: the tenant admin's consent to a provider's application.

use super::http::Api;
use super::output::{self, OutputFormat};
use super::{List, TenantArg};
use serde_json::{Value, json};
use std::process::ExitCode;

#[derive(clap::Subcommand, Debug, PartialEq, Eq)]
pub(crate) enum ConsentCmd {
    /// Consent to an application's permissions (default: the four CVI permissions).
    Grant {
        #[command(flatten)]
        tenant: TenantArg,
        /// The AAD application ID (a GUID).
        #[arg(long)]
        app_id: String,
        /// Permissions, `a;b`; the server's default when left out.
        #[arg(long)]
        permissions: Option<List>,
    },
    /// Withdraw the consent to an application.
    Revoke {
        #[command(flatten)]
        tenant: TenantArg,
        #[arg(long)]
        app_id: String,
    },
    /// Show the tenant's consents, or the one to an application.
    Get {
        #[command(flatten)]
        tenant: TenantArg,
        #[arg(long)]
        app_id: Option<String>,
    },
}

pub(crate) async fn run(api: &Api, out: OutputFormat, cmd: ConsentCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        ConsentCmd::Grant {
            tenant,
            app_id,
            permissions,
        } => {
            let mut body = json!({ "appId": app_id });
            if let Some(p) = permissions {
                body["permissions"] = json!(p.0);
            }
            let v = api
                .post(&["tenants", &tenant.tenant, "consents"], &body)
                .await?;
            output::emit(out, &v, table);
        }
        ConsentCmd::Revoke { tenant, app_id } => {
            let v = api
                .delete(&["tenants", &tenant.tenant, "consents", &app_id])
                .await?;
            output::emit(out, &v, |_| {
                format!("revoked the consent to application {app_id}\n")
            });
        }
        ConsentCmd::Get { tenant, app_id } => {
            let mut v = api
                .get(&["tenants", &tenant.tenant, "consents"], &[])
                .await?;
            if let (Some(id), Value::Array(a)) = (&app_id, &mut v) {
                a.retain(|c| {
                    c["appId"]
                        .as_str()
                        .is_some_and(|x| x.eq_ignore_ascii_case(id))
                });
                if a.is_empty() {
                    eprintln!(
                        "error: tenant '{}' has not consented to application {id}",
                        tenant.tenant
                    );
                    return Ok(ExitCode::from(2));
                }
            }
            output::emit(out, &v, table);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn table(v: &Value) -> String {
    output::list(
        v,
        &[
            ("app id", "appId"),
            ("permissions", "permissions"),
            ("granted at", "grantedAt"),
            ("granted by", "grantedBy"),
        ],
    )
}
