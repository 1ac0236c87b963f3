//! Provider webhooks: what an ESP or SMS gateway posts about a message, verified and
//! turned into Rebound's outcome reports ([`rebound_pipeline::Report`]).
//!
//! One module per provider, each naming the documented payload it reads and the
//! signature it checks:
//! [`sns`] (Amazon SES notifications through SNS, with SNS's X.509 signatures),
//! [`sendgrid`] (signed event webhook, ECDSA P-256), [`mailgun`] (HMAC-SHA256 of
//! timestamp and token), [`postmark`] (basic auth), [`sparkpost`] (basic auth),
//! [`twilio`] (status callbacks and inbound STOP, `X-Twilio-Signature`).
//!
//! Bounces keep the provider's quoted SMTP reply as the text the classifier judges
//! (so the same server reply gives the same verdict as in a DSN); the provider's own
//! bounce type is only the fallback ([`table`], data in `bounce_types.toml`).
//! Engagement events (opens, clicks) and the provider's retries in progress
//! (deferrals) are counted as ignored: they change nothing about an address.
//!
//! Architecture invariant: no IO. Headers, body, settings (and for SNS the
//! signing certificate) in; reports or a clear error out.

pub mod mailgun;
pub mod postmark;
pub mod sendgrid;
pub mod sns;
pub mod sparkpost;
pub mod table;
pub mod twilio;

use rebound_pipeline::Report;
use rebound_store::Ts;

/// A webhook request as received.
pub struct Request<'a> {
    /// Header names in lower case.
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
    /// The time of arrival (for providers that send none, and for freshness checks).
    pub now: Ts,
}

impl Request<'_> {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One tenant's secrets for one provider (which apply depends on the provider).
#[derive(Clone, Debug, Default)]
pub struct Settings {
    pub signing_key: Option<String>,
    pub public_key: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub topic_arns: Vec<String>,
    pub url: Option<String>,
}

/// One outcome a provider reported, with the provider's id for it when it has one
/// (retries of the same event are then stored once).
#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    pub id: Option<String>,
    pub report: Report,
}

/// What a webhook request came to.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Parsed {
    pub items: Vec<Item>,
    /// Events that change nothing about an address (opens, clicks, deferrals ...).
    pub ignored: usize,
}

/// Why a webhook request was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WebhookError {
    /// No or wrong credentials, or a signature that does not verify.
    Unauthorized(String),
    /// The body is not the provider's documented payload.
    Malformed(String),
    /// The tenant has not configured what this provider needs.
    NotConfigured(String),
}

impl std::fmt::Display for WebhookError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WebhookError::Unauthorized(m)
            | WebhookError::Malformed(m)
            | WebhookError::NotConfigured(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for WebhookError {}

pub(crate) fn malformed(e: impl std::fmt::Display) -> WebhookError {
    WebhookError::Malformed(e.to_string())
}

/// Compares secrets in time that does not depend on where they differ.
pub(crate) fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

/// Checks `Authorization: Basic ...` against the configured user and password
/// (Postmark and SparkPost webhooks carry their credentials this way).
pub(crate) fn basic_auth(
    req: &Request<'_>,
    s: &Settings,
    provider: &str,
) -> Result<(), WebhookError> {
    use base64::Engine;
    let (Some(user), Some(pass)) = (&s.username, &s.password) else {
        return Err(WebhookError::NotConfigured(format!(
            "set username and password for the {provider} webhook"
        )));
    };
    let given = req
        .header("authorization")
        .and_then(|v| {
            v.strip_prefix("Basic ")
                .or_else(|| v.strip_prefix("basic "))
        })
        .and_then(|b| {
            base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .ok()
        })
        .ok_or_else(|| WebhookError::Unauthorized("send basic auth credentials".into()))?;
    let want = format!("{user}:{pass}");
    if same_secret(&given, want.as_bytes()) {
        Ok(())
    } else {
        Err(WebhookError::Unauthorized("wrong credentials".into()))
    }
}

/// An RFC 3339 time, or `None`.
pub(crate) fn rfc3339(v: Option<&serde_json::Value>) -> Option<Ts> {
    v.and_then(|v| v.as_str())
        .and_then(|s| rebound_pipeline::parse_time(s).ok())
}

/// Unix seconds given as a number or a string of digits (maybe with a fraction).
pub(crate) fn unix(v: Option<&serde_json::Value>) -> Option<Ts> {
    match v? {
        serde_json::Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        serde_json::Value::String(s) => s.split('.').next().and_then(|i| i.trim().parse().ok()),
        _ => None,
    }
}

pub(crate) fn str_of<'a>(v: &'a serde_json::Value, key: &str) -> Option<&'a str> {
    v.get(key)
        .and_then(|x| x.as_str())
        .filter(|s| !s.is_empty())
}
