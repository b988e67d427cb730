//! The app's call budget, shared by every scheme: the [`Limiter`] says when the next call may
//! go, [`Turns`] says whose call it is. A caller waits for its turn (woken whenever a turn is
//! taken), then for the limiter; a caller that goes away while waiting gives its turn up.

use std::time::Duration;

use super::*;
use crate::source::jushuitan::turns::{Share, Ticket, Turns};

/// The limiter and the queue of callers, under one lock: "is it my turn" and "take the slot"
/// must be one step.
pub(super) struct Budget {
    pub(super) limiter: Limiter,
    pub(super) turns: Turns,
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
                if b.turns.is_next(ticket) {
                    let now = now_millis();
                    match b.limiter.try_acquire(now) {
                        Ok(()) => {
                            b.turns.granted(ticket, now);
                            place.granted = true;
                            granted_at = now;
                            break;
                        }
                        Err(ms) => Some(Duration::from_millis(ms.max(1) as u64)),
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
}
