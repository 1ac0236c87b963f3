//! The Sisimai-compatible view of a fact: Sisimai's reason name, its `hardbounce`
//! flag and its `deliverystatus`, so that `rebound parse --format sisimai` can stand in
//! for Sisimai. The reason comes from the classifier's verdict; only the structure of
//! the report (a complaint, an auto-reply, a delivery notice, a delay that ran out of
//! retries) refines it here, never the wording.

use crate::{Kind, Recipient};
use rebound_vocab::Category;

/// Reasons for which Sisimai calls the address itself permanently undeliverable.
const HARD_REASONS: &[&str] = &["userunknown", "hostunknown", "hasmoved", "notaccept"];

/// The status Sisimai reports for a reason when the report gave none.
const STATUS_FOR_REASON: &[(&str, &str)] = &[
    ("userunknown", "5.1.1"),
    ("hostunknown", "5.1.2"),
    ("hasmoved", "5.1.6"),
    ("mailboxfull", "5.2.2"),
    ("exceedlimit", "5.2.3"),
    ("mesgtoobig", "5.3.4"),
    ("suspend", "5.2.1"),
    ("norelaying", "5.7.1"),
    ("securityerror", "5.7.1"),
    ("virusdetected", "5.7.1"),
    ("spamdetected", "5.7.1"),
    ("blocked", "5.7.1"),
    ("expired", "4.4.7"),
    ("networkerror", "5.4.0"),
    ("systemerror", "5.3.0"),
    ("contenterror", "5.6.0"),
];

/// The Sisimai view of a fact whose kind and verdict are known.
pub fn view(r: &Recipient) -> crate::SisimaiView {
    let reason: &'static str = match r.kind {
        Kind::Complaint => "feedback",
        Kind::AutoReply => "vacation",
        Kind::Delivered => "delivered",
        Kind::NotBounce => "undefined",
        Kind::Bounce | Kind::Delay => {
            let v = r.verdict.as_ref().map_or("undefined", |v| v.sisimai_reason);
            // A delay notice with nothing more specific to say: the MTA is still
            // retrying, and Sisimai reads that as "expired".
            let technical = r
                .verdict
                .as_ref()
                .is_some_and(|v| matches!(v.category, Category::Technical | Category::Other));
            let transient_status = r.status.as_deref().is_some_and(|s| s.starts_with('4'));
            if r.kind == Kind::Delay && technical && v != "toomanyconn" {
                "expired"
            } else if r.kind == Kind::Bounce && transient_status && technical {
                // A final failure with a transient status: the MTA gave up retrying.
                "expired"
            } else if v == "userunknown" && r.smtp_command == Some("DATA") {
                // The address was accepted at RCPT and the message refused after DATA:
                // a filter, not an unknown user.
                "filtered"
            } else {
                v
            }
        }
    };
    let transient = r.reply_code.is_some_and(|c| (400..500).contains(&c))
        || (r.reply_code.is_none() && r.status.as_deref().is_some_and(|s| s.starts_with('4')));
    crate::SisimaiView {
        reason,
        hardbounce: matches!(r.kind, Kind::Bounce) && !transient && HARD_REASONS.contains(&reason),
    }
}

/// The delivery status Sisimai would print: the report's own, else the standard
/// code for the reason, else `5.0.0` / `4.0.0` by the kind.
pub fn delivery_status(r: &Recipient) -> String {
    if let Some(s) = &r.status {
        return s.clone();
    }
    match r.kind {
        Kind::Complaint | Kind::AutoReply | Kind::NotBounce => String::new(),
        Kind::Delivered => "2.0.0".into(),
        Kind::Delay => "4.0.0".into(),
        Kind::Bounce => STATUS_FOR_REASON
            .iter()
            .find(|(reason, _)| *reason == r.sisimai.reason)
            .map_or("5.0.0", |(_, s)| s)
            .to_string(),
    }
}
