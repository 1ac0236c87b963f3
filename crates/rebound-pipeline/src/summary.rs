//! What the store's raw counts and marks look like to people and other tools: the
//! report object of `rebound report` and `GET /v1/reports` (SPEC §5), and the rows of
//! a suppression list (`rebound suppressions export`, `GET /v1/suppressions`).

use rebound_policy::Status;
use rebound_store::{AddressState, Report, Ts};
use serde_json::{Map, Value, json};

fn bump(map: &mut Map<String, Value>, key: &str, n: u64) {
    let v = map.entry(key.to_string()).or_insert(json!(0));
    *v = json!(v.as_u64().unwrap_or(0) + n);
}

fn rate(num: u64, den: u64) -> Value {
    if den == 0 {
        Value::Null
    } else {
        json!((num as f64 / den as f64 * 10_000.0).round() / 10_000.0)
    }
}

/// The report object: attempted, delivered, bounced by category, reason and
/// receiving domain, complaints, auto-replies, unsubscribes, skipped by reason, and
/// the bounce and complaint rates that mailbox providers watch.
pub fn report_json(
    tenant: &str,
    campaign: Option<&str>,
    from: Option<&str>,
    to: Option<&str>,
    r: &Report,
) -> Value {
    let (mut by_category, mut by_reason, mut by_domain) = (Map::new(), Map::new(), Map::new());
    let (mut delivered, mut bounced, mut complaints, mut auto_replies, mut unsubscribes) =
        (0, 0, 0, 0, 0);
    for o in &r.outcomes {
        match o.kind.as_str() {
            "delivered" => delivered += o.count,
            "complaint" => complaints += o.count,
            "auto_reply" => auto_replies += o.count,
            "unsubscribe" => unsubscribes += o.count,
            "bounce" => {
                bounced += o.count;
                bump(
                    &mut by_category,
                    o.category.as_deref().unwrap_or("other"),
                    o.count,
                );
                bump(
                    &mut by_reason,
                    o.reason.as_deref().unwrap_or("unknown"),
                    o.count,
                );
                if !o.domain.is_empty() {
                    bump(&mut by_domain, &o.domain, o.count);
                }
            }
            _ => {}
        }
    }
    let mut skipped = Map::new();
    let mut skipped_total = 0;
    for (reason, n) in &r.skipped {
        skipped_total += n;
        bump(&mut skipped, reason, *n);
    }
    json!({
        "tenant": tenant,
        "campaign": campaign,
        "from": from,
        "to": to,
        "attempted": r.attempted,
        "delivered": delivered,
        "bounced": {
            "total": bounced,
            "by_category": by_category,
            "by_reason": by_reason,
            "by_domain": by_domain,
        },
        "complaints": complaints,
        "auto_replies": auto_replies,
        "unsubscribes": unsubscribes,
        "skipped": { "total": skipped_total, "by_reason": skipped },
        "rates": {
            "bounce": rate(bounced, delivered + bounced),
            "complaint": rate(complaints, delivered),
        },
    })
}

/// One suppressed address: `status` uses gate's skip-reason names.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SuppressionRow {
    pub address: String,
    pub status: &'static str,
    /// RFC 3339, empty when unknown.
    pub since: String,
}

/// The suppression list of a tenant's marked addresses, sorted by address; soft
/// bouncing addresses are resting, not suppressed, and are left out.
pub fn suppression_rows(marked: Vec<(String, AddressState)>) -> Vec<SuppressionRow> {
    let mut rows: Vec<SuppressionRow> = marked
        .into_iter()
        .filter_map(|(address, s)| {
            let (status, since): (&'static str, Option<Ts>) = match s.status() {
                Status::OptedOut => ("unsubscribed", s.opted_out_at),
                Status::Complained => ("complained", s.complained_at),
                Status::Blocked => ("hard_bounced", s.blocked_at),
                Status::Suppressed => ("suppressed", s.suppressed_at),
                Status::SoftBouncing | Status::Active => return None,
            };
            Some(SuppressionRow {
                address,
                status,
                since: since.map(crate::format_time).unwrap_or_default(),
            })
        })
        .collect();
    rows.sort_by(|a, b| a.address.cmp(&b.address));
    rows
}

/// A CSV field, quoted when it must be (RFC 4180).
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The CSV of a suppression list: `address,channel,status,since`.
pub fn suppression_csv(rows: &[SuppressionRow], channel: &str) -> String {
    let mut out = String::from("address,channel,status,since\n");
    for r in rows {
        out += &format!(
            "{},{channel},{},{}\n",
            csv_field(&r.address),
            r.status,
            r.since
        );
    }
    out
}
