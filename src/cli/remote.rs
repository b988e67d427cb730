//! While a `ferry run` holds the store, `status`, `dlq` and `trace` on the same machine ask it
//! through its admin API (the address it wrote into `data_dir/status.json`) instead of failing
//! on the lock. The token is `[admin] token` of the same config (its `${VAR}` set here too).

use std::time::Duration;

use serde_json::Value;

use super::open::{Holder, OpenError};
use super::CliError;
use crate::config::Config;

/// The running ferry's admin API.
pub struct Remote {
    url: String,
    token: Option<String>,
}

impl Remote {
    /// The API of the `ferry run` that holds the store, or the lock error when there is none
    /// to ask (not a `run`, no admin server, or an old snapshot).
    pub fn of(
        config: &Config,
        command: &'static str,
        holder: Option<Holder>,
    ) -> Result<Remote, CliError> {
        let url = match &holder {
            Some(h) if h.command == "run" => crate::pipeline::snapshot::read(&config.data_dir)
                .filter(|s| s.pid == h.pid)
                .and_then(|s| s.admin_url),
            _ => None,
        };
        match url {
            Some(url) => Ok(Remote {
                url,
                token: config.admin.token.as_ref().map(|t| t.expose().to_string()),
            }),
            None => Err(OpenError::held(config, command, holder).into()),
        }
    }

    pub fn get(&self, path: &str) -> Result<Value, CliError> {
        self.call(reqwest::Method::GET, path, None)
    }

    pub fn post(&self, path: &str, body: Value) -> Result<Value, CliError> {
        self.call(reqwest::Method::POST, path, Some(body))
    }

    fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, CliError> {
        let url = format!("{}{path}", self.url);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let answer = rt.block_on(async {
            let client = crate::http::client_builder()
                .timeout(Duration::from_secs(30))
                .build()
                .map_err(|e| e.to_string())?;
            let mut req = client.request(method, &url);
            if let Some(t) = &self.token {
                req = req.bearer_auth(t);
            }
            if let Some(b) = body {
                req = req
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(b.to_string());
            }
            let resp = req.send().await.map_err(|e| e.to_string())?;
            let status = resp.status().as_u16();
            let body = crate::http::read_body(resp, 32)
                .await
                .map_err(|e| e.to_string())?;
            Ok::<_, String>((status, body.bytes.to_vec()))
        });
        let (status, bytes) = answer.map_err(|e| {
            CliError::Usage(format!(
                "ferry is running but its admin API at {} did not answer: {e}",
                self.url
            ))
        })?;
        let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        match status {
            200..=299 => Ok(value),
            401 => Err(CliError::Usage(format!(
                "the running ferry's admin API at {} wants its token: set the variable that [admin] token names",
                self.url
            ))),
            _ => Err(CliError::Remote {
                status,
                message: value["error"]
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| crate::http::printable(&String::from_utf8_lossy(&bytes), 300)),
            }),
        }
    }
}
