//! The app's call budget, shared by every scheme: the [`Limiter`] says when the next call may
//! go, [`Turns`] says whose call it is. A caller waits for its turn (woken whenever a turn is
//! taken), then for the limiter; a caller that goes away while waiting gives its turn up.
//!
//! Turns alone do not keep a backfill from spending the whole minute: at 5 calls a second it
//! takes the app's 100 calls of a minute in 20 seconds, and every other scheme then waits 40
//! seconds for the minute to pass. So a fifth of each minute is kept in reserve: a scheme that
//! made a fifth of the minute's calls itself (a backfill) stops at four fifths while another
//! scheme called in the last minute; the last fifth goes to the light schemes (incremental
//! runs), which may then go ahead of a backfill held back by it. A scheme alone uses it all.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use super::*;
use crate::source::jushuitan::limiter::MINUTE_WINDOW_MS;
use crate::source::jushuitan::turns::{Share, Ticket, Turns};

/// The limiter and the queue of callers, under one lock: "is it my turn" and "take the slot"
/// must be one step.
pub(super) struct Budget {
    pub(super) limiter: Limiter,
    pub(super) turns: Turns,
    /// Calls granted in the last minute per scheme (unix ms), for the reserve.
    pub(super) recent: HashMap<Arc<str>, VecDeque<i64>>,
    /// The call whose turn it is waits only for the reserve: light schemes may go first.
    pub(super) reserve_held: bool,
}

/// How much of each minute's calls a scheme may spend before it counts as heavy, and how many
/// are kept for the light ones: a fifth.
fn reserve(per_minute: usize) -> usize {
    per_minute / 5
}

impl Budget {
    fn prune(&mut self, now: i64) {
        for calls in self.recent.values_mut() {
            while calls.front().is_some_and(|&t| t <= now - MINUTE_WINDOW_MS) {
                calls.pop_front();
            }
        }
        self.recent.retain(|_, c| !c.is_empty());
    }

    /// The most calls in a minute `lane` may leave behind with its next call: the whole limit,
    /// or, for a heavy scheme while others call too, the limit less the reserve.
    fn minute_cap(&mut self, lane: &Arc<str>, now: i64) -> usize {
        let limit = self.limiter.per_minute();
        let reserve = reserve(limit);
        if limit == 0 || reserve == 0 {
            return usize::MAX;
        }
        self.prune(now);
        let own = self.recent.get(lane).map_or(0, VecDeque::len);
        let others = self.recent.keys().any(|l| l != lane)
            || self
                .turns
                .shares()
                .iter()
                .any(|s| s.waiting > 0 && *s.scheme != **lane);
        if own >= reserve && others {
            limit - reserve
        } else {
            limit
        }
    }

    fn light(&mut self, lane: &Arc<str>, now: i64) -> bool {
        self.prune(now);
        self.recent.get(lane).map_or(0, VecDeque::len) < reserve(self.limiter.per_minute())
    }

    fn granted(&mut self, lane: &Arc<str>, ticket: Ticket, now: i64) {
        self.turns.granted(ticket, now);
        self.recent.entry(lane.clone()).or_default().push_back(now);
    }
}

/// Longest a caller that is not next sleeps before looking again (a safety net: it is woken
/// whenever a turn is taken or given up).
const RECHECK: Duration = Duration::from_millis(500);

/// A place in the queue; given up if the caller goes away before its call was granted.
struct Place<'a> {
    client: &'a Client,
    ticket: Ticket,
    granted: bool,
}

impl Drop for Place<'_> {
    fn drop(&mut self) {
        if !self.granted {
            self.client.inner.budget.lock().turns.leave(self.ticket);
            self.client.inner.turn_taken.notify_waiters();
        }
    }
}

impl Client {
    /// A client whose calls wait for the budget in `scheme`'s turn (clones share the budget,
    /// the tokens and the connection pool).
    pub fn for_scheme(&self, scheme: &str) -> Client {
        Client {
            inner: self.inner.clone(),
            lane: scheme.into(),
        }
    }

    /// How every scheme fares at the shared budget: who waits, since when, how much it got.
    pub fn budget_shares(&self) -> Vec<Share> {
        self.inner.budget.lock().turns.shares()
    }

    /// Waits for this scheme's turn and for the limiter, then records the call (and persists
    /// the call log). Returns when the call was recorded, for [`Client::leaving`].
    pub(super) async fn acquire(&self) -> i64 {
        let started = std::time::Instant::now();
        let ticket = self
            .inner
            .budget
            .lock()
            .turns
            .join(&self.lane, now_millis());
        let mut place = Place {
            client: self,
            ticket,
            granted: false,
        };
        let mut waited = false;
        let granted_at;
        loop {
            // Registered before looking, so a turn taken in between still wakes us.
            let turn_taken = self.inner.turn_taken.notified();
            let wait = {
                let mut b = self.inner.budget.lock();
                let now = now_millis();
                if b.turns.is_next(ticket) {
                    let cap = b.minute_cap(&self.lane, now);
                    match b.limiter.try_acquire_within(now, cap) {
                        Ok(()) => {
                            b.granted(&self.lane, ticket, now);
                            b.reserve_held = false;
                            place.granted = true;
                            granted_at = now;
                            break;
                        }
                        Err(ms) => {
                            // Held by the reserve: the whole limit would let a call go sooner.
                            let held = b.limiter.wait_ms(now, usize::MAX) < ms;
                            if held && !b.reserve_held {
                                self.inner.turn_taken.notify_waiters();
                            }
                            b.reserve_held = held;
                            Some(Duration::from_millis(ms.max(1) as u64))
                        }
                    }
                } else if b.reserve_held && b.light(&self.lane, now) {
                    // The scheme whose turn it is waits for the reserve only: a light one goes.
                    match b.limiter.try_acquire(now) {
                        Ok(()) => {
                            b.granted(&self.lane, ticket, now);
                            place.granted = true;
                            granted_at = now;
                            break;
                        }
                        Err(_) => None,
                    }
                } else {
                    None
                }
            };
            waited = true;
            match wait {
                // Our turn: only time frees the slot.
                Some(d) => tokio::time::sleep(d).await,
                // Another scheme's turn: wait until it is taken.
                None => {
                    tokio::select! {
                        _ = turn_taken => {}
                        _ = tokio::time::sleep(RECHECK) => {}
                    }
                }
            }
        }
        drop(place);
        self.inner.turn_taken.notify_waiters();
        if let (true, Some(t)) = (waited, &self.inner.settings.telemetry) {
            t.rate_wait(crate::telemetry::System::Jushuitan, started.elapsed());
        }
        if self.inner.persist_calls {
            // A failure is logged; the call log only paces a restarted ferry.
            let _ = self.persist();
        }
        granted_at
    }

    /// The call granted at `granted_at` leaves now: the limiter counts it from now (saving the
    /// call log, a busy thread, may have held it back; Jushuitan counts arrivals).
    pub(super) fn leaving(&self, granted_at: i64) {
        let now = now_millis();
        self.inner.budget.lock().limiter.restamp(granted_at, now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn client(per_second: u32) -> Client {
        let store: Arc<dyn TokenStore> = Arc::new(crate::source::jushuitan::MemoryTokens::new());
        Client::new(
            ClientSettings {
                base_url: "http://127.0.0.1:9".into(),
                app_key: "k".into(),
                per_second,
                per_minute: 0,
                ..ClientSettings::default()
            },
            store,
        )
        .expect("client")
    }

    /// Two greedy backfills and one scheme asking once, through the real waiting code: the one
    /// call goes after at most one call of each backfill.
    #[tokio::test(flavor = "current_thread")]
    async fn a_single_call_is_not_starved_by_two_greedy_schemes() {
        let c = client(20);
        let order = Arc::new(Mutex::new(Vec::<&'static str>::new()));
        let stop = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for name in ["backfill-a", "backfill-b"] {
            let (c, order, stop) = (c.for_scheme(name), order.clone(), stop.clone());
            tasks.push(tokio::spawn(async move {
                while stop.load(Ordering::Relaxed) == 0 {
                    c.acquire().await;
                    order.lock().push(name);
                }
            }));
        }
        // Let the backfills fill the first second's budget and queue up.
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        let at = order.lock().len();
        c.for_scheme("incremental").acquire().await;
        order.lock().push("incremental");
        stop.store(1, Ordering::Relaxed);
        for t in tasks {
            let _ = t.await;
        }
        let order = order.lock();
        let mine = order
            .iter()
            .position(|s| *s == "incremental")
            .expect("granted");
        assert!(
            mine - at <= 2,
            "{} calls went before the incremental one: {:?}",
            mine - at,
            &order[at..]
        );
        // Once both waited, the backfills alternated as well (the first second went to
        // whichever asked first, alone).
        assert!(at > 25, "{at}");
        assert!(
            order[20..at].windows(2).all(|w| w[0] != w[1]),
            "{:?}",
            &order[20..at]
        );
        let shares = c.budget_shares();
        assert!(shares.iter().all(|s| s.waiting == 0), "{shares:?}");
        let inc = shares.iter().find(|s| s.scheme == "incremental");
        assert_eq!(inc.map(|s| s.granted), Some(1));
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_caller_that_goes_away_gives_its_turn_up() {
        let c = client(1);
        c.for_scheme("a").acquire().await; // the second's one call is used
        let waiting = c.for_scheme("a");
        let gave_up = tokio::time::timeout(Duration::from_millis(100), waiting.acquire()).await;
        assert!(gave_up.is_err(), "the limiter holds it back");
        assert!(c.budget_shares().iter().all(|s| s.waiting == 0));
        let next = tokio::time::timeout(Duration::from_secs(2), c.for_scheme("b").acquire()).await;
        assert!(next.is_ok(), "the turn given up went to the next scheme");
    }

    /// A backfill granted a call every 250 ms (4/s) for as long as the limits let it.
    fn backfill_spends(b: &mut Budget, lane: &Arc<str>, from: i64) -> (usize, i64) {
        let mut now = from;
        let mut calls = 0;
        while now < from + 60_000 {
            let cap = b.minute_cap(lane, now);
            if b.limiter.try_acquire_within(now, cap).is_ok() {
                let t = b.turns.join(lane, now);
                b.granted(lane, t, now);
                calls += 1;
            }
            now += 250;
        }
        (calls, now)
    }

    fn budget() -> Budget {
        Budget {
            limiter: Limiter::new(5, 100),
            turns: Turns::default(),
            recent: HashMap::new(),
            reserve_held: false,
        }
    }

    #[test]
    fn a_backfill_leaves_a_fifth_of_the_minute_to_the_others() {
        let backfill: Arc<str> = "backfill".into();
        let live: Arc<str> = "live".into();
        // Alone, a backfill may take the whole minute.
        let mut b = budget();
        assert_eq!(backfill_spends(&mut b, &backfill, 1_000_000).0, 100);
        // With another scheme calling, it stops at four fifths ...
        let mut b = budget();
        assert!(b.limiter.try_acquire(1_000_000).is_ok());
        let t = b.turns.join(&live, 1_000_000);
        b.granted(&live, t, 1_000_000);
        let (spent, now) = backfill_spends(&mut b, &backfill, 1_000_000);
        assert_eq!(
            spent, 79,
            "80 calls in the minute, one of them the other scheme's"
        );
        let cap = b.minute_cap(&backfill, now - 250);
        assert_eq!(cap, 80);
        assert!(b.limiter.wait_ms(now - 250, cap) > 0);
        // ... and the light scheme still gets its calls at once, beyond the backfill's cap.
        for i in 0..4 {
            let at = now - 250 + i * 250;
            assert!(b.light(&live, at));
            let cap = b.minute_cap(&live, at);
            assert!(b.limiter.try_acquire_within(at, cap).is_ok(), "call {i}");
            let t = b.turns.join(&live, at);
            b.granted(&live, t, at);
        }
        assert_eq!(b.limiter.recent().len(), 84);
    }
}
