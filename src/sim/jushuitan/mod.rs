//! Simulator of the Jushuitan open platform: a faithful local stand-in for
//! `openapi.jushuitan.com` serving `shops.query` and the query APIs of [`apis::APIS`]
//! (other in/out, sales out, after-sale returns, purchase in/out, transfers, SKUs) over a generated,
//! deterministic world (`world`), with the documented signing, tokens, 7-day windows, page-size
//! caps, rate limits (codes 199/200) and optional faults (`faults`).
//!
//! It runs in its own thread with its own actix System, so tests, benches, the CLI and the
//! pipeline can all start one: [`start`] returns once the port is bound.

pub mod apis;
mod docs;
mod families;
mod faults;
mod live;
mod query;
mod rate;
mod server;
mod state;
mod world;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpServer};
use parking_lot::{Mutex, RwLock};
use serde_json::Value;

pub use families::SUPPLIERS;
pub use faults::Profile;
pub use live::MAX_RATE as MAX_LIVE_RATE;
pub use query::{INOUT_MAX_PAGE_SIZE, MAX_WINDOW_SECS, SHOPS_MAX_PAGE_SIZE};
pub use world::{FIRST_IOI_ID, FIRST_IO_ID, FIRST_SHOP_ID};

use server::Shared;

/// What to simulate.
#[derive(Debug, Clone)]
pub struct JstSimOptions {
    /// Where to listen (127.0.0.1:0 = any free port).
    pub addr: SocketAddr,
    /// Keeps the generated world, upserts and issued tokens, so a restarted simulator serves the
    /// same world and accepts the same tokens. None: memory only.
    pub state_dir: Option<PathBuf>,
    /// Number of documents per API: other in/out documents, and as many of each other API's
    /// (sales out, after-sale returns, purchase in and out, transfers, SKUs).
    pub docs: u32,
    pub shops: u32,
    pub seed: u64,
    /// Fault profile: none, latency, timeouts, http5xx, rate-storm, session-loss, chaos
    /// (response-error and lost-reply are Kingdee faults: no effect here).
    pub faults: String,
    /// Limits enforced with codes 199 and 200 (0 = unlimited).
    pub per_second: u32,
    pub per_minute: u32,
    /// Some(n): every document has exactly n lines (benchmarks); None: 0–5 lines.
    pub lines: Option<u32>,
    /// The history of modifications spans this many days before the start.
    pub history_days: u32,
    /// Credentials the simulator accepts.
    pub app_key: String,
    pub app_secret: String,
    /// Lifetime of issued access tokens (`expires_in`).
    pub token_ttl: Duration,
    /// How long a "timeouts" fault keeps the client waiting.
    pub hang: Duration,
    /// Code answered for a bad signature (the sources disagree: 10 or 120).
    pub sign_error_code: i64,
    /// Live mode: changes per second to each API in use (0: the world stands still).
    pub live: f64,
}

impl Default for JstSimOptions {
    fn default() -> Self {
        JstSimOptions {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            state_dir: None,
            docs: 500,
            shops: 20,
            seed: 1,
            faults: "none".into(),
            per_second: 5,
            per_minute: 100,
            lines: None,
            history_days: 30,
            app_key: "ferry-sim-app-key".into(),
            app_secret: "ferry-sim-app-secret".into(),
            token_ttl: Duration::from_secs(864_000),
            hang: Duration::from_secs(120),
            sign_error_code: 10,
            live: 0.0,
        }
    }
}

/// Why the simulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("{0}")]
    Faults(String),
    #[error("simulator state: {0}")]
    State(String),
    #[error("cannot listen on {addr}: {message}")]
    Bind { addr: SocketAddr, message: String },
    #[error("simulator thread: {0}")]
    Thread(String),
    #[error("live rate {0} is not a number of changes per second between 0 and {max}", max = live::MAX_RATE)]
    LiveRate(f64),
}

/// A running simulator. Dropping it (or [`JstSimHandle::stop`]) stops it.
pub struct JstSimHandle {
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: Option<actix_web::dev::ServerHandle>,
    thread: Option<JoinHandle<()>>,
    live: Mutex<Option<live::Live>>,
}

/// Starts the simulator; returns once it listens.
pub fn start(opts: JstSimOptions) -> Result<JstSimHandle, SimError> {
    let profile = Profile::parse(&opts.faults).map_err(SimError::Faults)?;
    if !(0.0..=live::MAX_RATE).contains(&opts.live) {
        return Err(SimError::LiveRate(opts.live));
    }
    let params = world::WorldParams {
        seed: opts.seed,
        docs: opts.docs,
        shops: opts.shops,
        lines: opts.lines,
        history_days: opts.history_days,
    };
    let (state, tokens) =
        state::State::open(&params, opts.state_dir.as_deref()).map_err(SimError::State)?;
    let shared = Arc::new(Shared {
        app_key: opts.app_key.clone(),
        app_secret: opts.app_secret.clone(),
        per_second: opts.per_second as usize,
        per_minute: opts.per_minute as usize,
        token_ttl: opts.token_ttl.as_secs().max(1) as i64,
        max_skew: 600,
        sign_error_code: opts.sign_error_code,
        hang: opts.hang,
        state_dir: opts.state_dir.clone(),
        state: RwLock::new(state),
        tokens: Mutex::new(tokens),
        rates: Mutex::new(rate::Rates::default()),
        faults: Mutex::new(faults::Faults::new(profile, opts.seed)),
        init_calls: Default::default(),
        refresh_calls: Default::default(),
        live_counts: Default::default(),
    });
    let (tx, rx) = std::sync::mpsc::channel();
    let data = web::Data::from(shared.clone());
    let addr = opts.addr;
    let thread = std::thread::Builder::new()
        .name("jushuitan-sim".into())
        .spawn(move || {
            let system = actix_rt::System::new();
            system.block_on(async move {
                let bound = HttpServer::new(move || {
                    App::new()
                        .app_data(data.clone())
                        .app_data(web::PayloadConfig::new(4 * 1024 * 1024))
                        .default_service(web::to(server::dispatch))
                })
                .workers(4)
                .disable_signals()
                .shutdown_timeout(1)
                .bind(addr);
                let server = match bound {
                    Ok(s) => s,
                    Err(e) => {
                        let _ = tx.send(Err(e.to_string()));
                        return;
                    }
                };
                let local = server.addrs().first().copied().unwrap_or(addr);
                let running = server.run();
                let _ = tx.send(Ok((local, running.handle())));
                let _ = running.await;
            });
        })
        .map_err(|e| SimError::Thread(e.to_string()))?;
    match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(Ok((local, handle))) => {
            let sim = JstSimHandle {
                addr: local,
                shared,
                server: Some(handle),
                thread: Some(thread),
                live: Mutex::new(None),
            };
            if opts.live > 0.0 {
                let live = live::Live::spawn(sim.shared.clone(), opts.live, opts.seed)
                    .map_err(|e| SimError::Thread(format!("live mode: {e}")))?;
                *sim.live.lock() = Some(live);
            }
            Ok(sim)
        }
        Ok(Err(message)) => {
            let _ = thread.join();
            Err(SimError::Bind { addr, message })
        }
        Err(e) => Err(SimError::Thread(format!("did not start: {e}"))),
    }
}

impl JstSimHandle {
    /// `http://127.0.0.1:PORT` (API paths are appended to it).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn app_key(&self) -> &str {
        &self.shared.app_key
    }

    pub fn app_secret(&self) -> &str {
        &self.shared.app_secret
    }

    /// Every other in/out document as a full query at `now` (unix seconds) would return it:
    /// its latest version modified at or before `now`, ordered by (modified, io_id).
    pub fn documents_at(&self, now: i64) -> Vec<Value> {
        self.shared.state.read().docs.at(now)
    }

    /// Every document of `api` (`orders.out.simple.query`, ...) as a full query at `now` would
    /// return it, ordered by (modified, key). Empty for an API the simulator does not serve.
    pub fn api_documents_at(&self, api: &str, now: i64) -> Vec<Value> {
        self.shared
            .state
            .read()
            .docs_of(api)
            .map(|d| d.at(now))
            .unwrap_or_default()
    }

    /// Every version of the document `key` of `api`, oldest first (empty: no such document).
    pub fn versions_of(&self, api: &str, key: i64) -> Vec<Value> {
        self.shared
            .state
            .read()
            .docs_of(api)
            .map(|d| d.versions_of(&(key, String::new())))
            .unwrap_or_default()
    }

    /// Whether the documents of `api` were made: a client asked for them (other in/out's always
    /// are). Live mode changes only these.
    pub fn api_in_use(&self, api: &str) -> bool {
        self.shared.state.read().in_use(api)
    }

    /// Ends live mode (if on): the world stands still from now on.
    pub fn stop_live(&self) {
        if let Some(mut live) = self.live.lock().take() {
            live.stop();
        }
    }

    /// Documents live mode created and changed so far.
    pub fn live_changes(&self) -> (u64, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        let c = &self.shared.live_counts;
        (c.created.load(Relaxed), c.modified.load(Relaxed))
    }

    pub fn shops(&self) -> Vec<Value> {
        self.shared.state.read().shops.clone()
    }

    /// Inserts or replaces a document by `io_id`, with `modified` set to now, so it shows up in
    /// the next window. A document without a numeric io_id is ignored (and logged).
    pub fn upsert(&self, doc: Value) {
        self.upsert_into(apis::OTHER_INOUT.name, doc);
    }

    /// Inserts or replaces a document of `api` by its key (`io_id`, or `sku_id` for
    /// `sku.query`), with `modified` set to now. A document without a key is ignored (and logged).
    pub fn upsert_into(&self, api: &str, doc: Value) {
        if let Err(e) = self
            .shared
            .state
            .write()
            .upsert(api, doc, crate::time::now_unix())
        {
            tracing::warn!("Jushuitan simulator: {e}");
        }
    }

    /// The most requests ever seen within one second.
    pub fn max_per_second(&self) -> usize {
        self.shared.rates.lock().max_per_second()
    }

    /// The most requests ever seen within one minute.
    pub fn max_per_minute(&self) -> usize {
        self.shared.rates.lock().max_per_minute()
    }

    /// How many faults the profile injected so far (delays included).
    pub fn faults_injected(&self) -> u64 {
        self.shared.faults.lock().injected()
    }

    /// Forgets every issued access token (as if Jushuitan revoked them); refresh tokens stay.
    pub fn revoke_access_tokens(&self) {
        let mut book = self.shared.tokens.lock();
        book.access.clear();
        book.save(self.shared.state_dir.as_deref());
    }

    /// Issues an access and refresh token pair, as a merchant's authorization of a
    /// service-provider app does (the pair a consultant puts into config.toml).
    pub fn issue_tokens(&self) -> (String, String) {
        let mut book = self.shared.tokens.lock();
        server::issue_pair(&self.shared, &mut book)
    }

    /// Token requests answered so far: (getInitToken or accessToken, refreshToken).
    pub fn token_calls(&self) -> (u64, u64) {
        use std::sync::atomic::Ordering::SeqCst;
        (
            self.shared.init_calls.load(SeqCst),
            self.shared.refresh_calls.load(SeqCst),
        )
    }

    /// Number of access tokens currently valid.
    pub fn valid_tokens(&self) -> usize {
        let now = crate::time::now_unix();
        let book = self.shared.tokens.lock();
        book.access.values().filter(|t| t.expires_at > now).count()
    }

    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop_live();
        if let Some(h) = self.server.take() {
            // The stop command is sent at once; the returned future only waits for completion.
            drop(h.stop(false));
        }
        if let Some(t) = self.thread.take() {
            let deadline = Instant::now() + Duration::from_secs(5);
            while !t.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            if t.is_finished() {
                let _ = t.join();
            }
        }
    }
}

impl Drop for JstSimHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}
