//! Window and page limits, rate limits and the 199 back-off.

use super::*;

#[test]
fn simulator_refuses_long_windows_and_big_pages() {
    let sim = fast_sim(30, "none");
    let c = client(settings(&sim), &Arc::new(MemoryTokens::new()));
    let now = now_unix();
    let e = bounded(
        20,
        c.query_page(INOUT, &window(now - 7 * DAY - 1, now), "datas", 1, 50),
    )
    .expect_err("8 days");
    let m = e.to_string();
    assert!(
        e.is_permanent() && m.contains("code 140") && m.contains("七天") && m.contains("page 1"),
        "{m}"
    );
    bounded(
        20,
        c.query_page(INOUT, &window(now - 7 * DAY, now), "datas", 1, 50),
    )
    .expect("exactly 7 days is fine");
    let e = bounded(
        20,
        c.query_page(INOUT, &window(now - DAY, now), "datas", 1, 51),
    )
    .expect_err("page size 51");
    assert!(
        e.is_permanent() && e.to_string().contains("page_size"),
        "{e}"
    );
    let e = bounded(
        20,
        c.query_page("shops.query", &Map::new(), "datas", 1, 101),
    )
    .expect_err("101 shops");
    assert!(
        e.is_permanent() && e.to_string().contains("page_size"),
        "{e}"
    );
    bounded(
        20,
        c.query_page("shops.query", &Map::new(), "datas", 1, 100),
    )
    .expect("100 shops");
    let e = bounded(20, c.query_page(INOUT, &Map::new(), "datas", 1, 50)).expect_err("no window");
    assert!(e.is_permanent(), "{e}");
    let e = bounded(20, c.query_page("no.such.api", &Map::new(), "datas", 1, 50))
        .expect_err("unknown API");
    assert!(
        e.is_permanent() && e.to_string().contains("code 190"),
        "{e}"
    );
    sim.stop();
}

#[test]
fn client_never_exceeds_the_rate_limits() {
    let sim = start(JstSimOptions {
        docs: 30,
        per_second: 5,
        per_minute: 100,
        ..Default::default()
    });
    let mut s = settings(&sim);
    s.per_second = 5;
    s.per_minute = 100;
    let c = client(s, &Arc::new(MemoryTokens::new()));
    let now = now_unix();
    let calls = Arc::new(AtomicUsize::new(0));
    let run = async {
        let mut tasks = Vec::new();
        for _ in 0..3 {
            let (c, calls) = (c.clone(), calls.clone());
            tasks.push(tokio::spawn(async move {
                for _ in 0..10 {
                    c.query_page(INOUT, &window(now - DAY, now), "datas", 1, 50)
                        .await?;
                    calls.fetch_add(1, Ordering::SeqCst);
                }
                Ok::<(), SourceError>(())
            }));
        }
        for t in tasks {
            t.await.expect("task").expect("queries");
        }
    };
    bounded(60, run);
    assert_eq!(calls.load(Ordering::SeqCst), 30);
    assert!(
        sim.max_per_second() <= 5,
        "{} per second",
        sim.max_per_second()
    );
    assert!(
        sim.max_per_second() >= 4,
        "the client should not crawl either"
    );
    assert!(sim.max_per_minute() <= 100);
    sim.stop();
}

#[test]
fn client_backs_off_when_the_server_says_199() {
    let sim = start(JstSimOptions {
        docs: 10,
        per_second: 3,
        per_minute: 1000,
        ..Default::default()
    });
    let mut s = settings(&sim);
    s.per_second = 50; // more than the server allows: it answers 199
    s.rate_backoff = Duration::from_millis(300);
    let c = client(s, &Arc::new(MemoryTokens::new()));
    let now = now_unix();
    bounded(60, async {
        for _ in 0..10 {
            c.query_page(INOUT, &window(now - DAY, now), "datas", 1, 50)
                .await
                .expect("query");
        }
    });
    sim.stop();
}
