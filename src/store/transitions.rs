//! Delivery transitions after ingest: send, finish (a whole BatchSave's outcomes), replay of dead
//! letters, and dismissal of change notices. Each call is one transaction + flush; an invalid
//! transition aborts the whole call with `InvalidTransition` and changes nothing.

use super::tx::{abort, Tx, TxResult};
use super::types::{Delivery, Finish, NewEntry, OutboxEntry, TraceKind};
use super::{Store, StoreError};

fn invalid(
    e: &OutboxEntry,
    to: &str,
) -> sled::transaction::ConflictableTransactionError<StoreError> {
    abort(StoreError::InvalidTransition {
        id: e.id,
        from: e.state.name().to_string(),
        to: to.to_string(),
    })
}

/// True if `e` is a change-after-delivery notice (a Dead entry the by-key index does not name).
fn is_notice(tx: &Tx, e: &OutboxEntry) -> TxResult<bool> {
    Ok(tx.by_key(&e.scheme, &e.source_key)?.map(|(id, _)| id) != Some(e.id))
}

impl Store {
    /// Pending/Retry → InFlight in batch `batch`, attempts + 1. Returns the updated entries,
    /// without their models (the caller read those with `due`).
    pub fn begin_send(&self, ids: &[u64], batch: u64) -> Result<Vec<OutboxEntry>, StoreError> {
        self.run(|tx| {
            let mut out = Vec::with_capacity(ids.len());
            for &id in ids {
                let old = tx.entry_meta(id)?;
                if !old.state.is_unsent() {
                    return Err(invalid(&old, "InFlight"));
                }
                let mut e = old.clone();
                e.state = Delivery::InFlight {
                    batch,
                    since: tx.now,
                };
                e.attempts += 1;
                e.updated_at = tx.now;
                let kind = TraceKind::Sent {
                    batch,
                    attempt: e.attempts,
                };
                tx.trace(&e.scheme, &e.source_key, Some(id), kind)?;
                tx.put_entry(Some(&old), &e)?;
                out.push(e);
            }
            Ok(out)
        })
    }

    /// Apply the outcomes of sent entries (all InFlight) in one transaction.
    pub fn finish(&self, results: Vec<(u64, Finish)>) -> Result<(), StoreError> {
        self.run(|tx| {
            for (id, f) in &results {
                let old = tx.entry_meta(*id)?;
                let (state, kind) = match f {
                    Finish::Delivered { kingdee_id, number } => (
                        Delivery::Delivered {
                            kingdee_id: kingdee_id.clone(),
                            number: number.clone(),
                            at: tx.now,
                        },
                        TraceKind::Delivered {
                            kingdee_id: kingdee_id.clone(),
                            number: number.clone(),
                        },
                    ),
                    Finish::Retry { due, error } => (
                        Delivery::Retry {
                            due: *due,
                            last_error: error.clone(),
                        },
                        TraceKind::Retry {
                            due: *due,
                            error: error.clone(),
                        },
                    ),
                    Finish::Dead { error } => (
                        Delivery::Dead {
                            error: error.clone(),
                            at: tx.now,
                        },
                        TraceKind::Dead {
                            error: error.clone(),
                        },
                    ),
                    Finish::Pending => (Delivery::Pending, TraceKind::Requeued),
                    Finish::Requeue { error } => (
                        Delivery::Pending,
                        TraceKind::Retry {
                            due: tx.now,
                            error: error.clone(),
                        },
                    ),
                };
                if !matches!(old.state, Delivery::InFlight { .. }) {
                    return Err(invalid(&old, state.name()));
                }
                let mut e = old.clone();
                e.state = state;
                e.updated_at = tx.now;
                if matches!(f, Finish::Requeue { .. }) {
                    e.attempts = e.attempts.saturating_sub(1);
                }
                tx.trace(&e.scheme, &e.source_key, Some(*id), kind)?;
                tx.put_entry(Some(&old), &e)?;
            }
            Ok(())
        })
    }

    /// Dead → Pending after a person fixed the cause: error cleared, attempts reset. Fails with
    /// `LineKeyConflict` if another live document took one of its line keys meanwhile, and with
    /// `InvalidTransition` for change notices (re-posting a delivered document would post it
    /// twice; use `dismiss`).
    pub fn replay(&self, id: u64) -> Result<OutboxEntry, StoreError> {
        self.run(|tx| {
            let old = tx.entry(id)?;
            if !matches!(old.state, Delivery::Dead { .. }) {
                return Err(invalid(&old, "Pending"));
            }
            if is_notice(tx, &old)? {
                return Err(invalid(&old, "Pending (it reports a change after delivery; fix Kingdee by hand, then dismiss it)"));
            }
            if old.model.is_empty() {
                return Err(invalid(&old, "Pending (it has no mapped model; fix the source or mapping, it comes back when re-fetched)"));
            }
            requeue(tx, &old, old.clone())
        })
    }

    /// The source document kept for entry `id` (its mapping failed), as JSON.
    pub fn source_of(&self, id: u64) -> Result<Option<Vec<u8>>, StoreError> {
        self.run(|tx| tx.source(id))
    }

    /// Dead → Pending with a model a person's fixed mapping made from the kept source document
    /// (`n`), attempts reset. Fails like [`Store::replay`] for notices and line-key conflicts.
    pub fn replay_mapped(&self, id: u64, n: NewEntry) -> Result<OutboxEntry, StoreError> {
        self.run(|tx| {
            let old = tx.entry(id)?;
            if !matches!(old.state, Delivery::Dead { .. }) {
                return Err(invalid(&old, "Pending"));
            }
            if is_notice(tx, &old)? || n.source_key != old.source_key {
                return Err(invalid(&old, "Pending (with a new model)"));
            }
            tx.release_lines(&old, &n.line_keys)?;
            let mut e = old.clone();
            e.identity = n.identity.clone();
            e.line_keys = n.line_keys.clone();
            e.model = n.model.clone();
            e.fingerprint = n.fingerprint;
            let e = requeue(tx, &old, e)?;
            tx.set_source(id, None)?;
            tx.set_by_key(&e.scheme, &e.source_key, id, n.fingerprint)
                .map(|_| e)
        })
    }

    /// A person takes a dead letter off the list, saying why: a change notice is removed, any
    /// other entry becomes Dropped (never posted; its key stays known, so a re-fetch does not
    /// post it either). The reason goes into the trace.
    pub fn drop_dead(&self, id: u64, reason: &str) -> Result<(), StoreError> {
        self.run(|tx| {
            let old = tx.entry(id)?;
            if !matches!(old.state, Delivery::Dead { .. }) {
                return Err(invalid(&old, "Dropped (only dead letters can be dropped)"));
            }
            let kind = TraceKind::Dropped {
                reason: reason.to_string(),
            };
            if is_notice(tx, &old)? {
                tx.trace(&old.scheme, &old.source_key, Some(id), kind)?;
                return tx.remove_notice(&old);
            }
            let mut e = old.clone();
            e.state = Delivery::Dropped {
                reason: reason.to_string(),
                at: tx.now,
            };
            e.updated_at = tx.now;
            tx.release_lines(&old, &[])?;
            tx.trace(&e.scheme, &e.source_key, Some(id), kind)?;
            tx.put_entry(Some(&old), &e)
        })
    }

    /// Remove a change-after-delivery notice from the dead letters once a person handled it.
    pub fn dismiss(&self, id: u64) -> Result<(), StoreError> {
        self.run(|tx| {
            let old = tx.entry(id)?;
            if !matches!(old.state, Delivery::Dead { .. }) || !is_notice(tx, &old)? {
                return Err(invalid(
                    &old,
                    "dismissed (only change notices can be dismissed)",
                ));
            }
            tx.remove_notice(&old)
        })
    }
}

/// A replayed dead letter `e` (from `old`, perhaps with a new model) back to Pending with its
/// attempts reset: its line keys claimed again, the replay traced.
fn requeue(tx: &mut Tx, old: &OutboxEntry, mut e: OutboxEntry) -> TxResult<OutboxEntry> {
    e.state = Delivery::Pending;
    e.attempts = 0;
    e.updated_at = tx.now;
    if let Some(c) = tx.claim_lines(&e)? {
        return Err(abort(c.into_error(e.id)));
    }
    tx.trace(&e.scheme, &e.source_key, Some(e.id), TraceKind::Replayed)?;
    tx.put_entry(Some(old), &e)?;
    Ok(e)
}
