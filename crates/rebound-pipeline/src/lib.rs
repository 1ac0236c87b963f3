//! The steps between an input and the store that every edge of Rebound shares: the
//! CLI (`rebound ingest`, `rebound gate`), the HTTP API and its provider webhooks, and
//! the SMTP bounce receiver all turn what they read into the same [`Report`], and a
//! report into the same stored [`Record`](rebound_store::Record), so the same bounce
//! gets the same verdict whichever way it arrived.
//!
//! - [`report`]: an outcome report (what a source says happened to one recipient)
//!   and its classification into a record.
//! - [`event_line`]: the JSON event of `rebound ingest` and `POST /v1/events`.
//! - [`message`]: a decoded bounce message (DSN, ARF, auto-reply) into reports.
//! - [`sms`]: SMS gateway codes, SMPP receipt states and STOP words (a data table).
//! - [`gate`]: one recipient at a time into `send` or `skip`, against a snapshot.
//! - [`summary`]: reports and suppression lists as people and tools read them.
//!
//! Architecture invariant: no IO. Callers hand in tenants, snapshots and bytes; this
//! crate hands back records and decisions.

pub mod event_line;
pub mod gate;
pub mod message;
pub mod report;
pub mod sms;
pub mod summary;

pub use report::{Fact, Fallback, Report, to_record};

use rebound_store::{Channel, Tenant, Ts};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Parses an RFC 3339 timestamp to Unix seconds (impossible dates are refused).
pub fn parse_time(s: &str) -> Result<Ts, String> {
    OffsetDateTime::parse(s.trim(), &Rfc3339)
        .map(|t| t.unix_timestamp())
        .map_err(|e| format!("`at` {s:?} is not an RFC 3339 time: {e}"))
}

/// Unix seconds as RFC 3339 (UTC); out-of-range values print as the epoch.
pub fn format_time(t: Ts) -> String {
    OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".into())
}

/// Now, in Unix seconds.
pub fn now() -> Ts {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// The channel's normal form of an address, or why it is not one.
pub fn normalize(channel: Channel, raw: &str, tenant: &Tenant) -> Result<String, String> {
    match channel {
        Channel::Email => rebound_address::normalize_email(raw),
        Channel::Sms => rebound_address::normalize_phone(raw, tenant.default_country.as_deref()),
    }
    .map_err(|e| format!("{raw:?} is not a valid {} address: {e}", channel.as_str()))
}
