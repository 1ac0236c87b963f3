//! The same server reply gives the same verdict whichever way it reaches Rebound:
//! an event line, a DSN read by the decoder, or any provider's webhook.

use rebound_classify::Scratch;
use rebound_pipeline::event_line::EventLine;
use rebound_pipeline::message::{ReturnPath, reports};
use rebound_pipeline::{Fact, Report, to_record};
use rebound_store::{Channel, Record, Tenant};

fn verdict(r: Report) -> (String, String) {
    let rec: Record = to_record(&Tenant::new("t"), r, &mut Scratch::default()).unwrap();
    (
        rec.reason
            .map(|x| x.as_str().to_string())
            .unwrap_or_default(),
        format!("{:?}", rec.event),
    )
}

fn provider_reports(reply: &str, status: &str) -> Vec<(&'static str, Report)> {
    let base = |source: &str, fact: Fact| Report {
        channel: Channel::Email,
        recipient: "jo@example.com".into(),
        at: 0,
        fact,
        campaign: None,
        source: Some(source.into()),
        reply: Some(reply.into()),
        code: None,
    };
    let code: u16 = reply[..3].parse().unwrap();
    vec![
        // SES quotes the reply as a DSN Diagnostic-Code, with the DSN status.
        (
            "ses",
            base(
                "ses",
                Fact::Bounce {
                    reply_code: None,
                    status: Some(status.into()),
                    text: format!("smtp; {reply}"),
                    host: None,
                    fallback: rebound_webhooks::table::fallback("ses", "Permanent/General"),
                },
            ),
        ),
        (
            "sendgrid",
            base(
                "sendgrid",
                Fact::Bounce {
                    reply_code: None,
                    status: Some(status.into()),
                    text: reply.into(),
                    host: None,
                    fallback: None,
                },
            ),
        ),
        (
            "mailgun",
            base(
                "mailgun",
                Fact::Bounce {
                    reply_code: None,
                    status: None,
                    text: reply.into(),
                    host: None,
                    fallback: None,
                },
            ),
        ),
        (
            "postmark",
            base(
                "postmark",
                Fact::Bounce {
                    reply_code: None,
                    status: None,
                    text: reply.into(),
                    host: None,
                    fallback: rebound_webhooks::table::fallback("postmark", "HardBounce"),
                },
            ),
        ),
        (
            "sparkpost",
            base(
                "sparkpost",
                Fact::Bounce {
                    reply_code: Some(code),
                    status: None,
                    text: reply.into(),
                    host: None,
                    fallback: rebound_webhooks::table::fallback("sparkpost", "10"),
                },
            ),
        ),
    ]
}

fn dsn(reply: &str, status: &str) -> Vec<u8> {
    format!(
        "From: MAILER-DAEMON@mta.sender.example\r\nTo: bounces@bounce.sender.example\r\nSubject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nThe message could not be delivered.\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mta.sender.example\r\n\r\nFinal-Recipient: rfc822; jo@example.com\r\nAction: failed\r\nStatus: {status}\r\nDiagnostic-Code: smtp; {reply}\r\n--b--\r\n"
    )
    .into_bytes()
}

#[test]
fn one_reply_one_verdict_over_every_path() {
    for (reply, status) in [
        (
            "550 5.1.1 <jo@example.com>: Recipient address rejected: User unknown in virtual mailbox table",
            "5.1.1",
        ),
        ("552 5.2.2 <jo@example.com>: mailbox full", "5.2.2"),
        (
            "550 5.7.1 Message rejected because of SPF policy: sender.example does not designate this host",
            "5.7.1",
        ),
        (
            "554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org",
            "5.7.1",
        ),
    ] {
        let line: EventLine = serde_json::from_value(serde_json::json!({
            "tenant": "t", "channel": "email", "recipient": "jo@example.com", "event": "bounce",
            "at": "2026-11-22T10:00:00Z", "reply": reply,
        }))
        .unwrap();
        let want = verdict(line.report().unwrap());
        assert_ne!(want.0, "unknown", "{reply}");
        let decoded = rebound_decode::decode(&dsn(reply, status)).unwrap();
        let from_dsn = reports(&decoded, &ReturnPath::default(), 0, "smtp");
        assert_eq!(from_dsn.len(), 1);
        assert_eq!(verdict(from_dsn[0].clone()), want, "DSN: {reply}");
        for (name, r) in provider_reports(reply, status) {
            assert_eq!(verdict(r), want, "{name}: {reply}");
        }
    }
}
