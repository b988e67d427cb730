//! Generators per API family: in/out-like documents with lines (sales out, after-sale returns,
//! purchase in and out, transfers), shaped by an API's [`InOutShape`], and SKUs. Each API has
//! its own random stream (the shape's salt), so the other in/out documents and the shops of a
//! seed stay exactly as they were before these APIs existed.

use fastrand::Rng;
use serde_json::{json, Map, Value};

use super::apis::{Head, InOutShape, Line};
use super::world::{
    rng_for, round2, stamp, NumberShape, COLORS, PEOPLE, SIZES, STYLES, WAREHOUSES,
};
use crate::time::{format_beijing, format_beijing_date, format_pattern};

/// Suppliers the purchase documents name (`supplier_id`, `supplier_name`). Kingdee templates
/// map these ids to supplier numbers.
pub const SUPPLIERS: [(i64, &str); 6] = [
    (1001, "杭州织造有限公司"),
    (1002, "广州鞋业有限公司"),
    (1003, "宁波服饰辅料厂"),
    (1004, "上海箱包制造有限公司"),
    (1005, "苏州丝绸有限公司"),
    (1006, "温州皮具厂"),
];
const LOGISTICS: [(&str, &str); 4] = [
    ("ZTO", "中通快递"),
    ("YTO", "圆通速递"),
    ("SF", "顺丰速运"),
    ("YUNDA", "韵达快递"),
];
const REMARKS: [&str; 5] = ["", "", "加急", "整箱", "客户自提"];
const LINE_REMARKS: [&str; 4] = ["", "", "赠品", "破损已换"];
const LABELS: [&str; 3] = ["", "加急", "大促"];
const TAX_RATES: [i64; 4] = [13, 13, 9, 6];

/// What a generator may refer to in the rest of the world.
pub struct Context<'a> {
    pub seed: u64,
    pub lines: Option<u32>,
    /// The world's shops (their `shop_id` and `shop_name`).
    pub shops: &'a [Value],
    /// Modification times lie in `begin..=end` (unix seconds).
    pub begin: i64,
    pub end: i64,
}

fn pick<'t>(r: &mut Rng, weighted: &'t [(&'t str, f64)]) -> &'t str {
    let x = r.f64();
    let mut acc = 0.0;
    for (v, w) in weighted {
        acc += w;
        if x < acc {
            return v;
        }
    }
    weighted.last().map_or("", |(v, _)| v)
}

/// Every version (oldest first) of `count` documents of the API shaped by `shape`.
pub fn inout(shape: &InOutShape, ctx: &Context, count: u32) -> Vec<Value> {
    let mut out = Vec::new();
    let mut next_ioi = shape.first_ioi_id;
    for i in 0..count {
        let io_id = shape.first_io_id + i64::from(i);
        out.extend(document(shape, ctx, io_id, &mut next_ioi));
    }
    out
}

/// Values shared by a document's header fields (picked once per document).
struct Picks {
    shop: usize,
    supplier: usize,
    link: (&'static str, i64),
    logistics: (&'static str, &'static str),
    o_id: i64,
    sale_total: f64,
}

/// Every version (oldest first) of one document of the API shaped by `shape`.
pub fn document(shape: &InOutShape, ctx: &Context, io_id: i64, next_ioi: &mut i64) -> Vec<Value> {
    let mut r = rng_for(ctx.seed ^ shape.salt, io_id as u64);
    let mut num = NumberShape::of(ctx.seed ^ shape.salt, io_id);
    let status = pick(&mut r, shape.statuses);
    let kind = pick(&mut r, shape.types);
    let (warehouse, wh_id) = WAREHOUSES[r.usize(..WAREHOUSES.len())];
    let link = loop {
        let w = WAREHOUSES[r.usize(..WAREHOUSES.len())];
        if w.1 != wh_id {
            break w;
        }
    };
    let modified = r.i64(ctx.begin..=ctx.end.max(ctx.begin));
    let io_date = modified - r.i64(0..3 * 86400);
    let created = io_date - r.i64(0..3600);
    let ms = |r: &mut Rng| (r.f64() < 0.3).then(|| r.u32(..1000));
    let lines = match ctx.lines {
        Some(n) => n,
        None if r.f64() < 0.04 => 0,
        None => r.u32(1..=5),
    };
    let batched = r.f64() < 0.2;
    let mut items = Vec::new();
    let mut batchs = Vec::new();
    let mut sale_total = 0.0;
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
        let gift = r.f64() < 0.08;
        let base = round2(cost * (1.5 + r.f64()));
        let sale = if gift { 0.0 } else { base };
        sale_total += round2(sale * qty as f64);
        let sku_id = format!("SKU-{sku:04}");
        let mut item = Map::new();
        let ioi = if shape.ioi_text {
            num.int(ioi_id)
        } else {
            json!(ioi_id)
        };
        item.insert("ioi_id".into(), ioi);
        item.insert("io_id".into(), json!(io_id));
        item.insert("sku_id".into(), json!(sku_id));
        item.insert("i_id".into(), json!(format!("STYLE-{style:03}")));
        item.insert("name".into(), json!(format!("{style_name} {color} {size}")));
        item.insert("unit".into(), json!(unit));
        item.insert("properties_value".into(), json!(format!("{color};{size}")));
        item.insert("qty".into(), num.int(qty));
        for (field, how) in shape.line {
            let v = match how {
                Line::CostPrice => num.amount(cost),
                Line::CostAmount => num.amount(round2(cost * qty as f64)),
                Line::SalePrice => num.amount(sale),
                Line::SaleAmount => num.amount(round2(sale * qty as f64)),
                Line::SaleBasePrice => num.amount(base),
                Line::Remark => json!(if gift {
                    "赠品"
                } else {
                    LINE_REMARKS[r.usize(..LINE_REMARKS.len())]
                }),
                Line::TaxRate => num.int(TAX_RATES[r.usize(..TAX_RATES.len())]),
                Line::IsGift => json!(gift),
                Line::OrderLine => json!(format!("{}", ioi_id + 7_000_000)),
                Line::Counted => num.int(qty),
                Line::Pic => json!(format!("https://img.example.invalid/{sku_id}.jpg")),
                Line::Int(n) => json!(n),
            };
            item.insert((*field).into(), v);
        }
        if batched {
            let produced = io_date - r.i64(30..400) * 86400;
            let batch_no = format!("B{}", format_pattern(produced, "yyyyMMdd"));
            let expires = produced + 730 * 86400;
            item.insert(shape.line_batch.into(), json!(batch_no));
            item.insert("product_date".into(), json!(format_beijing(produced)));
            item.insert("expiration_date".into(), json!(format_beijing(expires)));
            batchs.push(json!({
                "batch_no": batch_no,
                "sku_id": sku_id,
                "ioi_id": ioi_id,
                "qty": num.int(qty),
                "product_date": format_beijing_date(produced),
                "expiration_date": format_beijing_date(expires),
                "supplier_id": 0,
                "supplier_name": "",
            }));
        }
        items.push(Value::Object(item));
    }
    let picks = Picks {
        shop: if ctx.shops.is_empty() {
            0
        } else {
            r.usize(..ctx.shops.len())
        },
        supplier: r.usize(..SUPPLIERS.len()),
        link,
        logistics: LOGISTICS[r.usize(..LOGISTICS.len())],
        o_id: 800_000 + io_id % 1_000_000,
        sale_total: round2(sale_total),
    };
    let person = PEOPLE[r.usize(..PEOPLE.len())];
    let remark = REMARKS[r.usize(..REMARKS.len())];
    let so_id = if r.f64() < 0.3 {
        String::new()
    } else {
        format!("SO-{:06}", r.u32(100_000..1_000_000))
    };
    let mut head = Map::new();
    for (field, how) in shape.head {
        let v = match how {
            Head::Text(t) => json!(t),
            Head::Int(n) => json!(n),
            Head::Bool(b) => json!(b),
            Head::IntShaped(n) => num.int(*n),
            Head::OneOf(list) => json!(list[r.usize(..list.len())]),
            Head::Person => json!(PEOPLE[r.usize(..PEOPLE.len())]),
            Head::ShopId => ctx
                .shops
                .get(picks.shop)
                .map_or(json!(0), |s| s["shop_id"].clone()),
            Head::ShopName => ctx
                .shops
                .get(picks.shop)
                .map_or(json!(""), |s| s["shop_name"].clone()),
            Head::SupplierId => json!(SUPPLIERS[picks.supplier].0),
            Head::SupplierName => json!(SUPPLIERS[picks.supplier].1),
            Head::OrderId => json!(picks.o_id),
            Head::AfterSaleId => json!(io_id + 500_000),
            Head::PurchaseId => json!(io_id - 3_000_000 + r.i64(0..3)),
            Head::LinkWarehouse => json!(picks.link.0),
            Head::LinkWhId => json!(picks.link.1),
            Head::LinkIoId => json!(if kind == "调拨入" {
                io_id - 1
            } else {
                io_id + 1
            }),
            Head::Logistics => json!(picks.logistics.1),
            Head::LogisticsCode => json!(picks.logistics.0),
            Head::LogisticsNo => {
                json!(format!("{}{}", picks.logistics.0, 7_000_000_000i64 + io_id))
            }
            Head::SaleTotal => num.amount(picks.sale_total),
            Head::TaxRate => num.int(TAX_RATES[r.usize(..TAX_RATES.len())]),
            Head::LabelList => {
                let l = LABELS[r.usize(..LABELS.len())];
                if l.is_empty() {
                    json!([])
                } else {
                    json!([l])
                }
            }
        };
        head.insert((*field).into(), v);
    }
    let created_ms = ms(&mut r);
    let io_date_ms = ms(&mut r);
    let wh = num.int(wh_id);
    let build = |status: &str, remark: &str, modified: i64, modified_ms: Option<u32>| {
        let mut m = Map::new();
        m.insert("io_id".into(), json!(io_id));
        m.insert("io_date".into(), json!(stamp(io_date, io_date_ms)));
        m.insert("status".into(), json!(status));
        m.insert("so_id".into(), json!(so_id));
        if !shape.type_field.is_empty() {
            m.insert(shape.type_field.into(), json!(kind));
        }
        m.insert("warehouse".into(), json!(warehouse));
        m.insert("wh_id".into(), wh.clone());
        m.insert("wms_co_id".into(), json!(0));
        m.insert("modified".into(), json!(stamp(modified, modified_ms)));
        m.insert("created".into(), json!(stamp(created, created_ms)));
        m.insert("remark".into(), json!(remark));
        m.insert("creator_name".into(), json!(person));
        for (k, v) in &head {
            m.insert(k.clone(), v.clone());
        }
        m.insert("items".into(), json!(items));
        m.insert("batchs".into(), json!(batchs));
        m.insert("sns".into(), json!([]));
        Value::Object(m)
    };
    // About a fifth of the documents changed after they were first written.
    let earlier = shape
        .earlier
        .iter()
        .find(|(now, _)| *now == status)
        .map(|(_, before)| *before);
    match earlier {
        Some(before) if r.f64() < 0.2 && modified < ctx.end => {
            let later = r.i64(modified + 1..=ctx.end);
            let (m1, m2) = (ms(&mut r), ms(&mut r));
            vec![
                build(before, "", modified, m1),
                build(status, remark, later, m2),
            ]
        }
        _ => {
            let m1 = ms(&mut r);
            vec![build(status, remark, modified, m1)]
        }
    }
}

/// Every version (oldest first) of `count` SKUs: `SKU-0001`.. as the in/out lines name them.
pub fn skus(ctx: &Context, count: u32) -> Vec<Value> {
    (1..=count).flat_map(|n| sku(ctx, n)).collect()
}

/// Every version (oldest first) of SKU number `n` (`SKU-0001` is 1).
pub fn sku(ctx: &Context, n: u32) -> Vec<Value> {
    let mut out = Vec::new();
    {
        let mut r = rng_for(ctx.seed ^ 0x0A11_0100, u64::from(n));
        let mut num = NumberShape::of(ctx.seed ^ 0x0A11_0100, i64::from(n));
        let style = (n - 1) / 4 + 1;
        let (style_name, unit) = STYLES[((style - 1) as usize) % STYLES.len()];
        let color = COLORS[((n - 1) as usize) % COLORS.len()];
        let size = SIZES[((n - 1) as usize / 2) % SIZES.len()];
        let cost = round2(f64::from(r.u32(20..400)) / 2.0);
        let sale = round2(cost * (1.5 + r.f64()));
        let e = r.f64();
        let enabled = if e < 0.88 {
            1
        } else if e < 0.95 {
            0
        } else {
            -1
        };
        let modified = r.i64(ctx.begin..=ctx.end.max(ctx.begin));
        let created = modified - r.i64(0..200) * 86400;
        let supplier = SUPPLIERS[r.usize(..SUPPLIERS.len())];
        let ms = (r.f64() < 0.3).then(|| r.u32(..1000));
        let build = |enabled: i64, sale: f64, modified: i64, num: &mut NumberShape| {
            json!({
                "sku_id": format!("SKU-{n:04}"),
                "i_id": format!("STYLE-{style:03}"),
                "name": format!("{style_name} {color} {size}"),
                "short_name": style_name,
                "sale_price": num.amount(sale),
                "cost_price": num.amount(cost),
                "market_price": num.amount(round2(sale * 1.2)),
                "properties_value": format!("{color};{size}"),
                "color": color,
                "c_id": 1000 + i64::from(style),
                "category": style_name,
                "pic": "",
                "pic_big": "",
                "enabled": enabled,
                "weight": num.amount(round2(0.1 + f64::from(style) / 10.0)),
                "brand": "悦享",
                "supplier_id": supplier.0.to_string(),
                "supplier_name": supplier.1,
                "modified": stamp(modified, ms),
                "created": format_beijing(created),
                "sku_code": format!("69{:011}", 10_000_000 + n),
                "sku_type": "normal",
                "item_type": "成品",
                "unit": unit,
                "remark": "",
                "labels": "",
                "stock_disabled": 0,
                "batch_enabled": "false",
                "autoid": 500_000 + i64::from(n),
            })
        };
        if r.f64() < 0.2 && modified < ctx.end {
            let later = r.i64(modified + 1..=ctx.end);
            out.push(build(1, round2(sale * 0.9), modified, &mut num));
            out.push(build(enabled, sale, later, &mut num));
        } else {
            out.push(build(enabled, sale, modified, &mut num));
        }
    }
    out
}
