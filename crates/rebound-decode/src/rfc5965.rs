//! Complaint reports: the Abuse Reporting Format (ARF, RFC 5965,
//! `multipart/report; report-type=feedback-report` with a `message/feedback-report`
//! part), and the older provider variants that carry the same fields
//! (`Feedback-Type`, `Original-Rcpt-To`, `Removal-Recipient`) without the MIME frame.
//!
//! The complained-about recipient is `Original-Rcpt-To` (one per recipient), else
//! `Removal-Recipient`, else the `To` of the returned message. A mail client's
//! unsubscribe request to a `mailto:` List-Unsubscribe address is read as an `opt-out`
//! report from its sender.

use crate::mime::View;
use crate::text;
use crate::{Kind, Recipient, RecipientSource, address};

/// Reads a complaint report into one fact per complaining recipient.
pub fn read(view: &View) -> Vec<Recipient> {
    if let Some(r) = unsubscribe_request(view) {
        return vec![r];
    }
    let mut reports: Vec<&str> = view.feedback.iter().map(String::as_str).collect();
    if reports.is_empty() {
        if view.report_type != "feedback-report"
            && !view.texts.iter().any(|t| {
                text::has_line_starting_ci(t, "feedback-type:")
                    || text::starts_with_ci(t, "feedback-type:")
            })
        {
            return Vec::new();
        }
        reports = view.texts.iter().map(String::as_str).collect();
    }
    let mut out: Vec<Recipient> = Vec::new();
    for rep in reports {
        let fields = text::fields(rep);
        let get = |name: &str| {
            fields
                .iter()
                .find(|f| f.1.eq_ignore_ascii_case(name) && !f.2.is_empty())
                .map(|f| f.2.to_string())
        };
        let Some(ftype) = get("feedback-type")
            .or_else(|| (view.report_type == "feedback-report").then(|| "abuse".to_string()))
        else {
            continue;
        };
        let ftype = ftype
            .split_whitespace()
            .next()
            .unwrap_or("abuse")
            .to_ascii_lowercase();
        let mut addrs: Vec<String> = fields
            .iter()
            .filter(|f| {
                f.1.eq_ignore_ascii_case("original-rcpt-to")
                    || f.1.eq_ignore_ascii_case("removal-recipient")
            })
            .filter_map(|f| address::normalize(&f.2))
            .collect();
        if addrs.is_empty()
            && let Some(ret) = &view.returned
        {
            addrs.extend(ret.to.iter().filter_map(|a| address::normalize(a)));
        }
        let mut source = RecipientSource::Feedback;
        if addrs.is_empty() {
            // No field and no `To` names the complainer ("To: <Undisclosed
            // Recipients>"): the returned message's envelope recipient, as its
            // `Received: ... for <addr>` recorded it.
            addrs.extend(received_for(&view.returned_raw));
        }
        if addrs.is_empty() {
            // Nothing names the complainer: the report stands for the feedback-loop
            // subscriber it was addressed to, so that the complaint is not lost.
            addrs.extend(view.to_addrs.iter().filter_map(|a| address::normalize(a)));
            source = RecipientSource::ReportAddressee;
        }
        for a in addrs {
            if out.iter().any(|r| address::same(&r.recipient, &a)) {
                continue;
            }
            let mut r = Recipient::new(a, source, Kind::Complaint);
            r.feedback_type = Some(ftype.clone());
            r.arrival_date = get("arrival-date").or_else(|| get("received-date"));
            r.reporting_mta = get("reporting-mta").or_else(|| get("user-agent"));
            r.diagnostic = get("source-ip")
                .map(|ip| format!("source-ip {ip}"))
                .unwrap_or_default();
            out.push(r);
        }
    }
    out
}

/// The addresses named by `for <addr>` in the `Received` fields of a header block.
fn received_for(headers: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_received = false;
    for line in text::lines(headers) {
        if !line.starts_with([' ', '\t']) {
            in_received = line
                .get(..9)
                .is_some_and(|n| n.eq_ignore_ascii_case("received:"));
        }
        if !in_received {
            continue;
        }
        let l = text::lower(line);
        if let Some(i) = l.find("for <")
            && let Some(a) = address::first(&line[i + 4..])
            && let Some(a) = address::normalize(a)
            && !out.contains(&a)
        {
            out.push(a);
        }
    }
    out
}

/// A mail client's one-click unsubscribe request sent to a `mailto:` List-Unsubscribe
/// address (Apple Mail marks it `X-Apple-Unsubscribe: true`): the sender of the request
/// opts out, which ARF names the `opt-out` feedback type.
fn unsubscribe_request(view: &View) -> Option<Recipient> {
    let flagged = view
        .header("X-Apple-Unsubscribe")
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
    if !flagged {
        return None;
    }
    let addr = address::normalize(&view.from_addr)?;
    let mut r = Recipient::new(addr, RecipientSource::Sender, Kind::Complaint);
    r.feedback_type = Some("opt-out".to_string());
    Some(r)
}
