//! The inside of one store transaction: reads and writes over every tree involved, keeping the
//! indexes (`by_key`, `line_keys`, `due`, `inflight`, `dead`), the counters and the trace in step
//! with the outbox entries. Every state change goes through `put_entry`, which derives the index
//! keys and counter deltas from the old and new entry, so indexes cannot drift from entries.

use std::collections::BTreeMap;

use sled::transaction::{ConflictableTransactionError, TransactionalTree};

use super::codec::{self, decode, encode, id_key, pair};
use super::error::StoreError;
use super::types::{Delivery, OutboxEntry, TraceEvent, TraceKind};

pub(crate) type TxResult<T> = Result<T, ConflictableTransactionError<StoreError>>;

/// Number of trace events kept per (scheme, source key).
pub const TRACE_KEEP: u64 = 32;

/// Tree names, in the order `Tx` expects them.
pub(crate) const TX_TREES: [&str; 14] = [
    "outbox",
    "by_key",
    "line_keys",
    "due",
    "inflight",
    "dead",
    "counters",
    "trace",
    "trace_head",
    "filtered",
    "schemes",
    "models",
    "line_buckets",
    "docs",
];
const OUTBOX: usize = 0;
const BY_KEY: usize = 1;
const LINE_KEYS: usize = 2;
const DUE: usize = 3;
const INFLIGHT: usize = 4;
const DEAD: usize = 5;
const COUNTERS: usize = 6;
const TRACE: usize = 7;
const TRACE_HEAD: usize = 8;
const FILTERED: usize = 9;
const SCHEMES: usize = 10;
/// Mapped models, written once per model: state changes rewrite only the small entry record.
const MODELS: usize = 11;
/// Line key owners, bucketed (`codec::line_bucket_key`). `LINE_KEYS` (one key per line) is
/// what older ferries wrote: still read, emptied as lines are claimed or released.
const LINE_BUCKETS: usize = 12;
/// Per source document: its entry and fingerprint, and its trace (`codec::DocRecord`).
/// `BY_KEY`, `TRACE` and `TRACE_HEAD` are what older ferries wrote: still read.
const DOCS: usize = 13;

/// Which per-scheme counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Counter {
    Pending = 0,
    InFlight = 1,
    Retry = 2,
    Delivered = 3,
    Dead = 4,
    Changed = 5,
    Filtered = 6,
}

impl Counter {
    pub const ALL: [Counter; 7] = [
        Counter::Pending,
        Counter::InFlight,
        Counter::Retry,
        Counter::Delivered,
        Counter::Dead,
        Counter::Changed,
        Counter::Filtered,
    ];

    fn of(state: &Delivery) -> Counter {
        match state {
            Delivery::Pending => Counter::Pending,
            Delivery::InFlight { .. } => Counter::InFlight,
            Delivery::Retry { .. } => Counter::Retry,
            Delivery::Delivered { .. } => Counter::Delivered,
            Delivery::Dead { .. } => Counter::Dead,
        }
    }
}

pub(crate) fn counter_key(scheme: &str, c: Counter) -> Vec<u8> {
    let mut k = codec::prefix(scheme);
    k.push(c as u8);
    k
}

pub(crate) fn abort(e: StoreError) -> ConflictableTransactionError<StoreError> {
    ConflictableTransactionError::Abort(e)
}

/// The due-index position of an entry, if it is waiting to be sent.
pub(crate) fn due_of(e: &OutboxEntry) -> Option<i64> {
    match &e.state {
        Delivery::Pending => Some(e.created_at),
        Delivery::Retry { due, .. } => Some(*due),
        _ => None,
    }
}

/// Index keys derived from an entry.
#[derive(PartialEq, Eq)]
struct IndexKeys {
    due: Option<Vec<u8>>,
    inflight: bool,
    dead: Option<Vec<u8>>,
}

fn index_keys(e: &OutboxEntry) -> IndexKeys {
    IndexKeys {
        due: due_of(e).map(|d| codec::due_key(&e.form_id, d, e.id)),
        inflight: matches!(e.state, Delivery::InFlight { .. }),
        dead: matches!(e.state, Delivery::Dead { .. }).then(|| codec::dead_key(&e.scheme, e.id)),
    }
}

pub(crate) struct Tx<'a> {
    t: &'a [TransactionalTree],
    pub now: i64,
    deltas: BTreeMap<(String, Counter), i64>,
}

impl<'a> Tx<'a> {
    pub fn new(t: &'a [TransactionalTree], now: i64) -> Self {
        Tx {
            t,
            now,
            deltas: BTreeMap::new(),
        }
    }

    pub fn generate_id(&self) -> TxResult<u64> {
        Ok(self.t[OUTBOX].generate_id()?)
    }

    pub fn get_entry(&self, id: u64) -> TxResult<Option<OutboxEntry>> {
        let k = id_key(id);
        match self.t[OUTBOX].get(k)? {
            Some(v) => {
                let mut e: OutboxEntry = decode("outbox", &k, &v).map_err(abort)?;
                if let Some(m) = self.t[MODELS].get(k)? {
                    e.model = codec::unpack_model(&k, &m).map_err(abort)?;
                }
                Ok(Some(e))
            }
            None => Ok(None),
        }
    }

    pub fn entry(&self, id: u64) -> TxResult<OutboxEntry> {
        self.get_entry(id)?
            .ok_or_else(|| abort(StoreError::NotFound(id)))
    }

    /// Write `new` (replacing `old`), moving index keys and counters accordingly.
    pub fn put_entry(&mut self, old: Option<&OutboxEntry>, new: &OutboxEntry) -> TxResult<()> {
        if let Some(o) = old {
            if o.id != new.id || o.scheme != new.scheme || o.form_id != new.form_id {
                return Err(abort(StoreError::Corrupt(format!(
                    "entry {} cannot change id, scheme or form",
                    o.id
                ))));
            }
        }
        if old.map(|o| o.model != new.model).unwrap_or(true) {
            if new.model.is_empty() {
                self.t[MODELS].remove(&id_key(new.id))?;
            } else {
                self.t[MODELS].insert(&id_key(new.id), codec::pack_model(&new.model))?;
            }
        }
        self.t[OUTBOX].insert(&id_key(new.id), codec::encode_entry_record(new))?;
        let new_keys = index_keys(new);
        let old_keys = old.map(index_keys);
        if old_keys.as_ref() != Some(&new_keys) {
            if let Some(o) = &old_keys {
                if let Some(k) = &o.due {
                    self.t[DUE].remove(k.as_slice())?;
                }
                if o.inflight {
                    self.t[INFLIGHT].remove(&id_key(new.id))?;
                }
                if let Some(k) = &o.dead {
                    self.t[DEAD].remove(k.as_slice())?;
                }
            }
            if let Some(k) = &new_keys.due {
                self.t[DUE].insert(k.as_slice(), &[])?;
            }
            if new_keys.inflight {
                self.t[INFLIGHT].insert(&id_key(new.id), &[])?;
            }
            if let Some(k) = &new_keys.dead {
                self.t[DEAD].insert(k.as_slice(), &[])?;
            }
        }
        let new_c = Counter::of(&new.state);
        match old {
            Some(o) => {
                let old_c = Counter::of(&o.state);
                if old_c != new_c {
                    self.count(&new.scheme, old_c, -1);
                    self.count(&new.scheme, new_c, 1);
                }
                if o.changed_after_delivery != new.changed_after_delivery {
                    self.count(
                        &new.scheme,
                        Counter::Changed,
                        if new.changed_after_delivery { 1 } else { -1 },
                    );
                }
            }
            None => {
                self.count(&new.scheme, new_c, 1);
                if new.changed_after_delivery {
                    self.count(&new.scheme, Counter::Changed, 1);
                }
            }
        }
        Ok(())
    }

    pub fn count(&mut self, scheme: &str, c: Counter, delta: i64) {
        *self.deltas.entry((scheme.to_string(), c)).or_insert(0) += delta;
    }

    /// Apply the counter deltas; call once at the end of the transaction.
    pub fn commit_counters(&mut self) -> TxResult<()> {
        for ((scheme, c), delta) in std::mem::take(&mut self.deltas) {
            if delta == 0 {
                continue;
            }
            let k = counter_key(&scheme, c);
            let cur = match self.t[COUNTERS].get(&k)? {
                Some(v) => read_i64("counters", &k, &v).map_err(abort)?,
                None => 0,
            };
            self.t[COUNTERS].insert(k, &(cur + delta).to_be_bytes())?;
        }
        Ok(())
    }

    /// `(entry id, fingerprint last seen)` of a (scheme, source key).
    pub fn by_key(&self, scheme: &str, source_key: &str) -> TxResult<Option<(u64, u64)>> {
        let k = pair(scheme, source_key);
        if let Some(v) = self.t[DOCS].get(&k)? {
            if let Some(e) = codec::doc_entry(&k, &v).map_err(abort)? {
                return Ok(Some(e));
            }
        }
        match self.t[BY_KEY].get(&k)? {
            Some(v) if v.len() == 16 => {
                let id = codec::read_id("by_key", &k, &v).map_err(abort)?;
                let fp = codec::read_id("by_key", &k, &v[8..]).map_err(abort)?;
                Ok(Some((id, fp)))
            }
            Some(_) => Err(abort(StoreError::Corrupt(format!(
                "by_key {}: bad value length",
                codec::show_key(&k)
            )))),
            None => Ok(None),
        }
    }

    pub fn set_by_key(&self, scheme: &str, source_key: &str, id: u64, fp: u64) -> TxResult<()> {
        let k = pair(scheme, source_key);
        let mut d = self.doc(&k)?;
        d.entry = Some((id, fp));
        self.t[DOCS].insert(k.as_slice(), codec::encode_doc(&d))?;
        if self.t[BY_KEY].get(&k)?.is_some() {
            self.t[BY_KEY].remove(k)?;
        }
        Ok(())
    }

    /// The doc record of `key` (empty if none).
    fn doc(&self, key: &[u8]) -> TxResult<codec::DocRecord> {
        match self.t[DOCS].get(key)? {
            Some(v) => codec::decode_doc(key, &v).map_err(abort),
            None => Ok(codec::DocRecord::default()),
        }
    }

    /// Remember that a scheme writes to a form (for `schemes()` and `due(None, ..)`).
    pub fn note_scheme(&self, scheme: &str, form_id: &str) -> TxResult<()> {
        let k = pair(scheme, form_id);
        if self.t[SCHEMES].get(&k)?.is_none() {
            self.t[SCHEMES].insert(k, &[])?;
        }
        Ok(())
    }

    /// Record a filtered document; returns true if it was not filtered (with this reason) before.
    pub fn set_filtered(&mut self, scheme: &str, source_key: &str, reason: &str) -> TxResult<bool> {
        let old = self.t[FILTERED].insert(pair(scheme, source_key), reason.as_bytes())?;
        if old.is_none() {
            self.count(scheme, Counter::Filtered, 1);
        }
        Ok(old.as_deref() != Some(reason.as_bytes()))
    }

    /// The document is no longer filtered (it became an entry).
    pub fn clear_filtered(&mut self, scheme: &str, source_key: &str) -> TxResult<()> {
        if self.t[FILTERED].remove(pair(scheme, source_key))?.is_some() {
            self.count(scheme, Counter::Filtered, -1);
        }
        Ok(())
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
        let mut d = self.doc(&key)?;
        let seq = match d.events.last() {
            Some(last) => last.seq + 1,
            // A key traced by an older ferry continues its numbering.
            None => match self.t[TRACE_HEAD].get(&key)? {
                Some(v) => codec::read_id("trace_head", &key, &v).map_err(abort)?,
                None => 0,
            },
        };
        d.events.push(TraceEvent {
            seq,
            at: self.now,
            entry,
            kind,
        });
        let excess = d.events.len().saturating_sub(TRACE_KEEP as usize);
        d.events.drain(..excess);
        self.t[DOCS].insert(key, codec::encode_doc(&d))?;
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
        let bucket = self.t[LINE_BUCKETS].get(&bk)?;
        if let Some(id) = codec::bucket_owner(&bk, bucket.as_deref(), lk).map_err(abort)? {
            return Ok(Some(id));
        }
        let k = pair(form, lk);
        match self.t[LINE_KEYS].get(&k)? {
            Some(v) => Ok(Some(codec::read_id("line_keys", &k, &v).map_err(abort)?)),
            None => Ok(None),
        }
    }

    /// Make `owner` the owner of a line key (`None`: nobody).
    fn set_line_owner(&self, form: &str, lk: &str, owner: Option<u64>) -> TxResult<()> {
        let bk = codec::line_bucket_key(form, lk);
        let mut bucket: codec::LineBucket = match self.t[LINE_BUCKETS].get(&bk)? {
            Some(v) => decode("line_buckets", &bk, &v).map_err(abort)?,
            None => Vec::new(),
        };
        bucket.retain(|(l, _)| l != lk);
        if let Some(id) = owner {
            bucket.push((lk.to_string(), id));
        }
        if bucket.is_empty() {
            self.t[LINE_BUCKETS].remove(bk)?;
        } else {
            self.t[LINE_BUCKETS].insert(bk, encode(&bucket))?;
        }
        let legacy = pair(form, lk);
        if self.t[LINE_KEYS].get(&legacy)?.is_some() {
            self.t[LINE_KEYS].remove(legacy)?;
        }
        Ok(())
    }
}

pub(crate) fn read_i64(tree: &'static str, key: &[u8], v: &[u8]) -> Result<i64, StoreError> {
    codec::read_id(tree, key, v).map(|u| u as i64)
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

impl Tx<'_> {
    /// The latest trace event of a (scheme, source key), to avoid repeating the same event.
    pub fn last_trace(&self, scheme: &str, source_key: &str) -> TxResult<Option<TraceKind>> {
        let head_key = pair(scheme, source_key);
        if let Some(last) = self.doc(&head_key)?.events.pop() {
            return Ok(Some(last.kind));
        }
        // Written by an older ferry: one record per event, numbered by `trace_head`.
        let Some(v) = self.t[TRACE_HEAD].get(&head_key)? else {
            return Ok(None);
        };
        let seq = codec::read_id("trace_head", &head_key, &v).map_err(abort)?;
        let Some(prev) = seq.checked_sub(1) else {
            return Ok(None);
        };
        let mut k = head_key;
        k.push(0);
        k.push((prev % TRACE_KEEP) as u8);
        match self.t[TRACE].get(&k)? {
            Some(v) => Ok(Some(
                decode::<TraceEvent>("trace", &k, &v).map_err(abort)?.kind,
            )),
            None => Ok(None),
        }
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

    /// Remove an entry that no index other than the dead index refers to (a change notice).
    pub fn remove_notice(&mut self, e: &OutboxEntry) -> TxResult<()> {
        self.t[OUTBOX].remove(&id_key(e.id))?;
        self.t[MODELS].remove(&id_key(e.id))?;
        self.t[DEAD].remove(codec::dead_key(&e.scheme, e.id))?;
        self.count(&e.scheme, Counter::of(&e.state), -1);
        if e.changed_after_delivery {
            self.count(&e.scheme, Counter::Changed, -1);
        }
        Ok(())
    }
}
