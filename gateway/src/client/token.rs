//! `cvi token new`: issue a tenant-admin token.

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
}

pub(crate) async fn run(api: &Api, out: OutputFormat, cmd: TokenCmd) -> anyhow::Result<ExitCode> {
    let TokenCmd::New { tenant, name } = cmd;
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
