//! Every built-in rule decides the real replies given as its examples. Removing or
//! breaking a rule, or shadowing it with an earlier one, fails this test by name.

use rebound_classify::{Classifier, Reply, Scratch};

#[test]
fn every_rule_decides_its_own_examples() {
    let c = Classifier::builtin();
    let mut scratch = Scratch::default();
    let mut failures = Vec::new();
    let mut checked = 0;
    for rule in c.rules() {
        assert!(!rule.examples.is_empty(), "rule {} has no example", rule.id);
        for ex in &rule.examples {
            checked += 1;
            let v = c.classify(&Reply::parse(ex), &mut scratch);
            if v.evidence.rule != rule.id {
                failures.push(format!(
                    "{} ({}): decided by {} as {}: {ex}",
                    rule.id, rule.origin, v.evidence.rule, v.reason
                ));
            }
        }
    }
    assert!(checked > 0, "no rule example was checked");
    assert!(
        failures.is_empty(),
        "{} of {checked} examples not decided by their rule:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
