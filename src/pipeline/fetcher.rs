//! Fetcher actor: one per scheme; pulls windows and pages from Jushuitan.
//!
//! Takes:  `CatchUp` (from the Scheduler or the `--once` driver): fetch every window from the
//!         checkpoint up to now minus the settle lag; replies when all of it is durably stored.
//!         `Crashed` (from itself): a handler panicked; stop so the supervisor restarts us.
//! Sends:  `MapPage` to the Mapper with `send().await` (a slow store or Kingdee slows fetching);
//!         the checkpoint goes to the store only after every page of a window was acknowledged.

use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use actix::{
    Actor, ActorContext, Addr, AsyncContext, Context, Handler, Message, ResponseFuture, Supervised,
};
use futures_util::FutureExt;
use serde_json::{Map, Value};

use super::mapper::{MapPage, Mapper};
use super::stats::SchemeStats;
use super::window::{Window, WindowPlan};
use super::{blocking, PipelineError, Shared};
use crate::time::{format_beijing, now_unix};

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

/// The fetching logic of one scheme, without actix.
pub struct FetchCore {
    shared: Arc<Shared>,
    scheme: usize,
    mapper: Addr<Mapper>,
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

    /// Fetches everything from the checkpoint up to now, window by window.
    pub async fn catch_up(&mut self) -> Result<(), PipelineError> {
        let name = self.name().to_string();
        let stats = self.shared.stats.scheme(&name);
        if !self.windowed() {
            self.fetch(None).await?;
            let now = now_unix();
            let n = name.clone();
            blocking(&self.shared.store, move |s| s.set_checkpoint(&n, now)).await?;
            SchemeStats::add(&stats.windows, 1);
            self.shared.progress.window_done(&name, 1, 1, None);
            return Ok(());
        }
        let plan = self.plan();
        let checkpoint = {
            let n = name.clone();
            blocking(&self.shared.store, move |s| s.checkpoint(&n)).await?
        };
        let mut begin = plan.first_begin(checkpoint);
        let planned = plan.plan(checkpoint, now_unix()).len() as u64;
        stats
            .windows_planned
            .store(planned, std::sync::atomic::Ordering::Relaxed);
        let mut done = 0u64;
        while let Some(w) = plan.window_at(begin, now_unix()) {
            self.fetch(Some(w)).await?;
            let n = name.clone();
            blocking(&self.shared.store, move |s| s.set_checkpoint(&n, w.end)).await?;
            done += 1;
            SchemeStats::add(&stats.windows, 1);
            self.shared
                .progress
                .window_done(&name, done, planned.max(done), Some(w.end));
            begin = w.end;
        }
        Ok(())
    }

    fn biz(&self, window: Option<Window>) -> Map<String, Value> {
        let s = &self.shared.config.schemes[self.scheme];
        let mut biz = s.source.params.clone();
        if let Some(w) = window {
            biz.insert(
                "modified_begin".into(),
                Value::String(format_beijing(w.begin)),
            );
            biz.insert("modified_end".into(), Value::String(format_beijing(w.end)));
        }
        biz
    }

    /// Pages through one window (or the whole listing); pages again if the document count moved
    /// while paging (a document that left the window shifts later ones onto pages already read).
    async fn fetch(&mut self, window: Option<Window>) -> Result<(), PipelineError> {
        let s = &self.shared.config.schemes[self.scheme];
        let api = s.source.api.clone();
        let list_key = s.source.list_key.clone();
        let page_size = s
            .source
            .page_size
            .min(self.shared.config.jushuitan.page_cap(&api));
        let biz = self.biz(window);
        let stats = self.shared.stats.scheme(&s.name);
        for _rescan in 0..=MAX_RESCANS {
            let mut first_count: Option<u64> = None;
            let mut moved = false;
            let mut index = 1u32;
            // Up to PAGES_AHEAD pages are mapped and stored while the next is fetched; the
            // Mapper stores them in the order they are handed over.
            let mut storing: VecDeque<actix::dev::Request<Mapper, MapPage>> = VecDeque::new();
            loop {
                let asked = std::time::Instant::now();
                let page = self
                    .shared
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
                while storing.len() >= PAGES_AHEAD {
                    if let Some(previous) = storing.pop_front() {
                        previous
                            .await
                            .map_err(|e| PipelineError::Actor(format!("mapper: {e}")))??;
                    }
                }
                if !page.items.is_empty() {
                    storing.push_back(self.mapper.send(MapPage {
                        scheme: self.scheme,
                        items: page.items,
                    }));
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
            while let Some(previous) = storing.pop_front() {
                previous
                    .await
                    .map_err(|e| PipelineError::Actor(format!("mapper: {e}")))??;
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
        let core = FetchCore {
            shared: shared.clone(),
            scheme,
            mapper: mapper.clone(),
        };
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
        let core = FetchCore {
            shared: self.shared.clone(),
            scheme: self.scheme,
            mapper: self.mapper.clone(),
        };
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
