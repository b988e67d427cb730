//! Full consistency check of the store (scans everything: for tests and `ferry check`, never on
//! a hot path): every index agrees with the entries, counters equal recomputed counts.

use std::collections::{BTreeMap, HashMap};

use super::codec::{self, decode};
use super::tx::{self, Counter};
use super::types::{Delivery, OutboxEntry};
use super::{Store, StoreError};

/// What the check found wrong (empty = consistent).
pub type Problems = Vec<String>;

impl Store {
    /// Scan everything and list inconsistencies between entries, indexes and counters.
    pub fn check_consistency(&self) -> Result<Problems, StoreError> {
        let mut p = Problems::new();
        let mut entries: BTreeMap<u64, OutboxEntry> = BTreeMap::new();
        for kv in self.tree("outbox").iter() {
            let (k, v) = kv?;
            for (bucketed, r) in codec::decode_id_bucket("outbox", &k, &v)? {
                let mut e: OutboxEntry = decode("outbox", &k, &r)?;
                if let Some(m) = self.stored_model(e.id)? {
                    e.model = m;
                }
                if k.as_ref() != codec::id_bucket_key(e.id).as_slice() || bucketed != e.id {
                    p.push(format!(
                        "outbox key {} holds entry {}",
                        codec::show_key(&k),
                        e.id
                    ));
                }
                entries.insert(e.id, e);
            }
        }
        let mut counted: HashMap<Vec<u8>, i64> = HashMap::new();
        let mut primaries: HashMap<u64, usize> = HashMap::new();
        let mut named = Vec::new();
        for (k, v) in self.doc_records()? {
            if let Some((id, _)) = codec::doc_entry(&k, &v)? {
                named.push((k, id));
            }
        }
        for (k, id) in named {
            *primaries.entry(id).or_default() += 1;
            match entries.get(&id) {
                Some(e) if codec::pair(&e.scheme, &e.source_key) == k => {}
                Some(e) => p.push(format!(
                    "by_key {} names entry {id} of {}/{}",
                    codec::show_key(&k),
                    e.scheme,
                    e.source_key
                )),
                None => p.push(format!(
                    "by_key {} names missing entry {id}",
                    codec::show_key(&k)
                )),
            }
        }
        for (id, n) in &primaries {
            if *n > 1 {
                p.push(format!("entry {id} is named by {n} source keys"));
            }
        }
        let (mut due, mut inflight, mut dead) = (Vec::new(), Vec::new(), Vec::new());
        for e in entries.values() {
            let primary = primaries.contains_key(&e.id);
            if !primary && !matches!(e.state, Delivery::Dead { .. }) {
                p.push(format!(
                    "entry {} ({}/{}) is not in by_key and not a dead notice",
                    e.id, e.scheme, e.source_key
                ));
            }
            if let Some(d) = tx::due_of(e) {
                due.push((e.form_id.clone(), d, e.id));
            }
            if matches!(e.state, Delivery::InFlight { .. }) {
                inflight.push(e.id);
            }
            if matches!(e.state, Delivery::Dead { .. }) {
                dead.push((codec::dead_key(&e.scheme, e.id), Vec::new()));
            } else {
                for lk in &e.line_keys {
                    let bk = codec::line_bucket_key(&e.form_id, lk);
                    let bucket = self.tree("line_buckets").get(&bk)?;
                    let owner = codec::bucket_owner(&bk, bucket.as_deref(), lk)?;
                    if owner != Some(e.id) {
                        p.push(format!(
                            "live entry {} does not own its line key {lk}",
                            e.id
                        ));
                    }
                }
            }
            let c = match e.state {
                Delivery::Pending => Counter::Pending,
                Delivery::InFlight { .. } => Counter::InFlight,
                Delivery::Retry { .. } => Counter::Retry,
                Delivery::Delivered { .. } => Counter::Delivered,
                Delivery::Dead { .. } => Counter::Dead,
                Delivery::Dropped { .. } => Counter::Dropped,
            };
            *counted.entry(tx::counter_key(&e.scheme, c)).or_default() += 1;
            if e.changed_after_delivery {
                *counted
                    .entry(tx::counter_key(&e.scheme, Counter::Changed))
                    .or_default() += 1;
            }
        }
        for kv in self.tree("filtered").iter() {
            let (k, _) = kv?;
            let scheme = k.split(|b| *b == 0).next().unwrap_or_default();
            let scheme = String::from_utf8_lossy(scheme);
            *counted
                .entry(tx::counter_key(&scheme, Counter::Filtered))
                .or_default() += 1;
        }
        let due = bit_records(
            due.into_iter()
                .map(|(form, due, id)| (codec::due_bucket_key(&form, due, id), id)),
        );
        let inflight = bit_records(
            inflight
                .into_iter()
                .map(|id| (codec::id_bucket_key(id).to_vec(), id)),
        );
        for (name, want) in [("due", due), ("inflight", inflight), ("dead", dead)] {
            let have: Vec<(Vec<u8>, Vec<u8>)> = self
                .tree(name)
                .iter()
                .map(|kv| kv.map(|(k, v)| (k.to_vec(), v.to_vec())))
                .collect::<Result<_, _>>()?;
            let mut want = want;
            want.sort();
            if have != want {
                p.push(format!(
                    "{name} index has {} records, entries imply {} (or their contents differ)",
                    have.len(),
                    want.len()
                ));
            }
        }
        for kv in self.tree("counters").iter() {
            let (k, v) = kv?;
            let n = tx::read_i64("counters", &k, &v)?;
            let want = counted.remove(k.as_ref()).unwrap_or(0);
            if n != want {
                p.push(format!(
                    "counter {} is {n}, entries imply {want}",
                    codec::show_key(&k)
                ));
            }
        }
        for (k, want) in counted {
            p.push(format!(
                "counter {} missing, entries imply {want}",
                codec::show_key(&k)
            ));
        }
        Ok(p)
    }
}

/// The bit records (`due`, `inflight`) that entries imply: for each (record key, entry id), the
/// entry's bit set in that record.
fn bit_records(entries: impl IntoIterator<Item = (Vec<u8>, u64)>) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut buckets: BTreeMap<Vec<u8>, codec::DueBits> = BTreeMap::new();
    for (key, id) in entries {
        *buckets.entry(key).or_default() |= codec::due_bit(id);
    }
    buckets
        .into_iter()
        .map(|(k, bits)| (k, codec::encode_due_bits(bits).to_vec()))
        .collect()
}
