//! Load on `rebound serve` over loopback, embedded store (SQLite, durable commits),
//! from a Rust load generator in this process against the server in its own:
//!
//! 1. events/s through `POST /v1/events` in batches of 100;
//! 2. single-event requests/s through `POST /v1/events`, with latency percentiles;
//! 3. DSNs/s through the SMTP receiver (each a genuine RFC 3464 report to its own
//!    signed VERP return path, decoded, classified and stored before its `250`).
//!
//! `cargo bench -p rebound-cli --bench server`. Sizes: `REBOUND_BENCH_BATCHES`
//! (default 400 batches of 100), `REBOUND_BENCH_SINGLE` (default 20000 requests),
//! `REBOUND_BENCH_DSNS` (default 4000); concurrency `REBOUND_BENCH_CONNECTIONS`
//! (default 32) for HTTP and `REBOUND_BENCH_SMTP_CONNECTIONS` (default 16). Every
//! loop is bounded by its count; the machine's two cores are shared by the load
//! generator and the server, so the figures are a floor for the server alone.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};

const BIN: &str = env!("CARGO_BIN_EXE_rebound");

fn size(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn cli(data: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new(BIN)
        .arg("--data")
        .arg(data)
        .args(args)
        .env_remove("REBOUND_DATABASE_URL")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

const REPLIES: [&str; 4] = [
    "550 5.1.1 <x@example.com>: Recipient address rejected: User unknown",
    "552 5.2.2 Mailbox full",
    "421 4.3.0 Temporary server error, try again later",
    "550 5.7.1 Message rejected due to SPF policy",
];

fn event(i: usize) -> serde_json::Value {
    let at = format!(
        "2026-11-22T{:02}:{:02}:{:02}Z",
        (i / 3600) % 24,
        (i / 60) % 60,
        i % 60
    );
    if i.is_multiple_of(5) {
        serde_json::json!({"channel": "email", "recipient": format!("u{i}@example.com"), "event": "delivered", "at": at})
    } else {
        serde_json::json!({"channel": "email", "recipient": format!("u{i}@example.com"), "event": "bounce", "at": at, "reply": REPLIES[i % 4], "campaign": "bench"})
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1000.0
}

async fn http_load(
    base: &str,
    key: &str,
    requests: Vec<String>,
    connections: usize,
) -> (f64, Vec<Duration>) {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .build()
        .unwrap();
    let queue = Arc::new(std::sync::Mutex::new(requests));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (client, queue, url, key) = (
            client.clone(),
            queue.clone(),
            format!("{base}/v1/events"),
            key.to_string(),
        );
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            loop {
                let Some(body) = queue.lock().unwrap().pop() else {
                    break;
                };
                let t = Instant::now();
                let r = client
                    .post(&url)
                    .bearer_auth(&key)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .expect("request");
                assert_eq!(r.status().as_u16(), 200);
                let _ = r.bytes().await;
                lat.push(t.elapsed());
            }
            lat
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let secs = started.elapsed().as_secs_f64();
    all.sort();
    (secs, all)
}

fn dsn(recipient: &str, n: usize) -> String {
    format!(
        "From: MAILER-DAEMON@mx.example.net\r\nTo: bounces@bounce.example\r\nSubject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn-{n}@mx.example.net>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nI could not deliver your message.\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.net\r\n\r\nFinal-Recipient: rfc822; {recipient}\r\nAction: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 <{recipient}>: Recipient address rejected: User unknown\r\n--b--\r\n.\r\n"
    )
}

async fn smtp_load(addr: String, messages: Vec<(String, String)>, connections: usize) -> f64 {
    let queue = Arc::new(std::sync::Mutex::new(messages));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (queue, addr) = (queue.clone(), addr.clone());
        tasks.push(tokio::spawn(async move {
            let s = tokio::net::TcpStream::connect(&addr).await.unwrap();
            let (r, mut w) = s.into_split();
            let mut r = tokio::io::BufReader::new(r);
            let mut line = String::new();
            let mut reply = async |r: &mut tokio::io::BufReader<tokio::net::tcp::OwnedReadHalf>| {
                loop {
                    line.clear();
                    r.read_line(&mut line).await.unwrap();
                    if line.len() < 4 || line.as_bytes()[3] == b' ' {
                        return line.clone();
                    }
                }
            };
            assert!(reply(&mut r).await.starts_with("220"));
            w.write_all(b"EHLO bench\r\n").await.unwrap();
            reply(&mut r).await;
            loop {
                let Some((to, body)) = queue.lock().unwrap().pop() else {
                    break;
                };
                // Pipelined, as an MTA does it (RFC 2920).
                w.write_all(format!("MAIL FROM:<>\r\nRCPT TO:<{to}>\r\nDATA\r\n").as_bytes())
                    .await
                    .unwrap();
                for want in ["250", "250", "354"] {
                    let got = reply(&mut r).await;
                    assert!(got.starts_with(want), "{got}");
                }
                w.write_all(body.as_bytes()).await.unwrap();
                let got = reply(&mut r).await;
                assert!(got.starts_with("250 2.0.0"), "{got}");
            }
            let _ = w.write_all(b"QUIT\r\n").await;
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    started.elapsed().as_secs_f64()
}

fn main() {
    let batches = size("REBOUND_BENCH_BATCHES", 400);
    let single = size("REBOUND_BENCH_SINGLE", 20_000);
    let dsns = size("REBOUND_BENCH_DSNS", 4000);
    let conns = size("REBOUND_BENCH_CONNECTIONS", 32);
    let smtp_conns = size("REBOUND_BENCH_SMTP_CONNECTIONS", 16);
    let data = std::env::temp_dir().join(format!("rebound-bench-server-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    cli(&data, &["tenant", "create", "--tenant", "bench"]);
    let key = cli(&data, &["keys", "create", "--tenant", "bench"])
        .trim()
        .to_string();
    let recipients: Vec<String> = (0..dsns).map(|i| format!("d{i}@example.org")).collect();
    let mut args = vec![
        "verp",
        "encode",
        "--tenant",
        "bench",
        "--campaign",
        "bench",
        "--domain",
        "bounce.example",
    ];
    args.extend(recipients.iter().map(String::as_str));
    let verps: Vec<String> = cli(&data, &args).lines().map(String::from).collect();
    let mut child = Command::new(BIN)
        .arg("--data")
        .arg(&data)
        .args(["serve", "--http", "127.0.0.1:0", "--smtp", "127.0.0.1:0"])
        .env_remove("REBOUND_DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let field = |name: &str| {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(name))
            .unwrap()
            .to_string()
    };
    let (http, smtp) = (format!("http://{}", field("http=")), field("smtp="));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut n = 0;
        let bodies: Vec<String> = (0..batches)
            .map(|_| {
                let batch: Vec<_> = (0..100).map(|_| {
                    n += 1;
                    event(n)
                }).collect();
                serde_json::to_string(&batch).unwrap()
            })
            .collect();
        let (secs, lat) = http_load(&http, &key, bodies, conns.min(8)).await;
        println!(
            "POST /v1/events, batches of 100: {} events in {secs:.2} s = {:.0} events/s ({} connections; p50 {:.1} ms, p99 {:.1} ms per batch)",
            batches * 100,
            (batches * 100) as f64 / secs,
            conns.min(8),
            percentile(&lat, 0.50),
            percentile(&lat, 0.99)
        );
        let bodies: Vec<String> = (0..single)
            .map(|_| {
                n += 1;
                event(n).to_string()
            })
            .collect();
        let (secs, lat) = http_load(&http, &key, bodies, conns).await;
        println!(
            "POST /v1/events, one event each: {single} requests in {secs:.2} s = {:.0} requests/s ({conns} connections; p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms)",
            single as f64 / secs,
            percentile(&lat, 0.50),
            percentile(&lat, 0.99),
            percentile(&lat, 1.0)
        );
        let messages: Vec<(String, String)> = verps
            .iter()
            .zip(&recipients)
            .enumerate()
            .map(|(i, (v, r))| (v.clone(), dsn(r, i)))
            .collect();
        let secs = smtp_load(smtp, messages, smtp_conns).await;
        println!(
            "SMTP receiver: {dsns} DSNs in {secs:.2} s = {:.0} DSNs/s ({smtp_conns} connections; each decoded, classified and durably stored before its 250)",
            dsns as f64 / secs
        );
    });
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    // Every acknowledged event is in the store.
    let report = cli(&data, &["report", "--tenant", "bench"]);
    let v: serde_json::Value = serde_json::from_str(&report).unwrap();
    let stored = v["delivered"].as_u64().unwrap() + v["bounced"]["total"].as_u64().unwrap();
    println!(
        "stored outcomes after shutdown: {stored} (expected {})",
        batches * 100 + single + dsns
    );
    let _ = std::fs::remove_dir_all(&data);
}
