//! Store errors.

/// Everything that can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sled(#[from] sled::Error),
    /// Another process holds the store's file lock (sled lets one process at a time open it).
    #[error("another process has the store open")]
    Locked,
    #[error("cannot decode record in tree `{tree}` at key {key}: {message}")]
    Codec {
        tree: &'static str,
        key: String,
        message: String,
    },
    #[error("corrupt store: {0}")]
    Corrupt(String),
    #[error("record in tree `{tree}` at key {key} has unknown format version {version} (this ferry understands {supported}); was it written by a newer ferry?")]
    UnknownVersion {
        tree: &'static str,
        key: String,
        version: u8,
        supported: u8,
    },
    /// The store was written in a format this ferry does not read (`found`: `None` for a store
    /// of an early development build, which wrote no format).
    #[error("{}", format_message(.dir, *.found, *.supported))]
    Format {
        dir: String,
        found: Option<u8>,
        supported: u8,
    },
    #[error("no outbox entry with id {0}")]
    NotFound(u64),
    #[error("outbox entry {id}: cannot go from {from} to {to}")]
    InvalidTransition { id: u64, from: String, to: String },
    /// A backup could not be written (the folder is taken, unwritable...).
    #[error("backup: {0}")]
    Backup(String),
    #[error("outbox entry {id}: line key {line_key} already belongs to document {other_source_key} (entry {other_id})")]
    LineKeyConflict {
        id: u64,
        line_key: String,
        other_id: u64,
        other_source_key: String,
    },
}

fn format_message(dir: &str, found: Option<u8>, supported: u8) -> String {
    let what = match found {
        Some(f) => format!("format {f}"),
        None => "no format mark".to_string(),
    };
    let head =
        format!("the store in {dir} has {what}; this ferry reads only store format {supported}");
    match found {
        Some(f) if f > supported => format!(
            "{head}. It was written by a newer ferry: run that ferry (or a newer one) on this \
             data folder"
        ),
        _ => format!(
            "{head}. It was written by an early development build of ferry: finish delivering \
             with that build (`ferry run --once`), then move the folder aside (keep it) and \
             start again; the new store fetches from each scheme's `start_from`, so move \
             `start_from` past what Kingdee already has, or it is posted again"
        ),
    }
}

impl From<sled::transaction::TransactionError<StoreError>> for StoreError {
    fn from(e: sled::transaction::TransactionError<StoreError>) -> Self {
        match e {
            sled::transaction::TransactionError::Abort(e) => e,
            sled::transaction::TransactionError::Storage(e) => StoreError::Sled(e),
        }
    }
}

/// Whether sled could not open the store because another process holds its file lock. sled 0.34
/// wraps the OS error in an `Other` error whose text carries it: `WouldBlock` from `flock` on
/// Unix, `ERROR_LOCK_VIOLATION` (33) from `LockFileEx` on Windows.
pub(super) fn lock_held(e: &std::io::Error) -> bool {
    if e.kind() == std::io::ErrorKind::WouldBlock {
        return true;
    }
    #[cfg(windows)]
    {
        if e.raw_os_error() == Some(33) {
            return true;
        }
    }
    let text = e.to_string();
    if !text.contains("could not acquire lock") {
        return false;
    }
    #[cfg(windows)]
    let held = text.contains("code: 33,");
    #[cfg(not(windows))]
    let held = text.contains("WouldBlock");
    held
}

#[cfg(test)]
mod tests {
    use std::io::{Error, ErrorKind};

    use super::lock_held;

    /// An error as sled 0.34 words a failed `try_lock_exclusive` (config.rs, `try_lock`).
    fn sled_lock_error(os: Error) -> Error {
        Error::other(format!(
            "could not acquire lock on \"data/store/db\": {os:?}"
        ))
    }

    #[test]
    fn a_held_lock_is_told_apart_from_other_failures() {
        #[cfg(not(windows))]
        let held = Error::from(ErrorKind::WouldBlock);
        #[cfg(windows)]
        let held = Error::from_raw_os_error(33);
        assert!(lock_held(&sled_lock_error(held)));
        assert!(lock_held(&Error::from(ErrorKind::WouldBlock)));
        // Locks not supported here (a network share): not "another process has it".
        assert!(!lock_held(&sled_lock_error(Error::from(
            ErrorKind::Unsupported
        ))));
        assert!(!lock_held(&Error::from(ErrorKind::PermissionDenied)));
        assert!(!lock_held(&Error::other("disk full")));
    }
}
