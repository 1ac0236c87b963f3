//! Prometheus metrics (`GET /metrics`, text exposition format 0.0.4): counters by
//! name and labels, and latency histograms with fixed buckets. Hand-rolled because
//! the server needs a dozen series, not a metrics framework.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Bucket upper bounds in seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

struct Histogram {
    counts: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    /// Microseconds.
    sum_us: AtomicU64,
}

impl Histogram {
    fn new() -> Histogram {
        Histogram {
            counts: std::array::from_fn(|_| AtomicU64::new(0)),
            count: AtomicU64::new(0),
            sum_us: AtomicU64::new(0),
        }
    }
}

/// (metric name, rendered labels) → value.
type Key = (&'static str, String);

pub struct Metrics {
    counters: Mutex<BTreeMap<Key, u64>>,
    histograms: Mutex<BTreeMap<Key, &'static Histogram>>,
    help: &'static [(&'static str, &'static str, &'static str)],
}

/// Every series' name, type and help text.
const HELP: &[(&str, &str, &str)] = &[
    (
        "rebound_http_requests_total",
        "counter",
        "HTTP requests by route and status.",
    ),
    (
        "rebound_http_request_duration_seconds",
        "histogram",
        "HTTP request latency by route.",
    ),
    (
        "rebound_events_total",
        "counter",
        "Outcome events by result (stored, duplicate, rejected) and source.",
    ),
    (
        "rebound_webhook_requests_total",
        "counter",
        "Provider webhook requests by provider and result.",
    ),
    (
        "rebound_smtp_connections_total",
        "counter",
        "SMTP connections by result.",
    ),
    (
        "rebound_smtp_messages_total",
        "counter",
        "Messages received over SMTP by result.",
    ),
    (
        "rebound_store_commit_seconds",
        "histogram",
        "Time to commit one group of submissions.",
    ),
];

fn labels(pairs: &[(&str, &str)]) -> String {
    let mut s = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        let v = v
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n");
        let _ = write!(s, "{k}=\"{v}\"");
    }
    s
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            counters: Mutex::new(BTreeMap::new()),
            histograms: Mutex::new(BTreeMap::new()),
            help: HELP,
        }
    }
}

impl Metrics {
    pub fn add(&self, name: &'static str, pairs: &[(&str, &str)], n: u64) {
        if n == 0 {
            return;
        }
        if let Ok(mut c) = self.counters.lock() {
            *c.entry((name, labels(pairs))).or_default() += n;
        }
    }

    pub fn observe(&self, name: &'static str, pairs: &[(&str, &str)], seconds: f64) {
        let h: &'static Histogram = {
            let Ok(mut hs) = self.histograms.lock() else {
                return;
            };
            // Series are few and live as long as the server: leaking one small
            // allocation per series keeps observation lock-free afterwards.
            hs.entry((name, labels(pairs)))
                .or_insert_with(|| Box::leak(Box::new(Histogram::new())))
        };
        if let Some(i) = BUCKETS.iter().position(|b| seconds <= *b) {
            h.counts[i].fetch_add(1, Ordering::Relaxed);
        }
        h.count.fetch_add(1, Ordering::Relaxed);
        h.sum_us
            .fetch_add((seconds * 1e6) as u64, Ordering::Relaxed);
    }

    /// The exposition text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let counters = self.counters.lock().map(|c| c.clone()).unwrap_or_default();
        let hists: Vec<(Key, &'static Histogram)> = self
            .histograms
            .lock()
            .map(|h| h.iter().map(|(k, v)| (k.clone(), *v)).collect())
            .unwrap_or_default();
        for (name, kind, help) in self.help {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for ((n, l), v) in counters.iter().filter(|((n, _), _)| n == name) {
                let _ = writeln!(out, "{n}{{{l}}} {v}");
            }
            for ((n, l), h) in hists.iter().filter(|((n, _), _)| n == name) {
                let sep = if l.is_empty() { "" } else { "," };
                let mut cumulative = 0;
                for (i, b) in BUCKETS.iter().enumerate() {
                    cumulative += h.counts[i].load(Ordering::Relaxed);
                    let _ = writeln!(out, "{n}_bucket{{{l}{sep}le=\"{b}\"}} {cumulative}");
                }
                let count = h.count.load(Ordering::Relaxed);
                let _ = writeln!(out, "{n}_bucket{{{l}{sep}le=\"+Inf\"}} {count}");
                let sum = h.sum_us.load(Ordering::Relaxed) as f64 / 1e6;
                let _ = writeln!(out, "{n}_sum{{{l}}} {sum}\n{n}_count{{{l}}} {count}");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_cumulative_buckets() {
        let m = Metrics::default();
        m.add(
            "rebound_events_total",
            &[("result", "stored"), ("source", "api")],
            3,
        );
        m.add(
            "rebound_events_total",
            &[("result", "stored"), ("source", "api")],
            2,
        );
        m.observe("rebound_store_commit_seconds", &[], 0.003);
        m.observe("rebound_store_commit_seconds", &[], 7.0);
        let t = m.render();
        assert!(
            t.contains("rebound_events_total{result=\"stored\",source=\"api\"} 5\n"),
            "{t}"
        );
        assert!(
            t.contains("rebound_store_commit_seconds_bucket{le=\"0.005\"} 1\n"),
            "{t}"
        );
        assert!(
            t.contains("rebound_store_commit_seconds_bucket{le=\"+Inf\"} 2\n"),
            "{t}"
        );
        assert!(
            t.contains("rebound_store_commit_seconds_count{} 2\n"),
            "{t}"
        );
        assert!(t.contains("# TYPE rebound_http_requests_total counter\n"));
    }
}
