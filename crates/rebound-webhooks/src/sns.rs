//! Amazon SES notifications delivered by SNS to an HTTPS endpoint.
//!
//! SNS posts a JSON envelope (`Type` `SubscriptionConfirmation`, `Notification` or
//! `UnsubscribeConfirmation`) signed with the private key of an X.509 certificate
//! that SNS publishes at `SigningCertURL`. Verification, as AWS documents it:
//! the certificate URL must be HTTPS on an SNS host (`sns.<region>.amazonaws.com`,
//! or `.amazonaws.com.cn`), the string to sign is built from the envelope's fields in
//! a fixed order (`Key\nValue\n` for each), and the signature is RSA PKCS#1 v1.5 over
//! it with SHA-1 (`SignatureVersion` 1) or SHA-256 (2). The caller fetches the
//! certificate (this crate does no IO) and confirms subscriptions by fetching
//! `SubscribeURL`, which must be an SNS host too.
//!
//! Anyone can point an SNS topic at a public endpoint, so a valid signature proves
//! only that the message came from SNS, not from this tenant's account: the tenant
//! lists the topics its notifications come from (`topic_arns`), and others are
//! refused.
//!
//! The `Message` of a notification is an SES notification (`notificationType`) or
//! event (`eventType`): `Bounce` (`bounceType`/`bounceSubType`, `bouncedRecipients`
//! with `status` and `diagnosticCode`), `Complaint` (`complainedRecipients`),
//! `Delivery` (`recipients`, `smtpResponse`); the rest are ignored.

use crate::{Item, Parsed, Settings, WebhookError, malformed, rfc3339, str_of};
use rebound_pipeline::{Fact, Report};
use rebound_store::{Channel, Ts};
use serde::Deserialize;
use serde_json::Value;

/// The SNS envelope.
#[derive(Clone, Debug, Deserialize)]
pub struct Envelope {
    #[serde(rename = "Type")]
    pub kind: String,
    #[serde(rename = "MessageId")]
    pub message_id: String,
    #[serde(rename = "Token")]
    pub token: Option<String>,
    #[serde(rename = "TopicArn")]
    pub topic_arn: String,
    #[serde(rename = "Subject")]
    pub subject: Option<String>,
    #[serde(rename = "Message")]
    pub message: String,
    #[serde(rename = "SubscribeURL")]
    pub subscribe_url: Option<String>,
    #[serde(rename = "Timestamp")]
    pub timestamp: String,
    #[serde(rename = "SignatureVersion")]
    pub signature_version: String,
    #[serde(rename = "Signature")]
    pub signature: String,
    #[serde(rename = "SigningCertURL")]
    pub signing_cert_url: String,
}

pub fn parse(body: &[u8]) -> Result<Envelope, WebhookError> {
    serde_json::from_slice(body).map_err(|e| malformed(format!("not an SNS message: {e}")))
}

/// Accepts only `https://sns.<region>.amazonaws.com[.cn]/...` (no user, no port).
pub fn check_sns_url(url: &str, what: &str) -> Result<(), WebhookError> {
    let bad = || WebhookError::Unauthorized(format!("{what} {url:?} is not an SNS URL"));
    let rest = url.strip_prefix("https://").ok_or_else(bad)?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let region = host
        .strip_prefix("sns.")
        .and_then(|h| {
            h.strip_suffix(".amazonaws.com")
                .or_else(|| h.strip_suffix(".amazonaws.com.cn"))
        })
        .ok_or_else(bad)?;
    let region_ok = !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !region_ok {
        return Err(bad());
    }
    Ok(())
}

/// Checks everything about an envelope that needs no certificate: its topic is one
/// of the tenant's and its URLs are SNS's.
pub fn precheck(e: &Envelope, s: &Settings) -> Result<(), WebhookError> {
    if s.topic_arns.is_empty() {
        return Err(WebhookError::NotConfigured(
            "list this tenant's SNS topics (topic_arns) for the ses webhook".into(),
        ));
    }
    if !s.topic_arns.contains(&e.topic_arn) {
        return Err(WebhookError::Unauthorized(format!(
            "topic {} is not one of this tenant's",
            e.topic_arn
        )));
    }
    check_sns_url(&e.signing_cert_url, "SigningCertURL")?;
    if let Some(u) = &e.subscribe_url {
        check_sns_url(u, "SubscribeURL")?;
    }
    Ok(())
}

/// The string SNS signs, per message type.
pub fn string_to_sign(e: &Envelope) -> Result<String, WebhookError> {
    let mut out = String::new();
    let mut add = |k: &str, v: &str| {
        out.push_str(k);
        out.push('\n');
        out.push_str(v);
        out.push('\n');
    };
    match e.kind.as_str() {
        "Notification" => {
            add("Message", &e.message);
            add("MessageId", &e.message_id);
            if let Some(s) = &e.subject {
                add("Subject", s);
            }
            add("Timestamp", &e.timestamp);
            add("TopicArn", &e.topic_arn);
            add("Type", &e.kind);
        }
        "SubscriptionConfirmation" | "UnsubscribeConfirmation" => {
            let missing = || malformed(format!("{} without SubscribeURL or Token", e.kind));
            add("Message", &e.message);
            add("MessageId", &e.message_id);
            add(
                "SubscribeURL",
                e.subscribe_url.as_deref().ok_or_else(missing)?,
            );
            add("Timestamp", &e.timestamp);
            add("Token", e.token.as_deref().ok_or_else(missing)?);
            add("TopicArn", &e.topic_arn);
            add("Type", &e.kind);
        }
        other => return Err(malformed(format!("unknown SNS message type {other:?}"))),
    }
    Ok(out)
}

/// RSA PKCS#1 v1.5 with SHA-1, which SNS's `SignatureVersion` 1 uses and which the
/// X.509 verifier (rightly) no longer offers for certificates.
#[derive(Debug)]
struct RsaSha1;

impl rustls_pki_types::SignatureVerificationAlgorithm for RsaSha1 {
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), rustls_pki_types::InvalidSignature> {
        ring::signature::UnparsedPublicKey::new(
            &ring::signature::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
            public_key,
        )
        .verify(message, signature)
        .map_err(|_| rustls_pki_types::InvalidSignature)
    }

    fn public_key_alg_id(&self) -> rustls_pki_types::AlgorithmIdentifier {
        rustls_pki_types::alg_id::RSA_ENCRYPTION
    }

    /// Not consulted when verifying a signature made with a certificate's key (only
    /// the public key's algorithm is matched); there is no SHA-1 identifier to give.
    fn signature_alg_id(&self) -> rustls_pki_types::AlgorithmIdentifier {
        rustls_pki_types::alg_id::RSA_PKCS1_SHA256
    }
}

/// Verifies the envelope's signature with the certificate (PEM or DER) fetched
/// from its `SigningCertURL`.
pub fn verify(e: &Envelope, cert: &[u8]) -> Result<(), WebhookError> {
    use base64::Engine;
    use rustls_pki_types::pem::PemObject;
    let der = match rustls_pki_types::CertificateDer::from_pem_slice(cert) {
        Ok(d) => d,
        Err(_) => rustls_pki_types::CertificateDer::from(cert.to_vec()),
    };
    let cert = webpki::EndEntityCert::try_from(&der).map_err(|e| {
        WebhookError::Unauthorized(format!("the SNS signing certificate is not readable: {e}"))
    })?;
    let sig = base64::engine::general_purpose::STANDARD
        .decode(e.signature.trim())
        .map_err(|_| WebhookError::Unauthorized("the SNS signature is not base64".into()))?;
    let text = string_to_sign(e)?;
    let r = match e.signature_version.as_str() {
        "1" => cert.verify_signature(&RsaSha1, text.as_bytes(), &sig),
        "2" => cert.verify_signature(
            webpki::ring::RSA_PKCS1_2048_8192_SHA256,
            text.as_bytes(),
            &sig,
        ),
        v => {
            return Err(WebhookError::Unauthorized(format!(
                "unknown SNS SignatureVersion {v:?}"
            )));
        }
    };
    r.map_err(|_| WebhookError::Unauthorized("the SNS signature does not verify".into()))
}

fn campaign(mail: Option<&Value>) -> Option<String> {
    let tags = mail?.get("tags")?.get("campaign")?;
    match tags {
        Value::Array(a) => a.first()?.as_str().map(String::from),
        Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

/// The reports of a (verified) notification's SES message.
pub fn notification(e: &Envelope, now: Ts) -> Result<Parsed, WebhookError> {
    let v: Value = serde_json::from_str(&e.message)
        .map_err(|err| malformed(format!("the SNS Message is not an SES notification: {err}")))?;
    let kind = str_of(&v, "notificationType")
        .or_else(|| str_of(&v, "eventType"))
        .unwrap_or("");
    let mail = v.get("mail");
    let campaign = campaign(mail);
    let mut out = Parsed::default();
    let mut push = |recipient: &str, at: Ts, fact: Fact, reply: Option<String>, id: String| {
        out.items.push(Item {
            id: Some(id),
            report: Report {
                channel: Channel::Email,
                recipient: recipient.to_string(),
                at,
                fact,
                campaign: campaign.clone(),
                source: Some("ses".into()),
                reply,
                code: None,
            },
        });
    };
    let section = |name: &str| v.get(name).cloned().unwrap_or(Value::Null);
    let list = |sec: &Value, key: &str| -> Vec<Value> {
        sec.get(key)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    match kind {
        "Bounce" => {
            let b = section("bounce");
            let at = rfc3339(b.get("timestamp")).unwrap_or(now);
            let key = format!(
                "{}/{}",
                str_of(&b, "bounceType").unwrap_or("Undetermined"),
                str_of(&b, "bounceSubType").unwrap_or("Undetermined")
            );
            let id = str_of(&b, "feedbackId")
                .unwrap_or(&e.message_id)
                .to_string();
            for r in list(&b, "bouncedRecipients") {
                let Some(addr) = str_of(&r, "emailAddress") else {
                    continue;
                };
                let text = str_of(&r, "diagnosticCode").unwrap_or("").to_string();
                let fact = Fact::Bounce {
                    reply_code: None,
                    status: str_of(&r, "status").map(String::from),
                    text: text.clone(),
                    host: None,
                    fallback: crate::table::fallback("ses", &key),
                };
                let reply = (!text.is_empty()).then_some(text);
                push(addr, at, fact, reply, format!("ses:{id}:{addr}"));
            }
        }
        "Complaint" => {
            let c = section("complaint");
            if str_of(&c, "complaintFeedbackType") == Some("not-spam") {
                out.ignored += 1;
                return Ok(out);
            }
            let at = rfc3339(c.get("timestamp")).unwrap_or(now);
            let id = str_of(&c, "feedbackId")
                .unwrap_or(&e.message_id)
                .to_string();
            for r in list(&c, "complainedRecipients") {
                let Some(addr) = str_of(&r, "emailAddress") else {
                    continue;
                };
                push(addr, at, Fact::Complaint, None, format!("ses:{id}:{addr}"));
            }
        }
        "Delivery" => {
            let d = section("delivery");
            let at = rfc3339(d.get("timestamp")).unwrap_or(now);
            let reply = str_of(&d, "smtpResponse").map(String::from);
            for r in list(&d, "recipients") {
                let Some(addr) = r.as_str() else { continue };
                let id = format!("ses:{}:delivery:{addr}", e.message_id);
                push(addr, at, Fact::Delivered, reply.clone(), id);
            }
        }
        "" => {
            return Err(malformed(
                "the SES message has no notificationType or eventType",
            ));
        }
        _ => out.ignored += 1,
    }
    Ok(out)
}
