//! `ferry dlq list|show|replay|drop`: dead letters, and sending them again after a person fixed
//! the cause (a missing lookup value, base data created in Kingdee...). A dead letter whose
//! mapping failed is mapped again with config.toml as it is now. While `ferry run` holds the
//! store, the commands go through its admin API.

use std::path::Path;

use clap::{Args, Subcommand};

use serde_json::{json, Value};

use super::open::{self, OpenError, Opened};
use super::remote::Remote;
use super::CliError;
use crate::admin::views;

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

/// Where the dead letters are: the store (no ferry runs on it), or the running ferry that holds
/// it, through its admin API. Both give the API's JSON shapes, so each command prints one way.
enum Letters {
    Store {
        store: super::open::OpenStore,
        /// Boxed: a config is large, and the other variant small.
        config: Box<crate::config::Config>,
    },
    Remote(Remote),
}

impl Letters {
    fn store_err(config: &crate::config::Config, source: crate::store::StoreError) -> CliError {
        CliError::Store {
            path: config.data_dir.join("store"),
            source,
        }
    }

    /// Dead letters (of `scheme`), as `GET /api/dlq` lists them.
    fn list(&self, scheme: Option<&str>) -> Result<Vec<Value>, CliError> {
        match self {
            Letters::Store { store, config } => Ok(store
                .dead_letters(scheme)
                .map_err(|e| Self::store_err(config, e))?
                .iter()
                .map(views::dead_item)
                .collect()),
            Letters::Remote(r) => {
                let path = match scheme {
                    Some(s) => format!("/api/dlq?limit=1000&scheme={}", encode(s)),
                    None => "/api/dlq?limit=1000".to_string(),
                };
                Ok(r.get(&path)?["items"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default())
            }
        }
    }

    /// One entry with its model and trace; `None` if there is no such entry.
    fn show(&self, id: u64) -> Result<Option<Value>, CliError> {
        match self {
            Letters::Store { store, config } => {
                let err = |e| Self::store_err(config, e);
                match store.get(id).map_err(err)? {
                    Some(e) => Ok(Some(views::entry_detail(store, &e).map_err(err)?)),
                    None => Ok(None),
                }
            }
            Letters::Remote(r) => match r.get(&format!("/api/dlq/{id}")) {
                Ok(v) => Ok(Some(v)),
                Err(CliError::Remote { status: 404, .. }) => Ok(None),
                Err(e) => Err(e),
            },
        }
    }

    /// Back to the queue (re-mapped where its mapping failed); the error in plain words.
    fn replay(&self, id: u64) -> Result<(), String> {
        match self {
            Letters::Store { store, config } => {
                crate::admin::replay::replay_entry(store, &config.file, id)
                    .map_err(|e| e.to_string())
            }
            Letters::Remote(r) => r
                .post(&format!("/api/dlq/{id}/replay"), json!({}))
                .map(|_| ())
                .map_err(|e| e.to_string()),
        }
    }

    fn drop_letter(&self, id: u64, reason: &str) -> Result<(), String> {
        match self {
            Letters::Store { store, .. } => store.drop_dead(id, reason).map_err(|e| e.to_string()),
            Letters::Remote(r) => r
                .post(&format!("/api/dlq/{id}/drop"), json!({ "reason": reason }))
                .map(|_| ())
                .map_err(|e| e.to_string()),
        }
    }
}

pub fn dlq(config_path: &Path, args: DlqArgs) -> Result<u8, CliError> {
    let config = crate::config::load_without_secrets(config_path)?;
    let letters = match open::open(&config, "dlq", false)? {
        Opened::Store(store) => Letters::Store {
            store,
            config: Box::new(config),
        },
        Opened::Held(holder) => Letters::Remote(Remote::of(&config, "dlq", holder)?),
        Opened::Missing => return Ok(never_ran(&config, &args.command)),
    };
    let text = |v: &Value| v.as_str().unwrap_or("").to_string();
    match args.command {
        DlqCommand::List { scheme, json } => {
            let items = letters.list(scheme.as_deref())?;
            if json {
                let rows: Vec<Value> = items
                    .iter()
                    .map(|e| json!({"id": e["id"], "scheme": e["scheme"], "source_key": e["source_key"], "identity": e["identity"], "attempts": e["attempts"], "error": e["error"]}))
                    .collect();
                println!("{}", Value::Array(rows));
            } else if items.is_empty() {
                println!("no dead letters");
            } else {
                println!(
                    "{:<7} {:<20} {:<14} {:<20} reason",
                    "id", "scheme", "source key", "identity"
                );
                for e in &items {
                    println!(
                        "{:<7} {:<20} {:<14} {:<20} {}",
                        e["id"],
                        text(&e["scheme"]),
                        text(&e["source_key"]),
                        text(&e["identity"]),
                        text(&e["error"])
                    );
                }
            }
            Ok(0)
        }
        DlqCommand::Show { id } => {
            let Some(e) = letters.show(id)? else {
                println!("no entry #{id}");
                return Ok(1);
            };
            println!(
                "entry #{} scheme {} source key {} identity {}",
                e["id"],
                text(&e["scheme"]),
                text(&e["source_key"]),
                text(&e["identity"])
            );
            println!("state: {}", text(&e["status"]));
            println!("attempts: {}", e["attempts"]);
            match &e["model"] {
                Value::Null => println!("(no model: the document could not be mapped)"),
                m => println!("{}", serde_json::to_string_pretty(m).unwrap_or_default()),
            }
            Ok(0)
        }
        DlqCommand::Replay { ids, all, scheme } => {
            let ids: Vec<u64> = if all {
                letters
                    .list(scheme.as_deref())?
                    .iter()
                    .filter_map(|e| e["id"].as_u64())
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
                match letters.replay(*id) {
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
            let reason = reason.trim();
            if reason.is_empty() {
                return Err(CliError::Usage("say why: --reason \"...\"".into()));
            }
            match letters.drop_letter(id, reason) {
                Ok(()) => {
                    println!("#{id}: dropped ({reason})");
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

/// What each command says when ferry never ran with this config (there is no store).
fn never_ran(config: &crate::config::Config, command: &DlqCommand) -> u8 {
    let missing = OpenError::Missing {
        data_dir: config.data_dir.clone(),
    };
    match command {
        DlqCommand::List { json: true, .. } => {
            println!("[]");
            0
        }
        DlqCommand::List { .. } => {
            println!("no dead letters ({missing})");
            0
        }
        DlqCommand::Show { id } | DlqCommand::Drop { id, .. } => {
            println!("no entry #{id} ({missing})");
            1
        }
        DlqCommand::Replay { .. } => {
            println!("nothing to replay ({missing})");
            1
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
