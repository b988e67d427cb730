//! The generated world: shops and other in/out documents (with their earlier versions),
//! deterministic from the seed and the creation time. Field names and shapes follow
//! `protocols/jushuitan.md` §4 and the shared seed data of the contract.

use fastrand::Rng;
use serde_json::{json, Value};

use super::apis::Family;
use super::families;
use crate::time::format_beijing;

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WorldParams {
    pub seed: u64,
    pub docs: u32,
    pub shops: u32,
    pub lines: Option<u32>,
    pub history_days: u32,
}

/// Shops and every version of every other in/out document (a document's versions in time
/// order). The other APIs' documents are not kept: [`api_documents`] makes them again from the
/// parameters and the creation time, when a client first asks for them.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct World {
    pub params: WorldParams,
    /// Unix seconds when the world was generated; the history ends shortly before.
    pub created_at: i64,
    pub shops: Vec<Value>,
    /// other.inout.query's documents.
    pub versions: Vec<Value>,
    /// [`WORLD_VERSION`] of the generator that wrote it (a saved world of another is made anew).
    #[serde(default)]
    pub version: u32,
}

/// Bumped when the generated world gains APIs or fields (3: the other APIs are generated on
/// demand, not saved).
pub const WORLD_VERSION: u32 = 3;

pub const FIRST_SHOP_ID: i64 = 10178845;
pub const FIRST_IO_ID: i64 = 10001;
pub const FIRST_IOI_ID: i64 = 20001;
/// The last generated modification lies at least this far before the creation time.
pub(super) const HISTORY_END_GAP: i64 = 300;

pub(super) const WAREHOUSES: [(&str, i64); 4] =
    [("主仓", 1), ("销退仓", 2), ("进货仓", 3), ("次品仓", 4)];
const DRP: [&str; 4] = ["", "线下门店-北京", "线下门店-上海", "线下门店-广州"];
pub(super) const STYLES: [(&str, &str); 15] = [
    ("纯棉T恤", "件"),
    ("牛仔裤", "条"),
    ("连帽卫衣", "件"),
    ("羊毛衫", "件"),
    ("休闲短裤", "条"),
    ("衬衫", "件"),
    ("运动鞋", "双"),
    ("帆布鞋", "双"),
    ("羽绒服", "件"),
    ("风衣", "件"),
    ("棒球帽", "顶"),
    ("双肩包", "个"),
    ("丝巾", "条"),
    ("棉袜", "双"),
    ("皮带", "条"),
];
pub(super) const COLORS: [&str; 6] = ["白色", "黑色", "蓝色", "红色", "灰色", "卡其色"];
pub(super) const SIZES: [&str; 5] = ["S", "M", "L", "XL", "均码"];
pub(super) const PEOPLE: [&str; 8] = [
    "张三", "李四", "王芳", "刘洋", "陈静", "赵磊", "孙丽", "周杰",
];
const REMARKS: [&str; 6] = [
    "",
    "",
    "门店退回，包装破损",
    "盘点调整",
    "样品回收",
    "客户退货入库",
];
const REGIONS: [&str; 7] = ["华北", "华东", "华南", "西南", "东北", "华中", "西北"];
const BRANDS: [&str; 8] = [
    "悦享", "优品", "锦绣", "青禾", "云裳", "拾光", "木言", "暖阳",
];
const SUFFIXES: [&str; 5] = ["旗舰店", "专营店", "官方店", "直营店", "折扣店"];
const SITES: [&str; 6] = ["商家自有商城", "淘宝", "天猫", "京东", "拼多多", "抖音"];

pub(super) fn rng_for(seed: u64, salt: u64) -> Rng {
    Rng::with_seed(
        seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ salt.wrapping_mul(0xD6E8_FEB8_6659_FD93),
    )
}

pub(super) fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// How a document writes its numbers. Jushuitan's documentation types `qty`, prices, amounts and
/// `wh_id` as `string` while the sample answers carry numbers, so the simulator sends both:
/// about half the documents with numbers, a third with strings as the documentation types them
/// (`"2"`, `"129.90"`, `"0.00"`), the rest mixed field by field. Decided per document from the
/// seed with its own generator (the rest of the world is the same as without it), so a document
/// has the same shape on every fetch. Ids (`io_id`, `ioi_id`, `shop_id`) stay numbers.
pub(super) struct NumberShape {
    rng: Rng,
    strings: f64,
}

impl NumberShape {
    pub(super) fn of(seed: u64, io_id: i64) -> NumberShape {
        let mut rng = rng_for(seed, 0x5EED_0000_0000 ^ io_id as u64);
        let pick = rng.f64();
        let strings = if pick < 0.55 {
            0.0
        } else if pick < 0.85 {
            1.0
        } else {
            0.5
        };
        NumberShape { rng, strings }
    }

    fn as_string(&mut self) -> bool {
        self.strings >= 1.0 || (self.strings > 0.0 && self.rng.f64() < self.strings)
    }

    /// An integer, or its text.
    pub(super) fn int(&mut self, n: i64) -> Value {
        if self.as_string() {
            json!(n.to_string())
        } else {
            json!(n)
        }
    }

    /// An amount, or its text with two decimals.
    pub(super) fn amount(&mut self, x: f64) -> Value {
        if self.as_string() {
            json!(format!("{x:.2}"))
        } else {
            json!(x)
        }
    }
}

/// `yyyy-MM-dd HH:mm:ss`, with `.fff` when `ms` is set.
pub(super) fn stamp(unix: i64, ms: Option<u32>) -> String {
    match ms {
        Some(ms) => format!("{}.{:03}", format_beijing(unix), ms),
        None => format_beijing(unix),
    }
}

/// The span of the generated history: modifications lie in `begin..=end` (unix seconds).
pub(super) fn history(params: &WorldParams, created_at: i64) -> (i64, i64) {
    let begin = created_at - i64::from(params.history_days.max(1)) * 86400;
    (begin, created_at - HISTORY_END_GAP)
}

/// Generates the world: shops and other in/out documents.
pub fn generate(params: &WorldParams, created_at: i64) -> World {
    let shops: Vec<Value> = (0..params.shops)
        .map(|i| shop(params.seed, i, created_at))
        .collect();
    let (begin, end) = history(params, created_at);
    let mut versions = Vec::new();
    let mut next_ioi = FIRST_IOI_ID;
    for i in 0..params.docs {
        let io_id = FIRST_IO_ID + i64::from(i);
        versions.extend(document(params, io_id, &mut next_ioi, begin, end));
    }
    World {
        params: params.clone(),
        created_at,
        shops,
        versions,
        version: WORLD_VERSION,
    }
}

/// Every version (oldest first per document) of `api`'s documents in the world of `params`, deterministic
/// from its parameters and creation time; empty for other.inout.query (in `world.versions`).
/// Each API has its own random stream, so making one API's documents does not change another's.
pub fn api_documents(
    params: &WorldParams,
    created_at: i64,
    shops: &[Value],
    api: &super::apis::ApiSpec,
) -> Vec<Value> {
    let (begin, end) = history(params, created_at);
    let ctx = families::Context {
        seed: params.seed,
        lines: params.lines,
        shops,
        begin,
        end,
    };
    match api.family {
        _ if api.name == super::apis::OTHER_INOUT.name => Vec::new(),
        Family::InOut(shape) => families::inout(shape, &ctx, params.docs),
        Family::Skus => families::skus(&ctx, params.docs),
    }
}

/// A new other in/out document (live mode): `io_id`, lines numbered from `next_ioi`, modified at
/// `now`.
pub(super) fn new_document(p: &WorldParams, io_id: i64, next_ioi: &mut i64, now: i64) -> Value {
    document(p, io_id, next_ioi, now, now)
        .pop()
        .unwrap_or(Value::Null)
}

fn shop(seed: u64, i: u32, created_at: i64) -> Value {
    let mut r = rng_for(seed, 1_000_000 + u64::from(i));
    let n = i as usize;
    let mut name = format!(
        "{}{}{}",
        REGIONS[n % REGIONS.len()],
        BRANDS[(n / REGIONS.len()) % BRANDS.len()],
        SUFFIXES[(n / (REGIONS.len() * BRANDS.len())) % SUFFIXES.len()]
    );
    let combos = REGIONS.len() * BRANDS.len() * SUFFIXES.len();
    if n >= combos {
        name.push_str(&format!("{}号", n / combos + 1));
    }
    let site = SITES[r.usize(..SITES.len())];
    let created = created_at - r.i64(30..900) * 86400;
    let ms = r.bool().then(|| r.u32(..1000));
    json!({
        "shop_id": FIRST_SHOP_ID + i64::from(i),
        "shop_name": name,
        "co_id": 12252,
        "shop_site": site,
        "shop_url": if r.bool() { Value::String(String::new()) } else { Value::Null },
        "created": stamp(created, ms),
        "nick": format!("self_{}", 5_000_000 + r.u32(..1_000_000)),
        "session_expired": if site == "商家自有商城" { "------永久授权------".to_string() } else { format_beijing(created_at + r.i64(30..365) * 86400) },
        "session_uid": r.u64(4_000_000_000_000..4_100_000_000_000).to_string(),
        "short_name": "",
        "group_id": 707,
        "group_name": "自有商城",
        "organization": Value::Null,
    })
}

/// Every version of one document, oldest first.
fn document(p: &WorldParams, io_id: i64, next_ioi: &mut i64, begin: i64, end: i64) -> Vec<Value> {
    let mut r = rng_for(p.seed, io_id as u64);
    let mut shape = NumberShape::of(p.seed, io_id);
    let kind = r.f64();
    let ty = if kind < 0.78 {
        "其它进仓"
    } else if kind < 0.93 {
        "其它出库"
    } else {
        "其它退货"
    };
    let s = r.f64();
    let status = if s < 0.90 {
        "Confirmed"
    } else if s < 0.95 {
        "WaitConfirm"
    } else if s < 0.97 {
        "Cancelled"
    } else if s < 0.985 {
        "Delete"
    } else {
        "OuterConfirming"
    };
    let (warehouse, wh_id) = if ty == "其它进仓" && r.bool() {
        WAREHOUSES[1]
    } else {
        WAREHOUSES[r.usize(..WAREHOUSES.len())]
    };
    let modified = r.i64(begin..=end.max(begin));
    let io_date = modified - r.i64(0..3 * 86400);
    let created = io_date - r.i64(0..3600);
    let ms = |r: &mut Rng| (r.f64() < 0.3).then(|| r.u32(..1000));
    let lines = match p.lines {
        Some(n) => n,
        None if r.f64() < 0.04 => 0,
        None => r.u32(1..=5),
    };
    let batched = r.f64() < 0.25;
    let mut items = Vec::new();
    let mut batchs = Vec::new();
    for _ in 0..lines {
        let ioi_id = *next_ioi;
        *next_ioi += 1;
        let sku = r.u32(1..=60);
        let style = (sku - 1) / 4 + 1;
        let (style_name, unit) = STYLES[((style - 1) as usize) % STYLES.len()];
        let color = COLORS[((sku - 1) as usize) % COLORS.len()];
        let size = SIZES[((sku - 1) as usize / 2) % SIZES.len()];
        let qty = r.i64(1..=10);
        let cost = round2(f64::from(r.u32(20..400)) / 2.0);
        let free = r.f64() < 0.1;
        let sale = if free {
            0.0
        } else {
            round2(cost * (1.5 + r.f64()))
        };
        let sku_id = format!("SKU-{sku:04}");
        let mut item = json!({
            "ioi_id": ioi_id,
            "io_id": io_id,
            "sku_id": sku_id,
            "i_id": format!("STYLE-{style:03}"),
            "name": format!("{style_name} {color} {size}"),
            "unit": unit,
            "properties_value": format!("{color};{size}"),
            "qty": shape.int(qty),
            "cost_price": shape.amount(cost),
            "cost_amount": shape.amount(round2(cost * qty as f64)),
            "sale_price": shape.amount(sale),
            "sale_amount": shape.amount(round2(sale * qty as f64)),
            "remark": if free { "赠品" } else { "" },
        });
        if batched {
            let produced = io_date - r.i64(30..400) * 86400;
            let batch_no = format!("B{}", crate::time::format_pattern(produced, "yyyyMMdd"));
            let expires = produced + 730 * 86400;
            if let Value::Object(m) = &mut item {
                m.insert("batch_id".into(), json!(batch_no));
                m.insert("product_date".into(), json!(format_beijing(produced)));
                m.insert("expiration_date".into(), json!(format_beijing(expires)));
            }
            batchs.push(json!({
                "batch_no": batch_no,
                "sku_id": sku_id,
                "ioi_id": ioi_id,
                "qty": shape.int(qty),
                "product_date": crate::time::format_beijing_date(produced),
                "expiration_date": crate::time::format_beijing_date(expires),
                "supplier_id": 0,
                "supplier_name": "",
            }));
        }
        items.push(item);
    }
    let person = PEOPLE[r.usize(..PEOPLE.len())];
    let remark = REMARKS[r.usize(..REMARKS.len())];
    let so_id = if r.f64() < 0.4 {
        String::new()
    } else {
        format!("SO-{:06}", r.u32(100_000..1_000_000))
    };
    let drp = DRP[r.usize(..DRP.len())];
    let created_ms = ms(&mut r);
    let io_date_ms = ms(&mut r);
    let wh_id = shape.int(wh_id);
    let build = |status: &str, remark: &str, modified: i64, modified_ms: Option<u32>| {
        json!({
            "io_id": io_id,
            "io_date": stamp(io_date, io_date_ms),
            "status": status,
            "so_id": so_id,
            "type": ty,
            "f_status": if status == "Confirmed" { "Confirmed" } else { "WaitConfirm" },
            "warehouse": warehouse,
            "wh_id": wh_id,
            "wms_co_id": 0,
            "modified": stamp(modified, modified_ms),
            "created": stamp(created, created_ms),
            "remark": remark,
            "labels": "",
            "creator_name": person,
            "drp_co_name": drp,
            "inout_user": person,
            "receiver_name": "",
            "l_id": "",
            "lc_id": "",
            "logistics_company": "",
            "lock_wh_id": 0,
            "lock_wh_name": "",
            "items": items,
            "batchs": batchs,
            "sns": [],
        })
    };
    // About a fifth of the documents changed after they were first written.
    if r.f64() < 0.2 && modified < end {
        let later = r.i64(modified + 1..=end);
        let earlier_status = match status {
            "Confirmed" => "WaitConfirm",
            "Cancelled" => "Confirmed",
            other => other,
        };
        let m1 = ms(&mut r);
        let m2 = ms(&mut r);
        vec![
            build(earlier_status, "", modified, m1),
            build(status, remark, later, m2),
        ]
    } else {
        let m1 = ms(&mut r);
        vec![build(status, remark, modified, m1)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(docs: u32, lines: Option<u32>) -> WorldParams {
        WorldParams {
            seed: 7,
            docs,
            shops: 20,
            lines,
            history_days: 30,
        }
    }

    #[test]
    fn deterministic_and_shaped_as_documented() {
        let a = generate(&params(300, None), 1_800_000_000);
        let b = generate(&params(300, None), 1_800_000_000);
        assert_eq!(a.versions, b.versions);
        assert_eq!(a.shops, b.shops);
        assert_eq!(a.shops[0]["shop_id"], 10178845);
        let names: std::collections::BTreeSet<_> =
            a.shops.iter().map(|s| s["shop_name"].to_string()).collect();
        assert_eq!(names.len(), 20, "shop names are unique");
        let mut ioi = std::collections::BTreeSet::new();
        let mut latest = std::collections::BTreeMap::new();
        for v in &a.versions {
            latest.insert(v["io_id"].as_i64().unwrap(), v.clone());
            assert!(v["modified"].as_str().unwrap() <= format_beijing(1_800_000_000).as_str());
        }
        assert_eq!(latest.len(), 300);
        assert_eq!(latest.keys().next(), Some(&10001));
        let mut eligible = 0;
        let (mut strings, mut numbers) = (0, 0);
        for d in latest.values() {
            let items = d["items"].as_array().unwrap();
            for it in items {
                assert!(ioi.insert(it["ioi_id"].as_i64().unwrap()), "ioi_id unique");
                let sku = it["sku_id"].as_str().unwrap();
                assert!(sku.starts_with("SKU-00") && sku.len() == 8);
                assert!(
                    it["ioi_id"].is_i64() && it["io_id"].is_i64(),
                    "ids are numbers"
                );
                let qty = match &it["qty"] {
                    Value::String(t) => t.parse::<i64>().ok(),
                    v => v.as_i64(),
                };
                assert!(qty.is_some_and(|q| q > 0), "{it}");
                for k in ["cost_price", "cost_amount", "sale_price", "sale_amount"] {
                    match &it[k] {
                        Value::String(t) => {
                            let (_, decimals) = t.split_once('.').expect("two decimals");
                            assert_eq!(decimals.len(), 2, "{k}: {t}");
                            assert!(t.parse::<f64>().is_ok(), "{k}: {t}");
                            strings += 1;
                        }
                        v => {
                            assert!(v.is_f64(), "{k}: {v}");
                            numbers += 1;
                        }
                    }
                }
            }
            if d["type"] == "其它进仓" && d["status"] == "Confirmed" && !items.is_empty() {
                eligible += 1;
            }
        }
        assert!(eligible * 100 >= 60 * 300, "{eligible} eligible of 300");
        // Numbers come both ways, as the documentation types them and as the samples show.
        let all = strings + numbers;
        assert!(
            strings * 4 >= all && numbers * 4 >= all,
            "{strings} strings, {numbers} numbers"
        );
        assert!(a.shops.iter().all(|s| s["shop_id"].is_i64()));
        assert!(ioi.contains(&20001));
        assert!(a.versions.len() > 300, "some documents have later versions");
    }

    #[test]
    fn fixed_lines() {
        let w = generate(&params(50, Some(3)), 1_800_000_000);
        assert!(w
            .versions
            .iter()
            .all(|d| d["items"].as_array().unwrap().len() == 3));
    }
}
