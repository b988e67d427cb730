//! A TOML document as a tree of nodes that remember where they were written (byte spans), so
//! that every config error can name its line and column, and so that *all* errors can be collected
//! in one pass instead of stopping at the first one (as a serde derive would).
//!
//! Built on toml 0.8's span support: values and keys are requested as `toml::Spanned` by name, and
//! the deserializer hands back `{start, end, value}` maps.

use std::fmt;
use std::ops::Range;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

const SPANNED_NAME: &str = "$__serde_spanned_private_Spanned";
const SPANNED_START: &str = "$__serde_spanned_private_start";
const SPANNED_END: &str = "$__serde_spanned_private_end";
const SPANNED_VALUE: &str = "$__serde_spanned_private_value";
const SPANNED_FIELDS: &[&str] = &[SPANNED_START, SPANNED_END, SPANNED_VALUE];
const DATETIME_FIELD: &str = "$__toml_private_datetime";

/// One TOML value with its byte span in the file.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub span: Range<usize>,
    pub kind: Kind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// A TOML date/time literal, as written (e.g. `2024-05-01 00:00:00`).
    Datetime(String),
    Array(Vec<Node>),
    Table(Vec<Entry>),
}

/// A key = value pair of a table, in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub key: String,
    pub key_span: Range<usize>,
    pub value: Node,
}

impl Kind {
    /// The TOML type name, for messages ("expected a string, found an integer").
    pub fn type_name(&self) -> &'static str {
        match self {
            Kind::Str(_) => "a string",
            Kind::Int(_) => "an integer",
            Kind::Float(_) => "a float",
            Kind::Bool(_) => "a boolean",
            Kind::Datetime(_) => "a date-time",
            Kind::Array(_) => "an array",
            Kind::Table(_) => "a table",
        }
    }
}

impl Node {
    /// Converts to JSON (date-times become strings). Used for pass-through values.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match &self.kind {
            Kind::Str(s) | Kind::Datetime(s) => Value::String(s.clone()),
            Kind::Int(i) => Value::from(*i),
            Kind::Float(f) => serde_json::Number::from_f64(*f)
                .map(Value::Number)
                .unwrap_or(Value::Null),
            Kind::Bool(b) => Value::Bool(*b),
            Kind::Array(a) => Value::Array(a.iter().map(Node::to_json).collect()),
            Kind::Table(t) => Value::Object(
                t.iter()
                    .map(|e| (e.key.clone(), e.value.to_json()))
                    .collect(),
            ),
        }
    }
}

/// Parses a TOML document into a spanned tree. The error carries the message and, when known, the
/// byte span of the syntax error.
pub fn parse(text: &str) -> Result<Node, (String, Option<Range<usize>>)> {
    let de = toml::de::Deserializer::new(text);
    match de.deserialize_any(KindVisitor) {
        Ok(kind) => Ok(Node { span: 0..0, kind }),
        Err(e) => Err((e.message().to_string(), e.span())),
    }
}

/// Requests a spanned value; falls back to an unspanned one when the deserializer has no span.
struct NodeSeed;

impl<'de> DeserializeSeed<'de> for NodeSeed {
    type Value = Node;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        d.deserialize_struct(SPANNED_NAME, SPANNED_FIELDS, SpannedVisitor)
    }
}

struct SpannedVisitor;

impl<'de> Visitor<'de> for SpannedVisitor {
    type Value = Node;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a TOML value")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let first = map.next_key_seed(KeySeed)?;
        match first {
            Some((k, _)) if k == SPANNED_START => {
                let start: usize = map.next_value()?;
                let mut end = start;
                let mut kind = None;
                while let Some((k, _)) = map.next_key_seed(KeySeed)? {
                    if k == SPANNED_END {
                        end = map.next_value()?;
                    } else if k == SPANNED_VALUE {
                        kind = Some(map.next_value_seed(KindSeed)?);
                    } else {
                        return Err(de::Error::custom("malformed spanned value"));
                    }
                }
                let kind = kind.ok_or_else(|| de::Error::custom("spanned value without value"))?;
                Ok(Node {
                    span: start..end,
                    kind,
                })
            }
            other => Ok(Node {
                span: 0..0,
                kind: table_or_datetime(other, map)?,
            }),
        }
    }
    fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
        Ok(unspanned(Kind::Bool(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
        Ok(unspanned(Kind::Int(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Node, E> {
        i64::try_from(v)
            .map(|i| unspanned(Kind::Int(i)))
            .map_err(|_| E::custom("integer too large"))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Node, E> {
        Ok(unspanned(Kind::Float(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Node, E> {
        Ok(unspanned(Kind::Str(v.to_string())))
    }
    fn visit_string<E>(self, v: String) -> Result<Node, E> {
        Ok(unspanned(Kind::Str(v)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Node, A::Error> {
        KindVisitor.visit_seq(seq).map(unspanned)
    }
}

fn unspanned(kind: Kind) -> Node {
    Node { span: 0..0, kind }
}

/// Reads the rest of a map whose first key was already taken: a date-time or a table.
fn table_or_datetime<'de, A: MapAccess<'de>>(
    first: Option<(String, Option<Range<usize>>)>,
    mut map: A,
) -> Result<Kind, A::Error> {
    let mut entries = Vec::new();
    let mut next = first;
    if let Some((k, _)) = &next {
        if k == DATETIME_FIELD {
            let s: String = map.next_value()?;
            return Ok(Kind::Datetime(s));
        }
    }
    while let Some((key, key_span)) = next {
        let value = map.next_value_seed(NodeSeed)?;
        let key_span = key_span.unwrap_or_else(|| value.span.clone());
        entries.push(Entry {
            key,
            key_span,
            value,
        });
        next = map.next_key_seed(KeySeed)?;
    }
    Ok(Kind::Table(entries))
}

struct KindSeed;

impl<'de> DeserializeSeed<'de> for KindSeed {
    type Value = Kind;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Kind, D::Error> {
        d.deserialize_any(KindVisitor)
    }
}

struct KindVisitor;

impl<'de> Visitor<'de> for KindVisitor {
    type Value = Kind;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a TOML value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Kind, E> {
        Ok(Kind::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Kind, E> {
        Ok(Kind::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Kind, E> {
        i64::try_from(v)
            .map(Kind::Int)
            .map_err(|_| E::custom("integer too large"))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Kind, E> {
        Ok(Kind::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Kind, E> {
        Ok(Kind::Str(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Kind, E> {
        Ok(Kind::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Kind, A::Error> {
        let mut items = Vec::new();
        while let Some(n) = seq.next_element_seed(NodeSeed)? {
            items.push(n);
        }
        Ok(Kind::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Kind, A::Error> {
        let first = map.next_key_seed(KeySeed)?;
        table_or_datetime(first, map)
    }
}

/// A table key, with its span when the deserializer knows it.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = (String, Option<Range<usize>>);
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_struct(SPANNED_NAME, SPANNED_FIELDS, KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = (String, Option<Range<usize>>);
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok((v.to_string(), None))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok((v, None))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let (mut start, mut end, mut key) = (0usize, 0usize, None);
        while let Some(k) = map.next_key::<String>()? {
            if k == SPANNED_START {
                start = map.next_value()?;
            } else if k == SPANNED_END {
                end = map.next_value()?;
            } else if k == SPANNED_VALUE {
                key = Some(map.next_value::<String>()?);
            } else {
                return Err(de::Error::custom("malformed spanned key"));
            }
        }
        let key = key.ok_or_else(|| de::Error::custom("spanned key without value"))?;
        Ok((key, Some(start..end)))
    }
}

/// 1-based (line, column) of a byte offset; columns count characters, not bytes.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let col = before[line_start..].chars().count() + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(n: &Node) -> &[Entry] {
        match &n.kind {
            Kind::Table(t) => t,
            _ => panic!("not a table"),
        }
    }

    #[test]
    fn spans_for_keys_values_and_nested_tables() {
        let text = "a = 1\n[b]\nc = \"x\"\nd = { e = true }\nt = 2024-05-01 00:00:00\n[[s]]\nn = [1, 2.5]\n";
        let root = parse(text).unwrap();
        let t = table(&root);
        assert_eq!(t[0].key, "a");
        assert_eq!(line_col(text, t[0].key_span.start), (1, 1));
        assert_eq!(t[0].value.kind, Kind::Int(1));
        let b = table(&t[1].value);
        assert_eq!(b[0].value.kind, Kind::Str("x".into()));
        assert_eq!(line_col(text, b[0].value.span.start), (3, 5));
        let d = table(&b[1].value);
        assert_eq!(line_col(text, d[0].key_span.start), (4, 7));
        assert_eq!(
            b[2].value.kind,
            Kind::Datetime("2024-05-01T00:00:00".into())
        );
        match &t[2].value.kind {
            Kind::Array(a) => {
                let s0 = table(&a[0]);
                assert_eq!(line_col(text, s0[0].key_span.start), (7, 1));
                assert_eq!(s0[0].value.to_json(), serde_json::json!([1, 2.5]));
            }
            _ => panic!("array of tables expected"),
        }
    }

    #[test]
    fn syntax_error_has_span() {
        let (msg, span) = parse("a = 1\nb = \n").unwrap_err();
        assert!(!msg.is_empty());
        assert!(span.is_some());
    }

    #[test]
    fn line_col_counts_chars() {
        assert_eq!(line_col("仓库 = 1\nx", 0), (1, 1));
        assert_eq!(line_col("仓库 = 1\nx", "仓库 = 1\n".len()), (2, 1));
        assert_eq!(line_col("仓库", "仓".len()), (1, 2));
    }
}
