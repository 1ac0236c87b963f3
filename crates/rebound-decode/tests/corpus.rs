//! The development corpus (`shared/corpus`): every message in `maildir/bsd` is decoded
//! and compared, recipient by recipient and by position, with `expected.tsv`. The
//! agreement figures are printed and must stay at or above the floors below (raise them
//! as the decoder improves). `REBOUND_CORPUS_VERBOSE=1` prints every disagreement.

use rebound_decode::{Decoded, Kind, decode, mbox, sisimai};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Floors, in percent of expected recipients.
const FLOOR_FOUND: f64 = 99.5;
const FLOOR_REASON: f64 = 97.6;
const FLOOR_HARDBOUNCE: f64 = 99.2;
const FLOOR_STATUS: f64 = 96.7;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus")
}

#[derive(Debug, Clone)]
struct Row {
    status: String,
    replycode: String,
    reason: String,
    hardbounce: String,
    feedbacktype: String,
    /// Shown in verbose mode only, never compared.
    detail: String,
}

impl PartialEq for Row {
    fn eq(&self, o: &Row) -> bool {
        (
            &self.status,
            &self.replycode,
            &self.reason,
            &self.hardbounce,
            &self.feedbacktype,
        ) == (
            &o.status,
            &o.replycode,
            &o.reason,
            &o.hardbounce,
            &o.feedbacktype,
        )
    }
}

fn rows_of(d: &Decoded) -> Vec<Row> {
    d.recipients
        .iter()
        .map(|r| Row {
            status: sisimai::delivery_status(r),
            replycode: r.reply_code.map(|c| c.to_string()).unwrap_or_default(),
            reason: r.sisimai.reason.to_string(),
            hardbounce: r.sisimai.hardbounce.to_string(),
            feedbacktype: r.feedback_type.clone().unwrap_or_default(),
            detail: format!(
                "{} kind={:?} cmd={:?} dtype={:?} rule={} | {}",
                d.format,
                r.kind,
                r.smtp_command,
                r.diagnostic_type,
                r.verdict.as_ref().map_or("-".to_string(), |v| format!(
                    "{}/{}",
                    v.evidence.rule, v.sisimai_reason
                )),
                r.diagnostic.chars().take(300).collect::<String>()
            ),
        })
        .collect()
}

fn expected() -> BTreeMap<String, Vec<Row>> {
    let tsv = std::fs::read_to_string(corpus().join("expected.tsv")).expect("expected.tsv");
    let mut m: BTreeMap<String, Vec<Row>> = BTreeMap::new();
    for line in tsv.lines().skip(1) {
        let c: Vec<&str> = line.split('\t').collect();
        if c.len() < 7 {
            continue;
        }
        m.entry(c[0].to_string()).or_default().push(Row {
            status: c[2].into(),
            replycode: c[3].into(),
            reason: c[4].into(),
            hardbounce: c[5].into(),
            feedbacktype: c[6].into(),
            detail: String::new(),
        });
    }
    m
}

fn files(dir: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(corpus().join(dir))
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

/// Decodes a file as `rebound parse` does: an mbox (some `.eml` files hold several
/// messages, each after its `From ` line) is split into its messages.
fn decode_file(p: &Path) -> Vec<Row> {
    let bytes = std::fs::read(p).unwrap();
    let messages = if mbox::is_mbox(&bytes) {
        mbox::split(&bytes)
    } else {
        vec![bytes]
    };
    messages
        .iter()
        .filter_map(|m| decode(m).ok())
        .flat_map(|d| rows_of(&d))
        .collect()
}

fn pct(n: usize, d: usize) -> f64 {
    if d == 0 {
        0.0
    } else {
        100.0 * n as f64 / d as f64
    }
}

#[test]
fn bsd_agrees_with_expected() {
    let verbose = std::env::var_os("REBOUND_CORPUS_VERBOSE").is_some();
    // `REBOUND_CORPUS_VERBOSE=all` prints every recipient, agreeing or not.
    let show_all = std::env::var("REBOUND_CORPUS_VERBOSE").is_ok_and(|v| v == "all");
    let exp = expected();
    let (mut total, mut found, mut reason, mut hard, mut status, mut cases) = (0, 0, 0, 0, 0, 0);
    let mut by_reason: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for p in files("maildir/bsd") {
        let key = format!("maildir/bsd/{}", p.file_name().unwrap().to_string_lossy());
        let Some(want) = exp.get(&key) else { continue };
        cases += 1;
        let got = decode_file(&p);
        if verbose && got.len() != want.len() {
            eprintln!("COUNT {key}: want {} got {}", want.len(), got.len());
        }
        for (i, w) in want.iter().enumerate() {
            total += 1;
            let e = by_reason.entry(w.reason.clone()).or_default();
            e.1 += 1;
            let Some(g) = got.get(i) else { continue };
            found += 1;
            if show_all {
                eprintln!(
                    "ROW {key}#{}: want {} got {}\n    {}",
                    i + 1,
                    w.reason,
                    g.reason,
                    g.detail
                );
            }
            if g.reason == w.reason {
                reason += 1;
                e.0 += 1;
            } else if verbose {
                eprintln!(
                    "REASON {key}#{}: want {} got {}\n    {}",
                    i + 1,
                    w.reason,
                    g.reason,
                    g.detail
                );
            }
            if g.hardbounce == w.hardbounce {
                hard += 1;
            } else if verbose {
                eprintln!(
                    "HARD {key}#{}: want {} got {} ({} / {})",
                    i + 1,
                    w.hardbounce,
                    g.hardbounce,
                    w.reason,
                    g.reason
                );
            }
            if g.status == w.status {
                status += 1;
            } else if verbose {
                eprintln!("STATUS {key}#{}: want {} got {}", i + 1, w.status, g.status);
            }
        }
    }
    assert!(cases > 0, "no corpus case ran");
    let (f, r, h, s) = (
        pct(found, total),
        pct(reason, total),
        pct(hard, total),
        pct(status, total),
    );
    println!(
        "corpus: {cases} messages, {total} recipients: found {f:.1}%, reason {r:.1}%, hardbounce {h:.1}%, status {s:.1}%"
    );
    if verbose {
        for (k, (ok, n)) in &by_reason {
            eprintln!("  {k:16} {ok}/{n}");
        }
    }
    assert!(
        f >= FLOOR_FOUND,
        "recipients found {f:.1}% < {FLOOR_FOUND}%"
    );
    assert!(r >= FLOOR_REASON, "reason {r:.1}% < {FLOOR_REASON}%");
    assert!(
        h >= FLOOR_HARDBOUNCE,
        "hardbounce {h:.1}% < {FLOOR_HARDBOUNCE}%"
    );
    assert!(s >= FLOOR_STATUS, "status {s:.1}% < {FLOOR_STATUS}%");
}

#[test]
fn dos_and_mac_line_ends_decode_like_their_bsd_twins() {
    let mut cases = 0;
    for dir in ["maildir/dos", "maildir/mac"] {
        for p in files(dir) {
            let twin = corpus().join("maildir/bsd").join(p.file_name().unwrap());
            if !twin.exists() {
                continue;
            }
            cases += 1;
            assert_eq!(decode_file(&p), decode_file(&twin), "{}", p.display());
        }
    }
    assert!(cases > 0, "no dos/mac case ran");
}

#[test]
fn not_bounces_yield_no_bounced_recipient() {
    let mut cases = 0;
    for p in files("maildir/not") {
        cases += 1;
        let bytes = std::fs::read(&p).unwrap();
        if let Ok(d) = decode(&bytes) {
            for r in &d.recipients {
                assert!(
                    !matches!(r.kind, Kind::Bounce | Kind::Delay),
                    "{}: {} decoded as {:?}",
                    p.display(),
                    r.recipient,
                    r.kind
                );
            }
        }
    }
    assert!(cases > 0);
}

#[test]
fn mailboxes_split_and_decode_and_tiny_files_do_not_panic() {
    let mut messages = 0;
    let mut bounced = 0;
    for p in files("mailbox") {
        let bytes = std::fs::read(&p).unwrap();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        if name.starts_with("size-") {
            // Degenerate files: a clear error or nothing, never a panic.
            match decode(&bytes) {
                Ok(d) => assert!(d.recipients.is_empty(), "{name}"),
                Err(e) => assert!(!e.to_string().is_empty()),
            }
            assert!(mbox::split(&bytes).len() <= 1);
            continue;
        }
        assert!(mbox::is_mbox(&bytes), "{name} is an mbox");
        for m in mbox::split(&bytes) {
            messages += 1;
            if let Ok(d) = decode(&m) {
                bounced += d.recipients.len();
            }
        }
    }
    println!("mailboxes: {messages} messages, {bounced} recipients");
    assert!(messages > 1);
    assert!(bounced > 0);
}
