//! Reading standard input line by line without trusting it: any bytes, any length,
//! `\n` or `\r\n` ends. A line longer than the cap is cut (the rest is skipped, not
//! carried into the next line), so memory stays bounded on hostile input.

use std::io::{self, BufRead, BufReader, Read};

/// The most bytes of one line that are kept.
pub const MAX_LINE: usize = 4 << 20;

/// Reads the next line into `buf` (without its end). Returns false at end of input.
/// `before_block` runs when the reader is about to wait for more input, so that
/// output can be flushed for interactive callers without flushing on every line.
pub fn next_line<R: Read>(
    reader: &mut BufReader<R>,
    buf: &mut Vec<u8>,
    mut before_block: impl FnMut(),
) -> io::Result<bool> {
    buf.clear();
    let mut any = false;
    loop {
        if reader.buffer().is_empty() {
            before_block();
        }
        let chunk = match reader.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            break;
        }
        any = true;
        let (take, done) = match memchr(chunk) {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        let room = MAX_LINE.saturating_sub(buf.len());
        buf.extend_from_slice(&chunk[..take.min(room)]);
        reader.consume(take);
        if done {
            break;
        }
    }
    while matches!(buf.last(), Some(b'\n' | b'\r')) {
        buf.pop();
    }
    Ok(any)
}

/// True when a read of standard input would wait: nothing is buffered in the pipe
/// or file and it is not at its end.
///
/// Why: a pipe hands over at most 64 KiB per read, so "the reader's buffer ran dry"
/// happens every few hundred lines even when the producer is far ahead. Callers
/// that commit before waiting ask this first, so a fast producer gets full batches
/// and a slow one still gets each line committed as it comes.
pub fn stdin_would_block() -> bool {
    let mut p = libc::pollfd {
        fd: libc::STDIN_FILENO,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd for the length of the call; a zero timeout.
    let n = unsafe { libc::poll(&mut p, 1, 0) };
    // An error (n < 0) counts as "would block": the caller then commits, which is
    // always safe, only slower.
    n <= 0
}

fn memchr(b: &[u8]) -> Option<usize> {
    b.iter().position(|&c| c == b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_on_lf_and_crlf_and_keep_the_last_unterminated_one() {
        let mut r = BufReader::new(io::Cursor::new(b"a\r\nb\n\nc".to_vec()));
        let mut buf = Vec::new();
        let mut got = Vec::new();
        while next_line(&mut r, &mut buf, || {}).unwrap() {
            got.push(String::from_utf8(buf.clone()).unwrap());
        }
        assert_eq!(got, ["a", "b", "", "c"]);
    }

    #[test]
    fn overlong_lines_are_cut_not_merged() {
        let mut data = vec![b'x'; MAX_LINE + 10];
        data.extend_from_slice(b"\nnext\n");
        let mut r = BufReader::new(io::Cursor::new(data));
        let mut buf = Vec::new();
        assert!(next_line(&mut r, &mut buf, || {}).unwrap());
        assert_eq!(buf.len(), MAX_LINE);
        assert!(next_line(&mut r, &mut buf, || {}).unwrap());
        assert_eq!(buf, b"next");
    }
}
