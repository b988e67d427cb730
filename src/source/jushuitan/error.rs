//! Errors of the Jushuitan client. Every message names the API and the page it was reading.

use std::fmt;

/// Which call failed: an API and a page (page 0 = not a paged call, e.g. a token request).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub api: String,
    pub page: u32,
}

impl Call {
    pub fn new(api: &str, page: u32) -> Self {
        Call {
            api: api.to_string(),
            page,
        }
    }
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.page == 0 {
            write!(f, "{}", self.api)
        } else {
            write!(f, "{} page {}", self.api, self.page)
        }
    }
}

/// What went wrong while calling Jushuitan.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The settings cannot work (bad base URL, empty app key, TLS setup).
    #[error("Jushuitan client settings: {0}")]
    Settings(String),
    /// Network failure, timeout or HTTP 5xx, still failing after the bounded retries.
    #[error("{call}: Jushuitan unreachable after {tries} tries: {message}")]
    Transport {
        call: Call,
        tries: u32,
        message: String,
    },
    /// An HTTP status that retrying will not fix (404, 401, ...).
    #[error("{call}: HTTP {status} from Jushuitan: {body}")]
    Http {
        call: Call,
        status: u16,
        body: String,
    },
    /// The body is not the JSON envelope Jushuitan sends.
    #[error("{call}: malformed response from Jushuitan: {message}")]
    Malformed { call: Call, message: String },
    /// Jushuitan (or something in between) answered with a redirect, which is never followed.
    #[error("{call}: Jushuitan answered {message}")]
    Redirect { call: Call, message: String },
    /// The answer was over the size limit.
    #[error("{call}: Jushuitan's answer was refused: {message}")]
    TooLarge { call: Call, message: String },
    /// Still refused with code 199/200 after backing off.
    #[error("{call}: Jushuitan rate limit (code {code}: {msg}) still hit after {tries} tries")]
    RateLimited {
        call: Call,
        code: i64,
        msg: String,
        tries: u32,
    },
    /// A business error code from Jushuitan.
    #[error("{call}: Jushuitan code {code}: {msg}{hint}")]
    Api {
        call: Call,
        code: i64,
        msg: String,
        hint: &'static str,
    },
    /// The token could not be obtained or refreshed before reading `call`.
    #[error("{call}: no Jushuitan access token: {source}")]
    Token {
        call: Call,
        source: Box<SourceError>,
    },
    /// Jushuitan refuses the tokens and ferry cannot get new ones: a person must authorize the
    /// app again (see [`super::TokenProblem`]).
    #[error("{call}: {}", problem.describe())]
    Reauthorize {
        call: Call,
        problem: super::TokenProblem,
    },
    /// The token store refused to save new tokens.
    #[error("Jushuitan token store: {0}")]
    Store(String),
}

impl SourceError {
    /// True when retrying the same call later cannot help: a person must fix configuration,
    /// credentials or permissions first.
    pub fn is_permanent(&self) -> bool {
        match self {
            SourceError::Settings(_) => true,
            SourceError::Transport { .. } => false,
            SourceError::Http { status, .. } => !matches!(status, 408 | 425 | 429 | 500..=599),
            SourceError::Malformed { .. } => false,
            SourceError::Redirect { .. } => true,
            SourceError::TooLarge { .. } => false,
            SourceError::RateLimited { .. } => false,
            SourceError::Api { code, .. } => !is_transient_code(*code),
            SourceError::Token { source, .. } => source.is_permanent(),
            SourceError::Reauthorize { .. } => true,
            SourceError::Store(_) => false,
        }
    }
}

/// Codes worth retrying later: token expiry, bad timestamp, rate limits, internal errors.
pub(crate) fn is_transient_code(code: i64) -> bool {
    matches!(code, 100 | 150 | 180 | 199 | 200)
}

/// A hint appended to the message of well-known permanent codes.
pub(crate) fn hint(code: i64) -> &'static str {
    match code {
        10 | 120 => " (invalid signature: check app_key and app_secret)",
        100 => " (access token invalid or expired)",
        110 => " (this machine's IP is not on the app's whitelist in the Jushuitan open platform)",
        130 => " (a required parameter is missing)",
        140 => " (parameters refused: check the scheme's params, window and page size)",
        180 => " (timestamp refused: check this machine's clock)",
        190 => " (the app has no permission for this API, or the API name is wrong)",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        let api = |code| SourceError::Api {
            call: Call::new("other.inout.query", 2),
            code,
            msg: "x".into(),
            hint: hint(code),
        };
        for c in [10, 120, 110, 130, 140, 190, 170] {
            assert!(api(c).is_permanent(), "{c}");
        }
        for c in [100, 180, 199, 200, 150] {
            assert!(!api(c).is_permanent(), "{c}");
        }
        let m = api(110).to_string();
        assert!(
            m.contains("other.inout.query page 2") && m.contains("IP"),
            "{m}"
        );
    }
}
