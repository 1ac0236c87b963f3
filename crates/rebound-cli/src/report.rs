//! `rebound report`: what a campaign (or a whole tenant) did over a time range
//! (SPEC §5): attempted, delivered, bounced by category, reason and receiving domain,
//! complaints, auto-replies, unsubscribes, skipped by reason, and the bounce and
//! complaint rates that mailbox providers watch. One JSON object.

use crate::store::parse_time;
use anyhow::{Result, anyhow};
use rebound_store::Ts;
use std::path::Path;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    tenant: String,
    /// One campaign (default: everything the tenant sent).
    #[arg(long)]
    campaign: Option<String>,
    /// Start of the range, RFC 3339, inclusive (default: the beginning).
    #[arg(long)]
    from: Option<String>,
    /// End of the range, RFC 3339, inclusive (default: the end).
    #[arg(long)]
    to: Option<String>,
}

pub fn run(args: Args, data: &Path) -> Result<ExitCode> {
    let time = |s: &Option<String>, default: Ts| -> Result<Ts> {
        s.as_deref()
            .map_or(Ok(default), |s| parse_time(s).map_err(|e| anyhow!(e)))
    };
    let from = time(&args.from, Ts::MIN)?;
    let to = time(&args.to, Ts::MAX)?;
    let mut store = crate::store::open(data)?;
    let r = store.report(&args.tenant, args.campaign.as_deref(), from, to)?;

    let report = rebound_pipeline::summary::report_json(
        &args.tenant,
        args.campaign.as_deref(),
        args.from.as_deref(),
        args.to.as_deref(),
        &r,
    );
    println!("{report}");
    Ok(ExitCode::SUCCESS)
}
