//! `rebound parse`: bounce messages in, one JSON object per recipient out (SPEC §8).
//! (Being written: see crates/rebound-decode.)

use anyhow::Result;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// Output format: native or sisimai.
    #[arg(long, default_value = "native")]
    format: String,
    /// Files, directories (maildir), mbox files, or - for standard input.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let _ = (&args.format, &args.paths);
    anyhow::bail!("rebound parse is not built yet")
}
