//! Store upkeep figures (ignored by default): what pruning delivered entries saves on disk over
//! months of documents, and how long it holds the store's write lock.

use super::*;

fn model(k: &str) -> String {
    let lines: Vec<String> = (0..5)
        .map(|l| {
            format!(
                "{{\"FMaterialId\":{{\"FNumber\":\"SKU-00{l}1\"}},\"FRealQty\":{l},\"FPrice\":12.5,\
                 \"FStockId\":{{\"FNumber\":\"CK002\"}},\"FNote\":\"{k}-{l}\"}}"
            )
        })
        .collect();
    format!(
        "{{\"FBillNo\":\"JST-{k}\",\"FDate\":\"2024-05-01\",\"FSaleOrgId\":{{\"FNumber\":\"100\"}},\
         \"FEntity\":[{}]}}",
        lines.join(",")
    )
}

/// Ingests and delivers `n` documents numbered from `first`, pages of 50.
fn deliver(store: &Store, first: usize, n: usize) {
    for page in 0..n / 50 {
        let docs = (0..50).map(|j| {
            let k = (first + page * 50 + j).to_string();
            Ingest::New(NewEntry {
                source_key: k.clone(),
                identity: format!("JST-{k}"),
                line_keys: (0..5).map(|l| format!("{k}{l}")).collect(),
                model: model(&k).into_bytes(),
                fingerprint: 1,
            })
        });
        store
            .ingest(S, F, docs.collect(), OnChange::Record)
            .unwrap();
        let ids = send_due(store, Some(F), 50);
        let done = ids.iter().map(|&id| {
            let d = Finish::Delivered {
                kingdee_id: id.to_string(),
                number: id.to_string(),
            };
            (id, d)
        });
        store.finish(done.collect()).unwrap();
    }
}

/// `cargo test --test it store::upkeep -- --ignored --nocapture` (FERRY_UPKEEP_ROUNDS rounds of
/// FERRY_UPKEEP_N documents, default 6 x 10,000): the size on disk of a store that prunes
/// every delivered entry after each round next to one that keeps them whole, and the longest
/// pruning transaction.
#[test]
#[ignore]
fn upkeep_figures() {
    use std::time::Instant;
    let var = |name: &str, default: usize| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let (rounds, n) = (var("FERRY_UPKEEP_ROUNDS", 6), var("FERRY_UPKEEP_N", 10_000));
    let (kept_dir, pruned_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let kept = Store::open(kept_dir.path()).unwrap();
    let pruned = Store::open(pruned_dir.path()).unwrap();
    let mb = |s: &Store| s.size_on_disk().unwrap() as f64 / 1e6;
    for round in 0..rounds {
        let first = 10_000_000 + round * n;
        deliver(&kept, first, n);
        deliver(&pruned, first, n);
        let before = mb(&pruned);
        let (mut after, mut total, mut longest, mut steps) = (None, 0, 0.0f64, 0);
        let t = Instant::now();
        loop {
            let t1 = Instant::now();
            let step = pruned
                .prune_delivered(i64::MAX, after, PRUNE_CHUNK)
                .unwrap();
            longest = longest.max(t1.elapsed().as_secs_f64());
            total += step.pruned;
            steps += 1;
            match step.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        eprintln!(
            "round {}: {} docs delivered in all; kept whole {:.1} MB; pruned {:.1} MB before \
             pruning, {:.1} MB after ({total} pruned in {steps} steps, {:.2}s, longest step \
             {:.0} ms)",
            round + 1,
            (round + 1) * n,
            mb(&kept),
            before,
            mb(&pruned),
            t.elapsed().as_secs_f64(),
            longest * 1000.0
        );
    }
    assert_eq!(pruned.counts(S).unwrap(), kept.counts(S).unwrap());
    for (what, store) in [("kept whole", &kept), ("pruned", &pruned)] {
        let dest = tempfile::tempdir().unwrap();
        let report = store.backup(&dest.path().join("copy")).unwrap();
        eprintln!(
            "backup of the store {what} ({:.1} MB): {:.1} MB, {} records, writes held {} ms",
            mb(store),
            report.bytes as f64 / 1e6,
            report.records,
            report.held_ms
        );
    }
}
