//! The connection and runtime sections: `[log]`, `[simulator]`, `[jushuitan]`, `[kingdee]`,
//! `[pipeline]`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::reader::{Ctx, Secrets, Table};
use super::tree::Kind;
use super::{
    JushuitanConfig, KingdeeAuth, KingdeeConfig, LogConfig, PipelineConfig, SimulatorConfig,
    TlsConfig, FAULT_PROFILES,
};
use crate::secret::Secret;

/// Built-in page-size caps (Jushuitan rejects larger pages).
pub const DEFAULT_CAPS: &[(&str, u32)] = &[
    ("other.inout.query", 50),
    ("shops.query", 100),
    ("orders.out.simple.query", 50),
    ("aftersale.received.query", 50),
    ("purchasein.query", 50),
    ("purchaseout.query", 50),
    ("allocate.query", 50),
    ("sku.query", 50),
];

const LOG_LEVELS: &[&str] = &["error", "warn", "info", "debug", "trace"];

/// Daily log files kept by default (`[log] keep_days`).
pub const DEFAULT_KEEP_DAYS: u32 = 30;

/// An optional section: absent → an empty table at no position.
fn section<'n>(ctx: &mut Ctx, root: &mut Table<'n>, key: &'static str) -> Option<Table<'n>> {
    root.table(ctx, key)
}

pub(super) fn log(
    ctx: &mut Ctx,
    root: &mut Table,
    resolve: &dyn Fn(&str) -> PathBuf,
) -> Option<LogConfig> {
    let mut dir = "logs".to_string();
    let mut level = "info".to_string();
    let mut keep_days = DEFAULT_KEEP_DAYS;
    if let Some(mut t) = section(ctx, root, "log") {
        keep_days = t
            .int(ctx, "keep_days", 1, 3650)
            .map_or(keep_days, |v| v as u32);
        if let Some(d) = t.string(ctx, "dir") {
            dir = d;
        }
        if let Some(l) = t.string(ctx, "level") {
            let plain = l.trim().to_ascii_lowercase();
            if !LOG_LEVELS.contains(&plain.as_str()) && !plain.contains('=') {
                let span = t
                    .get("level")
                    .map(|e| e.value.span.clone())
                    .unwrap_or_default();
                ctx.err(
                    &span,
                    "log.level",
                    format!(
                        "`{l}` is not a log level (use one of: {})",
                        LOG_LEVELS.join(", ")
                    ),
                );
            }
            level = l;
        }
        t.finish(ctx);
    }
    Some(LogConfig {
        dir: resolve(&dir),
        level,
        keep_days,
    })
}

pub(super) fn simulator(ctx: &mut Ctx, root: &mut Table) -> Option<SimulatorConfig> {
    let mut c = SimulatorConfig {
        enabled: false,
        docs: 500,
        shops: 20,
        seed: 1,
        faults: "none".into(),
        live: 0.0,
    };
    let Some(mut t) = section(ctx, root, "simulator") else {
        return Some(c);
    };
    c.enabled = t.bool(ctx, "enabled").unwrap_or(false);
    c.docs = t
        .int(ctx, "docs", 0, 10_000_000)
        .map_or(c.docs, |v| v as u32);
    c.shops = t
        .int(ctx, "shops", 0, 100_000)
        .map_or(c.shops, |v| v as u32);
    c.seed = t.int(ctx, "seed", 0, i64::MAX).map_or(c.seed, |v| v as u64);
    c.live = t
        .number(ctx, "live", 0.0, crate::sim::jushuitan::MAX_LIVE_RATE)
        .unwrap_or(c.live);
    if let Some(f) = t.string(ctx, "faults") {
        if FAULT_PROFILES.contains(&f.as_str()) {
            c.faults = f;
        } else {
            let span = t
                .get("faults")
                .map(|e| e.value.span.clone())
                .unwrap_or_default();
            ctx.err(
                &span,
                "simulator.faults",
                format!(
                    "unknown fault profile `{f}` (known: {})",
                    FAULT_PROFILES.join(", ")
                ),
            );
        }
    }
    t.finish(ctx);
    Some(c)
}

/// A required string, or `""` when the simulator supplies it.
fn need(ctx: &mut Ctx, t: &mut Table, key: &'static str, sim: bool) -> Option<String> {
    if sim {
        Some(t.string(ctx, key).unwrap_or_default())
    } else {
        t.req_string(ctx, key)
    }
}

/// A required secret, or an empty one when the simulator supplies it or the command needs no
/// secrets ([`Secrets::NotNeeded`]).
fn need_secret(ctx: &mut Ctx, t: &mut Table, key: &'static str, sim: bool) -> Option<Secret> {
    if t.has(key) {
        t.secret(ctx, key)
    } else if sim || ctx.secrets == Secrets::NotNeeded {
        t.get(key);
        Some(Secret::default())
    } else {
        t.get(key);
        t.missing(ctx, key);
        None
    }
}

fn url(ctx: &mut Ctx, t: &mut Table, sim: bool) -> Option<String> {
    let u = need(ctx, t, "base_url", sim)?;
    if !(u.is_empty() || u.starts_with("http://") || u.starts_with("https://")) {
        let span = t
            .get("base_url")
            .map(|e| e.value.span.clone())
            .unwrap_or_default();
        ctx.err(
            &span,
            &t.field("base_url"),
            "must start with http:// or https://",
        );
        return None;
    }
    Some(u)
}

fn empty_table<'n>(path: &str) -> Table<'n> {
    Table {
        path: path.into(),
        span: 0..0,
        entries: &[],
        used: Vec::new(),
        known: Vec::new(),
    }
}

/// Page-size caps by API name: the built-in ones, then `[jushuitan.page_size_caps]`.
pub type PageCaps = BTreeMap<String, u32>;

fn default_caps() -> PageCaps {
    DEFAULT_CAPS
        .iter()
        .map(|(k, v)| (k.to_string(), *v))
        .collect()
}

/// `[jushuitan]`, and its page-size caps on their own: the schemes are checked against the caps
/// even when another Jushuitan setting is wrong.
pub(super) fn jushuitan(
    ctx: &mut Ctx,
    root: &mut Table,
    sim: bool,
) -> (Option<JushuitanConfig>, PageCaps) {
    let present = root.has("jushuitan");
    let mut t = match section(ctx, root, "jushuitan") {
        Some(t) => t,
        None if sim => empty_table("jushuitan"),
        None => {
            // Present but not a table: `section` said so already.
            if !present {
                root.missing(ctx, "jushuitan");
            }
            return (None, default_caps());
        }
    };
    let base_url = url(ctx, &mut t, sim);
    let app_key = need(ctx, &mut t, "app_key", sim);
    let app_secret = need_secret(ctx, &mut t, "app_secret", sim);
    let access_token = t.secret(ctx, "access_token");
    let refresh_token = t.secret(ctx, "refresh_token");
    let per_second = t
        .int(ctx, "per_second", 1, 1_000_000)
        .map_or(5, |v| v as u32);
    let per_minute = t
        .int(ctx, "per_minute", 1, 60_000_000)
        .map_or(100, |v| v as u32);
    let mut page_size_caps = default_caps();
    if let Some(mut caps) = t.table(ctx, "page_size_caps") {
        for e in caps.take_all() {
            match e.value.kind {
                Kind::Int(n) if (1..=10_000).contains(&n) => {
                    page_size_caps.insert(e.key.clone(), n as u32);
                }
                _ => ctx.err(
                    &e.value.span,
                    &caps.field(&e.key),
                    "a page size cap must be an integer in 1..=10000",
                ),
            }
        }
    }
    let timeout = t
        .positive_duration(
            ctx,
            "timeout",
            "every Jushuitan call would time out at once",
        )
        .unwrap_or(Duration::from_secs(30));
    let max_response_mb = max_response_mb(ctx, &mut t);
    t.finish(ctx);
    let caps = page_size_caps.clone();
    let (Some(base_url), Some(app_key), Some(app_secret)) = (base_url, app_key, app_secret) else {
        return (None, caps);
    };
    let config = JushuitanConfig {
        base_url,
        app_key,
        app_secret,
        access_token,
        refresh_token,
        per_second,
        per_minute,
        page_size_caps,
        timeout,
        max_response_mb,
    };
    (Some(config), caps)
}

const AUTH_KINDS: &[&str] = &["signed", "password", "appsecret", "sign"];

pub(super) fn kingdee(
    ctx: &mut Ctx,
    root: &mut Table,
    sim: bool,
    resolve: &dyn Fn(&str) -> PathBuf,
) -> Option<KingdeeConfig> {
    let present = root.has("kingdee");
    let mut t = match section(ctx, root, "kingdee") {
        Some(t) => t,
        None if sim => empty_table("kingdee"),
        None => {
            // Present but not a table: `section` said so already.
            if !present {
                root.missing(ctx, "kingdee");
            }
            return None;
        }
    };
    let base_url = url(ctx, &mut t, sim);
    let acct_id = need(ctx, &mut t, "acct_id", sim);
    let user = need(ctx, &mut t, "user", sim);
    let lcid = t.int(ctx, "lcid", 1, 65535).map_or(2052, |v| v as u32);
    let org_num = t.string(ctx, "org_num").unwrap_or_else(|| "0".into());
    let auth_kind = t.string(ctx, "auth").unwrap_or_else(|| "signed".into());
    let auth = match auth_kind.as_str() {
        "password" => need_secret(ctx, &mut t, "password", sim)
            .map(|password| KingdeeAuth::Password { password }),
        "signed" | "appsecret" | "sign" => {
            let app_id = need(ctx, &mut t, "app_id", sim);
            let app_secret = need_secret(ctx, &mut t, "app_secret", sim);
            match (app_id, app_secret) {
                (Some(app_id), Some(app_secret)) => Some(match auth_kind.as_str() {
                    "signed" => KingdeeAuth::Signed { app_id, app_secret },
                    "appsecret" => KingdeeAuth::AppSecret { app_id, app_secret },
                    _ => KingdeeAuth::Sign { app_id, app_secret },
                }),
                _ => None,
            }
        }
        other => {
            let span = t
                .get("auth")
                .map(|e| e.value.span.clone())
                .unwrap_or_default();
            ctx.err(
                &span,
                "kingdee.auth",
                format!(
                    "unknown auth `{other}` (use one of: {})",
                    AUTH_KINDS.join(", ")
                ),
            );
            None
        }
    };
    // The keys of the other auth kinds are known too (unused ones are simply ignored).
    for k in ["password", "app_id", "app_secret"] {
        t.get(k);
    }
    let connect_timeout = t
        .positive_duration(
            ctx,
            "connect_timeout",
            "no connection to Kingdee could be made",
        )
        .unwrap_or(Duration::from_secs(10));
    let timeout = t
        .positive_duration(ctx, "timeout", "every Kingdee call would time out at once")
        .unwrap_or(Duration::from_secs(120));
    let tls = tls(ctx, &mut t, resolve);
    let max_response_mb = max_response_mb(ctx, &mut t);
    t.finish(ctx);
    Some(KingdeeConfig {
        base_url: base_url?,
        acct_id: acct_id?,
        user: user?,
        lcid,
        org_num,
        auth: auth?,
        connect_timeout,
        timeout,
        tls: tls?,
        max_response_mb,
    })
}

/// `max_response_mb`: the largest answer read from the system, in MB.
fn max_response_mb(ctx: &mut Ctx, t: &mut Table) -> u32 {
    t.int(ctx, "max_response_mb", 1, 1024)
        .map_or(crate::http::DEFAULT_MAX_RESPONSE_MB, |v| v as u32)
}

fn tls(ctx: &mut Ctx, t: &mut Table, resolve: &dyn Fn(&str) -> PathBuf) -> Option<TlsConfig> {
    let accept_invalid_certs = t.bool(ctx, "accept_invalid_certs").unwrap_or(false);
    let ca_file = match t.string(ctx, "ca_file") {
        Some(p) => {
            let path = resolve(&p);
            if !Path::new(&path).is_file() {
                let span = t
                    .get("ca_file")
                    .map(|e| e.value.span.clone())
                    .unwrap_or_default();
                ctx.err(
                    &span,
                    "kingdee.ca_file",
                    format!("CA file {} does not exist", path.display()),
                );
                return None;
            }
            // Unreadable or not a certificate: say so now, not at the first connection.
            if let Err(message) = crate::sink::kingdee::tls::read_certificates(&path) {
                let span = t
                    .get("ca_file")
                    .map(|e| e.value.span.clone())
                    .unwrap_or_default();
                ctx.err(&span, "kingdee.ca_file", message);
                return None;
            }
            Some(path)
        }
        None => None,
    };
    Some(TlsConfig {
        ca_file,
        accept_invalid_certs,
    })
}

pub(super) fn pipeline(ctx: &mut Ctx, root: &mut Table) -> Option<PipelineConfig> {
    let mut c = PipelineConfig {
        mailbox: 64,
        settle_lag: Duration::from_secs(5),
    };
    if let Some(mut t) = section(ctx, root, "pipeline") {
        c.mailbox = t
            .int(ctx, "mailbox", 1, 1_000_000)
            .map_or(c.mailbox, |v| v as usize);
        c.settle_lag = t.duration(ctx, "settle_lag").unwrap_or(c.settle_lag);
        t.finish(ctx);
    }
    Some(c)
}
