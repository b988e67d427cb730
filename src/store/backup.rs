//! `Store::backup`: a consistent copy of a live store into a new folder, which opens as a store.
//!
//! Every write to the store holds its write lock (transactions, checkpoints, metadata), so the
//! copy holds it too and sees one moment of the store: no transaction half in, no checkpoint
//! ahead of the documents it covers. The Writer and the Fetcher wait meanwhile: 0.5 to 0.7 s for
//! a 60 MB store in a debug build. The copy is written into a fresh sled database, a thousand
//! records per batch; it takes about as much disk as the store (56 to 60 MB for that one).
//!
//! sled's id generator is not a record: a fresh database would hand out entry and batch ids
//! from 0 again, which a restored store must never do (the ids name its existing entries). The
//! copy's generator is moved past the live one's before the copy is finished.

use std::path::{Path, PathBuf};

use super::{open_db, Store, StoreError, CACHE_BYTES};

/// What [`Store::backup`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupReport {
    /// The folder the copy is in.
    pub path: PathBuf,
    /// Bytes the copy takes on disk.
    pub bytes: u64,
    /// Records (key/value pairs) copied, over every tree.
    pub records: u64,
    /// How long the store's writes waited for the copy, in milliseconds.
    pub held_ms: u64,
}

/// Records written per sled batch into the copy (batches of 1, 100 and 10,000 made copies up to
/// half as large again as the store).
const BATCH: usize = 1000;

impl Store {
    /// Writes a consistent copy of the store into `dest`: a folder that does not exist yet or is
    /// empty. Works on a live store (writes wait while the records are copied). The copy is a
    /// complete store: swap it in for `data_dir/store` (with ferry stopped) to restore it.
    pub fn backup(&self, dest: &Path) -> Result<BackupReport, StoreError> {
        let existed = match std::fs::read_dir(dest) {
            Ok(mut entries) => {
                if entries.next().is_some() {
                    return Err(StoreError::Backup(format!(
                        "{} is not empty; name a new folder (or an empty one)",
                        dest.display()
                    )));
                }
                true
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
            Err(e) if dest.exists() && !dest.is_dir() => {
                return Err(StoreError::Backup(format!(
                    "{} is a file, not a folder ({e})",
                    dest.display()
                )))
            }
            Err(e) => {
                return Err(StoreError::Backup(format!(
                    "cannot read {}: {e}",
                    dest.display()
                )))
            }
        };
        std::fs::create_dir_all(dest)
            .map_err(|e| StoreError::Backup(format!("cannot create {}: {e}", dest.display())))?;
        let r = self.outside(dest).and_then(|()| self.copy_into(dest));
        if r.is_err() {
            // Leave nothing that looks like a store behind.
            let _ = std::fs::remove_dir_all(dest);
            if existed {
                let _ = std::fs::create_dir(dest);
            }
        }
        r
    }

    /// A copy inside the store's own folder would be counted (and restored) with it.
    fn outside(&self, dest: &Path) -> Result<(), StoreError> {
        let (Ok(d), Ok(store)) = (dest.canonicalize(), self.inner.dir.canonicalize()) else {
            return Ok(());
        };
        if d.starts_with(&store) {
            return Err(StoreError::Backup(format!(
                "{} is inside the store's own folder {}; name a folder outside it",
                dest.display(),
                store.display()
            )));
        }
        Ok(())
    }

    fn copy_into(&self, dest: &Path) -> Result<BackupReport, StoreError> {
        let copy = open_db(dest)?;
        let started = std::time::Instant::now();
        let (records, next_id) = {
            let _w = self.inner.write.lock();
            // Every id handed out so far is below this one.
            let next_id = self.inner.db.generate_id()?;
            let mut records = 0u64;
            for name in self.inner.db.tree_names() {
                let from = self.inner.db.open_tree(&name)?;
                let to = copy.open_tree(&name)?;
                let mut batch = sled::Batch::default();
                let mut n = 0;
                for kv in from.iter() {
                    let (k, v) = kv?;
                    batch.insert(k, v);
                    n += 1;
                    if n == BATCH {
                        to.apply_batch(std::mem::take(&mut batch))?;
                        records += n as u64;
                        n = 0;
                    }
                }
                to.apply_batch(batch)?;
                records += n as u64;
            }
            (records, next_id)
        };
        let held_ms = started.elapsed().as_millis() as u64;
        copy.flush()?;
        drop(copy);
        ids_past(dest, next_id)?;
        let bytes = Store::open(dest)?.size_on_disk()?;
        Ok(BackupReport {
            path: dest.to_path_buf(),
            bytes,
            records,
            held_ms,
        })
    }
}

/// sled's default id persist interval, which `Store::open` uses.
const SLED_IDGEN_INTERVAL: u64 = 1_000_000;

/// Moves the id generator of the (closed) database in `dir` past `past`. sled starts a reopened
/// database's generator at the last persisted value plus twice its persist interval, and the
/// first id generated then persists the multiple of the interval at or below it. Reopened once
/// with an interval over half of `past` (a multiple of sled's default, which every later open
/// expects the persisted value to be a multiple of), the first id is above `past` and persists a
/// value above it, which every later open starts beyond.
fn ids_past(dir: &Path, past: u64) -> Result<(), StoreError> {
    let interval = (past / (2 * SLED_IDGEN_INTERVAL) + 1) * SLED_IDGEN_INTERVAL;
    let mut tries = 0;
    let db = loop {
        let r = sled::Config::new()
            .path(dir)
            .cache_capacity(CACHE_BYTES)
            .flush_every_ms(None)
            .idgen_persist_interval(interval)
            .open();
        match r {
            // The handle just dropped may still hold the file lock for a moment.
            Err(sled::Error::Io(e)) if super::error::lock_held(&e) && tries < 200 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            other => break other?,
        }
    };
    let id = db.generate_id()?;
    db.flush()?;
    if id <= past {
        return Err(StoreError::Backup(format!(
            "the copy's id generator stands at {id}, not past the store's {past}"
        )));
    }
    Ok(())
}
