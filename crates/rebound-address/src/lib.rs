//! Normalising recipient addresses so that one person is one key.
//!
//! Email: trimmed, angle brackets removed, lower-cased (SPEC §3), the domain
//! IDNA-encoded (UTS #46, so `Jo@Bücher.Example` and `jo@xn--bcher-kva.example` are one
//! address), and the syntax checked (RFC 5321 §4.5.3.1 lengths, RFC 5322 dot-atom or
//! quoted local part, RFC 6531 UTF-8 local parts allowed). SMS: E.164 (`+` and up to 15
//! digits), with a tenant's default country for national numbers.
//!
//! Pure: no IO.

mod countries;

use std::fmt;

/// Why an address is not an address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invalid(pub String);

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Invalid {}

fn invalid<T>(why: impl Into<String>) -> Result<T, Invalid> {
    Err(Invalid(why.into()))
}

/// Normalises an email address, or says why it is not one.
pub fn normalize_email(input: &str) -> Result<String, Invalid> {
    let mut out = String::with_capacity(input.len());
    normalize_email_into(input, &mut out)?;
    Ok(out)
}

/// [`normalize_email`] into a caller's buffer (cleared first), so a loop over a
/// list allocates nothing per address. On error the buffer's content is unspecified.
pub fn normalize_email_into(input: &str, out: &mut String) -> Result<(), Invalid> {
    out.clear();
    if plain_email(input.as_bytes()) {
        out.push_str(input);
        out.make_ascii_lowercase();
        return Ok(());
    }
    full_email(input, out)
}

/// True when `s` is an address of the everyday shape, `local@label.label`, in
/// ASCII `atext` and host-name characters, which the full path below would accept
/// unchanged but for lower case.
///
/// Why: gating decides millions of recipients per list, nearly all of this shape,
/// and one pass over the bytes costs a fraction of the general path. It only ever
/// accepts: anything unusual (spaces, brackets, quotes, `xn--`, a trailing dot,
/// any length limit approached) goes the full way, so results and error messages
/// are the full path's; a property test holds the two equal.
fn plain_email(s: &[u8]) -> bool {
    if s.len() > 254 {
        return false;
    }
    // The local part, up to the first `@`: atext and single dots, not at an end.
    let mut i = 0;
    let mut prev = b'.';
    loop {
        let Some(&b) = s.get(i) else { return false };
        if b == b'@' {
            break;
        }
        if CLASS[b as usize] & LOCAL == 0 || (b == b'.' && prev == b'.') {
            return false;
        }
        prev = b;
        i += 1;
    }
    if i == 0 || i > 64 || prev == b'.' {
        return false;
    }
    // The domain: two or more host-name labels, the last not all digits.
    let domain = &s[i + 1..];
    if domain.len() > 253 {
        return false;
    }
    let (mut labels, mut start, mut digits) = (0, 0, true);
    for (j, &b) in domain.iter().enumerate() {
        let c = CLASS[b as usize];
        if b == b'.' {
            if !label_ok(&domain[start..j]) {
                return false;
            }
            labels += 1;
            start = j + 1;
            digits = true;
        } else if c & HOST == 0 {
            return false;
        } else {
            digits &= c & DIGIT != 0;
        }
    }
    label_ok(&domain[start..]) && labels >= 1 && !digits
}

/// A host-name label the plain path takes as it is: 1 to 63 bytes, no hyphen at
/// either end, not an IDNA `xn--` label (those go the full way to be checked).
fn label_ok(l: &[u8]) -> bool {
    !l.is_empty()
        && l.len() <= 63
        && l[0] != b'-'
        && l[l.len() - 1] != b'-'
        && !(l.len() >= 4 && l[..4].eq_ignore_ascii_case(b"xn--"))
}

/// Byte classes of the plain path, one table lookup per byte.
const LOCAL: u8 = 1;
const HOST: u8 = 2;
const DIGIT: u8 = 4;
const CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        if ATEXT[b] {
            t[b] |= LOCAL;
        }
        if c.is_ascii_alphanumeric() || c == b'-' {
            t[b] |= HOST;
        }
        if c.is_ascii_digit() {
            t[b] |= DIGIT;
        }
        b += 1;
    }
    t
};

/// The general path: brackets, `mailto:`, quoted and UTF-8 local parts, IDNA.
fn full_email(input: &str, out: &mut String) -> Result<(), Invalid> {
    let mut s = input.trim();
    if let Some(inner) = s.strip_prefix('<').and_then(|x| x.strip_suffix('>')) {
        s = inner.trim();
    }
    s = s.strip_prefix("mailto:").unwrap_or(s);
    if s.is_empty() {
        return invalid("empty address");
    }
    if s.len() > 320 {
        return invalid("address longer than 320 bytes");
    }
    let Some(at) = s.rfind('@') else {
        return invalid("no @ in address");
    };
    let (local, domain) = (&s[..at], &s[at + 1..]);
    check_local(local)?;
    if local.is_ascii() {
        out.push_str(local);
        out.make_ascii_lowercase();
    } else {
        out.push_str(&local.to_lowercase());
    }
    out.push('@');
    push_domain(domain, out)?;
    if out.len() > 254 {
        return invalid("address longer than 254 bytes");
    }
    Ok(())
}
/// RFC 5322 `atext` and the dot, by ASCII byte.
const ATEXT: [bool; 128] = {
    let mut t = [false; 128];
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric();
        b += 1;
    }
    let extra = b"!#$%&'*+-/=?^_`{|}~.";
    let mut i = 0;
    while i < extra.len() {
        t[extra[i] as usize] = true;
        i += 1;
    }
    t
};

fn check_local(local: &str) -> Result<(), Invalid> {
    if local.is_empty() {
        return invalid("empty local part");
    }
    if local.len() > 64 {
        return invalid("local part longer than 64 bytes");
    }
    if local.len() >= 2 && local.starts_with('"') && local.ends_with('"') {
        let inner = &local[1..local.len() - 1];
        if inner.chars().any(|c| c.is_control() || c == '\n') {
            return invalid("control character in quoted local part");
        }
        return Ok(());
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return invalid("misplaced dot in local part");
    }
    for c in local.chars() {
        let ok = if c.is_ascii() {
            ATEXT[c as usize]
        } else {
            !c.is_control() && !c.is_whitespace()
        };
        if !ok {
            return invalid(format!("character {c:?} not allowed in local part"));
        }
    }
    Ok(())
}

/// Normalises a domain: IDNA (UTS #46) to ASCII, lower case, and a host-name check.
pub fn normalize_domain(domain: &str) -> Result<String, Invalid> {
    let mut out = String::with_capacity(domain.len());
    push_domain(domain, &mut out)?;
    Ok(out)
}

/// Appends the normalised `domain` to `out`.
///
/// Why a fast path: nearly every domain on a mailing list is plain ASCII with no
/// `xn--` label, and for those UTS #46 mapping is exactly ASCII lower-casing (the
/// host-name check below rejects everything else it would treat specially). Only the
/// rest go through `idna`, which allocates; a property test holds the two paths equal.
fn push_domain(domain: &str, out: &mut String) -> Result<(), Invalid> {
    let d = domain.trim().trim_end_matches('.');
    if d.is_empty() {
        return invalid("empty domain");
    }
    if d.starts_with('[') {
        return invalid("address literals are not accepted as recipients");
    }
    let start = out.len();
    if is_plain_ascii(d) {
        out.push_str(d);
        out[start..].make_ascii_lowercase();
    } else {
        push_idna(d, out)?;
    }
    check_host_name(&out[start..])
}

fn push_idna(d: &str, out: &mut String) -> Result<(), Invalid> {
    match idna::domain_to_ascii(d) {
        Ok(a) => {
            out.push_str(&a);
            Ok(())
        }
        Err(_) => invalid(format!(
            "domain {d:?} is not a valid internationalised domain name"
        )),
    }
}

/// ASCII letters, digits, hyphens and dots, with no label starting `xn--` (those
/// are Punycode that IDNA must validate).
fn is_plain_ascii(d: &str) -> bool {
    d.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        && !d
            .split('.')
            .any(|l| l.len() >= 4 && l.as_bytes()[..4].eq_ignore_ascii_case(b"xn--"))
}

fn check_host_name(ascii: &str) -> Result<(), Invalid> {
    if ascii.len() > 253 {
        return invalid("domain longer than 253 bytes");
    }
    let mut labels = 0;
    let mut last = "";
    for l in ascii.split('.') {
        labels += 1;
        if l.is_empty() || l.len() > 63 {
            return invalid(format!("domain {ascii:?} has an empty or over-long label"));
        }
        if l.starts_with('-')
            || l.ends_with('-')
            || !l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return invalid(format!(
                "domain {ascii:?} has a label that is not a host name"
            ));
        }
        last = l;
    }
    if labels < 2 {
        return invalid(format!("domain {ascii:?} has no dot"));
    }
    if last.bytes().all(|b| b.is_ascii_digit()) {
        return invalid(format!("domain {ascii:?} ends in a numeric label"));
    }
    Ok(())
}

/// The domain part of a normalised email address.
pub fn email_domain(normalized: &str) -> &str {
    normalized.rsplit_once('@').map(|(_, d)| d).unwrap_or("")
}

/// Normalises a phone number to E.164 (`+` then 8 to 15 digits). A national number
/// (no `+` or `00`) needs `default_country`, an ISO 3166 alpha-2 code, whose calling
/// code is prefixed after its trunk prefix is dropped.
pub fn normalize_phone(input: &str, default_country: Option<&str>) -> Result<String, Invalid> {
    let s = input.trim();
    if s.is_empty() {
        return invalid("empty phone number");
    }
    if s.len() > 64 {
        return invalid("phone number longer than 64 characters");
    }
    let mut digits = String::new();
    let mut plus = false;
    for (i, c) in s.chars().enumerate() {
        match c {
            '0'..='9' => digits.push(c),
            '+' if i == 0 => plus = true,
            ' ' | '-' | '.' | '(' | ')' | '/' => {}
            _ => return invalid(format!("character {c:?} not allowed in a phone number")),
        }
    }
    let international = if plus {
        digits
    } else if let Some(rest) = digits.strip_prefix("00") {
        rest.to_string()
    } else {
        let Some(cc) = default_country else {
            return invalid("national phone number without a default country for the tenant");
        };
        let Some(country) = countries::lookup(cc) else {
            return invalid(format!("unknown country {cc:?}"));
        };
        let national = digits
            .strip_prefix(country.trunk)
            .filter(|_| !country.trunk.is_empty())
            .unwrap_or(&digits);
        format!("{}{national}", country.calling_code)
    };
    if international.starts_with('0') {
        return invalid("country code cannot start with 0");
    }
    if !(8..=15).contains(&international.len()) {
        return invalid(format!(
            "E.164 numbers have 8 to 15 digits, this has {}",
            international.len()
        ));
    }
    Ok(format!("+{international}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The ASCII fast path and IDNA agree on every domain it takes.
        #[test]
        fn fast_domain_path_agrees_with_idna(d in "[A-Za-z0-9.-]{1,30}|([a-zA-Z0-9-]{1,8}\\.){1,4}[a-zA-Z]{2,6}") {
            prop_assume!(is_plain_ascii(&d));
            let mut fast = String::new();
            fast.push_str(&d);
            fast.make_ascii_lowercase();
            let fast = check_host_name(&fast).map(|()| fast);
            let mut slow = String::new();
            let slow = push_idna(&d, &mut slow).and_then(|()| check_host_name(&slow).map(|()| slow));
            prop_assert_eq!(fast.ok(), slow.ok());
        }

        /// The one-pass path accepts only what the full path accepts, as the full
        /// path normalises it.
        #[test]
        fn plain_path_agrees_with_the_full_path(a in "[a-zA-Z0-9._+@-]{0,20}|[a-zA-Z0-9.+-]{1,10}@([a-zA-Z0-9-]{0,8}\\.){0,4}[a-zA-Z0-9-]{0,6}|[a-z]{1,5}@xn--[a-z0-9]{1,6}\\.[a-z]{2,3}|[a-z]{1,5}@[a-z]{1,3}\\.[0-9]{1,3}") {
            if plain_email(a.as_bytes()) {
                let mut full = String::new();
                prop_assert!(full_email(&a, &mut full).is_ok(), "full path refuses {:?}", a);
                prop_assert_eq!(full, a.to_ascii_lowercase());
            }
        }

        /// Normalising twice changes nothing, and the buffer form equals the owned one.
        #[test]
        fn normalising_is_idempotent(a in "[A-Za-z0-9._+-]{1,12}@([a-zA-Z0-9-]{1,8}\\.){1,3}[a-zA-Z]{2,6}") {
            if let Ok(n) = normalize_email(&a) {
                prop_assert_eq!(normalize_email(&n), Ok(n.clone()));
                let mut buf = String::from("leftover");
                normalize_email_into(&a, &mut buf).unwrap();
                prop_assert_eq!(buf, n);
            }
        }
    }

    #[test]
    fn the_everyday_shape_takes_the_one_pass_path() {
        assert!(plain_email(b"Jo.Smith+news@Mail.Example.com"));
        for odd in [
            &b" jo@example.com"[..],
            b"<jo@example.com>",
            b"jo@example.com.",
            b"jo..x@example.com",
            b"jo@xn--bcher-kva.example",
            b"jo@localhost",
            b"jo@1.2.3.4",
            b"\"jo\"@example.com",
        ] {
            assert!(!plain_email(odd), "{:?}", String::from_utf8_lossy(odd));
        }
    }

    #[test]
    fn emails_normalise_to_one_key() {
        assert_eq!(
            normalize_email("  <Jo.Smith@Example.COM> ").unwrap(),
            "jo.smith@example.com"
        );
        assert_eq!(
            normalize_email("jo@Bücher.example").unwrap(),
            "jo@xn--bcher-kva.example"
        );
        assert_eq!(
            normalize_email("jo@xn--bcher-kva.example.").unwrap(),
            "jo@xn--bcher-kva.example"
        );
        assert_eq!(
            normalize_email("\"odd one\"@example.org").unwrap(),
            "\"odd one\"@example.org"
        );
        assert_eq!(
            normalize_email("δοκιμή@example.gr").unwrap(),
            "δοκιμή@example.gr"
        );
    }

    #[test]
    fn non_addresses_say_why() {
        for bad in [
            "",
            "jo",
            "@example.com",
            "jo@",
            "jo@localhost",
            "jo..x@example.com",
            "jo x@example.com",
            "jo@exa mple.com",
            "jo@-x.com",
            "jo@[1.2.3.4]",
            "jo@example.123",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad:?} accepted");
        }
        assert!(normalize_email(&format!("{}@example.com", "a".repeat(65))).is_err());
    }

    #[test]
    fn phones_normalise_to_e164() {
        assert_eq!(
            normalize_phone("+1 (415) 555-0100", None).unwrap(),
            "+14155550100"
        );
        assert_eq!(
            normalize_phone("0044 20 7946 0958", None).unwrap(),
            "+442079460958"
        );
        assert_eq!(
            normalize_phone("07700 900123", Some("GB")).unwrap(),
            "+447700900123"
        );
        assert_eq!(
            normalize_phone("030 1234567", Some("de")).unwrap(),
            "+49301234567"
        );
        assert_eq!(
            normalize_phone("(415) 555-0100", Some("US")).unwrap(),
            "+14155550100"
        );
        assert!(normalize_phone("07700 900123", None).is_err());
        assert!(normalize_phone("+1 415 CALL-NOW", None).is_err());
        assert!(normalize_phone("+123", None).is_err());
    }
}
