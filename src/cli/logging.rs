//! Logging: human lines on stderr, and daily-rolling files under the config's log dir (a Windows
//! service has no console: the files are what an admin reads). Every line starts with the time
//! in Beijing time with its offset (`2026-11-28T18:03:04.123+08:00`), whatever the server's
//! own zone; `[log] keep_days` daily files are kept (`ferry.log.YYYY-MM-DD`, named and rolled
//! over by the UTC date, as tracing-appender does), older ones are deleted at start and at each
//! roll-over.

use std::io::IsTerminal;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_appender::rolling::{Builder, RollingFileAppender, Rotation};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, EnvFilter, Layer};

use crate::config::Config;

/// The daily files' name before the date.
pub const LOG_FILE_PREFIX: &str = "ferry.log";

/// Log timestamps in Beijing time with the offset written out.
#[derive(Debug, Clone, Copy, Default)]
pub struct BeijingTime;

impl FormatTime for BeijingTime {
    fn format_time(&self, w: &mut Writer<'_>) -> std::fmt::Result {
        w.write_str(&beijing_timestamp(crate::time::now_millis()))
    }
}

/// `yyyy-MM-ddTHH:mm:ss.fff+08:00` of a Unix time in milliseconds.
pub fn beijing_timestamp(unix_millis: i64) -> String {
    let c = crate::time::to_beijing(unix_millis.div_euclid(1000));
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}+08:00",
        c.year,
        c.month,
        c.day,
        c.hour,
        c.minute,
        c.second,
        unix_millis.rem_euclid(1000)
    )
}

/// The daily-rolling file appender in `dir`, keeping `keep_days` files (today's included).
pub fn daily_files(
    dir: &std::path::Path,
    keep_days: u32,
) -> Result<RollingFileAppender, tracing_appender::rolling::InitError> {
    Builder::new()
        .rotation(Rotation::DAILY)
        .filename_prefix(LOG_FILE_PREFIX)
        .max_log_files(keep_days.max(1) as usize)
        .build(dir)
}

/// Installs the global subscriber; keep the guard alive until exit so file lines are flushed.
pub fn init(config: &Config, console_level: &str) -> Option<WorkerGuard> {
    let console_filter = EnvFilter::try_from_env("FERRY_LOG")
        .unwrap_or_else(|_| EnvFilter::new(format!("{console_level},sled=warn,actix=warn")));
    let console = fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(console_colours())
        .with_target(false)
        .with_timer(BeijingTime)
        .with_filter(console_filter);
    let appender = std::fs::create_dir_all(&config.log.dir)
        .map_err(|e| e.to_string())
        .and_then(|()| {
            daily_files(&config.log.dir, config.log.keep_days).map_err(|e| e.to_string())
        });
    let (file_layer, guard) = match appender {
        Ok(appender) => {
            // The default queue (128,000 lines) is 4 MB of memory touched at start; 8,192
            // lines is plenty between two wake-ups of the writer thread.
            let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
                .buffered_lines_limit(8192)
                .finish(appender);
            let filter = EnvFilter::new(format!("{},sled=warn,actix=warn", config.log.level));
            let layer = fmt::layer()
                .with_writer(writer)
                .with_ansi(false)
                .with_timer(BeijingTime)
                .with_filter(filter);
            (Some(layer), Some(guard))
        }
        Err(e) => {
            eprintln!(
                "warning: cannot write log files in {}: {e}; logging to the console only",
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
                .with_timer(BeijingTime)
                .with_filter(filter),
        )
        .try_init();
}

/// Colours only on a terminal (and not when `NO_COLOR` is set): piped or redirected output, a
/// service's log capture and files get plain text.
fn console_colours() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_beijing_time_with_the_offset() {
        // 2026-11-28 10:03:04.123 UTC is 18:03:04.123 in Beijing.
        let utc = crate::time::days_from_civil(2026, 11, 28) * 86_400 + 10 * 3600 + 3 * 60 + 4;
        assert_eq!(
            beijing_timestamp(utc * 1000 + 123),
            "2026-11-28T18:03:04.123+08:00"
        );
        // Past midnight in Beijing while still the day before in UTC.
        let late = crate::time::days_from_civil(2026, 12, 31) * 86_400 + 16 * 3600;
        assert_eq!(
            beijing_timestamp(late * 1000 + 7),
            "2027-01-01T00:00:00.007+08:00"
        );
    }

    /// Files named by days, created oldest first, as the appender itself creates them: it
    /// keeps the newest by creation time (file times tick every few milliseconds).
    fn dated_files(dir: &std::path::Path, days: std::ops::RangeInclusive<i64>) -> Vec<String> {
        let today = crate::time::now_unix().div_euclid(86_400);
        let mut names = Vec::new();
        for back in days.rev() {
            let (y, m, d) = crate::time::civil_from_days(today - back);
            let name = format!("{LOG_FILE_PREFIX}.{y:04}-{m:02}-{d:02}");
            std::fs::write(dir.join(&name), "old\n").unwrap();
            names.push(name);
            std::thread::sleep(std::time::Duration::from_millis(15));
        }
        names
    }

    fn log_files(dir: &std::path::Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(LOG_FILE_PREFIX))
            .collect();
        v.sort();
        v
    }

    #[test]
    fn only_the_newest_keep_days_files_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let old = dated_files(dir.path(), 1..=12);
        std::fs::write(dir.path().join("notes.txt"), "not a log").unwrap();
        let appender = daily_files(dir.path(), 5).unwrap();
        drop(appender);
        let mut want: Vec<String> = old[old.len() - 4..].to_vec();
        let (y, m, d) = crate::time::civil_from_days(crate::time::now_unix().div_euclid(86_400));
        want.push(format!("{LOG_FILE_PREFIX}.{y:04}-{m:02}-{d:02}"));
        want.sort();
        assert_eq!(log_files(dir.path()), want);
        assert!(dir.path().join("notes.txt").exists());
    }
}
