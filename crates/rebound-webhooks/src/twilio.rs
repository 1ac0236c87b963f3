//! Twilio SMS webhooks: status callbacks (form fields `MessageSid`,
//! `MessageStatus` `delivered`/`undelivered`/`failed`/..., `ErrorCode`, `To`) and
//! inbound messages (`Body`, `From`): a body that is a STOP word opts the sender's
//! number out.
//!
//! Signed: `X-Twilio-Signature` is base64 HMAC-SHA1, keyed with the account's auth
//! token, of the full URL Twilio called followed by every POST parameter's name and
//! value, sorted by name. The URL is the one configured (`url`), since a proxy in
//! front of Rebound changes what the server itself sees. Twilio sends no event time:
//! the time of arrival is used, and `MessageSid` with the status makes retries
//! idempotent.

use crate::{Item, Parsed, Request, Settings, WebhookError, malformed, same_secret};
use base64::Engine;
use rebound_pipeline::{Fact, Report};
use rebound_store::Channel;

/// The expected signature of a request to `url` with these parameters.
pub fn signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut data = url.to_string();
    for (k, v) in sorted {
        data.push_str(k);
        data.push_str(v);
    }
    let key = ring::hmac::Key::new(
        ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
        auth_token.as_bytes(),
    );
    base64::engine::general_purpose::STANDARD.encode(ring::hmac::sign(&key, data.as_bytes()))
}

pub fn parse(req: &Request<'_>, s: &Settings) -> Result<Parsed, WebhookError> {
    let (Some(token), Some(url)) = (&s.signing_key, &s.url) else {
        return Err(WebhookError::NotConfigured(
            "set signing_key (the Twilio auth token) and url (the URL Twilio calls)".into(),
        ));
    };
    if !req
        .body
        .iter()
        .all(|b| b.is_ascii() && !b.is_ascii_control())
    {
        return Err(malformed("not a form-encoded Twilio callback"));
    }
    let params: Vec<(String, String)> = form_urlencoded::parse(req.body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let given = req
        .header("x-twilio-signature")
        .ok_or_else(|| WebhookError::Unauthorized("the request is not signed".into()))?;
    if !same_secret(
        signature(token, url, &params).as_bytes(),
        given.trim().as_bytes(),
    ) {
        return Err(WebhookError::Unauthorized(
            "the Twilio signature does not verify".into(),
        ));
    }
    let get = |k: &str| {
        params
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };
    let sid = get("MessageSid")
        .or_else(|| get("SmsSid"))
        .ok_or_else(|| malformed("a Twilio callback without MessageSid"))?;
    let mut out = Parsed::default();
    let report =
        |recipient: &str, fact: Fact, reply: Option<String>, code: Option<String>| Report {
            channel: Channel::Sms,
            recipient: recipient.to_string(),
            at: req.now,
            fact,
            campaign: None,
            source: Some("twilio".into()),
            reply,
            code,
        };
    // An inbound message: a reply from the recipient.
    if let Some(body) = get("Body") {
        let from = get("From").ok_or_else(|| malformed("an inbound message without From"))?;
        if rebound_pipeline::sms::is_stop_word(body) {
            out.items.push(Item {
                id: Some(format!("twilio:{sid}:inbound")),
                report: report(from, Fact::StopWord, Some(body.to_string()), None),
            });
        } else {
            out.ignored += 1;
        }
        return Ok(out);
    }
    let to = get("To").ok_or_else(|| malformed("a status callback without To"))?;
    let status = get("MessageStatus")
        .or_else(|| get("SmsStatus"))
        .ok_or_else(|| malformed("a status callback without MessageStatus"))?;
    let code = get("ErrorCode").map(String::from);
    let fact = match status {
        "delivered" | "read" => Fact::Delivered,
        "undelivered" | "failed" => Fact::Bounce {
            reply_code: None,
            status: None,
            text: String::new(),
            host: None,
            fallback: None,
        },
        _ => {
            out.ignored += 1;
            return Ok(out);
        }
    };
    let reply = get("ErrorMessage").map(String::from);
    out.items.push(Item {
        id: Some(format!("twilio:{sid}:{status}")),
        report: report(to, fact, reply, code),
    });
    Ok(out)
}
