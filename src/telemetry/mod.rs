//! Typed telemetry (Vector's shape): every notable thing the pipeline does is one [`Event`],
//! emitted once through [`Telemetry::emit`]. The hub writes it to the log and hands it to every
//! subscriber (alerts, the console's live view) through a bounded broadcast channel: a slow or
//! failing subscriber loses old events (it is told how many), it never blocks delivery.
//!
//! Metrics that are plain counts (fetched, delivered...) live in `pipeline::Stats`; latency and
//! error counts of requests go through [`Telemetry::request`].

pub mod metrics;

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::broadcast;

/// How many events a subscriber may fall behind before it loses the oldest.
const BACKLOG: usize = 1024;

/// Which outside system a request or an outage concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum System {
    Jushuitan,
    Kingdee,
}

impl System {
    pub fn as_str(self) -> &'static str {
        match self {
            System::Jushuitan => "jushuitan",
            System::Kingdee => "kingdee",
        }
    }
}

/// Something that happened, in the words of the domain.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// An outbox entry went to the dead letters (Kingdee refused it, its mapping failed, its
    /// retries ran out, or its document changed after delivery with `on_change = "dead_letter"`).
    DeadLetter {
        scheme: String,
        /// The Jushuitan key (`io_id`...) of the document.
        source_key: String,
        /// The Kingdee bill number / identity the model carries.
        identity: String,
        /// In plain words; Kingdee's own message verbatim where it gave one.
        reason: String,
    },
    /// A scheme's catch-up failed `failures` times in a row (it is tried again at each tick).
    SchemeFailing {
        scheme: String,
        error: String,
        failures: u32,
    },
    /// A scheme that was failing caught up again.
    SchemeRecovered { scheme: String },
    /// Requests to a system fail at the transport level or with 5xx (it cannot be reached).
    Unreachable { system: System, error: String },
    /// A system that was unreachable answered again.
    Reachable { system: System },
    /// Credentials are expiring or were refused; a person must act (`detail` says what to do).
    TokenExpiring {
        system: System,
        detail: String,
        /// Unix seconds, where known.
        expires_at: Option<i64>,
    },
    /// One BatchSave answered (the per-batch log line).
    BatchSaved {
        scheme: String,
        form_id: String,
        sent: usize,
        saved: usize,
        failed: usize,
        uncertain: usize,
        elapsed_ms: u64,
    },
}

impl Event {
    /// The scheme the event concerns, if any.
    pub fn scheme(&self) -> Option<&str> {
        match self {
            Event::DeadLetter { scheme, .. }
            | Event::SchemeFailing { scheme, .. }
            | Event::SchemeRecovered { scheme }
            | Event::BatchSaved { scheme, .. } => Some(scheme),
            _ => None,
        }
    }

    fn log(&self) {
        match self {
            Event::DeadLetter {
                scheme,
                source_key,
                identity,
                reason,
            } => tracing::warn!(%scheme, %source_key, %identity, %reason, "dead letter"),
            Event::SchemeFailing {
                scheme,
                error,
                failures,
            } => {
                tracing::error!(%scheme, %error, failures, "scheme failing; tried again at the next tick")
            }
            Event::SchemeRecovered { scheme } => tracing::info!(%scheme, "scheme caught up again"),
            Event::Unreachable { system, error } => {
                tracing::error!(system = system.as_str(), %error, "cannot reach the system")
            }
            Event::Reachable { system } => {
                tracing::info!(system = system.as_str(), "reachable again")
            }
            Event::TokenExpiring { system, detail, .. } => {
                tracing::error!(system = system.as_str(), %detail, "credentials need a person")
            }
            Event::BatchSaved {
                scheme,
                form_id,
                sent,
                saved,
                failed,
                uncertain,
                elapsed_ms,
            } => tracing::info!(
                %scheme, form = %form_id, sent, saved, failed, uncertain, elapsed_ms,
                "batch saved"
            ),
        }
    }
}

/// How a request to Jushuitan or Kingdee ended, for the error counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    Ok,
    /// Connect error, timeout, reset.
    Transport,
    /// HTTP 5xx / 429 or a rate-limit answer.
    Server,
    /// The system answered and refused (business error, bad credentials...).
    Refused,
    /// An answer that is not what the protocol says (HTML, truncated, too large...).
    Malformed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Transport => "transport",
            Outcome::Server => "server",
            Outcome::Refused => "refused",
            Outcome::Malformed => "malformed",
        }
    }
}

/// The hub. Cheap to clone.
#[derive(Clone)]
pub struct Telemetry {
    tx: broadcast::Sender<Arc<Event>>,
    pub metrics: Arc<metrics::Metrics>,
}

impl std::fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Telemetry")
    }
}

impl Default for Telemetry {
    fn default() -> Self {
        Self::new()
    }
}

impl Telemetry {
    pub fn new() -> Self {
        let (tx, _) = broadcast::channel(BACKLOG);
        Telemetry {
            tx,
            metrics: Arc::new(metrics::Metrics::new()),
        }
    }

    /// Logs the event and hands it to every subscriber; never blocks.
    pub fn emit(&self, event: Event) {
        event.log();
        let _ = self.tx.send(Arc::new(event));
    }

    /// A new subscriber sees every event emitted from now on (`RecvError::Lagged(n)` when it
    /// fell more than 1,024 events behind and lost the `n` oldest).
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.tx.subscribe()
    }

    /// One request to `system` finished after `elapsed` (feeds latency histograms and error counts).
    pub fn request(&self, system: System, api: &str, elapsed: Duration, outcome: Outcome) {
        self.metrics.request(system, api, elapsed, outcome);
    }

    /// A request to `system` waited `waited` for the rate limit.
    pub fn rate_wait(&self, system: System, waited: Duration) {
        self.metrics.rate_wait(system, waited);
    }
}
