//! Kingdee client against the Kingdee simulator over real HTTP on 127.0.0.1, and (with
//! FERRY_SDK_TESTS=1) the official Python SDK 8.2.0 against the simulator and ferry's signatures.

mod answers;
mod client;
mod faults;
mod fidelity;
mod form_typo;
mod forms;
mod sdk;
mod tls;

pub(super) use std::collections::{HashMap, HashSet};
pub(super) use std::time::{Duration, Instant};

pub(super) use ferry::secret::Secret;
pub(super) use ferry::sim::kingdee::{start, KdSimHandle, KdSimOptions};
pub(super) use ferry::sink::kingdee::{
    signed_headers, Auth, Client, ClientSettings, ItemResult, SinkError,
};
pub(super) use serde_json::{json, Map, Value};

pub(super) const RET: &str = "SAL_RETURNSTOCK";
pub(super) const STOCK: &str = "BD_STOCK";

pub(super) fn sim(opts: KdSimOptions) -> KdSimHandle {
    match start(opts) {
        Ok(h) => h,
        Err(e) => panic!("simulator did not start: {e}"),
    }
}

pub(super) fn signed(s: &KdSimHandle) -> Auth {
    Auth::Signed {
        app_id: s.app_id().into(),
        app_secret: Secret::new(s.app_secret()),
    }
}

pub(super) fn all_auths(s: &KdSimHandle) -> Vec<(&'static str, Auth)> {
    vec![
        ("signed", signed(s)),
        (
            "password",
            Auth::Password {
                password: Secret::new(s.password()),
            },
        ),
        (
            "appsecret",
            Auth::AppSecret {
                app_id: s.app_id().into(),
                app_secret: Secret::new(s.app_secret()),
            },
        ),
        (
            "sign",
            Auth::Sign {
                app_id: s.app_id().into(),
                app_secret: Secret::new(s.app_secret()),
            },
        ),
    ]
}

pub(super) fn client_with(s: &KdSimHandle, auth: Auth, timeout: Duration) -> Client {
    match Client::new(settings(s, auth, timeout)) {
        Ok(c) => c,
        Err(e) => panic!("client: {e}"),
    }
}

/// Client settings for the simulator `s`.
pub(super) fn settings(s: &KdSimHandle, auth: Auth, timeout: Duration) -> ClientSettings {
    ClientSettings {
        base_url: s.base_url(),
        acct_id: s.acct_id().into(),
        user: s.user().into(),
        lcid: s.lcid(),
        org_num: "100".into(),
        auth,
        connect_timeout: Duration::from_secs(2),
        timeout,
        ca_file: None,
        accept_invalid_certs: false,
        max_response_mb: 32,
    }
}

pub(super) fn client(s: &KdSimHandle) -> Client {
    client_with(s, signed(s), Duration::from_secs(10))
}

pub(super) fn opts(pairs: &[(&str, Value)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

/// A SAL_RETURNSTOCK model shaped like the shipped scheme's.
pub(super) fn ret_model(no: &str, stock: &str) -> Value {
    json!({
        "FBillTypeID": {"FNUMBER": "XSTHD01_SYS"}, "FBillNo": no,
        "FSaleOrgId": {"FNumber": "100"}, "FDate": "2026-09-03", "FStockOrgId": {"FNumber": "100"},
        "FRetcustId": {"FNumber": "CUST001"}, "FHeadNote": "聚水潭其它进仓 10001：退货",
        "FSalesManID": {"FNumber": "XSY001"},
        "SubHeadEntity": {"FSettleOrgId": {"FNumber": "100"}, "FSettleCurrId": {"FNumber": "PRE001"}},
        "FEntity": [{
            "FMaterialId": {"FNumber": "SKU-0001"}, "FRealQty": 2, "FTAXPRICE": 19.9,
            "FIsFree": false, "FEntryTaxRate": 13, "FReturnType": {"FNumber": "THLX01_SYS"},
            "FOwnerTypeId": "BD_OwnerOrg", "FOwnerId": {"FNumber": "100"},
            "FStockId": {"FNumber": stock}, "FLot": {"FNumber": ""}, "FProduceDate": "",
            "FDeliveryDate": "2026-09-03", "FNote": "", "FSRCBILLNO": no, "FORDERNO": ""
        }]
    })
}

pub(super) fn stock_model(no: &str, name: &str) -> Value {
    json!({
        "FCreateOrgId": {"FNumber": "100"}, "FUseOrgId": {"FNumber": "100"}, "FNumber": no,
        "FName": name, "FDescription": "聚水潭店铺", "FStockStatusType": "0,1,2,3,4,5,6,7,8",
        "FAddress": "", "FStockProperty": "1",
        "FDefReceiveStatusId": {"FNumber": "KCZT02_SYS"}, "FDefStockStatusId": {"FNumber": "KCZT01_SYS"}
    })
}

pub(super) fn saved_numbers(s: &KdSimHandle, form: &str, field: &str) -> Vec<String> {
    s.saved(form)
        .iter()
        .filter_map(|m| m.get(field).and_then(Value::as_str).map(str::to_string))
        .collect()
}
