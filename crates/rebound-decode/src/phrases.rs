//! The knowledge tables compiled once into Aho-Corasick automata, so that asking
//! "does this text contain any of these phrases" scans the text once instead of once
//! per phrase (the per-phrase `str::contains` loops were a third of decoding time).

use crate::knowledge;
use aho_corasick::{AhoCorasick, MatchKind};
use std::sync::LazyLock;

/// A table of lower-case phrases.
pub struct PhraseSet {
    any: AhoCorasick,
    leftmost: AhoCorasick,
}

impl PhraseSet {
    fn new<'a, I: IntoIterator<Item = &'a str> + Clone>(phrases: I) -> PhraseSet {
        let build = |kind| {
            AhoCorasick::builder()
                .match_kind(kind)
                .build(phrases.clone())
                .expect("knowledge phrases compile")
        };
        PhraseSet {
            any: build(MatchKind::Standard),
            leftmost: build(MatchKind::LeftmostFirst),
        }
    }

    /// Whether any phrase occurs in `hay`.
    pub fn any_in(&self, hay: &str) -> bool {
        self.any.is_match(hay)
    }

    /// Where the earliest occurrence of any phrase starts.
    pub fn earliest(&self, hay: &str) -> Option<usize> {
        self.leftmost.find(hay).map(|m| m.start())
    }

    /// The phrase (its index in the table) that occurs earliest in `hay`; at equal
    /// positions the one first in the table.
    pub fn earliest_phrase(&self, hay: &str) -> Option<usize> {
        self.leftmost.find(hay).map(|m| m.pattern().as_usize())
    }

    /// The index, in table order, of the first phrase that occurs anywhere in `hay`.
    pub fn first_in_table_order(&self, hay: &str) -> Option<usize> {
        self.any
            .find_overlapping_iter(hay)
            .map(|m| m.pattern().as_usize())
            .min()
    }
}

pub static RETURNED_BOUNDARIES: LazyLock<PhraseSet> =
    LazyLock::new(|| PhraseSet::new(knowledge::RETURNED_BOUNDARIES.iter().copied()));
pub static BOUNCE_SUBJECTS: LazyLock<PhraseSet> =
    LazyLock::new(|| PhraseSet::new(knowledge::BOUNCE_SUBJECTS.iter().copied()));
pub static FAMILY_MARKERS: LazyLock<PhraseSet> =
    LazyLock::new(|| PhraseSet::new(knowledge::FAMILY_MARKERS.iter().map(|(_, p)| *p)));
/// [`knowledge::BOILERPLATE`] matched ignoring ASCII case, on text not lower-cased: the
/// phrases are ASCII and lower case, so this finds what matching them in the lower-cased
/// text finds (lowering keeps offsets and never makes a non-ASCII character ASCII).
pub static BOILERPLATE_ANY_CASE: LazyLock<AhoCorasick> = LazyLock::new(|| {
    AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build(knowledge::BOILERPLATE)
        .expect("knowledge phrases compile")
});
/// `SMTP_COMMAND_PHRASES` flattened: each phrase with its command.
pub static SMTP_COMMANDS: LazyLock<(Vec<&'static str>, PhraseSet)> = LazyLock::new(|| {
    let pairs: Vec<(&str, &str)> = knowledge::SMTP_COMMAND_PHRASES
        .iter()
        .flat_map(|(cmd, phrases)| phrases.iter().map(move |p| (*cmd, *p)))
        .collect();
    let set = PhraseSet::new(pairs.iter().map(|(_, p)| *p).collect::<Vec<_>>());
    (pairs.into_iter().map(|(c, _)| c).collect(), set)
});
/// What the phrases of a whole report text say, found in one scan of it
/// ([`report_phrases`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReportPhrases {
    /// The first of [`knowledge::FAMILY_MARKERS`], in table order, that occurs.
    pub family: Option<usize>,
    /// Whether any of [`knowledge::DELAY_PHRASES`] occurs.
    pub delayed: bool,
    /// The phrase of [`SMTP_COMMANDS`] that occurs first (at equal positions the first
    /// in the table), as [`PhraseSet::earliest_phrase`] finds it.
    pub command: Option<usize>,
}

/// The family markers, the delay phrases and the SMTP command phrases in one
/// automaton, with where the delay and the command phrases start in it.
static REPORT: LazyLock<(AhoCorasick, usize, usize)> = LazyLock::new(|| {
    let mut all: Vec<&str> = knowledge::FAMILY_MARKERS.iter().map(|(_, p)| *p).collect();
    let delay = all.len();
    all.extend(knowledge::DELAY_PHRASES);
    let command = all.len();
    all.extend(
        SMTP_COMMANDS
            .0
            .iter()
            .enumerate()
            .map(|(i, _)| smtp_phrase(i)),
    );
    let ac = AhoCorasick::builder()
        .match_kind(MatchKind::Standard)
        .build(all)
        .expect("knowledge phrases compile");
    (ac, delay, command)
});

/// The `i`-th phrase of [`SMTP_COMMANDS`].
fn smtp_phrase(i: usize) -> &'static str {
    knowledge::SMTP_COMMAND_PHRASES
        .iter()
        .flat_map(|(_, phrases)| phrases.iter().copied())
        .nth(i)
        .unwrap_or_default()
}

/// The family, delay and command phrases of a lower-case report text, in one scan: the
/// same answers as [`FAMILY_MARKERS`]`.first_in_table_order`, [`DELAY_PHRASES`]`.any_in`
/// and [`SMTP_COMMANDS`]`.earliest_phrase` give, each scanning the text.
pub fn report_phrases(lower: &str) -> ReportPhrases {
    let (ac, delay, command) = &*REPORT;
    let mut out = ReportPhrases::default();
    let mut first_command: Option<(usize, usize)> = None;
    for m in ac.find_overlapping_iter(lower) {
        let p = m.pattern().as_usize();
        if p < *delay {
            out.family = Some(out.family.map_or(p, |f| f.min(p)));
        } else if p < *command {
            out.delayed = true;
        } else {
            let c = (m.start(), p - command);
            first_command = Some(first_command.map_or(c, |f| f.min(c)));
        }
    }
    out.command = first_command.map(|(_, i)| i);
    out
}

pub static DELAY_PHRASES: LazyLock<PhraseSet> =
    LazyLock::new(|| PhraseSet::new(knowledge::DELAY_PHRASES.iter().copied()));

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phrases_matched_in_any_case_are_lower_case_ascii() {
        for p in knowledge::BOILERPLATE {
            assert!(p.is_ascii() && p.to_ascii_lowercase() == *p, "{p}");
        }
    }

    #[test]
    fn one_scan_finds_what_each_table_finds() {
        let texts = [
            "",
            "technical details of temporary failure: 550 after rcpt to: refused",
            "sent <<< rcpt to: x\nthis is the qmail-send program. will retry. after data",
            "greeting refused; after end of data; undeliverable; this is the postfix program",
            "in reply to rcpt to command, after rcpt to, did not like our data",
        ];
        let (commands, set) = &*SMTP_COMMANDS;
        for t in texts {
            let r = report_phrases(t);
            assert_eq!(r.family, FAMILY_MARKERS.first_in_table_order(t), "{t}");
            assert_eq!(r.delayed, DELAY_PHRASES.any_in(t), "{t}");
            assert_eq!(
                r.command.map(|i| commands[i]),
                set.earliest_phrase(t).map(|i| commands[i]),
                "{t}"
            );
            assert_eq!(r.command, set.earliest_phrase(t), "{t}");
        }
    }

    #[test]
    fn table_order_wins_over_position() {
        let set = PhraseSet::new(["second", "first"]);
        assert_eq!(set.first_in_table_order("first then second"), Some(0));
        assert_eq!(set.earliest("first then second"), Some(0));
        assert!(set.any_in("xx second"));
        assert!(!set.any_in("nothing"));
    }
}
