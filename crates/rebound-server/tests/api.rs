//! The HTTP API over a real loopback socket with a real client.

mod common;

use common::{Server, code, hard_bounce};
use rebound_store::Channel;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_are_durable_when_answered_and_end_on_the_contact_card() {
    let s = Server::start().await;
    let (status, v) = s
        .post(
            "/v1/events",
            &s.acme,
            json!([
                hard_bounce("Jo@Example.com", "2026-11-22T10:00:00Z"),
                {"channel": "email", "recipient": "ann@example.com", "event": "delivered", "at": "2026-11-22T10:00:01Z", "campaign": "c1"},
            ]),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["accepted"], 2);
    assert_eq!(v["rejected"], 0);
    // The answer came after the commit: a connection of our own sees the event now.
    let mut store = s.store();
    let h = store
        .history("acme", Channel::Email, "jo@example.com")
        .unwrap();
    assert_eq!(h.len(), 1);
    assert_eq!(
        h[0].record.reason.map(|r| r.as_str()),
        Some("invalid_recipient")
    );

    let (status, card) = s.get("/v1/addresses/jo@example.com", &s.acme).await;
    assert_eq!(status, 200, "{card}");
    assert_eq!(card["status"], "blocked");
    assert_eq!(card["history"][0]["event"], "bounce");
    assert_eq!(card["history"][0]["category"], "hard");
    assert_eq!(card["history"][0]["reason"], "invalid_recipient");
    assert_eq!(card["history"][0]["at"], "2026-11-22T10:00:00Z");
    // One object (not an array) is one event.
    let (status, v) = s
        .post(
            "/v1/events",
            &s.acme,
            json!({"channel": "email", "recipient": "bo@example.com", "event": "complaint", "at": "2026-11-22T10:00:02Z"}),
        )
        .await;
    assert_eq!((status, v["accepted"].as_u64()), (200, Some(1)), "{v}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_cannot_read_or_change_another_tenants_data() {
    let s = Server::start().await;
    let (st, _) = s
        .post(
            "/v1/events",
            &s.beta,
            json!([hard_bounce("shared@example.com", "2026-11-22T10:00:00Z")]),
        )
        .await;
    assert_eq!(st, 200);
    // acme sees nothing of beta's history for the same address.
    let (st, card) = s.get("/v1/addresses/shared@example.com", &s.acme).await;
    assert_eq!(st, 200);
    assert_eq!(card["status"], "active");
    assert_eq!(card["history"].as_array().unwrap().len(), 0);
    // Naming beta in an event with acme's key is refused, and nothing is stored.
    let mut e = hard_bounce("x@example.com", "2026-11-22T10:00:00Z");
    e["tenant"] = json!("beta");
    let (st, v) = s.post("/v1/events", &s.acme, json!([e])).await;
    assert_eq!((st, code(&v)), (403, "tenant_mismatch"), "{v}");
    let mut store = s.store();
    assert!(
        store
            .history("beta", Channel::Email, "x@example.com")
            .unwrap()
            .is_empty()
    );
    // acme's unblock touches acme's address only: beta's stays blocked.
    let (st, _) = s
        .post(
            "/v1/addresses/shared@example.com/unblock",
            &s.acme,
            json!({"by": "mallory"}),
        )
        .await;
    assert_eq!(st, 200);
    let (_, card) = s.get("/v1/addresses/shared@example.com", &s.beta).await;
    assert_eq!(card["status"], "blocked");
    assert_eq!(card["history"].as_array().unwrap().len(), 1);
    // beta's suppression list and gate are beta's; acme's are acme's.
    let (_, list) = s.get("/v1/suppressions", &s.acme).await;
    assert_eq!(list["total"], 0, "{list}");
    let (_, list) = s.get("/v1/suppressions", &s.beta).await;
    assert_eq!(list["items"][0]["address"], "shared@example.com");
    let (_, g) = s
        .post(
            "/v1/gate",
            &s.acme,
            json!({"recipients": ["shared@example.com"], "dry_run": true}),
        )
        .await;
    assert_eq!(g["decisions"][0]["decision"], "send");
    let (_, g) = s
        .post(
            "/v1/gate",
            &s.beta,
            json!({"recipients": ["shared@example.com"], "dry_run": true}),
        )
        .await;
    assert_eq!(g["decisions"][0]["reason"], "hard_bounced");
    // acme stopping a campaign does not stop beta's campaign of the same name.
    let (st, _) = s
        .post("/v1/campaigns/spring/stop", &s.acme, json!({"by": "ops"}))
        .await;
    assert_eq!(st, 200);
    let (_, g) = s
        .post(
            "/v1/gate",
            &s.beta,
            json!({"campaign": "spring", "recipients": ["ok@example.com"], "dry_run": true}),
        )
        .await;
    assert_eq!(g["decisions"][0]["decision"], "send");
    let (_, r) = s.get("/v1/reports", &s.acme).await;
    assert_eq!(r["tenant"], "acme");
    assert_eq!(r["bounced"]["total"], 0);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_without_a_valid_key_are_refused() {
    let s = Server::start().await;
    let r = s.client.get(s.url("/v1/tenant")).send().await.unwrap();
    let (st, v) = common::answer(r).await;
    assert_eq!((st, code(&v)), (401, "unauthorized"));
    for bad in ["nonsense", "rbk_000000000000_AAAA", &format!("{}x", s.acme)] {
        let (st, v) = s.get("/v1/tenant", bad).await;
        assert_eq!((st, code(&v)), (401, "unauthorized"), "{bad}");
    }
    let (st, v) = s.get("/v1/tenant", &s.acme).await;
    assert_eq!((st, v["tenant"].as_str()), (200, Some("acme")));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_bodies_get_4xx_with_stable_codes_and_store_nothing() {
    let s = Server::start_with(|c| {
        c.http.body_limit = 64 * 1024;
        c.http.max_events = 50;
    })
    .await;
    let k = &s.acme;
    let cases: Vec<(Vec<u8>, &str, u16, &str)> = vec![
        (b"{\"channel\": \"email\",".to_vec(), "application/json", 400, "malformed_json"),
        (b"not json at all".to_vec(), "application/json", 400, "malformed_json"),
        (vec![0xff, 0xfe, 0x00, 0x9c], "application/json", 400, "malformed_json"),
        (Vec::new(), "application/json", 400, "malformed_json"),
        (
            br#"{"channel":"email","recipient":"a@b.com","event":"bounce","at":"2026-11-22T10:00:00Z","colour":"red"}"#.to_vec(),
            "application/json",
            422,
            "invalid_request",
        ),
        (br#"{"channel":"email"}"#.to_vec(), "application/json", 422, "invalid_request"),
        (br#"[{"channel":1}]"#.to_vec(), "application/json", 422, "invalid_request"),
        (b"[]".to_vec(), "text/plain", 415, "unsupported_media_type"),
        (vec![b' '; 65 * 1024], "application/json", 413, "body_too_large"),
    ];
    for (body, ct, want_status, want_code) in cases {
        let shown = String::from_utf8_lossy(&body[..body.len().min(60)]).into_owned();
        let (st, v) = s.post_raw("/v1/events", k, body, ct).await;
        assert_eq!((st, code(&v)), (want_status, want_code), "{shown}: {v}");
    }
    let many: Vec<_> = (0..51)
        .map(|i| hard_bounce(&format!("u{i}@example.com"), "2026-11-22T10:00:00Z"))
        .collect();
    let (st, v) = s.post("/v1/events", k, json!(many)).await;
    assert_eq!((st, code(&v)), (413, "too_many_events"));
    // Events that parse but cannot be stored: reported by index; the good ones stored.
    let (st, v) = s
        .post(
            "/v1/events",
            k,
            json!([
                {"channel": "email", "recipient": "not an address", "event": "bounce", "at": "2026-11-22T10:00:00Z"},
                {"channel": "fax", "recipient": "a@example.com", "event": "bounce", "at": "2026-11-22T10:00:00Z"},
                {"channel": "email", "recipient": "a@example.com", "event": "exploded", "at": "2026-11-22T10:00:00Z"},
                {"channel": "email", "recipient": "a@example.com", "event": "bounce", "at": "yesterday"},
                hard_bounce("good@example.com", "2026-11-22T10:00:00Z"),
            ]),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(
        (v["accepted"].as_u64(), v["rejected"].as_u64()),
        (Some(1), Some(4)),
        "{v}"
    );
    let idx: Vec<u64> = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["index"].as_u64().unwrap())
        .collect();
    assert_eq!(idx, [0, 1, 2, 3]);
    // Nothing readable at all: 422, nothing stored.
    let (st, v) = s
        .post("/v1/events", k, json!([{"channel": "email", "recipient": "x", "event": "bounce", "at": "2026-11-22T10:00:00Z"}]))
        .await;
    assert_eq!((st, code(&v)), (422, "invalid_events"), "{v}");
    let mut store = s.store();
    assert_eq!(
        store.marked("acme", Channel::Email).unwrap().len(),
        1,
        "only good@ is stored"
    );
    // Unknown paths, wrong methods, bad queries and bad admin bodies: JSON 4xx.
    let (st, v) = s.get("/v1/nowhere", k).await;
    assert_eq!((st, code(&v)), (404, "not_found"));
    let (st, v) = s.get("/v1/events", k).await;
    assert_eq!((st, code(&v)), (405, "method_not_allowed"));
    let (st, v) = s.get("/v1/suppressions?limit=lots", k).await;
    assert_eq!((st, code(&v)), (422, "invalid_request"));
    let (st, v) = s.get("/v1/addresses/not-an-address", k).await;
    assert_eq!((st, code(&v)), (422, "invalid_address"));
    let (st, v) = s
        .post(
            "/v1/addresses/a@example.com/opt-in",
            k,
            json!({"by": "ops"}),
        )
        .await;
    assert_eq!((st, code(&v)), (422, "consent_required"));
    let (st, v) = s
        .post(
            "/v1/addresses/a@example.com/explode",
            k,
            json!({"by": "ops"}),
        )
        .await;
    assert_eq!((st, code(&v)), (404, "not_found"));
    let (st, v) = s
        .post("/v1/addresses/a@example.com/unblock", k, json!({"by": " "}))
        .await;
    assert_eq!((st, code(&v)), (422, "invalid_request"));
    let (st, v) = s
        .post("/v1/gate", k, json!({"recipients": "a@example.com"}))
        .await;
    assert_eq!((st, code(&v)), (422, "invalid_request"));
    // The server is still well.
    let (st, _) = s.get("/healthz", k).await;
    assert_eq!(st, 200);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_are_idempotent() {
    let s = Server::start().await;
    let body = json!([hard_bounce("jo@example.com", "2026-11-22T10:00:00Z")]);
    let send = |key: &'static str| {
        s.client
            .post(s.url("/v1/events"))
            .bearer_auth(&s.acme)
            .header("idempotency-key", key)
            .json(&body)
            .send()
    };
    let (st, v) = common::answer(send("req-1").await.unwrap()).await;
    assert_eq!((st, v["accepted"].as_u64()), (200, Some(1)), "{v}");
    let (st, v) = common::answer(send("req-1").await.unwrap()).await;
    assert_eq!((st, v["replayed"].as_bool()), (200, Some(true)), "{v}");
    // The same content again under no key: recognised as the same outcome.
    let (st, v) = s.post("/v1/events", &s.acme, body.clone()).await;
    assert_eq!((st, v["duplicates"].as_u64()), (200, Some(1)), "{v}");
    let mut store = s.store();
    assert_eq!(
        store
            .history("acme", Channel::Email, "jo@example.com")
            .unwrap()
            .len(),
        1
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gate_admin_actions_suppressions_and_reports() {
    let s = Server::start().await;
    let k = &s.acme;
    s.post(
        "/v1/events",
        k,
        json!([hard_bounce("jo@example.com", "2026-11-22T10:00:00Z")]),
    )
    .await;
    let (st, g) = s
        .post(
            "/v1/gate",
            k,
            json!({"campaign": "c1", "recipients": ["jo@example.com", "ann@example.com", "nope"], "at": "2026-11-23T10:00:00Z"}),
        )
        .await;
    assert_eq!(st, 200, "{g}");
    let d = &g["decisions"];
    assert_eq!(
        (d[0]["decision"].as_str(), d[0]["reason"].as_str()),
        (Some("skip"), Some("hard_bounced"))
    );
    assert_eq!(d[1]["decision"], "send");
    assert_eq!(d[2]["reason"], "invalid_address");
    let (_, r) = s.get("/v1/reports?campaign=c1", k).await;
    assert_eq!(r["attempted"], 1, "{r}");
    assert_eq!(r["skipped"]["total"], 2, "{r}");
    // A dry run records nothing.
    s.post(
        "/v1/gate",
        k,
        json!({"campaign": "c1", "recipients": ["ann@example.com"], "dry_run": true}),
    )
    .await;
    let (_, r) = s.get("/v1/reports?campaign=c1", k).await;
    assert_eq!(r["attempted"], 1);
    // Unblock, opt-out, opt-in with consent: each on the card with who did it.
    let (st, v) = s
        .post(
            "/v1/addresses/jo@example.com/unblock",
            k,
            json!({"by": "support"}),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    s.post(
        "/v1/addresses/jo@example.com/opt-out",
        k,
        json!({"by": "jo by phone"}),
    )
    .await;
    let (st, _) = s
        .post(
            "/v1/addresses/jo@example.com/opt-in",
            k,
            json!({"by": "web", "consent": "form 7, double opt-in"}),
        )
        .await;
    assert_eq!(st, 200);
    let (_, card) = s.get("/v1/addresses/jo@example.com", k).await;
    let h = card["history"].as_array().unwrap();
    assert_eq!(h.len(), 4, "{card}");
    assert_eq!(
        (h[1]["event"].as_str(), h[1]["by"].as_str()),
        (Some("unblock"), Some("support"))
    );
    assert_eq!(h[3]["consent"], "form 7, double opt-in");
    assert_eq!(card["status"], "active");
    // Campaign stop and tenant restriction reach the gate.
    s.post("/v1/campaigns/c2/stop", k, json!({"by": "ops"}))
        .await;
    let (_, g) = s
        .post(
            "/v1/gate",
            k,
            json!({"campaign": "c2", "recipients": ["ann@example.com"]}),
        )
        .await;
    assert_eq!(g["decisions"][0]["reason"], "campaign_stopped");
    // Suppressions: pages in address order, and the CSV.
    let many: Vec<_> = (0..5)
        .map(|i| hard_bounce(&format!("u{i}@example.com"), "2026-11-22T10:00:00Z"))
        .collect();
    s.post("/v1/events", k, json!(many)).await;
    let (_, p1) = s.get("/v1/suppressions?limit=2", k).await;
    assert_eq!(p1["total"], 5);
    assert_eq!(p1["items"][0]["address"], "u0@example.com");
    assert_eq!(p1["items"][0]["status"], "hard_bounced");
    let after = p1["next_after"].as_str().unwrap().to_string();
    let (_, p2) = s
        .get(&format!("/v1/suppressions?limit=2&after={after}"), k)
        .await;
    assert_eq!(p2["items"][0]["address"], "u2@example.com");
    let (_, p3) = s
        .get("/v1/suppressions?limit=2&after=u3@example.com", k)
        .await;
    assert_eq!(p3["items"].as_array().unwrap().len(), 1);
    assert!(p3["next_after"].is_null());
    let csv = s
        .client
        .get(s.url("/v1/suppressions.csv"))
        .bearer_auth(k)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        csv.starts_with(
            "address,channel,status,since\nu0@example.com,email,hard_bounced,2026-11-22T10:00:00Z\n"
        ),
        "{csv}"
    );
    let (st, _) = s
        .post("/v1/tenant/restrict", k, json!({"by": "compliance"}))
        .await;
    assert_eq!(st, 200);
    let (_, g) = s
        .post("/v1/gate", k, json!({"recipients": ["ann@example.com"]}))
        .await;
    assert_eq!(g["decisions"][0]["reason"], "sender_restricted");
    let (_, t) = s.get("/v1/tenant", k).await;
    assert_eq!(t["restricted"]["by"], "compliance");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_metrics_and_the_openapi_document() {
    let s = Server::start().await;
    s.post(
        "/v1/events",
        &s.acme,
        json!([hard_bounce("jo@example.com", "2026-11-22T10:00:00Z")]),
    )
    .await;
    let (st, v) = s.get("/healthz", "").await;
    assert_eq!((st, v["status"].as_str()), (200, Some("ok")));
    let text = s
        .client
        .get(s.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("rebound_events_total{result=\"stored\",source=\"api\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("rebound_http_requests_total{route=\"/v1/events\",status=\"200\"} 1"),
        "{text}"
    );
    let (st, doc) = s.get("/openapi.json", "").await;
    assert_eq!(st, 200);
    assert_eq!(doc["openapi"], "3.1.0");
    // Every route the router serves is documented, and every error code used.
    for path in [
        "/healthz",
        "/metrics",
        "/openapi.json",
        "/v1/events",
        "/v1/gate",
        "/v1/addresses/{address}",
        "/v1/addresses/{address}/{action}",
        "/v1/campaigns/{campaign}/stop",
        "/v1/tenant",
        "/v1/tenant/restrict",
        "/v1/suppressions",
        "/v1/suppressions.csv",
        "/v1/reports",
    ] {
        assert!(
            doc["paths"].get(path).is_some(),
            "{path} is not in openapi.json"
        );
    }
    let codes = doc["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]
        ["enum"]
        .as_array()
        .unwrap()
        .clone();
    let src = [
        include_str!("../src/api.rs"),
        include_str!("../src/error.rs"),
        include_str!("../src/body.rs"),
        include_str!("../src/webhooks.rs"),
        include_str!("../src/unsubscribe.rs"),
    ]
    .concat();
    // Codes are written as the literal after a `StatusCode::X,` argument, or as
    // the first argument of `forbidden(`.
    let mut used = Vec::new();
    for marker in ["StatusCode::", "forbidden("] {
        for (i, _) in src.match_indices(marker) {
            let mut rest = &src[i + marker.len()..];
            if marker == "StatusCode::" {
                let ident = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap();
                rest = rest[ident..].trim_start();
                let Some(r) = rest.strip_prefix(',') else {
                    continue;
                };
                rest = r;
            }
            if let Some(lit) = rest.trim_start().strip_prefix('"') {
                let word = &lit[..lit.find('"').unwrap()];
                // Codes are snake_case words; page titles are not codes.
                if word.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
                    used.push(word.to_string());
                }
            }
        }
    }
    assert!(used.len() > 15, "{used:?}");
    for c in &used {
        assert!(
            codes.iter().any(|x| x == c.as_str()),
            "error code {c} is not in openapi.json"
        );
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_on_postgresql() {
    let s = Server::start_pg().await;
    let (st, v) = s
        .post(
            "/v1/events",
            &s.acme,
            json!([hard_bounce("jo@example.com", "2026-11-22T10:00:00Z")]),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    let (_, card) = s.get("/v1/addresses/jo@example.com", &s.acme).await;
    assert_eq!(card["status"], "blocked");
    let (_, card) = s.get("/v1/addresses/jo@example.com", &s.beta).await;
    assert_eq!(card["status"], "active");
    let (_, g) = s
        .post(
            "/v1/gate",
            &s.acme,
            json!({"recipients": ["jo@example.com", "ann@example.com"]}),
        )
        .await;
    assert_eq!(g["decisions"][0]["reason"], "hard_bounced");
    assert_eq!(g["decisions"][1]["decision"], "send");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_bad_submission_does_not_fail_the_others_committed_with_it() {
    use rebound_store::{Detail, Record, Submission};
    let s = Server::start().await;
    let rec = |tenant: &str, address: &str| Record {
        tenant: tenant.into(),
        channel: Channel::Email,
        address: address.into(),
        at: 1_795_341_600,
        event: rebound_policy::Event::Complaint,
        reason: None,
        campaign: None,
        detail: Detail::default(),
    };
    let sub = |tenant: &str, address: &str| Submission {
        tenant: tenant.into(),
        key: None,
        at: 0,
        records: vec![rec(tenant, address)],
    };
    let app = &s.running.as_ref().unwrap().app;
    // Queued together, so committed together unless one fails the transaction.
    let out = app
        .db
        .submit_many(vec![
            sub("acme", "a@example.com"),
            sub("nobody", "b@example.com"),
            sub("beta", "c@example.com"),
        ])
        .await;
    assert!(out[0].as_ref().is_ok_and(|r| r.is_some()), "{out:?}");
    assert!(
        out[1].is_err(),
        "the unknown tenant's submission fails alone: {out:?}"
    );
    assert!(out[2].as_ref().is_ok_and(|r| r.is_some()), "{out:?}");
    let mut store = s.store();
    assert_eq!(
        store
            .history("acme", Channel::Email, "a@example.com")
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        store
            .history("beta", Channel::Email, "c@example.com")
            .unwrap()
            .len(),
        1
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_bytes_to_every_endpoint_get_4xx_and_the_server_lives() {
    let s = Server::start().await;
    // A fixed-seed generator: the same hostile bodies every run.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let posts = [
        "/v1/events",
        "/v1/gate",
        "/v1/addresses/a@example.com/unblock",
        "/v1/addresses/a@example.com/opt-in",
        "/v1/campaigns/c/stop",
        "/v1/tenant/restrict",
        "/v1/unsubscribe-links",
        "/v1/webhooks/generic",
        "/v1/webhooks/ses?tenant=acme",
        "/u/AAAA",
    ];
    let seeds: [&[u8]; 4] = [
        br#"{"channel":"email","recipient":"#,
        b"[{\"by\":",
        b"{\"recipients\":[",
        b"\x00\xff",
    ];
    for path in posts {
        for round in 0..25 {
            let len = (next() % 3000) as usize;
            let mut body: Vec<u8> = seeds[round % seeds.len()].to_vec();
            body.extend((0..len).map(|_| next() as u8));
            let r = s
                .client
                .post(s.url(path))
                .bearer_auth(&s.acme)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            let st = r.status().as_u16();
            assert!((400..500).contains(&st), "{path}: {st}");
        }
    }
    let (st, _) = s.get("/healthz", "").await;
    assert_eq!(st, 200);
    s.stop().await;
}
