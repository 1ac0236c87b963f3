//! The store's small closed error.

use std::fmt;

/// Why a store operation failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    UnknownTenant(String),
    TenantExists(String),
    /// A value that does not fit the model (bad policy override, bad country ...).
    Invalid(String),
    /// Stored data that cannot be read back (a bug or a hand-edited database).
    Corrupt(String),
    /// The database said no (connection, constraint, IO).
    Backend(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::UnknownTenant(t) => write!(
                f,
                "unknown tenant {t:?} (create it with `rebound tenant create --tenant {t}`)"
            ),
            Error::TenantExists(t) => write!(f, "tenant {t:?} already exists"),
            Error::Invalid(m) => f.write_str(m),
            Error::Corrupt(m) => write!(f, "stored data cannot be read: {m}"),
            Error::Backend(m) => write!(f, "database: {m}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::Backend(e.to_string())
    }
}

impl From<postgres::Error> for Error {
    fn from(e: postgres::Error) -> Self {
        // The server's message says more than the client's summary.
        match e.as_db_error() {
            Some(db) => Error::Backend(format!("{}: {}", db.code().code(), db.message())),
            None => {
                // The client's summary ("error connecting to server") hides the cause.
                let mut msg = e.to_string();
                let mut cause = std::error::Error::source(&e);
                while let Some(c) = cause {
                    msg += &format!(": {c}");
                    cause = c.source();
                }
                Error::Backend(msg)
            }
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
