//! The shared suite on PostgreSQL, over a real connection. `REBOUND_TEST_DATABASE_URL`
//! must name a server (`./scripts/test` finds or starts one); without it these tests
//! fail, they never skip: a green run must mean PostgreSQL was tested. Each test gets
//! its own schema, dropped afterwards, so runs never collide.

#[macro_use]
mod suite;

use rebound_store::{Channel, PgStore, Store};
use std::sync::atomic::{AtomicU32, Ordering};

pub fn database_url() -> String {
    match std::env::var("REBOUND_TEST_DATABASE_URL") {
        Ok(u) if !u.is_empty() => u,
        _ => panic!(
            "REBOUND_TEST_DATABASE_URL is not set: the PostgreSQL back end cannot be tested. \
             Run ./scripts/test (it finds or starts a PostgreSQL), or set it to \
             postgres://user@host:port/db"
        ),
    }
}

struct Schema {
    base: String,
    name: String,
}

impl Schema {
    fn new() -> Schema {
        static N: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let name = format!(
            "rebound_test_{}_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed),
            nanos
        );
        let base = database_url();
        let mut c = postgres::Client::connect(&base, postgres::NoTls)
            .unwrap_or_else(|e| panic!("cannot connect to REBOUND_TEST_DATABASE_URL {base}: {e}"));
        c.batch_execute(&format!("CREATE SCHEMA {name}")).unwrap();
        Schema { base, name }
    }

    fn url(&self) -> String {
        let sep = if self.base.contains('?') { '&' } else { '?' };
        format!("{}{sep}options=-csearch_path%3D{}", self.base, self.name)
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        if let Ok(mut c) = postgres::Client::connect(&self.base, postgres::NoTls) {
            let _ = c.batch_execute(&format!("DROP SCHEMA {} CASCADE", self.name));
        }
    }
}

impl suite::Harness for Schema {
    fn open(&self) -> Box<dyn Store> {
        Box::new(PgStore::connect(&self.url()).unwrap())
    }
}

store_suite!(Schema::new(), proptest_cases = 64);

/// A database written before sends were stored a run to a row: its per-send
/// `attempts` rows are folded into runs on connecting, nothing lost.
#[test]
fn old_attempt_rows_are_migrated() {
    let schema = Schema::new();
    drop(PgStore::connect(&schema.url()).unwrap());
    let mut c = postgres::Client::connect(&schema.url(), postgres::NoTls).unwrap();
    c.batch_execute(&suite::OLD_ATTEMPTS.replace("{id}", "BIGSERIAL PRIMARY KEY"))
        .unwrap();
    suite::old_attempts_are_counted(&mut PgStore::connect(&schema.url()).unwrap());
    let left: bool = c
        .query_one("SELECT to_regclass('attempts') IS NOT NULL", &[])
        .unwrap()
        .get(0);
    assert!(!left, "the old table is dropped");
}

/// A database written before address states were stored packed: connecting adds
/// and fills the column, and the gate sees the same states.
#[test]
fn unpacked_address_states_are_migrated() {
    let schema = Schema::new();
    let mut s = PgStore::connect(&schema.url()).unwrap();
    suite::seed_marked(&mut s);
    let mut before = s.marked("acme", Channel::Email).unwrap();
    before.sort_by(|a, b| a.0.cmp(&b.0));
    drop(s);
    let mut c = postgres::Client::connect(&schema.url(), postgres::NoTls).unwrap();
    c.batch_execute(suite::DROP_PACKED).unwrap();
    suite::unpacked_states_are_packed(&mut PgStore::connect(&schema.url()).unwrap(), &before);
}
