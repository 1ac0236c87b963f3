//! The outcome event of SPEC §8, as `rebound ingest` reads it (one JSON object per
//! line) and `POST /v1/events` receives it: `tenant`, `channel`, `recipient`,
//! `event`, `at`, and optionally `campaign`, `reply`, `code`, `source`.
//!
//! Two readings of the same fields: [`EventLine`] ignores fields it does not know
//! (the command-line contract never promised to refuse them), [`StrictEventLine`]
//! refuses them (an API client with a typo in a field name must hear about it).

use crate::report::{Fact, Report};
use rebound_store::Channel;
use serde::Deserialize;
use serde_json::Value;

macro_rules! event_line {
    ($(#[$attr:meta])* $name:ident) => {
        #[derive(Clone, Debug, Deserialize)]
        $(#[$attr])*
        pub struct $name {
            /// Required on the command line; over HTTP the API key names the tenant.
            #[serde(default)]
            pub tenant: Option<String>,
            pub channel: String,
            pub recipient: String,
            pub event: String,
            pub at: String,
            #[serde(default)]
            pub campaign: Option<String>,
            #[serde(default)]
            pub reply: Option<String>,
            /// A string or a number (gateways send both).
            #[serde(default)]
            pub code: Option<Value>,
            #[serde(default)]
            pub source: Option<String>,
        }

        impl $name {
            /// The report this line describes (the recipient not yet normalised).
            pub fn report(self) -> Result<Report, String> {
                report(Fields {
                    channel: &self.channel,
                    recipient: self.recipient,
                    event: &self.event,
                    at: &self.at,
                    campaign: self.campaign,
                    reply: self.reply,
                    code: self.code,
                    source: self.source,
                })
            }
        }
    };
}

event_line!(
    /// An event line whose unknown fields are ignored (`rebound ingest`).
    EventLine
);
event_line!(
    /// An event whose unknown fields are refused (the HTTP API).
    #[serde(deny_unknown_fields)]
    StrictEventLine
);

struct Fields<'a> {
    channel: &'a str,
    recipient: String,
    event: &'a str,
    at: &'a str,
    campaign: Option<String>,
    reply: Option<String>,
    code: Option<Value>,
    source: Option<String>,
}

fn report(l: Fields<'_>) -> Result<Report, String> {
    let channel = Channel::parse(l.channel)
        .ok_or_else(|| format!("channel {:?} is not email or sms", l.channel))?;
    let at = crate::parse_time(l.at)?;
    let code = match l.code {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(other) => return Err(format!("code {other} is not a string or number")),
    };
    // An SMS reply that is a STOP word opts the number out, whatever event the
    // gateway called it (SPEC §3: SMS `STOP` = opted out).
    let sms_stop = channel == Channel::Sms
        && l.event != "delivered"
        && l.reply.as_deref().is_some_and(crate::sms::is_stop_word);
    let fact = match l.event {
        _ if sms_stop => Fact::StopWord,
        "delivered" => Fact::Delivered,
        "complaint" => Fact::Complaint,
        "unsubscribe" => Fact::Unsubscribe,
        "auto_reply" => Fact::AutoReply,
        "bounce" => {
            // The code and the reply read as one reply line: `550` + `5.1.1 ...`.
            let text = match (&code, &l.reply) {
                (Some(c), Some(r)) if !r.trim_start().starts_with(c.as_str()) => {
                    format!("{c} {r}")
                }
                (_, Some(r)) => r.clone(),
                (Some(c), None) => c.clone(),
                (None, None) => String::new(),
            };
            Fact::bounce_text(text)
        }
        other => {
            return Err(format!(
                "event {other:?} is not delivered, bounce, complaint, unsubscribe or auto_reply"
            ));
        }
    };
    Ok(Report {
        channel,
        recipient: l.recipient,
        at,
        fact,
        campaign: l.campaign,
        source: l.source,
        reply: l.reply,
        code,
    })
}
