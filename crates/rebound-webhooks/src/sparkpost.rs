//! SparkPost webhooks, authenticated by basic auth: a JSON array of
//! `{"msys": {"message_event": {...}}}` (`type` `bounce`, `out_of_band`, `delivery`,
//! `spam_complaint`, ... with `rcpt_to`, `timestamp` (Unix seconds as a string),
//! `event_id`, `campaign_id`, and for bounces `raw_reason`/`reason`, `error_code`
//! and SparkPost's `bounce_class`) or `{"msys": {"unsubscribe_event": {...}}}`
//! (`list_unsubscribe`, `link_unsubscribe`). A test ping (`[{"msys": {}}]`) is fine.

use crate::{Item, Parsed, Request, Settings, WebhookError, basic_auth, malformed, str_of, unix};
use rebound_pipeline::{Fact, Report};
use rebound_store::Channel;
use serde_json::Value;

pub fn parse(req: &Request<'_>, s: &Settings) -> Result<Parsed, WebhookError> {
    basic_auth(req, s, "sparkpost")?;
    let batch: Vec<Value> = serde_json::from_slice(req.body)
        .map_err(|e| malformed(format!("not a SparkPost event batch: {e}")))?;
    let mut out = Parsed::default();
    for wrapper in batch {
        let msys = wrapper
            .get("msys")
            .ok_or_else(|| malformed("a SparkPost event without msys"))?;
        let Some((class, e)) = msys
            .as_object()
            .and_then(|m| m.iter().next())
            .map(|(k, v)| (k.as_str(), v))
        else {
            continue; // The test ping.
        };
        let kind = str_of(e, "type").unwrap_or("");
        let fact = match (class, kind) {
            ("message_event", "bounce" | "out_of_band") => {
                let text = str_of(e, "raw_reason")
                    .or_else(|| str_of(e, "reason"))
                    .unwrap_or("");
                let bounce_class = match e.get("bounce_class") {
                    Some(Value::String(s)) => s.clone(),
                    Some(Value::Number(n)) => n.to_string(),
                    _ => String::new(),
                };
                if bounce_class == "60" {
                    Fact::AutoReply
                } else if bounce_class == "90" {
                    Fact::Unsubscribe
                } else {
                    Fact::Bounce {
                        reply_code: str_of(e, "error_code").and_then(|c| c.parse().ok()),
                        status: None,
                        text: text.to_string(),
                        host: None,
                        fallback: crate::table::fallback("sparkpost", &bounce_class),
                    }
                }
            }
            ("message_event", "delivery") => Fact::Delivered,
            ("message_event", "spam_complaint") => Fact::Complaint,
            ("unsubscribe_event", "list_unsubscribe" | "link_unsubscribe") => Fact::Unsubscribe,
            _ => {
                out.ignored += 1;
                continue;
            }
        };
        let recipient = str_of(e, "rcpt_to")
            .or_else(|| str_of(e, "raw_rcpt_to"))
            .ok_or_else(|| malformed("a SparkPost event without rcpt_to"))?;
        let reply = str_of(e, "raw_reason")
            .or_else(|| str_of(e, "reason"))
            .map(String::from);
        out.items.push(Item {
            id: str_of(e, "event_id").map(|id| format!("sparkpost:{id}")),
            report: Report {
                channel: Channel::Email,
                recipient: recipient.to_string(),
                at: unix(e.get("timestamp")).unwrap_or(req.now),
                fact,
                campaign: str_of(e, "campaign_id").map(String::from),
                source: Some("sparkpost".into()),
                reply,
                code: None,
            },
        });
    }
    Ok(out)
}
