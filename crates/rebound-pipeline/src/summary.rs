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
///
/// `billable` is the sends gate recorded (`attempted`); skipped recipients are
/// counted apart and never billed. `by_domain` has every outcome per recipient
/// domain (email only), `bounced.by_domain` the bounces alone.
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
    let mut domains: Map<String, Value> = Map::new();
    for o in &r.outcomes {
        if !o.domain.is_empty()
            && let Some(key) = match o.kind.as_str() {
                "delivered" => Some("delivered"),
                "bounce" => Some("bounced"),
                "complaint" => Some("complaints"),
                "auto_reply" => Some("auto_replies"),
                "unsubscribe" => Some("unsubscribes"),
                _ => None,
            }
        {
            let d = domains.entry(o.domain.clone()).or_insert_with(|| {
                json!({"delivered": 0, "bounced": 0, "complaints": 0, "auto_replies": 0, "unsubscribes": 0})
            });
            if let Some(m) = d.as_object_mut() {
                bump(m, key, o.count);
            }
        }
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
        "billable": r.attempted,
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
        "by_domain": domains,
        "rates": {
            "bounce": rate(bounced, delivered + bounced),
            "complaint": rate(complaints, delivered),
        },
    })
}

/// The report object as an aligned table for people (`rebound report --format
/// table`): the same numbers as the JSON, counts right-aligned, breakdowns
/// largest first, and one row per recipient domain.
pub fn report_table(report: &Value) -> String {
    let n = |v: &Value| v.as_u64().unwrap_or(0);
    let pct = |v: &Value| v.as_f64().map(|x| format!("{:.2}%", x * 100.0));
    let sorted = |v: &Value| {
        let mut rows: Vec<(String, u64)> = v
            .as_object()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), n(v))).collect())
            .unwrap_or_default();
        rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        rows
    };
    // (indent, label, count, note)
    let mut lines: Vec<(usize, String, u64, String)> = Vec::new();
    let mut line = |indent: usize, label: &str, count: u64, note: Option<String>| {
        lines.push((indent, label.to_string(), count, note.unwrap_or_default()));
    };
    line(0, "attempted (billed)", n(&report["attempted"]), None);
    line(0, "delivered", n(&report["delivered"]), None);
    let b = &report["bounced"];
    line(
        0,
        "bounced",
        n(&b["total"]),
        pct(&report["rates"]["bounce"]).map(|p| format!("bounce rate {p}")),
    );
    // Bounces by domain are in the domain table below.
    for (title, key) in [("by category", "by_category"), ("by reason", "by_reason")] {
        let rows = sorted(&b[key]);
        if !rows.is_empty() {
            line(2, title, u64::MAX, None);
            for (k, c) in rows {
                line(4, &k, c, None);
            }
        }
    }
    line(
        0,
        "complaints",
        n(&report["complaints"]),
        pct(&report["rates"]["complaint"]).map(|p| format!("complaint rate {p}")),
    );
    line(0, "auto-replies", n(&report["auto_replies"]), None);
    line(0, "unsubscribes", n(&report["unsubscribes"]), None);
    line(
        0,
        "skipped (not billed)",
        n(&report["skipped"]["total"]),
        None,
    );
    for (k, c) in sorted(&report["skipped"]["by_reason"]) {
        line(2, &k, c, None);
    }

    let mut scope = format!("tenant {}", report["tenant"].as_str().unwrap_or(""));
    if let Some(c) = report["campaign"].as_str() {
        scope += &format!(", campaign {c}");
    }
    let from = report["from"].as_str().unwrap_or("the beginning");
    let to = report["to"].as_str().unwrap_or("the end");
    let mut out = format!("report for {scope}, from {from} to {to}\n\n");
    let label_w = lines.iter().map(|l| l.0 + l.1.len()).max().unwrap_or(0);
    let count_w = lines
        .iter()
        .filter(|l| l.2 != u64::MAX)
        .map(|l| l.2.to_string().len())
        .max()
        .unwrap_or(1);
    for (indent, label, count, note) in &lines {
        let head = format!("{:indent$}{label}", "");
        let row = if *count == u64::MAX {
            head
        } else {
            let row = format!("{head:<label_w$}  {count:>count_w$}");
            if note.is_empty() {
                row
            } else {
                format!("{row}  {note}")
            }
        };
        out += row.trim_end();
        out.push('\n');
    }

    let columns = [
        ("delivered", "delivered"),
        ("bounced", "bounced"),
        ("complaints", "complaints"),
        ("auto-replies", "auto_replies"),
        ("unsubscribes", "unsubscribes"),
    ];
    let mut domains: Vec<(&String, &Value)> = report["by_domain"]
        .as_object()
        .map(|m| m.iter().collect())
        .unwrap_or_default();
    if !domains.is_empty() {
        domains.sort_by(|a, b| {
            n(&b.1["bounced"])
                .cmp(&n(&a.1["bounced"]))
                .then_with(|| a.0.cmp(b.0))
        });
        let dom_w = domains
            .iter()
            .map(|d| d.0.len())
            .chain(["domain".len()])
            .max()
            .unwrap_or(6);
        out += &format!("\n{:<dom_w$}", "domain");
        for (title, _) in columns {
            out += &format!("  {title:>w$}", w = title.len());
        }
        out.push('\n');
        for (d, v) in domains {
            out += &format!("{d:<dom_w$}");
            for (title, key) in columns {
                out += &format!("  {:>w$}", n(&v[key]), w = title.len());
            }
            out.push('\n');
        }
    }
    out
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
