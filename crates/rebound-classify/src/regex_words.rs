//! The words a regex cannot match without: a cheap gate in front of the `RegexSet`.
//!
//! A regex rule is rare and its set is costly to run (a lazy DFA over the whole
//! text), while the matcher already hashes every word run of the text. So each regex
//! gets, where its syntax allows, one word that every match must contain as a whole
//! word run of the text (`^transaction failed\.?$` needs `transaction`); the set runs
//! only when the text holds the word of some regex, or when some regex has none.
//!
//! A word qualifies when it sits in a literal that every match contains, with a byte
//! that is not an ASCII letter or digit (or a guarantee such as `^`, `\b` or a class
//! of such bytes) on both sides. In the text such a word is then a maximal run of
//! letters and digits, which is exactly what the matcher hashes. Case-insensitive
//! literals (classes in the syntax tree) give no words, and neither do alternations
//! unless every branch needs the same word: such regexes simply always run.

use regex_syntax::hir::{Class, Hir, HirKind, Look};

/// The longest word that every match of `pattern` contains as a whole word run
/// (bounded by non-word bytes or the ends of the text), if one can be proved. The
/// pattern is read as `regex::bytes` reads it (Unicode on, UTF-8 not required).
pub(crate) fn required_word(pattern: &str) -> Option<Vec<u8>> {
    let hir = regex_syntax::ParserBuilder::new()
        .utf8(false)
        .build()
        .parse(pattern)
        .ok()?;
    let mut words = Vec::new();
    collect(&hir, false, false, &mut words);
    words.into_iter().max_by_key(|w| w.len())
}

#[inline]
fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

/// Pushes the words that every match of `hir` holds as whole word runs. `left`: if
/// the match begins with a word byte, the byte before it is none (or it is at the
/// start of the text); `right`: the same for the byte after its end.
fn collect(hir: &Hir, left: bool, right: bool, out: &mut Vec<Vec<u8>>) {
    match hir.kind() {
        HirKind::Literal(lit) => {
            let b = &lit.0;
            let mut i = 0;
            while i < b.len() {
                if !is_word_byte(b[i]) {
                    i += 1;
                    continue;
                }
                let s = i;
                while i < b.len() && is_word_byte(b[i]) {
                    i += 1;
                }
                if (s > 0 || left) && (i < b.len() || right) {
                    out.push(b[s..i].to_vec());
                }
            }
        }
        HirKind::Capture(c) => collect(&c.sub, left, right, out),
        HirKind::Repetition(r) if r.min >= 1 => {
            // The first iteration begins where the repetition does; it is followed
            // by the end of the repetition or by another iteration.
            let once = r.max == Some(1);
            let right = right && (once || starts_bounded(&r.sub));
            collect(&r.sub, left, right, out);
        }
        HirKind::Concat(subs) => {
            for (i, sub) in subs.iter().enumerate() {
                let l = bounded_before(&subs[..i], left);
                let r = bounded_after(&subs[i + 1..], right);
                collect(sub, l, r, out);
            }
        }
        HirKind::Alternation(alts) => {
            // Only the words every branch needs.
            let mut common: Option<Vec<Vec<u8>>> = None;
            for alt in alts {
                let mut words = Vec::new();
                collect(alt, left, right, &mut words);
                common = Some(match common {
                    None => words,
                    Some(c) => c.into_iter().filter(|w| words.contains(w)).collect(),
                });
            }
            out.extend(common.unwrap_or_default());
        }
        _ => {}
    }
}

/// The left context of what follows `before` (siblings in a concatenation), given
/// the left context of the whole.
fn bounded_before(before: &[Hir], whole: bool) -> bool {
    for h in before.iter().rev() {
        if ends_bounded(h) {
            return true;
        }
        // Any other assertion is zero-width, and an optional part whose matches all
        // end bounded either gives the guarantee or is empty: look further back.
        match h.kind() {
            HirKind::Look(_) => {}
            HirKind::Repetition(r) if r.min == 0 && ends_bounded(&r.sub) => {}
            _ => return false,
        }
    }
    whole
}

/// The right context of what precedes `after`, given the right context of the whole.
fn bounded_after(after: &[Hir], whole: bool) -> bool {
    for h in after {
        if starts_bounded(h) {
            return true;
        }
        match h.kind() {
            HirKind::Look(_) => {}
            HirKind::Repetition(r) if r.min == 0 && starts_bounded(&r.sub) => {}
            _ => return false,
        }
    }
    whole
}

/// Whether every match of `hir` leaves this guarantee at its end: if the next byte
/// is a word byte, the byte before it is not (or there is none).
fn ends_bounded(hir: &Hir) -> bool {
    match hir.kind() {
        HirKind::Literal(lit) => lit.0.last().is_some_and(|&b| !is_word_byte(b)),
        HirKind::Class(c) => class_has_no_word_byte(c),
        HirKind::Look(look) => matches!(
            look,
            Look::Start
                | Look::StartLF
                | Look::StartCRLF
                | Look::WordAscii
                | Look::WordUnicode
                | Look::WordStartAscii
                | Look::WordStartUnicode
                | Look::WordStartHalfAscii
                | Look::WordStartHalfUnicode
        ),
        HirKind::Capture(c) => ends_bounded(&c.sub),
        HirKind::Repetition(r) => r.min >= 1 && ends_bounded(&r.sub),
        HirKind::Concat(subs) => bounded_before(subs, false),
        HirKind::Alternation(alts) => alts.iter().all(ends_bounded),
        HirKind::Empty => false,
    }
}

/// Whether every match of `hir` gives this guarantee at its start: if the byte before
/// is a word byte, the byte at the start is not (or there is none).
fn starts_bounded(hir: &Hir) -> bool {
    match hir.kind() {
        HirKind::Literal(lit) => lit.0.first().is_some_and(|&b| !is_word_byte(b)),
        HirKind::Class(c) => class_has_no_word_byte(c),
        HirKind::Look(look) => matches!(
            look,
            Look::End
                | Look::EndLF
                | Look::EndCRLF
                | Look::WordAscii
                | Look::WordUnicode
                | Look::WordEndAscii
                | Look::WordEndUnicode
                | Look::WordEndHalfAscii
                | Look::WordEndHalfUnicode
        ),
        HirKind::Capture(c) => starts_bounded(&c.sub),
        HirKind::Repetition(r) => r.min >= 1 && starts_bounded(&r.sub),
        HirKind::Concat(subs) => bounded_after(subs, false),
        HirKind::Alternation(alts) => alts.iter().all(starts_bounded),
        HirKind::Empty => false,
    }
}

/// Whether a class holds no ASCII letter or digit (non-ASCII characters are encoded
/// as bytes of 0x80 and up, none of which is a word byte).
fn class_has_no_word_byte(c: &Class) -> bool {
    let hits_word = |lo: u32, hi: u32| {
        [(b'0', b'9'), (b'A', b'Z'), (b'a', b'z')]
            .iter()
            .any(|&(a, z)| lo <= z as u32 && a as u32 <= hi)
    };
    match c {
        Class::Unicode(u) => !u
            .ranges()
            .iter()
            .any(|r| hits_word(r.start() as u32, r.end() as u32)),
        Class::Bytes(b) => !b
            .ranges()
            .iter()
            .any(|r| hits_word(r.start() as u32, r.end() as u32)),
    }
}

#[cfg(test)]
mod tests {
    use super::required_word;

    fn word(p: &str) -> Option<String> {
        required_word(p).map(|w| String::from_utf8(w).unwrap())
    }

    #[test]
    fn words_are_found_only_where_a_boundary_is_proved() {
        assert_eq!(
            word(r"^transaction failed\.?$").as_deref(),
            Some("transaction")
        );
        assert_eq!(
            word(r"recipient address rejected\.?$").as_deref(),
            Some("rejected")
        );
        assert_eq!(
            word(r"recipient address rejected\.?").as_deref(),
            Some("address")
        );
        assert_eq!(word(r"(?:x )?foo(?: y)?\b").as_deref(), None);
        assert_eq!(word(r"\b(?:x )?foo(?: y)?\b").as_deref(), Some("foo"));
        assert_eq!(
            word(r"recipient address rejected$").as_deref(),
            Some("rejected")
        );
        assert_eq!(word(r"\bfoo\b").as_deref(), Some("foo"));
        assert_eq!(word(r"[\s(]foo[.;]").as_deref(), Some("foo"));
        assert_eq!(word(r"(?:^|\s)foo(?:$|\s)").as_deref(), Some("foo"));
        assert_eq!(word(r"(?: |x)foo "), None);
        assert_eq!(word(r"foo"), None);
        assert_eq!(word(r"foobar"), None);
        assert_eq!(word(r"(?i) foo "), None);
        assert_eq!(word(r"(?: user | user  ) "), Some("user".into()));
        assert_eq!(word(r"(?: user | mailbox )"), None);
        assert_eq!(word(r"(?: foo )?"), None);
        assert_eq!(word(r"(?: foo )+"), Some("foo".into()));
        assert_eq!(word(r"x\Bfoo bar"), None);
        assert_eq!(word(r"a(foo)+ b"), None);
        assert_eq!(word(r"a( foo)+ b"), Some("foo".into()));
        assert_eq!(word(r"(unclosed"), None);
    }

    /// Patterns with every construct the analysis reasons about.
    const PATTERNS: &[&str] = &[
        r"^transaction failed\.?$",
        r"recipient address rejected\.?$",
        r"recipient address rejected$",
        r"recipient address rejected\.?",
        r"(?:x )?foo(?: y)?\b",
        r"\b(?:x )?foo(?: y)?\b",
        r"\bfoo(?:;)?(?:\.)?$",
        r"(?:^|[\s<\[(])(?:[a-z0-9-]+\.)+(?:com|net|[a-z]{2})[\])>]?:? does not exist",
        r"\bfoo\b",
        r"\b{start}foo bar\b{end}",
        r"[\s(]foo[.;]",
        r"(?:^|\s)foo(?:$|\s)",
        r"(?m)^foo bar$",
        r"(?: foo| bar)+x? ",
        r"( foo)+ b",
        r"x\Bfoo bar",
        r"(?: foo )+",
        r"foo\b",
        r"\bbar",
        r"[^a-z0-9]foo[^a-z0-9]",
    ];

    /// The word runs of a text, as the matcher sees them.
    fn runs(text: &[u8]) -> Vec<&[u8]> {
        text.split(|b| !b.is_ascii_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect()
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4000))]
        #[test]
        fn a_text_a_regex_matches_holds_its_required_word(
            parts in proptest::collection::vec(proptest::sample::select(&[
                "foo", "bar", "x", "b", "a", " ", "  ", "\n", "(", ".", ";", "[", "<",
                "transaction", "failed", "recipient", "address", "rejected", "does",
                "not", "exist", "example", "com", "-", ":", "\u{e9}", "_", "7",
            ][..]), 0..14)
        ) {
            let text = parts.concat();
            for p in PATTERNS {
                let re = regex::bytes::Regex::new(p).unwrap();
                if re.is_match(text.as_bytes()) && let Some(w) = super::required_word(p) {
                    proptest::prop_assert!(
                        runs(text.as_bytes()).contains(&w.as_slice()),
                        "{:?} matches {:?} without the word {:?}", p, text, String::from_utf8_lossy(&w)
                    );
                }
            }
        }
    }
}
