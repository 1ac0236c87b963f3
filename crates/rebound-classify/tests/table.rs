//! Table tests through one helper, grouped by provider and by reason. Each row reads
//! `reply => "category reason scope suppress|keep"`.

use rebound_classify::{Classifier, Reply, Scratch};

#[track_caller]
fn check(reply: &str, want: &str) {
    check_host(reply, None, want)
}

#[track_caller]
fn check_host(reply: &str, host: Option<&str>, want: &str) {
    let v = Classifier::builtin().classify(
        &Reply::parse(reply).with_host(host),
        &mut Scratch::default(),
    );
    let got = format!(
        "{} {} {} {}",
        v.category,
        v.reason,
        v.scope,
        if v.suppress { "suppress" } else { "keep" }
    );
    assert_eq!(
        got, want,
        "reply: {reply}\nrule: {} ({:?})",
        v.evidence.rule, v.evidence.conflicts
    );
}

mod precedence {
    use super::*;

    #[test]
    fn specific_text_beats_the_status_code() {
        check("550 5.1.1 Mailbox full", "soft mailbox_full recipient keep");
        check(
            "550 5.7.1 No such user",
            "hard invalid_recipient recipient suppress",
        );
        check(
            "554 5.2.2 Submission quota exceeded",
            "technical rate_limited sender keep",
        );
    }

    #[test]
    fn status_code_beats_generic_text() {
        check(
            "550 5.1.1 <jo@example.com>... rejected",
            "hard invalid_recipient recipient suppress",
        );
        check("550 5.2.2 denied", "soft mailbox_full recipient keep");
    }

    #[test]
    fn generic_text_beats_the_bare_reply_code() {
        check(
            "550 5.0.0 Message rejected",
            "soft policy_violation sender keep",
        );
        check("550 Blocked", "soft sender_reputation sender keep");
    }

    #[test]
    fn transient_replies_never_block() {
        check(
            "421 4.7.0 <jo@example.com>: user does not exist",
            "soft invalid_recipient recipient keep",
        );
        check(
            "450 4.1.1 <jo@example.com>: Recipient address rejected: User unknown in local recipient table",
            "soft invalid_recipient recipient keep",
        );
    }

    #[test]
    fn the_reply_code_before_the_status_wins_over_an_earlier_banner() {
        check(
            "220-laposte 421 4.2.1 Service refuse. Veuillez essayer plus tard. Service refused, please try later. LPN006_107",
            "soft sender_reputation sender keep",
        );
    }

    #[test]
    fn codes_alone_fall_back_by_table() {
        check("550", "soft general_error recipient keep");
        check("5.1.1", "hard invalid_recipient recipient suppress");
        check(
            "452 4.3.1 Insufficient system storage",
            "technical server_busy receiver keep",
        );
        check(
            "250 2.0.0 Ok: queued as 4F2C81A0",
            "other delivered recipient keep",
        );
    }

    #[test]
    fn nothing_usable_is_other() {
        check("", "other unknown recipient keep");
        check("hello world", "other unknown recipient keep");
        check("\u{fffd}\u{fffd}\u{0}\u{1}", "other unknown recipient keep");
    }
}

mod gmail {
    use super::*;

    #[test]
    fn gmail() {
        check(
            "550-5.1.1 The email account that you tried to reach does not exist. Please try 550-5.1.1 double-checking the recipient's email address for typos or 550-5.1.1 unnecessary spaces. Learn more at 550 5.1.1 https://support.google.com/mail/?p=NoSuchUser a1si2 - gsmtp",
            "hard invalid_recipient recipient suppress",
        );
        check(
            "552-5.2.2 The email account that you tried to reach is over quota. 552 5.2.2 https://support.google.com/mail/?p=OverQuotaPerm - gsmtp",
            "soft mailbox_full recipient keep",
        );
        check(
            "550-5.7.26 This mail is unauthenticated, which poses a security risk to the sender and Gmail users, and has been blocked. 550 5.7.26 - gsmtp",
            "soft auth_failure sender keep",
        );
        check(
            "550-5.7.1 [203.0.113.5] Our system has detected that this message is likely unsolicited mail. 550 5.7.1 - gsmtp",
            "soft spam_content sender keep",
        );
        check(
            "550-5.7.25 [203.0.113.5] The IP address sending this message does not have a PTR record setup, or the corresponding forward DNS entry does not point to the sending IP. - gsmtp",
            "soft reverse_dns_missing sender keep",
        );
        check(
            "421-4.7.28 [203.0.113.5] Our system has detected an unusual rate of unsolicited mail containing one of your URL domains. - gsmtp",
            "soft url_blocklisted sender keep",
        );
    }
}

mod microsoft {
    use super::*;

    #[test]
    fn microsoft() {
        check(
            "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup",
            "hard invalid_recipient recipient suppress",
        );
        check(
            "550 5.7.1 Unfortunately, messages from [203.0.113.5] weren't sent. Please contact your Internet service provider since part of their network is on our block list (S3150).",
            "soft sender_reputation sender keep",
        );
        check(
            "550 5.7.509 Access denied, sending domain example.com does not pass DMARC verification and has a DMARC policy of reject.",
            "soft auth_failure sender keep",
        );
        check(
            "451 4.7.650 The mail server [203.0.113.5] has been temporarily rate limited due to IP reputation.",
            "soft sender_reputation sender keep",
        );
    }
}

mod yahoo {
    use super::*;

    #[test]
    fn yahoo_and_aol() {
        check(
            "554 delivery error: dd This user doesn't have a yahoo.com account (jo@yahoo.com) [0] - mta1.mail.example.yahoo.com",
            "hard invalid_recipient recipient suppress",
        );
        check(
            "421 4.7.0 [TSS04] Messages from 203.0.113.5 temporarily deferred due to unexpected volume or user complaints - 4.16.55.1",
            "technical rate_limited sender keep",
        );
        check(
            "553 5.7.1 [BL21] Connections will not be accepted from 203.0.113.5, because the ip is in Spamhaus's list",
            "soft sender_reputation sender keep",
        );
    }
}

mod other_providers {
    use super::*;

    #[test]
    fn apple_comcast_gmx_orange_yandex_mailru() {
        check(
            "550 5.7.1 [CS01] Message rejected due to local policy. Please visit https://support.apple.com/en-us/HT204137",
            "soft sender_reputation sender keep",
        );
        check_host(
            "550 5.1.1 Not our Customer",
            Some("mx1.comcast.net"),
            "hard invalid_recipient recipient suppress",
        );
        check(
            "552 5.2.2 <jo@orange.fr>: Boite du destinataire pleine. Recipient overquota. OFR_417",
            "soft mailbox_full recipient keep",
        );
        check(
            "550 5.7.1 Message rejected under suspicion of SPAM; https://ya.cc/1IrBc 1a2b3c",
            "soft spam_content sender keep",
        );
        check(
            "550 Message was not accepted -- invalid mailbox.  Local mailbox jo@mail.ru is unavailable: account is disabled",
            "soft account_inactive recipient keep",
        );
    }
}

mod filters_and_blocklists {
    use super::*;

    #[test]
    fn blocklists_are_the_senders_problem() {
        check(
            "554 5.7.1 Service unavailable; Client host [203.0.113.5] blocked using zen.spamhaus.org; https://www.spamhaus.org/query/ip/203.0.113.5",
            "soft sender_reputation sender keep",
        );
        check(
            "554 5.7.1 Blocked - see https://ipcheck.proofpoint.com/?ip=203.0.113.5",
            "soft sender_reputation sender keep",
        );
        check(
            "550 permanent failure for one or more recipients (jo@example.com:blocked)",
            "soft spam_content sender keep",
        );
    }

    #[test]
    fn a_blocklisted_link_never_blocks_the_recipient() {
        check(
            "554 5.7.1 Message rejected because it contains a URL listed in multi.uribl.com",
            "soft url_blocklisted sender keep",
        );
        check(
            "550 5.7.1 Rejected: message contains a blacklisted URL (clicks.example-tracking.com)",
            "soft url_blocklisted sender keep",
        );
    }
}

mod mtas {
    use super::*;

    #[test]
    fn postfix_exim_sendmail_qmail() {
        check(
            "550 5.1.1 <jo@example.com>: Recipient address rejected: User unknown in virtual mailbox table",
            "hard invalid_recipient recipient suppress",
        );
        check(
            "450 4.2.0 <jo@example.com>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/example.com.html",
            "technical greylisted receiver keep",
        );
        check(
            "554 5.7.1 <jo@example.com>: Relay access denied",
            "soft relay_denied domain keep",
        );
        check(
            "450 4.7.1 Client host rejected: cannot find your hostname, [203.0.113.5]",
            "soft reverse_dns_missing sender keep",
        );
        check(
            "Host or domain name not found. Name service error for name=example.invalid type=A: Host not found",
            "hard bad_domain domain suppress",
        );
        check(
            "Sorry, no mailbox here by that name. (#5.1.1)",
            "hard invalid_recipient recipient suppress",
        );
        check("retry timeout exceeded", "technical expired receiver keep");
        check(
            "552 5.3.4 Message size exceeds fixed limit",
            "soft message_too_large sender keep",
        );
    }

    #[test]
    fn bare_recipient_refusal_and_named_domains() {
        // A refusal of the address with no reason after it is the address's.
        check(
            "550 <jo@example.com>: Recipient address rejected.",
            "hard invalid_recipient recipient suppress",
        );
        // With a reason, the reason decides.
        check(
            "554 5.7.1 <jo@example.com>: Recipient address rejected: Access denied",
            "soft filtered recipient keep",
        );
        // A host named as not existing is the domain; an address is the user.
        check(
            "553 mx.examplle.com does not exist",
            "hard bad_domain domain suppress",
        );
        check(
            "550 jo@example.com does not exist",
            "soft general_error recipient keep",
        );
    }

    #[test]
    fn an_authoritative_nxdomain_outweighs_later_transient_troubles() {
        check(
            "554 <jo@examplle.org>... 550 Host unknown (Authoritative answer from name server) Deferred: Connection reset by peer during greeting wait with smtp.example.org",
            "hard bad_domain domain suppress",
        );
        // Without the authoritative answer the connection trouble stays technical.
        check(
            "Deferred: Connection reset by mx.example.org.",
            "technical network_error receiver keep",
        );
    }

    #[test]
    fn receiving_system_faults_and_carrier_filters() {
        check(
            "Unable to contact LDAP server. (#4.4.3)",
            "technical receiver_error receiver keep",
        );
        check(
            "Each of the following recipients was rejected by a remote mail server.",
            "soft filtered recipient keep",
        );
    }

    #[test]
    fn a_permanent_malformed_mx_answer_is_a_null_mx() {
        check(
            "550 5.4.4 Name service error for name=example.org type=MX: Malformed or unexpected name server reply",
            "hard domain_not_accepting domain suppress",
        );
        // The same words in a transient failure are a passing DNS fault.
        check(
            "Name service error for name=example.org type=MX: Malformed or unexpected name server reply",
            "technical network_error receiver keep",
        );
    }
}

mod languages {
    use super::*;

    #[test]
    fn non_english_replies() {
        check(
            "550 5.1.1 Adresse inconnue / destinataire inconnu",
            "hard invalid_recipient recipient suppress",
        );
        check(
            "550 5.1.1 Benutzer unbekannt",
            "hard invalid_recipient recipient suppress",
        );
        check(
            "552 5.2.2 Postfach voll",
            "soft mailbox_full recipient keep",
        );
        check(
            "550 5.1.1 Usuario desconocido",
            "hard invalid_recipient recipient suppress",
        );
        check(
            "550 5.1.1 Пользователь не найден",
            "hard invalid_recipient recipient suppress",
        );
        check(
            "<jo@example.ne.jp> のユーザーは登録されていません",
            "hard invalid_recipient recipient suppress",
        );
    }
}

mod by_reason {
    use super::*;

    #[test]
    fn recipient_and_domain_reasons() {
        check(
            "550 5.1.3 Bad recipient address syntax",
            "hard address_error recipient suppress",
        );
        check(
            "551 5.1.6 User has moved; please try <jo@new.example>",
            "hard has_moved recipient suppress",
        );
        check(
            "556 5.1.10 Recipient address has null MX",
            "hard domain_not_accepting domain suppress",
        );
        check(
            "550 5.2.1 Mailbox disabled, not accepting messages",
            "soft account_inactive recipient keep",
        );
    }

    #[test]
    fn sender_reasons() {
        check(
            "554 5.7.1 Virus found in message",
            "soft virus_detected sender keep",
        );
        check(
            "530 5.7.0 Must issue a STARTTLS command first",
            "soft tls_required sender keep",
        );
        check(
            "550 5.7.23 The message was rejected because of Sender Policy Framework violation",
            "soft auth_failure sender keep",
        );
        check(
            "553 5.1.8 <news@example.com>... Domain of sender address news@example.com does not exist",
            "soft sender_rejected sender keep",
        );
        check(
            "550 5.6.0 Message rejected: headers are not RFC compliant",
            "soft data_format_error sender keep",
        );
        check(
            "421 4.7.0 Too many messages, slow down",
            "technical rate_limited sender keep",
        );
    }

    #[test]
    fn receiver_reasons() {
        check(
            "421 4.3.2 Service not available, closing transmission channel",
            "technical server_busy receiver keep",
        );
        check(
            "connect to mx.example.com[192.0.2.1]:25: Connection refused",
            "technical network_error receiver keep",
        );
        check(
            "451 4.3.0 Temporary local problem - please try later",
            "technical receiver_error receiver keep",
        );
    }
}

/// Rules whose Sisimai name differs from their reason's default: the verdict stays
/// Rebound's, only the Sisimai name follows Sisimai's provider table.
mod sisimai_names {
    use super::*;

    #[track_caller]
    fn sisimai(reply: &str, host: Option<&str>) -> &'static str {
        Classifier::builtin()
            .classify(
                &Reply::parse(reply).with_host(host),
                &mut Scratch::default(),
            )
            .sisimai_reason
    }

    #[test]
    fn orange_code_505_is_sisimais_system_error_and_our_reputation_refusal() {
        let r = "421 4.2.0 Service refuse. Veuillez essayer plus tard. Service refused, please try later. OFR005_505 [505]";
        check_host(
            r,
            Some("smtp-in.orange.fr"),
            "soft sender_reputation sender keep",
        );
        assert_eq!(sisimai(r, Some("smtp-in.orange.fr")), "systemerror");
        // Another Orange code keeps the reputation refusal's Sisimai name.
        let r = "421 mwinf5c40 ME Service refuse. Veuillez essayer plus tard. Service refused, please try later. OFR_999 [999]";
        assert_eq!(sisimai(r, Some("smtp-in.orange.fr")), "blocked");
    }
}
