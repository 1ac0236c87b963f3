//! Amazon SES notifications delivered by email (through SNS): a JSON document with
//! `notificationType` (or `eventType`) `Bounce`, `Complaint` or `Delivery`, the
//! recipients with their status and diagnostic, and the sent message's common headers.
//! The document may be wrapped in an SNS envelope (`"Message": "{...}"`).

use crate::mime::View;
use crate::{Kind, Recipient, RecipientSource, Returned, address};
use serde_json::Value;

/// Reads an SES notification found in the message's text.
pub fn read(view: &View) -> Vec<Recipient> {
    for t in &view.texts {
        let Some(start) = memchr::memchr(b'{', t.as_bytes()) else {
            continue;
        };
        if !t.contains("notificationType") && !t.contains("eventType") {
            continue;
        }
        let mut de = serde_json::Deserializer::from_str(&t[start..]).into_iter::<Value>();
        let mut v = match de.next() {
            Some(Ok(v)) => v,
            _ => {
                // Mail gateways wrap long lines; joined again, the document parses.
                let joined = t[start..].replace("\n ", "").replace('\n', "");
                let mut de = serde_json::Deserializer::from_str(&joined).into_iter::<Value>();
                match de.next() {
                    Some(Ok(v)) => v,
                    _ => continue,
                }
            }
        };
        if let Some(inner) = v.get("Message").and_then(Value::as_str)
            && let Ok(parsed) = serde_json::from_str::<Value>(inner)
        {
            v = parsed;
        }
        let r = from_json(&v);
        if !r.is_empty() {
            return r;
        }
    }
    Vec::new()
}

fn s(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

fn from_json(v: &Value) -> Vec<Recipient> {
    let ntype = s(v, "notificationType")
        .or_else(|| s(v, "eventType"))
        .unwrap_or_default();
    let mail = v.get("mail");
    let returned = mail
        .and_then(|m| m.get("commonHeaders"))
        .map(|h| Returned {
            message_id: s(h, "messageId"),
            subject: s(h, "subject"),
            from: h
                .get("from")
                .and_then(|f| f.get(0))
                .and_then(Value::as_str)
                .and_then(address::normalize),
            to: h
                .get("to")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .filter_map(address::normalize)
                        .collect()
                })
                .unwrap_or_default(),
            list_id: None,
        })
        .unwrap_or_default();
    let mut out = Vec::new();
    match ntype.as_str() {
        "Bounce" => {
            let b = &v["bounce"];
            let transient = s(b, "bounceType").as_deref() == Some("Transient");
            for r in b["bouncedRecipients"].as_array().into_iter().flatten() {
                let Some(a) = s(r, "emailAddress").and_then(|a| address::normalize(&a)) else {
                    continue;
                };
                let kind = if transient { Kind::Delay } else { Kind::Bounce };
                let mut f = Recipient::new(a, RecipientSource::Notification, kind);
                f.action = s(r, "action");
                f.status = s(r, "status").and_then(|x| crate::rfc3464::status_in(&x));
                let diag = s(r, "diagnosticCode").unwrap_or_default();
                f.diagnostic = match diag.split_once(';') {
                    Some((t, rest)) if t.len() < 12 => rest.trim().to_string(),
                    _ => diag,
                };
                if f.diagnostic.is_empty() {
                    f.diagnostic = format!(
                        "{} {}",
                        s(b, "bounceType").unwrap_or_default(),
                        s(b, "bounceSubType").unwrap_or_default()
                    );
                }
                f.reporting_mta = s(b, "reportingMTA");
                f.last_attempt_date = s(b, "timestamp");
                f.returned = returned.clone();
                out.push(f);
            }
        }
        "Complaint" => {
            let c = &v["complaint"];
            for r in c["complainedRecipients"].as_array().into_iter().flatten() {
                let Some(a) = s(r, "emailAddress").and_then(|a| address::normalize(&a)) else {
                    continue;
                };
                let mut f = Recipient::new(a, RecipientSource::Notification, Kind::Complaint);
                f.feedback_type = Some(
                    s(c, "complaintFeedbackType")
                        .unwrap_or_else(|| "abuse".into())
                        .to_ascii_lowercase(),
                );
                f.arrival_date = s(c, "arrivalDate");
                f.returned = returned.clone();
                out.push(f);
            }
        }
        "Delivery" => {
            let d = &v["delivery"];
            let resp = s(d, "smtpResponse").unwrap_or_default();
            for r in d["recipients"].as_array().into_iter().flatten() {
                let Some(a) = r.as_str().and_then(address::normalize) else {
                    continue;
                };
                let mut f = Recipient::new(a, RecipientSource::Notification, Kind::Delivered);
                f.diagnostic = resp.clone();
                f.action = Some("delivered".into());
                f.reporting_mta = s(d, "reportingMTA");
                f.remote_mta = s(d, "remoteMtaIp");
                f.returned = returned.clone();
                out.push(f);
            }
        }
        _ => {}
    }
    out
}
