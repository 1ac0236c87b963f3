//! `rebound`: the command-line face of Rebound. Each subcommand lives in its own
//! module; this file only declares the command table and dispatches.

mod classify;
mod lines;
mod parse;
mod rules;
mod vocabulary;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "rebound",
    version,
    about = "Bounce, complaint and suppression engine for email and SMS senders"
)]
struct Cli {
    /// Data directory (also REBOUND_DATA).
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let _ = &cli.data;
    let result = match cli.command {
        Command::Classify(args) => classify::run(args),
        Command::Rules { command } => rules::run(command),
        Command::Parse(args) => parse::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("rebound: {e:#}");
            ExitCode::from(2)
        }
    }
}
