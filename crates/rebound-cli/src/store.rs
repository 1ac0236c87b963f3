//! What the stateful commands share: opening the store the environment names, time
//! as RFC 3339, and addresses normalised per channel.

use anyhow::{Context, Result, anyhow};
use rebound_store::{Channel, Store, Tenant, Ts};
use std::path::Path;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// PostgreSQL when `REBOUND_DATABASE_URL` is set, else `<data dir>/rebound.db`.
pub fn open(data: &Path) -> Result<Box<dyn Store>> {
    let url = std::env::var("REBOUND_DATABASE_URL").ok();
    rebound_store::open(data, url.as_deref()).with_context(|| match &url {
        Some(_) => "cannot open the PostgreSQL store (REBOUND_DATABASE_URL)".to_string(),
        None => format!("cannot open the store in {}", data.display()),
    })
}

/// Parses an RFC 3339 timestamp to Unix seconds (impossible dates are refused).
pub fn parse_time(s: &str) -> Result<Ts, String> {
    OffsetDateTime::parse(s.trim(), &Rfc3339)
        .map(|t| t.unix_timestamp())
        .map_err(|e| format!("`at` {s:?} is not an RFC 3339 time: {e}"))
}

/// `--at` or now.
pub fn at_or_now(at: Option<&str>) -> Result<Ts> {
    match at {
        Some(s) => parse_time(s).map_err(|e| anyhow!(e)),
        None => Ok(OffsetDateTime::now_utc().unix_timestamp()),
    }
}

/// The channel's normal form of an address, or why it is not one.
pub fn normalize(channel: Channel, raw: &str, tenant: &Tenant) -> Result<String, String> {
    match channel {
        Channel::Email => rebound_address::normalize_email(raw),
        Channel::Sms => rebound_address::normalize_phone(raw, tenant.default_country.as_deref()),
    }
    .map_err(|e| format!("{raw:?} is not a valid {} address: {e}", channel.as_str()))
}

/// `--channel` values.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum ChannelArg {
    Email,
    Sms,
}

impl From<ChannelArg> for Channel {
    fn from(c: ChannelArg) -> Channel {
        match c {
            ChannelArg::Email => Channel::Email,
            ChannelArg::Sms => Channel::Sms,
        }
    }
}

/// Loads a tenant or says how to create it.
pub fn tenant(store: &mut dyn Store, name: &str) -> Result<Tenant> {
    store
        .tenant(name)?
        .ok_or_else(|| rebound_store::Error::UnknownTenant(name.to_string()).into())
}
