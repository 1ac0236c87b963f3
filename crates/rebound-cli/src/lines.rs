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

/// Reads `input` in blocks of whole lines, each block at least `target` bytes
/// unless input pauses or ends, every line in it ended by `\n` (a last line without
/// one gets one; `\r\n` ends are left for the caller to trim). A line longer than
/// [`MAX_LINE`] is cut there and the rest of it skipped, as [`next_line`] does.
///
/// `send(block, pause)` receives each block, `pause` true when `would_block` said
/// the next read would wait (or input ended), so the caller can commit what it has
/// before waiting; it returns false to stop reading.
///
/// Why blocks and not lines: a gate run reads ten million lines, and handing them
/// over one by one cost more than deciding them (a copy and a callback per line);
/// a block is one read into the buffer that travels on, cut at its last line end.
pub fn read_line_blocks<R: Read>(
    mut input: R,
    target: usize,
    mut would_block: impl FnMut() -> bool,
    mut send: impl FnMut(Vec<u8>, bool) -> bool,
) -> io::Result<()> {
    const READ: usize = 1 << 16;
    let fresh = || Vec::with_capacity(target + READ);
    let mut block = fresh();
    // Bytes of `block` before this are whole lines; after it, the start of one.
    let mut whole = 0;
    // Inside an overlong line: drop bytes until its end.
    let mut skipping = false;
    let mut scratch = vec![0u8; READ];
    loop {
        if whole > 0 && would_block() {
            let tail = block.split_off(whole);
            if !send(std::mem::replace(&mut block, tail), true) {
                return Ok(());
            }
            block.reserve(target + READ);
            whole = 0;
        }
        let n = match input.read(&mut scratch) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if n == 0 {
            break;
        }
        let mut got = &scratch[..n];
        if skipping {
            match memchr(got) {
                Some(i) => {
                    skipping = false;
                    got = &got[i + 1..];
                }
                None => continue,
            }
        }
        let start = block.len();
        block.extend_from_slice(got);
        if let Some(i) = memrchr(&block[start..]) {
            whole = start + i + 1;
        }
        if block.len() - whole > MAX_LINE {
            block.truncate(whole + MAX_LINE);
            block.push(b'\n');
            whole = block.len();
            skipping = true;
        }
        if whole >= target {
            let tail = block.split_off(whole);
            if !send(std::mem::replace(&mut block, fresh()), false) {
                return Ok(());
            }
            block.extend_from_slice(&tail);
            whole = 0;
        }
    }
    if !block.is_empty() {
        if whole < block.len() {
            block.push(b'\n');
        }
        send(block, true);
    }
    Ok(())
}

fn memrchr(b: &[u8]) -> Option<usize> {
    memchr::memrchr(b'\n', b)
}

fn memchr(b: &[u8]) -> Option<usize> {
    memchr::memchr(b'\n', b)
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

    /// Every way of cutting the input into reads gives the same lines.
    fn blocks_of(data: &[u8], target: usize, step: usize) -> Vec<Vec<u8>> {
        struct Steps<'a>(&'a [u8], usize);
        impl Read for Steps<'_> {
            fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
                let n = self.1.min(self.0.len()).min(out.len());
                out[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mut lines = Vec::new();
        read_line_blocks(
            Steps(data, step),
            target,
            || false,
            |b, _| {
                assert_eq!(b.last(), Some(&b'\n'), "a block ends with a line end");
                lines.extend(b.split(|&c| c == b'\n').map(<[u8]>::to_vec));
                lines.pop();
                true
            },
        )
        .unwrap();
        lines
    }

    #[test]
    fn blocks_hold_whole_lines_however_input_arrives() {
        let data = b"a\r\nbb\n\nccc\ndddd\neeeee";
        let want: Vec<Vec<u8>> = ["a\r", "bb", "", "ccc", "dddd", "eeeee"]
            .iter()
            .map(|s| s.as_bytes().to_vec())
            .collect();
        for target in [1, 3, 7, 100] {
            for step in [1, 2, 5, 64] {
                assert_eq!(
                    blocks_of(data, target, step),
                    want,
                    "target {target} step {step}"
                );
            }
        }
    }

    #[test]
    fn blocks_cut_overlong_lines_and_skip_their_rest() {
        let mut data = vec![b'x'; MAX_LINE + 70_000];
        data.extend_from_slice(b"\nnext\n");
        let lines = blocks_of(&data, 1 << 17, 1 << 16);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].len(), MAX_LINE);
        assert_eq!(lines[1], b"next");
    }

    #[test]
    fn a_pause_sends_the_whole_lines_read_so_far() {
        let mut blocks = Vec::new();
        read_line_blocks(
            &b"one\ntwo\nthr"[..],
            1 << 20,
            || true,
            |b, pause| {
                blocks.push((b, pause));
                true
            },
        )
        .unwrap();
        // The first read gives every byte; before the second, input "would block":
        // the two whole lines go at once, the cut-off third at the end.
        assert_eq!(
            blocks,
            [(b"one\ntwo\n".to_vec(), true), (b"thr\n".to_vec(), true)]
        );
    }
}
