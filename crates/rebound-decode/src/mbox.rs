//! mbox files (the `From ` separated format, mboxrd and mboxo quoting): splitting a
//! mailbox into its messages, undoing `>From ` quoting. Pure: the caller reads the file.

/// Whether a line is an mbox separator (`From sender date`).
fn is_separator(line: &[u8]) -> bool {
    line.starts_with(b"From ") && line.len() > 5 && line[5] != b' ' || line == b"From "
}

/// Whether a `From ` line ends in the date an MDA writes (`Thu Jul  2 12:05:05 2020`):
/// such a line separates messages even where no blank line precedes it (some tools
/// append messages without one); a body line that merely starts with "From " does not.
fn has_mbox_date(line: &[u8]) -> bool {
    let Ok(l) = std::str::from_utf8(line) else {
        return false;
    };
    let words: Vec<&str> = l.split_whitespace().collect();
    if words.len() < 7 {
        return false;
    }
    let n = words.len();
    let year = words[n - 1];
    let time = words[n - 2];
    let month = words[n - 4];
    year.len() == 4
        && year.bytes().all(|b| b.is_ascii_digit())
        && time.len() >= 5
        && time.bytes().all(|b| b.is_ascii_digit() || b == b':')
        && time.contains(':')
        && [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ]
        .contains(&month)
}

/// Whether `input` looks like an mbox file (starts with a `From ` line).
pub fn is_mbox(input: &[u8]) -> bool {
    let end = memchr::memchr(b'\n', input).unwrap_or(input.len());
    is_separator(input[..end].strip_suffix(b"\r").unwrap_or(&input[..end]))
}

/// Drops a leading `From ` separator line, as found on single messages saved from a
/// mailbox.
pub fn strip_from_line(input: &[u8]) -> &[u8] {
    if is_mbox(input) {
        let end = memchr::memchr(b'\n', input).map_or(input.len(), |e| e + 1);
        &input[end..]
    } else {
        input
    }
}

/// Splits an mbox file into messages (without their separator lines), with `>From `
/// quoting undone (mboxrd: one `>` removed from `>+From ` lines).
pub fn split(input: &[u8]) -> Vec<Vec<u8>> {
    if memchr::memchr(b'\n', input).is_none() && memchr::memchr(b'\r', input).is_some() {
        // Old Mac line ends (`\r` alone): read as `\n`.
        let lf: Vec<u8> = input
            .iter()
            .map(|&b| if b == b'\r' { b'\n' } else { b })
            .collect();
        return split(&lf);
    }
    let mut out: Vec<Vec<u8>> = Vec::new();
    let mut cur: Option<Vec<u8>> = None;
    let mut prev_blank = true;
    for line in input.split_inclusive(|&b| b == b'\n') {
        let bare = line.strip_suffix(b"\n").unwrap_or(line);
        let bare = bare.strip_suffix(b"\r").unwrap_or(bare);
        if is_separator(bare) && (prev_blank || cur.is_none() || has_mbox_date(bare)) {
            if let Some(m) = cur.take() {
                out.push(trim_trailing_blank(m));
            }
            cur = Some(Vec::new());
            prev_blank = false;
            continue;
        }
        let buf = cur.get_or_insert_with(Vec::new);
        let gts = bare.iter().take_while(|&&b| b == b'>').count();
        if gts > 0 && bare[gts..].starts_with(b"From ") {
            buf.extend_from_slice(&line[1..]);
        } else {
            buf.extend_from_slice(line);
        }
        prev_blank = bare.is_empty();
    }
    if let Some(m) = cur {
        out.push(trim_trailing_blank(m));
    }
    out.retain(|m| !m.iter().all(|b| b.is_ascii_whitespace()));
    out
}

/// The separator's blank line belongs to the mbox, not to the message.
fn trim_trailing_blank(mut m: Vec<u8>) -> Vec<u8> {
    if m.ends_with(b"\n\n") {
        m.pop();
    } else if m.ends_with(b"\r\n\r\n") {
        m.truncate(m.len() - 2);
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_and_unquotes() {
        let mbox = b"From a@b Mon Jan 1 00:00:00 2024\nSubject: one\n\n>From here\n\nFrom c@d Mon Jan 1 00:00:00 2024\nSubject: two\n\nbody\n";
        let m = split(mbox);
        assert_eq!(m.len(), 2);
        assert_eq!(m[0], b"Subject: one\n\nFrom here\n");
        assert_eq!(m[1], b"Subject: two\n\nbody\n");
        assert!(is_mbox(mbox));
        assert!(!is_mbox(b"Subject: x\n"));
    }

    #[test]
    fn a_dated_from_line_separates_without_a_blank_line() {
        let mbox = b"From a@b Thu Jul  2 12:05:05 2020\nSubject: one\n\nbody\n--end--\nFrom c@d  Thu Jul  2 12:05:05 2020\nSubject: two\n\nhello\nFrom me, with love\n";
        let m = split(mbox);
        assert_eq!(m.len(), 2);
        assert_eq!(m[1], b"Subject: two\n\nhello\nFrom me, with love\n");
    }
}
