//! Unit tests: each transition, dedupe rules, indexes and counters after every step.

use super::*;

mod format;
mod upkeep;

fn open() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(dir.path()).unwrap();
    (dir, s)
}

/// Reopens the store in `dir`.
fn reopen(dir: &tempfile::TempDir, s: Store) -> Store {
    drop(s);
    Store::open(dir.path()).unwrap()
}

fn doc(key: &str, lines: &[&str], fp: u64) -> Ingest {
    Ingest::New(NewEntry {
        source_key: key.into(),
        identity: format!("JST-{key}"),
        line_keys: lines.iter().map(|s| s.to_string()).collect(),
        model: format!("{{\"FBillNo\":\"JST-{key}\",\"v\":{fp}}}").into_bytes(),
        fingerprint: fp,
    })
}

const S: &str = "returns";
const F: &str = "SAL_RETURNSTOCK";

fn ok(s: &Store) {
    assert_eq!(s.check_consistency().unwrap(), Problems::new());
}

fn ingest(s: &Store, items: Vec<Ingest>) -> IngestReport {
    let r = s.ingest(S, F, items, OnChange::Record).unwrap();
    ok(s);
    r
}

fn send(s: &Store, id: u64) -> OutboxEntry {
    let b = s.next_batch_id().unwrap();
    let e = s.begin_send(&[id], b).unwrap().remove(0);
    ok(s);
    e
}

fn delivered(n: &str) -> Finish {
    Finish::Delivered {
        kingdee_id: format!("K{n}"),
        number: format!("JST-{n}"),
    }
}

#[test]
fn new_document_is_pending_and_due() {
    let (_d, s) = open();
    let r = ingest(&s, vec![doc("1", &["a", "b"], 11), doc("2", &["c"], 12)]);
    assert_eq!((r.new, r.unchanged), (2, 0));
    let e = s.find(S, "1").unwrap().unwrap();
    assert_eq!(e.state, Delivery::Pending);
    assert_eq!(e.model_json().unwrap()["FBillNo"], "JST-1");
    assert_eq!(s.counts(S).unwrap().pending, 2);
    let due = s.due(Some(F), crate::time::now_unix(), 10).unwrap();
    assert_eq!(
        due.iter()
            .map(|e| e.source_key.as_str())
            .collect::<Vec<_>>(),
        ["1", "2"]
    );
    assert_eq!(s.due(None, crate::time::now_unix(), 1).unwrap().len(), 1);
    assert!(s.due(Some("OTHER"), i64::MAX, 10).unwrap().is_empty());
    assert_eq!(s.schemes().unwrap(), vec![(S.to_string(), F.to_string())]);
    assert!(matches!(
        s.trace(S, "1").unwrap()[0].kind,
        TraceKind::Ingested {
            fingerprint: 11,
            ..
        }
    ));
}

#[test]
fn unchanged_is_skipped_and_changed_pending_is_replaced_in_place() {
    let (_d, s) = open();
    ingest(&s, vec![doc("1", &["a"], 11)]);
    let id = s.find(S, "1").unwrap().unwrap().id;
    let r = ingest(&s, vec![doc("1", &["a"], 11)]);
    assert_eq!((r.new, r.unchanged), (0, 1));
    assert_eq!(s.trace(S, "1").unwrap().len(), 1);
    let r = ingest(&s, vec![doc("1", &["a2"], 12)]);
    assert_eq!(r.updated_pending, 1);
    let e = s.find(S, "1").unwrap().unwrap();
    assert_eq!(
        (e.id, e.fingerprint, e.line_keys.clone()),
        (id, 12, vec!["a2".to_string()])
    );
    // The old line key is free again.
    assert_eq!(ingest(&s, vec![doc("2", &["a"], 13)]).new, 1);
    assert_eq!(s.counts(S).unwrap().pending, 2);
}

#[test]
fn send_then_deliver() {
    let (_d, s) = open();
    ingest(&s, vec![doc("1", &["a"], 11)]);
    let id = s.find(S, "1").unwrap().unwrap().id;
    let e = send(&s, id);
    assert!(matches!(e.state, Delivery::InFlight { .. }));
    assert_eq!(e.attempts, 1);
    assert_eq!(s.in_flight().unwrap().len(), 1);
    assert!(s.due(None, i64::MAX, 10).unwrap().is_empty());
    let again = s.begin_send(&[id], 99).unwrap_err();
    assert!(matches!(again, StoreError::InvalidTransition { from, .. } if from == "InFlight"));
    s.finish(vec![(id, delivered("1"))]).unwrap();
    ok(&s);
    let e = s.get(id).unwrap().unwrap();
    assert!(matches!(e.state, Delivery::Delivered { ref number, .. } if number == "JST-1"));
    let c = s.counts(S).unwrap();
    assert_eq!((c.delivered, c.in_flight, c.pending), (1, 0, 0));
    assert!(matches!(
        s.finish(vec![(id, Finish::Pending)]),
        Err(StoreError::InvalidTransition { .. })
    ));
    assert!(matches!(
        s.finish(vec![(424242, Finish::Pending)]),
        Err(StoreError::NotFound(424242))
    ));
    let kinds: Vec<_> = s
        .trace(S, "1")
        .unwrap()
        .into_iter()
        .map(|t| t.kind)
        .collect();
    assert!(matches!(kinds[1], TraceKind::Sent { attempt: 1, .. }));
    assert!(matches!(kinds[2], TraceKind::Delivered { .. }));
}

#[test]
fn retry_waits_for_its_due_time() {
    let (_d, s) = open();
    ingest(&s, vec![doc("1", &[], 11)]);
    let id = s.find(S, "1").unwrap().unwrap().id;
    send(&s, id);
    let now = crate::time::now_unix();
    s.finish(vec![(
        id,
        Finish::Retry {
            due: now + 100,
            error: "timeout".into(),
        },
    )])
    .unwrap();
    ok(&s);
    assert!(s.due(Some(F), now, 10).unwrap().is_empty());
    assert_eq!(s.due(Some(F), now + 100, 10).unwrap()[0].id, id);
    assert_eq!(s.counts(S).unwrap().retry, 1);
    let e = send(&s, id);
    assert_eq!(e.attempts, 2);
}

#[test]
fn invalid_send_changes_nothing() {
    let (_d, s) = open();
    ingest(&s, vec![doc("1", &[], 11), doc("2", &[], 12)]);
    let a = s.find(S, "1").unwrap().unwrap().id;
    let b = s.find(S, "2").unwrap().unwrap().id;
    send(&s, b);
    assert!(s.begin_send(&[a, b], 7).is_err());
    assert_eq!(s.get(a).unwrap().unwrap().state, Delivery::Pending);
    ok(&s);
}

#[test]
fn dead_then_replay() {
    let (_d, s) = open();
    ingest(&s, vec![doc("1", &["a"], 11)]);
    let id = s.find(S, "1").unwrap().unwrap().id;
    send(&s, id);
    s.finish(vec![(
        id,
        Finish::Dead {
            error: "物料不存在".into(),
        },
    )])
    .unwrap();
    ok(&s);
    let dead = s.dead_letters(Some(S)).unwrap();
    assert_eq!(dead.len(), 1);
    assert!(s.dead_letters(Some("other")).unwrap().is_empty());
    assert!(matches!(
        s.replay(dead[0].id + 1000),
        Err(StoreError::NotFound(_))
    ));
    let e = s.replay(id).unwrap();
    ok(&s);
    assert_eq!((e.state.clone(), e.attempts), (Delivery::Pending, 0));
    assert!(s.dead_letters(None).unwrap().is_empty());
    assert!(matches!(
        s.replay(id),
        Err(StoreError::InvalidTransition { .. })
    ));
    assert!(matches!(
        s.trace(S, "1").unwrap().last().unwrap().kind,
        TraceKind::Replayed
    ));
}

#[test]
fn change_after_delivery_is_recorded_not_reposted() {
    let (_d, s) = open();
    ingest(&s, vec![doc("1", &["a"], 11)]);
    let id = s.find(S, "1").unwrap().unwrap().id;
    send(&s, id);
    s.finish(vec![(id, delivered("1"))]).unwrap();
    let r = ingest(&s, vec![doc("1", &["a"], 12)]);
    assert_eq!((r.changed_after_delivery, r.new), (1, 0));
    let e = s.get(id).unwrap().unwrap();
    assert!(e.changed_after_delivery && matches!(e.state, Delivery::Delivered { .. }));
    assert_eq!(ingest(&s, vec![doc("1", &["a"], 12)]).unchanged, 1);
    ingest(&s, vec![doc("1", &["a"], 13)]);
    let c = s.counts(S).unwrap();
    assert_eq!(
        (c.delivered, c.changed_after_delivery, c.total()),
        (1, 1, 1)
    );
    assert!(s.due(None, i64::MAX, 10).unwrap().is_empty());
}

#[test]
fn change_after_delivery_dead_letter_mode() {
    let (_d, s) = open();
    ingest(&s, vec![doc("1", &["a"], 11)]);
    let id = s.find(S, "1").unwrap().unwrap().id;
    send(&s, id);
    s.finish(vec![(id, delivered("1"))]).unwrap();
    let r = s
        .ingest(S, F, vec![doc("1", &["a"], 12)], OnChange::DeadLetter)
        .unwrap();
    ok(&s);
    assert_eq!(r.changed_after_delivery, 1);
    let dead = s.dead_letters(Some(S)).unwrap();
    assert_eq!(dead.len(), 1);
    let Delivery::Dead { error, .. } = &dead[0].state else {
        panic!()
    };
    assert!(
        error.contains("changed after delivery") && error.contains("000000000000000b"),
        "{error}"
    );
    assert_eq!(s.find(S, "1").unwrap().unwrap().id, id);
    assert!(matches!(
        s.replay(dead[0].id),
        Err(StoreError::InvalidTransition { .. })
    ));
    assert!(matches!(
        s.dismiss(id),
        Err(StoreError::InvalidTransition { .. })
    ));
    s.dismiss(dead[0].id).unwrap();
    ok(&s);
    assert_eq!(s.counts(S).unwrap().dead, 0);
}

#[test]
fn line_key_conflict_makes_a_dead_letter() {
    let (_d, s) = open();
    ingest(&s, vec![doc("1", &["a", "b"], 11)]);
    let r = ingest(&s, vec![doc("2", &["c", "b"], 12)]);
    assert_eq!((r.new, r.line_key_conflicts), (0, 1));
    let e2 = s.find(S, "2").unwrap().unwrap();
    let Delivery::Dead { error, .. } = &e2.state else {
        panic!("{e2:?}")
    };
    assert!(
        error.contains("line key b") && error.contains("document 1"),
        "{error}"
    );
    // Same form only: another form may reuse the key.
    assert_eq!(
        s.ingest(
            "other",
            "OTHER_FORM",
            vec![doc("9", &["b"], 1)],
            OnChange::Record
        )
        .unwrap()
        .new,
        1
    );
    // Replay is refused while the owner is live, allowed once the owner is dead.
    assert!(matches!(
        s.replay(e2.id),
        Err(StoreError::LineKeyConflict { .. })
    ));
    let id1 = s.find(S, "1").unwrap().unwrap().id;
    send(&s, id1);
    s.finish(vec![(
        id1,
        Finish::Dead {
            error: "bad".into(),
        },
    )])
    .unwrap();
    s.replay(e2.id).unwrap();
    ok(&s);
    assert!(matches!(
        s.replay(id1),
        Err(StoreError::LineKeyConflict { .. })
    ));
}

#[test]
fn line_key_conflict_within_one_page() {
    let (_d, s) = open();
    let r = ingest(&s, vec![doc("1", &["a"], 11), doc("2", &["a"], 12)]);
    assert_eq!((r.new, r.line_key_conflicts), (1, 1));
}

#[test]
fn failed_then_fixed() {
    let (_d, s) = open();
    let failed = |e: &str| Ingest::Failed {
        source_key: "1".into(),
        error: e.into(),
        source: Vec::new(),
    };
    assert_eq!(ingest(&s, vec![failed("no warehouse")]).failed, 1);
    ingest(&s, vec![failed("no warehouse")]);
    ingest(&s, vec![failed("no customer")]);
    let dead = s.dead_letters(None).unwrap();
    assert_eq!(dead.len(), 1);
    assert!(matches!(&dead[0].state, Delivery::Dead { error, .. } if error == "no customer"));
    assert!(matches!(
        s.replay(dead[0].id),
        Err(StoreError::InvalidTransition { .. })
    ));
    assert_eq!(s.trace(S, "1").unwrap().len(), 2);
    let r = ingest(&s, vec![doc("1", &["a"], 11)]);
    assert_eq!(r.revived, 1);
    let e = s.find(S, "1").unwrap().unwrap();
    assert_eq!((e.id, e.state), (dead[0].id, Delivery::Pending));
    // A pending document that now fails mapping is not posted.
    ingest(&s, vec![failed("broken")]);
    assert_eq!(s.counts(S).unwrap().dead, 1);
    assert_eq!(ingest(&s, vec![doc("1", &["a"], 11)]).revived, 1);
}

#[test]
fn filtered_is_counted_once_and_cleared_when_mapped() {
    let (_d, s) = open();
    let filt = || Ingest::Filtered {
        source_key: "1".into(),
        reason: "status is not Confirmed".into(),
    };
    ingest(&s, vec![filt()]);
    ingest(&s, vec![filt()]);
    assert_eq!(s.counts(S).unwrap().filtered, 1);
    assert_eq!(s.trace(S, "1").unwrap().len(), 1);
    ingest(&s, vec![doc("1", &[], 11)]);
    assert_eq!(s.counts(S).unwrap().filtered, 0);
    // Filtered again before it was sent: not posted.
    ingest(&s, vec![filt()]);
    assert_eq!(s.counts(S).unwrap().dead, 1);
    assert_eq!(ingest(&s, vec![doc("1", &[], 11)]).revived, 1);
}

#[test]
fn inflight_survives_reopen_and_reconciles() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, batch) = {
        let s = Store::open(dir.path()).unwrap();
        ingest(&s, vec![doc("1", &[], 11), doc("2", &[], 12)]);
        let a = s.find(S, "1").unwrap().unwrap().id;
        let b = s.find(S, "2").unwrap().unwrap().id;
        let batch = s.next_batch_id().unwrap();
        s.begin_send(&[a, b], batch).unwrap();
        s.set_checkpoint(S, 1234).unwrap();
        s.meta_put("token", b"xyz").unwrap();
        (a, b, batch)
    };
    let s = Store::open(dir.path()).unwrap();
    ok(&s);
    assert_eq!(s.in_flight().unwrap().len(), 2);
    assert_eq!(s.checkpoint(S).unwrap(), Some(1234));
    assert_eq!(s.checkpoint("x").unwrap(), None);
    assert_eq!(s.meta_get("token").unwrap().as_deref(), Some(&b"xyz"[..]));
    assert!(s.next_batch_id().unwrap() > batch);
    s.finish(vec![(a, delivered("1")), (b, Finish::Pending)])
        .unwrap();
    ok(&s);
    assert_eq!(s.due(None, i64::MAX, 10).unwrap()[0].id, b);
    assert!(matches!(
        s.trace(S, "2").unwrap().last().unwrap().kind,
        TraceKind::Requeued
    ));
}

#[test]
fn trace_is_bounded() {
    let (_d, s) = open();
    for fp in 1..=50u64 {
        s.ingest(S, F, vec![doc("1", &[], fp)], OnChange::Record)
            .unwrap();
    }
    let t = s.trace(S, "1").unwrap();
    assert_eq!(t.len(), TRACE_KEEP as usize);
    assert_eq!(t.last().unwrap().seq, 49);
    assert!(t.windows(2).all(|w| w[0].seq + 1 == w[1].seq));
}

#[test]
fn due_merges_forms_oldest_first() {
    let (_d, s) = open();
    s.ingest("a", "FA", vec![doc("1", &[], 1)], OnChange::Record)
        .unwrap();
    s.ingest("b", "FB", vec![doc("2", &[], 2)], OnChange::Record)
        .unwrap();
    let id1 = s.find("a", "1").unwrap().unwrap().id;
    send(&s, id1);
    s.finish(vec![(
        id1,
        Finish::Retry {
            due: 5,
            error: "x".into(),
        },
    )])
    .unwrap();
    let due = s.due(None, i64::MAX, 10).unwrap();
    assert_eq!(
        due.iter()
            .map(|e| e.source_key.as_str())
            .collect::<Vec<_>>(),
        ["1", "2"]
    );
    assert_eq!(s.due(None, 4, 10).unwrap().len(), 0);
}

#[test]
fn in_flight_pages_follow_the_index_without_models() {
    let (_d, s) = open();
    let keys: Vec<String> = (0..25).map(|i| i.to_string()).collect();
    ingest(&s, keys.iter().map(|k| doc(k, &[], 1)).collect());
    let mut ids: Vec<u64> = keys
        .iter()
        .map(|k| s.find(S, k).unwrap().unwrap().id)
        .collect();
    ids.sort_unstable();
    // Every other entry in flight; one of those settled again.
    let sent: Vec<u64> = ids.iter().copied().step_by(2).collect();
    s.begin_send(&sent, 1).unwrap();
    s.finish(vec![(sent[3], delivered("x"))]).unwrap();
    ok(&s);
    let want: Vec<u64> = sent.iter().copied().filter(|id| *id != sent[3]).collect();
    let (mut got, mut after) = (Vec::new(), None);
    for _ in 0..10 {
        let page = s.in_flight_after(after, 4).unwrap();
        assert!(page.len() <= 4);
        assert!(page
            .iter()
            .all(|e| e.model.is_empty() && e.identity.starts_with("JST-")));
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        got.extend(page.iter().map(|e| e.id));
    }
    assert_eq!(got, want);
    // The full list keeps the models.
    let all = s.in_flight().unwrap();
    assert_eq!(all.iter().map(|e| e.id).collect::<Vec<_>>(), want);
    assert!(all.iter().all(|e| !e.model.is_empty()));
}
