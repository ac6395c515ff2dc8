//! `cvi federation config get|set` and `cvi federation check` (ACS federation).

use super::http::Api;
use super::output::{self, OutputFormat};
use super::{List, TenantArg};
use serde_json::{Value, json};
use std::process::ExitCode;

#[derive(clap::Subcommand, Debug, PartialEq, Eq)]
pub(crate) enum FederationCmd {
    /// The tenant's federation configuration.
    #[command(subcommand)]
    Config(ConfigCmd),
    /// Whether an ACS resource's users may reach a Teams user.
    Check {
        #[command(flatten)]
        tenant: TenantArg,
        /// The Teams user's principal name.
        #[arg(long)]
        user: String,
        /// The ACS resource ID.
        #[arg(long)]
        resource: String,
    },
}

#[derive(clap::Subcommand, Debug, PartialEq, Eq)]
pub(crate) enum ConfigCmd {
    /// Show the configuration.
    Get {
        #[command(flatten)]
        tenant: TenantArg,
    },
    /// Change the configuration: the given settings change, the others are kept.
    Set {
        #[command(flatten)]
        tenant: TenantArg,
        /// Allow ACS users (`--enable-acs-users` alone means true).
        #[arg(long, num_args = 0..=1, default_missing_value = "true", require_equals = false)]
        enable_acs_users: Option<bool>,
        /// Allowed ACS resource IDs, `a;b` (`''` for none).
        #[arg(long)]
        allowed_acs_resources: Option<List>,
    },
}

pub(crate) async fn run(
    api: &Api,
    out: OutputFormat,
    cmd: FederationCmd,
) -> anyhow::Result<ExitCode> {
    let v = match cmd {
        FederationCmd::Config(ConfigCmd::Get { tenant }) => {
            api.get(
                &["tenants", &tenant.tenant, "federation", "configuration"],
                &[],
            )
            .await?
        }
        FederationCmd::Config(ConfigCmd::Set {
            tenant,
            enable_acs_users,
            allowed_acs_resources,
        }) => {
            if enable_acs_users.is_none() && allowed_acs_resources.is_none() {
                return Err(super::usage(
                    "federation config set: give --enable-acs-users and/or --allowed-acs-resources",
                ));
            }
            let path = [
                "tenants",
                tenant.tenant.as_str(),
                "federation",
                "configuration",
            ];
            // PUT replaces the whole configuration: start from the current one.
            let current = api.get(&path, &[]).await?;
            let body = merge_config(&current, enable_acs_users, allowed_acs_resources);
            api.put(&path, &body).await?
        }
        FederationCmd::Check {
            tenant,
            user,
            resource,
        } => {
            let body = json!({ "user": user, "resource": resource });
            api.post(&["tenants", &tenant.tenant, "federation", "check"], &body)
                .await?
        }
    };
    output::emit(out, &v, output::object);
    Ok(ExitCode::SUCCESS)
}

/// The full configuration to PUT: `current` with the given settings replaced.
pub(crate) fn merge_config(
    current: &Value,
    enable: Option<bool>,
    resources: Option<List>,
) -> Value {
    let enable = enable.unwrap_or_else(|| current["enableAcsUsers"].as_bool().unwrap_or(false));
    let resources = match resources {
        Some(l) => json!(l.0),
        None => current
            .get("allowedAcsResources")
            .filter(|x| x.is_array())
            .cloned()
            .unwrap_or_else(|| json!([])),
    };
    json!({ "enableAcsUsers": enable, "allowedAcsResources": resources })
}
