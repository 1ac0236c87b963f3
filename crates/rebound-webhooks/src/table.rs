//! Providers' bounce types in Rebound's vocabulary (`bounce_types.toml`): the
//! fallback verdict for a bounce whose quoted reply says nothing the classifier
//! recognises.

use rebound_pipeline::Fallback;
use rebound_vocab::{Category, Reason, Scope};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::LazyLock;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    reason: String,
    category: Category,
    scope: Scope,
    permanent: bool,
}

static TABLE: LazyLock<HashMap<String, HashMap<String, Entry>>> = LazyLock::new(|| {
    toml::from_str(include_str!("bounce_types.toml")).expect("bounce_types.toml is valid")
});

/// The fallback for `provider`'s bounce type `key`, if the table knows it.
pub fn fallback(provider: &str, key: &str) -> Option<Fallback> {
    let e = TABLE.get(provider)?.get(key)?;
    Some(Fallback {
        reason: e.reason.parse().unwrap_or(Reason::Unknown),
        category: e.category,
        scope: e.scope,
        permanent: e.permanent,
        rule: format!("{provider} {key}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entry_names_a_known_reason_and_keeps_the_invariants() {
        for (provider, entries) in TABLE.iter() {
            for (key, e) in entries {
                let r: Reason = e
                    .reason
                    .parse()
                    .unwrap_or_else(|_| panic!("{provider} {key}: unknown reason {}", e.reason));
                // A sender-caused refusal never blocks a recipient (ARCHITECTURE).
                assert!(
                    !(e.scope == Scope::Sender && e.category == Category::Hard),
                    "{provider} {key}"
                );
                assert!(
                    r == Reason::Unknown || e.category != Category::Other,
                    "{provider} {key}"
                );
            }
        }
        assert_eq!(
            fallback("sparkpost", "10").map(|f| f.reason),
            Some(Reason::InvalidRecipient)
        );
        assert_eq!(fallback("sparkpost", "9999"), None);
    }
}
