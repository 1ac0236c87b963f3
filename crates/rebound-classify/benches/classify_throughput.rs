//! Replies classified per second on one core.
//!
//! `cargo bench -p rebound-classify --bench classify_throughput [-- FILE [SECONDS]]`
//!
//! Without FILE the mix is every example reply in the built-in rule files plus the
//! labelled evaluation set (`testdata/replies-eval.tsv`): real replies from many
//! providers, MTAs and languages. `bench/classify-vs-sisimai.sh` runs this and
//! Sisimai side by side on the same file and prints the ratio.

#[path = "../../../bench/cpu_time.rs"]
mod cpu_time;
use cpu_time::{cpu_time, on_core};
use rebound_classify::{Classifier, Reply, Scratch};
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
    let lines: Vec<String> = match args.first() {
        Some(path) => std::fs::read_to_string(path)
            .expect("reading the reply file")
            .lines()
            .map(str::to_string)
            .collect(),
        None => default_mix(),
    };
    let seconds: f64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(3.0);
    assert!(!lines.is_empty(), "no replies to classify");
    let c = Classifier::builtin();
    let mut scratch = Scratch::default();
    // Warm up: compile (LazyLock) and fill caches.
    for l in &lines {
        black_box(c.classify(&Reply::parse(l), &mut scratch));
    }
    // REBOUND_BENCH_PASSES=N runs exactly N passes over the mix, for instruction
    // counting under `valgrind --tool=callgrind` (repeatable on a noisy machine).
    if let Some(passes) = std::env::var("REBOUND_BENCH_PASSES")
        .ok()
        .and_then(|p| p.parse::<u64>().ok())
    {
        for _ in 0..passes {
            for l in &lines {
                black_box(c.classify(&Reply::parse(black_box(l)), &mut scratch));
            }
        }
        println!("{} classifications", passes * lines.len() as u64);
        return;
    }
    let budget = Duration::from_secs_f64(seconds);
    let start = Instant::now();
    let cpu_start = cpu_time();
    let mut n = 0u64;
    while start.elapsed() < budget {
        for l in &lines {
            black_box(c.classify(&Reply::parse(black_box(l)), &mut scratch));
        }
        n += lines.len() as u64;
    }
    let secs = start.elapsed().as_secs_f64();
    let cpu = on_core(cpu_start, cpu_time(), secs);
    let bytes: usize = lines.iter().map(|l| l.len()).sum();
    println!(
        "rebound classify: {} distinct replies (mean {} bytes), {} classified in {:.2} s wall, {:.2} s on a core ({:.0}% of the time): {:.0} replies/s on one core",
        lines.len(),
        bytes / lines.len(),
        n,
        secs,
        cpu,
        100.0 * cpu / secs,
        n as f64 / cpu
    );
}

fn default_mix() -> Vec<String> {
    let mut lines: Vec<String> = Classifier::builtin()
        .rules()
        .iter()
        .flat_map(|r| r.examples.iter().cloned())
        .collect();
    let eval = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/replies-eval.tsv"
    );
    if let Ok(s) = std::fs::read_to_string(eval) {
        lines.extend(
            s.lines()
                .skip(1)
                .filter_map(|l| l.split('\t').next())
                .map(str::to_string),
        );
    }
    lines
}
