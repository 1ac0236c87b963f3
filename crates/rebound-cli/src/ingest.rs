//! `rebound ingest`: outcome events in, one JSON object per line (SPEC §8); a
//! one-line summary out; exit 1 if any line was rejected.
//!
//! Lines are validated one by one (a bad line is rejected with its number and
//! reason, the others go on) and stored in batches, one transaction each, of at most
//! the store's `max_batch` lines, or fewer when standard input would block: a slow producer's lines
//! are committed as they come instead of waiting for a full batch. A line counts as
//! accepted only once its batch has committed (`--ack` reports each commit).
//!
//! Tenants must exist (`rebound tenant create`): a typo in a tenant name must not
//! quietly start a second, empty suppression list.

use crate::lines::{next_line, stdin_would_block};
use crate::progress::{self, Progress};
use anyhow::Result;
use rebound_classify::Scratch;
use rebound_pipeline::event_line::EventLine;
use rebound_store::{Appended, Record, Store, Tenant};
use std::collections::HashMap;
use std::io::{self, BufReader, Write};
use std::path::Path;
use std::process::ExitCode;

/// Rejection reasons kept for the summary (all are printed on standard error).
const SUMMARY_REJECTIONS: usize = 10;

#[derive(clap::Args)]
pub struct Args {
    /// After each durable commit, print `committed through line N` on standard error.
    #[arg(long)]
    ack: bool,
}

struct Ingest<'a> {
    store: &'a mut dyn Store,
    tenants: HashMap<String, Option<Tenant>>,
    scratch: Scratch,
    accepted: u64,
    duplicates: u64,
    rejected: Vec<(u64, String)>,
    rejected_count: u64,
    progress: Progress,
}

pub fn run(args: Args, data: &Path) -> Result<ExitCode> {
    let mut store = crate::store::open(data)?;
    let mut ing = Ingest {
        store: &mut *store,
        tenants: HashMap::new(),
        scratch: Scratch::default(),
        accepted: 0,
        duplicates: 0,
        rejected: Vec::new(),
        rejected_count: 0,
        progress: Progress::bytes("ingesting", progress::stdin_size()),
    };
    // A buffer that holds a full batch: "input would block" is noticed when it runs
    // dry, so a small one would cut batches short on a fast producer.
    let mut reader = BufReader::with_capacity(1 << 20, ing.progress.wrap(io::stdin().lock()));
    let mut buf = Vec::new();
    let mut batch: Vec<(u64, Record)> = Vec::new();
    let mut line_no = 0u64;
    loop {
        // Commit what is pending before waiting for more input, so a slow producer's
        // lines are durable (and acknowledged) as they come.
        let mut failed = None;
        let more = next_line(&mut reader, &mut buf, || {
            if failed.is_none()
                && stdin_would_block()
                && let Err(e) = ing.commit(&mut batch, args.ack)
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
        line_no += 1;
        if !buf.iter().all(u8::is_ascii_whitespace) {
            match ing.record(&buf) {
                Ok(r) => batch.push((line_no, r)),
                Err(why) => ing.reject(line_no, why),
            }
        }
        if batch.len() >= ing.store.max_batch() {
            ing.commit(&mut batch, args.ack)?;
        }
    }
    ing.commit(&mut batch, args.ack)?;
    ing.progress.finish();
    let mut summary = format!("accepted {}", ing.accepted);
    if ing.duplicates > 0 {
        summary += &format!(" ({} already stored)", ing.duplicates);
    }
    summary += &format!(", rejected {}", ing.rejected_count);
    if !ing.rejected.is_empty() {
        let reasons: Vec<String> = ing
            .rejected
            .iter()
            .map(|(n, why)| format!("line {n}: {why}"))
            .collect();
        summary += &format!(" ({}", reasons.join("; "));
        if ing.rejected_count > ing.rejected.len() as u64 {
            summary += &format!("; {} more", ing.rejected_count - ing.rejected.len() as u64);
        }
        summary += ")";
    }
    println!("{summary}");
    Ok(if ing.rejected_count > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

impl Ingest<'_> {
    fn reject(&mut self, line: u64, why: String) {
        self.progress
            .eprintln(&format!("rebound ingest: line {line} rejected: {why}"));
        self.rejected_count += 1;
        if self.rejected.len() < SUMMARY_REJECTIONS {
            self.rejected.push((line, why));
        }
    }

    fn commit(&mut self, batch: &mut Vec<(u64, Record)>, ack: bool) -> Result<()> {
        let Some(&(last, _)) = batch.last() else {
            return Ok(());
        };
        let records: Vec<Record> = batch.iter().map(|(_, r)| r.clone()).collect();
        let results = self.store.append(&records)?;
        for ((n, _), r) in batch.iter().zip(results) {
            match r {
                Appended::Stored => self.accepted += 1,
                Appended::Duplicate => {
                    self.accepted += 1;
                    self.duplicates += 1;
                }
                Appended::Refused(why) => self.reject(*n, why.to_string()),
            }
        }
        batch.clear();
        if ack {
            self.progress
                .eprintln(&format!("committed through line {last}"));
            let _ = io::stderr().flush();
        }
        Ok(())
    }

    fn tenant(&mut self, name: &str) -> Result<Tenant, String> {
        if !self.tenants.contains_key(name) {
            let t = self.store.tenant(name).map_err(|e| e.to_string())?;
            self.tenants.insert(name.to_string(), t);
        }
        self.tenants[name]
            .clone()
            .ok_or_else(|| rebound_store::Error::UnknownTenant(name.to_string()).to_string())
    }

    fn record(&mut self, raw: &[u8]) -> Result<Record, String> {
        let text = std::str::from_utf8(raw).map_err(|_| "not UTF-8".to_string())?;
        let l: EventLine = serde_json::from_str(text).map_err(|e| format!("not an event: {e}"))?;
        let name = l
            .tenant
            .clone()
            .ok_or_else(|| "not an event: missing field `tenant`".to_string())?;
        let tenant = self.tenant(&name)?;
        let report = l.report()?;
        rebound_pipeline::to_record(&tenant, report, &mut self.scratch)
    }
}
