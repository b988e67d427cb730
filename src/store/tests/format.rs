//! The store's one format: neighbouring records grouped under one key, and stores of any other
//! format (or of none) refused with a message that names the folder and what to do.

use super::*;

/// A store whose `meta` says format `f` (`None`: no format mark, with a record elsewhere).
fn store_of_format(f: Option<u8>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = sled::open(dir.path()).unwrap();
        match f {
            Some(f) => {
                db.open_tree("meta")
                    .unwrap()
                    .insert(META_FORMAT, &[f])
                    .unwrap();
            }
            None => {
                db.open_tree("by_key")
                    .unwrap()
                    .insert(b"returns\x001", &[0u8; 16])
                    .unwrap();
            }
        }
        db.flush().unwrap();
    }
    dir
}

fn refusal(dir: &tempfile::TempDir) -> String {
    let err = Store::open(dir.path()).err().expect("refused");
    assert!(matches!(err, StoreError::Format { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains(&dir.path().display().to_string()),
        "names the folder: {msg}"
    );
    msg
}

/// Formats 1 to 3 (and the stores before any format) are not read: refused, unchanged.
#[test]
fn stores_of_earlier_formats_are_refused_with_what_to_do() {
    for f in [Some(1), Some(2), Some(3), None] {
        let dir = store_of_format(f);
        let msg = refusal(&dir);
        assert!(
            msg.contains(&format!("reads only store format {STORE_FORMAT}"))
                && msg.contains("development build"),
            "{msg}"
        );
        assert!(
            msg.contains("move the folder aside") && msg.contains("start_from"),
            "{msg}"
        );
        if let Some(f) = f {
            assert!(msg.contains(&format!("has format {f}")), "{msg}");
        }
        // Refused again: opening wrote nothing (no format mark, no trees).
        refusal(&dir);
        let db = sled::open(dir.path()).unwrap();
        assert!(!db.tree_names().iter().any(|n| n.as_ref() == b"outbox"));
    }
}

#[test]
fn a_newer_store_format_is_refused() {
    let dir = store_of_format(Some(42));
    let msg = refusal(&dir);
    assert!(
        msg.contains("has format 42") && msg.contains("newer ferry"),
        "{msg}"
    );
}

/// An empty folder becomes a store of the current format, which opens again.
#[test]
fn a_new_store_gets_the_current_format_and_reopens() {
    let (d, s) = open();
    ingest(&s, vec![doc("1", &["a"], 11)]);
    let s = reopen(&d, s);
    assert_eq!(
        s.inner.meta.get(META_FORMAT).unwrap().unwrap().as_ref(),
        [STORE_FORMAT]
    );
    ok(&s);
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
    ok(&s);
}

/// The models of 16 consecutive entries share under one key; each still reads, changes
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

/// The due index keeps buckets: far fewer keys, the same order, limits and times.
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
    ok(&s);
    let all: Vec<u64> = want[20..].to_vec();
    let batch = s.next_batch_id().unwrap();
    s.begin_send(&all, batch).unwrap();
    assert_eq!(s.tree("due").len(), 0);
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
