//! What the server needs from the store beyond histories: per-tenant API keys
//! (stored as hashes, never the key itself), and submissions appended under an
//! idempotency key (a client's `Idempotency-Key`, a provider's event id, a bounce
//! message's content hash), so a retried request or a redelivered message is
//! stored once even when its content would not be recognised as a duplicate (a
//! Twilio callback carries no time of its own).
//!
//! Kept apart from the rest of the store so that its tables and operations can be
//! read on their own: two tables, three operations.

use crate::error::{Error, Result};
use crate::model::{Appended, Record};
use crate::tx::Tx;
use rebound_policy::Ts;

/// An API key as stored: its public id, tenant and the SHA-256 of the secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKey {
    /// The part of the key that may be shown (`rbk_<id>_...`).
    pub id: String,
    pub tenant: String,
    /// Lower-case hex SHA-256 of the whole key string.
    pub hash: String,
    pub label: String,
    pub created_at: Ts,
}

/// Records to append together, once: when `key` (scoped to `tenant`) has been
/// seen, nothing is appended.
#[derive(Clone, Debug, PartialEq)]
pub struct Submission {
    pub tenant: String,
    pub key: Option<String>,
    pub at: Ts,
    pub records: Vec<Record>,
}

/// The longest idempotency key kept (longer ones are refused, not cut: two
/// different long keys must not collide).
pub const MAX_KEY_LEN: usize = 512;

/// The extra tables, in the SQL both dialects understand.
pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL REFERENCES tenants (name),
    hash TEXT NOT NULL UNIQUE,
    label TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS idempotency_keys (
    tenant TEXT NOT NULL,
    key TEXT NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (tenant, key)
);
";

pub(crate) fn create_api_key(tx: &mut dyn Tx, key: &ApiKey) -> Result<()> {
    crate::ops::tenant(tx, &key.tenant)?;
    if !tx.insert_api_key(key)? {
        return Err(Error::Invalid(format!("API key id {} exists", key.id)));
    }
    tx.audit(
        &key.tenant,
        key.created_at,
        &key.label,
        "api_key_create",
        &key.id,
    )
}

/// Claims every submission's key, then appends the records of the new ones in one
/// batch, and hands each submission its own results (`None`: already seen).
pub(crate) fn append_submissions(
    tx: &mut dyn Tx,
    subs: &[Submission],
) -> Result<Vec<Option<Vec<Appended>>>> {
    let mut fresh = Vec::with_capacity(subs.len());
    for s in subs {
        let new = match &s.key {
            None => true,
            Some(k) if k.len() > MAX_KEY_LEN || k.is_empty() => {
                return Err(Error::Invalid(format!(
                    "an idempotency key has 1 to {MAX_KEY_LEN} bytes"
                )));
            }
            Some(k) => tx.claim_key(&s.tenant, k, s.at)?,
        };
        fresh.push(new);
    }
    let batch: Vec<Record> = subs
        .iter()
        .zip(&fresh)
        .filter(|(_, new)| **new)
        .flat_map(|(s, _)| s.records.iter().cloned())
        .collect();
    let mut results = crate::ops::append(tx, &batch)?.into_iter();
    Ok(subs
        .iter()
        .zip(fresh)
        .map(|(s, new)| new.then(|| results.by_ref().take(s.records.len()).collect()))
        .collect())
}
