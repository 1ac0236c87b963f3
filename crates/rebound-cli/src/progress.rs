//! Progress for long work (SPEC §6 "long work shows progress"): a bar on standard
//! error when standard error is a terminal, and nothing at all otherwise, so pipes,
//! logs and scripts see exactly the output they saw before.
//!
//! Byte-based when the size of the input is known (a file, or standard input
//! redirected from one), a running count otherwise. Messages a command prints on
//! standard error while the bar is shown go through [`Progress::eprintln`], so they
//! land above the bar instead of through it.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{self, IsTerminal, Read};
use std::os::fd::AsFd;
use std::path::Path;

/// A bar, or nothing when standard error is not a terminal.
pub struct Progress(Option<ProgressBar>);

impl Progress {
    /// Progress over `total` bytes (a spinner with a byte count when unknown).
    pub fn bytes(what: &str, total: Option<u64>) -> Progress {
        if !io::stderr().is_terminal() {
            return Progress(None);
        }
        let style = match total {
            Some(_) => "{prefix} [{wide_bar}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            None => "{prefix} {spinner} {bytes} {bytes_per_sec}",
        };
        let style = ProgressStyle::with_template(style)
            .expect("the templates are valid")
            .progress_chars("=> ");
        let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr())
            .with_style(style)
            .with_prefix(what.to_string());
        bar.tick();
        Progress(Some(bar))
    }

    /// No bar, whatever standard error is.
    pub fn none() -> Progress {
        Progress(None)
    }

    /// Counts the bytes read through `r`.
    pub fn wrap<R: Read>(&self, r: R) -> Counted<R> {
        Counted {
            inner: r,
            bar: self.0.clone(),
        }
    }

    /// Moves the bar by `n` bytes read some other way.
    pub fn inc(&self, n: u64) {
        if let Some(b) = &self.0 {
            b.inc(n);
        }
    }

    /// Prints a line on standard error above the bar (or just prints it).
    pub fn eprintln(&self, line: &str) {
        match &self.0 {
            Some(b) => b.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }

    /// Removes the bar from the terminal.
    pub fn finish(&self) {
        if let Some(b) = &self.0
            && !b.is_finished()
        {
            b.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        // An early return (an error) must not leave a bar behind either.
        self.finish();
    }
}

/// A reader that moves the bar by the bytes it reads.
pub struct Counted<R> {
    inner: R,
    bar: Option<ProgressBar>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(b) = &self.bar {
            b.inc(n as u64);
        }
        Ok(n)
    }
}

/// The size of standard input when it is a regular file (`< file`), else None.
pub fn stdin_size() -> Option<u64> {
    let fd = io::stdin().as_fd().try_clone_to_owned().ok()?;
    let meta = std::fs::File::from(fd).metadata().ok()?;
    meta.is_file().then_some(meta.len())
}

/// The size of a file, when it is one.
pub fn file_size(p: &Path) -> Option<u64> {
    std::fs::metadata(p)
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len())
}
