//! Rebound's storage: per tenant, channel and normalised address an append-only
//! history of events (outcomes and admin actions, with who, when and evidence) and
//! the state derived from it; per recipient domain the evidence that it does not
//! exist; tenants with their policy overrides and restriction; campaigns and their
//! send attempts.
//!
//! One trait, [`Store`], with two back ends that pass one test suite:
//! [`SqliteStore`], embedded (the default: a file in the data directory, nothing to
//! install), and [`PgStore`], for several Rebound nodes sharing one PostgreSQL.
//! The trait is synchronous; an async server calls it from blocking threads.
//!
//! Architecture invariant: the store decides nothing. Every state it keeps is
//! `rebound_policy`'s fold of the history it keeps, written in the same transaction
//! as the event, so a reader never sees one without the other, and gating reads the
//! stored fold instead of replaying. Both back ends share that logic (`ops.rs`) and
//! differ only in SQL (`tx.rs` is the seam).

mod codec;
mod error;
mod keys;
mod model;
mod ops;
mod postgres;
mod sqlite;
mod tx;

pub use error::{Error, Result};
pub use keys::{ApiKey, MAX_KEY_LEN, Submission};
pub use model::{
    Appended, Campaign, Channel, Detail, GateSnapshot, Mark, OutcomeCount, PackedState, Packer,
    Record, Report, Sends, Skip, StoredRecord, Tenant,
};
pub use postgres::PgStore;
pub use rebound_policy::{AddressState, DomainState, Ts};
pub use sqlite::SqliteStore;

/// The hash map of gate snapshots. Why not std's: a gate run looks up every
/// recipient of a list of millions, and SipHash was about 450 of the ~3,100
/// instructions a decision cost (callgrind). The keys are a tenant's own
/// addresses, read from its own store and looked up with its own lists.
pub type FastMap<K, V> = std::collections::HashMap<K, V, rustc_hash::FxBuildHasher>;

/// The storage interface. Every method is one transaction: it has happened, durably,
/// when it returns `Ok`, and not at all when it returns `Err`.
pub trait Store: Send {
    /// Creates a tenant; its policy overrides are checked first.
    fn create_tenant(&mut self, tenant: &Tenant) -> Result<()>;
    fn tenant(&mut self, name: &str) -> Result<Option<Tenant>>;
    /// Replaces a tenant's policy overrides (a JSON object of `Policy` fields) and
    /// refolds its histories under the new policy.
    fn set_policy(&mut self, tenant: &str, overrides: &str) -> Result<()>;
    fn set_default_country(&mut self, tenant: &str, country: Option<&str>) -> Result<()>;
    /// Suspends (or lifts the suspension of) a tenant, recorded with who and when.
    fn set_restricted(&mut self, tenant: &str, restricted: bool, by: &str, at: Ts) -> Result<()>;

    /// Appends events in one transaction, in order, and folds each into its address's
    /// and domain's state. Unknown tenants fail the whole batch.
    fn append(&mut self, batch: &[Record]) -> Result<Vec<Appended>>;
    /// An address's history in (at, id) order: the order it is folded in.
    fn history(
        &mut self,
        tenant: &str,
        channel: Channel,
        address: &str,
    ) -> Result<Vec<StoredRecord>>;
    fn state(
        &mut self,
        tenant: &str,
        channel: Channel,
        address: &str,
    ) -> Result<Option<AddressState>>;
    fn domain_state(&mut self, tenant: &str, domain: &str) -> Result<Option<DomainState>>;

    /// Stops a campaign (creating its record if it had none), recorded with who and when.
    fn stop_campaign(&mut self, tenant: &str, campaign: &str, by: &str, at: Ts) -> Result<()>;
    fn campaign(&mut self, tenant: &str, campaign: &str) -> Result<Option<Campaign>>;
    /// Reads, in one transaction, all that gating a list as of `at` depends on.
    fn gate_snapshot(
        &mut self,
        tenant: &str,
        channel: Channel,
        campaign: Option<&str>,
        at: Ts,
    ) -> Result<GateSnapshot>;
    /// Records a gate run's sends (the attempts reports bill and frequency caps
    /// count) and skip counts, in one transaction.
    fn record_gate(&mut self, sends: &Sends, skips: &[Skip]) -> Result<()>;
    /// The counts behind a report, over [from, to]; `campaign` None means all.
    fn report(&mut self, tenant: &str, campaign: Option<&str>, from: Ts, to: Ts) -> Result<Report>;
    /// Every address of a tenant and channel with a mark (opted out, complained,
    /// blocked, suppressed, or soft-bouncing): the suppression list.
    fn marked(&mut self, tenant: &str, channel: Channel) -> Result<Vec<(String, AddressState)>>;
    /// Attempts of one campaign (or of all, with `None`).
    fn count_attempts(&mut self, tenant: &str, campaign: Option<&str>) -> Result<u64>;

    // For the server (`keys.rs`).

    /// Stores an API key of an existing tenant (its hash, never the secret).
    fn create_api_key(&mut self, key: &ApiKey) -> Result<()>;
    /// The key whose secret hashes to `hash`.
    fn api_key(&mut self, hash: &str) -> Result<Option<ApiKey>>;
    /// Appends several submissions in one transaction; a submission whose
    /// idempotency key was seen before is skipped whole (`None`).
    fn append_submissions(&mut self, subs: &[Submission]) -> Result<Vec<Option<Vec<Appended>>>>;
}

/// Implements [`Store`] for a back end that has
/// `fn tx<R>(&mut self, f: impl FnOnce(&mut dyn Tx) -> Result<R>) -> Result<R>`.
macro_rules! store_via_tx {
    ($ty:ty) => {
        impl $crate::Store for $ty {
            fn create_tenant(&mut self, t: &$crate::Tenant) -> $crate::Result<()> {
                self.tx(|tx| $crate::ops::create_tenant(tx, t))
            }
            fn tenant(&mut self, name: &str) -> $crate::Result<Option<$crate::Tenant>> {
                self.tx(|tx| tx.tenant(name))
            }
            fn set_policy(&mut self, tenant: &str, overrides: &str) -> $crate::Result<()> {
                self.tx(|tx| $crate::ops::set_policy(tx, tenant, overrides))
            }
            fn set_default_country(
                &mut self,
                tenant: &str,
                country: Option<&str>,
            ) -> $crate::Result<()> {
                self.tx(|tx| $crate::ops::set_default_country(tx, tenant, country))
            }
            fn set_restricted(
                &mut self,
                tenant: &str,
                restricted: bool,
                by: &str,
                at: $crate::Ts,
            ) -> $crate::Result<()> {
                self.tx(|tx| $crate::ops::set_restricted(tx, tenant, restricted, by, at))
            }
            fn append(
                &mut self,
                batch: &[$crate::Record],
            ) -> $crate::Result<Vec<$crate::Appended>> {
                self.tx(|tx| $crate::ops::append(tx, batch))
            }
            fn history(
                &mut self,
                tenant: &str,
                channel: $crate::Channel,
                address: &str,
            ) -> $crate::Result<Vec<$crate::StoredRecord>> {
                self.tx(|tx| tx.history(tenant, channel, address))
            }
            fn state(
                &mut self,
                tenant: &str,
                channel: $crate::Channel,
                address: &str,
            ) -> $crate::Result<Option<$crate::AddressState>> {
                self.tx(|tx| Ok(tx.address(tenant, channel, address)?.map(|x| x.0)))
            }
            fn domain_state(
                &mut self,
                tenant: &str,
                domain: &str,
            ) -> $crate::Result<Option<$crate::DomainState>> {
                self.tx(|tx| Ok(tx.domain(tenant, domain)?.map(|x| x.0)))
            }
            fn stop_campaign(
                &mut self,
                tenant: &str,
                campaign: &str,
                by: &str,
                at: $crate::Ts,
            ) -> $crate::Result<()> {
                self.tx(|tx| $crate::ops::stop_campaign(tx, tenant, campaign, by, at))
            }
            fn campaign(
                &mut self,
                tenant: &str,
                campaign: &str,
            ) -> $crate::Result<Option<$crate::Campaign>> {
                self.tx(|tx| tx.campaign(tenant, campaign))
            }
            fn gate_snapshot(
                &mut self,
                tenant: &str,
                channel: $crate::Channel,
                campaign: Option<&str>,
                at: $crate::Ts,
            ) -> $crate::Result<$crate::GateSnapshot> {
                self.tx(|tx| $crate::ops::gate_snapshot(tx, tenant, channel, campaign, at))
            }
            fn record_gate(
                &mut self,
                sends: &$crate::Sends,
                skips: &[$crate::Skip],
            ) -> $crate::Result<()> {
                self.tx(|tx| $crate::ops::record_gate(tx, sends, skips))
            }
            fn report(
                &mut self,
                tenant: &str,
                campaign: Option<&str>,
                from: $crate::Ts,
                to: $crate::Ts,
            ) -> $crate::Result<$crate::Report> {
                self.tx(|tx| $crate::ops::report(tx, tenant, campaign, from, to))
            }
            fn marked(
                &mut self,
                tenant: &str,
                channel: $crate::Channel,
            ) -> $crate::Result<Vec<(String, $crate::AddressState)>> {
                self.tx(|tx| {
                    $crate::ops::tenant(tx, tenant)?;
                    let mut out = Vec::new();
                    tx.not_active(tenant, channel, $crate::Ts::MAX, &mut |a, s| {
                        out.push((a, s))
                    })?;
                    Ok(out)
                })
            }
            fn count_attempts(
                &mut self,
                tenant: &str,
                campaign: Option<&str>,
            ) -> $crate::Result<u64> {
                self.tx(|tx| tx.count_attempts(tenant, campaign))
            }
            fn create_api_key(&mut self, key: &$crate::ApiKey) -> $crate::Result<()> {
                self.tx(|tx| $crate::keys::create_api_key(tx, key))
            }
            fn api_key(&mut self, hash: &str) -> $crate::Result<Option<$crate::ApiKey>> {
                self.tx(|tx| tx.api_key(hash))
            }
            fn append_submissions(
                &mut self,
                subs: &[$crate::Submission],
            ) -> $crate::Result<Vec<Option<Vec<$crate::Appended>>>> {
                self.tx(|tx| $crate::keys::append_submissions(tx, subs))
            }
        }
    };
}
pub(crate) use store_via_tx;

/// Opens the store the configuration names: PostgreSQL when `database_url` is given
/// (`postgres://...`), else the embedded database `<data_dir>/rebound.db`.
pub fn open(data_dir: &std::path::Path, database_url: Option<&str>) -> Result<Box<dyn Store>> {
    match database_url {
        Some(url) if !url.is_empty() => Ok(Box::new(PgStore::connect(url)?)),
        _ => Ok(Box::new(SqliteStore::open_dir(data_dir)?)),
    }
}
