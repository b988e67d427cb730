//! Reading models out of the `models` tree outside a transaction (a batch's models for the
//! Writer, one model for `show`/`check`).

use super::codec;
use super::error::StoreError;
use super::types::OutboxEntry;
use super::Store;

/// Reads models out of the `models` tree, keeping the last record it inflated: the entries of a
/// batch are mostly consecutive, so sixteen of them share one inflation.
#[derive(Default)]
pub(super) struct ModelReader {
    /// The id bucket key and models of the last record read.
    last: Option<([u8; 9], codec::IdBucket)>,
}

impl ModelReader {
    pub fn model(&mut self, store: &Store, id: u64) -> Result<Option<Vec<u8>>, StoreError> {
        let k = codec::id_bucket_key(id);
        if self.last.as_ref().is_none_or(|(lk, _)| *lk != k) {
            let models = match store.tree("models").get(k)? {
                Some(v) => codec::decode_models_bucket(&k, &v)?,
                None => Vec::new(),
            };
            self.last = Some((k, models));
        }
        let models = self.last.as_ref().map(|(_, m)| m);
        Ok(models.and_then(|m| {
            m.iter()
                .find(|(i, _)| *i == id)
                .map(|(_, json)| json.clone())
        }))
    }

    /// `e` with its model.
    pub fn fill(&mut self, store: &Store, mut e: OutboxEntry) -> Result<OutboxEntry, StoreError> {
        if let Some(m) = self.model(store, e.id)? {
            e.model = m;
        }
        Ok(e)
    }
}
