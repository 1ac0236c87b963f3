//! A real server on loopback for the integration tests: a temporary data directory
//! (or a throwaway PostgreSQL schema), two tenants with an API key each, and a
//! real HTTP client.

#![allow(dead_code)]

use rebound_server::{Config, Running};
use rebound_store::{Store, Tenant};
use serde_json::Value;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let p = std::env::temp_dir().join(format!(
            "rebound-server-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A PostgreSQL schema of its own, dropped afterwards.
pub struct PgSchema {
    base: String,
    name: String,
}

impl PgSchema {
    pub fn new() -> PgSchema {
        let base = match std::env::var("REBOUND_TEST_DATABASE_URL") {
            Ok(u) if !u.is_empty() => u,
            _ => panic!(
                "REBOUND_TEST_DATABASE_URL is not set: the server cannot be tested on PostgreSQL. \
                 Run ./scripts/test (it finds or starts a PostgreSQL)."
            ),
        };
        static N: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "rebound_srv_{}_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos()
        );
        let mut c = postgres::Client::connect(&base, postgres::NoTls).unwrap();
        c.batch_execute(&format!("CREATE SCHEMA {name}")).unwrap();
        PgSchema { base, name }
    }

    pub fn url(&self) -> String {
        let sep = if self.base.contains('?') { '&' } else { '?' };
        format!("{}{sep}options=-csearch_path%3D{}", self.base, self.name)
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        // The synchronous client must not run on an async runtime's thread.
        let (base, name) = (self.base.clone(), self.name.clone());
        let _ = std::thread::spawn(move || {
            if let Ok(mut c) = postgres::Client::connect(&base, postgres::NoTls) {
                let _ = c.batch_execute(&format!("DROP SCHEMA {name} CASCADE"));
            }
        })
        .join();
    }
}

pub struct Server {
    pub running: Option<Running>,
    pub base: String,
    pub client: reqwest::Client,
    pub acme: String,
    pub beta: String,
    pub config: Config,
    pub dir: TempDir,
    pub pg: Option<PgSchema>,
}

/// A configuration on a fresh data directory, listening on free loopback ports.
pub fn config(dir: &TempDir) -> Config {
    let mut c = Config {
        data: dir.0.clone(),
        secret: Some("test secret".into()),
        ..Config::default()
    };
    c.http.listen = "127.0.0.1:0".parse().unwrap();
    c.smtp.listen = Some("127.0.0.1:0".parse().unwrap());
    c
}

impl Server {
    pub async fn start() -> Server {
        Server::start_with(|_| {}).await
    }

    pub async fn start_pg() -> Server {
        let pg = tokio::task::block_in_place(PgSchema::new);
        let url = pg.url();
        let mut s = Server::start_with(move |c| c.database_url = Some(url.clone())).await;
        s.pg = Some(pg);
        s
    }

    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> Server {
        Server::start_custom(
            tweak,
            Arc::new(rebound_server::webhooks::HttpsFetcher::default()),
        )
        .await
    }

    pub async fn start_custom(
        tweak: impl FnOnce(&mut Config),
        fetcher: Arc<dyn rebound_server::webhooks::Fetcher>,
    ) -> Server {
        let dir = TempDir::new("api");
        let mut c = config(&dir);
        tweak(&mut c);
        let store_config = c.clone();
        let (acme, beta) = tokio::task::spawn_blocking(move || {
            let mut s = open(&store_config);
            let mut keys = Vec::new();
            for t in ["acme", "beta"] {
                s.create_tenant(&Tenant::new(t)).unwrap();
                keys.push(rebound_server::auth::create_key(&mut *s, t, "test", 0).unwrap());
            }
            (keys[0].clone(), keys[1].clone())
        })
        .await
        .unwrap();
        let running = rebound_server::start_with(c.clone(), fetcher)
            .await
            .expect("server starts");
        Server {
            base: format!("http://{}", running.http),
            running: Some(running),
            client: reqwest::Client::new(),
            acme,
            beta,
            config: c,
            dir,
            pg: None,
        }
    }

    /// A connection of our own to the server's store.
    pub fn store(&self) -> Box<dyn Store> {
        tokio::task::block_in_place(|| open(&self.config))
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn post(&self, path: &str, key: &str, body: Value) -> (u16, Value) {
        let r = self
            .client
            .post(self.url(path))
            .bearer_auth(key)
            .json(&body)
            .send()
            .await
            .unwrap();
        answer(r).await
    }

    pub async fn post_raw(
        &self,
        path: &str,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
    ) -> (u16, Value) {
        let r = self
            .client
            .post(self.url(path))
            .bearer_auth(key)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        answer(r).await
    }

    pub async fn get(&self, path: &str, key: &str) -> (u16, Value) {
        let r = self
            .client
            .get(self.url(path))
            .bearer_auth(key)
            .send()
            .await
            .unwrap();
        answer(r).await
    }

    pub async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown();
            r.wait().await;
        }
    }
}

pub fn open(c: &Config) -> Box<dyn Store> {
    rebound_store::open(&c.data, c.database_url.as_deref()).unwrap()
}

/// Status and JSON body (a body that is not JSON fails the test: every answer is).
pub async fn answer(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    let v = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("status {status}: body is not JSON ({e}): {text:?}"));
    (status, v)
}

/// The error code of an error answer.
pub fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or("")
}

pub fn hard_bounce(recipient: &str, at: &str) -> Value {
    serde_json::json!({
        "channel": "email",
        "recipient": recipient,
        "event": "bounce",
        "at": at,
        "reply": format!("550 5.1.1 <{recipient}>: Recipient address rejected: User unknown"),
    })
}
