//! The operator CLI: verbs that mirror the Teams cmdlets, talking to the REST API
//! (`docs/api.md`) of a running gateway.
//!
//! Every verb prints aligned text (`--output table`, the default) or the server's JSON
//! (`--output json`). Exit codes: 0 success, 2 a 4xx answer or a usage error, 1 a
//! connection failure or a 5xx answer, 3 `cvi explain` decided to reject the call.

mod audit;
mod consent;
mod explain;
mod federation;
mod group;
mod http;
mod interop;
mod meeting;
mod output;
mod policy;
mod provider;
mod tenant;
mod token;
mod user;

use std::process::ExitCode;

pub(crate) use output::OutputFormat;

/// Where the gateway is and how to talk to it. Every argument is global, so it may come
/// before or after the verb.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct ClientOpts {
    /// Base URL of the gateway's HTTP API.
    #[arg(
        long,
        env = "CVI_SERVER",
        default_value = "http://127.0.0.1:8080",
        global = true
    )]
    pub(crate) server: String,
    /// Bearer token: the operator token or a tenant-admin token.
    #[arg(long, env = "CVI_TOKEN", global = true, hide_env_values = true)]
    pub(crate) token: Option<String>,
    /// How to print answers.
    #[arg(long, value_enum, default_value = "table", global = true)]
    pub(crate) output: OutputFormat,
}

/// The operator verbs.
#[derive(clap::Subcommand, Debug)]
pub(crate) enum ClientCommand {
    /// Create or show tenants.
    #[command(subcommand)]
    Tenant(tenant::TenantCmd),
    /// Create, change or show users (CsOnlineUser).
    #[command(subcommand)]
    User(user::UserCmd),
    /// Create or show groups.
    #[command(subcommand)]
    Group(group::GroupCmd),
    /// Video interop service providers (New/Set/Get/Remove-CsVideoInteropServiceProvider).
    #[command(subcommand)]
    Provider(provider::ProviderCmd),
    /// Policy instances and grants (Get/Grant-Cs*Policy).
    #[command(subcommand)]
    Policy(policy::PolicyCmd),
    /// Tenant admin consent to a provider's application permissions.
    #[command(subcommand)]
    Consent(consent::ConsentCmd),
    /// Online meetings and their VTC coordinates.
    #[command(subcommand)]
    Meeting(meeting::MeetingCmd),
    /// Show what the gateway would do with an INVITE to a dial string, check by check.
    /// Exit code 0 for IVR or join, 3 for a rejection.
    Explain(explain::ExplainArgs),
    /// TeamsInteropPolicy routing of a call or chat.
    #[command(subcommand)]
    Interop(interop::InteropCmd),
    /// ACS federation configuration and checks.
    #[command(subcommand)]
    Federation(federation::FederationCmd),
    /// Tenant-admin tokens.
    #[command(subcommand)]
    Token(token::TokenCmd),
    /// The audit log, newest first.
    Audit(audit::AuditArgs),
}

/// Runs one verb. Errors are printed to stderr here and turned into the exit code; the
/// `Err` case is reserved for failures before any request (it does not happen today).
pub(crate) async fn run(opts: &ClientOpts, cmd: ClientCommand) -> anyhow::Result<ExitCode> {
    let api = match http::Api::new(opts) {
        Ok(api) => api,
        Err(e) => return Ok(report(&e)),
    };
    let out = opts.output;
    let result = match cmd {
        ClientCommand::Tenant(c) => tenant::run(&api, out, c).await,
        ClientCommand::User(c) => user::run(&api, out, c).await,
        ClientCommand::Group(c) => group::run(&api, out, c).await,
        ClientCommand::Provider(c) => provider::run(&api, out, c).await,
        ClientCommand::Policy(c) => policy::run(&api, out, c).await,
        ClientCommand::Consent(c) => consent::run(&api, out, c).await,
        ClientCommand::Meeting(c) => meeting::run(&api, out, c).await,
        ClientCommand::Explain(a) => explain::run(&api, out, a).await,
        ClientCommand::Interop(c) => interop::run(&api, out, c).await,
        ClientCommand::Federation(c) => federation::run(&api, out, c).await,
        ClientCommand::Token(c) => token::run(&api, out, c).await,
        ClientCommand::Audit(a) => audit::run(&api, out, a).await,
    };
    Ok(match result {
        Ok(code) => code,
        Err(e) => report(&e),
    })
}

/// Prints an error to stderr and picks the exit code: 2 for 4xx answers and usage errors,
/// 1 for everything else (connection failures, 5xx, unreadable answers).
fn report(e: &anyhow::Error) -> ExitCode {
    if let Some(api) = e.downcast_ref::<http::ApiError>() {
        eprintln!("error: {api}");
        return ExitCode::from(api.exit_code());
    }
    if let Some(u) = e.downcast_ref::<UsageError>() {
        eprintln!("error: {u}");
        return ExitCode::from(2);
    }
    eprintln!("error: {e:#}");
    ExitCode::from(1)
}

/// A mistake in the command line that clap's parsing could not catch.
#[derive(Debug)]
pub(crate) struct UsageError(pub(crate) String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

pub(crate) fn usage(msg: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(UsageError(msg.into()))
}

/// Splits a list given on the command line: `;`-separated like the cmdlets' arrays, `,`
/// accepted too. Items are trimmed; empty items are dropped, so `''` is the empty list.
pub(crate) fn split_list(s: &str) -> Vec<String> {
    s.split([';', ','])
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

/// `--tenant`: the tenant's GUID or unique name (also `CVI_TENANT`).
#[derive(clap::Args, Debug, Clone, PartialEq, Eq)]
pub(crate) struct TenantArg {
    /// The tenant: its GUID or unique name.
    #[arg(long, env = "CVI_TENANT")]
    pub(crate) tenant: String,
}

/// A list argument (`a;b` or `a,b`), one command-line value.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct List(pub(crate) Vec<String>);

impl std::str::FromStr for List {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(List(split_list(s)))
    }
}

#[cfg(test)]
mod tests;
