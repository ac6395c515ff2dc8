//! `cvi group new|get`.

use super::TenantArg;
use super::http::Api;
use super::output::{self, OutputFormat};
use serde_json::{Value, json};
use std::process::ExitCode;

#[derive(clap::Subcommand, Debug, PartialEq, Eq)]
pub(crate) enum GroupCmd {
    /// Create a group.
    New {
        #[command(flatten)]
        tenant: TenantArg,
        #[arg(long)]
        name: String,
        #[arg(long)]
        display_name: Option<String>,
    },
    /// Show the tenant's groups, or one of them.
    Get {
        #[command(flatten)]
        tenant: TenantArg,
        #[arg(long)]
        name: Option<String>,
    },
}

pub(crate) async fn run(api: &Api, out: OutputFormat, cmd: GroupCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        GroupCmd::New {
            tenant,
            name,
            display_name,
        } => {
            let mut body = json!({ "name": name });
            if let Some(d) = display_name {
                body["displayName"] = json!(d);
            }
            let v = api
                .post(&["tenants", &tenant.tenant, "groups"], &body)
                .await?;
            output::emit(out, &v, table);
        }
        GroupCmd::Get { tenant, name } => {
            let v = api.get(&["tenants", &tenant.tenant, "groups"], &[]).await?;
            let Some(name) = name else {
                output::emit(out, &v, table);
                return Ok(ExitCode::SUCCESS);
            };
            // There is no route for one group: pick it from the list (names are case-insensitive).
            let one = v.as_array().and_then(|a| {
                a.iter().find(|g| {
                    g["name"]
                        .as_str()
                        .is_some_and(|n| n.eq_ignore_ascii_case(&name))
                })
            });
            match one {
                Some(g) => output::emit(out, g, table),
                None => {
                    eprintln!("error: tenant '{}' has no group '{name}'", tenant.tenant);
                    return Ok(ExitCode::from(2));
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn table(v: &Value) -> String {
    output::list(v, &[("name", "name"), ("display name", "displayName")])
}
