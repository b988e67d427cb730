//! Obtaining, rotating and saving the tokens: getInitToken for a self-built app, refreshToken
//! for an authorized one, each new pair saved durably before anything uses it, and a refusal
//! that only a person can fix recorded as a [`TokenProblem`].

use super::*;

impl Client {
    /// A valid access token, obtaining or refreshing one first when needed. New tokens are
    /// saved durably before anything uses them.
    pub(super) async fn access_token(&self, call: &Call) -> Result<String, SourceError> {
        if let Some(t) = self.usable_token() {
            return Ok(t);
        }
        let _guard = self.inner.refresh_lock.lock().await;
        if self.inner.tokens.lock().unsaved {
            self.persist().map_err(SourceError::Store)?;
        }
        if let Some(t) = self.usable_token() {
            return Ok(t);
        }
        let current = self.inner.tokens.lock().tokens.clone();
        let mut fresh = self
            .obtain(call, current.as_ref())
            .await
            .map_err(|e| match e {
                e @ SourceError::Reauthorize { .. } => e,
                e => SourceError::Token {
                    call: call.clone(),
                    source: Box::new(e),
                },
            })?;
        fresh.origin = current.map(|c| c.origin).unwrap_or_default();
        crate::process::pause_point("jushuitan-token-received");
        let token = fresh.access_token.clone();
        {
            let mut st = self.inner.tokens.lock();
            st.tokens = Some(fresh);
            st.stale = false;
            st.unsaved = true;
        }
        self.persist().map_err(SourceError::Store)?;
        crate::process::pause_point("jushuitan-token-saved");
        if self.inner.store.load_problem().is_some() {
            if let Err(e) = self.inner.store.save_problem(None) {
                tracing::warn!("could not clear the Jushuitan token problem: {e}");
            }
        }
        Ok(token)
    }

    fn usable_token(&self) -> Option<String> {
        let st = self.inner.tokens.lock();
        match &st.tokens {
            Some(t) if !st.stale && !st.unsaved && !t.needs_refresh(now_unix()) => {
                Some(t.access_token.clone())
            }
            _ => None,
        }
    }

    /// A self-built app (no tokens in config.toml) obtains its tokens with getInitToken and can
    /// always do so again; an app authorized by a merchant cannot.
    fn self_built(&self) -> bool {
        self.inner.settings.access_token.is_none() && self.inner.settings.refresh_token.is_none()
    }

    /// Refreshes with the refresh token when there is one. When Jushuitan refuses it, a
    /// self-built app initialises again (getInitToken); any other app needs a person, which is
    /// recorded for `ferry status`.
    async fn obtain(&self, call: &Call, current: Option<&Tokens>) -> Result<Tokens, SourceError> {
        let refusal = match current
            .map(|t| t.refresh_token.clone())
            .filter(|r| !r.is_empty())
        {
            Some(rt) => match self.token_call(REFRESH_TOKEN, Some(rt)).await {
                Ok(t) => return Ok(t),
                Err(SourceError::Api { code, msg, .. }) => (
                    "refresh_token",
                    format!("refreshToken answered code {code}: {msg}"),
                ),
                Err(e) => return Err(e),
            },
            None => (
                "access_token",
                "the access token is refused or expired, and no refresh token is configured".into(),
            ),
        };
        if self.self_built() {
            if current.is_none() {
                tracing::info!("no Jushuitan token yet; requesting one with getInitToken");
            } else {
                tracing::warn!(
                    "Jushuitan refused ferry's token ({}); requesting a new one with getInitToken",
                    refusal.1
                );
            }
            return self.token_call(GET_INIT_TOKEN, None).await;
        }
        let problem = match self.inner.store.load_problem() {
            Some(p) => p,
            None => TokenProblem {
                token: refusal.0.to_string(),
                since: now_unix(),
                answer: refusal.1,
                origin: current.map(|c| c.origin.clone()).unwrap_or_default(),
            },
        };
        if let Err(e) = self.inner.store.save_problem(Some(&problem)) {
            tracing::warn!("could not record the Jushuitan token problem: {e}");
        }
        tracing::error!("{}", problem.describe());
        Err(SourceError::Reauthorize {
            call: call.clone(),
            problem,
        })
    }

    /// getInitToken (no refresh token) or refreshToken.
    async fn token_call(&self, path: &str, refresh: Option<String>) -> Result<Tokens, SourceError> {
        let name = if refresh.is_some() {
            "refreshToken"
        } else {
            "getInitToken"
        };
        let call = Call::new(name, 0);
        let key = self.inner.settings.app_key.clone();
        let code: String = (0..6).map(|_| fastrand::alphanumeric()).collect();
        let env = self
            .exchange(&call, path, |ts| {
                let mut p = vec![
                    ("app_key", key.clone()),
                    ("timestamp", ts.to_string()),
                    ("charset", "utf-8".into()),
                ];
                match &refresh {
                    Some(rt) => {
                        p.push(("grant_type", "refresh_token".into()));
                        p.push(("refresh_token", rt.clone()));
                        p.push(("scope", "all".into()));
                    }
                    None => {
                        p.push(("grant_type", "authorization_code".into()));
                        p.push(("code", code.clone()));
                    }
                }
                p
            })
            .await?;
        if env.code != 0 {
            return Err(api_error(&call, env.code, env.msg));
        }
        let t = parse::tokens(&env.data, now_unix())
            .map_err(|message| SourceError::Malformed { call, message })?;
        tracing::info!(
            api = name,
            expires_at = t.expires_at,
            "obtained a Jushuitan access token"
        );
        Ok(t)
    }

    /// Saves the tokens with the call log of the last minute (durably: the store flushes).
    pub(super) fn persist(&self) -> Result<(), String> {
        let mut st = self.inner.tokens.lock();
        let Some(t) = &st.tokens else { return Ok(()) };
        let mut t = t.clone();
        t.recent_calls = if self.inner.persist_calls {
            self.inner.budget.lock().limiter.recent()
        } else {
            Vec::new()
        };
        match self.inner.store.save(&t) {
            Ok(()) => {
                st.unsaved = false;
                Ok(())
            }
            Err(e) => {
                tracing::warn!("could not save the Jushuitan tokens: {e}");
                Err(format!("could not save the new Jushuitan tokens: {e}"))
            }
        }
    }
}
