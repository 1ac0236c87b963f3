//! The stateful commands at scale, on both back ends side by side: `rebound ingest`
//! (events/s, JSON parsing, classification and durable batched commits included)
//! seeds a tenant with addresses in non-active states (hard-bounced, unsubscribed,
//! complained, resting after a soft bounce); then `rebound gate` decides a large list
//! against them (recipients/s, every send recorded). For each run: the wall time, the
//! rate per wall second and per CPU second of the `rebound` process (the machine is
//! shared; CPU seconds wander less), and its peak resident memory.
//!
//! `cargo bench -p rebound-cli --bench throughput`. PostgreSQL is measured when
//! `REBOUND_BENCH_DATABASE_URL` (or `REBOUND_TEST_DATABASE_URL`) names a server, in a
//! schema of its own that is dropped afterwards. Sizes: `REBOUND_BENCH_MARKED`
//! (addresses ingested, each ending non-active; default 1,000,000) and
//! `REBOUND_BENCH_RECIPIENTS` (the gated list; default 10,000,000, one in ten of them
//! a marked address). Addresses are drawn from common names and mailbox domains, so
//! hashing and the compression of recorded sends see realistic text.

use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::time::Instant;

const BIN: &str = env!("CARGO_BIN_EXE_rebound");

fn size(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// What one `rebound` run cost.
struct Run {
    stdout: Vec<u8>,
    wall: f64,
    cpu: f64,
    peak_rss_mb: f64,
}

fn rebound(dir: &std::path::Path, url: Option<&str>, args: &[&str], input: Vec<u8>) -> Run {
    let mut c = Command::new(BIN);
    c.arg("--data")
        .arg(dir)
        .args(args)
        .env_remove("REBOUND_DATABASE_URL");
    if let Some(u) = url {
        c.env("REBOUND_DATABASE_URL", u);
    }
    let t = Instant::now();
    // Reaped by wait4 below, which std's Child does not know about.
    #[allow(clippy::zombie_processes)]
    let mut child = c
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("run rebound");
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    // Peak memory: the kernel's high-water mark of the child's own address space
    // (VmHWM, reset at exec), sampled until it exits. Not wait4's ru_maxrss: that
    // also counts the moment between fork and exec, when the child is a copy of
    // this process and its lists.
    let pid = child.id();
    let sampler = std::thread::spawn(move || {
        let mut peak_kb = 0u64;
        while let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
            if let Some(kb) = status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            {
                peak_kb = peak_kb.max(kb);
            }
            if status.contains("State:\tZ") {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        peak_kb
    });
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut v).unwrap();
        v
    });
    // wait4, not wait: it also returns the child's own CPU time.
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child, with valid pointers for the outputs.
    let pid = unsafe { libc::wait4(pid as i32, &mut status, 0, &mut usage) };
    assert!(pid > 0, "wait4 failed");
    let wall = t.elapsed().as_secs_f64();
    writer.join().unwrap();
    let stdout = reader.join().unwrap();
    let st = std::process::ExitStatus::from_raw(status);
    assert!(st.code().is_some(), "rebound {args:?} was killed: {st:?}");
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Run {
        stdout,
        wall,
        cpu: secs(usage.ru_utime) + secs(usage.ru_stime),
        peak_rss_mb: sampler.join().unwrap() as f64 / 1024.0,
    }
}

/// A small deterministic generator (xorshift64*): the same addresses every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[(self.next() % from.len() as u64) as usize]
    }
}

const NAMES: [&str; 24] = [
    "john", "mary", "smith", "lee", "garcia", "kim", "wang", "li", "patel", "mueller", "rossi",
    "dupont", "tanaka", "ivanov", "silva", "anna", "omar", "chen", "nguyen", "brown", "jones",
    "martin", "sato", "kowalski",
];
const MAILBOXES: [&str; 12] = [
    "gmail.com",
    "yahoo.com",
    "outlook.com",
    "hotmail.com",
    "icloud.com",
    "aol.com",
    "gmx.de",
    "web.de",
    "orange.fr",
    "yandex.ru",
    "mail.ru",
    "comcast.net",
];

/// The `i`th address of a population: unique per `i` (the number makes it so),
/// realistic in shape.
fn address(rng: &mut Rng, i: usize) -> String {
    let a = rng.pick(&NAMES);
    let b = rng.pick(&NAMES);
    let sep = rng.pick(&[".", "_", ""]);
    let domain = if rng.next() % 10 < 7 {
        rng.pick(&MAILBOXES).to_string()
    } else {
        format!("corp{}.example", rng.next() % 20_000)
    };
    format!("{a}{sep}{b}{i}@{domain}")
}

const HARD: &str = "550 5.1.1 <x@example.com>: Recipient address rejected: User unknown";
const SOFT: &str = "452 4.2.2 Mailbox full";

fn measure(name: &str, url: Option<&str>) {
    let marked = size("REBOUND_BENCH_MARKED", 1_000_000);
    let recipients = size("REBOUND_BENCH_RECIPIENTS", 10_000_000);
    let dir = std::env::temp_dir().join(format!("rebound-bench-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    rebound(
        &dir,
        url,
        &["tenant", "create", "--tenant", "bench"],
        Vec::new(),
    );

    // Seed: one event per address, each leaving it non-active as of the gate below
    // (soft bounces a day before it, so they are resting).
    let mut rng = Rng(0x5eed);
    let mut population = Vec::with_capacity(marked);
    let mut input = Vec::with_capacity(marked * 200);
    for i in 0..marked {
        let a = address(&mut rng, i);
        let (event, reply) = match i % 4 {
            0 => ("bounce", Some(HARD)),
            1 => ("unsubscribe", None),
            2 => ("complaint", None),
            _ => ("bounce", Some(SOFT)),
        };
        let secs = i % 86_400;
        write!(
            input,
            r#"{{"tenant":"bench","channel":"email","recipient":"{a}","event":"{event}","at":"2026-03-01T{:02}:{:02}:{:02}Z""#,
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        )
        .unwrap();
        if let Some(r) = reply {
            write!(input, r#","reply":"{r}""#).unwrap();
        }
        input.extend_from_slice(b"}\n");
        population.push(a);
    }
    let ingest = rebound(&dir, url, &["ingest"], input);

    // The list: one in ten recipients is a marked address, the rest are new.
    let mut list = Vec::with_capacity(recipients * 28);
    let mut fresh = Rng(0xf00d);
    for i in 0..recipients {
        if i % 10 == 0 && !population.is_empty() {
            list.extend_from_slice(population[i / 10 % population.len()].as_bytes());
        } else {
            list.extend_from_slice(address(&mut fresh, marked + i).as_bytes());
        }
        list.push(b'\n');
    }
    drop(population);
    let gate = rebound(
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
        list,
    );
    let decisions = gate.stdout.iter().filter(|&&b| b == b'\n').count();
    assert_eq!(decisions, recipients, "one decision per recipient");
    let skips = gate
        .stdout
        .windows(16)
        .filter(|w| w == br#""decision":"skip"#)
        .count();
    let report = rebound(&dir, url, &["report", "--tenant", "bench"], Vec::new());
    let r: serde_json::Value = serde_json::from_slice(&report.stdout).expect("report JSON");
    assert_eq!(
        r["attempted"].as_u64(),
        Some((recipients - skips) as u64),
        "every send recorded"
    );
    let disk_mb = std::fs::read_dir(&dir)
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum::<u64>()
        })
        .unwrap_or(0) as f64
        / 1e6;

    println!(
        "{name:>10} ingest: {marked} events in {:.2} s = {:>8.0} events/s ({:>8.0} per CPU-s), peak RSS {:.0} MB",
        ingest.wall,
        marked as f64 / ingest.wall,
        marked as f64 / ingest.cpu,
        ingest.peak_rss_mb
    );
    println!(
        "{name:>10}   gate: {recipients} recipients ({skips} skipped) against {marked} non-active in {:.2} s = {:>8.0} recipients/s ({:>8.0} per CPU-s), peak RSS {:.0} MB{}",
        gate.wall,
        recipients as f64 / gate.wall,
        recipients as f64 / gate.cpu,
        gate.peak_rss_mb,
        if url.is_none() {
            format!(", data dir {disk_mb:.0} MB")
        } else {
            String::new()
        }
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
