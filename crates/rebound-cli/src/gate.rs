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

use crate::lines::{next_line, stdin_would_block};
use crate::store::{ChannelArg, at_or_now};
use anyhow::Result;
use rebound_pipeline::gate::Gate;
use rebound_store::{Channel, Sends, Skip, Store};
use std::collections::BTreeMap;
use std::io::{self, BufReader, BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;

/// Sends per transaction at most. Each transaction is one stored row of sends and
/// one `fsync`; this bounds both the output held back until its commit and the
/// number of commits a 10-million list costs (200).
const BATCH: u64 = 50_000;
/// Output bytes held back at most before a commit.
const HELD: usize = 4 << 20;

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

/// A part of the list, decided: the sends and skip counts to record, and the
/// decision lines to print once they are recorded.
struct Batch {
    sends: Sends,
    skips: BTreeMap<&'static str, u64>,
    out: Vec<u8>,
}

impl Batch {
    fn is_empty(&self) -> bool {
        self.out.is_empty()
    }
}

/// Records a batch (unless a dry run), then prints its decisions.
fn write_batch(
    store: &mut dyn Store,
    b: &Batch,
    skip_template: Option<&Skip>,
    w: &mut impl Write,
) -> Result<()> {
    if let Some(t) = skip_template {
        let skips: Vec<Skip> = b
            .skips
            .iter()
            .map(|(reason, &count)| Skip {
                reason: reason.to_string(),
                count,
                ..t.clone()
            })
            .collect();
        if !b.sends.is_empty() || !skips.is_empty() {
            store.record_gate(&b.sends, &skips)?;
        }
    }
    w.write_all(&b.out)?;
    w.flush()?;
    Ok(())
}

pub fn run(args: Args, data: &Path) -> Result<ExitCode> {
    let mut store = crate::store::open(data)?;
    let at = at_or_now(args.at.as_deref())?;
    let channel = Channel::from(args.channel);
    let snap = store.gate_snapshot(&args.tenant, channel, args.campaign.as_deref(), at)?;
    let mut gate = Gate::new(snap, channel, args.campaign.clone(), at);
    let skip_template = (!args.dry_run).then(|| Skip {
        tenant: args.tenant.clone(),
        campaign: args.campaign.clone(),
        channel,
        at,
        reason: String::new(),
        count: 0,
    });
    let fresh = |gate: &Gate| Batch {
        sends: gate.sends(),
        skips: BTreeMap::new(),
        out: Vec::with_capacity(HELD + 4096),
    };
    // Deciding and recording overlap: this thread decides the next batch while a
    // writer thread commits the last one and prints it. One batch in flight at most,
    // so memory stays bounded and decisions still print in order, each after its
    // commit.
    let (tx, rx) = std::sync::mpsc::sync_channel::<Batch>(1);
    std::thread::scope(|scope| -> Result<ExitCode> {
        let store = &mut *store;
        let template = skip_template.as_ref();
        let writer = scope.spawn(move || -> Result<()> {
            let mut w = BufWriter::with_capacity(1 << 16, io::stdout().lock());
            for b in rx {
                write_batch(store, &b, template, &mut w)?;
            }
            Ok(())
        });
        let decided = (|| -> Result<()> {
            let mut batch = fresh(&gate);
            let mut reader = BufReader::with_capacity(1 << 16, io::stdin().lock());
            let mut buf = Vec::new();
            let hand_off = |batch: &mut Batch, gate: &Gate| -> bool {
                if batch.is_empty() {
                    return true;
                }
                let full = std::mem::replace(batch, fresh(gate));
                tx.send(full).is_ok()
            };
            loop {
                let mut ok = true;
                let more = next_line(&mut reader, &mut buf, || {
                    if ok && stdin_would_block() {
                        ok = hand_off(&mut batch, &gate);
                    }
                })?;
                if !ok || !more {
                    break;
                }
                let raw = String::from_utf8_lossy(&buf);
                let recipient = raw.trim();
                if recipient.is_empty() {
                    continue;
                }
                let out = &mut batch.out;
                out.extend_from_slice(br#"{"recipient":"#);
                push_json_str(out, recipient);
                match gate.decide(recipient) {
                    Ok(address) => {
                        if !args.dry_run {
                            batch.sends.push(address);
                        }
                        out.extend_from_slice(b",\"decision\":\"send\"}\n");
                    }
                    Err(reason) => {
                        *batch.skips.entry(reason.as_str()).or_default() += 1;
                        out.extend_from_slice(b",\"decision\":\"skip\",\"reason\":\"");
                        out.extend_from_slice(reason.as_str().as_bytes());
                        out.extend_from_slice(b"\"}\n");
                    }
                }
                if (batch.out.len() >= HELD || batch.sends.len() >= BATCH)
                    && !hand_off(&mut batch, &gate)
                {
                    break;
                }
            }
            hand_off(&mut batch, &gate);
            Ok(())
        })();
        drop(tx);
        // The writer's error (a failed commit, a closed stdout) explains a stop
        // better than the hand-off that noticed it.
        let written = writer
            .join()
            .unwrap_or_else(|_| Err(anyhow::anyhow!("the writer thread panicked")));
        written?;
        decided?;
        Ok(ExitCode::SUCCESS)
    })
}

/// Appends `s` as a JSON string (quotes included). Recipients are the caller's
/// bytes and may hold anything; the common case, nothing to escape, is one copy.
fn push_json_str(out: &mut Vec<u8>, s: &str) {
    if !s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        // serde_json writes into a Vec without failing.
        let _ = serde_json::to_writer(&mut *out, s);
    }
}

#[cfg(test)]
mod tests {
    use super::push_json_str;

    #[test]
    fn recipients_are_written_as_json_strings() {
        for s in [
            "jo@example.com",
            "a\"b@x.y",
            "back\\slash",
            "tab\there",
            "\u{1}",
            "é@ü.de",
            "",
        ] {
            let mut out = Vec::new();
            push_json_str(&mut out, s);
            let back: String = serde_json::from_slice(&out).unwrap();
            assert_eq!(back, s);
        }
    }
}
