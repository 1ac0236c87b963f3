//! Delivery status notifications: RFC 3464 (`message/delivery-status`) and RFC 6533
//! (`message/global-delivery-status`, UTF-8 addresses). A DSN holds one block of
//! per-message fields (`Reporting-MTA`, `Arrival-Date`) and one block per recipient
//! (`Final-Recipient`, `Action`, `Status`, `Remote-MTA`, `Diagnostic-Code`,
//! `Last-Attempt-Date`).
//!
//! Real DSNs bend the grammar: blocks without blank lines between them, `Action`
//! before `Final-Recipient`, the fields pasted into a text/plain part. Fields are read
//! by group, and a new recipient field opens a new recipient.

use crate::formats;
use crate::mime::View;
use crate::text::{self, Field};
use crate::{Kind, Recipient, RecipientSource, address};

/// Reads the DSN parts of a message (or DSN fields pasted into its text) into facts.
pub fn read(view: &View) -> Vec<Recipient> {
    let mut out = Vec::new();
    for d in &view.dsn {
        add(&mut out, parse(d));
    }
    if out.is_empty() {
        // Some MTAs put the DSN fields into the human-readable part.
        for t in &view.texts {
            // A recipient field (bits 0 and 1) and a status or action (bits 2 and 3).
            let found = text::lines_starting_ci(
                t,
                &[
                    "final-recipient:",
                    "original-recipient:",
                    "status:",
                    "action:",
                ],
            );
            if found & 0b11 != 0 && found & 0b1100 != 0 {
                add(&mut out, parse(t));
            }
        }
    }
    if out.is_empty() {
        return out;
    }
    complete_from_transcript(view, &mut out);
    // Where the DSN gives no diagnostic, the report's text often does.
    let needs_text = out.iter().any(|r| r.diagnostic.trim().is_empty());
    if needs_text {
        let found = formats::scan_text(view);
        for r in out.iter_mut().filter(|r| r.diagnostic.trim().is_empty()) {
            if let Some(f) = found
                .iter()
                .find(|f| address::same(&f.recipient, &r.recipient))
                .or(if found.len() == 1 {
                    found.first()
                } else {
                    None
                })
            {
                r.diagnostic = f.diagnostic.clone();
            }
        }
    }
    out
}

/// `more` after `out`: taken as it is when `out` is empty (most reports have one DSN),
/// instead of moved fact by fact into a new allocation.
fn add(out: &mut Vec<Recipient>, more: Vec<Recipient>) {
    if out.is_empty() {
        *out = more;
    } else {
        out.extend(more);
    }
}

/// Sendmail cuts a long reply short in `Diagnostic-Code` but quotes it whole in the
/// transcript of the session (`<<< 552-5.7.0 ...` lines) in the report text: a
/// diagnostic that is the start of a transcribed reply is replaced by the whole reply.
fn complete_from_transcript(view: &View, out: &mut [Recipient]) {
    if !out.iter().any(|r| !r.diagnostic.is_empty()) {
        return;
    }
    let mut replies: Vec<String> = Vec::new();
    // Only a text with `<<<` in it holds a transcribed reply.
    static QUOTE: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new("<<<"));
    for t in view
        .texts
        .iter()
        .filter(|t| QUOTE.find(t.as_bytes()).is_some())
    {
        let mut cur = String::new();
        for line in text::lines(t) {
            match line.trim_start().strip_prefix("<<<") {
                Some(rest) => {
                    if !cur.is_empty() {
                        cur.push(' ');
                    }
                    cur.push_str(rest.trim());
                }
                None if !cur.is_empty() => replies.push(text::squash(&std::mem::take(&mut cur))),
                None => {}
            }
        }
        if !cur.is_empty() {
            replies.push(text::squash(&cur));
        }
    }
    if replies.is_empty() {
        return;
    }
    for r in out.iter_mut() {
        let d = text::squash(&r.diagnostic);
        if d.len() < 16 {
            continue;
        }
        if let Some(whole) = replies
            .iter()
            .find(|rep| rep.len() > d.len() && rep.starts_with(&d))
        {
            r.diagnostic = whole.clone();
        }
    }
}

/// The fields of a DSN that [`parse`] reads, in the order of [`Values`]' slots.
const READ_FIELDS: [&str; 11] = [
    "final-recipient",
    "original-recipient",
    "x-actual-recipient",
    "action",
    "status",
    "diagnostic-code",
    "remote-mta",
    "reporting-mta",
    "arrival-date",
    "last-attempt-date",
    "received-from-mta",
];
const FINAL_RECIPIENT: usize = 0;
const ORIGINAL_RECIPIENT: usize = 1;
const ACTUAL_RECIPIENT: usize = 2;
const ACTION: usize = 3;
const STATUS: usize = 4;
const DIAGNOSTIC_CODE: usize = 5;
const REMOTE_MTA: usize = 6;
const REPORTING_MTA: usize = 7;
const ARRIVAL_DATE: usize = 8;
const LAST_ATTEMPT_DATE: usize = 9;
const RECEIVED_FROM_MTA: usize = 10;

/// Which of [`READ_FIELDS`] a field's name (as written) is.
fn read_field(name: &str) -> Option<usize> {
    // The length and first letter tell the names apart but for a few: a cheap test
    // before the comparison of the whole name.
    let first = name.as_bytes().first()?.to_ascii_lowercase();
    READ_FIELDS
        .iter()
        .position(|n| n.len() == name.len() && n.as_bytes()[0] == first && is(name, n))
}

/// The first non-blank value of each of [`READ_FIELDS`] among some fields, found in
/// one pass over them: asking for each field by name in turn went over a recipient's
/// fields a dozen times.
#[derive(Default)]
struct Values<'v>([Option<&'v str>; READ_FIELDS.len()]);

impl<'v> Values<'v> {
    fn of<'f: 'v>(fields: impl IntoIterator<Item = &'v Field<'f>>) -> Values<'v> {
        let mut out = Values::default();
        for f in fields {
            if let Some(i) = read_field(f.1)
                && out.0[i].is_none()
                && !text::trim(&f.2).is_empty()
            {
                out.0[i] = Some(f.2.as_ref());
            }
        }
        out
    }

    fn get(&self, field: usize) -> Option<&'v str> {
        self.0[field]
    }
}

/// Parses the text of one delivery-status part.
pub fn parse(dsn: &str) -> Vec<Recipient> {
    let fields = text::fields(dsn);
    let mut message_fields: Vec<&Field> = Vec::with_capacity(fields.len());
    // Recipients, each as the run of its fields.
    let mut recips: Vec<&[Field]> = Vec::new();
    // The fields come in group order: each chunk is one group.
    for group in fields.chunk_by(|a, b| a.0 == b.0) {
        let has_recipient = group
            .iter()
            .any(|f| is(f.1, "final-recipient") || is(f.1, "original-recipient"));
        if !has_recipient {
            message_fields.extend(group);
            continue;
        }
        // A recipient's fields run until the next field that it already has of
        // `Final-Recipient` and `Original-Recipient`.
        let mut from = 0;
        let mut cur_has: (bool, bool) = (false, false);
        for (k, f) in group.iter().enumerate() {
            let is_final = is(f.1, "final-recipient");
            let is_orig = is(f.1, "original-recipient");
            if (is_final && cur_has.0) || (is_orig && cur_has.1) {
                recips.push(&group[from..k]);
                from = k;
                cur_has = (false, false);
            }
            cur_has.0 |= is_final;
            cur_has.1 |= is_orig;
        }
        recips.push(&group[from..]);
        // Per-message fields inside a recipient group (no blank line after them) stay
        // with the message too. The group's recipients cover it whole, in order.
        message_fields.extend(group.iter().filter(|f| {
            read_field(f.1)
                .is_some_and(|i| matches!(i, REPORTING_MTA | ARRIVAL_DATE | RECEIVED_FROM_MTA))
        }));
    }
    let message = Values::of(message_fields.iter().copied());
    let reporting = message.get(REPORTING_MTA).map(after_type_str);
    let arrival = message.get(ARRIVAL_DATE);
    let mut out: Vec<Recipient> = Vec::with_capacity(recips.len());
    for fs in recips {
        let v = Values::of(fs);
        let final_r = v.get(FINAL_RECIPIENT).and_then(recipient_value);
        let orig_r = v.get(ORIGINAL_RECIPIENT).and_then(recipient_value);
        let (addr, source, original) = match (final_r, orig_r) {
            (Some(f), o) => {
                let o = o.filter(|o| *o != f);
                (f, RecipientSource::FinalRecipient, o)
            }
            (None, Some(o)) => (o.clone(), RecipientSource::OriginalRecipient, Some(o)),
            (None, None) => match v.get(ACTUAL_RECIPIENT).and_then(recipient_value) {
                Some(a) => (a, RecipientSource::FinalRecipient, None),
                None => continue,
            },
        };
        let action = v.get(ACTION).map(|a| {
            a.split(|c: char| c.is_whitespace() || c == '(' || c == ';')
                .next()
                .unwrap_or_default()
                .to_ascii_lowercase()
        });
        let status_field = v.get(STATUS).or_else(|| message.get(STATUS));
        let status = status_field.and_then(status_in);
        let (dtype, diag) = match v
            .get(DIAGNOSTIC_CODE)
            .or_else(|| message.get(DIAGNOSTIC_CODE))
        {
            Some(d) => split_type(d),
            None => (None, String::new()),
        };
        let kind = kind_of(action.as_deref(), status.as_deref());
        let mut r = Recipient::new(addr, source, kind);
        r.original_recipient = original;
        r.action = action;
        r.status = status;
        r.status_comment = status_field.and_then(status_comment);
        r.diagnostic = diag;
        r.diagnostic_type = dtype;
        r.remote_mta = v
            .get(REMOTE_MTA)
            .map(after_type_str)
            .filter(|v| !v.is_empty())
            .map(str::to_string);
        r.reporting_mta = v
            .get(REPORTING_MTA)
            .map(after_type_str)
            .or(reporting)
            .map(str::to_string);
        r.arrival_date = v.get(ARRIVAL_DATE).or(arrival).map(str::to_string);
        r.last_attempt_date = v.get(LAST_ATTEMPT_DATE).map(str::to_string);
        // The same recipient listed twice (some MTAs repeat it per attempt): keep one.
        if let Some(prev) = out
            .iter_mut()
            .find(|p| address::same(&p.recipient, &r.recipient))
        {
            if prev.diagnostic.is_empty() {
                prev.diagnostic = r.diagnostic;
            }
            continue;
        }
        out.push(r);
    }
    out
}

/// Whether a field's name (as written) is `name` (lower case).
fn is(field: &str, name: &str) -> bool {
    field.eq_ignore_ascii_case(name)
}

/// What a recipient's `Action` (or, without one, its status class) says happened.
pub fn kind_of(action: Option<&str>, status: Option<&str>) -> Kind {
    match action {
        Some("failed") => Kind::Bounce,
        Some("delayed") => Kind::Delay,
        Some("delivered" | "relayed" | "expanded" | "deliverable") => Kind::Delivered,
        _ => match status.and_then(|s| s.bytes().next()) {
            Some(b'2') => Kind::Delivered,
            _ => Kind::Bounce,
        },
    }
}

/// `rfc822; user@example.com` → `user@example.com` (xtext and `\x{..}` decoded).
fn recipient_value(v: &str) -> Option<String> {
    let decoded = address::decode_xtext(after_type_str(v));
    address::normalize(&decoded)
}

/// The value after a `type;` prefix, trimmed.
fn after_type_str(v: &str) -> &str {
    match split_at_semicolon(v) {
        Some((t, rest)) if t.len() < 12 && memchr::memchr(b'@', t.as_bytes()).is_none() => {
            text::trim(rest)
        }
        _ => text::trim(v),
    }
}

/// `v.split_once(';')`, the `;` found by memchr (`str::split_once` of a char sets up a
/// general search for each of these short values).
fn split_at_semicolon(v: &str) -> Option<(&str, &str)> {
    // `;` is ASCII: `i` and `i + 1` are character boundaries.
    memchr::memchr(b';', v.as_bytes()).map(|i| (&v[..i], &v[i + 1..]))
}

/// `smtp; 550 ...` → (`smtp`, `550 ...`).
fn split_type(v: &str) -> (Option<String>, String) {
    match split_at_semicolon(v) {
        Some((t, rest))
            if t.len() < 12
                && text::trim(t)
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-') =>
        {
            (
                Some(text::trim(t).to_ascii_lowercase()),
                text::trim(rest).to_string(),
            )
        }
        _ => (None, text::trim(v).to_string()),
    }
}

/// The enhanced status code in a `Status` value (`5.1.1`, `5.1.1 (user unknown)`).
pub fn status_in(s: &str) -> Option<String> {
    s.split(|c: char| c.is_whitespace() || c == '(' || c == ';' || c == ',')
        .find(|t| rebound_classify::reply::is_status(t.as_bytes()))
        .map(str::to_string)
}

/// The comment of a `Status` value (`5.2.1 (mailbox disabled)` → `mailbox disabled`).
fn status_comment(s: &str) -> Option<String> {
    let open = s.find('(')?;
    let inner = s[open + 1..].trim_end();
    let inner = inner.strip_suffix(')').unwrap_or(inner).trim();
    (!inner.is_empty()).then(|| inner.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_plain_dsn() {
        let d = "Reporting-MTA: dns; mx.example.jp\nArrival-Date: Mon, 1 Jan 2024\n\nFinal-Recipient: rfc822; a@example.com\nAction: failed\nStatus: 5.1.1\nRemote-MTA: dns; mx.example.com\nDiagnostic-Code: smtp; 550 5.1.1 <a@example.com>... User unknown\n\nFinal-Recipient: rfc822; b@example.com\nAction: delayed\nStatus: 4.4.7\n";
        let r = parse(d);
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].recipient, "a@example.com");
        assert_eq!(r[0].status.as_deref(), Some("5.1.1"));
        assert_eq!(r[0].status_comment, None);
        assert_eq!(r[0].remote_mta.as_deref(), Some("mx.example.com"));
        assert_eq!(r[0].reporting_mta.as_deref(), Some("mx.example.jp"));
        assert_eq!(r[0].diagnostic_type.as_deref(), Some("smtp"));
        assert_eq!(r[1].kind, Kind::Delay);
        let r = parse(
            "Final-Recipient: rfc822; a@example.com\nAction: failed\nStatus: 5.2.1 (mailbox disabled, not accepting messages)\n",
        );
        assert_eq!(r[0].status.as_deref(), Some("5.2.1"));
        assert_eq!(
            r[0].status_comment.as_deref(),
            Some("mailbox disabled, not accepting messages")
        );
    }

    #[test]
    fn reads_blocks_without_blank_lines_and_global_addresses() {
        let d = "Action: failed\nFinal-Recipient: utf-8; \\x{65E5}@example.jp\nStatus: 5.2.2\nFinal-Recipient: rfc822; b@example.com\nAction: failed\nStatus: 5.1.1\n";
        let r = parse(d);
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].recipient, "日@example.jp");
        assert_eq!(r[0].status.as_deref(), Some("5.2.2"));
        assert_eq!(r[1].status.as_deref(), Some("5.1.1"));
    }
}
