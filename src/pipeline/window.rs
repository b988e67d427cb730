//! Incremental windows over source modification times (pure logic, no I/O).
//!
//! A scheme starts at `start_from` on its first run, or at its checkpoint minus the overlap
//! afterwards, and advances window by window (each at most the scheme's window size, itself at
//! most 7 days) but never past `now - settle_lag`: a document modified while we page gets a
//! `modified` later than the window's end, so it can only leave a window, never slip into one we
//! have already passed. Boundaries are inclusive on both ends (`modified_begin <= modified <=
//! modified_end`), so consecutive windows share their boundary second; dedupe makes that free.

/// One `[begin, end]` range of Beijing-time modification seconds (Unix seconds here).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub begin: i64,
    pub end: i64,
}

impl Window {
    pub fn span(&self) -> i64 {
        self.end - self.begin
    }
}

/// The windowing parameters of one scheme.
#[derive(Debug, Clone, Copy)]
pub struct WindowPlan {
    pub start_from: i64,
    pub window_secs: i64,
    pub overlap_secs: i64,
    pub settle_lag_secs: i64,
}

/// Jushuitan refuses ranges over seven days.
pub const MAX_WINDOW_SECS: i64 = 7 * 24 * 3600;

impl WindowPlan {
    /// Where a tick starts: the checkpoint minus the overlap (never before `start_from`), or
    /// `start_from` on the first run.
    pub fn first_begin(&self, checkpoint: Option<i64>) -> i64 {
        match checkpoint {
            Some(c) => (c - self.overlap_secs).max(self.start_from),
            None => self.start_from,
        }
    }

    /// The last second a window may reach at time `now`.
    pub fn horizon(&self, now: i64) -> i64 {
        now - self.settle_lag_secs
    }

    /// The window starting at `begin`, or `None` when `begin` has caught up with the horizon.
    pub fn window_at(&self, begin: i64, now: i64) -> Option<Window> {
        let horizon = self.horizon(now);
        if begin >= horizon {
            return None;
        }
        let size = self.window_secs.clamp(1, MAX_WINDOW_SECS);
        Some(Window {
            begin,
            end: (begin + size).min(horizon),
        })
    }

    /// All windows of one catch-up from `checkpoint` at time `now` (for planning and tests).
    pub fn plan(&self, checkpoint: Option<i64>, now: i64) -> Vec<Window> {
        let mut out = Vec::new();
        let mut begin = self.first_begin(checkpoint);
        while let Some(w) = self.window_at(begin, now) {
            out.push(w);
            begin = w.end;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86400;

    fn plan() -> WindowPlan {
        WindowPlan {
            start_from: 1_000 * DAY,
            window_secs: 7 * DAY,
            overlap_secs: 600,
            settle_lag_secs: 10,
        }
    }

    #[test]
    fn first_run_starts_at_start_from_and_covers_everything_up_to_horizon() {
        let p = plan();
        let now = p.start_from + 30 * DAY;
        let ws = p.plan(None, now);
        assert_eq!(ws.first().unwrap().begin, p.start_from);
        assert_eq!(ws.last().unwrap().end, now - 10);
        for pair in ws.windows(2) {
            assert_eq!(pair[0].end, pair[1].begin, "contiguous");
        }
        assert!(ws
            .iter()
            .all(|w| w.span() <= MAX_WINDOW_SECS && w.span() > 0));
        assert_eq!(ws.len(), 5);
    }

    #[test]
    fn later_runs_start_at_checkpoint_minus_overlap_but_not_before_start() {
        let p = plan();
        assert_eq!(
            p.first_begin(Some(p.start_from + DAY)),
            p.start_from + DAY - 600
        );
        assert_eq!(p.first_begin(Some(p.start_from + 5)), p.start_from);
    }

    #[test]
    fn caught_up_means_no_window() {
        let p = plan();
        let now = p.start_from + 5;
        assert!(p.plan(None, now).is_empty());
        assert!(p.window_at(now - 10, now).is_none());
    }

    #[test]
    fn window_size_is_capped_at_seven_days() {
        let mut p = plan();
        p.window_secs = 30 * DAY;
        let ws = p.plan(None, p.start_from + 20 * DAY);
        assert!(ws.iter().all(|w| w.span() <= MAX_WINDOW_SECS));
    }
}
