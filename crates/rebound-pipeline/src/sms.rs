//! SMS outcomes: gateway error codes, SMPP receipt states and STOP words, read from
//! the embedded table `sms_outcomes.toml` (rules are data).

use rebound_vocab::{Category, Reason, Scope};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::LazyLock;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    stop_words: Vec<String>,
    code: HashMap<String, Entry>,
    smpp: HashMap<String, Entry>,
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    #[serde(default)]
    opt_out: bool,
    reason: Option<String>,
    category: Option<Category>,
    scope: Option<Scope>,
    #[serde(default)]
    permanent: bool,
}

/// What an SMS report means.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SmsOutcome {
    OptOut {
        rule: String,
    },
    Bounce {
        reason: Reason,
        category: Category,
        scope: Scope,
        permanent: bool,
        rule: String,
    },
}

static TABLE: LazyLock<Table> = LazyLock::new(|| {
    toml::from_str(include_str!("sms_outcomes.toml")).expect("sms_outcomes.toml is valid")
});

fn outcome(e: &Entry, rule: String) -> SmsOutcome {
    if e.opt_out {
        return SmsOutcome::OptOut { rule };
    }
    let reason: Reason = e
        .reason
        .as_deref()
        .and_then(|r| r.parse().ok())
        .unwrap_or(Reason::Unknown);
    SmsOutcome::Bounce {
        reason,
        category: e.category.unwrap_or(reason.default_category()),
        scope: e.scope.unwrap_or(reason.default_scope()),
        permanent: e.permanent,
        rule,
    }
}

/// Is this inbound body a request to stop?
pub fn is_stop_word(body: &str) -> bool {
    let b = body.trim().trim_end_matches(['.', '!']);
    TABLE.stop_words.iter().any(|w| w.eq_ignore_ascii_case(b))
}

/// Classifies an SMS failure from its code and/or text. Never fails: no usable
/// information is `other` / `unknown`.
pub fn classify(code: Option<&str>, reply: Option<&str>) -> SmsOutcome {
    if let Some(c) = code.map(str::trim) {
        if let Some(e) = TABLE.code.get(c) {
            return outcome(e, format!("sms code {c}"));
        }
        if let Some(e) = TABLE.smpp.get(&c.to_ascii_uppercase()) {
            return outcome(e, format!("smpp {}", c.to_ascii_uppercase()));
        }
    }
    if let Some(r) = reply {
        if is_stop_word(r) {
            return SmsOutcome::OptOut {
                rule: "stop word".into(),
            };
        }
        // An SMPP receipt: `id:... stat:UNDELIV err:...`.
        if let Some(i) = r.find("stat:") {
            let state: String = r[i + 5..]
                .chars()
                .take_while(|c| c.is_ascii_alphabetic())
                .collect::<String>()
                .to_ascii_uppercase();
            if let Some(e) = TABLE.smpp.get(&state) {
                return outcome(e, format!("smpp {state}"));
            }
        }
        // A reply that starts with a known code ("30005 Unknown destination").
        let lead: String = r
            .trim()
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        if let Some(e) = TABLE.code.get(&lead) {
            return outcome(e, format!("sms code {lead}"));
        }
    }
    outcome(
        &Entry {
            opt_out: false,
            reason: None,
            category: None,
            scope: None,
            permanent: false,
        },
        "sms unknown".into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_entry_names_a_known_reason() {
        for (k, e) in TABLE.code.iter().chain(&TABLE.smpp) {
            if !e.opt_out {
                let r = e.reason.as_deref().unwrap_or("");
                assert!(r.parse::<Reason>().is_ok(), "{k}: unknown reason {r:?}");
                assert!(e.category.is_some() && e.scope.is_some(), "{k}");
            }
        }
    }

    #[test]
    fn twilio_codes_smpp_states_and_stop_words() {
        let hard = |o: SmsOutcome| {
            matches!(
                o,
                SmsOutcome::Bounce {
                    category: Category::Hard,
                    permanent: true,
                    ..
                }
            )
        };
        assert!(hard(classify(Some("30005"), None)));
        assert!(hard(classify(Some("30006"), None)));
        assert!(matches!(
            classify(Some("30003"), None),
            SmsOutcome::Bounce {
                category: Category::Soft,
                scope: Scope::Recipient,
                ..
            }
        ));
        assert!(matches!(
            classify(Some("30007"), None),
            SmsOutcome::Bounce {
                scope: Scope::Sender,
                ..
            }
        ));
        assert!(matches!(
            classify(Some("21610"), None),
            SmsOutcome::OptOut { .. }
        ));
        assert!(matches!(
            classify(
                None,
                Some(
                    "id:1 sub:001 dlvrd:000 submit date:2601010000 done date:2601010001 stat:EXPIRED err:000"
                )
            ),
            SmsOutcome::Bounce {
                reason: Reason::Expired,
                ..
            }
        ));
        assert!(matches!(
            classify(None, Some(" stop ")),
            SmsOutcome::OptOut { .. }
        ));
        assert!(matches!(
            classify(None, Some("Unsubscribe")),
            SmsOutcome::OptOut { .. }
        ));
        assert!(!is_stop_word("please stop sending me deals"));
        assert!(matches!(
            classify(None, None),
            SmsOutcome::Bounce {
                reason: Reason::Unknown,
                ..
            }
        ));
    }
}
