//! Prometheus metrics (prometheus-client): request latency and errors as they happen, and the
//! per-scheme document counts, outbox depth, checkpoint lag and store size read at each scrape.
//! Names start with `ferry_`; per-scheme series carry `scheme="..."`.

use std::time::Duration;

use parking_lot::Mutex;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use super::{Outcome, System};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SchemeLabel {
    pub scheme: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StateLabels {
    pub scheme: String,
    pub state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    system: String,
    api: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ErrorLabels {
    system: String,
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SystemLabel {
    system: String,
}

/// Per-scheme figures read at scrape time.
#[derive(Debug, Clone, Default)]
pub struct SchemeFigures {
    pub scheme: String,
    /// Documents counted by this process (monotonic).
    pub fetched: u64,
    pub filtered: u64,
    pub delivered: u64,
    pub dead: u64,
    pub changed_after_delivery: u64,
    /// Outbox entries by state now.
    pub outbox: Vec<(&'static str, u64)>,
    /// Seconds between the checkpoint and now (None before the first checkpoint).
    pub lag_seconds: Option<i64>,
}

fn latency_histogram() -> Histogram {
    // 5 ms .. ~82 s
    Histogram::new(exponential_buckets(0.005, 2.0, 15))
}

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Histogram, fn() -> Histogram>,
    errors: Family<ErrorLabels, Counter>,
    rate_waits: Family<SystemLabel, Counter>,
    rate_wait_seconds: Family<SystemLabel, Counter<f64>>,
    fetched: Family<SchemeLabel, Counter>,
    filtered: Family<SchemeLabel, Counter>,
    delivered: Family<SchemeLabel, Counter>,
    dead: Family<SchemeLabel, Counter>,
    changed: Family<SchemeLabel, Counter>,
    outbox: Family<StateLabels, Gauge>,
    lag: Family<SchemeLabel, Gauge>,
    store_bytes: Gauge,
    /// Scrapes set the scrape-time series; one at a time.
    scrape: Mutex<()>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut r = Registry::with_prefix("ferry");
        let requests = Family::<RequestLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram,
        );
        r.register(
            "request_duration_seconds",
            "Time of one request to Jushuitan or Kingdee, by system and API",
            requests.clone(),
        );
        let errors = Family::<ErrorLabels, Counter>::default();
        r.register(
            "request_errors",
            "Requests that failed, by system and kind (transport, server, refused, malformed)",
            errors.clone(),
        );
        let rate_waits = Family::<SystemLabel, Counter>::default();
        r.register(
            "rate_limit_waits",
            "Requests that waited for the rate limit",
            rate_waits.clone(),
        );
        let rate_wait_seconds = Family::<SystemLabel, Counter<f64>>::default();
        r.register(
            "rate_limit_wait_seconds",
            "Time spent waiting for the rate limit",
            rate_wait_seconds.clone(),
        );
        let scheme_counter = |r: &mut Registry, name: &str, help: &str| {
            let f = Family::<SchemeLabel, Counter>::default();
            r.register(name, help, f.clone());
            f
        };
        let fetched = scheme_counter(
            &mut r,
            "documents_fetched",
            "Documents fetched from Jushuitan by this process",
        );
        let filtered = scheme_counter(
            &mut r,
            "documents_filtered",
            "Fetched documents the scheme's filter left out",
        );
        let delivered = scheme_counter(
            &mut r,
            "documents_delivered",
            "Documents saved in Kingdee by this process",
        );
        let dead = scheme_counter(
            &mut r,
            "documents_dead",
            "Documents that went to the dead letters in this process",
        );
        let changed = scheme_counter(
            &mut r,
            "documents_changed_after_delivery",
            "Documents that changed in Jushuitan after they were delivered",
        );
        let outbox = Family::<StateLabels, Gauge>::default();
        r.register(
            "outbox_entries",
            "Outbox entries now, by scheme and state",
            outbox.clone(),
        );
        let lag = Family::<SchemeLabel, Gauge>::default();
        r.register(
            "checkpoint_lag_seconds",
            "Seconds between a scheme's checkpoint and now",
            lag.clone(),
        );
        let store_bytes = Gauge::default();
        r.register(
            "store_size_bytes",
            "Size of the store on disk",
            store_bytes.clone(),
        );
        Metrics {
            registry: r,
            requests,
            errors,
            rate_waits,
            rate_wait_seconds,
            fetched,
            filtered,
            delivered,
            dead,
            changed,
            outbox,
            lag,
            store_bytes,
            scrape: Mutex::new(()),
        }
    }

    pub fn request(&self, system: System, api: &str, elapsed: Duration, outcome: Outcome) {
        let labels = RequestLabels {
            system: system.as_str().into(),
            api: api.into(),
        };
        self.requests
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
        if outcome != Outcome::Ok {
            let labels = ErrorLabels {
                system: system.as_str().into(),
                kind: outcome.as_str().into(),
            };
            self.errors.get_or_create(&labels).inc();
        }
    }

    pub fn rate_wait(&self, system: System, waited: Duration) {
        let l = SystemLabel {
            system: system.as_str().into(),
        };
        self.rate_waits.get_or_create(&l).inc();
        self.rate_wait_seconds
            .get_or_create(&l)
            .inc_by(waited.as_secs_f64());
    }

    /// The Prometheus text exposition, after setting the scrape-time series.
    pub fn render(&self, schemes: &[SchemeFigures], store_bytes: u64) -> String {
        let _one = self.scrape.lock();
        for s in schemes {
            let l = SchemeLabel {
                scheme: s.scheme.clone(),
            };
            let catch_up = |f: &Family<SchemeLabel, Counter>, v: u64| {
                let c = f.get_or_create(&l);
                let now = c.get();
                if v > now {
                    c.inc_by(v - now);
                }
            };
            catch_up(&self.fetched, s.fetched);
            catch_up(&self.filtered, s.filtered);
            catch_up(&self.delivered, s.delivered);
            catch_up(&self.dead, s.dead);
            catch_up(&self.changed, s.changed_after_delivery);
            for (state, n) in &s.outbox {
                let l = StateLabels {
                    scheme: s.scheme.clone(),
                    state: (*state).into(),
                };
                self.outbox.get_or_create(&l).set(*n as i64);
            }
            match s.lag_seconds {
                Some(lag) => {
                    self.lag.get_or_create(&l).set(lag);
                }
                None => {
                    self.lag.remove(&l);
                }
            }
        }
        self.store_bytes.set(store_bytes as i64);
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::warn!(error = %e, "could not encode metrics");
        }
        out
    }
}
