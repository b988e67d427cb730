//! `ferry run [--once] [--json] [--scheme NAME]...`

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

/// Resolves when the user presses Ctrl-C (or the service manager stops us).
pub async fn ctrl_c() {
    if tokio::signal::ctrl_c().await.is_err() {
        // No signal handling available: never resolve, the process is stopped from outside.
        std::future::pending::<()>().await;
    }
}

pub fn run(config_path: &Path, args: RunArgs) -> Result<u8, CliError> {
    let config = crate::config::load(config_path)?;
    // Before the simulators start: a second ferry on the same data folder stops here.
    let held = super::open::open_or_fail(&config, "run", true)?;
    let bars = args.once && !args.json && std::io::stderr().is_terminal();
    let _log = super::logging::init(&config, if bars { "warn" } else { "info" });
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
        if !args.once {
            tracing::info!(config = %config.file.display(), "ferry running; press Ctrl-C to stop");
        }
        let summary = pipeline::run(config, store, options, ctrl_c()).await?;
        drop(sims);
        // The pid file goes before the store is let go.
        drop(held);
        if args.json {
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
}
