//! Plain-text delivery reports: the non-standard formats of the MTA families (qmail,
//! Exim, old Sendmail, Postfix without DSN, Exchange, Domino/Notes, Gmail, Yahoo,
//! OpenSMTPD, DragonFly, appliances and carriers ...).
//!
//! They share one structure, which [`scan`] reads: some boilerplate, then for each
//! failed recipient a line that names the address (at the start of the line, or after
//! a phrase like "RCPT TO:" or "could not be delivered to:"), followed or preceded by
//! the error (an SMTP reply, or the MTA's own words), then a boundary phrase and the
//! returned message. The phrases live in [`crate::knowledge`]; the family is found by
//! its marker phrase and only names the format. Provider notifications that are not
//! text reports have their own module ([`ses`]).

pub mod scan;
pub mod ses;

use crate::knowledge;
use crate::mime::View;
use crate::text;
use crate::verp;
use crate::{Recipient, RecipientSource, address};
pub use scan::scan_text;

/// Whether the message presents itself as a delivery report: sent by a mailer daemon or
/// postmaster, with a bounce subject, or with a family's marker phrase in its text.
pub fn looks_like_report(view: &View) -> bool {
    let from = text::lower(&view.from_addr);
    let local = from.split('@').next().unwrap_or_default();
    if knowledge::BOUNCE_SENDERS.iter().any(|s| {
        local == *s
            || local
                .strip_prefix(s)
                .is_some_and(|rest| rest.starts_with('-'))
            || local.ends_with(s)
    }) {
        return true;
    }
    let name = text::lower(&view.from_name);
    if knowledge::BOUNCE_SENDER_NAMES
        .iter()
        .any(|s| name.contains(s))
    {
        return true;
    }
    if bounce_subject(&view.subject) {
        return true;
    }
    family(view).is_some_and(|f| f != "generic")
}

/// Whether a subject is a delivery report's subject.
pub fn bounce_subject(subject: &str) -> bool {
    let s = text::lower(subject);
    crate::phrases::BOUNCE_SUBJECTS.any_in(&s)
}

/// The MTA family whose marker phrase the report's text contains.
pub fn family(view: &View) -> Option<&'static str> {
    view.phrases()
        .family
        .map(|i| knowledge::FAMILY_MARKERS[i].0)
}

/// Reads a plain-text report.
pub fn read(view: &View) -> (&'static str, Vec<Recipient>) {
    let name = family(view).unwrap_or("generic");
    let found = scan_text(view);
    if found.is_empty()
        && !view
            .headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("X-Failed-Recipients"))
    {
        // A report about mail the sender sent to itself names the sender as the
        // failed recipient.
        return (
            name,
            scan::scan_as(view.text(), &[] as &[&str], scan::kind_of_view(view)),
        );
    }
    (name, found)
}

/// A report that names no recipient in its text: the recipients are read from
/// `X-Failed-Recipients`, else the returned message's `To`, else a VERP return path;
/// the error is whatever SMTP reply the text holds.
pub fn from_headers(view: &View, classifier: &rebound_classify::Classifier) -> Vec<Recipient> {
    let mut addrs: Vec<(String, RecipientSource)> = Vec::new();
    for (n, v) in &view.headers {
        if n.eq_ignore_ascii_case("X-Failed-Recipients") {
            for part in v.split(',') {
                if let Some(a) = address::normalize(part) {
                    addrs.push((a, RecipientSource::XFailedRecipients));
                }
            }
        }
    }
    if addrs.is_empty()
        && let Some(ret) = &view.returned
    {
        for t in &ret.to {
            if let Some(a) = address::normalize(t)
                && !view.to_addrs.iter().any(|x| address::same(x, &a))
            {
                addrs.push((a, RecipientSource::ReturnedMessage));
            }
        }
    }
    if addrs.is_empty() {
        for t in view.to_addrs.iter().chain(&view.delivered_to) {
            if let Some(a) = verp::recipient(t) {
                addrs.push((a, RecipientSource::Verp));
            }
        }
    }
    let diag = scan::report_error(view.text());
    // Without a recipient named in the text, claim a bounce only on firm evidence: the
    // MTA's own header, an SMTP code in the report, or a delivery status report
    // (RFC 3464) that lost its per-recipient fields.
    if !addrs
        .iter()
        .any(|(_, s)| *s == RecipientSource::XFailedRecipients)
        && !scan::has_code(&diag)
        && view.report_type != "delivery-status"
        && !names_a_failure(&diag, classifier)
    {
        return Vec::new();
    }
    let kind = scan::kind_of_view(view);
    let mut out: Vec<Recipient> = Vec::new();
    for (a, source) in addrs {
        if out.iter().any(|r| address::same(&r.recipient, &a)) {
            continue;
        }
        let mut r = Recipient::new(a, source, kind);
        r.diagnostic = diag.clone();
        out.push(r);
    }
    out
}

/// Whether a report's words name a failure that the classifier knows by its wording
/// (a specific text rule, not a generic phrase): firm enough evidence without a code.
fn names_a_failure(diag: &str, classifier: &rebound_classify::Classifier) -> bool {
    if diag.is_empty() {
        return false;
    }
    let mut scratch = rebound_classify::Scratch::default();
    let v = classifier.classify(
        &rebound_classify::Reply::from_parts(None, None, diag),
        &mut scratch,
    );
    v.evidence.source == rebound_classify::Source::Text
}

/// The SMTP command the remote server refused, as the text names it.
pub fn smtp_command(report: &str) -> Option<&'static str> {
    smtp_command_lower(&text::lower(report))
}

/// [`smtp_command`] of a text already in lower case.
pub fn smtp_command_lower(l: &str) -> Option<&'static str> {
    let (commands, set) = &*crate::phrases::SMTP_COMMANDS;
    set.earliest_phrase(l).map(|i| commands[i])
}
