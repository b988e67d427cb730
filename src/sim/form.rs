//! `application/x-www-form-urlencoded` bodies, as both simulators receive them (Jushuitan always,
//! Kingdee from clients that post dictionaries).

/// Decodes a form body into its fields, in order.
pub fn decode_form(body: &[u8]) -> Result<Vec<(String, String)>, String> {
    body.split(|&b| b == b'&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let mut kv = pair.splitn(2, |&b| b == b'=');
            let k = unescape(kv.next().unwrap_or_default())?;
            let v = unescape(kv.next().unwrap_or_default())?;
            Ok((k, v))
        })
        .collect()
}

/// Whether a Content-Type header names a form body.
pub fn is_form(content_type: &str) -> bool {
    content_type.split(';').next().is_some_and(|t| {
        t.trim()
            .eq_ignore_ascii_case("application/x-www-form-urlencoded")
    })
}

/// Decodes one component (`+` is a space, `%XX` a byte; the result must be UTF-8).
fn unescape(s: &[u8]) -> Result<String, String> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = s.get(i + 1..i + 3).ok_or("truncated %-escape")?;
                let hex = std::str::from_utf8(hex).map_err(|_| "bad %-escape")?;
                out.push(u8::from_str_radix(hex, 16).map_err(|_| "bad %-escape")?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| "form field is not UTF-8".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_decoding() {
        let f = decode_form(b"biz=%7B%22a%22%3A%22%E8%80%81+b%26c%3Dd%22%7D&k=v&e=").unwrap();
        assert_eq!(f[0], ("biz".into(), r#"{"a":"老 b&c=d"}"#.into()));
        assert_eq!(f[1], ("k".into(), "v".into()));
        assert_eq!(f[2], ("e".into(), "".into()));
        assert!(decode_form(b"a=%E8%80").is_err());
        assert!(decode_form(b"a=%zz").is_err());
        assert!(decode_form(b"a=%4").is_err());
        assert!(is_form("application/x-www-form-urlencoded; charset=UTF-8"));
        assert!(!is_form("application/json"));
    }
}
