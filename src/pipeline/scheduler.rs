//! Scheduler actor: ticks every scheme on its own schedule (`every = "5m"`).
//!
//! Takes:  `Stop` (shutdown: no more ticks; replies once the fetches in hand are finished).
//! Sends:  `CatchUp` to each scheme's Fetcher every `every` (a tick is skipped while the previous
//!         one of that scheme is still running), `Wake` to the Writer with each tick.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use actix::{Actor, ActorContext, Addr, AsyncContext, Context, Handler, Message};

use super::fetcher::{CatchUp, Fetcher};
use super::writer::{Wake, Writer};
use super::Shared;

#[derive(Message)]
#[rtype(result = "()")]
pub struct Stop;

pub struct Scheduler {
    shared: Arc<Shared>,
    fetchers: Vec<(usize, Addr<Fetcher>)>,
    writer: Addr<Writer>,
}

impl Scheduler {
    pub fn new(
        shared: Arc<Shared>,
        fetchers: Vec<(usize, Addr<Fetcher>)>,
        writer: Addr<Writer>,
    ) -> Self {
        Scheduler {
            shared,
            fetchers,
            writer,
        }
    }
}

fn tick(name: String, fetcher: Addr<Fetcher>, busy: Rc<Cell<bool>>, writer: Addr<Writer>) {
    let _ = writer.try_send(Wake);
    if busy.get() {
        tracing::debug!(scheme = %name, "previous fetch still running; tick skipped");
        return;
    }
    busy.set(true);
    actix::spawn(async move {
        match fetcher.send(CatchUp).await {
            Ok(Ok(())) => tracing::debug!(scheme = %name, "caught up"),
            Ok(Err(e)) => {
                tracing::error!(scheme = %name, error = %e, "fetch failed; will try again at the next tick")
            }
            Err(e) => tracing::error!(scheme = %name, error = %e, "fetcher unavailable"),
        }
        busy.set(false);
    });
}

impl Actor for Scheduler {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        for (i, addr) in &self.fetchers {
            let scheme = &self.shared.config.schemes[*i];
            let every = scheme.every.max(Duration::from_secs(1));
            let name = scheme.name.clone();
            let busy = Rc::new(Cell::new(false));
            // First tick now, then every `every`.
            tick(
                name.clone(),
                addr.clone(),
                busy.clone(),
                self.writer.clone(),
            );
            let addr = addr.clone();
            let writer = self.writer.clone();
            ctx.run_interval(every, move |_, _| {
                tick(name.clone(), addr.clone(), busy.clone(), writer.clone());
            });
        }
    }
}

impl Handler<Stop> for Scheduler {
    type Result = ();

    fn handle(&mut self, _: Stop, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}
