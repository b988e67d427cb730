//! `ferry preview --scheme NAME --input doc.json`: the exact Kingdee model(s) a scheme's mapping
//! produces for source documents, or why a document would be skipped or fail.
//! `ferry preview --scheme NAME --sample [N]`: the same for a page the built-in simulator serves
//! (see [`super::sample`]), with a count of what would be posted, skipped and dead-lettered.

use std::io::{self, Write};
use std::path::Path;

use serde_json::Value;

use crate::config::{self, Scheme};
use crate::mapping::MapOutcome;
use crate::source::jushuitan::{as_i64, json_kind as kind};

/// Prints the preview; `Ok(true)` when every document mapped or was filtered.
pub fn preview(
    config_path: &Path,
    scheme: &str,
    input: Option<&Path>,
    sample: Option<usize>,
    out: &mut dyn Write,
) -> io::Result<bool> {
    let config = match config::load_without_secrets(config_path) {
        Ok(c) => c,
        Err(errors) => {
            writeln!(out, "{errors}")?;
            writeln!(out, "fix the config first (see `ferry check`)")?;
            return Ok(false);
        }
    };
    let Some(s) = config.scheme(scheme) else {
        let names: Vec<&str> = config.schemes.iter().map(|s| s.name.as_str()).collect();
        writeln!(
            out,
            "no scheme named `{scheme}` (schemes: {})",
            names.join(", ")
        )?;
        return Ok(false);
    };
    let Some(input) = input else {
        return preview_sample(&config, s, sample.unwrap_or(3), out);
    };
    let bytes = match std::fs::read(input) {
        Ok(b) => b,
        Err(e) => {
            writeln!(out, "cannot read {}: {e}", input.display())?;
            return Ok(false);
        }
    };
    let value: Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(e) => {
            writeln!(out, "{} is not valid JSON: {e}", input.display())?;
            return Ok(false);
        }
    };
    let docs = match documents(value, s) {
        Ok(docs) => docs,
        Err(msg) => {
            writeln!(out, "{}: {msg}", input.display())?;
            return Ok(false);
        }
    };
    if docs.is_empty() {
        writeln!(out, "{}: no documents found", input.display())?;
        return Ok(false);
    }
    let mut ok = true;
    for (i, doc) in docs.iter().enumerate() {
        if doc.is_object() {
            ok &= show(s, doc, out)?;
        } else {
            let n = i + 1;
            writeln!(
                out,
                "{}: document {n} of the input is {}, not a JSON object",
                input.display(),
                kind(doc)
            )?;
            ok = false;
        }
    }
    Ok(ok)
}

/// Counts of a sample, and the first `show_full` mapped models in full; every document that would
/// go to the dead letters is named with its reason (at most 20).
fn preview_sample(
    config: &config::Config,
    s: &Scheme,
    show_full: usize,
    out: &mut dyn Write,
) -> io::Result<bool> {
    let sample = match super::sample::fetch(config, s) {
        Ok(sample) => sample,
        Err(msg) => {
            writeln!(out, "{msg}")?;
            return Ok(false);
        }
    };
    writeln!(
        out,
        "simulated Jushuitan ({} documents per API, seed {}): {}",
        config.simulator.docs, config.simulator.seed, sample.asked
    )?;
    let (mut mapped, mut filtered, mut failed) = (0usize, 0usize, 0usize);
    let mut first_filter: Option<String> = None;
    for doc in &sample.docs {
        let outcome = s.mapper.map(doc);
        let shown = match &outcome {
            MapOutcome::Mapped(_) => {
                mapped += 1;
                mapped <= show_full
            }
            MapOutcome::Filtered { source_key, reason } => {
                filtered += 1;
                first_filter.get_or_insert(format!("{source_key}: {reason}"));
                false
            }
            MapOutcome::Failed { .. } => {
                failed += 1;
                failed <= 20
            }
        };
        if shown {
            show_outcome(s, outcome, out)?;
        }
    }
    writeln!(
        out,
        "{} documents: {mapped} would be posted to {}, {filtered} skipped by the precondition, \
         {failed} would go to the dead letters",
        sample.docs.len(),
        s.target.form_id
    )?;
    if let Some(f) = first_filter {
        writeln!(out, "  first skipped: {f}")?;
    }
    if mapped > show_full {
        writeln!(
            out,
            "  ({} more would be posted; --sample N shows N in full)",
            mapped - show_full
        )?;
    }
    Ok(failed == 0 && !sample.docs.is_empty())
}

/// One document, an array of documents, or a whole Jushuitan answer: `{"code":0,"data":{...}}`
/// gives the documents in `data.<list_key>`; an answer with another code is reported as the
/// error it is. An object with a source key of its own is a document, whatever else it holds.
fn documents(v: Value, s: &Scheme) -> Result<Vec<Value>, String> {
    let list_key = s.source.list_key.as_str();
    let doc = match v {
        Value::Array(a) => return Ok(a),
        Value::Object(_) => v,
        other => return Ok(vec![other]),
    };
    if !s.mapper.source_key(&doc).is_empty() {
        return Ok(vec![doc]);
    }
    let Value::Object(mut m) = doc else {
        return Ok(vec![doc]);
    };
    if let Some(c) = m.get("code") {
        match as_i64(c) {
            Some(0) => {}
            Some(n) => {
                let msg = match m.get("msg") {
                    Some(Value::String(t)) if !t.trim().is_empty() => {
                        format!(": {}", crate::http::printable(t, 300))
                    }
                    Some(Value::Null | Value::String(_)) | None => String::new(),
                    Some(other) => format!(": {}", crate::http::printable(&other.to_string(), 300)),
                };
                return Err(format!(
                    "Jushuitan answered code {n}{msg} (an error answer, not documents)"
                ));
            }
            None => {
                return Err(format!(
                    "this looks like a Jushuitan answer, but its `code` is {c}, not a number"
                ))
            }
        }
    }
    let in_data = m.get_mut("data").and_then(|d| d.get_mut(list_key));
    let list = match in_data {
        Some(l) => Some(l.take()),
        None => m.get_mut(list_key).map(Value::take),
    };
    match list {
        Some(Value::Array(a)) => Ok(a),
        Some(Value::Null) => Ok(Vec::new()),
        None if m.contains_key("code") => Ok(Vec::new()),
        None => Ok(vec![Value::Object(m)]),
        Some(other) => Err(format!(
            "`{list_key}` (the list of documents) is {}, not a list",
            kind(&other)
        )),
    }
}

fn show(s: &Scheme, doc: &Value, out: &mut dyn Write) -> io::Result<bool> {
    show_outcome(s, s.mapper.map(doc), out)
}

fn show_outcome(s: &Scheme, outcome: MapOutcome, out: &mut dyn Write) -> io::Result<bool> {
    match outcome {
        MapOutcome::Mapped(m) => {
            writeln!(
                out,
                "document {} → {} {} = {} ({} line keys)",
                m.source_key,
                s.target.form_id,
                s.target.identity_field,
                m.identity,
                m.line_keys.len()
            )?;
            let text = serde_json::to_string_pretty(&m.model()).unwrap_or_default();
            writeln!(out, "{text}")?;
            Ok(true)
        }
        MapOutcome::Filtered { source_key, reason } => {
            writeln!(out, "document {source_key}: skipped (filtered): {reason}")?;
            Ok(true)
        }
        MapOutcome::Failed { source_key, error } => {
            let key = if source_key.is_empty() {
                "(no key)"
            } else {
                &source_key
            };
            writeln!(out, "document {key}: would go to the dead letters: {error}")?;
            Ok(false)
        }
    }
}
