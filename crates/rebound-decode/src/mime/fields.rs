//! The few header fields the view reads, each parsed on its own by mail-parser's field
//! parser for it, in place of a parse of the whole header block.
//!
//! A block parse by mail-parser builds a `Message` (its parts, a header list grown a
//! field at a time, a header name looked up per field) and parses every field it is
//! told to, of which the view reads only the last of each name (mail-parser's accessors
//! read the last occurrence). Here [`head::read`] finds the fields and only those last
//! ones are handed to the same field parsers, which read a value the same way wherever
//! it sits: up to the line end that ends the field, looking one byte past it for a
//! folded line (the next field's name never starts with a space or a tab). A parser that
//! does not stop at the field's end gives `None`, and the caller parses the block as
//! before.

use crate::head;
use mail_parser::parsers::MessageStream;
use mail_parser::{Addr, Address, HeaderValue};
use std::borrow::Cow;

/// The value of field `f` of `block` as mail-parser's parsers meet it in a block: up to
/// and with its line end. A field that the input cuts off is given one (as when it is
/// copied into a block for mail-parser with a line end after it).
pub(super) fn value<'b>(block: &'b [u8], f: &head::Field) -> Cow<'b, [u8]> {
    let v = &block[f.value..f.end];
    if v.last() == Some(&b'\n') {
        Cow::Borrowed(v)
    } else {
        let mut owned = Vec::with_capacity(v.len() + 1);
        owned.extend_from_slice(v);
        owned.push(b'\n');
        Cow::Owned(owned)
    }
}

/// `value` ([`value`]) parsed by `parse`, one of mail-parser's field parsers; `None` if
/// the parser stops before the end of the value (in a block it would then read the rest
/// as more fields).
pub(super) fn parse<'x>(
    value: &'x [u8],
    parse: fn(&mut MessageStream<'x>) -> HeaderValue<'x>,
) -> Option<HeaderValue<'x>> {
    let mut s = MessageStream::new(value);
    let v = parse(&mut s);
    (s.offset() == value.len()).then_some(v)
}

/// `read` (one of the parsers here) of a value that may be absent: `Some(None)` if it
/// is, `None` if the parser stops short of its end.
pub(super) fn optional<'x>(
    value: Option<&'x [u8]>,
    read: impl FnOnce(&'x [u8]) -> Option<HeaderValue<'x>>,
) -> Option<Option<HeaderValue<'x>>> {
    match value {
        None => Some(None),
        Some(v) => read(v).map(Some),
    }
}

/// mail-parser's `parse_address` of `value` ([`parse`]), read here without it when the
/// value is a list of plain addresses ([`plain_addresses`]): the shape of nearly every
/// `From`, `To` and `Cc` of a report, which mail-parser's parser walks a byte at a time
/// through its state machine (some two thousand instructions a field).
pub(super) fn parse_address(value: &[u8]) -> Option<HeaderValue<'_>> {
    plain_addresses(value).or_else(|| parse(value, MessageStream::parse_address))
}

/// A value made only of plain addresses, as mail-parser reads it: `addr`, `<addr>` or
/// `Display Name <addr>`, separated by commas, with single spaces around; `addr` plain
/// characters with one `@` inside, a name plain words. Anything else (quotes, comments,
/// encoded words, groups, folded lines, runs of spaces ...) gives `None`, for
/// mail-parser's parser to read. A test holds this to mail-parser's parse.
fn plain_addresses(value: &[u8]) -> Option<HeaderValue<'_>> {
    let v = std::str::from_utf8(value).ok()?;
    let v = v.strip_suffix('\n')?;
    let v = v.strip_suffix('\r').unwrap_or(v);
    let v = v.strip_prefix(' ').unwrap_or(v);
    if v.is_empty() {
        return None;
    }
    let mut list = Vec::new();
    for item in v.split(',') {
        let item = item.strip_prefix(' ').unwrap_or(item);
        list.push(plain_addr(item)?);
    }
    Some(HeaderValue::Address(Address::List(list)))
}

/// One item of [`plain_addresses`]. Besides a bare name, the name may be quoted
/// (`"Mail Delivery System" <addr>`) or a comment after the address
/// (`addr (Mail Delivery System)`, which mail-parser takes as the name when there is
/// no other): the usual `From` of a bounce, which mail-parser's parser reads in a few
/// thousand instructions.
fn plain_addr(item: &str) -> Option<Addr<'_>> {
    let (item, comment) = match item.strip_suffix(')') {
        Some(rest) => {
            let (item, c) = rest.split_once(" (")?;
            (item, Some(plain_name(c)?))
        }
        None => (item, None),
    };
    let (name, addr) = match item.strip_suffix('>') {
        Some(rest) => {
            let (name, addr) = rest.split_once('<')?;
            let name = if name.is_empty() {
                comment
            } else {
                let name = name.strip_suffix(' ')?;
                let name = match name.strip_prefix('"') {
                    Some(q) => q.strip_suffix('"')?,
                    None => name,
                };
                if comment.is_some() {
                    return None;
                }
                Some(plain_name(name)?)
            };
            (name, addr)
        }
        None => (comment, item),
    };
    let at = addr.find('@')?;
    let plain = at > 0
        && at + 1 < addr.len()
        && addr.bytes().filter(|&b| b == b'@').count() == 1
        && addr.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'+' | b'=' | b'@')
        });
    plain.then(|| Addr {
        name: name.map(Cow::Borrowed),
        address: Some(Cow::Borrowed(addr)),
    })
}

/// `name` if it is plain words (letters, digits and `-`) with single spaces between.
fn plain_name(name: &str) -> Option<&str> {
    let plain = !name.is_empty()
        && name
            .split(' ')
            .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    plain.then_some(name)
}

/// mail-parser's `parse_id` of `value` ([`parse`]), read here without it when the value
/// is one plain `<id>` (white space around it, none in it).
pub(super) fn parse_id(value: &[u8]) -> Option<HeaderValue<'_>> {
    plain_id(value).or_else(|| parse(value, MessageStream::parse_id))
}

/// [`parse_id`]'s plain `<id>`.
fn plain_id(value: &[u8]) -> Option<HeaderValue<'_>> {
    // One field's value: a line end ends it, and only there is none folded.
    let folded = |i: usize| matches!(value.get(i + 1), Some(b' ' | b'\t'));
    if value.last() != Some(&b'\n')
        || memchr::memchr_iter(b'\n', &value[..value.len() - 1]).any(|i| !folded(i))
    {
        return None;
    }
    let blank = |b: &u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
    let start = value.iter().position(|b| !blank(b))?;
    let end = value.iter().rposition(|b| !blank(b))? + 1;
    let id = value[start..end].strip_prefix(b"<")?.strip_suffix(b">")?;
    if id.is_empty() || id.iter().any(|b| blank(b) || matches!(b, b'<' | b'>')) {
        return None;
    }
    Some(HeaderValue::Text(Cow::Borrowed(
        std::str::from_utf8(id).ok()?,
    )))
}

/// Every address of `a`, in mail-parser's order ([`Address::iter`], without its boxed
/// iterator).
pub(super) fn each_addr<'a, 'x>(a: &'a Address<'x>, mut f: impl FnMut(&'a Addr<'x>)) {
    match a {
        Address::List(list) => list.iter().for_each(f),
        Address::Group(groups) => {
            for g in groups {
                g.addresses.iter().for_each(&mut f);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{head, returned_of_block, returned_of_fields};
    use proptest::prelude::*;

    /// A returned message's header block: the fields read, repeated, folded, cut off,
    /// with encoded words, groups, comments and junk among them.
    fn block() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            Just("Message-ID: <a.1@example.org>\n"),
            Just("Message-Id:\n <b@c> <d@e>\n"),
            Just("MESSAGE-ID: junk\n"),
            Just("Subject: =?utf-8?q?caf=C3=A9?= plans\n"),
            Just("subject :  Hello\n\tworld  \n"),
            Just("Subject:\n"),
            Just("From: \"Sender, A\" <a@example.org>\n"),
            Just("From: a@example.org (comment)\n"),
            Just("From: =?iso-8859-1?q?J=F6rg?= <j@x.de>\n"),
            Just("To: b@example.net, \"C\" <c@example.net>\n"),
            Just("To: undisclosed-recipients:;\n"),
            Just("To: team: d@x.y, e@x.y;, f@x.y\n"),
            Just("Cc: <g@x.y>\n ,h@x.y\n"),
            Just("List-Id: A list <list.example.org>\n"),
            Just("List-ID:\n folded <l.x>\n"),
            Just("Received: from a by b; Mon, 1 Jan 2024\n\tvia c\n"),
            Just("X-Junk: \"unclosed <a@b\n"),
            Just("no colon here\n"),
            Just(" \n"),
            Just("\r\n"),
            Just("\"<>@,;:\\"),
            Just("=?utf-8?b?w6k=?="),
            Just("To: "),
            Just("From:"),
            Just("\n"),
            Just("\t"),
            Just(" "),
        ];
        proptest::collection::vec(piece, 0..12).prop_map(|p| p.concat())
    }

    /// An address field's value: plain shapes and the bytes that make them not plain.
    fn address_value() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            4 => Just("a@example.org"),
            2 => Just("MAILER-DAEMON@mx.example.net"),
            2 => Just("bounce+x=y@b.c"),
            1 => Just("a.b_c-d@e"),
            3 => Just("<"),
            3 => Just(">"),
            3 => Just(" "),
            2 => Just(","),
            2 => Just("Mail Delivery System"),
            1 => Just("Postmaster"),
            1 => Just("x-y"),
            1 => Just("@"),
            1 => Just("\"A, B\""),
            1 => Just("(comment)"),
            1 => Just("(Mail Delivery System)"),
            1 => Just("\"Postmaster\""),
            1 => Just("\""),
            1 => Just("("),
            1 => Just(")"),
            1 => Just("=?utf-8?q?J=C3=B6rg?="),
            1 => Just("team:"),
            1 => Just(";"),
            1 => Just("\t"),
            1 => Just("\r"),
            1 => Just("\n "),
            1 => Just("."),
            1 => Just("'"),
            1 => Just("[1.2.3.4]"),
            1 => Just("é"),
            1 => Just("\\"),
        ];
        proptest::collection::vec(piece, 0..10).prop_map(|p| format!("{}\n", p.concat()))
    }

    /// An address field's value of the plain shapes, now and then spoilt.
    fn plain_value() -> impl Strategy<Value = String> {
        let item = prop_oneof![
            Just("a@example.org".to_string()),
            Just("<a@example.org>".to_string()),
            Just("Mail Delivery System <MAILER-DAEMON@mx.example.net>".to_string()),
            Just("Postmaster <postmaster@x.y>".to_string()),
            Just("x-y <bounce+x=y@b.c>".to_string()),
            Just("\"Mail Delivery System\" <MAILER-DAEMON@mx.example.net>".to_string()),
            Just("\"Postmaster\" <postmaster@x.y>".to_string()),
            Just("MAILER-DAEMON@mx.example.net (Mail Delivery System)".to_string()),
            Just("<a@example.org> (Postmaster)".to_string()),
            Just("A <a@example.org> (B)".to_string()),
            Just("\"A\" <a@example.org> (B)".to_string()),
        ];
        (
            proptest::collection::vec(item, 1..4),
            prop_oneof![Just(", "), Just(","), Just(" , "), Just(",  ")],
            prop_oneof![Just(" "), Just(""), Just("  "), Just("\t")],
            prop_oneof![
                Just("\n"),
                Just("\r\n"),
                Just(" \n"),
                Just("\n\t"),
                Just("")
            ],
        )
            .prop_map(|(items, sep, lead, end)| format!("{lead}{}{end}", items.join(sep)))
    }

    /// Whether mail-parser's parse of an address value is the one made here.
    fn same_addresses(v: &str) -> Result<(), TestCaseError> {
        let b = v.as_bytes();
        prop_assert_eq!(
            super::parse_address(b),
            super::parse(b, mail_parser::parsers::MessageStream::parse_address),
            "{:?}",
            v
        );
        Ok(())
    }

    #[test]
    fn plain_shapes_are_read_here() {
        for v in [
            " a@example.org\n",
            " <a@example.org>\r\n",
            " Mail Delivery System <MAILER-DAEMON@mx.example.net>\n",
            " x-y <bounce+x=y@b.c>, <a@example.org>,c@d.e\n",
            " \"Mail Delivery System\" <MAILER-DAEMON@mx.example.net>\r\n",
            " MAILER-DAEMON@mx.example.net (Mail Delivery System)\n",
            " <a@b.c> (Postmaster), \"x-y\" <d@e.f>\n",
        ] {
            assert!(super::plain_addresses(v.as_bytes()).is_some(), "{v:?}");
            same_addresses(v).unwrap();
        }
        for v in [
            " \"A B.\" <a@b.c>\n",
            " A <a@b.c> (x)\n",
            " a@b.c (x.y)\n",
            " a@b.c",
            " a@b.c\n\t\n",
        ] {
            assert!(super::plain_addresses(v.as_bytes()).is_none(), "{v:?}");
        }
    }

    /// A `Message-ID` value: plain `<id>`s and the bytes that make one not plain.
    fn id_value() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            4 => Just("<a.1@example.org>"),
            2 => Just("<"),
            2 => Just(">"),
            2 => Just(" "),
            1 => Just("x@y"),
            1 => Just("\t"),
            1 => Just("\r"),
            1 => Just("\n "),
            1 => Just("\n"),
            1 => Just("é"),
            1 => Just("\u{b}"),
        ];
        (proptest::collection::vec(piece, 0..6), any::<bool>())
            .prop_map(|(p, end)| if end { p.concat() + "\n" } else { p.concat() })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 3000, .. ProptestConfig::default() })]

        #[test]
        fn plain_ids_are_mail_parsers(v in id_value()) {
            let b = v.as_bytes();
            prop_assert_eq!(
                super::parse_id(b),
                super::parse(b, mail_parser::parsers::MessageStream::parse_id),
                "{:?}",
                v
            );
        }

        #[test]
        fn plain_addresses_are_mail_parsers(v in address_value()) {
            same_addresses(&v)?;
        }

        #[test]
        fn plain_shaped_addresses_are_mail_parsers(v in plain_value()) {
            same_addresses(&v)?;
        }

        /// The fields parsed one at a time give what mail-parser's parse of the block's
        /// fields read gives.
        #[test]
        fn returned_fields_are_mail_parsers(s in block(), crlf in any::<bool>()) {
            let s = if crlf { s.replace('\n', "\r\n") } else { s };
            let b = s.as_bytes();
            prop_assert_eq!(returned_of_block(&s), returned_of_fields(b, &head::read(b)));
        }
    }
}
