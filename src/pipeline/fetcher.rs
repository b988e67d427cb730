//! Fetcher actor: one per scheme; pulls windows and pages from Jushuitan.
//!
//! Takes:  `CatchUp` (from the Scheduler or the `--once` driver): fetch every window from the
//!         checkpoint up to now minus the settle lag; replies when all of it is durably stored.
//!         `Crashed` (from itself): a handler panicked; stop so the supervisor restarts us.
//! Sends:  `MapPage` to the Mapper with `send().await` (a slow store or Kingdee slows fetching);
//!         the checkpoint goes to the store only after every page of a window was acknowledged
//!         (the next window's first pages may already be on their way).

use std::collections::VecDeque;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;

use actix::{
    Actor, ActorContext, Addr, AsyncContext, Context, Handler, Message, ResponseFuture, Supervised,
};
use futures_util::FutureExt;

use super::mapper::{MapPage, Mapper};
use super::stats::SchemeStats;
use super::window::{Window, WindowPlan};
use super::{blocking, PipelineError, Shared};
use crate::time::now_unix;

/// Pages in one window before we suspect the server of looping.
const MAX_PAGES_PER_WINDOW: u32 = 20_000;
/// Pages handed to the Mapper and not yet stored, while the next page is fetched.
const PAGES_AHEAD: usize = 2;
/// Times a window is paged again when its document count moved while we paged.
const MAX_RESCANS: u32 = 3;

#[derive(Message)]
#[rtype(result = "Result<(), PipelineError>")]
pub struct CatchUp;

#[derive(Message)]
#[rtype(result = "()")]
struct Crashed(String);

/// What was handed on and is not settled yet, oldest first.
enum Pending {
    /// A page the Mapper maps and stores (in the order pages were handed over).
    Page(Pin<Box<actix::dev::Request<Mapper, MapPage>>>),
    /// A window whose pages are all handed over: its end becomes the checkpoint once every
    /// page before it is stored.
    Checkpoint { end: i64 },
}

/// Pages in flight across windows: up to [`PAGES_AHEAD`] are mapped and stored while the next
/// is fetched.
#[derive(Default)]
struct Ahead {
    queue: VecDeque<Pending>,
    pages: usize,
    /// Windows checkpointed, and planned, in this catch-up.
    done: u64,
    planned: u64,
}

/// The fetching logic of one scheme, without actix.
pub struct FetchCore {
    shared: Arc<Shared>,
    scheme: usize,
    mapper: Addr<Mapper>,
    /// The shared Jushuitan client, calling in this scheme's turn at the app's call budget.
    jst: crate::source::jushuitan::Client,
}

impl FetchCore {
    fn new(shared: Arc<Shared>, scheme: usize, mapper: Addr<Mapper>) -> Self {
        let jst = shared.jst.for_scheme(&shared.config.schemes[scheme].name);
        FetchCore {
            shared,
            scheme,
            mapper,
            jst,
        }
    }
}

impl FetchCore {
    fn name(&self) -> &str {
        &self.shared.config.schemes[self.scheme].name
    }

    fn plan(&self) -> WindowPlan {
        let s = &self.shared.config.schemes[self.scheme];
        WindowPlan {
            start_from: s.source.start_from,
            window_secs: s.source.window.as_secs() as i64,
            overlap_secs: s.source.overlap.as_secs() as i64,
            settle_lag_secs: self.shared.config.pipeline.settle_lag.as_secs() as i64,
        }
    }

    /// Whether the scheme's API is queried by modification window (shops.query is not).
    fn windowed(&self) -> bool {
        let s = &self.shared.config.schemes[self.scheme];
        !s.source.window.is_zero()
    }

    /// Fetches everything from the checkpoint up to the horizon as of the start (now minus the
    /// settle lag), window by window. The next window is
    /// fetched while the last pages of the one before are still being stored; each checkpoint
    /// is written once every page before it is stored, in window order.
    pub async fn catch_up(&mut self) -> Result<(), PipelineError> {
        let name = self.name().to_string();
        let stats = self.shared.stats.scheme(&name);
        let mut ahead = Ahead::default();
        if !self.windowed() {
            self.fetch(None, &mut ahead).await?;
            ahead
                .queue
                .push_back(Pending::Checkpoint { end: now_unix() });
            ahead.planned = 1;
            return self.settle_all(&mut ahead).await;
        }
        let plan = self.plan();
        let checkpoint = {
            let n = name.clone();
            blocking(&self.shared.store, move |s| s.checkpoint(&n)).await?
        };
        let mut begin = plan.first_begin(checkpoint);
        // The horizon is fixed when the catch-up starts: re-reading the clock after every
        // window would chase ever smaller windows for as long as a page takes a second or more.
        // Whatever is modified meanwhile is the next catch-up's.
        let now = now_unix();
        ahead.planned = plan.plan(checkpoint, now).len() as u64;
        stats
            .windows_planned
            .store(ahead.planned, std::sync::atomic::Ordering::Relaxed);
        while let Some(w) = plan.window_at(begin, now) {
            if let Err(e) = self.fetch(Some(w), &mut ahead).await {
                // Windows fetched before this one still get their checkpoints.
                // (The failed window's pages are still stored; only their replies are dropped.)
                while matches!(ahead.queue.back(), Some(Pending::Page(_))) {
                    ahead.queue.pop_back();
                }
                if let Err(settle) = self.settle_all(&mut ahead).await {
                    tracing::warn!(error = %settle, "could not settle earlier windows");
                }
                return Err(e);
            }
            ahead.queue.push_back(Pending::Checkpoint { end: w.end });
            begin = w.end;
        }
        self.settle_all(&mut ahead).await
    }

    /// Waits for the oldest page handed to the Mapper, or writes the oldest checkpoint.
    async fn settle_front(&self, ahead: &mut Ahead) -> Result<(), PipelineError> {
        match ahead.queue.pop_front() {
            None => Ok(()),
            Some(Pending::Page(stored)) => {
                ahead.pages -= 1;
                stored
                    .await
                    .map_err(|e| PipelineError::Actor(format!("mapper: {e}")))??;
                Ok(())
            }
            Some(Pending::Checkpoint { end }) => {
                let name = self.name().to_string();
                let n = name.clone();
                blocking(&self.shared.store, move |s| s.set_checkpoint(&n, end)).await?;
                ahead.done += 1;
                SchemeStats::add(&self.shared.stats.scheme(&name).windows, 1);
                let windowed = self.windowed().then_some(end);
                let total = ahead.planned.max(ahead.done);
                self.shared
                    .progress
                    .window_done(&name, ahead.done, total, windowed);
                Ok(())
            }
        }
    }

    /// Settles, without waiting, what is done at the front: pages already stored and the
    /// checkpoints after them, so each window's checkpoint is written (and shows in `ferry
    /// status`) as soon as its pages are stored, not at the end of the catch-up.
    async fn settle_ready(&self, ahead: &mut Ahead) -> Result<(), PipelineError> {
        loop {
            match ahead.queue.front_mut() {
                Some(Pending::Checkpoint { .. }) => self.settle_front(ahead).await?,
                Some(Pending::Page(stored)) => {
                    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
                    let Poll::Ready(result) = stored.as_mut().poll(&mut cx) else {
                        return Ok(());
                    };
                    ahead.queue.pop_front();
                    ahead.pages -= 1;
                    result.map_err(|e| PipelineError::Actor(format!("mapper: {e}")))??;
                }
                None => return Ok(()),
            }
        }
    }

    async fn settle_all(&self, ahead: &mut Ahead) -> Result<(), PipelineError> {
        while !ahead.queue.is_empty() {
            self.settle_front(ahead).await?;
        }
        Ok(())
    }

    /// Pages through one window (or the whole listing); pages again if the document count moved
    /// while paging (a document that left the window shifts later ones onto pages already read).
    async fn fetch(
        &mut self,
        window: Option<Window>,
        ahead: &mut Ahead,
    ) -> Result<(), PipelineError> {
        let s = &self.shared.config.schemes[self.scheme];
        let api = s.source.api.clone();
        let list_key = s.source.list_key.clone();
        let page_size = self.shared.config.jushuitan.page_size(&s.source);
        let biz = s.source.biz(window.map(|w| (w.begin, w.end)));
        let stats = self.shared.stats.scheme(&s.name);
        for _rescan in 0..=MAX_RESCANS {
            let mut first_count: Option<u64> = None;
            let mut moved = false;
            let mut index = 1u32;
            loop {
                self.settle_ready(ahead).await?;
                let asked = std::time::Instant::now();
                let page = self
                    .jst
                    .query_page(&api, &biz, &list_key, index, page_size)
                    .await
                    .map_err(|e| PipelineError::Source {
                        scheme: s.name.clone(),
                        api: api.clone(),
                        source: e,
                    })?;
                match (first_count, page.data_count) {
                    (None, c) => first_count = c.or(Some(u64::MAX)),
                    (Some(a), Some(b)) if a != b && a != u64::MAX => moved = true,
                    _ => {}
                }
                tracing::debug!(scheme = %s.name, page = index, docs = page.items.len(), ms = asked.elapsed().as_millis() as u64, "page fetched");
                SchemeStats::add(&stats.pages, 1);
                SchemeStats::add(&stats.fetched, page.items.len() as u64);
                let has_next = page.has_next && !page.items.is_empty();
                while ahead.pages >= PAGES_AHEAD {
                    self.settle_front(ahead).await?;
                }
                if !page.items.is_empty() {
                    ahead.pages += 1;
                    ahead
                        .queue
                        .push_back(Pending::Page(Box::pin(self.mapper.send(MapPage {
                            scheme: self.scheme,
                            items: page.items,
                        }))));
                }
                if !has_next {
                    break;
                }
                index += 1;
                if index > MAX_PAGES_PER_WINDOW {
                    return Err(PipelineError::Scheme {
                        scheme: s.name.clone(),
                        message: format!(
                            "{api}: more than {MAX_PAGES_PER_WINDOW} pages in one window; make the window smaller"
                        ),
                    });
                }
            }
            if !moved {
                return Ok(());
            }
            tracing::info!(scheme = %s.name, "documents moved while paging; paging the window again");
        }
        Ok(())
    }
}

/// The actor around [`FetchCore`].
pub struct Fetcher {
    shared: Arc<Shared>,
    scheme: usize,
    mapper: Addr<Mapper>,
    mailbox: usize,
    core: Arc<tokio::sync::Mutex<FetchCore>>,
}

impl Fetcher {
    pub fn new(shared: Arc<Shared>, scheme: usize, mapper: Addr<Mapper>, mailbox: usize) -> Self {
        let core = FetchCore::new(shared.clone(), scheme, mapper.clone());
        Fetcher {
            shared,
            scheme,
            mapper,
            mailbox,
            core: Arc::new(tokio::sync::Mutex::new(core)),
        }
    }
}

impl Actor for Fetcher {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.set_mailbox_capacity(self.mailbox);
    }
}

impl Supervised for Fetcher {
    fn restarting(&mut self, _ctx: &mut Context<Self>) {
        // Fresh state; the checkpoint is re-read from the store at the next CatchUp.
        let core = FetchCore::new(self.shared.clone(), self.scheme, self.mapper.clone());
        self.core = Arc::new(tokio::sync::Mutex::new(core));
        tracing::warn!(scheme = %self.shared.config.schemes[self.scheme].name, "fetcher restarted");
    }
}

impl Handler<CatchUp> for Fetcher {
    type Result = ResponseFuture<Result<(), PipelineError>>;

    fn handle(&mut self, _: CatchUp, ctx: &mut Context<Self>) -> Self::Result {
        let core = self.core.clone();
        let me = ctx.address();
        Box::pin(async move {
            let mut guard = core.lock().await;
            match AssertUnwindSafe(guard.catch_up()).catch_unwind().await {
                Ok(r) => r,
                Err(panic) => {
                    let msg = super::panic_message(panic);
                    me.do_send(Crashed(msg.clone()));
                    Err(PipelineError::Actor(format!("fetcher panicked: {msg}")))
                }
            }
        })
    }
}

impl Handler<Crashed> for Fetcher {
    type Result = ();

    fn handle(&mut self, msg: Crashed, ctx: &mut Context<Self>) {
        tracing::error!(error = %msg.0, "fetcher failed; restarting it");
        ctx.stop();
    }
}
