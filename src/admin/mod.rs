//! The admin server inside `ferry run`: the console at `/`, a JSON API under `/api`, `/healthz`
//! and `/metrics` (Prometheus text), on `[admin] listen` (loopback by default).
//!
//! With `[admin] token` set, every route but `/healthz` needs `Authorization: Bearer TOKEN` (or
//! HTTP Basic with the token as password, so a browser's own login prompt works). POSTs must be
//! `application/json` (a cross-site form cannot send that). Bodies are capped at 64 KB.

pub mod assets;
mod auth;
pub mod replay;
pub mod routes;
pub mod views;

use std::net::SocketAddr;
use std::sync::Arc;

use actix::Addr;
use actix_web::dev::ServerHandle;
use actix_web::{web, App, HttpServer};

use crate::pipeline::fetcher::Fetcher;
use crate::pipeline::scheduler::Scheduler;
use crate::pipeline::writer::Writer;
use crate::pipeline::Shared;

/// Largest request body.
pub const MAX_BODY: usize = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("cannot listen on {addr} for the admin console: {source} (is another ferry running? set [admin] listen to another port, or \"off\")")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// What the routes need of the running pipeline.
pub struct AdminState {
    pub shared: Arc<Shared>,
    pub writer: Addr<Writer>,
    pub fetchers: Vec<(usize, Addr<Fetcher>)>,
    pub mapper_alive: Box<dyn Fn() -> bool + Send + Sync>,
    /// Set once the scheduler runs (not with `run --once`).
    pub scheduler: parking_lot::Mutex<Option<Addr<Scheduler>>>,
    pub started_at: i64,
    pub url: String,
}

/// A running admin server.
pub struct AdminServer {
    handle: ServerHandle,
    /// `http://ADDR:PORT`
    pub url: String,
    pub state: Arc<AdminState>,
}

impl AdminServer {
    /// Stops listening; requests in hand are dropped.
    pub async fn stop(self) {
        self.handle.stop(false).await;
    }
}

/// Binds `listen` and serves on one worker thread. Must be called inside an actix System.
pub fn start(
    listen: SocketAddr,
    make_state: impl FnOnce(String) -> AdminState,
) -> Result<AdminServer, AdminError> {
    let listener = std::net::TcpListener::bind(listen).map_err(|source| AdminError::Bind {
        addr: listen,
        source,
    })?;
    let bound = listener.local_addr().unwrap_or(listen);
    let url = format!("http://{bound}");
    let state = Arc::new(make_state(url.clone()));
    let data = web::Data::from(state.clone());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(web::PayloadConfig::new(MAX_BODY))
            .configure(routes::configure)
    })
    .workers(1)
    .disable_signals()
    .shutdown_timeout(1)
    .listen(listener)
    .map_err(|source| AdminError::Bind {
        addr: listen,
        source,
    })?
    .run();
    let handle = server.handle();
    actix::spawn(async move {
        if let Err(e) = server.await {
            tracing::error!(error = %e, "admin server stopped");
        }
    });
    tracing::info!(url = %url, "admin console and API listening");
    Ok(AdminServer { handle, url, state })
}
