//! `[admin]`: where `ferry run` serves its console, JSON API, health check and metrics.
//!
//! ```toml
//! [admin]
//! listen = "127.0.0.1:8765"          # default; "off" turns the admin server off
//! token = "${FERRY_ADMIN_TOKEN}"     # required when listening beyond this machine
//! ```

use std::net::SocketAddr;

use super::reader::{Ctx, Secrets, Table};
use crate::secret::Secret;

/// The default address: this machine only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8765";

#[derive(Debug, Clone)]
pub struct AdminConfig {
    /// `None`: no admin server (`listen = "off"`).
    pub listen: Option<SocketAddr>,
    /// Every route but `/healthz` needs it when set.
    pub token: Option<Secret>,
}

impl Default for AdminConfig {
    fn default() -> Self {
        AdminConfig {
            listen: DEFAULT_LISTEN.parse().ok(),
            token: None,
        }
    }
}

pub(super) fn admin(ctx: &mut Ctx, root: &mut Table) -> Option<AdminConfig> {
    let Some(mut t) = root.table(ctx, "admin") else {
        return Some(AdminConfig::default());
    };
    let mut cfg = AdminConfig::default();
    let span = t
        .get("listen")
        .map(|e| e.value.span.clone())
        .unwrap_or_default();
    if let Some(l) = t.string(ctx, "listen") {
        let l = l.trim();
        if l.eq_ignore_ascii_case("off") {
            cfg.listen = None;
        } else {
            match l.parse::<SocketAddr>() {
                Ok(a) => cfg.listen = Some(a),
                Err(_) => ctx.err(
                    &span,
                    "admin.listen",
                    format!(
                        "`{l}` is not an address and port (write e.g. \"{DEFAULT_LISTEN}\", \"0.0.0.0:8765\", or \"off\")"
                    ),
                ),
            }
        }
    }
    let written = t.get("token").is_some();
    cfg.token = t.secret(ctx, "token").filter(|s| !s.expose().is_empty());
    if let Some(a) = cfg.listen {
        // An empty token is refused by `check` (secrets required); commands that need no
        // secrets must not invent this error when the variable is only unset here.
        let missing = cfg.token.is_none() && !(written && ctx.secrets == Secrets::NotNeeded);
        if !a.ip().is_loopback() && missing {
            ctx.err(
                &span,
                "admin.listen",
                format!(
                    "listening on {a} lets every machine that can reach it see documents and replay or drop dead letters; \
                     set token = \"${{FERRY_ADMIN_TOKEN}}\" in [admin] (and that variable), or listen on 127.0.0.1"
                ),
            );
        }
    }
    t.finish(ctx);
    Some(cfg)
}
