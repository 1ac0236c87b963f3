//! The table-level primitives each back end implements inside one transaction. The
//! operations in `ops.rs` are written once on top of them, so both back ends fold
//! events, confirm domains and gate the same way: only the SQL differs.

use crate::error::Result;
use crate::keys::ApiKey;
use crate::model::{Campaign, Channel, OutcomeCount, Record, Sends, Skip, StoredRecord, Tenant};
use rebound_policy::{AddressState, DomainEvidence, DomainState, Ts};
use std::collections::HashMap;

/// (tenant, channel, normalised address): one history.
pub(crate) type AddrKey = (String, Channel, String);
/// (tenant, domain).
pub(crate) type DomainKey = (String, String);

/// One event to insert: its domain evidence (email only) and, for outcomes, the
/// fingerprint that makes retries idempotent.
pub(crate) struct NewEvent<'a> {
    pub record: &'a Record,
    pub domain: Option<(&'a str, DomainEvidence)>,
    pub dedupe: Option<i64>,
}

pub(crate) trait Tx {
    fn tenant(&mut self, name: &str) -> Result<Option<Tenant>>;
    /// False when the name is taken.
    fn insert_tenant(&mut self, t: &Tenant) -> Result<bool>;
    fn update_tenant(&mut self, t: &Tenant) -> Result<()>;
    fn tenant_addresses(&mut self, tenant: &str) -> Result<Vec<(Channel, String)>>;
    fn tenant_domains(&mut self, tenant: &str) -> Result<Vec<String>>;

    /// Appends to a history. `domain` and `evidence` are set for email events that
    /// say something about the domain; `dedupe` for outcomes. False: a duplicate.
    fn insert_event(
        &mut self,
        r: &Record,
        domain: Option<(&str, DomainEvidence)>,
        dedupe: Option<i64>,
    ) -> Result<bool>;
    /// The history of one address, in (at, id) order.
    fn history(
        &mut self,
        tenant: &str,
        channel: Channel,
        address: &str,
    ) -> Result<Vec<StoredRecord>>;
    /// The stored fold and the time of the latest event folded into it.
    fn address(
        &mut self,
        tenant: &str,
        channel: Channel,
        address: &str,
    ) -> Result<Option<(AddressState, Ts)>>;
    fn put_address(
        &mut self,
        tenant: &str,
        channel: Channel,
        address: &str,
        state: &AddressState,
        last_at: Ts,
    ) -> Result<()>;

    fn domain(&mut self, tenant: &str, domain: &str) -> Result<Option<(DomainState, Ts)>>;
    fn put_domain(
        &mut self,
        tenant: &str,
        domain: &str,
        state: &DomainState,
        last_at: Ts,
    ) -> Result<()>;
    /// The domain evidence after the latest delivery to the domain or admin clearing
    /// (either resets the domain's fold, so nothing before it matters), in (at, id)
    /// order.
    fn domain_evidence_since_delivery(
        &mut self,
        tenant: &str,
        domain: &str,
    ) -> Result<Vec<(DomainEvidence, Ts)>>;

    fn campaign(&mut self, tenant: &str, name: &str) -> Result<Option<Campaign>>;
    fn put_campaign(&mut self, c: &Campaign) -> Result<()>;
    /// Stores the sends as one row (nothing when empty).
    fn insert_sends(&mut self, sends: &Sends) -> Result<()>;

    // Set-at-a-time forms. The defaults loop over the row-at-a-time ones, which is
    // right for an embedded database; a networked one overrides them to pay one round
    // trip per batch instead of one per row.

    /// Inserts in order (ids follow the slice); true where inserted, false for a
    /// duplicate of an already stored outcome.
    fn insert_events(&mut self, rows: &[NewEvent<'_>]) -> Result<Vec<bool>> {
        rows.iter()
            .map(|r| self.insert_event(r.record, r.domain, r.dedupe))
            .collect()
    }
    /// The stored folds of these addresses (absent ones are missing from the map).
    fn addresses(&mut self, keys: &[AddrKey]) -> Result<HashMap<AddrKey, (AddressState, Ts)>> {
        let mut out = HashMap::new();
        for k in keys {
            if let Some(v) = self.address(&k.0, k.1, &k.2)? {
                out.insert(k.clone(), v);
            }
        }
        Ok(out)
    }
    fn put_addresses(&mut self, rows: &[(AddrKey, AddressState, Ts)]) -> Result<()> {
        for (k, s, last) in rows {
            self.put_address(&k.0, k.1, &k.2, s, *last)?;
        }
        Ok(())
    }
    fn domains(&mut self, keys: &[DomainKey]) -> Result<HashMap<DomainKey, (DomainState, Ts)>> {
        let mut out = HashMap::new();
        for k in keys {
            if let Some(v) = self.domain(&k.0, &k.1)? {
                out.insert(k.clone(), v);
            }
        }
        Ok(out)
    }
    fn put_domains(&mut self, rows: &[(DomainKey, DomainState, Ts)]) -> Result<()> {
        for (k, s, last) in rows {
            self.put_domain(&k.0, &k.1, s, *last)?;
        }
        Ok(())
    }
    fn count_attempts(&mut self, tenant: &str, campaign: Option<&str>) -> Result<u64>;
    fn insert_skips(&mut self, rows: &[Skip]) -> Result<()>;
    /// Counts for a report over [from, to]; `campaign` None means all.
    fn attempts_between(
        &mut self,
        tenant: &str,
        campaign: Option<&str>,
        from: Ts,
        to: Ts,
    ) -> Result<u64>;
    fn skips_between(
        &mut self,
        tenant: &str,
        campaign: Option<&str>,
        from: Ts,
        to: Ts,
    ) -> Result<Vec<(String, u64)>>;
    fn outcomes_between(
        &mut self,
        tenant: &str,
        campaign: Option<&str>,
        from: Ts,
        to: Ts,
    ) -> Result<Vec<OutcomeCount>>;
    /// Tenant and campaign actions (address actions live in the address history).
    fn audit(&mut self, tenant: &str, at: Ts, by: &str, action: &str, subject: &str) -> Result<()>;

    /// Addresses with a mark or a soft bounce at or after `soft_since`, handed to
    /// `each` as they are read (a million of them need not sit in a list first).
    fn not_active(
        &mut self,
        tenant: &str,
        channel: Channel,
        soft_since: Ts,
        each: &mut dyn FnMut(String, crate::PackedState),
    ) -> Result<()>;
    fn nonexistent_domains(&mut self, tenant: &str) -> Result<Vec<String>>;
    /// Sends in (from, until], as (address, at): a window ending now includes sends
    /// recorded at this very instant.
    fn sends_between(
        &mut self,
        tenant: &str,
        channel: Channel,
        from: Ts,
        until: Ts,
    ) -> Result<Vec<(String, Ts)>>;

    // The server's tables (`keys.rs`).

    /// False when the id or hash is taken.
    fn insert_api_key(&mut self, key: &ApiKey) -> Result<bool>;
    fn api_key(&mut self, hash: &str) -> Result<Option<ApiKey>>;
    /// Records an idempotency key; false when it was already recorded.
    fn claim_key(&mut self, tenant: &str, key: &str, at: Ts) -> Result<bool>;
}
