//! Delivery decisions (pure logic): what a BatchSave answer means for each outbox entry.
//!
//! The Writer sends a batch, hands the answer to [`decide`], and applies the resulting
//! transitions to the store in one transaction. Entries whose fate is unknown (reply lost,
//! session lost on a write, "already exists") are returned as `reconcile`: the Writer looks their
//! identities up in Kingdee before anything is sent again.

use std::time::Duration;

use crate::config::RetryPolicy;
use crate::sink::kingdee::{ItemResult, SinkError};
use crate::store::{Finish, OutboxEntry};

/// What to do with each entry of a batch after Kingdee answered (or did not).
#[derive(Debug, Default)]
pub struct Decision {
    /// Transitions to apply now.
    pub finish: Vec<(u64, Finish)>,
    /// Entries to look up by identity before deciding (they stay InFlight until then).
    pub reconcile: Vec<u64>,
    /// The whole call failed in a way that says Kingdee (not the documents) is the problem:
    /// the Writer pauses before the next batch.
    pub kingdee_unavailable: Option<String>,
    /// Kingdee refused us outright (credentials, data centre): nothing will work until a person
    /// fixes the configuration.
    pub fatal: Option<String>,
}

/// Delay before the next attempt of an entry that has been tried `attempts` times.
pub fn backoff(policy: &RetryPolicy, attempts: u32) -> Duration {
    let idx = attempts.saturating_sub(1) as usize;
    let base = policy
        .backoff
        .get(idx)
        .or(policy.backoff.last())
        .copied()
        .unwrap_or(Duration::from_secs(20));
    // Up to 20 % jitter so a crowd of retries does not return all at once.
    let jitter = base.as_millis() as u64 / 5;
    let extra = if jitter > 0 {
        fastrand::u64(0..=jitter)
    } else {
        0
    };
    base + Duration::from_millis(extra)
}

fn retry_or_dead(entry: &OutboxEntry, policy: &RetryPolicy, now: i64, message: &str) -> Finish {
    if entry.attempts >= policy.max_attempts {
        Finish::Dead {
            error: format!("gave up after {} attempts: {}", entry.attempts, message),
        }
    } else {
        let delay = backoff(policy, entry.attempts);
        Finish::Retry {
            due: now + delay.as_secs().max(1) as i64,
            error: message.to_string(),
        }
    }
}

/// Decides the fate of every entry in `batch` (the order the models were sent in: DIndex `i` is
/// `batch[i]`) from the BatchSave result.
pub fn decide(
    batch: &[OutboxEntry],
    result: Result<Vec<ItemResult>, SinkError>,
    policy: &RetryPolicy,
    now: i64,
) -> Decision {
    let mut d = Decision::default();
    match result {
        Ok(items) => {
            for (i, entry) in batch.iter().enumerate() {
                match items.get(i) {
                    Some(ItemResult::Saved { id, number }) => d.finish.push((
                        entry.id,
                        Finish::Delivered {
                            kingdee_id: id.clone(),
                            number: number.clone(),
                        },
                    )),
                    Some(ItemResult::AlreadyExists { .. }) => d.reconcile.push(entry.id),
                    Some(ItemResult::Permanent { message }) => d.finish.push((
                        entry.id,
                        Finish::Dead {
                            error: message.clone(),
                        },
                    )),
                    Some(ItemResult::Transient { message }) => d
                        .finish
                        .push((entry.id, retry_or_dead(entry, policy, now, message))),
                    // Kingdee said nothing about this DIndex: we cannot know, so look it up.
                    None => d.reconcile.push(entry.id),
                }
            }
        }
        Err(SinkError::Uncertain(msg)) => {
            d.reconcile = batch.iter().map(|e| e.id).collect();
            d.kingdee_unavailable = Some(msg);
        }
        Err(SinkError::Transient(msg)) => {
            // Kingdee as a whole failed (down, overloaded, 5xx before saving): not the documents'
            // fault, so the attempt does not count against them. The Writer pauses with its own
            // backoff; a Kingdee that is down for hours only delays the backlog, which then
            // drains in order.
            for entry in batch {
                d.finish
                    .push((entry.id, Finish::Requeue { error: msg.clone() }));
            }
            d.kingdee_unavailable = Some(msg);
        }
        Err(SinkError::Permanent(msg)) => {
            // Not the documents' fault: keep them, retry later, and say so loudly.
            for entry in batch {
                d.finish
                    .push((entry.id, Finish::Requeue { error: msg.clone() }));
            }
            d.fatal = Some(msg);
        }
    }
    d
}

/// After a lookup by identity: found entries are Delivered; the others were never saved and can
/// be sent again (Pending), unless they have used up their attempts.
pub fn after_lookup(
    entries: &[OutboxEntry],
    found: &std::collections::HashMap<String, (String, String)>,
    policy: &RetryPolicy,
    _now: i64,
) -> Vec<(u64, Finish)> {
    entries
        .iter()
        .map(|e| match found.get(&e.identity) {
            Some((id, number)) => (
                e.id,
                Finish::Delivered {
                    kingdee_id: id.clone(),
                    number: number.clone(),
                },
            ),
            None if e.attempts >= policy.max_attempts => (
                e.id,
                Finish::Dead {
                    error: format!(
                        "gave up after {} attempts; the last one's outcome was unknown and {} is not in Kingdee",
                        e.attempts, e.identity
                    ),
                },
            ),
            None => (e.id, Finish::Pending),
        })
        .collect()
}
