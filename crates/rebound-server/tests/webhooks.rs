//! Provider webhooks over a real socket: signed as each provider signs, stored
//! once however often retried, refused when unsigned, forged or misaddressed.

mod common;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::{Server, answer, code};
use rebound_server::config::WebhookConfig;
use rebound_server::webhooks::Fetcher;
use serde_json::{Value, json};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

const CERT: &[u8] = include_bytes!("../../rebound-webhooks/tests/data/sns-test-cert.pem");
const KEY: &[u8] = include_bytes!("../../rebound-webhooks/tests/data/sns-test-key.pk8");
const CERT_URL: &str = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-test.pem";
const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:ses-bounces";
const TWILIO_URL: &str = "https://rebound.example.com/v1/webhooks/twilio?tenant=acme";
const REPLY: &str = "550 5.1.1 <jo@example.com>: Recipient address rejected: User unknown";

/// Serves the test certificate and records every URL fetched: no network.
#[derive(Default)]
struct FakeSns {
    fetched: Mutex<Vec<String>>,
}

impl Fetcher for FakeSns {
    fn fetch<'a>(
        &'a self,
        url: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<u8>, String>> + Send + 'a>> {
        self.fetched.lock().unwrap().push(url.to_string());
        Box::pin(async move {
            if url == CERT_URL {
                Ok(CERT.to_vec())
            } else if url.contains("Action=ConfirmSubscription") {
                Ok(b"<ConfirmSubscriptionResponse/>".to_vec())
            } else {
                Err(format!("{url}: 404"))
            }
        })
    }
}

fn sendgrid_pair() -> (ring::signature::EcdsaKeyPair, String) {
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

async fn start(fake: Arc<FakeSns>, sendgrid_public: String) -> Server {
    let hooks = vec![
        WebhookConfig {
            tenant: "acme".into(),
            provider: "ses".into(),
            topic_arns: vec![TOPIC.into()],
            ..Default::default()
        },
        WebhookConfig {
            tenant: "acme".into(),
            provider: "sendgrid".into(),
            public_key: Some(sendgrid_public),
            ..Default::default()
        },
        WebhookConfig {
            tenant: "acme".into(),
            provider: "mailgun".into(),
            signing_key: Some("mg-key".into()),
            ..Default::default()
        },
        WebhookConfig {
            tenant: "acme".into(),
            provider: "postmark".into(),
            username: Some("pm".into()),
            password: Some("pw".into()),
            ..Default::default()
        },
        WebhookConfig {
            tenant: "acme".into(),
            provider: "sparkpost".into(),
            username: Some("sp".into()),
            password: Some("pw".into()),
            ..Default::default()
        },
        WebhookConfig {
            tenant: "acme".into(),
            provider: "twilio".into(),
            signing_key: Some("tw-token".into()),
            url: Some(TWILIO_URL.into()),
            ..Default::default()
        },
    ];
    Server::start_custom(move |c| c.webhooks = hooks, fake).await
}

fn sns_signed(mut env: Value) -> Vec<u8> {
    env["SignatureVersion"] = json!("2");
    env["SigningCertURL"] = json!(CERT_URL);
    env["Signature"] = json!("");
    let parsed = rebound_webhooks::sns::parse(env.to_string().as_bytes()).unwrap();
    let text = rebound_webhooks::sns::string_to_sign(&parsed).unwrap();
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

async fn post(s: &Server, path: &str, headers: &[(&str, String)], body: Vec<u8>) -> (u16, Value) {
    let mut r = s.client.post(s.url(path)).body(body);
    for (k, v) in headers {
        r = r.header(*k, v);
    }
    answer(r.send().await.unwrap()).await
}

async fn card(s: &Server, address: &str, channel: &str) -> Value {
    s.get(
        &format!("/v1/addresses/{address}?channel={channel}"),
        &s.acme,
    )
    .await
    .1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ses_through_sns_confirms_verifies_and_stores_once() {
    let fake = Arc::new(FakeSns::default());
    let s = start(fake.clone(), sendgrid_pair().1).await;
    let path = "/v1/webhooks/ses?tenant=acme";
    let confirm = sns_signed(
        json!({"Type": "SubscriptionConfirmation", "MessageId": "m-0", "Token": "tok", "TopicArn": TOPIC,
        "Message": "You have chosen to subscribe", "SubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=x&Token=tok",
        "Timestamp": "2026-11-22T09:00:00.000Z"}),
    );
    let (st, v) = post(&s, path, &[], confirm).await;
    assert_eq!((st, v["confirmed"].as_bool()), (200, Some(true)), "{v}");
    assert!(
        fake.fetched
            .lock()
            .unwrap()
            .iter()
            .any(|u| u.contains("ConfirmSubscription"))
    );
    let message = json!({"notificationType": "Bounce", "bounce": {"bounceType": "Permanent", "bounceSubType": "General",
        "bouncedRecipients": [{"emailAddress": "jo@example.com", "status": "5.1.1", "diagnosticCode": format!("smtp; {REPLY}")}],
        "timestamp": "2026-11-22T10:00:00.000Z", "feedbackId": "fb-1"}, "mail": {"messageId": "x"}})
    .to_string();
    let note = sns_signed(
        json!({"Type": "Notification", "MessageId": "m-1", "TopicArn": TOPIC, "Message": message, "Timestamp": "2026-11-22T10:00:01.000Z"}),
    );
    let (st, v) = post(&s, path, &[], note.clone()).await;
    assert_eq!((st, v["accepted"].as_u64()), (200, Some(1)), "{v}");
    // SNS retries until it hears 2xx: the retry is a duplicate.
    let (st, v) = post(&s, path, &[], note.clone()).await;
    assert_eq!((st, v["duplicates"].as_u64()), (200, Some(1)), "{v}");
    let c = card(&s, "jo@example.com", "email").await;
    assert_eq!(c["status"], "blocked");
    assert_eq!(c["history"].as_array().unwrap().len(), 1);
    assert_eq!(c["history"][0]["reason"], "invalid_recipient");
    assert_eq!(c["history"][0]["detail"]["source"], "ses");
    // The certificate was fetched once, then cached.
    assert_eq!(
        fake.fetched
            .lock()
            .unwrap()
            .iter()
            .filter(|u| *u == CERT_URL)
            .count(),
        1
    );
    // Forged, misaddressed and unconfigured requests.
    let mut forged: Value = serde_json::from_slice(&note).unwrap();
    forged["Message"] = json!(message.replace("jo@", "al@"));
    let (st, v) = post(&s, path, &[], forged.to_string().into_bytes()).await;
    assert_eq!((st, code(&v)), (401, "bad_signature"));
    let mut elsewhere: Value = serde_json::from_slice(&note).unwrap();
    elsewhere["SigningCertURL"] = json!("https://attacker.example/cert.pem");
    let (st, v) = post(&s, path, &[], elsewhere.to_string().into_bytes()).await;
    assert_eq!((st, code(&v)), (401, "bad_signature"));
    let other_topic = sns_signed(
        json!({"Type": "Notification", "MessageId": "m-2", "TopicArn": "arn:aws:sns:us-east-1:666:evil", "Message": message, "Timestamp": "2026-11-22T10:00:01.000Z"}),
    );
    let (st, v) = post(&s, path, &[], other_topic).await;
    assert_eq!((st, code(&v)), (401, "bad_signature"));
    assert!(
        !fake
            .fetched
            .lock()
            .unwrap()
            .iter()
            .any(|u| u.contains("attacker")),
        "never fetched"
    );
    let (st, v) = post(&s, "/v1/webhooks/ses?tenant=beta", &[], note.clone()).await;
    assert_eq!((st, code(&v)), (404, "webhook_not_configured"));
    let (st, v) = post(&s, "/v1/webhooks/ses", &[], note.clone()).await;
    assert_eq!((st, code(&v)), (422, "invalid_request"));
    let (st, v) = post(&s, "/v1/webhooks/carrier-pigeon?tenant=acme", &[], note).await;
    assert_eq!((st, code(&v)), (404, "not_found"));
    for junk in [
        &b"{"[..],
        b"[]",
        b"\x00\xff",
        b"{\"Type\":\"Notification\"}",
    ] {
        let (st, v) = post(&s, path, &[], junk.to_vec()).await;
        assert_eq!((st, code(&v)), (400, "malformed_payload"), "{v}");
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sendgrid_mailgun_postmark_sparkpost_twilio_and_generic() {
    let (pair, public) = sendgrid_pair();
    let s = start(Arc::new(FakeSns::default()), public).await;
    // SendGrid: a batch, signed over timestamp + body.
    let body = json!([
        {"email": "sg@example.com", "timestamp": 1795341600, "event": "bounce", "sg_event_id": "e1", "reason": REPLY.replace("jo@", "sg@"), "status": "5.1.1", "type": "bounce"},
        {"email": "sg2@example.com", "timestamp": 1795341600, "event": "click", "sg_event_id": "e2"}
    ])
    .to_string()
    .into_bytes();
    let mut signed = b"1795341700".to_vec();
    signed.extend_from_slice(&body);
    let sig = STANDARD.encode(
        pair.sign(&ring::rand::SystemRandom::new(), &signed)
            .unwrap()
            .as_ref(),
    );
    let h = [
        ("x-twilio-email-event-webhook-signature", sig),
        (
            "x-twilio-email-event-webhook-timestamp",
            "1795341700".to_string(),
        ),
    ];
    let (st, v) = post(&s, "/v1/webhooks/sendgrid?tenant=acme", &h, body.clone()).await;
    assert_eq!(
        (st, v["accepted"].as_u64(), v["ignored"].as_u64()),
        (200, Some(1), Some(1)),
        "{v}"
    );
    let (_, v) = post(&s, "/v1/webhooks/sendgrid?tenant=acme", &h, body.clone()).await;
    assert_eq!(v["duplicates"], 1);
    let (st, v) = post(&s, "/v1/webhooks/sendgrid?tenant=acme", &[], body).await;
    assert_eq!((st, code(&v)), (401, "bad_signature"));
    assert_eq!(
        card(&s, "sg@example.com", "email").await["status"],
        "blocked"
    );

    // Mailgun: HMAC of timestamp + token.
    let k = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, b"mg-key");
    let mg_sig: String = ring::hmac::sign(&k, b"1795341700tok123")
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let mg = json!({"signature": {"timestamp": "1795341700", "token": "tok123", "signature": mg_sig},
        "event-data": {"event": "complained", "recipient": "mg@example.com", "timestamp": 1795341600.1, "id": "mg-1"}});
    let (st, v) = post(
        &s,
        "/v1/webhooks/mailgun?tenant=acme",
        &[],
        mg.to_string().into_bytes(),
    )
    .await;
    assert_eq!((st, v["accepted"].as_u64()), (200, Some(1)), "{v}");
    let mut bad = mg.clone();
    bad["signature"]["signature"] = json!("00");
    let (st, _) = post(
        &s,
        "/v1/webhooks/mailgun?tenant=acme",
        &[],
        bad.to_string().into_bytes(),
    )
    .await;
    assert_eq!(st, 401);
    assert_eq!(
        card(&s, "mg@example.com", "email").await["status"],
        "complained"
    );

    // Postmark and SparkPost: basic auth.
    let pm = json!({"RecordType": "Bounce", "ID": 42, "Type": "HardBounce", "Email": "pm@example.com", "BouncedAt": "2026-11-22T10:00:00Z", "Details": REPLY.replace("jo@", "pm@")});
    let auth = |u: &str, p: &str| {
        vec![(
            "authorization",
            format!("Basic {}", STANDARD.encode(format!("{u}:{p}"))),
        )]
    };
    let (st, v) = post(
        &s,
        "/v1/webhooks/postmark?tenant=acme",
        &auth("pm", "pw"),
        pm.to_string().into_bytes(),
    )
    .await;
    assert_eq!((st, v["accepted"].as_u64()), (200, Some(1)), "{v}");
    let (st, _) = post(
        &s,
        "/v1/webhooks/postmark?tenant=acme",
        &auth("pm", "no"),
        pm.to_string().into_bytes(),
    )
    .await;
    assert_eq!(st, 401);
    let sp = json!([{"msys": {"message_event": {"type": "bounce", "rcpt_to": "sp@example.com", "raw_reason": "550 5.1.1 user unknown", "bounce_class": "10", "timestamp": "1795341600", "event_id": "sp-1"}}}]);
    let (st, v) = post(
        &s,
        "/v1/webhooks/sparkpost?tenant=acme",
        &auth("sp", "pw"),
        sp.to_string().into_bytes(),
    )
    .await;
    assert_eq!((st, v["accepted"].as_u64()), (200, Some(1)), "{v}");
    assert_eq!(
        card(&s, "pm@example.com", "email").await["status"],
        "blocked"
    );
    assert_eq!(
        card(&s, "sp@example.com", "email").await["status"],
        "blocked"
    );

    // Twilio: a failed SMS (30005: unknown number) and an inbound STOP.
    let tw = |pairs: &[(&str, &str)]| {
        let owned: Vec<(String, String)> = pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        let sig = rebound_webhooks::twilio::signature("tw-token", TWILIO_URL, &owned);
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        (
            body.into_bytes(),
            vec![
                ("x-twilio-signature", sig),
                (
                    "content-type",
                    "application/x-www-form-urlencoded".to_string(),
                ),
            ],
        )
    };
    let (body, h) = tw(&[
        ("MessageSid", "SM1"),
        ("MessageStatus", "undelivered"),
        ("ErrorCode", "30005"),
        ("To", "+447700900123"),
    ]);
    let r = s
        .client
        .post(s.url("/v1/webhooks/twilio?tenant=acme"))
        .body(body.clone());
    let r = h
        .iter()
        .fold(r, |r, (k, v)| r.header(*k, v))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.text().await.unwrap().contains("<Response/>"));
    let (body2, h2) = tw(&[
        ("MessageSid", "SM2"),
        ("Body", "STOP"),
        ("From", "+447700900124"),
    ]);
    let r = s
        .client
        .post(s.url("/v1/webhooks/twilio?tenant=acme"))
        .body(body2);
    assert_eq!(
        h2.iter()
            .fold(r, |r, (k, v)| r.header(*k, v))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );
    assert_eq!(card(&s, "+447700900123", "sms").await["status"], "blocked");
    assert_eq!(
        card(&s, "+447700900124", "sms").await["status"],
        "opted_out"
    );
    let r = s
        .client
        .post(s.url("/v1/webhooks/twilio?tenant=acme"))
        .body(body)
        .header("x-twilio-signature", "AAAA");
    let (st, v) = answer(r.send().await.unwrap()).await;
    assert_eq!((st, code(&v)), (401, "bad_signature"));

    // Generic: the /v1/events body with a bearer key.
    let ev = json!({"channel": "email", "recipient": "gen@example.com", "event": "unsubscribe", "at": "2026-11-22T10:00:00Z"});
    let (st, v) = post(
        &s,
        "/v1/webhooks/generic",
        &[("authorization", format!("Bearer {}", s.acme))],
        ev.to_string().into_bytes(),
    )
    .await;
    assert_eq!((st, v["accepted"].as_u64()), (200, Some(1)), "{v}");
    let (st, v) = post(&s, "/v1/webhooks/generic", &[], ev.to_string().into_bytes()).await;
    assert_eq!((st, code(&v)), (401, "unauthorized"));
    assert_eq!(
        card(&s, "gen@example.com", "email").await["status"],
        "opted_out"
    );
    // Hostile bodies never get a 5xx.
    for p in ["sendgrid", "mailgun", "postmark", "sparkpost", "twilio"] {
        for junk in [&b""[..], b"{", b"\xff\xfe\x00", &[b'['; 10_000]] {
            let hs = if p == "postmark" {
                auth("pm", "pw")
            } else if p == "sparkpost" {
                auth("sp", "pw")
            } else {
                vec![]
            };
            let mut r = s
                .client
                .post(s.url(&format!("/v1/webhooks/{p}?tenant=acme")))
                .body(junk.to_vec());
            for (k, v) in &hs {
                r = r.header(*k, v);
            }
            let st = r.send().await.unwrap().status().as_u16();
            assert!((400..500).contains(&st), "{p}: {st}");
        }
    }
    s.stop().await;
}
