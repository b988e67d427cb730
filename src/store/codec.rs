//! Record and key encoding: values are `[version byte] ++ bincode 1.3.3 (varint)`; keys are
//! big-endian so that byte order is numeric order. Text key parts are separated by `\0`.

use serde::{de::DeserializeOwned, Serialize};

use super::error::StoreError;
use bincode::Options;

/// Current format version of every record the store writes.
pub const VERSION: u8 = 1;
/// The store's layout (`meta` key `store_format`), see [`Layout`]. A new store is created with
/// the newest; older ones keep theirs.
pub const STORE_FORMAT: u8 = 2;

/// How records are grouped under sled keys. sled keeps in-memory state for every 16-key leaf
/// (and sequential keys leave leaves half full), so memory follows the number of keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Format 1: line keys in hashed buckets, one `models` key per entry.
    V1,
    /// Format 2: numeric line keys grouped by value; outbox records and models of 16
    /// consecutive entries under one key ([`id_bucket_key`]); docs records of neighbouring
    /// source keys under one key ([`doc_bucket_key`]).
    V2,
}

impl Layout {
    pub fn from_format(format: u8) -> Option<Layout> {
        match format {
            1 => Some(Layout::V1),
            2 => Some(Layout::V2),
            _ => None,
        }
    }

    pub fn lines(self) -> LineBuckets {
        match self {
            Layout::V1 => LineBuckets::Hashed,
            Layout::V2 => LineBuckets::Grouped,
        }
    }

    /// The `outbox` or `models` key holding entry `id`'s record.
    pub fn id_key(self, id: u64) -> Vec<u8> {
        match self {
            Layout::V1 => id_key(id).to_vec(),
            Layout::V2 => id_bucket_key(id).to_vec(),
        }
    }
}

/// Entries per id bucket (consecutive ids: a page's new entries share a few buckets, and so do
/// the entries of one BatchSave).
const ID_BUCKET: u64 = 16;

/// Format 2 keeps the outbox records and the models of 16 consecutive entries under one key:
/// `'b' ++ (id / 16)`, nine bytes, never the eight of a format-1 key.
pub fn id_bucket_key(id: u64) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[0] = b'b';
    k[1..].copy_from_slice(&(id / ID_BUCKET).to_be_bytes());
    k
}

/// The records of one id bucket, by entry id, in id order.
pub type IdBucket = Vec<(u64, Vec<u8>)>;

/// `[VERSION] ++ (id(8) len(4) record)*`.
pub fn encode_id_bucket(b: &IdBucket) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + b.iter().map(|(_, m)| 12 + m.len()).sum::<usize>());
    out.push(VERSION);
    for (id, m) in b {
        out.extend_from_slice(&id.to_be_bytes());
        out.extend_from_slice(&(m.len() as u32).to_be_bytes());
        out.extend_from_slice(m);
    }
    out
}

fn bucket_error(tree: &'static str, key: &[u8], message: &str) -> StoreError {
    StoreError::Codec {
        tree,
        key: show_key(key),
        message: message.to_string(),
    }
}

/// A bucket record's items, after its version byte.
fn bucket_body<'a>(
    tree: &'static str,
    key: &[u8],
    bytes: &'a [u8],
) -> Result<&'a [u8], StoreError> {
    match bytes.split_first() {
        Some((&VERSION, rest)) => Ok(rest),
        Some((v, _)) => Err(StoreError::UnknownVersion {
            tree,
            key: show_key(key),
            version: *v,
            supported: VERSION,
        }),
        None => Err(bucket_error(tree, key, "empty bucket")),
    }
}

/// Walks an id bucket record: `f(id, record)` for each, in order, until `f` says stop.
fn walk_id_bucket<'a>(
    tree: &'static str,
    key: &[u8],
    bytes: &'a [u8],
    mut f: impl FnMut(u64, &'a [u8]) -> bool,
) -> Result<(), StoreError> {
    let bad = |message: &str| bucket_error(tree, key, message);
    let mut rest = bucket_body(tree, key, bytes)?;
    while !rest.is_empty() {
        if rest.len() < 12 {
            return Err(bad("bucket cut short"));
        }
        let (head, tail) = rest.split_at(12);
        let id = u64::from_be_bytes(head[..8].try_into().map_err(|_| bad("id"))?);
        let len = u32::from_be_bytes(head[8..].try_into().map_err(|_| bad("length"))?) as usize;
        if tail.len() < len {
            return Err(bad("bucket cut short"));
        }
        let (m, next) = tail.split_at(len);
        if !f(id, m) {
            break;
        }
        rest = next;
    }
    Ok(())
}

pub fn decode_id_bucket(
    tree: &'static str,
    key: &[u8],
    bytes: &[u8],
) -> Result<IdBucket, StoreError> {
    let mut out = Vec::new();
    walk_id_bucket(tree, key, bytes, |id, m| {
        out.push((id, m.to_vec()));
        true
    })?;
    Ok(out)
}

/// The record of `id` in a bucket, without copying the others.
pub fn bucket_item<'a>(
    tree: &'static str,
    key: &[u8],
    bytes: &'a [u8],
    id: u64,
) -> Result<Option<&'a [u8]>, StoreError> {
    let mut found = None;
    walk_id_bucket(tree, key, bytes, |i, m| {
        if i == id {
            found = Some(m);
        }
        found.is_none()
    })?;
    Ok(found)
}

fn options() -> impl bincode::Options {
    bincode::DefaultOptions::new()
}

/// Encode a record with its version byte.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    out.push(VERSION);
    // Serializing plain structs of strings, numbers and enums into a Vec cannot fail.
    if let Err(e) = options().serialize_into(&mut out, value) {
        tracing::error!("store: bincode serialize failed: {e}");
    }
    out
}

/// The outbox record of an entry: everything but the model, which lives in the `models` tree
/// (written once; state changes then rewrite a few hundred bytes, not the whole model).
pub fn encode_entry_record(e: &super::types::OutboxEntry) -> Vec<u8> {
    let record = super::types::OutboxEntry {
        id: e.id,
        scheme: e.scheme.clone(),
        form_id: e.form_id.clone(),
        source_key: e.source_key.clone(),
        identity: e.identity.clone(),
        line_keys: e.line_keys.clone(),
        model: Vec::new(),
        fingerprint: e.fingerprint,
        state: e.state.clone(),
        attempts: e.attempts,
        created_at: e.created_at,
        updated_at: e.updated_at,
        changed_after_delivery: e.changed_after_delivery,
    };
    encode(&record)
}

/// First byte of a deflate-compressed model in the `models` tree. A model stored as plain JSON
/// (stores written before compression) starts with `{`, `[` or whitespace, never with this.
const MODEL_DEFLATE: u8 = 0x01;

/// A model's JSON as the `models` tree keeps it: raw deflate, level 1. A mapped model is a
/// kilobyte or two of JSON with the same keys on every line; it shrinks about fourfold, and
/// sled's memory grows with the bytes it has written.
pub fn pack_model(json: &[u8]) -> Vec<u8> {
    use miniz_oxide::deflate::core::{
        compress, create_comp_flags_from_zip_params, CompressorOxide, TDEFLFlush, TDEFLStatus,
    };
    thread_local! {
        // A compressor is ~300 KB of tables: set up once per thread, reset per model.
        static COMPRESSOR: std::cell::RefCell<Box<CompressorOxide>> = std::cell::RefCell::new(
            Box::new(CompressorOxide::new(create_comp_flags_from_zip_params(1, -15, 0))),
        );
    }
    COMPRESSOR.with(|c| {
        let mut c = c.borrow_mut();
        c.reset();
        let mut out = vec![0u8; json.len() / 2 + 64];
        out[0] = MODEL_DEFLATE;
        let (mut pos, mut input) = (1usize, json);
        loop {
            let (status, read, wrote) =
                compress(&mut c, input, &mut out[pos..], TDEFLFlush::Finish);
            pos += wrote;
            input = &input[read.min(input.len())..];
            match status {
                TDEFLStatus::Done => {
                    out.truncate(pos);
                    return out;
                }
                TDEFLStatus::Okay => {
                    let len = out.len();
                    out.resize(len * 2, 0);
                }
                // Only on misuse of the API; keep the model readable, uncompressed.
                _ => return json.to_vec(),
            }
        }
    })
}

/// The model JSON back from what `pack_model` (or an older ferry) stored.
pub fn unpack_model(key: &[u8], bytes: &[u8]) -> Result<Vec<u8>, StoreError> {
    match bytes.split_first() {
        Some((&MODEL_DEFLATE, body)) => {
            miniz_oxide::inflate::decompress_to_vec_with_limit(body, 64 << 20).map_err(|e| {
                StoreError::Codec {
                    tree: "models",
                    key: show_key(key),
                    message: format!("compressed model does not inflate: {e:?}"),
                }
            })
        }
        _ => Ok(bytes.to_vec()),
    }
}

/// Decode a record, checking the version byte. `tree` and `key` name the record in errors.
pub fn decode<T: DeserializeOwned>(
    tree: &'static str,
    key: &[u8],
    bytes: &[u8],
) -> Result<T, StoreError> {
    let Some((&version, body)) = bytes.split_first() else {
        return Err(StoreError::Codec {
            tree,
            key: show_key(key),
            message: "empty record".into(),
        });
    };
    if version != VERSION {
        return Err(StoreError::UnknownVersion {
            tree,
            key: show_key(key),
            version,
            supported: VERSION,
        });
    }
    options().deserialize(body).map_err(|e| StoreError::Codec {
        tree,
        key: show_key(key),
        message: e.to_string(),
    })
}

/// Printable form of a key: text parts as text, other bytes as hex.
pub fn show_key(key: &[u8]) -> String {
    if key.len() == 8 {
        return format!("#{}", u64::from_be_bytes(key.try_into().unwrap_or([0; 8])));
    }
    let mut s = String::new();
    for chunk in key.utf8_chunks() {
        s.push_str(&chunk.valid().replace('\0', "/"));
        for b in chunk.invalid() {
            s.push_str(&format!("\\x{b:02x}"));
        }
    }
    s
}

/// How line keys are grouped into `line_buckets` records (fixed when a store is created; see
/// `Store::open`). One sled key per line made line keys most of the store's keys, and sled
/// keeps in-memory state per 16-key leaf.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineBuckets {
    /// `form \0 hash(2)`: 65,536 buckets per form (stores of format 1).
    Hashed,
    /// Numeric line keys (Jushuitan's `ioi_id`) by value without the last two digits,
    /// `form \0 'n' digits`, so the lines of a page share a few buckets of at most 100 keys and
    /// one transaction rewrites a few records instead of one per line; any other line key
    /// `form \0 'h' hash(2)`.
    Grouped,
}

pub fn line_bucket_key(scheme: LineBuckets, form: &str, line_key: &str) -> Vec<u8> {
    let mut k = prefix(form);
    let hash = |k: &mut Vec<u8>| {
        let h = crate::mapping::fnv1a64(line_key.as_bytes());
        k.extend_from_slice(&(h as u16).to_be_bytes());
    };
    match scheme {
        LineBuckets::Hashed => hash(&mut k),
        LineBuckets::Grouped => {
            let digits = line_key.as_bytes();
            if !digits.is_empty() && digits.len() <= 24 && digits.iter().all(u8::is_ascii_digit) {
                k.push(b'n');
                k.extend_from_slice(&digits[..digits.len().saturating_sub(2)]);
            } else {
                k.push(b'h');
                hash(&mut k);
            }
        }
    }
    k
}

/// Format 2 keeps the `docs` records of numeric source keys (Jushuitan's `io_id`) that differ
/// only in the last digit under one key, `scheme \0 'n' digits`; any other source key under
/// `scheme \0 'h' hash(2)`. `pair_key` is `scheme \0 source key`.
pub fn doc_bucket_key(pair_key: &[u8]) -> Vec<u8> {
    let split = pair_key
        .iter()
        .position(|b| *b == 0)
        .unwrap_or(pair_key.len());
    let (scheme, rest) = pair_key.split_at(split);
    let source = rest.get(1..).unwrap_or_default();
    let mut k = Vec::with_capacity(scheme.len() + 4 + source.len());
    k.extend_from_slice(scheme);
    k.push(0);
    if !source.is_empty() && source.len() <= 24 && source.iter().all(u8::is_ascii_digit) {
        k.push(b'n');
        k.extend_from_slice(&source[..source.len() - 1]);
    } else {
        k.push(b'h');
        k.extend_from_slice(&(crate::mapping::fnv1a64(source) as u16).to_be_bytes());
    }
    k
}

/// The records of one keyed bucket (`docs` in format 2): (full key, record), in key order.
pub type KeyBucket = Vec<(Vec<u8>, Vec<u8>)>;

/// `[VERSION] ++ (key len(4) key record len(4) record)*`.
pub fn encode_key_bucket(b: &KeyBucket) -> Vec<u8> {
    let size: usize = b.iter().map(|(k, v)| 8 + k.len() + v.len()).sum();
    let mut out = Vec::with_capacity(1 + size);
    out.push(VERSION);
    for (k, v) in b {
        out.extend_from_slice(&(k.len() as u32).to_be_bytes());
        out.extend_from_slice(k);
        out.extend_from_slice(&(v.len() as u32).to_be_bytes());
        out.extend_from_slice(v);
    }
    out
}

pub fn decode_key_bucket(
    tree: &'static str,
    key: &[u8],
    bytes: &[u8],
) -> Result<KeyBucket, StoreError> {
    let bad = |message: &str| bucket_error(tree, key, message);
    let mut rest = bucket_body(tree, key, bytes)?;
    let take = |rest: &mut &[u8]| -> Result<Vec<u8>, StoreError> {
        if rest.len() < 4 {
            return Err(bad("bucket cut short"));
        }
        let (head, tail) = rest.split_at(4);
        let len = u32::from_be_bytes(head.try_into().map_err(|_| bad("length"))?) as usize;
        if tail.len() < len {
            return Err(bad("bucket cut short"));
        }
        let (item, next) = tail.split_at(len);
        *rest = next;
        Ok(item.to_vec())
    };
    let mut out = Vec::new();
    while !rest.is_empty() {
        let k = take(&mut rest)?;
        let v = take(&mut rest)?;
        out.push((k, v));
    }
    Ok(out)
}

/// The (line key, owner id) pairs of one bucket.
pub type LineBucket = Vec<(String, u64)>;

/// The owner of `line_key` in a bucket record, if it has one.
pub fn bucket_owner(
    key: &[u8],
    bucket: Option<&[u8]>,
    line_key: &str,
) -> Result<Option<u64>, StoreError> {
    let Some(bytes) = bucket else {
        return Ok(None);
    };
    let b: LineBucket = decode("line_buckets", key, bytes)?;
    Ok(b.into_iter().find(|(l, _)| l == line_key).map(|(_, id)| id))
}

/// What the `docs` tree keeps per (scheme, source key): the entry that carries the document and
/// the fingerprint last seen (what `by_key` held), and its last trace events (what `trace` and
/// `trace_head` held). One sled key per document instead of three or more.
#[derive(Debug, Default)]
pub struct DocRecord {
    pub entry: Option<(u64, u64)>,
    pub events: Vec<super::types::TraceEvent>,
}

/// `[1 if entry][id(8)][fingerprint(8)] ++ encode(events)`.
const DOC_HEADER: usize = 17;

pub fn encode_doc(d: &DocRecord) -> Vec<u8> {
    let (flag, (id, fp)) = match d.entry {
        Some(e) => (1u8, e),
        None => (0u8, (0, 0)),
    };
    let mut out = Vec::with_capacity(DOC_HEADER + 64 * d.events.len());
    out.push(flag);
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&fp.to_be_bytes());
    out.extend_from_slice(&encode(&d.events));
    out
}

/// The entry part of a doc record, without decoding the events.
pub fn doc_entry(key: &[u8], bytes: &[u8]) -> Result<Option<(u64, u64)>, StoreError> {
    if bytes.len() < DOC_HEADER {
        return Err(StoreError::Codec {
            tree: "docs",
            key: show_key(key),
            message: format!("record of {} bytes is shorter than its header", bytes.len()),
        });
    }
    if bytes[0] == 0 {
        return Ok(None);
    }
    Ok(Some((
        read_id("docs", key, &bytes[1..9])?,
        read_id("docs", key, &bytes[9..17])?,
    )))
}

pub fn decode_doc(key: &[u8], bytes: &[u8]) -> Result<DocRecord, StoreError> {
    let entry = doc_entry(key, bytes)?;
    let events = decode("docs", key, &bytes[DOC_HEADER..])?;
    Ok(DocRecord { entry, events })
}

pub fn id_key(id: u64) -> [u8; 8] {
    id.to_be_bytes()
}

pub fn read_id(tree: &'static str, key: &[u8], bytes: &[u8]) -> Result<u64, StoreError> {
    bytes
        .get(..8)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_be_bytes)
        .ok_or_else(|| {
            StoreError::Corrupt(format!("tree `{tree}` key {}: short id", show_key(key)))
        })
}

/// i64 as big-endian bytes that sort in numeric order (sign bit flipped).
pub fn ts_bytes(ts: i64) -> [u8; 8] {
    ((ts as u64) ^ (1 << 63)).to_be_bytes()
}

pub fn ts_from(bytes: [u8; 8]) -> i64 {
    (u64::from_be_bytes(bytes) ^ (1 << 63)) as i64
}

/// `a \0 b`.
pub fn pair(a: &str, b: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(a.len() + b.len() + 1);
    k.extend_from_slice(a.as_bytes());
    k.push(0);
    k.extend_from_slice(b.as_bytes());
    k
}

/// `a \0` — prefix of every `pair(a, _)` key.
pub fn prefix(a: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(a.len() + 1);
    k.extend_from_slice(a.as_bytes());
    k.push(0);
    k
}

/// Due index key: `form_id \0 due_ts(8) id(8)`.
pub fn due_key(form_id: &str, due: i64, id: u64) -> Vec<u8> {
    let mut k = prefix(form_id);
    k.extend_from_slice(&ts_bytes(due));
    k.extend_from_slice(&id.to_be_bytes());
    k
}

/// `(due, id)` from a due index key.
pub fn parse_due_key(key: &[u8]) -> Result<(i64, u64), StoreError> {
    let n = key.len();
    if n < 17 {
        return Err(StoreError::Corrupt(format!(
            "due index key {} too short",
            show_key(key)
        )));
    }
    let ts: [u8; 8] = key[n - 16..n - 8].try_into().unwrap_or([0; 8]);
    let id: [u8; 8] = key[n - 8..].try_into().unwrap_or([0; 8]);
    Ok((ts_from(ts), u64::from_be_bytes(id)))
}

/// Dead index key: `scheme \0 id(8)`.
pub fn dead_key(scheme: &str, id: u64) -> Vec<u8> {
    let mut k = prefix(scheme);
    k.extend_from_slice(&id.to_be_bytes());
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct R {
        a: u64,
        b: String,
        c: Vec<u8>,
    }

    #[test]
    fn key_buckets_round_trip_and_docs_group_by_source_key() {
        let b: KeyBucket = vec![
            (b"s\x0012".to_vec(), vec![1, 2]),
            (b"s\x0019".to_vec(), vec![]),
        ];
        let k = doc_bucket_key(b"s\x0012");
        assert_eq!(k, b"s\x00n1".to_vec());
        assert_eq!(k, doc_bucket_key(b"s\x0019"));
        assert_ne!(k, doc_bucket_key(b"s\x0020"));
        assert_ne!(k, doc_bucket_key(b"t\x0012"));
        assert_eq!(doc_bucket_key(b"s\x00").len(), 5);
        assert_eq!(doc_bucket_key(b"s\x00SO-1")[..3], *b"s\x00h");
        let bytes = encode_key_bucket(&b);
        assert_eq!(decode_key_bucket("docs", &k, &bytes).unwrap(), b);
        let err = decode_key_bucket("docs", &k, &bytes[..bytes.len() - 3]).unwrap_err();
        assert!(err.to_string().contains("cut short"), "{err}");
        assert!(decode_key_bucket("docs", &k, &[]).is_err());
    }

    #[test]
    fn id_buckets_round_trip_and_find_one() {
        let b: IdBucket = vec![(32, b"abc".to_vec()), (33, Vec::new()), (47, vec![7; 300])];
        let k = id_bucket_key(40);
        assert_eq!(k, id_bucket_key(32));
        assert_ne!(k, id_bucket_key(48));
        assert_eq!(k.len(), 9, "never the length of a format-1 key");
        let bytes = encode_id_bucket(&b);
        assert_eq!(decode_id_bucket("models", &k, &bytes).unwrap(), b);
        assert_eq!(
            bucket_item("models", &k, &bytes, 47).unwrap(),
            Some(&[7u8; 300][..])
        );
        assert_eq!(
            bucket_item("models", &k, &bytes, 33).unwrap(),
            Some(&[][..])
        );
        assert_eq!(bucket_item("models", &k, &bytes, 34).unwrap(), None);
        let err = decode_id_bucket("outbox", &k, &bytes[..bytes.len() - 1]).unwrap_err();
        assert!(err.to_string().contains("cut short"), "{err}");
        assert!(err.to_string().contains("outbox"), "{err}");
        assert!(decode_id_bucket("models", &k, &[]).is_err());
        assert!(decode_id_bucket("models", &k, &[VERSION + 1]).is_err());
    }

    #[test]
    fn models_pack_and_legacy_plain_json_reads() {
        let json = br#"{"FBillNo":"JST-1","FEntity":[{"FMaterialId":{"FNumber":"A"}},{"FMaterialId":{"FNumber":"B"}}]}"#;
        let packed = pack_model(json);
        assert_eq!(packed[0], MODEL_DEFLATE);
        assert!(packed.len() < json.len());
        assert_eq!(unpack_model(b"k", &packed).unwrap(), json.to_vec());
        assert_eq!(unpack_model(b"k", json).unwrap(), json.to_vec());
        // Incompressible input makes the output outgrow its first buffer.
        let mut x: u64 = 7;
        let noise: Vec<u8> = (0..20_000)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (x >> 56) as u8
            })
            .collect();
        assert_eq!(unpack_model(b"k", &pack_model(&noise)).unwrap(), noise);
        let err = unpack_model(b"k", &[MODEL_DEFLATE, 0xff, 0x00]).unwrap_err();
        assert!(err.to_string().contains("models"), "{err}");
    }

    #[test]
    fn roundtrip_with_version_byte() {
        let r = R {
            a: 7,
            b: "x".into(),
            c: vec![1, 2, 3],
        };
        let bytes = encode(&r);
        assert_eq!(bytes[0], VERSION);
        let back: R = decode("t", b"k", &bytes).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn unknown_version_is_a_clear_error() {
        let mut bytes = encode(&R {
            a: 1,
            b: String::new(),
            c: vec![],
        });
        bytes[0] = 9;
        let err = decode::<R>("outbox", &7u64.to_be_bytes(), &bytes).unwrap_err();
        assert!(matches!(
            err,
            StoreError::UnknownVersion {
                version: 9,
                tree: "outbox",
                ..
            }
        ));
        let msg = err.to_string();
        assert!(
            msg.contains("unknown format version 9") && msg.contains("#7"),
            "{msg}"
        );
    }

    #[test]
    fn garbage_and_empty_are_codec_errors() {
        assert!(matches!(
            decode::<R>("t", b"k", &[]),
            Err(StoreError::Codec { .. })
        ));
        assert!(matches!(
            decode::<R>("t", b"k", &[VERSION, 0xff]),
            Err(StoreError::Codec { .. })
        ));
    }

    #[test]
    fn ts_keys_sort_numerically() {
        let mut v = vec![5i64, -3, 0, i64::MIN, i64::MAX, 1_700_000_000];
        let mut keys: Vec<_> = v.iter().map(|t| ts_bytes(*t)).collect();
        keys.sort();
        v.sort();
        assert_eq!(keys.iter().map(|k| ts_from(*k)).collect::<Vec<_>>(), v);
        let k = due_key("SAL", -5, 42);
        assert_eq!(parse_due_key(&k).unwrap(), (-5, 42));
    }
}
