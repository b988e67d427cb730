//! The Jushuitan client against the simulator (and a few hostile servers), over real HTTP on
//! 127.0.0.1. Every test is bounded by a timeout.

use std::future::Future;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ferry::secret::Secret;
use ferry::sim::jushuitan::{self as sim, JstSimHandle, JstSimOptions};
use ferry::source::jushuitan::{
    Client, ClientSettings, MemoryTokens, SourceError, TokenStore, Tokens,
};
use ferry::time::{format_beijing, now_unix};
use serde_json::{json, Map, Value};

pub(super) const DAY: i64 = 86400;
pub(super) const INOUT: &str = "other.inout.query";

pub(super) fn bounded<F: Future>(secs: u64, f: F) -> F::Output {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(secs), f)
            .await
            .expect("test took too long")
    })
}

pub(super) fn start(opts: JstSimOptions) -> JstSimHandle {
    sim::start(opts).expect("simulator starts")
}

/// A simulator without rate limits.
pub(super) fn fast_sim(docs: u32, faults: &str) -> JstSimHandle {
    start(JstSimOptions {
        docs,
        shops: 9,
        seed: 11,
        faults: faults.into(),
        per_second: 0,
        per_minute: 0,
        hang: Duration::from_secs(3),
        ..Default::default()
    })
}

pub(super) fn settings(sim: &JstSimHandle) -> ClientSettings {
    ClientSettings {
        base_url: sim.base_url(),
        app_key: sim.app_key().to_string(),
        app_secret: Secret::new(sim.app_secret()),
        per_second: 0,
        per_minute: 0,
        timeout: Duration::from_secs(5),
        retry_backoff: Duration::from_millis(20),
        rate_backoff: Duration::from_millis(50),
        ..Default::default()
    }
}

pub(super) fn client(s: ClientSettings, store: &Arc<MemoryTokens>) -> Client {
    let store: Arc<dyn TokenStore> = store.clone();
    Client::new(s, store).expect("client")
}

pub(super) fn window(begin: i64, end: i64) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("modified_begin".into(), json!(format_beijing(begin)));
    m.insert("modified_end".into(), json!(format_beijing(end)));
    m
}

/// Every page of one query.
pub(super) async fn all_pages(
    c: &Client,
    api: &str,
    biz: &Map<String, Value>,
    size: u32,
) -> Result<Vec<Value>, SourceError> {
    let mut out = Vec::new();
    for index in 1..=1000 {
        let page = c.query_page(api, biz, "datas", index, size).await?;
        assert_eq!(page.index, index);
        out.extend(page.items);
        if !page.has_next {
            return Ok(out);
        }
    }
    panic!("more than 1000 pages");
}

/// Every document modified in the last `days` days, through 7-day windows.
pub(super) async fn all_documents(
    c: &Client,
    now: i64,
    days: i64,
    size: u32,
) -> Result<Vec<Value>, SourceError> {
    let mut out = Vec::new();
    let mut begin = now - days * DAY;
    while begin <= now {
        let end = (begin + 7 * DAY).min(now);
        out.extend(all_pages(c, INOUT, &window(begin, end), size).await?);
        begin = end + 1;
    }
    Ok(out)
}

pub(super) fn ids(docs: &[Value]) -> Vec<i64> {
    docs.iter().filter_map(|d| d["io_id"].as_i64()).collect()
}

mod apis;
mod faults;
mod hostile;
mod limits;
mod live;
mod paging;
