//! Live mode: the simulated merchant keeps working. At `rate` changes per second, each API in
//! use (other in/out always; another API once a client asked for its documents) gets a change:
//! a new document (numbered after the largest key and line id so far) or a new version of one
//! of the most recently changed documents (an unconfirmed one confirmed, or a remark edited),
//! stamped `modified` = now, so an incremental client sees it in its next window. Latency
//! benchmarks measure from that stamp.
//!
//! Runs on its own thread; changes are kept (and saved to `live.jsonl`) like any version.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use fastrand::Rng;
use serde_json::{json, Value};

use super::apis::{self, ApiSpec, Family};
use super::families;
use super::server::Shared;
use super::state::State;
use super::world::{self, rng_for};
use crate::time::{format_beijing, now_unix};

/// Fastest supported rate (changes per second per API).
pub const MAX_RATE: f64 = 1000.0;
/// New documents among the changes (the rest change an existing document).
const CREATE_SHARE: f64 = 0.65;
/// A change of an existing document picks one of this many most recently changed ones.
const RECENT: usize = 20;

/// The running live thread; dropping it (or `stop`) ends it.
pub struct Live {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// Counts of the changes made so far.
#[derive(Default)]
pub struct LiveCounts {
    pub created: AtomicU64,
    pub modified: AtomicU64,
}

impl Live {
    /// Starts changing documents at `rate` per second per API in use.
    pub fn spawn(shared: Arc<Shared>, rate: f64, seed: u64) -> std::io::Result<Live> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let period = Duration::from_secs_f64(1.0 / rate.clamp(0.001, MAX_RATE));
        let thread = std::thread::Builder::new()
            .name("jushuitan-sim-live".into())
            .spawn(move || {
                let mut rng = rng_for(seed, 0x11FE_0000);
                let start = Instant::now();
                let mut step: u32 = 0;
                while !flag.load(Ordering::Relaxed) {
                    step = step.saturating_add(1);
                    let due = start + period.saturating_mul(step);
                    // Sleep in short slices so stopping is quick whatever the rate.
                    loop {
                        if flag.load(Ordering::Relaxed) {
                            return;
                        }
                        let now = Instant::now();
                        if now >= due {
                            break;
                        }
                        std::thread::sleep((due - now).min(Duration::from_millis(50)));
                    }
                    let mut state = shared.state.write();
                    for api in apis::APIS {
                        if state.in_use(api.name) {
                            change(&mut state, api, &mut rng, now_unix(), &shared.live_counts);
                        }
                    }
                }
            })?;
        Ok(Live {
            stop,
            thread: Some(thread),
        })
    }

    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One change of `api`'s documents at `now`.
fn change(state: &mut State, api: &'static ApiSpec, rng: &mut Rng, now: i64, counts: &LiveCounts) {
    let made = if rng.f64() < CREATE_SHARE {
        create(state, api, now).map(|d| (d, &counts.created))
    } else {
        modify(state, api, rng, now).map(|d| (d, &counts.modified))
    };
    let Some((doc, counter)) = made else {
        return;
    };
    match state.live_change(api.name, doc) {
        Ok(()) => {
            counter.fetch_add(1, Ordering::Relaxed);
        }
        Err(e) => tracing::warn!("Jushuitan simulator, live mode: {e}"),
    }
}

/// A new document of `api`, modified at `now`.
fn create(state: &mut State, api: &'static ApiSpec, now: i64) -> Option<Value> {
    let docs = state.live_docs(api.name)?;
    let (max_key, max_line, count) = (docs.max_key, docs.max_line, docs.count());
    let params = state.params().clone();
    let ctx = families::Context {
        seed: params.seed,
        lines: params.lines,
        shops: &state.shops,
        begin: now,
        end: now,
    };
    let mut doc = match api.family {
        _ if api.name == apis::OTHER_INOUT.name => {
            let io_id = (max_key + 1).max(world::FIRST_IO_ID);
            let mut next_ioi = (max_line + 1).max(world::FIRST_IOI_ID);
            world::new_document(&params, io_id, &mut next_ioi, now)
        }
        Family::InOut(shape) => {
            let io_id = (max_key + 1).max(shape.first_io_id);
            let mut next_ioi = (max_line + 1).max(shape.first_ioi_id);
            families::document(shape, &ctx, io_id, &mut next_ioi).pop()?
        }
        Family::Skus => {
            let n = u32::try_from(count + 1).ok()?;
            families::sku(&ctx, n).pop()?
        }
    };
    stamp(&mut doc, now);
    Some(doc)
}

/// A new version of one of the most recently changed documents of `api`, modified at `now`:
/// a document waiting for confirmation is confirmed, any other gets its remark edited.
fn modify(state: &mut State, api: &'static ApiSpec, rng: &mut Rng, now: i64) -> Option<Value> {
    let docs = state.live_docs(api.name)?;
    let recent: Vec<_> = docs.recent().take(RECENT).collect();
    if recent.is_empty() {
        return None;
    }
    let mut doc = recent[rng.usize(..recent.len())].value.clone();
    let earlier: &[(&str, &str)] = match api.family {
        _ if api.name == apis::OTHER_INOUT.name => &[("Confirmed", "WaitConfirm")],
        Family::InOut(shape) => shape.earlier,
        Family::Skus => &[],
    };
    let status = doc["status"].as_str().unwrap_or("").to_string();
    let next = earlier
        .iter()
        .find(|(_, before)| *before == status)
        .map(|(after, _)| *after);
    match (next, &mut doc) {
        (Some(after), Value::Object(m)) => {
            m.insert("status".into(), json!(after));
            if m.contains_key("f_status") {
                m.insert("f_status".into(), json!(after));
            }
        }
        (None, Value::Object(m)) => {
            let remark = format!("实时修改 {}", format_beijing(now));
            m.insert("remark".into(), json!(remark));
        }
        _ => return None,
    }
    stamp(&mut doc, now);
    Some(doc)
}

fn stamp(doc: &mut Value, now: i64) {
    if let Value::Object(m) = doc {
        m.insert("modified".into(), json!(format_beijing(now)));
    }
}
