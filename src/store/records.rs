//! Per-document records inside a transaction: the `docs` record of a (scheme, source key) (its
//! entry, fingerprint and trace) and the line-key buckets. Each record a transaction touches is
//! decoded once, changed in memory and written back once by `Tx::commit`; a page of fifty
//! documents otherwise decodes and re-encodes the same records several times under the
//! store's write lock.

use std::collections::HashMap;

use super::codec::{
    self, decode, encode, pair, DocRecord, DueBits, IdBucket, KeyBucket, LineBucket,
};
use super::error::StoreError;
use super::tx::{
    abort, tree_name, Tx, TxResult, DOCS, DUE, INFLIGHT, LINE_BUCKETS, MODELS, SOURCES, TRACE_KEEP,
};
use super::types::{Delivery, OutboxEntry, TraceEvent, TraceKind};

/// Records decoded in this transaction; `true` = changed, to be written back.
#[derive(Default)]
pub(crate) struct Records {
    docs: HashMap<Vec<u8>, (DocRecord, bool)>,
    buckets: HashMap<Vec<u8>, (LineBucket, bool)>,
    /// Docs buckets by key, as read.
    doc_buckets: HashMap<Vec<u8>, (KeyBucket, bool)>,
    /// Id buckets by (tree, key).
    ids: HashMap<(usize, [u8; 9]), (IdBucket, bool)>,
    /// Bit records by (tree, key): `DUE` buckets (the waiting entries) and `INFLIGHT` buckets
    /// (the entries in flight), a bit per entry.
    bits: HashMap<(usize, Vec<u8>), (DueBits, bool)>,
}

/// A line key owned by another live entry.
pub(crate) struct Conflict {
    pub line_key: String,
    pub other_id: u64,
    pub other_source_key: String,
    pub other_state: &'static str,
}

impl Conflict {
    pub fn message(&self) -> String {
        format!(
            "line key {} already belongs to document {} (entry {}, {}); not posted twice",
            self.line_key, self.other_source_key, self.other_id, self.other_state
        )
    }

    pub fn into_error(self, id: u64) -> StoreError {
        StoreError::LineKeyConflict {
            id,
            line_key: self.line_key,
            other_id: self.other_id,
            other_source_key: self.other_source_key,
        }
    }
}

/// The cached record of `key`, loaded with `load` the first time this transaction asks for it
/// (a hit does not copy the key); `write` marks it to be written back.
fn cached<'m, K, Q, V>(
    map: &'m mut HashMap<K, (V, bool)>,
    key: &Q,
    write: bool,
    load: impl FnOnce(&Q) -> TxResult<V>,
) -> TxResult<&'m mut V>
where
    K: std::borrow::Borrow<Q> + std::hash::Hash + Eq,
    Q: ToOwned<Owned = K> + std::hash::Hash + Eq + ?Sized,
{
    if !map.contains_key(key) {
        let value = load(key)?;
        map.insert(key.to_owned(), (value, false));
    }
    match map.get_mut(key) {
        Some((value, dirty)) => {
            *dirty |= write;
            Ok(value)
        }
        None => Err(abort(StoreError::Corrupt(
            "transaction record cache".into(),
        ))),
    }
}

impl Tx<'_> {
    /// Runs `f` on the doc record of `key` (empty if none); `write`: it changes the record.
    fn with_doc<R>(
        &self,
        key: &[u8],
        write: bool,
        f: impl FnOnce(&mut DocRecord) -> R,
    ) -> TxResult<R> {
        let mut guard = self.cache.borrow_mut();
        let cache = &mut *guard;
        let doc_buckets = &mut cache.doc_buckets;
        let d = cached(&mut cache.docs, key, write, |key| {
            let b = cached(doc_buckets, &codec::doc_bucket_key(key), false, |bk| {
                Ok(match self.t[DOCS].get(bk)? {
                    Some(v) => codec::decode_key_bucket("docs", bk, &v).map_err(abort)?,
                    None => Vec::new(),
                })
            })?;
            Ok(match b.iter().find(|(k, _)| k == key) {
                Some((_, v)) => codec::decode_doc(key, v.as_slice()).map_err(abort)?,
                None => DocRecord::default(),
            })
        })?;
        Ok(f(d))
    }

    /// Runs `f` on the line bucket `key` (empty if none); `write`: it changes the bucket.
    fn with_bucket<R>(
        &self,
        key: &[u8],
        write: bool,
        f: impl FnOnce(&mut LineBucket) -> R,
    ) -> TxResult<R> {
        let mut cache = self.cache.borrow_mut();
        let b = cached(&mut cache.buckets, key, write, |k| {
            Ok(match self.t[LINE_BUCKETS].get(k)? {
                Some(v) => decode("line_buckets", k, &v).map_err(abort)?,
                None => Vec::new(),
            })
        })?;
        Ok(f(b))
    }

    /// Runs `f` on the id bucket of `tree` (`OUTBOX`, `MODELS` or `SOURCES`) holding entry
    /// `id`; `write`: it changes the bucket.
    fn with_ids<R>(
        &self,
        tree: usize,
        id: u64,
        write: bool,
        f: impl FnOnce(&mut IdBucket) -> R,
    ) -> TxResult<R> {
        let mut cache = self.cache.borrow_mut();
        let key = (tree, codec::id_bucket_key(id));
        let b = cached(&mut cache.ids, &key, write, |(tree, k)| {
            Ok(match self.t[*tree].get(k)? {
                Some(v) if *tree == MODELS => codec::decode_models_bucket(k, &v).map_err(abort)?,
                Some(v) => codec::decode_id_bucket(tree_name(*tree), k, &v).map_err(abort)?,
                None => Vec::new(),
            })
        })?;
        Ok(f(b))
    }

    /// The record of entry `id` in `tree` (`OUTBOX` or `MODELS`) as stored.
    pub(super) fn id_record(&self, tree: usize, id: u64) -> TxResult<Option<Vec<u8>>> {
        self.with_ids(tree, id, false, |b| {
            b.iter().find(|(i, _)| *i == id).map(|(_, m)| m.clone())
        })
    }

    /// Whether `tree` has a record of entry `id`.
    pub(super) fn has_id_record(&self, tree: usize, id: u64) -> TxResult<bool> {
        self.with_ids(tree, id, false, |b| b.iter().any(|(i, _)| *i == id))
    }

    /// Store (or with `None` remove) the record of entry `id` in `tree`.
    pub(super) fn set_id_record(
        &self,
        tree: usize,
        id: u64,
        record: Option<Vec<u8>>,
    ) -> TxResult<()> {
        self.with_ids(tree, id, true, |b| {
            let at = b.partition_point(|(i, _)| *i < id);
            let present = b.get(at).is_some_and(|(i, _)| *i == id);
            match (record, present) {
                (Some(r), true) => b[at].1 = r,
                (Some(r), false) => b.insert(at, (id, r)),
                (None, true) => {
                    b.remove(at);
                }
                (None, false) => {}
            }
        })
    }

    /// Marks entry `id` as waiting (`waiting`) or not at `due` in the due index of `form` (a
    /// due bucket).
    pub(super) fn set_due_bit(&self, form: &str, due: i64, id: u64, waiting: bool) -> TxResult<()> {
        self.set_bit(DUE, codec::due_bucket_key(form, due, id), id, waiting)
    }

    /// Marks entry `id` as InFlight (`sent`) or not in the in-flight index.
    pub(super) fn set_inflight_bit(&self, id: u64, sent: bool) -> TxResult<()> {
        self.set_bit(INFLIGHT, codec::id_bucket_key(id).to_vec(), id, sent)
    }

    /// Sets (`on`) or clears entry `id`'s bit in the bit record `key` of `tree`.
    fn set_bit(&self, tree: usize, key: Vec<u8>, id: u64, on: bool) -> TxResult<()> {
        let mut cache = self.cache.borrow_mut();
        let bits = cached(
            &mut cache.bits,
            &(tree, key),
            true,
            |(tree, k)| match self.t[*tree].get(k)? {
                Some(v) => codec::decode_bits(tree_name(*tree), k, &v).map_err(abort),
                None => Ok(0),
            },
        )?;
        if on {
            *bits |= codec::due_bit(id);
        } else {
            *bits &= !codec::due_bit(id);
        }
        Ok(())
    }

    /// The model JSON of entry `id`, if it has one.
    pub fn model(&self, id: u64) -> TxResult<Option<Vec<u8>>> {
        self.id_record(MODELS, id)
    }

    /// The source document (JSON) kept for entry `id`, whose mapping failed.
    pub fn source(&self, id: u64) -> TxResult<Option<Vec<u8>>> {
        match self.id_record(SOURCES, id)? {
            Some(packed) => {
                let key = codec::id_key(id);
                codec::unpack_source(&key, &packed).map(Some).map_err(abort)
            }
            None => Ok(None),
        }
    }

    /// Keep (or with `None` forget) the source document of entry `id`.
    pub fn set_source(&self, id: u64, json: Option<&[u8]>) -> TxResult<()> {
        let packed = json.filter(|j| !j.is_empty()).map(codec::pack_source);
        if packed.is_none() && !self.has_id_record(SOURCES, id)? {
            return Ok(());
        }
        self.set_id_record(SOURCES, id, packed)
    }

    /// Store (or with `None` remove) the model JSON of entry `id`.
    pub fn set_model(&self, id: u64, model: Option<Vec<u8>>) -> TxResult<()> {
        self.set_id_record(MODELS, id, model)
    }

    /// Writes the changed records back into their trees.
    pub(super) fn write_back(&self) -> TxResult<()> {
        let cache = std::mem::take(&mut *self.cache.borrow_mut());
        for ((tree, k), (bits, dirty)) in cache.bits {
            if !dirty {
                continue;
            }
            if bits == 0 {
                self.t[tree].remove(k)?;
            } else {
                self.t[tree].insert(k, &codec::encode_due_bits(bits))?;
            }
        }
        for ((tree, k), (b, dirty)) in cache.ids {
            if !dirty {
                continue;
            }
            if b.is_empty() {
                self.t[tree].remove(&k)?;
            } else if tree == MODELS {
                self.t[tree].insert(&k, codec::encode_models_bucket(&b))?;
            } else {
                self.t[tree].insert(&k, codec::encode_id_bucket(&b))?;
            }
        }
        let mut doc_buckets = cache.doc_buckets;
        for (k, (d, dirty)) in cache.docs {
            if !dirty {
                continue;
            }
            // `with_doc` loaded the bucket when it read the record.
            let bk = codec::doc_bucket_key(&k);
            let Some((b, bucket_dirty)) = doc_buckets.get_mut(&bk) else {
                return Err(abort(StoreError::Corrupt("doc bucket cache".into())));
            };
            let record = codec::encode_doc(&d);
            match b.binary_search_by(|(x, _)| x.as_slice().cmp(&k)) {
                Ok(at) => b[at].1 = record,
                Err(at) => b.insert(at, (k, record)),
            }
            *bucket_dirty = true;
        }
        for (k, (b, dirty)) in doc_buckets {
            if dirty {
                self.t[DOCS].insert(k, codec::encode_key_bucket(&b))?;
            }
        }
        for (k, (b, dirty)) in cache.buckets {
            if !dirty {
                continue;
            }
            if b.is_empty() {
                self.t[LINE_BUCKETS].remove(k)?;
            } else {
                self.t[LINE_BUCKETS].insert(k, encode(&b))?;
            }
        }
        Ok(())
    }

    /// `(entry id, fingerprint last seen)` of a (scheme, source key).
    pub fn by_key(&self, scheme: &str, source_key: &str) -> TxResult<Option<(u64, u64)>> {
        let k = pair(scheme, source_key);
        self.with_doc(&k, false, |d| d.entry)
    }

    pub fn set_by_key(&self, scheme: &str, source_key: &str, id: u64, fp: u64) -> TxResult<()> {
        let k = pair(scheme, source_key);
        self.with_doc(&k, true, |d| d.entry = Some((id, fp)))
    }

    /// Append a trace event, keeping the last `TRACE_KEEP` per (scheme, source key), in the
    /// key's doc record.
    pub fn trace(
        &self,
        scheme: &str,
        source_key: &str,
        entry: Option<u64>,
        kind: TraceKind,
    ) -> TxResult<()> {
        let key = pair(scheme, source_key);
        let now = self.now;
        self.with_doc(&key, true, |d| {
            let seq = d.events.last().map_or(0, |e| e.seq + 1);
            d.events.push(TraceEvent {
                seq,
                at: now,
                entry,
                kind,
            });
            let excess = d.events.len().saturating_sub(TRACE_KEEP as usize);
            d.events.drain(..excess);
        })
    }

    /// Forgets the trace of a (scheme, source key), keeping its entry and fingerprint (store
    /// upkeep).
    pub(super) fn clear_trace(&self, scheme: &str, source_key: &str) -> TxResult<()> {
        let key = pair(scheme, source_key);
        if self.with_doc(&key, false, |d| !d.events.is_empty())? {
            self.with_doc(&key, true, |d| d.events.clear())?;
        }
        Ok(())
    }

    /// The latest trace event of a (scheme, source key), to avoid repeating the same event.
    pub fn last_trace(&self, scheme: &str, source_key: &str) -> TxResult<Option<TraceKind>> {
        let key = pair(scheme, source_key);
        self.with_doc(&key, false, |d| d.events.last().map(|e| e.kind.clone()))
    }

    /// Trace `kind` unless it is exactly the latest event already.
    pub fn trace_once(
        &self,
        scheme: &str,
        source_key: &str,
        entry: Option<u64>,
        kind: TraceKind,
    ) -> TxResult<()> {
        if self.last_trace(scheme, source_key)?.as_ref() != Some(&kind) {
            self.trace(scheme, source_key, entry, kind)?;
        }
        Ok(())
    }

    /// Check that no other live (non-Dead) entry of the same form owns one of `e`'s line keys,
    /// then claim them all for `e`. On conflict nothing is claimed and the conflict is returned.
    pub fn claim_lines(&self, e: &OutboxEntry) -> TxResult<Option<Conflict>> {
        let mut to_claim = Vec::with_capacity(e.line_keys.len());
        for lk in &e.line_keys {
            match self.line_owner(&e.form_id, lk)? {
                Some(owner) if owner == e.id => continue,
                Some(owner) => {
                    if let Some(o) = self.get_entry(owner)? {
                        if !matches!(o.state, Delivery::Dead { .. }) {
                            return Ok(Some(Conflict {
                                line_key: lk.clone(),
                                other_id: o.id,
                                other_source_key: o.source_key,
                                other_state: o.state.name(),
                            }));
                        }
                    }
                }
                None => {}
            }
            to_claim.push(lk);
        }
        for lk in to_claim {
            self.set_line_owner(&e.form_id, lk, Some(e.id))?;
        }
        Ok(None)
    }

    /// Give up the line keys `e` owns that are not in `keep`.
    pub fn release_lines(&self, e: &OutboxEntry, keep: &[String]) -> TxResult<()> {
        for lk in e.line_keys.iter().filter(|lk| !keep.contains(lk)) {
            if self.line_owner(&e.form_id, lk)? == Some(e.id) {
                self.set_line_owner(&e.form_id, lk, None)?;
            }
        }
        Ok(())
    }

    /// Which entry owns a line key of `form`.
    fn line_owner(&self, form: &str, lk: &str) -> TxResult<Option<u64>> {
        let bk = codec::line_bucket_key(form, lk);
        self.with_bucket(&bk, false, |b| {
            b.iter().find(|(l, _)| l == lk).map(|(_, id)| *id)
        })
    }

    /// Make `owner` the owner of a line key (`None`: nobody).
    fn set_line_owner(&self, form: &str, lk: &str, owner: Option<u64>) -> TxResult<()> {
        let bk = codec::line_bucket_key(form, lk);
        self.with_bucket(&bk, true, |b| {
            b.retain(|(l, _)| l != lk);
            if let Some(id) = owner {
                b.push((lk.to_string(), id));
            }
        })
    }
}
