//! Source paths: `io_id`, `a.b.c`, `items.0.sku_id` (a number indexes an array), `item.sku_id`
//! (the current entry row), `doc.x` (explicitly the document root).

use serde_json::Value;

/// Where a path starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Root {
    /// The source document.
    Doc,
    /// The current element of the array an entry is built from.
    Item,
}

/// A parsed, validated source path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourcePath {
    pub root: Root,
    pub segments: Vec<String>,
    text: String,
}

impl SourcePath {
    /// Parses a dotted path. `item.` is only allowed when `in_row` (inside an entry's fields).
    pub fn parse(text: &str, in_row: bool) -> Result<SourcePath, String> {
        let t = text.trim();
        if t.is_empty() {
            return Err("empty source path".into());
        }
        let mut segments = Vec::new();
        for seg in t.split('.') {
            // `items[0]` is accepted as a spelling of `items.0`.
            let mut s = seg;
            while let Some(open) = s.find('[') {
                let head = &s[..open];
                let close = s[open..]
                    .find(']')
                    .ok_or_else(|| format!("unclosed `[` in path `{t}`"))?;
                let idx = &s[open + 1..open + close];
                if idx.parse::<usize>().is_err() {
                    return Err(format!("`[{idx}]` in path `{t}` is not an array index"));
                }
                if !head.is_empty() {
                    segments.push(head.to_string());
                }
                segments.push(idx.to_string());
                s = &s[open + close + 1..];
            }
            if !s.is_empty() {
                segments.push(s.to_string());
            } else if !seg.contains(']') {
                return Err(format!("empty segment in path `{t}`"));
            }
        }
        let root = match segments.first().map(String::as_str) {
            Some("item") => {
                if !in_row {
                    return Err(format!(
                        "`{t}`: `item` is the current entry row and only exists inside an entry's fields (use `doc.item` for a document field named item)"
                    ));
                }
                segments.remove(0);
                Root::Item
            }
            Some("doc") => {
                segments.remove(0);
                Root::Doc
            }
            _ => Root::Doc,
        };
        Ok(SourcePath {
            root,
            segments,
            text: t.to_string(),
        })
    }

    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The value at this path, or `None` when any step is missing.
    pub fn resolve<'a>(&self, doc: &'a Value, item: Option<&'a Value>) -> Option<&'a Value> {
        let start = match self.root {
            Root::Doc => doc,
            Root::Item => item?,
        };
        get(start, &self.segments)
    }
}

/// Walks `segments` from `v`: object keys, or array indexes for numeric segments.
pub fn get<'a>(v: &'a Value, segments: &[String]) -> Option<&'a Value> {
    let mut cur = v;
    for s in segments {
        cur = match cur {
            Value::Object(m) => m.get(s.as_str())?,
            Value::Array(a) => a.get(s.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// A key as text: strings as they are, numbers and booleans printed, anything else empty.
pub fn key_string(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(b)) => b.to_string(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn resolves_nested_indexed_and_row_paths() {
        let doc = json!({"io_id": 10001, "a": {"b": {"c": "深"}}, "items": [{"sku_id": "SKU-0001"}, {"sku_id": "SKU-0002"}]});
        let p = |s: &str| SourcePath::parse(s, true).unwrap();
        assert_eq!(p("io_id").resolve(&doc, None), Some(&json!(10001)));
        assert_eq!(p("doc.io_id").resolve(&doc, None), Some(&json!(10001)));
        assert_eq!(p("a.b.c").resolve(&doc, None), Some(&json!("深")));
        assert_eq!(
            p("items.1.sku_id").resolve(&doc, None),
            Some(&json!("SKU-0002"))
        );
        assert_eq!(
            p("items[0].sku_id").resolve(&doc, None),
            Some(&json!("SKU-0001"))
        );
        let item = &doc["items"][1];
        assert_eq!(
            p("item.sku_id").resolve(&doc, Some(item)),
            Some(&json!("SKU-0002"))
        );
        assert_eq!(p("item").resolve(&doc, Some(item)), Some(item));
        assert_eq!(p("a.x.c").resolve(&doc, None), None);
        assert_eq!(p("items.9").resolve(&doc, None), None);
        assert_eq!(p("io_id.x").resolve(&doc, None), None);
        assert_eq!(p("item.sku_id").resolve(&doc, None), None);
    }

    #[test]
    fn rejects_bad_paths() {
        assert!(SourcePath::parse("", false).is_err());
        assert!(SourcePath::parse("a..b", false).is_err());
        assert!(SourcePath::parse("a[x]", false).is_err());
        assert!(SourcePath::parse("a[1", false).is_err());
        let e = SourcePath::parse("item.sku_id", false).unwrap_err();
        assert!(e.contains("entry"), "{e}");
    }

    #[test]
    fn key_strings() {
        assert_eq!(key_string(Some(&json!(10001))), "10001");
        assert_eq!(key_string(Some(&json!("JST-1"))), "JST-1");
        assert_eq!(key_string(Some(&json!(null))), "");
        assert_eq!(key_string(None), "");
    }
}
