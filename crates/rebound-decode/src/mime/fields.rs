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

/// [`parse`] of a value that may be absent: `Some(None)` if it is, `None` if the parser
/// stops short of its end.
pub(super) fn parse_some<'x>(
    value: Option<&'x [u8]>,
    p: fn(&mut MessageStream<'x>) -> HeaderValue<'x>,
) -> Option<Option<HeaderValue<'x>>> {
    match value {
        None => Some(None),
        Some(v) => parse(v, p).map(Some),
    }
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

    proptest! {
        #![proptest_config(ProptestConfig { cases: 3000, .. ProptestConfig::default() })]

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
