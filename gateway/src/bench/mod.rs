//! `cvi bench …`: load generators run by hand against a running gateway (see BENCHMARKS.md
//! and scripts/bench-sip). They print figures and assert nothing; the exit status is
//! non-zero only when the bench itself could not run.

mod meeting;
mod sip;
mod stats;

use crate::client::OutputFormat;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub(crate) struct BenchArgs {
    #[command(subcommand)]
    cmd: BenchCommand,
}

#[derive(clap::Subcommand, Debug)]
enum BenchCommand {
    /// SIP UAC load over UDP: INVITEs (accepted or rejected calls) or OPTIONS at a fixed rate.
    Sip(sip::SipArgs),
    /// Embedded-meeting load: VTCs over SIP/RTP and str0m browsers in meetings, gateway CPU,
    /// memory and latency (or, with --reference, the bare GStreamer pipeline alone).
    Meeting(meeting::MeetingArgs),
}

pub(crate) async fn run(args: BenchArgs, output: OutputFormat) -> anyhow::Result<ExitCode> {
    match args.cmd {
        BenchCommand::Sip(a) => sip::run(a, output).await,
        BenchCommand::Meeting(a) => meeting::run(a, output).await,
    }
}
