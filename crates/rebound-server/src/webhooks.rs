//! `POST /v1/webhooks/{provider}?tenant=T`: provider webhooks (adapters in
//! `rebound-webhooks`), and `POST /v1/webhooks/generic`, the `/v1/events` body for
//! gateways that can post JSON with a bearer API key.
//!
//! A provider's webhook names its tenant in the URL; the tenant's settings for that
//! provider (`[[webhook]]` in the configuration) hold the secret that proves the
//! request came from the provider on that tenant's behalf. Each event the provider
//! identifies is its own submission keyed by the provider's event id, so a retried
//! webhook stores nothing twice. Providers retry what is not answered 2xx, so a
//! request is answered only after its events are durable.
//!
//! SNS signing certificates and subscription confirmations are fetched through a
//! [`Fetcher`] (HTTPS in production; tests hand in their own), certificates cached.

use crate::error::{ApiError, ApiResult};
use crate::{App, body};
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rebound_classify::Scratch;
use rebound_store::{Appended, Submission};
use rebound_webhooks::{Parsed, Request, Settings, WebhookError};
use serde::Deserialize;
use serde_json::json;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Fetches a URL's body (HTTPS GET).
pub trait Fetcher: Send + Sync {
    fn fetch<'a>(
        &'a self,
        url: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<u8>, String>> + Send + 'a>>;
}

/// The production fetcher: HTTPS only, bounded time and size.
pub struct HttpsFetcher {
    client: reqwest::Client,
}

impl Default for HttpsFetcher {
    fn default() -> Self {
        HttpsFetcher {
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .https_only(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap_or_default(),
        }
    }
}

/// The most a fetched certificate or confirmation page may be.
const MAX_FETCH: usize = 64 * 1024;

impl Fetcher for HttpsFetcher {
    fn fetch<'a>(
        &'a self,
        url: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<u8>, String>> + Send + 'a>> {
        Box::pin(async move {
            let mut r = self
                .client
                .get(url)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            if !r.status().is_success() {
                return Err(format!("{url}: {}", r.status()));
            }
            let mut out = Vec::new();
            while let Some(chunk) = r.chunk().await.map_err(|e| e.to_string())? {
                out.extend_from_slice(&chunk);
                if out.len() > MAX_FETCH {
                    return Err(format!("{url}: larger than {MAX_FETCH} bytes"));
                }
            }
            Ok(out)
        })
    }
}

/// Certificates by URL (SNS rotates them rarely; each URL names one certificate).
#[derive(Default)]
pub struct CertCache(Mutex<HashMap<String, Arc<Vec<u8>>>>);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookQuery {
    tenant: Option<String>,
}

fn settings(app: &App, tenant: &str, provider: &str) -> ApiResult<Settings> {
    let c = app
        .config
        .webhooks
        .iter()
        .find(|w| w.tenant == tenant && w.provider == provider)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "webhook_not_configured",
                format!("tenant {tenant:?} has no {provider} webhook configured"),
            )
        })?;
    Ok(Settings {
        signing_key: c.signing_key.clone(),
        public_key: c.public_key.clone(),
        username: c.username.clone(),
        password: c.password.clone(),
        topic_arns: c.topic_arns.clone(),
        url: c.url.clone(),
    })
}

fn webhook_error(e: WebhookError) -> ApiError {
    match e {
        WebhookError::Unauthorized(m) => {
            ApiError::new(StatusCode::UNAUTHORIZED, "bad_signature", m)
        }
        WebhookError::Malformed(m) => {
            ApiError::new(StatusCode::BAD_REQUEST, "malformed_payload", m)
        }
        WebhookError::NotConfigured(m) => {
            ApiError::new(StatusCode::NOT_FOUND, "webhook_not_configured", m)
        }
    }
}

pub async fn webhook(
    State(app): State<Arc<App>>,
    body::Path(provider): body::Path<String>,
    body::Query(q): body::Query<WebhookQuery>,
    headers: HeaderMap,
    b: Body,
) -> ApiResult<Response> {
    let r = handle(&app, &provider, q, &headers, b).await;
    let result = match &r {
        Ok(_) => "ok",
        Err(e) => e.code,
    };
    app.metrics.add(
        "rebound_webhook_requests_total",
        &[("provider", &provider), ("result", result)],
        1,
    );
    r
}

async fn handle(
    app: &Arc<App>,
    provider: &str,
    q: WebhookQuery,
    headers: &HeaderMap,
    b: Body,
) -> ApiResult<Response> {
    if provider == "generic" {
        let auth = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| ApiError::unauthorized("send `Authorization: Bearer <API key>`"))?;
        let tenant = app.keys.tenant(app, auth.trim()).await?;
        return crate::api::ingest_events(app, &tenant, headers, b, "generic").await;
    }
    let known = [
        "ses",
        "sendgrid",
        "mailgun",
        "postmark",
        "sparkpost",
        "twilio",
    ];
    if !known.contains(&provider) {
        return Err(ApiError::not_found(format!(
            "no webhook for {provider:?} (providers: {}, generic)",
            known.join(", ")
        )));
    }
    let tenant = q
        .tenant
        .ok_or_else(|| ApiError::invalid("name the tenant in the URL: ?tenant=T"))?;
    let s = settings(app, &tenant, provider)?;
    let bytes = body::read(b, app.config.http.body_limit).await?;
    let hs: Vec<(String, String)> = headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
        .collect();
    let req = Request {
        headers: &hs,
        body: &bytes,
        now: rebound_pipeline::now(),
    };
    let parsed = match provider {
        "ses" => match sns(app, &req, &s).await.map_err(webhook_error)? {
            Some(p) => Ok(p),
            None => return Ok(axum::Json(json!({"confirmed": true})).into_response()),
        },
        "sendgrid" => rebound_webhooks::sendgrid::parse(&req, &s),
        "mailgun" => rebound_webhooks::mailgun::parse(&req, &s),
        "postmark" => rebound_webhooks::postmark::parse(&req, &s),
        "sparkpost" => rebound_webhooks::sparkpost::parse(&req, &s),
        _ => rebound_webhooks::twilio::parse(&req, &s),
    }
    .map_err(webhook_error)?;
    let counts = store(app, &tenant, provider, parsed).await?;
    if provider == "twilio" {
        // Twilio reads the answer to an inbound message as TwiML: an empty one says
        // "no reply".
        return Ok((
            [(header::CONTENT_TYPE, "text/xml")],
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>",
        )
            .into_response());
    }
    Ok(axum::Json(counts).into_response())
}

/// SES through SNS: verified, then a notification's reports (`Ok(Some)`) or a
/// confirmed subscription (`Ok(None)`).
async fn sns(app: &App, req: &Request<'_>, s: &Settings) -> Result<Option<Parsed>, WebhookError> {
    use rebound_webhooks::sns;
    let env = sns::parse(req.body)?;
    sns::precheck(&env, s)?;
    let cached = app
        .certs
        .0
        .lock()
        .ok()
        .and_then(|c| c.get(&env.signing_cert_url).cloned());
    match cached {
        Some(cert) => sns::verify(&env, &cert)?,
        None => {
            let cert = app
                .fetcher
                .fetch(&env.signing_cert_url)
                .await
                .map_err(|e| {
                    WebhookError::Unauthorized(format!(
                        "cannot fetch the SNS signing certificate: {e}"
                    ))
                })?;
            sns::verify(&env, &cert)?;
            // Only a certificate that verified something is kept.
            if let Ok(mut cache) = app.certs.0.lock() {
                cache.insert(env.signing_cert_url.clone(), Arc::new(cert));
            }
        }
    }
    match env.kind.as_str() {
        "SubscriptionConfirmation" => {
            let url = env.subscribe_url.as_deref().unwrap_or("");
            app.fetcher.fetch(url).await.map_err(|e| {
                WebhookError::Malformed(format!("cannot confirm the subscription: {e}"))
            })?;
            Ok(None)
        }
        "Notification" => sns::notification(&env, req.now).map(Some),
        _ => Ok(Some(Parsed {
            items: Vec::new(),
            ignored: 1,
        })),
    }
}

/// Stores a provider's reports, each identified event as its own keyed submission.
async fn store(
    app: &App,
    tenant: &str,
    provider: &str,
    parsed: Parsed,
) -> ApiResult<serde_json::Value> {
    let t = app.tenant(tenant).await?;
    let mut scratch = Scratch::default();
    let mut subs = Vec::new();
    let mut loose = Vec::new();
    let mut rejected = Vec::new();
    let now = rebound_pipeline::now();
    for item in parsed.items {
        match rebound_pipeline::to_record(&t, item.report, &mut scratch) {
            Ok(r) => match item.id {
                Some(id) => subs.push(Submission {
                    tenant: tenant.to_string(),
                    key: Some(id.chars().take(rebound_store::MAX_KEY_LEN).collect()),
                    at: now,
                    records: vec![r],
                }),
                None => loose.push(r),
            },
            Err(why) => rejected.push(why),
        }
    }
    if !loose.is_empty() {
        subs.push(Submission {
            tenant: tenant.to_string(),
            key: None,
            at: now,
            records: loose,
        });
    }
    let (mut accepted, mut duplicates) = (0u64, 0u64);
    for r in app.db.submit_many(subs).await {
        match r.map_err(ApiError::internal)? {
            None => {
                accepted += 1;
                duplicates += 1;
            }
            Some(results) => {
                for a in results {
                    match a {
                        Appended::Stored => accepted += 1,
                        Appended::Duplicate => {
                            accepted += 1;
                            duplicates += 1;
                        }
                        Appended::Refused(why) => rejected.push(why.to_string()),
                    }
                }
            }
        }
    }
    let m = &app.metrics;
    m.add(
        "rebound_events_total",
        &[("result", "stored"), ("source", provider)],
        accepted - duplicates,
    );
    m.add(
        "rebound_events_total",
        &[("result", "duplicate"), ("source", provider)],
        duplicates,
    );
    m.add(
        "rebound_events_total",
        &[("result", "rejected"), ("source", provider)],
        rejected.len() as u64,
    );
    Ok(json!({
        "accepted": accepted,
        "duplicates": duplicates,
        "ignored": parsed.ignored,
        "rejected": rejected.len(),
        "errors": rejected,
    }))
}
