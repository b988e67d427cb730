//! The simulator's data: the documents of every API ([`Docs`], made on first use but for other
//! in/out's), shops, issued tokens; persisted under `state_dir` when one is given:
//! `world.json` (generated once), `upserts.json` (documents changed by tests), `tokens.json`.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::apis;
use super::docs::{key_of, parse_ms, Docs};
use super::world::{self, World, WorldParams};
use crate::time::{format_beijing, now_unix};

/// An issued access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IssuedToken {
    pub expires_at: i64,
    /// Successful business calls made with it (not persisted meaningfully; used by faults).
    #[serde(default)]
    pub uses: u64,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct TokenBook {
    pub access: HashMap<String, IssuedToken>,
    pub refresh: HashMap<String, IssuedRefresh>,
}

/// An issued refresh token and the access token issued with it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IssuedRefresh {
    pub expires_at: i64,
    pub access_token: String,
}

/// The documents and shops the simulator serves. The other in/out documents are made when the
/// world is; every other API's documents only when a client (or live mode) first asks for them,
/// so an API no scheme queries costs nothing however many documents `docs` asks for.
pub struct State {
    pub docs: Docs,
    /// The other query APIs' documents by API name, made on first use.
    apis: HashMap<&'static str, OnceLock<Docs>>,
    /// What the other APIs' documents are made from.
    params: WorldParams,
    created_at: i64,
    pub shops: Vec<Value>,
    pub upserts: Vec<Value>,
    /// Documents of the other APIs changed by tests: (API name, document).
    pub api_upserts: Vec<(String, Value)>,
    /// Live changes saved by an earlier run, per API in the order they were made (applied to an
    /// API's documents when they are made).
    live: HashMap<String, Vec<Value>>,
    /// `live.jsonl`, appended with every live change (None: memory only).
    live_log: Option<File>,
    dir: Option<PathBuf>,
}

/// Name of the append-only file of live changes under the state dir.
const LIVE_FILE: &str = "live.jsonl";

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Option<T> {
    let bytes = std::fs::read(path).ok()?;
    match serde_json::from_slice(&bytes) {
        Ok(v) => Some(v),
        Err(e) => {
            tracing::warn!(
                "Jushuitan simulator: ignoring unreadable {}: {e}",
                path.display()
            );
            None
        }
    }
}

fn write_json<T: Serialize>(path: &Path, v: &T) -> Result<(), String> {
    let bytes = serde_json::to_vec(v).map_err(|e| e.to_string())?;
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, bytes).map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display()))
}

/// The live changes saved in `path`, per API in the order they were made (a torn last line is
/// skipped).
fn read_live(path: &Path) -> HashMap<String, Vec<Value>> {
    let mut out: HashMap<String, Vec<Value>> = HashMap::new();
    let Ok(f) = File::open(path) else {
        return out;
    };
    for line in BufReader::new(f).lines() {
        let Ok(line) = line else { break };
        let Ok(v) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        if let (Some(api), Some(doc)) = (v["api"].as_str(), v.get("doc")) {
            out.entry(api.to_string()).or_default().push(doc.clone());
        }
    }
    out
}

/// Versions in the order of their `modified` (stable: equal times keep their order).
fn by_modified(mut docs: Vec<Value>) -> Vec<Value> {
    docs.sort_by_key(|d| {
        d["modified"]
            .as_str()
            .and_then(parse_ms)
            .unwrap_or(i64::MIN)
    });
    docs
}

impl State {
    /// Loads the world (and the tokens issued by an earlier run) from `dir` when it was generated
    /// with the same parameters; otherwise generates it now (and saves it there).
    pub fn open(params: &WorldParams, dir: Option<&Path>) -> Result<(State, TokenBook), String> {
        let mut loaded: Option<World> = None;
        let mut upserts: Vec<Value> = Vec::new();
        let mut api_upserts: Vec<(String, Value)> = Vec::new();
        let mut live: HashMap<String, Vec<Value>> = HashMap::new();
        let mut tokens = TokenBook::default();
        if let Some(d) = dir {
            std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
            loaded = read_json::<World>(&d.join("world.json"))
                .filter(|w| &w.params == params && w.version == world::WORLD_VERSION);
            if loaded.is_some() {
                upserts = read_json(&d.join("upserts.json")).unwrap_or_default();
                api_upserts = read_json(&d.join("api_upserts.json")).unwrap_or_default();
                tokens = read_json(&d.join("tokens.json")).unwrap_or_default();
                live = read_live(&d.join(LIVE_FILE));
            }
        }
        let world = match loaded {
            Some(w) => w,
            None => {
                let w = world::generate(params, now_unix());
                if let Some(d) = dir {
                    write_json(&d.join("world.json"), &w)?;
                    write_json(&d.join("upserts.json"), &upserts)?;
                    write_json(&d.join("api_upserts.json"), &api_upserts)?;
                    write_json(&d.join("tokens.json"), &tokens)?;
                    std::fs::write(d.join(LIVE_FILE), b"")
                        .map_err(|e| format!("{}: {e}", d.join(LIVE_FILE).display()))?;
                }
                w
            }
        };
        let mut docs = Docs::new("io_id");
        let changed = upserts
            .iter()
            .cloned()
            .chain(live.remove(apis::OTHER_INOUT.name).unwrap_or_default());
        for v in world
            .versions
            .into_iter()
            .chain(by_modified(changed.collect()))
        {
            docs.add(v)?;
        }
        let apis = apis::APIS
            .iter()
            .filter(|a| a.name != apis::OTHER_INOUT.name)
            .map(|a| (a.name, OnceLock::new()))
            .collect();
        let live_log = match dir {
            Some(d) => {
                let path = d.join(LIVE_FILE);
                let f = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                Some(f)
            }
            None => None,
        };
        let state = State {
            docs,
            apis,
            params: world.params,
            created_at: world.created_at,
            shops: world.shops,
            upserts,
            api_upserts,
            live,
            live_log,
            dir: dir.map(Path::to_path_buf),
        };
        Ok((state, tokens))
    }

    /// The documents of an API, made now if nobody asked for them before (None: the simulator
    /// does not serve it).
    pub fn docs_of(&self, api: &str) -> Option<&Docs> {
        if api == apis::OTHER_INOUT.name {
            return Some(&self.docs);
        }
        let spec = apis::by_name(api)?;
        let cell = self.apis.get(spec.name)?;
        Some(cell.get_or_init(|| self.make(spec)))
    }

    /// The documents of an API for changing them (made first if needed).
    fn docs_mut(&mut self, api: &str) -> Option<&mut Docs> {
        if api == apis::OTHER_INOUT.name {
            return Some(&mut self.docs);
        }
        self.docs_of(api)?;
        self.apis.get_mut(api)?.get_mut()
    }

    /// Whether an API's documents were made (a client asked for them); other.inout's always are.
    pub fn in_use(&self, api: &str) -> bool {
        api == apis::OTHER_INOUT.name || self.apis.get(api).is_some_and(|c| c.get().is_some())
    }

    /// The world parameters and the history's span.
    pub fn params(&self) -> &WorldParams {
        &self.params
    }

    /// Makes the documents of `spec` from the world, with the changes tests and live mode made.
    fn make(&self, spec: &'static apis::ApiSpec) -> Docs {
        let mut docs = Docs::new(spec.key);
        let generated = world::api_documents(&self.params, self.created_at, &self.shops, spec);
        let changed: Vec<Value> = self
            .api_upserts
            .iter()
            .filter(|(name, _)| name == spec.name)
            .map(|(_, v)| v.clone())
            .chain(self.live.get(spec.name).cloned().unwrap_or_default())
            .collect();
        for v in generated.into_iter().chain(by_modified(changed)) {
            if let Err(e) = docs.add(v) {
                tracing::warn!("Jushuitan simulator: {}: {e}", spec.name);
            }
        }
        docs
    }

    /// Inserts or replaces a document of `api` by its key, modified now.
    pub fn upsert(&mut self, api: &str, mut doc: Value, now: i64) -> Result<(), String> {
        let spec = apis::by_name(api).ok_or_else(|| format!("upsert: no API {api}"))?;
        if key_of(&doc, spec.key).is_none() {
            return Err(format!(
                "upsert into {api}: the document has no {}",
                spec.key
            ));
        }
        match &mut doc {
            Value::Object(m) => {
                m.insert("modified".into(), Value::String(format_beijing(now)));
            }
            _ => {
                return Err(format!(
                    "upsert into {api}: the document is not a JSON object"
                ))
            }
        }
        if api == apis::OTHER_INOUT.name {
            self.docs.add(doc.clone())?;
            self.upserts.push(doc);
            if let Some(d) = &self.dir {
                write_json(&d.join("upserts.json"), &self.upserts)?;
            }
            return Ok(());
        }
        if let Some(list) = self.docs_mut(api) {
            list.add(doc.clone())?;
        }
        self.api_upserts.push((api.to_string(), doc));
        if let Some(d) = &self.dir {
            write_json(&d.join("api_upserts.json"), &self.api_upserts)?;
        }
        Ok(())
    }

    /// Adds a version made by live mode (its `modified` already set) to `api`'s documents and
    /// to `live.jsonl`.
    pub fn live_change(&mut self, api: &'static str, doc: Value) -> Result<(), String> {
        let docs = self
            .docs_mut(api)
            .ok_or_else(|| format!("live change: no API {api}"))?;
        docs.add(doc.clone())?;
        if let Some(f) = &mut self.live_log {
            let line = serde_json::json!({ "api": api, "doc": &doc });
            let mut text = line.to_string();
            text.push('\n');
            if let Err(e) = f.write_all(text.as_bytes()) {
                tracing::warn!("Jushuitan simulator: cannot save a live change: {e}");
            }
        }
        Ok(())
    }

    /// The documents of `api` for live mode to change.
    pub fn live_docs(&mut self, api: &str) -> Option<&Docs> {
        self.docs_mut(api).map(|d| &*d)
    }
}

impl TokenBook {
    /// Saves the token book (after issuing or revoking) into `dir`.
    pub fn save(&self, dir: Option<&Path>) {
        if let Some(d) = dir {
            if let Err(e) = write_json(&d.join("tokens.json"), self) {
                tracing::warn!("Jushuitan simulator: cannot save tokens: {e}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn millis() {
        let s = parse_ms("2024-05-02 10:00:00").unwrap();
        assert_eq!(parse_ms("2024-05-02 10:00:00.5"), Some(s + 500));
        assert_eq!(parse_ms("2024-05-02 10:00:00.123"), Some(s + 123));
        assert_eq!(parse_ms("x"), None);
    }

    #[test]
    fn versions_and_persistence() {
        let dir = tempfile::tempdir().unwrap();
        let p = WorldParams {
            seed: 3,
            docs: 40,
            shops: 2,
            lines: None,
            history_days: 30,
        };
        let (mut s, _) = State::open(&p, Some(dir.path())).unwrap();
        let now = now_unix();
        let before = s.docs.at(now);
        assert_eq!(before.len(), 40);
        let mut d = before[0].clone();
        d["remark"] = json!("changed");
        s.upsert("other.inout.query", d, now + 5).unwrap();
        assert_eq!(
            s.docs.at(now),
            before,
            "a later version is invisible before its time"
        );
        let after = s.docs.at(now + 5);
        assert_eq!(after.last().unwrap()["remark"], "changed");
        let (s2, _) = State::open(&p, Some(dir.path())).unwrap();
        assert_eq!(
            s2.docs.at(now + 5),
            after,
            "a restarted simulator serves the same world"
        );
        assert_eq!(s2.docs.latest().count(), 40);
        let other = WorldParams { seed: 4, ..p };
        let (s3, _) = State::open(&other, Some(dir.path())).unwrap();
        assert_ne!(s3.docs.at(now), before);
    }

    #[test]
    fn other_apis_are_made_on_first_use_and_live_changes_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let p = WorldParams {
            seed: 9,
            docs: 25,
            shops: 2,
            lines: None,
            history_days: 30,
        };
        let sales = "orders.out.simple.query";
        let (mut s, _) = State::open(&p, Some(dir.path())).unwrap();
        assert!(s.in_use("other.inout.query"));
        assert!(!s.in_use(sales), "made before anybody asked");
        let saved = std::fs::read_to_string(dir.path().join("world.json")).unwrap();
        assert!(
            !saved.contains("\"o_id\""),
            "sales-out documents are not saved"
        );
        let made = s.docs_of(sales).unwrap().at(now_unix());
        assert!(s.in_use(sales));
        let w: World = serde_json::from_str(&saved).unwrap();
        let spec = apis::by_name(sales).unwrap();
        let eager = world::api_documents(&w.params, w.created_at, &w.shops, spec);
        let mut again = Docs::new(spec.key);
        for v in eager {
            again.add(v).unwrap();
        }
        assert_eq!(
            made,
            again.at(now_unix()),
            "the same documents as made at once"
        );
        let mut doc = made[0].clone();
        doc["remark"] = json!("live");
        doc["modified"] = json!(format_beijing(now_unix()));
        s.live_change(spec.name, doc.clone()).unwrap();
        drop(s);
        let (s2, _) = State::open(&p, Some(dir.path())).unwrap();
        assert!(!s2.in_use(sales));
        let key = key_of(&doc, "io_id").unwrap();
        assert_eq!(
            s2.docs_of(sales).unwrap().versions_of(&key).last(),
            Some(&doc)
        );
    }
}
