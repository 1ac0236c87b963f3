//! A small reader of header blocks: where each field of a block starts and ends, its
//! name, where its value starts, and where the body starts. Nothing is decoded or
//! copied. It follows mail-parser's reading of a header block (the same field extents
//! and the same end of the block), so that a block can be cut down to the fields that
//! matter before mail-parser parses it, and the other fields read here, raw.
//!
//! mail-parser's reading, which this follows: at the start of a field, white space other
//! than a line end is skipped, and a line end there ends the block; the name runs up to
//! the first colon after a character that is not white space (a line without one is
//! skipped); the value runs to a line end that is not followed by a space or a tab.

/// One field of a header block, as byte offsets into the block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field {
    /// Where the field starts (its name's first character).
    pub start: usize,
    /// The name, without white space around it.
    pub name: (usize, usize),
    /// Where the value starts (just after the colon).
    pub value: usize,
    /// Where the field ends: after the line end that ends it, or the end of the input.
    pub end: usize,
}

impl Field {
    /// The field's name.
    pub fn name<'a>(&self, block: &'a [u8]) -> &'a [u8] {
        &block[self.name.0..self.name.1]
    }

    /// Whether the field's name is `name`, ignoring ASCII case.
    pub fn is(&self, block: &[u8], name: &str) -> bool {
        self.name(block).eq_ignore_ascii_case(name.as_bytes())
    }

    /// The raw value (folded lines and the final line end included), if it is UTF-8.
    pub fn value<'a>(&self, block: &'a [u8]) -> Option<&'a str> {
        std::str::from_utf8(&block[self.value..self.end]).ok()
    }
}

/// A header block read by [`read`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Block {
    pub fields: Vec<Field>,
    /// Where the line that ends the block starts, if a line ends it (else the end of
    /// the input).
    pub end: usize,
    /// Where the body starts: after the line that ends the block (the end of the input
    /// if none does).
    pub body: usize,
}

/// Reads the header block at the start of `b`.
pub fn read(b: &[u8]) -> Block {
    // Room for a typical block at once (growing one field at a time was a tenth of the
    // cost of reading a block).
    let mut fields = Vec::with_capacity(64);
    let mut pos = 0;
    'fields: loop {
        let line = pos;
        while pos < b.len() && b[pos] != b'\n' && b[pos].is_ascii_whitespace() {
            pos += 1;
        }
        if pos >= b.len() {
            return Block {
                fields,
                end: b.len(),
                body: b.len(),
            };
        }
        if b[pos] == b'\n' {
            return Block {
                fields,
                end: line,
                body: pos + 1,
            };
        }
        let start = pos;
        // The name: non-blank characters up to a colon. Usually (the line does not start
        // with a colon) it is what comes before the line's first colon.
        let mut name: Option<(usize, usize)> = None;
        let mut read = false;
        if b[pos] != b':'
            && let Some(i) = memchr::memchr2(b':', b'\n', &b[pos..])
        {
            if b[pos + i] == b'\n' {
                pos += i + 1;
                continue 'fields;
            }
            let mut end = pos + i;
            while b[end - 1].is_ascii_whitespace() {
                end -= 1;
            }
            name = Some((pos, end));
            pos += i;
            read = true;
        }
        while !read && pos < b.len() {
            match b[pos] {
                // A colon before the name is skipped.
                b':' if name.is_some() => break,
                b':' => {}
                b'\n' => {
                    // Not a field: the line is skipped.
                    pos += 1;
                    continue 'fields;
                }
                c if !c.is_ascii_whitespace() => {
                    let n = name.get_or_insert((pos, pos));
                    n.1 = pos + 1;
                }
                _ => {}
            }
            pos += 1;
        }
        let Some(name) = name else {
            // Only white space and colons up to the end of the input.
            return Block {
                fields,
                end: b.len(),
                body: b.len(),
            };
        };
        let value = (pos + 1).min(b.len());
        let mut at = value;
        let end = loop {
            match memchr::memchr(b'\n', &b[at..]) {
                None => break b.len(),
                Some(i) => {
                    let nl = at + i;
                    if matches!(b.get(nl + 1), Some(b' ' | b'\t')) {
                        at = nl + 2;
                    } else {
                        break nl + 1;
                    }
                }
            }
        };
        fields.push(Field {
            start,
            name,
            value,
            end,
        });
        pos = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mail_parser::MessageParser;

    /// The fields and body found here are mail-parser's.
    fn check(c: &str) {
        let block = read(c.as_bytes());
        let Some(m) = MessageParser::new().parse(c.as_bytes()) else {
            assert!(block.fields.is_empty(), "{c:?}");
            return;
        };
        let theirs: Vec<(usize, usize)> = m.parts[0]
            .headers
            .iter()
            .map(|h| (h.offset_start as usize, h.offset_end as usize))
            .collect();
        let ours: Vec<(usize, usize)> = block.fields.iter().map(|f| (f.value, f.end)).collect();
        assert_eq!(ours, theirs, "{c:?}");
        assert_eq!(block.body, m.parts[0].offset_body as usize, "{c:?}");
    }

    proptest::proptest! {
        #[test]
        fn agrees_with_mail_parser_on_random_blocks(
            c in "((Subject|From|To|X-A|Received| |\t|:|a|<b@c.d>|\r|\n|\\\"|=\\?utf-8\\?q\\?x\\?=){0,40})"
        ) {
            check(&c);
        }
    }

    #[test]
    fn agrees_with_mail_parser() {
        let cases: &[&str] = &[
            "Subject: a\nFrom: b@c.d\n\nbody\n",
            "Subject: a\r\n folded\r\nTo: x@y.z\r\n\r\nbody",
            "Received: from a\n\tby b\nNot a field\n  X-Odd : value\n\nbody",
            " \t\nbody",
            "A: 1\n \n\nB: 2\n\nbody",
            "A: 1\nB: 2",
            "A: 1\nno colon at the end",
            ": x: y\n\n",
            "A:\n\n",
            "Content-Type: text/plain\n   \nbody\n",
        ];
        for c in cases {
            check(c);
        }
    }

    #[test]
    fn names_and_values() {
        let b = b"Subject : Hello\n world\nX-Failed-Recipients: a@b.c\n\nbody";
        let block = read(b);
        assert_eq!(block.fields.len(), 2);
        assert!(block.fields[0].is(b, "subject"));
        assert_eq!(block.fields[0].value(b), Some(" Hello\n world\n"));
        assert!(block.fields[1].is(b, "X-FAILED-RECIPIENTS"));
        assert_eq!(&b[block.body..], b"body");
        assert_eq!(block.end, block.body - 1);
    }
}
