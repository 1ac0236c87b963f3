//! Mailgun webhooks: a JSON object with `signature` (`timestamp`, `token`,
//! `signature`: hex HMAC-SHA256 of timestamp followed by token, keyed with the
//! account's HTTP webhook signing key) and `event-data` (`event` `delivered`,
//! `failed` with `severity` `permanent` or `temporary`, `complained`,
//! `unsubscribed`; `recipient`, `timestamp`, `id`, `delivery-status` with the
//! remote server's `code` and `message`, `user-variables`).
//!
//! A `temporary` failure is one Mailgun will retry: a delay, ignored here. A
//! replayed request is harmless: its event id makes it a duplicate.

use crate::{Item, Parsed, Request, Settings, WebhookError, malformed, same_secret, str_of, unix};
use rebound_pipeline::{Fact, Report};
use rebound_store::Channel;
use serde_json::Value;

pub fn verify(body: &Value, s: &Settings) -> Result<(), WebhookError> {
    let key = s.signing_key.as_deref().ok_or_else(|| {
        WebhookError::NotConfigured("set signing_key (Mailgun's HTTP webhook signing key)".into())
    })?;
    let sig = body
        .get("signature")
        .ok_or_else(|| WebhookError::Unauthorized("the request is not signed".into()))?;
    let part = |k: &str| {
        sig.get(k)
            .and_then(|v| match v {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .ok_or_else(|| WebhookError::Unauthorized(format!("the signature has no {k}")))
    };
    let (ts, token, given) = (part("timestamp")?, part("token")?, part("signature")?);
    let k = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key.as_bytes());
    let want = ring::hmac::sign(&k, format!("{ts}{token}").as_bytes());
    let want_hex: String = want.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    if same_secret(want_hex.as_bytes(), given.to_ascii_lowercase().as_bytes()) {
        Ok(())
    } else {
        Err(WebhookError::Unauthorized(
            "the Mailgun signature does not verify".into(),
        ))
    }
}

pub fn parse(req: &Request<'_>, s: &Settings) -> Result<Parsed, WebhookError> {
    let body: Value = serde_json::from_slice(req.body)
        .map_err(|e| malformed(format!("not a Mailgun webhook: {e}")))?;
    verify(&body, s)?;
    let e = body
        .get("event-data")
        .ok_or_else(|| malformed("a Mailgun webhook without event-data"))?;
    let mut out = Parsed::default();
    let (Some(recipient), Some(kind)) = (str_of(e, "recipient"), str_of(e, "event")) else {
        return Err(malformed("Mailgun event-data without recipient or event"));
    };
    let at = unix(e.get("timestamp")).unwrap_or(req.now);
    let status = e.get("delivery-status").cloned().unwrap_or(Value::Null);
    let code = status
        .get("code")
        .and_then(Value::as_u64)
        .filter(|c| (200..600).contains(c))
        .map(|c| c as u16);
    let message = str_of(&status, "message")
        .or_else(|| str_of(&status, "description"))
        .unwrap_or("")
        .trim()
        .to_string();
    // The reply as the server gave it: its code, then its text.
    let text = match code {
        Some(c) if !message.starts_with(&c.to_string()) => {
            format!("{c} {message}").trim().to_string()
        }
        _ => message,
    };
    let (fact, reply) = match (kind, str_of(e, "severity")) {
        ("delivered", _) => (Fact::Delivered, (!text.is_empty()).then(|| text.clone())),
        ("failed", Some("temporary")) => {
            out.ignored += 1;
            return Ok(out);
        }
        ("failed", severity) => (
            Fact::Bounce {
                reply_code: None,
                status: str_of(&status, "enhanced-code").map(String::from),
                text: text.clone(),
                host: str_of(&status, "mx-host").map(String::from),
                fallback: crate::table::fallback("mailgun", severity.unwrap_or("permanent")),
            },
            (!text.is_empty()).then(|| text.clone()),
        ),
        ("complained", _) => (Fact::Complaint, None),
        ("unsubscribed", _) => (Fact::Unsubscribe, None),
        _ => {
            out.ignored += 1;
            return Ok(out);
        }
    };
    let campaign = e
        .get("user-variables")
        .and_then(|u| str_of(u, "campaign"))
        .map(String::from);
    out.items.push(Item {
        id: str_of(e, "id").map(|id| format!("mailgun:{id}")),
        report: Report {
            channel: Channel::Email,
            recipient: recipient.to_string(),
            at,
            fact,
            campaign,
            source: Some("mailgun".into()),
            reply,
            code: None,
        },
    });
    Ok(out)
}
