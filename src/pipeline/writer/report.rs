//! What one applied BatchSave tells the rest of ferry: a telemetry event per dead letter, one
//! `BatchSaved` line per batch, Kingdee's reachability as it changes, and the request's latency.

use std::collections::HashMap;
use std::time::Duration;

use crate::sink::kingdee::{ItemResult, SinkError};
use crate::store::{Finish, OutboxEntry};
use crate::telemetry::{Event, Outcome, System, Telemetry};

/// How a BatchSave call ended, for the error counts.
pub fn outcome(result: &Result<Vec<ItemResult>, SinkError>) -> Outcome {
    match result {
        Ok(items) if items.iter().all(|i| matches!(i, ItemResult::Saved { .. })) => Outcome::Ok,
        Ok(_) => Outcome::Refused,
        Err(SinkError::Transient(_) | SinkError::Uncertain(_)) => Outcome::Transport,
        Err(SinkError::Permanent(_)) => Outcome::Refused,
    }
}

/// Emits a dead-letter event for each entry of `sent` that `fin` makes Dead, and the batch line.
pub fn batch(
    telemetry: &Telemetry,
    scheme: &str,
    form_id: &str,
    sent: &[OutboxEntry],
    fin: &[(u64, Finish)],
    uncertain: usize,
    elapsed: Duration,
) {
    dead_letters(telemetry, scheme, sent, fin);
    if sent.is_empty() {
        return;
    }
    let count = |f: fn(&Finish) -> bool| fin.iter().filter(|(_, x)| f(x)).count();
    telemetry.emit(Event::BatchSaved {
        scheme: scheme.to_string(),
        form_id: form_id.to_string(),
        sent: sent.len(),
        saved: count(|f| matches!(f, Finish::Delivered { .. })),
        failed: count(|f| matches!(f, Finish::Dead { .. } | Finish::Retry { .. })),
        uncertain,
        elapsed_ms: elapsed.as_millis() as u64,
    });
}

/// One event per entry of `entries` that `fin` makes Dead.
pub fn dead_letters(
    telemetry: &Telemetry,
    scheme: &str,
    entries: &[OutboxEntry],
    fin: &[(u64, Finish)],
) {
    let by_id: HashMap<u64, &OutboxEntry> = entries.iter().map(|e| (e.id, e)).collect();
    for (id, f) in fin {
        if let Finish::Dead { error } = f {
            let (source_key, identity) = by_id
                .get(id)
                .map(|e| (e.source_key.clone(), e.identity.clone()))
                .unwrap_or_else(|| (format!("#{id}"), String::new()));
            telemetry.emit(Event::DeadLetter {
                scheme: scheme.to_string(),
                source_key,
                identity,
                reason: error.clone(),
            });
        }
    }
}

/// Kingdee's reachability as the Writer sees it; emits only on a change.
#[derive(Debug, Default)]
pub struct Reachability {
    down: bool,
}

impl Reachability {
    pub fn update(&mut self, telemetry: &Telemetry, unavailable: Option<&str>) {
        match (self.down, unavailable) {
            (false, Some(why)) => {
                self.down = true;
                telemetry.emit(Event::Unreachable {
                    system: System::Kingdee,
                    error: why.to_string(),
                });
            }
            (true, None) => {
                self.down = false;
                telemetry.emit(Event::Reachable {
                    system: System::Kingdee,
                });
            }
            _ => {}
        }
    }
}
