//! Live mode: the simulator keeps creating and changing documents, and a client querying the
//! latest window over real HTTP sees them, with `modified` stamped when they changed.

use super::*;

const SALES_OUT: &str = "orders.out.simple.query";

/// Documents modified in `[begin, end]` (one window, every page).
async fn window_docs(c: &Client, api: &str, begin: i64, end: i64) -> Vec<Value> {
    all_pages(c, api, &window(begin, end), 50)
        .await
        .expect("window query")
}

#[test]
fn live_mode_creates_and_changes_documents_a_client_sees() {
    let docs = 30;
    let sim = start(JstSimOptions {
        docs,
        shops: 3,
        seed: 5,
        per_second: 0,
        per_minute: 0,
        live: 40.0,
        ..Default::default()
    });
    let store = Arc::new(MemoryTokens::default());
    let c = client(settings(&sim), &store);
    let t0 = now_unix();
    bounded(30, async {
        // Asking for sales-out documents once puts that API in use: it changes from then on.
        let before = window_docs(&c, SALES_OUT, t0 - 60, t0 + 1).await;
        assert!(
            before
                .iter()
                .all(|d| d["modified"].as_str() >= Some(format_beijing(t0 - 60).as_str())),
            "the window holds only documents modified in it"
        );
        let mut seen: Vec<(&str, Vec<Value>)> = Vec::new();
        for _ in 0..50 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let now = now_unix();
            let inout = window_docs(&c, INOUT, t0, now + 1).await;
            let sales = window_docs(&c, SALES_OUT, t0, now + 1).await;
            let changed = |d: &[Value], api: &str| {
                d.iter().any(|x| {
                    let key = x["io_id"].as_i64().unwrap_or(0);
                    sim.versions_of(api, key).len() >= 2
                })
            };
            if inout.len() >= 20
                && sales.len() >= 10
                && changed(&inout, INOUT)
                && changed(&sales, SALES_OUT)
            {
                seen = vec![(INOUT, inout), (SALES_OUT, sales)];
                break;
            }
        }
        assert!(
            !seen.is_empty(),
            "live changes never showed up in the windows"
        );
        // Compared with the simulator's versions once the world stands still.
        sim.stop_live();
        let now = now_unix();
        seen = vec![
            (INOUT, window_docs(&c, INOUT, t0, now + 1).await),
            (SALES_OUT, window_docs(&c, SALES_OUT, t0, now + 1).await),
        ];
        for (api, list) in &seen {
            let mut created = 0;
            let mut modified = 0;
            for d in list {
                let stamp = d["modified"].as_str().expect("modified");
                assert!(stamp >= format_beijing(t0).as_str(), "{api}: {stamp}");
                let key = d["io_id"].as_i64().expect("io_id is a number");
                let versions = sim.versions_of(api, key);
                assert_eq!(
                    versions.last(),
                    Some(d),
                    "{api}: the latest version is served"
                );
                if versions.len() >= 2 {
                    modified += 1;
                    assert_ne!(versions[versions.len() - 2]["modified"], d["modified"]);
                } else {
                    created += 1;
                    let items = d["items"].as_array().expect("items");
                    assert!(items.iter().all(|i| i["io_id"] == d["io_id"]), "{d}");
                }
            }
            assert!(created >= 5, "{api}: {created} new documents");
            assert!(modified >= 1, "{api}: {modified} changed documents");
        }
        // New documents are numbered after the generated ones, line ids stay unique.
        let (inout_list, sales_list) = (&seen[0].1, &seen[1].1);
        assert!(ids(inout_list)
            .iter()
            .any(|&i| i >= sim::FIRST_IO_ID + i64::from(docs)));
        for list in [inout_list, sales_list] {
            let mut lines = std::collections::BTreeSet::new();
            for d in list {
                for i in d["items"].as_array().into_iter().flatten() {
                    let id = i["ioi_id"].to_string().trim_matches('"').to_string();
                    assert!(lines.insert(id.clone()), "line {id} in two documents");
                }
            }
        }
    });
    let (created, changed) = sim.live_changes();
    assert!(
        created >= 15 && changed >= 2,
        "{created} created, {changed} changed"
    );
    // An API nobody asked for is never made, so it costs nothing and does not change.
    assert!(sim.api_in_use(SALES_OUT));
    assert!(!sim.api_in_use("sku.query"));
}
