//! Writer actor: delivers due outbox entries to Kingdee with BatchSave.
//!
//! Takes:  `Wake` (Mapper: new entries), an internal one-second tick (retries falling due),
//!         `Reconcile` (start-up: every InFlight entry is uncertain), `Drain` (`--once`: deliver
//!         everything due, then reply), `Shutdown` (finish the batch in hand, then reply),
//!         `Crashed` (from itself: a handler panicked; stop so the supervisor restarts us).
//! Sends:  BatchSave and ExecuteBillQuery to Kingdee; transitions to the store, each batch's
//!         `begin_send` durable before the request leaves and its results applied atomically.

use std::collections::{HashMap, VecDeque};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::{
    Actor, ActorContext, AsyncContext, Context, Handler, Message, ResponseFuture, Supervised,
};
use futures_util::FutureExt;
use serde_json::value::RawValue;

mod reconcile;
mod report;

use super::delivery::decide;
use super::stats::SchemeStats;
use super::{blocking, PipelineError, Shared};
use crate::config::Scheme;
use crate::sink::kingdee::{ItemResult, SinkError};
use crate::store::{Finish, OutboxEntry};
use crate::telemetry::System;
use crate::time::now_unix;

/// Entries fetched from the due index per look.
const DUE_LOOKAHEAD: usize = 1000;
/// BatchSaves sent together.
const WAVE: usize = 2;
/// Longest pause after Kingdee failed as a whole.
const MAX_PAUSE: Duration = Duration::from_secs(60);

#[derive(Message)]
#[rtype(result = "()")]
pub struct Wake;

#[derive(Message)]
#[rtype(result = "Result<(), PipelineError>")]
pub struct Reconcile;

#[derive(Message)]
#[rtype(result = "Result<(), PipelineError>")]
pub struct Drain {
    pub wait_retries: Duration,
}

#[derive(Message)]
#[rtype(result = "()")]
pub struct Shutdown;

#[derive(Message)]
#[rtype(result = "()")]
struct Tick;

#[derive(Message)]
#[rtype(result = "()")]
struct Crashed(String);

#[derive(Debug, PartialEq, Eq)]
enum Pump {
    /// Nothing is due any more.
    Idle,
    /// Kingdee failed as a whole; the Writer waits before trying again.
    Paused,
}

/// A BatchSave running on its own task.
type Saving = Option<tokio::task::JoinHandle<Result<Vec<ItemResult>, SinkError>>>;

/// A batch made InFlight and ready to send.
struct Prepared {
    scheme: Scheme,
    sendable: Vec<OutboxEntry>,
    /// The stored JSON of each sendable entry, checked but not parsed into a tree.
    models: Vec<Box<RawValue>>,
    fin: Vec<(u64, Finish)>,
}

/// The delivery logic, without actix.
pub struct WriteCore {
    shared: Arc<Shared>,
    paused_until: Option<Instant>,
    pause_level: u32,
    needs_reconcile: bool,
    /// Uncertain entries younger than the grace period wait until this time (unix seconds).
    reconcile_at: i64,
    /// Set by `Shutdown` without waiting for the core's lock: a pump in progress stops taking
    /// new batches, finishes the ones in flight and returns.
    stopping: Arc<AtomicBool>,
    pub fatal: Option<String>,
    /// Why Kingdee was last unavailable, until a batch goes through again.
    pub unavailable: Option<String>,
    reachability: report::Reachability,
}

impl WriteCore {
    pub fn new(shared: Arc<Shared>) -> Self {
        WriteCore {
            shared,
            paused_until: None,
            pause_level: 0,
            needs_reconcile: true,
            reconcile_at: 0,
            stopping: Arc::new(AtomicBool::new(false)),
            fatal: None,
            unavailable: None,
            reachability: report::Reachability::default(),
        }
    }

    fn scheme(&self, name: &str) -> Option<&Scheme> {
        self.shared.config.schemes.iter().find(|s| s.name == name)
    }

    fn paused(&self) -> bool {
        matches!(self.paused_until, Some(t) if Instant::now() < t)
    }

    fn pause(&mut self, why: &str) {
        self.pause_level = (self.pause_level + 1).min(7);
        let d = Duration::from_millis(500 << self.pause_level).min(MAX_PAUSE);
        tracing::warn!(pause_ms = d.as_millis() as u64, reason = %why, "Kingdee unavailable; pausing delivery");
        self.paused_until = Some(Instant::now() + d);
        self.unavailable = Some(why.to_string());
    }

    fn count(&self, scheme: &str, fin: &[(u64, Finish)]) {
        let st = self.shared.stats.scheme(scheme);
        for (_, f) in fin {
            match f {
                Finish::Delivered { .. } => SchemeStats::add(&st.delivered, 1),
                Finish::Retry { .. } => SchemeStats::add(&st.retried, 1),
                Finish::Dead { .. } => SchemeStats::add(&st.dead, 1),
                Finish::Pending | Finish::Requeue { .. } => {}
            }
        }
        self.shared
            .progress
            .delivered(scheme, SchemeStats::get(&st.delivered));
    }

    /// Sends batches until nothing is due at `horizon`, or Kingdee fails as a whole. Up to WAVE
    /// BatchSaves are in flight at once, each on its own task: the next batch is prepared, and
    /// the previous one applied, while Kingdee works. Reconciliation waits for them to finish.
    async fn pump(&mut self, horizon: i64) -> Result<Pump, PipelineError> {
        let mut in_flight: VecDeque<(Prepared, Saving)> = VecDeque::with_capacity(WAVE);
        loop {
            let halted = self.stopping.load(Ordering::SeqCst) || self.paused();
            let reconcile = self.needs_reconcile && now_unix() >= self.reconcile_at;
            if !halted && reconcile && in_flight.is_empty() {
                if let Err(e) = self.reconcile().await {
                    self.pause(&e.to_string());
                }
                continue;
            }
            if !halted && !reconcile {
                while in_flight.len() < WAVE {
                    match self.next_batch(horizon).await? {
                        Some(mut p) => {
                            let saving = self.launch(&mut p);
                            in_flight.push_back((p, saving));
                        }
                        None => break,
                    }
                }
            }
            let Some((p, saving)) = in_flight.pop_front() else {
                return Ok(if halted { Pump::Paused } else { Pump::Idle });
            };
            let sent = Instant::now();
            let result = match saving {
                Some(task) => task.await.unwrap_or_else(|e| {
                    Err(SinkError::Uncertain(format!("BatchSave task failed: {e}")))
                }),
                None => Ok(Vec::new()),
            };
            let waited = sent.elapsed();
            self.apply(p, result, waited).await?;
            tracing::debug!(
                wait_ms = waited.as_millis() as u64,
                apply_ms = (sent.elapsed() - waited).as_millis() as u64,
                "BatchSave applied"
            );
        }
    }

    /// Starts the BatchSave of a prepared batch on its own task (`None`: nothing to send).
    fn launch(&self, p: &mut Prepared) -> Saving {
        if p.models.is_empty() {
            return None;
        }
        let kd = self.shared.kd.clone();
        let models = std::mem::take(&mut p.models);
        let form = p.scheme.target.form_id.clone();
        let options = p.scheme.target.options.clone();
        Some(actix::spawn(async move {
            kd.batch_save(&form, &models, &options).await
        }))
    }

    /// The next batch to send, made InFlight: the oldest due entry picks the form, then one
    /// batch of that form is read (the due index is per form, so this never decodes more than
    /// a batch) and marked sent, durably, in one trip to the blocking pool.
    async fn next_batch(&mut self, horizon: i64) -> Result<Option<Prepared>, PipelineError> {
        let sizes: HashMap<String, usize> = self
            .shared
            .config
            .schemes
            .iter()
            .map(|s| (s.name.clone(), s.target.batch_size.max(1)))
            .collect();
        let pick = blocking(&self.shared.store, move |s| {
            let first = s.due(None, horizon, 1)?;
            let Some(first) = first.into_iter().next() else {
                return Ok(None);
            };
            let name = first.scheme.clone();
            let known = sizes.get(&name).copied();
            let lookahead = known.unwrap_or(DUE_LOOKAHEAD);
            let batch: Vec<OutboxEntry> = s
                .due(Some(&first.form_id), horizon, lookahead)?
                .into_iter()
                .filter(|e| e.scheme == name)
                .take(lookahead)
                .collect();
            let batch_id = s.next_batch_id()?;
            let ids: Vec<u64> = batch.iter().map(|e| e.id).collect();
            s.begin_send(&ids, batch_id)?;
            Ok(Some((name, known.is_some(), batch, batch_id)))
        })
        .await?;
        let Some((name, known, batch, batch_id)) = pick else {
            return Ok(None);
        };
        match self.scheme(&name).cloned() {
            Some(scheme) if known => Ok(Some(self.prepare(scheme, batch, batch_id))),
            _ => {
                // The scheme is no longer in the config: nothing sends these any more.
                let fin: Vec<(u64, Finish)> = batch
                    .iter()
                    .map(|e| {
                        (
                            e.id,
                            Finish::Dead {
                                error: format!("scheme {name} is no longer in the config"),
                            },
                        )
                    })
                    .collect();
                report::dead_letters(&self.shared.telemetry, &name, &batch, &fin);
                blocking(&self.shared.store, move |s| s.finish(fin)).await?;
                Box::pin(self.next_batch(horizon)).await
            }
        }
    }

    /// Turns a batch just made InFlight into what is sent: the stored JSON of each model,
    /// checked but not parsed into a tree.
    fn prepare(&mut self, scheme: Scheme, batch: Vec<OutboxEntry>, batch_id: u64) -> Prepared {
        tracing::debug!(scheme = %scheme.name, form = %scheme.target.form_id, batch = batch_id, models = batch.len(), "sending BatchSave");
        let mut sendable = Vec::with_capacity(batch.len());
        let mut models = Vec::with_capacity(batch.len());
        let mut fin = Vec::new();
        for mut e in batch {
            e.attempts += 1;
            let text = String::from_utf8(std::mem::take(&mut e.model))
                .map_err(|err| err.to_string())
                .and_then(|t| RawValue::from_string(t).map_err(|err| err.to_string()));
            match text {
                Ok(v) => {
                    models.push(v);
                    sendable.push(e);
                }
                Err(err) => fin.push((
                    e.id,
                    Finish::Dead {
                        error: format!("stored model is not JSON: {err}"),
                    },
                )),
            }
        }
        let st = self.shared.stats.scheme(&scheme.name);
        SchemeStats::add(&st.batches, 1);
        Prepared {
            scheme,
            sendable,
            models,
            fin,
        }
    }

    /// Applies a BatchSave result to the store (one transaction) and to the Writer's state.
    async fn apply(
        &mut self,
        p: Prepared,
        result: Result<Vec<ItemResult>, SinkError>,
        elapsed: Duration,
    ) -> Result<(), PipelineError> {
        let Prepared {
            scheme,
            sendable,
            mut fin,
            ..
        } = p;
        let telemetry = &self.shared.telemetry;
        if !sendable.is_empty() {
            let api = "BatchSave";
            telemetry.request(System::Kingdee, api, elapsed, report::outcome(&result));
        }
        let d = decide(&sendable, result, &scheme.retry, now_unix());
        fin.extend(d.finish);
        self.count(&scheme.name, &fin);
        let (name, form, uncertain) = (&scheme.name, &scheme.target.form_id, d.reconcile.len());
        report::batch(telemetry, name, form, &sendable, &fin, uncertain, elapsed);
        blocking(&self.shared.store, move |s| s.finish(fin)).await?;
        if !d.reconcile.is_empty() {
            // The request has run for as long as the client waited; the rest of the grace
            // period is counted from when it was sent.
            if !self.needs_reconcile {
                self.reconcile_at = 0;
            }
            self.needs_reconcile = true;
        }
        match (d.kingdee_unavailable, d.fatal) {
            (_, Some(fatal)) => {
                tracing::error!(error = %fatal, "Kingdee refused the request; check [kingdee] in config.toml");
                self.fatal = Some(fatal.clone());
                self.pause(&fatal);
            }
            (Some(why), None) => self.pause(&why),
            (None, None) => {
                self.pause_level = 0;
                self.fatal = None;
                self.unavailable = None;
            }
        }
        let unavailable = self.unavailable.as_deref();
        self.reachability
            .update(&self.shared.telemetry, unavailable);
        Ok(())
    }

    /// Delivers everything due now; then waits (at most `wait`) for retries falling due and
    /// uncertain entries to be settled.
    pub async fn drain(&mut self, wait: Duration) -> Result<(), PipelineError> {
        let deadline = Instant::now() + wait;
        loop {
            let outcome = self.pump(now_unix()).await?;
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || self.stopping.load(Ordering::SeqCst) {
                return Ok(());
            }
            if outcome == Pump::Idle && !self.needs_reconcile {
                let within = now_unix() + left.as_secs() as i64;
                let soon = blocking(&self.shared.store, move |s| s.due(None, within, 1)).await?;
                if soon.is_empty() {
                    return Ok(());
                }
            }
            tokio::time::sleep(Duration::from_millis(250).min(left)).await;
        }
    }
}

/// The actor around [`WriteCore`].
pub struct Writer {
    shared: Arc<Shared>,
    mailbox: usize,
    core: Arc<tokio::sync::Mutex<WriteCore>>,
    /// The core's `stopping` flag.
    stopping: Arc<AtomicBool>,
}

impl Writer {
    pub fn new(shared: Arc<Shared>, mailbox: usize) -> Self {
        let core = WriteCore::new(shared.clone());
        Writer {
            shared,
            mailbox,
            stopping: core.stopping.clone(),
            core: Arc::new(tokio::sync::Mutex::new(core)),
        }
    }

    /// Runs `f` on the core, turning a panic into a supervised restart.
    fn guarded<F, Fut>(
        &self,
        ctx: &mut Context<Self>,
        f: F,
    ) -> ResponseFuture<Result<(), PipelineError>>
    where
        F: FnOnce(tokio::sync::OwnedMutexGuard<WriteCore>) -> Fut + 'static,
        Fut: std::future::Future<Output = Result<(), PipelineError>> + 'static,
    {
        let core = self.core.clone();
        let me = ctx.address();
        Box::pin(async move {
            let guard = core.lock_owned().await;
            match AssertUnwindSafe(f(guard)).catch_unwind().await {
                Ok(r) => r,
                Err(panic) => {
                    let msg = super::panic_message(panic);
                    me.do_send(Crashed(msg.clone()));
                    Err(PipelineError::Actor(format!("writer panicked: {msg}")))
                }
            }
        })
    }
}

impl Actor for Writer {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.set_mailbox_capacity(self.mailbox);
        ctx.run_interval(Duration::from_secs(1), |_, ctx| {
            let _ = ctx.address().try_send(Tick);
        });
    }
}

impl Supervised for Writer {
    fn restarting(&mut self, _ctx: &mut Context<Self>) {
        // A fresh core reconciles InFlight entries before sending anything.
        let core = WriteCore::new(self.shared.clone());
        core.stopping
            .store(self.stopping.load(Ordering::SeqCst), Ordering::SeqCst);
        self.stopping = core.stopping.clone();
        self.core = Arc::new(tokio::sync::Mutex::new(core));
        tracing::warn!("writer restarted");
    }
}

fn spawn_pump(core: &Arc<tokio::sync::Mutex<WriteCore>>, ctx: &mut Context<Writer>) {
    // A pump already running will see the new entries itself.
    let Ok(mut guard) = core.clone().try_lock_owned() else {
        return;
    };
    let me = ctx.address();
    actix::spawn(async move {
        let r = AssertUnwindSafe(guard.pump(now_unix()))
            .catch_unwind()
            .await;
        match r {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "delivery failed"),
            Err(panic) => me.do_send(Crashed(super::panic_message(panic))),
        }
    });
}

impl Handler<Wake> for Writer {
    type Result = ();

    fn handle(&mut self, _: Wake, ctx: &mut Context<Self>) {
        spawn_pump(&self.core, ctx);
    }
}

impl Handler<Tick> for Writer {
    type Result = ();

    fn handle(&mut self, _: Tick, ctx: &mut Context<Self>) {
        spawn_pump(&self.core, ctx);
    }
}

impl Handler<Reconcile> for Writer {
    type Result = ResponseFuture<Result<(), PipelineError>>;

    fn handle(&mut self, _: Reconcile, ctx: &mut Context<Self>) -> Self::Result {
        self.guarded(ctx, |mut core| async move { core.reconcile().await })
    }
}

impl Handler<Drain> for Writer {
    type Result = ResponseFuture<Result<(), PipelineError>>;

    fn handle(&mut self, msg: Drain, ctx: &mut Context<Self>) -> Self::Result {
        self.guarded(ctx, move |mut core| async move {
            core.drain(msg.wait_retries).await?;
            match (core.fatal.clone(), core.paused(), core.unavailable.clone()) {
                (Some(f), _, _) => Err(PipelineError::Sink(f)),
                (None, true, Some(why)) => Err(PipelineError::Sink(format!(
                    "Kingdee unavailable at the end of the run ({why}); undelivered entries stay queued"
                ))),
                _ => Ok(()),
            }
        })
    }
}

impl Handler<Shutdown> for Writer {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, _: Shutdown, _ctx: &mut Context<Self>) -> Self::Result {
        let core = self.core.clone();
        self.stopping.store(true, Ordering::SeqCst);
        Box::pin(async move {
            // Waits for the batches in flight; entries still InFlight are reconciled next start.
            let _guard = core.lock().await;
        })
    }
}

impl Handler<Crashed> for Writer {
    type Result = ();

    fn handle(&mut self, msg: Crashed, ctx: &mut Context<Self>) {
        tracing::error!(error = %msg.0, "writer failed; restarting it");
        ctx.stop();
    }
}
