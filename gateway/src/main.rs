//! `cvi`: the cvi-gateway binary — the gateway itself (`serve`, `demo`) and the operator CLI
//! that talks to a running gateway's REST API.

mod bench;
mod calls_api;
mod client;
mod config;
mod demo;
mod serve;
mod sip;

use clap::{Parser, Subcommand, ValueEnum};
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "cvi",
    version,
    about = "Cloud Video Interop gateway: SIP video endpoints into WebRTC meetings"
)]
struct Cli {
    /// Log format.
    #[arg(
        long,
        value_enum,
        env = "CVI_LOG_FORMAT",
        default_value = "human",
        global = true
    )]
    log_format: LogFormat,
    #[command(flatten)]
    client: client::ClientOpts,
    #[command(subcommand)]
    command: Command,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    Human,
    Json,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the gateway.
    Serve(config::ServeArgs),
    /// Run the gateway with a demo tenant, provider, organizer and meeting.
    Demo(demo::DemoArgs),
    /// Load generators against a running gateway (`cvi bench sip …`).
    Bench(bench::BenchArgs),
    #[command(flatten)]
    Client(client::ClientCommand),
}

fn init_logs(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("CVI_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Human => b.init(),
        LogFormat::Json => b.json().flatten_event(true).init(),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cvi: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    rt.block_on(async move {
        let result = match cli.command {
            Command::Serve(args) => {
                init_logs(cli.log_format);
                match args.resolve() {
                    Ok(config) => {
                        match cvi_provisioning_server::Store::open(&config.database).await {
                            Ok(store) => {
                                serve::run(config, store).await.map(|()| ExitCode::SUCCESS)
                            }
                            Err(e) => Err(anyhow::anyhow!("opening the database: {e}")),
                        }
                    }
                    Err(e) => Err(e),
                }
            }
            Command::Demo(args) => {
                init_logs(cli.log_format);
                demo::run(args).await.map(|()| ExitCode::SUCCESS)
            }
            Command::Bench(args) => bench::run(args, cli.client.output).await,
            Command::Client(cmd) => client::run(&cli.client, cmd).await,
        };
        match result {
            Ok(code) => code,
            Err(e) => {
                eprintln!("cvi: {e:#}");
                ExitCode::FAILURE
            }
        }
    })
}
