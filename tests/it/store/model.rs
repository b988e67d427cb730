//! Model-based property test: random operation sequences with restarts never lose or duplicate an entry.

use super::*;

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
            dropped: n(St::Dropped),
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
                            source: Vec::new(),
                            error: format!("err{err}"),
                        },
                    })
                    .collect();
                let on_change = if dl {
                    OnChange::DeadLetter
                } else {
                    OnChange::Record
                };
                let mut got = store.ingest(S, F, batch, on_change).unwrap();
                let want = model.ingest(&store, &items, dl);
                // The model counts; every entry killed here is also named once.
                assert!(got.dead_letters.len() as u32 >= got.line_key_conflicts);
                got.dead_letters.clear();
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
