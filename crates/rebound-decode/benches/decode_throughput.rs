//! Bounce messages decoded per second on one core.
//!
//! `cargo bench -p rebound-decode --bench decode_throughput [-- DIR [SECONDS]]`
//!
//! Reads every file under DIR (default: the development corpus's `maildir/bsd`) into
//! memory once, then decodes them over and over for SECONDS (default 3): no disk IO is
//! timed. `bench/decode-vs-sisimai.sh` runs this and Perl Sisimai side by side.

#[path = "../../../bench/cpu_time.rs"]
mod cpu_time;
use cpu_time::{cpu_time, on_core};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// The `rebound` binary's allocator, so that what is measured is what ships.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let dir = args.first().cloned().unwrap_or_else(|| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/corpus/maildir/bsd"
        )
        .to_string()
    });
    let seconds: f64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(3.0);
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {dir}: {e}"))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    let messages: Vec<Vec<u8>> = paths.iter().filter_map(|p| std::fs::read(p).ok()).collect();
    assert!(!messages.is_empty(), "no messages in {dir}");
    let bytes: usize = messages.iter().map(Vec::len).sum();
    let mut recipients = 0usize;
    for m in &messages {
        recipients += rebound_decode::decode(m)
            .map(|d| d.recipients.len())
            .unwrap_or(0);
    }
    // REBOUND_BENCH_PASSES=N runs exactly N passes over the messages and prints nothing
    // more, for instruction counting under `valgrind --tool=callgrind`
    // (`bench/decode-instructions.sh`: repeatable on a noisy machine).
    if let Some(passes) = std::env::var("REBOUND_BENCH_PASSES")
        .ok()
        .and_then(|p| p.parse::<u64>().ok())
    {
        for _ in 0..passes {
            for m in &messages {
                let _ = black_box(rebound_decode::decode(black_box(m)));
            }
        }
        println!(
            "{} messages, {recipients} recipients, {passes} passes",
            messages.len()
        );
        return;
    }
    let budget = Duration::from_secs_f64(seconds);
    let start = Instant::now();
    let cpu_start = cpu_time();
    let mut n = 0u64;
    while start.elapsed() < budget {
        for m in &messages {
            let _ = black_box(rebound_decode::decode(black_box(m)));
        }
        n += messages.len() as u64;
    }
    let secs = start.elapsed().as_secs_f64();
    let cpu = on_core(cpu_start, cpu_time(), secs);
    println!(
        "rebound decode: {} messages ({} KiB, {} recipients), {} decoded in {:.2} s wall, {:.2} s on a core ({:.0}% of the time): {:.0} messages/s on one core",
        messages.len(),
        bytes / 1024,
        recipients,
        n,
        secs,
        cpu,
        100.0 * cpu / secs,
        n as f64 / cpu
    );
}
