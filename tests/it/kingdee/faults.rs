//! Fault profiles, lost replies, restarts and throughput.

use super::*;

#[derive(Debug, Default)]
struct Stats {
    transient: usize,
    uncertain: usize,
    lookups: usize,
}

/// Delivers every model exactly once the way the pipeline does: retry transient failures, look
/// identities up after an uncertain outcome. Panics on permanent failures or no progress.
async fn deliver(c: &Client, models: &[Value], batch: usize) -> Stats {
    let ids: Vec<String> = models
        .iter()
        .map(|m| m["FBillNo"].as_str().unwrap_or("").to_string())
        .collect();
    let mut done: HashSet<usize> = HashSet::new();
    let mut stats = Stats::default();
    let deadline = Instant::now() + Duration::from_secs(60);
    while done.len() < models.len() {
        assert!(Instant::now() < deadline, "no progress: {stats:?}");
        let chunk: Vec<usize> = (0..models.len())
            .filter(|i| !done.contains(i))
            .take(batch)
            .collect();
        let ms: Vec<Value> = chunk.iter().map(|i| models[*i].clone()).collect();
        match c.batch_save(RET, &ms, &Map::new()).await {
            Ok(results) => {
                for (i, r) in chunk.iter().zip(results) {
                    match r {
                        ItemResult::Saved { .. } | ItemResult::AlreadyExists { .. } => {
                            done.insert(*i);
                        }
                        ItemResult::Transient { .. } => stats.transient += 1,
                        ItemResult::Permanent { message } => panic!("{message}"),
                    }
                }
            }
            Err(SinkError::Transient(_)) => stats.transient += 1,
            Err(SinkError::Uncertain(_)) => {
                stats.uncertain += 1;
                let wanted: Vec<String> = chunk.iter().map(|i| ids[*i].clone()).collect();
                let found: HashMap<String, (String, String)> = loop {
                    assert!(Instant::now() < deadline, "lookups fail: {stats:?}");
                    stats.lookups += 1;
                    match c.find(RET, "FID", "FBillNo", &wanted).await {
                        Ok(f) => break f,
                        Err(SinkError::Permanent(m)) => panic!("{m}"),
                        Err(_) => continue,
                    }
                };
                for i in &chunk {
                    if found.contains_key(&ids[*i]) {
                        done.insert(*i);
                    }
                }
            }
            Err(SinkError::Permanent(m)) => panic!("{m}"),
        }
    }
    stats
}

/// Each fault profile: everything arrives exactly once (the simulator accepts duplicates here,
/// so a double post would show as a second copy).
#[tokio::test]
async fn fault_profiles_deliver_exactly_once() {
    for profile in [
        "none",
        "latency",
        "timeouts",
        "http5xx",
        "response-error",
        "session-loss",
        "lost-reply",
        "rate-storm",
        "chaos",
    ] {
        let s = sim(KdSimOptions {
            faults: profile.into(),
            seed: 7,
            reject_duplicates: false,
            stall: Duration::from_millis(700),
            ..Default::default()
        });
        let c = client_with(
            &s,
            Auth::Password {
                password: Secret::new(s.password()),
            },
            Duration::from_millis(400),
        );
        let models: Vec<Value> = (0..40)
            .map(|i| ret_model(&format!("JST-{}", 10001 + i), "CK002"))
            .collect();
        let stats = deliver(&c, &models, 4).await;
        let mut got = saved_numbers(&s, RET, "FBillNo");
        got.sort();
        let mut want: Vec<String> = models
            .iter()
            .map(|m| m["FBillNo"].as_str().unwrap_or("").to_string())
            .collect();
        want.sort();
        assert_eq!(got, want, "{profile}: {stats:?}");
        match profile {
            "timeouts" | "lost-reply" => assert!(stats.uncertain > 0, "{profile}: {stats:?}"),
            "http5xx" | "response-error" | "rate-storm" => {
                assert!(stats.transient > 0, "{profile}: {stats:?}")
            }
            _ => {}
        }
        s.stop();
    }
}

#[tokio::test]
async fn lost_reply_is_uncertain_then_found() {
    let s = sim(KdSimOptions {
        faults: "lost-reply".into(),
        stall: Duration::from_millis(600),
        reject_duplicates: false,
        ..Default::default()
    });
    let c = client_with(&s, signed(&s), Duration::from_millis(300));
    let mut seen = false;
    for i in 0..40 {
        let no = format!("JST-{}", 20001 + i);
        match c
            .batch_save(RET, &[ret_model(&no, "CK001")], &Map::new())
            .await
        {
            Ok(_) => {}
            Err(SinkError::Uncertain(_)) => {
                let f = c
                    .find(RET, "FID", "FBillNo", std::slice::from_ref(&no))
                    .await;
                let f = f.unwrap_or_else(|e| panic!("{e}"));
                assert!(f.contains_key(&no), "lost reply was not saved");
                seen = true;
                break;
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert!(seen, "no lost reply in 40 saves");
    // Queries that time out are transient, never uncertain.
    let t = sim(KdSimOptions {
        faults: "timeouts".into(),
        stall: Duration::from_millis(600),
        ..Default::default()
    });
    let c = client_with(&t, signed(&t), Duration::from_millis(300));
    let mut kinds = HashSet::new();
    for _ in 0..20 {
        match c
            .find(STOCK, "FStockId", "FNumber", &["CK001".into()])
            .await
        {
            Ok(f) => assert_eq!(f.len(), 1),
            Err(SinkError::Transient(_)) => {
                kinds.insert("transient");
            }
            Err(e) => panic!("{e:?}"),
        }
    }
    assert!(kinds.contains("transient"));
}

#[tokio::test]
async fn restart_with_the_same_state_dir_keeps_saves() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let s = sim(KdSimOptions {
        state_dir: Some(dir.path().to_path_buf()),
        ..Default::default()
    });
    let c = client(&s);
    let r = c.save(RET, &ret_model("JST-7", "CK001"), &Map::new()).await;
    assert!(matches!(r, Ok(ItemResult::Saved { .. })), "{r:?}");
    s.stop();
    let s = sim(KdSimOptions {
        state_dir: Some(dir.path().to_path_buf()),
        ..Default::default()
    });
    assert_eq!(s.count(RET), 1);
    let c = client(&s);
    let r = c.save(RET, &ret_model("JST-7", "CK001"), &Map::new()).await;
    assert!(matches!(r, Ok(ItemResult::AlreadyExists { .. })), "{r:?}");
    let r = c.save(RET, &ret_model("JST-8", "CK001"), &Map::new()).await;
    let Ok(ItemResult::Saved { id, .. }) = r else {
        panic!("second save failed: {r:?}")
    };
    let first = s.saved(RET).first().and_then(|m| m["FID"].as_u64());
    assert!(
        id.parse::<u64>().ok() > first,
        "ids are not reused: {id} {first:?}"
    );
}

#[test]
fn bad_options_are_errors() {
    let r = start(KdSimOptions {
        faults: "bogus".into(),
        ..Default::default()
    });
    assert!(matches!(&r, Err(e) if e.to_string().contains("bogus")));
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let pem = dir.path().join("ca.pem");
    let _ = std::fs::write(&pem, "not a certificate");
    for ca in [dir.path().join("missing.pem"), pem] {
        let r = Client::new(ClientSettings {
            base_url: "https://127.0.0.1:1/k3cloud/".into(),
            acct_id: "a".into(),
            user: "u".into(),
            lcid: 2052,
            org_num: "0".into(),
            auth: Auth::Password {
                password: Secret::new("p"),
            },
            connect_timeout: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
            ca_file: Some(ca),
            accept_invalid_certs: false,
            max_response_mb: 32,
        });
        assert!(matches!(r, Err(SinkError::Permanent(_))));
    }
}

#[tokio::test]
async fn throughput_of_batch_saves() {
    let s = sim(KdSimOptions::default());
    let c = client(&s);
    let n = 2000;
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..4 {
        let c = c.clone();
        tasks.push(tokio::spawn(async move {
            for b in 0..(n / 4 / 50) {
                let models: Vec<Value> = (0..50)
                    .map(|i| ret_model(&format!("P-{w}-{b}-{i}"), "CK001"))
                    .collect();
                let r = c.batch_save(RET, &models, &Map::new()).await;
                assert!(matches!(&r, Ok(v) if v.len() == 50), "{r:?}");
            }
        }));
    }
    for t in tasks {
        assert!(t.await.is_ok());
    }
    let secs = t0.elapsed().as_secs_f64();
    eprintln!("{n} docs in {secs:.2}s = {:.0} docs/s", n as f64 / secs);
    assert_eq!(s.count(RET), n);
}
