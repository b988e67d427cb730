//! Turns at the shared call budget. Every scheme calls Jushuitan through one app, whose limits
//! (5/s, 100/min) the [`Limiter`](super::Limiter) keeps; when calls wait for it, the next call
//! goes to the schemes in turn (round robin), and each scheme's own calls go in the order they
//! were asked for. A scheme with one call waiting gets a call after at most one call of each
//! other waiting scheme, however many calls a backfill of another scheme has queued.
//!
//! Pure bookkeeping over wall-clock milliseconds; the client does the waiting.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

/// One call waiting for its turn.
pub type Ticket = u64;

/// How one scheme fares at the shared budget.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Share {
    /// The scheme (the client's lane; empty for calls made outside any scheme).
    pub scheme: String,
    /// Calls of it waiting for the budget now.
    pub waiting: usize,
    /// Unix milliseconds the oldest of them began waiting (None: nothing waits).
    pub waiting_since_ms: Option<i64>,
    /// Calls it was granted so far.
    pub granted: u64,
    /// Milliseconds its granted calls waited for their turn, in total.
    pub waited_ms: u64,
}

#[derive(Debug)]
struct Lane {
    scheme: String,
    /// Waiting calls, oldest first: ticket and the unix ms it began waiting.
    calls: VecDeque<(Ticket, i64)>,
}

/// Whose call goes next.
#[derive(Debug, Default)]
pub struct Turns {
    /// Schemes with calls waiting; the one whose turn it is first.
    lanes: VecDeque<Lane>,
    next_ticket: Ticket,
    /// Per scheme: calls granted and milliseconds waited, for as long as this process runs.
    served: BTreeMap<String, (u64, u64)>,
}

impl Turns {
    /// A call of `scheme` begins waiting at `now`. A scheme not waiting yet takes its turn
    /// after every scheme already waiting.
    pub fn join(&mut self, scheme: &str, now: i64) -> Ticket {
        let ticket = self.next_ticket;
        self.next_ticket += 1;
        match self.lanes.iter_mut().find(|l| l.scheme == scheme) {
            Some(lane) => lane.calls.push_back((ticket, now)),
            None => self.lanes.push_back(Lane {
                scheme: scheme.to_string(),
                calls: VecDeque::from([(ticket, now)]),
            }),
        }
        ticket
    }

    /// Whether `ticket` is the call that may take the next slot of the budget.
    pub fn is_next(&self, ticket: Ticket) -> bool {
        self.lanes
            .front()
            .and_then(|l| l.calls.front())
            .is_some_and(|&(t, _)| t == ticket)
    }

    /// The next call (`is_next`) was granted at `now`: its scheme's turn is over, so the scheme
    /// goes behind the others if it has more calls waiting.
    pub fn granted(&mut self, ticket: Ticket, now: i64) {
        if !self.is_next(ticket) {
            self.leave(ticket);
            return;
        }
        let Some(mut lane) = self.lanes.pop_front() else {
            return;
        };
        if let Some((_, since)) = lane.calls.pop_front() {
            let e = self.served.entry(lane.scheme.clone()).or_default();
            e.0 += 1;
            e.1 += (now - since).max(0) as u64;
        }
        if !lane.calls.is_empty() {
            self.lanes.push_back(lane);
        }
    }

    /// A waiting call gave up (its caller went away): it leaves the queue; its scheme keeps its
    /// place if it has other calls waiting.
    pub fn leave(&mut self, ticket: Ticket) {
        let Some(i) = self
            .lanes
            .iter()
            .position(|l| l.calls.iter().any(|&(t, _)| t == ticket))
        else {
            return;
        };
        self.lanes[i].calls.retain(|&(t, _)| t != ticket);
        if self.lanes[i].calls.is_empty() {
            self.lanes.remove(i);
        }
    }

    /// Every scheme that waits now or was granted calls, by name.
    pub fn shares(&self) -> Vec<Share> {
        let mut out: BTreeMap<&str, Share> = BTreeMap::new();
        for (scheme, &(granted, waited_ms)) in &self.served {
            out.insert(
                scheme,
                Share {
                    scheme: scheme.clone(),
                    granted,
                    waited_ms,
                    ..Share::default()
                },
            );
        }
        for lane in &self.lanes {
            let s = out.entry(&lane.scheme).or_insert_with(|| Share {
                scheme: lane.scheme.clone(),
                ..Share::default()
            });
            s.waiting = lane.calls.len();
            s.waiting_since_ms = lane.calls.iter().map(|&(_, since)| since).min();
        }
        out.into_values().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Grants the next call; returns its scheme.
    fn grant_next(t: &mut Turns, waiting: &[(Ticket, &'static str)], now: i64) -> &'static str {
        let &(ticket, scheme) = waiting
            .iter()
            .find(|(k, _)| t.is_next(*k))
            .expect("some call is next");
        t.granted(ticket, now);
        scheme
    }

    #[test]
    fn schemes_take_turns_and_each_keeps_its_own_order() {
        let mut t = Turns::default();
        let mut waiting = Vec::new();
        // A backfill queues many calls before two other schemes ask for one each.
        for _ in 0..5 {
            waiting.push((t.join("backfill", 0), "backfill"));
        }
        waiting.push((t.join("other-backfill", 1), "other-backfill"));
        waiting.push((t.join("other-backfill", 1), "other-backfill"));
        waiting.push((t.join("incremental", 2), "incremental"));
        let order: Vec<&str> = (0..8)
            .map(|i| grant_next(&mut t, &waiting, 10 + i))
            .collect();
        assert_eq!(
            order,
            [
                "backfill",
                "other-backfill",
                "incremental",
                "backfill",
                "other-backfill",
                "backfill",
                "backfill",
                "backfill"
            ]
        );
        // FIFO within a scheme: the backfill's tickets were granted in the order they were asked.
        let first = waiting[0].0;
        assert!(!t.is_next(first), "a granted ticket is gone");
        assert!(t.shares().iter().all(|s| s.waiting == 0));
    }

    #[test]
    fn a_scheme_asking_once_waits_at_most_one_call_per_other_waiting_scheme() {
        // Two backfills always have a call waiting (each asks again the moment it is served);
        // a third scheme asks once, at any point of their rotation.
        for ask_at in 0..6 {
            let mut t = Turns::default();
            let mut a = t.join("a", 0);
            let mut b = t.join("b", 0);
            let mut mine = None;
            let mut before_me = 0;
            for step in 0..20 {
                if step == ask_at {
                    mine = Some(t.join("c", step));
                }
                if let Some(m) = mine {
                    if t.is_next(m) {
                        t.granted(m, step);
                        break;
                    }
                    before_me += 1;
                }
                if t.is_next(a) {
                    t.granted(a, step);
                    a = t.join("a", step);
                } else if t.is_next(b) {
                    t.granted(b, step);
                    b = t.join("b", step);
                } else {
                    panic!("nobody is next at step {step}");
                }
            }
            assert!(mine.is_some_and(|m| !t.is_next(m)));
            assert!(
                before_me <= 2,
                "asked at {ask_at}: {before_me} calls went first"
            );
            let c = t.shares().into_iter().find(|s| s.scheme == "c");
            assert_eq!(c.map(|s| s.granted), Some(1), "asked at {ask_at}");
        }
    }

    #[test]
    fn a_caller_that_gives_up_leaves_no_hole() {
        let mut t = Turns::default();
        let a1 = t.join("a", 0);
        let a2 = t.join("a", 0);
        let b1 = t.join("b", 5);
        t.leave(a1);
        assert!(t.is_next(a2), "a keeps its turn with its next call");
        t.leave(a2);
        assert!(t.is_next(b1), "a has nothing waiting: b's turn");
        t.leave(b1);
        assert!(t.shares().is_empty());
        // Granting a ticket that is not next only removes it.
        let c1 = t.join("c", 0);
        let d1 = t.join("d", 0);
        t.granted(d1, 1);
        assert!(t.is_next(c1));
    }

    #[test]
    fn shares_tell_who_waits_since_when_and_how_long_they_waited() {
        let mut t = Turns::default();
        let a1 = t.join("a", 1_000);
        let _a2 = t.join("a", 1_200);
        let b1 = t.join("b", 1_100);
        t.granted(a1, 1_500);
        let s = t.shares();
        assert_eq!(
            s,
            vec![
                Share {
                    scheme: "a".into(),
                    waiting: 1,
                    waiting_since_ms: Some(1_200),
                    granted: 1,
                    waited_ms: 500,
                },
                Share {
                    scheme: "b".into(),
                    waiting: 1,
                    waiting_since_ms: Some(1_100),
                    granted: 0,
                    waited_ms: 0,
                },
            ]
        );
        assert!(t.is_next(b1), "b has waited since before a's second call");
    }
}
