//! The simulator's data: seeded base data (from the form tables in `forms`) plus saved documents,
//! kept in memory and appended as JSON lines to `kingdee-sim.jsonl` under the state dir (reloaded
//! at start).

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::forms::FORMS;

/// One document (bill or base data).
#[derive(Debug, Clone)]
pub struct Doc {
    pub form: String,
    pub id: u64,
    pub number: String,
    pub status: String,
    pub model: Value,
    pub seeded: bool,
}

/// Name of the append-only log under the state dir.
pub const LOG_FILE: &str = "kingdee-sim.jsonl";

pub struct Db {
    /// Documents per form (upper-case form id), in insertion order.
    forms: HashMap<String, Vec<Doc>>,
    /// (form, upper-case number) → positions in `forms[form]`.
    index: HashMap<(String, String), Vec<usize>>,
    next_id: u64,
    log: Option<File>,
    pub path: Option<PathBuf>,
}

fn key(form: &str, number: &str) -> (String, String) {
    (
        form.to_ascii_uppercase(),
        number.trim().to_ascii_uppercase(),
    )
}

/// The seeded base data of every form table, in table order.
fn seed_docs() -> Vec<Doc> {
    let mut out = Vec::new();
    let mut id = 1000u64;
    for form in FORMS {
        for (number, name, extra) in form.seed_docs() {
            id += 1;
            let mut model = json!({"FNumber": number, "FDocumentStatus": "C",
                "FForbidStatus": "A", "FUseOrgId": {"FNumber": "100"}, "FCreateOrgId": {"FNumber": "100"}});
            if let Some(m) = model.as_object_mut() {
                m.insert(form.name_field.to_string(), json!(name));
                m.insert(form.pk.to_string(), json!(id));
                for (k, v) in extra {
                    m.insert(k.to_string(), json!(v));
                }
            }
            out.push(Doc {
                form: form.id.to_string(),
                id,
                number,
                status: "C".into(),
                model,
                seeded: true,
            });
        }
    }
    out
}

impl Db {
    /// Seeds base data, then reloads saved documents from `state_dir` if given.
    pub fn open(state_dir: Option<&Path>) -> Result<Db, String> {
        let mut db = Db {
            forms: HashMap::new(),
            index: HashMap::new(),
            next_id: 100_001,
            log: None,
            path: None,
        };
        for d in seed_docs() {
            db.push(d);
        }
        if let Some(dir) = state_dir {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            let path = dir.join(LOG_FILE);
            if path.exists() {
                db.reload(&path)?;
            }
            let log = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
            db.log = Some(log);
            db.path = Some(path);
        }
        Ok(db)
    }

    fn reload(&mut self, path: &Path) -> Result<(), String> {
        let f = File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        for line in BufReader::new(f).lines() {
            let Ok(line) = line else { break };
            // A torn last line (crash mid-write) was never acknowledged: skip it.
            let Ok(v) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
            let id = v.get("id").and_then(Value::as_u64).unwrap_or(0);
            let doc = Doc {
                form: s("form"),
                id,
                number: s("number"),
                status: s("status"),
                model: v.get("model").cloned().unwrap_or(Value::Null),
                seeded: false,
            };
            self.next_id = self.next_id.max(id + 1);
            self.push(doc);
        }
        Ok(())
    }

    fn push(&mut self, d: Doc) {
        let form = d.form.to_ascii_uppercase();
        let docs = self.forms.entry(form).or_default();
        self.index
            .entry(key(&d.form, &d.number))
            .or_default()
            .push(docs.len());
        docs.push(d);
    }

    pub fn alloc_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Adds documents, appending them to the log (one write, no fsync: a restarted simulator
    /// sees them; a power cut is not simulated).
    pub fn insert(&mut self, docs: Vec<Doc>) -> Result<(), String> {
        if docs.is_empty() {
            return Ok(());
        }
        if let Some(f) = self.log.as_mut() {
            let mut buf = String::new();
            for d in &docs {
                let line = json!({"form": d.form, "id": d.id, "number": d.number,
                    "status": d.status, "model": d.model});
                buf.push_str(&line.to_string());
                buf.push('\n');
            }
            f.write_all(buf.as_bytes())
                .map_err(|e| format!("simulator storage failed: {e}"))?;
        }
        for d in docs {
            self.push(d);
        }
        Ok(())
    }

    pub fn exists(&self, form: &str, number: &str) -> bool {
        self.index
            .get(&key(form, number))
            .is_some_and(|v| !v.is_empty())
    }

    /// The first document of a form with this number.
    pub fn by_number(&self, form: &str, number: &str) -> Option<&Doc> {
        let pos = *self.index.get(&key(form, number))?.first()?;
        self.docs(form).get(pos)
    }

    /// All documents of a form, in insertion order.
    pub fn docs(&self, form: &str) -> &[Doc] {
        self.forms
            .get(&form.to_ascii_uppercase())
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// Documents of a form with one of these numbers, in insertion order.
    pub fn by_numbers(&self, form: &str, numbers: &[String]) -> Vec<&Doc> {
        let docs = self.docs(form);
        let mut pos: Vec<usize> = numbers
            .iter()
            .filter_map(|n| self.index.get(&key(form, n)))
            .flatten()
            .copied()
            .collect();
        pos.sort_unstable();
        pos.dedup();
        pos.into_iter().filter_map(|i| docs.get(i)).collect()
    }

    pub fn saved(&self, form: &str) -> Vec<Value> {
        self.docs(form)
            .iter()
            .filter(|d| !d.seeded)
            .map(|d| d.model.clone())
            .collect()
    }

    pub fn count(&self, form: &str) -> usize {
        self.docs(form).iter().filter(|d| !d.seeded).count()
    }
}
