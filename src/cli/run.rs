//! `ferry run [--once] [--json] [--scheme NAME]...`
//!
//! [`run_with`] is the one path from a config file to a running pipeline, for the console
//! (`ferry run`, stopped with Ctrl-C) and the Windows service (stopped by the service manager).

use std::future::Future;
use std::io::IsTerminal;
use std::path::Path;
use std::time::Duration;

use clap::Args;

use super::CliError;
use crate::pipeline::{self, RunOptions};

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Catch every enabled scheme up to now, try every due entry, print a summary and exit
    /// (0 if nothing is dead, 1 otherwise).
    #[arg(long)]
    pub once: bool,
    /// With --once: print the summary as one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
    /// Run only this scheme (repeatable); default: every enabled scheme.
    #[arg(long = "scheme")]
    pub schemes: Vec<String>,
    /// With --once: also wait this long for retries that fall due (e.g. "30s", "0s").
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    pub wait_retries: Duration,
}

impl RunArgs {
    /// What a service runs: every enabled scheme on its schedule until stopped.
    pub fn service() -> RunArgs {
        RunArgs {
            once: false,
            json: false,
            schemes: Vec::new(),
            wait_retries: Duration::ZERO,
        }
    }
}

/// Who runs ferry, and so where its messages go.
pub enum Host<'a> {
    /// A console window: progress and the summary on the terminal, errors to `main`.
    Console,
    /// A service with no console: everything goes to the log files. `ready` is called once the
    /// store is open and the pipeline starts (the service then reports Running).
    Service { ready: &'a mut dyn FnMut() },
}

/// Resolves when the user presses Ctrl-C.
pub async fn ctrl_c() {
    if tokio::signal::ctrl_c().await.is_err() {
        // No signal handling available: never resolve, the process is stopped from outside.
        std::future::pending::<()>().await;
    }
}

pub fn run(config_path: &Path, args: RunArgs) -> Result<u8, CliError> {
    run_with(config_path, args, Host::Console, ctrl_c())
}

/// Loads the config, takes the store, starts the simulators when configured, and runs the
/// pipeline until `shutdown` resolves (or, with `--once`, until caught up). Returns the exit
/// code. With [`Host::Service`] an error that ends the run is also written to the log files
/// (a service has no console); a config that cannot be loaded is the caller's to report, since
/// there is no log dir yet.
pub fn run_with(
    config_path: &Path,
    args: RunArgs,
    mut host: Host<'_>,
    shutdown: impl Future<Output = ()>,
) -> Result<u8, CliError> {
    let config = crate::config::load(config_path)?;
    let service = matches!(host, Host::Service { .. });
    let bars = !service && args.once && !args.json && std::io::stderr().is_terminal();
    // Logging before the store: a service that cannot get it says why in its log file.
    let _log = super::logging::init(&config, if bars { "warn" } else { "info" });
    let result = (move || {
        // Before the simulators start: a second ferry on the same data folder stops here.
        let held = super::open::open_or_fail(&config, "run", true)?;
        let system = actix_rt::System::new();
        system.block_on(async move {
            let (config, sims) = crate::sim::attach(config).map_err(CliError::Sim)?;
            let store = held.store().clone();
            let options = RunOptions {
                once: args.once,
                schemes: args.schemes.clone(),
                wait_retries: if args.once {
                    args.wait_retries
                } else {
                    Duration::ZERO
                },
                progress_bars: bars,
            };
            match &mut host {
                Host::Console if !args.once => tracing::info!(
                    config = %config.file.display(),
                    "ferry running; press Ctrl-C to stop"
                ),
                Host::Console => {}
                Host::Service { ready } => {
                    tracing::info!(config = %config.file.display(), "ferry service running");
                    ready();
                }
            }
            let summary = pipeline::run(config, store, options, shutdown).await?;
            drop(sims);
            // The pid file goes before the store is let go.
            drop(held);
            if service {
                tracing::info!("ferry service stopped\n{}", summary.table());
            } else if args.json {
                println!(
                    "{}",
                    serde_json::to_string(&summary)
                        .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
                );
            } else {
                print!("{}", summary.table());
            }
            let failed = summary.dead_total() > 0
                || !summary.errors.is_empty()
                || summary.schemes.iter().any(|s| s.error.is_some());
            Ok(if failed { 1 } else { 0 })
        })
    })();
    if service {
        if let Err(e) = &result {
            tracing::error!("ferry service stopped: {e}");
        }
    }
    result
}
