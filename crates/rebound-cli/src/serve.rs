//! `rebound serve`: the HTTP API, webhooks, unsubscribe links and the SMTP bounce
//! receiver (crate `rebound-server`), until SIGTERM or Ctrl-C; then in-flight
//! requests and SMTP transactions finish and the process exits.

use anyhow::{Context, Result, anyhow};
use rebound_server::Config;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// Where the HTTP API listens (default 127.0.0.1:8025).
    #[arg(long)]
    http: Option<SocketAddr>,
    /// Where the SMTP bounce receiver listens (default 127.0.0.1:2525), or `off`.
    #[arg(long)]
    smtp: Option<String>,
    /// A TOML configuration file (database, secret, limits, TLS, webhooks).
    #[arg(long)]
    config: Option<PathBuf>,
}

/// The configuration the file and flags make together (flags win).
pub fn config(config: Option<&Path>, data: &Path) -> Result<Config> {
    let mut c = match config {
        Some(p) => Config::load(p).map_err(|e| anyhow!(e))?,
        None => Config::default(),
    };
    c.data = data.to_path_buf();
    if let Ok(url) = std::env::var("REBOUND_DATABASE_URL")
        && !url.is_empty()
    {
        c.database_url = Some(url);
    }
    if let Ok(s) = std::env::var("REBOUND_SECRET")
        && !s.is_empty()
    {
        c.secret = Some(s);
    }
    Ok(c)
}

pub fn run(args: Args, data: &Path) -> Result<ExitCode> {
    let mut c = config(args.config.as_deref(), data)?;
    if let Some(h) = args.http {
        c.http.listen = h;
    }
    match args.smtp.as_deref() {
        None => {}
        Some("off") | Some("") => c.smtp.listen = None,
        Some(a) => {
            c.smtp.listen = Some(
                a.parse()
                    .with_context(|| format!("--smtp {a:?} is not HOST:PORT or off"))?,
            )
        }
    }
    let store = match &c.database_url {
        Some(_) => "PostgreSQL (REBOUND_DATABASE_URL)".to_string(),
        None => format!("{}", c.data.join("rebound.db").display()),
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(async move {
        let running = rebound_server::start(c).await.map_err(|e| anyhow!(e))?;
        eprintln!("rebound serve: store {store}");
        eprintln!(
            "rebound serve: HTTP API on http://{} (OpenAPI document at /openapi.json)",
            running.http
        );
        match running.smtp {
            Some(a) => eprintln!("rebound serve: SMTP bounce receiver on {a}"),
            None => eprintln!("rebound serve: SMTP bounce receiver off"),
        }
        eprintln!(
            "rebound serve: API keys: `rebound tenant create --tenant T`, then `rebound keys create --tenant T`"
        );
        // Ready: tests and scripts wait for this line.
        println!("listening http={} smtp={}", running.http, running.smtp.map_or("off".to_string(), |a| a.to_string()));
        use std::io::Write;
        let _ = std::io::stdout().flush();
        wait_for_signal().await;
        eprintln!("rebound serve: stopping (finishing in-flight work)");
        running.shutdown();
        running.wait().await;
        eprintln!("rebound serve: stopped");
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(ExitCode::SUCCESS)
}

async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        _ => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
