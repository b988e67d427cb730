//! Glue between the compiled config, the store and the protocol clients: client settings, and
//! Jushuitan tokens persisted in the store so a restart does not re-initialise them.

use crate::config::{Config, KingdeeAuth};
use crate::sink::kingdee;
use crate::source::jushuitan::{self, TokenProblem, TokenStore, Tokens};
use crate::store::Store;
use crate::telemetry::{Event, System, Telemetry};

const TOKENS_KEY: &str = "jushuitan.tokens";
const PROBLEM_KEY: &str = "jushuitan.token_problem";

/// Jushuitan tokens kept in the store's meta tree (JSON bytes).
pub struct StoreTokens {
    store: Store,
    /// A newly recorded problem is told as `TokenExpiring` (alerts, the console).
    telemetry: Telemetry,
}

impl StoreTokens {
    pub fn new(store: Store, telemetry: Telemetry) -> Self {
        StoreTokens { store, telemetry }
    }
}

impl TokenStore for StoreTokens {
    fn load(&self) -> Option<Tokens> {
        let bytes = self.store.meta_get(TOKENS_KEY).ok()??;
        serde_json::from_slice(&bytes).ok()
    }

    fn save(&self, t: &Tokens) -> Result<(), String> {
        let bytes = serde_json::to_vec(t).map_err(|e| e.to_string())?;
        self.store
            .meta_put(TOKENS_KEY, &bytes)
            .map_err(|e| e.to_string())
    }

    fn load_problem(&self) -> Option<TokenProblem> {
        token_problem(&self.store)
    }

    fn save_problem(&self, p: Option<&TokenProblem>) -> Result<(), String> {
        let r = match p {
            Some(p) => {
                if token_problem(&self.store).as_ref() != Some(p) {
                    self.telemetry.emit(Event::TokenExpiring {
                        system: System::Jushuitan,
                        detail: p.describe(),
                        expires_at: None,
                    });
                }
                let bytes = serde_json::to_vec(p).map_err(|e| e.to_string())?;
                self.store.meta_put(PROBLEM_KEY, &bytes)
            }
            None => self.store.meta_remove(PROBLEM_KEY),
        };
        r.map_err(|e| e.to_string())
    }
}

/// The Jushuitan token problem recorded in a store, if any (for `ferry status`).
pub fn token_problem(store: &Store) -> Option<TokenProblem> {
    let bytes = store.meta_get(PROBLEM_KEY).ok()??;
    serde_json::from_slice(&bytes).ok()
}

pub fn jushuitan_settings(config: &Config) -> jushuitan::ClientSettings {
    let j = &config.jushuitan;
    jushuitan::ClientSettings {
        base_url: j.base_url.clone(),
        app_key: j.app_key.clone(),
        app_secret: j.app_secret.clone(),
        per_second: j.per_second,
        per_minute: j.per_minute,
        timeout: j.timeout,
        access_token: j.access_token.clone(),
        refresh_token: j.refresh_token.clone(),
        max_response_mb: j.max_response_mb,
        ..Default::default()
    }
}

pub fn kingdee_settings(config: &Config) -> kingdee::ClientSettings {
    let k = &config.kingdee;
    let auth = match &k.auth {
        KingdeeAuth::Signed { app_id, app_secret } => kingdee::Auth::Signed {
            app_id: app_id.clone(),
            app_secret: app_secret.clone(),
        },
        KingdeeAuth::Password { password } => kingdee::Auth::Password {
            password: password.clone(),
        },
        KingdeeAuth::AppSecret { app_id, app_secret } => kingdee::Auth::AppSecret {
            app_id: app_id.clone(),
            app_secret: app_secret.clone(),
        },
        KingdeeAuth::Sign { app_id, app_secret } => kingdee::Auth::Sign {
            app_id: app_id.clone(),
            app_secret: app_secret.clone(),
        },
    };
    kingdee::ClientSettings {
        base_url: k.base_url.clone(),
        acct_id: k.acct_id.clone(),
        user: k.user.clone(),
        lcid: k.lcid,
        org_num: k.org_num.clone(),
        auth,
        connect_timeout: k.connect_timeout,
        timeout: k.timeout,
        ca_file: k.tls.ca_file.clone(),
        accept_invalid_certs: k.tls.accept_invalid_certs,
        max_response_mb: k.max_response_mb,
    }
}
