//! RFC 8058 one-click unsubscribe over a real socket.

mod common;

use common::{Server, code};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_click_links_unsubscribe_on_post_and_only_confirm_on_get() {
    let s = Server::start().await;
    let (st, link) = s
        .post(
            "/v1/unsubscribe-links",
            &s.acme,
            json!({"recipient": "Jo@Example.com", "campaign": "spring", "bounce_domain": "bounce.acme.example"}),
        )
        .await;
    assert_eq!(st, 200, "{link}");
    let url = link["url"].as_str().unwrap().to_string();
    assert!(url.starts_with(&format!("{}/u/", s.base)), "{url}");
    assert_eq!(link["list_unsubscribe"], format!("<{url}>"));
    assert_eq!(link["list_unsubscribe_post"], "List-Unsubscribe=One-Click");
    let rp = link["return_path"].as_str().unwrap();
    assert!(rp.starts_with("bounces+") && rp.ends_with("@bounce.acme.example"));
    // GET (a person, or a link scanner): a page, and nothing changes.
    let page = s.client.get(&url).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let text = page.text().await.unwrap();
    assert!(
        text.contains("jo@example.com") && text.contains("<form method=\"post\">"),
        "{text}"
    );
    let (_, card) = s.get("/v1/addresses/jo@example.com", &s.acme).await;
    assert_eq!(card["status"], "active");
    // POST as a mail client does it (RFC 8058 §3.2).
    for _ in 0..2 {
        let r = s
            .client
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("List-Unsubscribe=One-Click")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
    }
    let (_, card) = s.get("/v1/addresses/jo@example.com", &s.acme).await;
    assert_eq!(card["status"], "opted_out");
    let h = card["history"].as_array().unwrap();
    assert_eq!(h.len(), 1, "clicked twice, stored once: {card}");
    assert_eq!(
        (h[0]["campaign"].as_str(), h[0]["detail"]["source"].as_str()),
        (Some("spring"), Some("one-click"))
    );
    let (_, g) = s
        .post(
            "/v1/gate",
            &s.acme,
            json!({"recipients": ["jo@example.com"], "dry_run": true}),
        )
        .await;
    assert_eq!(g["decisions"][0]["reason"], "unsubscribed");
    // beta is untouched; altered and foreign tokens are refused.
    let (_, card) = s.get("/v1/addresses/jo@example.com", &s.beta).await;
    assert_eq!(card["status"], "active");
    let mut bad = url.clone().into_bytes();
    let n = bad.len() - 3;
    bad[n] = if bad[n] == b'A' { b'B' } else { b'A' };
    let bad = String::from_utf8(bad).unwrap();
    assert_eq!(
        s.client.post(&bad).send().await.unwrap().status().as_u16(),
        404
    );
    assert_eq!(
        s.client
            .get(format!("{}/u/nonsense", s.base))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        404
    );
    let (st, v) = s
        .post(
            "/v1/unsubscribe-links",
            &s.acme,
            json!({"recipient": "not an address"}),
        )
        .await;
    assert_eq!((st, code(&v)), (422, "invalid_address"));
    let (st, v) = s
        .post(
            "/v1/unsubscribe-links",
            &s.acme,
            json!({"recipient": "a@b.example", "extra": 1}),
        )
        .await;
    assert_eq!((st, code(&v)), (422, "invalid_request"));
    s.stop().await;
}
