//! Quoted-printable decoding of a MIME part, as mail-parser reads it, a run at a time.
//!
//! mail-parser's decoder takes every byte through a state machine and a `Vec::push`;
//! here the plain runs between the bytes that matter (`=`, line ends) are found with
//! `memchr` and copied whole, and only those bytes and the one or two after an `=` go
//! through the state machine. The result is mail-parser's (the tests in
//! [`fast`](super::fast) hold the two equal on the corpus and on generated messages),
//! with one difference: a soft line break just before the delimiter (`...=\n--b`)
//! ends the content. mail-parser takes the line end before the delimiter off as if a
//! hard line end had been written, and so drops the last character of the text (in
//! builds with overflow checks, a text shorter than that panics instead); here nothing
//! but the delimiter's own dash is taken off.
//!
//! mail-parser's reading, kept here as it is: trailing white space on a line is dropped;
//! white space after `=` is stepped over; `=` with a character that is not a hex digit
//! is kept as written; a second `=` while one is pending fails the part; once a
//! carriage return has been seen, line ends are written `\r\n`; carriage returns
//! themselves are dropped.

use memchr::memmem;

/// What the decoder waits for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    /// Plain text.
    Plain,
    /// An `=` was read.
    Eq,
    /// `=` and one hex digit (its value) were read.
    Hex1(u8),
}

/// The decoded content of the part at `start`, up to the delimiter `delim` (none: to
/// the end), and where the delimiter ends (or the end). `None` where mail-parser's
/// decoder fails: the delimiter is missing, or `==` appears (the caller then takes the
/// part raw, as mail-parser does).
pub(super) fn decode_part(
    b: &[u8],
    start: usize,
    delim: Option<&memmem::Finder<'_>>,
) -> Option<(Vec<u8>, usize)> {
    let Some(delim) = delim else {
        let (out, _) = decode(&b[start..])?;
        return Some((out, b.len()));
    };
    // The first `--boundary` anywhere ends the part: mail-parser tests for it at each
    // second dash, after decoding the first one as text.
    let at = delim.find(&b[start..])? + start;
    let (mut out, d) = decode(&b[start..=at])?;
    let before = if at > start { b[at - 1] } else { 0 };
    // The dash is taken off, and with it the line end that precedes the delimiter if one
    // was written.
    let cut = if before == b'\n' && d.newline_written {
        d.line_end.len() + 1
    } else {
        1
    };
    out.truncate(out.len().saturating_sub(cut));
    Some((out, at + delim.needle().len()))
}

/// What the end of a decoded run says about how it ended.
struct Decoded {
    /// How line ends are written (`\r\n` once a carriage return was seen).
    line_end: &'static [u8],
    /// Whether the last line end read was written (a hard line end) rather than a soft
    /// break (`=` before it).
    newline_written: bool,
}

/// `enc` decoded; `None` if a second `=` follows a pending one.
fn decode(enc: &[u8]) -> Option<(Vec<u8>, Decoded)> {
    let mut out = Vec::with_capacity(enc.len());
    let mut state = State::Plain;
    // Trailing white space written on the current line (dropped at a hard line end).
    let mut trailing = 0;
    let mut line_end: &'static [u8] = b"\n";
    let mut newline_written = false;
    let mut i = 0;
    while i < enc.len() {
        if state == State::Plain {
            let end = memchr::memchr3(b'=', b'\n', b'\r', &enc[i..]).map_or(enc.len(), |n| i + n);
            let run = &enc[i..end];
            if !run.is_empty() {
                let ws = run
                    .iter()
                    .rev()
                    .take_while(|c| c.is_ascii_whitespace())
                    .count();
                trailing = if ws == run.len() { trailing + ws } else { ws };
                out.extend_from_slice(run);
            }
            i = end;
            if i == enc.len() {
                break;
            }
        }
        let c = enc[i];
        i += 1;
        match (c, state) {
            (b'=', State::Plain) => state = State::Eq,
            (b'=', _) => return None,
            (b'\n', State::Eq) => {
                state = State::Plain;
                trailing = 0;
                newline_written = false;
            }
            (b'\n', _) => {
                // A hard line end (also while a hex pair is half read: mail-parser
                // keeps waiting for its second digit on the next line).
                out.truncate(out.len() - trailing);
                out.extend_from_slice(line_end);
                trailing = 0;
                newline_written = true;
            }
            (b'\r', _) => line_end = b"\r\n",
            (_, State::Eq) => match hex(c) {
                Some(h) => state = State::Hex1(h),
                None if c.is_ascii_whitespace() => {}
                None => {
                    out.extend_from_slice(&[b'=', c]);
                    trailing = 0;
                    state = State::Plain;
                }
            },
            (_, State::Hex1(h)) => {
                match hex(c) {
                    Some(l) => out.push(h << 4 | l),
                    // Kept as written, with the byte read before this one (which, after a
                    // line end, is that line end).
                    None => out.extend_from_slice(&[b'=', enc[i - 2], c]),
                }
                trailing = 0;
                state = State::Plain;
            }
            (_, State::Plain) => unreachable!("plain runs stop only at '=' and line ends"),
        }
    }
    Some((
        out,
        Decoded {
            line_end,
            newline_written,
        },
    ))
}

/// The value of hex digit `c`, either case.
fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'A'..=b'F' => Some(c - b'A' + 10),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mail_parser::parsers::MessageStream;
    use proptest::prelude::*;

    /// mail-parser's decoding of `b` up to the delimiter `--b` (or to the end): the
    /// content and where the delimiter ends; `None` if it fails; `Err` if it panics
    /// (the soft-break case, in builds with overflow checks).
    fn theirs(b: &[u8], boundary: &[u8]) -> Result<Option<(Vec<u8>, usize)>, ()> {
        std::panic::catch_unwind(|| {
            let mut s = MessageStream::new(b);
            let (end, out) = s.decode_quoted_printable_mime(boundary);
            (end != usize::MAX).then(|| (out.into_owned(), s.offset()))
        })
        .map_err(|_| ())
    }

    fn ours(b: &[u8], boundary: Option<&[u8]>) -> Option<(Vec<u8>, usize)> {
        let needle = boundary.map(|x| [&b"--"[..], x].concat());
        let finder = needle.as_deref().map(memmem::Finder::new);
        decode_part(b, 0, finder.as_ref())
    }

    /// Whether the delimiter in `b` follows a soft line break (where the two differ).
    fn soft_break_before_delimiter(b: &[u8]) -> Option<bool> {
        let at = memmem::find(b, b"--b")?;
        let (_, d) = decode(&b[..=at])?;
        Some(at > 0 && b[at - 1] == b'\n' && !d.newline_written)
    }

    #[test]
    fn decodes_examples() {
        let cases: &[(&[u8], &[u8])] = &[
            (b"caf=C3=A9 ok\n--b", "café ok".as_bytes()),
            (b"soft=\nbreak\n--b", b"softbreak"),
            (b"trailing   \nspace\n--b", b"trailing\nspace"),
            (b"keeps =ZZ and =\tx\n--b", b"keeps =ZZ and =x"),
            (b"crlf\r\nline\r\n--b", b"crlf\r\nline"),
            (b"lower =c3=a9\n--b", "lower é".as_bytes()),
        ];
        for (enc, want) in cases {
            let (got, next) = ours(enc, Some(b"b")).unwrap();
            assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(want));
            assert_eq!(next, enc.len());
        }
    }

    #[test]
    fn soft_break_before_the_delimiter_keeps_the_text() {
        // mail-parser gives "no such use" here (and panics on "x=\n--b" where overflow
        // is checked).
        let (got, _) = ours(b"no such user=\n--b", Some(b"b")).unwrap();
        assert_eq!(got, b"no such user");
        let (got, _) = ours(b"x=\n--b", Some(b"b")).unwrap();
        assert_eq!(got, b"x");
        let (got, _) = ours(b"=\n--b", Some(b"b")).unwrap();
        assert_eq!(got, b"");
    }

    #[test]
    fn fails_where_mail_parser_fails() {
        assert_eq!(ours(b"a==41\n--b", Some(b"b")), None);
        assert_eq!(ours(b"no delimiter\n", Some(b"b")), None);
        assert_eq!(ours(b"a==41", None), None);
    }

    fn qp_like() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop_oneof![
            Just(&b"="[..]),
            Just(&b"=\n"[..]),
            Just(&b"=\r\n"[..]),
            Just(&b"=4"[..]),
            Just(&b"=a"[..]),
            Just(&b"=C3=A9"[..]),
            Just(&b"\n"[..]),
            Just(&b"\r"[..]),
            Just(&b"\r\n"[..]),
            Just(&b" "[..]),
            Just(&b"\t"[..]),
            Just(&b"\x0c"[..]),
            Just(&b"-"[..]),
            Just(&b"--"[..]),
            Just(&b"--b"[..]),
            Just(&b"\n--b"[..]),
            Just(&b"x"[..]),
            Just(&b"F"[..]),
            Just(&b"9"[..]),
            Just(&b"g"[..]),
            Just("é".as_bytes()),
            Just(&b"no such user"[..]),
        ];
        prop::collection::vec(piece, 0..40).prop_map(|v| v.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// To a delimiter: mail-parser's result, but where a soft line break comes just
        /// before the delimiter (there mail-parser drops the line end it never wrote:
        /// its text is ours less that many more bytes, or it panicked).
        #[test]
        fn to_a_delimiter_reads_as_mail_parser(b in qp_like()) {
            let ours = ours(&b, Some(b"b"));
            let theirs = theirs(&b, b"b");
            if soft_break_before_delimiter(&b) == Some(true) {
                let (o, on) = ours.clone().unwrap();
                if let Ok(Some((t, tn))) = theirs {
                    let crlf = 1 + usize::from(memchr::memchr(b'\r', &b[..on]).is_some());
                    prop_assert_eq!(tn, on);
                    if o.len() >= crlf {
                        prop_assert_eq!(&t[..], &o[..o.len() - crlf]);
                    }
                }
            } else {
                prop_assert_eq!(Ok(ours), theirs);
            }
        }

        /// Without a delimiter (a message that is one part): mail-parser's result.
        #[test]
        fn to_the_end_reads_as_mail_parser(b in qp_like()) {
            prop_assert_eq!(Ok(ours(&b, None)), theirs(&b, b""));
        }

        /// Any bytes at all, to the end: mail-parser's result (and no panic).
        #[test]
        fn any_bytes_read_as_mail_parser(b in prop::collection::vec(any::<u8>(), 0..300)) {
            prop_assert_eq!(Ok(ours(&b, None)), theirs(&b, b""));
        }
    }
}
