//! How values are written to and read from columns, shared by both back ends so that
//! a database written by one reads the same through the other.

use crate::error::{Error, Result};
use crate::model::{Channel, Detail, Mark};
use rebound_policy::{DomainEvidence, Event};
use rebound_vocab::Reason;

/// The recipient's domain of an email event (every email event carries it, for
/// reports by receiving domain); none for SMS.
pub(crate) fn recipient_domain(r: &crate::model::Record) -> Option<&str> {
    match r.channel {
        Channel::Email => r.address.rsplit_once('@').map(|(_, d)| d),
        Channel::Sms => None,
    }
}

/// A bounce's category, in its own column for reports.
pub(crate) fn event_category(e: &Event) -> Option<&'static str> {
    match e {
        Event::Bounce { category, .. } => Some(category.as_str()),
        _ => None,
    }
}

pub(crate) fn event_json(e: &Event) -> String {
    serde_json::to_string(e).expect("events serialise")
}

/// The event's tag (`bounce`, `opt_in` ...), kept in its own column for reports.
pub(crate) fn event_kind(e: &Event) -> &'static str {
    match e {
        Event::Delivered => "delivered",
        Event::Bounce { .. } => "bounce",
        Event::Complaint => "complaint",
        Event::Unsubscribe => "unsubscribe",
        Event::AutoReply => "auto_reply",
        Event::Unblock { .. } => "unblock",
        Event::OptOut { .. } => "opt_out",
        Event::OptIn { .. } => "opt_in",
        Event::UnblockDomain { .. } => "unblock_domain",
    }
}

pub(crate) fn parse_event(s: &str) -> Result<Event> {
    serde_json::from_str(s).map_err(|e| Error::Corrupt(format!("event {s:?}: {e}")))
}

pub(crate) fn detail_json(d: &Detail) -> Option<String> {
    (!d.is_empty()).then(|| serde_json::to_string(d).expect("details serialise"))
}

pub(crate) fn parse_detail(s: Option<String>) -> Result<Detail> {
    match s {
        None => Ok(Detail::default()),
        Some(s) => serde_json::from_str(&s).map_err(|e| Error::Corrupt(format!("detail: {e}"))),
    }
}

pub(crate) fn parse_reason(s: Option<String>) -> Result<Option<Reason>> {
    s.map(|r| {
        r.parse()
            .map_err(|_| Error::Corrupt(format!("reason {r:?}")))
    })
    .transpose()
}

pub(crate) fn parse_channel(s: &str) -> Result<Channel> {
    Channel::parse(s).ok_or_else(|| Error::Corrupt(format!("channel {s:?}")))
}

pub(crate) fn evidence_str(e: DomainEvidence) -> &'static str {
    match e {
        DomainEvidence::BadDomain => "bad_domain",
        DomainEvidence::NotAccepting => "not_accepting",
        DomainEvidence::Delivered => "delivered",
        DomainEvidence::Cleared => "cleared",
    }
}

pub(crate) fn parse_evidence(s: &str) -> Result<DomainEvidence> {
    match s {
        "bad_domain" => Ok(DomainEvidence::BadDomain),
        "not_accepting" => Ok(DomainEvidence::NotAccepting),
        "delivered" => Ok(DomainEvidence::Delivered),
        "cleared" => Ok(DomainEvidence::Cleared),
        _ => Err(Error::Corrupt(format!("domain evidence {s:?}"))),
    }
}

pub(crate) fn mark(by: Option<String>, at: Option<i64>) -> Option<Mark> {
    Some(Mark { by: by?, at: at? })
}

/// Timestamps of a state, in column order: blocked, suppressed, complained, opted
/// out, last soft bounce, last delivered.
pub(crate) const STATE_COLUMNS: &str = "blocked_at, suppressed_at, complained_at, opted_out_at, \
     soft_streak, last_soft_bounce_at, last_delivered_at";

/// The schema, in the SQL both dialects understand; `id` is the auto-increment
/// primary key and `blob` the bytes type, which they spell differently, and
/// `keyed` what follows a table keyed by its primary key alone (SQLite's
/// `WITHOUT ROWID`: one B-tree instead of a table and an index beside it).
///
/// The two partial indexes on `addresses` ([`PACKED_INDEXES`]) are created after
/// this, once every row has its `packed` state.
///
/// Why so few indexes on `events`: every index is paid on every ingested event. A
/// history is read through the unique dedupe index (its prefix is the address) and
/// sorted, which costs little for one address; a campaign index holds only events
/// that name a campaign.
pub(crate) fn schema(id: &str, blob: &str, keyed: &str) -> String {
    format!(
        "
CREATE TABLE IF NOT EXISTS rebound_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tenants (
    name TEXT PRIMARY KEY,
    default_country TEXT,
    policy TEXT NOT NULL DEFAULT '{{}}',
    restricted_by TEXT,
    restricted_at BIGINT
);
CREATE TABLE IF NOT EXISTS events (
    id {id},
    tenant TEXT NOT NULL,
    channel TEXT NOT NULL,
    address TEXT NOT NULL,
    at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    event TEXT NOT NULL,
    category TEXT,
    reason TEXT,
    campaign TEXT,
    detail TEXT,
    domain TEXT,
    evidence TEXT,
    dedupe BIGINT
);
DROP INDEX IF EXISTS events_by_address;
CREATE INDEX IF NOT EXISTS events_by_domain ON events (tenant, domain, at, id) WHERE evidence IS NOT NULL;
CREATE INDEX IF NOT EXISTS events_by_campaign ON events (tenant, campaign, at)
    WHERE campaign IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS events_dedupe ON events (address, tenant, channel, dedupe);
CREATE TABLE IF NOT EXISTS addresses (
    tenant TEXT NOT NULL,
    channel TEXT NOT NULL,
    address TEXT NOT NULL,
    status TEXT NOT NULL,
    blocked_at BIGINT,
    suppressed_at BIGINT,
    complained_at BIGINT,
    opted_out_at BIGINT,
    soft_streak BIGINT NOT NULL,
    last_soft_bounce_at BIGINT,
    last_delivered_at BIGINT,
    last_at BIGINT NOT NULL,
    packed {blob},
    PRIMARY KEY (address, tenant, channel)
){keyed};
DROP INDEX IF EXISTS addresses_not_active;
DROP INDEX IF EXISTS addresses_soft;
DROP INDEX IF EXISTS addresses_marked;
DROP INDEX IF EXISTS addresses_resting;
CREATE TABLE IF NOT EXISTS domains (
    tenant TEXT NOT NULL,
    domain TEXT NOT NULL,
    bad_count BIGINT NOT NULL,
    bad_first_at BIGINT,
    bad_last_at BIGINT,
    nonexistent_since BIGINT,
    last_at BIGINT NOT NULL,
    PRIMARY KEY (tenant, domain)
);
CREATE TABLE IF NOT EXISTS campaigns (
    tenant TEXT NOT NULL,
    name TEXT NOT NULL,
    stopped_by TEXT,
    stopped_at BIGINT,
    PRIMARY KEY (tenant, name)
);
CREATE TABLE IF NOT EXISTS sends (
    id {id},
    tenant TEXT NOT NULL,
    campaign TEXT,
    channel TEXT NOT NULL,
    at BIGINT NOT NULL,
    count BIGINT NOT NULL,
    addresses {blob} NOT NULL
);
CREATE INDEX IF NOT EXISTS sends_by_time ON sends (tenant, channel, at);
CREATE INDEX IF NOT EXISTS sends_by_campaign ON sends (tenant, campaign);
CREATE TABLE IF NOT EXISTS skips (
    tenant TEXT NOT NULL,
    campaign TEXT,
    channel TEXT NOT NULL,
    at BIGINT NOT NULL,
    reason TEXT NOT NULL,
    count BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS skips_by_campaign ON skips (tenant, campaign, at);
CREATE TABLE IF NOT EXISTS audit (
    id {id},
    tenant TEXT NOT NULL,
    at BIGINT NOT NULL,
    by_whom TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL
);
"
    )
}

/// The partial indexes a gate snapshot reads, each carrying the address's state in
/// its one `packed` column ([`PackedState::to_bytes`](crate::PackedState::to_bytes)):
/// a million marked addresses come from the index alone, where a plain index cost a
/// B-tree lookup into the table per address (8,500 instructions each), and one
/// column instead of seven (see `to_bytes`). (`status` is in both so that the
/// index covers the query: SQLite does not take a partial index's condition as
/// proof that a row meets the query's.)
pub(crate) const PACKED_INDEXES: &str = "
CREATE INDEX IF NOT EXISTS addresses_marked_state ON addresses (tenant, channel, status, packed)
    WHERE status <> 'active';
CREATE INDEX IF NOT EXISTS addresses_resting_packed ON addresses (tenant, channel,
    last_soft_bounce_at, status, packed) WHERE last_soft_bounce_at IS NOT NULL;
";

/// Rows written before the `packed` column existed: their key and state columns,
/// to be given their packed state once, on opening.
pub(crate) const UNPACKED_ROWS: &str = "SELECT tenant, channel, address, blocked_at, \
    suppressed_at, complained_at, opted_out_at, soft_streak, last_soft_bounce_at, \
    last_delivered_at FROM addresses WHERE packed IS NULL";

/// A stored `packed` value read back.
pub(crate) fn parse_packed(b: &[u8]) -> Result<crate::PackedState> {
    crate::PackedState::from_bytes(b)
        .ok_or_else(|| Error::Corrupt(format!("packed address state {b:?}")))
}

pub(crate) fn status_str(s: &rebound_policy::AddressState) -> &'static str {
    use rebound_policy::Status::*;
    match s.status() {
        Active => "active",
        SoftBouncing => "soft_bouncing",
        Blocked => "blocked",
        Suppressed => "suppressed",
        Complained => "complained",
        OptedOut => "opted_out",
    }
}

/// A stable 64-bit FNV-1a hash of some strings, each ended by a byte that UTF-8 never
/// contains (so ("ab","c") and ("a","bc") differ).
pub(crate) fn fnv(parts: &[&[u8]]) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for &x in p.iter().chain([0xffu8].iter()) {
            h ^= u64::from(x);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h as i64
}

/// The addresses of a stored `sends` row, unpacked. The stored form is
/// [`Sends::packed`](crate::Sends::packed): zstd frames whose contents, in a row,
/// are the addresses each ended by a line feed (rows written before frames were
/// sealed per part hold one frame of addresses joined by line feeds; both read
/// alike). Why compressed: a gate run records every send, and writing the raw
/// addresses made the disk, not the decisions, the limit (1M sends: 2.0 s with raw
/// text, most of it waiting on writes).
pub(crate) fn unpack_sends(blob: &[u8]) -> Result<Vec<String>> {
    if blob.is_empty() {
        return Ok(Vec::new());
    }
    let raw = zstd::stream::decode_all(blob)
        .map_err(|e| crate::Error::Backend(format!("stored sends are corrupt: {e}")))?;
    let text = String::from_utf8(raw)
        .map_err(|_| crate::Error::Backend("stored sends are not UTF-8".into()))?;
    Ok(text
        .split('\n')
        .filter(|a| !a.is_empty())
        .map(str::to_string)
        .collect())
}

/// Before sends were stored a run to a row, each was a row of `attempts`. This
/// query reads them grouped into runs (`{agg}(address, {sep})` is each dialect's
/// string aggregate); the back end stores each run as a `sends` row and drops the
/// old table, in one transaction.
pub(crate) const OLD_ATTEMPTS: &str = "\
SELECT tenant, campaign, channel, at, {agg}(address, {sep}) FROM attempts \
GROUP BY tenant, campaign, channel, at";

/// One run of old attempt rows as [`Sends`](crate::Sends).
pub(crate) fn old_run(
    tenant: &str,
    campaign: Option<&str>,
    channel: &str,
    at: rebound_policy::Ts,
    joined: &str,
) -> Result<crate::Sends> {
    let channel = Channel::parse(channel)
        .ok_or_else(|| crate::Error::Backend(format!("unknown channel {channel:?} in attempts")))?;
    let mut s = crate::Sends::new(tenant, campaign, channel, at);
    for a in joined.split('\n') {
        s.push(a);
    }
    Ok(s)
}
