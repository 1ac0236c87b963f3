//! The PostgreSQL back end, for several stateless Rebound nodes sharing one database.
//!
//! Client crate: `postgres` (rust-postgres, the synchronous face of `tokio-postgres`).
//! Chosen over sqlx because the store's trait is synchronous and this client needs no
//! async runtime in the CLI, checks no queries against a live database at compile
//! time (so building needs no PostgreSQL), and is the long-maintained base that most
//! of the Rust PostgreSQL ecosystem (including sqlx's peers and pools) builds on; the
//! server can use `tokio-postgres` with the same types later.
//!
//! Concurrency: two nodes may append to the same address at once. Each read of an
//! address's or a domain's fold takes a transaction-scoped advisory lock on it first,
//! so read-fold-write is serialised per address without locking whole tables.
//! The schema lives in the connection's `search_path` (tests give each run its own
//! schema with `?options=-csearch_path%3D...`).

use crate::codec::*;
use crate::error::{Error, Result};
use crate::keys::ApiKey;
use crate::model::{
    Campaign, Channel, OutcomeCount, PackedState, Record, Sends, Skip, StoredRecord, Tenant,
};
use crate::tx::{AddrKey, DomainKey, NewEvent, Tx};
use postgres::{Client, NoTls, Row, Statement, Transaction};
use rebound_policy::{AddressState, DomainEvidence, DomainState, Ts};
use std::collections::HashMap;

pub struct PgStore {
    client: Client,
    statements: HashMap<&'static str, Statement>,
}

/// Serialises schema creation between nodes starting at once.
const SCHEMA_LOCK: i64 = 0x7265_626f_756e_6400;

impl PgStore {
    /// Records per append at most (an advisory lock per address; see `Store::max_batch`).
    pub const MAX_BATCH: usize = 10_000;

    /// Connects (`postgres://user@host:port/db?options=...`) and creates the schema if
    /// it is missing.
    pub fn connect(url: &str) -> Result<PgStore> {
        let mut client = Client::connect(url, NoTls)?;
        let mut tx = client.transaction()?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])?;
        tx.batch_execute(&schema("BIGSERIAL PRIMARY KEY", "BYTEA", ""))?;
        tx.batch_execute(crate::keys::SCHEMA)?;
        // A database written before the `packed` column: add it and fill it in
        // (new databases are created with it).
        let unpacked = tx.query_one(
            "SELECT NOT EXISTS (SELECT 1 FROM information_schema.columns WHERE \
             table_schema = current_schema() AND table_name = 'addresses' AND column_name = 'packed')",
            &[],
        )?;
        if unpacked.try_get::<_, bool>(0)? {
            tx.batch_execute("ALTER TABLE addresses ADD COLUMN packed BYTEA")?;
            for r in tx.query(UNPACKED_ROWS, &[])? {
                let packed = PackedState::pack(&state_from(&r, 3)?).to_bytes();
                tx.execute(
                    "UPDATE addresses SET packed = $1 WHERE tenant = $2 AND channel = $3 AND address = $4",
                    &[&packed, &r.try_get::<_, &str>(0)?, &r.try_get::<_, &str>(1)?, &r.try_get::<_, &str>(2)?],
                )?;
            }
        }
        tx.batch_execute(PACKED_INDEXES)?;
        let old = tx.query_one("SELECT to_regclass('attempts') IS NOT NULL", &[])?;
        if old.try_get::<_, bool>(0)? {
            let q = OLD_ATTEMPTS
                .replace("{sep}", "E'\\n'")
                .replace("{agg}", "string_agg");
            for r in tx.query(q.as_str(), &[])? {
                let campaign: Option<&str> = r.try_get(1)?;
                let s = old_run(
                    r.try_get(0)?,
                    campaign,
                    r.try_get(2)?,
                    r.try_get(3)?,
                    r.try_get(4)?,
                )?;
                tx.execute(
                    "INSERT INTO sends (tenant, campaign, channel, at, count, addresses) VALUES ($1, $2, $3, $4, $5, $6)",
                    &[&s.tenant, &s.campaign, &s.channel.as_str(), &s.at, &(s.len() as i64), &&*s.packed()?],
                )?;
            }
            tx.batch_execute("DROP TABLE attempts")?;
        }
        tx.commit()?;
        Ok(PgStore {
            client,
            statements: HashMap::new(),
        })
    }

    fn tx<R>(&mut self, f: impl FnOnce(&mut dyn Tx) -> Result<R>) -> Result<R> {
        let tx = self.client.transaction()?;
        let mut t = PgTx {
            tx,
            statements: &mut self.statements,
        };
        let r = f(&mut t)?;
        t.tx.commit()?;
        Ok(r)
    }
}

crate::store_via_tx!(PgStore);

struct PgTx<'a> {
    tx: Transaction<'a>,
    statements: &'a mut HashMap<&'static str, Statement>,
}

impl PgTx<'_> {
    /// Prepares each query once per connection: a round trip saved per use.
    fn st(&mut self, sql: &'static str) -> Result<Statement> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.tx.prepare(sql)?;
        self.statements.insert(sql, s.clone());
        Ok(s)
    }

    fn query(
        &mut self,
        sql: &'static str,
        p: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> Result<Vec<Row>> {
        let st = self.st(sql)?;
        Ok(self.tx.query(&st, p)?)
    }

    /// Runs a query and hands each row to `each` as batches arrive, instead of
    /// collecting them all: a gate snapshot's million rows never sit in a list.
    fn for_each_row(
        &mut self,
        sql: &'static str,
        p: &[&(dyn postgres::types::ToSql + Sync)],
        mut each: impl FnMut(&Row) -> Result<()>,
    ) -> Result<()> {
        // A portal read 10,000 rows at a time: memory stays bounded, and the cost
        // of a round trip is paid per batch (gating a 10M list against 1M marked
        // addresses took 9.1 s this way, 10.1 s with a row-at-a-time iterator).
        let st = self.st(sql)?;
        let portal = self.tx.bind(&st, p)?;
        loop {
            let rows = self.tx.query_portal(&portal, 10_000)?;
            if rows.is_empty() {
                return Ok(());
            }
            for r in &rows {
                each(r)?;
            }
        }
    }

    fn execute(
        &mut self,
        sql: &'static str,
        p: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> Result<u64> {
        let st = self.st(sql)?;
        Ok(self.tx.execute(&st, p)?)
    }
}

fn state_from(r: &Row, first: usize) -> Result<AddressState> {
    Ok(AddressState {
        blocked_at: r.try_get(first)?,
        suppressed_at: r.try_get(first + 1)?,
        complained_at: r.try_get(first + 2)?,
        opted_out_at: r.try_get(first + 3)?,
        soft_streak: r.try_get::<_, i64>(first + 4)?.clamp(0, u32::MAX as i64) as u32,
        last_soft_bounce_at: r.try_get(first + 5)?,
        last_delivered_at: r.try_get(first + 6)?,
    })
}

/// Takes the advisory locks of a batch in ascending order (two batches touching the
/// same addresses then queue instead of deadlocking).
fn lock_all(tx: &mut PgTx<'_>, mut keys: Vec<i64>) -> Result<()> {
    keys.sort_unstable();
    keys.dedup();
    tx.execute(
        "SELECT pg_advisory_xact_lock(k) FROM (SELECT k FROM unnest($1::bigint[]) k ORDER BY k) s",
        &[&keys],
    )?;
    Ok(())
}

fn address_lock(tenant: &str, channel: Channel, address: &str) -> i64 {
    fnv(&[
        tenant.as_bytes(),
        channel.as_str().as_bytes(),
        address.as_bytes(),
    ])
}

fn domain_lock(tenant: &str, domain: &str) -> i64 {
    fnv(&[tenant.as_bytes(), b"domain", domain.as_bytes()])
}

macro_rules! state_cols {
    () => {
        "blocked_at, suppressed_at, complained_at, opted_out_at, soft_streak, last_soft_bounce_at, last_delivered_at"
    };
}

impl Tx for PgTx<'_> {
    fn tenant(&mut self, name: &str) -> Result<Option<Tenant>> {
        let rows = self.query(
            "SELECT name, default_country, policy, restricted_by, restricted_at FROM tenants WHERE name = $1",
            &[&name],
        )?;
        let Some(r) = rows.first() else {
            return Ok(None);
        };
        let overrides: String = r.try_get(2)?;
        let policy = Tenant::parse_policy(&overrides).map_err(Error::Corrupt)?;
        Ok(Some(Tenant {
            name: r.try_get(0)?,
            default_country: r.try_get(1)?,
            policy_overrides: overrides,
            policy,
            restricted: mark(r.try_get(3)?, r.try_get(4)?),
        }))
    }

    fn insert_tenant(&mut self, t: &Tenant) -> Result<bool> {
        let n = self.execute(
            "INSERT INTO tenants (name, default_country, policy, restricted_by, restricted_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name) DO NOTHING",
            &[
                &t.name,
                &t.default_country,
                &t.policy_overrides,
                &t.restricted.as_ref().map(|m| &m.by),
                &t.restricted.as_ref().map(|m| m.at),
            ],
        )?;
        Ok(n == 1)
    }

    fn update_tenant(&mut self, t: &Tenant) -> Result<()> {
        self.execute(
            "UPDATE tenants SET default_country = $2, policy = $3, restricted_by = $4, restricted_at = $5 \
             WHERE name = $1",
            &[
                &t.name,
                &t.default_country,
                &t.policy_overrides,
                &t.restricted.as_ref().map(|m| &m.by),
                &t.restricted.as_ref().map(|m| m.at),
            ],
        )?;
        Ok(())
    }

    fn tenant_addresses(&mut self, tenant: &str) -> Result<Vec<(Channel, String)>> {
        self.query(
            "SELECT channel, address FROM addresses WHERE tenant = $1",
            &[&tenant],
        )?
        .iter()
        .map(|r| Ok((parse_channel(r.try_get(0)?)?, r.try_get(1)?)))
        .collect()
    }

    fn tenant_domains(&mut self, tenant: &str) -> Result<Vec<String>> {
        self.query("SELECT domain FROM domains WHERE tenant = $1", &[&tenant])?
            .iter()
            .map(|r| Ok(r.try_get(0)?))
            .collect()
    }

    fn insert_event(
        &mut self,
        r: &Record,
        domain: Option<(&str, DomainEvidence)>,
        dedupe: Option<i64>,
    ) -> Result<bool> {
        let n = self.execute(
            "INSERT INTO events (tenant, channel, address, at, kind, event, category, reason, campaign, detail, domain, evidence, dedupe) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT DO NOTHING",
            &[
                &r.tenant,
                &r.channel.as_str(),
                &r.address,
                &r.at,
                &event_kind(&r.event),
                &event_json(&r.event),
                &event_category(&r.event),
                &r.reason.map(|x| x.as_str()),
                &r.campaign,
                &detail_json(&r.detail),
                &recipient_domain(r),
                &domain.map(|d| evidence_str(d.1)),
                &dedupe,
            ],
        )?;
        Ok(n == 1)
    }

    fn history(
        &mut self,
        tenant: &str,
        channel: Channel,
        address: &str,
    ) -> Result<Vec<StoredRecord>> {
        self.query(
            "SELECT id, at, event, reason, campaign, detail FROM events \
             WHERE tenant = $1 AND channel = $2 AND address = $3 ORDER BY at, id",
            &[&tenant, &channel.as_str(), &address],
        )?
        .iter()
        .map(|r| {
            Ok(StoredRecord {
                id: r.try_get(0)?,
                record: Record {
                    tenant: tenant.to_string(),
                    channel,
                    address: address.to_string(),
                    at: r.try_get(1)?,
                    event: parse_event(r.try_get(2)?)?,
                    reason: parse_reason(r.try_get(3)?)?,
                    campaign: r.try_get(4)?,
                    detail: parse_detail(r.try_get(5)?)?,
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
        let key = fnv(&[
            tenant.as_bytes(),
            channel.as_str().as_bytes(),
            address.as_bytes(),
        ]);
        let rows = self.query(
            concat!(
                "SELECT a.address, ",
                state_cols!(),
                ", a.last_at FROM (SELECT pg_advisory_xact_lock($4)) l \
                 LEFT JOIN addresses a ON a.tenant = $1 AND a.channel = $2 AND a.address = $3"
            ),
            &[&tenant, &channel.as_str(), &address, &key],
        )?;
        match rows.first() {
            Some(r) if r.try_get::<_, Option<String>>(0)?.is_some() => {
                Ok(Some((state_from(r, 1)?, r.try_get(8)?)))
            }
            _ => Ok(None),
        }
    }

    fn put_address(
        &mut self,
        tenant: &str,
        channel: Channel,
        address: &str,
        s: &AddressState,
        last_at: Ts,
    ) -> Result<()> {
        self.execute(
            concat!(
                "INSERT INTO addresses (tenant, channel, address, status, ",
                state_cols!(),
                ", last_at, packed) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
             ON CONFLICT (tenant, channel, address) DO UPDATE SET status = excluded.status, \
             blocked_at = excluded.blocked_at, suppressed_at = excluded.suppressed_at, \
             complained_at = excluded.complained_at, opted_out_at = excluded.opted_out_at, \
             soft_streak = excluded.soft_streak, last_soft_bounce_at = excluded.last_soft_bounce_at, \
             last_delivered_at = excluded.last_delivered_at, last_at = excluded.last_at, \
             packed = excluded.packed"
            ),
            &[
                &tenant,
                &channel.as_str(),
                &address,
                &status_str(s),
                &s.blocked_at,
                &s.suppressed_at,
                &s.complained_at,
                &s.opted_out_at,
                &i64::from(s.soft_streak),
                &s.last_soft_bounce_at,
                &s.last_delivered_at,
                &last_at,
                &PackedState::pack(s).to_bytes(),
            ],
        )?;
        Ok(())
    }

    fn domain(&mut self, tenant: &str, domain: &str) -> Result<Option<(DomainState, Ts)>> {
        let key = domain_lock(tenant, domain);
        let rows = self.query(
            "SELECT d.domain, d.bad_count, d.bad_first_at, d.bad_last_at, d.nonexistent_since, d.last_at \
             FROM (SELECT pg_advisory_xact_lock($3)) l \
             LEFT JOIN domains d ON d.tenant = $1 AND d.domain = $2",
            &[&tenant, &domain, &key],
        )?;
        match rows.first() {
            Some(r) if r.try_get::<_, Option<String>>(0)?.is_some() => Ok(Some((
                DomainState {
                    bad_count: r.try_get::<_, i64>(1)?.clamp(0, u32::MAX as i64) as u32,
                    bad_first_at: r.try_get(2)?,
                    bad_last_at: r.try_get(3)?,
                    nonexistent_since: r.try_get(4)?,
                },
                r.try_get(5)?,
            ))),
            _ => Ok(None),
        }
    }

    fn put_domain(
        &mut self,
        tenant: &str,
        domain: &str,
        s: &DomainState,
        last_at: Ts,
    ) -> Result<()> {
        self.execute(
            "INSERT INTO domains (tenant, domain, bad_count, bad_first_at, bad_last_at, nonexistent_since, last_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (tenant, domain) DO UPDATE SET \
             bad_count = excluded.bad_count, bad_first_at = excluded.bad_first_at, \
             bad_last_at = excluded.bad_last_at, nonexistent_since = excluded.nonexistent_since, \
             last_at = excluded.last_at",
            &[
                &tenant,
                &domain,
                &i64::from(s.bad_count),
                &s.bad_first_at,
                &s.bad_last_at,
                &s.nonexistent_since,
                &last_at,
            ],
        )?;
        Ok(())
    }

    fn domain_evidence_since_delivery(
        &mut self,
        tenant: &str,
        domain: &str,
    ) -> Result<Vec<(DomainEvidence, Ts)>> {
        let last = self.query(
            "SELECT at, id FROM events WHERE tenant = $1 AND domain = $2 AND evidence IN ('delivered', 'cleared') \
             ORDER BY at DESC, id DESC LIMIT 1",
            &[&tenant, &domain],
        )?;
        let (at0, id0): (i64, i64) = match last.first() {
            Some(r) => (r.try_get(0)?, r.try_get(1)?),
            None => (i64::MIN, i64::MIN),
        };
        self.query(
            "SELECT evidence, at FROM events WHERE tenant = $1 AND domain = $2 AND evidence IS NOT NULL \
             AND (at > $3 OR (at = $3 AND id > $4)) ORDER BY at, id",
            &[&tenant, &domain, &at0, &id0],
        )?
        .iter()
        .map(|r| Ok((parse_evidence(r.try_get(0)?)?, r.try_get(1)?)))
        .collect()
    }

    fn campaign(&mut self, tenant: &str, name: &str) -> Result<Option<Campaign>> {
        let rows = self.query(
            "SELECT stopped_by, stopped_at FROM campaigns WHERE tenant = $1 AND name = $2",
            &[&tenant, &name],
        )?;
        rows.first()
            .map(|r| {
                Ok(Campaign {
                    tenant: tenant.to_string(),
                    name: name.to_string(),
                    stopped: mark(r.try_get(0)?, r.try_get(1)?),
                })
            })
            .transpose()
    }

    fn put_campaign(&mut self, c: &Campaign) -> Result<()> {
        self.execute(
            "INSERT INTO campaigns (tenant, name, stopped_by, stopped_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (tenant, name) DO UPDATE SET stopped_by = excluded.stopped_by, \
             stopped_at = excluded.stopped_at",
            &[
                &c.tenant,
                &c.name,
                &c.stopped.as_ref().map(|m| &m.by),
                &c.stopped.as_ref().map(|m| m.at),
            ],
        )?;
        Ok(())
    }

    fn insert_sends(&mut self, s: &Sends) -> Result<()> {
        if s.is_empty() {
            return Ok(());
        }
        self.execute(
            "INSERT INTO sends (tenant, campaign, channel, at, count, addresses) VALUES ($1, $2, $3, $4, $5, $6)",
            &[&s.tenant, &s.campaign, &s.channel.as_str(), &s.at, &(s.len() as i64), &&*s.packed()?],
        )?;
        Ok(())
    }

    fn count_attempts(&mut self, tenant: &str, campaign: Option<&str>) -> Result<u64> {
        let rows = match campaign {
            Some(c) => self.query(
                "SELECT COALESCE(SUM(count), 0)::bigint FROM sends WHERE tenant = $1 AND campaign = $2",
                &[&tenant, &c],
            )?,
            None => self.query(
                "SELECT COALESCE(SUM(count), 0)::bigint FROM sends WHERE tenant = $1",
                &[&tenant],
            )?,
        };
        let n: i64 = rows
            .first()
            .ok_or_else(|| Error::Backend("COUNT returned no row".into()))?
            .try_get(0)?;
        Ok(n as u64)
    }

    fn audit(&mut self, tenant: &str, at: Ts, by: &str, action: &str, subject: &str) -> Result<()> {
        self.execute(
            "INSERT INTO audit (tenant, at, by_whom, action, subject) VALUES ($1, $2, $3, $4, $5)",
            &[&tenant, &at, &by, &action, &subject],
        )?;
        Ok(())
    }

    fn not_active(
        &mut self,
        tenant: &str,
        channel: Channel,
        soft_since: Ts,
        each: &mut dyn FnMut(String, PackedState),
    ) -> Result<()> {
        let mut row = |r: &Row| {
            each(r.try_get(0)?, parse_packed(r.try_get(1)?)?);
            Ok(())
        };
        self.for_each_row(
            "SELECT address, packed FROM addresses \
             WHERE tenant = $1 AND channel = $2 AND status <> 'active'",
            &[&tenant, &channel.as_str()],
            &mut row,
        )?;
        self.for_each_row(
            "SELECT address, packed FROM addresses WHERE tenant = $1 AND channel = $2 \
             AND last_soft_bounce_at IS NOT NULL AND last_soft_bounce_at >= $3 AND status = 'active'",
            &[&tenant, &channel.as_str(), &soft_since],
            &mut row,
        )
    }

    fn nonexistent_domains(&mut self, tenant: &str) -> Result<Vec<String>> {
        self.query(
            "SELECT domain FROM domains WHERE tenant = $1 AND nonexistent_since IS NOT NULL",
            &[&tenant],
        )?
        .iter()
        .map(|r| Ok(r.try_get(0)?))
        .collect()
    }

    fn sends_between(
        &mut self,
        tenant: &str,
        channel: Channel,
        from: Ts,
        until: Ts,
    ) -> Result<Vec<(String, Ts)>> {
        let mut out = Vec::new();
        for r in self.query(
            "SELECT addresses, at FROM sends WHERE tenant = $1 AND channel = $2 AND at > $3 AND at <= $4",
            &[&tenant, &channel.as_str(), &from, &until],
        )? {
            let blob: &[u8] = r.try_get(0)?;
            let at: Ts = r.try_get(1)?;
            out.extend(unpack_sends(blob)?.into_iter().map(|a| (a, at)));
        }
        Ok(out)
    }

    fn insert_events(&mut self, rows: &[NewEvent<'_>]) -> Result<Vec<bool>> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let col = |f: &dyn Fn(&NewEvent<'_>) -> Option<String>| -> Vec<Option<String>> {
            rows.iter().map(f).collect()
        };
        let tenant = col(&|r| Some(r.record.tenant.clone()));
        let channel = col(&|r| Some(r.record.channel.as_str().into()));
        let address = col(&|r| Some(r.record.address.clone()));
        let at: Vec<i64> = rows.iter().map(|r| r.record.at).collect();
        let kind = col(&|r| Some(event_kind(&r.record.event).into()));
        let event = col(&|r| Some(event_json(&r.record.event)));
        let category = col(&|r| event_category(&r.record.event).map(Into::into));
        let reason = col(&|r| r.record.reason.map(|x| x.as_str().into()));
        let campaign = col(&|r| r.record.campaign.clone());
        let detail = col(&|r| detail_json(&r.record.detail));
        let domain = col(&|r| recipient_domain(r.record).map(Into::into));
        let evidence = col(&|r| r.domain.map(|d| evidence_str(d.1).into()));
        let dedupe: Vec<Option<i64>> = rows.iter().map(|r| r.dedupe).collect();
        let returned = self.query(
            "INSERT INTO events (tenant, channel, address, at, kind, event, category, reason, campaign, detail, domain, evidence, dedupe) \
             SELECT tenant, channel, address, at, kind, event, category, reason, campaign, detail, domain, evidence, dedupe \
             FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::text[], \
                         $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::bigint[]) WITH ORDINALITY \
               AS u(tenant, channel, address, at, kind, event, category, reason, campaign, detail, domain, evidence, dedupe, ord) \
             ORDER BY ord \
             ON CONFLICT DO NOTHING RETURNING tenant, channel, address, dedupe",
            &[&tenant, &channel, &address, &at, &kind, &event, &category, &reason, &campaign, &detail, &domain, &evidence, &dedupe],
        )?;
        let mut inserted = std::collections::HashSet::new();
        for r in &returned {
            let d: Option<i64> = r.try_get(3)?;
            if let Some(d) = d {
                inserted.insert((
                    r.try_get::<_, String>(0)?,
                    r.try_get::<_, String>(1)?,
                    r.try_get::<_, String>(2)?,
                    d,
                ));
            }
        }
        Ok(rows
            .iter()
            .map(|r| match r.dedupe {
                None => true,
                Some(d) => inserted.contains(&(
                    r.record.tenant.clone(),
                    r.record.channel.as_str().to_string(),
                    r.record.address.clone(),
                    d,
                )),
            })
            .collect())
    }

    fn addresses(&mut self, keys: &[AddrKey]) -> Result<HashMap<AddrKey, (AddressState, Ts)>> {
        if keys.is_empty() {
            return Ok(HashMap::new());
        }
        lock_all(
            self,
            keys.iter().map(|k| address_lock(&k.0, k.1, &k.2)).collect(),
        )?;
        let tenants: Vec<&str> = keys.iter().map(|k| k.0.as_str()).collect();
        let channels: Vec<&str> = keys.iter().map(|k| k.1.as_str()).collect();
        let addresses: Vec<&str> = keys.iter().map(|k| k.2.as_str()).collect();
        let rows = self.query(
            concat!(
                "SELECT a.tenant, a.channel, a.address, ",
                state_cols!(),
                ", a.last_at FROM unnest($1::text[], $2::text[], $3::text[]) AS u(tenant, channel, address) \
                 JOIN addresses a ON a.tenant = u.tenant AND a.channel = u.channel AND a.address = u.address"
            ),
            &[&tenants, &channels, &addresses],
        )?;
        let mut out = HashMap::new();
        for r in &rows {
            let key = (r.try_get(0)?, parse_channel(r.try_get(1)?)?, r.try_get(2)?);
            out.insert(key, (state_from(r, 3)?, r.try_get(10)?));
        }
        Ok(out)
    }

    fn put_addresses(&mut self, rows: &[(AddrKey, AddressState, Ts)]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let text = |f: &dyn Fn(&(AddrKey, AddressState, Ts)) -> String| -> Vec<String> {
            rows.iter().map(f).collect()
        };
        let ts = |f: &dyn Fn(&AddressState) -> Option<i64>| -> Vec<Option<i64>> {
            rows.iter().map(|r| f(&r.1)).collect()
        };
        let tenant = text(&|r| r.0.0.clone());
        let channel = text(&|r| r.0.1.as_str().into());
        let address = text(&|r| r.0.2.clone());
        let status = text(&|r| status_str(&r.1).into());
        let blocked = ts(&|s| s.blocked_at);
        let suppressed = ts(&|s| s.suppressed_at);
        let complained = ts(&|s| s.complained_at);
        let opted_out = ts(&|s| s.opted_out_at);
        let streak: Vec<i64> = rows.iter().map(|r| i64::from(r.1.soft_streak)).collect();
        let last_soft = ts(&|s| s.last_soft_bounce_at);
        let last_delivered = ts(&|s| s.last_delivered_at);
        let last_at: Vec<i64> = rows.iter().map(|r| r.2).collect();
        let packed: Vec<Vec<u8>> = rows
            .iter()
            .map(|r| PackedState::pack(&r.1).to_bytes())
            .collect();
        self.execute(
            concat!(
                "INSERT INTO addresses (tenant, channel, address, status, ",
                state_cols!(),
                ", last_at, packed) SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], \
                 $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[], \
                 $13::bytea[]) \
             ON CONFLICT (tenant, channel, address) DO UPDATE SET status = excluded.status, \
             blocked_at = excluded.blocked_at, suppressed_at = excluded.suppressed_at, \
             complained_at = excluded.complained_at, opted_out_at = excluded.opted_out_at, \
             soft_streak = excluded.soft_streak, last_soft_bounce_at = excluded.last_soft_bounce_at, \
             last_delivered_at = excluded.last_delivered_at, last_at = excluded.last_at, \
             packed = excluded.packed"
            ),
            &[&tenant, &channel, &address, &status, &blocked, &suppressed, &complained, &opted_out, &streak, &last_soft, &last_delivered, &last_at, &packed],
        )?;
        Ok(())
    }

    fn domains(&mut self, keys: &[DomainKey]) -> Result<HashMap<DomainKey, (DomainState, Ts)>> {
        if keys.is_empty() {
            return Ok(HashMap::new());
        }
        lock_all(self, keys.iter().map(|k| domain_lock(&k.0, &k.1)).collect())?;
        let tenants: Vec<&str> = keys.iter().map(|k| k.0.as_str()).collect();
        let domains: Vec<&str> = keys.iter().map(|k| k.1.as_str()).collect();
        let rows = self.query(
            "SELECT d.tenant, d.domain, d.bad_count, d.bad_first_at, d.bad_last_at, d.nonexistent_since, d.last_at \
             FROM unnest($1::text[], $2::text[]) AS u(tenant, domain) \
             JOIN domains d ON d.tenant = u.tenant AND d.domain = u.domain",
            &[&tenants, &domains],
        )?;
        let mut out = HashMap::new();
        for r in &rows {
            out.insert(
                (r.try_get(0)?, r.try_get(1)?),
                (
                    DomainState {
                        bad_count: r.try_get::<_, i64>(2)?.clamp(0, u32::MAX as i64) as u32,
                        bad_first_at: r.try_get(3)?,
                        bad_last_at: r.try_get(4)?,
                        nonexistent_since: r.try_get(5)?,
                    },
                    r.try_get(6)?,
                ),
            );
        }
        Ok(out)
    }

    fn put_domains(&mut self, rows: &[(DomainKey, DomainState, Ts)]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let tenant: Vec<&str> = rows.iter().map(|r| r.0.0.as_str()).collect();
        let domain: Vec<&str> = rows.iter().map(|r| r.0.1.as_str()).collect();
        let count: Vec<i64> = rows.iter().map(|r| i64::from(r.1.bad_count)).collect();
        let first: Vec<Option<i64>> = rows.iter().map(|r| r.1.bad_first_at).collect();
        let last_bad: Vec<Option<i64>> = rows.iter().map(|r| r.1.bad_last_at).collect();
        let since: Vec<Option<i64>> = rows.iter().map(|r| r.1.nonexistent_since).collect();
        let last_at: Vec<i64> = rows.iter().map(|r| r.2).collect();
        self.execute(
            "INSERT INTO domains (tenant, domain, bad_count, bad_first_at, bad_last_at, nonexistent_since, last_at) \
             SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[]) \
             ON CONFLICT (tenant, domain) DO UPDATE SET \
             bad_count = excluded.bad_count, bad_first_at = excluded.bad_first_at, \
             bad_last_at = excluded.bad_last_at, nonexistent_since = excluded.nonexistent_since, \
             last_at = excluded.last_at",
            &[&tenant, &domain, &count, &first, &last_bad, &since, &last_at],
        )?;
        Ok(())
    }

    fn insert_skips(&mut self, rows: &[Skip]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let tenant: Vec<&str> = rows.iter().map(|k| k.tenant.as_str()).collect();
        let campaign: Vec<Option<&str>> = rows.iter().map(|k| k.campaign.as_deref()).collect();
        let channel: Vec<&str> = rows.iter().map(|k| k.channel.as_str()).collect();
        let at: Vec<i64> = rows.iter().map(|k| k.at).collect();
        let reason: Vec<&str> = rows.iter().map(|k| k.reason.as_str()).collect();
        let count: Vec<i64> = rows.iter().map(|k| k.count as i64).collect();
        self.execute(
            "INSERT INTO skips (tenant, campaign, channel, at, reason, count) \
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::bigint[])",
            &[&tenant, &campaign, &channel, &at, &reason, &count],
        )?;
        Ok(())
    }

    fn attempts_between(
        &mut self,
        tenant: &str,
        campaign: Option<&str>,
        from: Ts,
        to: Ts,
    ) -> Result<u64> {
        let rows = self.query(
            "SELECT COALESCE(SUM(count), 0)::bigint FROM sends WHERE tenant = $1 AND ($2::text IS NULL OR campaign = $2) \
             AND at >= $3 AND at <= $4",
            &[&tenant, &campaign, &from, &to],
        )?;
        let n: i64 = rows
            .first()
            .ok_or_else(|| Error::Backend("COUNT returned no row".into()))?
            .try_get(0)?;
        Ok(n as u64)
    }

    fn skips_between(
        &mut self,
        tenant: &str,
        campaign: Option<&str>,
        from: Ts,
        to: Ts,
    ) -> Result<Vec<(String, u64)>> {
        self.query(
            "SELECT reason, SUM(count)::bigint FROM skips WHERE tenant = $1 AND ($2::text IS NULL OR campaign = $2) \
             AND at >= $3 AND at <= $4 GROUP BY reason ORDER BY reason",
            &[&tenant, &campaign, &from, &to],
        )?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get::<_, i64>(1)? as u64)))
        .collect()
    }

    fn outcomes_between(
        &mut self,
        tenant: &str,
        campaign: Option<&str>,
        from: Ts,
        to: Ts,
    ) -> Result<Vec<OutcomeCount>> {
        self.query(
            "SELECT kind, category, reason, COALESCE(domain, ''), COUNT(*) FROM events \
             WHERE tenant = $1 AND ($2::text IS NULL OR campaign = $2) AND at >= $3 AND at <= $4 \
             AND kind IN ('delivered', 'bounce', 'complaint', 'unsubscribe', 'auto_reply') GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4",
            &[&tenant, &campaign, &from, &to],
        )?
        .iter()
        .map(|r| {
            Ok(OutcomeCount {
                kind: r.try_get(0)?,
                category: r.try_get(1)?,
                reason: r.try_get(2)?,
                domain: r.try_get(3)?,
                count: r.try_get::<_, i64>(4)? as u64,
            })
        })
        .collect()
    }

    fn insert_api_key(&mut self, k: &ApiKey) -> Result<bool> {
        let n = self.execute(
            "INSERT INTO api_keys (id, tenant, hash, label, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT DO NOTHING",
            &[&k.id, &k.tenant, &k.hash, &k.label, &k.created_at],
        )?;
        Ok(n == 1)
    }

    fn api_key(&mut self, hash: &str) -> Result<Option<ApiKey>> {
        let rows = self.query(
            "SELECT id, tenant, hash, label, created_at FROM api_keys WHERE hash = $1",
            &[&hash],
        )?;
        rows.first()
            .map(|r| {
                Ok(ApiKey {
                    id: r.try_get(0)?,
                    tenant: r.try_get(1)?,
                    hash: r.try_get(2)?,
                    label: r.try_get(3)?,
                    created_at: r.try_get(4)?,
                })
            })
            .transpose()
    }

    fn claim_key(&mut self, tenant: &str, key: &str, at: Ts) -> Result<bool> {
        let n = self.execute(
            "INSERT INTO idempotency_keys (tenant, key, at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            &[&tenant, &key, &at],
        )?;
        Ok(n == 1)
    }
}
