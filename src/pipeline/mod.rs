//! The pipeline: Scheduler → Fetcher → Mapper → Store → Writer, as supervised actix actors.
//!
//! `run(config, options, shutdown)` is the one entry point shared by the console command, a
//! Windows service and the tests (the mini-redis shape). The actors are thin: windowing lives in
//! [`window`], delivery decisions in [`delivery`], fetching/mapping/writing in plain `*Core`
//! structs that the actors lock and drive. Sled I/O always runs on the blocking pool.

pub mod board;
pub mod budget;
pub mod delivery;
pub mod fetcher;
pub mod mapper;
pub mod progress;
pub mod reload;
pub mod scheduler;
pub mod snapshot;
pub mod stats;
pub mod tokens;
pub mod upkeep;
pub mod window;
pub mod writer;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::{Actor, Addr, Supervisor};

use crate::config::Config;
use crate::sink::kingdee;
use crate::source::jushuitan;
use crate::store::{Store, StoreError};

pub use stats::{RunSummary, SchemeSummary, Stats};

/// Why a run could not go on.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("Jushuitan ({api}, scheme {scheme}): {source}")]
    Source {
        scheme: String,
        api: String,
        source: jushuitan::SourceError,
    },
    #[error("Kingdee: {0}")]
    Sink(String),
    #[error("scheme {scheme}: {message}")]
    Scheme { scheme: String, message: String },
    #[error("an actor failed: {0}")]
    Actor(String),
    #[error("a background task failed: {0}")]
    Join(String),
    #[error("simulator: {0}")]
    Sim(String),
}

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Run every enabled scheme until caught up and every due entry was tried, then return.
    pub once: bool,
    /// Only these schemes (all enabled ones when empty).
    pub schemes: Vec<String>,
    /// With `once`: also wait for retries that fall due within this long.
    pub wait_retries: Duration,
    /// Draw progress bars (a terminal) or log plain lines.
    pub progress_bars: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            once: true,
            schemes: Vec::new(),
            wait_retries: Duration::from_secs(30),
            progress_bars: false,
        }
    }
}

/// Everything the actors share.
pub struct Shared {
    pub config: Config,
    pub store: Store,
    pub jst: jushuitan::Client,
    pub kd: kingdee::Client,
    pub stats: Stats,
    pub progress: progress::Progress,
    /// Typed events: log lines, alerts, the console's live view.
    pub telemetry: crate::telemetry::Telemetry,
    /// Per scheme: running, last and next run, last error.
    pub board: board::Board,
    /// Where the admin server listens (`http://127.0.0.1:8765`), once it does.
    pub admin_url: std::sync::OnceLock<String>,
    /// Each scheme's mapping, following config.toml while ferry runs.
    pub mappings: reload::Mappings,
}

impl Shared {
    /// Index of a scheme by name.
    pub fn scheme_index(&self, name: &str) -> Option<usize> {
        self.config.schemes.iter().position(|s| s.name == name)
    }
}

/// Runs `f` on the blocking pool with a clone of the store (sled I/O never blocks an actor).
pub async fn blocking<T, F>(store: &Store, f: F) -> Result<T, PipelineError>
where
    T: Send + 'static,
    F: FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
{
    let store = store.clone();
    match tokio::task::spawn_blocking(move || f(&store)).await {
        Ok(r) => r.map_err(PipelineError::from),
        Err(e) => Err(PipelineError::Join(e.to_string())),
    }
}

/// Opens the store under the config's data_dir.
pub fn open_store(config: &Config) -> Result<Store, StoreError> {
    Store::open(&config.data_dir.join("store"))
}

/// Runs the pipeline until `shutdown` resolves, or (with `options.once`) until every enabled
/// scheme has caught up and every due entry was tried. Must be called inside an actix System.
pub async fn run(
    config: Config,
    store: Store,
    options: RunOptions,
    shutdown: impl Future<Output = ()>,
) -> Result<RunSummary, PipelineError> {
    let started = Instant::now();
    let selected: Vec<usize> = config
        .schemes
        .iter()
        .enumerate()
        .filter(|(_, s)| {
            if options.schemes.is_empty() {
                s.enabled
            } else {
                options.schemes.iter().any(|n| n == &s.name)
            }
        })
        .map(|(i, _)| i)
        .collect();
    for name in &options.schemes {
        if !config.schemes.iter().any(|s| &s.name == name) {
            return Err(PipelineError::Scheme {
                scheme: name.clone(),
                message: "no such scheme in the config".into(),
            });
        }
    }
    let stats = Stats::new(config.schemes.iter().map(|s| s.name.as_str()));
    let telemetry = crate::telemetry::Telemetry::new();
    let token_store = Arc::new(tokens::StoreTokens::new(store.clone(), telemetry.clone()));
    let jst_settings = jushuitan::ClientSettings {
        telemetry: Some(telemetry.clone()),
        ..tokens::jushuitan_settings(&config)
    };
    let jst = jushuitan::Client::new(jst_settings, token_store)
        .map_err(|e| PipelineError::Sim(format!("Jushuitan client: {e}")))?;
    let kd = kingdee::Client::new(tokens::kingdee_settings(&config))
        .map_err(|e| PipelineError::Sink(e.to_string()))?;
    let progress = progress::Progress::new(
        options.progress_bars,
        selected.iter().map(|&i| config.schemes[i].name.clone()),
    );
    let mappings = reload::Mappings::new(&config);
    let shared = Arc::new(Shared {
        config,
        store,
        jst,
        kd,
        stats,
        progress,
        telemetry,
        board: board::Board::default(),
        admin_url: std::sync::OnceLock::new(),
        mappings,
    });

    let alerts = crate::alert::spawn(&shared.config, shared.telemetry.subscribe());
    let snapshots = {
        let shared = shared.clone();
        actix::spawn(async move {
            loop {
                let _ = snapshot::write(&shared).await;
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        })
    };

    let upkeep = upkeep::start(&shared, options.once);

    let mailbox = shared.config.pipeline.mailbox.max(1);
    let writer = {
        let shared = shared.clone();
        Supervisor::start(move |_| writer::Writer::new(shared, mailbox))
    };
    let mapper = {
        let shared = shared.clone();
        let writer = writer.clone();
        Supervisor::start(move |_| mapper::Mapper::new(shared, writer, mailbox))
    };
    let fetchers: Vec<(usize, Addr<fetcher::Fetcher>)> = selected
        .iter()
        .map(|&i| {
            let shared = shared.clone();
            let mapper = mapper.clone();
            (
                i,
                Supervisor::start(move |_| fetcher::Fetcher::new(shared, i, mapper, mailbox)),
            )
        })
        .collect();

    let admin = start_admin(&shared, &writer, &mapper, &fetchers);

    // Entries left InFlight by a crash are uncertain: look them up before anything is sent.
    let mut errors = Vec::new();
    match writer.send(writer::Reconcile).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => errors.push(format!("reconciliation at start-up: {e}")),
        Err(e) => errors.push(format!("writer: {e}")),
    }

    let mut scheme_errors: Vec<(usize, String)> = Vec::new();
    if options.once {
        let work = async {
            // Every scheme catches up at once, as under the scheduler: one scheme's backfill
            // does not hold the others back (they take turns at Jushuitan's call budget).
            let catch_ups = fetchers.iter().map(|(i, f)| {
                let shared = &shared;
                async move {
                    let name = &shared.config.schemes[*i].name;
                    shared.board.started(name);
                    let result = match f.send(fetcher::CatchUp).await {
                        Ok(Ok(())) => Ok(()),
                        Ok(Err(e)) => Err((e.to_string(), scheduler::unreachable(&e))),
                        Err(e) => Err((format!("fetcher stopped: {e}"), false)),
                    };
                    let err = result.as_ref().err().map(|(e, _)| (*i, e.clone()));
                    shared.board.finished(&shared.telemetry, name, result);
                    err
                }
            });
            let errs: Vec<(usize, String)> = futures_util::future::join_all(catch_ups)
                .await
                .into_iter()
                .flatten()
                .collect();
            let drain = writer
                .send(writer::Drain {
                    wait_retries: options.wait_retries,
                })
                .await;
            (errs, drain)
        };
        tokio::pin!(shutdown);
        tokio::select! {
            (errs, drain) = work => {
                scheme_errors = errs;
                match drain {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => errors.push(format!("delivery: {e}")),
                    Err(e) => errors.push(format!("writer: {e}")),
                }
            }
            _ = &mut shutdown => {
                errors.push("stopped before the run finished".into());
            }
        }
    } else {
        let sched =
            scheduler::Scheduler::new(shared.clone(), fetchers.clone(), writer.clone()).start();
        if let Some(a) = &admin {
            *a.state.scheduler.lock() = Some(sched.clone());
        }
        shutdown.await;
        let _ = sched.send(scheduler::Stop).await;
    }

    if let Some(a) = admin {
        a.stop().await;
    }
    // Let the Writer finish (or leave InFlight, to be reconciled next start) its current batch.
    let _ = writer.send(writer::Shutdown).await;
    upkeep.stop(errors.is_empty()).await;
    let store = shared.store.clone();
    let _ = blocking(&store, |s| s.flush()).await;
    shared.progress.finish();
    alerts.close().await;
    snapshots.abort();
    let _ = snapshot::write(&shared).await;

    let mut schemes = Vec::new();
    for &i in &selected {
        let scheme = &shared.config.schemes[i];
        let name = scheme.name.clone();
        let st = shared.stats.scheme(&name);
        let counts = {
            let n = name.clone();
            blocking(&store, move |s| s.counts(&n)).await?
        };
        let checkpoint = {
            let n = name.clone();
            blocking(&store, move |s| s.checkpoint(&n)).await?
        };
        schemes.push(SchemeSummary {
            scheme: name,
            fetched: stats::SchemeStats::get(&st.fetched),
            filtered: stats::SchemeStats::get(&st.filtered),
            duplicates: stats::SchemeStats::get(&st.duplicates),
            new: stats::SchemeStats::get(&st.new),
            changed_after_delivery: stats::SchemeStats::get(&st.changed_after_delivery),
            delivered: stats::SchemeStats::get(&st.delivered),
            retrying: counts.retry + counts.in_flight,
            dead: counts.dead,
            delivered_total: counts.delivered,
            pending: counts.pending,
            checkpoint: checkpoint.map(crate::time::format_beijing),
            error: scheme_errors
                .iter()
                .find(|(j, _)| *j == i)
                .map(|(_, e)| e.clone()),
        });
    }
    Ok(RunSummary {
        schemes,
        elapsed_ms: started.elapsed().as_millis() as u64,
        errors,
    })
}

/// Starts the admin server on `[admin] listen`. A port that cannot be had is logged and the
/// run goes on without it: delivering documents matters more than the console.
fn start_admin(
    shared: &Arc<Shared>,
    writer: &Addr<writer::Writer>,
    mapper: &Addr<mapper::Mapper>,
    fetchers: &[(usize, Addr<fetcher::Fetcher>)],
) -> Option<crate::admin::AdminServer> {
    let listen = shared.config.admin.listen?;
    let started = crate::admin::start(listen, |url| {
        let m = mapper.clone();
        crate::admin::AdminState {
            shared: shared.clone(),
            writer: writer.clone(),
            fetchers: fetchers.to_vec(),
            mapper_alive: Box::new(move || m.connected()),
            scheduler: parking_lot::Mutex::new(None),
            started_at: crate::time::now_unix(),
            url,
        }
    });
    match started {
        Ok(a) => {
            let _ = shared.admin_url.set(a.url.clone());
            Some(a)
        }
        Err(e) => {
            tracing::error!(error = %e, "admin console not started");
            None
        }
    }
}

/// The message of a caught panic, for logs and errors.
pub fn panic_message(panic: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    }
}
