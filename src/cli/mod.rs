//! Command line: `ferry [--config PATH] <check|preview|run|status|sim|dlq|trace|alert|backup|service|template>`.
//!
//! One type per command; each command is a function of the parsed arguments that returns the
//! process exit code. `main.rs` only turns a [`CliError`] into a message.

pub mod alert;
pub mod backup;
pub mod check;
pub mod dlq;
pub mod logging;
pub mod open;
pub mod preview;
pub mod remote;
pub mod run;
pub mod sample;
pub mod service;
pub mod sim;
pub mod status;
pub mod template;

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Errors a command can end with (beyond the per-item errors it prints itself).
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigErrors),
    #[error(transparent)]
    Open(#[from] open::OpenError),
    #[error("cannot read the store in {}: {source}", .path.display())]
    Store {
        path: PathBuf,
        source: crate::store::StoreError,
    },
    /// Boxed: the pipeline's error is large and every command returns `CliError`.
    #[error("pipeline failed: {0}")]
    Pipeline(Box<crate::pipeline::PipelineError>),
    #[error("simulator: {0}")]
    Sim(String),
    #[error("{0}")]
    Usage(String),
    /// The running ferry's admin API refused (its message).
    #[error("{message}")]
    Remote { status: u16, message: String },
    /// `ferry service ...`: the Windows service manager's answer in plain words.
    #[error("{0}")]
    Service(String),
    #[error(transparent)]
    Template(#[from] crate::template::TemplateError),
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}

impl From<crate::pipeline::PipelineError> for CliError {
    fn from(e: crate::pipeline::PipelineError) -> Self {
        CliError::Pipeline(Box::new(e))
    }
}

#[derive(Debug, Parser)]
#[command(
    name = "ferry",
    version,
    about = "Moves Jushuitan (聚水潭) documents into Kingdee K/3 Cloud (金蝶云星空) exactly once"
)]
pub struct Cli {
    /// Path of the configuration file.
    #[arg(long, global = true, default_value = "config.toml")]
    pub config: PathBuf,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate config.toml and list every mistake at once.
    Check,
    /// Show the Kingdee model(s) a scheme's mapping produces for a source document.
    Preview {
        /// Scheme name, as in [[scheme]] name = "...".
        #[arg(long)]
        scheme: String,
        /// JSON file: one document, an array of documents, or a whole Jushuitan response.
        #[arg(long, required_unless_present = "sample", conflicts_with = "sample")]
        input: Option<PathBuf>,
        /// Instead of a file: fetch the scheme's latest page from the built-in simulator (as
        /// `ferry run` would), tell what would be posted, skipped or dead-lettered, and show the
        /// first N models in full (default 3).
        #[arg(long, num_args = 0..=1, default_missing_value = "3")]
        sample: Option<usize>,
    },
    /// Run every enabled scheme on its schedule until Ctrl-C.
    Run(run::RunArgs),
    /// Show per-scheme counts, checkpoints and dead letters at a glance.
    Status(status::StatusArgs),
    /// Run the Jushuitan and Kingdee simulators on loopback until stopped.
    Sim(sim::SimArgs),
    /// Dead letters: list, show, replay.
    Dlq(dlq::DlqArgs),
    /// What happened to one source document (fetched, mapped, sent, delivered...).
    Trace(status::TraceArgs),
    /// Alerts ([[alert]]): send a test message.
    Alert(alert::AlertArgs),
    /// Write a consistent copy of the store into a new folder (restore: README).
    Backup(backup::BackupArgs),
    /// The Windows service: install, uninstall, start, stop, status (a systemd unit elsewhere).
    Service(service::ServiceArgs),
    /// The template library (模板库): list, show and add ready schemes.
    Template(template::TemplateArgs),
}

/// Parses `args` and runs the command; returns the process exit code.
pub fn main_with_args<I, T>(args: I) -> Result<u8, CliError>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version are not errors.
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return Ok(code);
        }
    };
    let mut out = std::io::stdout();
    match cli.command {
        Command::Check => Ok(if check::check(&cli.config, &mut out)? {
            0
        } else {
            1
        }),
        Command::Preview {
            scheme,
            input,
            sample,
        } => Ok(
            if preview::preview(&cli.config, &scheme, input.as_deref(), sample, &mut out)? {
                0
            } else {
                1
            },
        ),
        Command::Run(args) => run::run(&cli.config, args),
        Command::Status(args) => status::status(&cli.config, args),
        Command::Sim(args) => sim::sim(&cli.config, args),
        Command::Dlq(args) => dlq::dlq(&cli.config, args),
        Command::Trace(args) => status::trace(&cli.config, args),
        Command::Alert(args) => alert::alert(&cli.config, args),
        Command::Backup(args) => backup::backup(&cli.config, args),
        Command::Service(args) => service::service(&cli.config, args),
        Command::Template(args) => template::template(&cli.config, args),
    }
}
