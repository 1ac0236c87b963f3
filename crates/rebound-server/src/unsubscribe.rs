//! One-click unsubscribe (RFC 8058) and the links behind it.
//!
//! `POST /v1/unsubscribe-links` mints, for one recipient of the key's tenant, a
//! signed link (`<public url>/u/<token>`) with the `List-Unsubscribe` and
//! `List-Unsubscribe-Post` header values a sender copies into the message (and,
//! given a bounce domain, the message's signed VERP return path).
//!
//! `POST /u/<token>` is what a mail client sends when the reader clicks its
//! unsubscribe button (body `List-Unsubscribe=One-Click`): the recipient is opted
//! out at once, with no further question, as RFC 8058 requires; the answer comes
//! after the unsubscribe is stored. `GET /u/<token>` is what a person (or a link
//! scanner, which must not unsubscribe anyone) gets: a small page with a button
//! that posts the form. A token can be used any number of times; it is stored once.

use crate::App;
use crate::auth::Tenant as Auth;
use crate::body;
use crate::error::{ApiError, ApiResult};
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rebound_store::{Channel, Record};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkRequest {
    recipient: String,
    channel: Option<String>,
    campaign: Option<String>,
    /// Also mint the VERP return path at this bounce domain.
    bounce_domain: Option<String>,
}

pub async fn mint(
    State(app): State<Arc<App>>,
    Auth(tenant): Auth,
    headers: HeaderMap,
    b: Body,
) -> ApiResult<Response> {
    let req: LinkRequest = crate::api::json_body(&app, &headers, b).await?;
    let channel = match req.channel.as_deref() {
        None | Some("email") => Channel::Email,
        Some("sms") => Channel::Sms,
        Some(c) => {
            return Err(ApiError::invalid(format!(
                "channel {c:?} is not email or sms"
            )));
        }
    };
    let t = app.tenant(&tenant).await?;
    let address = rebound_pipeline::normalize(channel, &req.recipient, &t)
        .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_address", e))?;
    let target = rebound_verp::Target {
        tenant: tenant.clone(),
        campaign: req.campaign.clone(),
        channel: channel.as_str().into(),
        recipient: address.clone(),
    };
    let link = app
        .signer
        .unsubscribe(&app.public_url, &target)
        .map_err(|e| ApiError::invalid(e.to_string()))?;
    let return_path = match (&req.bounce_domain, channel) {
        (Some(d), Channel::Email) => Some(
            app.signer
                .verp_address("bounces", d, &target)
                .map_err(|e| ApiError::invalid(e.to_string()))?,
        ),
        _ => None,
    };
    Ok(axum::Json(json!({
        "recipient": address,
        "url": link.url,
        "list_unsubscribe": link.list_unsubscribe,
        "list_unsubscribe_post": link.list_unsubscribe_post,
        "return_path": return_path,
    }))
    .into_response())
}

fn html(status: StatusCode, title: &str, body: &str) -> Response {
    let page = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>{title}</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;line-height:1.5}}button{{font-size:1rem;padding:.5rem 1.25rem}}</style></head>\
         <body><h1>{title}</h1>{body}</body></html>"
    );
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        page,
    )
        .into_response()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn invalid() -> Response {
    html(
        StatusCode::NOT_FOUND,
        "This link is not valid",
        "<p>The unsubscribe link is incomplete or was altered. Use the link from the message itself.</p>",
    )
}

/// `GET /u/{token}`: the confirmation page.
pub async fn page(State(app): State<Arc<App>>, body::Path(token): body::Path<String>) -> Response {
    let Ok(t) = app.signer.unsubscribe_decode(&token) else {
        return invalid();
    };
    html(
        StatusCode::OK,
        "Unsubscribe",
        &format!(
            "<p>Stop messages from <b>{}</b> to <b>{}</b>?</p>\
             <form method=\"post\"><input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\">\
             <button type=\"submit\">Unsubscribe</button></form>",
            escape(&t.tenant),
            escape(&t.recipient)
        ),
    )
}

/// `POST /u/{token}`: unsubscribes at once.
pub async fn unsubscribe(
    State(app): State<Arc<App>>,
    body::Path(token): body::Path<String>,
    b: Body,
) -> Response {
    let Ok(t) = app.signer.unsubscribe_decode(&token) else {
        return invalid();
    };
    // The body (`List-Unsubscribe=One-Click`) is read and bounded, but not required:
    // a signed token is the authority, and a client that sends less still meant it.
    if let Err(e) = body::read(b, 64 * 1024).await {
        return e.into_response();
    }
    let Some(channel) = Channel::parse(&t.channel) else {
        return invalid();
    };
    match app.tenant(&t.tenant).await {
        Ok(_) => {}
        Err(e) if e.code == "unknown_tenant" => return invalid(),
        Err(e) => return e.into_response(),
    }
    let record = Record {
        tenant: t.tenant.clone(),
        channel,
        address: t.recipient.clone(),
        at: rebound_pipeline::now(),
        event: rebound_policy::Event::Unsubscribe,
        reason: None,
        campaign: t.campaign.clone(),
        detail: rebound_store::Detail {
            source: Some("one-click".into()),
            ..Default::default()
        },
    };
    let key: String = format!("unsubscribe:{token}")
        .chars()
        .take(rebound_store::MAX_KEY_LEN)
        .collect();
    match crate::api::submit(&app, &t.tenant, Some(key), vec![record], "one-click").await {
        Ok(_) => html(
            StatusCode::OK,
            "You are unsubscribed",
            &format!(
                "<p><b>{}</b> will get no more messages from <b>{}</b>.</p>",
                escape(&t.recipient),
                escape(&t.tenant)
            ),
        ),
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_markup() {
        assert_eq!(
            super::escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
