//! `rebound suppressions export|import`: a tenant's suppression list as CSV, to move
//! it between systems (from another ESP on the way in, to a sending tool on the way
//! out).
//!
//! Export columns: `address,channel,status,since`; `status` uses gate's skip-reason
//! names (`unsubscribed`, `complained`, `hard_bounced`, `suppressed`).
//!
//! Import reads what export writes (or headerless `address[,status]`), and the
//! suppression exports of Amazon SES, Mailgun, SendGrid and Postmark, CSV or their
//! APIs' JSON, recognised by the header row; [`formats`] says which columns and how
//! each row becomes an event. `suppressed` (the soft-bounce limit) is not imported:
//! it is Rebound's own conclusion, not a fact another system can hand over. Each row
//! is recorded as an event in the address's history at the provider's date, so an
//! imported suppression is explained on the contact card like any other. Rows that
//! cannot be read are rejected with their line number and reason (the others are
//! stored, and the exit status is 1); rows read and deliberately left out (a bounce
//! whose text says the sender was refused) are skipped with why. One summary line
//! per input on standard error.

mod csv;
pub mod formats;

use crate::progress::{self, Progress};
use crate::store::{ChannelArg, at_or_now, tenant};
use anyhow::{Context as _, Result};
use csv::CsvReader;
use formats::{Context, FormatArg, Kind, Layout, Row};
use rebound_classify::Scratch;
use rebound_pipeline::summary::{suppression_csv, suppression_rows};
use rebound_store::{Appended, Channel, Record, Store, Tenant, Ts};
use serde_json::Value;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The largest JSON export read (it is read whole).
const MAX_JSON: u64 = 1 << 30;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Print the tenant's suppressed addresses as CSV.
    Export {
        #[arg(long)]
        tenant: String,
        #[arg(long, value_enum, default_value = "email")]
        channel: ChannelArg,
    },
    /// Record suppressions read from files (or standard input): Rebound's CSV, or
    /// the exports of SES, Mailgun, SendGrid and Postmark (CSV or JSON).
    Import {
        #[arg(long)]
        tenant: String,
        /// Who is importing (recorded in each history).
        #[arg(long)]
        by: String,
        #[arg(long, value_enum, default_value = "email")]
        channel: ChannelArg,
        /// The time of rows that carry no date of their own (RFC 3339; default now).
        #[arg(long)]
        at: Option<String>,
        /// Whose export this is (default: recognised from the header row).
        #[arg(long, value_enum, default_value = "auto")]
        format: FormatArg,
        /// What every row is, for exports that say it only in their file name.
        #[arg(long, value_enum)]
        kind: Option<Kind>,
        /// Files to read (default, or `-`: standard input).
        paths: Vec<PathBuf>,
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
            format,
            kind,
            paths,
        } => import(
            &Options {
                tenant,
                by,
                channel: channel.into(),
                at,
                format,
                kind,
            },
            &paths,
            data,
        ),
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

struct Options {
    tenant: String,
    by: String,
    channel: Channel,
    at: Option<String>,
    format: FormatArg,
    kind: Option<Kind>,
}

fn import(o: &Options, paths: &[PathBuf], data: &Path) -> Result<ExitCode> {
    if o.by.trim().is_empty() {
        anyhow::bail!("say who is importing with --by");
    }
    let mut store = crate::store::open(data)?;
    let t = tenant(&mut *store, &o.tenant)?;
    let at = at_or_now(o.at.as_deref())?;
    let stdin = [PathBuf::from("-")];
    let paths = if paths.is_empty() { &stdin[..] } else { paths };
    let mut failed = false;
    for path in paths {
        let mut run = Run {
            store: &mut *store,
            tenant: &t,
            options: o,
            at,
            name: if path.as_os_str() == "-" {
                "standard input".into()
            } else {
                path.display().to_string()
            },
            scratch: Scratch::default(),
            batch: Vec::new(),
            imported: 0,
            duplicates: 0,
            skipped: 0,
            rejected: Vec::new(),
            unit: "line",
            progress: Progress::none(),
        };
        run.input(path)?;
        failed |= !run.rejected.is_empty();
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// One input being imported.
struct Run<'a> {
    store: &'a mut dyn Store,
    tenant: &'a Tenant,
    options: &'a Options,
    at: Ts,
    name: String,
    scratch: Scratch,
    batch: Vec<Record>,
    imported: u64,
    duplicates: u64,
    skipped: u64,
    rejected: Vec<u64>,
    /// `line` (CSV) or `entry` (JSON).
    unit: &'static str,
    progress: Progress,
}

impl Run<'_> {
    fn input(&mut self, path: &Path) -> Result<()> {
        let (reader, size): (Box<dyn Read>, Option<u64>) = if path.as_os_str() == "-" {
            (Box::new(io::stdin().lock()), progress::stdin_size())
        } else {
            let f = std::fs::File::open(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            (Box::new(f), progress::file_size(path))
        };
        self.progress = Progress::bytes("importing", size);
        let mut reader = BufReader::with_capacity(1 << 16, self.progress.wrap(reader));
        let name_kind = Kind::from_file_name(&path.to_string_lossy());
        let described = if starts_like_json(&mut reader)? {
            self.unit = "entry";
            self.json(reader, name_kind)?
        } else {
            self.csv(reader, name_kind)?
        };
        self.flush()?;
        self.progress.finish();
        let mut summary = format!(
            "rebound suppressions import: {} ({}): imported {}",
            self.name,
            described.as_deref().unwrap_or("unrecognised"),
            self.imported
        );
        if self.duplicates > 0 {
            summary += &format!(" ({} already stored)", self.duplicates);
        }
        summary += &format!(
            ", skipped {}, rejected {}",
            self.skipped,
            self.rejected.len()
        );
        if !self.rejected.is_empty() {
            let shown: Vec<String> = self.rejected.iter().take(10).map(u64::to_string).collect();
            summary += &format!(
                " ({} {}{})",
                match (self.unit, self.rejected.len()) {
                    (unit, 1) => unit,
                    ("entry", _) => "entries",
                    _ => "lines",
                },
                shown.join(", "),
                if self.rejected.len() > 10 {
                    ", ..."
                } else {
                    ""
                }
            );
        }
        eprintln!("{summary}");
        Ok(())
    }

    fn context(&self, name_kind: Option<Kind>) -> Context<'_> {
        Context {
            tenant: self.tenant,
            channel: self.options.channel,
            by: &self.options.by,
            at: self.at,
            kind: self.options.kind,
            name_kind,
        }
    }

    /// A CSV export; returns what it was read as (None: not recognised).
    fn csv(
        &mut self,
        reader: BufReader<impl Read>,
        name_kind: Option<Kind>,
    ) -> Result<Option<String>> {
        let mut records = CsvReader::new(reader);
        let mut layout: Option<Layout> = None;
        while let Some(rec) = records.next_record()? {
            let rec = match rec {
                Ok(r) => r,
                Err((line, why)) => {
                    self.reject("line", line, &why);
                    continue;
                }
            };
            let l = match &layout {
                Some(l) => l.clone(),
                None => match formats::detect(&rec.fields, self.options.format) {
                    Ok(l) => {
                        layout = Some(l.clone());
                        if l.has_header {
                            continue;
                        }
                        l
                    }
                    Err(why) => {
                        self.reject("line", rec.line, &why);
                        return Ok(None);
                    }
                },
            };
            self.row(&l, &rec.fields, "line", rec.line, name_kind)?;
        }
        Ok(Some(match &layout {
            Some(l) => l.describe(self.options.kind.or(name_kind)),
            None => "empty".into(),
        }))
    }

    /// A JSON export: the provider API's answer (an array of objects, or an object
    /// holding one), each object's keys taken as the columns.
    fn json(
        &mut self,
        mut reader: BufReader<impl Read>,
        name_kind: Option<Kind>,
    ) -> Result<Option<String>> {
        let mut text = Vec::new();
        (&mut reader).take(MAX_JSON + 1).read_to_end(&mut text)?;
        if text.len() as u64 > MAX_JSON {
            self.reject("entry", 0, "the JSON export is larger than 1 GiB");
            return Ok(None);
        }
        let value: Value = match serde_json::from_slice(&text) {
            Ok(v) => v,
            Err(e) => {
                self.unit = "line";
                self.reject("line", e.line() as u64, &format!("not JSON: {e}"));
                return Ok(None);
            }
        };
        if value.get("NextToken").is_some_and(|t| !t.is_null()) {
            self.progress.eprintln(&format!(
                "rebound suppressions import: {}: this is one page of the list (NextToken is set); import the other pages too",
                self.name
            ));
        }
        let Some(items) = json_items(&value) else {
            self.reject("entry", 0, "no array of suppressions in this JSON");
            return Ok(None);
        };
        let mut header: Vec<String> = Vec::new();
        for item in items {
            if let Some(o) = item.as_object() {
                for k in o.keys() {
                    if !header.contains(k) {
                        header.push(k.clone());
                    }
                }
            }
        }
        let layout = match formats::detect(&header, self.options.format) {
            Ok(l) => l,
            Err(why) => {
                self.reject("entry", 1, &why);
                return Ok(None);
            }
        };
        for (i, item) in items.iter().enumerate() {
            let n = i as u64 + 1;
            let Some(o) = item.as_object() else {
                self.reject("entry", n, "not an object");
                continue;
            };
            let fields: Vec<String> = header
                .iter()
                .map(|k| match o.get(k) {
                    None | Some(Value::Null) => String::new(),
                    Some(Value::String(s)) => s.clone(),
                    Some(v) => v.to_string(),
                })
                .collect();
            self.row(&layout, &fields, "entry", n, name_kind)?;
        }
        Ok(Some(layout.describe(self.options.kind.or(name_kind))))
    }

    fn row(
        &mut self,
        layout: &Layout,
        fields: &[String],
        unit: &str,
        n: u64,
        name_kind: Option<Kind>,
    ) -> Result<()> {
        let mut scratch = std::mem::take(&mut self.scratch);
        let row = formats::read_row(layout, fields, &self.context(name_kind), &mut scratch);
        self.scratch = scratch;
        match row {
            Row::Record(r) => self.batch.push(*r),
            Row::Skipped(why) => {
                self.skipped += 1;
                self.progress.eprintln(&format!(
                    "rebound suppressions import: {}: {unit} {n} skipped: {why}",
                    self.name
                ));
            }
            Row::Rejected(why) => self.reject(unit, n, &why),
            Row::Blank => {}
        }
        if self.batch.len() >= self.store.max_batch() {
            self.flush()?;
        }
        Ok(())
    }

    fn reject(&mut self, unit: &str, n: u64, why: &str) {
        if n == 0 {
            // About the whole input, not one of its rows.
            self.progress.eprintln(&format!(
                "rebound suppressions import: {}: rejected: {why}",
                self.name
            ));
            self.rejected.push(n);
            return;
        }
        self.progress.eprintln(&format!(
            "rebound suppressions import: {}: {unit} {n} rejected: {why}",
            self.name
        ));
        self.rejected.push(n);
    }

    fn flush(&mut self) -> Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let results = self.store.append(&self.batch)?;
        for r in results {
            match r {
                Appended::Stored => self.imported += 1,
                Appended::Duplicate => {
                    self.imported += 1;
                    self.duplicates += 1;
                }
                // Refusals need an empty `by` or consent; --by is checked up front.
                Appended::Refused(why) => self.reject("row", 0, &why.to_string()),
            }
        }
        self.batch.clear();
        Ok(())
    }
}

/// True when the input's first non-blank byte opens JSON.
fn starts_like_json(reader: &mut BufReader<impl Read>) -> io::Result<bool> {
    let buf = reader.fill_buf()?;
    let buf = buf.strip_prefix(b"\xef\xbb\xbf").unwrap_or(buf);
    Ok(matches!(
        buf.iter().find(|b| !b.is_ascii_whitespace()),
        Some(b'{' | b'[')
    ))
}

/// The array of suppressions in a provider's JSON answer: the top level (SendGrid),
/// `SuppressedDestinationSummaries` (SES), `Suppressions` (Postmark), `items`
/// (Mailgun), or the only array the object holds.
fn json_items(v: &Value) -> Option<&Vec<Value>> {
    if let Some(a) = v.as_array() {
        return Some(a);
    }
    let o = v.as_object()?;
    for key in [
        "SuppressedDestinationSummaries",
        "Suppressions",
        "items",
        "result",
    ] {
        if let Some(a) = o.get(key).and_then(Value::as_array) {
            return Some(a);
        }
    }
    let mut arrays = o.values().filter_map(Value::as_array);
    match (arrays.next(), arrays.next()) {
        (Some(a), None) => Some(a),
        _ => None,
    }
}
