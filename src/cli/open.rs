//! Opening the store for a command, and saying in plain words who has it when it is taken.
//!
//! sled lets one process at a time open a store (an exclusive file lock). The process that has it
//! writes its pid and command into `data_dir/ferry.pid` and removes that file before it lets go,
//! so the lock proves that the process the file names is alive: the file is only trusted while
//! the lock is held. A file left by a ferry that was killed is overwritten by the next one.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::CliError;
use crate::config::Config;
use crate::store::{Store, StoreError};

/// The pid file, beside the store.
pub const PID_FILE: &str = "ferry.pid";

/// How long a command waits for a short command (`status`, `dlq`, `trace`) that has the store.
const WAIT_FOR_SHORT: Duration = Duration::from_secs(5);

/// The process that has the store, as its pid file says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub pid: u32,
    /// The ferry command it runs: `run`, `status`, `dlq`, `trace`.
    pub command: String,
}

impl Holder {
    fn read(data_dir: &Path) -> Option<Holder> {
        let text = std::fs::read_to_string(data_dir.join(PID_FILE)).ok()?;
        let mut lines = text.lines();
        let pid = lines.next()?.trim().parse().ok()?;
        let command = lines.next().unwrap_or("").trim();
        let command = if command.chars().all(|c| c.is_ascii_lowercase()) && !command.is_empty() {
            command.to_string()
        } else {
            "?".to_string()
        };
        Some(Holder { pid, command })
    }
}

/// Why a command did not get the store.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("{}", held_message(.command, .data_dir, .holder.as_ref()))]
    Held {
        /// The command that wanted the store.
        command: &'static str,
        data_dir: PathBuf,
        holder: Option<Holder>,
    },
    #[error("ferry has not run with this config yet: there is no store in {}", .data_dir.display())]
    Missing { data_dir: PathBuf },
    #[error("cannot open the store in {}: {}", .path.display(), describe(.source))]
    Broken { path: PathBuf, source: StoreError },
}

impl OpenError {
    pub fn held(config: &Config, command: &'static str, holder: Option<Holder>) -> OpenError {
        OpenError::Held {
            command,
            data_dir: config.data_dir.clone(),
            holder,
        }
    }
}

fn held_message(command: &str, data_dir: &Path, holder: Option<&Holder>) -> String {
    let dir = data_dir.display();
    match holder {
        Some(h) if h.command == "run" && command == "run" => format!(
            "another ferry (pid {}) is already running on data folder {dir}; stop it first",
            h.pid
        ),
        Some(h) if h.command == "run" => format!(
            "ferry is running (pid {}) on data folder {dir} and has its store open; stop it \
             first to use `ferry {command}`",
            h.pid
        ),
        Some(h) => format!(
            "`ferry {}` (pid {}) has the store in data folder {dir} open; try again when it \
             has finished",
            h.command, h.pid
        ),
        None => format!(
            "another process has the store in data folder {dir} open (it wrote no {PID_FILE}: \
             an older ferry?); stop it first"
        ),
    }
}

/// A store error in an admin's words.
fn describe(e: &StoreError) -> String {
    match e {
        StoreError::Sled(sled::Error::Io(io)) => match io.kind() {
            std::io::ErrorKind::PermissionDenied => {
                format!("permission denied ({io}); run as the account the ferry service uses")
            }
            _ => format!("{io}"),
        },
        StoreError::Sled(sled::Error::Corruption { .. }) => {
            "its files are damaged (the database found corrupt data); restore the store folder \
             from a backup"
                .to_string()
        }
        StoreError::Sled(sled::Error::Unsupported(m)) => {
            format!("the store was written in a way this ferry cannot read: {m}")
        }
        other => other.to_string(),
    }
}

/// The store, opened by this process; its pid file goes away before the store is let go.
pub struct OpenStore {
    store: Store,
    pid_file: Option<PathBuf>,
}

impl OpenStore {
    pub fn store(&self) -> &Store {
        &self.store
    }
}

impl std::ops::Deref for OpenStore {
    type Target = Store;
    fn deref(&self) -> &Store {
        &self.store
    }
}

impl Drop for OpenStore {
    fn drop(&mut self) {
        if let Some(p) = &self.pid_file {
            // Still ours: nobody else can write it while we hold the lock.
            let _ = std::fs::remove_file(p);
        }
    }
}

/// What `open` found.
pub enum Opened {
    Store(OpenStore),
    /// Another process has the store.
    Held(Option<Holder>),
    /// No store yet (and `create` was false).
    Missing,
}

/// Opens the store of `config` for `command` (`run` creates it when missing). Waits a little
/// while a short command has it; gives up at once when a `ferry run` has it.
pub fn open(config: &Config, command: &str, create: bool) -> Result<Opened, OpenError> {
    let path = config.data_dir.join("store");
    if !create && !path.exists() {
        return Ok(Opened::Missing);
    }
    let started = Instant::now();
    loop {
        match Store::open(&path) {
            Ok(store) => {
                let pid_file = write_pid_file(&config.data_dir, command);
                return Ok(Opened::Store(OpenStore { store, pid_file }));
            }
            Err(StoreError::Locked) => {
                let holder = Holder::read(&config.data_dir);
                let short = holder.as_ref().is_some_and(|h| h.command != "run");
                // No pid file: a holder about to write it, or about to let go. Wait as well.
                let wait = short || holder.is_none();
                if !wait || started.elapsed() >= WAIT_FOR_SHORT {
                    return Ok(Opened::Held(holder));
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(source) => return Err(OpenError::Broken { path, source }),
        }
    }
}

/// [`open`] for commands that need the store: a missing or taken store is an error.
pub fn open_or_fail(
    config: &Config,
    command: &'static str,
    create: bool,
) -> Result<OpenStore, CliError> {
    match open(config, command, create)? {
        Opened::Store(s) => Ok(s),
        Opened::Held(holder) => Err(OpenError::held(config, command, holder).into()),
        Opened::Missing => Err(OpenError::Missing {
            data_dir: config.data_dir.clone(),
        }
        .into()),
    }
}

/// Writes `pid\ncommand\n`; `None` when it could not (a read-only data folder: the store is
/// still usable, others just cannot tell who has it).
fn write_pid_file(data_dir: &Path, command: &str) -> Option<PathBuf> {
    let path = data_dir.join(PID_FILE);
    let text = format!("{}\n{command}\n", std::process::id());
    match std::fs::write(&path, text) {
        Ok(()) => Some(path),
        Err(e) => {
            // A stale file from a killed ferry would name the wrong process.
            let _ = std::fs::remove_file(&path);
            tracing::debug!(error = %e, path = %path.display(), "could not write the pid file");
            None
        }
    }
}
