//! `rebound gate`: recipients in, one `send`/`skip` decision per line out (SPEC §4,
//! §8).
//!
//! Streaming: what the decisions depend on (the tenant, the campaign, the addresses
//! that are not plainly active, confirmed non-existent domains, recent sends when a
//! frequency cap applies) is read once; the list itself flows from standard input to
//! standard output and is never held. Each `send` is recorded as an attempt and
//! skips are counted by reason (unless `--dry-run`); decisions are written only after the attempts behind them have
//! committed, in batches, or when the input pauses, so every printed `send` is
//! counted by frequency capping and reports.
//!
//! `--at` moves the clock of the decision (rest windows, frequency windows), not the
//! history: the stored state already holds every event ingested, including any
//! dated after `--at`. Tests and what-if checks move time forward, which is exact.

use crate::lines::next_line;
use crate::store::{ChannelArg, at_or_now};
use anyhow::Result;
use rebound_pipeline::gate::Gate;
use rebound_policy::SkipReason;
use rebound_store::{Attempt, Channel, Skip, Store};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::{self, BufReader, BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;

/// Decisions per transaction at most.
const BATCH: usize = 1000;

#[derive(clap::Args)]
pub struct Args {
    /// The sending tenant.
    #[arg(long)]
    tenant: String,
    /// The campaign the send belongs to (checked for a stop; attempts are recorded under it).
    #[arg(long)]
    campaign: Option<String>,
    #[arg(long, value_enum, default_value = "email")]
    channel: ChannelArg,
    /// Decide as of this RFC 3339 time instead of now.
    #[arg(long)]
    at: Option<String>,
    /// Decide only: record no attempts.
    #[arg(long)]
    dry_run: bool,
}

#[derive(Serialize)]
struct Decision<'a> {
    recipient: &'a str,
    decision: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
}

struct Pending<'a> {
    store: &'a mut dyn Store,
    attempts: Vec<Attempt>,
    /// Skips since the last flush, by reason (counted for reports, never billed).
    skips: BTreeMap<&'static str, u64>,
    /// Where skips are recorded: `None` on a dry run.
    skip_template: Option<Skip>,
    out: Vec<u8>,
}

impl Pending<'_> {
    fn flush(&mut self, w: &mut impl Write) -> Result<()> {
        let skips: Vec<Skip> = match &self.skip_template {
            Some(t) => self
                .skips
                .iter()
                .map(|(reason, &count)| Skip {
                    reason: reason.to_string(),
                    count,
                    ..t.clone()
                })
                .collect(),
            None => Vec::new(),
        };
        if !self.attempts.is_empty() || !skips.is_empty() {
            self.store.record_gate(&self.attempts, &skips)?;
            self.attempts.clear();
        }
        self.skips.clear();
        w.write_all(&self.out)?;
        self.out.clear();
        w.flush()?;
        Ok(())
    }
}

pub fn run(args: Args, data: &Path) -> Result<ExitCode> {
    let mut store = crate::store::open(data)?;
    let at = at_or_now(args.at.as_deref())?;
    let channel = Channel::from(args.channel);
    let snap = store.gate_snapshot(&args.tenant, channel, args.campaign.as_deref(), at)?;
    let mut gate = Gate::new(snap, channel, args.campaign.clone(), at);
    let mut pending = Pending {
        store: &mut *store,
        attempts: Vec::new(),
        skips: BTreeMap::new(),
        skip_template: (!args.dry_run).then(|| Skip {
            tenant: args.tenant.clone(),
            campaign: args.campaign.clone(),
            channel,
            at,
            reason: String::new(),
            count: 0,
        }),
        out: Vec::with_capacity(1 << 16),
    };
    let stdout = io::stdout();
    let mut w = BufWriter::new(stdout.lock());
    let mut reader = BufReader::with_capacity(1 << 16, io::stdin().lock());
    let mut buf = Vec::new();
    loop {
        let mut failed = None;
        let more = next_line(&mut reader, &mut buf, || {
            if failed.is_none()
                && let Err(e) = pending.flush(&mut w)
            {
                failed = Some(e);
            }
        })?;
        if let Some(e) = failed {
            return Err(e);
        }
        if !more {
            break;
        }
        let raw = String::from_utf8_lossy(&buf);
        let recipient = raw.trim();
        if recipient.is_empty() {
            continue;
        }
        let skip: Option<SkipReason> = match gate.decide(recipient) {
            Ok(attempt) => {
                if !args.dry_run {
                    pending.attempts.push(attempt);
                }
                None
            }
            Err(reason) => {
                *pending.skips.entry(reason.as_str()).or_default() += 1;
                Some(reason)
            }
        };
        serde_json::to_writer(
            &mut pending.out,
            &Decision {
                recipient,
                decision: if skip.is_some() { "skip" } else { "send" },
                reason: skip.map(SkipReason::as_str),
            },
        )?;
        pending.out.push(b'\n');
        if pending.out.len() >= 1 << 20 || pending.attempts.len() >= BATCH {
            pending.flush(&mut w)?;
        }
    }
    pending.flush(&mut w)?;
    Ok(ExitCode::SUCCESS)
}
