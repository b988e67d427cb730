//! Client of the Jushuitan (聚水潭) open platform, API version 2 (`openapi.jushuitan.com`).
//!
//! [`Client::query_page`] reads one page of a paged query API (`other.inout.query`,
//! `shops.query`, ...): it signs the request (`sign`), keeps the access token fresh (`tokens`,
//! persisted through a [`TokenStore`]), paces calls under the 5/s and 100/min limits (`limiter`)
//! that every scheme shares, scheme by scheme in turn (`turns`, [`Client::for_scheme`]),
//! retries what can be retried (network errors, 5xx, codes 100, 180, 199, 200) a bounded number
//! of times, and parses answers tolerantly (`parse`). Protocol facts: `protocols/jushuitan.md`.

mod client;
mod error;
mod limiter;
mod parse;
mod sign;
mod tokens;
mod turns;

use std::time::Duration;

use crate::secret::Secret;

pub use client::{api_path, Client};
pub use error::{Call, SourceError};
pub use limiter::Limiter;
pub use parse::{as_bool, as_i64, kind as json_kind};
pub use sign::{form_encode, sign};
pub use tokens::{fingerprint, MemoryTokens, TokenProblem, TokenStore, Tokens};
pub use turns::Share as BudgetShare;

/// Connection settings of the client.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    /// `https://openapi.jushuitan.com` (or a simulator); paths are appended to it.
    pub base_url: String,
    pub app_key: String,
    pub app_secret: Secret,
    /// Calls per second (Jushuitan: 5); 0 = unlimited.
    pub per_second: u32,
    /// Calls per minute (Jushuitan: 100); 0 = unlimited.
    pub per_minute: u32,
    /// Timeout of one HTTP request.
    pub timeout: Duration,
    /// A token obtained elsewhere (service-provider apps). Without one, and without stored
    /// tokens, the client calls getInitToken (self-built apps).
    pub access_token: Option<Secret>,
    pub refresh_token: Option<Secret>,
    /// Tries per call for network errors, HTTP 5xx and malformed answers.
    pub max_tries: u32,
    /// Tries per call while Jushuitan answers 199/200 (rate limited).
    pub rate_limit_tries: u32,
    /// First pause after a network error (doubles per try).
    pub retry_backoff: Duration,
    /// First pause after a rate-limit answer (199: grows linearly, 200: doubles).
    pub rate_backoff: Duration,
    /// Largest answer read, in MB; a larger one is an error.
    pub max_response_mb: u32,
    /// Where request latency, errors and rate-limit waits are counted.
    pub telemetry: Option<crate::telemetry::Telemetry>,
}

impl Default for ClientSettings {
    fn default() -> Self {
        ClientSettings {
            base_url: "https://openapi.jushuitan.com".into(),
            app_key: String::new(),
            app_secret: Secret::default(),
            per_second: 5,
            per_minute: 100,
            timeout: Duration::from_secs(30),
            access_token: None,
            refresh_token: None,
            max_tries: 3,
            rate_limit_tries: 8,
            retry_backoff: Duration::from_millis(300),
            rate_backoff: Duration::from_secs(1),
            max_response_mb: crate::http::DEFAULT_MAX_RESPONSE_MB,
            telemetry: None,
        }
    }
}

/// One page of a paged query.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// The page index asked for (1-based).
    pub index: u32,
    /// Whether a further page exists.
    pub has_next: bool,
    /// Total number of matching records, when the API tells (`shops.query` does not).
    pub data_count: Option<u64>,
    /// The records, as Jushuitan sent them.
    pub items: Vec<serde_json::Value>,
}
