//! The Sisimai-compatible view of a fact: Sisimai's reason name, its `hardbounce`
//! flag and its `deliverystatus`, so that `rebound parse --format sisimai` can stand in
//! for Sisimai. The reason comes from the classifier's verdict; only the structure of
//! the report (a complaint, an auto-reply, a delivery notice, a delay that ran out of
//! retries) refines it here, never the wording.

use crate::{Kind, Recipient};
use rebound_classify::Source;
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

/// Formats whose report states the failure in the MTA's own words rather than relaying
/// a remote SMTP reply: what they say about the recipient is taken as it stands.
const SELF_STATED_FORMATS: &[&str] = &["exchange", "domino", "notes", "imail"];

/// The Sisimai view of a fact whose kind and verdict are known; `format` is the reader
/// that understood the report.
pub fn view(r: &Recipient, format: &str) -> crate::SisimaiView {
    let reason: &'static str = match r.kind {
        Kind::Complaint => "feedback",
        Kind::AutoReply => "vacation",
        Kind::Delivered => "delivered",
        Kind::NotBounce => "undefined",
        Kind::Bounce | Kind::Delay => bounce_reason(r, format),
    };
    let transient = is_transient(r);
    crate::SisimaiView {
        reason,
        hardbounce: matches!(r.kind, Kind::Bounce) && !transient && HARD_REASONS.contains(&reason),
    }
}

/// Whether the failure is temporary by its codes: the reply code if there is one, else
/// the status code's class.
fn is_transient(r: &Recipient) -> bool {
    r.reply_code.is_some_and(|c| (400..500).contains(&c))
        || (r.reply_code.is_none() && r.status.as_deref().is_some_and(|s| s.starts_with('4')))
}

/// The status code's subject digit (`1` of `5.1.1`), when there is a status.
fn status_subject(r: &Recipient) -> Option<u8> {
    r.status
        .as_deref()
        .and_then(|s| s.split('.').nth(1))
        .and_then(|d| d.parse().ok())
}

/// The reason of a bounce or delay: the classifier's, refined by what the structure of
/// the report says (which command was refused, whether the failure was final).
fn bounce_reason(r: &Recipient, format: &str) -> &'static str {
    let v = r.verdict.as_ref().map_or("undefined", |v| v.sisimai_reason);
    // A temporary trouble that says nothing about the sender (a sender's bad
    // reputation keeps its name even when the refusal is temporary).
    let technical = r
        .verdict
        .as_ref()
        .is_some_and(|v| matches!(v.category, Category::Technical | Category::Other))
        && v != "badreputation";
    let transient_status = r.status.as_deref().is_some_and(|s| s.starts_with('4'));
    let command = r.smtp_command;
    if format == "googlegroups" {
        // Google Groups refuses a post from a non-member or to a group that does not
        // exist: the sender may not post, the recipient (the group) is not judged.
        return "rejected";
    }
    let from_text = r
        .verdict
        .as_ref()
        .is_some_and(|v| v.evidence.source == Source::Text);
    let local_program = r
        .diagnostic_type
        .as_deref()
        .is_some_and(|t| t.eq_ignore_ascii_case("x-unix"));
    if local_program && !from_text && v != "systemerror" {
        // A local delivery program (a pipe, a mail filter) failed, and the text says
        // nothing more specific.
        return "mailererror";
    }
    if command == Some("CONN") && technical && !matches!(v, "expired" | "networkerror") {
        // The receiving server refused us at the greeting, before any command: the
        // sending host is what it refuses.
        return "blocked";
    }
    if r.kind == Kind::Delay && technical && v != "toomanyconn" {
        // A delay notice with nothing more specific to say: the MTA is still
        // retrying, and Sisimai reads that as "expired".
        return "expired";
    }
    let no_permanent_code =
        r.status.is_none() && !r.reply_code.is_some_and(|c| (500..600).contains(&c));
    let receiver_trouble = r
        .verdict
        .as_ref()
        .is_some_and(|v| v.category == Category::Technical);
    if r.kind == Kind::Bounce
        && ((technical && transient_status) || (receiver_trouble && no_permanent_code))
    {
        // A final failure with a transient status, or with a temporary trouble and no
        // permanent code: the MTA gave up retrying.
        return "expired";
    }
    if v == "hostunknown" && (transient_status || is_transient(r)) {
        // A temporary DNS failure on the recipient's domain is not proof that the
        // domain does not exist.
        return "networkerror";
    }
    if command == Some("MAIL")
        && (v == "undefined"
            || (matches!(v, "userunknown" | "hostunknown")
                && matches!(r.status.as_deref(), Some(s) if s.ends_with(".1.0") || s.ends_with(".1.7") || s.ends_with(".1.8"))))
    {
        // Refused at MAIL FROM: the sender's address, not the recipient's.
        return "rejected";
    }
    if v == "userunknown" && command != Some("RCPT") {
        // An unknown-user text that nothing confirms, for a message not refused at
        // RCPT: the address was accepted and the message was refused later, by a
        // filter. Confirmation is an X.1.x / X.5.x status, a mailbox provider's own
        // documented unknown-user reply, or a report in the MTA's own words.
        let provider_says = r.verdict.as_ref().is_some_and(|v| {
            v.evidence
                .origin
                .as_deref()
                .is_some_and(|o| o.starts_with("providers.toml"))
        });
        let confirmed = provider_says || matches!(status_subject(r), Some(1) | Some(5));
        if command == Some("DATA") || (!confirmed && !SELF_STATED_FORMATS.contains(&format)) {
            return "filtered";
        }
    }
    v
}

/// Sisimai's own refinements of a bare `X.0.0`, printed when the report gave no status:
/// `X.0.9NN`, where `NN` names the reason (the class digit follows the failure).
const REFINED_STATUS: &[(&str, &str)] = &[
    ("undefined", "900"),
    ("norelaying", "909"),
    ("filtered", "910"),
    ("userunknown", "911"),
    ("hostunknown", "912"),
    ("rejected", "918"),
    ("suspend", "921"),
    ("mailboxfull", "922"),
    ("notaccept", "932"),
    ("mesgtoobig", "934"),
    ("mailererror", "939"),
    ("networkerror", "944"),
    ("expired", "947"),
    ("blocked", "971"),
    ("requireptr", "973"),
    ("failedstarttls", "976"),
    ("spamdetected", "980"),
];

/// The delivery status Sisimai would print: the report's own, else Sisimai's refined
/// code for the reason, else the standard code for the reason, else `5.0.0` / `4.0.0`
/// by the kind.
pub fn delivery_status(r: &Recipient) -> String {
    if let Some(s) = &r.status {
        return s.clone();
    }
    match r.kind {
        Kind::Complaint | Kind::AutoReply | Kind::NotBounce => String::new(),
        Kind::Delivered => "2.0.0".into(),
        Kind::Delay | Kind::Bounce => {
            let class = if r.kind == Kind::Delay || is_transient(r) {
                '4'
            } else {
                '5'
            };
            if let Some((_, nn)) = REFINED_STATUS
                .iter()
                .find(|(reason, _)| *reason == r.sisimai.reason)
            {
                return format!("{class}.0.{nn}");
            }
            if r.kind == Kind::Delay {
                return "4.0.0".into();
            }
            STATUS_FOR_REASON
                .iter()
                .find(|(reason, _)| *reason == r.sisimai.reason)
                .map_or("5.0.0", |(_, s)| s)
                .to_string()
        }
    }
}
