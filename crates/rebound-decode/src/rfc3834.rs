//! Auto-replies: RFC 3834 (`Auto-Submitted: auto-replied`), the informal header marks
//! (`X-Autoreply`, `Precedence: auto_reply` ...) and vacation subjects in several
//! languages. An auto-reply is recorded, never counted as a bounce; its recipient is
//! the person who replied (the sender of the auto-reply), or the VERP token of the
//! address it was sent to.

use crate::knowledge;
use crate::mime::View;
use crate::text;
use crate::verp;
use crate::{Kind, Recipient, RecipientSource, address};

/// Whether the message is an auto-reply, by its headers or its subject.
pub fn is_auto_reply(view: &View) -> bool {
    if let Some(v) = view.header("Auto-Submitted") {
        let v = v.trim().to_ascii_lowercase();
        if !v.is_empty() && !v.starts_with("no") {
            return true;
        }
    }
    for (name, needle) in knowledge::AUTOREPLY_HEADERS {
        if let Some(v) = view.header(name)
            && text::lower(v).contains(needle)
        {
            return true;
        }
    }
    vacation_subject(&view.subject)
}

/// Whether a subject is a vacation / auto-reply subject.
pub fn vacation_subject(subject: &str) -> bool {
    let s = text::lower(subject.trim());
    knowledge::VACATION_SUBJECTS
        .iter()
        .any(|p| s.starts_with(p) || (p.chars().count() >= 6 && s.contains(p)))
}

/// Reads an auto-reply into one fact for the person who replied.
pub fn read(view: &View) -> Vec<Recipient> {
    if !is_auto_reply(view) {
        return Vec::new();
    }
    let (addr, source) = match view
        .to_addrs
        .iter()
        .chain(&view.delivered_to)
        .find_map(|t| verp::recipient(t))
    {
        Some(a) => (Some(a), RecipientSource::Verp),
        None => (address::normalize(&view.from_addr), RecipientSource::Sender),
    };
    let Some(addr) = addr else {
        return Vec::new();
    };
    let mut r = Recipient::new(addr, source, Kind::AutoReply);
    r.diagnostic = view
        .texts
        .first()
        .map(|t| t.chars().take(500).collect())
        .unwrap_or_default();
    vec![r]
}
