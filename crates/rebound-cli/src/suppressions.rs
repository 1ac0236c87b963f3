//! `rebound suppressions export|import`: a tenant's suppression list as CSV, to move
//! it between systems (from another ESP on the way in, to a sending tool on the way
//! out).
//!
//! Columns: `address,channel,status,since`; `status` uses gate's skip-reason names
//! (`unsubscribed`, `complained`, `hard_bounced`, `suppressed`). Import reads what
//! export writes, or any CSV whose header starts with `address` (its `status` and
//! `channel` columns are used), or headerless `address[,status]`; the status
//! defaults to `unsubscribed`, and common synonyms are accepted. `suppressed` (the
//! soft-bounce limit) is not imported: it is Rebound's own conclusion, not a fact
//! another system can hand over. Each row is recorded
//! as an event in the address's history, so an imported suppression is explained on
//! the contact card like any other: `unsubscribed` as an opt-out by `--by`,
//! `complained` and `hard_bounced` as outcomes with source `import`.

use crate::lines::next_line;
use crate::store::{ChannelArg, at_or_now, normalize, tenant};
use anyhow::Result;
use rebound_pipeline::summary::{suppression_csv, suppression_rows};
use rebound_policy::Event;
use rebound_store::{Appended, Channel, Detail, Record};
use rebound_vocab::{Category, Reason, Scope};
use std::io::{self, BufReader, BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Print the tenant's suppressed addresses as CSV.
    Export {
        #[arg(long)]
        tenant: String,
        #[arg(long, value_enum, default_value = "email")]
        channel: ChannelArg,
    },
    /// Record suppressions read as CSV (address[,status]) from standard input.
    Import {
        #[arg(long)]
        tenant: String,
        /// Who is importing (recorded in each history).
        #[arg(long)]
        by: String,
        #[arg(long, value_enum, default_value = "email")]
        channel: ChannelArg,
        /// Record the rows as of this RFC 3339 time instead of now.
        #[arg(long)]
        at: Option<String>,
    },
}

pub fn run(cmd: Command, data: &Path) -> Result<ExitCode> {
    match cmd {
        Command::Export { tenant, channel } => export(&tenant, channel.into(), data),
        Command::Import {
            tenant,
            by,
            channel,
            at,
        } => import(&tenant, &by, channel.into(), at.as_deref(), data),
    }
}

fn export(tenant: &str, channel: Channel, data: &Path) -> Result<ExitCode> {
    let mut store = crate::store::open(data)?;
    let rows = suppression_rows(store.marked(tenant, channel)?);
    let mut w = BufWriter::new(io::stdout().lock());
    w.write_all(suppression_csv(&rows, channel.as_str()).as_bytes())?;
    w.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// Splits one CSV line (RFC 4180 quoting, no embedded line breaks).
fn csv_fields(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', true) => quoted = false,
            ('"', false) if field.is_empty() => quoted = true,
            (',', false) => out.push(std::mem::take(&mut field)),
            _ => field.push(c),
        }
    }
    out.push(field);
    out
}

fn event_for(status: &str, by: &str) -> Result<(Event, Option<Reason>), String> {
    match status.trim().to_ascii_lowercase().as_str() {
        "" | "unsubscribed" | "unsubscribe" | "opted_out" | "opt_out" => {
            Ok((Event::OptOut { by: by.to_string() }, None))
        }
        "complained" | "complaint" | "spam" | "spamreport" => Ok((Event::Complaint, None)),
        "hard_bounced" | "hard_bounce" | "bounced" | "bounce" | "blocked" => Ok((
            Event::Bounce {
                category: Category::Hard,
                scope: Scope::Recipient,
                permanent: true,
            },
            Some(Reason::GeneralHardBounce),
        )),
        other => Err(format!(
            "status {other:?} is not unsubscribed, complained or hard_bounced"
        )),
    }
}

fn import(
    tenant_name: &str,
    by: &str,
    channel: Channel,
    at: Option<&str>,
    data: &Path,
) -> Result<ExitCode> {
    if by.trim().is_empty() {
        anyhow::bail!("say who is importing with --by");
    }
    let mut store = crate::store::open(data)?;
    let t = tenant(&mut *store, tenant_name)?;
    let at = at_or_now(at)?;
    let mut reader = BufReader::new(io::stdin().lock());
    let mut buf = Vec::new();
    let mut batch: Vec<Record> = Vec::new();
    let (mut imported, mut rejected) = (0u64, Vec::new());
    let mut line_no = 0u64;
    let (mut status_col, mut channel_col) = (Some(1), None::<usize>);
    let mut flush = |batch: &mut Vec<Record>, imported: &mut u64| -> Result<()> {
        if !batch.is_empty() {
            let results = store.append(batch)?;
            *imported += results
                .iter()
                .filter(|r| matches!(r, Appended::Stored | Appended::Duplicate))
                .count() as u64;
            batch.clear();
        }
        Ok(())
    };
    while next_line(&mut reader, &mut buf, || {})? {
        line_no += 1;
        let line = String::from_utf8_lossy(&buf);
        let fields = csv_fields(line.trim());
        let address = fields[0].trim();
        if line_no == 1 && address.eq_ignore_ascii_case("address") {
            // A header names the columns (export's own, or another tool's).
            let col = |name: &str| {
                fields
                    .iter()
                    .position(|f| f.trim().eq_ignore_ascii_case(name))
            };
            status_col = col("status");
            channel_col = col("channel");
            continue;
        }
        if address.is_empty() {
            continue;
        }
        let field = |i: Option<usize>| i.and_then(|i| fields.get(i)).map_or("", |f| f.trim());
        let row_channel = field(channel_col);
        let row = if !row_channel.is_empty() && row_channel != channel.as_str() {
            Err(format!(
                "channel {row_channel:?}, importing {}",
                channel.as_str()
            ))
        } else {
            normalize(channel, address, &t)
                .and_then(|a| event_for(field(status_col), by).map(|e| (a, e)))
        };
        match row {
            Ok((address, (event, reason))) => batch.push(Record {
                tenant: t.name.clone(),
                channel,
                address,
                at,
                event,
                reason,
                campaign: None,
                detail: Detail {
                    source: Some(format!("import by {by}")),
                    ..Detail::default()
                },
            }),
            Err(why) => {
                eprintln!("rebound suppressions import: line {line_no} rejected: {why}");
                rejected.push(line_no);
            }
        }
        if batch.len() >= crate::ingest::BATCH {
            flush(&mut batch, &mut imported)?;
        }
    }
    flush(&mut batch, &mut imported)?;
    let shown: Vec<String> = rejected.iter().take(10).map(u64::to_string).collect();
    if rejected.is_empty() {
        println!("imported {imported}, rejected 0");
        Ok(ExitCode::SUCCESS)
    } else {
        println!(
            "imported {imported}, rejected {} (lines {}{})",
            rejected.len(),
            shown.join(", "),
            if rejected.len() > 10 { ", ..." } else { "" }
        );
        Ok(ExitCode::from(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_round_trip_quoting() {
        assert_eq!(csv_fields("a@x.com,complained"), ["a@x.com", "complained"]);
        let odd = "\"odd, one\"@example.org";
        let quoted = rebound_pipeline::summary::csv_field(odd);
        assert_eq!(csv_fields(&format!("{quoted},x")), [odd, "x"]);
        assert_eq!(csv_fields("solo@x.com"), ["solo@x.com"]);
    }
}
