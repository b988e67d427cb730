//! `ferry preview --scheme NAME --sample [N]`: the documents a scheme would fetch from the
//! built-in Jushuitan simulator, for rehearsing a mapping (a template just added, a lookup just
//! adapted) without writing a document by hand.
//!
//! The documents come over real HTTP on 127.0.0.1 from a simulator started for this preview
//! only (memory only, the config's `[simulator]` seed and sizes), through the same client and
//! with the same request as `ferry run` sends: the scheme's `params`, its page size, and the
//! latest window. Never from the real Jushuitan: a preview must not use (or rotate) the tokens a
//! running ferry depends on.

use std::sync::Arc;

use serde_json::Value;

use crate::config::{Config, Scheme};
use crate::sim::jushuitan::{self as jst_sim, JstSimOptions};
use crate::source::jushuitan::{self, ClientSettings, MemoryTokens};
use crate::time::{format_beijing, now_unix};

/// What a sample run fetched.
pub struct Sample {
    /// The request, in words: `orders.out.simple.query 2026-11-21 12:00:00 … 2026-11-28 12:00:00, page 1`.
    pub asked: String,
    pub docs: Vec<Value>,
}

/// Fetches the first page of the scheme's latest window from a simulator started for it.
pub fn fetch(config: &Config, scheme: &Scheme) -> Result<Sample, String> {
    if !config.simulator.enabled {
        return Err(
            "--sample fetches from the built-in simulator, and [simulator] is disabled \
                    in this config; to preview real documents, save a Jushuitan answer to a \
                    file and use --input FILE"
                .into(),
        );
    }
    let sim = jst_sim::start(JstSimOptions {
        docs: config.simulator.docs,
        shops: config.simulator.shops,
        seed: config.simulator.seed,
        per_second: 0,
        per_minute: 0,
        ..JstSimOptions::default()
    })
    .map_err(|e| format!("the Jushuitan simulator did not start: {e}"))?;
    let settings = ClientSettings {
        base_url: sim.base_url(),
        app_key: sim.app_key().to_string(),
        app_secret: crate::secret::Secret::new(sim.app_secret()),
        per_second: 0,
        per_minute: 0,
        ..ClientSettings::default()
    };
    let client = jushuitan::Client::new(settings, Arc::new(MemoryTokens::default()))
        .map_err(|e| format!("Jushuitan client: {e}"))?;
    let src = &scheme.source;
    let window = (!src.window.is_zero()).then(|| {
        let end = now_unix();
        (end - src.window.as_secs() as i64, end)
    });
    let biz = src.biz(window);
    let page_size = config.jushuitan.page_size(src);
    let mut asked = src.api.clone();
    if let Some((begin, end)) = window {
        asked.push_str(&format!(
            " {} … {}",
            format_beijing(begin),
            format_beijing(end)
        ));
    }
    asked.push_str(&format!(", page 1 of size {page_size}"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    let page = rt
        .block_on(client.query_page(&src.api, &biz, &src.list_key, 1, page_size))
        .map_err(|e| format!("the simulator refused the request: {e}"))?;
    sim.stop();
    Ok(Sample {
        asked,
        docs: page.items,
    })
}
