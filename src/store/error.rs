//! Store errors.

/// Everything that can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sled(#[from] sled::Error),
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
    #[error("no outbox entry with id {0}")]
    NotFound(u64),
    #[error("outbox entry {id}: cannot go from {from} to {to}")]
    InvalidTransition { id: u64, from: String, to: String },
    #[error("outbox entry {id}: line key {line_key} already belongs to document {other_source_key} (entry {other_id})")]
    LineKeyConflict {
        id: u64,
        line_key: String,
        other_id: u64,
        other_source_key: String,
    },
}

impl From<sled::transaction::TransactionError<StoreError>> for StoreError {
    fn from(e: sled::transaction::TransactionError<StoreError>) -> Self {
        match e {
            sled::transaction::TransactionError::Abort(e) => e,
            sled::transaction::TransactionError::Storage(e) => StoreError::Sled(e),
        }
    }
}
