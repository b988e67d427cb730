//! A child process writing to the store is SIGKILLed; the store reopens consistent with every acknowledged write.

use super::*;

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
        let ids = send_due(&store, None, 8);
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
/// test harness's "test store::crash::crash_child ... ").
#[cfg(unix)]
fn ack(line: &str) -> Option<String> {
    line.find("ACK ").map(|i| line[i + 4..].to_string())
}

/// States an entry may be in, given the last acknowledged event for it (one more, unacknowledged
/// call may have committed before the kill).
#[cfg(unix)]
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
                "store::crash::crash_child",
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
