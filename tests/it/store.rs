//! store tests: a model-based property test over random operation sequences (with restarts),
//! and a crash test that SIGKILLs a child process writing to the store.

use std::collections::{BTreeMap, HashMap, HashSet};

use ferry::store::*;
use proptest::prelude::*;

const S: &str = "returns";
const F: &str = "SAL_RETURNSTOCK";

fn new_doc(key: &str, fp: u64, lines: &[String]) -> Ingest {
    Ingest::New(NewEntry {
        source_key: key.to_string(),
        identity: format!("JST-{key}"),
        line_keys: lines.to_vec(),
        model: format!("{{\"FBillNo\":\"JST-{key}\",\"fp\":{fp}}}").into_bytes(),
        fingerprint: fp,
    })
}

// ---------------------------------------------------------------- model-based property test

#[derive(Debug, Clone)]
enum Item {
    New { key: u8, fp: u64, lines: Vec<u8> },
    Filtered { key: u8 },
    Failed { key: u8, err: u8 },
}

#[derive(Debug, Clone)]
enum Op {
    Ingest(Vec<Item>, bool),
    Send(usize),
    /// (which in-flight entries, outcome 0 delivered 1 retry 2 dead 3 pending)
    Finish(Vec<(usize, u8)>),
    Replay(usize),
    Reopen,
}

fn item() -> impl Strategy<Value = Item> {
    prop_oneof![
        6 => (0u8..8, 1u64..4, proptest::collection::vec(0u8..8, 0..3))
            .prop_map(|(key, fp, lines)| Item::New { key, fp, lines }),
        1 => (0u8..8).prop_map(|key| Item::Filtered { key }),
        1 => (0u8..8, 0u8..2).prop_map(|(key, err)| Item::Failed { key, err }),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (proptest::collection::vec(item(), 1..5), any::<bool>()).prop_map(|(i, d)| Op::Ingest(i, d)),
        3 => (1usize..6).prop_map(Op::Send),
        3 => proptest::collection::vec((0usize..8, 0u8..5), 1..4).prop_map(Op::Finish),
        1 => (0usize..8).prop_map(Op::Replay),
        1 => Just(Op::Reopen),
    ]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum St {
    Pending,
    InFlight,
    Retry,
    Delivered,
    Dead,
}

fn st(d: &Delivery) -> St {
    match d {
        Delivery::Pending => St::Pending,
        Delivery::InFlight { .. } => St::InFlight,
        Delivery::Retry { .. } => St::Retry,
        Delivery::Delivered { .. } => St::Delivered,
        Delivery::Dead { .. } => St::Dead,
    }
}

struct MEntry {
    id: u64,
    seen: u64,
    state: St,
    lines: Vec<String>,
    changed: bool,
    has_model: bool,
}

#[derive(Default)]
struct Model {
    keys: BTreeMap<String, MEntry>,
    filtered: HashSet<String>,
    owner: HashMap<String, String>,
    notices: u64,
    delivered_ever: HashSet<u64>,
}

impl Model {
    fn conflict(&self, key: &str, lines: &[String]) -> bool {
        lines.iter().any(|l| match self.owner.get(l) {
            Some(o) if o != key => self.keys.get(o).is_some_and(|m| m.state != St::Dead),
            _ => false,
        })
    }
    fn claim(&mut self, key: &str, lines: &[String]) {
        for l in lines {
            self.owner.insert(l.clone(), key.to_string());
        }
    }
    fn release(&mut self, key: &str, old: &[String], keep: &[String]) {
        for l in old.iter().filter(|l| !keep.contains(l)) {
            if self.owner.get(l).map(String::as_str) == Some(key) {
                self.owner.remove(l);
            }
        }
    }

    fn ingest(&mut self, store: &Store, items: &[Item], dead_letter: bool) -> IngestReport {
        let mut r = IngestReport::default();
        for it in items {
            match it {
                Item::New { key, fp, lines } => {
                    let k = format!("k{key}");
                    let mut lines: Vec<String> = lines.iter().map(|l| format!("l{l}")).collect();
                    lines.dedup();
                    let conflict = self.conflict(&k, &lines);
                    match self
                        .keys
                        .get(&k)
                        .map(|m| (m.seen, m.state, m.lines.clone()))
                    {
                        None => {
                            self.filtered.remove(&k);
                            if conflict {
                                r.line_key_conflicts += 1;
                            } else {
                                r.new += 1;
                                self.claim(&k, &lines);
                            }
                            let state = if conflict { St::Dead } else { St::Pending };
                            let m = MEntry {
                                id: 0,
                                seen: *fp,
                                state,
                                lines,
                                changed: false,
                                has_model: true,
                            };
                            self.keys.insert(k, m);
                        }
                        Some((seen, _, _)) if seen == *fp => r.unchanged += 1,
                        Some((_, St::InFlight | St::Delivered, _)) => {
                            r.changed_after_delivery += 1;
                            self.notices += u64::from(dead_letter);
                            let m = self.keys.get_mut(&k).unwrap();
                            m.changed = true;
                            m.seen = *fp;
                        }
                        Some((_, state, old_lines)) => {
                            self.release(&k, &old_lines, &lines);
                            if conflict {
                                r.line_key_conflicts += 1;
                            } else if state == St::Dead {
                                r.revived += 1;
                            } else {
                                r.updated_pending += 1;
                            }
                            if !conflict {
                                self.claim(&k, &lines);
                            }
                            let m = self.keys.get_mut(&k).unwrap();
                            m.state = match (conflict, state) {
                                (true, _) => St::Dead,
                                (false, St::Dead) => St::Pending,
                                (false, s) => s,
                            };
                            m.seen = *fp;
                            m.lines = lines;
                            m.has_model = true;
                        }
                    }
                }
                Item::Filtered { key } => {
                    r.filtered += 1;
                    let k = format!("k{key}");
                    match self.keys.get_mut(&k) {
                        None => {
                            self.filtered.insert(k);
                        }
                        Some(m) if matches!(m.state, St::Pending | St::Retry) => {
                            m.state = St::Dead;
                            m.seen = 0;
                        }
                        Some(_) => {}
                    }
                }
                Item::Failed { key, .. } => {
                    r.failed += 1;
                    let k = format!("k{key}");
                    match self.keys.get_mut(&k) {
                        None => {
                            self.filtered.remove(&k);
                            let m = MEntry {
                                id: 0,
                                seen: 0,
                                state: St::Dead,
                                lines: vec![],
                                changed: false,
                                has_model: false,
                            };
                            self.keys.insert(k, m);
                        }
                        Some(m) if matches!(m.state, St::Pending | St::Retry | St::Dead) => {
                            m.state = St::Dead;
                            m.seen = 0;
                        }
                        Some(_) => {}
                    }
                }
            }
        }
        for (k, m) in self.keys.iter_mut().filter(|(_, m)| m.id == 0) {
            m.id = store
                .find(S, k)
                .unwrap()
                .expect("ingested key has an entry")
                .id;
        }
        r
    }

    fn by_id(&mut self, id: u64) -> (&String, &mut MEntry) {
        self.keys.iter_mut().find(|(_, m)| m.id == id).unwrap()
    }

    fn ids(&self, s: St) -> Vec<u64> {
        self.keys
            .values()
            .filter(|m| m.state == s)
            .map(|m| m.id)
            .collect()
    }

    fn counts(&self) -> Counts {
        let n = |s| self.keys.values().filter(|m| m.state == s).count() as u64;
        Counts {
            pending: n(St::Pending),
            in_flight: n(St::InFlight),
            retry: n(St::Retry),
            delivered: n(St::Delivered),
            dead: n(St::Dead) + self.notices,
            changed_after_delivery: self.keys.values().filter(|m| m.changed).count() as u64,
            filtered: self.filtered.len() as u64,
        }
    }

    fn verify(&self, store: &Store) {
        assert_eq!(store.check_consistency().unwrap(), Problems::new());
        assert_eq!(store.counts(S).unwrap(), self.counts());
        for (k, m) in &self.keys {
            let e = store
                .find(S, k)
                .unwrap()
                .expect("every ingested key has its entry");
            assert_eq!(
                (e.id, st(&e.state), e.changed_after_delivery),
                (m.id, m.state, m.changed),
                "{k}"
            );
        }
        for id in &self.delivered_ever {
            assert!(matches!(
                store.get(*id).unwrap().unwrap().state,
                Delivery::Delivered { .. }
            ));
        }
        let mut due: Vec<u64> = store
            .due(Some(F), i64::MAX, 1000)
            .unwrap()
            .iter()
            .map(|e| e.id)
            .collect();
        let mut want = [self.ids(St::Pending), self.ids(St::Retry)].concat();
        due.sort();
        want.sort();
        assert_eq!(due, want, "due index");
        let mut inflight: Vec<u64> = store.in_flight().unwrap().iter().map(|e| e.id).collect();
        inflight.sort();
        let mut want = self.ids(St::InFlight);
        want.sort();
        assert_eq!(inflight, want, "inflight index");
    }
}

fn run_ops(ops: Vec<Op>) {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    let mut model = Model::default();
    for op in ops {
        match op {
            Op::Ingest(items, dl) => {
                let batch: Vec<Ingest> = items
                    .iter()
                    .map(|it| match it {
                        Item::New { key, fp, lines } => {
                            let mut l: Vec<String> =
                                lines.iter().map(|l| format!("l{l}")).collect();
                            l.dedup();
                            new_doc(&format!("k{key}"), *fp, &l)
                        }
                        Item::Filtered { key } => Ingest::Filtered {
                            source_key: format!("k{key}"),
                            reason: "not confirmed".into(),
                        },
                        Item::Failed { key, err } => Ingest::Failed {
                            source_key: format!("k{key}"),
                            error: format!("err{err}"),
                        },
                    })
                    .collect();
                let on_change = if dl {
                    OnChange::DeadLetter
                } else {
                    OnChange::Record
                };
                let got = store.ingest(S, F, batch, on_change).unwrap();
                let want = model.ingest(&store, &items, dl);
                assert_eq!(got, want);
            }
            Op::Send(n) => {
                let due = store.due(Some(F), i64::MAX, n).unwrap();
                let ids: Vec<u64> = due.iter().map(|e| e.id).collect();
                let batch = store.next_batch_id().unwrap();
                store.begin_send(&ids, batch).unwrap();
                for id in ids {
                    model.by_id(id).1.state = St::InFlight;
                }
            }
            Op::Finish(picks) => {
                let inflight = model.ids(St::InFlight);
                let mut res: BTreeMap<u64, Finish> = BTreeMap::new();
                for (i, o) in picks.into_iter().filter(|_| !inflight.is_empty()) {
                    let id = inflight[i % inflight.len()];
                    let f = match o {
                        0 => Finish::Delivered {
                            kingdee_id: format!("{id}"),
                            number: format!("N{id}"),
                        },
                        1 => Finish::Retry {
                            due: 5,
                            error: "timeout".into(),
                        },
                        2 => Finish::Dead {
                            error: "bad".into(),
                        },
                        3 => Finish::Requeue {
                            error: "Kingdee unreachable".into(),
                        },
                        _ => Finish::Pending,
                    };
                    res.insert(id, f);
                }
                store.finish(res.clone().into_iter().collect()).unwrap();
                for (id, f) in res {
                    let m = model.by_id(id).1;
                    m.state = match f {
                        Finish::Delivered { .. } => St::Delivered,
                        Finish::Retry { .. } => St::Retry,
                        Finish::Dead { .. } => St::Dead,
                        Finish::Pending | Finish::Requeue { .. } => St::Pending,
                    };
                    if m.state == St::Delivered {
                        assert!(model.delivered_ever.insert(id), "delivered twice");
                    }
                }
            }
            Op::Replay(i) => {
                let dead = model.ids(St::Dead);
                if dead.is_empty() {
                    continue;
                }
                let id = dead[i % dead.len()];
                let (k, m) = model.by_id(id);
                let (k, lines, has_model) = (k.clone(), m.lines.clone(), m.has_model);
                let expect_ok = has_model && !model.conflict(&k, &lines);
                let got = store.replay(id);
                assert_eq!(got.is_ok(), expect_ok, "replay {id}: {got:?}");
                if expect_ok {
                    model.claim(&k, &lines);
                    model.by_id(id).1.state = St::Pending;
                }
            }
            Op::Reopen => {
                drop(store);
                store = Store::open(dir.path()).unwrap();
                model.verify(&store);
                // Start-up reconciliation: each InFlight is found (Delivered) or not (Pending).
                let inflight = store.in_flight().unwrap();
                let res: Vec<(u64, Finish)> = inflight
                    .iter()
                    .map(|e| match e.id % 2 {
                        0 => (
                            e.id,
                            Finish::Delivered {
                                kingdee_id: "x".into(),
                                number: e.identity.clone(),
                            },
                        ),
                        _ => (e.id, Finish::Pending),
                    })
                    .collect();
                store.finish(res.clone()).unwrap();
                for (id, f) in res {
                    let delivered = matches!(f, Finish::Delivered { .. });
                    model.by_id(id).1.state = if delivered {
                        St::Delivered
                    } else {
                        St::Pending
                    };
                    if delivered {
                        assert!(model.delivered_ever.insert(id), "delivered twice");
                    }
                }
            }
        }
        model.verify(&store);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, max_shrink_iters: 200, ..ProptestConfig::default() })]
    #[test]
    fn random_operations_never_lose_or_duplicate(ops in proptest::collection::vec(op(), 1..30)) {
        run_ops(ops);
    }
}

// ---------------------------------------------------------------- crash test (SIGKILL)

const CRASH_DIR: &str = "FERRY_STORE_CRASH_DIR";
const CRASH_ROUND: &str = "FERRY_STORE_CRASH_ROUND";

/// Child mode (only with FERRY_STORE_CRASH_DIR set): write to the store in a loop, printing an
/// `ACK` line after every call returned (i.e. after its flush). Without the variable: no-op.
#[test]
fn crash_child() {
    let (Ok(dir), Ok(round)) = (std::env::var(CRASH_DIR), std::env::var(CRASH_ROUND)) else {
        return;
    };
    let store = Store::open(std::path::Path::new(&dir)).unwrap();
    for i in 0..100_000u32 {
        let keys: Vec<String> = (0..5).map(|j| format!("r{round}-{i}-{j}")).collect();
        let docs = keys.iter().map(|k| {
            new_doc(
                k,
                1,
                &(0..5).map(|l| format!("{k}-{l}")).collect::<Vec<_>>(),
            )
        });
        store
            .ingest(S, F, docs.collect(), OnChange::Record)
            .unwrap();
        println!("ACK ingest {}", keys.join(" "));
        ack_flush();
        let ids: Vec<u64> = store
            .due(None, i64::MAX, 8)
            .unwrap()
            .iter()
            .map(|e| e.id)
            .collect();
        store
            .begin_send(&ids, store.next_batch_id().unwrap())
            .unwrap();
        println!(
            "ACK sent {}",
            ids.iter().map(u64::to_string).collect::<Vec<_>>().join(" ")
        );
        ack_flush();
        let res: Vec<(u64, Finish)> = ids
            .iter()
            .map(|&id| match id % 4 {
                0 | 1 => (
                    id,
                    Finish::Delivered {
                        kingdee_id: id.to_string(),
                        number: id.to_string(),
                    },
                ),
                2 => (
                    id,
                    Finish::Retry {
                        due: 0,
                        error: "timeout".into(),
                    },
                ),
                _ => (
                    id,
                    Finish::Dead {
                        error: "bad".into(),
                    },
                ),
            })
            .collect();
        store.finish(res.clone()).unwrap();
        let tag = |f: &Finish| match f {
            Finish::Delivered { .. } => "delivered",
            Finish::Retry { .. } => "retry",
            _ => "dead",
        };
        println!(
            "ACK finish {}",
            res.iter()
                .map(|(id, f)| format!("{id}:{}", tag(f)))
                .collect::<Vec<_>>()
                .join(" ")
        );
        ack_flush();
        if i % 3 == 0 {
            if let Some(d) = store.dead_letters(Some(S)).unwrap().first() {
                store.replay(d.id).unwrap();
                println!("ACK finish {}:pending", d.id);
                ack_flush();
            }
        }
    }
}

/// Acknowledgements must leave the child before its next call: a line still in a buffer when
/// the child is killed would make the parent believe an older state.
fn ack_flush() {
    use std::io::Write;
    let _ = std::io::stdout().flush();
}

/// The acknowledgement in a line of the child's output (the first one shares its line with the
/// test harness's "test store::crash_child ... ").
fn ack(line: &str) -> Option<String> {
    line.find("ACK ").map(|i| line[i + 4..].to_string())
}

/// States an entry may be in, given the last acknowledged event for it (one more, unacknowledged
/// call may have committed before the kill).
fn allowed(last: &str, s: St) -> bool {
    match last {
        "sent" => matches!(s, St::InFlight | St::Delivered | St::Retry | St::Dead),
        "delivered" => s == St::Delivered,
        "retry" => matches!(s, St::Retry | St::InFlight),
        "dead" => matches!(s, St::Dead | St::Pending),
        "pending" => matches!(s, St::Pending | St::InFlight),
        _ => false,
    }
}

#[cfg(unix)]
#[test]
fn sigkill_between_write_and_flush_reopens_consistent() {
    use std::io::BufRead;
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    let dir = tempfile::tempdir().unwrap();
    let mut keys: HashSet<String> = HashSet::new();
    let mut last: HashMap<u64, String> = HashMap::new();
    let seed = std::env::var("FERRY_STORE_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    eprintln!("crash test seed {seed}");
    let mut rng = fastrand::Rng::with_seed(seed);
    for round in 0..6 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "store::crash_child",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CRASH_DIR, dir.path())
            .env(CRASH_ROUND, round.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        let reader = std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        // Kill after a random number of acknowledged calls, plus a random few milliseconds.
        let want_acks = rng.usize(1..40);
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut acks = Vec::new();
        while acks.len() < want_acks && Instant::now() < deadline {
            if let Ok(l) = rx.recv_timeout(Duration::from_millis(100)) {
                acks.extend(ack(&l));
            }
        }
        std::thread::sleep(Duration::from_micros(rng.u64(0..5000)));
        child.kill().unwrap();
        child.wait().unwrap();
        reader.join().unwrap();
        acks.extend(
            rx.try_iter()
                .filter_map(|l| l.strip_prefix("ACK ").map(str::to_string)),
        );
        assert!(
            !acks.is_empty(),
            "round {round}: child acknowledged nothing"
        );
        for a in &acks {
            let mut words = a.split(' ');
            match words.next() {
                Some("ingest") => keys.extend(words.map(str::to_string)),
                Some("sent") => last.extend(
                    words
                        .filter_map(|w| w.parse().ok())
                        .map(|id| (id, "sent".to_string())),
                ),
                Some("finish") => {
                    for w in words {
                        let (id, what) = w.split_once(':').unwrap();
                        last.insert(id.parse().unwrap(), what.to_string());
                    }
                }
                _ => panic!("bad ack {a}"),
            }
        }

        let store = Store::open(dir.path()).unwrap();
        assert_eq!(
            store.check_consistency().unwrap(),
            Problems::new(),
            "round {round}"
        );
        for k in &keys {
            assert!(
                store.find(S, k).unwrap().is_some(),
                "round {round}: acknowledged {k} lost"
            );
        }
        for (id, l) in &last {
            let e = store
                .get(*id)
                .unwrap()
                .unwrap_or_else(|| panic!("entry {id} lost"));
            assert!(
                allowed(l, st(&e.state)),
                "round {round}: entry {id} acked {l}, found {:?}",
                e.state
            );
        }
        let c = store.counts(S).unwrap();
        let found = keys
            .iter()
            .filter(|k| store.find(S, k).unwrap().is_some())
            .count() as u64;
        assert!(
            c.total() >= found && c.total() <= found + 5 * (round + 1),
            "round {round}: {c:?} vs {found} keys"
        );
        // Reconcile the uncertain ones, as the pipeline would at start-up.
        let res: Vec<(u64, Finish)> = store
            .in_flight()
            .unwrap()
            .iter()
            .map(|e| (e.id, Finish::Pending))
            .collect();
        for (id, _) in &res {
            last.insert(*id, "pending".into());
        }
        store.finish(res).unwrap();
        assert_eq!(store.check_consistency().unwrap(), Problems::new());
    }
}

/// Throughput and restart figures: `cargo test --test it store::perf -- --ignored --nocapture`
/// (FERRY_STORE_PERF_N entries, default 200,000; pages of 50 documents with 5 lines each).
#[test]
#[ignore]
fn perf() {
    use std::time::Instant;
    let n: usize = std::env::var("FERRY_STORE_PERF_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let model = |k: &str| {
        format!("{{\"FBillNo\":\"JST-{k}\",\"FDate\":\"2024-05-01\",\"FSaleOrgId\":{{\"FNumber\":\"100\"}},\"FEntity\":[{}]}}", (0..5).map(|l| format!("{{\"FMaterialId\":{{\"FNumber\":\"SKU-00{l}1\"}},\"FRealQty\":{l},\"FPrice\":12.5,\"FStockId\":{{\"FNumber\":\"CK002\"}},\"FNote\":\"{k}-{l}\"}}")).collect::<Vec<_>>().join(","))
    };
    let t = Instant::now();
    for page in 0..n / 50 {
        let docs = (0..50).map(|j| {
            let k = (10_001 + page * 50 + j).to_string();
            let lines: Vec<String> = (0..5).map(|l| format!("{k}-{l}")).collect();
            Ingest::New(NewEntry {
                source_key: k.clone(),
                identity: format!("JST-{k}"),
                line_keys: lines,
                model: model(&k).into_bytes(),
                fingerprint: 1,
            })
        });
        store
            .ingest(S, F, docs.collect(), OnChange::Record)
            .unwrap();
    }
    let secs = t.elapsed().as_secs_f64();
    eprintln!(
        "ingest: {n} docs in {secs:.2}s = {:.0} docs/s (page of 50 = 1 transaction + flush)",
        n as f64 / secs
    );
    let t = Instant::now();
    let sends = (n / 10).min(20_000) / 50;
    for _ in 0..sends {
        let ids: Vec<u64> = store
            .due(Some(F), i64::MAX, 50)
            .unwrap()
            .iter()
            .map(|e| e.id)
            .collect();
        store
            .begin_send(&ids, store.next_batch_id().unwrap())
            .unwrap();
        let res = ids.iter().map(|&id| {
            (
                id,
                Finish::Delivered {
                    kingdee_id: id.to_string(),
                    number: id.to_string(),
                },
            )
        });
        store.finish(res.collect()).unwrap();
    }
    let secs = t.elapsed().as_secs_f64();
    eprintln!(
        "send cycle: {} entries in {secs:.2}s = {:.0} entries/s (due + begin_send + finish per 50)",
        sends * 50,
        (sends * 50) as f64 / secs
    );
    let ids: Vec<u64> = store
        .due(Some(F), i64::MAX, 50)
        .unwrap()
        .iter()
        .map(|e| e.id)
        .collect();
    store.begin_send(&ids, 999_999).unwrap();
    drop(store);
    let t = Instant::now();
    let store = Store::open(dir.path()).unwrap();
    let inflight = store.in_flight().unwrap();
    let first = store.due(Some(F), i64::MAX, 50).unwrap();
    eprintln!(
        "restart: open + in_flight ({}) + first due page ({}) in {:.3}s, counts {:?}",
        inflight.len(),
        first.len(),
        t.elapsed().as_secs_f64(),
        store.counts(S).unwrap()
    );
    let size: u64 = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.len())
        .sum();
    eprintln!("disk: {} MB", size / 1_000_000);
}
