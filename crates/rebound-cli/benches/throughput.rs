//! End-to-end throughput of the stateful commands, on both back ends: `rebound
//! ingest` (events/s, JSON parsing, classification and durable batched commits
//! included) and `rebound gate` (recipients/s, attempts recorded).
//!
//! `cargo bench -p rebound-cli --bench throughput`. PostgreSQL is measured when
//! `REBOUND_BENCH_DATABASE_URL` (or `REBOUND_TEST_DATABASE_URL`) names a server, in a
//! schema of its own that is dropped afterwards. Sizes: `REBOUND_BENCH_EVENTS`
//! (default 50000, in time order, at most 86400) and `REBOUND_BENCH_RECIPIENTS` (default 200000).

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Instant;

const BIN: &str = env!("CARGO_BIN_EXE_rebound");

const REPLIES: [&str; 5] = [
    "550 5.1.1 <x@example.com>: Recipient address rejected: User unknown",
    "552 5.2.2 Mailbox full",
    "421 4.3.0 Temporary server error, try again later",
    "550 5.7.1 Message rejected due to SPF policy",
    "550 5.1.2 Host unknown: Domain name not found",
];

fn size(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn rebound(dir: &std::path::Path, url: Option<&str>, args: &[&str], input: &[u8]) -> String {
    let mut c = Command::new(BIN);
    c.arg("--data")
        .arg(dir)
        .args(args)
        .env_remove("REBOUND_DATABASE_URL");
    if let Some(u) = url {
        c.env("REBOUND_DATABASE_URL", u);
    }
    let mut child = c
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("run rebound");
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn measure(name: &str, url: Option<&str>) {
    let events = size("REBOUND_BENCH_EVENTS", 50_000);
    let recipients = size("REBOUND_BENCH_RECIPIENTS", 200_000);
    let dir = std::env::temp_dir().join(format!("rebound-bench-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    rebound(&dir, url, &["tenant", "create", "--tenant", "bench"], b"");

    let mut input = Vec::new();
    for i in 0..events {
        let (event, reply) = match i % 10 {
            0..=5 => ("delivered", None),
            6..=8 => ("bounce", Some(REPLIES[i % REPLIES.len()])),
            _ => ("unsubscribe", None),
        };
        let mut line = format!(
            r#"{{"tenant":"bench","channel":"email","recipient":"user{}@domain{}.example","event":"{event}","at":"2026-03-01T{:02}:{:02}:{:02}Z""#,
            i % (events / 3 + 1),
            i % 500,
            (i / 3600) % 24,
            (i / 60) % 60,
            i % 60
        );
        if let Some(r) = reply {
            line += &format!(r#","reply":"{r}""#);
        }
        line += "}\n";
        input.extend_from_slice(line.as_bytes());
    }
    let t = Instant::now();
    let summary = rebound(&dir, url, &["ingest"], &input);
    let ingest_s = t.elapsed().as_secs_f64();

    let mut list = Vec::new();
    for i in 0..recipients {
        writeln!(
            list,
            "user{}@domain{}.example",
            i % (events / 2 + 1),
            i % 700
        )
        .unwrap();
    }
    let t = Instant::now();
    let out = rebound(
        &dir,
        url,
        &[
            "gate",
            "--tenant",
            "bench",
            "--campaign",
            "c1",
            "--at",
            "2026-03-02T00:00:00Z",
        ],
        &list,
    );
    let gate_s = t.elapsed().as_secs_f64();
    assert_eq!(
        out.lines().count(),
        recipients,
        "one decision per recipient"
    );
    println!(
        "{name:>10}: ingest {:>9.0} events/s ({events} in {ingest_s:.2}s: {}), gate {:>9.0} recipients/s ({recipients} in {gate_s:.2}s)",
        events as f64 / ingest_s,
        summary.trim(),
        recipients as f64 / gate_s,
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn main() {
    // `cargo test --benches` passes --bench-less arguments; run only under `cargo bench`.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    measure("sqlite", None);
    let base = std::env::var("REBOUND_BENCH_DATABASE_URL")
        .or_else(|_| std::env::var("REBOUND_TEST_DATABASE_URL"))
        .ok();
    match base {
        Some(base) => {
            let schema = format!("rebound_bench_{}", std::process::id());
            let mut c = postgres::Client::connect(&base, postgres::NoTls).expect("connect");
            c.batch_execute(&format!("CREATE SCHEMA {schema}")).unwrap();
            let sep = if base.contains('?') { '&' } else { '?' };
            measure(
                "postgresql",
                Some(&format!("{base}{sep}options=-csearch_path%3D{schema}")),
            );
            c.batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
                .unwrap();
        }
        None => {
            println!("postgresql: not measured (set REBOUND_BENCH_DATABASE_URL=postgres://...)")
        }
    }
}
