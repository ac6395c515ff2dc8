//! `cvi user new|set|get` (New/Set/Get-CsOnlineUser).

use super::http::Api;
use super::output::{self, OutputFormat};
use super::{List, TenantArg};
use serde_json::{Map, Value, json};
use std::process::ExitCode;

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Homing {
    #[value(name = "online")]
    Online,
    #[value(name = "onPremises")]
    OnPremises,
}

impl Homing {
    fn as_str(self) -> &'static str {
        match self {
            Homing::Online => "online",
            Homing::OnPremises => "onPremises",
        }
    }
}

/// The fields `new` and `set` share.
#[derive(clap::Args, Debug, Clone, PartialEq, Eq)]
pub(crate) struct UserFields {
    #[arg(long)]
    display_name: Option<String>,
    /// Group names, `g1;g2` (`''` for none).
    #[arg(long)]
    groups: Option<List>,
    #[arg(long, value_enum)]
    homing: Option<Homing>,
    /// `true` or `false`.
    #[arg(long)]
    hybrid_voice: Option<bool>,
}

impl UserFields {
    fn into_body(self, mut body: Map<String, Value>) -> Map<String, Value> {
        if let Some(d) = self.display_name {
            body.insert("displayName".into(), json!(d));
        }
        if let Some(g) = self.groups {
            body.insert("groups".into(), json!(g.0));
        }
        if let Some(h) = self.homing {
            body.insert("homing".into(), json!(h.as_str()));
        }
        if let Some(h) = self.hybrid_voice {
            body.insert("hybridVoice".into(), json!(h));
        }
        body
    }
}

#[cfg(test)]
pub(crate) fn fields_body_for_tests(f: UserFields) -> Map<String, Value> {
    f.into_body(Map::new())
}

#[derive(clap::Subcommand, Debug, PartialEq, Eq)]
pub(crate) enum UserCmd {
    /// Create a user.
    New {
        #[command(flatten)]
        tenant: TenantArg,
        /// The user principal name.
        #[arg(long)]
        identity: String,
        #[command(flatten)]
        fields: UserFields,
    },
    /// Change a user: only the given fields change.
    Set {
        #[command(flatten)]
        tenant: TenantArg,
        #[arg(long)]
        identity: String,
        #[command(flatten)]
        fields: UserFields,
        /// `true` or `false`.
        #[arg(long)]
        deprovisioned: Option<bool>,
    },
    /// Show one user, or all of the tenant's users.
    Get {
        #[command(flatten)]
        tenant: TenantArg,
        #[arg(long)]
        identity: Option<String>,
    },
}

pub(crate) async fn run(api: &Api, out: OutputFormat, cmd: UserCmd) -> anyhow::Result<ExitCode> {
    let v = match cmd {
        UserCmd::New {
            tenant,
            identity,
            fields,
        } => {
            let mut body = Map::new();
            body.insert("userPrincipalName".into(), json!(identity));
            let body = Value::Object(fields.into_body(body));
            api.post(&["tenants", &tenant.tenant, "users"], &body)
                .await?
        }
        UserCmd::Set {
            tenant,
            identity,
            fields,
            deprovisioned,
        } => {
            let mut body = fields.into_body(Map::new());
            if let Some(d) = deprovisioned {
                body.insert("deprovisioned".into(), json!(d));
            }
            if body.is_empty() {
                return Err(super::usage("user set: give at least one field to change"));
            }
            api.patch(
                &["tenants", &tenant.tenant, "users", &identity],
                &Value::Object(body),
            )
            .await?
        }
        UserCmd::Get {
            tenant,
            identity: Some(id),
        } => {
            api.get(&["tenants", &tenant.tenant, "users", &id], &[])
                .await?
        }
        UserCmd::Get {
            tenant,
            identity: None,
        } => api.get(&["tenants", &tenant.tenant, "users"], &[]).await?,
    };
    output::emit(out, &v, table);
    Ok(ExitCode::SUCCESS)
}

fn table(v: &Value) -> String {
    output::list(
        v,
        &[
            ("identity", "userPrincipalName"),
            ("display name", "displayName"),
            ("groups", "groups"),
            ("homing", "homing"),
            ("hybrid voice", "hybridVoice"),
            ("deprovisioned", "deprovisioned"),
        ],
    )
}
