//! `rebound serve`'s configuration: a TOML file (`--config FILE`), every field
//! optional, unknown fields refused so that a misspelt setting is an error and not a
//! silently ignored wish. Command-line flags override the file.
//!
//! ```toml
//! database_url = "postgres://..."   # else the embedded store in the data directory
//! secret = "..."                    # signs VERP and unsubscribe tokens; else <data>/secret.key
//!
//! [http]
//! listen = "127.0.0.1:8025"
//! public_url = "https://rebound.example.com"   # where unsubscribe links point
//! body_limit = 4194304
//!
//! [smtp]
//! listen = "127.0.0.1:2525"         # "" turns the receiver off
//! ```

use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The data directory of the embedded store (and of the generated secret): set by
    /// `--data` / `REBOUND_DATA`, like every other command's, never by the file.
    #[serde(skip)]
    pub data: PathBuf,
    /// PostgreSQL instead of the embedded store (also `REBOUND_DATABASE_URL`).
    pub database_url: Option<String>,
    /// The token-signing secret; several nodes sharing one database must share it.
    pub secret: Option<String>,
    pub http: Http,
    pub smtp: Smtp,
    /// Provider webhook settings, one table per tenant and provider.
    #[serde(rename = "webhook")]
    pub webhooks: Vec<WebhookConfig>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Http {
    pub listen: SocketAddr,
    /// The base of minted unsubscribe links (default: `http://<listen>`).
    pub public_url: Option<String>,
    /// The largest request body accepted, in bytes.
    pub body_limit: usize,
    /// The most events one `POST /v1/events` may carry.
    pub max_events: usize,
    /// The most recipients one `POST /v1/gate` may carry.
    pub max_recipients: usize,
    /// Store connections kept for reads and admin actions.
    pub pool: usize,
}

impl Default for Http {
    fn default() -> Self {
        Http {
            listen: ([127, 0, 0, 1], 8025).into(),
            public_url: None,
            body_limit: 4 << 20,
            max_events: 10_000,
            max_recipients: 100_000,
            pool: 8,
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Smtp {
    /// Where the bounce receiver listens; `None` turns it off.
    pub listen: Option<SocketAddr>,
    /// Speak LMTP (RFC 2033) instead of SMTP: one reply per recipient after DATA.
    pub lmtp: bool,
    /// The name in the greeting and in `Received:` lines.
    pub hostname: String,
    /// The largest message accepted (the `SIZE` extension advertises it), in bytes.
    pub max_message_size: usize,
    pub max_recipients: usize,
    /// Connections served at once; more are answered `421` and closed.
    pub max_connections: usize,
    /// Seconds a client may stay silent before it is answered `421` and closed.
    pub idle_timeout: u64,
    /// PEM certificate chain and private key: STARTTLS is offered when both are set.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// Bounce domains whose plain (non-VERP) addresses belong to a tenant: a bounce
    /// to `bounces@<domain>` is that tenant's, its recipient read from the report.
    #[serde(rename = "domain")]
    pub domains: Vec<SmtpDomain>,
}

impl Default for Smtp {
    fn default() -> Self {
        Smtp {
            listen: Some(([127, 0, 0, 1], 2525).into()),
            lmtp: false,
            hostname: "rebound.localhost".into(),
            max_message_size: 10 << 20,
            max_recipients: 100,
            max_connections: 256,
            idle_timeout: 60,
            tls_cert: None,
            tls_key: None,
            domains: Vec::new(),
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpDomain {
    pub domain: String,
    pub tenant: String,
}

/// One tenant's settings for one provider's webhook. Which fields apply depends
/// on the provider (see `rebound_webhooks`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookConfig {
    pub tenant: String,
    pub provider: String,
    /// Mailgun: the HTTP webhook signing key. Twilio: the auth token.
    pub signing_key: Option<String>,
    /// SendGrid: the signed event webhook's public key (base64 DER, as shown).
    pub public_key: Option<String>,
    /// Postmark, SparkPost: the basic-auth credentials set on the webhook.
    pub username: Option<String>,
    pub password: Option<String>,
    /// SES via SNS: the topics this tenant's notifications come from.
    pub topic_arns: Vec<String>,
    /// Twilio: the public URL Twilio calls (the signature covers it).
    pub url: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data: PathBuf::from("./rebound-data"),
            database_url: None,
            secret: None,
            http: Http::default(),
            smtp: Smtp::default(),
            webhooks: Vec::new(),
        }
    }
}

impl Config {
    /// Reads a configuration file.
    pub fn load(path: &Path) -> Result<Config, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// The base of unsubscribe links.
    pub fn public_url(&self, bound: SocketAddr) -> String {
        self.http
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{bound}"))
    }
}
