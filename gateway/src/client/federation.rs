//! `cvi federation config get|set` and `cvi federation check` (ACS federation).

use super::http::Api;
use super::output::{self, OutputFormat};
use super::{List, TenantArg};
use serde_json::{Map, Value, json};
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
        #[arg(long, num_args = 0..=1, default_missing_value = "true")]
        enable_acs_users: Option<bool>,
        /// Allowed ACS resource IDs, `a;b` (`''` for none).
        #[arg(long)]
        allowed_acs_resources: Option<List>,
        /// Allow every ACS resource but the blocked ones (deprecated in Teams).
        #[arg(long, num_args = 0..=1, default_missing_value = "true")]
        allow_all_acs_resources: Option<bool>,
        /// Blocked ACS resource IDs, `a;b` (`''` for none).
        #[arg(long)]
        blocked_acs_resources: Option<List>,
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
            allow_all_acs_resources,
            blocked_acs_resources,
        }) => {
            let changes = Changes {
                enable_acs_users,
                allowed_acs_resources,
                allow_all_acs_resources,
                blocked_acs_resources,
            };
            if changes == Changes::default() {
                return Err(super::usage(
                    "federation config set: give at least one setting to change",
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
            let body = merge_config(&current, changes);
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

/// The settings `federation config set` changes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Changes {
    pub(crate) enable_acs_users: Option<bool>,
    pub(crate) allowed_acs_resources: Option<List>,
    pub(crate) allow_all_acs_resources: Option<bool>,
    pub(crate) blocked_acs_resources: Option<List>,
}

/// The full configuration to PUT: `current` (every field it has) with the changes applied.
pub(crate) fn merge_config(current: &Value, c: Changes) -> Value {
    let mut body = match current {
        Value::Object(m) => m.clone(),
        _ => Map::new(),
    };
    let mut set = |k: &str, v: Option<Value>, default: Value| match v {
        Some(v) => {
            body.insert(k.into(), v);
        }
        None => {
            body.entry(k).or_insert(default);
        }
    };
    set(
        "enableAcsUsers",
        c.enable_acs_users.map(Value::from),
        json!(false),
    );
    set(
        "allowedAcsResources",
        c.allowed_acs_resources.map(|l| json!(l.0)),
        json!([]),
    );
    if let Some(a) = c.allow_all_acs_resources {
        body.insert("allowAllAcsResources".into(), json!(a));
    }
    if let Some(l) = c.blocked_acs_resources {
        body.insert("blockedAcsResources".into(), json!(l.0));
    }
    Value::Object(body)
}
