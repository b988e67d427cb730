//! Mappings follow config.toml while ferry runs: when the file changes and still compiles, each
//! running scheme whose source and target are unchanged takes the new mapping (lookups,
//! formulas, filters) for the documents it maps from then on. An admin who adds a missing
//! lookup value fixes the documents still to come, not only the dead letters he replays.
//! Changes to a scheme's source or target, or to the connections, need a restart (logged).

use std::sync::Arc;
use std::time::SystemTime;

use parking_lot::{Mutex, RwLock};

use crate::config::Config;
use crate::mapping::Mapper;

/// The mapping each scheme of the running config uses now.
pub struct Mappings {
    by_scheme: RwLock<Vec<Arc<Mapper>>>,
    /// Modification time of config.toml when last read.
    seen: Mutex<Option<SystemTime>>,
}

fn modified(config: &Config) -> Option<SystemTime> {
    std::fs::metadata(&config.file)
        .and_then(|m| m.modified())
        .ok()
}

impl Mappings {
    pub fn new(config: &Config) -> Self {
        Mappings {
            by_scheme: RwLock::new(config.schemes.iter().map(|s| s.mapper.clone()).collect()),
            seen: Mutex::new(modified(config)),
        }
    }

    /// The mapping of scheme `i` (index in the running config).
    pub fn get(&self, i: usize) -> Option<Arc<Mapper>> {
        self.by_scheme.read().get(i).cloned()
    }

    /// Re-reads config.toml if it changed since last read; returns the schemes that took a new
    /// mapping. Blocking (reads and compiles the file): call it on the blocking pool.
    pub fn reload_if_changed(&self, running: &Config) -> Vec<String> {
        let now = modified(running);
        {
            let mut seen = self.seen.lock();
            if now.is_none() || *seen == now {
                return Vec::new();
            }
            *seen = now;
        }
        let fresh = match crate::config::load_without_secrets(&running.file) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "config.toml changed but has mistakes; the mappings in use stay as they are");
                return Vec::new();
            }
        };
        let mut taken = Vec::new();
        let mut by_scheme = self.by_scheme.write();
        for (i, old) in running.schemes.iter().enumerate() {
            let Some(new) = fresh.scheme(&old.name) else {
                continue;
            };
            if new.source != old.source || new.target != old.target {
                tracing::warn!(scheme = %old.name, "config.toml changed this scheme's source or target; restart ferry to apply that");
                continue;
            }
            if let Some(slot) = by_scheme.get_mut(i) {
                *slot = new.mapper.clone();
                taken.push(old.name.clone());
            }
        }
        if !taken.is_empty() {
            tracing::info!(schemes = %taken.join(", "), "config.toml changed: new mappings in use");
        }
        taken
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::mapper::to_ingest_with;
    use crate::store::Ingest;

    fn touch(path: &std::path::Path, secs: u64) {
        let f = std::fs::File::options()
            .write(true)
            .open(path)
            .expect("open");
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(secs);
        f.set_modified(t).expect("set mtime");
    }

    #[test]
    fn a_fixed_lookup_is_taken_and_a_changed_source_waits_for_a_restart() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("config.toml");
        let shipped = include_str!("../../config.toml");
        let broken = shipped.replacen("\"线下门店-上海\" = \"CUST002\"\n", "", 1);
        assert_ne!(broken, shipped);
        std::fs::write(&path, &broken).expect("write");
        touch(&path, 1_700_000_000);
        let running = crate::config::load_without_secrets(&path).expect("config");
        let m = Mappings::new(&running);
        let i = running
            .schemes
            .iter()
            .position(|s| s.name == "offline-returns")
            .expect("scheme");
        let doc = serde_json::json!({
            "io_id": 77, "type": "其它进仓", "status": "Confirmed", "warehouse": "主仓",
            "drp_co_name": "线下门店-上海", "io_date": "2026-11-01 10:00:00",
            "modified": "2026-11-01 10:00:00",
            "items": [{"ioi_id": 1, "sku_id": "A", "qty": 1, "sale_price": 2.5}]
        });
        let failed = |m: &Mappings| {
            matches!(
                to_ingest_with(&m.get(i).expect("mapper"), &doc),
                Ingest::Failed { .. }
            )
        };
        assert!(failed(&m), "the lookup lacks the customer");
        assert!(
            m.reload_if_changed(&running).is_empty(),
            "unchanged file: nothing reloaded"
        );

        std::fs::write(&path, shipped).expect("fix");
        touch(&path, 1_700_000_100);
        let taken = m.reload_if_changed(&running);
        assert!(taken.contains(&"offline-returns".to_string()), "{taken:?}");
        assert!(!failed(&m), "the fixed lookup maps the document");

        // A changed source is not taken (it needs a restart); nor is a file with mistakes.
        let moved = shipped.replacen("page_size = 50", "page_size = 40", 1);
        assert_ne!(moved, shipped);
        std::fs::write(&path, moved).expect("write");
        touch(&path, 1_700_000_200);
        assert!(!m
            .reload_if_changed(&running)
            .contains(&"offline-returns".to_string()));
        std::fs::write(&path, "this is not toml [").expect("write");
        touch(&path, 1_700_000_300);
        assert!(m.reload_if_changed(&running).is_empty());
        assert!(!failed(&m), "a broken file leaves the mapping in use");
    }
}
