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

use crate::lines::{read_line_blocks, stdin_would_block};
use crate::store::{ChannelArg, at_or_now};
use anyhow::Result;
use rebound_pipeline::gate::Gate;
use rebound_store::{Channel, Packer, Sends, Skip, Store};
use std::collections::BTreeMap;
use std::io::{self, BufWriter, Write};
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

/// What the writer holds until its next commit: decided batches merged, their
/// decision lines kept as the deciders wrote them (printed in order, not copied).
struct Pending {
    sends: Sends,
    skips: BTreeMap<&'static str, u64>,
    outs: Vec<Vec<u8>>,
    held: usize,
}

impl Pending {
    /// Records the sends and skips (unless a dry run), then prints the decisions.
    fn write(
        &mut self,
        store: &mut dyn Store,
        skip_template: Option<&Skip>,
        w: &mut impl Write,
    ) -> Result<()> {
        if let Some(t) = skip_template {
            let skips: Vec<Skip> = self
                .skips
                .iter()
                .map(|(reason, &count)| Skip {
                    reason: reason.to_string(),
                    count,
                    ..t.clone()
                })
                .collect();
            if !self.sends.is_empty() || !skips.is_empty() {
                store.record_gate(&self.sends, &skips)?;
            }
        }
        for out in self.outs.drain(..) {
            w.write_all(&out)?;
        }
        w.flush()?;
        self.sends.clear();
        self.skips.clear();
        self.held = 0;
        Ok(())
    }
}

/// Bytes per part of the list handed to a decider (some four thousand lines).
const CHUNK: usize = 128 << 10;

/// A part of the list as read: whole lines, each ended by a line feed, and whether
/// input paused after it (so what is decided so far should be committed and
/// printed now, not when a batch fills).
struct Chunk {
    lines: Vec<u8>,
    pause: bool,
}

/// How a decider thread reaches the gate: alone and in order when decisions
/// depend on earlier ones (a frequency cap), else shared with another.
enum Decider<'a> {
    Ordered(&'a mut Gate),
    Shared(&'a Gate),
}

/// Decides every line of a chunk into a batch, with `decide` leaving each sent
/// recipient's normalised address in its buffer.
fn decide_chunk(
    chunk: &Chunk,
    batch: &mut Batch,
    record: bool,
    decide: &mut dyn FnMut(&str, &mut String) -> Result<(), rebound_policy::SkipReason>,
) {
    let mut address = String::new();
    let mut start = 0;
    for end in memchr::memchr_iter(b'\n', &chunk.lines) {
        let line = &chunk.lines[start..end];
        start = end + 1;
        // Valid UTF-8 is the rule; checking it whole is several times cheaper
        // than the lossy decoder's walk, which runs only on the exception.
        let raw = match std::str::from_utf8(line) {
            Ok(s) => std::borrow::Cow::Borrowed(s),
            Err(_) => String::from_utf8_lossy(line),
        };
        let recipient = raw.trim();
        if recipient.is_empty() {
            continue;
        }
        let out = &mut batch.out;
        out.extend_from_slice(br#"{"recipient":"#);
        push_json_str(out, recipient);
        match decide(recipient, &mut address) {
            Ok(()) => {
                if record {
                    batch.sends.push(&address);
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
    }
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
    let record = skip_template.is_some();
    let empty = gate.sends();
    let fresh = || Batch {
        sends: empty.clone(),
        skips: BTreeMap::new(),
        out: Vec::new(),
    };
    // Three kinds of thread: this one reads the list into chunks; deciders turn
    // chunks into decided batches (two side by side when no decision depends on an
    // earlier one, else one, in order); the writer takes the batches back in list
    // order, merges them up to a transaction's worth, commits and prints. Channels
    // hold a chunk or two each, so memory stays bounded and output stays in order.
    let deciders = if gate.ordered() {
        vec![Decider::Ordered(&mut gate)]
    } else {
        let g = &gate;
        vec![Decider::Shared(g), Decider::Shared(g)]
    };
    std::thread::scope(|scope| -> Result<ExitCode> {
        let store = &mut *store;
        let template = skip_template.as_ref();
        let mut to_deciders = Vec::new();
        let mut from_deciders = Vec::new();
        let mut handles = Vec::new();
        for mut decider in deciders {
            let (tx_chunk, rx_chunk) = std::sync::mpsc::sync_channel::<Chunk>(2);
            let (tx_batch, rx_batch) = std::sync::mpsc::sync_channel::<(Batch, bool)>(2);
            to_deciders.push(tx_chunk);
            from_deciders.push(rx_batch);
            let fresh = &fresh;
            handles.push(scope.spawn(move || -> Result<()> {
                // Each decider compresses its own batches' sends: it is most of
                // what recording a send costs, and the writer is one thread.
                let mut packer = Packer::new()?;
                for chunk in rx_chunk {
                    let mut batch = fresh();
                    batch.out.reserve(chunk.lines.len() * 2);
                    match &mut decider {
                        Decider::Ordered(g) => {
                            decide_chunk(&chunk, &mut batch, record, &mut |r, buf| {
                                let a = g.decide(r)?;
                                buf.clear();
                                buf.push_str(a);
                                Ok(())
                            })
                        }
                        Decider::Shared(g) => {
                            decide_chunk(&chunk, &mut batch, record, &mut |r, buf| {
                                g.decide_shared(r, buf)
                            })
                        }
                    }
                    batch.sends.seal(&mut packer)?;
                    if tx_batch.send((batch, chunk.pause)).is_err() {
                        return Ok(());
                    }
                }
                Ok(())
            }));
        }
        let sends = empty.clone();
        let writer = scope.spawn(move || -> Result<()> {
            let mut w = BufWriter::with_capacity(1 << 16, io::stdout().lock());
            let mut pending = Pending {
                sends,
                skips: BTreeMap::new(),
                outs: Vec::new(),
                held: 0,
            };
            let mut next = 0;
            while let Ok((mut b, pause)) = from_deciders[next % from_deciders.len()].recv() {
                next += 1;
                pending.sends.append(&mut b.sends)?;
                for (reason, n) in b.skips {
                    *pending.skips.entry(reason).or_default() += n;
                }
                pending.held += b.out.len();
                pending.outs.push(b.out);
                if pause || pending.held >= HELD || pending.sends.len() >= BATCH {
                    pending.write(store, template, &mut w)?;
                }
            }
            pending.write(store, template, &mut w)
        });
        let mut n = 0;
        let read = read_line_blocks(
            io::stdin().lock(),
            CHUNK,
            stdin_would_block,
            |lines, pause| {
                let ok = to_deciders[n % to_deciders.len()]
                    .send(Chunk { lines, pause })
                    .is_ok();
                n += 1;
                ok
            },
        );
        drop(to_deciders);
        let mut decided = Ok(());
        for h in handles {
            let r = h
                .join()
                .unwrap_or_else(|_| Err(anyhow::anyhow!("a decider thread panicked")));
            if decided.is_ok() {
                decided = r;
            }
        }
        // The writer's error (a failed commit, a closed stdout) explains a stop
        // better than the read that noticed it.
        writer
            .join()
            .unwrap_or_else(|_| Err(anyhow::anyhow!("the writer thread panicked")))?;
        decided.map_err(|e| e.context("the list was not fully decided"))?;
        read?;
        Ok(ExitCode::SUCCESS)
    })
}

/// Appends `s` as a JSON string (quotes included). Recipients are the caller's
/// bytes and may hold anything; the common case, nothing to escape, is one copy.
fn push_json_str(out: &mut Vec<u8>, s: &str) {
    /// Bytes a JSON string cannot hold as they are.
    const ESCAPE: [bool; 256] = {
        let mut t = [false; 256];
        let mut b = 0;
        while b < 0x20 {
            t[b] = true;
            b += 1;
        }
        t[b'"' as usize] = true;
        t[b'\\' as usize] = true;
        t
    };
    if !s.bytes().any(|b| ESCAPE[b as usize]) {
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
