//! Byte classes of ASCII text, sixteen bytes at a time.
//!
//! Preparing a reply for matching asks two questions of every byte: is it white space
//! (tokens are folded to single spaces), and is it an ASCII letter or digit (phrases
//! are found by their words). Asked byte by byte this was the largest cost of a
//! classification; here each block of sixteen bytes is answered with a handful of
//! SSE2 instructions on x86_64 (part of its baseline, so no run-time detection), and
//! by a plain loop elsewhere. The answers are bit sets over the text, walked with
//! `trailing_zeros`.

/// Bit sets over a text: bit `i` of `space` is set when byte `i` is ASCII white space
/// (as `u8::is_ascii_whitespace`), of `word` when it is an ASCII letter or digit.
/// Positions past the end count as space and not word, so every token and run ends.
#[derive(Default)]
pub(crate) struct Classes {
    pub space: Vec<u64>,
    pub word: Vec<u64>,
    /// The plain space byte `' '` (white space that needs no folding when single).
    pub plain: Vec<u64>,
    /// An ASCII digit or `#`: where a code token (`550-5.1.1`, `#5.1.1`) can begin.
    pub lead: Vec<u64>,
}

impl Classes {
    /// Classifies `text` into `self`, reusing its memory.
    pub fn fill(&mut self, text: &[u8]) {
        for v in [
            &mut self.space,
            &mut self.word,
            &mut self.plain,
            &mut self.lead,
        ] {
            v.clear();
        }
        let mut words = text.chunks_exact(64);
        for w in &mut words {
            let m = word_masks(w);
            self.push(m);
        }
        // The last, partial word is padded with spaces; there is always one, so
        // every run of non-space ends inside the bits.
        let rest = words.remainder();
        let mut last = [b' '; 64];
        last[..rest.len()].copy_from_slice(rest);
        self.push(word_masks(&last));
    }

    fn push(&mut self, m: [u64; 4]) {
        self.space.push(m[0]);
        self.word.push(m[1]);
        self.plain.push(m[2]);
        self.lead.push(m[3]);
    }

    /// Whether byte `i` is white space.
    #[inline]
    pub fn is_space(&self, i: usize) -> bool {
        self.space[i / 64] >> (i % 64) & 1 == 1
    }
}

/// The four classes of 64 bytes, one bit per byte: space, word, plain, lead.
#[inline]
fn word_masks(bytes: &[u8]) -> [u64; 4] {
    let mut out = [0u64; 4];
    for (k, block) in bytes.chunks_exact(16).enumerate() {
        let m = block_masks(block.try_into().unwrap_or(&[b' '; 16]));
        let shift = 16 * k;
        out[0] |= (m.space as u64) << shift;
        out[1] |= (m.word as u64) << shift;
        out[2] |= (m.plain as u64) << shift;
        out[3] |= (m.lead as u64) << shift;
    }
    out
}

/// The first position at or after `from` whose bit is set (or, with `invert`, clear);
/// `bits.len() * 64` if there is none.
#[inline]
pub(crate) fn next(bits: &[u64], from: usize, invert: bool) -> usize {
    let flip = if invert { !0 } else { 0 };
    let mut w = from / 64;
    if w >= bits.len() {
        return bits.len() * 64;
    }
    let mut x = (bits[w] ^ flip) & (!0u64 << (from % 64));
    loop {
        if x != 0 {
            return w * 64 + x.trailing_zeros() as usize;
        }
        w += 1;
        if w == bits.len() {
            return bits.len() * 64;
        }
        x = bits[w] ^ flip;
    }
}

/// Calls `f(start, end)` for every maximal run of set bits (of clear bits, with
/// `invert`), in order. A run still open at the last bit is not reported; the padding
/// rules of [`Classes`] make sure none is (word bits end clear, space bits end set).
#[inline]
pub(crate) fn for_each_run(bits: &[u64], invert: bool, mut f: impl FnMut(usize, usize)) {
    let flip = if invert { !0 } else { 0 };
    let get = |w: usize| bits[w] ^ flip;
    let mut carry = 0u64;
    let mut wi = 0;
    while wi < bits.len() {
        let x = get(wi);
        let mut starts = x & !((x << 1) | carry);
        carry = x >> 63;
        let here = wi;
        wi += 1;
        while starts != 0 {
            let s = starts.trailing_zeros() as usize;
            starts &= starts - 1;
            // The run ends at the first clear bit at or after s.
            let rest = !x >> s;
            if rest != 0 {
                f(
                    here * 64 + s,
                    here * 64 + s + rest.trailing_zeros() as usize,
                );
                continue;
            }
            // It runs on into the next words.
            let mut w = here + 1;
            loop {
                if w == bits.len() {
                    return;
                }
                let y = !get(w);
                if y != 0 {
                    let end = w * 64 + y.trailing_zeros() as usize;
                    f(here * 64 + s, end);
                    // No later start can be in `x` (the run filled it to the end).
                    // Go on from word `w`: with the carry set, its bits before `end`
                    // (all set, all part of this run) cannot start another run.
                    wi = w;
                    carry = 1;
                    break;
                }
                w += 1;
            }
            break;
        }
    }
}

/// Lower-cases ASCII letters in place.
pub(crate) fn lower_in_place(buf: &mut [u8]) {
    let mut blocks = buf.chunks_exact_mut(16);
    for block in &mut blocks {
        lower_block(block.try_into().unwrap_or_else(|_| unreachable!()));
    }
    blocks.into_remainder().make_ascii_lowercase();
}

/// The classes of one block of sixteen bytes, a bit per byte.
struct Masks {
    space: u16,
    word: u16,
    plain: u16,
    lead: u16,
}

#[cfg(target_arch = "x86_64")]
#[inline]
fn block_masks(block: &[u8; 16]) -> Masks {
    use std::arch::x86_64::*;
    // SAFETY: SSE2 is part of the x86_64 baseline, so these intrinsics are always
    // available; `block` is sixteen readable bytes and the load needs no alignment.
    unsafe {
        let x = _mm_loadu_si128(block.as_ptr().cast());
        // Signed compares are right for ASCII; bytes >= 0x80 read as negative and fall
        // outside every range below (and the callers only pass ASCII text).
        let between = |v: __m128i, lo: u8, hi: u8| {
            _mm_and_si128(
                _mm_cmpgt_epi8(v, _mm_set1_epi8(lo as i8 - 1)),
                _mm_cmplt_epi8(v, _mm_set1_epi8(hi as i8 + 1)),
            )
        };
        let plain = _mm_cmpeq_epi8(x, _mm_set1_epi8(b' ' as i8));
        let space = _mm_or_si128(
            plain,
            _mm_andnot_si128(
                _mm_cmpeq_epi8(x, _mm_set1_epi8(0x0b)),
                between(x, b'\t', b'\r'),
            ),
        );
        let folded = _mm_or_si128(x, _mm_set1_epi8(0x20));
        let digit = between(x, b'0', b'9');
        let word = _mm_or_si128(digit, between(folded, b'a', b'z'));
        let lead = _mm_or_si128(digit, _mm_cmpeq_epi8(x, _mm_set1_epi8(b'#' as i8)));
        Masks {
            space: _mm_movemask_epi8(space) as u16,
            word: _mm_movemask_epi8(word) as u16,
            plain: _mm_movemask_epi8(plain) as u16,
            lead: _mm_movemask_epi8(lead) as u16,
        }
    }
}

#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn block_masks(block: &[u8; 16]) -> Masks {
    let mut m = Masks {
        space: 0,
        word: 0,
        plain: 0,
        lead: 0,
    };
    for (j, &c) in block.iter().enumerate() {
        m.space |= (c.is_ascii_whitespace() as u16) << j;
        m.word |= (c.is_ascii_alphanumeric() as u16) << j;
        m.plain |= ((c == b' ') as u16) << j;
        m.lead |= ((c.is_ascii_digit() || c == b'#') as u16) << j;
    }
    m
}

#[cfg(target_arch = "x86_64")]
#[inline]
fn lower_block(block: &mut [u8; 16]) {
    use std::arch::x86_64::*;
    // SAFETY: `block` is sixteen readable and writable bytes; unaligned access.
    unsafe {
        let x = _mm_loadu_si128(block.as_ptr().cast());
        let upper = _mm_and_si128(
            _mm_cmpgt_epi8(x, _mm_set1_epi8(b'A' as i8 - 1)),
            _mm_cmplt_epi8(x, _mm_set1_epi8(b'Z' as i8 + 1)),
        );
        let y = _mm_or_si128(x, _mm_and_si128(upper, _mm_set1_epi8(0x20)));
        _mm_storeu_si128(block.as_mut_ptr().cast(), y);
    }
}

#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn lower_block(block: &mut [u8; 16]) {
    block.make_ascii_lowercase();
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn bit(bits: &[u64], i: usize) -> bool {
        bits[i / 64] >> (i % 64) & 1 == 1
    }

    proptest! {
        #[test]
        fn classes_agree_with_the_byte_predicates(text in proptest::collection::vec(0u8..128, 0..300)) {
            let mut c = Classes::default();
            c.fill(&text);
            for (i, &b) in text.iter().enumerate() {
                prop_assert_eq!(bit(&c.space, i), b.is_ascii_whitespace(), "space at {}", i);
                prop_assert_eq!(bit(&c.word, i), b.is_ascii_alphanumeric(), "word at {}", i);
            }
            for i in text.len()..c.space.len() * 64 {
                prop_assert!(bit(&c.space, i) && !bit(&c.word, i), "padding at {}", i);
            }
        }

        #[test]
        fn runs_agree_with_a_byte_walk(bits in proptest::collection::vec(any::<u64>(), 1..5), sparse in any::<bool>(), invert in any::<bool>()) {
            // Make the last word end with a clear bit (set, inverted) as the padding does.
            let mut bits = bits;
            if sparse {
                for b in &mut bits { *b &= b.rotate_left(7); }
            }
            let last = bits.len() - 1;
            if invert { bits[last] |= 1 << 63 } else { bits[last] &= !(1 << 63) }
            let get = |i: usize| (bits[i / 64] >> (i % 64) & 1 == 1) != invert;
            let mut want = Vec::new();
            let mut open = None;
            for i in 0..bits.len() * 64 {
                match (get(i), open) {
                    (true, None) => open = Some(i),
                    (false, Some(s)) => { want.push((s, i)); open = None; }
                    _ => {}
                }
            }
            let mut got = Vec::new();
            for_each_run(&bits, invert, |s, e| got.push((s, e)));
            prop_assert_eq!(got, want);
        }

        #[test]
        fn lowering_agrees_with_std(text in proptest::collection::vec(any::<u8>(), 0..100)) {
            let mut a = text.clone();
            lower_in_place(&mut a);
            prop_assert_eq!(a, text.to_ascii_lowercase());
        }
    }

    #[test]
    fn runs_are_found_across_words() {
        let bits = [0b0110u64 | 1 << 63, 0b1, 0];
        let mut got = Vec::new();
        for_each_run(&bits, false, |s, e| got.push((s, e)));
        assert_eq!(got, [(1, 3), (63, 65)]);
        got.clear();
        for_each_run(&[!0u64 << 10, !0], true, |s, e| got.push((s, e)));
        assert_eq!(got, [(0, 10)]);
    }
}
