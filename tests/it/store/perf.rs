//! Store throughput and restart figures (ignored by default).

use super::*;

/// Throughput and restart figures: `cargo test --test it store::perf -- --ignored --nocapture`
/// (FERRY_STORE_PERF_N entries, default 200,000; pages of 50 documents with 5 lines each).
#[test]
#[ignore]
fn perf() {
    use std::time::Instant;
    let n: usize = std::env::var("FERRY_STORE_PERF_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let model = |k: &str| {
        format!("{{\"FBillNo\":\"JST-{k}\",\"FDate\":\"2024-05-01\",\"FSaleOrgId\":{{\"FNumber\":\"100\"}},\"FEntity\":[{}]}}", (0..5).map(|l| format!("{{\"FMaterialId\":{{\"FNumber\":\"SKU-00{l}1\"}},\"FRealQty\":{l},\"FPrice\":12.5,\"FStockId\":{{\"FNumber\":\"CK002\"}},\"FNote\":\"{k}-{l}\"}}")).collect::<Vec<_>>().join(","))
    };
    let t = Instant::now();
    for page in 0..n / 50 {
        let docs = (0..50).map(|j| {
            let k = (10_001 + page * 50 + j).to_string();
            let lines: Vec<String> = (0..5).map(|l| format!("{k}-{l}")).collect();
            Ingest::New(NewEntry {
                source_key: k.clone(),
                identity: format!("JST-{k}"),
                line_keys: lines,
                model: model(&k).into_bytes(),
                fingerprint: 1,
            })
        });
        store
            .ingest(S, F, docs.collect(), OnChange::Record)
            .unwrap();
    }
    let secs = t.elapsed().as_secs_f64();
    eprintln!(
        "ingest: {n} docs in {secs:.2}s = {:.0} docs/s (page of 50 = 1 transaction + flush)",
        n as f64 / secs
    );
    let t = Instant::now();
    let sends = (n / 10).min(20_000) / 50;
    for _ in 0..sends {
        let ids = send_due(&store, Some(F), 50);
        let res = ids.iter().map(|&id| {
            (
                id,
                Finish::Delivered {
                    kingdee_id: id.to_string(),
                    number: id.to_string(),
                },
            )
        });
        store.finish(res.collect()).unwrap();
    }
    let secs = t.elapsed().as_secs_f64();
    eprintln!(
        "send cycle: {} entries in {secs:.2}s = {:.0} entries/s (due + begin_send + finish per 50)",
        sends * 50,
        (sends * 50) as f64 / secs
    );
    let ids: Vec<u64> = store
        .due(Some(F), i64::MAX, 50)
        .unwrap()
        .iter()
        .map(|e| e.id)
        .collect();
    store.begin_send(&ids, 999_999).unwrap();
    drop(store);
    let t = Instant::now();
    let store = Store::open(dir.path()).unwrap();
    let inflight = store.in_flight().unwrap();
    let first = store.due(Some(F), i64::MAX, 50).unwrap();
    eprintln!(
        "restart: open + in_flight ({}) + first due page ({}) in {:.3}s, counts {:?}",
        inflight.len(),
        first.len(),
        t.elapsed().as_secs_f64(),
        store.counts(S).unwrap()
    );
    let size: u64 = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.len())
        .sum();
    eprintln!("disk: {} MB", size / 1_000_000);
}
