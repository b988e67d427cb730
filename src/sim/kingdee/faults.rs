//! Fault profiles, deterministic from the seed and the call counter. Each fault hits a fraction
//! of calls, so a client that retries gets through eventually.

use std::time::Duration;

/// Default stall of `timeouts`/`lost-reply`: longer than a 3 s client timeout, short enough for
/// tests. (`KdSimOptions::stall` changes it.)
pub const STALL: Duration = Duration::from_millis(4000);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    None,
    Latency,
    Timeouts,
    Http5xx,
    ResponseError,
    SessionLoss,
    LostReply,
    RateStorm,
    Chaos,
}

/// Parses a profile name (`--faults NAME`); unknown names are an error.
pub fn parse(name: &str) -> Result<Profile, String> {
    let n = name.trim().to_ascii_lowercase();
    Ok(match n.as_str() {
        "" | "none" => Profile::None,
        "latency" => Profile::Latency,
        "timeouts" | "timeout" => Profile::Timeouts,
        "http5xx" => Profile::Http5xx,
        "response-error" => Profile::ResponseError,
        "session-loss" => Profile::SessionLoss,
        "lost-reply" => Profile::LostReply,
        "rate-storm" => Profile::RateStorm,
        "chaos" => Profile::Chaos,
        _ => {
            return Err(format!(
                "unknown fault profile {name:?}; use one of none, latency, timeouts, http5xx, response-error, session-loss, lost-reply, rate-storm, chaos"
            ))
        }
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Sleep past the client timeout, save nothing, then answer HTTP 503.
    Stall,
    /// HTTP 502/503, nothing saved.
    Http(u16),
    /// `response_error:` body, nothing saved.
    ResponseError,
    /// Drop all sessions first (login clients then get MsgCode 1; signed clients are
    /// re-verified and get a new session silently, as on a real server).
    SessionLost,
    /// Save, then stall and drop the connection without a reply.
    LostReply,
    /// MsgCode 14.
    RateLimited,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub delay: Duration,
    pub fault: Option<Fault>,
}

fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// What happens to form-service call number `n` (0-based).
pub fn decide(p: Profile, seed: u64, n: u64, is_write: bool) -> Decision {
    let h = mix(seed ^ mix(n));
    let r = h % 100;
    let jitter = Duration::from_millis(20 + (h >> 8) % 131);
    let none = Decision {
        delay: Duration::ZERO,
        fault: None,
    };
    let with = |f: Fault| Decision {
        delay: Duration::ZERO,
        fault: Some(f),
    };
    match p {
        Profile::None => none,
        Profile::Latency => Decision {
            delay: jitter,
            fault: None,
        },
        Profile::Timeouts if r < 25 => with(Fault::Stall),
        Profile::Http5xx if r < 25 => with(Fault::Http(if h & 256 == 0 { 502 } else { 503 })),
        Profile::ResponseError if r < 25 => with(Fault::ResponseError),
        Profile::SessionLoss if (n + seed) % 5 == 4 => with(Fault::SessionLost),
        Profile::LostReply if r < 25 && is_write => with(Fault::LostReply),
        Profile::RateStorm if mix(seed ^ 0xABCD ^ mix(n / 4)) % 100 < 30 => {
            with(Fault::RateLimited)
        }
        Profile::Chaos => {
            let f = match r {
                0..=4 => Some(Fault::Http(503)),
                5..=9 => Some(Fault::ResponseError),
                10..=12 => Some(Fault::Stall),
                13..=16 => Some(Fault::SessionLost),
                17..=21 => Some(Fault::RateLimited),
                22..=25 if is_write => Some(Fault::LostReply),
                _ => None,
            };
            Decision {
                delay: Duration::from_millis((h >> 8) % 40),
                fault: f,
            }
        }
        _ => none,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_fractions() {
        assert_eq!(parse("none"), Ok(Profile::None));
        assert_eq!(parse("Lost-Reply"), Ok(Profile::LostReply));
        assert!(parse("bogus!").is_err());
        let hits = (0..1000)
            .filter(|n| decide(Profile::Http5xx, 7, *n, true).fault.is_some())
            .count();
        assert!((150..350).contains(&hits), "{hits}");
        assert_eq!(
            decide(Profile::Chaos, 3, 17, true),
            decide(Profile::Chaos, 3, 17, true)
        );
    }
}
