//! Logging: human lines on stderr, and daily-rolling files under the config's log dir (a Windows
//! service has no console: the files are what an admin reads).

use std::io::IsTerminal;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, EnvFilter, Layer};

use crate::config::Config;

/// Installs the global subscriber; keep the guard alive until exit so file lines are flushed.
pub fn init(config: &Config, console_level: &str) -> Option<WorkerGuard> {
    let console_filter = EnvFilter::try_from_env("FERRY_LOG")
        .unwrap_or_else(|_| EnvFilter::new(format!("{console_level},sled=warn,actix=warn")));
    let console = fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(console_colours())
        .with_target(false)
        .with_filter(console_filter);
    let (file_layer, guard) = match std::fs::create_dir_all(&config.log.dir) {
        Ok(()) => {
            let appender = tracing_appender::rolling::daily(&config.log.dir, "ferry.log");
            // The default queue (128,000 lines) is 4 MB of memory touched at start; 8,192
            // lines is plenty between two wake-ups of the writer thread.
            let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
                .buffered_lines_limit(8192)
                .finish(appender);
            let filter = EnvFilter::new(format!("{},sled=warn", config.log.level));
            let layer = fmt::layer()
                .with_writer(writer)
                .with_ansi(false)
                .with_filter(filter);
            (Some(layer), Some(guard))
        }
        Err(e) => {
            eprintln!(
                "warning: cannot create log dir {}: {e}; logging to the console only",
                config.log.dir.display()
            );
            (None, None)
        }
    };
    let _ = tracing_subscriber::registry()
        .with(console)
        .with(file_layer)
        .try_init();
    guard
}

/// Console-only logging for commands that have no config yet (`ferry sim` without one).
pub fn init_console(level: &str) {
    let filter = EnvFilter::try_from_env("FERRY_LOG").unwrap_or_else(|_| EnvFilter::new(level));
    let _ = tracing_subscriber::registry()
        .with(
            fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(console_colours())
                .with_target(false)
                .with_filter(filter),
        )
        .try_init();
}

/// Colours only on a terminal (and not when `NO_COLOR` is set): piped or redirected output, a
/// service's log capture and files get plain text.
fn console_colours() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}
