//! The run board: per scheme, whether a catch-up is running, when it last ran and will run next,
//! and its last error. The scheduler writes it; status, the console and alerts read it.

use std::collections::BTreeMap;

use parking_lot::Mutex;
use serde::Serialize;

use crate::telemetry::{Event, System, Telemetry};
use crate::time::now_unix;

#[derive(Debug, Clone, Default, Serialize)]
pub struct RunState {
    pub running: bool,
    /// Unix seconds the last catch-up started.
    pub last_run: Option<i64>,
    /// Unix seconds the next tick is due.
    pub next_run: Option<i64>,
    /// The last catch-up's error, until one succeeds.
    pub last_error: Option<String>,
    /// Catch-ups failed in a row.
    pub failures: u32,
}

#[derive(Debug, Default)]
pub struct Board {
    schemes: Mutex<BTreeMap<String, RunState>>,
    jushuitan_down: Mutex<bool>,
}

impl Board {
    pub fn get(&self, scheme: &str) -> RunState {
        self.schemes.lock().get(scheme).cloned().unwrap_or_default()
    }

    pub fn started(&self, scheme: &str) {
        let mut m = self.schemes.lock();
        let s = m.entry(scheme.to_string()).or_default();
        s.running = true;
        s.last_run = Some(now_unix());
    }

    pub fn next(&self, scheme: &str, at: i64) {
        self.schemes
            .lock()
            .entry(scheme.to_string())
            .or_default()
            .next_run = Some(at);
    }

    /// Records how a catch-up ended and emits what changed: a failing scheme, a recovered one,
    /// Jushuitan unreachable or reachable again (`unreachable`: the error was a transport
    /// failure or a 5xx that survived the client's retries).
    pub fn finished(
        &self,
        telemetry: &Telemetry,
        scheme: &str,
        result: Result<(), (String, bool)>,
    ) {
        let (event, reach) = {
            let mut m = self.schemes.lock();
            let s = m.entry(scheme.to_string()).or_default();
            s.running = false;
            match result {
                Ok(()) => {
                    let was = s.failures;
                    s.failures = 0;
                    s.last_error = None;
                    let ev = (was > 0).then(|| Event::SchemeRecovered {
                        scheme: scheme.to_string(),
                    });
                    (ev, Some(false))
                }
                Err((error, unreachable)) => {
                    s.failures += 1;
                    s.last_error = Some(error.clone());
                    let reach = unreachable.then_some(true);
                    let ev = Event::SchemeFailing {
                        scheme: scheme.to_string(),
                        error,
                        failures: s.failures,
                    };
                    (Some(ev), reach)
                }
            }
        };
        if let Some(down) = reach {
            let mut was = self.jushuitan_down.lock();
            if *was != down {
                *was = down;
                let err = match &event {
                    Some(Event::SchemeFailing { error, .. }) => error.clone(),
                    _ => String::new(),
                };
                telemetry.emit(if down {
                    Event::Unreachable {
                        system: System::Jushuitan,
                        error: err,
                    }
                } else {
                    Event::Reachable {
                        system: System::Jushuitan,
                    }
                });
            }
        }
        if let Some(ev) = event {
            telemetry.emit(ev);
        }
    }
}
