//! Jushuitan tokens and where they are kept between runs.

use std::fmt;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

/// The merchant tokens of the app, plus the times of the client's recent calls, persisted so a
/// restarted ferry neither re-initialises its token nor exceeds the per-minute limit.
/// `Debug` hides the tokens.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Tokens {
    pub access_token: String,
    #[serde(default)]
    pub refresh_token: String,
    /// Unix seconds when the access token expires; 0 = unknown (configured by hand).
    #[serde(default)]
    pub expires_at: i64,
    /// Unix seconds when the token was obtained; 0 = unknown.
    #[serde(default)]
    pub issued_at: i64,
    /// Unix milliseconds of the calls made in the last minute (only with tight limits).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recent_calls: Vec<i64>,
}

impl Tokens {
    /// When to refresh: ahead of expiry by an hour, or by half the lifetime for short ones.
    pub fn refresh_due(&self) -> Option<i64> {
        if self.expires_at <= 0 {
            return None;
        }
        let life = if self.issued_at > 0 {
            (self.expires_at - self.issued_at).max(0)
        } else {
            7200
        };
        Some(self.expires_at - (life / 2).min(3600))
    }

    /// True when the token should be refreshed before the next call.
    pub fn needs_refresh(&self, now: i64) -> bool {
        self.access_token.is_empty() || self.refresh_due().is_some_and(|due| now >= due)
    }
}

impl fmt::Debug for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tokens")
            .field("access_token", &"***")
            .field("refresh_token", &"***")
            .field("expires_at", &self.expires_at)
            .field("issued_at", &self.issued_at)
            .field("recent_calls", &self.recent_calls.len())
            .finish()
    }
}

/// Where the client keeps its tokens (the pipeline uses the store's meta tree).
pub trait TokenStore: Send + Sync {
    fn load(&self) -> Option<Tokens>;
    fn save(&self, t: &Tokens) -> Result<(), String>;
}

/// Tokens in memory, for tests and one-off commands.
#[derive(Default)]
pub struct MemoryTokens {
    inner: Mutex<Option<Tokens>>,
    saves: Mutex<u64>,
}

impl MemoryTokens {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with(t: Tokens) -> Self {
        MemoryTokens {
            inner: Mutex::new(Some(t)),
            saves: Mutex::new(0),
        }
    }

    /// What was saved last.
    pub fn get(&self) -> Option<Tokens> {
        self.inner.lock().clone()
    }

    /// How many times `save` was called.
    pub fn saves(&self) -> u64 {
        *self.saves.lock()
    }
}

impl TokenStore for MemoryTokens {
    fn load(&self) -> Option<Tokens> {
        self.inner.lock().clone()
    }

    fn save(&self, t: &Tokens) -> Result<(), String> {
        *self.inner.lock() = Some(t.clone());
        *self.saves.lock() += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_ahead_of_expiry() {
        let t = Tokens {
            access_token: "a".into(),
            refresh_token: "r".into(),
            expires_at: 1_000_000,
            issued_at: 1_000_000 - 864_000,
            recent_calls: vec![],
        };
        assert!(!t.needs_refresh(1_000_000 - 3601));
        assert!(t.needs_refresh(1_000_000 - 3600));
        let short = Tokens {
            expires_at: 110,
            issued_at: 100,
            ..t.clone()
        };
        assert!(!short.needs_refresh(104));
        assert!(short.needs_refresh(105));
        let unknown = Tokens {
            expires_at: 0,
            ..t.clone()
        };
        assert!(!unknown.needs_refresh(i64::MAX));
        assert!(!format!("{t:?}").contains("\"a\""));
    }
}
