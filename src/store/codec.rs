//! Record and key encoding: values are `[version byte] ++ bincode 1.3.3 (varint)`; keys are
//! big-endian so that byte order is numeric order. Text key parts are separated by `\0`.

use serde::{de::DeserializeOwned, Serialize};

use super::error::StoreError;
use bincode::Options;

pub use super::layout::*;

/// Current format version of every record the store writes.
pub const VERSION: u8 = 1;
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

/// First byte of a deflate-compressed document in the `sources` tree.
const SOURCE_DEFLATE: u8 = 0x01;

/// A source document's JSON as the `sources` tree keeps it (documents whose mapping failed, a
/// few at most): raw deflate, level 1. Models are compressed sixteen at a time instead
/// (`layout::encode_models_bucket`).
pub fn pack_source(json: &[u8]) -> Vec<u8> {
    use miniz_oxide::deflate::core::{
        compress, create_comp_flags_from_zip_params, CompressorOxide, TDEFLFlush, TDEFLStatus,
    };
    thread_local! {
        // A compressor is ~300 KB of tables: set up once per thread, reset per document.
        static COMPRESSOR: std::cell::RefCell<Box<CompressorOxide>> = std::cell::RefCell::new(
            Box::new(CompressorOxide::new(create_comp_flags_from_zip_params(1, -15, 0))),
        );
    }
    COMPRESSOR.with(|c| {
        let mut c = c.borrow_mut();
        c.reset();
        let mut out = vec![0u8; json.len() / 2 + 64];
        out[0] = SOURCE_DEFLATE;
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

/// The document JSON back from what `pack_source` stored.
pub fn unpack_source(key: &[u8], bytes: &[u8]) -> Result<Vec<u8>, StoreError> {
    match bytes.split_first() {
        Some((&SOURCE_DEFLATE, body)) => {
            miniz_oxide::inflate::decompress_to_vec_with_limit(body, 64 << 20).map_err(|e| {
                StoreError::Codec {
                    tree: "sources",
                    key: show_key(key),
                    message: format!("compressed document does not inflate: {e:?}"),
                }
            })
        }
        _ => Err(StoreError::Codec {
            tree: "sources",
            key: show_key(key),
            message: "record is not a compressed document".into(),
        }),
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
    fn sources_pack_and_unpack() {
        let json = br#"{"FBillNo":"JST-1","FEntity":[{"FMaterialId":{"FNumber":"A"}},{"FMaterialId":{"FNumber":"B"}}]}"#;
        let packed = pack_source(json);
        assert_eq!(packed[0], SOURCE_DEFLATE);
        assert!(packed.len() < json.len());
        assert_eq!(unpack_source(b"k", &packed).unwrap(), json.to_vec());
        assert!(
            unpack_source(b"k", json).is_err(),
            "plain JSON is not a model record"
        );
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
        assert_eq!(unpack_source(b"k", &pack_source(&noise)).unwrap(), noise);
        let err = unpack_source(b"k", &[SOURCE_DEFLATE, 0xff, 0x00]).unwrap_err();
        assert!(err.to_string().contains("sources"), "{err}");
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
