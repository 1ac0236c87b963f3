//! Each provider's documented payload, signed as the provider signs it, in; reports
//! out. Tampered, unsigned and wrongly signed requests are refused.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rebound_classify::Scratch;
use rebound_pipeline::{Fact, to_record};
use rebound_store::Tenant;
use rebound_webhooks::*;
use serde_json::{Value, json};

const CERT: &[u8] = include_bytes!("data/sns-test-cert.pem");
const OTHER_CERT: &[u8] = include_bytes!("data/other-cert.pem");
const KEY: &[u8] = include_bytes!("data/sns-test-key.pk8");
const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:ses-bounces";
const REPLY: &str =
    "550 5.1.1 <jo@example.com>: Recipient address rejected: User unknown in virtual mailbox table";

fn req<'a>(headers: &'a [(String, String)], body: &'a [u8]) -> Request<'a> {
    Request {
        headers,
        body,
        now: 1_800_000_000,
    }
}

/// Signs an SNS envelope with the test key, as SNS does.
fn sns_signed(mut env: Value, version: &str) -> Vec<u8> {
    env["SignatureVersion"] = json!(version);
    env["SigningCertURL"] =
        json!("https://sns.us-east-1.amazonaws.com/SimpleNotificationService-test.pem");
    env["Signature"] = json!("");
    let parsed = sns::parse(env.to_string().as_bytes()).unwrap();
    let text = sns::string_to_sign(&parsed).unwrap();
    assert_eq!(
        version, "2",
        "ring signs no SHA-1: version 1 is a signed fixture"
    );
    let key = ring::signature::RsaKeyPair::from_pkcs8(KEY).unwrap();
    let mut sig = vec![0; key.public().modulus_len()];
    key.sign(
        &ring::signature::RSA_PKCS1_SHA256,
        &ring::rand::SystemRandom::new(),
        text.as_bytes(),
        &mut sig,
    )
    .unwrap();
    env["Signature"] = json!(STANDARD.encode(sig));
    env.to_string().into_bytes()
}

fn ses_bounce_message() -> String {
    json!({
        "notificationType": "Bounce",
        "bounce": {
            "bounceType": "Permanent", "bounceSubType": "General",
            "bouncedRecipients": [{"emailAddress": "jo@example.com", "action": "failed", "status": "5.1.1", "diagnosticCode": format!("smtp; {REPLY}")}],
            "timestamp": "2026-11-22T10:00:00.237Z", "feedbackId": "0100abc-feedback"
        },
        "mail": {"timestamp": "2026-11-22T09:59:59.000Z", "source": "news@sender.example", "messageId": "0100msg", "destination": ["jo@example.com"], "tags": {"campaign": ["spring"]}}
    })
    .to_string()
}

fn settings_sns() -> Settings {
    Settings {
        topic_arns: vec![TOPIC.into()],
        ..Settings::default()
    }
}

#[test]
fn sns_signatures_verify_with_the_certificate_for_both_versions() {
    let v2 = sns_signed(
        json!({"Type": "Notification", "MessageId": "m-1", "TopicArn": TOPIC, "Subject": "Amazon SES Email Event Notification", "Message": ses_bounce_message(), "Timestamp": "2026-11-22T10:00:01.000Z"}),
        "2",
    );
    let v1 = include_bytes!("data/sns-v1-notification.json").to_vec();
    for (version, body) in [("1", v1), ("2", v2)] {
        let env = sns::parse(&body).unwrap();
        sns::precheck(&env, &settings_sns()).unwrap();
        sns::verify(&env, CERT).unwrap_or_else(|e| panic!("version {version}: {e}"));
        assert!(
            sns::verify(&env, OTHER_CERT).is_err(),
            "another certificate"
        );
        let mut tampered: Value = serde_json::from_slice(&body).unwrap();
        tampered["Message"] = json!(tampered["Message"].as_str().unwrap().replace("jo@", "al@"));
        let t = sns::parse(tampered.to_string().as_bytes()).unwrap();
        assert!(matches!(
            sns::verify(&t, CERT),
            Err(WebhookError::Unauthorized(_))
        ));
        let parsed = sns::notification(&env, 0).unwrap();
        assert_eq!(parsed.items.len(), 1);
        let item = &parsed.items[0];
        assert_eq!(item.report.recipient, "jo@example.com");
        assert_eq!(item.report.campaign.as_deref(), Some("spring"));
        assert_eq!(item.report.at, 1_795_341_600);
        let r = to_record(
            &Tenant::new("t"),
            item.report.clone(),
            &mut Scratch::default(),
        )
        .unwrap();
        assert_eq!(r.reason.map(|r| r.as_str()), Some("invalid_recipient"));
    }
}

#[test]
fn sns_subscription_confirmations_and_hostile_urls() {
    let body = sns_signed(
        json!({"Type": "SubscriptionConfirmation", "MessageId": "m-2", "Token": "tok", "TopicArn": TOPIC, "Message": "You have chosen to subscribe", "SubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&Token=tok", "Timestamp": "2026-11-22T10:00:01.000Z"}),
        "2",
    );
    let env = sns::parse(&body).unwrap();
    sns::precheck(&env, &settings_sns()).unwrap();
    sns::verify(&env, CERT).unwrap();
    // Not this tenant's topic, or no topics configured.
    let other = Settings {
        topic_arns: vec!["arn:aws:sns:us-east-1:999:x".into()],
        ..Settings::default()
    };
    assert!(matches!(
        sns::precheck(&env, &other),
        Err(WebhookError::Unauthorized(_))
    ));
    assert!(matches!(
        sns::precheck(&env, &Settings::default()),
        Err(WebhookError::NotConfigured(_))
    ));
    for url in [
        "http://sns.us-east-1.amazonaws.com/cert.pem",
        "https://sns.evil.example/cert.pem",
        "https://sns.us-east-1.amazonaws.com.evil.example/cert.pem",
        "https://evil.example@sns.us-east-1.amazonaws.com/cert.pem",
        "https://sns.us-east-1.amazonaws.com:8443/cert.pem",
        "https://sqs.us-east-1.amazonaws.com/cert.pem",
        "https://sns..amazonaws.com/cert.pem",
    ] {
        assert!(sns::check_sns_url(url, "SigningCertURL").is_err(), "{url}");
    }
    sns::check_sns_url("https://sns.cn-north-1.amazonaws.com.cn/c.pem", "x").unwrap();
    assert!(sns::parse(b"{\"Type\": 3}").is_err());
    assert!(sns::parse(b"\xff\xfe").is_err());
}

fn sendgrid_key() -> (ring::signature::EcdsaKeyPair, String) {
    use ring::signature::KeyPair;
    let rng = ring::rand::SystemRandom::new();
    let alg = &ring::signature::ECDSA_P256_SHA256_ASN1_SIGNING;
    let pkcs8 = ring::signature::EcdsaKeyPair::generate_pkcs8(alg, &rng).unwrap();
    let pair = ring::signature::EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref(), &rng).unwrap();
    let mut spki = vec![
        0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08,
        0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
    ];
    spki.extend_from_slice(pair.public_key().as_ref());
    (pair, STANDARD.encode(spki))
}

fn sendgrid_sign(
    pair: &ring::signature::EcdsaKeyPair,
    ts: &str,
    body: &[u8],
) -> Vec<(String, String)> {
    let mut msg = ts.as_bytes().to_vec();
    msg.extend_from_slice(body);
    let sig = pair.sign(&ring::rand::SystemRandom::new(), &msg).unwrap();
    vec![
        (
            "x-twilio-email-event-webhook-signature".into(),
            STANDARD.encode(sig.as_ref()),
        ),
        ("x-twilio-email-event-webhook-timestamp".into(), ts.into()),
    ]
}

#[test]
fn sendgrid_signed_event_webhook() {
    let (pair, public) = sendgrid_key();
    let s = Settings {
        public_key: Some(public),
        ..Settings::default()
    };
    let body = json!([
        {"email": "jo@example.com", "timestamp": 1795341600, "event": "bounce", "sg_event_id": "e1", "reason": REPLY, "status": "5.1.1", "type": "bounce", "bounce_classification": "Invalid Address", "campaign": "spring"},
        {"email": "ann@example.com", "timestamp": 1795341601, "event": "delivered", "sg_event_id": "e2", "response": "250 OK"},
        {"email": "bo@example.com", "timestamp": 1795341602, "event": "spamreport", "sg_event_id": "e3"},
        {"email": "cy@example.com", "timestamp": 1795341603, "event": "open", "sg_event_id": "e4"},
        {"email": "di@example.com", "timestamp": 1795341604, "event": "group_unsubscribe", "sg_event_id": "e5"}
    ])
    .to_string()
    .into_bytes();
    let h = sendgrid_sign(&pair, "1795341700", &body);
    let p = sendgrid::parse(&req(&h, &body), &s).unwrap();
    assert_eq!((p.items.len(), p.ignored), (4, 1));
    assert_eq!(p.items[0].id.as_deref(), Some("sendgrid:e1"));
    assert_eq!(p.items[0].report.campaign.as_deref(), Some("spring"));
    assert!(matches!(p.items[2].report.fact, Fact::Complaint));
    assert!(matches!(p.items[3].report.fact, Fact::Unsubscribe));
    let mut tampered = body.clone();
    let i = tampered.iter().position(|&b| b == b'j').unwrap();
    tampered[i] = b'J';
    assert!(matches!(
        sendgrid::parse(&req(&h, &tampered), &s),
        Err(WebhookError::Unauthorized(_))
    ));
    let other_ts = sendgrid_sign(&pair, "1795341700", &body);
    let mut wrong_ts = other_ts.clone();
    wrong_ts[1].1 = "1795341701".into();
    assert!(sendgrid::parse(&req(&wrong_ts, &body), &s).is_err());
    assert!(matches!(
        sendgrid::parse(&req(&[], &body), &s),
        Err(WebhookError::Unauthorized(_))
    ));
    assert!(matches!(
        sendgrid::parse(&req(&h, &body), &Settings::default()),
        Err(WebhookError::NotConfigured(_))
    ));
    let junk = b"[{\"email\": 5}]".to_vec();
    let hj = sendgrid_sign(&pair, "1", &junk);
    assert!(matches!(
        sendgrid::parse(&req(&hj, &junk), &s),
        Err(WebhookError::Malformed(_))
    ));
}

fn mailgun_body(key: &str, event: Value) -> Vec<u8> {
    let (ts, token) = (
        "1795341700",
        "b6fd2a9c7cbe4bd1a0a1a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4",
    );
    let k = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key.as_bytes());
    let sig: String = ring::hmac::sign(&k, format!("{ts}{token}").as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    json!({"signature": {"timestamp": ts, "token": token, "signature": sig}, "event-data": event})
        .to_string()
        .into_bytes()
}

#[test]
fn mailgun_hmac_signed_events() {
    let s = Settings {
        signing_key: Some("key-mailgun".into()),
        ..Settings::default()
    };
    let failed = json!({"event": "failed", "severity": "permanent", "recipient": "jo@example.com", "timestamp": 1795341600.52, "id": "mg-1",
        "delivery-status": {"code": 550, "message": "5.1.1 <jo@example.com>: Recipient address rejected: User unknown in virtual mailbox table", "mx-host": "mx.example.com"},
        "user-variables": {"campaign": "spring"}});
    let body = mailgun_body("key-mailgun", failed.clone());
    let p = mailgun::parse(&req(&[], &body), &s).unwrap();
    assert_eq!(p.items.len(), 1);
    assert_eq!(p.items[0].report.at, 1_795_341_600);
    assert_eq!(p.items[0].report.campaign.as_deref(), Some("spring"));
    let forged = mailgun_body("another-key", failed);
    assert!(matches!(
        mailgun::parse(&req(&[], &forged), &s),
        Err(WebhookError::Unauthorized(_))
    ));
    let temporary = mailgun_body(
        "key-mailgun",
        json!({"event": "failed", "severity": "temporary", "recipient": "jo@example.com", "id": "mg-2"}),
    );
    let p = mailgun::parse(&req(&[], &temporary), &s).unwrap();
    assert_eq!((p.items.len(), p.ignored), (0, 1));
    assert!(mailgun::parse(&req(&[], b"{}"), &s).is_err());
}

fn basic(user: &str, pass: &str) -> Vec<(String, String)> {
    vec![(
        "authorization".into(),
        format!("Basic {}", STANDARD.encode(format!("{user}:{pass}"))),
    )]
}

#[test]
fn postmark_and_sparkpost_need_their_basic_auth() {
    let s = Settings {
        username: Some("hook".into()),
        password: Some("s3cret".into()),
        ..Settings::default()
    };
    let bounce = json!({"RecordType": "Bounce", "ID": 4323372036854775807u64, "Type": "HardBounce", "TypeCode": 1, "Email": "jo@example.com", "BouncedAt": "2026-11-22T10:00:00.9070259Z", "Details": REPLY, "Tag": "spring"}).to_string();
    let p = postmark::parse(&req(&basic("hook", "s3cret"), bounce.as_bytes()), &s).unwrap();
    assert_eq!(p.items[0].report.at, 1_795_341_600);
    assert_eq!(
        p.items[0].id.as_deref(),
        Some("postmark:Bounce:4323372036854775807:jo@example.com")
    );
    assert!(matches!(
        postmark::parse(&req(&basic("hook", "nope"), bounce.as_bytes()), &s),
        Err(WebhookError::Unauthorized(_))
    ));
    assert!(matches!(
        postmark::parse(&req(&[], bounce.as_bytes()), &s),
        Err(WebhookError::Unauthorized(_))
    ));
    let complaint = json!({"RecordType": "SpamComplaint", "ID": 7, "Type": "SpamComplaint", "Email": "bo@example.com", "BouncedAt": "2026-11-22T10:00:00Z"}).to_string();
    let p = postmark::parse(&req(&basic("hook", "s3cret"), complaint.as_bytes()), &s).unwrap();
    assert!(matches!(p.items[0].report.fact, Fact::Complaint));
    let auto = json!({"RecordType": "Bounce", "ID": 8, "Type": "AutoResponder", "Email": "on@holiday.example", "BouncedAt": "2026-11-22T10:00:00Z"}).to_string();
    let p = postmark::parse(&req(&basic("hook", "s3cret"), auto.as_bytes()), &s).unwrap();
    assert!(matches!(p.items[0].report.fact, Fact::AutoReply));

    let batch = json!([
        {"msys": {}},
        {"msys": {"message_event": {"type": "bounce", "rcpt_to": "jo@example.com", "raw_reason": REPLY, "error_code": "550", "bounce_class": "10", "timestamp": "1795341600", "event_id": "sp-1", "campaign_id": "spring"}}},
        {"msys": {"message_event": {"type": "spam_complaint", "rcpt_to": "bo@example.com", "timestamp": "1795341601", "event_id": "sp-2", "fbtype": "abuse"}}},
        {"msys": {"track_event": {"type": "open", "rcpt_to": "cy@example.com", "event_id": "sp-3"}}},
        {"msys": {"unsubscribe_event": {"type": "link_unsubscribe", "rcpt_to": "di@example.com", "timestamp": "1795341602", "event_id": "sp-4"}}}
    ])
    .to_string();
    let p = sparkpost::parse(&req(&basic("hook", "s3cret"), batch.as_bytes()), &s).unwrap();
    assert_eq!((p.items.len(), p.ignored), (3, 1));
    assert_eq!(p.items[0].report.campaign.as_deref(), Some("spring"));
    assert!(sparkpost::parse(&req(&basic("x", "y"), batch.as_bytes()), &s).is_err());
    assert!(sparkpost::parse(&req(&basic("hook", "s3cret"), b"{\"msys\": 1}"), &s).is_err());
}

#[test]
fn twilio_status_callbacks_and_stop_replies() {
    let url = "https://rebound.example.com/v1/webhooks/twilio?tenant=acme";
    let s = Settings {
        signing_key: Some("auth-token".into()),
        url: Some(url.into()),
        ..Settings::default()
    };
    let form = |pairs: &[(&str, &str)]| -> (Vec<u8>, Vec<(String, String)>) {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        let owned: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let sig = twilio::signature("auth-token", url, &owned);
        (body.into_bytes(), vec![("x-twilio-signature".into(), sig)])
    };
    let (body, h) = form(&[
        ("MessageSid", "SM1"),
        ("MessageStatus", "undelivered"),
        ("ErrorCode", "30005"),
        ("To", "+447700900123"),
        ("From", "+15005550006"),
        ("AccountSid", "AC1"),
    ]);
    let p = twilio::parse(&req(&h, &body), &s).unwrap();
    assert_eq!(p.items[0].id.as_deref(), Some("twilio:SM1:undelivered"));
    let r = to_record(
        &Tenant::new("t"),
        p.items[0].report.clone(),
        &mut Scratch::default(),
    )
    .unwrap();
    assert_eq!(r.address, "+447700900123");
    assert!(
        matches!(
            r.event,
            rebound_policy::Event::Bounce {
                category: rebound_vocab::Category::Hard,
                ..
            }
        ),
        "{r:?}"
    );
    let (body, h) = form(&[
        ("MessageSid", "SM2"),
        ("Body", "Stop"),
        ("From", "+447700900124"),
        ("To", "+15005550006"),
    ]);
    let p = twilio::parse(&req(&h, &body), &s).unwrap();
    assert!(matches!(p.items[0].report.fact, Fact::StopWord));
    assert_eq!(p.items[0].report.recipient, "+447700900124");
    let (body, _) = form(&[
        ("MessageSid", "SM3"),
        ("MessageStatus", "delivered"),
        ("To", "+447700900123"),
    ]);
    let (_, other_h) = form(&[
        ("MessageSid", "SM3"),
        ("MessageStatus", "failed"),
        ("To", "+447700900123"),
    ]);
    assert!(matches!(
        twilio::parse(&req(&other_h, &body), &s),
        Err(WebhookError::Unauthorized(_))
    ));
    let (body, h) = form(&[
        ("MessageSid", "SM4"),
        ("MessageStatus", "sent"),
        ("To", "+447700900123"),
    ]);
    assert_eq!(twilio::parse(&req(&h, &body), &s).unwrap().ignored, 1);
    assert!(twilio::parse(&req(&h, b"\x00\x01"), &s).is_err());
}
