//! The store: the only owner of sled. Outbox entries and their delivery state machine, the dedupe
//! index (source key → entry, line key → entry), checkpoints, dead letters, per-record traces,
//! per-scheme counters and small metadata (tokens, batch ids).
//!
//! Every state change is one sled transaction over all trees it touches, followed by a flush
//! (fsync) before the call returns; sled's own periodic flushing is off. Reads never scan the
//! whole outbox: `due` reads the due index, `in_flight` the in-flight index, `dead_letters` the
//! dead index, `counts` the counters kept in step inside the same transactions. Opening the store
//! reads nothing but sled's own recovery.
//!
//! Calls block on disk I/O (a flush is an fsync): async callers use `spawn_blocking`. Concurrent
//! writers are serialized (one write lock, which `backup` holds to copy one moment of the
//! store); flushes of concurrent callers are shared by sled. Upkeep (`prune_delivered`) strips
//! delivered entries past their retention of model and trace, keeping what dedupe consults.

mod backup;
mod check;
mod codec;
mod error;
mod ingest;
mod layout;
mod models;
mod records;
#[cfg(test)]
mod tests;
mod transitions;
mod tx;
mod types;
mod upkeep;

use std::path::Path;
use std::sync::Arc;

use parking_lot::Mutex;
use sled::transaction::TransactionalTree;
use sled::Transactional;

pub use backup::BackupReport;
pub use check::Problems;
pub use codec::{STORE_FORMAT, VERSION};
pub use error::StoreError;
pub use tx::TRACE_KEEP;
pub use types::*;
pub use upkeep::{PruneStep, PRUNE_CHUNK};

use codec::{decode, pair, prefix};
use models::ModelReader;
use tx::{Counter, Tx, TxResult, TX_TREES};

/// Handle to the store; cheap to clone, share it between actors.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    db: sled::Db,
    /// The trees `Tx` works on, in `TX_TREES` order.
    trees: Vec<sled::Tree>,
    checkpoints: sled::Tree,
    meta: sled::Tree,
    /// Held by every write (transactions, checkpoints, metadata), so a backup that holds it
    /// copies one moment of the store.
    write: Mutex<()>,
    /// The folder the store is in.
    dir: std::path::PathBuf,
}

const META_FORMAT: &[u8] = b"\0store_format";
/// sled page cache bound (memory stays bounded whatever the outbox size).
const CACHE_BYTES: u64 = 4 * 1024 * 1024;

/// The entry an index named, or the corruption it is.
fn indexed(
    index: &'static str,
    id: u64,
    entry: Option<OutboxEntry>,
) -> Result<OutboxEntry, StoreError> {
    entry.ok_or_else(|| StoreError::Corrupt(format!("{index} index names missing entry {id}")))
}

/// Whether any tree of the store holds a record (a store without a format is new only if empty).
fn has_records(db: &sled::Db) -> Result<bool, StoreError> {
    for name in db.tree_names() {
        if !db.open_tree(&name)?.is_empty() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Opens sled, waiting (at most 2 s) for the file lock a just-dropped handle of this process
/// may still hold: sled releases it from a background thread after the last handle is gone.
/// A lock another process keeps is [`StoreError::Locked`].
fn open_db(dir: &Path) -> Result<sled::Db, StoreError> {
    let mut tries = 0;
    loop {
        let r = sled::Config::new()
            .path(dir)
            .cache_capacity(CACHE_BYTES)
            .flush_every_ms(None)
            .open();
        match r {
            Err(sled::Error::Io(e)) if error::lock_held(&e) => {
                if tries >= 200 {
                    return Err(StoreError::Locked);
                }
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            other => return Ok(other?),
        }
    }
}

impl Store {
    /// Open (or create) the store in `dir`.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        let db = open_db(dir)?;
        let meta = db.open_tree("meta")?;
        match meta.get(META_FORMAT)?.as_deref() {
            Some([STORE_FORMAT]) => {}
            Some(v) => {
                let found = v.first().copied().unwrap_or(0);
                return Err(StoreError::Format {
                    dir: dir.display().to_string(),
                    found: Some(found),
                    supported: STORE_FORMAT,
                });
            }
            None if has_records(&db)? => {
                return Err(StoreError::Format {
                    dir: dir.display().to_string(),
                    found: None,
                    supported: STORE_FORMAT,
                })
            }
            None => {
                meta.insert(META_FORMAT, &[STORE_FORMAT])?;
                db.flush()?;
            }
        }
        let trees = TX_TREES
            .iter()
            .map(|n| db.open_tree(n))
            .collect::<Result<Vec<_>, _>>()?;
        let store = Store {
            inner: Arc::new(Inner {
                checkpoints: db.open_tree("checkpoints")?,
                meta,
                trees,
                db,
                write: Mutex::new(()),
                dir: dir.to_path_buf(),
            }),
        };
        Ok(store)
    }

    /// Make everything written so far durable.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.inner.db.flush()?;
        Ok(())
    }

    /// Run one transaction over the `Tx` trees, then flush.
    fn run<A>(&self, f: impl Fn(&mut Tx) -> TxResult<A>) -> Result<A, StoreError> {
        let now = crate::time::now_unix();
        let out = {
            let _w = self.inner.write.lock();
            self.inner
                .trees
                .as_slice()
                .transaction(|t: &Vec<TransactionalTree>| {
                    let mut tx = Tx::new(t, now);
                    let a = f(&mut tx)?;
                    tx.commit()?;
                    Ok(a)
                })?
        };
        self.flush()?;
        Ok(out)
    }

    fn tree(&self, name: &str) -> &sled::Tree {
        let i = TX_TREES.iter().position(|n| *n == name).unwrap_or(0);
        &self.inner.trees[i]
    }

    fn entry_at(&self, id: u64) -> Result<Option<OutboxEntry>, StoreError> {
        self.entry_without_model(id)?
            .map(|e| self.with_model(e))
            .transpose()
    }

    /// `e` with its model from the `models` tree.
    fn with_model(&self, e: OutboxEntry) -> Result<OutboxEntry, StoreError> {
        ModelReader::default().fill(self, e)
    }

    /// Entry `id` with an empty `model`.
    fn entry_without_model(&self, id: u64) -> Result<Option<OutboxEntry>, StoreError> {
        self.with_id_record("outbox", id, |k, v| decode("outbox", k, v))
    }

    /// The model JSON of entry `id` as the `models` tree keeps it, if any.
    fn stored_model(&self, id: u64) -> Result<Option<Vec<u8>>, StoreError> {
        ModelReader::default().model(self, id)
    }

    /// Runs `f` on the record of entry `id` in `tree` (`outbox` or `models`), if it has one.
    fn with_id_record<T>(
        &self,
        tree: &'static str,
        id: u64,
        f: impl FnOnce(&[u8], &[u8]) -> Result<T, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        let k = codec::id_bucket_key(id);
        let Some(v) = self.tree(tree).get(k)? else {
            return Ok(None);
        };
        match codec::bucket_item(tree, &k, &v, id)? {
            Some(r) => f(&k, r).map(Some),
            None => Ok(None),
        }
    }

    /// The `docs` record of `scheme \0 source key`, as stored.
    fn doc_bytes(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let bk = codec::doc_bucket_key(key);
        let Some(v) = self.tree("docs").get(&bk)? else {
            return Ok(None);
        };
        Ok(codec::decode_key_bucket("docs", &bk, &v)?
            .into_iter()
            .find(|(k, _)| k == key)
            .map(|(_, r)| r))
    }

    /// Every `docs` record: (`scheme \0 source key`, record).
    fn doc_records(&self) -> Result<codec::KeyBucket, StoreError> {
        let mut out = Vec::new();
        for kv in self.tree("docs").iter() {
            let (k, v) = kv?;
            out.extend(codec::decode_key_bucket("docs", &k, &v)?);
        }
        Ok(out)
    }

    /// One outbox entry.
    pub fn get(&self, id: u64) -> Result<Option<OutboxEntry>, StoreError> {
        self.entry_at(id)
    }

    /// The entry of a (scheme, source key), if it has one.
    pub fn find(&self, scheme: &str, source_key: &str) -> Result<Option<OutboxEntry>, StoreError> {
        let k = pair(scheme, source_key);
        if let Some(v) = self.doc_bytes(&k)? {
            if let Some((id, _)) = codec::doc_entry(&k, &v)? {
                return self.entry_at(id);
            }
        }
        Ok(None)
    }

    /// Pending and Retry entries due at `now`, oldest due first, at most `limit`; for one form
    /// or (None) for all. Reads only the due index.
    pub fn due(
        &self,
        form_id: Option<&str>,
        now: i64,
        limit: usize,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        let forms = match form_id {
            Some(f) => vec![f.to_string()],
            None => self.forms()?,
        };
        let mut keys: Vec<(i64, u64)> = Vec::new();
        for form in &forms {
            let start = keys.len();
            for kv in self.tree("due").scan_prefix(prefix(form)) {
                if keys.len() - start >= limit {
                    break;
                }
                let (k, v) = kv?;
                let (due, ids) = codec::due_bucket_entries(&k, &v)?;
                if due > now {
                    break;
                }
                keys.extend(ids.into_iter().map(|id| (due, id)));
            }
        }
        keys.sort_unstable();
        keys.truncate(limit);
        let mut out = Vec::with_capacity(keys.len());
        let mut models = ModelReader::default();
        for (_, id) in keys {
            let e = indexed("due", id, self.entry_without_model(id)?)?;
            out.push(models.fill(self, e)?);
        }
        Ok(out)
    }

    /// Every InFlight entry, with its model. The Writer pages through them with
    /// [`in_flight_after`](Self::in_flight_after) instead.
    pub fn in_flight(&self) -> Result<Vec<OutboxEntry>, StoreError> {
        let mut models = ModelReader::default();
        self.in_flight_after(None, usize::MAX)?
            .into_iter()
            .map(|e| models.fill(self, e))
            .collect()
    }

    /// Up to `limit` InFlight entries with ids above `after` (all: `None`), in id order and
    /// without their models: what reconciliation needs (identity, state, attempts), a page at a
    /// time, so a large uncertain backlog is not held in memory at once.
    pub fn in_flight_after(
        &self,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        use std::ops::Bound::{Included, Unbounded};
        let tree = self.tree("inflight");
        // The bucket holding `after` may hold later ids as well.
        let records = match after {
            Some(id) => tree.range((Included(codec::id_bucket_key(id)), Unbounded)),
            None => tree.iter(),
        };
        let mut out = Vec::new();
        for kv in records {
            let (k, v) = kv?;
            for id in codec::id_bucket_bits("inflight", &k, &v)? {
                if out.len() >= limit {
                    return Ok(out);
                }
                if after.is_some_and(|a| id <= a) {
                    continue;
                }
                out.push(indexed("inflight", id, self.entry_without_model(id)?)?);
            }
        }
        Ok(out)
    }

    /// Dead entries of one scheme or (None) of all, oldest first within a scheme.
    pub fn dead_letters(&self, scheme: Option<&str>) -> Result<Vec<OutboxEntry>, StoreError> {
        let dead = self.tree("dead");
        let iter = match scheme {
            Some(s) => dead.scan_prefix(prefix(s)),
            None => dead.iter(),
        };
        let mut out = Vec::new();
        for k in iter.keys() {
            let k = k?;
            let id = codec::read_id("dead", &k, &k[k.len().saturating_sub(8)..])?;
            out.push(indexed("dead", id, self.entry_at(id)?)?);
        }
        Ok(out)
    }

    /// The trace of a (scheme, source key): its last `TRACE_KEEP` events, oldest first.
    pub fn trace(&self, scheme: &str, source_key: &str) -> Result<Vec<TraceEvent>, StoreError> {
        let key = pair(scheme, source_key);
        let mut out: Vec<TraceEvent> = match self.doc_bytes(&key)? {
            Some(v) => codec::decode_doc(&key, &v)?.events,
            None => Vec::new(),
        };
        out.sort_by_key(|e| e.seq);
        let excess = out.len().saturating_sub(TRACE_KEEP as usize);
        out.drain(..excess);
        Ok(out)
    }

    /// Counts of one scheme, from the maintained counters.
    pub fn counts(&self, scheme: &str) -> Result<Counts, StoreError> {
        let mut c = Counts::default();
        for which in Counter::ALL {
            let k = tx::counter_key(scheme, which);
            let n = match self.tree("counters").get(&k)? {
                Some(v) => tx::read_i64("counters", &k, &v)?,
                None => 0,
            };
            let n = u64::try_from(n).map_err(|_| {
                StoreError::Corrupt(format!("counter {} is {n}", codec::show_key(&k)))
            })?;
            match which {
                Counter::Pending => c.pending = n,
                Counter::InFlight => c.in_flight = n,
                Counter::Retry => c.retry = n,
                Counter::Delivered => c.delivered = n,
                Counter::Dead => c.dead = n,
                Counter::Changed => c.changed_after_delivery = n,
                Counter::Filtered => c.filtered = n,
                Counter::Dropped => c.dropped = n,
            }
        }
        Ok(c)
    }

    /// (scheme, form id) pairs that have ingested anything.
    pub fn schemes(&self) -> Result<Vec<(String, String)>, StoreError> {
        let mut out = Vec::new();
        for k in self.tree("schemes").iter().keys() {
            let k = k?;
            let mut parts = k
                .splitn(2, |b| *b == 0)
                .map(|p| String::from_utf8_lossy(p).into_owned());
            let (Some(scheme), Some(form)) = (parts.next(), parts.next()) else {
                return Err(StoreError::Corrupt(format!(
                    "schemes key {}",
                    codec::show_key(&k)
                )));
            };
            out.push((scheme, form));
        }
        Ok(out)
    }

    fn forms(&self) -> Result<Vec<String>, StoreError> {
        let mut f: Vec<String> = self.schemes()?.into_iter().map(|(_, f)| f).collect();
        f.sort();
        f.dedup();
        Ok(f)
    }

    /// The checkpoint of a scheme (unix seconds), if set.
    pub fn checkpoint(&self, scheme: &str) -> Result<Option<i64>, StoreError> {
        match self.inner.checkpoints.get(scheme.as_bytes())? {
            Some(v) => Ok(Some(tx::read_i64("checkpoints", scheme.as_bytes(), &v)?)),
            None => Ok(None),
        }
    }

    /// Set (and flush) the checkpoint of a scheme.
    pub fn set_checkpoint(&self, scheme: &str, at: i64) -> Result<(), StoreError> {
        {
            let _w = self.inner.write.lock();
            self.inner
                .checkpoints
                .insert(scheme.as_bytes(), &at.to_be_bytes())?;
        }
        self.flush()
    }

    /// Small metadata (tokens etc.).
    pub fn meta_get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.inner.meta.get(key.as_bytes())?.map(|v| v.to_vec()))
    }

    /// Store (and flush) small metadata.
    pub fn meta_put(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        {
            let _w = self.inner.write.lock();
            self.inner.meta.insert(key.as_bytes(), value)?;
        }
        self.flush()
    }

    /// Remove (and flush) small metadata.
    pub fn meta_remove(&self, key: &str) -> Result<(), StoreError> {
        {
            let _w = self.inner.write.lock();
            self.inner.meta.remove(key.as_bytes())?;
        }
        self.flush()
    }

    /// A new batch id: unique and increasing across restarts and crashes (sled's id generator,
    /// which persists its high-water mark itself, so no flush per call).
    pub fn next_batch_id(&self) -> Result<u64, StoreError> {
        Ok(self.inner.db.generate_id()? + 1)
    }
}

/// Bytes of the files under `dir` (the store's size on disk; 0 if it cannot be read).
pub fn dir_size(dir: &Path) -> u64 {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return 0;
    };
    rd.flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}
