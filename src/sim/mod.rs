//! Simulators of Jushuitan and Kingdee, for tests, benches, the demo and `ferry sim`.
//!
//! Each simulator runs in its own thread with its own actix System, so any caller (a test, the
//! CLI, the pipeline) can start one. With `[simulator] enabled = true`, [`attach`] starts both on
//! loopback with their state under `data_dir/sim` and points the config's connections at them.

pub mod form;
pub mod jushuitan;
pub mod kingdee;

use std::net::SocketAddr;

use crate::config::{Config, KingdeeAuth};
use crate::secret::Secret;

/// Both simulators; dropping this stops them.
pub struct Sims {
    pub jushuitan: jushuitan::JstSimHandle,
    pub kingdee: kingdee::KdSimHandle,
}

impl Sims {
    /// The one JSON line `ferry sim --json` prints.
    pub fn describe_json(&self) -> serde_json::Value {
        let j = &self.jushuitan;
        let k = &self.kingdee;
        serde_json::json!({
            "jushuitan": {
                "base_url": j.base_url(),
                "app_key": j.app_key(),
                "app_secret": j.app_secret(),
            },
            "kingdee": {
                "base_url": k.base_url(),
                "acct_id": k.acct_id(),
                "user": k.user(),
                "password": k.password(),
                "app_id": k.app_id(),
                "app_secret": k.app_secret(),
                "lcid": k.lcid(),
            }
        })
    }

    pub fn stop(self) {
        self.jushuitan.stop();
        self.kingdee.stop();
    }
}

/// What to start.
#[derive(Debug, Clone)]
pub struct SimSpec {
    pub jushuitan_addr: SocketAddr,
    pub kingdee_addr: SocketAddr,
    pub state_dir: Option<std::path::PathBuf>,
    pub docs: u32,
    pub shops: u32,
    pub seed: u64,
    pub faults: String,
    pub per_second: u32,
    pub per_minute: u32,
    /// Every document gets exactly this many lines (benchmarks); `None`: 0–5 lines.
    pub lines: Option<u32>,
    /// The Kingdee simulator refuses a second save of the same number (as Kingdee does). Tests
    /// turn this off to prove that ferry itself never posts twice.
    pub reject_duplicates: bool,
    /// Added to every Kingdee save (benchmarks).
    pub save_latency: std::time::Duration,
    /// Jushuitan live mode: changes per second to each API in use (0: off).
    pub live: f64,
}

impl Default for SimSpec {
    fn default() -> Self {
        let loopback: SocketAddr = ([127, 0, 0, 1], 0).into();
        SimSpec {
            jushuitan_addr: loopback,
            kingdee_addr: loopback,
            state_dir: None,
            docs: 500,
            shops: 20,
            seed: 1,
            faults: "none".into(),
            per_second: 5,
            per_minute: 100,
            lines: None,
            reject_duplicates: true,
            save_latency: std::time::Duration::ZERO,
            live: 0.0,
        }
    }
}

/// Starts both simulators.
pub fn start(spec: &SimSpec) -> Result<Sims, String> {
    let jst = jushuitan::start(jushuitan::JstSimOptions {
        addr: spec.jushuitan_addr,
        state_dir: spec.state_dir.as_ref().map(|d| d.join("jushuitan")),
        docs: spec.docs,
        shops: spec.shops,
        seed: spec.seed,
        faults: spec.faults.clone(),
        per_second: spec.per_second,
        per_minute: spec.per_minute,
        lines: spec.lines,
        live: spec.live,
        ..Default::default()
    })
    .map_err(|e| format!("Jushuitan simulator: {e}"))?;
    let kd = kingdee::start(kingdee::KdSimOptions {
        addr: spec.kingdee_addr,
        state_dir: spec.state_dir.as_ref().map(|d| d.join("kingdee")),
        seed: spec.seed,
        faults: spec.faults.clone(),
        reject_duplicates: spec.reject_duplicates,
        save_latency: spec.save_latency,
        ..Default::default()
    })
    .map_err(|e| format!("Kingdee simulator: {e}"))?;
    Ok(Sims {
        jushuitan: jst,
        kingdee: kd,
    })
}

/// With `[simulator] enabled = true`: starts both simulators on loopback (state under
/// `data_dir/sim`) and returns the config pointed at them. Otherwise returns it unchanged.
pub fn attach(mut config: Config) -> Result<(Config, Option<Sims>), String> {
    if !config.simulator.enabled {
        return Ok((config, None));
    }
    let loopback: SocketAddr = ([127, 0, 0, 1], 0).into();
    let sims = start(&SimSpec {
        jushuitan_addr: loopback,
        kingdee_addr: loopback,
        state_dir: Some(config.data_dir.join("sim")),
        docs: config.simulator.docs,
        shops: config.simulator.shops,
        seed: config.simulator.seed,
        faults: config.simulator.faults.clone(),
        per_second: config.jushuitan.per_second,
        per_minute: config.jushuitan.per_minute,
        live: config.simulator.live,
        ..SimSpec::default()
    })?;
    let j = &sims.jushuitan;
    config.jushuitan.base_url = j.base_url();
    config.jushuitan.app_key = j.app_key().to_string();
    config.jushuitan.app_secret = Secret::new(j.app_secret());
    config.jushuitan.access_token = None;
    config.jushuitan.refresh_token = None;
    let k = &sims.kingdee;
    config.kingdee.base_url = k.base_url();
    config.kingdee.acct_id = k.acct_id().to_string();
    config.kingdee.user = k.user().to_string();
    config.kingdee.lcid = k.lcid();
    config.kingdee.auth = match config.kingdee.auth {
        KingdeeAuth::Signed { .. } => KingdeeAuth::Signed {
            app_id: k.app_id().to_string(),
            app_secret: Secret::new(k.app_secret()),
        },
        KingdeeAuth::Password { .. } => KingdeeAuth::Password {
            password: Secret::new(k.password()),
        },
        KingdeeAuth::AppSecret { .. } => KingdeeAuth::AppSecret {
            app_id: k.app_id().to_string(),
            app_secret: Secret::new(k.app_secret()),
        },
        KingdeeAuth::Sign { .. } => KingdeeAuth::Sign {
            app_id: k.app_id().to_string(),
            app_secret: Secret::new(k.app_secret()),
        },
    };
    tracing::info!(
        jushuitan = %config.jushuitan.base_url,
        kingdee = %config.kingdee.base_url,
        "built-in simulators started"
    );
    Ok((config, Some(sims)))
}
