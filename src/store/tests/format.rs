//! Store formats: the older record layouts still read, format 1 keeps its hashed buckets, format 2
//! groups neighbouring records under one key, and an unknown format is refused.

use super::*;

/// An entry an older ferry indexed in `by_key` is still found, deduplicated and re-indexed.
#[test]
fn legacy_by_key_still_names_its_entry() {
    let (d, s) = open_v1();
    ingest(&s, vec![doc("1", &[], 11)]);
    let id = s.find(S, "1").unwrap().unwrap().id;
    let k = codec::pair(S, "1");
    s.tree("docs").remove(&k).unwrap();
    let mut v = id.to_be_bytes().to_vec();
    v.extend_from_slice(&11u64.to_be_bytes());
    s.tree("by_key").insert(k.as_slice(), v).unwrap();
    let s = reopen(&d, s);
    ok(&s);
    assert_eq!(s.find(S, "1").unwrap().unwrap().id, id);
    let r = ingest(&s, vec![doc("1", &[], 11)]);
    assert_eq!((r.new, r.unchanged), (0, 1));
    let r = ingest(&s, vec![doc("1", &[], 12)]);
    assert_eq!((r.new, r.updated_pending), (0, 1));
    assert!(s.tree("by_key").get(&k).unwrap().is_none());
    assert_eq!(s.find(S, "1").unwrap().unwrap().id, id);
}

/// Line keys an older ferry stored one per key in `line_keys` still own their lines; a change
/// that drops the line releases it, and a later claim lands in the buckets.
#[test]
fn legacy_line_keys_still_own_their_lines() {
    let (d, s) = open_v1();
    ingest(&s, vec![doc("1", &["a"], 11)]);
    let id1 = s.find(S, "1").unwrap().unwrap().id;
    // Move the claim of "a" from its bucket to the old layout.
    let bk = codec::line_bucket_key(s.inner.layout.lines(), F, "a");
    s.tree("line_buckets").remove(&bk).unwrap();
    s.tree("line_keys")
        .insert(codec::pair(F, "a"), &codec::id_key(id1))
        .unwrap();
    let s = reopen(&d, s);
    ok(&s);
    let r = s
        .ingest(S, F, vec![doc("2", &["a"], 12)], OnChange::Record)
        .unwrap();
    assert_eq!((r.new, r.line_key_conflicts), (0, 1));
    // Document 1 drops line "a" while still pending: the old record goes, "a" is free.
    ingest(&s, vec![doc("1", &["z"], 13)]);
    assert!(s
        .tree("line_keys")
        .get(codec::pair(F, "a"))
        .unwrap()
        .is_none());
    let r = ingest(&s, vec![doc("3", &["a"], 14)]);
    assert_eq!((r.new, r.line_key_conflicts), (1, 0));
}

/// A store written before traces became one record per key: events under `key \0 n` and a
/// `trace_head`. They still read, new events continue the numbering, the model reads plain.
#[test]
fn legacy_trace_records_and_plain_models_still_read() {
    let (d, s) = open_v1();
    let key = codec::pair(S, "9");
    for seq in 0..2u64 {
        let mut k = key.clone();
        k.extend_from_slice(&[0, seq as u8]);
        let ev = TraceEvent {
            seq,
            at: 100 + seq as i64,
            entry: None,
            kind: TraceKind::Filtered {
                reason: format!("old {seq}"),
            },
        };
        s.tree("trace").insert(k, codec::encode(&ev)).unwrap();
    }
    s.tree("trace_head")
        .insert(key.as_slice(), &2u64.to_be_bytes())
        .unwrap();
    let s = reopen(&d, s);
    assert_eq!(s.inner.layout, Layout::V1);
    s.ingest(S, F, vec![doc("9", &[], 7)], OnChange::Record)
        .unwrap();
    let t = s.trace(S, "9").unwrap();
    let seqs: Vec<u64> = t.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, vec![0, 1, 2], "{t:?}");
    assert!(matches!(t[2].kind, TraceKind::Ingested { .. }));
    // A model stored as plain JSON by an older ferry.
    let id = s.find(S, "9").unwrap().unwrap().id;
    s.tree("models")
        .insert(codec::id_key(id), br#"{"plain":true}"#.as_slice())
        .unwrap();
    assert_eq!(
        s.get(id).unwrap().unwrap().model,
        br#"{"plain":true}"#.to_vec()
    );
    // A model kept inside the outbox record (before the `models` tree) survives transitions.
    let mut e = s.get(id).unwrap().unwrap();
    e.model = br#"{"inline":1}"#.to_vec();
    s.tree("models").remove(codec::id_key(id)).unwrap();
    s.tree("outbox")
        .insert(codec::id_key(id), codec::encode(&e))
        .unwrap();
    send(&s, id);
    s.finish(vec![(id, Finish::Pending)]).unwrap();
    assert_eq!(
        s.get(id).unwrap().unwrap().model,
        br#"{"inline":1}"#.to_vec()
    );
    assert!(s.tree("models").get(codec::id_key(id)).unwrap().is_some());
}

#[test]
fn unknown_store_format_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = Store::open(dir.path()).unwrap();
        s.inner.meta.insert(META_FORMAT, &[42]).unwrap();
        s.flush().unwrap();
    }
    let err = Store::open(dir.path()).err().unwrap();
    assert!(
        matches!(err, StoreError::UnknownVersion { version: 42, .. }),
        "{err}"
    );
}

/// Line-key dedupe over numeric keys that fall in different groups, non-numeric keys, and a
/// change that releases a line.
fn line_buckets_scenario(s: &Store) {
    ingest(s, vec![doc("1", &["100199", "100200", "x-1"], 11)]);
    let r = ingest(s, vec![doc("2", &["100200"], 12), doc("3", &["x-1"], 13)]);
    assert_eq!((r.new, r.line_key_conflicts), (0, 2));
    let r = ingest(s, vec![doc("4", &["100201", "1", "x-2"], 14)]);
    assert_eq!((r.new, r.line_key_conflicts), (1, 0));
    // Document 1 drops line 100200: document 2 may now have it.
    ingest(s, vec![doc("1", &["100199", "x-1"], 15)]);
    let id2 = s.find(S, "2").unwrap().unwrap().id;
    s.replay(id2).unwrap();
    ok(s);
    assert!(matches!(
        s.replay(s.find(S, "3").unwrap().unwrap().id),
        Err(StoreError::LineKeyConflict { .. })
    ));
}

#[test]
fn new_stores_group_numeric_line_keys() {
    let (d, s) = open();
    assert_eq!(s.inner.layout, Layout::V3);
    assert_eq!(
        s.inner.meta.get(META_FORMAT).unwrap().unwrap().as_ref(),
        [STORE_FORMAT]
    );
    line_buckets_scenario(&s);
    let mut keys: Vec<Vec<u8>> = s
        .tree("line_buckets")
        .iter()
        .keys()
        .map(|k| k.unwrap().to_vec())
        .collect();
    keys.sort();
    let group = |g: &str| [prefix(F), b"n".to_vec(), g.as_bytes().to_vec()].concat();
    // 100199 | 100200 100201 | 1 | x-1 x-2 (hashed, tagged `h`).
    assert!(keys.contains(&group("1001")) && keys.contains(&group("1002")));
    assert!(keys.contains(&group("")));
    assert_eq!(
        keys.len(),
        3 + keys.iter().filter(|k| k[F.len() + 1] == b'h').count()
    );
    let s = reopen(&d, s);
    assert_eq!(s.inner.layout, Layout::V3);
    ok(&s);
}

#[test]
fn format_1_stores_keep_hashed_line_buckets() {
    let (d, s) = open_v1();
    line_buckets_scenario(&s);
    assert!(s
        .tree("line_buckets")
        .iter()
        .keys()
        .all(|k| k.unwrap().len() == F.len() + 3));
    let s = reopen(&d, s);
    assert_eq!(s.inner.layout, Layout::V1);
    ok(&s);
}

/// Format 2 keeps the models of 16 consecutive entries under one key; each still reads, changes
/// and goes on its own.
#[test]
fn models_share_buckets_and_keep_apart() {
    let (d, s) = open();
    let docs: Vec<Ingest> = (0..40).map(|i| doc(&i.to_string(), &[], 100 + i)).collect();
    ingest(&s, docs);
    let buckets = s.tree("models").len();
    assert!(
        (3..=4).contains(&buckets),
        "{buckets} model keys for 40 entries"
    );
    assert!(s
        .tree("models")
        .iter()
        .keys()
        .all(|k| k.unwrap().len() == 9));
    // A pending entry changes: its model alone is replaced.
    ingest(&s, vec![doc("17", &[], 999)]);
    let s = reopen(&d, s);
    for i in 0..40u64 {
        let e = s.find(S, &i.to_string()).unwrap().unwrap();
        let fp = if i == 17 { 999 } else { 100 + i };
        assert_eq!(e.model_json().unwrap()["v"], fp, "entry {i}");
    }
    // Sent and finished without touching the models or the neighbours.
    let id = s.find(S, "5").unwrap().unwrap().id;
    let next = s.find(S, "6").unwrap().unwrap();
    send(&s, id);
    s.finish(vec![(id, delivered("5"))]).unwrap();
    ok(&s);
    let e = s.get(id).unwrap().unwrap();
    assert!(matches!(e.state, Delivery::Delivered { .. }));
    assert_eq!(e.model_json().unwrap()["v"], 105);
    assert_eq!(s.get(next.id).unwrap().unwrap(), next);
    assert_eq!(s.counts(S).unwrap().pending, 39);
}

/// Ingests 40 documents in one transaction, sends three and puts them back as retries, and
/// returns the ids in the order `due` must give them: by due time, then by id.
fn due_scenario(s: &Store) -> Vec<u64> {
    let docs: Vec<Ingest> = (0..40).map(|i| doc(&i.to_string(), &[], 100 + i)).collect();
    ingest(s, docs);
    let id = |k: &str| s.find(S, k).unwrap().unwrap().id;
    let created = s.get(id("0")).unwrap().unwrap().created_at;
    let retries = [
        ("7", created - 50),
        ("21", created + 50),
        ("22", created - 50),
    ];
    for (k, due) in retries {
        send(s, id(k));
        s.finish(vec![(
            id(k),
            Finish::Retry {
                due,
                error: "timeout".into(),
            },
        )])
        .unwrap();
    }
    ok(s);
    let mut want: Vec<(i64, u64)> = (0..40)
        .map(|i| {
            let k = i.to_string();
            let due = retries
                .iter()
                .find(|(r, _)| *r == k)
                .map_or(created, |(_, d)| *d);
            (due, id(&k))
        })
        .collect();
    want.sort();
    want.into_iter().map(|(_, id)| id).collect()
}

fn due_ids(s: &Store, now: i64, limit: usize) -> Vec<u64> {
    s.due(Some(F), now, limit)
        .unwrap()
        .iter()
        .map(|e| e.id)
        .collect()
}

/// Format 3 keeps the due index in buckets: far fewer keys, the same order, limits and times.
#[test]
fn due_index_buckets_keep_the_order_of_due_time_then_id() {
    let (d, s) = open();
    let want = due_scenario(&s);
    let keys = s.tree("due").len();
    assert!(keys <= 8, "{keys} due keys for 40 waiting entries");
    assert_eq!(due_ids(&s, i64::MAX, 100), want);
    assert_eq!(due_ids(&s, i64::MAX, 10), want[..10]);
    // Before the pending entries fall due only the two early retries are due.
    let created = s.get(want[5]).unwrap().unwrap().created_at;
    assert_eq!(due_ids(&s, created - 1, 100), want[..2]);
    // Sending empties bits; the last entry of a bucket removes its key.
    let batch = s.next_batch_id().unwrap();
    s.begin_send(&want[..20], batch).unwrap();
    ok(&s);
    assert_eq!(due_ids(&s, i64::MAX, 100), want[20..]);
    let s = reopen(&d, s);
    assert_eq!(s.inner.layout, Layout::V3);
    ok(&s);
    let all: Vec<u64> = want[20..].to_vec();
    let batch = s.next_batch_id().unwrap();
    s.begin_send(&all, batch).unwrap();
    assert_eq!(s.tree("due").len(), 0);
    ok(&s);
}

/// A format-2 store (written by the previous ferry) keeps one due key per entry and reads the same.
#[test]
fn format_2_stores_keep_one_due_key_per_entry() {
    let (d, s) = open();
    s.inner.meta.insert(META_FORMAT, &[2]).unwrap();
    let s = reopen(&d, s);
    assert_eq!(s.inner.layout, Layout::V2);
    let want = due_scenario(&s);
    assert_eq!(s.tree("due").len(), 40);
    assert_eq!(due_ids(&s, i64::MAX, 100), want);
    assert_eq!(due_ids(&s, i64::MAX, 10), want[..10]);
    let s = reopen(&d, s);
    assert_eq!(s.inner.layout, Layout::V2);
    ok(&s);
}

/// The consistency check notices a due bucket that disagrees with the entries.
#[test]
fn a_wrong_due_bucket_is_reported() {
    let (_d, s) = open();
    due_scenario(&s);
    let (k, v) = s.tree("due").iter().next().unwrap().unwrap();
    let bits = codec::decode_due_bits(&k, &v).unwrap();
    s.tree("due")
        .insert(k, &codec::encode_due_bits(bits ^ 0x8000))
        .unwrap();
    let p = s.check_consistency().unwrap();
    assert!(p.iter().any(|m| m.contains("due index")), "{p:?}");
}
