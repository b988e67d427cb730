//! `config.toml`: read, check and compile into a validated [`Config`].
//!
//! [`load`] reports *every* mistake at once ([`ConfigErrors`]), each with file, line, column,
//! scheme and field. Relative paths are resolved against the config file's folder (a Windows
//! service starts in System32). Any setting string may be written `${ENV_VAR}`; secrets become
//! [`Secret`] and never print. Mapping expressions are compiled here, once.

pub mod admin;
pub mod alerts;
mod connections;
pub mod error;
mod mapping_toml;
pub(crate) mod reader;
mod scheme;
mod source;
mod store_section;
pub(crate) mod suggest;
pub mod tree;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub use connections::DEFAULT_CAPS;
pub use error::{ConfigError, ConfigErrors};
pub use reader::Secrets;
pub use store_section::StoreConfig;

use crate::mapping::Mapper;
use crate::secret::Secret;
use reader::{Ctx, Table};

/// A validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The config file as given to [`load`].
    pub file: PathBuf,
    /// Absolute (resolved against the config's folder).
    pub data_dir: PathBuf,
    pub jushuitan: JushuitanConfig,
    pub kingdee: KingdeeConfig,
    pub simulator: SimulatorConfig,
    pub pipeline: PipelineConfig,
    pub log: LogConfig,
    /// `[store]`: upkeep of the store.
    pub store: StoreConfig,
    pub admin: admin::AdminConfig,
    pub schemes: Vec<Scheme>,
    /// `[[alert]]` entries (none when absent).
    pub alerts: Vec<alerts::Alert>,
}

impl Config {
    pub fn scheme(&self, name: &str) -> Option<&Scheme> {
        self.schemes.iter().find(|s| s.name == name)
    }
}

#[derive(Debug, Clone)]
pub struct JushuitanConfig {
    pub base_url: String,
    pub app_key: String,
    pub app_secret: Secret,
    pub access_token: Option<Secret>,
    pub refresh_token: Option<Secret>,
    pub per_second: u32,
    pub per_minute: u32,
    /// API name → largest page size it accepts.
    pub page_size_caps: BTreeMap<String, u32>,
    pub timeout: Duration,
    /// Largest answer read, in MB (`max_response_mb`, default 32).
    pub max_response_mb: u32,
}

/// Page-size cap of an API when `page_size_caps` does not name it.
pub const DEFAULT_PAGE_CAP: u32 = 50;

impl JushuitanConfig {
    /// The largest page size `api` accepts: 50 for other.inout.query, 100 for shops.query.
    pub fn page_cap(&self, api: &str) -> u32 {
        self.page_size_caps
            .get(api)
            .copied()
            .unwrap_or(DEFAULT_PAGE_CAP)
    }

    /// The page size a source asks for: its own, within what its API accepts.
    pub fn page_size(&self, source: &SourceSpec) -> u32 {
        source.page_size.min(self.page_cap(&source.api))
    }
}

#[derive(Debug, Clone)]
pub struct KingdeeConfig {
    pub base_url: String,
    pub acct_id: String,
    pub user: String,
    pub lcid: u32,
    pub org_num: String,
    pub auth: KingdeeAuth,
    pub connect_timeout: Duration,
    pub timeout: Duration,
    pub tls: TlsConfig,
    /// Largest answer read, in MB (`max_response_mb`, default 32).
    pub max_response_mb: u32,
}

/// How ferry logs in to Kingdee.
#[derive(Debug, Clone, PartialEq)]
pub enum KingdeeAuth {
    /// SDK 8.2.0 stateless X-Kd-*/X-Api-* signed headers (`auth = "signed"`).
    Signed { app_id: String, app_secret: Secret },
    /// `ValidateUser` with a password (`auth = "password"`).
    Password { password: Secret },
    /// `LoginByAppSecret` (`auth = "appsecret"`).
    AppSecret { app_id: String, app_secret: Secret },
    /// `LoginBySign` (`auth = "sign"`).
    Sign { app_id: String, app_secret: Secret },
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TlsConfig {
    /// Extra CA certificate (PEM), resolved against the config's folder.
    pub ca_file: Option<PathBuf>,
    /// `true` turns certificate verification off (default: verification on).
    pub accept_invalid_certs: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SimulatorConfig {
    pub enabled: bool,
    pub docs: u32,
    pub shops: u32,
    pub seed: u64,
    pub faults: String,
    /// Live mode of the Jushuitan simulator: changes per second to each API in use (0: off).
    pub live: f64,
}

/// Fault profile names both simulators accept.
pub const FAULT_PROFILES: &[&str] = &[
    "none",
    "latency",
    "timeouts",
    "http5xx",
    "response-error",
    "session-loss",
    "rate-storm",
    "lost-reply",
    "chaos",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineConfig {
    pub mailbox: usize,
    pub settle_lag: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    /// Absolute (resolved against the config's folder).
    pub dir: PathBuf,
    /// `error`, `warn`, `info`, `debug`, `trace` (or a tracing filter directive).
    pub level: String,
    /// How many daily log files are kept (today's included); older ones are deleted.
    pub keep_days: u32,
}

/// One sync job (方案).
#[derive(Debug, Clone)]
pub struct Scheme {
    pub name: String,
    pub enabled: bool,
    pub every: Duration,
    pub retry: RetryPolicy,
    pub source: SourceSpec,
    pub target: TargetSpec,
    pub on_change: OnChange,
    pub mapper: Arc<Mapper>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    /// Delay before retry n (the last one repeats).
    pub backoff: Vec<Duration>,
}

impl RetryPolicy {
    /// The delay after `attempts` failed attempts (1-based), the last step repeating.
    pub fn delay(&self, attempts: u32) -> Duration {
        let i = (attempts.max(1) as usize - 1).min(self.backoff.len().saturating_sub(1));
        self.backoff
            .get(i)
            .copied()
            .unwrap_or(Duration::from_secs(60))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct SourceSpec {
    pub api: String,
    pub params: serde_json::Map<String, serde_json::Value>,
    /// Unix seconds.
    pub start_from: i64,
    pub window: Duration,
    pub overlap: Duration,
    pub list_key: String,
    pub page_size: u32,
    pub key: String,
    pub lines: Option<String>,
    pub line_key: Option<String>,
}

impl SourceSpec {
    /// The `biz` of a query: the fixed `params`, and for a windowed source the modification
    /// window `[begin, end]` (unix seconds, sent as Beijing time).
    pub fn biz(&self, window: Option<(i64, i64)>) -> serde_json::Map<String, serde_json::Value> {
        let mut biz = self.params.clone();
        if let Some((begin, end)) = window {
            let stamp = |t| serde_json::Value::String(crate::time::format_beijing(t));
            biz.insert("modified_begin".into(), stamp(begin));
            biz.insert("modified_end".into(), stamp(end));
        }
        biz
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct TargetSpec {
    pub form_id: String,
    pub operation: String,
    pub batch_size: usize,
    pub options: serde_json::Map<String, serde_json::Value>,
    pub identity_field: String,
    pub id_field: String,
}

/// What to do when a source document changes after its model was delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnChange {
    /// Note it in the trace and keep the delivered model.
    #[default]
    Record,
    /// Put the changed document in the dead letters for a person.
    DeadLetter,
}

/// Reads, checks and compiles a config file; every secret must be there (its `${VAR}` set).
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    load_with(path, Secrets::Required)
}

/// [`load`] for commands that never talk to Jushuitan or Kingdee (`status`, `dlq`, `trace`,
/// `preview`): an admin's console does not have the service's environment, so a secret that is
/// missing or whose `${VAR}` is not set is left empty instead of being an error. The result
/// must never reach a client of either system.
pub fn load_without_secrets(path: &Path) -> Result<Config, ConfigErrors> {
    load_with(path, Secrets::NotNeeded)
}

/// Reads, checks and compiles a config file.
pub fn load_with(path: &Path, secrets: Secrets) -> Result<Config, ConfigErrors> {
    let bytes = std::fs::read(path).map_err(|e| {
        ConfigErrors(vec![whole_file_error(
            path,
            0,
            0,
            format!("cannot read the config file: {e}"),
        )])
    })?;
    let text = match std::str::from_utf8(&bytes) {
        Ok(t) => t,
        Err(e) => {
            let valid = std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or("");
            let (line, col) = tree::line_col(valid, valid.len());
            return Err(ConfigErrors(vec![whole_file_error(
                path,
                line,
                col,
                "the file is not UTF-8 text; save it as UTF-8".into(),
            )]));
        }
    };
    load_str_with(path, text, secrets)
}

fn whole_file_error(path: &Path, line: usize, column: usize, message: String) -> ConfigError {
    ConfigError {
        file: path.to_path_buf(),
        line,
        column,
        scheme: None,
        field: String::new(),
        message,
    }
}

/// Compiles config text; `path` names the file in errors and anchors relative paths.
pub fn load_str(path: &Path, text: &str) -> Result<Config, ConfigErrors> {
    load_str_with(path, text, Secrets::Required)
}

/// [`load_str`], saying whether secrets are needed (see [`Secrets`]).
pub fn load_str_with(path: &Path, text: &str, secrets: Secrets) -> Result<Config, ConfigErrors> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let root = match tree::parse(text) {
        Ok(r) => r,
        Err((msg, span)) => {
            let (line, col) = span
                .map(|s| tree::line_col(text, s.start))
                .unwrap_or((0, 0));
            let msg = msg.trim().replace('\n', " ");
            return Err(ConfigErrors(vec![whole_file_error(
                path,
                line,
                col,
                format!("TOML syntax error: {msg}"),
            )]));
        }
    };
    // Relative paths resolve against the folder of the file, made absolute.
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(path))
            .unwrap_or_else(|_| path.to_path_buf())
    };
    let mut ctx = Ctx::new(path, text, secrets);
    let config = compile(&mut ctx, &root, &abs);
    let mut errors = ctx.errors;
    match config {
        Some(c) if errors.is_empty() => Ok(c),
        _ => {
            errors.sort_by_key(|e| (e.line, e.column));
            // Each mistake once, even when two checks arrive at the same words.
            let mut seen: Vec<ConfigError> = Vec::with_capacity(errors.len());
            errors.retain(|e| {
                let new = !seen.contains(e);
                if new {
                    seen.push(e.clone());
                }
                new
            });
            if errors.is_empty() {
                errors.push(whole_file_error(path, 0, 0, "invalid config".into()));
            }
            Err(ConfigErrors(errors))
        }
    }
}

fn compile(ctx: &mut Ctx, root: &tree::Node, abs: &Path) -> Option<Config> {
    let mut t = Table::of(ctx, root, "")?;
    let base = abs.parent().unwrap_or(Path::new(".")).to_path_buf();
    let resolve = |p: &str| {
        let p = Path::new(p);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            base.join(p)
        }
    };
    let data_dir = resolve(&t.string(ctx, "data_dir").unwrap_or_else(|| "data".into()));
    let log = connections::log(ctx, &mut t, &resolve);
    let simulator = connections::simulator(ctx, &mut t);
    let sim_on = simulator.as_ref().map(|s| s.enabled).unwrap_or(false);
    let (jushuitan, page_caps) = connections::jushuitan(ctx, &mut t, sim_on);
    let kingdee = connections::kingdee(ctx, &mut t, sim_on, &resolve);
    let pipeline = connections::pipeline(ctx, &mut t);
    let store = store_section::store(ctx, &mut t);
    let admin = admin::admin(ctx, &mut t);
    let lookups = mapping_toml::lookups(ctx, &mut t);
    let engine = crate::mapping::ScriptEngine::new(lookups);
    let schemes = scheme::schemes(ctx, &mut t, &page_caps, &engine);
    let alerts = alerts::alerts(ctx, &mut t);
    t.finish(ctx);
    Some(Config {
        file: ctx.file.to_path_buf(),
        data_dir,
        jushuitan: jushuitan?,
        kingdee: kingdee?,
        simulator: simulator?,
        pipeline: pipeline?,
        log: log?,
        store: store?,
        admin: admin?,
        schemes,
        alerts,
    })
}
