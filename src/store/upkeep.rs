//! Store upkeep: delivered entries past the retention period lose their model and their trace,
//! and keep what dedupe consults, so that the store stops growing with the full record of every
//! document ever delivered.
//!
//! What a re-fetched document is checked against stays: its `docs` record (the entry and the
//! fingerprint last seen: an unchanged document is skipped), its outbox record (state Delivered,
//! identity, Kingdee id and number, line keys: a changed one is recorded as changed after
//! delivery and never re-posted) and its line keys in `line_buckets` (a line already delivered
//! in another document is never posted twice). What goes: the compressed Kingdee model (most
//! of an entry's bytes) and the trace events (up to `TRACE_KEEP` per document).
//!
//! The work is bounded per call: the scan reads only the `models` tree (pruned entries have no
//! model any more, so a pass costs what the retention window holds, not the whole history),
//! outside the write lock, and one transaction prunes at most `limit` entries.

use std::ops::Bound::{self, Included, Unbounded};

use super::codec::{self, decode};
use super::types::{Delivery, OutboxEntry};
use super::{Store, StoreError};

/// Entries pruned per transaction by the pipeline's upkeep (whole id buckets, so up to 15 more):
/// one step, scan and transaction, took 40 to 110 ms in a debug build on a loaded 2-core machine
/// (`store::upkeep` figures in the integration tests), so the Writer is never held up long.
pub const PRUNE_CHUNK: usize = 1000;

/// What one [`Store::prune_delivered`] call did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PruneStep {
    /// Entries whose model and trace were removed.
    pub pruned: u64,
    /// Entries with a model looked at.
    pub scanned: u64,
    /// Where the next call goes on (`after`); `None`: the scan reached the end.
    pub next: Option<u64>,
}

/// Delivered before `before`: the entry may be pruned.
fn expired(e: &OutboxEntry, before: i64) -> bool {
    matches!(e.state, Delivery::Delivered { at, .. } if at < before)
}

impl Store {
    /// Removes the model and the trace of about `limit` entries (whole id buckets of up to 16
    /// at a time) delivered before `before` (unix seconds), looking at entries with ids above `after` (`None`: from the start) that still
    /// have a model, in id order. Call again with the returned `next` until it is `None`. One
    /// transaction (and flush) for the whole step; counters and indexes do not change.
    pub fn prune_delivered(
        &self,
        before: i64,
        after: Option<u64>,
        limit: usize,
    ) -> Result<PruneStep, StoreError> {
        let limit = limit.max(1);
        // Entries looked at per call when few are expired (a young store, a long retention).
        let scan_limit = limit.saturating_mul(8);
        let (candidates, scanned, next) =
            self.expired_with_model(before, after, limit, scan_limit)?;
        let mut step = PruneStep {
            pruned: 0,
            scanned,
            next,
        };
        if candidates.is_empty() {
            return Ok(step);
        }
        step.pruned = self.run(|tx| {
            let mut n = 0;
            for &id in &candidates {
                let Some(v) = tx.id_record(super::tx::OUTBOX, id)? else {
                    continue;
                };
                let k = codec::id_key(id);
                let e: OutboxEntry = decode("outbox", &k, &v).map_err(super::tx::abort)?;
                // Looked at outside the lock: check again.
                if !expired(&e, before) {
                    continue;
                }
                tx.set_model(id, None)?;
                tx.set_source(id, None)?;
                tx.clear_trace(&e.scheme, &e.source_key)?;
                n += 1;
            }
            Ok(n)
        })?;
        Ok(step)
    }

    /// Entries with a model, ids above `after`, delivered before `before`: at most `limit` of
    /// them (give or take the rest of one id bucket) among about `scan_limit` looked at. Returns them, how many were looked at, and
    /// where to go on (`None`: the end of the `models` tree).
    fn expired_with_model(
        &self,
        before: i64,
        after: Option<u64>,
        limit: usize,
        scan_limit: usize,
    ) -> Result<(Vec<u64>, u64, Option<u64>), StoreError> {
        let models = self.tree("models");
        let from: Bound<Vec<u8>> = match after {
            None => Unbounded,
            // The bucket holding `after` may hold later ids as well.
            Some(id) => Included(codec::id_bucket_key(id).to_vec()),
        };
        let records = models.range((from, Unbounded));
        let outbox = self.tree("outbox");
        let mut found = Vec::new();
        let mut scanned = 0u64;
        for kv in records {
            let (k, v) = kv?;
            let with_model: Vec<u64> = codec::models_bucket_ids(&k, &v)?
                .into_iter()
                .filter(|id| after.is_none_or(|a| *id > a))
                .collect();
            let Some(&last) = with_model.last() else {
                continue;
            };
            // The outbox records of the same entries sit under the same key.
            let entries: Vec<(u64, Vec<u8>)> = match outbox.get(&k)? {
                None => Vec::new(),
                Some(b) => codec::decode_id_bucket("outbox", &k, &b)?,
            };
            for (id, r) in entries {
                if !with_model.contains(&id) {
                    continue;
                }
                scanned += 1;
                let e: OutboxEntry = decode("outbox", &k, &r)?;
                if expired(&e, before) {
                    found.push(id);
                }
            }
            // Whole records at a time, so `next` never splits one.
            if found.len() >= limit || scanned >= scan_limit as u64 {
                return Ok((found, scanned, Some(last)));
            }
        }
        Ok((found, scanned, None))
    }

    /// Bytes the store's folder takes on disk (every file sled keeps there, as a file manager
    /// adds them up).
    pub fn size_on_disk(&self) -> Result<u64, StoreError> {
        Ok(super::dir_size(&self.inner.dir))
    }
}
