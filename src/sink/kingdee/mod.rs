//! Sink: the Kingdee K/3 Cloud WebAPI client.
//!
//! - `sign`: SDK-compatible request signatures (pure).
//! - `classify`: what a Kingdee reply means for delivery (pure, unit-tested on real replies).
//! - `client`: transport (auth modes, sessions, re-login on MsgCode 1).
//! - `ops`: BatchSave, Save, View, ExecuteBillQuery, BillQuery, `find`.
//! - `query`: building ExecuteBillQuery filters for `find`.

pub mod classify;
mod client;
mod ops;
pub mod query;
pub mod sign;
pub mod tls;

use std::path::PathBuf;
use std::time::Duration;

use crate::secret::Secret;

pub use client::Client;
pub use sign::{login_by_sign_signature, signed_headers};

/// How ferry authenticates to Kingdee (mirror of `config::KingdeeAuth`).
#[derive(Debug, Clone)]
pub enum Auth {
    /// Stateless signed headers (SDK 8.2.0, "第三方系统登录授权").
    Signed { app_id: String, app_secret: Secret },
    /// `AuthService.ValidateUser` session login.
    Password { password: Secret },
    /// `AuthService.LoginByAppSecret` session login.
    AppSecret { app_id: String, app_secret: Secret },
    /// `AuthService.LoginBySign` session login (SHA-256 signature).
    Sign { app_id: String, app_secret: Secret },
}

/// Connection settings of the Kingdee client.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    /// e.g. `http://host/k3cloud/` (a missing trailing `/` is added).
    pub base_url: String,
    /// Data-center (account set) id.
    pub acct_id: String,
    pub user: String,
    pub lcid: u32,
    pub org_num: String,
    pub auth: Auth,
    pub connect_timeout: Duration,
    pub timeout: Duration,
    /// Extra trusted root certificate (PEM).
    pub ca_file: Option<PathBuf>,
    /// Turn TLS verification off (opt-in, for self-signed test servers only).
    pub accept_invalid_certs: bool,
    /// Largest answer read, in MB; a larger one is an error.
    pub max_response_mb: u32,
}

/// The outcome of one model of a BatchSave, matched by `DIndex`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemResult {
    /// Saved: Kingdee id (FID) and number (FBillNo/FNumber).
    Saved { id: String, number: String },
    /// Kingdee says the identity already exists: look it up and mark it delivered.
    AlreadyExists { message: String },
    /// Rejected (validation, missing base data): needs a person.
    Permanent { message: String },
    /// Not saved for a passing reason: retry later.
    Transient { message: String },
}

/// A failure of a whole call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SinkError {
    /// Certainly not applied; retry later.
    #[error("{0}")]
    Transient(String),
    /// May or may not have been applied (reply lost): look up before re-sending.
    #[error("{0}")]
    Uncertain(String),
    /// Will not work until a person fixes something (credentials, account id, ...).
    #[error("{0}")]
    Permanent(String),
}

impl SinkError {
    pub fn message(&self) -> &str {
        match self {
            SinkError::Transient(m) | SinkError::Uncertain(m) | SinkError::Permanent(m) => m,
        }
    }
}
