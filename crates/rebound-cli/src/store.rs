//! What the stateful commands share: opening the store the environment names, time
//! as RFC 3339, and addresses normalised per channel.

use anyhow::{Context, Result, anyhow};
use rebound_store::{Channel, Store, Tenant, Ts};
use std::path::Path;

/// PostgreSQL when `REBOUND_DATABASE_URL` is set, else `<data dir>/rebound.db`.
pub fn open(data: &Path) -> Result<Box<dyn Store>> {
    let url = std::env::var("REBOUND_DATABASE_URL").ok();
    rebound_store::open(data, url.as_deref()).with_context(|| match &url {
        Some(_) => "cannot open the PostgreSQL store (REBOUND_DATABASE_URL)".to_string(),
        None => format!("cannot open the store in {}", data.display()),
    })
}

pub use rebound_pipeline::{normalize, parse_time};

/// `--at` or now.
pub fn at_or_now(at: Option<&str>) -> Result<Ts> {
    match at {
        Some(s) => parse_time(s).map_err(|e| anyhow!(e)),
        None => Ok(rebound_pipeline::now()),
    }
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
