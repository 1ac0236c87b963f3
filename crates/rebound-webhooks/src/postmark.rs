//! Postmark webhooks, authenticated by the basic-auth credentials set in the
//! webhook's URL. One JSON record per request, by `RecordType`: `Bounce` (`Type`
//! such as `HardBounce`, `SoftBounce`, `Transient`, `AutoResponder`, `SpamComplaint`;
//! `Email`, `BouncedAt`, `Details` quoting the remote server, `ID`), `SpamComplaint`,
//! `Delivery` (`Recipient`, `DeliveredAt`, `Details`) and `SubscriptionChange`
//! (`Recipient`, `SuppressSending`, `SuppressionReason`, `ChangedAt`).

use crate::{
    Item, Parsed, Request, Settings, WebhookError, basic_auth, malformed, rfc3339, str_of,
};
use rebound_pipeline::{Fact, Report};
use rebound_store::Channel;
use serde_json::Value;

pub fn parse(req: &Request<'_>, s: &Settings) -> Result<Parsed, WebhookError> {
    basic_auth(req, s, "postmark")?;
    let r: Value = serde_json::from_slice(req.body)
        .map_err(|e| malformed(format!("not a Postmark webhook: {e}")))?;
    let mut out = Parsed::default();
    let record = str_of(&r, "RecordType").ok_or_else(|| malformed("no RecordType"))?;
    let id_of = |v: &Value| -> Option<String> {
        match v.get("ID").or_else(|| v.get("MessageID"))? {
            Value::Number(n) => Some(n.to_string()),
            Value::String(s) => Some(s.clone()),
            _ => None,
        }
    };
    let details = str_of(&r, "Details").map(String::from);
    let (recipient, at, fact, reply) = match record {
        "Bounce" | "SpamComplaint" => {
            let email = str_of(&r, "Email").ok_or_else(|| malformed("a bounce without Email"))?;
            let at = rfc3339(r.get("BouncedAt")).unwrap_or(req.now);
            let kind = str_of(&r, "Type").unwrap_or("Unknown");
            let fact = match (record, kind) {
                ("SpamComplaint", _) | (_, "SpamComplaint") => Fact::Complaint,
                (_, "AutoResponder") => Fact::AutoReply,
                (_, "Unsubscribe") => Fact::Unsubscribe,
                (_, "Subscribe" | "OpenRelayTest" | "ChallengeVerification" | "AddressChange") => {
                    out.ignored += 1;
                    return Ok(out);
                }
                _ => Fact::Bounce {
                    reply_code: None,
                    status: None,
                    text: details.clone().unwrap_or_default(),
                    host: None,
                    fallback: crate::table::fallback("postmark", kind),
                },
            };
            (email, at, fact, details)
        }
        "Delivery" => {
            let email =
                str_of(&r, "Recipient").ok_or_else(|| malformed("a delivery without Recipient"))?;
            (
                email,
                rfc3339(r.get("DeliveredAt")).unwrap_or(req.now),
                Fact::Delivered,
                details,
            )
        }
        "SubscriptionChange" => {
            let email =
                str_of(&r, "Recipient").ok_or_else(|| malformed("a change without Recipient"))?;
            let at = rfc3339(r.get("ChangedAt")).unwrap_or(req.now);
            // Postmark suppresses on its own for bounces and complaints, which reach
            // us as their own records; only a recipient's unsubscribe is new here.
            let suppress = r.get("SuppressSending").and_then(Value::as_bool) == Some(true);
            if !suppress || str_of(&r, "SuppressionReason") != Some("ManualSuppression") {
                out.ignored += 1;
                return Ok(out);
            }
            (email, at, Fact::Unsubscribe, None)
        }
        _ => {
            out.ignored += 1;
            return Ok(out);
        }
    };
    out.items.push(Item {
        id: id_of(&r).map(|id| format!("postmark:{record}:{id}:{recipient}")),
        report: Report {
            channel: Channel::Email,
            recipient: recipient.to_string(),
            at,
            fact,
            campaign: str_of(&r, "Tag").map(String::from),
            source: Some("postmark".into()),
            reply,
            code: None,
        },
    });
    Ok(out)
}
