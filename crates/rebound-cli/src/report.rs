//! `rebound report`: what a campaign (or a whole tenant) did over a time range
//! (SPEC §5): attempted (billed), delivered, bounced by category, reason and
//! receiving domain, complaints, auto-replies, unsubscribes, skipped by reason
//! (never billed), every outcome per recipient domain, and the bounce and complaint
//! rates that mailbox providers watch.
//!
//! `--format json` (the default, whether or not standard output is a terminal, so
//! that scripts read the same thing everywhere) prints one JSON object, the same as
//! `GET /v1/reports`; `--format table` prints the same numbers aligned for people.

use crate::store::parse_time;
use anyhow::{Result, anyhow, bail};
use rebound_store::Ts;
use std::path::Path;
use std::process::ExitCode;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One JSON object (stable field names, for scripts).
    Json,
    /// Aligned columns, for people.
    Table,
}

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    tenant: String,
    /// One campaign (default: everything the tenant sent).
    #[arg(long)]
    campaign: Option<String>,
    /// Start of the range, RFC 3339, inclusive (default: the beginning).
    #[arg(long, alias = "from")]
    since: Option<String>,
    /// End of the range, RFC 3339, inclusive (default: the end).
    #[arg(long, alias = "to")]
    until: Option<String>,
    /// json (default) or table.
    #[arg(long, value_enum, default_value = "json")]
    format: Format,
}

pub fn run(args: Args, data: &Path) -> Result<ExitCode> {
    let time = |s: &Option<String>, default: Ts| -> Result<Ts> {
        s.as_deref()
            .map_or(Ok(default), |s| parse_time(s).map_err(|e| anyhow!(e)))
    };
    let from = time(&args.since, Ts::MIN)?;
    let to = time(&args.until, Ts::MAX)?;
    if from > to {
        bail!("--since is after --until: the range is empty");
    }
    let mut store = crate::store::open(data)?;
    let r = store.report(&args.tenant, args.campaign.as_deref(), from, to)?;

    let report = rebound_pipeline::summary::report_json(
        &args.tenant,
        args.campaign.as_deref(),
        args.since.as_deref(),
        args.until.as_deref(),
        &r,
    );
    match args.format {
        Format::Json => println!("{report}"),
        Format::Table => print!("{}", rebound_pipeline::summary::report_table(&report)),
    }
    Ok(ExitCode::SUCCESS)
}
