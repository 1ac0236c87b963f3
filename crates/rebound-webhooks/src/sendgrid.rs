//! SendGrid's Event Webhook: a JSON array of events (`event` `delivered`,
//! `bounce` with `type` `bounce` or `blocked`, `spamreport`, `unsubscribe`,
//! `group_unsubscribe`, and engagement events), each with `email`, `timestamp`
//! (Unix seconds) and `sg_event_id`; bounces quote the remote server in `reason`
//! and `status`, and SendGrid's own `bounce_classification`.
//!
//! The signed event webhook signs `timestamp + body` with ECDSA P-256 / SHA-256:
//! the signature (base64 DER) in `X-Twilio-Email-Event-Webhook-Signature`, the
//! timestamp in `X-Twilio-Email-Event-Webhook-Timestamp`, verified with the public
//! key SendGrid shows (base64 DER `SubjectPublicKeyInfo`).

use crate::{Item, Parsed, Request, Settings, WebhookError, malformed, str_of, unix};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rebound_pipeline::{Fact, Report};
use rebound_store::Channel;
use serde_json::Value;

/// The DER prefix of a P-256 `SubjectPublicKeyInfo` (id-ecPublicKey, prime256v1,
/// then the bit string of an uncompressed point).
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// The uncompressed point of a SendGrid public key (base64 of the DER SPKI, with
/// or without PEM armour; a bare point is accepted too).
fn public_point(key: &str) -> Result<Vec<u8>, WebhookError> {
    let b64: String = key
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<String>()
        .split_whitespace()
        .collect();
    let der = STANDARD
        .decode(b64)
        .map_err(|_| WebhookError::NotConfigured("the SendGrid public key is not base64".into()))?;
    if der.len() == 91 && der[..26] == P256_SPKI_PREFIX {
        Ok(der[26..].to_vec())
    } else if der.len() == 65 && der[0] == 4 {
        Ok(der)
    } else {
        Err(WebhookError::NotConfigured(
            "the SendGrid public key is not a P-256 public key".into(),
        ))
    }
}

pub fn verify(req: &Request<'_>, s: &Settings) -> Result<(), WebhookError> {
    let key = s.public_key.as_deref().ok_or_else(|| {
        WebhookError::NotConfigured("set public_key (the signed event webhook's key)".into())
    })?;
    let point = public_point(key)?;
    let sig = req
        .header("x-twilio-email-event-webhook-signature")
        .ok_or_else(|| WebhookError::Unauthorized("the request is not signed".into()))?;
    let ts = req
        .header("x-twilio-email-event-webhook-timestamp")
        .ok_or_else(|| {
            WebhookError::Unauthorized("the request has no signature timestamp".into())
        })?;
    let sig = STANDARD
        .decode(sig.trim())
        .map_err(|_| WebhookError::Unauthorized("the signature is not base64".into()))?;
    let mut signed = ts.as_bytes().to_vec();
    signed.extend_from_slice(req.body);
    ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_ASN1, &point)
        .verify(&signed, &sig)
        .map_err(|_| WebhookError::Unauthorized("the SendGrid signature does not verify".into()))
}

pub fn parse(req: &Request<'_>, s: &Settings) -> Result<Parsed, WebhookError> {
    verify(req, s)?;
    let events: Vec<Value> = serde_json::from_slice(req.body)
        .map_err(|e| malformed(format!("not a SendGrid event array: {e}")))?;
    let mut out = Parsed::default();
    for e in events {
        let (Some(email), Some(kind)) = (str_of(&e, "email"), str_of(&e, "event")) else {
            return Err(malformed("a SendGrid event without email or event"));
        };
        let at = unix(e.get("timestamp")).unwrap_or(req.now);
        let reason = str_of(&e, "reason").map(String::from);
        let (fact, reply) = match kind {
            "delivered" => (Fact::Delivered, str_of(&e, "response").map(String::from)),
            "bounce" => {
                let text = reason.clone().unwrap_or_default();
                let fallback = str_of(&e, "bounce_classification")
                    .and_then(|c| crate::table::fallback("sendgrid", c));
                (
                    Fact::Bounce {
                        reply_code: None,
                        status: str_of(&e, "status").map(String::from),
                        text,
                        host: None,
                        fallback,
                    },
                    reason,
                )
            }
            "spamreport" => (Fact::Complaint, None),
            "unsubscribe" | "group_unsubscribe" => (Fact::Unsubscribe, None),
            _ => {
                out.ignored += 1;
                continue;
            }
        };
        out.items.push(Item {
            id: str_of(&e, "sg_event_id").map(|id| format!("sendgrid:{id}")),
            report: Report {
                channel: Channel::Email,
                recipient: email.to_string(),
                at,
                fact,
                campaign: str_of(&e, "campaign").map(String::from),
                source: Some("sendgrid".into()),
                reply,
                code: None,
            },
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test vector SendGrid publishes with its own verification helpers.
    #[test]
    fn sendgrids_published_test_vector_verifies() {
        let key = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA==";
        let headers = vec![
            (
                "x-twilio-email-event-webhook-signature".to_string(),
                "MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH2j/0=".to_string(),
            ),
            ("x-twilio-email-event-webhook-timestamp".to_string(), "1588788367".to_string()),
        ];
        let s = Settings {
            public_key: Some(key.into()),
            ..Settings::default()
        };
        let ok = |body: &[u8]| {
            verify(
                &Request {
                    headers: &headers,
                    body,
                    now: 0,
                },
                &s,
            )
            .is_ok()
        };
        let payload =
            br#"{"category":"example_payload","event":"test_event","message_id":"message_id"}"#;
        let mut with_crlf = payload.to_vec();
        with_crlf.extend_from_slice(b"\r\n");
        assert!(
            ok(payload) || ok(&with_crlf),
            "the published vector must verify"
        );
        assert!(!ok(
            br#"{"category":"example_payload","event":"test_event","message_id":"message_iD"}"#
        ));
    }
}
