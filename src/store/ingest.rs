//! `Store::ingest`: one page of mapped documents in one transaction, with dedupe by source key
//! and fingerprint, and line keys never claimed by two live documents.

use super::tx::{Tx, TxResult};
use super::types::{
    DeadNote, Delivery, Ingest, IngestReport, NewEntry, OnChange, OutboxEntry, TraceKind,
};
use super::{Store, StoreError};

/// Fingerprint recorded for documents whose mapping failed or that were filtered after being
/// mapped: any later successful mapping counts as a change.
const NO_FINGERPRINT: u64 = 0;

impl Store {
    /// Record a page of mapping outcomes for `scheme` (target `form_id`) in one transaction.
    pub fn ingest(
        &self,
        scheme: &str,
        form_id: &str,
        items: Vec<Ingest>,
        on_change: OnChange,
    ) -> Result<IngestReport, StoreError> {
        self.run(|tx| {
            tx.note_scheme(scheme, form_id)?;
            let mut r = IngestReport::default();
            let ctx = Ctx {
                scheme,
                form_id,
                on_change,
            };
            for item in &items {
                match item {
                    Ingest::New(n) => ctx.mapped(tx, n, &mut r)?,
                    Ingest::Filtered { source_key, reason } => {
                        ctx.filtered(tx, source_key, reason, &mut r)?
                    }
                    Ingest::Failed {
                        source_key,
                        error,
                        source,
                    } => ctx.failed(tx, source_key, error, source, &mut r)?,
                }
            }
            Ok(r)
        })
    }
}

struct Ctx<'a> {
    scheme: &'a str,
    form_id: &'a str,
    on_change: OnChange,
}

impl Ctx<'_> {
    fn fresh(&self, tx: &Tx, source_key: &str, state: Delivery) -> TxResult<OutboxEntry> {
        Ok(OutboxEntry {
            id: tx.generate_id()?,
            scheme: self.scheme.to_string(),
            form_id: self.form_id.to_string(),
            source_key: source_key.to_string(),
            identity: String::new(),
            line_keys: Vec::new(),
            model: Vec::new(),
            fingerprint: NO_FINGERPRINT,
            state,
            attempts: 0,
            created_at: tx.now,
            updated_at: tx.now,
            changed_after_delivery: false,
        })
    }

    /// Claim `e`'s line keys or make it Dead naming the conflict; true if claimed.
    fn claim_or_die(&self, tx: &Tx, e: &mut OutboxEntry, r: &mut IngestReport) -> TxResult<bool> {
        match tx.claim_lines(e)? {
            None => Ok(true),
            Some(c) => {
                let error = c.message();
                tx.trace(
                    self.scheme,
                    &e.source_key,
                    Some(e.id),
                    TraceKind::Dead {
                        error: error.clone(),
                    },
                )?;
                r.dead(&e.source_key, &e.identity, &error);
                e.state = Delivery::Dead { error, at: tx.now };
                r.line_key_conflicts += 1;
                Ok(false)
            }
        }
    }

    fn mapped(&self, tx: &mut Tx, n: &NewEntry, r: &mut IngestReport) -> TxResult<()> {
        let key = n.source_key.as_str();
        let Some((id, seen)) = tx.by_key(self.scheme, key)? else {
            tx.clear_filtered(self.scheme, key)?;
            let mut e = self.fresh(tx, key, Delivery::Pending)?;
            set_model(&mut e, n);
            let kind = TraceKind::Ingested {
                identity: n.identity.clone(),
                fingerprint: n.fingerprint,
            };
            tx.trace(self.scheme, key, Some(e.id), kind)?;
            if self.claim_or_die(tx, &mut e, r)? {
                r.new += 1;
            }
            tx.put_entry(None, &e)?;
            return tx.set_by_key(self.scheme, key, e.id, n.fingerprint);
        };
        if seen == n.fingerprint {
            r.unchanged += 1;
            return Ok(());
        }
        let old = tx.entry(id)?;
        let mut e = old.clone();
        e.updated_at = tx.now;
        match &old.state {
            Delivery::Pending | Delivery::Retry { .. } | Delivery::Dead { .. } => {
                let was_dead = matches!(old.state, Delivery::Dead { .. });
                tx.release_lines(&old, &n.line_keys)?;
                tx.set_source(id, None)?;
                set_model(&mut e, n);
                let (from, to, identity) = (old.fingerprint, n.fingerprint, n.identity.clone());
                let kind = if was_dead {
                    e.state = Delivery::Pending;
                    e.attempts = 0;
                    TraceKind::Revived { identity, from, to }
                } else {
                    TraceKind::Updated { identity, from, to }
                };
                tx.trace(self.scheme, key, Some(id), kind)?;
                if self.claim_or_die(tx, &mut e, r)? {
                    if was_dead {
                        r.revived += 1;
                    } else {
                        r.updated_pending += 1;
                    }
                }
            }
            Delivery::InFlight { .. } | Delivery::Delivered { .. } | Delivery::Dropped { .. } => {
                r.changed_after_delivery += 1;
                e.changed_after_delivery = true;
                let notice = match self.on_change {
                    OnChange::Record => None,
                    OnChange::DeadLetter => {
                        let error = format!(
                            "document changed after delivery (fingerprint {seen:016x} → {:016x}); not re-posted",
                            n.fingerprint
                        );
                        r.dead(key, &n.identity, &error);
                        let mut d = self.fresh(tx, key, Delivery::Dead { error, at: tx.now })?;
                        // The notice carries the new model for the person, but claims no line keys.
                        d.identity = n.identity.clone();
                        d.model = n.model.clone();
                        d.fingerprint = n.fingerprint;
                        tx.put_entry(None, &d)?;
                        Some(d.id)
                    }
                };
                let kind = TraceKind::ChangedAfterDelivery {
                    from: seen,
                    to: n.fingerprint,
                    dead_letter: notice,
                };
                tx.trace(self.scheme, key, Some(id), kind)?;
            }
        }
        tx.put_entry(Some(&old), &e)?;
        tx.set_by_key(self.scheme, key, id, n.fingerprint)
    }

    fn filtered(&self, tx: &mut Tx, key: &str, reason: &str, r: &mut IngestReport) -> TxResult<()> {
        r.filtered += 1;
        let Some((id, _)) = tx.by_key(self.scheme, key)? else {
            if tx.set_filtered(self.scheme, key, reason)? {
                tx.trace(
                    self.scheme,
                    key,
                    None,
                    TraceKind::Filtered {
                        reason: reason.to_string(),
                    },
                )?;
            }
            return Ok(());
        };
        let old = tx.entry(id)?;
        tx.trace_once(
            self.scheme,
            key,
            Some(id),
            TraceKind::Filtered {
                reason: reason.to_string(),
            },
        )?;
        if old.state.is_unsent() {
            // Not sent yet and no longer wanted: do not post it; a person sees why.
            let error =
                format!("document no longer passes the scheme's filter ({reason}); not posted");
            let mut e = old.clone();
            r.dead(key, &old.identity, &error);
            e.state = Delivery::Dead {
                error: error.clone(),
                at: tx.now,
            };
            e.updated_at = tx.now;
            tx.trace(self.scheme, key, Some(id), TraceKind::Dead { error })?;
            tx.put_entry(Some(&old), &e)?;
            tx.set_by_key(self.scheme, key, id, NO_FINGERPRINT)?;
        }
        Ok(())
    }

    fn failed(
        &self,
        tx: &mut Tx,
        key: &str,
        error: &str,
        source: &[u8],
        r: &mut IngestReport,
    ) -> TxResult<()> {
        r.failed += 1;
        let kind = TraceKind::Failed {
            error: error.to_string(),
        };
        let Some((id, _)) = tx.by_key(self.scheme, key)? else {
            tx.clear_filtered(self.scheme, key)?;
            r.dead(key, "", error);
            let e = self.fresh(
                tx,
                key,
                Delivery::Dead {
                    error: error.to_string(),
                    at: tx.now,
                },
            )?;
            tx.trace(self.scheme, key, Some(e.id), kind)?;
            tx.put_entry(None, &e)?;
            tx.set_source(e.id, Some(source))?;
            return tx.set_by_key(self.scheme, key, e.id, NO_FINGERPRINT);
        };
        let old = tx.entry(id)?;
        match &old.state {
            Delivery::Dead {
                error: old_error, ..
            } if old_error == error => {
                // Same failure again: nothing new to trace; a later successful mapping revives it.
                tx.set_by_key(self.scheme, key, id, NO_FINGERPRINT)
            }
            Delivery::Pending | Delivery::Retry { .. } | Delivery::Dead { .. } => {
                r.dead(key, &old.identity, error);
                let mut e = old.clone();
                e.state = Delivery::Dead {
                    error: error.to_string(),
                    at: tx.now,
                };
                e.updated_at = tx.now;
                tx.trace(self.scheme, key, Some(id), kind)?;
                tx.put_entry(Some(&old), &e)?;
                tx.set_source(id, Some(source))?;
                tx.set_by_key(self.scheme, key, id, NO_FINGERPRINT)
            }
            // Already sent: the failure does not change what Kingdee has; keep it visible.
            Delivery::InFlight { .. } | Delivery::Delivered { .. } | Delivery::Dropped { .. } => {
                tx.trace_once(self.scheme, key, Some(id), kind)
            }
        }
    }
}

fn set_model(e: &mut OutboxEntry, n: &NewEntry) {
    e.identity = n.identity.clone();
    e.line_keys = n.line_keys.clone();
    e.model = n.model.clone();
    e.fingerprint = n.fingerprint;
}

impl IngestReport {
    fn dead(&mut self, source_key: &str, identity: &str, error: &str) {
        self.dead_letters.push(DeadNote {
            source_key: source_key.to_string(),
            identity: identity.to_string(),
            error: error.to_string(),
        });
    }
}
