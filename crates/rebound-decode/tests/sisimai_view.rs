//! The Sisimai view's structural refinements, on small synthetic reports: the command
//! the remote server refused, a status quoted in the diagnostic, Sisimai's refined
//! `X.0.9NN` codes, and messages that only look like something else.

use rebound_decode::{Kind, decode, sisimai};

/// A minimal RFC 3464 report for one recipient; `human` is the readable part.
fn dsn(human: &str, fields: &str) -> Vec<u8> {
    format!(
        "From: MAILER-DAEMON@mx.example.net\r\n\
         To: sender@example.org\r\n\
         Subject: Undelivered Mail Returned to Sender\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\
         \r\n\
         --B\r\n\
         Content-Type: text/plain\r\n\
         \r\n\
         {human}\r\n\
         --B\r\n\
         Content-Type: message/delivery-status\r\n\
         \r\n\
         Reporting-MTA: dns; mx.example.net\r\n\
         \r\n\
         Final-Recipient: rfc822; rcpt@example.com\r\n\
         Action: failed\r\n\
         {fields}\r\n\
         --B--\r\n"
    )
    .into_bytes()
}

fn one(bytes: &[u8]) -> (String, bool, String) {
    let d = decode(bytes).expect("decodes");
    assert_eq!(d.recipients.len(), 1, "{d:?}");
    let r = &d.recipients[0];
    (
        r.sisimai.reason.to_string(),
        r.sisimai.hardbounce,
        sisimai::delivery_status(r),
    )
}

#[test]
fn unknown_user_refused_at_rcpt_is_userunknown() {
    let m = dsn(
        "<rcpt@example.com>: host mx.example.com said: 550 User unknown (in reply to RCPT TO command)",
        "Status: 5.0.0\r\nDiagnostic-Code: smtp; 550 User unknown",
    );
    assert_eq!(one(&m), ("userunknown".into(), true, "5.0.0".into()));
}

#[test]
fn unknown_user_text_after_data_is_filtered() {
    let m = dsn(
        "<rcpt@example.com>: host mx.example.com said: 550 User unknown (in reply to end of DATA command)",
        "Status: 5.0.0\r\nDiagnostic-Code: smtp; 550 User unknown",
    );
    assert_eq!(one(&m), ("filtered".into(), false, "5.0.0".into()));
}

#[test]
fn status_confirmed_unknown_user_stays_userunknown_without_a_command() {
    let m = dsn(
        "Delivery failed.",
        "Status: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 <rcpt@example.com>... User unknown",
    );
    assert_eq!(one(&m), ("userunknown".into(), true, "5.1.1".into()));
}

#[test]
fn the_remote_servers_own_status_beats_the_reports_summary() {
    let m = dsn(
        "Delivery failed.",
        "Status: 4.4.7\r\nDiagnostic-Code: smtp; 450 4.7.1 Access denied. IP name lookup failed [192.0.2.1]",
    );
    let (_, hard, status) = one(&m);
    assert!(!hard);
    assert_eq!(status, "4.7.1");
}

#[test]
fn a_temporary_dns_failure_is_a_network_error_not_an_unknown_host() {
    let m = dsn(
        "Delivery failed.",
        "Status: 4.0.0\r\nDiagnostic-Code: smtp; DNS Error: DNS type 'mx' lookup of example.com responded with code NXDOMAIN Domain name not found: example.com",
    );
    let (reason, hard, _) = one(&m);
    assert_eq!((reason.as_str(), hard), ("networkerror", false));
}

#[test]
fn a_report_without_status_gets_sisimais_refined_code() {
    let m = b"From: MAILER-DAEMON@mx.example.net\r\n\
To: sender@example.org\r\n\
Subject: failure notice\r\n\
\r\n\
Hi. This is the qmail-send program at mx.example.net.\r\n\
I'm afraid I wasn't able to deliver your message to the following addresses.\r\n\
\r\n\
<rcpt@example.com>:\r\n\
The number of messages in recipient's mailbox exceeded the local limit.\r\n";
    assert_eq!(one(m), ("mailboxfull".into(), false, "5.0.922".into()));
}

#[test]
fn a_delivery_status_report_marked_auto_replied_is_still_a_bounce() {
    let m = b"From: MAILER-DAEMON@mx.example.net (Mail Delivery System)\r\n\
To: sender@example.org\r\n\
Subject: Undelivered Mail Returned to Sender\r\n\
Auto-Submitted: auto-replied\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\
\r\n\
--B\r\n\
Content-Type: text/plain\r\n\
\r\n\
--- Delivery report unavailable ---\r\n\
--B\r\n\
Content-Type: message/delivery-status\r\n\
\r\n\
Reporting-MTA: dns; mx.example.net\r\n\
--B\r\n\
Content-Type: message/rfc822\r\n\
\r\n\
From: sender@example.org\r\n\
To: rcpt@example.com\r\n\
Subject: hello\r\n\
\r\n\
hello\r\n\
--B--\r\n";
    let d = decode(m).expect("decodes");
    assert_eq!(d.kind, Kind::Bounce);
    assert_eq!(d.recipients[0].recipient, "rcpt@example.com");
}

#[test]
fn a_mail_clients_unsubscribe_request_is_an_opt_out() {
    let m = b"From: someone@example.com\r\n\
To: unsubscribe-123@lists.example.org\r\n\
Subject: unsubscribe\r\n\
Auto-Submitted: auto-replied\r\n\
X-Apple-Unsubscribe: true\r\n\
\r\n\
Apple Mail sent this email to unsubscribe from the message.\r\n";
    let d = decode(m).expect("decodes");
    assert_eq!(d.kind, Kind::Complaint);
    let r = &d.recipients[0];
    assert_eq!(r.recipient, "someone@example.com");
    assert_eq!(r.feedback_type.as_deref(), Some("opt-out"));
    assert_eq!(r.sisimai.reason, "feedback");
}

#[test]
fn a_providers_sentence_without_its_servers_reply_code_is_filtered() {
    // Quoted by a relay without the provider's reply: Sisimai's generic reading.
    let m = dsn(
        "Delivery failed.",
        "Status: 5.0.0\r\nDiagnostic-Code: The email account that you tried to reach does not exist.",
    );
    assert_eq!(one(&m), ("filtered".into(), false, "5.0.0".into()));
    // The provider's own reply, with its code: the provider's word stands.
    let m = dsn(
        "Delivery failed.",
        "Status: 5.0.0\r\nDiagnostic-Code: smtp; 550 The email account that you tried to reach does not exist.",
    );
    assert_eq!(one(&m), ("userunknown".into(), true, "5.0.0".into()));
}

#[test]
fn docomos_unknown_user_after_data_is_a_refusal_of_the_sender() {
    let human = "<rcpt@example.com>: host mfsmax.docomo.ne.jp[192.0.2.240] said:\r\n    550 Unknown user rcpt@example.com (in reply to end of DATA\r\n    command)";
    let m = dsn(
        human,
        "Status: 5.0.0\r\nRemote-MTA: dns; mfsmax.docomo.ne.jp\r\nDiagnostic-Code: smtp; 550 Unknown user rcpt@example.com",
    );
    assert_eq!(one(&m), ("rejected".into(), false, "5.0.0".into()));
    // Another host's unknown user after DATA is a filter's.
    let m = dsn(
        &human.replace("mfsmax.docomo.ne.jp", "mx.example.com"),
        "Status: 5.0.0\r\nRemote-MTA: dns; mx.example.com\r\nDiagnostic-Code: smtp; 550 Unknown user rcpt@example.com",
    );
    assert_eq!(one(&m), ("filtered".into(), false, "5.0.0".into()));
}

#[test]
fn a_status_comment_saying_the_mailbox_is_disabled_is_sisimais_suspend() {
    let diag = "Diagnostic-Code: smtp;550 5.2.1 <rcpt@example.com>... User Unknown";
    let m = dsn(
        "Delivery failed.",
        &format!("Status: 5.2.1 (mailbox disabled, not accepting messages)\r\n{diag}"),
    );
    assert_eq!(one(&m), ("suspend".into(), false, "5.2.1".into()));
    // Without the comment the remote reply's words decide (an unknown user not
    // refused at RCPT: filtered).
    let m = dsn("Delivery failed.", &format!("Status: 5.2.1\r\n{diag}"));
    assert_eq!(one(&m).0, "filtered");
}

#[test]
fn an_unknown_user_relayed_by_messagelabs_stands() {
    let fields = "Status: 5.0.0\r\nDiagnostic-Code: smtp; 550 rcpt@example.com... No such user";
    let m = String::from_utf8(dsn("Delivery failed.", fields)).unwrap();
    let by_messagelabs = m.replace(
        "Reporting-MTA: dns; mx.example.net",
        "Reporting-MTA: dns; server-1.bemta-2.messagelabs.com",
    );
    assert_eq!(
        one(by_messagelabs.as_bytes()),
        ("userunknown".into(), true, "5.0.0".into())
    );
    // Reported by another host, with no refused command named: a filter's.
    assert_eq!(one(m.as_bytes()).0, "filtered");
}
