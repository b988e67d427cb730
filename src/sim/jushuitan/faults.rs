//! Fault profiles of the Jushuitan simulator, deterministic from the seed (and the order of
//! requests). Faults hit a fraction of calls and never more than a few in a row, so a client that
//! retries a bounded number of times always gets through.

use std::time::Duration;

use fastrand::Rng;

/// A named fault profile (`--faults NAME`; the same name is given to both simulators).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    None,
    Latency,
    Timeouts,
    Http5xx,
    RateStorm,
    SessionLoss,
    Chaos,
}

impl Profile {
    pub fn parse(name: &str) -> Result<Profile, String> {
        Ok(match name.trim().to_ascii_lowercase().as_str() {
            "" | "none" => Profile::None,
            "latency" => Profile::Latency,
            "timeouts" => Profile::Timeouts,
            "http5xx" => Profile::Http5xx,
            "rate-storm" => Profile::RateStorm,
            "session-loss" => Profile::SessionLoss,
            // Kingdee-side faults: the Jushuitan simulator behaves normally.
            "response-error" | "lost-reply" => Profile::None,
            "chaos" => Profile::Chaos,
            other => {
                return Err(format!(
                    "unknown fault profile {other:?}; known: none, latency, timeouts, http5xx, \
                     response-error, session-loss, rate-storm, lost-reply, chaos"
                ))
            }
        })
    }
}

/// What to do to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answer normally, after a pause.
    Delay(Duration),
    /// Do not answer (until the client gives up).
    Hang,
    /// Answer with this HTTP status and a non-JSON body.
    Http(u16),
    /// Refuse with code 199 or 200.
    RateLimit(i64),
    /// Forget the caller's access token and answer code 100 (business calls only).
    DropToken,
}

/// Per-simulator fault state.
#[derive(Debug)]
pub struct Faults {
    profile: Profile,
    seed: u64,
    counter: u64,
    in_a_row: u32,
    storm_left: u32,
    storm_code: i64,
    injected: u64,
}

/// At most this many failed answers in a row (a storm may be longer).
const MAX_IN_A_ROW: u32 = 2;

impl Faults {
    pub fn new(profile: Profile, seed: u64) -> Self {
        Faults {
            profile,
            seed,
            counter: 0,
            in_a_row: 0,
            storm_left: 0,
            storm_code: 199,
            injected: 0,
        }
    }

    /// How many faults (delays included) were injected so far.
    pub fn injected(&self) -> u64 {
        self.injected
    }

    /// The fault for the next request, if any.
    pub fn next(&mut self, business: bool) -> Option<Fault> {
        let f = self.decide(business);
        if f.is_some() {
            self.injected += 1;
        }
        f
    }

    fn decide(&mut self, business: bool) -> Option<Fault> {
        if self.profile == Profile::None {
            return None;
        }
        self.counter += 1;
        let mut r = Rng::with_seed(
            self.seed.wrapping_mul(0xA076_1D64_78BD_642F)
                ^ self.counter.wrapping_mul(0xE703_7ED1_A0B4_28DB),
        );
        if self.storm_left > 0 {
            self.storm_left -= 1;
            if self.storm_left == 0 {
                // after a storm, the next request gets through
                self.in_a_row = MAX_IN_A_ROW;
            }
            return Some(Fault::RateLimit(self.storm_code));
        }
        let x = r.f64();
        let delay = Fault::Delay(Duration::from_millis(r.u64(20..400)));
        let fault = match self.profile {
            Profile::None => None,
            Profile::Latency => (x < 0.4).then_some(delay),
            Profile::Timeouts => (x < 0.08).then_some(Fault::Hang),
            Profile::Http5xx => (x < 0.15).then(|| Fault::Http([500, 502, 503][r.usize(..3)])),
            Profile::RateStorm => (x < 0.1).then(|| self.storm(&mut r, 2..=4)),
            Profile::SessionLoss => (business && x < 0.08).then_some(Fault::DropToken),
            Profile::Chaos => {
                if x < 0.04 {
                    Some(Fault::Hang)
                } else if x < 0.12 {
                    Some(Fault::Http([500, 502, 503][r.usize(..3)]))
                } else if x < 0.16 {
                    Some(self.storm(&mut r, 1..=2))
                } else if x < 0.19 && business {
                    Some(Fault::DropToken)
                } else if x < 0.45 {
                    Some(delay)
                } else {
                    None
                }
            }
        };
        match fault {
            None | Some(Fault::Delay(_)) => {
                self.in_a_row = 0;
                fault
            }
            Some(_) if self.in_a_row >= MAX_IN_A_ROW => {
                self.in_a_row = 0;
                self.storm_left = 0;
                None
            }
            Some(f) => {
                self.in_a_row += 1;
                Some(f)
            }
        }
    }

    fn storm(&mut self, r: &mut Rng, len: std::ops::RangeInclusive<u32>) -> Fault {
        self.storm_code = if r.f64() < 0.75 { 199 } else { 200 };
        // the first answer of a storm counts towards MAX_IN_A_ROW, the rest do not
        self.storm_left = r.u32(len).saturating_sub(1);
        Fault::RateLimit(self.storm_code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for n in [
            "none",
            "latency",
            "timeouts",
            "http5xx",
            "rate-storm",
            "chaos",
            "response-error",
            "session-loss",
            "lost-reply",
        ] {
            assert!(Profile::parse(n).is_ok(), "{n}");
        }
        assert!(Profile::parse("earthquake").is_err());
    }

    #[test]
    fn deterministic_bounded_and_a_fraction() {
        for p in [
            Profile::Latency,
            Profile::Timeouts,
            Profile::Http5xx,
            Profile::RateStorm,
            Profile::SessionLoss,
            Profile::Chaos,
        ] {
            let run = || {
                let mut f = Faults::new(p, 9);
                (0..2000).map(|_| f.next(true)).collect::<Vec<_>>()
            };
            let a = run();
            assert_eq!(a, run(), "{p:?}");
            let bad = a
                .iter()
                .filter(|f| !matches!(f, None | Some(Fault::Delay(_))))
                .count();
            let any = a.iter().filter(|f| f.is_some()).count();
            assert!(
                any > 0 && (bad > 0 || p == Profile::Latency),
                "{p:?} injects something"
            );
            assert!(bad < 600, "{p:?}: {bad} of 2000 is more than a fraction");
            let (mut run, mut other) = (0, 0);
            for f in &a {
                match f {
                    None | Some(Fault::Delay(_)) => (run, other) = (0, 0),
                    Some(Fault::RateLimit(_)) => run += 1,
                    Some(_) => {
                        run += 1;
                        other += 1;
                    }
                }
                assert!(run <= 5 && other <= 2, "{p:?}: {a:?}");
            }
        }
        assert!(Faults::new(Profile::None, 1).next(true).is_none());
    }
}
