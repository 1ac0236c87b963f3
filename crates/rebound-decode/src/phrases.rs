//! The knowledge tables compiled once for substring search, so that asking "does this
//! text contain any of these phrases" scans the text once instead of once per phrase
//! (the per-phrase `str::contains` loops were a third of decoding time).
//!
//! A table is searched by sampling the text: every phrase is at least `m` bytes long
//! (`m` the table's shortest phrase), so an occurrence always covers one of the text's
//! 4-byte windows that start at a multiple of `m - 3`, at an offset below `m - 3` in
//! the phrase. Those windows alone are looked up, in a 64 Kibit filter of the hashes of
//! each phrase's 4-byte windows at those offsets, and only a window the filter passes
//! is compared with the phrases. Over the development corpus (`maildir/bsd`, counted
//! by callgrind) this took the scan of a report's text for the family markers, delay
//! and command phrases from 11,800 instructions per message (one aho-corasick
//! automaton, overlapping search) to 3,900; for a table of long phrases (the
//! returned-message boundaries, 17 bytes and more) most of the text is stepped over.

use crate::knowledge;
use std::ops::ControlFlow;
use std::sync::LazyLock;

/// The bytes of a window, as the filter sees them.
const WINDOW: usize = 4;

/// Bits in a table's filter (one `u64` holds 64 of them).
const FILTER_BITS: usize = 1 << 16;

/// A table of phrases, each given in lower case (or, for a table that ignores case,
/// in ASCII lower case), searched as substrings.
pub struct PhraseSet {
    phrases: Vec<Box<[u8]>>,
    /// Text windows are looked up every `stride` bytes: the shortest phrase of a window
    /// or more, less the window, plus one.
    stride: usize,
    /// A bit per [`slot`] of the keys in `entries`.
    filter: Box<[u64; FILTER_BITS / 64]>,
    /// The window of each phrase at each offset below `stride`, in the order of the
    /// filter word their slot falls in ...
    entries: Vec<Entry>,
    /// ... the entries of filter word `i` being `entries[buckets[i]..buckets[i + 1]]`.
    buckets: Box<[u32]>,
    /// The phrases searched one by one rather than sampled: those shorter than a
    /// window, and in a table that keeps case the few shortest, when leaving them out
    /// lets the sampling step further ([`PhraseSet::build`]).
    short: Vec<(usize, memchr::memmem::Finder<'static>)>,
    /// Whether ASCII case is ignored (the text is not lowered first).
    fold: bool,
}

/// The window `key` starts `offset` bytes into phrase `phrase`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Entry {
    key: u32,
    phrase: u32,
    offset: u32,
    /// The phrase's first eight bytes (fewer if it is shorter, the rest zero) and the
    /// mask of those it has: most windows that match a phrase's window are not the
    /// phrase, and one load and compare tells so.
    head: u64,
    mask: u64,
}

/// Where a window's bit sits in a filter.
fn slot(key: u32) -> usize {
    (key.wrapping_mul(0x9E37_79B1) >> 16) as usize
}

/// `key`'s four bytes with ASCII upper-case letters lowered, the others kept.
fn fold_key(key: u32) -> u32 {
    fold_word(u64::from(key)) as u32
}

/// `word`'s eight bytes with ASCII upper-case letters lowered, the others kept: what
/// `to_ascii_lowercase` does to each byte, on all eight at once.
fn fold_word(word: u64) -> u64 {
    const EACH: u64 = 0x0101_0101_0101_0101;
    let low7 = word & (0x7f * EACH);
    // Bit 7 of a byte is set where its low seven bits are at least `A` (0x41) ...
    let from_a = low7.wrapping_add(0x3f * EACH);
    // ... and where they are past `Z` (0x5a); no sum carries into the next byte.
    let past_z = low7.wrapping_add(0x25 * EACH);
    let upper = from_a & !past_z & !word & (0x80 * EACH);
    word | (upper >> 2)
}

/// How common a byte is in English prose, roughly: the sampled windows of a phrase are
/// taken where its bytes are least common, so that fewer windows of a text match one.
fn commonness(b: u8) -> u32 {
    match b {
        b' ' => 3,
        b'e' | b't' | b'a' | b'o' | b'i' | b'n' | b's' | b'r' | b'h' => 2,
        b'd' | b'l' | b'c' | b'u' | b'm' | b'w' | b'f' | b'g' | b'y' | b'p' | b'b' => 1,
        _ => 0,
    }
}

/// The first window sampled at or after `j` (every `stride` bytes) whose bit is set in
/// `filter`, with its key: the search's inner loop, apart so that it keeps to registers.
#[inline]
fn candidate<const FOLD: bool>(
    filter: &[u64; FILTER_BITS / 64],
    hay: &[u8],
    mut j: usize,
    stride: usize,
) -> Option<(usize, u32)> {
    let last = hay.len().checked_sub(WINDOW)?;
    while j <= last {
        let key = u32::from_le_bytes([hay[j], hay[j + 1], hay[j + 2], hay[j + 3]]);
        let key = if FOLD { fold_key(key) } else { key };
        let s = slot(key);
        if filter[s / 64] & (1 << (s % 64)) != 0 {
            return Some((j, key));
        }
        j += stride;
    }
    None
}

impl PhraseSet {
    fn new<'a>(phrases: impl IntoIterator<Item = &'a str>) -> PhraseSet {
        PhraseSet::build(phrases, false)
    }

    /// A table whose phrases (ASCII, lower case) are found in any ASCII case.
    fn any_case<'a>(phrases: impl IntoIterator<Item = &'a str>) -> PhraseSet {
        PhraseSet::build(phrases, true)
    }

    fn build<'a>(phrases: impl IntoIterator<Item = &'a str>, fold: bool) -> PhraseSet {
        let phrases: Vec<Box<[u8]>> = phrases.into_iter().map(|p| p.as_bytes().into()).collect();
        // The phrases by length; the first `alone` are searched one by one. A phrase
        // shorter than a window always is; in a table that keeps case, so are up to
        // four more, where that saves work: a sampled window costs about 12
        // instructions, a phrase searched alone (memchr's vector search) about 1
        // instruction per 3 bytes (callgrind, corpus `maildir/bsd`).
        let mut by_len: Vec<usize> = (0..phrases.len()).collect();
        by_len.sort_by_key(|&i| phrases[i].len());
        let too_short = by_len
            .iter()
            .take_while(|&&i| phrases[i].len() < WINDOW)
            .count();
        let stride_after = |k: usize| by_len.get(k).map_or(1, |&i| phrases[i].len() - WINDOW + 1);
        let cost = |k: usize| 36 / stride_after(k) + k;
        let alone = if fold {
            too_short
        } else {
            (too_short..=(too_short + 4).min(by_len.len()))
                .min_by_key(|&k| cost(k))
                .unwrap_or(too_short)
        };
        let stride = stride_after(alone);
        let mut filter = Box::new([0u64; FILTER_BITS / 64]);
        let mut entries = Vec::new();
        let mut short = Vec::new();
        for (rank, &i) in by_len.iter().enumerate() {
            let p = &phrases[i];
            if rank < alone {
                short.push((i, memchr::memmem::Finder::new(&p[..]).into_owned()));
                continue;
            }
            // Any `stride` windows in a row find every occurrence: the `stride`
            // bytes they start at, the least common.
            let score = |from: usize| -> u32 {
                p[from..from + stride + WINDOW - 1]
                    .iter()
                    .map(|&b| commonness(b))
                    .sum()
            };
            // `p.len() + 1 >= stride + WINDOW` for every phrase sampled (the stride comes
            // from the shortest), so this never goes below zero on the way.
            let from = (0..=p.len() + 1 - stride - WINDOW)
                .min_by_key(|&f| score(f))
                .unwrap_or(0);
            let mut head = [0u8; 8];
            let n = p.len().min(8);
            head[..n].copy_from_slice(&p[..n]);
            let head = u64::from_le_bytes(head);
            let mask = if n == 8 { u64::MAX } else { (1 << (8 * n)) - 1 };
            let head = if fold { fold_word(head) } else { head };
            for offset in from..from + stride {
                let w = &p[offset..offset + WINDOW];
                let key = u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
                let key = if fold { fold_key(key) } else { key };
                let s = slot(key);
                filter[s / 64] |= 1 << (s % 64);
                entries.push(Entry {
                    key,
                    phrase: i as u32,
                    offset: offset as u32,
                    head,
                    mask,
                });
            }
        }
        entries.sort_unstable_by_key(|e| (slot(e.key) / 64, *e));
        let mut buckets = vec![0u32; FILTER_BITS / 64 + 1].into_boxed_slice();
        for e in &entries {
            buckets[slot(e.key) / 64 + 1] += 1;
        }
        for i in 1..buckets.len() {
            buckets[i] += buckets[i - 1];
        }
        PhraseSet {
            phrases,
            stride,
            filter,
            entries,
            buckets,
            short,
            fold,
        }
    }

    /// Whether phrase `p` occurs at `start` in `hay`.
    fn at(&self, hay: &[u8], start: usize, p: usize) -> bool {
        let phrase = &self.phrases[p];
        hay.get(start..start + phrase.len()).is_some_and(|h| {
            if self.fold {
                h.eq_ignore_ascii_case(phrase)
            } else {
                h == &phrase[..]
            }
        })
    }

    /// Calls `found(window, start, phrase)` for every occurrence of a phrase of a window
    /// or more in `hay` (overlapping ones included, each once), in the order of the
    /// sampled windows they cover: every occurrence reported for a later window starts
    /// after every occurrence reported for an earlier one.
    fn each_long(
        &self,
        hay: &[u8],
        found: impl FnMut(usize, usize, usize) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        if self.entries.is_empty() {
            return ControlFlow::Continue(());
        }
        if self.fold {
            self.each_long_as::<true>(hay, found)
        } else {
            self.each_long_as::<false>(hay, found)
        }
    }

    /// [`PhraseSet::each_long`], folding the text's case or not.
    fn each_long_as<const FOLD: bool>(
        &self,
        hay: &[u8],
        mut found: impl FnMut(usize, usize, usize) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        let mut j = 0;
        while let Some((at, key)) = candidate::<FOLD>(&self.filter, hay, j, self.stride) {
            let b = slot(key) / 64;
            let bucket = &self.entries[self.buckets[b] as usize..self.buckets[b + 1] as usize];
            for e in bucket.iter().filter(|e| e.key == key) {
                let (p, offset) = (e.phrase as usize, e.offset as usize);
                let Some(start) = at.checked_sub(offset) else {
                    continue;
                };
                if let Some(h) = hay.get(start..start + 8) {
                    let h = u64::from_le_bytes([h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]]);
                    let h = if FOLD { fold_word(h) } else { h };
                    if h & e.mask != e.head {
                        continue;
                    }
                }
                if self.at(hay, start, p) {
                    found(at, start, p)?;
                }
            }
            j = at + self.stride;
        }
        ControlFlow::Continue(())
    }

    /// Calls `found(start, phrase)` for every occurrence of a phrase shorter than a
    /// window.
    fn each_short(
        &self,
        hay: &[u8],
        mut found: impl FnMut(usize, usize) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        for (p, finder) in &self.short {
            if self.fold {
                for start in 0..hay.len() {
                    if self.at(hay, start, *p) {
                        found(start, *p)?;
                    }
                }
            } else if finder.needle().is_empty() {
                // Found everywhere, as by `str::contains`.
                for start in 0..=hay.len() {
                    found(start, *p)?;
                }
            } else {
                // Overlapping occurrences too: each start is tried.
                let mut from = 0;
                while let Some(at) = hay.get(from..).and_then(|h| finder.find(h)) {
                    found(from + at, *p)?;
                    from += at + 1;
                }
            }
        }
        ControlFlow::Continue(())
    }

    /// Calls `found(start, phrase)` for every occurrence of every phrase in `hay`,
    /// overlapping ones included, in no particular order, until it breaks.
    pub fn each(&self, hay: &str, mut found: impl FnMut(usize, usize) -> ControlFlow<()>) {
        let hay = hay.as_bytes();
        if self.each_short(hay, &mut found).is_continue() {
            let _ = self.each_long(hay, |_, start, p| found(start, p));
        }
    }

    /// Whether any phrase occurs in `hay`.
    pub fn any_in(&self, hay: &str) -> bool {
        let mut any = false;
        self.each(hay, |_, _| {
            any = true;
            ControlFlow::Break(())
        });
        any
    }

    /// The occurrence that starts first, as (start, phrase); at equal starts the
    /// phrase first in the table.
    fn first(&self, hay: &str) -> Option<(usize, usize)> {
        let hay = hay.as_bytes();
        let mut best: Option<(usize, usize)> = None;
        let _ = self.each_short(hay, |start, p| {
            best = Some(best.map_or((start, p), |b| b.min((start, p))));
            ControlFlow::Continue(())
        });
        // Occurrences reported for later windows start later: the first window with
        // one holds the earliest.
        let mut window = None;
        let _ = self.each_long(hay, |j, start, p| {
            if window.is_some_and(|w| w < j) {
                return ControlFlow::Break(());
            }
            window = Some(j);
            best = Some(best.map_or((start, p), |b| b.min((start, p))));
            ControlFlow::Continue(())
        });
        best
    }

    /// Where the earliest occurrence of any phrase starts.
    pub fn earliest(&self, hay: &str) -> Option<usize> {
        self.first(hay).map(|(start, _)| start)
    }

    /// The phrase (its index in the table) that occurs earliest in `hay`; at equal
    /// positions the one first in the table.
    pub fn earliest_phrase(&self, hay: &str) -> Option<usize> {
        self.first(hay).map(|(_, p)| p)
    }

    /// The index, in table order, of the first phrase that occurs anywhere in `hay`.
    pub fn first_in_table_order(&self, hay: &str) -> Option<usize> {
        let mut first: Option<usize> = None;
        self.each(hay, |_, p| {
            first = Some(first.map_or(p, |f| f.min(p)));
            if p == 0 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
        first
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
pub static BOILERPLATE_ANY_CASE: LazyLock<PhraseSet> =
    LazyLock::new(|| PhraseSet::any_case(knowledge::BOILERPLATE.iter().copied()));
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
/// table, with where the delay and the command phrases start in it.
static REPORT: LazyLock<(PhraseSet, usize, usize)> = LazyLock::new(|| {
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
    (PhraseSet::new(all), delay, command)
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
    ac.each(lower, |start, p| {
        if p < *delay {
            out.family = Some(out.family.map_or(p, |f| f.min(p)));
        } else if p < *command {
            out.delayed = true;
        } else {
            let c = (start, p - command);
            first_command = Some(first_command.map_or(c, |f| f.min(c)));
        }
        ControlFlow::Continue(())
    });
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

    /// Every occurrence, found by comparing every phrase at every position.
    fn naive(phrases: &[String], hay: &str, fold: bool) -> Vec<(usize, usize)> {
        let h = hay.as_bytes();
        let mut out = Vec::new();
        for start in 0..h.len() {
            for (i, p) in phrases.iter().enumerate() {
                let p = p.as_bytes();
                if let Some(w) = h.get(start..start + p.len())
                    && (if fold {
                        w.eq_ignore_ascii_case(p)
                    } else {
                        w == p
                    })
                {
                    out.push((start, i));
                }
            }
        }
        out
    }

    fn check(phrases: &[String], hay: &str, fold: bool) {
        let set = PhraseSet::build(phrases.iter().map(String::as_str), fold);
        let want = naive(phrases, hay, fold);
        let mut got = Vec::new();
        set.each(hay, |start, p| {
            got.push((start, p));
            ControlFlow::Continue(())
        });
        got.sort_unstable();
        assert_eq!(got, want, "{phrases:?} in {hay:?}");
        assert_eq!(set.any_in(hay), !want.is_empty());
        assert_eq!(set.earliest(hay), want.first().map(|w| w.0));
        assert_eq!(set.earliest_phrase(hay), want.first().map(|w| w.1));
        assert_eq!(
            set.first_in_table_order(hay),
            want.iter().map(|w| w.1).min()
        );
    }

    proptest::proptest! {
        #[test]
        fn a_set_finds_what_comparing_everywhere_finds(
            phrases in proptest::collection::vec("[abAB -]{1,12}", 1..8),
            hay in "[abAB -]{0,80}",
            fold in proptest::bool::ANY,
        ) {
            let phrases: Vec<String> = if fold {
                phrases.iter().map(|p| p.to_ascii_lowercase()).collect()
            } else {
                phrases
            };
            check(&phrases, &hay, fold);
        }

        #[test]
        fn folding_a_window_lowers_each_byte(key in proptest::num::u32::ANY) {
            let lowered = key.to_le_bytes().map(|b| b.to_ascii_lowercase());
            proptest::prop_assert_eq!(fold_key(key), u32::from_le_bytes(lowered));
        }
    }

    #[test]
    fn folding_lowers_every_byte_in_every_lane() {
        for b in 0..=255u8 {
            for lane in 0..4 {
                let key = u32::from(b) << (8 * lane) | 0x4161_5a7a & !(0xff << (8 * lane));
                let lowered = key.to_le_bytes().map(|b| b.to_ascii_lowercase());
                assert_eq!(fold_key(key), u32::from_le_bytes(lowered), "{key:#x}");
            }
        }
    }

    #[test]
    fn the_tables_search_as_comparing_everywhere_does() {
        let texts = [
            "this is the qmail-send program at x. will retry after rcpt to: refused",
            "----- Transcript of session follows -----\nwhile talking to x: >>> RCPT TO",
            "été 配信不能 undelivered mail returned to sender; technical details of temporary failure",
            "",
            "abc",
        ];
        let commands: Vec<&str> = (0..SMTP_COMMANDS.0.len()).map(smtp_phrase).collect();
        let families: Vec<&str> = knowledge::FAMILY_MARKERS.iter().map(|f| f.1).collect();
        let tables: [(&[&str], bool); 6] = [
            (knowledge::RETURNED_BOUNDARIES, false),
            (knowledge::BOUNCE_SUBJECTS, false),
            (knowledge::DELAY_PHRASES, false),
            (knowledge::BOILERPLATE, true),
            (&commands, false),
            (&families, false),
        ];
        for (table, fold) in tables {
            let phrases: Vec<String> = table.iter().map(|p| p.to_string()).collect();
            assert!(phrases.iter().all(|p| !p.is_empty()));
            for t in texts {
                check(&phrases, t, fold);
                check(&phrases, &t.to_lowercase(), fold);
            }
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
