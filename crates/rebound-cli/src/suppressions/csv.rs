//! CSV records (RFC 4180) read from untrusted input with bounded memory: quoted
//! fields may hold commas, doubled quotes and line breaks (providers' bounce texts
//! do), each record knows the line it started on, and a UTF-8 byte order mark at the
//! start (spreadsheet exports) is dropped.

use crate::lines::next_line;
use std::io::{self, BufReader, Read};

/// The most bytes one record may span; past that a quote was never closed.
pub const MAX_RECORD: usize = 1 << 20;

/// One record: the line it starts on, and its fields.
#[derive(Debug, PartialEq, Eq)]
pub struct CsvRecord {
    pub line: u64,
    pub fields: Vec<String>,
}

pub struct CsvReader<R> {
    reader: BufReader<R>,
    buf: Vec<u8>,
    line: u64,
}

impl<R: Read> CsvReader<R> {
    pub fn new(reader: BufReader<R>) -> CsvReader<R> {
        CsvReader {
            reader,
            buf: Vec::new(),
            line: 0,
        }
    }

    /// The next record; `Err((line, why))` for one that cannot be read (reading goes
    /// on after it), `None` at the end.
    #[allow(clippy::type_complexity)]
    pub fn next_record(&mut self) -> io::Result<Option<Result<CsvRecord, (u64, String)>>> {
        let mut text = String::new();
        let mut start = 0;
        loop {
            if !next_line(&mut self.reader, &mut self.buf, || {})? {
                if text.is_empty() {
                    return Ok(None);
                }
                return Ok(Some(Err((start, "a quoted field is never closed".into()))));
            }
            self.line += 1;
            let mut piece = String::from_utf8_lossy(&self.buf);
            if self.line == 1
                && let Some(rest) = piece.strip_prefix('\u{feff}')
            {
                piece = rest.to_string().into();
            }
            if text.is_empty() {
                start = self.line;
            } else {
                text.push('\n');
            }
            text.push_str(&piece);
            match split(&text) {
                Some(fields) => {
                    return Ok(Some(Ok(CsvRecord {
                        line: start,
                        fields,
                    })));
                }
                None if text.len() > MAX_RECORD => {
                    return Ok(Some(Err((start, "a quoted field is never closed".into()))));
                }
                None => {}
            }
        }
    }
}

/// Splits a record's text into fields; None while a quoted field is still open.
pub fn split(text: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', true) => quoted = false,
            ('"', false) if field.trim().is_empty() => {
                field.clear();
                quoted = true;
            }
            (',', false) => out.push(std::mem::take(&mut field)),
            _ => field.push(c),
        }
    }
    if quoted {
        return None;
    }
    out.push(field);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(input: &str) -> Vec<Result<CsvRecord, (u64, String)>> {
        let mut r = CsvReader::new(BufReader::new(io::Cursor::new(input.as_bytes().to_vec())));
        let mut out = Vec::new();
        while let Some(rec) = r.next_record().unwrap() {
            out.push(rec);
        }
        out
    }

    #[test]
    fn quoted_fields_keep_commas_quotes_and_line_breaks() {
        let got = all(
            "\u{feff}address,error\r\na@x.com,\"550 5.1.1 \"\"no\"\", really\nsecond line\"\nb@x.com,plain\n",
        );
        assert_eq!(
            got,
            [
                Ok(CsvRecord {
                    line: 1,
                    fields: vec!["address".into(), "error".into()]
                }),
                Ok(CsvRecord {
                    line: 2,
                    fields: vec![
                        "a@x.com".into(),
                        "550 5.1.1 \"no\", really\nsecond line".into()
                    ]
                }),
                Ok(CsvRecord {
                    line: 4,
                    fields: vec!["b@x.com".into(), "plain".into()]
                }),
            ]
        );
    }

    #[test]
    fn an_unclosed_quote_is_reported_at_its_line() {
        let got = all("a@x.com,ok\nb@x.com,\"open\nmore\n");
        assert_eq!(got.len(), 2);
        assert_eq!(got[1], Err((2, "a quoted field is never closed".into())));
    }

    #[test]
    fn split_round_trips_export_quoting() {
        let odd = "\"odd, one\"@example.org";
        let quoted = rebound_pipeline::summary::csv_field(odd);
        assert_eq!(split(&format!("{quoted},x")).unwrap(), [odd, "x"]);
        assert_eq!(split("solo@x.com").unwrap(), ["solo@x.com"]);
    }
}
