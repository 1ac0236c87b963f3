//! The HTTP API under `/v1`, plus `/healthz`, `/metrics` and `/openapi.json`.
//!
//! Every `/v1` handler takes its tenant from the API key ([`auth::Tenant`]) and
//! works on that tenant alone: a path or body naming another tenant is refused, and
//! addresses are looked up within the key's tenant only. Writes answer after they are
//! durable (`db.rs`).

use crate::auth::Tenant as Auth;
use crate::body::{Path, Query};
use crate::error::{ApiError, ApiResult};
use crate::{App, body};
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use rebound_classify::Scratch;
use rebound_pipeline::event_line::StrictEventLine;
use rebound_pipeline::gate::Gate;
use rebound_pipeline::{format_time, normalize};
use rebound_policy::Event;
use rebound_store::{Appended, Channel, Detail, Record, Skip, StoredRecord, Submission, Ts};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;

type AppState = State<Arc<App>>;

/// The OpenAPI document, kept as data beside the code (a test checks that it
/// names every route and every error code).
pub const OPENAPI: &str = include_str!("openapi.json");

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi))
        .route("/v1/events", post(events))
        .route("/v1/gate", post(gate))
        .route("/v1/addresses/{address}", get(address_card))
        .route("/v1/addresses/{address}/{action}", post(address_action))
        .route("/v1/campaigns/{campaign}/stop", post(campaign_stop))
        .route("/v1/tenant", get(tenant_info))
        .route("/v1/tenant/restrict", post(tenant_restrict))
        .route("/v1/suppressions", get(suppressions))
        .route("/v1/suppressions.csv", get(suppressions_csv))
        .route("/v1/reports", get(reports))
        .route("/v1/webhooks/{provider}", post(crate::webhooks::webhook))
        .route("/v1/unsubscribe-links", post(crate::unsubscribe::mint))
        .route(
            "/u/{token}",
            get(crate::unsubscribe::page).post(crate::unsubscribe::unsubscribe),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such endpoint (see /openapi.json)")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint does not take that method (see /openapi.json)",
    )
}

/// Reads a JSON body of type `T` under the configured size limit.
pub async fn json_body<T: serde::de::DeserializeOwned>(
    app: &App,
    headers: &HeaderMap,
    b: Body,
) -> ApiResult<T> {
    body::require_json(headers)?;
    let bytes = body::read(b, app.config.http.body_limit).await?;
    body::parse(&bytes)
}

async fn healthz(State(app): AppState) -> ApiResult<Response> {
    app.db.with(|s| s.tenant("").map(|_| ())).await?;
    Ok(axum::Json(json!({"status": "ok"})).into_response())
}

async fn metrics(State(app): AppState) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        app.metrics.render(),
    )
        .into_response()
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

fn parse_channel(c: Option<&str>) -> ApiResult<Channel> {
    match c {
        None => Ok(Channel::Email),
        Some(c) => Channel::parse(c)
            .ok_or_else(|| ApiError::invalid(format!("channel {c:?} is not email or sms"))),
    }
}

fn parse_at(at: Option<&str>) -> ApiResult<Ts> {
    match at {
        None => Ok(rebound_pipeline::now()),
        Some(s) => rebound_pipeline::parse_time(s).map_err(ApiError::invalid),
    }
}

/// The `Idempotency-Key` header, if sent.
fn idempotency_key(headers: &HeaderMap) -> ApiResult<Option<String>> {
    let Some(v) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let s = v
        .to_str()
        .ok()
        .filter(|s| !s.is_empty() && s.len() <= 255)
        .ok_or_else(|| ApiError::invalid("Idempotency-Key must be 1 to 255 visible characters"))?;
    Ok(Some(format!("api:{s}")))
}

/// Appends records as one submission and counts what became of them.
pub async fn submit(
    app: &App,
    tenant: &str,
    key: Option<String>,
    records: Vec<Record>,
    source: &str,
) -> ApiResult<Option<Vec<Appended>>> {
    let n = records.len();
    let out = app
        .db
        .submit(Submission {
            tenant: tenant.to_string(),
            key,
            at: rebound_pipeline::now(),
            records,
        })
        .await
        .map_err(ApiError::internal)?;
    if let Some(results) = &out {
        let stored = results.iter().filter(|r| **r == Appended::Stored).count() as u64;
        let dup = results
            .iter()
            .filter(|r| **r == Appended::Duplicate)
            .count() as u64;
        let m = &app.metrics;
        m.add(
            "rebound_events_total",
            &[("result", "stored"), ("source", source)],
            stored,
        );
        m.add(
            "rebound_events_total",
            &[("result", "duplicate"), ("source", source)],
            dup,
        );
        m.add(
            "rebound_events_total",
            &[("result", "refused"), ("source", source)],
            n as u64 - stored - dup,
        );
    } else {
        app.metrics.add(
            "rebound_events_total",
            &[("result", "duplicate"), ("source", source)],
            n as u64,
        );
    }
    Ok(out)
}

/// `POST /v1/events`: one event object or an array of them (the fields of
/// `rebound ingest`). Events that cannot be read are reported by index and the
/// others stored; the answer comes after the commit.
async fn events(
    State(app): AppState,
    Auth(tenant): Auth,
    headers: HeaderMap,
    b: Body,
) -> ApiResult<Response> {
    ingest_events(&app, &tenant, &headers, b, "api").await
}

/// The body of `POST /v1/events` (and of the generic webhook) for `tenant`.
pub async fn ingest_events(
    app: &App,
    tenant: &str,
    headers: &HeaderMap,
    b: Body,
    source: &str,
) -> ApiResult<Response> {
    let tenant = tenant.to_string();
    body::require_json(headers)?;
    let key = idempotency_key(headers)?;
    let bytes = body::read(b, app.config.http.body_limit).await?;
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace()).copied();
    let lines: Vec<StrictEventLine> = if first == Some(b'[') {
        body::parse(&bytes)?
    } else {
        vec![body::parse(&bytes)?]
    };
    if lines.len() > app.config.http.max_events {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_many_events",
            format!("at most {} events per request", app.config.http.max_events),
        ));
    }
    if let Some(other) = lines
        .iter()
        .filter_map(|l| l.tenant.as_deref())
        .find(|t| *t != tenant)
    {
        return Err(ApiError::forbidden(
            "tenant_mismatch",
            format!("this API key belongs to tenant {tenant:?}, not {other:?}"),
        ));
    }
    let t = app.tenant(&tenant).await?;
    let mut scratch = Scratch::default();
    let mut records = Vec::with_capacity(lines.len());
    let mut index = Vec::with_capacity(lines.len());
    let mut errors = Vec::new();
    for (i, l) in lines.into_iter().enumerate() {
        match l
            .report()
            .and_then(|r| rebound_pipeline::to_record(&t, r, &mut scratch))
        {
            Ok(r) => {
                records.push(r);
                index.push(i);
            }
            Err(why) => errors.push(json!({"index": i, "message": why})),
        }
    }
    if records.is_empty() && !errors.is_empty() {
        app.metrics.add(
            "rebound_events_total",
            &[("result", "rejected"), ("source", source)],
            errors.len() as u64,
        );
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            axum::Json(json!({"error": {
                "code": "invalid_events",
                "message": "no event could be read; nothing was stored",
                "events": errors,
            }})),
        )
            .into_response());
    }
    app.metrics.add(
        "rebound_events_total",
        &[("result", "rejected"), ("source", source)],
        errors.len() as u64,
    );
    let results = submit(app, &tenant, key, records, source).await?;
    let Some(results) = results else {
        return Ok(axum::Json(json!({
            "replayed": true,
            "message": "this Idempotency-Key was seen before; nothing new was stored",
        }))
        .into_response());
    };
    let (mut accepted, mut duplicates) = (0, 0);
    for (i, r) in index.into_iter().zip(results) {
        match r {
            Appended::Stored => accepted += 1,
            Appended::Duplicate => {
                accepted += 1;
                duplicates += 1;
            }
            Appended::Refused(why) => errors.push(json!({"index": i, "message": why.to_string()})),
        }
    }
    Ok(axum::Json(json!({
        "accepted": accepted,
        "duplicates": duplicates,
        "rejected": errors.len(),
        "errors": errors,
    }))
    .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GateRequest {
    campaign: Option<String>,
    channel: Option<String>,
    recipients: Vec<String>,
    at: Option<String>,
    #[serde(default)]
    dry_run: bool,
}

/// `POST /v1/gate`: a decision per recipient, in order; each `send` is recorded as
/// an attempt (unless `dry_run`) before the answer is sent.
async fn gate(
    State(app): AppState,
    Auth(tenant): Auth,
    headers: HeaderMap,
    b: Body,
) -> ApiResult<Response> {
    let req: GateRequest = json_body(&app, &headers, b).await?;
    if req.recipients.len() > app.config.http.max_recipients {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_many_recipients",
            format!(
                "at most {} recipients per request",
                app.config.http.max_recipients
            ),
        ));
    }
    let channel = parse_channel(req.channel.as_deref())?;
    let at = parse_at(req.at.as_deref())?;
    let decisions = app
        .db
        .with(move |s| {
            let snap = s.gate_snapshot(&tenant, channel, req.campaign.as_deref(), at)?;
            let mut g = Gate::new(snap, channel, req.campaign.clone(), at);
            let mut sends = g.sends();
            let mut skips: BTreeMap<&'static str, u64> = BTreeMap::new();
            let mut out = Vec::with_capacity(req.recipients.len());
            for r in &req.recipients {
                match g.decide(r.trim()) {
                    Ok(a) => {
                        sends.push(a);
                        out.push(json!({"recipient": r, "decision": "send"}));
                    }
                    Err(why) => {
                        *skips.entry(why.as_str()).or_default() += 1;
                        out.push(
                            json!({"recipient": r, "decision": "skip", "reason": why.as_str()}),
                        );
                    }
                }
            }
            if !req.dry_run {
                let skips: Vec<Skip> = skips
                    .into_iter()
                    .map(|(reason, count)| Skip {
                        tenant: tenant.clone(),
                        campaign: req.campaign.clone(),
                        channel,
                        at,
                        reason: reason.to_string(),
                        count,
                    })
                    .collect();
                if !sends.is_empty() || !skips.is_empty() {
                    s.record_gate(&sends, &skips)?;
                }
            }
            Ok(out)
        })
        .await?;
    Ok(axum::Json(json!({ "decisions": decisions })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChannelQuery {
    channel: Option<String>,
}

/// One history entry as the contact card shows it.
fn history_entry(s: &StoredRecord) -> Value {
    let r = &s.record;
    let mut v = serde_json::to_value(&r.event).unwrap_or(Value::Null);
    if let Value::Object(m) = &mut v {
        m.insert("id".into(), json!(s.id));
        m.insert("at".into(), json!(format_time(r.at)));
        if let Some(reason) = r.reason {
            m.insert("reason".into(), json!(reason.as_str()));
        }
        if let Some(c) = &r.campaign {
            m.insert("campaign".into(), json!(c));
        }
        if !r.detail.is_empty() {
            m.insert(
                "detail".into(),
                serde_json::to_value(&r.detail).unwrap_or(Value::Null),
            );
        }
    }
    v
}

fn state_json(s: &rebound_store::AddressState) -> Value {
    let t = |x: Option<Ts>| x.map(format_time);
    json!({
        "blocked_at": t(s.blocked_at),
        "suppressed_at": t(s.suppressed_at),
        "complained_at": t(s.complained_at),
        "opted_out_at": t(s.opted_out_at),
        "soft_streak": s.soft_streak,
        "last_soft_bounce_at": t(s.last_soft_bounce_at),
        "last_delivered_at": t(s.last_delivered_at),
    })
}

/// `GET /v1/addresses/{address}`: the contact card (state and full history).
async fn address_card(
    State(app): AppState,
    Auth(tenant): Auth,
    Path(raw): Path<String>,
    Query(q): Query<ChannelQuery>,
) -> ApiResult<Response> {
    let channel = parse_channel(q.channel.as_deref())?;
    let t = app.tenant(&tenant).await?;
    let address = normalize(channel, &raw, &t)
        .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_address", e))?;
    let a = address.clone();
    let (state, history, domain) = app
        .db
        .with(move |s| {
            let state = s.state(&tenant, channel, &a)?;
            let history = s.history(&tenant, channel, &a)?;
            let domain = match channel {
                Channel::Email => s.domain_state(&tenant, rebound_address_domain(&a))?,
                Channel::Sms => None,
            };
            Ok((state, history, domain))
        })
        .await?;
    let state = state.unwrap_or_default();
    let status = serde_json::to_value(state.status()).unwrap_or(Value::Null);
    Ok(axum::Json(json!({
        "address": address,
        "channel": channel.as_str(),
        "status": status,
        "state": state_json(&state),
        "domain_nonexistent_since": domain.and_then(|d| d.nonexistent_since).map(format_time),
        "history": history.iter().map(history_entry).collect::<Vec<_>>(),
    }))
    .into_response())
}

fn rebound_address_domain(a: &str) -> &str {
    a.rsplit_once('@').map_or("", |(_, d)| d)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AdminRequest {
    by: String,
    consent: Option<String>,
    channel: Option<String>,
    at: Option<String>,
}

fn who(by: &str) -> ApiResult<()> {
    if by.trim().is_empty() {
        return Err(ApiError::invalid("say who is doing this in `by`"));
    }
    Ok(())
}

/// `POST /v1/addresses/{address}/{unblock|opt-out|opt-in}`.
async fn address_action(
    State(app): AppState,
    Auth(tenant): Auth,
    Path((raw, action)): Path<(String, String)>,
    headers: HeaderMap,
    b: Body,
) -> ApiResult<Response> {
    let req: AdminRequest = json_body(&app, &headers, b).await?;
    who(&req.by)?;
    let event = match action.as_str() {
        "unblock" => Event::Unblock { by: req.by.clone() },
        "opt-out" => Event::OptOut { by: req.by.clone() },
        "opt-in" => match req.consent.as_deref().map(str::trim) {
            Some(c) if !c.is_empty() => Event::OptIn {
                by: req.by.clone(),
                consent: c.to_string(),
            },
            _ => {
                return Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "consent_required",
                    "opt-in refused: consent evidence is required (`consent`)",
                ));
            }
        },
        _ => {
            return Err(ApiError::not_found(
                "actions are unblock, opt-out and opt-in",
            ));
        }
    };
    let channel = parse_channel(req.channel.as_deref())?;
    let at = parse_at(req.at.as_deref())?;
    let t = app.tenant(&tenant).await?;
    let address = normalize(channel, &raw, &t)
        .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_address", e))?;
    let record = Record {
        tenant: tenant.clone(),
        channel,
        address: address.clone(),
        at,
        event,
        reason: None,
        campaign: None,
        detail: Detail {
            source: Some("api".into()),
            ..Detail::default()
        },
    };
    let results = submit(&app, &tenant, None, vec![record], "api").await?;
    if let Some(Some(Appended::Refused(why))) = results.map(|mut v| v.pop()) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "refused",
            why.to_string(),
        ));
    }
    Ok(axum::Json(
        json!({"address": address, "action": action, "by": req.by, "at": format_time(at)}),
    )
    .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ByRequest {
    by: String,
    at: Option<String>,
}

/// `POST /v1/campaigns/{campaign}/stop`.
async fn campaign_stop(
    State(app): AppState,
    Auth(tenant): Auth,
    Path(campaign): Path<String>,
    headers: HeaderMap,
    b: Body,
) -> ApiResult<Response> {
    let req: ByRequest = json_body(&app, &headers, b).await?;
    who(&req.by)?;
    let at = parse_at(req.at.as_deref())?;
    let (c, by) = (campaign.clone(), req.by.clone());
    app.db
        .with(move |s| s.stop_campaign(&tenant, &c, &by, at))
        .await?;
    Ok(
        axum::Json(json!({"campaign": campaign, "stopped_by": req.by, "at": format_time(at)}))
            .into_response(),
    )
}

/// `GET /v1/tenant`: the key's tenant, its policy and whether it is restricted.
async fn tenant_info(State(app): AppState, Auth(tenant): Auth) -> ApiResult<Response> {
    let t = app.db.with(move |s| crate_tenant(s, &tenant)).await?;
    Ok(axum::Json(json!({
        "tenant": t.name,
        "default_country": t.default_country,
        "policy": serde_json::to_value(&t.policy).unwrap_or(Value::Null),
        "restricted": t.restricted.map(|m| json!({"by": m.by, "at": format_time(m.at)})),
    }))
    .into_response())
}

fn crate_tenant(
    s: &mut dyn rebound_store::Store,
    name: &str,
) -> rebound_store::Result<rebound_store::Tenant> {
    s.tenant(name)?
        .ok_or_else(|| rebound_store::Error::UnknownTenant(name.to_string()))
}

/// `POST /v1/tenant/restrict`: a tenant may suspend its own sending (a kill switch).
/// Lifting a suspension is an operator's decision (`rebound tenant unrestrict`),
/// never the suspended tenant's.
async fn tenant_restrict(
    State(app): AppState,
    Auth(tenant): Auth,
    headers: HeaderMap,
    b: Body,
) -> ApiResult<Response> {
    let req: ByRequest = json_body(&app, &headers, b).await?;
    who(&req.by)?;
    let at = parse_at(req.at.as_deref())?;
    let (t, by) = (tenant.clone(), req.by.clone());
    app.db
        .with(move |s| s.set_restricted(&t, true, &by, at))
        .await?;
    Ok(
        axum::Json(json!({"tenant": tenant, "restricted_by": req.by, "at": format_time(at)}))
            .into_response(),
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PageQuery {
    channel: Option<String>,
    limit: Option<usize>,
    /// The last address of the previous page.
    after: Option<String>,
}

/// `GET /v1/suppressions`: the suppression list in address order, a page at a time.
async fn suppressions(
    State(app): AppState,
    Auth(tenant): Auth,
    Query(q): Query<PageQuery>,
) -> ApiResult<Response> {
    let channel = parse_channel(q.channel.as_deref())?;
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let marked = app.db.with(move |s| s.marked(&tenant, channel)).await?;
    let rows = rebound_pipeline::summary::suppression_rows(marked);
    let start = match &q.after {
        Some(a) => rows.partition_point(|r| r.address.as_str() <= a.as_str()),
        None => 0,
    };
    let page = &rows[start..(start + limit).min(rows.len())];
    let next = (start + limit < rows.len()).then(|| page.last().map(|r| r.address.clone()));
    Ok(axum::Json(json!({
        "channel": channel.as_str(),
        "total": rows.len(),
        "items": page,
        "next_after": next.flatten(),
    }))
    .into_response())
}

/// `GET /v1/suppressions.csv`: the whole list, as `rebound suppressions export`.
async fn suppressions_csv(
    State(app): AppState,
    Auth(tenant): Auth,
    Query(q): Query<ChannelQuery>,
) -> ApiResult<Response> {
    let channel = parse_channel(q.channel.as_deref())?;
    let marked = app.db.with(move |s| s.marked(&tenant, channel)).await?;
    let rows = rebound_pipeline::summary::suppression_rows(marked);
    Ok((
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
        rebound_pipeline::summary::suppression_csv(&rows, channel.as_str()),
    )
        .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportQuery {
    campaign: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

/// `GET /v1/reports`: the report of `rebound report`.
async fn reports(
    State(app): AppState,
    Auth(tenant): Auth,
    Query(q): Query<ReportQuery>,
) -> ApiResult<Response> {
    let time = |s: &Option<String>, default: Ts| -> ApiResult<Ts> {
        s.as_deref().map_or(Ok(default), |s| {
            rebound_pipeline::parse_time(s).map_err(ApiError::invalid)
        })
    };
    let (from, to) = (time(&q.from, Ts::MIN)?, time(&q.to, Ts::MAX)?);
    let (t, c) = (tenant.clone(), q.campaign.clone());
    let r = app
        .db
        .with(move |s| s.report(&t, c.as_deref(), from, to))
        .await?;
    Ok(axum::Json(rebound_pipeline::summary::report_json(
        &tenant,
        q.campaign.as_deref(),
        q.from.as_deref(),
        q.to.as_deref(),
        &r,
    ))
    .into_response())
}
