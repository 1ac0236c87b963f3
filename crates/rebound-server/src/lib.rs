//! `rebound serve`: Rebound as a service that sending platforms talk to all day
//! (SPEC §1, §6, §7). One process serves, on one store:
//!
//! - the HTTP API under `/v1` ([`api`]): events, gating, the contact card, admin
//!   actions, suppression lists and reports, for the tenant of the API key ([`auth`]);
//!   described by `/openapi.json`, with `/healthz` and `/metrics` ([`metrics`]);
//! - provider webhooks under `/v1/webhooks/{provider}` ([`webhooks`]);
//! - one-click unsubscribe links (RFC 8058) under `/u/{token}` ([`unsubscribe`]);
//! - the SMTP/LMTP bounce receiver ([`smtp`], on `rebound-smtp`).
//!
//! Architecture invariant: nothing is acknowledged before it is durable. Every
//! write goes through [`db::Db`], whose futures resolve only after the transaction
//! holding the write has committed; handlers answer after that, and so does the
//! SMTP receiver's `250`.

pub mod api;
pub mod auth;
pub mod body;
pub mod config;
pub mod db;
pub mod error;
pub mod metrics;
pub mod smtp;
pub mod unsubscribe;
pub mod webhooks;

pub use config::Config;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use rebound_store::Tenant;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// How long a tenant's settings are trusted without reading them again (a policy or
/// country change reaches the API within this time; gating always reads afresh).
const TENANT_TTL: Duration = Duration::from_secs(5);

/// Everything a request handler can reach.
pub struct App {
    pub config: Config,
    pub db: db::Db,
    pub keys: auth::KeyCache,
    pub metrics: Arc<metrics::Metrics>,
    pub signer: rebound_verp::Signer,
    /// The base of unsubscribe links.
    pub public_url: String,
    /// Fetches SNS signing certificates and subscription confirmations.
    pub fetcher: Arc<dyn webhooks::Fetcher>,
    pub certs: webhooks::CertCache,
    tenants: RwLock<HashMap<String, (Tenant, Instant)>>,
}

impl App {
    /// A tenant's settings, from a short-lived cache.
    pub async fn tenant(&self, name: &str) -> Result<Tenant, error::ApiError> {
        if let Ok(c) = self.tenants.read()
            && let Some((t, when)) = c.get(name)
            && when.elapsed() < TENANT_TTL
        {
            return Ok(t.clone());
        }
        let n = name.to_string();
        let t = self
            .db
            .with(move |s| {
                s.tenant(&n)?
                    .ok_or(rebound_store::Error::UnknownTenant(n.clone()))
            })
            .await?;
        if let Ok(mut c) = self.tenants.write() {
            c.insert(name.to_string(), (t.clone(), Instant::now()));
        }
        Ok(t)
    }
}

/// Opens the configured store: PostgreSQL when a URL is configured, else the
/// embedded database in the data directory.
pub fn opener(config: &Config) -> db::Opener {
    let data = config.data.clone();
    let url = config.database_url.clone().filter(|u| !u.is_empty());
    Arc::new(move || rebound_store::open(&data, url.as_deref()))
}

/// The token-signing secret: the configured one, else `<data>/secret.key`, created
/// (32 random bytes, readable by the owner only) on first use.
pub fn load_secret(config: &Config) -> Result<Vec<u8>, String> {
    if let Some(s) = config.secret.as_deref().filter(|s| !s.is_empty()) {
        return Ok(s.as_bytes().to_vec());
    }
    let path = config.data.join("secret.key");
    match std::fs::read_to_string(&path) {
        Ok(s) if !s.trim().is_empty() => return Ok(s.trim().as_bytes().to_vec()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    }
    write_new_secret(&path)
}

fn write_new_secret(path: &Path) -> Result<Vec<u8>, String> {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 32];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| "no system randomness".to_string())?;
    let text = auth::hex(&bytes);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    match opts.open(path) {
        Ok(mut f) => {
            use std::io::Write;
            f.write_all(text.as_bytes())
                .and_then(|_| f.sync_all())
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            Ok(text.into_bytes())
        }
        // Another process created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => std::fs::read_to_string(path)
            .map(|s| s.trim().as_bytes().to_vec())
            .map_err(|e| format!("cannot read {}: {e}", path.display())),
        Err(e) => Err(format!("cannot create {}: {e}", path.display())),
    }
}

/// A started server: where it listens, and how to stop it.
pub struct Running {
    pub http: SocketAddr,
    pub smtp: Option<SocketAddr>,
    pub app: Arc<App>,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Running {
    /// Stops accepting; in-flight requests and SMTP transactions finish first.
    pub fn shutdown(&self) {
        let _ = self.stop.send(true);
    }

    /// Waits until every listener has drained.
    pub async fn wait(self) {
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

/// Binds the listeners and starts serving.
pub async fn start(config: Config) -> Result<Running, String> {
    start_with(config, Arc::new(webhooks::HttpsFetcher::default())).await
}

/// [`start`], with the fetcher of SNS certificates and confirmations handed in.
pub async fn start_with(
    config: Config,
    fetcher: Arc<dyn webhooks::Fetcher>,
) -> Result<Running, String> {
    let secret = load_secret(&config)?;
    let open = opener(&config);
    let keep = config.http.pool;
    let metrics = Arc::new(metrics::Metrics::default());
    let m = metrics.clone();
    // Opening a PostgreSQL connection blocks: not on a runtime thread.
    let db = tokio::task::spawn_blocking(move || db::Db::start(open, keep, m))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("cannot open the store: {e}"))?;
    let listener = tokio::net::TcpListener::bind(config.http.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.http.listen))?;
    let http = listener.local_addr().map_err(|e| e.to_string())?;
    let app = Arc::new(App {
        public_url: config.public_url(http),
        signer: rebound_verp::Signer::new(&secret),
        db,
        keys: auth::KeyCache::default(),
        metrics,
        tenants: RwLock::new(HashMap::new()),
        fetcher,
        certs: webhooks::CertCache::default(),
        config,
    });
    let (stop, stopped) = watch::channel(false);
    let mut tasks = Vec::new();
    let mut smtp = None;
    if let Some(addr) = app.config.smtp.listen {
        let c = &app.config.smtp;
        let tls = match (&c.tls_cert, &c.tls_key) {
            (Some(cert), Some(key)) => Some(smtp::tls_acceptor(cert, key)?),
            (None, None) => None,
            _ => return Err("set both smtp.tls_cert and smtp.tls_key, or neither".into()),
        };
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        smtp = Some(listener.local_addr().map_err(|e| e.to_string())?);
        let options = Arc::new(rebound_smtp::Options {
            hostname: c.hostname.clone(),
            lmtp: c.lmtp,
            limits: rebound_smtp::Limits {
                max_message_size: c.max_message_size,
                max_recipients: c.max_recipients,
                max_connections: c.max_connections,
                idle_timeout: Duration::from_secs(c.idle_timeout.max(1)),
                max_errors: 10,
            },
            tls,
        });
        let sink = Arc::new(smtp::BounceSink { app: app.clone() });
        tasks.push(tokio::spawn(rebound_smtp::serve(
            listener,
            options,
            sink,
            stopped.clone(),
        )));
    }
    let router = router(app.clone());
    let mut wait = stopped.clone();
    tasks.push(tokio::spawn(async move {
        let shutdown = async move {
            let _ = wait.wait_for(|s| *s).await;
        };
        if let Err(e) = axum::serve(listener, router)
            .with_graceful_shutdown(shutdown)
            .await
        {
            eprintln!("rebound serve: HTTP: {e}");
        }
    }));
    Ok(Running {
        http,
        smtp,
        app,
        stop,
        tasks,
    })
}

/// Every route, with request metrics around them.
pub fn router(app: Arc<App>) -> Router {
    api::routes()
        .layer(axum::middleware::from_fn_with_state(app.clone(), measure))
        .with_state(app)
}

async fn measure(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let started = Instant::now();
    let res = next.run(req).await;
    let status = res.status();
    app.metrics.add(
        "rebound_http_requests_total",
        &[("route", &route), ("status", status.as_str())],
        1,
    );
    app.metrics.observe(
        "rebound_http_request_duration_seconds",
        &[("route", &route)],
        started.elapsed().as_secs_f64(),
    );
    res
}
