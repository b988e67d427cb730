//! Every query API of the flows through the real client against the simulator: all documents
//! exactly once through 7-day windows, the window and page-size limits, each API's filters, and
//! the documented shape of its documents.

use super::*;

/// The flows' in/out APIs (document key io_id, lines under items with key ioi_id).
const INOUT_APIS: [&str; 5] = [
    "orders.out.simple.query",
    "aftersale.received.query",
    "purchasein.query",
    "purchaseout.query",
    "allocate.query",
];
const SKUS: &str = "sku.query";

/// Every page of every 7-day window over the last `days` days of one API.
async fn backfill(
    c: &Client,
    api: &str,
    extra: &Map<String, Value>,
    now: i64,
    days: i64,
) -> Result<Vec<Value>, SourceError> {
    let mut out = Vec::new();
    let mut begin = now - days * DAY;
    while begin <= now {
        let end = (begin + 7 * DAY).min(now);
        let mut biz = window(begin, end);
        biz.extend(extra.clone());
        out.extend(all_pages(c, api, &biz, 50).await?);
        begin = end + 1;
    }
    Ok(out)
}

fn keys(docs: &[Value], key: &str) -> Vec<String> {
    docs.iter()
        .map(|d| match &d[key] {
            Value::String(s) => s.clone(),
            v => v.to_string(),
        })
        .collect()
}

fn code_of(e: &SourceError) -> Option<i64> {
    match e {
        SourceError::Api { code, .. } => Some(*code),
        _ => None,
    }
}

/// A number, or its text as the documentation types it.
fn numeric(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

#[test]
fn every_api_pages_through_windows_and_refuses_what_jushuitan_refuses() {
    let sim = fast_sim(150, "none");
    let store = Arc::new(MemoryTokens::new());
    let c = client(settings(&sim), &store);
    let now = now_unix();
    for api in INOUT_APIS.iter().chain([&SKUS]) {
        let key = if *api == SKUS { "sku_id" } else { "io_id" };
        let mut extra = Map::new();
        if *api == "purchasein.query" {
            // Without `statuss` purchasein.query answers only Confirmed documents.
            extra.insert(
                "statuss".into(),
                json!([
                    "WaitConfirm",
                    "Confirmed",
                    "Cancelled",
                    "Archive",
                    "OuterConfirming"
                ]),
            );
        }
        let got = bounded(60, backfill(&c, api, &extra, now, 32)).expect(api);
        let want = sim.api_documents_at(api, now);
        assert_eq!(
            want.len(),
            150,
            "{api}: one world per API of `docs` documents"
        );
        assert_eq!(
            keys(&got, key),
            keys(&want, key),
            "{api}: every document once, in (modified, key) order"
        );
        assert_eq!(got, want, "{api}: documents as the simulator holds them");

        let long = window(now - 8 * DAY, now);
        let e = bounded(10, c.query_page(api, &long, "datas", 1, 50)).expect_err("8 days");
        assert_eq!(code_of(&e), Some(140), "{api}: {e}");
        assert!(e.to_string().contains("七天"), "{api}: {e}");
        let e = bounded(
            10,
            c.query_page(api, &window(now - DAY, now), "datas", 1, 51),
        )
        .expect_err("page 51");
        assert!(e.to_string().contains("page_size"), "{api}: {e}");
        let e = bounded(10, c.query_page(api, &Map::new(), "datas", 1, 50)).expect_err("no window");
        assert_eq!(code_of(&e), Some(140), "{api}: {e}");
    }
    sim.stop();
}

#[test]
fn filters_of_each_api() {
    let sim = fast_sim(200, "none");
    let store = Arc::new(MemoryTokens::new());
    let c = client(settings(&sim), &store);
    let now = now_unix();
    let with =
        |pairs: Value| -> Map<String, Value> { pairs.as_object().cloned().unwrap_or_default() };
    let all = |api: &str, extra: Value| -> Vec<Value> {
        bounded(60, backfill(&c, api, &with(extra), now, 32)).expect(api)
    };
    let held = |api: &str| sim.api_documents_at(api, now);
    let count = |docs: &[Value], f: &dyn Fn(&Value) -> bool| docs.iter().filter(|d| f(d)).count();

    // Sales out: status filter.
    let out = all("orders.out.simple.query", json!({"status": "Confirmed"}));
    let want = count(&held("orders.out.simple.query"), &|d| {
        d["status"] == "Confirmed"
    });
    assert!(out.iter().all(|d| d["status"] == "Confirmed"));
    assert_eq!(out.len(), want);
    assert!(want < 200, "some sales-out documents are not Confirmed");

    // Purchase in: only Confirmed unless `statuss` says otherwise.
    let held_in = held("purchasein.query");
    let confirmed = all("purchasein.query", json!({}));
    assert!(confirmed.iter().all(|d| d["status"] == "Confirmed"));
    assert_eq!(
        confirmed.len(),
        count(&held_in, &|d| d["status"] == "Confirmed")
    );
    let waiting = all("purchasein.query", json!({"statuss": ["WaitConfirm"]}));
    assert!(!waiting.is_empty() && waiting.iter().all(|d| d["status"] == "WaitConfirm"));

    // Transfers: type 调拨出 / 调拨入.
    let outs = all("allocate.query", json!({"type": "调拨出"}));
    let held_alloc = held("allocate.query");
    assert_eq!(outs.len(), count(&held_alloc, &|d| d["type"] == "调拨出"));
    assert!(outs.len() < held_alloc.len() && !outs.is_empty());

    // After-sale returns: as_ids without a window; 51 ids refused.
    let held_as = held("aftersale.received.query");
    let some: Vec<Value> = held_as.iter().take(3).map(|d| d["as_id"].clone()).collect();
    let mut biz = Map::new();
    biz.insert("as_ids".into(), json!(some));
    let got = bounded(20, all_pages(&c, "aftersale.received.query", &biz, 50)).expect("as_ids");
    assert_eq!(keys(&got, "as_id").len(), 3);
    let many: Vec<i64> = (0..51).collect();
    biz.insert("as_ids".into(), json!(many));
    let e = bounded(10, all_pages(&c, "aftersale.received.query", &biz, 50)).expect_err("51");
    assert_eq!(code_of(&e), Some(140), "{e}");

    // Purchase returns: at most 30 io_ids.
    let mut biz = Map::new();
    biz.insert("io_ids".into(), json!((0..31).collect::<Vec<i64>>()));
    let e = bounded(10, all_pages(&c, "purchaseout.query", &biz, 50)).expect_err("31 ids");
    assert_eq!(code_of(&e), Some(140), "{e}");

    // SKUs: sku_ids is one comma-separated text.
    let mut biz = Map::new();
    biz.insert("sku_ids".into(), json!("SKU-0002,SKU-0007"));
    let got = bounded(20, all_pages(&c, "sku.query", &biz, 50)).expect("sku_ids");
    let mut got = keys(&got, "sku_id");
    got.sort();
    assert_eq!(got, vec!["SKU-0002", "SKU-0007"]);
    sim.stop();
}

#[test]
fn documents_are_shaped_as_documented() {
    let sim = fast_sim(300, "none");
    let now = now_unix();
    for api in INOUT_APIS {
        let docs = sim.api_documents_at(api, now);
        let mut statuses = std::collections::BTreeSet::new();
        let (mut empty, mut batched, mut strings) = (0, 0, 0);
        for d in &docs {
            assert!(d["io_id"].is_i64(), "{api}: io_id is a number: {d}");
            for k in [
                "io_date",
                "modified",
                "created",
                "status",
                "warehouse",
                "so_id",
            ] {
                assert!(d[k].is_string(), "{api}: {k} is text: {d}");
            }
            assert!(numeric(&d["wh_id"]).is_some(), "{api}: wh_id");
            statuses.insert(d["status"].as_str().unwrap_or_default().to_string());
            let items = d["items"].as_array().expect("items");
            empty += usize::from(items.is_empty());
            batched += usize::from(d["batchs"].as_array().is_some_and(|b| !b.is_empty()));
            for it in items {
                assert!(numeric(&it["ioi_id"]).is_some(), "{api}: ioi_id: {it}");
                assert_eq!(it["io_id"], d["io_id"], "{api}: line's io_id");
                assert!(it["sku_id"].as_str().is_some_and(|s| s.starts_with("SKU-")));
                assert!(it["name"].is_string() && it["unit"].is_string());
                let qty = numeric(&it["qty"]).expect("qty");
                assert!(qty >= 1.0 && qty.fract() == 0.0, "{api}: qty {qty}");
                strings += usize::from(it["qty"].is_string());
            }
        }
        assert!(
            statuses.contains("Confirmed") && statuses.len() >= 3,
            "{api}: {statuses:?}"
        );
        assert!(empty > 0, "{api}: some documents have no lines");
        assert!(batched > 0, "{api}: some documents have batches");
        assert!(
            strings > 0,
            "{api}: some numbers come as text, as the docs type them"
        );
    }
    let sales = sim.api_documents_at("orders.out.simple.query", now);
    assert!(sales
        .iter()
        .all(|d| d["shop_id"].is_i64() && d["o_id"].is_i64()));
    assert!(sales
        .iter()
        .any(|d| d["items"][0]["sale_price"].is_number()));
    let returns = sim.api_documents_at("aftersale.received.query", now);
    assert!(returns
        .iter()
        .all(|d| d["as_id"].is_i64() && d["type"].is_string()));
    let purchases = sim.api_documents_at("purchasein.query", now);
    assert!(purchases.iter().all(|d| d["supplier_id"].is_i64()
        && d["supplier_name"].is_string()
        && d["po_id"].is_i64()));
    let transfers = sim.api_documents_at("allocate.query", now);
    assert!(transfers
        .iter()
        .all(|d| d["link_warehouse"].is_string() && d["link_wh_id"] != d["wh_id"]));
    let skus = sim.api_documents_at(SKUS, now);
    assert_eq!(skus.len(), 300);
    assert!(skus
        .iter()
        .all(|s| s["sku_id"].is_string() && s["enabled"].is_i64()));
    assert!(
        skus.iter().any(|s| s["enabled"] != 1),
        "some SKUs are disabled"
    );
    sim.stop();
}

#[test]
fn upsert_into_an_api_shows_up_in_its_next_window_only() {
    let sim = fast_sim(30, "none");
    let store = Arc::new(MemoryTokens::new());
    let c = client(settings(&sim), &store);
    let t0 = now_unix();
    let mut doc = sim.api_documents_at("allocate.query", t0)[2].clone();
    doc["remark"] = json!("改过了");
    sim.upsert_into("allocate.query", doc.clone());
    let recent = window(t0 - 60, t0 + 60);
    let got = bounded(20, all_pages(&c, "allocate.query", &recent, 50)).expect("window");
    assert_eq!(keys(&got, "io_id"), keys(&[doc], "io_id"));
    assert_eq!(got[0]["remark"], "改过了");
    let other = bounded(20, all_pages(&c, "orders.out.simple.query", &recent, 50)).expect("other");
    assert!(other.is_empty(), "other APIs unchanged");
    sim.stop();
}
