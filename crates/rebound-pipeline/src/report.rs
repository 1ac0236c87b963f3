//! An outcome report (what a source says happened to one recipient) and how it
//! becomes a record: the recipient normalised for its channel, a bounce classified.
//!
//! Every source builds a [`Report`]: an event line, a provider webhook, a decoded
//! DSN. Email bounces are judged by the classifier from the reply code, enhanced
//! status code and text the source quotes, built exactly as the decoder builds them,
//! so the same server reply gives the same verdict whether it came in a DSN, a
//! webhook or an event. A provider's own bounce type is consulted only when the
//! classifier has nothing to go on ([`Fallback`]).

use crate::sms::{self, SmsOutcome};
use rebound_classify::{Classifier, Permanence, Reply, Scratch, Verdict};
use rebound_policy::Event;
use rebound_store::{Channel, Detail, Record, Tenant, Ts};
use rebound_vocab::{Category, Reason, Scope};

/// What a source says happened to one recipient.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    pub channel: Channel,
    /// As the source gave it; normalised by [`to_record`].
    pub recipient: String,
    pub at: Ts,
    pub fact: Fact,
    pub campaign: Option<String>,
    /// Where it came from (`ses`, `sendgrid`, `smtp`, what an event line says ...).
    pub source: Option<String>,
    /// The reply or gateway text as received, kept as evidence (an SMS failure is
    /// also judged from it).
    pub reply: Option<String>,
    /// An SMS gateway's error code or SMPP receipt state, kept as evidence (an SMS
    /// failure is judged from it).
    pub code: Option<String>,
}

/// The outcome itself.
#[derive(Clone, Debug, PartialEq)]
pub enum Fact {
    Delivered,
    /// A bounce. Email: judged by the classifier from these parts. SMS: judged from
    /// the report's `code` and `reply` by the SMS table ([`crate::sms`]).
    Bounce {
        /// The basic reply code, when the source gives it apart from the text.
        reply_code: Option<u16>,
        /// The enhanced status code (RFC 3463), when given apart from the text.
        status: Option<String>,
        /// The server's reply or diagnostic text. With neither code given apart, it
        /// is read as one SMTP reply line (`550 5.1.1 ...`).
        text: String,
        /// The remote host, when known (provider rules can depend on it).
        host: Option<String>,
        /// What the provider's own bounce type says, for when the text says nothing.
        fallback: Option<Fallback>,
    },
    /// A bounce already judged (the decoder classifies as it reads a DSN).
    Judged(Box<Verdict>),
    Complaint,
    Unsubscribe,
    /// An SMS reply that is a STOP word: an unsubscribe, recorded as such.
    StopWord,
    AutoReply,
}

impl Fact {
    /// A bounce with only a reply text (an event line's `reply`).
    pub fn bounce_text(text: impl Into<String>) -> Fact {
        Fact::Bounce {
            reply_code: None,
            status: None,
            text: text.into(),
            host: None,
            fallback: None,
        }
    }
}

/// A verdict taken from a provider's bounce type (`Permanent`/`General`, SparkPost
/// bounce class 10 ...) when the reply text gives the classifier nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fallback {
    pub reason: Reason,
    pub category: Category,
    pub scope: Scope,
    pub permanent: bool,
    /// Names the table entry (`ses Permanent/NoEmail`).
    pub rule: String,
}

/// Turns a report into a record for `tenant`, or says why it cannot be one.
pub fn to_record(tenant: &Tenant, r: Report, scratch: &mut Scratch) -> Result<Record, String> {
    let address = crate::normalize(r.channel, &r.recipient, tenant)?;
    let mut detail = Detail {
        reply: r.reply,
        code: r.code,
        source: r.source,
        rule: None,
    };
    let mut reason = None;
    let event = match r.fact {
        Fact::Delivered => Event::Delivered,
        Fact::Complaint => Event::Complaint,
        Fact::Unsubscribe => Event::Unsubscribe,
        Fact::StopWord => {
            detail.rule = Some("stop word".into());
            Event::Unsubscribe
        }
        Fact::AutoReply => Event::AutoReply,
        Fact::Judged(verdict) => {
            let (event, why, rule) = from_verdict(&verdict);
            reason = Some(why);
            detail.rule = Some(rule);
            event
        }
        Fact::Bounce {
            reply_code,
            status,
            text,
            host,
            fallback,
        } => match r.channel {
            Channel::Email => {
                let reply = if reply_code.is_none() && status.is_none() {
                    Reply::parse(&text)
                } else {
                    Reply::from_parts(reply_code, status.as_deref(), &text)
                };
                let v = Classifier::builtin().classify(&reply.with_host(host.as_deref()), scratch);
                let (event, why, rule) = match fallback {
                    Some(f) if v.reason == Reason::Unknown => (
                        Event::Bounce {
                            category: f.category,
                            scope: f.scope,
                            permanent: f.permanent,
                        },
                        f.reason,
                        f.rule,
                    ),
                    _ => from_verdict(&v),
                };
                reason = Some(why);
                detail.rule = Some(rule);
                event
            }
            Channel::Sms => match sms::classify(detail.code.as_deref(), detail.reply.as_deref()) {
                SmsOutcome::OptOut { rule } => {
                    detail.rule = Some(rule);
                    Event::Unsubscribe
                }
                SmsOutcome::Bounce {
                    reason: why,
                    category,
                    scope,
                    permanent,
                    rule,
                } => {
                    reason = Some(why);
                    detail.rule = Some(rule);
                    Event::Bounce {
                        category,
                        scope,
                        permanent,
                    }
                }
            },
        },
    };
    Ok(Record {
        tenant: tenant.name.clone(),
        channel: r.channel,
        address,
        at: r.at,
        event,
        reason,
        campaign: r.campaign,
        detail,
    })
}

/// The event, reason and rule name of a classifier verdict.
pub fn from_verdict(v: &Verdict) -> (Event, Reason, String) {
    (
        Event::Bounce {
            category: v.category,
            scope: v.scope,
            permanent: v.evidence.permanence == Permanence::Permanent,
        },
        v.reason,
        v.evidence.rule.to_string(),
    )
}
