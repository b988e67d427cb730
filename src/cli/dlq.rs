//! `ferry dlq list|show|replay|drop`: dead letters, and sending them again after a person fixed
//! the cause (a missing lookup value, base data created in Kingdee...). A dead letter whose
//! mapping failed is mapped again with config.toml as it is now. While `ferry run` holds the
//! store, the commands go through its admin API.

use std::path::Path;

use clap::{Args, Subcommand};

use super::open::{self, OpenError, Opened};
use super::remote::Remote;
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
    /// Take a dead letter off the list without delivering it, saying why (e.g. entered in
    /// Kingdee by hand). It is never posted, not even when Jushuitan sends it again.
    Drop {
        id: u64,
        /// Why (kept in the document's trace).
        #[arg(long)]
        reason: String,
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
        Opened::Held(holder) => {
            let remote = Remote::of(&config, "dlq", holder)?;
            return through_api(&remote, args.command);
        }
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
                DlqCommand::Drop { id, .. } => {
                    println!("no entry #{id} ({missing})");
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
                match crate::admin::replay::replay_entry(&store, &config.file, *id) {
                    Ok(()) => println!("#{id}: queued again"),
                    Err(e) => {
                        failed += 1;
                        println!("#{id}: {e}");
                    }
                }
            }
            Ok(if failed > 0 { 1 } else { 0 })
        }
        DlqCommand::Drop { id, reason } => {
            if reason.trim().is_empty() {
                return Err(CliError::Usage("say why: --reason \"...\"".into()));
            }
            match store.drop_dead(id, reason.trim()) {
                Ok(()) => {
                    println!("#{id}: dropped ({})", reason.trim());
                    Ok(0)
                }
                Err(e) => {
                    println!("#{id}: {e}");
                    Ok(1)
                }
            }
        }
    }
}

/// The same commands, asked of the running ferry's admin API.
fn through_api(remote: &Remote, command: DlqCommand) -> Result<u8, CliError> {
    use serde_json::{json, Value};
    match command {
        DlqCommand::List { scheme, json } => {
            let path = match &scheme {
                Some(s) => format!("/api/dlq?limit=1000&scheme={}", encode(s)),
                None => "/api/dlq?limit=1000".to_string(),
            };
            let v = remote.get(&path)?;
            let items = v["items"].as_array().cloned().unwrap_or_default();
            if json {
                println!("{}", Value::Array(items));
            } else if items.is_empty() {
                println!("no dead letters");
            } else {
                println!(
                    "{:<7} {:<20} {:<14} {:<20} reason",
                    "id", "scheme", "source key", "identity"
                );
                let s = |v: &Value| v.as_str().unwrap_or("").to_string();
                for e in &items {
                    println!(
                        "{:<7} {:<20} {:<14} {:<20} {}",
                        e["id"],
                        s(&e["scheme"]),
                        s(&e["source_key"]),
                        s(&e["identity"]),
                        s(&e["error"])
                    );
                }
            }
            Ok(0)
        }
        DlqCommand::Show { id } => {
            let e = remote.get(&format!("/api/dlq/{id}"))?;
            println!("{}", serde_json::to_string_pretty(&e).unwrap_or_default());
            Ok(0)
        }
        DlqCommand::Replay { ids, all, scheme } => {
            let ids: Vec<u64> = if all {
                let path = match &scheme {
                    Some(s) => format!("/api/dlq?limit=1000&scheme={}", encode(s)),
                    None => "/api/dlq?limit=1000".to_string(),
                };
                let v = remote.get(&path)?;
                v["items"]
                    .as_array()
                    .map(|a| a.iter().filter_map(|i| i["id"].as_u64()).collect())
                    .unwrap_or_default()
            } else {
                ids
            };
            if ids.is_empty() {
                println!("nothing to replay (give entry ids, or --all)");
                return Ok(1);
            }
            let mut failed = 0;
            for id in &ids {
                match remote.post(&format!("/api/dlq/{id}/replay"), json!({})) {
                    Ok(_) => println!("#{id}: queued again"),
                    Err(e) => {
                        failed += 1;
                        println!("#{id}: {e}");
                    }
                }
            }
            Ok(if failed > 0 { 1 } else { 0 })
        }
        DlqCommand::Drop { id, reason } => {
            match remote.post(&format!("/api/dlq/{id}/drop"), json!({ "reason": reason })) {
                Ok(_) => {
                    println!("#{id}: dropped ({})", reason.trim());
                    Ok(0)
                }
                Err(e) => {
                    println!("#{id}: {e}");
                    Ok(1)
                }
            }
        }
    }
}

/// Percent-encodes a query value.
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
