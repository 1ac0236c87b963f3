//! The server's tables: API keys and idempotent submissions.

use super::{Harness, rec, tenant};
use rebound_policy::Event;
use rebound_store::*;

fn key(id: &str, tenant: &str, hash: &str) -> ApiKey {
    ApiKey {
        id: id.into(),
        tenant: tenant.into(),
        hash: hash.into(),
        label: "ops".into(),
        created_at: 100,
    }
}

pub fn api_keys_are_found_by_hash_and_need_a_tenant(h: &dyn Harness) {
    let mut s = h.open();
    tenant(&mut *s, "acme");
    s.create_api_key(&key("k1", "acme", "aa11")).unwrap();
    assert_eq!(s.api_key("aa11").unwrap(), Some(key("k1", "acme", "aa11")));
    assert_eq!(s.api_key("bb22").unwrap(), None);
    assert!(matches!(
        s.create_api_key(&key("k2", "nobody", "cc33")),
        Err(Error::UnknownTenant(_))
    ));
    assert!(s.create_api_key(&key("k1", "acme", "dd44")).is_err());
    // Another connection sees the committed key.
    assert!(h.open().api_key("aa11").unwrap().is_some());
}

pub fn submissions_with_a_seen_key_are_skipped_whole(h: &dyn Harness) {
    let mut s = h.open();
    tenant(&mut *s, "acme");
    tenant(&mut *s, "beta");
    let sub = |t: &str, k: Option<&str>, at: i64| Submission {
        tenant: t.into(),
        key: k.map(String::from),
        at,
        records: vec![
            rec(t, "jo@example.com", at, Event::Delivered),
            rec(t, "ann@example.com", at, Event::Complaint),
        ],
    };
    let r = s
        .append_submissions(&[
            sub("acme", Some("evt-1"), 10),
            sub("acme", Some("evt-1"), 11),
            sub("beta", Some("evt-1"), 12),
            sub("acme", None, 13),
        ])
        .unwrap();
    assert_eq!(r[0], Some(vec![Appended::Stored, Appended::Stored]));
    assert_eq!(r[1], None, "the same key in the same batch");
    assert_eq!(
        r[2],
        Some(vec![Appended::Stored, Appended::Stored]),
        "keys are per tenant"
    );
    assert_eq!(r[3], Some(vec![Appended::Stored, Appended::Stored]));
    let again = h
        .open()
        .append_submissions(&[
            sub("acme", Some("evt-1"), 20),
            sub("acme", Some("evt-2"), 21),
        ])
        .unwrap();
    assert_eq!(again[0], None, "a key seen by an earlier transaction");
    assert!(again[1].is_some());
    let history = s.history("acme", Channel::Email, "jo@example.com").unwrap();
    let times: Vec<i64> = history.iter().map(|x| x.record.at).collect();
    assert_eq!(times, [10, 13, 21]);
    let too_long = "k".repeat(MAX_KEY_LEN + 1);
    assert!(
        s.append_submissions(&[sub("acme", Some(&too_long), 30)])
            .is_err()
    );
    // A failed batch claims nothing: the key is still free afterwards.
    let bad = Submission {
        tenant: "acme".into(),
        key: Some("evt-3".into()),
        at: 40,
        records: vec![rec("nobody", "x@example.com", 40, Event::Delivered)],
    };
    assert!(s.append_submissions(&[bad]).is_err());
    assert!(
        s.append_submissions(&[sub("acme", Some("evt-3"), 41)])
            .unwrap()[0]
            .is_some()
    );
}
