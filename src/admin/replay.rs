//! Replaying a dead letter from the console or the API. An entry whose mapping failed is mapped
//! again from the source document kept for it, with the mapping of config.toml as the file is
//! now: an admin fixes a lookup, replays, and the document goes out with the fix. Any other
//! dead letter goes back to the queue with the model it has.

use crate::pipeline::mapper::to_ingest;
use crate::store::{Ingest, Store};

use super::routes::ApiError;
use super::AdminState;

/// Puts dead letter `id` back in the queue (re-mapped where its mapping had failed).
pub async fn replay(data: &AdminState, id: u64) -> Result<(), ApiError> {
    let store = data.shared.store.clone();
    let shared = data.shared.clone();
    actix_web::web::block(move || {
        // The pipeline takes the fixed mapping too, for the documents still to come.
        shared.mappings.reload_if_changed(&shared.config);
        replay_entry(&store, &shared.config.file, id)
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
}

/// Replays `id` in `store`, re-mapping it with the config file at `file` where its mapping had
/// failed (also used by `ferry dlq replay`).
pub fn replay_entry(store: &Store, file: &std::path::Path, id: u64) -> Result<(), ApiError> {
    let entry = store
        .get(id)?
        .ok_or_else(|| ApiError::NotFound(format!("no entry #{id}")))?;
    let source = match entry.model.is_empty() {
        true => store.source_of(id)?,
        false => None,
    };
    let Some(source) = source else {
        store.replay(id)?;
        return Ok(());
    };
    let doc: serde_json::Value = serde_json::from_slice(&source)
        .map_err(|e| ApiError::Internal(format!("the kept source document is not JSON: {e}")))?;
    // The mapping as config.toml says now (secrets are not needed to map).
    let config = crate::config::load_without_secrets(file).map_err(|e| {
        ApiError::Conflict(format!(
            "config.toml has mistakes, so the document cannot be mapped again: {e}"
        ))
    })?;
    let scheme = config.scheme(&entry.scheme).ok_or_else(|| {
        ApiError::Conflict(format!(
            "scheme {} is no longer in config.toml",
            entry.scheme
        ))
    })?;
    match to_ingest(scheme, &doc) {
        Ingest::New(n) => {
            store.replay_mapped(id, n)?;
            tracing::info!(scheme = %entry.scheme, source_key = %entry.source_key, entry = id, "dead letter mapped again and replayed");
            Ok(())
        }
        Ingest::Filtered { reason, .. } => Err(ApiError::Conflict(format!(
            "with config.toml as it is now, the scheme's filter leaves this document out ({reason}); drop it instead"
        ))),
        Ingest::Failed { error, .. } => Err(ApiError::Conflict(format!(
            "mapping still fails with config.toml as it is now: {error}"
        ))),
    }
}
