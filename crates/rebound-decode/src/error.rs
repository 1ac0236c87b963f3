//! The decoder's one error type: a small closed list of reasons why an input is not
//! a message at all. Everything short of that decodes (possibly to nothing).

use std::fmt;

/// Why an input could not be read as a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input is empty or only white space.
    Empty,
    /// The input does not start with a header block.
    NotAMessage,
    /// The input is larger than [`crate::MAX_INPUT`].
    TooLarge,
}

/// A decoding error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind) -> Error {
        Error { kind }
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.kind {
            ErrorKind::Empty => "empty input: no message",
            ErrorKind::NotAMessage => "not an email message: no header block",
            ErrorKind::TooLarge => "message too large to decode",
        })
    }
}

impl std::error::Error for Error {}
