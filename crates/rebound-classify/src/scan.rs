//! Byte classes of ASCII text, sixteen bytes at a time.
//!
//! Preparing a reply for matching asks two questions of every byte: is it white space
//! (tokens are folded to single spaces), and is it an ASCII letter or digit (phrases
//! are found by their words). Asked byte by byte this was the largest cost of a
//! classification; here each block of sixteen bytes is answered with a handful of
//! SSE2 instructions on x86_64 (part of its baseline, so no run-time detection), and
//! by a plain loop elsewhere. The answers are bit sets over the text, walked with
//! `trailing_zeros`. White space is asked of the reply as given; letters and digits
//! of the normalised text, in the same pass that lower-cases it.

/// Bit sets over a text: bit `i` of `space` is set when byte `i` is ASCII white space
/// (as `u8::is_ascii_whitespace`). Positions past the end count as space, so every
/// token ends.
#[derive(Default)]
pub(crate) struct Classes {
    pub space: Vec<u64>,
    /// The plain space byte `' '` (white space that needs no folding when single).
    pub plain: Vec<u64>,
    /// An ASCII digit or `#`: where a code token (`550-5.1.1`, `#5.1.1`) can begin.
    pub lead: Vec<u64>,
    /// Letters and digits of the normalised text (see [`lower_words`]).
    pub word: Vec<u64>,
}

impl Classes {
    /// Classifies `text` into `self`, reusing its memory; whether `text` is all
    /// ASCII (asked in the same pass, so the caller need not ask it of every byte
    /// again). The classes of text that is not ASCII are of no use.
    pub fn fill(&mut self, text: &[u8]) -> bool {
        for v in [&mut self.space, &mut self.plain, &mut self.lead] {
            v.clear();
        }
        let mut high = 0u64;
        let mut words = text.chunks_exact(64);
        for w in &mut words {
            let m = word_masks(w);
            high |= m[3];
            self.push(m);
        }
        // The last, partial word reads as padded with spaces; there is always one,
        // so every run of non-space ends inside the bits. Only its blocks that hold
        // text are classified (the others are known to be all space), and the last
        // of those is read as the sixteen bytes that end the text, shifted into
        // place, rather than copied into a padded buffer (measured: 36 instructions
        // a reply fewer than classifying a padded copy of 64 bytes).
        let rest = words.remainder();
        let mut m = [0u64; 4];
        let mut blocks = rest.chunks_exact(16);
        let mut k = 0;
        for block in &mut blocks {
            m = or_block(
                m,
                block_masks(block.try_into().unwrap_or(&[b' '; 16])),
                k,
                0,
            );
            k += 1;
        }
        let tail = blocks.remainder().len();
        if tail > 0 {
            let block = match text.len().checked_sub(16) {
                // The sixteen bytes that end the text: its tail in their top bytes.
                Some(at) => block_masks(text[at..].try_into().unwrap_or(&[b' '; 16])),
                // A text shorter than a block: padded into one, in the top bytes too.
                None => {
                    let mut pad = [b' '; 16];
                    pad[16 - tail..].copy_from_slice(blocks.remainder());
                    block_masks(&pad)
                }
            };
            m = or_block(m, block, k, 16 - tail as u32);
        }
        // The bytes past the text count as plain spaces (`rest` is shorter than 64).
        let past = !0u64 << rest.len();
        m[0] |= past;
        m[1] |= past;
        self.push(m);
        (high | m[3]) == 0
    }

    fn push(&mut self, m: [u64; 4]) {
        self.space.push(m[0]);
        self.plain.push(m[1]);
        self.lead.push(m[2]);
    }

    /// Whether byte `i` is white space.
    #[inline]
    pub fn is_space(&self, i: usize) -> bool {
        self.space[i / 64] >> (i % 64) & 1 == 1
    }
}

/// The classes of 64 bytes, one bit per byte: space, plain, lead, and bytes that are
/// not ASCII.
#[inline]
fn word_masks(bytes: &[u8]) -> [u64; 4] {
    let mut out = [0u64; 4];
    for (k, block) in bytes.chunks_exact(16).enumerate() {
        let m = block_masks(block.try_into().unwrap_or(&[b' '; 16]));
        let shift = 16 * k;
        out[0] |= (m.space as u64) << shift;
        out[1] |= (m.plain as u64) << shift;
        out[2] |= (m.lead as u64) << shift;
        out[3] |= (m.high as u64) << shift;
    }
    out
}

/// `m` with the masks of block `k` of a word or-ed in, their low `skip` bits (bytes
/// before the block's part of the text) dropped.
#[inline]
fn or_block(mut m: [u64; 4], b: Masks, k: usize, skip: u32) -> [u64; 4] {
    let shift = 16 * k;
    let put = |v: u16| ((v >> skip) as u64) << shift;
    m[0] |= put(b.space);
    m[1] |= put(b.plain);
    m[2] |= put(b.lead);
    m[3] |= put(b.high);
    m
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

/// Lower-cases the ASCII letters of `buf[..len]` and sets `words` to its letters and
/// digits, a bit per byte (none past `len`). `buf` must hold at least 16 bytes past
/// `len`, all zero (read and written back as they are, in the last block).
pub(crate) fn lower_words(buf: &mut [u8], len: usize, words: &mut Vec<u64>) {
    words.clear();
    let blocks = len.div_ceil(16);
    let mut acc = 0u64;
    for k in 0..blocks {
        let Some(block) = buf.get_mut(16 * k..16 * k + 16) else {
            break;
        };
        let m = lower_block(block.try_into().unwrap_or_else(|_| unreachable!()));
        acc |= (m as u64) << (16 * (k % 4));
        if k % 4 == 3 {
            words.push(acc);
            acc = 0;
        }
    }
    if !blocks.is_multiple_of(4) {
        words.push(acc);
    }
}

/// The classes of one block of sixteen bytes, a bit per byte.
struct Masks {
    space: u16,
    plain: u16,
    lead: u16,
    /// Bytes of 0x80 and above: not ASCII.
    high: u16,
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
        let digit = between(x, b'0', b'9');
        let lead = _mm_or_si128(digit, _mm_cmpeq_epi8(x, _mm_set1_epi8(b'#' as i8)));
        Masks {
            space: _mm_movemask_epi8(space) as u16,
            plain: _mm_movemask_epi8(plain) as u16,
            lead: _mm_movemask_epi8(lead) as u16,
            high: _mm_movemask_epi8(x) as u16,
        }
    }
}

#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn block_masks(block: &[u8; 16]) -> Masks {
    let mut m = Masks {
        space: 0,
        plain: 0,
        lead: 0,
        high: 0,
    };
    for (j, &c) in block.iter().enumerate() {
        m.space |= (c.is_ascii_whitespace() as u16) << j;
        m.plain |= ((c == b' ') as u16) << j;
        m.lead |= ((c.is_ascii_digit() || c == b'#') as u16) << j;
        m.high |= ((c >= 0x80) as u16) << j;
    }
    m
}

/// Lower-cases ASCII letters of a block in place; its letters and digits, a bit per
/// byte.
#[cfg(target_arch = "x86_64")]
#[inline]
fn lower_block(block: &mut [u8; 16]) -> u16 {
    use std::arch::x86_64::*;
    // SAFETY: `block` is sixteen readable and writable bytes; unaligned access.
    unsafe {
        let between = |v: __m128i, lo: u8, hi: u8| {
            _mm_and_si128(
                _mm_cmpgt_epi8(v, _mm_set1_epi8(lo as i8 - 1)),
                _mm_cmplt_epi8(v, _mm_set1_epi8(hi as i8 + 1)),
            )
        };
        let x = _mm_loadu_si128(block.as_ptr().cast());
        let upper = between(x, b'A', b'Z');
        let y = _mm_or_si128(x, _mm_and_si128(upper, _mm_set1_epi8(0x20)));
        _mm_storeu_si128(block.as_mut_ptr().cast(), y);
        let word = _mm_or_si128(between(y, b'a', b'z'), between(y, b'0', b'9'));
        _mm_movemask_epi8(word) as u16
    }
}

#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn lower_block(block: &mut [u8; 16]) -> u16 {
    block.make_ascii_lowercase();
    let mut m = 0;
    for (j, &c) in block.iter().enumerate() {
        m |= (c.is_ascii_alphanumeric() as u16) << j;
    }
    m
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
        fn classes_agree_with_the_byte_predicates(text in proptest::collection::vec(0u8..128, 0..300), high in proptest::option::of((0usize..300, 128u8..=255))) {
            let mut text = text;
            if let Some((at, b)) = high && at < text.len() {
                text[at] = b;
            }
            let mut c = Classes::default();
            prop_assert_eq!(c.fill(&text), text.is_ascii());
            for (i, &b) in text.iter().enumerate() {
                prop_assert_eq!(bit(&c.space, i), b.is_ascii_whitespace(), "space at {}", i);
                prop_assert_eq!(bit(&c.plain, i), b == b' ', "plain at {}", i);
                prop_assert_eq!(bit(&c.lead, i), b.is_ascii_digit() || b == b'#', "lead at {}", i);
            }
            for i in text.len()..c.space.len() * 64 {
                prop_assert!(bit(&c.space, i), "padding at {}", i);
            }
        }

        #[test]
        fn lowering_agrees_with_std(text in proptest::collection::vec(any::<u8>(), 0..200)) {
            let mut buf = text.clone();
            buf.extend_from_slice(&[0; 16]);
            let mut words = Vec::new();
            lower_words(&mut buf, text.len(), &mut words);
            prop_assert_eq!(&buf[..text.len()], text.to_ascii_lowercase());
            prop_assert_eq!(&buf[text.len()..], &[0; 16][..]);
            prop_assert_eq!(words.len(), text.len().div_ceil(64));
            for i in 0..words.len() * 64 {
                let want = text.get(i).is_some_and(u8::is_ascii_alphanumeric);
                prop_assert_eq!(bit(&words, i), want, "word at {}", i);
            }
        }
    }
}
