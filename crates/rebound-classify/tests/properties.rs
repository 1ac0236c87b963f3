//! Whatever comes in, a verdict comes out, and it is internally consistent.

use proptest::prelude::*;
use rebound_classify::{Classifier, Permanence, Reply, Scratch};
use rebound_vocab::{Category, Scope};

fn check_consistent(line: &str) {
    let v = Classifier::builtin().classify(&Reply::parse(line), &mut Scratch::default());
    if v.suppress {
        assert_eq!(v.category, Category::Hard, "{line:?}");
        assert!(
            matches!(v.scope, Scope::Recipient | Scope::Domain),
            "{line:?}"
        );
        assert_ne!(v.evidence.permanence, Permanence::Transient, "{line:?}");
    }
    if v.scope == Scope::Sender {
        assert_ne!(v.category, Category::Hard, "{line:?}");
    }
    if v.evidence.permanence == Permanence::Transient {
        assert_ne!(v.category, Category::Hard, "{line:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn any_text_gets_a_consistent_verdict(s in ".{0,400}") {
        check_consistent(&s);
    }

    #[test]
    fn any_bytes_get_a_consistent_verdict(b in proptest::collection::vec(any::<u8>(), 0..600)) {
        check_consistent(&String::from_utf8_lossy(&b));
    }

    #[test]
    fn reply_shaped_noise_gets_a_consistent_verdict(
        code in 200u16..600,
        status in "[245]\\.[0-9]{1,3}\\.[0-9]{1,3}",
        words in proptest::collection::vec("[a-zA-Z#\\[\\]():.;-]{1,12}", 0..30),
    ) {
        check_consistent(&format!("{code} {status} {}", words.join(" ")));
        check_consistent(&format!("{code}-{status} {} {code} {status} end", words.join(" ")));
    }
}

#[test]
fn a_megabyte_line_is_classified() {
    let mut line = String::from("550 5.1.1 ");
    line.push_str(&"user unknown ".repeat(80_000));
    check_consistent(&line);
    check_consistent(&"\u{fffd}".repeat(400_000));
}
