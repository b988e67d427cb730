//! The documents of one API: every version of each, and the latest ones ordered by
//! modification time (what window queries read).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use parking_lot::Mutex;
use serde_json::Value;

use crate::time::parse_beijing;

/// Milliseconds of a `yyyy-MM-dd HH:mm:ss[.fff]` Beijing time.
pub fn parse_ms(s: &str) -> Option<i64> {
    let secs = parse_beijing(s).ok()?;
    let ms = match s.trim().split_once('.') {
        Some((_, f)) => {
            let digits: String = f.chars().take(3).collect();
            let n: i64 = digits.parse().ok()?;
            n * 10i64.pow(3 - digits.len() as u32)
        }
        None => 0,
    };
    Some(secs * 1000 + ms)
}

/// A document's key: its number, or 0 and its text when it is not a number (`sku_id`).
/// Numbers and their text (`10001`, `"10001"`) are the same key.
pub type Key = (i64, String);

pub fn key_of(doc: &Value, field: &str) -> Option<Key> {
    match &doc[field] {
        Value::Number(n) => n.as_i64().map(|n| (n, String::new())),
        Value::String(s) if !s.trim().is_empty() => Some(match s.trim().parse::<i64>() {
            Ok(n) => (n, String::new()),
            Err(_) => (0, s.trim().to_string()),
        }),
        _ => None,
    }
}

/// One document version, with the fields queries filter on read out once (a backfill pages
/// through windows of thousands of documents, filtering the whole window for every page).
pub struct SimDoc {
    pub value: Value,
    pub kind: Option<String>,
    pub status: Option<String>,
    pub io_date_ms: Option<i64>,
}

impl SimDoc {
    fn new(value: Value) -> SimDoc {
        let text = |k: &str| value[k].as_str().map(str::to_string);
        SimDoc {
            kind: text("type"),
            status: text("status"),
            io_date_ms: value["io_date"].as_str().and_then(parse_ms),
            value,
        }
    }

    /// The milliseconds of a time field (`modified`, `io_date`, `created`).
    pub fn time_ms(&self, field: &str) -> Option<i64> {
        match field {
            "io_date" => self.io_date_ms,
            f => self.value[f].as_str().and_then(parse_ms),
        }
    }
}

/// Documents of one API: versions per key and the latest version of each, ordered by
/// (modified, key).
pub struct Docs {
    key_field: &'static str,
    /// The largest numeric key and line id (`ioi_id`) seen, so live mode numbers new documents
    /// after them.
    pub max_key: i64,
    pub max_line: i64,
    versions: HashMap<Key, Vec<(i64, Arc<SimDoc>)>>,
    latest: BTreeMap<(i64, Key), Arc<SimDoc>>,
    /// The documents matching the last query (its `biz` without `page_index`), so that paging
    /// through a window filters it once, not once per page; forgotten when a version is added.
    matches: Mutex<Option<(String, Matches)>>,
}

/// The documents matching one query, in page order.
pub type Matches = Arc<Vec<Arc<SimDoc>>>;

impl Docs {
    /// No documents yet; `key_field` names the document key (`io_id`, `sku_id`).
    pub fn new(key_field: &'static str) -> Docs {
        Docs {
            key_field,
            max_key: 0,
            max_line: 0,
            versions: HashMap::new(),
            latest: BTreeMap::new(),
            matches: Mutex::new(None),
        }
    }

    /// Adds a version (a document whose `modified` is not later than an existing version of the
    /// same document replaces that version).
    pub(super) fn add(&mut self, doc: Value) -> Result<(), String> {
        let field = self.key_field;
        let key = key_of(&doc, field).ok_or_else(|| format!("document without a {field}"))?;
        let modified = doc["modified"]
            .as_str()
            .and_then(parse_ms)
            .ok_or_else(|| format!("document {field} {key:?}: `modified` is not a time"))?;
        if key.1.is_empty() {
            self.max_key = self.max_key.max(key.0);
        }
        if let Some(items) = doc["items"].as_array() {
            for item in items {
                if let Some((n, _)) = key_of(item, "ioi_id") {
                    self.max_line = self.max_line.max(n);
                }
            }
        }
        let doc = Arc::new(SimDoc::new(doc));
        *self.matches.get_mut() = None;
        let list = self.versions.entry(key.clone()).or_default();
        if let Some(&(last, _)) = list.last() {
            self.latest.remove(&(last, key.clone()));
        }
        list.retain(|(m, _)| *m < modified);
        list.push((modified, doc));
        if let Some((m, d)) = list.last() {
            self.latest.insert((*m, key), d.clone());
        }
        Ok(())
    }

    /// The documents matching the query `key`, computed by `find` unless the last query was
    /// the same one and no version was added since.
    pub fn matching(&self, key: String, find: impl FnOnce() -> Vec<Arc<SimDoc>>) -> Matches {
        let mut last = self.matches.lock();
        if let Some((k, m)) = &*last {
            if *k == key {
                return m.clone();
            }
        }
        let m = Arc::new(find());
        *last = Some((key, m.clone()));
        m
    }

    /// The latest versions modified within `[begin_ms, end_ms]`, in (modified, key) order.
    pub fn modified_between(
        &self,
        begin_ms: i64,
        end_ms: i64,
    ) -> impl Iterator<Item = &Arc<SimDoc>> {
        self.latest
            .range((begin_ms, (i64::MIN, String::new()))..)
            .take_while(move |((m, _), _)| *m <= end_ms)
            .map(|(_, d)| d)
    }

    /// Every version of the document `key`, oldest first.
    pub fn versions_of(&self, key: &Key) -> Vec<Value> {
        self.versions
            .get(key)
            .map(|l| l.iter().map(|(_, d)| d.value.clone()).collect())
            .unwrap_or_default()
    }

    /// Number of documents.
    pub fn count(&self) -> usize {
        self.latest.len()
    }

    /// The latest versions, most recently modified first.
    pub fn recent(&self) -> impl Iterator<Item = &Arc<SimDoc>> {
        self.latest.values().rev()
    }

    /// All latest versions in (modified, key) order.
    pub fn latest(&self) -> impl Iterator<Item = &Arc<SimDoc>> {
        self.latest.values()
    }

    /// Every document as of `now` (unix seconds): its latest version modified at or before it.
    pub fn at(&self, now: i64) -> Vec<Value> {
        let limit = now.saturating_mul(1000).saturating_add(999);
        let mut out: Vec<(i64, &Key, &Arc<SimDoc>)> = self
            .versions
            .iter()
            .filter_map(|(key, list)| {
                list.iter()
                    .rev()
                    .find(|(m, _)| *m <= limit)
                    .map(|(m, d)| (*m, key, d))
            })
            .collect();
        out.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        out.into_iter().map(|(_, _, d)| d.value.clone()).collect()
    }
}
