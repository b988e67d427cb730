//! Request counting of the simulator: sliding one-second and one-minute windows over the arrival
//! times of every request, used both to enforce the limits (codes 199/200) and to report the
//! busiest windows ever seen (tests prove the client never exceeded the limits with them).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

const SECOND: Duration = Duration::from_secs(1);
const MINUTE: Duration = Duration::from_secs(60);

#[derive(Debug, Default)]
pub struct Rates {
    arrivals: VecDeque<Instant>,
    max_second: usize,
    max_minute: usize,
}

impl Rates {
    /// Records an arrival; returns how many requests (this one included) arrived within the
    /// last second and the last minute.
    pub fn arrive(&mut self, now: Instant) -> (usize, usize) {
        while self
            .arrivals
            .front()
            .is_some_and(|&t| now.saturating_duration_since(t) >= MINUTE)
        {
            self.arrivals.pop_front();
        }
        self.arrivals.push_back(now);
        let in_minute = self.arrivals.len();
        let older = self
            .arrivals
            .partition_point(|&t| now.saturating_duration_since(t) >= SECOND);
        let in_second = in_minute - older;
        self.max_second = self.max_second.max(in_second);
        self.max_minute = self.max_minute.max(in_minute);
        (in_second, in_minute)
    }

    pub fn max_per_second(&self) -> usize {
        self.max_second
    }

    pub fn max_per_minute(&self) -> usize {
        self.max_minute
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows() {
        let mut r = Rates::default();
        let t0 = Instant::now();
        for i in 0..5 {
            r.arrive(t0 + Duration::from_millis(i * 100));
        }
        assert_eq!(r.arrive(t0 + Duration::from_millis(999)), (6, 6));
        assert_eq!(r.arrive(t0 + Duration::from_millis(1_500)), (2, 7));
        assert_eq!(r.arrive(t0 + Duration::from_secs(62)), (1, 1));
        assert_eq!((r.max_per_second(), r.max_per_minute()), (6, 7));
    }
}
