//! The compiled text matcher. A reply is scanned once however many rules there are:
//!
//! - almost every fragment contains a whole ASCII word (`user unknown`, `[cs01]`,
//!   `?p=nosuchuser`); it is indexed by its first whole word (or first two words), and
//!   each word of the reply is looked up in a hash map, then the few candidates are
//!   compared byte for byte at the right offset;
//! - single-word stems open at the end (`greylist*`) are indexed by their first three
//!   bytes;
//! - the rest (scripts without ASCII words, such as Japanese or Russian) go into one
//!   Aho-Corasick automaton, which runs only on replies that need it;
//! - regexes, if a rule has any, go into one `RegexSet`, and each on its own too: a
//!   regex runs only when the text holds the word it needs (`regex_words.rs`).
//!
//! Measured with `bench/instructions.sh`, this takes about a third of the
//! instructions of one automaton over all fragments.

use crate::ruleset::Rule;
use crate::scan;
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use regex::bytes::{Regex, RegexSet};
use rustc_hash::FxHashMap;
use std::collections::HashMap;

/// A fragment of a phrase: its id in the automaton, and whether its ends must fall
/// on word boundaries.
#[derive(Clone, Copy)]
struct Frag {
    id: u32,
    bound_left: bool,
    bound_right: bool,
    /// Must start at the start of the text (`^` in the rule file).
    anchored: bool,
}

/// A phrase: fragments that must occur in order.
struct Phrase {
    rule: u32,
    frags: Box<[Frag]>,
}

/// ASCII letters and digits, as a table: the scan asks this once per byte.
static WORD: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = (i as u8).is_ascii_alphanumeric();
        i += 1;
    }
    t
};

#[inline]
fn is_word_byte(b: u8) -> bool {
    WORD[b as usize]
}

/// Splits the `*` markers off a fragment. A fragment's ends match only on word
/// boundaries (so `spam` does not match inside `zerospam`) unless the end is an
/// explicit `*` or is not an ASCII letter or digit (so CJK text and punctuation
/// match anywhere).
fn frag_key(f: &str) -> (&str, bool, bool, bool) {
    let (anchored, f) = match f.strip_prefix('^') {
        Some(rest) => (true, rest),
        None => (false, f),
    };
    let open_left = f.starts_with('*');
    let open_right = f.len() > 1 && f.ends_with('*');
    let core = f.trim_start_matches('*').trim_end_matches('*');
    let b = core.as_bytes();
    let left = !open_left && b.first().is_some_and(|&c| is_word_byte(c));
    let right = !open_right && b.last().is_some_and(|&c| is_word_byte(c));
    (core, left, right, anchored)
}

impl Frag {
    fn fits(&self, text: &[u8], start: u32, end: u32) -> bool {
        let (s, e) = (start as usize, end as usize);
        if self.anchored && s != 0 {
            return false;
        }
        let glued_left = self.bound_left && s > 0 && is_word_byte(text[s - 1]);
        let glued_right = self.bound_right && e < text.len() && is_word_byte(text[e]);
        !glued_left && !glued_right
    }
}

/// The fragments indexed by one word (or pair of words).
#[derive(Default)]
struct WordEntry {
    /// (fragment id, offset of the word in the fragment, fragment bytes); compared in
    /// full, so hash collisions are harmless.
    cands: Vec<Cand>,
    /// Some fragments begin with this word and another: look up the pair too.
    has_pairs: bool,
    /// The regexes (bit `i` for regex `i`) that need this word.
    regexes: u64,
}

/// A fragment found through a word: its id, the offset of the word in it, its bytes,
/// and its first (up to) eight bytes as a number with their mask, compared first.
struct Cand {
    id: u32,
    off: u32,
    head: u64,
    mask: u64,
    frag: Box<[u8]>,
}

impl Cand {
    fn new(id: u32, off: u32, frag: &[u8]) -> Cand {
        let n = frag.len().min(8);
        let mut head = [0u8; 8];
        head[..n].copy_from_slice(&frag[..n]);
        Cand {
            id,
            off,
            head: u64::from_le_bytes(head),
            mask: LOW_BYTES[n],
            frag: frag.into(),
        }
    }
}

/// An open-ended stem: (fragment id, stem bytes).
type Stem = (u32, Box<[u8]>);

/// The hash of a byte string, eight bytes at a time (the last chunk zero-padded),
/// seeded with the length. Keys stay plain integers, and a word of up to eight bytes
/// costs one load and one multiply.
fn key_hash(b: &[u8]) -> u64 {
    run_hash(b, 0, b.len())
}

/// [`key_hash`] of `text[start..end]`. The last chunk is read as eight bytes and
/// masked when the text goes on that far, else byte by byte; same value either way.
#[inline]
fn run_hash(text: &[u8], start: usize, end: usize) -> u64 {
    let mut h = seed(end - start);
    let mut at = start;
    while at + 8 <= end {
        h = mix(h, load8(&text[at..at + 8]));
        at += 8;
    }
    let left = end - at;
    if left > 0 {
        let v = match text.get(at..at + 8) {
            Some(w) => load8(w) & ((1u64 << (left * 8)) - 1),
            None => text[at..end]
                .iter()
                .enumerate()
                .fold(0u64, |v, (i, &c)| v | (c as u64) << (8 * i)),
        };
        h = mix(h, v);
    }
    h
}

/// Eight bytes as a little-endian number.
#[inline]
fn load8(w: &[u8]) -> u64 {
    u64::from_le_bytes(w.try_into().unwrap_or([0; 8]))
}

#[inline]
const fn seed(len: usize) -> u64 {
    (len as u64 ^ 0x9e37_79b9_7f4a_7c15).wrapping_mul(0xff51_afd7_ed55_8ccd)
}

#[inline]
const fn mix(h: u64, v: u64) -> u64 {
    let x = (h ^ v).wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ (x >> 29)
}

/// The key of a small number (such as a packed status code) in a [`KeyTable`]. `mix`
/// is a bijection (a multiply by an odd constant, then an xor-shift), so distinct
/// numbers get distinct keys.
#[inline]
pub(crate) fn number_key(n: u64) -> u64 {
    mix(seed(0), n)
}

/// The key of a word pair: the two words' hashes and the separator between them
/// (nearly always one space, whose hash is a constant), so the text side combines
/// hashes it already has.
#[inline]
fn pair_hash(first: u64, sep: &[u8], second: u64) -> u64 {
    let sep = if sep == b" " {
        SPACE_HASH
    } else {
        key_hash(sep)
    };
    mix(mix(first.rotate_left(17), sep), second)
}

/// `key_hash(b" ")`, worked out at compile time (a test checks it).
const SPACE_HASH: u64 = mix(seed(1), b' ' as u64);

/// A read-only map from key hashes to values: open addressing with linear probing at
/// a quarter full, so a look-up is one or two compares. Keys are already good hashes.
pub(crate) struct KeyTable<V> {
    keys: Box<[u64]>,
    slots: Box<[u32]>,
    values: Vec<V>,
    mask: usize,
}

impl<V> KeyTable<V> {
    pub(crate) fn from_map(map: FxHashMap<u64, V>) -> KeyTable<V> {
        let size = (map.len() * 4).next_power_of_two().max(16);
        let mut keys = vec![0u64; size].into_boxed_slice();
        let mut slots = vec![0u32; size].into_boxed_slice();
        let mut values = Vec::with_capacity(map.len());
        let mask = size - 1;
        for (k, v) in map {
            let k = Self::nonzero(k);
            let mut i = Self::home(k, mask);
            while keys[i] != 0 {
                i = (i + 1) & mask;
            }
            keys[i] = k;
            slots[i] = values.len() as u32;
            values.push(v);
        }
        KeyTable {
            keys,
            slots,
            values,
            mask,
        }
    }

    /// Zero marks an empty slot, so a key of zero is stored as one.
    #[inline]
    fn nonzero(k: u64) -> u64 {
        k | (k == 0) as u64
    }

    #[inline]
    fn home(k: u64, mask: usize) -> usize {
        (k >> 32) as usize & mask
    }

    #[inline]
    pub(crate) fn get(&self, k: u64) -> Option<&V> {
        let k = Self::nonzero(k);
        let mut i = Self::home(k, self.mask);
        loop {
            let here = self.keys[i];
            if here == k {
                return self.values.get(self.slots[i] as usize);
            }
            if here == 0 {
                return None;
            }
            i = (i + 1) & self.mask;
        }
    }
}

/// The first two bytes of open-ended stems (ASCII letters and digits), a bit per
/// pair: the two bytes read as one little-endian number with their top bits cleared
/// index a 32,768-bit set, so the test is one load, one mask and one bit test.
struct StemPairs(Box<[u64; 512]>);

impl Default for StemPairs {
    fn default() -> StemPairs {
        StemPairs(Box::new([0u64; 512]))
    }
}

impl StemPairs {
    #[inline]
    fn bit(two: u16) -> usize {
        (two & 0x7f7f) as usize
    }
    fn insert(&mut self, a: u8, b: u8) {
        let i = Self::bit(u16::from_le_bytes([a, b]));
        self.0[i >> 6] |= 1 << (i & 63);
    }
    #[inline]
    fn contains(&self, two: u16) -> bool {
        let i = Self::bit(two);
        self.0[i >> 6] >> (i & 63) & 1 != 0
    }
}

/// A 65,536-bit filter over key hashes: a word whose bit is clear is no key, and
/// most words of a reply are none, so most look-ups end here.
struct KeyFilter(Box<[u64; 1024]>);

impl KeyFilter {
    fn new() -> KeyFilter {
        KeyFilter(Box::new([0u64; 1024]))
    }
    fn insert(&mut self, h: u64) {
        let bit = (h >> 48) as usize;
        self.0[bit >> 6] |= 1 << (bit & 63);
    }
    #[inline]
    fn may_contain(&self, h: u64) -> bool {
        let bit = (h >> 48) as usize;
        self.0[bit >> 6] & (1 << (bit & 63)) != 0
    }
}

/// Normalises the reply text into `scratch.text` and finds its word runs with their
/// hashes (computed once here, reused for pair keys).
///
/// ASCII replies (nearly all) take a fast path: the text is copied whole between the
/// few places that need an edit, then one pass over the copy lower-cases it and marks
/// its letters and digits, whose runs are hashed straight from the bit sets. Other
/// text goes through [`crate::reply::normalize`] and a byte scan.
pub(crate) fn prepare(text: &str, scratch: &mut Scratch) {
    let Scratch {
        text: out,
        len: out_len,
        ascii,
        runs,
        n_runs,
        classes,
        ..
    } = scratch;
    // Classifying the bytes also tells whether they are all ASCII.
    let b = text.as_bytes();
    let n = b.len();
    *ascii = classes.fill(b);
    if !*ascii {
        crate::reply::normalize(text, out);
        runs.clear();
        find_runs(out, runs);
        *n_runs = runs.len();
        *out_len = out.len();
        out.extend_from_slice(&[0; PAD]);
        return;
    }
    // The output is the input with a few edits: white space that is not one plain
    // space is folded, and code tokens (`550-5.1.1`) are dropped. Only the places
    // where an edit may be needed are visited; the text between them is copied whole.
    out.clear();
    out.reserve(n + PAD);
    let mut p = 0; // input consumed up to here
    let mut pending_space = false;
    let mut carry = !0u64; // the text is preceded by (virtual) space
    for wi in 0..classes.space.len() {
        let sp = classes.space[wi];
        let before = (sp << 1) | (carry >> 63);
        carry = sp;
        let token_starts = !sp & before & classes.lead[wi];
        let odd_space = sp & (!classes.plain[wi] | before);
        let mut points = token_starts | odd_space;
        while points != 0 {
            let q = wi * 64 + points.trailing_zeros() as usize;
            points &= points - 1;
            if q < p {
                continue;
            }
            if q >= n {
                break;
            }
            if classes.is_space(q) {
                // A run of white space to fold: [s, e).
                let mut s = q;
                while s > p && b[s - 1].is_ascii_whitespace() {
                    s -= 1;
                }
                let e = scan::next(&classes.space, q, true).min(n);
                emit(out, b, p, s, &mut pending_space);
                pending_space = true;
                p = e;
            } else {
                let e = scan::next(&classes.space, q, false).min(n);
                if !crate::reply::is_code_token(&b[q..e]) {
                    continue;
                }
                // Drop the token and the single space before it (if it was copied).
                let s = if q > p { q - 1 } else { q };
                emit(out, b, p, s, &mut pending_space);
                if s > p {
                    pending_space = true;
                }
                p = scan::next(&classes.space, e, true).min(n);
                if p > e {
                    pending_space = true;
                }
            }
        }
    }
    let end = b[p.min(n)..]
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(p, |i| p + i + 1);
    emit(out, b, p.min(n), end, &mut pending_space);
    // Zero padding, so that blocks and eight-byte loads never run off the end.
    let len = out.len();
    out.extend_from_slice(&[0; PAD]);
    scan::lower_words(out, len, &mut classes.word);
    let padded = out.as_slice();
    // Runs are written by index into a buffer long enough for any text of this
    // length (a run and a separator take two bytes), not pushed: a push keeps the
    // vector's length and capacity in memory through the loop.
    let need = len / 2 + 1;
    if runs.len() < need {
        runs.resize(need, (0, 0, 0));
    }
    let buf = &mut runs[..need];
    // Three tight passes rather than one loop that does everything (measured: 44
    // instructions a run in one loop, where values spill to the stack): the starts,
    // the ends, then the hashes.
    let (mut ns, mut ne) = (0, 0);
    let mut carry = 0u64;
    for (wi, &x) in classes.word.iter().enumerate() {
        let before = (x << 1) | carry;
        carry = x >> 63;
        let base = (wi * 64) as u32;
        let mut starts = x & !before;
        while starts != 0 {
            buf[ns].0 = base + starts.trailing_zeros();
            starts &= starts - 1;
            ns += 1;
        }
        let mut ends = !x & before;
        while ends != 0 {
            buf[ne].1 = base + ends.trailing_zeros();
            ends &= ends - 1;
            ne += 1;
        }
    }
    // A run still open at the last bit ends there.
    if ne < ns {
        buf[ne].1 = (classes.word.len() * 64) as u32;
    }
    for run in &mut buf[..ns] {
        run.2 = padded_hash(padded, run.0 as usize, run.1 as usize);
    }
    *n_runs = ns;
    *out_len = len;
}

/// [`run_hash`] of `p[s..e]` where `p` goes on for at least eight bytes past `e`
/// (the padding of [`prepare`]): a word of up to eight bytes is one load, a mask
/// and one multiply.
#[inline(always)]
fn padded_hash(p: &[u8], s: usize, e: usize) -> u64 {
    let n = e - s;
    match p.get(s..s + 8) {
        Some(w) if n <= 8 => mix(SEEDS[n], load8(w) & LOW_BYTES[n]),
        _ => run_hash(p, s, e),
    }
}

/// `SEEDS[n]` is `seed(n)`, looked up rather than multiplied out.
const SEEDS: [u64; 9] = {
    let mut t = [0u64; 9];
    let mut n = 0;
    while n < 9 {
        t[n] = seed(n);
        n += 1;
    }
    t
};

/// `LOW_BYTES[n]` keeps the low `n` bytes of a word.
const LOW_BYTES: [u64; 9] = {
    let mut t = [!0u64; 9];
    let mut n = 0;
    while n < 8 {
        t[n] = (1u64 << (8 * n)) - 1;
        n += 1;
    }
    t
};

/// Zero bytes kept after the normalised text, so that it can be lowered sixteen
/// bytes at a time and read eight bytes at a time anywhere.
const PAD: usize = 16;

/// Appends a piece of copied text, preceded by one space if one is pending and the
/// output is not empty.
#[inline]
fn emit(out: &mut Vec<u8>, b: &[u8], start: usize, end: usize, pending_space: &mut bool) {
    if start >= end {
        return;
    }
    if *pending_space && !out.is_empty() {
        out.push(b' ');
    }
    *pending_space = false;
    out.extend_from_slice(&b[start..end]);
}

/// The word runs of already normalised text, with their hashes.
fn find_runs(bytes: &[u8], runs: &mut Vec<(u32, u32, u64)>) {
    let mut start = None;
    for (i, &c) in bytes.iter().enumerate() {
        match (is_word_byte(c), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                runs.push((s as u32, i as u32, run_hash(bytes, s, i)));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        runs.push((
            s as u32,
            bytes.len() as u32,
            run_hash(bytes, s, bytes.len()),
        ));
    }
}

pub(crate) struct Matcher {
    /// Hash of the first word (or first two words) of indexed fragments → entry.
    words: KeyTable<WordEntry>,
    /// Hash of the first three bytes of open-ended stems → (fragment id, stem bytes).
    stems: KeyTable<Vec<Stem>>,
    /// The first two bytes of every stem (letters and digits), a bit per pair.
    stem_pairs: StemPairs,
    /// The hashes of every key of `words` (first words).
    filter: KeyFilter,
    /// The hashes of the pair keys of `words`: most words that begin a pair are
    /// followed by some other word, and this ends those look-ups without a probe.
    pair_filter: KeyFilter,
    /// The automaton over the fragments that are not indexed, and their ids.
    ac: Option<AhoCorasick>,
    ac_ids: Vec<u32>,
    /// Whether the automaton holds a pure-ASCII fragment (else ASCII replies skip it).
    ac_ascii: bool,
    /// For each fragment, the phrases that begin with it.
    starts: Vec<Vec<u32>>,
    phrases: Vec<Phrase>,
    regexes: Option<RegexSet>,
    /// The same regexes one by one, for when only a few may match.
    regex_each: Vec<Regex>,
    regex_rule: Vec<u32>,
    /// The regexes (bit `i` for regex `i`) without a required word, which may match
    /// any text; with more than 64 regexes the set runs on every text (`regex_many`).
    regex_always: u64,
    regex_many: bool,
}

/// Per-call working memory, kept between calls to avoid allocation.
#[derive(Default)]
pub struct Scratch {
    /// The normalised text, then [`PAD`] zero bytes.
    text: Vec<u8>,
    /// The length of the normalised text.
    len: usize,
    /// Whether the reply was ASCII (its normalised text then is too; the converse
    /// can fail, as `K` lowers to `k`, but an automaton without ASCII fragments finds
    /// nothing in ASCII text either way).
    ascii: bool,
    /// Word runs of the text: start, end, and the hash of the word; the first
    /// `n_runs` are this text's, the rest is room kept for longer texts.
    runs: Vec<(u32, u32, u64)>,
    n_runs: usize,
    hits: Vec<(u32, u32, u32)>,
    pub(crate) rules: Vec<u32>,
    classes: scan::Classes,
}

impl Scratch {
    /// The normalised text of the last [`prepare`].
    pub(crate) fn text(&self) -> &[u8] {
        &self.text[..self.len]
    }

    /// The word runs of the last [`prepare`].
    #[cfg(test)]
    fn runs(&self) -> &[(u32, u32, u64)] {
        &self.runs[..self.n_runs]
    }
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
                        let (core, bound_left, bound_right, anchored) = frag_key(f);
                        let id = *frag_ids.entry(core).or_insert_with(|| {
                            frags.push(core);
                            (frags.len() - 1) as u32
                        });
                        Frag {
                            id,
                            bound_left,
                            bound_right,
                            anchored,
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
        // A fragment can be found through its first word only if every phrase that
        // uses it wants a word boundary there.
        let mut open_left = vec![false; frags.len()];
        let mut open_right = vec![false; frags.len()];
        for p in &phrases {
            for f in p.frags.iter() {
                open_left[f.id as usize] |= !f.bound_left || f.anchored;
                open_right[f.id as usize] |= !f.bound_right;
            }
        }
        let mut words: FxHashMap<u64, WordEntry> = FxHashMap::default();
        let mut stems: FxHashMap<u64, Vec<Stem>> = FxHashMap::default();
        let mut stem_pairs = StemPairs::default();
        let mut filter = KeyFilter::new();
        let mut pair_filter = KeyFilter::new();
        let mut ac_frags = Vec::new();
        let mut ac_ids = Vec::new();
        let mut ac_ascii = false;
        for (id, core) in frags.iter().enumerate() {
            let b = core.as_bytes();
            let (ol, or) = (open_left[id], open_right[id]);
            let runs = word_runs(b);
            // The first word that cannot be glued to more letters in the text.
            let whole = runs
                .iter()
                .position(|&(s, e)| (s > 0 || !ol) && (e < b.len() || !or));
            if let Some(k) = whole {
                let (s, e) = runs[k];
                let pair = runs.get(k + 1).filter(|&&(s2, e2)| {
                    b[e..s2].iter().all(u8::is_ascii) && (e2 < b.len() || !or)
                });
                let first = key_hash(&b[s..e]);
                filter.insert(first);
                let key = match pair {
                    Some(&(s2, e2)) => {
                        words.entry(first).or_default().has_pairs = true;
                        let key = pair_hash(first, &b[e..s2], key_hash(&b[s2..e2]));
                        pair_filter.insert(key);
                        key
                    }
                    None => first,
                };
                words
                    .entry(key)
                    .or_default()
                    .cands
                    .push(Cand::new(id as u32, s as u32, b));
            } else if runs.len() == 1 && runs[0] == (0, b.len()) && b.len() >= 3 && !ol {
                let key = key_hash(&b[..3]);
                stem_pairs.insert(b[0], b[1]);
                stems.entry(key).or_default().push((id as u32, b.into()));
            } else {
                ac_ascii |= core.is_ascii();
                ac_frags.push(*core);
                ac_ids.push(id as u32);
            }
        }
        // Each regex's required word gates the set; a regex without one (or past the
        // 64th) makes it run always.
        let mut regex_always = 0u64;
        let regex_many = regex_src.len() > 64;
        for (i, src) in regex_src.iter().enumerate().take(64) {
            match crate::regex_words::required_word(src) {
                Some(w) => {
                    let h = key_hash(&w);
                    filter.insert(h);
                    words.entry(h).or_default().regexes |= 1 << i;
                }
                None => regex_always |= 1 << i,
            }
        }
        let regex_each = if regex_many {
            Vec::new()
        } else {
            regex_src
                .iter()
                .map(|src| {
                    regex::bytes::RegexBuilder::new(src)
                        .size_limit(64 << 20)
                        .build()
                        .map_err(|e| e.to_string())
                })
                .collect::<Result<Vec<_>, _>>()?
        };
        let ac = if ac_frags.is_empty() {
            None
        } else {
            Some(
                AhoCorasickBuilder::new()
                    .kind(Some(AhoCorasickKind::DFA))
                    .match_kind(MatchKind::Standard)
                    .build(&ac_frags)
                    .map_err(|e| e.to_string())?,
            )
        };
        let regexes = if regex_src.is_empty() {
            None
        } else {
            Some(
                regex::bytes::RegexSetBuilder::new(&regex_src)
                    .size_limit(64 << 20)
                    .build()
                    .map_err(|e| e.to_string())?,
            )
        };
        Ok(Matcher {
            words: KeyTable::from_map(words),
            stems: KeyTable::from_map(stems),
            stem_pairs,
            filter,
            pair_filter,
            ac,
            ac_ids,
            ac_ascii,
            starts,
            phrases,
            regexes,
            regex_each,
            regex_rule,
            regex_always,
            regex_many,
        })
    }

    /// The fragments found through the word at run `r` (and the pair it starts); the
    /// regexes that need the word.
    fn word_hits(
        &self,
        padded: &[u8],
        bytes: &[u8],
        runs: &[(u32, u32, u64)],
        r: usize,
        hits: &mut Vec<(u32, u32, u32)>,
    ) -> u64 {
        let (start, i, h) = runs[r];
        let (start, i) = (start as usize, i as usize);
        let Some(entry) = self.words.get(h) else {
            return 0;
        };
        push_candidates(&entry.cands, padded, bytes, start, hits);
        // A pair key spans this word, ASCII punctuation or spaces, and the next word.
        if entry.has_pairs
            && let Some(&(s2, _, h2)) = runs.get(r + 1)
            && let sep = &bytes[i..s2 as usize]
            && (sep == b" " || sep.is_ascii())
            && let pair = pair_hash(h, sep, h2)
            && self.pair_filter.may_contain(pair)
            && let Some(pair) = self.words.get(pair)
        {
            push_candidates(&pair.cands, padded, bytes, start, hits);
        }
        entry.regexes
    }

    /// The open-ended stems found at a word of three bytes or more. Not inlined: it
    /// runs for about one word a reply, and inlined into the loop over every word of
    /// [`Matcher::matching_rules`] it crowded that loop's registers (measured: 5,067
    /// -> 4,982 instructions per reply with it kept out; keeping `word_hits` out as
    /// well made it 5,178).
    #[inline(never)]
    fn stem_hits(&self, bytes: &[u8], start: usize, hits: &mut Vec<(u32, u32, u32)>) {
        if let Some(cands) = self.stems.get(key_hash(&bytes[start..start + 3])) {
            for (id, stem) in cands {
                if bytes[start..].starts_with(stem) {
                    hits.push((*id, start as u32, (start + stem.len()) as u32));
                }
            }
        }
    }

    /// Fills `scratch.rules` with the indices of the rules whose text matches the
    /// normalised text in `scratch.text`, sorted, without duplicates.
    pub(crate) fn matching_rules(&self, scratch: &mut Scratch) {
        let Scratch {
            text,
            len,
            ascii,
            runs,
            n_runs,
            hits,
            rules,
            ..
        } = scratch;
        let runs = &runs[..*n_runs];
        hits.clear();
        rules.clear();
        let padded = text.as_slice();
        let bytes = &padded[..*len];
        let mut regexes = 0u64;
        for (r, &(start, i, h)) in runs.iter().enumerate() {
            let (start, i) = (start as usize, i as usize);
            if self.filter.may_contain(h) {
                regexes |= self.word_hits(padded, bytes, runs, r, hits);
            }
            // `padded` goes on past every run, so the two bytes are there.
            let two = padded
                .get(start..start + 2)
                .map_or(0, |w| u16::from_le_bytes([w[0], w[1]]));
            if i - start >= 3 && self.stem_pairs.contains(two) {
                self.stem_hits(bytes, start, hits);
            }
        }
        if let Some(ac) = &self.ac
            && (self.ac_ascii || !*ascii)
        {
            for m in ac.find_overlapping_iter(bytes) {
                hits.push((
                    self.ac_ids[m.pattern().as_usize()],
                    m.start() as u32,
                    m.end() as u32,
                ));
            }
        }
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
        // A regex runs only if the text holds its word (or it has none).
        if let Some(set) = &self.regexes {
            let mut may = regexes | self.regex_always;
            if self.regex_many || may.count_ones() > 8 {
                // `is_match` first, because `matches` allocates.
                if set.is_match(bytes) {
                    for i in set.matches(bytes).iter() {
                        rules.push(self.regex_rule[i]);
                    }
                }
            } else {
                // Only the regexes whose word the text holds; each on its own, so
                // that its own literal prefilter applies.
                while may != 0 {
                    let i = may.trailing_zeros() as usize;
                    may &= may - 1;
                    if self.regex_each[i].is_match(bytes) {
                        rules.push(self.regex_rule[i]);
                    }
                }
            }
        }
        rules.sort_unstable();
        rules.dedup();
    }
}

/// Records the candidates that the text holds with their word at `start`. `padded`
/// is the text (`bytes`) and the zero bytes after it, so that eight bytes can be read
/// at any position of the text.
#[inline]
fn push_candidates(
    cands: &[Cand],
    padded: &[u8],
    bytes: &[u8],
    start: usize,
    hits: &mut Vec<(u32, u32, u32)>,
) {
    for c in cands {
        let Some(at) = start.checked_sub(c.off as usize) else {
            continue;
        };
        let end = at + c.frag.len();
        if end <= bytes.len()
            && padded
                .get(at..at + 8)
                .is_some_and(|w| load8(w) & c.mask == c.head)
            && (c.frag.len() <= 8 || bytes[at + 8..end] == c.frag[8..])
        {
            hits.push((c.id, at as u32, end as u32));
        }
    }
}

/// The runs of ASCII letters and digits in `b`, as (start, end).
fn word_runs(b: &[u8]) -> Vec<(usize, usize)> {
    let mut runs = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if is_word_byte(b[i]) {
            let s = i;
            while i < b.len() && is_word_byte(b[i]) {
                i += 1;
            }
            runs.push((s, i));
        } else {
            i += 1;
        }
    }
    runs
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_one_pass_preparation_equals_normalising_then_finding_runs() {
        let samples = [
            "550-5.1.1 The email account that you tried to reach does not exist. 550 5.1.1 https://support.google.com/mail/?p=NoSuchUser",
            "  #550 5.1.1 RESOLVER.ADR.RecipNotFound; not found ## ",
            "421-4.7.0 [TSS04] Messages FROM 1.2.3.4 deferred",
            "Sorry, no mailbox here by that name. (#5.1.1)",
            "550 Пользователь не найден",
            "",
            "   ",
            "5.1.1",
            "x",
        ];
        // Runs that end on, or run across, a 64-byte word of the bit sets.
        let long = [
            "a".repeat(64),
            "b".repeat(128),
            format!("{} {}", "c".repeat(63), "d".repeat(70)),
            format!("{}.{}", "e".repeat(64), "f"),
        ];
        let mut scratch = Scratch::default();
        for s in samples.into_iter().chain(long.iter().map(String::as_str)) {
            prepare(s, &mut scratch);
            let mut want = Vec::new();
            crate::reply::normalize(s, &mut want);
            let mut want_runs = Vec::new();
            find_runs(&want, &mut want_runs);
            assert_eq!(
                String::from_utf8_lossy(scratch.text()),
                String::from_utf8_lossy(&want),
                "{s:?}"
            );
            assert_eq!(scratch.runs(), want_runs, "{s:?}");
        }
    }

    /// The built-in matcher, and one whose regexes run on every text.
    fn gated_and_ungated() -> &'static (Matcher, Matcher) {
        static BOTH: std::sync::LazyLock<(Matcher, Matcher)> = std::sync::LazyLock::new(|| {
            let rules = crate::Classifier::builtin().rules();
            let gated = Matcher::build(rules).unwrap_or_else(|e| panic!("{e}"));
            let mut ungated = Matcher::build(rules).unwrap_or_else(|e| panic!("{e}"));
            ungated.regex_many = true;
            (gated, ungated)
        });
        assert!(
            BOTH.0.regex_always == 0 && !BOTH.0.regex_many,
            "every built-in regex has a required word"
        );
        &BOTH
    }

    fn rules_of(m: &Matcher, text: &str, scratch: &mut Scratch) -> Vec<u32> {
        prepare(text, scratch);
        m.matching_rules(scratch);
        scratch.rules.clone()
    }

    #[test]
    fn gating_the_regexes_changes_no_example() {
        let (gated, ungated) = gated_and_ungated();
        let mut scratch = Scratch::default();
        let eval = include_str!("../../../testdata/replies-eval.tsv");
        let examples = crate::Classifier::builtin()
            .rules()
            .iter()
            .flat_map(|r| r.examples.iter().map(String::as_str))
            .chain(eval.lines().filter_map(|l| l.split('\t').next()));
        let mut regex_hits = 0;
        for text in examples {
            let want = rules_of(ungated, text, &mut scratch);
            regex_hits += want
                .iter()
                .filter(|r| ungated.regex_rule.contains(r))
                .count();
            assert_eq!(rules_of(gated, text, &mut scratch), want, "{text:?}");
        }
        assert!(regex_hits > 0, "the examples exercise the regex rules");
    }

    #[test]
    fn the_space_hash_is_the_hash_of_a_space() {
        assert_eq!(SPACE_HASH, key_hash(b" "));
    }

    /// `prepare` gives what normalising and then walking the runs gives.
    fn prepares_as_the_reference(
        text: &str,
        scratch: &mut Scratch,
    ) -> Result<(), proptest::test_runner::TestCaseError> {
        prepare(text, scratch);
        let mut want = Vec::new();
        crate::reply::normalize(text, &mut want);
        let mut want_runs = Vec::new();
        find_runs(&want, &mut want_runs);
        proptest::prop_assert_eq!(scratch.text(), &want[..], "{:?}", text);
        proptest::prop_assert_eq!(scratch.runs(), &want_runs[..], "{:?}", text);
        Ok(())
    }

    proptest::proptest! {
        #[test]
        fn preparing_any_ascii_text_equals_normalising_then_finding_runs(
            text in "[ \t\n\x0bab5Z0#.;-]{0,90}|(550|5\\.1\\.1|550-5\\.1\\.1|#5\\.2\\.2| |  |\t|User|x-y|1\\.2\\.3\\.4){0,20}"
        ) {
            let mut scratch = Scratch::default();
            prepare(&text, &mut scratch);
            let mut want = Vec::new();
            crate::reply::normalize(&text, &mut want);
            let mut want_runs = Vec::new();
            find_runs(&want, &mut want_runs);
            proptest::prop_assert_eq!(
                String::from_utf8_lossy(scratch.text()),
                String::from_utf8_lossy(&want)
            );
            proptest::prop_assert_eq!(scratch.runs(), &want_runs[..]);
        }

        #[test]
        fn preparing_long_or_odd_ascii_equals_normalising_then_finding_runs(
            bytes in proptest::collection::vec(0u8..128, 0..300),
            words in proptest::collection::vec("[a-zA-Z0-9]{1,70}|[ \t\r\n]{1,3}|#?[245][0-9][0-9](-[245]\\.[0-9]\\.[0-9]{1,3})?|[.,;:()<>-]", 0..12),
        ) {
            // One scratch for both, as callers reuse it.
            let mut scratch = Scratch::default();
            for text in [String::from_utf8(bytes.clone()).unwrap_or_default(), words.concat()] {
                prepares_as_the_reference(&text, &mut scratch)?;
            }
        }

        #[test]
        fn preparing_any_text_equals_normalising_then_finding_runs(
            text in "\\PC{0,120}|([a-zA-Z0-9 .#-]|\u{e9}|\u{c9}|\u{212a}|\u{130}|\u{3000}|\u{a0}|\u{fffd}|\u{442}|\u{30e6}){0,60}"
        ) {
            prepares_as_the_reference(&text, &mut Scratch::default())?;
        }

        #[test]
        fn gating_the_regexes_changes_no_match(
            parts in proptest::collection::vec(proptest::sample::select(&[
                "transaction", "failed", "Transaction", ".", "recipient", "address",
                "rejected", "mx.example.com", "example.de:", "does", "not", "exist",
                "(", "[", "<", "550", "5.1.1", " ", "  ", "\n", "user", "unknown",
                "x", "\u{e9}",
            ][..]), 0..16)
        ) {
            let (gated, ungated) = gated_and_ungated();
            let text = parts.concat();
            let mut scratch = Scratch::default();
            let want = rules_of(ungated, &text, &mut scratch);
            proptest::prop_assert_eq!(rules_of(gated, &text, &mut scratch), want, "{:?}", text);
        }
    }
}
