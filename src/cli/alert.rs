//! `ferry alert test [--name NAME]`: sends a test message to every `[[alert]]` (or the one
//! named) and says, per alert, whether it got through. Never prints an alert's URL (it holds
//! the robot's key), only its host.

use std::io::Write;
use std::path::Path;

use clap::{Args, Subcommand};

use super::CliError;
use crate::alert::send::{self, Sender};
use crate::config::Config;

#[derive(Debug, Args)]
pub struct AlertArgs {
    #[command(subcommand)]
    pub command: AlertCommand,
}

#[derive(Debug, Subcommand)]
pub enum AlertCommand {
    /// Send a test message to every [[alert]] (exit 1 if any failed).
    Test {
        /// Only the alert with this name.
        #[arg(long)]
        name: Option<String>,
    },
}

pub fn alert(config_path: &Path, args: AlertArgs) -> Result<u8, CliError> {
    let config = crate::config::load(config_path)?;
    match args.command {
        AlertCommand::Test { name } => test(&config, name.as_deref(), &mut std::io::stdout()),
    }
}

fn test(config: &Config, name: Option<&str>, out: &mut dyn Write) -> Result<u8, CliError> {
    if config.alerts.is_empty() {
        writeln!(
            out,
            "no [[alert]] in {}: nothing to test (the shipped config.toml has a commented example)",
            config.file.display()
        )?;
        return Ok(1);
    }
    let chosen: Vec<_> = config
        .alerts
        .iter()
        .filter(|a| name.is_none_or(|n| a.name == n))
        .collect();
    if let (Some(n), true) = (name, chosen.is_empty()) {
        let known: Vec<&str> = config.alerts.iter().map(|a| a.name.as_str()).collect();
        return Err(CliError::Usage(format!(
            "no alert named `{n}` in {} (alerts: {})",
            config.file.display(),
            known.join(", ")
        )));
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut failed = 0;
    for alert in &chosen {
        let label = send::protocol(alert.kind).label;
        let (host, result) = match Sender::new(alert) {
            Ok(s) => {
                let host = s.host().to_string();
                (host, rt.block_on(crate::alert::send_test(&s)))
            }
            Err(e) => ("?".to_string(), Err(e)),
        };
        match result {
            Ok(()) => writeln!(
                out,
                "{} ({label} at {host}): OK, the test message was delivered",
                alert.name
            )?,
            Err(e) => {
                failed += 1;
                writeln!(out, "{} ({label} at {host}): FAILED: {e}", alert.name)?;
            }
        }
    }
    if failed > 0 {
        writeln!(
            out,
            "{failed} of {} alerts failed; fix the url (or secret) in config.toml and try again",
            chosen.len()
        )?;
    }
    Ok(if failed > 0 { 1 } else { 0 })
}
