//! Scheduler actor: ticks every scheme on its own schedule (`every = "5m"`).
//!
//! Takes:  `RunNow` (the admin API: tick one scheme at once), `Stop` (shutdown: no more ticks).
//! Sends:  `CatchUp` to each scheme's Fetcher every `every` (a tick is skipped while the previous
//!         one of that scheme is still running), `Wake` to the Writer with each tick.
//! Writes: the run board (running, last and next run, last error), which emits `SchemeFailing`,
//!         `SchemeRecovered` and Jushuitan's reachability.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use actix::{Actor, ActorContext, Addr, AsyncContext, Context, Handler, Message};

use super::fetcher::{CatchUp, Fetcher};
use super::writer::{Wake, Writer};
use super::{PipelineError, Shared};
use crate::time::now_unix;

#[derive(Message)]
#[rtype(result = "()")]
pub struct Stop;

/// Tick this scheme now. Replies false if the scheme is not run by this process.
#[derive(Message)]
#[rtype(result = "bool")]
pub struct RunNow(pub String);

/// One scheme the scheduler ticks.
#[derive(Clone)]
struct Slot {
    name: String,
    every: Duration,
    fetcher: Addr<Fetcher>,
    busy: Rc<Cell<bool>>,
}

pub struct Scheduler {
    shared: Arc<Shared>,
    slots: Vec<Slot>,
    writer: Addr<Writer>,
}

impl Scheduler {
    pub fn new(
        shared: Arc<Shared>,
        fetchers: Vec<(usize, Addr<Fetcher>)>,
        writer: Addr<Writer>,
    ) -> Self {
        let slots = fetchers
            .into_iter()
            .map(|(i, fetcher)| {
                let scheme = &shared.config.schemes[i];
                Slot {
                    name: scheme.name.clone(),
                    every: scheme.every.max(Duration::from_secs(1)),
                    fetcher,
                    busy: Rc::new(Cell::new(false)),
                }
            })
            .collect();
        Scheduler {
            shared,
            slots,
            writer,
        }
    }
}

/// True if the error means Jushuitan could not be reached (transport failures and 5xx that
/// survived the client's retries).
pub fn unreachable(e: &PipelineError) -> bool {
    matches!(
        e,
        PipelineError::Source {
            source: crate::source::jushuitan::SourceError::Transport { .. },
            ..
        }
    )
}

fn tick(shared: Arc<Shared>, slot: Slot, writer: Addr<Writer>) {
    let _ = writer.try_send(Wake);
    let next = now_unix() + slot.every.as_secs() as i64;
    shared.board.next(&slot.name, next);
    if slot.busy.get() {
        tracing::debug!(scheme = %slot.name, "previous fetch still running; tick skipped");
        return;
    }
    slot.busy.set(true);
    shared.board.started(&slot.name);
    actix::spawn(async move {
        let s = shared.clone();
        let _ = tokio::task::spawn_blocking(move || s.mappings.reload_if_changed(&s.config)).await;
        let result = match slot.fetcher.send(CatchUp).await {
            Ok(Ok(())) => {
                tracing::debug!(scheme = %slot.name, "caught up");
                Ok(())
            }
            Ok(Err(e)) => Err((e.to_string(), unreachable(&e))),
            Err(e) => Err((format!("fetcher unavailable: {e}"), false)),
        };
        shared.board.finished(&shared.telemetry, &slot.name, result);
        slot.busy.set(false);
    });
}

impl Actor for Scheduler {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        for slot in &self.slots {
            // First tick now, then every `every`.
            tick(self.shared.clone(), slot.clone(), self.writer.clone());
            let (shared, slot2, writer) = (self.shared.clone(), slot.clone(), self.writer.clone());
            ctx.run_interval(slot.every, move |_, _| {
                tick(shared.clone(), slot2.clone(), writer.clone());
            });
        }
    }
}

impl Handler<RunNow> for Scheduler {
    type Result = bool;

    fn handle(&mut self, msg: RunNow, _ctx: &mut Context<Self>) -> bool {
        match self.slots.iter().find(|s| s.name == msg.0) {
            Some(slot) => {
                tracing::info!(scheme = %slot.name, "run requested from the admin API");
                tick(self.shared.clone(), slot.clone(), self.writer.clone());
                true
            }
            None => false,
        }
    }
}

impl Handler<Stop> for Scheduler {
    type Result = ();

    fn handle(&mut self, _: Stop, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}
