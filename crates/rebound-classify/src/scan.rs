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
}

impl Classes {
    /// Classifies `text` into `self`, reusing its memory.
    pub fn fill(&mut self, text: &[u8]) {
        let words = text.len() / 64 + 1;
        self.space.clear();
        self.word.clear();
        self.space.resize(words, 0);
        self.word.resize(words, 0);
        let mut blocks = text.chunks_exact(16);
        let mut at = 0;
        for block in &mut blocks {
            let (s, w) = block_masks(block.try_into().unwrap_or(&[b' '; 16]));
            self.set(at, s, w);
            at += 16;
        }
        let rest = blocks.remainder();
        let mut last = [b' '; 16];
        last[..rest.len()].copy_from_slice(rest);
        let (s, w) = block_masks(&last);
        self.set(at, s, w);
        // Everything past the padded last block is space too.
        let past = at + 16;
        if past / 64 < words {
            self.space[past / 64] |= !0u64 << (past % 64);
            for x in &mut self.space[past / 64 + 1..] {
                *x = !0;
            }
        }
    }

    /// Puts a block's masks at bit `at` (a multiple of 16, so a block never spans
    /// two words).
    fn set(&mut self, at: usize, space: u16, word: u16) {
        let (i, shift) = (at / 64, at % 64);
        self.space[i] |= (space as u64) << shift;
        self.word[i] |= (word as u64) << shift;
    }
}

/// Calls `f(start, end)` for every maximal run of set bits (of clear bits, with
/// `invert`), in order. A run still open at the last bit is not reported; the padding
/// rules of [`Classes`] make sure none is (word bits end clear, space bits end set).
#[inline]
pub(crate) fn for_each_run(bits: &[u64], invert: bool, mut f: impl FnMut(usize, usize)) {
    let flip = if invert { !0 } else { 0 };
    let mut carry = 0u64;
    let mut open = 0usize;
    for (wi, &raw) in bits.iter().enumerate() {
        let x = raw ^ flip;
        let prev = (x << 1) | carry;
        carry = x >> 63;
        let mut starts = x & !prev;
        let mut ends = !x & prev;
        // Starts and ends alternate; take whichever comes first.
        while starts | ends != 0 {
            let s = starts.trailing_zeros();
            let e = ends.trailing_zeros();
            if e < s {
                f(open, wi * 64 + e as usize);
                ends &= ends - 1;
            } else {
                open = wi * 64 + s as usize;
                starts &= starts - 1;
            }
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

#[cfg(target_arch = "x86_64")]
#[inline]
fn block_masks(block: &[u8; 16]) -> (u16, u16) {
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
        let space = _mm_or_si128(
            _mm_cmpeq_epi8(x, _mm_set1_epi8(b' ' as i8)),
            _mm_andnot_si128(
                _mm_cmpeq_epi8(x, _mm_set1_epi8(0x0b)),
                between(x, b'\t', b'\r'),
            ),
        );
        let folded = _mm_or_si128(x, _mm_set1_epi8(0x20));
        let word = _mm_or_si128(between(x, b'0', b'9'), between(folded, b'a', b'z'));
        (
            _mm_movemask_epi8(space) as u16,
            _mm_movemask_epi8(word) as u16,
        )
    }
}

#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn block_masks(block: &[u8; 16]) -> (u16, u16) {
    let (mut s, mut w) = (0u16, 0u16);
    for (j, &c) in block.iter().enumerate() {
        s |= (c.is_ascii_whitespace() as u16) << j;
        w |= (c.is_ascii_alphanumeric() as u16) << j;
    }
    (s, w)
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
