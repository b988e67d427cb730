//! A faithful local simulator of 金蝶云星空 (Kingdee K/3 Cloud) WebAPI.
//!
//! - `envelope`: routing and the three request body envelopes.
//! - `auth`: sessions, signed-header checks, login services.
//! - `forms`: the forms the simulator knows, one data table per form.
//! - `db`: seeded base data + saved documents (in memory, appended to a log under `state_dir`).
//! - `validate` / `save`: Save and BatchSave with per-DIndex results.
//! - `filter` / `order` / `query`: ExecuteBillQuery, BillQuery, View.
//! - `faults`: deterministic fault profiles.
//! - `server`: the HTTP handler.
//!
//! It runs in its own thread with its own actix System; [`start`] returns once it is bound.

mod auth;
mod db;
mod envelope;
mod faults;
mod filter;
mod forms;
mod order;
mod query;
mod save;
mod server;
mod validate;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::thread::JoinHandle;
use std::time::Duration;

use actix_web::{web, App, HttpServer};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use parking_lot::Mutex;

use crate::sink::kingdee::sign::decode_app_secret;

/// Why the simulator did not start.
#[derive(Debug, thiserror::Error)]
pub enum KdSimError {
    #[error("{0}")]
    Faults(String),
    #[error("simulator state: {0}")]
    State(String),
    #[error("cannot start the simulator: {0}")]
    Start(String),
}

/// What to start.
#[derive(Debug, Clone)]
pub struct KdSimOptions {
    pub addr: SocketAddr,
    /// Saved documents and sessions are kept here; a restarted simulator sees them.
    pub state_dir: Option<PathBuf>,
    pub seed: u64,
    /// Fault profile: none, latency, timeouts, http5xx, response-error, session-loss,
    /// lost-reply, rate-storm, chaos.
    pub faults: String,
    pub acct_id: String,
    pub user: String,
    pub password: String,
    /// `"<clientId>_<32-char obfuscated client secret>"` like real app ids.
    pub app_id: String,
    pub app_secret: String,
    pub lcid: u32,
    /// Refuse a second save of an existing FBillNo/FNumber (as Kingdee does). Off: store it
    /// again, so tests can prove the client itself never posts twice.
    pub reject_duplicates: bool,
    /// Added to every Save/BatchSave.
    pub save_latency: Duration,
    /// How long `timeouts` and `lost-reply` faults hold a request before answering 503 /
    /// dropping the connection. Set it above the client's timeout to make the client time out.
    pub stall: Duration,
}

/// The default app id: client id `300001`, client secret base64("ferry-simulator-client!!").
pub fn default_app_id() -> String {
    let client_sec = STANDARD.encode(b"ferry-simulator-client!!");
    format!("300001_{}", decode_app_secret(&client_sec))
}

impl Default for KdSimOptions {
    fn default() -> Self {
        KdSimOptions {
            addr: ([127, 0, 0, 1], 0).into(),
            state_dir: None,
            seed: 1,
            faults: "none".into(),
            acct_id: "ferry-sim-acct".into(),
            user: "administrator".into(),
            password: "ferry-sim-pass".into(),
            app_id: default_app_id(),
            app_secret: "5f3e2d1c0b4a69788796a5b4c3d2e1f0".into(),
            lcid: 2052,
            reject_duplicates: true,
            save_latency: Duration::ZERO,
            stall: faults::STALL,
        }
    }
}

/// A running simulator; dropping it stops it.
pub struct KdSimHandle {
    base_url: String,
    state: web::Data<server::State>,
    server: actix_web::dev::ServerHandle,
    thread: Option<JoinHandle<()>>,
}

impl KdSimHandle {
    /// `http://127.0.0.1:PORT/k3cloud/`.
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }
    pub fn acct_id(&self) -> &str {
        &self.state.creds.acct_id
    }
    pub fn user(&self) -> &str {
        &self.state.creds.user
    }
    pub fn password(&self) -> &str {
        &self.state.creds.password
    }
    pub fn app_id(&self) -> &str {
        &self.state.creds.app_id
    }
    pub fn app_secret(&self) -> &str {
        &self.state.creds.app_secret
    }
    pub fn lcid(&self) -> u32 {
        self.state.creds.lcid
    }
    /// Documents saved (not seeded) in a form.
    pub fn count(&self, form_id: &str) -> usize {
        self.state.db.lock().count(form_id)
    }
    /// Saved models of a form, each with its identity field (FBillNo/FNumber), primary key and
    /// FDocumentStatus at top level.
    pub fn saved(&self, form_id: &str) -> Vec<serde_json::Value> {
        self.state.db.lock().saved(form_id)
    }
    /// Expires every session (login clients then get MsgCode 1).
    pub fn expire_sessions(&self) {
        self.state.sessions.lock().drop_all();
    }
    pub fn stop(mut self) {
        self.shutdown();
    }
    fn shutdown(&mut self) {
        if let Some(t) = self.thread.take() {
            // `stop` sends the command at once; the returned future only awaits completion.
            drop(self.server.stop(false));
            let _ = t.join();
        }
    }
}

impl Drop for KdSimHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}

type Started = Result<(SocketAddr, actix_web::dev::ServerHandle), String>;

/// Starts a simulator in its own thread; returns once it listens.
pub fn start(opts: KdSimOptions) -> Result<KdSimHandle, KdSimError> {
    let profile = faults::parse(&opts.faults).map_err(KdSimError::Faults)?;
    let db = db::Db::open(opts.state_dir.as_deref()).map_err(KdSimError::State)?;
    let state = web::Data::new(server::State {
        creds: auth::Creds {
            acct_id: opts.acct_id.clone(),
            user: opts.user.clone(),
            password: opts.password.clone(),
            app_id: opts.app_id.clone(),
            app_secret: opts.app_secret.clone(),
            lcid: opts.lcid,
        },
        db: Mutex::new(db),
        sessions: Mutex::new(auth::Sessions::open(opts.state_dir.as_deref())),
        profile,
        seed: opts.seed,
        calls: AtomicU64::new(0),
        reject_duplicates: opts.reject_duplicates,
        save_latency: opts.save_latency,
        stall: opts.stall,
    });
    let (tx, rx) = std::sync::mpsc::channel::<Started>();
    let app_state = state.clone();
    let addr = opts.addr;
    let thread = std::thread::Builder::new()
        .name("kingdee-sim".into())
        .spawn(move || {
            let sys = actix_rt::System::new();
            let bound = HttpServer::new(move || {
                App::new()
                    .app_data(app_state.clone())
                    .app_data(web::PayloadConfig::new(256 << 20))
                    .default_service(web::to(server::handle))
            })
            .workers(2)
            .disable_signals()
            .shutdown_timeout(1)
            .bind(addr);
            let s = match bound {
                Ok(s) => s,
                Err(e) => {
                    let _ = tx.send(Err(format!("cannot bind {addr}: {e}")));
                    return;
                }
            };
            let Some(local) = s.addrs().first().copied() else {
                let _ = tx.send(Err("no address bound".into()));
                return;
            };
            sys.block_on(async move {
                let server = s.run();
                let _ = tx.send(Ok((local, server.handle())));
                if let Err(e) = server.await {
                    tracing::warn!(error = %e, "Kingdee simulator stopped with an error");
                }
            });
        })
        .map_err(|e| KdSimError::Start(e.to_string()))?;
    let (local, server) = match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(Ok(x)) => x,
        Ok(Err(m)) => {
            let _ = thread.join();
            return Err(KdSimError::Start(m));
        }
        Err(e) => {
            return Err(KdSimError::Start(format!(
                "simulator thread did not report: {e}"
            )))
        }
    };
    tracing::info!(addr = %local, faults = %opts.faults, "Kingdee simulator listening");
    Ok(KdSimHandle {
        base_url: format!("http://{local}/k3cloud/"),
        state,
        server,
        thread: Some(thread),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::kingdee::sign::split_app_id;

    #[test]
    fn default_app_id_has_a_client_secret() {
        let (id, sec) = split_app_id(&default_app_id());
        assert_eq!(id, "300001");
        assert_eq!(sec, STANDARD.encode(b"ferry-simulator-client!!"));
    }
}
