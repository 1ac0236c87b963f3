//! `rebound classify`: SMTP replies in, one verdict per line out (SPEC §8).
//!
//! Every input line gets exactly one output line, whatever it holds: empty lines,
//! binary junk, invalid UTF-8 and megabyte lines are classified like any other
//! (they come out `other` / `unknown`).

use crate::lines::next_line;
use anyhow::{Context, Result};
use rebound_classify::{Classifier, Conflict, Reply, Scratch, Verdict};
use serde::Deserialize;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// Print a readable explanation for people instead of JSON.
    #[arg(long)]
    explain: bool,
    #[command(flatten)]
    rules: RuleFiles,
    /// The remote host that sent the replies, for provider-specific rules.
    #[arg(long)]
    host: Option<String>,
    /// Input form: `text` (one reply per line) or `json` (one object per line with
    /// `reply`, or `code`/`status`/`text`, and optionally `host`).
    #[arg(long, value_enum, default_value = "text")]
    input: InputForm,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum InputForm {
    Text,
    Json,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonReply {
    reply: Option<String>,
    code: Option<u16>,
    status: Option<String>,
    text: Option<String>,
    host: Option<String>,
}

/// The user's rule files, as every command that classifies takes them.
#[derive(clap::Args)]
pub struct RuleFiles {
    /// A rule file consulted before the built-in rules (repeatable; first wins). Also
    /// REBOUND_RULES, colon-separated.
    #[arg(
        long = "rules",
        value_name = "FILE",
        env = "REBOUND_RULES",
        value_delimiter = ':'
    )]
    pub rules: Vec<PathBuf>,
}

/// Loads the user's rule files on top of the built-in ones.
pub fn load_classifier(paths: &[PathBuf]) -> Result<&'static Classifier> {
    if paths.is_empty() {
        return Ok(Classifier::builtin());
    }
    let mut sources = Vec::new();
    for p in paths {
        let src = std::fs::read_to_string(p)
            .with_context(|| format!("reading rule file {}", p.display()))?;
        sources.push((p.display().to_string(), src));
    }
    let files: Vec<(&str, &str)> = sources
        .iter()
        .map(|(n, s)| (n.as_str(), s.as_str()))
        .collect();
    match Classifier::new(&files) {
        // The CLI keeps one classifier for the life of the process.
        Ok(c) => Ok(Box::leak(Box::new(c))),
        Err(errors) => {
            for e in &errors {
                eprintln!("{e}");
            }
            anyhow::bail!(
                "{} problem(s) in rule files; `rebound rules check FILE` shows them",
                errors.len()
            )
        }
    }
}

pub fn run(args: Args) -> Result<ExitCode> {
    let classifier = load_classifier(&args.rules.rules)?;
    let stdin = io::stdin();
    let mut input = io::BufReader::with_capacity(1 << 16, stdin.lock());
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut buf = Vec::new();
    let mut scratch = Scratch::default();
    let mut failed_flush = None;
    loop {
        let more = next_line(&mut input, &mut buf, || {
            if let Err(e) = out.flush() {
                failed_flush = Some(e);
            }
        })?;
        if let Some(e) = failed_flush.take() {
            return broken_pipe_is_fine(e);
        }
        if !more {
            break;
        }
        let line = String::from_utf8_lossy(&buf);
        let verdict = match args.input {
            InputForm::Text => classifier.classify(
                &Reply::parse(&line).with_host(args.host.as_deref()),
                &mut scratch,
            ),
            InputForm::Json => classify_json(classifier, &line, args.host.as_deref(), &mut scratch),
        };
        let written = if args.explain {
            write_explanation(&mut out, &line, &verdict)
        } else {
            serde_json::to_writer(&mut out, &verdict)
                .map_err(io::Error::from)
                .and_then(|()| out.write_all(b"\n"))
        };
        if let Err(e) = written {
            return broken_pipe_is_fine(e);
        }
    }
    if let Err(e) = out.flush() {
        return broken_pipe_is_fine(e);
    }
    Ok(ExitCode::SUCCESS)
}

fn broken_pipe_is_fine(e: io::Error) -> Result<ExitCode> {
    if e.kind() == io::ErrorKind::BrokenPipe {
        Ok(ExitCode::SUCCESS)
    } else {
        Err(e.into())
    }
}

fn classify_json(
    c: &Classifier,
    line: &str,
    default_host: Option<&str>,
    scratch: &mut Scratch,
) -> Verdict {
    match serde_json::from_str::<JsonReply>(line) {
        Ok(j) => {
            let host = j.host.as_deref().or(default_host);
            let reply = match &j.reply {
                Some(r) => Reply::parse(r),
                None => {
                    Reply::from_parts(j.code, j.status.as_deref(), j.text.as_deref().unwrap_or(""))
                }
            };
            c.classify(&reply.with_host(host), scratch)
        }
        Err(e) => {
            let mut v = c.classify(&Reply::parse(""), scratch);
            v.evidence.rule = "invalid input".into();
            v.evidence.conflicts.push(Conflict::Note(format!(
                "input line is not a reply object: {e}"
            )));
            v
        }
    }
}

fn write_explanation(out: &mut impl Write, line: &str, v: &Verdict) -> io::Result<()> {
    let shown: String = line.chars().take(200).collect();
    let ellipsis = if shown.len() < line.len() { " …" } else { "" };
    writeln!(out, "reply:      {shown}{ellipsis}")?;
    writeln!(
        out,
        "verdict:    {} / {} / scope {}{}",
        v.category,
        v.reason,
        v.scope,
        if v.suppress {
            " — SUPPRESS (block the address)"
        } else {
            " — do not block"
        }
    )?;
    writeln!(out, "sisimai:    {}", v.sisimai_reason)?;
    let e = &v.evidence;
    let mut rule = e.rule.to_string();
    if let Some(o) = &e.origin {
        rule.push_str(&format!(" ({o})"));
    }
    if let Some(p) = &e.provider {
        rule.push_str(&format!(", {p}"));
    }
    writeln!(out, "rule:       {rule}")?;
    let codes = match (e.reply_code, &e.status) {
        (Some(c), Some(s)) => format!("reply {c}, status {s}"),
        (Some(c), None) => format!("reply {c}, no status code"),
        (None, Some(s)) => format!("no reply code, status {s}"),
        (None, None) => "none".into(),
    };
    let status_says = e
        .status_reason
        .map(|r| format!(" (the status alone says {r})"))
        .unwrap_or_default();
    writeln!(out, "codes:      {codes}{status_says}; {:?}", e.permanence)?;
    let why = match e.source {
        rebound_classify::Source::Text => {
            "a specific text rule matched; text takes precedence over the status code"
        }
        rebound_classify::Source::Status => {
            "no specific text rule matched; the enhanced status code decided"
        }
        rebound_classify::Source::GenericText => {
            "the status code said nothing specific; a generic text rule decided"
        }
        rebound_classify::Source::ReplyCode => {
            "nothing in the text or status code was specific; the reply code decided"
        }
        rebound_classify::Source::None => "no code and no known text: nothing usable",
    };
    writeln!(out, "why:        {why}")?;
    for c in &e.conflicts {
        writeln!(out, "conflict:   {c}")?;
    }
    writeln!(out)
}
