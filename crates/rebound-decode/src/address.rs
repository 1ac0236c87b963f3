//! Email addresses as they appear in bounce texts: finding them in a line of prose
//! (`<user@example.com>`, `"user@example.com":`, `rfc822; user@example.com`), and
//! normalising what was found (angle brackets, quotes, trailing dots, `mailto:`).
//!
//! This is deliberately not a full RFC 5322 address parser: bounces quote addresses in
//! a dozen informal ways, and what matters is to find the mailbox the MTA talks about.

/// An address found in a text: where it is and what it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Found<'a> {
    pub start: usize,
    pub end: usize,
    pub addr: &'a str,
}

/// The bytes of a local part besides letters and digits (non-ASCII bytes are accepted too).
const LOCAL_PUNCTUATION: &[u8] = b"!#$%&'*+/=?^_`{|}~.-";
/// The bytes of a domain besides letters and digits (non-ASCII bytes are accepted too).
const DOMAIN_PUNCTUATION: &[u8] = b".-_";

/// [`CLASS`] bit: the byte may be in a local part.
const LOCAL: u8 = 1;
/// [`CLASS`] bit: the byte may be in a domain.
const DOMAIN: u8 = 2;

/// What each byte may be part of, looked up once per byte: the scans around each `@`
/// asked [`LOCAL_PUNCTUATION`] byte by byte before, and finding addresses cost about
/// 540 instructions per `@` (callgrind, corpus `maildir/bsd`).
static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        if c.is_ascii_alphanumeric() || c >= 0x80 {
            t[b] = LOCAL | DOMAIN;
        }
        b += 1;
    }
    let mut i = 0;
    while i < LOCAL_PUNCTUATION.len() {
        t[LOCAL_PUNCTUATION[i] as usize] |= LOCAL;
        i += 1;
    }
    let mut i = 0;
    while i < DOMAIN_PUNCTUATION.len() {
        t[DOMAIN_PUNCTUATION[i] as usize] |= DOMAIN;
        i += 1;
    }
    t
};

fn is_local_char(b: u8) -> bool {
    CLASS[usize::from(b)] & LOCAL != 0
}

fn is_domain_char(b: u8) -> bool {
    CLASS[usize::from(b)] & DOMAIN != 0
}

/// Every address-looking token in `s`, in order.
pub fn find_all(s: &str) -> Vec<Found<'_>> {
    let mut out: Vec<Found<'_>> = Vec::new();
    let mut from = 0;
    while let Some((found, next)) = next_candidate(s, from) {
        from = next;
        // "user@host" inside a URL or a message-id ("<id@host>") is still returned; the
        // callers decide by position. Skip the obviously not-an-address: an IPv6 zone.
        if out.last().is_some_and(|prev| prev.end > found.start) {
            continue;
        }
        from = found.end.max(from);
        out.push(found);
    }
    out
}

/// The next address-looking token at or after `from` (each `@` tried in turn), and
/// where to look for the one after it (just past its `@`).
fn next_candidate(s: &str, mut from: usize) -> Option<(Found<'_>, usize)> {
    let b = s.as_bytes();
    while let Some(off) = memchr::memchr(b'@', &b[from..]) {
        let at = from + off;
        from = at + 1;
        let mut start = at;
        while start > 0 && is_local_char(b[start - 1]) {
            start -= 1;
        }
        // A local part does not start with a dot or a quote character.
        while start < at && matches!(b[start], b'.' | b'\'' | b'`') {
            start += 1;
        }
        let mut end = at + 1;
        while end < b.len() && is_domain_char(b[end]) {
            end += 1;
        }
        while end > at + 1 && matches!(b[end - 1], b'.' | b'-' | b'_') {
            end -= 1;
        }
        if start == at || end == at + 1 {
            continue;
        }
        // Keep to character boundaries (non-ASCII bytes are accepted above).
        while start < at && !s.is_char_boundary(start) {
            start += 1;
        }
        while end > at + 1 && !s.is_char_boundary(end) {
            end -= 1;
        }
        let domain = &b[at + 1..end];
        if memchr::memchr(b'.', domain).is_none()
            || domain.starts_with(b".")
            || domain.windows(2).any(|w| w == b"..")
        {
            continue;
        }
        let found = Found {
            start,
            end,
            addr: &s[start..end],
        };
        return Some((found, from));
    }
    None
}

/// The first address in `s` (the first of [`find_all`], found without the others).
pub fn first(s: &str) -> Option<&str> {
    next_candidate(s, 0).map(|(f, _)| f.addr)
}

/// Normalises an address for output: trimmed, without brackets or quotes around it,
/// `mailto:` removed, domain lower-cased (the local part is kept as written).
pub fn normalize(s: &str) -> Option<String> {
    let t = s.trim().trim_matches(|c: char| {
        c == '<' || c == '>' || c == '"' || c == '\'' || c == ':' || c == ';' || c == ','
    });
    let t = t
        .strip_prefix("mailto:")
        .or_else(|| t.strip_prefix("MAILTO:"))
        .unwrap_or(t);
    let found = first(t)?;
    // A found address holds one `@` (neither part may hold one): the first is the one.
    let at = memchr::memchr(b'@', found.as_bytes())?;
    let (local, domain) = (&found[..at], &found[at + 1..]);
    if local.is_empty() || domain.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(found.len());
    out.push_str(local);
    out.push('@');
    let at = out.len();
    out.push_str(domain);
    out[at..].make_ascii_lowercase();
    Some(out)
}

/// Whether two addresses are the same mailbox (case-insensitive).
pub fn same(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// Decodes the `xtext` encoding of RFC 3461 (`+2B` is `+`) and the `\x{HHHH}`
/// escapes of RFC 6533's `utf-8` address type.
pub fn decode_xtext(s: &str) -> std::borrow::Cow<'_, str> {
    if memchr::memchr2(b'+', b'\\', s.as_bytes()).is_none() {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(ch) = rest.chars().next() {
        if ch == '+'
            && rest.len() >= 3
            && rest.as_bytes()[1].is_ascii_hexdigit()
            && rest.as_bytes()[2].is_ascii_hexdigit()
            && let Ok(v) = u8::from_str_radix(&rest[1..3], 16)
            && v.is_ascii()
        {
            out.push(v as char);
            rest = &rest[3..];
            continue;
        }
        if let Some(tail) = rest.strip_prefix("\\x{")
            && let Some(close) = tail.find('}')
            && let Ok(v) = u32::from_str_radix(&tail[..close], 16)
            && let Some(c) = char::from_u32(v)
        {
            out.push(c);
            rest = &tail[close + 1..];
            continue;
        }
        out.push(ch);
        rest = &rest[ch.len_utf8()..];
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_addresses_in_prose() {
        let f = find_all("<kijitora@example.jp>: 550 user <neko@example.org>.");
        let v: Vec<_> = f.iter().map(|f| f.addr).collect();
        assert_eq!(v, ["kijitora@example.jp", "neko@example.org"]);
        assert!(find_all("MAILER-DAEMON@localhost is not one").is_empty());
    }

    #[test]
    fn the_class_table_is_the_character_sets() {
        for b in 0..=255u8 {
            let alnum = b.is_ascii_alphanumeric() || b >= 0x80;
            assert_eq!(
                is_local_char(b),
                alnum || b"!#$%&'*+/=?^_`{|}~.-".contains(&b),
                "{b:#x}"
            );
            assert_eq!(is_domain_char(b), alnum || b".-_".contains(&b), "{b:#x}");
        }
    }

    #[test]
    fn normalizes() {
        assert_eq!(
            normalize("<Neko@Example.JP>").as_deref(),
            Some("Neko@example.jp")
        );
        assert_eq!(normalize("nothing here"), None);
        assert_eq!(decode_xtext("a+2Bb@x.jp"), "a+b@x.jp");
        assert_eq!(decode_xtext("\\x{65E5}@x.jp"), "日@x.jp");
    }
}
