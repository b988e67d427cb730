//! How a scheme fares at the Jushuitan call budget that every scheme shares (one app: 5/s,
//! 100/min), as `ferry status`, the snapshot and the admin API show it.

use serde::{Deserialize, Serialize};

use crate::source::jushuitan::BudgetShare;
use crate::time::format_beijing;

/// A scheme whose calls wait for the shared budget now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BudgetWait {
    /// Calls of the scheme waiting.
    pub calls: usize,
    /// When the oldest of them began waiting (Beijing time).
    pub since: String,
    /// The same, in unix milliseconds.
    pub since_unix_ms: i64,
    /// How long it has waited so far, in seconds.
    pub seconds: f64,
}

/// One scheme's part of the budget in this run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SchemeBudget {
    /// Waiting now (None: not waiting).
    pub waiting: Option<BudgetWait>,
    /// Calls granted to it since ferry started.
    pub calls: u64,
    /// Seconds those calls waited for their turn, in total.
    pub waited_secs: f64,
}

impl SchemeBudget {
    /// `scheme`'s share among `shares` (what the client reports), as of `now_ms`.
    pub fn of(shares: &[BudgetShare], scheme: &str, now_ms: i64) -> SchemeBudget {
        let Some(s) = shares.iter().find(|s| s.scheme == scheme) else {
            return SchemeBudget::default();
        };
        let waiting = s
            .waiting_since_ms
            .filter(|_| s.waiting > 0)
            .map(|since| BudgetWait {
                calls: s.waiting,
                since: format_beijing(since.div_euclid(1000)),
                since_unix_ms: since,
                seconds: secs((now_ms - since).max(0) as u64),
            });
        SchemeBudget {
            waiting,
            calls: s.granted,
            waited_secs: secs(s.waited_ms),
        }
    }

    /// One line for `ferry status`: `waiting 3.2 s (since 2026-09-01 12:00:01, 1 call); 40
    /// calls, 12.3 s waited in all`.
    pub fn describe(&self) -> String {
        let now = match &self.waiting {
            Some(w) => format!(
                "WAITING {:.1} s (since {}, {} call{})",
                w.seconds,
                w.since,
                w.calls,
                if w.calls == 1 { "" } else { "s" }
            ),
            None => "not waiting".into(),
        };
        format!(
            "{now}; {} call{} made, {:.1} s waited in all",
            self.calls,
            if self.calls == 1 { "" } else { "s" },
            self.waited_secs
        )
    }
}

/// Milliseconds as seconds with one decimal.
fn secs(ms: u64) -> f64 {
    (ms / 100) as f64 / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_waiting_scheme_says_since_when_and_for_how_long() {
        let shares = vec![
            BudgetShare {
                scheme: "backfill".into(),
                waiting: 2,
                waiting_since_ms: Some(1_790_000_000_000),
                granted: 40,
                waited_ms: 12_345,
            },
            BudgetShare {
                scheme: "shops".into(),
                waiting: 0,
                waiting_since_ms: None,
                granted: 1,
                waited_ms: 0,
            },
        ];
        let b = SchemeBudget::of(&shares, "backfill", 1_790_000_003_250);
        let w = b.waiting.clone().expect("waiting");
        assert_eq!((w.calls, w.seconds), (2, 3.2));
        assert_eq!(w.since, format_beijing(1_790_000_000));
        assert_eq!(b.waited_secs, 12.3);
        assert_eq!(
            b.describe(),
            format!(
                "WAITING 3.2 s (since {}, 2 calls); 40 calls made, 12.3 s waited in all",
                w.since
            )
        );
        let s = SchemeBudget::of(&shares, "shops", 1_790_000_003_250);
        assert_eq!(
            s.describe(),
            "not waiting; 1 call made, 0.0 s waited in all"
        );
        assert_eq!(
            SchemeBudget::of(&shares, "other", 0),
            SchemeBudget::default()
        );
    }
}
