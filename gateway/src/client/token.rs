//! `cvi token new|list|revoke`: tenant-admin tokens.

use super::TenantArg;
use super::http::Api;
use super::output::{self, OutputFormat};
use serde_json::json;
use std::process::ExitCode;

#[derive(clap::Subcommand, Debug, PartialEq, Eq)]
pub(crate) enum TokenCmd {
    /// Issue a tenant-admin token for one tenant (operator). The token is shown once.
    New {
        #[command(flatten)]
        tenant: TenantArg,
        /// A name to recognize the token by.
        #[arg(long)]
        name: String,
    },
    /// List a tenant's tokens (never their secrets).
    List {
        #[command(flatten)]
        tenant: TenantArg,
    },
    /// Revoke a token by id: its next request gets 401.
    Revoke {
        #[command(flatten)]
        tenant: TenantArg,
        /// The token id (from `token list`).
        #[arg(long)]
        id: String,
    },
}

pub(crate) async fn run(api: &Api, out: OutputFormat, cmd: TokenCmd) -> anyhow::Result<ExitCode> {
    let (tenant, name) = match cmd {
        TokenCmd::New { tenant, name } => (tenant, name),
        TokenCmd::List { tenant } => {
            let v = api.get(&["tenants", &tenant.tenant, "tokens"], &[]).await?;
            output::emit(out, &v, |v| {
                output::list(
                    v,
                    &[
                        ("id", "id"),
                        ("name", "name"),
                        ("role", "role"),
                        ("created", "createdAt"),
                    ],
                )
            });
            return Ok(ExitCode::SUCCESS);
        }
        TokenCmd::Revoke { tenant, id } => {
            api.delete(&["tenants", &tenant.tenant, "tokens", &id])
                .await?;
            if out == OutputFormat::Table {
                println!("revoked {id}");
            }
            return Ok(ExitCode::SUCCESS);
        }
    };
    let v = api
        .post(
            &["tenants", &tenant.tenant, "tokens"],
            &json!({ "name": name }),
        )
        .await?;
    output::emit(out, &v, |v| {
        output::kv(&[
            ("id", Some(output::at(v, "id"))),
            ("name", Some(output::at(v, "name"))),
            ("role", Some(output::at(v, "role"))),
            ("tenant", Some(output::at(v, "tenantId"))),
            ("token", Some(output::at(v, "token"))),
        ])
    });
    if out == OutputFormat::Table {
        eprintln!("The token is shown only once: store it now (use it with --token or CVI_TOKEN).");
    }
    Ok(ExitCode::SUCCESS)
}
