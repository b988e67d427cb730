//! Simulator authentication: sessions, signed-header verification (strict `X-Kd-Signature`,
//! lenient `X-Api-*`), and the three login services.

use std::collections::HashSet;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Value};

use super::envelope::Args;
use crate::sink::kingdee::sign::{kd_hmac_sha256, login_by_sign_signature};

/// Credentials the simulator accepts.
#[derive(Debug, Clone)]
pub struct Creds {
    pub acct_id: String,
    pub user: String,
    pub password: String,
    pub app_id: String,
    pub app_secret: String,
    pub lcid: u32,
}

/// Live session ids, kept in `kingdee-sim-sessions.txt` under the state dir (if any) so a
/// restarted simulator still knows them.
#[derive(Default)]
pub struct Sessions {
    live: HashSet<String>,
    path: Option<PathBuf>,
}

/// More live sessions than this and the oldest generation is forgotten (as if expired).
const MAX_SESSIONS: usize = 100_000;

impl Sessions {
    pub fn open(state_dir: Option<&Path>) -> Sessions {
        let path = state_dir.map(|d| d.join("kingdee-sim-sessions.txt"));
        let live = path
            .as_ref()
            .and_then(|p| std::fs::read_to_string(p).ok())
            .map(|text| {
                text.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        Sessions { live, path }
    }

    pub fn new_sid(&mut self) -> String {
        if self.live.len() >= MAX_SESSIONS {
            self.drop_all();
        }
        let sid = format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..));
        self.live.insert(sid.clone());
        if let Some(p) = &self.path {
            // Best effort: losing a session only makes a client log in again.
            if let Ok(mut f) = OpenOptions::new().create(true).append(true).open(p) {
                let _ = writeln!(f, "{sid}");
            }
        }
        sid
    }

    pub fn valid(&self, sid: &str) -> bool {
        self.live.contains(sid)
    }

    pub fn remove(&mut self, sid: &str) {
        self.live.remove(sid);
    }

    pub fn drop_all(&mut self) {
        self.live.clear();
        if let Some(p) = &self.path {
            let _ = std::fs::write(p, "");
        }
    }
}

/// Outcome of checking signed headers.
#[derive(Debug, PartialEq, Eq)]
pub enum SignCheck {
    /// No X-Kd-* headers at all.
    Absent,
    Ok,
    /// Wrong data-center id: HTTP 500 `Fail to verify thirty passport`.
    WrongAcct,
    /// Anything else wrong: MsgCode 1.
    Bad(String),
}

fn valid_lcid(l: &str) -> bool {
    matches!(l, "2052" | "1033" | "3076")
}

/// Verifies `X-Kd-Appkey`/`X-Kd-Appdata`/`X-Kd-Signature` (and the timestamp, ±24 h, seconds or
/// milliseconds). `X-Api-Signature` is not checked: on-prem servers do not appear to.
pub fn check_signed(get: &dyn Fn(&str) -> Option<String>, c: &Creds, now: i64) -> SignCheck {
    let (Some(appkey), Some(appdata), Some(sig)) = (
        get("x-kd-appkey"),
        get("x-kd-appdata"),
        get("x-kd-signature"),
    ) else {
        return SignCheck::Absent;
    };
    let Ok(plain) = STANDARD
        .decode(appdata.trim())
        .map_err(|_| ())
        .and_then(|b| String::from_utf8(b).map_err(|_| ()))
    else {
        return SignCheck::Bad("X-Kd-Appdata is not base64 text".into());
    };
    let parts: Vec<&str> = plain.split(',').collect();
    if parts.len() < 3 {
        return SignCheck::Bad("X-Kd-Appdata has too few parts".into());
    }
    if parts[0] != c.acct_id {
        return SignCheck::WrongAcct;
    }
    if appkey != c.app_id {
        return SignCheck::Bad("unknown app id".into());
    }
    if kd_hmac_sha256(&format!("{appkey}{plain}"), &c.app_secret) != sig {
        return SignCheck::Bad("X-Kd-Signature mismatch".into());
    }
    if parts[1] != c.user || !valid_lcid(parts[2]) {
        return SignCheck::Bad("user or lcid not accepted".into());
    }
    if let Some(ts) = get("x-api-timestamp").and_then(|t| t.trim().parse::<i64>().ok()) {
        let secs = if ts > 100_000_000_000 { ts / 1000 } else { ts };
        if (secs - now).abs() > 24 * 3600 {
            return SignCheck::Bad("x-api-timestamp too far from now".into());
        }
    }
    SignCheck::Ok
}

/// Checks a login service's arguments (`method` lowercased, without a trailing `2`).
/// Err = (LoginResultType, message).
pub fn login(method: &str, args: &Args, c: &Creds, now: i64) -> Result<(), (i64, String)> {
    let acct = args.text(&["acctid", "acctID"], 0);
    let user = args.text(&["username", "user"], 1);
    if acct != c.acct_id {
        return Err((-1, format!("数据中心“{acct}”不存在")));
    }
    let ok = match method {
        "validateuser" => {
            let pwd = args.text(&["password"], 2);
            user == c.user && pwd == c.password
        }
        "loginbyappsecret" => {
            let app_id = args.text(&["appid"], 2);
            let secret = args.text(&["appsecret", "appsec"], 3);
            user == c.user && app_id == c.app_id && secret == c.app_secret
        }
        "loginbysign" => {
            let app_id = args.text(&["appid"], 2);
            let ts = args.text(&["timestamp"], 3);
            let sign = args.text(&["signeddata", "sign"], 4);
            let ts_n: i64 = ts.trim().parse().unwrap_or(0);
            let expected = login_by_sign_signature(&acct, &user, &app_id, &c.app_secret, ts_n);
            user == c.user
                && app_id == c.app_id
                && (ts_n - now).abs() <= 24 * 3600
                && sign.eq_ignore_ascii_case(&expected)
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err((0, "用户名或密码错误".to_string()))
    }
}

/// The bare login object Kingdee answers logins with.
pub fn login_object(result: Result<&str, (i64, &str)>, c: &Creds) -> Value {
    match result {
        Ok(sid) => json!({
            "Message": null, "MessageCode": null, "LoginResultType": 1,
            "Context": {"UserLocale": "zh-CN", "LogLocale": "zh-CN", "DBid": c.acct_id,
                "DatabaseType": 3, "SessionId": sid, "UseLanguages": [], "UserId": 100008,
                "UserName": c.user, "CustomName": "ferry 模拟账套", "DisplayVersion": "8.2.0",
                "DataCenterName": "ferry模拟", "UserToken": sid, "CurrentOrganizationInfo": null,
                "IsCH_ZH_AutoTrans": false, "ClientType": 32, "WeiboAuthInfo": null,
                "UTimeZone": null, "STimeZone": null, "GDCID": null, "Gsid": null,
                "TRLevel": 0, "ProductEdition": 0, "DataCenterNumber": "ferry"},
            "KDSVCSessionId": sid, "FormId": null, "RedirectFormParam": null,
            "FormInputObject": null, "ErrorStackTrace": null, "Lcid": 0,
            "AccessToken": null, "KdAccessResult": null, "IsSuccessByAPI": true
        }),
        Err((code, msg)) => json!({
            "Message": msg, "MessageCode": "CheckPasswordPolicy", "LoginResultType": code,
            "Context": null, "KDSVCSessionId": null, "FormId": null, "RedirectFormParam": null,
            "FormInputObject": null, "ErrorStackTrace": null, "Lcid": 0, "AccessToken": null,
            "KdAccessResult": null, "IsSuccessByAPI": false
        }),
    }
}
