//! Store upkeep (pruning delivered entries) and backups.

use super::*;

/// Ingests documents `keys` (two line keys each), sends and delivers them.
fn deliver_all(s: &Store, keys: &[&str]) -> Vec<u64> {
    let items = keys
        .iter()
        .map(|k| doc(k, &[&format!("{k}-a"), &format!("{k}-b")], fp_of(k)))
        .collect();
    ingest(s, items);
    let ids: Vec<u64> = keys
        .iter()
        .map(|k| s.find(S, k).unwrap().unwrap().id)
        .collect();
    let b = s.next_batch_id().unwrap();
    s.begin_send(&ids, b).unwrap();
    s.finish(
        ids.iter()
            .zip(keys)
            .map(|(id, k)| (*id, delivered(k)))
            .collect(),
    )
    .unwrap();
    ok(s);
    ids
}

fn fp_of(key: &str) -> u64 {
    crate::mapping::fnv1a64(key.as_bytes())
}

/// Prunes everything delivered before `before`, a step of `limit` at a time; (pruned, steps).
fn prune_all(s: &Store, before: i64, limit: usize) -> (u64, usize) {
    let (mut pruned, mut steps, mut after) = (0, 0, None);
    loop {
        let step = s.prune_delivered(before, after, limit).unwrap();
        assert!(step.pruned as usize <= limit + 15, "{step:?}");
        pruned += step.pruned;
        steps += 1;
        ok(s);
        match step.next {
            Some(n) => after = Some(n),
            None => return (pruned, steps),
        }
        assert!(steps < 10_000);
    }
}

fn later() -> i64 {
    crate::time::now_unix() + 10
}

#[test]
fn pruned_delivered_entries_lose_model_and_trace_and_keep_their_dedupe() {
    let (_d, s) = open();
    let ids = deliver_all(&s, &["10", "11", "12"]);
    // Not delivered: kept whole.
    ingest(&s, vec![doc("20", &["20-a"], 20)]);
    s.ingest(
        S,
        F,
        vec![Ingest::Failed {
            source_key: "21".into(),
            error: "lookup warehouse: no key X".into(),
            source: br#"{"io_id":21}"#.to_vec(),
        }],
        OnChange::Record,
    )
    .unwrap();
    let before_counts = s.counts(S).unwrap();
    assert!(!s.trace(S, "10").unwrap().is_empty());

    // Delivered just now: a cutoff in the past prunes nothing.
    assert_eq!(prune_all(&s, crate::time::now_unix() - 60, 100).0, 0);
    assert!(!s.get(ids[0]).unwrap().unwrap().model.is_empty());

    assert_eq!(prune_all(&s, later(), 100).0, 3);
    for (id, key) in ids.iter().zip(["10", "11", "12"]) {
        let e = s.get(*id).unwrap().unwrap();
        assert!(e.model.is_empty(), "model of {key} kept");
        assert!(s.trace(S, key).unwrap().is_empty(), "trace of {key} kept");
        let Delivery::Delivered { number, .. } = &e.state else {
            panic!("{e:?}")
        };
        assert_eq!(*number, format!("JST-{key}"));
        assert_eq!(s.find(S, key).unwrap().unwrap().id, *id);
    }
    let pending = s.find(S, "20").unwrap().unwrap();
    assert!(!pending.model.is_empty() && !s.trace(S, "20").unwrap().is_empty());
    assert!(!s.trace(S, "21").unwrap().is_empty());
    let failed = s.find(S, "21").unwrap().unwrap().id;
    assert!(
        s.source_of(failed).unwrap().is_some(),
        "a dead letter keeps its source"
    );
    assert_eq!(s.counts(S).unwrap(), before_counts);
    // A second pass finds nothing left to do.
    assert_eq!(prune_all(&s, later(), 100).0, 0);

    // Sent again unchanged: skipped, nothing queued.
    let r = ingest(&s, vec![doc("10", &["10-a", "10-b"], fp_of("10"))]);
    assert_eq!((r.unchanged, r.new), (1, 0));
    // Changed after delivery: recorded, not re-posted.
    let r = ingest(&s, vec![doc("11", &["11-a", "11-b"], 99)]);
    assert_eq!(
        (r.changed_after_delivery, r.new, r.updated_pending),
        (1, 0, 0)
    );
    let e = s.get(ids[1]).unwrap().unwrap();
    assert!(e.changed_after_delivery && matches!(e.state, Delivery::Delivered { .. }));
    // Another document with a line of a pruned delivered one is not posted.
    let r = ingest(&s, vec![doc("30", &["12-b"], 30)]);
    assert_eq!(r.line_key_conflicts, 1);
    let due: Vec<String> = s
        .due(None, i64::MAX, 100)
        .unwrap()
        .into_iter()
        .map(|e| e.source_key)
        .collect();
    assert_eq!(due, ["20"]);
    // In dead-letter mode the change is reported with the new model.
    let r = s
        .ingest(
            S,
            F,
            vec![doc("12", &["12-a", "12-b"], 98)],
            OnChange::DeadLetter,
        )
        .unwrap();
    ok(&s);
    assert_eq!(r.changed_after_delivery, 1);
    let notice = s
        .dead_letters(Some(S))
        .unwrap()
        .into_iter()
        .find(|e| e.source_key == "12")
        .unwrap();
    assert!(!notice.model.is_empty());
}

#[test]
fn pruning_goes_in_bounded_steps_and_resumes_where_it_stopped() {
    let (_d, s) = open();
    let keys: Vec<String> = (100..190).map(|i| i.to_string()).collect();
    let refs: Vec<&str> = keys.iter().map(|k| k.as_str()).collect();
    let ids = deliver_all(&s, &refs);
    // Undelivered ones in between are stepped over.
    ingest(&s, vec![doc("500", &["500-a"], 500)]);
    let (pruned, steps) = prune_all(&s, later(), 10);
    assert_eq!(pruned, 90);
    assert!(steps >= 90 / (10 + 15), "{steps} steps");
    for id in ids {
        assert!(s.get(id).unwrap().unwrap().model.is_empty());
    }
    assert!(!s.find(S, "500").unwrap().unwrap().model.is_empty());
}

/// Everything a store answers that a copy must answer the same.
fn same_answers(a: &Store, b: &Store, keys: &[&str]) {
    assert_eq!(a.counts(S).unwrap(), b.counts(S).unwrap());
    assert_eq!(a.schemes().unwrap(), b.schemes().unwrap());
    assert_eq!(a.checkpoint(S).unwrap(), b.checkpoint(S).unwrap());
    assert_eq!(a.meta_get("token").unwrap(), b.meta_get("token").unwrap());
    for k in keys {
        assert_eq!(a.find(S, k).unwrap(), b.find(S, k).unwrap(), "{k}");
        assert_eq!(a.trace(S, k).unwrap(), b.trace(S, k).unwrap(), "{k}");
    }
    assert_eq!(a.dead_letters(None).unwrap(), b.dead_letters(None).unwrap());
    assert_eq!(b.check_consistency().unwrap(), Problems::new());
}

#[test]
fn a_backup_opens_as_the_same_store_and_never_reuses_an_id() {
    let (d, s) = open();
    // Each open moves sled's id generator 2,000,000 on: ids far above the copy's fresh start.
    let s = reopen(&d, reopen(&d, s));
    let ids = deliver_all(&s, &["1", "2"]);
    ingest(&s, vec![doc("3", &["3-a"], 3)]);
    s.set_checkpoint(S, 1_700_000_000).unwrap();
    s.meta_put("token", b"t1").unwrap();
    let batch = s.next_batch_id().unwrap();
    let out = tempfile::tempdir().unwrap();
    let dest = out.path().join("backup");
    let report = s.backup(&dest).unwrap();
    assert_eq!(report.path, dest);
    assert!(report.bytes > 0 && report.records > 0, "{report:?}");

    let copy = Store::open(&dest).unwrap();
    same_answers(&s, &copy, &["1", "2", "3"]);
    // The copy hands out ids past every id the store had given out.
    copy.ingest(S, F, vec![doc("4", &["4-a"], 4)], OnChange::Record)
        .unwrap();
    let new_id = copy.find(S, "4").unwrap().unwrap().id;
    assert!(ids.iter().all(|id| new_id > *id) && new_id > batch);
    assert!(copy.next_batch_id().unwrap() > batch);
    // ... also after it was closed and opened again.
    drop(copy);
    let copy = Store::open(&dest).unwrap();
    assert!(copy.next_batch_id().unwrap() > new_id);
    assert_eq!(copy.check_consistency().unwrap(), Problems::new());
}

#[test]
fn a_backup_needs_a_new_or_empty_folder() {
    let (d, s) = open();
    deliver_all(&s, &["1"]);
    // Not into the store's own folder.
    let inside = d.path().join("copy");
    let err = s.backup(&inside).unwrap_err();
    assert!(
        err.to_string().contains("inside the store's own folder"),
        "{err}"
    );
    assert!(!inside.exists());
    let out = tempfile::tempdir().unwrap();
    let taken = out.path().join("taken");
    std::fs::create_dir(&taken).unwrap();
    std::fs::write(taken.join("notes.txt"), "mine").unwrap();
    let err = s.backup(&taken).unwrap_err();
    assert!(matches!(err, StoreError::Backup(_)), "{err}");
    assert!(err.to_string().contains("not empty"), "{err}");
    assert_eq!(
        std::fs::read_to_string(taken.join("notes.txt")).unwrap(),
        "mine"
    );
    let file = out.path().join("file");
    std::fs::write(&file, "x").unwrap();
    assert!(s.backup(&file).is_err());
    let empty = out.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    s.backup(&empty).unwrap();
    assert_eq!(Store::open(&empty).unwrap().counts(S).unwrap().delivered, 1);
}

/// A writer that keeps ingesting pages, delivering them and moving the checkpoint to the page
/// just stored, while a backup is taken: the copy is one moment of the store (counters agree
/// with entries, every page up to its checkpoint is in it whole).
#[test]
fn a_backup_of_a_store_being_written_is_consistent() {
    let (_d, s) = open();
    // Enough records that copying them takes a while (each page below is a few milliseconds).
    for page in 0..10 {
        let items = (0..500)
            .map(|i| doc(&format!("old-{page}-{i}"), &[&format!("old-{page}-{i}")], 1))
            .collect();
        s.ingest("preloaded", F, items, OnChange::Record).unwrap();
    }
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    const PAGE: u64 = 20;
    let writer = {
        let (s, stop) = (s.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut page = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) && page < 2_000 {
                let items = (0..PAGE)
                    .map(|i| {
                        let k = (page * PAGE + i).to_string();
                        doc(&k, &[&format!("l{k}")], page * PAGE + i + 1)
                    })
                    .collect();
                s.ingest(S, F, items, OnChange::Record).unwrap();
                let ids: Vec<u64> = (0..PAGE)
                    .map(|i| {
                        s.find(S, &(page * PAGE + i).to_string())
                            .unwrap()
                            .unwrap()
                            .id
                    })
                    .collect();
                let b = s.next_batch_id().unwrap();
                s.begin_send(&ids, b).unwrap();
                s.finish(
                    ids.iter()
                        .map(|id| (*id, delivered(&id.to_string())))
                        .collect(),
                )
                .unwrap();
                page += 1;
                s.set_checkpoint(S, page as i64).unwrap();
            }
            page
        })
    };
    // Let it write a while, then copy twice while it goes on.
    while s.checkpoint(S).unwrap().unwrap_or(0) < 5 {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let out = tempfile::tempdir().unwrap();
    let mut copies = Vec::new();
    for n in 0..3 {
        let dest = out.path().join(format!("copy{n}"));
        s.backup(&dest).unwrap();
        copies.push(dest);
        std::thread::sleep(std::time::Duration::from_millis(30));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let pages = writer.join().unwrap();
    let mut seen = Vec::new();
    for dest in copies {
        let copy = Store::open(&dest).unwrap();
        assert_eq!(copy.check_consistency().unwrap(), Problems::new());
        let c = copy.counts(S).unwrap();
        let checkpoint = copy.checkpoint(S).unwrap().unwrap_or(0) as u64;
        // A page is one transaction: in the copy whole or not at all. The checkpoint moves after
        // its page is delivered: never ahead of the documents, at most the page in hand behind.
        assert_eq!(c.total() % PAGE, 0, "{c:?}");
        assert!(
            c.delivered >= checkpoint * PAGE,
            "{c:?} checkpoint {checkpoint}"
        );
        assert!(
            c.total() <= (checkpoint + 1) * PAGE,
            "{c:?} checkpoint {checkpoint}"
        );
        assert!(checkpoint <= pages, "{checkpoint} of {pages}");
        seen.push(checkpoint);
    }
    assert!(seen[0] >= 5, "{seen:?}");
}
