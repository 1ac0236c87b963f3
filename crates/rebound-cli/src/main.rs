//! `rebound`: the command-line face of Rebound. Each subcommand lives in its own
//! module; this file only declares the command table and dispatches.

mod admin;
mod classify;
mod gate;
mod ingest;
mod keys;
mod lines;
mod parse;
mod progress;
mod report;
mod rules;
mod serve;
mod store;
mod suppressions;
mod verp;
mod vocabulary;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// mimalloc rather than the system allocator: decoding a bounce makes many small,
/// short-lived allocations, which glibc's malloc serves at several times the cost
/// (measured with bench/decode-instructions.sh; the benches use it too, so that what
/// they measure is what ships).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "rebound",
    version,
    about = "Bounce, complaint and suppression engine for email and SMS senders"
)]
struct Cli {
    /// Data directory (also REBOUND_DATA); the embedded store is <DATA>/rebound.db.
    /// REBOUND_DATABASE_URL=postgres://... selects PostgreSQL instead.
    #[arg(
        long,
        global = true,
        env = "REBOUND_DATA",
        default_value = "./rebound-data"
    )]
    data: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Classify SMTP replies read from standard input, one per line; one JSON object out per line.
    Classify(classify::Args),
    /// Read bounce messages (.eml, maildir or directory, mbox, or - for stdin); one JSON object per recipient.
    Parse(parse::Args),
    /// Work with classification rule files.
    Rules {
        #[command(subcommand)]
        command: rules::Command,
    },
    /// Store outcome events read from standard input (JSON lines); print a one-line summary.
    Ingest(ingest::Args),
    /// Decide send or skip for recipients read from standard input; one JSON object per line.
    Gate(gate::Args),
    /// Remove an address's block or suppression (recorded: who, when).
    Unblock(admin::AddressArgs),
    /// Undo a domain confirmed non-existent (recorded in its history: who, when).
    UnblockDomain(admin::DomainArgs),
    /// Opt addresses out (recorded: who, when).
    OptOut(admin::AddressArgs),
    /// Opt addresses back in; needs --consent evidence (recorded: who, when, evidence).
    OptIn(admin::OptInArgs),
    /// Campaign actions.
    Campaign {
        #[command(subcommand)]
        command: admin::CampaignCommand,
    },
    /// Counts for a campaign or tenant over a time range, as one JSON object.
    Report(report::Args),
    /// Export a tenant's suppression list as CSV; import Rebound's, SES's, Mailgun's, SendGrid's or Postmark's.
    Suppressions {
        #[command(subcommand)]
        command: suppressions::Command,
    },
    /// Tenant actions: create, policy, restrict, unrestrict.
    Tenant {
        #[command(subcommand)]
        command: admin::TenantCommand,
    },
    /// Run the server: HTTP API, provider webhooks, unsubscribe links, SMTP bounce receiver.
    Serve(serve::Args),
    /// API keys for the HTTP API.
    Keys {
        #[command(subcommand)]
        command: keys::Command,
    },
    /// Signed VERP return paths: encode recipients, decode addresses.
    Verp {
        #[command(subcommand)]
        command: verp::Command,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if !matches!(cli.command, Command::Serve(_)) {
        // A command-line tool whose reader went away (`rebound report | head`)
        // should end quietly, as Unix tools do, not panic in `println!`. What was
        // acknowledged is stored before it is printed, so nothing is lost. The
        // server keeps Rust's default (ignored), so a closed socket is an error
        // on that connection, not the end of the process.
        // SAFETY: restoring the default action of one signal, before any thread
        // is started.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    }
    let data = cli.data.as_path();
    let result = match cli.command {
        Command::Classify(args) => classify::run(args),
        Command::Rules { command } => rules::run(command),
        Command::Parse(args) => parse::run(args),
        Command::Ingest(args) => ingest::run(args, data),
        Command::Gate(args) => gate::run(args, data),
        Command::Unblock(args) => admin::address_action(args, admin::Action::Unblock, data),
        Command::UnblockDomain(args) => admin::unblock_domain(args, data),
        Command::OptOut(args) => admin::address_action(args, admin::Action::OptOut, data),
        Command::OptIn(args) => {
            admin::address_action(args.target, admin::Action::OptIn(args.consent), data)
        }
        Command::Campaign { command } => admin::campaign(command, data),
        Command::Tenant { command } => admin::tenant_cmd(command, data),
        Command::Suppressions { command } => suppressions::run(command, data),
        Command::Report(args) => report::run(args, data),
        Command::Serve(args) => serve::run(args, data),
        Command::Keys { command } => keys::run(command, data),
        Command::Verp { command } => verp::run(command, data),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("rebound: {e:#}");
            ExitCode::from(2)
        }
    }
}
