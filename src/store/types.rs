//! Public record types of the store: outbox entries, their delivery state, what ingest takes and
//! reports, per-record trace events and per-scheme counts.

use serde::{Deserialize, Serialize};

/// One mapped Kingdee model waiting for, or done with, delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEntry {
    pub id: u64,
    pub scheme: String,
    pub form_id: String,
    pub source_key: String,
    pub identity: String,
    pub line_keys: Vec<String>,
    /// The Kingdee model as JSON bytes (empty for documents that failed mapping).
    pub model: Vec<u8>,
    /// FNV-1a of the model this entry carries (0 for failed documents).
    pub fingerprint: u64,
    pub state: Delivery,
    pub attempts: u32,
    pub created_at: i64,
    pub updated_at: i64,
    /// The source document changed after this entry was sent (it was not re-posted).
    pub changed_after_delivery: bool,
}

impl OutboxEntry {
    /// The model as JSON.
    pub fn model_json(&self) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::from_slice(&self.model)
    }
}

/// Delivery state of one outbox entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Delivery {
    Pending,
    InFlight {
        batch: u64,
        since: i64,
    },
    Retry {
        due: i64,
        last_error: String,
    },
    Delivered {
        kingdee_id: String,
        number: String,
        at: i64,
    },
    Dead {
        error: String,
        at: i64,
    },
    /// A person took it off the dead letters without delivering it (handled by hand, or not
    /// wanted). Never posted; its key stays known so a re-fetch does not post it either.
    Dropped {
        reason: String,
        at: i64,
    },
}

impl Delivery {
    /// Short name for messages and counters.
    pub fn name(&self) -> &'static str {
        match self {
            Delivery::Pending => "Pending",
            Delivery::InFlight { .. } => "InFlight",
            Delivery::Retry { .. } => "Retry",
            Delivery::Delivered { .. } => "Delivered",
            Delivery::Dead { .. } => "Dead",
            Delivery::Dropped { .. } => "Dropped",
        }
    }

    /// Not yet sent successfully and not given up: may still be posted.
    pub fn is_unsent(&self) -> bool {
        matches!(self, Delivery::Pending | Delivery::Retry { .. })
    }
}

/// Plain words for people (status, trace): times in Beijing time, Kingdee's messages verbatim.
impl std::fmt::Display for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::time::format_beijing;
        match self {
            Delivery::Pending => write!(f, "waiting to be sent"),
            Delivery::InFlight { batch, since } => write!(
                f,
                "in flight in batch {batch} since {} (outcome not known yet)",
                format_beijing(*since)
            ),
            Delivery::Retry { due, last_error } => write!(
                f,
                "will be retried at {}; last error: {last_error}",
                format_beijing(*due)
            ),
            Delivery::Delivered {
                kingdee_id,
                number,
                at,
            } => write!(
                f,
                "delivered at {} as {number} (Kingdee id {kingdee_id})",
                format_beijing(*at)
            ),
            Delivery::Dead { error, at } => {
                write!(f, "dead letter since {}: {error}", format_beijing(*at))
            }
            Delivery::Dropped { reason, at } => write!(
                f,
                "dropped from the dead letters at {} by a person: {reason}",
                format_beijing(*at)
            ),
        }
    }
}

/// A mapped document, as the store takes it (the pipeline converts `mapping::Mapped`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEntry {
    pub source_key: String,
    pub identity: String,
    pub line_keys: Vec<String>,
    /// JSON bytes of the Kingdee model.
    pub model: Vec<u8>,
    pub fingerprint: u64,
}

/// One outcome of mapping a fetched document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ingest {
    New(NewEntry),
    Filtered {
        source_key: String,
        reason: String,
    },
    Failed {
        source_key: String,
        error: String,
        /// The document as fetched (JSON), kept so a person can fix the mapping and replay it.
        source: Vec<u8>,
    },
}

/// What to do when a document changes after it was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnChange {
    /// Do not re-post; flag the entry (`changed_after_delivery`) and trace the change.
    #[default]
    Record,
    /// Do not re-post; flag the entry and add a dead letter saying so.
    DeadLetter,
}

/// Outcome of one sent entry, applied by `Store::finish`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finish {
    Delivered {
        kingdee_id: String,
        number: String,
    },
    Retry {
        due: i64,
        error: String,
    },
    Dead {
        error: String,
    },
    /// Reconciliation found the entry absent in Kingdee: send it again.
    Pending,
    /// Kingdee was unreachable or refused the whole call before looking at the documents: back
    /// to Pending without using up an attempt (an outage of hours must not kill documents).
    Requeue {
        error: String,
    },
}

/// What one `ingest` call did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngestReport {
    /// New entries created (Pending).
    pub new: u32,
    /// Re-fetched documents with the same fingerprint (skipped).
    pub unchanged: u32,
    /// Changed documents whose entry was already sent (not re-posted).
    pub changed_after_delivery: u32,
    /// Changed documents whose entry was not sent yet (model replaced in place).
    pub updated_pending: u32,
    /// Changed documents whose entry was Dead (model replaced, back to Pending).
    pub revived: u32,
    /// Documents made Dead because a line key belongs to another live document.
    pub line_key_conflicts: u32,
    pub filtered: u32,
    pub failed: u32,
    /// Entries this ingest made Dead (or re-killed with a new reason): for alerts and the log.
    pub dead_letters: Vec<DeadNote>,
}

/// An entry that just went to the dead letters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadNote {
    pub source_key: String,
    pub identity: String,
    pub error: String,
}

/// Per-scheme counts, maintained inside the same transactions as the entries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub pending: u64,
    pub in_flight: u64,
    pub retry: u64,
    pub delivered: u64,
    pub dead: u64,
    /// Entries flagged `changed_after_delivery`.
    pub changed_after_delivery: u64,
    /// Dead letters a person dropped.
    pub dropped: u64,
    /// Distinct source documents currently filtered out (without an entry).
    pub filtered: u64,
}

impl Counts {
    pub fn total(&self) -> u64 {
        self.pending + self.in_flight + self.retry + self.delivered + self.dead
    }
}

/// One event in the history of a (scheme, source key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceEvent {
    /// Increasing per (scheme, source key).
    pub seq: u64,
    pub at: i64,
    /// The outbox entry concerned, if any.
    pub entry: Option<u64>,
    pub kind: TraceKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TraceKind {
    /// Fetched and mapped; a new entry was created.
    Ingested {
        identity: String,
        fingerprint: u64,
    },
    /// Fetched again with a new model before it was sent; replaced in place.
    Updated {
        identity: String,
        from: u64,
        to: u64,
    },
    /// Fetched again with a new model while Dead; back to Pending.
    Revived {
        identity: String,
        from: u64,
        to: u64,
    },
    Filtered {
        reason: String,
    },
    Failed {
        error: String,
    },
    /// Changed after it was sent; not re-posted.
    ChangedAfterDelivery {
        from: u64,
        to: u64,
        dead_letter: Option<u64>,
    },
    Sent {
        batch: u64,
        attempt: u32,
    },
    Delivered {
        kingdee_id: String,
        number: String,
    },
    Retry {
        due: i64,
        error: String,
    },
    Dead {
        error: String,
    },
    /// Reconciliation found it absent in Kingdee; back to Pending.
    Requeued,
    /// A person replayed the dead letter.
    Replayed,
    /// A person dropped the dead letter, saying why.
    Dropped {
        reason: String,
    },
}

impl std::fmt::Display for TraceEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}  ", crate::time::format_beijing(self.at))?;
        if let Some(id) = self.entry {
            write!(f, "#{id} ")?;
        }
        match &self.kind {
            TraceKind::Ingested { identity, .. } => write!(f, "fetched and mapped to {identity}"),
            TraceKind::Updated { identity, .. } => {
                write!(
                    f,
                    "fetched again with changes before sending; model of {identity} replaced"
                )
            }
            TraceKind::Revived { identity, .. } => {
                write!(
                    f,
                    "fetched again with changes while dead; {identity} queued again"
                )
            }
            TraceKind::Filtered { reason } => write!(f, "filtered: {reason}"),
            TraceKind::Failed { error } => write!(f, "mapping failed: {error}"),
            TraceKind::ChangedAfterDelivery { dead_letter, .. } => match dead_letter {
                Some(d) => write!(
                    f,
                    "changed after delivery; not re-posted (dead letter #{d})"
                ),
                None => write!(f, "changed after delivery; not re-posted"),
            },
            TraceKind::Sent { batch, attempt } => {
                write!(f, "sent in batch {batch} (attempt {attempt})")
            }
            TraceKind::Delivered { kingdee_id, number } => {
                write!(f, "delivered: Kingdee id {kingdee_id}, number {number}")
            }
            TraceKind::Retry { due, error } => {
                write!(
                    f,
                    "will retry at {}: {error}",
                    crate::time::format_beijing(*due)
                )
            }
            TraceKind::Dead { error } => write!(f, "dead letter: {error}"),
            TraceKind::Requeued => write!(
                f,
                "not found in Kingdee after an uncertain send; queued again"
            ),
            TraceKind::Replayed => write!(f, "replayed by a person; queued again"),
            TraceKind::Dropped { reason } => {
                write!(f, "dropped from the dead letters by a person: {reason}")
            }
        }
    }
}
