//! `ferry status [--json]` and `ferry trace --scheme NAME KEY`.

use std::path::Path;

use clap::Args;

use super::CliError;
use crate::config::Config;
use crate::pipeline::snapshot;
use crate::store::Store;

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// One JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct TraceArgs {
    /// Scheme name.
    #[arg(long)]
    pub scheme: String,
    /// Source key (io_id, shop_id...).
    pub key: String,
    #[arg(long)]
    pub json: bool,
}

/// Opens the store of a config, with a plain-words error when another ferry holds it.
pub fn open(config: &Config) -> Result<Store, CliError> {
    let path = config.data_dir.join("store");
    Store::open(&path).map_err(|source| CliError::Store { path, source })
}

pub fn status(config_path: &Path, args: StatusArgs) -> Result<u8, CliError> {
    let config = crate::config::load(config_path)?;
    let (snap, live) = match open(&config) {
        Ok(store) => {
            let snap =
                snapshot::collect(&config, &store, 10).map_err(|source| CliError::Store {
                    path: config.data_dir.join("store"),
                    source,
                })?;
            (snap, false)
        }
        // The store is held by a running ferry: show what it last wrote.
        Err(e) => match snapshot::read(&config.data_dir) {
            Some(snap) => (snap, true),
            None => return Err(e),
        },
    };
    if args.json {
        let mut v = serde_json::to_value(&snap).unwrap_or_default();
        v["live"] = serde_json::Value::Bool(live);
        println!("{v}");
        return Ok(0);
    }
    if live {
        println!(
            "ferry is running (pid {}); status as of {} (Beijing time)",
            snap.pid, snap.updated_at
        );
    }
    println!(
        "{:<24} {:<8} {:<16} {:<19} {:>8} {:>9} {:>9} {:>9} {:>6} {:>8}",
        "scheme",
        "enabled",
        "form",
        "checkpoint",
        "pending",
        "inflight",
        "retrying",
        "delivered",
        "dead",
        "changed"
    );
    for r in &snap.schemes {
        println!(
            "{:<24} {:<8} {:<16} {:<19} {:>8} {:>9} {:>9} {:>9} {:>6} {:>8}",
            r.scheme,
            if r.enabled { "yes" } else { "no" },
            r.form_id,
            r.checkpoint.as_deref().unwrap_or("-"),
            r.pending,
            r.in_flight,
            r.retrying,
            r.delivered,
            r.dead,
            r.changed_after_delivery,
        );
    }
    if snap.dead_total > 0 {
        println!(
            "\ndead letters ({}; `ferry dlq list` for all, `ferry dlq replay ID` after fixing the cause):",
            snap.dead_total
        );
        for e in &snap.dead_letters {
            println!(
                "  #{:<6} {:<20} {:<16} {}",
                e.id, e.scheme, e.source_key, e.error
            );
        }
    }
    Ok(0)
}

pub fn dead_reason(e: &crate::store::OutboxEntry) -> String {
    match &e.state {
        crate::store::Delivery::Dead { error, .. } => error.clone(),
        other => other.to_string(),
    }
}

pub fn trace(config_path: &Path, args: TraceArgs) -> Result<u8, CliError> {
    let config = crate::config::load(config_path)?;
    let store = open(&config)?;
    let events = store
        .trace(&args.scheme, &args.key)
        .map_err(|source| CliError::Store {
            path: config.data_dir.join("store"),
            source,
        })?;
    let entry = store.find(&args.scheme, &args.key).ok().flatten();
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "scheme": args.scheme,
                "source_key": args.key,
                "state": entry.as_ref().map(|e| e.state.name()),
                "status": entry.as_ref().map(|e| e.state.to_string()),
                "identity": entry.as_ref().map(|e| e.identity.clone()),
                "attempts": entry.as_ref().map(|e| e.attempts),
                "events": events.iter().map(|e| format!("{e}")).collect::<Vec<_>>(),
            })
        );
        return Ok(if events.is_empty() && entry.is_none() {
            1
        } else {
            0
        });
    }
    if events.is_empty() && entry.is_none() {
        println!(
            "scheme {}: nothing known about source key {}",
            args.scheme, args.key
        );
        return Ok(1);
    }
    if let Some(e) = &entry {
        println!(
            "scheme {} source key {} → {} (entry #{}, attempts {}): {}",
            e.scheme, e.source_key, e.identity, e.id, e.attempts, e.state
        );
    }
    for ev in &events {
        println!("  {ev}");
    }
    Ok(0)
}
