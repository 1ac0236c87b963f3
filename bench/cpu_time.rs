//! Shared by the classify and decode benches (included by `#[path]`): on a shared
//! machine a thread is not always on a core, and the time it was is what one core's
//! throughput is measured against.

/// Seconds this thread has spent on a CPU (Linux `schedstat`, nanoseconds).
pub fn cpu_time() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: f64 = s.split_whitespace().next()?.parse().ok()?;
    Some(ns / 1e9)
}

/// The seconds on a core between two [`cpu_time`] readings, or the wall seconds
/// `wall` where the readings are missing.
pub fn on_core(start: Option<f64>, end: Option<f64>, wall: f64) -> f64 {
    match (start, end) {
        (Some(a), Some(b)) if b > a => b - a,
        _ => wall,
    }
}
