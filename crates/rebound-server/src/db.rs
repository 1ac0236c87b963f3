//! The server's access to the store: one writer thread that appends submissions by
//! group commit, and a pool of connections for everything else.
//!
//! Why a writer thread: every acknowledged event must be durable (SPEC §7), and a
//! durable commit costs an fsync (SQLite `synchronous=FULL`) or a round trip to
//! PostgreSQL. Requests that arrive while one commit is under way wait together and
//! are committed together in the next transaction, each answered only when that
//! transaction has committed. Under load one fsync serves hundreds of requests;
//! with no load a single request still commits at once, never waiting for company.
//!
//! The store's trait is synchronous; async handlers reach the pool through
//! `spawn_blocking`, so a slow query never stalls the runtime's worker threads.

use rebound_store::{Appended, Store, Submission};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot};

/// Opens a connection to the configured store.
pub type Opener = Arc<dyn Fn() -> rebound_store::Result<Box<dyn Store>> + Send + Sync>;

/// What a submission came to: `None` when its idempotency key had been seen.
pub type Outcome = Result<Option<Vec<Appended>>, String>;

struct Job {
    sub: Submission,
    done: oneshot::Sender<Outcome>,
}

/// Records per group commit at most: a bound on one transaction's size and on how
/// long the requests in it wait.
const MAX_GROUP_RECORDS: usize = 20_000;

#[derive(Clone)]
pub struct Db {
    writer: mpsc::Sender<Job>,
    pool: Arc<Pool>,
}

struct Pool {
    idle: Mutex<Vec<Box<dyn Store>>>,
    open: Opener,
    /// At most this many connections are kept idle.
    keep: usize,
}

impl Drop for Pool {
    fn drop(&mut self) {
        // A PostgreSQL connection closes by blocking on its own runtime, which must
        // not happen on an async worker thread (where the last `Db` may be dropped).
        let idle = std::mem::take(self.idle.get_mut().unwrap_or_else(|e| e.into_inner()));
        if !idle.is_empty() {
            let _ = std::thread::spawn(move || drop(idle)).join();
        }
    }
}

impl Db {
    /// Starts the writer thread; fails if the store cannot be opened.
    pub fn start(
        open: Opener,
        keep: usize,
        metrics: Arc<crate::metrics::Metrics>,
    ) -> rebound_store::Result<Db> {
        let store = open()?;
        let (tx, rx) = mpsc::channel::<Job>(4096);
        let opener = open.clone();
        std::thread::Builder::new()
            .name("rebound-writer".into())
            .spawn(move || writer(store, opener, rx, metrics))
            .map_err(|e| rebound_store::Error::Backend(format!("cannot start the writer: {e}")))?;
        Ok(Db {
            writer: tx,
            pool: Arc::new(Pool {
                idle: Mutex::new(Vec::new()),
                open,
                keep: keep.max(1),
            }),
        })
    }

    /// Appends a submission; resolves once it is durably committed (or refused).
    pub async fn submit(&self, sub: Submission) -> Outcome {
        let (done, wait) = oneshot::channel();
        // The queue is bounded: when it is full, this request waits (back pressure).
        self.writer
            .send(Job { sub, done })
            .await
            .map_err(|_| "the store writer has stopped".to_string())?;
        wait.await
            .map_err(|_| "the store writer has stopped".to_string())?
    }

    /// Appends several submissions, queued together so that they share a commit;
    /// resolves once every one is durable (or refused).
    pub async fn submit_many(&self, subs: Vec<Submission>) -> Vec<Outcome> {
        let mut waits = Vec::with_capacity(subs.len());
        let mut jobs = Vec::with_capacity(subs.len());
        for sub in subs {
            let (done, wait) = oneshot::channel();
            jobs.push(Job { sub, done });
            waits.push(wait);
        }
        let mut sent = true;
        for j in jobs {
            if self.writer.send(j).await.is_err() {
                sent = false;
                break;
            }
        }
        let mut out = Vec::with_capacity(waits.len());
        for w in waits {
            out.push(match (sent, w.await) {
                (true, Ok(r)) => r,
                _ => Err("the store writer has stopped".to_string()),
            });
        }
        out
    }

    /// Runs `f` on a pooled connection in a blocking thread.
    pub async fn with<T, F>(&self, f: F) -> Result<T, rebound_store::Error>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn Store) -> rebound_store::Result<T> + Send + 'static,
    {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let taken = pool.idle.lock().map(|mut v| v.pop()).unwrap_or(None);
            let mut store = match taken {
                Some(s) => s,
                None => (pool.open)()?,
            };
            let r = f(&mut *store);
            // A connection whose database went away is dropped, not pooled.
            let broken = matches!(&r, Err(rebound_store::Error::Backend(_)));
            if !broken
                && let Ok(mut idle) = pool.idle.lock()
                && idle.len() < pool.keep
            {
                idle.push(store);
            }
            r
        })
        .await
        .map_err(|e| rebound_store::Error::Backend(format!("store task failed: {e}")))?
    }
}

fn writer(
    mut store: Box<dyn Store>,
    open: Opener,
    mut rx: mpsc::Receiver<Job>,
    metrics: Arc<crate::metrics::Metrics>,
) {
    while let Some(first) = rx.blocking_recv() {
        let mut records = first.sub.records.len();
        let (mut subs, mut dones) = (vec![first.sub], vec![first.done]);
        while records < MAX_GROUP_RECORDS {
            match rx.try_recv() {
                Ok(j) => {
                    records += j.sub.records.len();
                    subs.push(j.sub);
                    dones.push(j.done);
                }
                Err(_) => break,
            }
        }
        let started = std::time::Instant::now();
        let result = store.append_submissions(&subs);
        metrics.observe(
            "rebound_store_commit_seconds",
            &[],
            started.elapsed().as_secs_f64(),
        );
        match result {
            Ok(results) => {
                for (done, r) in dones.into_iter().zip(results) {
                    let _ = done.send(Ok(r));
                }
            }
            Err(e) => {
                if matches!(e, rebound_store::Error::Backend(_))
                    && let Ok(s) = open()
                {
                    store = s;
                }
                // One bad submission must not fail its neighbours: alone, each
                // gets its own answer.
                for (sub, done) in subs.iter().zip(dones) {
                    let r = store
                        .append_submissions(std::slice::from_ref(sub))
                        .map(|mut v| v.pop().flatten())
                        .map_err(|e| e.to_string());
                    let _ = done.send(r);
                }
            }
        }
    }
}
