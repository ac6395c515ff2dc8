//! `cvi policy get|grant|grants|effective` (Get/Grant-CsTeamsVideoInteropServicePolicy and
//! the other policy types).

use super::TenantArg;
use super::http::Api;
use super::output::{self, OutputFormat};
use serde_json::{Value, json};
use std::process::ExitCode;

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum PolicyType {
    /// TeamsVideoInteropServicePolicy.
    #[default]
    #[value(name = "videoInterop")]
    VideoInterop,
    /// TeamsInteropPolicy.
    #[value(name = "teamsInterop")]
    TeamsInterop,
    /// External access policy (ACS federation).
    #[value(name = "externalAccess")]
    ExternalAccess,
}

impl PolicyType {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            PolicyType::VideoInterop => "videoInterop",
            PolicyType::TeamsInterop => "teamsInterop",
            PolicyType::ExternalAccess => "externalAccess",
        }
    }
}

/// Who receives a grant: exactly one of a user, a group (with its rank) or the tenant.
#[derive(clap::Args, Debug, Clone, PartialEq, Eq)]
#[group(required = true, multiple = false, id = "grantee")]
pub(crate) struct GranteeArgs {
    /// A user principal name.
    #[arg(long)]
    identity: Option<String>,
    /// A group; granting needs --rank (lower wins when a user is in several groups).
    #[arg(long)]
    group: Option<String>,
    /// The tenant-wide (Global) grant.
    #[arg(long)]
    global: bool,
}

#[derive(clap::Subcommand, Debug, PartialEq, Eq)]
pub(crate) enum PolicyCmd {
    /// Show the policy instances of a type, or one of them.
    Get {
        #[command(flatten)]
        tenant: TenantArg,
        #[arg(long = "type", value_enum, default_value = "videoInterop")]
        policy_type: PolicyType,
        #[arg(long)]
        policy_name: Option<String>,
    },
    /// Grant a policy to a user, a group or the tenant; `--policy-name none` removes the grant.
    Grant {
        #[command(flatten)]
        tenant: TenantArg,
        #[arg(long = "type", value_enum, default_value = "videoInterop")]
        policy_type: PolicyType,
        /// The policy instance, e.g. `PolycomServiceProviderEnabled`; `none` removes.
        #[arg(long)]
        policy_name: String,
        #[command(flatten)]
        grantee: GranteeArgs,
        /// The group grant's rank.
        #[arg(long, conflicts_with_all = ["identity", "global"])]
        rank: Option<u32>,
    },
    /// Create or change a custom external access policy (also `Global`); the other types
    /// are preconstructed and read-only.
    Set {
        #[command(flatten)]
        tenant: TenantArg,
        #[arg(long)]
        policy_name: String,
        /// `true` or `false`.
        #[arg(long, action = clap::ArgAction::Set)]
        enable_acs_federation_access: bool,
    },
    /// List the tenant's grants.
    Grants {
        #[command(flatten)]
        tenant: TenantArg,
        #[arg(long = "type", value_enum)]
        policy_type: Option<PolicyType>,
    },
    /// A user's effective policy of every type, and where it comes from.
    Effective {
        #[command(flatten)]
        tenant: TenantArg,
        #[arg(long)]
        identity: String,
    },
}

/// The `grantee` object of `POST /grants`. A group grant needs a rank; removing one does
/// not (the server ignores it, so 0 is sent).
pub(crate) fn grantee_json(
    g: &GranteeArgs,
    rank: Option<u32>,
    removing: bool,
) -> Result<Value, String> {
    Ok(match (&g.identity, &g.group) {
        (Some(upn), _) => json!({ "kind": "user", "identity": upn }),
        (None, Some(group)) => {
            let rank = match (rank, removing) {
                (Some(r), _) => r,
                (None, true) => 0,
                (None, false) => return Err("--group needs --rank (lower wins)".into()),
            };
            json!({ "kind": "group", "group": group, "rank": rank })
        }
        (None, None) => json!({ "kind": "global" }),
    })
}

pub(crate) async fn run(api: &Api, out: OutputFormat, cmd: PolicyCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        PolicyCmd::Get {
            tenant,
            policy_type,
            policy_name,
        } => {
            let t = policy_type.as_str();
            let v = match &policy_name {
                Some(n) => {
                    api.get(&["tenants", &tenant.tenant, "policies", t, n], &[])
                        .await?
                }
                None => {
                    api.get(&["tenants", &tenant.tenant, "policies", t], &[])
                        .await?
                }
            };
            output::emit(out, &v, |v| output::list(v, instance_columns(policy_type)));
        }
        PolicyCmd::Grant {
            tenant,
            policy_type,
            policy_name,
            grantee,
            rank,
        } => {
            let name = if policy_name.trim().eq_ignore_ascii_case("none")
                || policy_name.trim().is_empty()
            {
                Value::Null
            } else {
                json!(policy_name.trim())
            };
            let body = json!({
                "policyType": policy_type.as_str(),
                "policyName": name,
                "grantee": grantee_json(&grantee, rank, name.is_null()).map_err(super::usage)?,
            });
            let v = api
                .post(&["tenants", &tenant.tenant, "grants"], &body)
                .await?;
            output::emit(out, &v, |v| {
                if v.is_null() {
                    format!(
                        "removed the {} grant of {}\n",
                        policy_type.as_str(),
                        describe(&body["grantee"])
                            .split(" (rank")
                            .next()
                            .unwrap_or_default()
                    )
                } else {
                    grants_table(v)
                }
            });
        }
        PolicyCmd::Set {
            tenant,
            policy_name,
            enable_acs_federation_access,
        } => {
            let body = json!({ "enableAcsFederationAccess": enable_acs_federation_access });
            let path = [
                "tenants",
                tenant.tenant.as_str(),
                "policies",
                "externalAccess",
                policy_name.as_str(),
            ];
            let v = api.put(&path, &body).await?;
            output::emit(out, &v, |v| {
                output::list(v, instance_columns(PolicyType::ExternalAccess))
            });
        }
        PolicyCmd::Grants {
            tenant,
            policy_type,
        } => {
            let q: Vec<(&str, String)> = policy_type
                .map(|t| ("policyType", t.as_str().to_string()))
                .into_iter()
                .collect();
            let v = api.get(&["tenants", &tenant.tenant, "grants"], &q).await?;
            output::emit(out, &v, grants_table);
        }
        PolicyCmd::Effective { tenant, identity } => {
            let v = api
                .get(
                    &[
                        "tenants",
                        &tenant.tenant,
                        "users",
                        &identity,
                        "effectivePolicies",
                    ],
                    &[],
                )
                .await?;
            output::emit(out, &v, effective_table);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `user alice@contoso.com`, `group eng (rank 1)`, `global`, `default`.
pub(crate) fn describe(g: &Value) -> String {
    match g["kind"].as_str().unwrap_or("-") {
        "user" => format!("user {}", output::at(g, "identity")),
        "group" => format!(
            "group {} (rank {})",
            output::at(g, "group"),
            output::at(g, "rank")
        ),
        k => k.to_string(),
    }
}

/// Columns of the instances of each policy type.
fn instance_columns(t: PolicyType) -> &'static [(&'static str, &'static str)] {
    match t {
        PolicyType::VideoInterop => &[
            ("identity", "identity"),
            ("enabled", "enabled"),
            ("provider", "providerName"),
        ],
        PolicyType::TeamsInterop => &[
            ("identity", "identity"),
            ("calling default client", "callingDefaultClient"),
            ("chat default client", "chatDefaultClient"),
            ("end-user override", "allowEndUserClientOverride"),
        ],
        PolicyType::ExternalAccess => &[
            ("identity", "identity"),
            ("acs federation access", "enableAcsFederationAccess"),
        ],
    }
}

fn grants_table(v: &Value) -> String {
    let items: Vec<&Value> = match v {
        Value::Array(a) => a.iter().collect(),
        other => vec![other],
    };
    if items.is_empty() {
        return "(none)\n".into();
    }
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|g| {
            vec![
                output::at(g, "policyType"),
                output::at(g, "policyName"),
                describe(&g["grantee"]),
            ]
        })
        .collect();
    output::table(&["type", "policy", "grantee"], &rows)
}

fn effective_table(v: &Value) -> String {
    let Some(o) = v.as_object() else {
        return output::object(v);
    };
    let rows: Vec<Vec<String>> = o
        .iter()
        .map(|(t, e)| {
            vec![
                t.clone(),
                output::at(e, "policyName"),
                describe(&e["source"]),
            ]
        })
        .collect();
    output::table(&["type", "policy", "source"], &rows)
}
