//! `ferry preview --scheme NAME --input doc.json`: the exact Kingdee model(s) a scheme's mapping
//! produces for source documents, or why a document would be skipped or fail.

use std::io::{self, Write};
use std::path::Path;

use serde_json::Value;

use crate::config::{self, Scheme};
use crate::mapping::MapOutcome;

/// Prints the preview; `Ok(true)` when every document mapped or was filtered.
pub fn preview(
    config_path: &Path,
    scheme: &str,
    input: &Path,
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
    let docs = documents(value, s);
    if docs.is_empty() {
        writeln!(out, "{}: no documents found", input.display())?;
        return Ok(false);
    }
    let mut ok = true;
    for doc in &docs {
        ok &= show(s, doc, out)?;
    }
    Ok(ok)
}

/// One document, an array of documents, or a whole Jushuitan reply (`data.<list_key>`).
fn documents(v: Value, s: &Scheme) -> Vec<Value> {
    let list_key = s.source.list_key.as_str();
    match v {
        Value::Array(a) => a,
        Value::Object(mut m) => {
            if let Some(Value::Array(a)) = m
                .get_mut("data")
                .and_then(|d| d.get_mut(list_key))
                .map(Value::take)
            {
                return a;
            }
            if let Some(Value::Array(a)) = m.get_mut(list_key).map(Value::take) {
                return a;
            }
            vec![Value::Object(m)]
        }
        other => vec![other],
    }
}

fn show(s: &Scheme, doc: &Value, out: &mut dyn Write) -> io::Result<bool> {
    match s.mapper.map(doc) {
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
            let text = serde_json::to_string_pretty(&m.model).unwrap_or_default();
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
