//! `ferry status [--json]` and `ferry trace --scheme NAME KEY`.

use std::path::Path;

use clap::Args;

use super::open::{self, OpenError, Opened};
use super::CliError;
use crate::config::Config;
use crate::pipeline::snapshot::{self, SchemeStatus, Snapshot};

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

/// What `ferry status` found.
enum View {
    /// No store yet: nothing ever ran with this config.
    NeverRan(Snapshot),
    /// No ferry has the store: read from it.
    Stopped(Snapshot),
    /// A `ferry run` has the store (its lock proves it is alive): what it last wrote, if
    /// anything since it started.
    Running { pid: u32, snap: Option<Snapshot> },
}

pub fn status(config_path: &Path, args: StatusArgs) -> Result<u8, CliError> {
    let config = crate::config::load_without_secrets(config_path)?;
    let view = match open::open(&config, "status", false)? {
        Opened::Store(store) => {
            View::Stopped(snapshot::collect(&config, &store, 10).map_err(|source| {
                CliError::Store {
                    path: config.data_dir.join("store"),
                    source,
                }
            })?)
        }
        Opened::Missing => View::NeverRan(empty(&config)),
        Opened::Held(Some(h)) if h.command == "run" => {
            let pid = h.pid;
            // Asked of the running ferry through its API; else the snapshot file it rewrites
            // every two seconds, trusted only when the process that has the store wrote it.
            let live = super::remote::Remote::of(&config, "status", Some(h))
                .and_then(|r| r.get("/api/snapshot"))
                .ok()
                .and_then(|v| serde_json::from_value::<Snapshot>(v).ok());
            let snap = live.or_else(|| snapshot::read(&config.data_dir).filter(|s| s.pid == pid));
            View::Running { pid, snap }
        }
        Opened::Held(holder) => return Err(OpenError::held(&config, "status", holder).into()),
    };
    if args.json {
        println!("{}", json(&view));
        return Ok(0);
    }
    for line in headline(&config, &view) {
        println!("{line}");
    }
    let snap = match &view {
        View::NeverRan(s) | View::Stopped(s) => s,
        View::Running { snap: Some(s), .. } => s,
        View::Running { snap: None, .. } => return Ok(0),
    };
    print!("{}", table(&config, snap));
    Ok(0)
}

/// The lines above the table: whether ferry runs, and anything an admin should know first.
fn headline(config: &Config, view: &View) -> Vec<String> {
    let mut lines = state_line(config, view);
    let snap = match view {
        View::NeverRan(s) | View::Stopped(s) | View::Running { snap: Some(s), .. } => Some(s),
        View::Running { snap: None, .. } => None,
    };
    if let Some(p) = snap.and_then(|s| s.jushuitan_token_problem.as_ref()) {
        lines.push(format!("\nACTION NEEDED: {}\n", p.describe()));
    }
    lines
}

/// Whether ferry runs.
fn state_line(config: &Config, view: &View) -> Vec<String> {
    match view {
        View::NeverRan(_) => vec![format!(
            "ferry has not run with this config yet: there is no store in {}",
            config.data_dir.display()
        )],
        View::Stopped(_) => vec![format!(
            "ferry is not running; status of the store in {}",
            config.data_dir.display()
        )],
        View::Running { pid, snap: Some(s) } => vec![format!(
            "ferry is running (pid {pid}); status as of {} (Beijing time)",
            s.updated_at
        )],
        View::Running { pid, snap: None } => vec![format!(
            "ferry is running (pid {pid}); it has not written its status yet (it does every 2 \
             seconds): try again in a moment"
        )],
    }
}

fn json(view: &View) -> serde_json::Value {
    let (state, pid, snap) = match view {
        View::NeverRan(s) => ("never_ran", None, Some(s)),
        View::Stopped(s) => ("stopped", None, Some(s)),
        View::Running { pid, snap } => ("running", Some(*pid), snap.as_ref()),
    };
    let mut v = snap
        .and_then(|s| serde_json::to_value(s).ok())
        .unwrap_or_else(|| serde_json::json!({}));
    v["state"] = state.into();
    v["live"] = pid.is_some().into();
    v["pid"] = pid.into();
    v
}

/// Zero counts for every scheme (no store: nothing fetched, nothing delivered).
fn empty(config: &Config) -> Snapshot {
    let now = crate::time::now_unix();
    Snapshot {
        updated_at: crate::time::format_beijing(now),
        updated_unix: now,
        pid: std::process::id(),
        schemes: config
            .schemes
            .iter()
            .map(|s| SchemeStatus {
                scheme: s.name.clone(),
                enabled: s.enabled,
                form_id: s.target.form_id.clone(),
                checkpoint: None,
                pending: 0,
                in_flight: 0,
                retrying: 0,
                delivered: 0,
                dead: 0,
                changed_after_delivery: 0,
                filtered: 0,
                budget: None,
            })
            .collect(),
        dead_letters: Vec::new(),
        dead_total: 0,
        jushuitan_token_problem: None,
        store_bytes: 0,
        admin_url: None,
    }
}

/// Per-scheme counts, then the first dead letters.
fn table(config: &Config, snap: &Snapshot) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
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
        let _ = writeln!(
            out,
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
    out.push_str(&budget(config, snap));
    if snap.store_bytes > 0 {
        let _ = writeln!(out, "\n{}", disk_usage(snap.store_bytes));
    }
    if snap.dead_total > 0 {
        let _ = writeln!(
            out,
            "\ndead letters ({}; `ferry dlq list` for all, `ferry dlq replay ID` after fixing the cause):",
            snap.dead_total
        );
        for e in &snap.dead_letters {
            let _ = writeln!(
                out,
                "  #{:<6} {:<20} {:<16} {}",
                e.id, e.scheme, e.source_key, e.error
            );
        }
    }
    out
}

/// Who waits for the Jushuitan call budget that every scheme shares, since when and for how
/// long (only a running ferry knows; schemes that made no call and wait for none are left out).
fn budget(config: &Config, snap: &Snapshot) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let rows: Vec<_> = snap
        .schemes
        .iter()
        .filter_map(|r| r.budget.as_ref().map(|b| (&r.scheme, b)))
        .filter(|(_, b)| b.calls > 0 || b.waiting.is_some())
        .collect();
    if rows.is_empty() {
        return out;
    }
    let _ = writeln!(
        out,
        "\nJushuitan call budget ({}/s and {}/min for the app, shared by the schemes in turn):",
        config.jushuitan.per_second, config.jushuitan.per_minute
    );
    for (scheme, b) in rows {
        let _ = writeln!(out, "  {scheme:<24} {}", b.describe());
    }
    out
}

/// The store's size in plain words, in MB.
fn disk_usage(bytes: u64) -> String {
    format!(
        "the store takes {:.1} MB on disk (`ferry backup PATH` copies it)",
        bytes as f64 / 1e6
    )
}

pub fn dead_reason(e: &crate::store::OutboxEntry) -> String {
    match &e.state {
        crate::store::Delivery::Dead { error, .. } => error.clone(),
        other => other.to_string(),
    }
}

pub fn trace(config_path: &Path, args: TraceArgs) -> Result<u8, CliError> {
    let config = crate::config::load_without_secrets(config_path)?;
    let (events, entry, never_ran) = match open::open(&config, "trace", false)? {
        Opened::Store(store) => {
            let events =
                store
                    .trace(&args.scheme, &args.key)
                    .map_err(|source| CliError::Store {
                        path: config.data_dir.join("store"),
                        source,
                    })?;
            let entry = store.find(&args.scheme, &args.key).ok().flatten();
            (events, entry, false)
        }
        Opened::Missing => (Vec::new(), None, true),
        Opened::Held(holder) => {
            let remote = super::remote::Remote::of(&config, "trace", holder)?;
            return trace_through_api(&remote, &args);
        }
    };
    let unknown = events.is_empty() && entry.is_none();
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
        return Ok(if unknown { 1 } else { 0 });
    }
    if unknown {
        let why = if never_ran {
            format!(
                " (ferry has not run with this config yet: there is no store in {})",
                config.data_dir.display()
            )
        } else if config.scheme(&args.scheme).is_none() {
            let names: Vec<&str> = config.schemes.iter().map(|s| s.name.as_str()).collect();
            format!(
                " (the config has no scheme of that name: {})",
                names.join(", ")
            )
        } else {
            String::new()
        };
        println!(
            "scheme {}: nothing known about source key {}{why}",
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

/// `ferry trace` asked of the running ferry's admin API.
fn trace_through_api(remote: &super::remote::Remote, args: &TraceArgs) -> Result<u8, CliError> {
    use super::dlq::encode;
    let path = format!(
        "/api/trace?key={}&scheme={}",
        encode(&args.key),
        encode(&args.scheme)
    );
    let v = match remote.get(&path) {
        Ok(v) => v,
        Err(CliError::Remote {
            status: 404,
            message,
        }) => {
            println!("scheme {}: {message}", args.scheme);
            return Ok(1);
        }
        Err(e) => return Err(e),
    };
    let item = &v["items"][0];
    if args.json {
        println!("{item}");
        return Ok(0);
    }
    let s = |v: &serde_json::Value| v.as_str().unwrap_or("").to_string();
    println!(
        "scheme {} source key {} → {} (entry #{}): {}",
        s(&item["scheme"]),
        s(&item["source_key"]),
        s(&item["identity"]),
        item["entry"],
        s(&item["status"])
    );
    for ev in item["events"].as_array().into_iter().flatten() {
        println!("  {}  {}", s(&ev["at"]), s(&ev["detail"]));
    }
    Ok(0)
}
