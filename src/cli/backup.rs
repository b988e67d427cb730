//! `ferry backup PATH [--json]`: a consistent copy of the store into a new folder, which can be
//! swapped in for `data_dir/store` to restore it (README, "Backup and restore").

use std::path::{Path, PathBuf};

use clap::Args;

use super::open::{self, OpenError, Opened};
use super::CliError;
use crate::store::StoreError;

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// A new (or empty) folder to write the copy into.
    pub path: PathBuf,
    /// One JSON object on stdout: {"path", "bytes", "records"}.
    #[arg(long)]
    pub json: bool,
}

pub fn backup(config_path: &Path, args: BackupArgs) -> Result<u8, CliError> {
    let config = crate::config::load_without_secrets(config_path)?;
    let store = match open::open(&config, "backup", false)? {
        Opened::Store(s) => s,
        Opened::Missing => {
            return Err(OpenError::Missing {
                data_dir: config.data_dir.clone(),
            }
            .into())
        }
        Opened::Held(holder) => {
            // The running ferry copies its own store (its writes wait for the copy).
            let remote = super::remote::Remote::of(&config, "backup", holder)?;
            let path = std::path::absolute(&args.path)?;
            let v = remote
                .post("/api/backup", serde_json::json!({ "path": path }))
                .map_err(|e| {
                    CliError::Usage(format!("no backup written to {}: {e}", path.display()))
                })?;
            let report = crate::store::BackupReport {
                path,
                bytes: v["bytes"].as_u64().unwrap_or(0),
                records: v["records"].as_u64().unwrap_or(0),
                held_ms: v["held_ms"].as_u64().unwrap_or(0),
            };
            return Ok(print(&config, &args, &report));
        }
    };
    let report = store.backup(&args.path).map_err(|e| {
        let why = match e {
            StoreError::Backup(m) => m,
            other => other.to_string(),
        };
        CliError::Usage(format!(
            "no backup written to {}: {why}",
            args.path.display()
        ))
    })?;
    Ok(print(&config, &args, &report))
}

fn print(
    config: &crate::config::Config,
    args: &BackupArgs,
    report: &crate::store::BackupReport,
) -> u8 {
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "path": report.path.display().to_string(),
                "bytes": report.bytes,
                "records": report.records,
            })
        );
        return 0;
    }
    println!(
        "backup of the store in {} written to {}: {:.1} MB, {} records (ferry's writes would \
         have waited {} ms)",
        config.data_dir.join("store").display(),
        report.path.display(),
        report.bytes as f64 / 1e6,
        report.records,
        report.held_ms
    );
    println!(
        "to restore it: stop ferry, rename {} aside, copy {} to {}, start ferry",
        config.data_dir.join("store").display(),
        report.path.display(),
        config.data_dir.join("store").display()
    );
    0
}
