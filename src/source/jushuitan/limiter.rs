//! Client-side rate limiter: sliding windows of one second and one minute over the times of the
//! calls actually made, so Jushuitan never has to refuse a call (5/s and 100/min by default).
//!
//! The windows are a little longer than a second and a minute: a request sent just after the
//! window opened can still reach the server before one sent earlier, and the server counts
//! arrivals, not departures.

use std::collections::VecDeque;

/// Length of the "per second" window, in milliseconds (1 s plus a margin for transit jitter).
pub const SECOND_WINDOW_MS: i64 = 1_060;
/// Length of the "per minute" window, in milliseconds.
pub const MINUTE_WINDOW_MS: i64 = 60_600;

/// Sliding-window limiter over wall-clock milliseconds. A limit of 0 means unlimited.
#[derive(Debug)]
pub struct Limiter {
    per_second: usize,
    per_minute: usize,
    calls: VecDeque<i64>,
    pause_until: i64,
}

impl Limiter {
    pub fn new(per_second: u32, per_minute: u32) -> Self {
        Limiter {
            per_second: per_second as usize,
            per_minute: per_minute as usize,
            calls: VecDeque::new(),
            pause_until: 0,
        }
    }

    /// Takes over calls made earlier (by a previous run), so a restart does not burst.
    pub fn seed(&mut self, calls: &[i64], now: i64) {
        let mut sorted: Vec<i64> = calls
            .iter()
            .copied()
            .filter(|&t| t > now - MINUTE_WINDOW_MS && t <= now)
            .collect();
        sorted.sort_unstable();
        for t in sorted {
            self.record(t);
        }
    }

    fn record(&mut self, now: i64) {
        let t = self.calls.back().map_or(now, |&last| last.max(now));
        self.calls.push_back(t);
    }

    fn prune(&mut self, now: i64) {
        let keep = if self.per_minute > 0 {
            MINUTE_WINDOW_MS
        } else {
            SECOND_WINDOW_MS
        };
        while self.calls.front().is_some_and(|&t| t <= now - keep) {
            self.calls.pop_front();
        }
    }

    /// Either records a call at `now` and returns `Ok`, or returns how many milliseconds to wait
    /// before asking again.
    pub fn try_acquire(&mut self, now: i64) -> Result<(), i64> {
        self.try_acquire_within(now, self.per_minute)
    }

    /// As [`Limiter::try_acquire`], but the call must also leave the last minute with at most
    /// `minute_cap` calls (a lower cap than the limit keeps slots in reserve).
    pub fn try_acquire_within(&mut self, now: i64, minute_cap: usize) -> Result<(), i64> {
        match self.wait_ms(now, minute_cap) {
            0 => {
                self.record(now);
                Ok(())
            }
            wait => Err(wait),
        }
    }

    /// Milliseconds until a call may go with at most `minute_cap` calls in a minute (0: now).
    pub fn wait_ms(&mut self, now: i64, minute_cap: usize) -> i64 {
        if self.pause_until > now {
            return self.pause_until - now;
        }
        self.prune(now);
        let mut wait = 0;
        let n = self.calls.len();
        if self.per_second > 0 && n >= self.per_second {
            let oldest = self.calls[n - self.per_second];
            wait = wait.max(oldest + SECOND_WINDOW_MS - now);
        }
        // Without a per-minute limit only the last second is kept: no minute cap applies.
        let cap = minute_cap.clamp(1, self.per_minute.max(1));
        if self.per_minute > 0 && n >= cap {
            let oldest = self.calls[n - cap];
            wait = wait.max(oldest + MINUTE_WINDOW_MS - now);
        }
        wait.max(0)
    }

    /// The per-minute limit (0: none).
    pub fn per_minute(&self) -> usize {
        self.per_minute
    }

    /// The call recorded at `granted` leaves only at `sent` (the call log was saved first, or
    /// the thread was busy): it counts from then, so the windows hold for arrivals at the
    /// server. Only ever moves a call later, which makes the limiter stricter, never looser.
    pub fn restamp(&mut self, granted: i64, sent: i64) {
        if sent <= granted {
            return;
        }
        let Some(i) = self.calls.iter().rposition(|&t| t == granted) else {
            return;
        };
        self.calls.remove(i);
        let at = self.calls.partition_point(|&t| t <= sent);
        self.calls.insert(at, sent);
    }

    /// The server refused a call for rate: nobody calls before `until`.
    pub fn pause(&mut self, until: i64) {
        self.pause_until = self.pause_until.max(until);
    }

    /// The calls of the last minute (for persisting across restarts).
    pub fn recent(&self) -> Vec<i64> {
        self.calls.iter().copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Simulates a greedy caller and checks every window of the server's length.
    fn greedy(per_second: u32, per_minute: u32, calls: usize) -> Vec<i64> {
        let mut l = Limiter::new(per_second, per_minute);
        let mut now = 1_000_000i64;
        let mut made = Vec::new();
        while made.len() < calls {
            match l.try_acquire(now) {
                Ok(()) => made.push(now),
                Err(w) => {
                    assert!(w > 0);
                    now += w;
                }
            }
        }
        made
    }

    fn max_in(made: &[i64], window: i64) -> usize {
        let mut best = 0;
        let mut lo = 0;
        for hi in 0..made.len() {
            while made[hi] - made[lo] >= window {
                lo += 1;
            }
            best = best.max(hi - lo + 1);
        }
        best
    }

    #[test]
    fn never_more_than_the_limits_in_any_window() {
        let made = greedy(5, 100, 250);
        assert_eq!(max_in(&made, 1000), 5);
        assert_eq!(max_in(&made, 60_000), 100);
        // and it does not crawl either: two full minutes, then 50 calls at 5/s
        let span = made[made.len() - 1] - made[0];
        assert!(span < 2 * MINUTE_WINDOW_MS + 11_000, "{span}");
    }

    #[test]
    fn unlimited_and_seeded_and_paused() {
        let made = greedy(0, 0, 1000);
        assert_eq!(made[999], made[0]);
        let mut l = Limiter::new(5, 100);
        let now = 10_000_000;
        l.seed(
            &[now - 100, now - 200, now - 300, now - 400, now - 500],
            now,
        );
        assert!(
            l.try_acquire(now).is_err(),
            "the previous run's burst counts"
        );
        let mut l = Limiter::new(5, 100);
        l.pause(now + 500);
        assert_eq!(l.try_acquire(now), Err(500));
        assert!(l.try_acquire(now + 500).is_ok());
        assert_eq!(l.recent(), vec![now + 500]);
    }

    #[test]
    fn a_call_counts_from_when_it_left() {
        let mut l = Limiter::new(1, 0);
        let t = 5_000_000;
        assert!(l.try_acquire(t).is_ok());
        // The call left 300 ms after it was granted (its log was being saved).
        l.restamp(t, t + 300);
        assert_eq!(l.try_acquire(t + SECOND_WINDOW_MS), Err(300));
        assert!(l.try_acquire(t + SECOND_WINDOW_MS + 300).is_ok());
        // Kept in order; never earlier; an unknown stamp changes nothing.
        let mut l = Limiter::new(0, 100);
        for d in [0, 10, 20] {
            assert!(l.try_acquire(t + d).is_ok());
        }
        l.restamp(t, t + 15);
        l.restamp(t + 20, t + 5);
        l.restamp(42, t + 900);
        assert_eq!(l.recent(), vec![t + 10, t + 15, t + 20]);
    }
}
