//! The compiled text matcher: every phrase fragment of every rule in one
//! Aho-Corasick automaton, every regex in one `RegexSet`, so a reply is scanned
//! once however many rules there are.

use crate::ruleset::Rule;
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex::RegexSet;
use std::collections::HashMap;

/// A fragment of a phrase: its id in the automaton, and whether its ends must fall
/// on word boundaries.
#[derive(Clone, Copy)]
struct Frag {
    id: u32,
    bound_left: bool,
    bound_right: bool,
}

/// A phrase: fragments that must occur in order.
struct Phrase {
    rule: u32,
    frags: Box<[Frag]>,
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

/// Splits the `*` markers off a fragment. A fragment's ends match only on word
/// boundaries (so `spam` does not match inside `zerospam`) unless the end is an
/// explicit `*` or is not an ASCII letter or digit (so CJK text and punctuation
/// match anywhere).
fn frag_key(f: &str) -> (&str, bool, bool) {
    let open_left = f.starts_with('*');
    let open_right = f.len() > 1 && f.ends_with('*');
    let core = f.trim_start_matches('*').trim_end_matches('*');
    let b = core.as_bytes();
    let left = !open_left && b.first().is_some_and(|&c| is_word_byte(c));
    let right = !open_right && b.last().is_some_and(|&c| is_word_byte(c));
    (core, left, right)
}

impl Frag {
    fn fits(&self, text: &[u8], start: u32, end: u32) -> bool {
        let (s, e) = (start as usize, end as usize);
        let glued_left = self.bound_left && s > 0 && is_word_byte(text[s - 1]);
        let glued_right = self.bound_right && e < text.len() && is_word_byte(text[e]);
        !glued_left && !glued_right
    }
}

pub(crate) struct Matcher {
    ac: Option<AhoCorasick>,
    /// For each fragment, the phrases that begin with it.
    starts: Vec<Vec<u32>>,
    phrases: Vec<Phrase>,
    regexes: Option<RegexSet>,
    regex_rule: Vec<u32>,
}

/// Per-call working memory, kept between calls to avoid allocation.
#[derive(Default)]
pub struct Scratch {
    pub(crate) text: String,
    hits: Vec<(u32, u32, u32)>,
    pub(crate) rules: Vec<u32>,
}

impl Matcher {
    pub(crate) fn build(rules: &[Rule]) -> Result<Matcher, String> {
        let mut frag_ids: HashMap<&str, u32> = HashMap::new();
        let mut frags: Vec<&str> = Vec::new();
        let mut phrases = Vec::new();
        let mut regex_src = Vec::new();
        let mut regex_rule = Vec::new();
        for (ri, rule) in rules.iter().enumerate() {
            for phrase in &rule.phrases {
                let ids = phrase
                    .iter()
                    .map(|f| {
                        let (core, bound_left, bound_right) = frag_key(f);
                        let id = *frag_ids.entry(core).or_insert_with(|| {
                            frags.push(core);
                            (frags.len() - 1) as u32
                        });
                        Frag {
                            id,
                            bound_left,
                            bound_right,
                        }
                    })
                    .collect();
                phrases.push(Phrase {
                    rule: ri as u32,
                    frags: ids,
                });
            }
            for re in &rule.regexes {
                regex_src.push(re.as_str());
                regex_rule.push(ri as u32);
            }
        }
        let mut starts = vec![Vec::new(); frags.len()];
        for (pi, p) in phrases.iter().enumerate() {
            starts[p.frags[0].id as usize].push(pi as u32);
        }
        let ac = if frags.is_empty() {
            None
        } else {
            Some(
                AhoCorasickBuilder::new()
                    .match_kind(MatchKind::Standard)
                    .build(&frags)
                    .map_err(|e| e.to_string())?,
            )
        };
        let regexes = if regex_src.is_empty() {
            None
        } else {
            Some(
                regex::RegexSetBuilder::new(&regex_src)
                    .size_limit(64 << 20)
                    .build()
                    .map_err(|e| e.to_string())?,
            )
        };
        Ok(Matcher {
            ac,
            starts,
            phrases,
            regexes,
            regex_rule,
        })
    }

    /// Fills `scratch.rules` with the indices of the rules whose text matches the
    /// normalised text in `scratch.text`, sorted, without duplicates.
    pub(crate) fn matching_rules(&self, scratch: &mut Scratch) {
        let Scratch { text, hits, rules } = scratch;
        hits.clear();
        rules.clear();
        if let Some(ac) = &self.ac {
            for m in ac.find_overlapping_iter(text.as_str()) {
                hits.push((m.pattern().as_u32(), m.start() as u32, m.end() as u32));
            }
        }
        let bytes = text.as_bytes();
        for &(frag, start, end) in hits.iter() {
            for &pi in &self.starts[frag as usize] {
                let p = &self.phrases[pi as usize];
                if p.frags[0].fits(bytes, start, end)
                    && (p.frags.len() == 1 || follows(&p.frags[1..], end, hits, bytes))
                {
                    rules.push(p.rule);
                }
            }
        }
        if let Some(set) = &self.regexes {
            for i in set.matches(text.as_str()).iter() {
                rules.push(self.regex_rule[i]);
            }
        }
        rules.sort_unstable();
        rules.dedup();
    }
}

/// Whether the fragments occur in order, each starting at or after the end of the
/// one before, the first at or after `from`. Greedy earliest-end choice is optimal.
fn follows(frags: &[Frag], mut from: u32, hits: &[(u32, u32, u32)], text: &[u8]) -> bool {
    for f in frags {
        let next = hits
            .iter()
            .filter(|h| h.0 == f.id && h.1 >= from && f.fits(text, h.1, h.2))
            .map(|h| h.2)
            .min();
        match next {
            Some(end) => from = end,
            None => return false,
        }
    }
    true
}
