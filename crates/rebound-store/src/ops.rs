//! The store's operations, written once over [`Tx`]: appending folds each event into
//! the stored state (incrementally when it is the newest, by replaying the history
//! when it arrived late), so that the stored state is always what
//! `rebound_policy::replay` makes of the history in (at, id) order.

use crate::error::{Error, Result};
use crate::model::{
    Appended, Campaign, Channel, GateSnapshot, Mark, Record, Report, Sends, Skip, Tenant,
};
use crate::tx::{AddrKey, DomainKey, NewEvent, Tx};
use rebound_policy::{DomainEvidence, Policy, Ts, apply, apply_domain, replay, replay_domain};
use std::collections::{HashMap, HashSet};

pub(crate) fn create_tenant(tx: &mut dyn Tx, t: &Tenant) -> Result<()> {
    if t.name.trim().is_empty() {
        return Err(Error::Invalid("a tenant needs a name".into()));
    }
    Tenant::parse_policy(&t.policy_overrides).map_err(Error::Invalid)?;
    if !tx.insert_tenant(t)? {
        return Err(Error::TenantExists(t.name.clone()));
    }
    Ok(())
}

pub(crate) fn tenant(tx: &mut dyn Tx, name: &str) -> Result<Tenant> {
    tx.tenant(name)?
        .ok_or_else(|| Error::UnknownTenant(name.to_string()))
}

/// Changes a tenant's policy and refolds every history under it, so that stored
/// states stay equal to a replay under the policy in force.
pub(crate) fn set_policy(tx: &mut dyn Tx, name: &str, overrides: &str) -> Result<()> {
    let mut t = tenant(tx, name)?;
    t.policy = Tenant::parse_policy(overrides).map_err(Error::Invalid)?;
    t.policy_overrides = overrides.to_string();
    tx.update_tenant(&t)?;
    for (channel, address) in tx.tenant_addresses(name)? {
        refold_address(tx, name, channel, &address, &t.policy)?;
    }
    for domain in tx.tenant_domains(name)? {
        refold_domain(tx, name, &domain, &t.policy, Ts::MIN)?;
    }
    Ok(())
}

pub(crate) fn set_restricted(
    tx: &mut dyn Tx,
    name: &str,
    restricted: bool,
    by: &str,
    at: Ts,
) -> Result<()> {
    require_who(by)?;
    let mut t = tenant(tx, name)?;
    t.restricted = restricted.then(|| Mark {
        by: by.to_string(),
        at,
    });
    tx.update_tenant(&t)?;
    let action = if restricted { "restrict" } else { "unrestrict" };
    tx.audit(name, at, by, action, &format!("tenant {name}"))
}

pub(crate) fn set_default_country(
    tx: &mut dyn Tx,
    name: &str,
    country: Option<&str>,
) -> Result<()> {
    let mut t = tenant(tx, name)?;
    t.default_country = country.map(str::to_string);
    tx.update_tenant(&t)
}

fn require_who(by: &str) -> Result<()> {
    if by.trim().is_empty() {
        Err(Error::Invalid(
            rebound_policy::Refusal::WhoMissing.to_string(),
        ))
    } else {
        Ok(())
    }
}

fn email_domain(channel: Channel, address: &str) -> Option<&str> {
    match channel {
        Channel::Email => address.rsplit_once('@').map(|(_, d)| d),
        Channel::Sms => None,
    }
}

/// Appends a batch set-at-a-time: refusals and in-batch duplicates are settled in
/// memory, the events inserted in one go (the database settles duplicates of stored
/// outcomes), then each touched address and domain is folded in memory from its
/// stored state and written back once. A late event (older than what its address or
/// domain has seen) makes that one history be replayed instead.
pub(crate) fn append(tx: &mut dyn Tx, batch: &[Record]) -> Result<Vec<Appended>> {
    let mut policies: HashMap<String, Policy> = HashMap::new();
    for r in batch {
        if !policies.contains_key(&r.tenant) {
            let p = tenant(tx, &r.tenant)?.policy;
            policies.insert(r.tenant.clone(), p);
        }
    }
    // Refusals depend on the event alone (who, consent), not on the state.
    let mut out: Vec<Option<Appended>> = Vec::with_capacity(batch.len());
    let mut rows = Vec::with_capacity(batch.len());
    let mut seen: HashSet<(&str, Channel, &str, i64)> = HashSet::new();
    for r in batch {
        if let Err(refusal) = apply(&Default::default(), &r.event, r.at, &policies[&r.tenant]) {
            out.push(Some(Appended::Refused(refusal)));
            continue;
        }
        let dedupe = r.is_outcome().then(|| fingerprint(r));
        if let Some(d) = dedupe
            && !seen.insert((&r.tenant, r.channel, &r.address, d))
        {
            out.push(Some(Appended::Duplicate));
            continue;
        }
        let evidence = DomainEvidence::of(&r.event, r.reason);
        out.push(None);
        rows.push(NewEvent {
            record: r,
            domain: email_domain(r.channel, &r.address).zip(evidence),
            dedupe,
        });
    }
    let inserted = tx.insert_events(&rows)?;
    let stored: Vec<&NewEvent<'_>> = rows
        .iter()
        .zip(&inserted)
        .filter_map(|(row, &ok)| ok.then_some(row))
        .collect();
    let mut flags = inserted.iter();
    for o in out.iter_mut().filter(|o| o.is_none()) {
        *o = Some(if *flags.next().expect("one flag per row") {
            Appended::Stored
        } else {
            Appended::Duplicate
        });
    }

    let mut keys: Vec<AddrKey> = stored
        .iter()
        .map(|e| {
            (
                e.record.tenant.clone(),
                e.record.channel,
                e.record.address.clone(),
            )
        })
        .collect();
    keys.sort();
    keys.dedup();
    let mut states = tx.addresses(&keys)?;
    let mut late: HashSet<AddrKey> = HashSet::new();
    for e in &stored {
        let r = e.record;
        let key = (r.tenant.clone(), r.channel, r.address.clone());
        if late.contains(&key) {
            continue;
        }
        let (state, last) = states
            .entry(key.clone())
            .or_insert((Default::default(), Ts::MIN));
        if r.at < *last {
            late.insert(key);
            continue;
        }
        *state = apply(state, &r.event, r.at, &policies[&r.tenant]).unwrap_or(state.clone());
        *last = r.at;
    }
    let folded: Vec<_> = keys
        .iter()
        .filter(|k| !late.contains(*k))
        .map(|k| {
            let (s, last) = states.remove(k).expect("every key folded");
            (k.clone(), s, last)
        })
        .collect();
    tx.put_addresses(&folded)?;
    for k in &late {
        refold_address(tx, &k.0, k.1, &k.2, &policies[&k.0])?;
    }

    let mut dkeys: Vec<DomainKey> = stored
        .iter()
        .filter_map(|e| {
            e.domain
                .map(|(d, _)| (e.record.tenant.clone(), d.to_string()))
        })
        .collect();
    dkeys.sort();
    dkeys.dedup();
    if !dkeys.is_empty() {
        let mut dstates = tx.domains(&dkeys)?;
        let mut dlate: HashSet<DomainKey> = HashSet::new();
        for e in &stored {
            let Some((d, ev)) = e.domain else { continue };
            let r = e.record;
            let key = (r.tenant.clone(), d.to_string());
            if dlate.contains(&key) {
                continue;
            }
            let (state, last) = dstates
                .entry(key.clone())
                .or_insert((Default::default(), Ts::MIN));
            if r.at < *last {
                dlate.insert(key);
                continue;
            }
            *state = apply_domain(state, ev, r.at, &policies[&r.tenant]);
            *last = r.at;
        }
        let folded: Vec<_> = dkeys
            .iter()
            .filter(|k| !dlate.contains(*k))
            .map(|k| {
                let (s, last) = dstates.remove(k).expect("every domain folded");
                (k.clone(), s, last)
            })
            .collect();
        tx.put_domains(&folded)?;
        for k in &dlate {
            // The domain may have no stored row yet: its latest time is then the
            // latest in this batch.
            let newest = stored
                .iter()
                .filter(|e| e.record.tenant == k.0 && e.domain.is_some_and(|(d, _)| d == k.1))
                .map(|e| e.record.at)
                .max()
                .unwrap_or(Ts::MIN);
            refold_domain(tx, &k.0, &k.1, &policies[&k.0], newest)?;
        }
    }
    Ok(out
        .into_iter()
        .map(|o| o.expect("every record settled"))
        .collect())
}

fn refold_address(
    tx: &mut dyn Tx,
    tenant: &str,
    channel: Channel,
    address: &str,
    policy: &Policy,
) -> Result<()> {
    let history = tx.history(tenant, channel, address)?;
    let state = replay(
        history.iter().map(|s| (&s.record.event, s.record.at)),
        policy,
    );
    let last = history.iter().map(|s| s.record.at).max().unwrap_or(Ts::MIN);
    tx.put_address(tenant, channel, address, &state, last)
}

/// Replays a domain's evidence; `newest` is the latest event time known to the caller
/// (the stored row, if any, knows its own).
fn refold_domain(
    tx: &mut dyn Tx,
    tenant: &str,
    domain: &str,
    policy: &Policy,
    newest: Ts,
) -> Result<()> {
    let evidence = tx.domain_evidence_since_delivery(tenant, domain)?;
    let state = replay_domain(evidence.iter().copied(), policy);
    let stored = tx.domain(tenant, domain)?.map_or(Ts::MIN, |(_, last)| last);
    let last = evidence
        .iter()
        .map(|e| e.1)
        .fold(stored.max(newest), Ts::max);
    tx.put_domain(tenant, domain, &state, last)
}

/// A stable hash of an outcome's content, for idempotent retries. (std's hasher is
/// not stable across releases; this must be, it is stored.)
fn fingerprint(r: &Record) -> i64 {
    let event = serde_json::to_string(&r.event).unwrap_or_default();
    let detail = serde_json::to_string(&r.detail).unwrap_or_default();
    crate::codec::fnv(&[
        r.tenant.as_bytes(),
        r.channel.as_str().as_bytes(),
        r.address.as_bytes(),
        &r.at.to_le_bytes(),
        event.as_bytes(),
        r.reason.map(|x| x.as_str()).unwrap_or("").as_bytes(),
        r.campaign.as_deref().unwrap_or("").as_bytes(),
        detail.as_bytes(),
    ])
}

pub(crate) fn stop_campaign(
    tx: &mut dyn Tx,
    tenant_name: &str,
    name: &str,
    by: &str,
    at: Ts,
) -> Result<()> {
    require_who(by)?;
    tenant(tx, tenant_name)?;
    let mut c = tx.campaign(tenant_name, name)?.unwrap_or(Campaign {
        tenant: tenant_name.to_string(),
        name: name.to_string(),
        stopped: None,
    });
    c.stopped.get_or_insert(Mark {
        by: by.to_string(),
        at,
    });
    tx.put_campaign(&c)?;
    tx.audit(tenant_name, at, by, "stop", &format!("campaign {name}"))
}

pub(crate) fn gate_snapshot(
    tx: &mut dyn Tx,
    tenant_name: &str,
    channel: Channel,
    campaign: Option<&str>,
    at: Ts,
) -> Result<GateSnapshot> {
    let t = tenant(tx, tenant_name)?;
    let campaign_stopped = match campaign {
        Some(c) => tx
            .campaign(tenant_name, c)?
            .is_some_and(|c| c.stopped.is_some()),
        None => false,
    };
    let p = &t.policy;
    let mut states = crate::FastMap::default();
    tx.not_active(
        tenant_name,
        channel,
        at.saturating_sub(p.soft_bounce_rest),
        &mut |a, s| {
            states.insert(a, s);
        },
    )?;
    let nonexistent_domains: HashSet<String> = match channel {
        Channel::Email => tx.nonexistent_domains(tenant_name)?.into_iter().collect(),
        Channel::Sms => HashSet::new(),
    };
    let mut recent_sends: HashMap<String, Vec<Ts>> = HashMap::new();
    if p.frequency_cap > 0 {
        for (a, when) in tx.sends_between(
            tenant_name,
            channel,
            at.saturating_sub(p.frequency_window),
            at,
        )? {
            recent_sends.entry(a).or_default().push(when);
        }
    }
    Ok(GateSnapshot {
        tenant: t,
        campaign_stopped,
        states,
        nonexistent_domains,
        recent_sends,
    })
}

pub(crate) fn record_gate(tx: &mut dyn Tx, sends: &Sends, skips: &[Skip]) -> Result<()> {
    tx.insert_sends(sends)?;
    tx.insert_skips(skips)
}

pub(crate) fn report(
    tx: &mut dyn Tx,
    tenant_name: &str,
    campaign: Option<&str>,
    from: Ts,
    to: Ts,
) -> Result<Report> {
    tenant(tx, tenant_name)?;
    Ok(Report {
        attempted: tx.attempts_between(tenant_name, campaign, from, to)?,
        skipped: tx.skips_between(tenant_name, campaign, from, to)?,
        outcomes: tx.outcomes_between(tenant_name, campaign, from, to)?,
    })
}
