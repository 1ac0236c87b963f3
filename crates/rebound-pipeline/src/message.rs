//! A decoded bounce message (the decoder's [`Decoded`]) into outcome reports.
//!
//! A bounce, complaint, auto-reply or delivery notice gives one report per
//! recipient; a delay notice gives none (the sending MTA is still trying, nothing has
//! happened to the address yet), and neither does a message that is no report.
//! When the message came to a signed VERP return path, the address it names is the
//! one we sent to, and it wins over what the report says (a forwarded mailbox
//! reports its new address, a bare notice reports none).

use crate::report::{Fact, Report};
use rebound_decode::{Decoded, Kind};
use rebound_store::{Channel, Ts};

/// Diagnostics longer than this are cut (at a character boundary) before they are
/// kept as evidence: the verdict has been reached on the whole text already.
pub const MAX_EVIDENCE: usize = 2000;

/// What the return path a message arrived at says about it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReturnPath {
    /// The recipient we sent to, from a signed VERP token.
    pub recipient: Option<String>,
    pub campaign: Option<String>,
}

/// The reports a decoded message gives, stamped `at`, from `source`.
pub fn reports(decoded: &Decoded, path: &ReturnPath, at: Ts, source: &str) -> Vec<Report> {
    let mut out = Vec::new();
    let mut recipients: Vec<_> = decoded
        .recipients
        .iter()
        .filter(|r| !matches!(r.kind, Kind::Delay | Kind::NotBounce))
        .collect();
    if let Some(verp) = &path.recipient {
        // One message went to one VERP address: one report, the one about that
        // recipient if the report names it, else the first.
        let pick = recipients
            .iter()
            .position(|r| r.recipient.eq_ignore_ascii_case(verp))
            .unwrap_or(0);
        recipients = recipients.into_iter().skip(pick).take(1).collect();
    }
    for r in recipients {
        let fact = match r.kind {
            Kind::Bounce => match &r.verdict {
                Some(v) => Fact::Judged(Box::new(v.clone())),
                None => Fact::Bounce {
                    reply_code: r.reply_code,
                    status: r.status.clone(),
                    text: r.diagnostic.clone(),
                    host: r.remote_mta.clone(),
                    fallback: None,
                },
            },
            Kind::Complaint => Fact::Complaint,
            Kind::AutoReply => Fact::AutoReply,
            Kind::Delivered => Fact::Delivered,
            Kind::Delay | Kind::NotBounce => continue,
        };
        let reply = (!r.diagnostic.is_empty()).then(|| clip(&r.diagnostic, MAX_EVIDENCE));
        out.push(Report {
            channel: Channel::Email,
            recipient: path
                .recipient
                .clone()
                .unwrap_or_else(|| r.recipient.clone()),
            at,
            fact,
            campaign: path.campaign.clone(),
            source: Some(source.to_string()),
            reply,
            code: None,
        });
    }
    out
}

fn clip(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DSN: &str = "From: MAILER-DAEMON@mx.example.net\r\nTo: bounces@bounce.example.com\r\nSubject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nI could not deliver your message.\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.net\r\n\r\nFinal-Recipient: rfc822; forwarded@elsewhere.example\r\nAction: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 <forwarded@elsewhere.example>: Recipient address rejected: User unknown\r\n--b--\r\n";

    #[test]
    fn a_verp_recipient_wins_over_the_reported_one() {
        let d = rebound_decode::decode(DSN.as_bytes()).unwrap();
        let plain = reports(&d, &ReturnPath::default(), 7, "smtp");
        assert_eq!(plain.len(), 1);
        assert_eq!(plain[0].recipient, "forwarded@elsewhere.example");
        let path = ReturnPath {
            recipient: Some("jo@example.com".into()),
            campaign: Some("spring".into()),
        };
        let r = reports(&d, &path, 7, "smtp");
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].recipient, "jo@example.com");
        assert_eq!(r[0].campaign.as_deref(), Some("spring"));
        match &r[0].fact {
            Fact::Judged(v) => assert_eq!(v.reason.as_str(), "invalid_recipient"),
            other => panic!("{other:?}"),
        }
    }
}
