//! Small text helpers shared by the format readers: bytes to UTF-8, line ends to `\n`,
//! HTML to plain text, lower-casing for phrase search, and header-style fields
//! (`Name: value` with continuation lines) as found in DSNs and pasted reports.

/// Bytes to a string: UTF-8 where valid, otherwise Latin-1 style (every byte kept as a
/// character), line ends normalised to `\n`.
pub fn to_text(bytes: &[u8]) -> String {
    let s = match std::str::from_utf8(bytes) {
        Ok(s) => std::borrow::Cow::Borrowed(s),
        Err(_) => std::borrow::Cow::Owned(String::from_utf8_lossy(bytes).into_owned()),
    };
    normalize_newlines(&s)
}

/// `\r\n` and lone `\r` become `\n`.
pub fn normalize_newlines(s: &str) -> String {
    let b = s.as_bytes();
    let Some(first) = memchr::memchr(b'\r', b) else {
        return s.to_string();
    };
    let mut out = String::with_capacity(s.len());
    let mut from = 0;
    let mut cr = Some(first);
    while let Some(at) = cr {
        // `\r` is ASCII: `from` and `at` are character boundaries.
        out.push_str(&s[from..at]);
        out.push('\n');
        from = if b.get(at + 1) == Some(&b'\n') {
            at + 2
        } else {
            at + 1
        };
        cr = memchr::memchr(b'\r', &b[from..]).map(|i| from + i);
    }
    out.push_str(&s[from..]);
    out
}

/// Lower case, keeping byte offsets of ASCII text (non-ASCII characters are lowered
/// only when that keeps their length, so offsets found in the result fit the input).
pub fn lower(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    lower_into(s, &mut out);
    out
}

/// [`lower`] appended to `out`. Runs of ASCII are lowered in bulk; of the other
/// characters, those of the scripts without case (CJK, kana, Hangul) are copied as they
/// are, without a look-up in the case tables.
pub fn lower_into(s: &str, out: &mut String) {
    if s.is_ascii() {
        let start = out.len();
        out.push_str(s);
        out[start..].make_ascii_lowercase();
        return;
    }
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let run = ascii_run(&b[i..]);
        if run > 0 && run < 16 {
            // A short run (a word between non-ASCII ones) byte by byte: cheaper than
            // the bulk copy's set-up.
            for &c in &b[i..i + run] {
                out.push(char::from(c.to_ascii_lowercase()));
            }
            i += run;
            continue;
        }
        if run > 0 {
            let start = out.len();
            out.push_str(&s[i..i + run]);
            // Lowering ASCII letters keeps the string valid UTF-8.
            out[start..].make_ascii_lowercase();
            i += run;
            continue;
        }
        if b[i] & 0xe0 == 0xc0
            && let Some(&next) = b.get(i + 1)
        {
            // A two-byte character (U+0080 to U+07FF: Latin, Greek, Cyrillic, Hebrew,
            // Arabic ...): lowered through a table, not the case tables' search.
            let code = (usize::from(b[i] & 0x1f) << 6) | usize::from(next & 0x3f);
            let lowered = TWO_BYTE_LOWER[code - 0x80];
            out.push(char::from_u32(u32::from(lowered)).unwrap_or(char::REPLACEMENT_CHARACTER));
            i += 2;
            continue;
        }
        let Some(c) = s[i..].chars().next() else {
            break;
        };
        i += c.len_utf8();
        if has_no_case(c) {
            out.push(c);
            continue;
        }
        let mut l = c.to_lowercase();
        match (l.next(), l.next()) {
            (Some(x), None) if x.len_utf8() == c.len_utf8() => out.push(x),
            _ => out.push(c),
        }
    }
}

/// What [`lower`] makes of each two-byte character, U+0080 to U+07FF, in order: its
/// lower case where that is one character of the same length, else itself. Lowering
/// text in Cyrillic this way took 170 instructions per character to about 20
/// (callgrind, corpus `maildir/bsd`).
static TWO_BYTE_LOWER: std::sync::LazyLock<Vec<u16>> = std::sync::LazyLock::new(|| {
    (0x80u32..0x800)
        .map(|code| {
            // No surrogate lies in this range: every code is a character.
            let c = char::from_u32(code).expect("U+0080..U+07FF are characters");
            let mut l = c.to_lowercase();
            match (l.next(), l.next()) {
                (Some(x), None) if x.len_utf8() == c.len_utf8() => x as u32 as u16,
                _ => code as u16,
            }
        })
        .collect()
});

/// How many bytes at the start of `b` are ASCII, read eight at a time.
fn ascii_run(b: &[u8]) -> usize {
    let mut n = 0;
    while let Some(w) = b.get(n..n + 8) {
        let w = u64::from_ne_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
        if w & 0x8080_8080_8080_8080 != 0 {
            break;
        }
        n += 8;
    }
    while n < b.len() && b[n].is_ascii() {
        n += 1;
    }
    n
}

/// Whether `c` is in a block of characters that have no lower-case mapping: CJK
/// punctuation, kana, Bopomofo, CJK ideographs, Yi, Lisu and Vai (U+3000 to U+A63F),
/// and Hangul syllables.
fn has_no_case(c: char) -> bool {
    ('\u{3000}'..'\u{A640}').contains(&c) || ('\u{AC00}'..'\u{D7A4}').contains(&c)
}

/// Whether `s` starts with the ASCII `prefix`, ignoring ASCII case: what
/// `lower(s).starts_with(prefix)` says, without the copy (lowering keeps byte offsets,
/// and the bytes of a non-ASCII character never equal an ASCII one).
pub fn starts_with_ci(s: &str, prefix: &str) -> bool {
    s.len() >= prefix.len() && s.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

/// Whether `s` ends with the ASCII `suffix`, ignoring ASCII case (see
/// [`starts_with_ci`]).
pub fn ends_with_ci(s: &str, suffix: &str) -> bool {
    s.len() >= suffix.len()
        && s.as_bytes()[s.len() - suffix.len()..].eq_ignore_ascii_case(suffix.as_bytes())
}

/// Whether a line of `s` other than the first starts with the ASCII `prefix`, ignoring
/// ASCII case: `lower(s).contains("\n" + prefix)` without the copy.
pub fn has_line_starting_ci(s: &str, prefix: &str) -> bool {
    lines_starting_ci(s, &[prefix]) != 0
}

/// Which of `prefixes` (ASCII, at most 64) start a line of `s` other than the first,
/// ignoring ASCII case, as [`has_line_starting_ci`] tells for each: bit `i` for
/// `prefixes[i]`. One pass over the lines answers for all of them, and a prefix is
/// compared only where its first letter is.
pub fn lines_starting_ci(s: &str, prefixes: &[&str]) -> u64 {
    let b = s.as_bytes();
    let all = u64::MAX >> (64 - prefixes.len().clamp(1, 64));
    let mut found = 0u64;
    if !prefixes.is_empty()
        && prefixes
            .iter()
            .all(|p| memchr::memchr(b':', p.as_bytes()) == Some(p.len() - 1))
    {
        // Field names: each prefix ends with its only colon, so a line that starts with
        // it has a colon where the prefix's is. Colons are fewer than line ends in most
        // texts: each is looked at instead of each line.
        for colon in memchr::memchr_iter(b':', b) {
            for (i, p) in prefixes.iter().enumerate().take(64) {
                let p = p.as_bytes();
                let Some(start) = (colon + 1).checked_sub(p.len()) else {
                    continue;
                };
                if start > 0
                    && b[start - 1] == b'\n'
                    && b[start].eq_ignore_ascii_case(&p[0])
                    && b[start..=colon].eq_ignore_ascii_case(p)
                {
                    found |= 1 << i;
                }
            }
            if found == all {
                break;
            }
        }
        return found;
    }
    for nl in memchr::memchr_iter(b'\n', b) {
        let rest = &b[nl + 1..];
        let first = rest.first().map(u8::to_ascii_lowercase);
        for (i, p) in prefixes.iter().enumerate().take(64) {
            let p = p.as_bytes();
            let starts = match p.first() {
                None => true,
                Some(c) => {
                    first == Some(c.to_ascii_lowercase())
                        && rest.len() >= p.len()
                        && rest[..p.len()].eq_ignore_ascii_case(p)
                }
            };
            if starts {
                found |= 1 << i;
            }
        }
        if found == all {
            break;
        }
    }
    found
}

/// A crude but safe HTML to text: tags dropped, `<br>`, `<p>`, `<div>`, `<tr>` and
/// `<li>` become line breaks, common entities decoded.
pub fn strip_html(h: &str) -> String {
    let h = normalize_newlines(h);
    let mut out = String::with_capacity(h.len());
    let mut rest = h.as_str();
    // Inside <style> or <script>: text is dropped until the closing tag.
    let mut skipping: Option<&str> = None;
    // The tags are found with memchr: with `str::find` of a char in its place, decoding
    // cost about 1,000 instructions per message more (130,071 against 129,047,
    // `bench/decode-instructions.sh`).
    while let Some(lt) = memchr::memchr(b'<', rest.as_bytes()) {
        if skipping.is_none() {
            out.push_str(&rest[..lt]);
        }
        let Some(gt) = memchr::memchr(b'>', &rest.as_bytes()[lt..]) else {
            rest = "";
            break;
        };
        let raw_tag = &rest[lt + 1..lt + gt];
        let closing = raw_tag.starts_with('/');
        let unslashed = raw_tag.trim_start_matches('/');
        let name_len = unslashed
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(unslashed.len());
        let name = &unslashed[..name_len];
        rest = &rest[lt + gt + 1..];
        if let Some(open) = skipping {
            if closing && open.eq_ignore_ascii_case(name) {
                skipping = None;
            }
            continue;
        }
        if !closing && (name.eq_ignore_ascii_case("style") || name.eq_ignore_ascii_case("script")) {
            skipping = Some(name);
            continue;
        }
        if ["br", "p", "div", "tr", "li", "table", "h1", "h2", "h3"]
            .iter()
            .any(|t| name.eq_ignore_ascii_case(t))
        {
            out.push('\n');
        }
    }
    if skipping.is_none() {
        out.push_str(rest);
    }
    // Entities are decoded in the text without its tags (one may be cut by a tag).
    if !out.contains('&') {
        return out;
    }
    let mut decoded = String::with_capacity(out.len());
    push_decoded(&mut decoded, &out);
    decoded
}

/// The entities [`strip_html`] decodes. None is a prefix of another, and none can be
/// formed by decoding another: decoding them in one pass is decoding them one after the
/// other, `&amp;` last.
const ENTITIES: &[(&str, char)] = &[
    ("&nbsp;", ' '),
    ("&lt;", '<'),
    ("&gt;", '>'),
    ("&quot;", '"'),
    ("&#39;", '\''),
    ("&amp;", '&'),
];

/// `s` with the [`ENTITIES`] decoded, appended to `out`.
fn push_decoded(out: &mut String, s: &str) {
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        match ENTITIES.iter().find(|(e, _)| rest.starts_with(e)) {
            Some((e, c)) => {
                out.push(*c);
                rest = &rest[e.len()..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
}

/// The lines of `s`, as [`str::lines`] gives them (split at `\n`, a `\r` before it
/// dropped, no empty last line after a final `\n`), each line end found by one memchr
/// call: with `str::lines` in its place decoding costs about 2,900 more instructions
/// per message (138,571 against 135,685, `bench/decode-instructions.sh`).
pub fn lines(s: &str) -> impl Iterator<Item = &str> {
    let mut rest = s;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let line = match memchr::memchr(b'\n', rest.as_bytes()) {
            Some(i) => {
                // `\n` is ASCII: `i` and `i + 1` are character boundaries.
                let line = &rest[..i];
                rest = &rest[i + 1..];
                line.strip_suffix('\r').unwrap_or(line)
            }
            None => std::mem::take(&mut rest),
        };
        Some(line)
    })
}

/// A field as [`fields`] reads it: the index of its group, its name as written and its
/// value.
pub type Field<'a> = (usize, &'a str, std::borrow::Cow<'a, str>);

/// Reads `Name: value` fields with continuation lines, in order. Lines that are not
/// fields (and do not continue one) are skipped. Groups are separated by blank lines:
/// each field carries the index of its group. Names are as written (compare them
/// ignoring ASCII case); values are trimmed, continuation lines joined with a space.
pub fn fields(s: &str) -> Vec<Field<'_>> {
    let mut out: Vec<Field<'_>> = Vec::with_capacity(16);
    let mut group = 0;
    let mut blank = false;
    let mut last_was_field = false;
    for line in lines(s) {
        let t = trim(line);
        if t.is_empty() {
            blank = true;
            last_was_field = false;
            continue;
        }
        if (line.starts_with(' ') || line.starts_with('\t')) && last_was_field {
            if let Some(last) = out.last_mut() {
                let v = last.2.to_mut();
                v.push(' ');
                v.push_str(t);
            }
            continue;
        }
        match field_of_line(line) {
            Some((name, value)) => {
                if blank && !out.is_empty() {
                    group += 1;
                }
                blank = false;
                out.push((group, name, std::borrow::Cow::Borrowed(value)));
                last_was_field = true;
            }
            None => last_was_field = false,
        }
    }
    out
}

/// The name and value of a line that is a field (`Name: value`, the name under 40 bytes
/// of letters, digits, `-` and `_`, white space before the colon allowed), both trimmed.
fn field_of_line(line: &str) -> Option<(&str, &str)> {
    let b = line.as_bytes();
    // Most fields have the colon right after the name: found without a search for the
    // colon and with nothing to trim off the name. With [`trim`], this took `fields`
    // from about 630 instructions per line to 460 (callgrind, `maildir/bsd`).
    let n = b.iter().position(|&c| !is_name_byte(c)).unwrap_or(b.len());
    if n > 0 && n < 40 && b.get(n) == Some(&b':') {
        // The name is ASCII: `n` and `n + 1` are character boundaries.
        return Some((&line[..n], trim(&line[n + 1..])));
    }
    match line.split_once(':') {
        Some((name, value))
            if !name.is_empty() && name.len() < 40 && name.trim_end().bytes().all(is_name_byte) =>
        {
            Some((name.trim(), value.trim()))
        }
        _ => None,
    }
}

/// A byte a field name may hold (letters, digits, `-` and `_`).
fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// What [`str::trim`] gives, the ASCII white space at the ends taken off byte by byte:
/// `str::trim` decodes each character it looks at, and most ends are ASCII.
#[inline]
pub fn trim(s: &str) -> &str {
    let b = s.as_bytes();
    let mut start = 0;
    let mut end = b.len();
    while start < end && is_ascii_space(b[start]) {
        start += 1;
    }
    while end > start && is_ascii_space(b[end - 1]) {
        end -= 1;
    }
    // ASCII bytes are characters of their own: `start` and `end` are boundaries.
    let t = &s[start..end];
    let tb = t.as_bytes();
    if tb.first().is_some_and(|&c| c >= 0x80) || tb.last().is_some_and(|&c| c >= 0x80) {
        // A non-ASCII end may be white space (U+00A0, U+3000 ...).
        return t.trim();
    }
    t
}

/// The ASCII characters that [`char::is_whitespace`] holds to be white space (what
/// `str::trim` and `split_whitespace` take off or split on).
fn is_ascii_space(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r' | b' ')
}

/// Collapses runs of white space to one space and trims.
pub fn squash(s: &str) -> String {
    if is_squashed(s) {
        return s.to_string();
    }
    if s.is_ascii() {
        let b = s.as_bytes();
        let mut out = String::with_capacity(s.len());
        let mut i = 0;
        // Each word is copied whole, with one space before it unless it is the first.
        while i < b.len() {
            while i < b.len() && is_ascii_space(b[i]) {
                i += 1;
            }
            let start = i;
            while i < b.len() && !is_ascii_space(b[i]) {
                i += 1;
            }
            if start < i {
                if !out.is_empty() {
                    out.push(' ');
                }
                // ASCII: every offset is a character boundary.
                out.push_str(&s[start..i]);
            }
        }
        return out;
    }
    let mut out = String::with_capacity(s.len());
    for w in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
    }
    out
}

/// Whether `s` is ASCII and [`squash`] gives it back as it is: no white space but single
/// spaces between words. Most diagnostics already are; this looks at eight bytes at a
/// time where `squash` copies word by word.
pub fn is_squashed(s: &str) -> bool {
    const EACH: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x80 * EACH;
    let b = s.as_bytes();
    if !s.is_ascii() || b.first() == Some(&b' ') || b.last() == Some(&b' ') {
        return false;
    }
    // Whether the byte before is a space.
    let mut after_space = false;
    let mut words = b.chunks_exact(8);
    for c in &mut words {
        let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        // The high bit of each byte that is at least `n`: every byte is ASCII, so
        // subtracting from it with its high bit set never borrows from the next one.
        let at_least = |n: u8| ((w | HIGH) - u64::from(n) * EACH) & HIGH;
        // Tab, line feed, vertical tab, form feed, carriage return.
        let control_space = at_least(0x09) & !at_least(0x0e);
        let space = at_least(b' ') & !at_least(b' ' + 1);
        if control_space != 0 || space & (space >> 8) != 0 || (after_space && space & 0x80 != 0) {
            return false;
        }
        after_space = space >> 63 != 0;
    }
    for &c in words.remainder() {
        if c == b' ' {
            if after_space {
                return false;
            }
            after_space = true;
        } else if is_ascii_space(c) {
            return false;
        } else {
            after_space = false;
        }
    }
    true
}

/// The first host name (`a.b.c`) named after "host" in an MTA's prose, e.g.
/// `host mx.example.jp [192.0.2.1] said:` or `remote host mx.example.jp`.
pub fn host_in(s: &str) -> Option<String> {
    host_in_lower(&lower(s))
}

/// [`host_in`] of a text already lowered by [`lower`].
pub fn host_in_lower(l: &str) -> Option<String> {
    // The searchers are built once: building one per call cost more than the search.
    static KEYS: std::sync::LazyLock<[memchr::memmem::Finder<'static>; 4]> =
        std::sync::LazyLock::new(|| {
            ["host ", "host: ", "server ", "by "].map(memchr::memmem::Finder::new)
        });
    for key in KEYS.iter() {
        let mut from = 0;
        while let Some(i) = key.find(&l.as_bytes()[from..]) {
            let start = from + i + key.needle().len();
            from = start;
            let rest = l[start..].trim_start_matches(['<', '[']);
            let len = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '-'))
                .unwrap_or(rest.len());
            let cand = rest[..len].trim_end_matches('.');
            if cand.contains('.')
                && cand.bytes().any(|c| c.is_ascii_alphabetic())
                && !cand.starts_with('.')
            {
                return Some(cand.to_string());
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newlines_and_fields() {
        assert_eq!(normalize_newlines("a\r\nb\rc\n"), "a\nb\nc\n");
        let f =
            fields("Reporting-MTA: dns; x\n\nFinal-Recipient: rfc822;\n a@b.c\nStatus: 5.1.1\n");
        assert_eq!(f.len(), 3);
        assert_eq!(f[1], (1, "Final-Recipient", "rfc822; a@b.c".into()));
        assert_eq!(f[2].0, 1);
    }

    proptest::proptest! {
        #[test]
        fn lines_starting_are_what_each_line_says(s in "[aAbB:\né]{0,30}") {
            for prefixes in [&["a:", "B", "ab", "", "é"][..], &["a:", "ba:", "é:"], &["b:"]] {
                let by_line = |p: &str| {
                    memchr::memchr_iter(b'\n', s.as_bytes()).any(|nl| starts_with_ci(&s[nl + 1..], p))
                };
                let want = prefixes
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| by_line(p))
                    .fold(0u64, |m, (i, _)| m | 1 << i);
                proptest::prop_assert_eq!(lines_starting_ci(&s, prefixes), want, "{:?}", prefixes);
            }
        }

        #[test]
        fn squashed_is_what_squash_keeps(s in "[ab \t\r\n\x0b\x0c\x1f\u{a0}]{0,40}") {
            let kept = squash(&s) == s;
            proptest::prop_assert_eq!(is_squashed(&s), kept && s.is_ascii(), "{:?}", s);
        }

        #[test]
        fn trim_is_what_str_trim_gives(s in "[a \t\r\n\x0b\x0c\x1f\u{a0}\u{3000}é:-]{0,24}") {
            proptest::prop_assert_eq!(trim(&s), s.trim());
        }

        #[test]
        fn a_field_line_is_read_as_splitting_at_the_colon_reads_it(
            s in "[aZ9 \t_\u{3000}é:-]{0,48}"
        ) {
            let by_split = s.split_once(':').and_then(|(name, value)| {
                (!name.is_empty()
                    && name.len() < 40
                    && name
                        .trim_end()
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
                .then(|| (name.trim(), value.trim()))
            });
            proptest::prop_assert_eq!(field_of_line(&s), by_split);
        }

        #[test]
        fn lines_are_what_str_lines_gives(s in "[a\r\né]{0,24}") {
            proptest::prop_assert_eq!(lines(&s).collect::<Vec<_>>(), s.lines().collect::<Vec<_>>());
        }
    }

    #[test]
    fn lower_agrees_with_lowering_char_by_char() {
        fn by_char(s: &str) -> String {
            s.chars()
                .map(|c| {
                    let mut l = c.to_lowercase();
                    match (l.next(), l.next()) {
                        (Some(x), None) if x.len_utf8() == c.len_utf8() => x,
                        _ => c,
                    }
                })
                .collect()
        }
        let all: String = (0..=0x10FFFFu32).filter_map(char::from_u32).collect();
        assert_eq!(lower(&all), by_char(&all));
        for s in [
            "",
            "ABC",
            "Échec DE LA remise",
            "配信不能 Mail",
            "K\u{212A}İx",
            "ＡＢＣ",
        ] {
            assert_eq!(lower(s), by_char(s));
            assert_eq!(lower(s).len(), s.len());
        }
    }

    #[test]
    fn squash_agrees_with_split_whitespace() {
        for s in [
            "",
            "  a \t b\r\n\x0b c\x0c ",
            "one",
            " x\u{a0}y  z ",
            "\n\n",
        ] {
            assert_eq!(
                squash(s),
                s.split_whitespace().collect::<Vec<_>>().join(" "),
                "{s:?}"
            );
        }
    }

    #[test]
    fn html_entities_decode_as_one_replacement_after_another() {
        fn one_after_another(s: &str) -> String {
            s.replace("&nbsp;", " ")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&#39;", "'")
                .replace("&amp;", "&")
        }
        for s in [
            "a &amp;lt; b",
            "&&lt;&gt;&",
            "&nbsp&nbsp;&amp;amp;",
            "x &#39;&quot;&QUOT; &lt",
            "&amp;nbsp;&l&gt;t;",
            "",
        ] {
            let mut out = String::new();
            push_decoded(&mut out, s);
            assert_eq!(out, one_after_another(s), "{s:?}");
        }
        assert_eq!(
            strip_html("<STYLE>p{}</style>a<Script>x</SCRIPT><BR>b&amp;c&am<i>p;"),
            "a\nb&c&"
        );
        assert_eq!(normalize_newlines("\r\r\n\n\r"), "\n\n\n\n");
        assert_eq!(normalize_newlines("é\r\nü\rx"), "é\nü\nx");
    }

    #[test]
    fn hosts_and_html() {
        assert_eq!(
            host_in("host mx.example.jp [192.0.2.1] said: 550").as_deref(),
            Some("mx.example.jp")
        );
        assert_eq!(strip_html("<p>a<br>b</p>&amp;"), "\na\nb\n&");
    }
}
