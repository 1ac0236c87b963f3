//! The embedded back end: one SQLite file, `<data dir>/rebound.db`, compiled in
//! (rusqlite's `bundled` feature), so a fresh machine needs nothing installed.
//!
//! Write-ahead log with `synchronous=FULL`: a transaction that returned is on disk
//! even if the machine loses power right after, which is what "acknowledged only
//! after it is durably stored" (SPEC §7) needs. Readers do not block the writer.

use crate::codec::*;
use crate::error::{Error, Result};
use crate::keys::ApiKey;
use crate::model::{
    Campaign, Channel, OutcomeCount, PackedState, Record, Sends, Skip, StoredRecord, Tenant,
};
use crate::tx::Tx;
use rebound_policy::{AddressState, DomainEvidence, DomainState, Ts};
use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};
use std::path::Path;

pub struct SqliteStore {
    conn: Connection,
}

impl SqliteStore {
    /// Records per append at most: large enough that the per-commit fsync is paid
    /// rarely, small enough that a crash loses little unacknowledged work (a
    /// producer resends what was not acknowledged).
    ///
    /// Why this many: each commit writes every B-tree page its events touched to
    /// the WAL, and ten thousand new addresses spread over a million touch most
    /// leaf pages of each index anyway. Seeding 1M addresses through `rebound
    /// ingest` took 37.4 s in batches of 10,000 (7.9 s of it system time), 20.1 s
    /// in batches of 50,000 and 19.4 s in batches of 100,000 (peak RSS 575 MB and
    /// 628 MB, most of it mapped pages; two runs each, read from a file).
    pub const MAX_BATCH: usize = 100_000;

    /// Opens (creating if needed) `<dir>/rebound.db`.
    pub fn open_dir(dir: &Path) -> Result<SqliteStore> {
        std::fs::create_dir_all(dir).map_err(|e| {
            Error::Backend(format!(
                "cannot create data directory {}: {e}",
                dir.display()
            ))
        })?;
        SqliteStore::open(&dir.join("rebound.db"))
    }

    pub fn open(path: &Path) -> Result<SqliteStore> {
        let mut conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(30))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // Why these sizes: with a million addresses the indexes outgrow SQLite's 2 MB
        // default page cache, and every insert then reads pages back through system
        // calls. A 64 MB cache (a ceiling, not an allocation) and memory-mapped reads
        // keep them in memory; checkpointing every 16 MB of WAL instead of 4 MB means
        // fewer, larger copies into the database file.
        conn.pragma_update(None, "cache_size", -65536)?;
        conn.pragma_update(None, "mmap_size", 1i64 << 30)?;
        conn.pragma_update(None, "wal_autocheckpoint", 4000)?;
        conn.execute_batch(&schema("INTEGER PRIMARY KEY", "BLOB", " WITHOUT ROWID"))?;
        conn.execute_batch(crate::keys::SCHEMA)?;
        let has_packed: bool = conn.query_row(
            "SELECT count(*) FROM pragma_table_info('addresses') WHERE name = 'packed'",
            [],
            |r| r.get::<_, i64>(0).map(|n| n > 0),
        )?;
        if !has_packed {
            pack_states(&mut conn)?;
        }
        conn.execute_batch(PACKED_INDEXES)?;
        let old: Option<i64> = conn
            .query_row(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'attempts'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        if old.is_some() {
            migrate_attempts(&mut conn)?;
        }
        Ok(SqliteStore { conn })
    }

    fn tx<R>(&mut self, f: impl FnOnce(&mut dyn Tx) -> Result<R>) -> Result<R> {
        // IMMEDIATE: take the write lock up front, so two writers queue on the busy
        // timeout instead of one failing at its first write.
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let r = f(&mut SqliteTx(&tx))?;
        tx.commit()?;
        Ok(r)
    }
}

/// Adds the `packed` column to a database written before it and gives every row
/// its packed state, in one transaction (new databases are created with it).
fn pack_states(conn: &mut Connection) -> Result<()> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    tx.execute_batch("ALTER TABLE addresses ADD COLUMN packed BLOB")?;
    {
        let mut read = tx.prepare(UNPACKED_ROWS)?;
        let mut write = tx.prepare(
            "UPDATE addresses SET packed = ?1 WHERE tenant = ?2 AND channel = ?3 AND address = ?4",
        )?;
        let mut rows = read.query([])?;
        while let Some(r) = rows.next()? {
            let (tenant, channel, address): (String, String, String) =
                (r.get(0)?, r.get(1)?, r.get(2)?);
            let packed = PackedState::pack(&state_from(r, 3)?).to_bytes();
            write.execute(params![packed, tenant, channel, address])?;
        }
    }
    tx.commit()?;
    Ok(())
}

/// Folds a database's old per-send `attempts` rows into `sends` rows.
fn migrate_attempts(conn: &mut Connection) -> Result<()> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let q = OLD_ATTEMPTS
        .replace("{sep}", "char(10)")
        .replace("{agg}", "group_concat");
    let runs: Vec<(String, Option<String>, String, Ts, String)> = tx
        .prepare(&q)?
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    for (tenant, campaign, channel, at, joined) in runs {
        let s = old_run(&tenant, campaign.as_deref(), &channel, at, &joined)?;
        SqliteTx(&tx).insert_sends(&s)?;
    }
    tx.execute_batch("DROP TABLE attempts")?;
    tx.commit()?;
    Ok(())
}

crate::store_via_tx!(SqliteStore);

struct SqliteTx<'a, 'c>(&'a Transaction<'c>);

fn state_from(row: &Row<'_>, first: usize) -> rusqlite::Result<AddressState> {
    Ok(AddressState {
        blocked_at: row.get(first)?,
        suppressed_at: row.get(first + 1)?,
        complained_at: row.get(first + 2)?,
        opted_out_at: row.get(first + 3)?,
        soft_streak: row.get::<_, i64>(first + 4)?.clamp(0, u32::MAX as i64) as u32,
        last_soft_bounce_at: row.get(first + 5)?,
        last_delivered_at: row.get(first + 6)?,
    })
}

/// A tenant row: name, default country, policy overrides, restricted by, at.
type TenantRow = (String, Option<String>, String, Option<String>, Option<i64>);

fn tenant_from(row: &Row<'_>) -> rusqlite::Result<TenantRow> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
    ))
}

impl Tx for SqliteTx<'_, '_> {
    fn tenant(&mut self, name: &str) -> Result<Option<Tenant>> {
        let row = self
            .0
            .prepare_cached(
                "SELECT name, default_country, policy, restricted_by, restricted_at FROM tenants WHERE name = ?1",
            )?
            .query_row([name], tenant_from)
            .optional()?;
        let Some((name, default_country, overrides, by, at)) = row else {
            return Ok(None);
        };
        let policy = Tenant::parse_policy(&overrides).map_err(Error::Corrupt)?;
        Ok(Some(Tenant {
            name,
            default_country,
            policy_overrides: overrides,
            policy,
            restricted: mark(by, at),
        }))
    }

    fn insert_tenant(&mut self, t: &Tenant) -> Result<bool> {
        let n = self
            .0
            .prepare_cached(
                "INSERT INTO tenants (name, default_country, policy, restricted_by, restricted_at) \
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (name) DO NOTHING",
            )?
            .execute(params![
                t.name,
                t.default_country,
                t.policy_overrides,
                t.restricted.as_ref().map(|m| &m.by),
                t.restricted.as_ref().map(|m| m.at)
            ])?;
        Ok(n == 1)
    }

    fn update_tenant(&mut self, t: &Tenant) -> Result<()> {
        self.0.prepare_cached(
            "UPDATE tenants SET default_country = ?2, policy = ?3, restricted_by = ?4, restricted_at = ?5 \
             WHERE name = ?1",
        )?
        .execute(params![
            t.name,
            t.default_country,
            t.policy_overrides,
            t.restricted.as_ref().map(|m| &m.by),
            t.restricted.as_ref().map(|m| m.at)
        ])?;
        Ok(())
    }

    fn tenant_addresses(&mut self, tenant: &str) -> Result<Vec<(Channel, String)>> {
        let mut st = self
            .0
            .prepare_cached("SELECT channel, address FROM addresses WHERE tenant = ?1")?;
        let rows = st.query_map([tenant], |r| Ok((r.get::<_, String>(0)?, r.get(1)?)))?;
        rows.map(|r| {
            let (c, a) = r?;
            Ok((parse_channel(&c)?, a))
        })
        .collect()
    }

    fn tenant_domains(&mut self, tenant: &str) -> Result<Vec<String>> {
        let mut st = self
            .0
            .prepare_cached("SELECT domain FROM domains WHERE tenant = ?1")?;
        let rows = st.query_map([tenant], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn insert_event(
        &mut self,
        r: &Record,
        domain: Option<(&str, DomainEvidence)>,
        dedupe: Option<i64>,
    ) -> Result<bool> {
        let n = self.0.prepare_cached(
            "INSERT INTO events (tenant, channel, address, at, kind, event, category, reason, campaign, detail, domain, evidence, dedupe) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) ON CONFLICT DO NOTHING",
        )?
        .execute(params![
            r.tenant,
            r.channel.as_str(),
            r.address,
            r.at,
            event_kind(&r.event),
            event_json(&r.event),
            event_category(&r.event),
            r.reason.map(|x| x.as_str()),
            r.campaign,
            detail_json(&r.detail),
            recipient_domain(r),
            domain.map(|d| evidence_str(d.1)),
            dedupe
        ])?;
        Ok(n == 1)
    }

    fn history(
        &mut self,
        tenant: &str,
        channel: Channel,
        address: &str,
    ) -> Result<Vec<StoredRecord>> {
        let mut st = self.0.prepare_cached(
            "SELECT id, at, event, reason, campaign, detail FROM events \
             WHERE tenant = ?1 AND channel = ?2 AND address = ?3 ORDER BY at, id",
        )?;
        let rows = st.query_map(params![tenant, channel.as_str(), address], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, Option<String>>(5)?,
            ))
        })?;
        rows.map(|row| {
            let (id, at, event, reason, campaign, detail) = row?;
            Ok(StoredRecord {
                id,
                record: Record {
                    tenant: tenant.to_string(),
                    channel,
                    address: address.to_string(),
                    at,
                    event: parse_event(&event)?,
                    reason: parse_reason(reason)?,
                    campaign,
                    detail: parse_detail(detail)?,
                },
            })
        })
        .collect()
    }

    fn address(
        &mut self,
        tenant: &str,
        channel: Channel,
        address: &str,
    ) -> Result<Option<(AddressState, Ts)>> {
        Ok(self
            .0
            .prepare_cached(&format!(
                "SELECT {STATE_COLUMNS}, last_at FROM addresses \
                 WHERE tenant = ?1 AND channel = ?2 AND address = ?3"
            ))?
            .query_row(params![tenant, channel.as_str(), address], |r| {
                Ok((state_from(r, 0)?, r.get(7)?))
            })
            .optional()?)
    }

    fn put_address(
        &mut self,
        tenant: &str,
        channel: Channel,
        address: &str,
        s: &AddressState,
        last_at: Ts,
    ) -> Result<()> {
        self.0.prepare_cached(&format!(
            "INSERT INTO addresses (tenant, channel, address, status, {STATE_COLUMNS}, last_at, packed) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) \
             ON CONFLICT (tenant, channel, address) DO UPDATE SET status = excluded.status, \
             blocked_at = excluded.blocked_at, suppressed_at = excluded.suppressed_at, \
             complained_at = excluded.complained_at, opted_out_at = excluded.opted_out_at, \
             soft_streak = excluded.soft_streak, last_soft_bounce_at = excluded.last_soft_bounce_at, \
             last_delivered_at = excluded.last_delivered_at, last_at = excluded.last_at, \
             packed = excluded.packed"
        ))?
        .execute(params![
            tenant,
            channel.as_str(),
            address,
            status_str(s),
            s.blocked_at,
            s.suppressed_at,
            s.complained_at,
            s.opted_out_at,
            i64::from(s.soft_streak),
            s.last_soft_bounce_at,
            s.last_delivered_at,
            last_at,
            PackedState::pack(s).to_bytes()
        ])?;
        Ok(())
    }

    fn domain(&mut self, tenant: &str, domain: &str) -> Result<Option<(DomainState, Ts)>> {
        Ok(self
            .0
            .prepare_cached(
                "SELECT bad_count, bad_first_at, bad_last_at, nonexistent_since, last_at \
                 FROM domains WHERE tenant = ?1 AND domain = ?2",
            )?
            .query_row(params![tenant, domain], |r| {
                Ok((
                    DomainState {
                        bad_count: r.get::<_, i64>(0)?.clamp(0, u32::MAX as i64) as u32,
                        bad_first_at: r.get(1)?,
                        bad_last_at: r.get(2)?,
                        nonexistent_since: r.get(3)?,
                    },
                    r.get(4)?,
                ))
            })
            .optional()?)
    }

    fn put_domain(
        &mut self,
        tenant: &str,
        domain: &str,
        s: &DomainState,
        last_at: Ts,
    ) -> Result<()> {
        self.0.prepare_cached(
            "INSERT INTO domains (tenant, domain, bad_count, bad_first_at, bad_last_at, nonexistent_since, last_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (tenant, domain) DO UPDATE SET \
             bad_count = excluded.bad_count, bad_first_at = excluded.bad_first_at, \
             bad_last_at = excluded.bad_last_at, nonexistent_since = excluded.nonexistent_since, \
             last_at = excluded.last_at",
        )?
        .execute(params![
            tenant,
            domain,
            i64::from(s.bad_count),
            s.bad_first_at,
            s.bad_last_at,
            s.nonexistent_since,
            last_at
        ])?;
        Ok(())
    }

    fn domain_evidence_since_delivery(
        &mut self,
        tenant: &str,
        domain: &str,
    ) -> Result<Vec<(DomainEvidence, Ts)>> {
        let last: Option<(i64, i64)> = self
            .0
            .prepare_cached(
                "SELECT at, id FROM events WHERE tenant = ?1 AND domain = ?2 AND evidence IN ('delivered', 'cleared') \
                 ORDER BY at DESC, id DESC LIMIT 1",
            )?
            .query_row(params![tenant, domain], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let (at0, id0) = last.unwrap_or((i64::MIN, i64::MIN));
        let mut st = self.0.prepare_cached(
            "SELECT evidence, at FROM events WHERE tenant = ?1 AND domain = ?2 AND evidence IS NOT NULL \
             AND (at > ?3 OR (at = ?3 AND id > ?4)) ORDER BY at, id",
        )?;
        let rows = st.query_map(params![tenant, domain, at0, id0], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
        })?;
        rows.map(|r| {
            let (e, at) = r?;
            Ok((parse_evidence(&e)?, at))
        })
        .collect()
    }

    fn campaign(&mut self, tenant: &str, name: &str) -> Result<Option<Campaign>> {
        Ok(self
            .0
            .prepare_cached(
                "SELECT stopped_by, stopped_at FROM campaigns WHERE tenant = ?1 AND name = ?2",
            )?
            .query_row(params![tenant, name], |r| {
                Ok(Campaign {
                    tenant: tenant.to_string(),
                    name: name.to_string(),
                    stopped: mark(r.get(0)?, r.get(1)?),
                })
            })
            .optional()?)
    }

    fn put_campaign(&mut self, c: &Campaign) -> Result<()> {
        self.0.prepare_cached(
            "INSERT INTO campaigns (tenant, name, stopped_by, stopped_at) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (tenant, name) DO UPDATE SET stopped_by = excluded.stopped_by, \
             stopped_at = excluded.stopped_at",
        )?
        .execute(params![
            c.tenant,
            c.name,
            c.stopped.as_ref().map(|m| &m.by),
            c.stopped.as_ref().map(|m| m.at)
        ])?;
        Ok(())
    }

    fn insert_sends(&mut self, s: &Sends) -> Result<()> {
        if s.is_empty() {
            return Ok(());
        }
        self.0.prepare_cached(
            "INSERT INTO sends (tenant, campaign, channel, at, count, addresses) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![s.tenant, s.campaign, s.channel.as_str(), s.at, s.len() as i64, &*s.packed()?])?;
        Ok(())
    }

    fn count_attempts(&mut self, tenant: &str, campaign: Option<&str>) -> Result<u64> {
        let n: i64 = match campaign {
            Some(c) => self
                .0
                .prepare_cached(
                    "SELECT COALESCE(SUM(count), 0) FROM sends WHERE tenant = ?1 AND campaign = ?2",
                )?
                .query_row(params![tenant, c], |r| r.get(0))?,
            None => self
                .0
                .prepare_cached("SELECT COALESCE(SUM(count), 0) FROM sends WHERE tenant = ?1")?
                .query_row(params![tenant], |r| r.get(0))?,
        };
        Ok(n as u64)
    }

    fn audit(&mut self, tenant: &str, at: Ts, by: &str, action: &str, subject: &str) -> Result<()> {
        self.0.prepare_cached(
            "INSERT INTO audit (tenant, at, by_whom, action, subject) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![tenant, at, by, action, subject])?;
        Ok(())
    }

    fn not_active(
        &mut self,
        tenant: &str,
        channel: Channel,
        soft_since: Ts,
        each: &mut dyn FnMut(String, PackedState),
    ) -> Result<()> {
        let marked = "SELECT address, packed FROM addresses \
             WHERE tenant = ?1 AND channel = ?2 AND status <> 'active'";
        let resting = "SELECT address, packed FROM addresses \
             WHERE tenant = ?1 AND channel = ?2 AND last_soft_bounce_at IS NOT NULL \
             AND last_soft_bounce_at >= ?3 AND status = 'active'";
        for (sql, p) in [
            (marked, params![tenant, channel.as_str()]),
            (resting, params![tenant, channel.as_str(), soft_since]),
        ] {
            let mut st = self.0.prepare_cached(sql)?;
            let mut rows = st.query(p)?;
            while let Some(r) = rows.next()? {
                let address = r.get_ref(0)?.as_str().map_err(rusqlite::Error::from)?;
                let packed = r.get_ref(1)?.as_blob().map_err(rusqlite::Error::from)?;
                each(address.to_string(), parse_packed(packed)?);
            }
        }
        Ok(())
    }

    fn nonexistent_domains(&mut self, tenant: &str) -> Result<Vec<String>> {
        let mut st = self.0.prepare_cached(
            "SELECT domain FROM domains WHERE tenant = ?1 AND nonexistent_since IS NOT NULL",
        )?;
        let rows = st.query_map([tenant], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn sends_between(
        &mut self,
        tenant: &str,
        channel: Channel,
        from: Ts,
        until: Ts,
    ) -> Result<Vec<(String, Ts)>> {
        let mut st = self.0.prepare_cached(
            "SELECT addresses, at FROM sends WHERE tenant = ?1 AND channel = ?2 AND at > ?3 AND at <= ?4",
        )?;
        let mut rows = st.query(params![tenant, channel.as_str(), from, until])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let at: Ts = r.get(1)?;
            let blob = r.get_ref(0)?.as_blob().map_err(rusqlite::Error::from)?;
            out.extend(unpack_sends(blob)?.into_iter().map(|a| (a, at)));
        }
        Ok(out)
    }

    fn insert_skips(&mut self, rows: &[Skip]) -> Result<()> {
        let mut st = self.0.prepare_cached(
            "INSERT INTO skips (tenant, campaign, channel, at, reason, count) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        for k in rows {
            st.execute(params![
                k.tenant,
                k.campaign,
                k.channel.as_str(),
                k.at,
                k.reason,
                k.count as i64
            ])?;
        }
        Ok(())
    }

    fn attempts_between(
        &mut self,
        tenant: &str,
        campaign: Option<&str>,
        from: Ts,
        to: Ts,
    ) -> Result<u64> {
        let n: i64 = self
            .0
            .prepare_cached(
                "SELECT COALESCE(SUM(count), 0) FROM sends WHERE tenant = ?1 AND (?2 IS NULL OR campaign = ?2) \
                 AND at >= ?3 AND at <= ?4",
            )?
            .query_row(params![tenant, campaign, from, to], |r| r.get(0))?;
        Ok(n as u64)
    }

    fn skips_between(
        &mut self,
        tenant: &str,
        campaign: Option<&str>,
        from: Ts,
        to: Ts,
    ) -> Result<Vec<(String, u64)>> {
        let mut st = self.0.prepare_cached(
            "SELECT reason, SUM(count) FROM skips WHERE tenant = ?1 AND (?2 IS NULL OR campaign = ?2) \
             AND at >= ?3 AND at <= ?4 GROUP BY reason ORDER BY reason",
        )?;
        let rows = st.query_map(params![tenant, campaign, from, to], |r| {
            Ok((r.get(0)?, r.get::<_, i64>(1)? as u64))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn outcomes_between(
        &mut self,
        tenant: &str,
        campaign: Option<&str>,
        from: Ts,
        to: Ts,
    ) -> Result<Vec<OutcomeCount>> {
        let mut st = self.0.prepare_cached(
            "SELECT kind, category, reason, COALESCE(domain, ''), COUNT(*) FROM events \
             WHERE tenant = ?1 AND (?2 IS NULL OR campaign = ?2) AND at >= ?3 AND at <= ?4 \
             AND kind IN ('delivered', 'bounce', 'complaint', 'unsubscribe', 'auto_reply') GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4",
        )?;
        let rows = st.query_map(params![tenant, campaign, from, to], |r| {
            Ok(OutcomeCount {
                kind: r.get(0)?,
                category: r.get(1)?,
                reason: r.get(2)?,
                domain: r.get(3)?,
                count: r.get::<_, i64>(4)? as u64,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn insert_api_key(&mut self, k: &ApiKey) -> Result<bool> {
        let n = self
            .0
            .prepare_cached(
                "INSERT INTO api_keys (id, tenant, hash, label, created_at) VALUES (?1, ?2, ?3, ?4, ?5) \
                 ON CONFLICT DO NOTHING",
            )?
            .execute(params![k.id, k.tenant, k.hash, k.label, k.created_at])?;
        Ok(n == 1)
    }

    fn api_key(&mut self, hash: &str) -> Result<Option<ApiKey>> {
        Ok(self
            .0
            .prepare_cached(
                "SELECT id, tenant, hash, label, created_at FROM api_keys WHERE hash = ?1",
            )?
            .query_row([hash], |r| {
                Ok(ApiKey {
                    id: r.get(0)?,
                    tenant: r.get(1)?,
                    hash: r.get(2)?,
                    label: r.get(3)?,
                    created_at: r.get(4)?,
                })
            })
            .optional()?)
    }

    fn claim_key(&mut self, tenant: &str, key: &str, at: Ts) -> Result<bool> {
        let n = self
            .0
            .prepare_cached(
                "INSERT INTO idempotency_keys (tenant, key, at) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
            )?
            .execute(params![tenant, key, at])?;
        Ok(n == 1)
    }
}
