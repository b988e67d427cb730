//! `ferry dlq list|show|replay`: dead letters, and sending them again after a person fixed the
//! cause (a missing lookup value, base data created in Kingdee...).

use std::path::Path;

use clap::{Args, Subcommand};

use super::open::{self, OpenError, Opened};
use super::status::dead_reason;
use super::CliError;

#[derive(Debug, Args)]
pub struct DlqArgs {
    #[command(subcommand)]
    pub command: DlqCommand,
}

#[derive(Debug, Subcommand)]
pub enum DlqCommand {
    /// List dead letters with their reasons.
    List {
        #[arg(long)]
        scheme: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Show one dead letter with its Kingdee model.
    Show { id: u64 },
    /// Put dead letters back in the queue (after fixing the cause).
    Replay {
        /// Entry ids (from `ferry dlq list`).
        ids: Vec<u64>,
        /// Replay every dead letter (of --scheme, if given).
        #[arg(long)]
        all: bool,
        #[arg(long)]
        scheme: Option<String>,
    },
}

fn store_err(config: &crate::config::Config) -> impl Fn(crate::store::StoreError) -> CliError + '_ {
    move |source| CliError::Store {
        path: config.data_dir.join("store"),
        source,
    }
}

pub fn dlq(config_path: &Path, args: DlqArgs) -> Result<u8, CliError> {
    let config = crate::config::load_without_secrets(config_path)?;
    let store = match open::open(&config, "dlq", false)? {
        Opened::Store(s) => s,
        Opened::Held(holder) => return Err(OpenError::held(&config, "dlq", holder).into()),
        Opened::Missing => {
            let missing = OpenError::Missing {
                data_dir: config.data_dir.clone(),
            };
            return Ok(match args.command {
                DlqCommand::List { json: true, .. } => {
                    println!("[]");
                    0
                }
                DlqCommand::List { .. } => {
                    println!("no dead letters ({missing})");
                    0
                }
                DlqCommand::Show { id } => {
                    println!("no entry #{id} ({missing})");
                    1
                }
                DlqCommand::Replay { .. } => {
                    println!("nothing to replay ({missing})");
                    1
                }
            });
        }
    };
    match args.command {
        DlqCommand::List { scheme, json } => {
            let dead = store
                .dead_letters(scheme.as_deref())
                .map_err(store_err(&config))?;
            if json {
                let rows: Vec<_> = dead
                    .iter()
                    .map(|e| serde_json::json!({"id": e.id, "scheme": e.scheme, "source_key": e.source_key, "identity": e.identity, "attempts": e.attempts, "error": dead_reason(e)}))
                    .collect();
                println!("{}", serde_json::Value::Array(rows));
            } else if dead.is_empty() {
                println!("no dead letters");
            } else {
                println!(
                    "{:<7} {:<20} {:<14} {:<20} reason",
                    "id", "scheme", "source key", "identity"
                );
                for e in &dead {
                    println!(
                        "{:<7} {:<20} {:<14} {:<20} {}",
                        e.id,
                        e.scheme,
                        e.source_key,
                        e.identity,
                        dead_reason(e)
                    );
                }
            }
            Ok(0)
        }
        DlqCommand::Show { id } => {
            let Some(e) = store.get(id).map_err(store_err(&config))? else {
                println!("no entry #{id}");
                return Ok(1);
            };
            println!(
                "entry #{} scheme {} source key {} identity {}",
                e.id, e.scheme, e.source_key, e.identity
            );
            println!("state: {}", e.state);
            println!("attempts: {}", e.attempts);
            match serde_json::from_slice::<serde_json::Value>(&e.model) {
                Ok(v) => println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default()),
                Err(_) => println!("(no model: the document could not be mapped)"),
            }
            Ok(0)
        }
        DlqCommand::Replay { ids, all, scheme } => {
            let ids: Vec<u64> = if all {
                store
                    .dead_letters(scheme.as_deref())
                    .map_err(store_err(&config))?
                    .iter()
                    .map(|e| e.id)
                    .collect()
            } else {
                ids
            };
            if ids.is_empty() {
                println!("nothing to replay (give entry ids, or --all)");
                return Ok(1);
            }
            let mut failed = 0;
            for id in &ids {
                match store.replay(*id) {
                    Ok(_) => println!("#{id}: queued again"),
                    Err(e) => {
                        failed += 1;
                        println!("#{id}: {e}");
                    }
                }
            }
            Ok(if failed > 0 { 1 } else { 0 })
        }
    }
}
