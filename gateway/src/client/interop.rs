//! `cvi interop route`: how TeamsInteropPolicy routes a call or chat to a user.

use super::TenantArg;
use super::http::Api;
use super::output::{self, OutputFormat};
use serde_json::json;
use std::process::ExitCode;

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// Skype for Business.
    #[value(name = "sfb")]
    Sfb,
    #[value(name = "teams")]
    Teams,
    #[value(name = "pstn")]
    Pstn,
    #[value(name = "federated")]
    Federated,
}

impl Origin {
    fn as_str(self) -> &'static str {
        match self {
            Origin::Sfb => "sfb",
            Origin::Teams => "teams",
            Origin::Pstn => "pstn",
            Origin::Federated => "federated",
        }
    }
}

#[derive(clap::Subcommand, Debug, PartialEq, Eq)]
pub(crate) enum InteropCmd {
    /// Where a call or chat from `--from` to `--user` lands.
    Route {
        #[command(flatten)]
        tenant: TenantArg,
        /// The receiving user's principal name.
        #[arg(long)]
        user: String,
        /// Where the call or chat comes from.
        #[arg(long, value_enum)]
        from: Origin,
    },
}

pub(crate) async fn run(api: &Api, out: OutputFormat, cmd: InteropCmd) -> anyhow::Result<ExitCode> {
    let InteropCmd::Route { tenant, user, from } = cmd;
    let body = json!({ "user": user, "from": from.as_str() });
    let v = api
        .post(&["tenants", &tenant.tenant, "interop", "route"], &body)
        .await?;
    output::emit(out, &v, output::object);
    Ok(ExitCode::SUCCESS)
}
