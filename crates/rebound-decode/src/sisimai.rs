//! The Sisimai-compatible view of a fact: Sisimai's reason name, its `hardbounce`
//! flag and its `deliverystatus`, so that `rebound parse --format sisimai` can stand in
//! for Sisimai. The reason comes from the classifier's verdict; only the structure of
//! the report (a complaint, an auto-reply, a delivery notice, a delay that ran out of
//! retries) refines it here, never the wording.

use crate::{Kind, Recipient};
use rebound_classify::Source;
use rebound_vocab::Category;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::LazyLock;

/// `data/sisimai.toml`, read once.
#[derive(Deserialize)]
struct Tables {
    hard_reasons: Vec<String>,
    routing_phrases: Vec<String>,
    expiry_phrases: Vec<String>,
    data_unknown_user_rejected_hosts: Vec<String>,
    self_stated_reporting_hosts: Vec<String>,
    status_comment_reasons: HashMap<String, String>,
    status: HashMap<String, String>,
    refined: HashMap<String, String>,
}

static TABLES: LazyLock<Tables> = LazyLock::new(|| {
    toml::from_str(include_str!("../data/sisimai.toml")).expect("data/sisimai.toml is valid")
});

/// Reason names as `&'static str` (the view hands out static names): every name
/// the tables use, interned once.
static NAMES: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
    let t = &*TABLES;
    let mut v: Vec<&'static str> = Vec::new();
    for n in t
        .status
        .values()
        .chain(t.refined.keys())
        .chain(t.status_comment_reasons.values())
        .chain(&t.hard_reasons)
    {
        if !v.iter().any(|x| x == n) {
            v.push(Box::leak(n.clone().into_boxed_str()));
        }
    }
    v
});

fn intern(name: &str) -> Option<&'static str> {
    NAMES.iter().copied().find(|n| *n == name)
}

/// The reason Sisimai reads in a status code on its own, if the code is specific.
pub fn status_name(status: &str) -> Option<&'static str> {
    TABLES.status.get(status).and_then(|n| intern(n))
}

/// Whether the text names a failure of name service or routing.
fn is_routing_failure(diag: &str) -> bool {
    let l = crate::text::lower(diag);
    TABLES
        .routing_phrases
        .iter()
        .any(|p| l.contains(p.as_str()))
}

/// The part of a diagnostic before the sending MTA's "gave up retrying" sentence,
/// when there is such a sentence and something before it.
pub fn before_expiry(diag: &str) -> Option<&str> {
    let l = crate::text::lower(diag);
    let at = TABLES
        .expiry_phrases
        .iter()
        .filter_map(|p| l.find(p.as_str()))
        .min()?;
    let head = diag.get(..at)?.trim();
    (!head.is_empty()).then_some(head)
}

/// Whether a host name is one of `hosts` or within one of them (`a.example.jp` is
/// within `example.jp`), ignoring case and a trailing dot.
fn host_in(host: &str, hosts: &[String]) -> bool {
    let h = host.trim().trim_end_matches('.').to_ascii_lowercase();
    let h = h.split_whitespace().next().unwrap_or_default();
    hosts.iter().any(|d| {
        h == d.as_str()
            || h.strip_suffix(d.as_str())
                .is_some_and(|rest| rest.ends_with('.'))
    })
}

/// Formats whose report states the failure in the MTA's own words rather than relaying
/// a remote SMTP reply: what they say about the recipient is taken as it stands.
const SELF_STATED_FORMATS: &[&str] = &[
    "exchange",
    "domino",
    "notes",
    "imail",
    "trendmicro",
    "verizon",
];

/// Whether a reply names the recipient's address, in angle brackets, as the subject of
/// its refusal (`550 <jo@example.com>: User unknown`): a reply to RCPT TO, which is
/// about one address; a refusal of the message after DATA names none
/// (`550 : User unknown`).
fn names_address_refused(diag: &str) -> bool {
    let b = diag.as_bytes();
    let mut from = 0;
    while let Some(at) = memchr::memmem::find(&b[from..], b">:") {
        let end = from + at;
        if let Some(open) = memchr::memrchr(b'<', &b[..end])
            && end > open + 1
            && memchr::memchr(b'@', &b[open..end]).is_some()
            && !b[open..end].iter().any(|c| c.is_ascii_whitespace())
        {
            return true;
        }
        from = end + 2;
    }
    false
}

/// The Sisimai view of a fact whose kind and verdict are known; `format` is the reader
/// that understood the report, `family` the MTA family its text names (the two differ
/// when the report was read from its headers alone).
pub fn view(r: &Recipient, format: &str, family: Option<&str>) -> crate::SisimaiView {
    let reason: &'static str = match r.kind {
        Kind::Complaint => "feedback",
        Kind::AutoReply => "vacation",
        Kind::Delivered => "delivered",
        Kind::NotBounce => "undefined",
        Kind::Bounce | Kind::Delay => bounce_reason(r, format, family),
    };
    let transient = is_transient(r);
    crate::SisimaiView {
        reason,
        hardbounce: matches!(r.kind, Kind::Bounce)
            && !transient
            && TABLES.hard_reasons.iter().any(|h| h == reason),
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

/// Whether a status code says more than its class (`5.0.0`, `4.0.0` and Sisimai's own
/// `5.0.9NN` say nothing specific).
fn is_specific_status(s: &str) -> bool {
    !(s.ends_with(".0.0") || s.get(1..5) == Some(".0.9"))
}

/// The reason the verdict gives, read as Sisimai reads it: a verdict decided by wording
/// keeps the classifier's Sisimai name; one decided by the status code alone (or by
/// nothing better than a generic phrase or the reply code) takes Sisimai's reading of
/// that status code.
fn verdict_reason(r: &Recipient) -> &'static str {
    let Some(v) = r.verdict.as_ref() else {
        return "undefined";
    };
    match v.evidence.source {
        Source::Text => v.sisimai_reason,
        Source::Status | Source::GenericText | Source::ReplyCode | Source::None => {
            let status = r.status.as_deref().filter(|s| is_specific_status(s));
            if let Some(name) = status.and_then(status_name) {
                return name;
            }
            match status.and_then(|s| s.get(..3)).map(|s| &s[1..]) {
                Some(".6") => "contenterror",
                Some(".7") => "securityerror",
                _ => v.sisimai_reason,
            }
        }
    }
}

/// The reason of a bounce or delay: the classifier's, refined by what the structure of
/// the report says (which command was refused, whether the failure was final).
fn bounce_reason(r: &Recipient, format: &str, family: Option<&str>) -> &'static str {
    let mut v = verdict_reason(r);
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
    if r.kind == Kind::Bounce
        && let Some(c) = r.status_comment.as_deref()
    {
        let c = crate::text::lower(c);
        if let Some(name) = TABLES
            .status_comment_reasons
            .iter()
            .find(|(p, _)| c.contains(p.as_str()))
            .and_then(|(_, n)| intern(n))
        {
            // The reporting MTA's own reading in the Status comment
            // (`status_comment_reasons` in data/sisimai.toml).
            return name;
        }
    }
    let from_text = r
        .verdict
        .as_ref()
        .is_some_and(|v| v.evidence.source == Source::Text);
    let local_program = r
        .diagnostic_type
        .as_deref()
        .is_some_and(|t| t.eq_ignore_ascii_case("x-unix"));
    // Only a local program's exit status (`77`), without words: the status code says
    // what the failure was.
    let bare_exit_status = r.diagnostic.trim().bytes().all(|b| b.is_ascii_digit());
    if local_program && !from_text && !(v == "systemerror" && bare_exit_status) {
        // A local delivery program (a pipe, a mail filter) failed, and the text says
        // nothing more specific.
        return "mailererror";
    }
    let routing = technical && is_routing_failure(&r.diagnostic);
    if routing && !matches!(v, "hostunknown" | "notaccept") {
        // Name service or routing failed: that stays the reason, retried or not.
        return "networkerror";
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
    // A fault of the receiving system named in words keeps its name: it is why the
    // MTA retried, and the retries were not the trouble.
    let named_system_fault = from_text && v == "systemerror";
    if r.kind == Kind::Bounce
        && !named_system_fault
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
        && (matches!(v, "undefined" | "onhold")
            || (v == "securityerror" && !from_text)
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
        //
        // Sisimai takes a provider's wording as the provider's only where the reply
        // came from the provider's server (its per-host tables); a provider's sentence
        // quoted without the server's reply code ("The email account that you tried to
        // reach does not exist." in a relay's report, X2's "This user doesn't have a
        // ... account") is read by the generic rule and, not refused at RCPT, is
        // `filtered`. The reply code is the mark of the server's own reply.
        let provider_says = r.reply_code.is_some()
            && r.verdict.as_ref().is_some_and(|v| {
                v.evidence
                    .origin
                    .as_deref()
                    .is_some_and(|o| o.starts_with("providers.toml"))
            });
        let confirmed = provider_says
            || matches!(status_subject(r), Some(1) | Some(5))
            || (names_address_refused(&r.diagnostic) && status_subject(r) != Some(7));
        let self_stated = SELF_STATED_FORMATS.contains(&format)
            || family.is_some_and(|f| SELF_STATED_FORMATS.contains(&f))
            || r.reporting_mta
                .as_deref()
                .is_some_and(|h| host_in(h, &TABLES.self_stated_reporting_hosts));
        if command == Some("DATA")
            && !r.status.as_deref().is_some_and(is_specific_status)
            && r.remote_mta
                .as_deref()
                .is_some_and(|h| host_in(h, &TABLES.data_unknown_user_rejected_hosts))
        {
            // A provider whose after-DATA "Unknown user" refuses the sender
            // (`data_unknown_user_rejected_hosts` in data/sisimai.toml).
            return "rejected";
        }
        if command == Some("DATA") || (!confirmed && !self_stated) {
            return "filtered";
        }
    }
    if v == "undefined" && !r.diagnostic.is_empty() && format != "headers" {
        // A diagnostic that says nothing Sisimai can name: it holds the bounce back
        // as "onhold" (undecided), not "undefined" (no information).
        v = "onhold";
    }
    v
}

/// The delivery status Sisimai would print: the report's own, else Sisimai's pseudo
/// code for the reason (`C.0.9NN`), else `5.0.0` / `4.0.0` by the kind.
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
            match TABLES.refined.get(r.sisimai.reason) {
                Some(nn) => format!("{class}.0.{nn}"),
                None => format!("{class}.0.0"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{host_in, names_address_refused};

    #[test]
    fn a_host_is_in_a_domain_at_a_label_boundary() {
        let hosts = vec!["docomo.ne.jp".to_string()];
        assert!(host_in("mfsmax.docomo.ne.jp", &hosts));
        assert!(host_in("DOCOMO.ne.jp.", &hosts));
        assert!(!host_in("notdocomo.ne.jp", &hosts));
        assert!(!host_in("docomo.ne.jp.example.com", &hosts));
    }

    #[test]
    fn a_reply_about_one_address_names_it() {
        assert!(names_address_refused("550 <jo@example.com>: User unknown"));
        assert!(names_address_refused("550: <jo@example.com>: User unknown"));
        assert!(!names_address_refused("550 : User unknown"));
        assert!(!names_address_refused("550 <not an address>: x"));
        assert!(!names_address_refused("550 jo@example.com... No such user"));
        assert!(!names_address_refused(">:<@"));
    }
}
