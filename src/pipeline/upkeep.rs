//! Store upkeep inside `ferry run`: at start and then every hour, delivered documents older than
//! `[store] keep_delivered` lose their Kingdee model and their trace (see `store::upkeep`), a
//! bounded transaction at a time on the blocking pool. One info line per pass that pruned
//! something.
//!
//! Test hook: `FERRY_TEST_UPKEEP_AHEAD=<duration>` (e.g. `100d`) makes upkeep act as if the
//! clock were that far ahead, so a test can prune what it delivered a moment ago through the
//! real binary without waiting days. Nothing else sees the shifted clock.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::Shared;
use crate::store::{Store, StoreError, PRUNE_CHUNK};

/// Time between two passes.
pub const EVERY: Duration = Duration::from_secs(3600);

/// The running upkeep task of a pipeline.
pub struct Upkeep {
    handle: tokio::task::JoinHandle<()>,
    stop: Arc<AtomicBool>,
    once: bool,
}

/// Starts upkeep: with `once` a single pass (a `run --once`), otherwise a pass now and one
/// every [`EVERY`] until [`Upkeep::stop`].
pub fn start(shared: &Arc<Shared>, once: bool) -> Upkeep {
    let stop = Arc::new(AtomicBool::new(false));
    let handle = {
        let (shared, stop) = (shared.clone(), stop.clone());
        actix::spawn(async move {
            loop {
                pass(&shared, &stop).await;
                if once {
                    break;
                }
                tokio::time::sleep(EVERY).await;
            }
        })
    };
    Upkeep { handle, stop, once }
}

impl Upkeep {
    /// With `finish` (a `run --once` that was not interrupted) waits for the pass to finish;
    /// otherwise the pass in hand stops after its current step (one short transaction) and no
    /// other starts.
    pub async fn stop(self, finish: bool) {
        if self.once && finish {
            let _ = self.handle.await;
        } else {
            self.stop.store(true, Ordering::Relaxed);
            self.handle.abort();
        }
    }
}

/// One pass over the store: prune, then say what it did.
async fn pass(shared: &Arc<Shared>, stop: &Arc<AtomicBool>) {
    let keep = shared.config.store.keep_delivered;
    let now = crate::time::now_unix() + clock_ahead().as_secs() as i64;
    let before = now - keep.as_secs() as i64;
    let stop = stop.clone();
    let r = super::blocking(&shared.store, move |s| {
        let pruned = prune(s, before, &stop)?;
        Ok((pruned, s.size_on_disk()?))
    })
    .await;
    match r {
        Ok((0, _)) => tracing::debug!("store upkeep: nothing to prune"),
        Ok((pruned, bytes)) => tracing::info!(
            "store upkeep: {pruned} documents delivered before {} (Beijing time; keep_delivered \
             = {}) lost their Kingdee model and trace, their dedupe keys stay; the store takes \
             {:.1} MB on disk",
            crate::time::format_beijing(before),
            days(keep),
            bytes as f64 / 1e6
        ),
        Err(e) => tracing::warn!(error = %e, "store upkeep failed; trying again at the next pass"),
    }
}

/// Prunes everything delivered before `before`, a bounded step at a time, until done or told to
/// stop; how many entries it pruned.
pub fn prune(store: &Store, before: i64, stop: &AtomicBool) -> Result<u64, StoreError> {
    let (mut pruned, mut after) = (0, None);
    while !stop.load(Ordering::Relaxed) {
        let step = store.prune_delivered(before, after, PRUNE_CHUNK)?;
        pruned += step.pruned;
        match step.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    Ok(pruned)
}

/// `90d` (as config.toml says it), or humantime's words when not whole days.
fn days(d: Duration) -> String {
    match d.as_secs() {
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        _ => humantime::format_duration(d).to_string(),
    }
}

/// `FERRY_TEST_UPKEEP_AHEAD` (see the module notes); zero without it.
fn clock_ahead() -> Duration {
    std::env::var("FERRY_TEST_UPKEEP_AHEAD")
        .ok()
        .and_then(|v| humantime::parse_duration(v.trim()).ok())
        .unwrap_or(Duration::ZERO)
}
