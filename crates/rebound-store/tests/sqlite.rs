//! The shared suite on the embedded back end, each test in its own temporary data
//! directory.

#[macro_use]
mod suite;

use rebound_store::{Channel, SqliteStore, Store};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let p = std::env::temp_dir().join(format!(
            "rebound-store-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl suite::Harness for TempDir {
    fn open(&self) -> Box<dyn Store> {
        Box::new(SqliteStore::open_dir(&self.0).unwrap())
    }
}

store_suite!(TempDir::new(), proptest_cases = 256);

#[test]
fn the_database_is_one_file_in_wal_mode() {
    let dir = TempDir::new();
    let _s = SqliteStore::open_dir(&dir.0).unwrap();
    assert!(dir.0.join("rebound.db").is_file());
    let c = rusqlite::Connection::open(dir.0.join("rebound.db")).unwrap();
    let mode: String = c
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

/// A data directory written before sends were stored a run to a row: its
/// per-send `attempts` rows are folded into runs on opening, nothing lost.
#[test]
fn old_attempt_rows_are_migrated() {
    let dir = TempDir::new();
    drop(SqliteStore::open_dir(&dir.0).unwrap());
    let c = rusqlite::Connection::open(dir.0.join("rebound.db")).unwrap();
    c.execute_batch(&suite::OLD_ATTEMPTS.replace("{id}", "INTEGER PRIMARY KEY AUTOINCREMENT"))
        .unwrap();
    drop(c);
    suite::old_attempts_are_counted(&mut SqliteStore::open_dir(&dir.0).unwrap());
    let c = rusqlite::Connection::open(dir.0.join("rebound.db")).unwrap();
    let left: i64 = c
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE name = 'attempts'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(left, 0, "the old table is dropped");
}

/// A data directory written before address states were stored packed: opening it
/// adds and fills the column, and the gate sees the same states.
#[test]
fn unpacked_address_states_are_migrated() {
    let dir = TempDir::new();
    let mut s = SqliteStore::open_dir(&dir.0).unwrap();
    suite::seed_marked(&mut s);
    let mut before = s.marked("acme", Channel::Email).unwrap();
    before.sort_by(|a, b| a.0.cmp(&b.0));
    drop(s);
    let c = rusqlite::Connection::open(dir.0.join("rebound.db")).unwrap();
    c.execute_batch(suite::DROP_PACKED).unwrap();
    drop(c);
    suite::unpacked_states_are_packed(&mut SqliteStore::open_dir(&dir.0).unwrap(), &before);
}
