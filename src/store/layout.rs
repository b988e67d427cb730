//! How records are grouped under sled keys (the store's format). sled keeps in-memory state for
//! every leaf of 16 keys, and keys that only grow leave leaves half full, so the store's memory
//! follows its number of keys: neighbouring records share one key each (outbox records and
//! models of 16 consecutive entries, docs records of neighbouring source keys, line keys of
//! neighbouring `ioi_id`s, due-index records of one id bucket falling due in the same second,
//! the in-flight marks of one id bucket).

use super::codec::{decode, prefix, show_key, VERSION};
use super::error::StoreError;

/// The store's format (`meta` key `store_format`). A store of any other format (or with
/// records but no format: an early development build's) is refused at open; there is one
/// layout, described in this module.
pub const STORE_FORMAT: u8 = 4;

/// Entries per id bucket (consecutive ids: a page's new entries share a few buckets, and so do
/// the entries of one BatchSave).
const ID_BUCKET: u64 = 16;

/// The outbox records and the models of 16 consecutive entries share one key: `'b' ++ (id / 16)`.
pub fn id_bucket_key(id: u64) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[0] = b'b';
    k[1..].copy_from_slice(&(id / ID_BUCKET).to_be_bytes());
    k
}

/// The due index key: `form \0 due_ts(8) (id / 16)(8)`, the shape of a per-entry due key
/// (`codec::due_key`) with the id bucket in place of the id. Its value is [`DueBits`].
pub fn due_bucket_key(form_id: &str, due: i64, id: u64) -> Vec<u8> {
    super::codec::due_key(form_id, due, id / ID_BUCKET)
}

/// Which entries of a due bucket are waiting: bit `id % 16`.
pub type DueBits = u16;

pub fn due_bit(id: u64) -> DueBits {
    1 << (id % ID_BUCKET)
}

/// `[VERSION] ++ bits (2, big-endian)`.
pub fn encode_due_bits(bits: DueBits) -> [u8; 3] {
    let b = bits.to_be_bytes();
    [VERSION, b[0], b[1]]
}

pub fn decode_due_bits(key: &[u8], bytes: &[u8]) -> Result<DueBits, StoreError> {
    decode_bits("due", key, bytes)
}

/// The bits of a `due` or `inflight` record (`encode_due_bits`).
pub fn decode_bits(tree: &'static str, key: &[u8], bytes: &[u8]) -> Result<DueBits, StoreError> {
    match bucket_body(tree, key, bytes)? {
        [a, b] => Ok(u16::from_be_bytes([*a, *b])),
        _ => Err(bucket_error(tree, key, "bucket is not two bytes")),
    }
}

/// The entry ids whose bits are set in the bits record of id bucket `key` (`inflight`), in id
/// order.
pub fn id_bucket_bits(
    tree: &'static str,
    key: &[u8],
    bytes: &[u8],
) -> Result<Vec<u64>, StoreError> {
    let bits = decode_bits(tree, key, bytes)?;
    let group = match key {
        [b'b', rest @ ..] if rest.len() == 8 => u64::from_be_bytes(
            rest.try_into()
                .map_err(|_| bucket_error(tree, key, "key"))?,
        ),
        _ => return Err(bucket_error(tree, key, "not an id bucket key")),
    };
    Ok(bucket_ids(group, bits))
}

/// The due time and the waiting entry ids, in id order, of one due record.
pub fn due_bucket_entries(key: &[u8], bytes: &[u8]) -> Result<(i64, Vec<u64>), StoreError> {
    let (due, group) = super::codec::parse_due_key(key)?;
    let bits = decode_due_bits(key, bytes)?;
    Ok((due, bucket_ids(group, bits)))
}

/// The ids whose bits are set in `bits` of id bucket `group` (`id / 16`), in id order.
fn bucket_ids(group: u64, bits: DueBits) -> Vec<u64> {
    (0..ID_BUCKET)
        .filter(|i| bits & (1 << i) != 0)
        .map(|i| group * ID_BUCKET + i)
        .collect()
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

/// First byte of a `models` record: an LZ4 block of the bucket's id records.
const MODELS_LZ4: u8 = 0x04;

/// The most a `models` record may inflate to (its sixteen models together): a corrupt length
/// must not make the store allocate gigabytes.
const MODELS_MAX: usize = 64 << 20;

/// A `models` record: `MODELS_LZ4 ++ length(4, big-endian) ++ lz4(encode_id_bucket(b))`. The
/// models of 16 consecutive entries are one stream, compressed once per write: they share their
/// field names, which a per-model compressor had to learn again for every model.
pub fn encode_models_bucket(b: &IdBucket) -> Vec<u8> {
    let raw = encode_id_bucket(b);
    let mut out = Vec::with_capacity(5 + lz4_flex::block::get_maximum_output_size(raw.len()));
    out.push(MODELS_LZ4);
    out.extend_from_slice(&(raw.len() as u32).to_be_bytes());
    out.extend_from_slice(&lz4_flex::block::compress(&raw));
    out
}

/// The id records (model JSON by entry id) of a `models` record.
pub fn decode_models_bucket(key: &[u8], bytes: &[u8]) -> Result<IdBucket, StoreError> {
    decode_id_bucket("models", key, &inflate_models(key, bytes)?)
}

/// The entry ids with a model in a `models` record, in id order.
pub fn models_bucket_ids(key: &[u8], bytes: &[u8]) -> Result<Vec<u64>, StoreError> {
    let raw = inflate_models(key, bytes)?;
    let mut ids = Vec::with_capacity(ID_BUCKET as usize);
    walk_id_bucket("models", key, &raw, |id, _| {
        ids.push(id);
        true
    })?;
    Ok(ids)
}

/// `encode_id_bucket` of the models in a `models` record.
pub fn inflate_models(key: &[u8], bytes: &[u8]) -> Result<Vec<u8>, StoreError> {
    let bad = |message: String| bucket_error("models", key, &message);
    let (len, body) = match bytes {
        [MODELS_LZ4, a, b, c, d, body @ ..] => {
            (u32::from_be_bytes([*a, *b, *c, *d]) as usize, body)
        }
        _ => return Err(bad("not a compressed models record".into())),
    };
    if len > MODELS_MAX {
        return Err(bad(format!("models record claims {len} bytes")));
    }
    let raw = lz4_flex::block::decompress(body, len)
        .map_err(|e| bad(format!("compressed models do not inflate: {e}")))?;
    if raw.len() != len {
        return Err(bad(format!(
            "models record inflates to {} bytes, not {len}",
            raw.len()
        )));
    }
    Ok(raw)
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

/// The `line_buckets` key of a line key: numeric line keys (Jushuitan's `ioi_id`) by value
/// without the last two digits, `form \0 'n' digits`, so the lines of a page share a few buckets
/// of at most 100 keys and one transaction rewrites a few records instead of one per line; any
/// other line key `form \0 'h' hash(2)`.
pub fn line_bucket_key(form: &str, line_key: &str) -> Vec<u8> {
    let mut k = prefix(form);
    let digits = line_key.as_bytes();
    if !digits.is_empty() && digits.len() <= 24 && digits.iter().all(u8::is_ascii_digit) {
        k.push(b'n');
        k.extend_from_slice(&digits[..digits.len().saturating_sub(2)]);
    } else {
        k.push(b'h');
        let h = crate::mapping::fnv1a64(line_key.as_bytes());
        k.extend_from_slice(&(h as u16).to_be_bytes());
    }
    k
}

/// The `docs` records of numeric source keys (Jushuitan's `io_id`) that differ
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

/// The records of one keyed bucket (`docs`): (full key, record), in key order.
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn due_buckets_name_their_entries_in_id_order() {
        let k = due_bucket_key("SAL", 1_700_000_000, 35);
        assert_eq!(k, due_bucket_key("SAL", 1_700_000_000, 47));
        assert_ne!(k, due_bucket_key("SAL", 1_700_000_000, 48));
        assert_ne!(k, due_bucket_key("SAL", 1_700_000_001, 35));
        let bits = due_bit(47) | due_bit(32) | due_bit(35);
        let bytes = encode_due_bits(bits);
        assert_eq!(decode_due_bits(&k, &bytes).unwrap(), bits);
        assert_eq!(
            due_bucket_entries(&k, &bytes).unwrap(),
            (1_700_000_000, vec![32, 35, 47])
        );
        // Keys sort by due time first, then by id bucket: the order of (due, id).
        assert!(due_bucket_key("SAL", 5, 999) < due_bucket_key("SAL", 6, 0));
        assert!(due_bucket_key("SAL", -5, 15) < due_bucket_key("SAL", -5, 16));
        assert!(decode_due_bits(&k, &bytes[..2]).is_err());
        assert!(decode_due_bits(&k, &[]).is_err());
        let err = decode_due_bits(&k, &[VERSION + 1, 0, 1]).unwrap_err();
        assert!(err.to_string().contains("due"), "{err}");
    }

    #[test]
    fn inflight_bits_name_their_entries_in_id_order() {
        let k = id_bucket_key(40);
        let bytes = encode_due_bits(due_bit(47) | due_bit(32) | due_bit(35));
        assert_eq!(
            id_bucket_bits("inflight", &k, &bytes).unwrap(),
            vec![32, 35, 47]
        );
        assert_eq!(
            id_bucket_bits("inflight", &k, &encode_due_bits(0)).unwrap(),
            Vec::<u64>::new()
        );
        assert!(id_bucket_bits("inflight", b"b123", &bytes).is_err());
        let err = id_bucket_bits("inflight", &k, &bytes[..2]).unwrap_err();
        assert!(err.to_string().contains("inflight"), "{err}");
    }

    #[test]
    fn id_buckets_round_trip_and_find_one() {
        let b: IdBucket = vec![(32, b"abc".to_vec()), (33, Vec::new()), (47, vec![7; 300])];
        let k = id_bucket_key(40);
        assert_eq!(k, id_bucket_key(32));
        assert_ne!(k, id_bucket_key(48));
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
    fn models_records_are_one_compressed_stream_and_refuse_damage() {
        let model = |i: u64| {
            format!("{{\"FBillNo\":\"JST-{i}\",\"FEntity\":[{{\"FMaterialId\":{{\"FNumber\":\"SKU-{i}\"}}}}]}}")
        };
        let b: IdBucket = (32..48).map(|i| (i, model(i).into_bytes())).collect();
        let k = id_bucket_key(32);
        let bytes = encode_models_bucket(&b);
        assert!(
            bytes.len() * 3 < encode_id_bucket(&b).len(),
            "{} bytes",
            bytes.len()
        );
        assert_eq!(decode_models_bucket(&k, &bytes).unwrap(), b);
        assert_eq!(
            decode_models_bucket(&k, &encode_models_bucket(&Vec::new())).unwrap(),
            Vec::new()
        );
        // Cut short, a wrong length, a huge length, not compressed at all.
        for bad in [
            bytes[..bytes.len() - 2].to_vec(),
            [&bytes[..4], &[bytes[4] ^ 1], &bytes[5..]].concat(),
            [&[bytes[0], 0xff, 0xff, 0xff, 0xff][..], &bytes[5..]].concat(),
            encode_id_bucket(&b),
            Vec::new(),
        ] {
            let err = decode_models_bucket(&k, &bad).unwrap_err();
            assert!(err.to_string().contains("models"), "{err}");
        }
    }
}
