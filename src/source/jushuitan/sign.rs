//! The open-platform signature and the form encoding of a request.
//!
//! `sign = lowercase_hex(md5(app_secret + Σ key + value))` over every parameter except `sign`,
//! sorted by key in byte order, with no separators. `biz` is signed as the exact JSON string that
//! is sent (protocols/jushuitan.md §2.3).

use md5::{Digest, Md5};

/// The signature of `params` (any order; a `sign` entry is ignored).
pub fn sign<K: AsRef<str>, V: AsRef<str>>(app_secret: &str, params: &[(K, V)]) -> String {
    let mut sorted: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_ref(), v.as_ref()))
        .filter(|(k, _)| *k != "sign")
        .collect();
    sorted.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut h = Md5::new();
    h.update(app_secret.as_bytes());
    for (k, v) in sorted {
        h.update(k.as_bytes());
        h.update(v.as_bytes());
    }
    hex(&h.finalize())
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// `application/x-www-form-urlencoded` body of `params`, in the given order.
pub fn form_encode<K: AsRef<str>, V: AsRef<str>>(params: &[(K, V)]) -> String {
    let mut out = String::new();
    for (i, (k, v)) in params.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        encode_into(&mut out, k.as_ref());
        out.push('=');
        encode_into(&mut out, v.as_ref());
    }
    out
}

fn encode_into(out: &mut String, s: &str) {
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => {
                const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
                out.push('%');
                out.push(DIGITS[(b >> 4) as usize] as char);
                out.push(DIGITS[(b & 15) as usize] as char);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vector_python_client() {
        let p = [
            ("timestamp", "100"),
            ("app_key", "app"),
            ("charset", "utf-8"),
        ];
        assert_eq!(sign("secret", &p), "706427ca94e342781ac36d501151cb10");
    }

    #[test]
    fn vector_token_request() {
        let p = [
            ("app_key", "5b53060f23d84ddf9703056e84fa5a2d"),
            ("timestamp", "1639128407"),
            ("code", "123456"),
            ("grant_type", "authorization_code"),
            ("charset", "utf-8"),
        ];
        assert_eq!(
            sign("e9c5ca33fecb404b8e6cdbd0ef4a6d25", &p),
            "05e3a51e19e0883afd1882ccd309e0b9"
        );
    }

    #[test]
    fn vector_business_request_with_chinese_biz() {
        let p = [
            ("app_key", "5b53060f23d84ddf9703056e84fa5a2d"),
            ("access_token", "d7b01bf0842a4742a9450e21ffd95f60"),
            ("timestamp", "1639128407"),
            ("charset", "utf-8"),
            ("version", "2"),
            (
                "biz",
                r#"{"page_index":"1","page_size":"100","nicks":["老板"]}"#,
            ),
            ("sign", "ignored"),
        ];
        assert_eq!(
            sign("e9c5ca33fecb404b8e6cdbd0ef4a6d25", &p),
            "395f5a78b446be465ac03a02491296c7"
        );
    }

    #[test]
    fn form_encoding_escapes_everything_but_unreserved() {
        let body = form_encode(&[("biz", r#"{"a":"老 b&c=d"}"#), ("k", "v")]);
        assert_eq!(body, "biz=%7B%22a%22%3A%22%E8%80%81+b%26c%3Dd%22%7D&k=v");
    }
}
