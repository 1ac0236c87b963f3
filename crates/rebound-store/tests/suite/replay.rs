//! The store's central promise, checked on random histories: replaying an address's
//! stored history through `rebound_policy` gives its stored state, and replaying a
//! domain's evidence gives the domain's stored state, however the events arrived
//! (out of order, in batches, retried, some refused).

use super::Harness;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use rebound_policy::{DomainEvidence, Event, Policy, replay, replay_domain};
use rebound_store::{Channel, Detail, Record, Tenant};
use rebound_vocab::{Category, Reason, Scope};
use std::sync::atomic::{AtomicU32, Ordering};

const ADDRESSES: [&str; 4] = [
    "a@one.example",
    "b@one.example",
    "c@two.example",
    "d@two.example",
];

fn event() -> impl Strategy<Value = (Event, Option<Reason>)> {
    let bounce = (
        prop::sample::select(vec![
            Category::Hard,
            Category::Soft,
            Category::Technical,
            Category::Other,
        ]),
        prop::sample::select(vec![
            Scope::Recipient,
            Scope::Domain,
            Scope::Receiver,
            Scope::Sender,
        ]),
        any::<bool>(),
        prop::sample::select(vec![
            Some(Reason::BadDomain),
            Some(Reason::DomainNotAccepting),
            Some(Reason::MailboxFull),
            Some(Reason::InvalidRecipient),
            None,
        ]),
    )
        .prop_map(|(category, scope, permanent, reason)| {
            (
                Event::Bounce {
                    category,
                    scope,
                    permanent,
                },
                reason,
            )
        });
    prop_oneof![
        3 => Just((Event::Delivered, None)),
        6 => bounce,
        1 => Just((Event::Complaint, None)),
        1 => Just((Event::Unsubscribe, None)),
        1 => Just((Event::AutoReply, None)),
        1 => Just((Event::Unblock { by: "ops".into() }, None)),
        1 => Just((Event::UnblockDomain { by: "ops".into() }, None)),
        1 => Just((Event::OptOut { by: "ops".into() }, None)),
        1 => prop::sample::select(vec!["", "signed form"]).prop_map(|c| {
            (Event::OptIn { by: "ops".into(), consent: c.into() }, None)
        }),
    ]
}

type Case = (Vec<(usize, (Event, Option<Reason>), i64)>, Vec<usize>, bool);

fn case() -> impl Strategy<Value = Case> {
    (
        prop::collection::vec((0..ADDRESSES.len(), event(), 0i64..(12 * 24)), 1..40),
        prop::collection::vec(1usize..8, 1..10),
        any::<bool>(),
    )
}

static TENANTS: AtomicU32 = AtomicU32::new(0);

pub fn replay_matches_stored_state(h: &dyn Harness, cases: u32) {
    let store = std::cell::RefCell::new(h.open());
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&case(), |(events, batch_sizes, strict)| {
            let tenant = format!("prop{}", TENANTS.fetch_add(1, Ordering::Relaxed));
            let mut t = Tenant::new(&tenant);
            if strict {
                t.policy_overrides =
                    r#"{"soft_bounce_limit": 2, "domain_confirm_span": 3600}"#.into();
            }
            let mut store = store.borrow_mut();
            let policy: Policy = Tenant::parse_policy(&t.policy_overrides).unwrap();
            store.create_tenant(&t).unwrap();
            let records: Vec<Record> = events
                .iter()
                .map(|(a, (event, reason), hours)| Record {
                    tenant: tenant.clone(),
                    channel: Channel::Email,
                    address: ADDRESSES[*a].into(),
                    // Hours apart, in random order: many arrive late.
                    at: 1_780_000_000 + hours * 3600,
                    event: event.clone(),
                    reason: *reason,
                    campaign: None,
                    detail: Detail::default(),
                })
                .collect();
            let mut rest = &records[..];
            let mut sizes = batch_sizes.iter().cycle();
            while !rest.is_empty() {
                let n = (*sizes.next().unwrap()).min(rest.len());
                store.append(&rest[..n]).unwrap();
                rest = &rest[n..];
            }
            let mut all = Vec::new();
            for a in ADDRESSES {
                let history = store.history(&tenant, Channel::Email, a).unwrap();
                let replayed = replay(
                    history.iter().map(|r| (&r.record.event, r.record.at)),
                    &policy,
                );
                let stored = store
                    .state(&tenant, Channel::Email, a)
                    .unwrap()
                    .unwrap_or_default();
                prop_assert_eq!(&replayed, &stored, "address {}", a);
                all.extend(history);
            }
            all.sort_by_key(|r| (r.record.at, r.id));
            for domain in ["one.example", "two.example"] {
                let evidence = all
                    .iter()
                    .filter(|r| r.record.address.ends_with(domain))
                    .filter_map(|r| {
                        DomainEvidence::of(&r.record.event, r.record.reason)
                            .map(|e| (e, r.record.at))
                    });
                let replayed = replay_domain(evidence, &policy);
                let stored = store
                    .domain_state(&tenant, domain)
                    .unwrap()
                    .unwrap_or_default();
                prop_assert_eq!(&replayed, &stored, "domain {}", domain);
            }
            Ok(())
        })
        .unwrap();
}
