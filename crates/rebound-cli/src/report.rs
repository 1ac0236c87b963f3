//! `rebound report`: what a campaign (or a whole tenant) did over a time range
//! (SPEC §5): attempted, delivered, bounced by category, reason and receiving domain,
//! complaints, auto-replies, unsubscribes, skipped by reason, and the bounce and
//! complaint rates that mailbox providers watch. One JSON object.

use crate::store::parse_time;
use anyhow::{Result, anyhow};
use rebound_store::Ts;
use serde_json::{Map, Value, json};
use std::path::Path;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    tenant: String,
    /// One campaign (default: everything the tenant sent).
    #[arg(long)]
    campaign: Option<String>,
    /// Start of the range, RFC 3339, inclusive (default: the beginning).
    #[arg(long)]
    from: Option<String>,
    /// End of the range, RFC 3339, inclusive (default: the end).
    #[arg(long)]
    to: Option<String>,
}

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

pub fn run(args: Args, data: &Path) -> Result<ExitCode> {
    let time = |s: &Option<String>, default: Ts| -> Result<Ts> {
        s.as_deref()
            .map_or(Ok(default), |s| parse_time(s).map_err(|e| anyhow!(e)))
    };
    let from = time(&args.from, Ts::MIN)?;
    let to = time(&args.to, Ts::MAX)?;
    let mut store = crate::store::open(data)?;
    let r = store.report(&args.tenant, args.campaign.as_deref(), from, to)?;

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
    let report = json!({
        "tenant": args.tenant,
        "campaign": args.campaign,
        "from": args.from,
        "to": args.to,
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
    });
    println!("{report}");
    Ok(ExitCode::SUCCESS)
}
