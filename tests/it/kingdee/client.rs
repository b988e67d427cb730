//! Client against the simulator: auth modes, DIndex results, duplicates, queries, sessions.

use super::*;

#[test]
fn sdk_sign_vector() {
    let h = signed_headers(
        "200001_422C1/iIyuH4R+Ws526A2/yLyrX6RrOs",
        "fedcba9876543210fedcba9876543210",
        "65f0000000000a",
        "apiuser",
        2052,
        "0",
        "http://127.0.0.1:8080/k3cloud/Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.BatchSave.common.kdsvc",
        1_700_000_000,
    );
    let get = |k: &str| h.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(get("X-Api-ClientID"), Some("200001"));
    assert_eq!(
        get("X-Api-Signature"),
        Some("ZDEwYTM0YzVmNGE1YzM3MzkwMzM1ZmRkYjg2M2Q3NDFjMGY1NDNhNGZhZDM2ZmEwZTgzZGQwOWQ5M2QxNDU2MA==")
    );
    assert_eq!(
        get("X-Kd-Appdata"),
        Some("NjVmMDAwMDAwMDAwMGEsYXBpdXNlciwyMDUyLDA=")
    );
    assert_eq!(
        get("X-Kd-Signature"),
        Some("Y2VkM2RiZmY1NmY5NjM3OTlmYmI0OGI5NTcxYTZhNzg3YzkxNWU2OGJkYzAxZjJiOTA2ZDMwZjE5YTk1NGM0YQ==")
    );
}

#[tokio::test]
async fn every_auth_mode_saves_and_finds() {
    let s = sim(KdSimOptions::default());
    for (name, auth) in all_auths(&s) {
        let c = client_with(&s, auth, Duration::from_secs(10));
        let models = [
            stock_model(&format!("JSTSHOP-{name}-1"), "天猫旗舰店"),
            stock_model(&format!("JSTSHOP-{name}-2"), "京东自营"),
        ];
        let o = opts(&[("IsAutoSubmitAndAudit", json!(true))]);
        let r = c.batch_save(STOCK, &models, &o).await;
        let r = r.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            r.iter().all(|x| matches!(x, ItemResult::Saved { .. })),
            "{name}: {r:?}"
        );
        let wanted = vec![
            format!("JSTSHOP-{name}-1"),
            format!("JSTSHOP-{name}-2"),
            "JSTSHOP-none".to_string(),
        ];
        let found = c.find(STOCK, "FStockId", "FNumber", &wanted).await;
        let found = found.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(found.len(), 2, "{name}: {found:?}");
        let ItemResult::Saved { id, number } = &r[0] else {
            panic!("{name}")
        };
        assert_eq!(found.get(&wanted[0]), Some(&(id.clone(), number.clone())));
    }
    assert_eq!(s.count(STOCK), 8);
}

#[tokio::test]
async fn bad_credentials_are_permanent() {
    let s = sim(KdSimOptions::default());
    let wrong = Secret::new("0123456789abcdef0123456789abcdef");
    let cases = vec![
        Auth::Password {
            password: wrong.clone(),
        },
        Auth::Signed {
            app_id: s.app_id().into(),
            app_secret: wrong.clone(),
        },
        Auth::Sign {
            app_id: s.app_id().into(),
            app_secret: wrong,
        },
    ];
    for auth in cases {
        let c = client_with(&s, auth, Duration::from_secs(5));
        let r = c
            .batch_save(STOCK, &[stock_model("X", "x")], &Map::new())
            .await;
        assert!(matches!(r, Err(SinkError::Permanent(_))), "{r:?}");
    }
    let mut settings = client(&s).settings().clone();
    settings.acct_id = "no-such-dc".into();
    let c = Client::new(settings).unwrap_or_else(|e| panic!("{e}"));
    let r = c
        .find(STOCK, "FStockId", "FNumber", &["CK001".into()])
        .await;
    assert!(
        matches!(&r, Err(SinkError::Permanent(m)) if m.contains("thirty passport")),
        "{r:?}"
    );
    assert_eq!(s.count(STOCK), 0);
}

#[tokio::test]
async fn partial_success_by_dindex_with_chinese_messages_verbatim() {
    let s = sim(KdSimOptions::default());
    let c = client(&s);
    let mut bad = ret_model("JST-2", "CK002");
    if let Some(m) = bad.as_object_mut() {
        m.remove("FRetcustId");
    }
    let models = [
        ret_model("JST-1", "CK002"),
        bad,
        ret_model("JST-3", "CK999"),
    ];
    let o = opts(&[("IsVerifyBaseDataField", json!(true))]);
    let r = c
        .batch_save(RET, &models, &o)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(&r[0], ItemResult::Saved { number, .. } if number == "JST-1"));
    assert_eq!(
        r[1],
        ItemResult::Permanent {
            message: "字段“退货客户”是必填项".into()
        }
    );
    assert_eq!(
        r[2],
        ItemResult::Permanent {
            message: "单据体实体【明细信息】第【1】行分录，字段“仓库”的值“CK999”在基础资料中不存在或已禁用".into()
        }
    );
    assert_eq!(saved_numbers(&s, RET, "FBillNo"), vec!["JST-1"]);
    // Without IsVerifyBaseDataField the unknown stock is left empty, then required.
    let r = c
        .batch_save(RET, &[ret_model("JST-4", "CK999")], &Map::new())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        r,
        vec![ItemResult::Permanent {
            message: "单据体实体【明细信息】第【1】行分录，【仓库】字段必录".into()
        }]
    );
}

#[tokio::test]
async fn duplicates_are_already_exists_and_new_stocks_become_references() {
    let s = sim(KdSimOptions::default());
    let c = client(&s);
    let o = opts(&[("IsAutoSubmitAndAudit", json!(true))]);
    let r = c
        .batch_save(STOCK, &[stock_model("JSTSHOP10178845", "抖音小店")], &o)
        .await;
    assert!(
        matches!(r.as_deref(), Ok([ItemResult::Saved { .. }])),
        "{r:?}"
    );
    let again = [
        stock_model("JSTSHOP10178845", "抖音小店"),
        stock_model("JSTSHOP10178846", "拼多多"),
    ];
    let r = c
        .batch_save(STOCK, &again, &o)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        matches!(&r[0], ItemResult::AlreadyExists { message } if message.contains("JSTSHOP10178845")),
        "{r:?}"
    );
    assert!(matches!(&r[1], ItemResult::Saved { .. }));
    // The new stock is a valid reference for a bill.
    let o = opts(&[("IsVerifyBaseDataField", json!(true))]);
    let r = c
        .batch_save(RET, &[ret_model("JST-10001", "JSTSHOP10178846")], &o)
        .await;
    assert!(
        matches!(r.as_deref(), Ok([ItemResult::Saved { .. }])),
        "{r:?}"
    );
    let dup = c.save(RET, &ret_model("JST-10001", "CK001"), &o).await;
    assert!(
        matches!(dup, Ok(ItemResult::AlreadyExists { .. })),
        "{dup:?}"
    );
    assert_eq!(s.count(RET), 1);
}

#[tokio::test]
async fn queries_views_status_and_quotes() {
    let s = sim(KdSimOptions::default());
    let c = client(&s);
    let audited = opts(&[("IsAutoSubmitAndAudit", json!(true))]);
    let r = c.save(RET, &ret_model("JST-O'1", "CK001"), &audited).await;
    assert!(matches!(r, Ok(ItemResult::Saved { .. })), "{r:?}");
    let r = c.save(RET, &ret_model("JST-2", "CK001"), &Map::new()).await;
    assert!(matches!(r, Ok(ItemResult::Saved { .. })), "{r:?}");
    let rows = c
        .bill_query(&json!({"FormId": RET, "FieldKeys": "FBillNo,FDocumentStatus,FDate,FStockId.FNumber",
            "FilterString": "FBillNo in ('JST-O''1','JST-2')", "OrderString": "", "StartRow": 0, "Limit": 10}))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        rows,
        vec![
            json!({"FBillNo": "JST-O'1", "FDocumentStatus": "C", "FDate": "2026-09-03T00:00:00", "FStockId.FNumber": "CK001"}),
            json!({"FBillNo": "JST-2", "FDocumentStatus": "A", "FDate": "2026-09-03T00:00:00", "FStockId.FNumber": "CK001"}),
        ]
    );
    let found = c
        .find(RET, "FID", "FBillNo", &["JST-O'1".into(), "JST-3".into()])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(found.keys().collect::<Vec<_>>(), vec!["JST-O'1"]);
    let v = c.view(RET, "JST-2").await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        v.as_ref().and_then(|v| v.get("FHeadNote")),
        Some(&json!("聚水潭其它进仓 10001：退货"))
    );
    assert_eq!(c.view(RET, "JST-404").await, Ok(None));
    let bad = c
        .execute_bill_query(&json!({"FormId": "NO_SUCH_FORM", "FieldKeys": "FID"}))
        .await;
    assert!(
        matches!(&bad, Err(SinkError::Permanent(m)) if m.contains("标识为“NO_SUCH_FORM”的业务对象不存在")),
        "{bad:?}"
    );
    // Seeded base data is queryable too.
    let rows = c
        .execute_bill_query(&json!({"FormId": STOCK, "FieldKeys": "FNumber,FName",
            "FilterString": "FNumber like 'CK%'"}))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(rows.len(), 4);
    // Out-of-process view of the saved documents.
    let url = format!("{}_sim/saved?formid={RET}", s.base_url());
    let list: Vec<Value> = match reqwest::get(&url).await {
        Ok(r) => r.json().await.unwrap_or_default(),
        Err(e) => panic!("{e}"),
    };
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["FBillNo"], "JST-O'1");
}

#[tokio::test]
async fn session_loss_logs_in_again() {
    let s = sim(KdSimOptions {
        faults: "session-loss".into(),
        ..Default::default()
    });
    for (name, auth) in all_auths(&s) {
        let c = client_with(&s, auth, Duration::from_secs(10));
        for i in 0..12 {
            let no = format!("S-{name}-{i}");
            let r = c
                .batch_save(STOCK, &[stock_model(&no, "店")], &Map::new())
                .await;
            assert!(
                matches!(r.as_deref(), Ok([ItemResult::Saved { .. }])),
                "{name} {i}: {r:?}"
            );
        }
    }
    assert_eq!(s.count(STOCK), 48);
    // Sessions expired on the server between calls: login clients log in again.
    let s = sim(KdSimOptions::default());
    for (name, auth) in all_auths(&s) {
        let c = client_with(&s, auth, Duration::from_secs(10));
        for i in 0..3 {
            let no = format!("E-{name}-{i}");
            let r = c
                .batch_save(STOCK, &[stock_model(&no, "店")], &Map::new())
                .await;
            assert!(
                matches!(r.as_deref(), Ok([ItemResult::Saved { .. }])),
                "{name} {i}: {r:?}"
            );
            s.expire_sessions();
        }
    }
    assert_eq!(s.count(STOCK), 12);
}
