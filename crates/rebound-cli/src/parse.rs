//! `rebound parse`: bounce messages in, one JSON object per recipient out (SPEC §8).
//!
//! Paths may be `.eml` files, maildirs or directories of files (walked in name order,
//! `cur/` and `new/` included), mbox files (split into messages, `>From ` quoting
//! undone) or `-` for standard input. Decoding is done by `rebound-decode`; this module
//! only does the file IO and the printing. A file that cannot be read or decoded is
//! reported on standard error and the others still run; a summary closes the run.

use crate::progress::{self, Progress};
use anyhow::Result;
use rebound_decode::{Decoded, Kind, Recipient, decode, mbox, sisimai};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::{self, BufWriter, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The largest file read, in bytes; larger files are reported and skipped.
const MAX_FILE: u64 = rebound_decode::MAX_INPUT as u64;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Rebound's own fields: the decoded facts and the verdict.
    Native,
    /// Sisimai's field names and meanings.
    Sisimai,
}

#[derive(clap::Args)]
pub struct Args {
    /// Output format: native or sisimai.
    #[arg(long, value_enum, default_value = "native")]
    format: Format,
    /// Files, directories (maildir), mbox files, or - for standard input.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
}

#[derive(Default)]
struct Summary {
    messages: usize,
    recipients: usize,
    by_kind: BTreeMap<&'static str, usize>,
    unreadable: usize,
}

#[derive(Serialize)]
struct SisimaiLine<'a> {
    recipient: &'a str,
    reason: &'a str,
    hardbounce: bool,
    deliverystatus: String,
    replycode: String,
    action: &'a str,
    diagnosticcode: &'a str,
    feedbacktype: &'a str,
    file: &'a str,
}

#[derive(Serialize)]
struct NativeLine<'a> {
    file: &'a str,
    format: &'static str,
    #[serde(flatten)]
    recipient: &'a Recipient,
}

/// One input to read, in the order given.
enum Input {
    Stdin,
    File(PathBuf),
    Unreadable(String, String),
}

pub fn run(args: Args) -> Result<ExitCode> {
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut sum = Summary::default();
    // The files are listed first, so that the bar knows how many bytes there are.
    let mut inputs = Vec::new();
    for path in &args.paths {
        let shown = path.to_string_lossy().to_string();
        if shown == "-" {
            inputs.push(Input::Stdin);
            continue;
        }
        let mut files = Vec::new();
        match collect(path, &mut files, 0) {
            Ok(()) => inputs.extend(files.into_iter().map(Input::File)),
            Err(e) => inputs.push(Input::Unreadable(shown, e.to_string())),
        }
    }
    let total = inputs
        .iter()
        .map(|i| match i {
            Input::Stdin => progress::stdin_size(),
            Input::File(f) => progress::file_size(f),
            Input::Unreadable(..) => Some(0),
        })
        .sum::<Option<u64>>();
    // With the recipients printed on the same terminal, a bar would be drawn through
    // them: it is shown when they go to a file or a pipe.
    let bar = if io::stdout().is_terminal() {
        Progress::none()
    } else {
        Progress::bytes("parsing", total)
    };
    for input in inputs {
        match input {
            Input::Stdin => {
                let mut buf = Vec::new();
                match bar
                    .wrap(io::stdin().lock())
                    .take(MAX_FILE + 1)
                    .read_to_end(&mut buf)
                {
                    Ok(_) => one_input(&buf, "-", args.format, &mut out, &mut sum, &bar)?,
                    Err(e) => unreadable("-", &e.to_string(), &mut sum, &bar),
                }
            }
            Input::File(f) => {
                let name = f.to_string_lossy().to_string();
                match read_file(&f) {
                    Ok(bytes) => {
                        one_input(&bytes, &name, args.format, &mut out, &mut sum, &bar)?;
                        bar.inc(bytes.len() as u64);
                    }
                    Err(e) => {
                        unreadable(&name, &e, &mut sum, &bar);
                        bar.inc(progress::file_size(&f).unwrap_or(0));
                    }
                }
            }
            Input::Unreadable(name, why) => unreadable(&name, &why, &mut sum, &bar),
        }
    }
    bar.finish();
    out.flush()?;
    let kinds: Vec<String> = sum
        .by_kind
        .iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect();
    eprintln!(
        "rebound parse: {} messages, {} recipients ({}), {} unreadable",
        sum.messages,
        sum.recipients,
        if kinds.is_empty() {
            "none".to_string()
        } else {
            kinds.join(", ")
        },
        sum.unreadable
    );
    Ok(ExitCode::SUCCESS)
}

fn unreadable(name: &str, why: &str, sum: &mut Summary, bar: &Progress) {
    bar.eprintln(&format!("rebound parse: {name}: {why}"));
    sum.unreadable += 1;
}

fn read_file(p: &Path) -> std::result::Result<Vec<u8>, String> {
    let meta = std::fs::metadata(p).map_err(|e| e.to_string())?;
    if meta.len() > MAX_FILE {
        return Err(format!("too large ({} bytes)", meta.len()));
    }
    std::fs::read(p).map_err(|e| e.to_string())
}

/// Files under `p` in name order (a maildir's `tmp/` is left out: messages there are
/// still being written).
fn collect(p: &Path, out: &mut Vec<PathBuf>, depth: usize) -> io::Result<()> {
    let meta = std::fs::metadata(p)?;
    if !meta.is_dir() {
        out.push(p.to_path_buf());
        return Ok(());
    }
    if depth > 16 {
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(p)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|e| {
            let n = e
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default();
            !n.starts_with('.') && n != "tmp"
        })
        .collect();
    entries.sort();
    for e in entries {
        if let Err(err) = collect(&e, out, depth + 1) {
            eprintln!("rebound parse: {}: {err}", e.display());
        }
    }
    Ok(())
}

/// Decodes one input (a message, or an mbox of messages) and prints its recipients.
fn one_input(
    bytes: &[u8],
    name: &str,
    format: Format,
    out: &mut impl Write,
    sum: &mut Summary,
    bar: &Progress,
) -> Result<()> {
    if mbox::is_mbox(bytes) {
        let messages = mbox::split(bytes);
        if messages.len() > 1 {
            for (i, m) in messages.iter().enumerate() {
                match decode(m) {
                    Ok(d) => print(&d, name, format, out, sum)?,
                    Err(e) => unreadable(
                        &format!("{name} (message {})", i + 1),
                        &e.to_string(),
                        sum,
                        bar,
                    ),
                }
            }
            return Ok(());
        }
    }
    match decode(bytes) {
        Ok(d) => print(&d, name, format, out, sum)?,
        Err(e) => unreadable(name, &e.to_string(), sum, bar),
    }
    Ok(())
}

fn print(
    d: &Decoded,
    name: &str,
    format: Format,
    out: &mut impl Write,
    sum: &mut Summary,
) -> Result<()> {
    sum.messages += 1;
    *sum.by_kind.entry(d.kind.as_str()).or_default() += 1;
    for r in &d.recipients {
        if r.kind == Kind::NotBounce {
            continue;
        }
        sum.recipients += 1;
        match format {
            Format::Native => serde_json::to_writer(
                &mut *out,
                &NativeLine {
                    file: name,
                    format: d.format,
                    recipient: r,
                },
            )?,
            Format::Sisimai => serde_json::to_writer(
                &mut *out,
                &SisimaiLine {
                    recipient: &r.recipient,
                    reason: r.sisimai.reason,
                    hardbounce: r.sisimai.hardbounce,
                    deliverystatus: sisimai::delivery_status(r),
                    replycode: r.reply_code.map(|c| c.to_string()).unwrap_or_default(),
                    action: r.action.as_deref().unwrap_or(match r.kind {
                        Kind::Bounce => "failed",
                        Kind::Delay => "delayed",
                        Kind::Delivered => "delivered",
                        _ => "",
                    }),
                    diagnosticcode: &r.diagnostic,
                    feedbacktype: r.feedback_type.as_deref().unwrap_or(""),
                    file: name,
                },
            )?,
        }
        out.write_all(b"\n")?;
    }
    Ok(())
}
