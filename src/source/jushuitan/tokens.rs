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
    /// Fingerprint of the configured token pair these descend from ("" for a self-built app's
    /// getInitToken tokens): new tokens in config.toml (a new authorization) replace them.
    #[serde(default)]
    pub origin: String,
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

/// Fingerprint of a configured token pair (never the tokens themselves: a SHA-256 prefix).
pub fn fingerprint(access_token: &str, refresh_token: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(access_token.as_bytes());
    h.update([0u8]);
    h.update(refresh_token.as_bytes());
    h.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Jushuitan refuses the tokens ferry has, and ferry cannot get new ones by itself: a person
/// must authorize the app again. Kept in the store so `ferry status` can say so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenProblem {
    /// Which token was refused: "refresh_token" or "access_token".
    pub token: String,
    /// Unix seconds of the first refusal.
    pub since: i64,
    /// What Jushuitan answered (code and message).
    pub answer: String,
    /// Fingerprint of the configured tokens at the time (new ones in config.toml end it).
    pub origin: String,
}

impl TokenProblem {
    /// One plain paragraph for an admin.
    pub fn describe(&self) -> String {
        format!(
            "Jushuitan has refused ferry's {} since {} (Beijing time): {}. ferry cannot get a new token by itself. \
             Authorize the app again in the Jushuitan open platform (聚水潭开放平台 → 授权), put the new access_token \
             and refresh_token into config.toml under [jushuitan], and restart ferry.",
            self.token,
            crate::time::format_beijing(self.since),
            self.answer
        )
    }
}

/// Where the client keeps its tokens (the pipeline uses the store's meta tree).
pub trait TokenStore: Send + Sync {
    fn load(&self) -> Option<Tokens>;
    /// Saves durably (the new tokens are used only after this returned Ok).
    fn save(&self, t: &Tokens) -> Result<(), String>;
    fn load_problem(&self) -> Option<TokenProblem>;
    fn save_problem(&self, p: Option<&TokenProblem>) -> Result<(), String>;
}

/// Tokens in memory, for tests and one-off commands.
#[derive(Default)]
pub struct MemoryTokens {
    inner: Mutex<Option<Tokens>>,
    saves: Mutex<u64>,
    problem: Mutex<Option<TokenProblem>>,
}

impl MemoryTokens {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with(t: Tokens) -> Self {
        MemoryTokens {
            inner: Mutex::new(Some(t)),
            ..Default::default()
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

    fn load_problem(&self) -> Option<TokenProblem> {
        self.problem.lock().clone()
    }

    fn save_problem(&self, p: Option<&TokenProblem>) -> Result<(), String> {
        *self.problem.lock() = p.cloned();
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
            origin: String::new(),
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
