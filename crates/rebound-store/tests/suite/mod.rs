//! The one test suite both back ends must pass. Each case is a function over a
//! [`Harness`] (a way to open the same database again); `store_suite!` turns them into
//! `#[test]`s for one back end.

#![allow(dead_code)]

mod keys;
mod replay;

use rebound_policy::{DAY, Event, SkipReason};
use rebound_store::*;
use rebound_vocab::{Category, Reason, Scope};

pub use keys::*;
pub use replay::replay_matches_stored_state;

/// Opens connections to one test database.
pub trait Harness: Sync {
    fn open(&self) -> Box<dyn Store>;
}

#[macro_export]
macro_rules! store_suite {
    ($harness:expr, proptest_cases = $cases:expr) => {
        $crate::store_suite!(@cases $harness;
            tenants_are_created_once_and_policies_checked,
            policy_change_refolds_histories,
            hard_bounce_blocks_until_someone_unblocks,
            opt_in_without_consent_is_refused_and_not_stored,
            retried_outcomes_are_stored_once,
            late_events_are_folded_in_time_order,
            a_dns_outage_does_not_make_a_domain_nonexistent,
            lasting_bad_domain_or_null_mx_confirms_and_a_delivery_revives,
            campaigns_stop_with_who_and_when,
            tenants_are_restricted_and_lifted_with_who_and_when,
            gate_snapshot_holds_only_what_gating_needs,
            everything_committed_is_there_after_reopening,
            sms_and_email_states_are_apart,
            reports_count_attempts_skips_and_outcomes_per_campaign,
            concurrent_writers_keep_every_state_equal_to_its_replay,
            api_keys_are_found_by_hash_and_need_a_tenant,
            submissions_with_a_seen_key_are_skipped_whole,
        );
        #[test]
        fn replaying_random_histories_gives_the_stored_state() {
            $crate::suite::replay_matches_stored_state(&$harness, $cases);
        }
    };
    (@cases $harness:expr; $($case:ident,)*) => {
        $(
            #[test]
            fn $case() {
                $crate::suite::$case(&$harness);
            }
        )*
    };
}

pub fn tenant(s: &mut dyn Store, name: &str) {
    s.create_tenant(&Tenant::new(name)).unwrap();
}

pub fn rec(tenant: &str, address: &str, at: i64, event: Event) -> Record {
    Record {
        tenant: tenant.into(),
        channel: Channel::Email,
        address: address.into(),
        at,
        event,
        reason: None,
        campaign: None,
        detail: Detail::default(),
    }
}

pub fn bounce(tenant: &str, address: &str, at: i64, reason: Reason, permanent: bool) -> Record {
    Record {
        reason: Some(reason),
        ..rec(
            tenant,
            address,
            at,
            Event::Bounce {
                category: reason.default_category(),
                scope: reason.default_scope(),
                permanent,
            },
        )
    }
}

fn soft(tenant: &str, address: &str, at: i64) -> Record {
    bounce(tenant, address, at, Reason::MailboxFull, true)
}

const T0: i64 = 1_780_000_000;

pub fn tenants_are_created_once_and_policies_checked(h: &dyn Harness) {
    let mut s = h.open();
    tenant(&mut *s, "acme");
    assert!(matches!(
        s.create_tenant(&Tenant::new("acme")),
        Err(Error::TenantExists(_))
    ));
    assert!(s.tenant("nobody").unwrap().is_none());
    let bad = Tenant {
        policy_overrides: r#"{"no_such_rule": 1}"#.into(),
        ..Tenant::new("bad")
    };
    assert!(matches!(s.create_tenant(&bad), Err(Error::Invalid(_))));
    assert!(s.tenant("bad").unwrap().is_none());
    let t = Tenant {
        default_country: Some("GB".into()),
        policy_overrides: r#"{"frequency_cap": 2}"#.into(),
        ..Tenant::new("shop")
    };
    s.create_tenant(&t).unwrap();
    let got = s.tenant("shop").unwrap().unwrap();
    assert_eq!(got.policy.frequency_cap, 2);
    assert_eq!(
        got.policy.soft_bounce_limit, 4,
        "unset fields keep defaults"
    );
    assert_eq!(got.default_country.as_deref(), Some("GB"));
    assert!(matches!(
        s.append(&[rec("ghost", "a@example.com", T0, Event::Delivered)]),
        Err(Error::UnknownTenant(_))
    ));
}

pub fn policy_change_refolds_histories(h: &dyn Harness) {
    let mut s = h.open();
    tenant(&mut *s, "acme");
    s.append(&[
        soft("acme", "a@example.com", T0),
        soft("acme", "a@example.com", T0 + 1),
    ])
    .unwrap();
    let st = s
        .state("acme", Channel::Email, "a@example.com")
        .unwrap()
        .unwrap();
    assert_eq!(st.suppressed_at, None);
    s.set_policy("acme", r#"{"soft_bounce_limit": 2}"#).unwrap();
    let st = s
        .state("acme", Channel::Email, "a@example.com")
        .unwrap()
        .unwrap();
    assert_eq!(st.suppressed_at, Some(T0 + 1));
    assert!(
        s.set_policy("acme", r#"{"soft_bounce_limit": "x"}"#)
            .is_err()
    );
    assert_eq!(
        s.tenant("acme").unwrap().unwrap().policy.soft_bounce_limit,
        2
    );
}

pub fn hard_bounce_blocks_until_someone_unblocks(h: &dyn Harness) {
    let mut s = h.open();
    tenant(&mut *s, "acme");
    let a = "jo@example.com";
    s.append(&[bounce("acme", a, T0, Reason::InvalidRecipient, true)])
        .unwrap();
    assert!(
        s.state("acme", Channel::Email, a)
            .unwrap()
            .unwrap()
            .blocked_at
            == Some(T0)
    );
    s.append(&[rec("acme", a, T0 + 10, Event::Delivered)])
        .unwrap();
    assert!(
        s.state("acme", Channel::Email, a)
            .unwrap()
            .unwrap()
            .blocked_at
            .is_some()
    );
    s.append(&[rec(
        "acme",
        a,
        T0 + 20,
        Event::Unblock {
            by: "ops@acme".into(),
        },
    )])
    .unwrap();
    assert_eq!(
        s.state("acme", Channel::Email, a)
            .unwrap()
            .unwrap()
            .blocked_at,
        None
    );
    let h = s.history("acme", Channel::Email, a).unwrap();
    assert_eq!(h.len(), 3);
    assert_eq!(
        h[2].record.event,
        Event::Unblock {
            by: "ops@acme".into()
        }
    );
    assert_eq!(h[2].record.at, T0 + 20);
    assert_eq!(h[0].record.reason, Some(Reason::InvalidRecipient));
}

pub fn opt_in_without_consent_is_refused_and_not_stored(h: &dyn Harness) {
    let mut s = h.open();
    tenant(&mut *s, "acme");
    let a = "jo@example.com";
    s.append(&[rec("acme", a, T0, Event::Unsubscribe)]).unwrap();
    let r = s
        .append(&[rec(
            "acme",
            a,
            T0 + 1,
            Event::OptIn {
                by: "ops".into(),
                consent: "  ".into(),
            },
        )])
        .unwrap();
    assert_eq!(
        r,
        vec![Appended::Refused(rebound_policy::Refusal::ConsentMissing)]
    );
    assert_eq!(s.history("acme", Channel::Email, a).unwrap().len(), 1);
    let r = s
        .append(&[rec(
            "acme",
            a,
            T0 + 2,
            Event::OptIn {
                by: "ops".into(),
                consent: "signed form #12, 2026-05-01".into(),
            },
        )])
        .unwrap();
    assert_eq!(r, vec![Appended::Stored]);
    assert_eq!(
        s.state("acme", Channel::Email, a)
            .unwrap()
            .unwrap()
            .opted_out_at,
        None
    );
}

pub fn retried_outcomes_are_stored_once(h: &dyn Harness) {
    let mut s = h.open();
    tenant(&mut *s, "acme");
    let b = soft("acme", "jo@example.com", T0);
    assert_eq!(
        s.append(std::slice::from_ref(&b)).unwrap(),
        vec![Appended::Stored]
    );
    assert_eq!(
        s.append(&[b.clone(), b.clone()]).unwrap(),
        vec![Appended::Duplicate, Appended::Duplicate]
    );
    let st = s
        .state("acme", Channel::Email, "jo@example.com")
        .unwrap()
        .unwrap();
    assert_eq!(st.soft_streak, 1);
    // Two identical admin actions are two actions.
    let u = rec(
        "acme",
        "jo@example.com",
        T0 + 5,
        Event::OptOut { by: "ops".into() },
    );
    assert_eq!(
        s.append(&[u.clone(), u]).unwrap(),
        vec![Appended::Stored, Appended::Stored]
    );
}

pub fn late_events_are_folded_in_time_order(h: &dyn Harness) {
    let mut s = h.open();
    tenant(&mut *s, "acme");
    let a = "jo@example.com";
    // Three soft bounces, a delivery, then a fourth soft bounce... but the delivery's
    // report arrives last. In time order the streak is 1, not 4.
    s.append(&[
        soft("acme", a, T0),
        soft("acme", a, T0 + DAY),
        soft("acme", a, T0 + 2 * DAY),
        soft("acme", a, T0 + 4 * DAY),
    ])
    .unwrap();
    assert!(
        s.state("acme", Channel::Email, a)
            .unwrap()
            .unwrap()
            .suppressed_at
            .is_some()
    );
    s.append(&[rec("acme", a, T0 + 3 * DAY, Event::Delivered)])
        .unwrap();
    let st = s.state("acme", Channel::Email, a).unwrap().unwrap();
    assert_eq!(st.soft_streak, 1);
    assert_eq!(st.suppressed_at, None);
    let hist = s.history("acme", Channel::Email, a).unwrap();
    let ats: Vec<i64> = hist.iter().map(|r| r.record.at).collect();
    assert!(
        ats.windows(2).all(|w| w[0] <= w[1]),
        "history in time order"
    );
}

pub fn a_dns_outage_does_not_make_a_domain_nonexistent(h: &dyn Harness) {
    let mut s = h.open();
    tenant(&mut *s, "acme");
    let batch: Vec<Record> = (0..20)
        .map(|i| {
            bounce(
                "acme",
                &format!("u{i}@flaky.example"),
                T0 + i * 600,
                Reason::BadDomain,
                true,
            )
        })
        .collect();
    s.append(&batch).unwrap();
    let d = s.domain_state("acme", "flaky.example").unwrap().unwrap();
    assert_eq!(d.bad_count, 20);
    assert_eq!(d.nonexistent_since, None);
    // Transient bad-domain replies are no evidence at all.
    s.append(&[bounce(
        "acme",
        "x@flaky.example",
        T0 + 3 * DAY,
        Reason::BadDomain,
        false,
    )])
    .unwrap();
    let snap = s
        .gate_snapshot("acme", Channel::Email, None, T0 + 3 * DAY)
        .unwrap();
    assert!(snap.nonexistent_domains.is_empty());
}

pub fn lasting_bad_domain_or_null_mx_confirms_and_a_delivery_revives(h: &dyn Harness) {
    let mut s = h.open();
    tenant(&mut *s, "acme");
    s.append(&[
        bounce("acme", "a@gone.example", T0, Reason::BadDomain, true),
        bounce(
            "acme",
            "b@gone.example",
            T0 + DAY + 60,
            Reason::BadDomain,
            true,
        ),
        bounce(
            "acme",
            "c@nullmx.example",
            T0,
            Reason::DomainNotAccepting,
            true,
        ),
    ])
    .unwrap();
    let snap = s
        .gate_snapshot("acme", Channel::Email, None, T0 + 2 * DAY)
        .unwrap();
    let mut d: Vec<_> = snap.nonexistent_domains.into_iter().collect();
    d.sort();
    assert_eq!(d, ["gone.example", "nullmx.example"]);
    // A delivery reported late, from before the second bounce, resets the count: the
    // second bounce alone is not enough.
    s.append(&[rec("acme", "z@gone.example", T0 + 3600, Event::Delivered)])
        .unwrap();
    let g = s.domain_state("acme", "gone.example").unwrap().unwrap();
    assert_eq!(g.nonexistent_since, None);
    assert_eq!(g.bad_count, 1);
}

pub fn campaigns_stop_with_who_and_when(h: &dyn Harness) {
    let mut s = h.open();
    tenant(&mut *s, "acme");
    assert!(s.campaign("acme", "spring").unwrap().is_none());
    s.stop_campaign("acme", "spring", "ana", T0).unwrap();
    s.stop_campaign("acme", "spring", "bob", T0 + 5).unwrap();
    let c = s.campaign("acme", "spring").unwrap().unwrap();
    assert_eq!(
        c.stopped,
        Some(Mark {
            by: "ana".into(),
            at: T0
        }),
        "first stop counts"
    );
    assert!(s.stop_campaign("acme", "spring", " ", T0).is_err());
    assert!(matches!(
        s.stop_campaign("ghost", "spring", "ana", T0),
        Err(Error::UnknownTenant(_))
    ));
    let snap = s
        .gate_snapshot("acme", Channel::Email, Some("spring"), T0)
        .unwrap();
    assert!(snap.campaign_stopped);
    let snap = s
        .gate_snapshot("acme", Channel::Email, Some("summer"), T0)
        .unwrap();
    assert!(!snap.campaign_stopped);
}

pub fn tenants_are_restricted_and_lifted_with_who_and_when(h: &dyn Harness) {
    let mut s = h.open();
    tenant(&mut *s, "acme");
    s.set_restricted("acme", true, "trust-and-safety", T0)
        .unwrap();
    let t = s.tenant("acme").unwrap().unwrap();
    assert_eq!(
        t.restricted,
        Some(Mark {
            by: "trust-and-safety".into(),
            at: T0
        })
    );
    s.set_restricted("acme", false, "trust-and-safety", T0 + 9)
        .unwrap();
    assert_eq!(s.tenant("acme").unwrap().unwrap().restricted, None);
    assert!(s.set_restricted("acme", true, "", T0).is_err());
}

pub fn gate_snapshot_holds_only_what_gating_needs(h: &dyn Harness) {
    let mut s = h.open();
    s.create_tenant(&Tenant {
        policy_overrides: r#"{"frequency_cap": 2, "frequency_window": 86400}"#.into(),
        ..Tenant::new("acme")
    })
    .unwrap();
    s.append(&[
        rec("acme", "fine@example.com", T0, Event::Delivered),
        soft("acme", "resting@example.com", T0 + 5 * DAY),
        soft("acme", "rested@example.com", T0),
        rec("acme", "rested@example.com", T0 + 1, Event::Delivered),
        rec("acme", "out@example.com", T0, Event::Unsubscribe),
    ])
    .unwrap();
    let at = T0 + 8 * DAY;
    for when in [at - 100, at - 2 * DAY] {
        let mut sends = Sends::new("acme", Some("c1"), Channel::Email, when);
        assert!(sends.push("fine@example.com"));
        s.record_gate(&sends, &[]).unwrap();
    }
    let snap = s
        .gate_snapshot("acme", Channel::Email, Some("c1"), at)
        .unwrap();
    let mut held: Vec<_> = snap.states.keys().cloned().collect();
    held.sort();
    assert_eq!(held, ["out@example.com", "resting@example.com"]);
    assert_eq!(snap.recent_sends["fine@example.com"], vec![at - 100]);
    let st = &snap.states["resting@example.com"].unpack();
    let facts = rebound_policy::GateFacts {
        address_valid: true,
        state: Some(st),
        ..Default::default()
    };
    assert_eq!(
        rebound_policy::decide(&facts, &snap.tenant.policy, at),
        Some(SkipReason::RecentSoftBounce)
    );
    assert_eq!(s.count_attempts("acme", Some("c1")).unwrap(), 2);
    assert_eq!(s.count_attempts("acme", Some("c2")).unwrap(), 0);
}

pub fn everything_committed_is_there_after_reopening(h: &dyn Harness) {
    {
        let mut s = h.open();
        tenant(&mut *s, "acme");
        s.append(&[rec("acme", "jo@example.com", T0, Event::Complaint)])
            .unwrap();
    }
    let mut s = h.open();
    let st = s
        .state("acme", Channel::Email, "jo@example.com")
        .unwrap()
        .unwrap();
    assert_eq!(st.complained_at, Some(T0));
}

pub fn sms_and_email_states_are_apart(h: &dyn Harness) {
    let mut s = h.open();
    tenant(&mut *s, "acme");
    let stop = Record {
        channel: Channel::Sms,
        ..rec("acme", "+447700900123", T0, Event::Unsubscribe)
    };
    s.append(&[stop]).unwrap();
    assert!(
        s.state("acme", Channel::Sms, "+447700900123")
            .unwrap()
            .is_some()
    );
    assert!(
        s.state("acme", Channel::Email, "+447700900123")
            .unwrap()
            .is_none()
    );
    let snap = s.gate_snapshot("acme", Channel::Email, None, T0).unwrap();
    assert!(snap.states.is_empty());
    let snap = s.gate_snapshot("acme", Channel::Sms, None, T0).unwrap();
    assert_eq!(snap.states.len(), 1);
    let _ = (Category::Hard, Scope::Recipient);
}

pub fn reports_count_attempts_skips_and_outcomes_per_campaign(h: &dyn Harness) {
    let mut s = h.open();
    tenant(&mut *s, "acme");
    let in_c1 = |mut r: Record| {
        r.campaign = Some("c1".into());
        r
    };
    s.append(&[
        in_c1(rec("acme", "a@one.example", T0, Event::Delivered)),
        in_c1(rec("acme", "b@one.example", T0, Event::Delivered)),
        in_c1(bounce(
            "acme",
            "c@two.example",
            T0,
            Reason::MailboxFull,
            true,
        )),
        in_c1(rec("acme", "d@two.example", T0, Event::Complaint)),
        rec("acme", "e@two.example", T0, Event::Delivered),
        in_c1(rec(
            "acme",
            "f@two.example",
            T0 + 10 * DAY,
            Event::Delivered,
        )),
        // Admin actions are not outcomes.
        in_c1(rec(
            "acme",
            "a@one.example",
            T0,
            Event::OptOut { by: "ana".into() },
        )),
    ])
    .unwrap();
    let mut sends = Sends::new("acme", Some("c1"), Channel::Email, T0);
    assert!(sends.push("a@one.example"));
    assert!(sends.push("b@one.example"));
    assert!(
        !sends.push("two\nlines@one.example"),
        "a line feed would split on reading"
    );
    assert!(!sends.push(""));
    let skip = |reason: &str, count| Skip {
        tenant: "acme".into(),
        campaign: Some("c1".into()),
        channel: Channel::Email,
        at: T0,
        reason: reason.into(),
        count,
    };
    s.record_gate(
        &sends,
        &[skip("unsubscribed", 3), skip("frequency_capped", 1)],
    )
    .unwrap();
    let none = Sends::new("acme", Some("c1"), Channel::Email, T0);
    s.record_gate(&none, &[skip("unsubscribed", 2)]).unwrap();
    let r = s.report("acme", Some("c1"), T0, T0 + DAY).unwrap();
    assert_eq!(r.attempted, 2);
    assert_eq!(
        r.skipped,
        [
            ("frequency_capped".to_string(), 1),
            ("unsubscribed".to_string(), 5)
        ]
    );
    /// kind, category, reason, domain, count
    type Row<'a> = (&'a str, Option<&'a str>, Option<&'a str>, &'a str, u64);
    let got: Vec<Row<'_>> = r
        .outcomes
        .iter()
        .map(|o| {
            (
                o.kind.as_str(),
                o.category.as_deref(),
                o.reason.as_deref(),
                o.domain.as_str(),
                o.count,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "bounce",
                Some("soft"),
                Some("mailbox_full"),
                "two.example",
                1
            ),
            ("complaint", None, None, "two.example", 1),
            ("delivered", None, None, "one.example", 2),
        ]
    );
    let all = s.report("acme", None, T0, T0 + 30 * DAY).unwrap();
    assert_eq!(all.outcomes.iter().map(|o| o.count).sum::<u64>(), 6);
    assert!(matches!(
        s.report("ghost", None, 0, 1),
        Err(Error::UnknownTenant(_))
    ));
}

/// Several nodes (connections) appending to the same addresses and domain at once:
/// no update may be lost, so every stored fold still equals the replay of its history.
pub fn concurrent_writers_keep_every_state_equal_to_its_replay(h: &dyn Harness) {
    tenant(&mut *h.open(), "acme");
    let addresses = ["a@shared.example", "b@shared.example"];
    std::thread::scope(|scope| {
        for writer in 0..4i64 {
            scope.spawn(move || {
                let mut s = h.open();
                for i in 0..30i64 {
                    let at = T0 + i * 3600 + writer;
                    let a = addresses[(i % 2) as usize];
                    let r = match (i + writer) % 4 {
                        0 => rec("acme", a, at, Event::Delivered),
                        1 => soft("acme", a, at),
                        2 => bounce("acme", a, at, Reason::BadDomain, true),
                        _ => rec("acme", a, at, Event::Unblock { by: "ops".into() }),
                    };
                    s.append(&[r]).unwrap();
                }
            });
        }
    });
    let mut s = h.open();
    let policy = rebound_policy::Policy::default();
    let mut all = Vec::new();
    for a in addresses {
        let history = s.history("acme", Channel::Email, a).unwrap();
        assert_eq!(history.len(), 60);
        let replayed = rebound_policy::replay(
            history.iter().map(|r| (&r.record.event, r.record.at)),
            &policy,
        );
        assert_eq!(
            s.state("acme", Channel::Email, a).unwrap().unwrap(),
            replayed,
            "{a}"
        );
        all.extend(history);
    }
    all.sort_by_key(|r| (r.record.at, r.id));
    let evidence = all.iter().filter_map(|r| {
        rebound_policy::DomainEvidence::of(&r.record.event, r.record.reason)
            .map(|e| (e, r.record.at))
    });
    assert_eq!(
        s.domain_state("acme", "shared.example").unwrap().unwrap(),
        rebound_policy::replay_domain(evidence, &policy)
    );
}

/// A database from before sends were stored a run to a row: a tenant and three
/// per-send `attempts` rows in two runs. `{id}` is the back end's key type.
pub const OLD_ATTEMPTS: &str = "INSERT INTO tenants (name) VALUES ('acme');
CREATE TABLE attempts (id {id}, tenant TEXT NOT NULL,
    campaign TEXT, channel TEXT NOT NULL, address TEXT NOT NULL, at BIGINT NOT NULL);
INSERT INTO attempts (tenant, campaign, channel, address, at) VALUES
    ('acme', 'c1', 'email', 'a@x.example', 100),
    ('acme', 'c1', 'email', 'b@x.example', 100),
    ('acme', NULL, 'email', 'a@x.example', 200);";

/// What a store opened on [`OLD_ATTEMPTS`] must count: every old send, by campaign.
pub fn old_attempts_are_counted(s: &mut dyn Store) {
    assert_eq!(s.count_attempts("acme", Some("c1")).unwrap(), 2);
    assert_eq!(s.count_attempts("acme", None).unwrap(), 3);
}

/// Seeds a store with addresses in every marked state, for [`unpacked_states_are_packed`]:
/// blocked, opted out, complained, resting after a soft bounce, and one delivered.
pub fn seed_marked(s: &mut dyn Store) {
    tenant(s, "acme");
    let rows = [
        bounce(
            "acme",
            "hard@x.example",
            100,
            Reason::InvalidRecipient,
            true,
        ),
        rec("acme", "out@x.example", 100, Event::Unsubscribe),
        rec("acme", "spam@x.example", 100, Event::Complaint),
        soft("acme", "soft@x.example", 100),
        rec("acme", "fine@x.example", 100, Event::Delivered),
    ];
    s.append(&rows).unwrap();
}

/// SQL that turns a seeded database back into one written before the `packed`
/// column (its indexes dropped first; both dialects).
pub const DROP_PACKED: &str = "DROP INDEX addresses_marked_state;
DROP INDEX addresses_resting_packed;
ALTER TABLE addresses DROP COLUMN packed;";

/// After reopening a database from before the `packed` column, the gate sees the
/// same marked addresses with the same states as before.
pub fn unpacked_states_are_packed(s: &mut dyn Store, before: &[(String, AddressState)]) {
    let mut after = s.marked("acme", Channel::Email).unwrap();
    after.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(after, before);
    assert_eq!(after.len(), 4, "four marked, the delivered one not");
}
