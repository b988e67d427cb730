//! What the Jushuitan and Kingdee clients share about HTTP answers: redirects are never followed
//! (a request body carries tokens, signatures or a password, and must not leave for a host the
//! config did not name), and an answer is read and parsed within a size limit, so memory stays
//! bounded whatever a server sends.

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// Default cap on the size of one answer (`max_response_mb`).
pub const DEFAULT_MAX_RESPONSE_MB: u32 = 32;

/// An answer larger than this is read and parsed by one call at a time (see [`read_body`]).
const LARGE_ANSWER: usize = 1 << 20;

/// Parsing an answer may take this many times its size limit in memory (strings, and the room
/// arrays and objects take). Parsed JSON takes 10-15 times its text: a page of 50 documents of
/// 5 lines is about 75 KB of JSON and 1 MB parsed, while 32 MB of `{},{},...` would take 800 MB.
/// With the default limit, a hostile answer costs at most 32 MB read plus 32 MB parsed.
const PARSED_PER_LIMIT: usize = 1;

/// The reqwest client builder both clients start from: no redirects followed.
pub fn client_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none())
}

/// A 3xx answer, described for an error message: the status and where it pointed.
pub fn redirect(status: u16, headers: &reqwest::header::HeaderMap) -> Option<String> {
    if !(300..400).contains(&status) {
        return None;
    }
    let location = headers
        .get(reqwest::header::LOCATION)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .map(|l| printable(&l, 200))
        .unwrap_or_else(|| "(no Location header)".into());
    Some(format!(
        "HTTP {status} redirect to {location}; ferry does not follow redirects, so nothing was sent there (if the server moved, put its new address in base_url)"
    ))
}

/// Why an answer could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("the answer is larger than the {limit_mb} MB limit{} (max_response_mb); it was not read", declared.map(|d| format!(" ({} bytes announced)", d)).unwrap_or_default())]
    TooLarge {
        limit_mb: u32,
        declared: Option<u64>,
    },
    #[error("{0}")]
    Read(#[from] reqwest::Error),
}

/// The body of an answer. While a large one is held, no other large answer is read or parsed:
/// however many calls a hostile server answers at once, only one large answer is in memory.
pub struct Body {
    pub bytes: Vec<u8>,
    pub limit_mb: u32,
    _large: Option<tokio::sync::MutexGuard<'static, ()>>,
}

impl Body {
    /// The size limit it was read within, in bytes (what [`parse_json`] takes).
    pub fn limit(&self) -> usize {
        (self.limit_mb.max(1) as usize) << 20
    }
}

static LARGE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Reads the body of `resp`, holding at most `limit_mb` MB of it.
pub async fn read_body(mut resp: reqwest::Response, limit_mb: u32) -> Result<Body, BodyError> {
    let limit = (limit_mb.max(1) as usize) << 20;
    let mut large = None;
    let too_large = |declared| BodyError::TooLarge { limit_mb, declared };
    let declared = resp.content_length();
    if let Some(n) = declared.filter(|&n| n > limit as u64) {
        return Err(too_large(Some(n)));
    }
    if declared.is_some_and(|n| n > LARGE_ANSWER as u64) {
        large = Some(LARGE.lock().await);
    }
    let mut body = Vec::with_capacity(declared.unwrap_or(0).min(limit as u64) as usize);
    while let Some(chunk) = resp.chunk().await? {
        if body.len() + chunk.len() > limit {
            return Err(too_large(declared));
        }
        if large.is_none() && body.len() + chunk.len() > LARGE_ANSWER {
            large = Some(LARGE.lock().await);
        }
        if body.capacity() - body.len() < chunk.len() {
            // Up to LARGE_ANSWER the buffer doubles; past it, room for the whole limit is
            // reserved at once: its pages are only resident once written, and no further
            // reallocation copies the body (a copy briefly holds it twice).
            let want = if body.len() + chunk.len() > LARGE_ANSWER {
                limit
            } else {
                (body.len() * 2).max(body.len() + chunk.len())
            };
            body.reserve_exact(want - body.len());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Body {
        bytes: body,
        limit_mb,
        _large: large,
    })
}

/// Why a JSON answer could not be parsed.
#[derive(Debug, thiserror::Error)]
pub enum JsonError {
    #[error("the answer ({bytes} bytes) would take more than {budget_mb} MB once parsed; if it is a real answer, raise max_response_mb")]
    TooBig { bytes: usize, budget_mb: usize },
    #[error("{0}")]
    Syntax(#[from] serde_json::Error),
}

/// Parses a JSON answer whose size limit is `limit` bytes. The values are built within a
/// memory budget of [`PARSED_PER_LIMIT`] times that limit, so that a hostile answer (millions of
/// `{}`) fails instead of blowing up into gigabytes of parsed values.
pub fn parse_json(body: &[u8], limit: usize) -> Result<Value, JsonError> {
    let budget = limit.saturating_mul(PARSED_PER_LIMIT);
    let left = Cell::new(budget);
    let mut de = serde_json::Deserializer::from_slice(body);
    let parsed = Build { left: &left }
        .deserialize(&mut de)
        .and_then(|v| de.end().map(|()| v));
    match parsed {
        Ok(v) => Ok(v),
        Err(_) if left.get() == 0 => Err(JsonError::TooBig {
            bytes: body.len(),
            budget_mb: budget >> 20,
        }),
        Err(e) => Err(JsonError::Syntax(e)),
    }
}

/// What a parsed value takes inside its array, and an entry inside its object (hash, key,
/// value, and the index table's slot).
const VALUE_COST: usize = std::mem::size_of::<Value>();
const ENTRY_COST: usize = VALUE_COST + std::mem::size_of::<String>() + 3 * 8;

/// Builds a `serde_json::Value` like serde_json does, charging what it allocates to a budget:
/// string bytes, and the room arrays and objects reserve as they grow (they double, so up to
/// half of it may be unused; it is memory all the same).
#[derive(Clone, Copy)]
struct Build<'a> {
    left: &'a Cell<usize>,
}

impl Build<'_> {
    fn charge<E: de::Error>(self, cost: usize) -> Result<(), E> {
        match self.left.get().checked_sub(cost) {
            Some(rest) => {
                self.left.set(rest);
                Ok(())
            }
            None => {
                self.left.set(0);
                Err(E::custom("over the memory budget"))
            }
        }
    }

    /// Charges the growth of a container holding `len` items in room for `room`, as the next
    /// item arrives; returns the new room.
    fn grow<E: de::Error>(self, len: usize, room: usize, item_cost: usize) -> Result<usize, E> {
        if len < room {
            return Ok(room);
        }
        let grown = (room * 2).max(4);
        self.charge((grown - room) * item_cost)?;
        Ok(grown)
    }
}

impl<'de> DeserializeSeed<'de> for Build<'_> {
    type Value = Value;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Build<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }
    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Value, E> {
        Ok(Value::from(n))
    }
    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Value, E> {
        Ok(Value::from(n))
    }
    fn visit_f64<E: de::Error>(self, n: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Value, E> {
        self.charge(s.len())?;
        Ok(Value::String(s.to_owned()))
    }
    fn visit_string<E: de::Error>(self, s: String) -> Result<Value, E> {
        self.charge(s.len())?;
        Ok(Value::String(s))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        self.deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items: Vec<Value> = Vec::new();
        let mut room = 0;
        while let Some(v) = seq.next_element_seed(self)? {
            room = self.grow(items.len(), room, VALUE_COST)?;
            items.push(v);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = serde_json::Map::new();
        let mut room = 0;
        while let Some(key) = map.next_key::<String>()? {
            self.charge(key.len())?;
            room = self.grow(out.len(), room, ENTRY_COST)?;
            let value = map.next_value_seed(self)?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

/// Text from outside as one short, printable line: trimmed, control characters replaced, at
/// most `max` characters (then `…`).
pub fn printable(s: &str, max: usize) -> String {
    let s = s.trim();
    let mut out: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(max)
        .collect();
    if s.chars().nth(max).is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const MB: usize = 1 << 20;

    #[test]
    fn answers_parse_like_serde_json_does() {
        for text in [
            r#"{"code":0,"data":{"datas":[{"a":"1","b":-2,"c":3.5,"d":null,"e":[true,false],"f":{}}]}}"#,
            r#"[1,18446744073709551615,-9223372036854775808,1e300,"\u4e2d\n"]"#,
            r#""x""#,
        ] {
            let ours = parse_json(text.as_bytes(), MB).unwrap();
            let theirs: Value = serde_json::from_str(text).unwrap();
            assert_eq!(ours, theirs, "{text}");
            assert_eq!(ours.to_string(), theirs.to_string());
        }
        // A large but ordinary answer: 1 MB of documents (about 14 MB parsed) within a 16 MB
        // limit.
        let doc = r#"{"io_id":1,"remark":"一段备注一段备注一段备注","items":[{"qty":"2","sale_price":"129.90"}]},"#;
        let body = format!("{{\"datas\":[{}{{}}]}}", doc.repeat(MB / doc.len()));
        assert!(parse_json(body.as_bytes(), 16 * MB).is_ok());
        assert!(matches!(
            parse_json(b"{\"a\":1} x", MB),
            Err(JsonError::Syntax(_))
        ));
    }

    #[test]
    fn dense_answers_fail_within_the_budget() {
        // 1 MB of `{}` would be 350,000 values, about 30 MB parsed.
        let body = format!("[{}{{}}]", "{},".repeat(MB / 3));
        match parse_json(body.as_bytes(), MB) {
            Err(JsonError::TooBig { bytes, budget_mb }) => {
                assert_eq!((bytes, budget_mb), (body.len(), 1));
            }
            other => panic!("{other:?}"),
        }
        // Syntax errors are still syntax errors.
        let broken = format!("[{}", "\"x\",".repeat(1000));
        assert!(matches!(
            parse_json(broken.as_bytes(), MB),
            Err(JsonError::Syntax(_))
        ));
    }

    #[test]
    fn redirects_name_their_location() {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert(
            reqwest::header::LOCATION,
            "http://elsewhere.example/x".parse().unwrap(),
        );
        let m = redirect(307, &h).unwrap();
        assert!(
            m.contains("307") && m.contains("http://elsewhere.example/x"),
            "{m}"
        );
        assert!(redirect(200, &h).is_none());
        assert!(redirect(302, &reqwest::header::HeaderMap::new())
            .unwrap()
            .contains("no Location"));
    }
}
