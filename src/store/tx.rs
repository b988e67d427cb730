//! The inside of one store transaction: reads and writes over every tree involved, keeping the
//! indexes (`docs`, `line_buckets`, `due`, `inflight`, `dead`), the counters and the trace in step
//! with the outbox entries. Every state change goes through `put_entry`, which derives the index
//! keys and counter deltas from the old and new entry, so indexes cannot drift from entries.

use std::cell::RefCell;
use std::collections::BTreeMap;

use sled::transaction::{ConflictableTransactionError, TransactionalTree};

use super::codec::{self, decode, id_key, pair};
use super::error::StoreError;
use super::records::Records;
use super::types::{Delivery, OutboxEntry};

pub(crate) type TxResult<T> = Result<T, ConflictableTransactionError<StoreError>>;

/// Number of trace events kept per (scheme, source key).
pub const TRACE_KEEP: u64 = 32;

/// Tree names, in the order `Tx` expects them.
pub(crate) const TX_TREES: [&str; 11] = [
    "outbox",
    "due",
    "inflight",
    "dead",
    "counters",
    "filtered",
    "schemes",
    "models",
    "line_buckets",
    "docs",
    "sources",
];
pub(super) const OUTBOX: usize = 0;
pub(super) const DUE: usize = 1;
/// InFlight entries: a bit per entry under its id bucket key (`codec::id_bucket_key`), like
/// the due index's bits.
pub(super) const INFLIGHT: usize = 2;
const DEAD: usize = 3;
const COUNTERS: usize = 4;
const FILTERED: usize = 5;
const SCHEMES: usize = 6;
/// Mapped models, written once per model: state changes rewrite only the small entry record.
/// A record holds the models of 16 entries, compressed together (`codec::encode_models_bucket`).
pub(super) const MODELS: usize = 7;
/// Line key owners, bucketed (`codec::line_bucket_key`).
pub(super) const LINE_BUCKETS: usize = 8;
/// Per source document: its entry and fingerprint, and its trace (`codec::DocRecord`).
pub(super) const DOCS: usize = 9;
/// The source document (compressed JSON) of an entry whose mapping failed, so that a person can
/// fix the mapping and replay it; removed once the entry has a model.
pub(super) const SOURCES: usize = 10;

/// The name of a `Tx` tree (for messages).
pub(super) fn tree_name(i: usize) -> &'static str {
    TX_TREES.get(i).copied().unwrap_or("?")
}

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
    Dropped = 7,
}

impl Counter {
    pub const ALL: [Counter; 8] = [
        Counter::Pending,
        Counter::InFlight,
        Counter::Retry,
        Counter::Delivered,
        Counter::Dead,
        Counter::Changed,
        Counter::Filtered,
        Counter::Dropped,
    ];

    fn of(state: &Delivery) -> Counter {
        match state {
            Delivery::Pending => Counter::Pending,
            Delivery::InFlight { .. } => Counter::InFlight,
            Delivery::Retry { .. } => Counter::Retry,
            Delivery::Delivered { .. } => Counter::Delivered,
            Delivery::Dead { .. } => Counter::Dead,
            Delivery::Dropped { .. } => Counter::Dropped,
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
    /// The due time (a bit in a due bucket, `codec::due_bucket_key`).
    due: Option<i64>,
    inflight: bool,
    dead: Option<Vec<u8>>,
}

fn index_keys(e: &OutboxEntry) -> IndexKeys {
    IndexKeys {
        due: due_of(e),
        inflight: matches!(e.state, Delivery::InFlight { .. }),
        dead: matches!(e.state, Delivery::Dead { .. }).then(|| codec::dead_key(&e.scheme, e.id)),
    }
}

pub(crate) struct Tx<'a> {
    pub(super) t: &'a [TransactionalTree],
    pub now: i64,
    deltas: BTreeMap<(String, Counter), i64>,
    /// Doc records and line buckets read in this transaction, decoded once and written back
    /// once at `commit` (a page touches the same records several times).
    pub(super) cache: RefCell<Records>,
}

impl<'a> Tx<'a> {
    pub fn new(t: &'a [TransactionalTree], now: i64) -> Self {
        Tx {
            t,
            now,
            deltas: BTreeMap::new(),
            cache: RefCell::new(Records::default()),
        }
    }

    pub fn generate_id(&self) -> TxResult<u64> {
        Ok(self.t[OUTBOX].generate_id()?)
    }

    pub fn get_entry(&self, id: u64) -> TxResult<Option<OutboxEntry>> {
        let k = id_key(id);
        match self.id_record(OUTBOX, id)? {
            Some(v) => {
                let mut e: OutboxEntry = decode("outbox", &k, &v).map_err(abort)?;
                if let Some(m) = self.model(id)? {
                    e.model = m;
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

    /// An entry without its model (state changes that keep the model need not inflate it):
    /// `model` is empty. Pass it as `old` to `put_entry` with a `new` derived from it, and the
    /// model stays as stored.
    pub fn entry_meta(&self, id: u64) -> TxResult<OutboxEntry> {
        let k = id_key(id);
        match self.id_record(OUTBOX, id)? {
            Some(v) => decode("outbox", &k, &v).map_err(abort),
            None => Err(abort(StoreError::NotFound(id))),
        }
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
        let changed = old.map(|o| o.model != new.model).unwrap_or(true);
        if changed {
            let model = (!new.model.is_empty()).then(|| new.model.clone());
            self.set_model(new.id, model)?;
        }
        self.set_id_record(OUTBOX, new.id, Some(codec::encode_entry_record(new)))?;
        let new_keys = index_keys(new);
        let old_keys = old.map(index_keys);
        if old_keys.as_ref() != Some(&new_keys) {
            if let Some(o) = &old_keys {
                if let Some(d) = o.due {
                    self.set_due_bit(&new.form_id, d, new.id, false)?;
                }
                if o.inflight {
                    self.set_inflight_bit(new.id, false)?;
                }
                if let Some(k) = &o.dead {
                    self.t[DEAD].remove(k.as_slice())?;
                }
            }
            if let Some(d) = new_keys.due {
                self.set_due_bit(&new.form_id, d, new.id, true)?;
            }
            if new_keys.inflight {
                self.set_inflight_bit(new.id, true)?;
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
    /// Writes back the cached records and the counter deltas; the last step of a transaction.
    pub fn commit(&mut self) -> TxResult<()> {
        self.write_back()?;
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
        // Looked up first: a removal is a write sled applies and logs even when nothing is
        // there, and almost every new document was never filtered.
        let k = pair(scheme, source_key);
        if self.t[FILTERED].get(&k)?.is_some() {
            self.t[FILTERED].remove(k)?;
            self.count(scheme, Counter::Filtered, -1);
        }
        Ok(())
    }
}

pub(crate) fn read_i64(tree: &'static str, key: &[u8], v: &[u8]) -> Result<i64, StoreError> {
    codec::read_id(tree, key, v).map(|u| u as i64)
}

impl Tx<'_> {
    /// Remove an entry that no index other than the dead index refers to (a change notice).
    pub fn remove_notice(&mut self, e: &OutboxEntry) -> TxResult<()> {
        self.set_id_record(OUTBOX, e.id, None)?;
        self.set_model(e.id, None)?;
        self.t[DEAD].remove(codec::dead_key(&e.scheme, e.id))?;
        self.count(&e.scheme, Counter::of(&e.state), -1);
        if e.changed_after_delivery {
            self.count(&e.scheme, Counter::Changed, -1);
        }
        Ok(())
    }
}
