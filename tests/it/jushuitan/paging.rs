//! Paging through windows, upserts, tokens and a large backfill.

use super::*;

#[test]
fn paging_through_windows_collects_every_document_exactly_once() {
    let sim = fast_sim(260, "none");
    let store = Arc::new(MemoryTokens::new());
    let c = client(settings(&sim), &store);
    let now = now_unix();
    let got = bounded(60, all_documents(&c, now, 32, 50)).expect("all documents");
    let want = sim.documents_at(now);
    assert_eq!(want.len(), 260);
    assert_eq!(
        ids(&got),
        ids(&want),
        "every document once, in (modified, io_id) order"
    );
    assert_eq!(got, want, "documents as the simulator holds them");
    // A filtered query (the returns scheme's params) and the shops.
    let mut biz = window(now - 7 * DAY, now);
    biz.insert("types".into(), json!(["其它进仓"]));
    let returns = bounded(30, all_pages(&c, INOUT, &biz, 50)).expect("returns");
    assert!(returns.iter().all(|d| d["type"] == "其它进仓"));
    let shops = bounded(30, all_pages(&c, "shops.query", &Map::new(), 4)).expect("shops");
    assert_eq!(shops, sim.shops());
    assert_eq!(shops[0]["shop_id"], 10178845);
    let page = bounded(
        10,
        c.query_page("shops.query", &Map::new(), "datas", 1, 100),
    )
    .expect("page");
    assert_eq!(
        (page.items.len(), page.has_next, page.data_count),
        (9, false, None)
    );
    sim.stop();
}

#[test]
fn upserted_document_shows_up_in_the_next_window_and_restart_keeps_the_world() {
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = JstSimOptions {
        docs: 40,
        per_second: 0,
        per_minute: 0,
        state_dir: Some(dir.path().join("jst")),
        ..Default::default()
    };
    let sim = start(opts.clone());
    let store = Arc::new(MemoryTokens::new());
    let c = client(settings(&sim), &store);
    let t0 = now_unix();
    let mut doc = sim.documents_at(t0)[3].clone();
    doc["remark"] = json!("改过了");
    sim.upsert(doc.clone());
    let got = bounded(20, all_pages(&c, INOUT, &window(t0 - 60, t0 + 60), 50)).expect("window");
    assert_eq!(ids(&got), vec![doc["io_id"].as_i64().unwrap_or(0)]);
    assert_eq!(got[0]["remark"], "改过了");
    let before = sim.documents_at(now_unix());
    let tokens = sim.valid_tokens();
    sim.stop();

    let sim = start(opts);
    assert_eq!(
        sim.documents_at(now_unix()),
        before,
        "same world after a restart"
    );
    let c = client(settings(&sim), &store);
    bounded(
        20,
        c.query_page(INOUT, &window(t0 - 60, t0 + 60), "datas", 1, 50),
    )
    .expect("old token still valid");
    assert_eq!(sim.valid_tokens(), tokens, "no new token was needed");
    sim.stop();
}

#[test]
fn tokens_init_persist_refresh_and_code_100() {
    let sim = start(JstSimOptions {
        docs: 20,
        per_second: 0,
        per_minute: 0,
        token_ttl: Duration::from_secs(4),
        ..Default::default()
    });
    let store = Arc::new(MemoryTokens::new());
    let now = now_unix();
    let biz = window(now - 7 * DAY, now);
    let first = client(settings(&sim), &store);
    bounded(20, first.query_page(INOUT, &biz, "datas", 1, 50)).expect("query with a new token");
    let t1: Tokens = store.get().expect("tokens saved");
    assert!(!t1.access_token.is_empty() && !t1.refresh_token.is_empty());
    assert!(t1.expires_at > now && t1.expires_at <= now_unix() + 4);
    assert!(
        !format!("{t1:?}").contains(&t1.access_token),
        "Debug hides tokens"
    );

    // A second client (a restart) takes the stored token: no getInitToken.
    let second = client(settings(&sim), &store);
    bounded(20, second.query_page(INOUT, &biz, "datas", 1, 50)).expect("stored token");
    assert_eq!(sim.valid_tokens(), 1);
    assert_eq!(
        second.tokens().map(|t| t.access_token),
        Some(t1.access_token.clone())
    );

    // Jushuitan forgets the token: code 100 → refresh → retry.
    sim.revoke_access_tokens();
    bounded(20, second.query_page(INOUT, &biz, "datas", 1, 50)).expect("refreshed after code 100");
    let t2 = store.get().expect("tokens");
    assert_ne!(t2.access_token, t1.access_token);
    assert_ne!(
        t2.refresh_token, t1.refresh_token,
        "refreshToken issued a new pair"
    );

    // Ahead of expiry (half of a 4 s lifetime) the client refreshes before calling.
    std::thread::sleep(Duration::from_millis(2200));
    bounded(20, second.query_page(INOUT, &biz, "datas", 1, 50)).expect("refreshed ahead of expiry");
    let t3 = store.get().expect("tokens");
    assert_ne!(t3.access_token, t2.access_token);
    assert!(t3.expires_at > t2.expires_at);

    // A configured token (a merchant-authorized app) that Jushuitan does not know, and no
    // refresh token: only a new authorization helps. getInitToken is for self-built apps only.
    let fresh = Arc::new(MemoryTokens::new());
    let mut s = settings(&sim);
    s.access_token = Some(Secret::new("0123456789abcdef0123456789abcdef"));
    let third = client(s, &fresh);
    let (init_before, _) = sim.token_calls();
    let e = bounded(20, third.query_page(INOUT, &biz, "datas", 1, 50)).expect_err("refused");
    assert!(e.is_permanent(), "{e}");
    let m = e.to_string();
    assert!(
        m.contains("access_token") && m.contains("Authorize the app again"),
        "{m}"
    );
    assert!(!m.contains("0123456789abcdef"), "no token in messages: {m}");
    assert_eq!(sim.token_calls().0, init_before, "no getInitToken");
    let problem = fresh.load_problem().expect("problem recorded");
    assert_eq!(problem.token, "access_token");

    // Wrong secret: a permanent error naming the call.
    let mut s = settings(&sim);
    s.app_secret = Secret::new("wrong");
    let bad = client(s, &Arc::new(MemoryTokens::new()));
    let e = bounded(20, bad.query_page(INOUT, &biz, "datas", 2, 50)).expect_err("bad secret");
    assert!(e.is_permanent(), "{e}");
    let m = e.to_string();
    assert!(
        m.contains("other.inout.query page 2") && m.contains("code 10"),
        "{m}"
    );
    assert!(!m.contains("wrong"), "no secret in messages: {m}");
    sim.stop();
}

#[test]
fn backfill_of_thousands_of_documents_is_fast() {
    let t0 = std::time::Instant::now();
    let sim = start(JstSimOptions {
        docs: 3000,
        lines: Some(5),
        per_second: 1_000_000,
        per_minute: 60_000_000,
        ..Default::default()
    });
    let generated = t0.elapsed();
    let mut s = settings(&sim);
    s.per_second = 1_000_000;
    s.per_minute = 60_000_000;
    let c = client(s, &Arc::new(MemoryTokens::new()));
    let now = now_unix();
    let t1 = std::time::Instant::now();
    let got = bounded(60, all_documents(&c, now, 32, 50)).expect("backfill");
    let took = t1.elapsed();
    assert_eq!(got.len(), 3000);
    assert!(got
        .iter()
        .all(|d| d["items"].as_array().is_some_and(|a| a.len() == 5)));
    eprintln!(
        "generated 3000 documents in {generated:?}; fetched them in {took:?} ({:.0} docs/s)",
        3000.0 / took.as_secs_f64()
    );
    assert!(took < Duration::from_secs(20), "{took:?}");
    sim.stop();
}
