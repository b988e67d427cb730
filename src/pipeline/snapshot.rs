//! A status snapshot file (`data_dir/status.json`) that a running ferry rewrites every few
//! seconds, so `ferry status` can answer while the store is held by the running process.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{blocking, PipelineError, Shared};
use crate::time::{format_beijing, now_unix};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SchemeStatus {
    pub scheme: String,
    pub enabled: bool,
    pub form_id: String,
    pub checkpoint: Option<String>,
    pub pending: u64,
    pub in_flight: u64,
    pub retrying: u64,
    pub delivered: u64,
    pub dead: u64,
    pub changed_after_delivery: u64,
    pub filtered: u64,
    /// Its part of the shared Jushuitan call budget in the running ferry: whether it waits for
    /// it now, since when (None when ferry is not running).
    #[serde(default)]
    pub budget: Option<super::budget::SchemeBudget>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeadLetter {
    pub id: u64,
    pub scheme: String,
    pub source_key: String,
    pub identity: String,
    pub attempts: u32,
    pub error: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Snapshot {
    pub updated_at: String,
    pub updated_unix: i64,
    pub pid: u32,
    pub schemes: Vec<SchemeStatus>,
    pub dead_letters: Vec<DeadLetter>,
    pub dead_total: usize,
    /// Jushuitan refuses ferry's tokens and a person must authorize the app again.
    #[serde(default)]
    pub jushuitan_token_problem: Option<crate::source::jushuitan::TokenProblem>,
    /// Bytes the store takes on disk (0: no store yet).
    #[serde(default)]
    pub store_bytes: u64,
    /// Where the running ferry's admin API listens (`ferry status` goes through it).
    #[serde(default)]
    pub admin_url: Option<String>,
}

pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.join("status.json")
}

/// Reads counts and the first dead letters from the store.
pub fn collect(
    config: &crate::config::Config,
    store: &crate::store::Store,
    max_dead: usize,
) -> Result<Snapshot, crate::store::StoreError> {
    let mut schemes = Vec::new();
    for s in &config.schemes {
        let c = store.counts(&s.name)?;
        schemes.push(SchemeStatus {
            scheme: s.name.clone(),
            enabled: s.enabled,
            form_id: s.target.form_id.clone(),
            checkpoint: store.checkpoint(&s.name)?.map(format_beijing),
            pending: c.pending,
            in_flight: c.in_flight,
            retrying: c.retry,
            delivered: c.delivered,
            dead: c.dead,
            changed_after_delivery: c.changed_after_delivery,
            filtered: c.filtered,
            budget: None,
        });
    }
    let dead = store.dead_letters(None)?;
    let dead_total = dead.len();
    let dead_letters = dead
        .into_iter()
        .take(max_dead)
        .map(|e| DeadLetter {
            id: e.id,
            error: match &e.state {
                crate::store::Delivery::Dead { error, .. } => error.clone(),
                other => format!("{other:?}"),
            },
            scheme: e.scheme,
            source_key: e.source_key,
            identity: e.identity,
            attempts: e.attempts,
        })
        .collect();
    let now = now_unix();
    Ok(Snapshot {
        updated_at: format_beijing(now),
        updated_unix: now,
        pid: std::process::id(),
        schemes,
        dead_letters,
        dead_total,
        jushuitan_token_problem: super::tokens::token_problem(store),
        store_bytes: store.size_on_disk()?,
        admin_url: None,
    })
}

/// Adds what only the running ferry knows: each scheme's part of the shared call budget.
pub fn add_budget(snap: &mut Snapshot, jst: &crate::source::jushuitan::Client) {
    let shares = jst.budget_shares();
    let now = crate::time::now_millis();
    for row in &mut snap.schemes {
        row.budget = Some(super::budget::SchemeBudget::of(&shares, &row.scheme, now));
    }
}

/// Writes the snapshot atomically (temp file + rename).
pub async fn write(shared: &Shared) -> Result<(), PipelineError> {
    let config = shared.config.clone();
    let mut snap = blocking(&shared.store, move |s| collect(&config, s, 20)).await?;
    add_budget(&mut snap, &shared.jst);
    snap.admin_url = shared.admin_url.get().cloned();
    let path = path(&shared.config.data_dir);
    let tmp = path.with_extension("json.tmp");
    let bytes = serde_json::to_vec_pretty(&snap).unwrap_or_default();
    let r = tokio::task::spawn_blocking(move || {
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, &path)
    })
    .await;
    if let Ok(Err(e)) = r {
        tracing::debug!(error = %e, "could not write status snapshot");
    }
    Ok(())
}

pub fn read(data_dir: &Path) -> Option<Snapshot> {
    let bytes = std::fs::read(path(data_dir)).ok()?;
    serde_json::from_slice(&bytes).ok()
}
