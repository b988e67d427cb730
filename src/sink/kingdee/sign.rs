//! Kingdee request signing, byte-for-byte what the official Python SDK 8.2.0 computes.
//!
//! - `signed_headers`: the stateless "第三方系统登录授权" headers (`X-Api-*`, `X-Kd-*`).
//! - `login_by_sign_signature`: the SHA-256 signature of `AuthService.LoginBySign`.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// The SDK's XOR key: `rot13("0054s397p6234378o09pn7q3r5qropr7")` (its random digits are dropped).
const XOR_KEY: &[u8; 32] = b"0054f397c6234378b09ca7d3e5debce7";

/// Lowercase hex of a byte slice.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// The SDK's `HmacSHA256`: base64 of the lowercase hex text of HMAC-SHA256(key, msg).
pub fn kd_hmac_sha256(msg: &str, key: &str) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(key.as_bytes()) {
        Ok(m) => m,
        // HMAC accepts keys of any length; this branch cannot happen.
        Err(_) => return String::new(),
    };
    mac.update(msg.as_bytes());
    STANDARD.encode(hex(&mac.finalize().into_bytes()))
}

/// The SDK's `DecodeAppSecret`: the client secret hidden in the part of the AppId after `_`.
/// Only 32 base64 characters (no `=`) decode; anything else gives "" like the SDK.
pub fn decode_app_secret(obfuscated: &str) -> String {
    if obfuscated.len() != 32
        || !obfuscated
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
    {
        return String::new();
    }
    let Ok(raw) = STANDARD.decode(obfuscated) else {
        return String::new();
    };
    let xored: Vec<u8> = raw.iter().zip(XOR_KEY.iter()).map(|(a, k)| a ^ k).collect();
    STANDARD.encode(xored)
}

/// Python's `urllib.parse.quote(s, safe='/')`, then every `/` → `%2F`, as the SDK does.
pub fn quote_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len() * 3);
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The path part of a URL the way the SDK slices it: from the first `/` at index ≥ 10.
pub fn sdk_path(url: &str) -> &str {
    if url.starts_with("http") {
        if let Some(rel) = url.get(10..).and_then(|rest| rest.find('/')) {
            return &url[10 + rel..];
        }
    }
    url
}

/// Splits an AppId `"<clientId>_<obfuscated secret>"` like the SDK (exactly two parts).
pub fn split_app_id(app_id: &str) -> (String, String) {
    let parts: Vec<&str> = app_id.split('_').collect();
    if parts.len() == 2 {
        (parts[0].to_string(), decode_app_secret(parts[1]))
    } else {
        (String::new(), String::new())
    }
}

/// The string signed into `X-Api-Signature`.
pub fn api_sign_text(quoted_path: &str, ts: &str, nonce: &str) -> String {
    format!("POST\n{quoted_path}\n\nx-api-nonce:{nonce}\nx-api-timestamp:{ts}\n")
}

/// The auth headers the SDK 8.2.0 sends for one request at unix second `ts`, in the SDK's order
/// and spelling. (The SDK also sends Accept-Charset, User-Agent and Content-Type, and the session
/// headers once it has a session; those are not part of the signature.)
#[allow(clippy::too_many_arguments)]
pub fn signed_headers(
    app_id: &str,
    app_secret: &str,
    acct_id: &str,
    user: &str,
    lcid: u32,
    org_num: &str,
    url: &str,
    ts: i64,
) -> Vec<(String, String)> {
    let path = quote_path(sdk_path(url));
    let ts = ts.to_string();
    let (client_id, client_sec) = split_app_id(app_id);
    let app_data = format!("{acct_id},{user},{lcid},{org_num}");
    let h = |k: &str, v: String| (k.to_string(), v);
    vec![
        h("X-Api-ClientID", client_id),
        h("X-Api-Auth-Version", "2.0".into()),
        h("x-api-timestamp", ts.clone()),
        h("x-api-nonce", ts.clone()),
        h("x-api-signheaders", "x-api-timestamp,x-api-nonce".into()),
        h(
            "X-Api-Signature",
            kd_hmac_sha256(&api_sign_text(&path, &ts, &ts), &client_sec),
        ),
        h("X-Kd-Appkey", app_id.to_string()),
        h("X-Kd-Appdata", STANDARD.encode(app_data.as_bytes())),
        h(
            "X-Kd-Signature",
            kd_hmac_sha256(&format!("{app_id}{app_data}"), app_secret),
        ),
    ]
}

/// `AuthService.LoginBySign` signature: lowercase hex SHA-256 of the ordinal-sorted concatenation
/// of acct id, user name, app id, app secret and the unix-seconds timestamp.
pub fn login_by_sign_signature(
    acct_id: &str,
    user: &str,
    app_id: &str,
    app_secret: &str,
    ts: i64,
) -> String {
    let ts = ts.to_string();
    let mut parts = [acct_id, user, app_id, app_secret, ts.as_str()];
    parts.sort_unstable();
    hex(&Sha256::digest(parts.concat().as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const APP_ID: &str = "200001_422C1/iIyuH4R+Ws526A2/yLyrX6RrOs";
    const URL: &str = "http://127.0.0.1:8080/k3cloud/Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.BatchSave.common.kdsvc";

    #[test]
    fn sdk_test_vector() {
        assert_eq!(
            decode_app_secret("422C1/iIyuH4R+Ws526A2/yLyrX6RrOs"),
            "0123456789abcdef0123456789abcdef"
        );
        assert_eq!(
            quote_path(sdk_path(URL)),
            "%2Fk3cloud%2FKingdee.BOS.WebApi.ServicesStub.DynamicFormService.BatchSave.common.kdsvc"
        );
        let h = signed_headers(
            APP_ID,
            "fedcba9876543210fedcba9876543210",
            "65f0000000000a",
            "apiuser",
            2052,
            "0",
            URL,
            1_700_000_000,
        );
        let get = |k: &str| h.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("X-Api-ClientID"), Some("200001"));
        assert_eq!(get("x-api-timestamp"), Some("1700000000"));
        assert_eq!(get("x-api-nonce"), Some("1700000000"));
        assert_eq!(
            get("X-Api-Signature"),
            Some("ZDEwYTM0YzVmNGE1YzM3MzkwMzM1ZmRkYjg2M2Q3NDFjMGY1NDNhNGZhZDM2ZmEwZTgzZGQwOWQ5M2QxNDU2MA==")
        );
        assert_eq!(
            get("X-Kd-Appdata"),
            Some("NjVmMDAwMDAwMDAwMGEsYXBpdXNlciwyMDUyLDA=")
        );
        assert_eq!(
            get("X-Kd-Signature"),
            Some("Y2VkM2RiZmY1NmY5NjM3OTlmYmI0OGI5NTcxYTZhNzg3YzkxNWU2OGJkYzAxZjJiOTA2ZDMwZjE5YTk1NGM0YQ==")
        );
        assert_eq!(get("X-Kd-Appkey"), Some(APP_ID));
        assert_eq!(h.len(), 9);
    }

    #[test]
    fn xor_is_an_involution_and_bad_ids_give_empty() {
        let sec = decode_app_secret("422C1/iIyuH4R+Ws526A2/yLyrX6RrOs");
        assert_eq!(decode_app_secret(&sec), "422C1/iIyuH4R+Ws526A2/yLyrX6RrOs");
        assert_eq!(split_app_id("a_b_c"), (String::new(), String::new()));
        assert_eq!(split_app_id("1_short").1, "");
    }

    #[test]
    fn login_by_sign_is_sha256_of_sorted_parts() {
        // sorted: "1700000000" < "200001_..." < "65f0000000000a" < "apiuser" < "fedcba..."
        let joined =
            format!("1700000000{APP_ID}65f0000000000aapiuserfedcba9876543210fedcba9876543210");
        let expected = hex(&Sha256::digest(joined.as_bytes()));
        let got = login_by_sign_signature(
            "65f0000000000a",
            "apiuser",
            APP_ID,
            "fedcba9876543210fedcba9876543210",
            1_700_000_000,
        );
        assert_eq!(got, expected);
        // independently computed with Python hashlib
        assert_eq!(
            got,
            "9306021f70bd6119b079c6dd51504ea89067d724193e6a3677f3af4da70ab7c7"
        );
        assert_eq!(got.len(), 64);
    }
}
