//! Mapper actor: turns pages of source documents into outbox entries.
//!
//! Takes:  `MapPage` from a Fetcher: filter (precondition), map to Kingdee models, dedupe and
//!         store the page in one atomic, flushed store transaction; replies with the ingest
//!         report only once the page is durable (the Fetcher then may advance its checkpoint).
//!         Pages are mapped as they arrive (a page maps while the one before it is stored) but
//!         stored strictly in arrival order.
//!         `Crashed` (from itself): a handler panicked; stop so the supervisor restarts us.
//! Sends:  `Wake` to the Writer (`try_send`: a full mailbox means a wake-up is already queued).

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use actix::{
    Actor, ActorContext, Addr, AsyncContext, Context, Handler, Message, ResponseFuture, Supervised,
};
use futures_util::FutureExt;
use serde_json::Value;
use tokio::sync::oneshot;

use super::stats::SchemeStats;
use super::writer::{Wake, Writer};
use super::{PipelineError, Shared};
use crate::config::{OnChange, Scheme};
use crate::mapping::MapOutcome;
use crate::store::{self, Ingest, IngestReport, NewEntry};

#[derive(Message)]
#[rtype(result = "Result<IngestReport, PipelineError>")]
pub struct MapPage {
    pub scheme: usize,
    pub items: Vec<Value>,
}

#[derive(Message)]
#[rtype(result = "()")]
struct Crashed(String);

/// Maps one document to what the store should do with it.
pub fn to_ingest(scheme: &Scheme, doc: &Value) -> Ingest {
    to_ingest_with(&scheme.mapper, doc)
}

/// [`to_ingest`] with a given mapping (the one config.toml has now, see `reload`).
pub fn to_ingest_with(mapper: &crate::mapping::Mapper, doc: &Value) -> Ingest {
    match mapper.map(doc) {
        MapOutcome::Mapped(m) => Ingest::New(NewEntry {
            source_key: m.source_key,
            identity: m.identity,
            line_keys: m.line_keys,
            model: m.json,
            fingerprint: m.fingerprint,
        }),
        MapOutcome::Filtered { source_key, reason } => Ingest::Filtered { source_key, reason },
        MapOutcome::Failed { source_key, error } => Ingest::Failed {
            source_key,
            error,
            source: serde_json::to_vec(doc).unwrap_or_default(),
        },
    }
}

pub fn store_on_change(policy: &OnChange) -> store::OnChange {
    match policy {
        OnChange::Record => store::OnChange::Record,
        OnChange::DeadLetter => store::OnChange::DeadLetter,
    }
}

/// Maps one page on the blocking pool (CPU work that should not hold up the actors' thread).
pub async fn map_page(
    shared: &Arc<Shared>,
    scheme_idx: usize,
    items: Vec<Value>,
) -> Result<Vec<Ingest>, PipelineError> {
    let shared = shared.clone();
    tokio::task::spawn_blocking(move || {
        let scheme = &shared.config.schemes[scheme_idx];
        let mapper = shared
            .mappings
            .get(scheme_idx)
            .unwrap_or_else(|| scheme.mapper.clone());
        let t0 = std::time::Instant::now();
        let ingests: Vec<Ingest> = items.iter().map(|d| to_ingest_with(&mapper, d)).collect();
        tracing::debug!(scheme = %scheme.name, docs = items.len(), ms = t0.elapsed().as_millis() as u64, "page mapped");
        ingests
    })
    .await
    .map_err(|e| PipelineError::Join(e.to_string()))
}

/// Stores one mapped page (one transaction, flushed) on the blocking pool and counts it.
pub async fn store_page(
    shared: &Arc<Shared>,
    scheme_idx: usize,
    ingests: Vec<Ingest>,
) -> Result<IngestReport, PipelineError> {
    let shared2 = shared.clone();
    let report = tokio::task::spawn_blocking(move || {
        let scheme = &shared2.config.schemes[scheme_idx];
        let t0 = std::time::Instant::now();
        let n = ingests.len();
        let r = shared2.store.ingest(
            &scheme.name,
            &scheme.target.form_id,
            ingests,
            store_on_change(&scheme.on_change),
        );
        tracing::debug!(scheme = %scheme.name, docs = n, ms = t0.elapsed().as_millis() as u64, "page stored");
        r
    })
    .await
    .map_err(|e| PipelineError::Join(e.to_string()))??;
    let scheme = &shared.config.schemes[scheme_idx];
    let st = shared.stats.scheme(&scheme.name);
    SchemeStats::add(&st.filtered, report.filtered as u64);
    SchemeStats::add(&st.duplicates, report.unchanged as u64);
    SchemeStats::add(&st.new, report.new as u64);
    SchemeStats::add(&st.updated, report.updated_pending as u64);
    SchemeStats::add(
        &st.changed_after_delivery,
        report.changed_after_delivery as u64,
    );
    SchemeStats::add(&st.mapping_failed, report.failed as u64);
    SchemeStats::add(&st.line_key_conflicts, report.line_key_conflicts as u64);
    SchemeStats::add(&st.dead, report.dead_letters.len() as u64);
    for d in &report.dead_letters {
        shared.telemetry.emit(crate::telemetry::Event::DeadLetter {
            scheme: scheme.name.clone(),
            source_key: d.source_key.clone(),
            identity: d.identity.clone(),
            reason: d.error.clone(),
        });
    }
    Ok(report)
}

pub struct Mapper {
    shared: Arc<Shared>,
    writer: Addr<Writer>,
    mailbox: usize,
    /// Resolves (or is dropped) when the page handed over last has been stored or has failed:
    /// the next page stores only after it.
    stored_last: Option<oneshot::Receiver<()>>,
}

impl Mapper {
    pub fn new(shared: Arc<Shared>, writer: Addr<Writer>, mailbox: usize) -> Self {
        Mapper {
            shared,
            writer,
            mailbox,
            stored_last: None,
        }
    }
}

impl Actor for Mapper {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.set_mailbox_capacity(self.mailbox);
    }
}

impl Supervised for Mapper {
    fn restarting(&mut self, _ctx: &mut Context<Self>) {
        tracing::warn!("mapper restarted");
    }
}

impl Handler<MapPage> for Mapper {
    type Result = ResponseFuture<Result<IngestReport, PipelineError>>;

    fn handle(&mut self, msg: MapPage, ctx: &mut Context<Self>) -> Self::Result {
        let shared = self.shared.clone();
        let writer = self.writer.clone();
        let me = ctx.address();
        let (stored, stored_rx) = oneshot::channel::<()>();
        let before = self.stored_last.replace(stored_rx);
        Box::pin(async move {
            let work = async {
                let ingests = map_page(&shared, msg.scheme, msg.items).await?;
                if let Some(before) = before {
                    // Ok or dropped: either way the previous page is no longer being stored.
                    let _ = before.await;
                }
                store_page(&shared, msg.scheme, ingests).await
            };
            let outcome = AssertUnwindSafe(work).catch_unwind().await;
            drop(stored);
            match outcome {
                Ok(Ok(report)) => {
                    if report.new + report.updated_pending > 0 {
                        let _ = writer.try_send(Wake);
                    }
                    Ok(report)
                }
                Ok(Err(e)) => Err(e),
                Err(panic) => {
                    let msg = super::panic_message(panic);
                    me.do_send(Crashed(msg.clone()));
                    Err(PipelineError::Actor(format!("mapper panicked: {msg}")))
                }
            }
        })
    }
}

impl Handler<Crashed> for Mapper {
    type Result = ();

    fn handle(&mut self, msg: Crashed, ctx: &mut Context<Self>) {
        tracing::error!(error = %msg.0, "mapper failed; restarting it");
        ctx.stop();
    }
}
