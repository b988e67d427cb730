//! Save validation as K/3 Cloud does it: required fields, base-data references (resolved by
//! number, key case ignored), `IsVerifyBaseDataField`, positive quantities.
//!
//! Message wording (Kingdee's own where known, ours where the notes found none):
//! - header required: `字段“退货客户”是必填项`; entry required:
//!   `单据体实体【明细信息】第【1】行分录，【仓库】字段必录`
//! - unknown base data with IsVerifyBaseDataField=true (ours):
//!   `字段“仓库”的值“CK999”在基础资料中不存在或已禁用`
//! - duplicates (ours): bills `单据编号“JST-1”已存在，违反单据编号唯一性要求`,
//!   base data `编码“X”已经被使用，违反编码唯一性要求`

use serde_json::{Map, Value};

use super::db::{Db, Kind};
use super::envelope::get_ci;

#[derive(Clone, Copy)]
enum Spec {
    Ref(Kind),
    Text,
    Date,
    PositiveQty,
}

struct Field {
    key: &'static str,
    label: &'static str,
    spec: Spec,
    required: bool,
}

const fn f(key: &'static str, label: &'static str, spec: Spec, required: bool) -> Field {
    Field {
        key,
        label,
        spec,
        required,
    }
}

const RET_HEAD: &[Field] = &[
    f("FBillTypeID", "单据类型", Spec::Ref(Kind::BillType), true),
    f("FDate", "日期", Spec::Date, true),
    f("FSaleOrgId", "销售组织", Spec::Ref(Kind::Org), true),
    f("FStockOrgId", "库存组织", Spec::Ref(Kind::Org), true),
    f("FRetcustId", "退货客户", Spec::Ref(Kind::Customer), true),
    f("FReceiveCustId", "收货方", Spec::Ref(Kind::Customer), false),
    f("FSettleCustId", "结算方", Spec::Ref(Kind::Customer), false),
    f("FPayCustId", "付款方", Spec::Ref(Kind::Customer), false),
    f("FSalesManId", "销售员", Spec::Ref(Kind::Salesman), false),
];
const RET_SUBHEAD: &[Field] = &[
    f("FSettleCurrId", "结算币别", Spec::Ref(Kind::Currency), true),
    f("FSettleOrgId", "结算组织", Spec::Ref(Kind::Org), true),
    f("FLocalCurrId", "本位币", Spec::Ref(Kind::Currency), false),
];
const RET_ENTRY: &[Field] = &[
    f("FMaterialId", "物料编码", Spec::Ref(Kind::Material), true),
    f("FStockId", "仓库", Spec::Ref(Kind::Stock), true),
    f("FRealQty", "实退数量", Spec::PositiveQty, true),
    f(
        "FReturnType",
        "退货类型",
        Spec::Ref(Kind::ReturnType),
        false,
    ),
    f(
        "FStockstatusId",
        "库存状态",
        Spec::Ref(Kind::StockStatus),
        false,
    ),
    f("FOwnerId", "货主", Spec::Ref(Kind::Org), false),
];
const STOCK_HEAD: &[Field] = &[
    f("FCreateOrgId", "创建组织", Spec::Ref(Kind::Org), true),
    f("FUseOrgId", "使用组织", Spec::Ref(Kind::Org), true),
    f("FName", "名称", Spec::Text, true),
    f("FNumber", "编码", Spec::Text, true),
    f(
        "FDefReceiveStatusId",
        "默认收货状态",
        Spec::Ref(Kind::StockStatus),
        false,
    ),
    f(
        "FDefStockStatusId",
        "默认库存状态",
        Spec::Ref(Kind::StockStatus),
        false,
    ),
];

/// One validation error: (FieldName, Message).
pub type Problem = (String, String);

/// A reference's number: `{"FNumber": x}` (any key case), or a bare string/number.
pub fn ref_number(v: &Value) -> Option<String> {
    let inner = match v {
        Value::Object(_) => get_ci(v, "FNumber")?,
        other => other,
    };
    match inner {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn qty_of(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn key_in(obj: &Map<String, Value>, key: &str) -> Option<String> {
    if obj.contains_key(key) {
        return Some(key.to_string());
    }
    obj.keys().find(|k| k.eq_ignore_ascii_case(key)).cloned()
}

/// Checks (and cleans) one object against field specs. `entry_row` = 1-based row for entries.
fn check(
    obj: &mut Map<String, Value>,
    fields: &[Field],
    entry_row: Option<usize>,
    verify_base: bool,
    db: &Db,
    problems: &mut Vec<Problem>,
) {
    let required_msg = |label: &str| match entry_row {
        Some(r) => format!("单据体实体【明细信息】第【{r}】行分录，【{label}】字段必录"),
        None => format!("字段“{label}”是必填项"),
    };
    for fd in fields {
        let k = key_in(obj, fd.key);
        let value = k.as_ref().and_then(|k| obj.get(k));
        let mut unresolved = false;
        let present = match (fd.spec, value) {
            (_, None) | (_, Some(Value::Null)) => false,
            (Spec::Ref(kind), Some(v)) => match ref_number(v) {
                None => false,
                Some(num) if db.ref_exists(kind, &num) => true,
                Some(num) => {
                    if verify_base {
                        let msg = match entry_row {
                            Some(r) => format!(
                                "单据体实体【明细信息】第【{r}】行分录，字段“{}”的值“{num}”在基础资料中不存在或已禁用",
                                fd.label
                            ),
                            None => format!(
                                "字段“{}”的值“{num}”在基础资料中不存在或已禁用",
                                fd.label
                            ),
                        };
                        problems.push((fd.key.to_string(), msg));
                        continue;
                    }
                    // Unresolved number: Kingdee leaves the field empty.
                    unresolved = true;
                    false
                }
            },
            (Spec::Text, Some(v)) => text_of(v).is_some(),
            (Spec::Date, Some(v)) => match text_of(v) {
                Some(t) if crate::time::parse_beijing(&normalize_date(&t)).is_ok() => true,
                Some(t) => {
                    problems.push((
                        fd.key.to_string(),
                        format!("字段“{}”的值“{t}”不是有效的日期", fd.label),
                    ));
                    continue;
                }
                None => false,
            },
            (Spec::PositiveQty, Some(v)) => match qty_of(v) {
                Some(q) if q > 0.0 => true,
                Some(_) => {
                    let r = entry_row.unwrap_or(1);
                    problems.push((
                        fd.key.to_string(),
                        format!(
                            "单据体实体【明细信息】第【{r}】行分录，【{}】必须大于0",
                            fd.label
                        ),
                    ));
                    continue;
                }
                None => false,
            },
        };
        if unresolved {
            if let Some(k) = &k {
                obj.remove(k);
            }
        }
        if !present && fd.required {
            problems.push((fd.key.to_string(), required_msg(fd.label)));
        }
    }
}

/// `yyyy-MM-dd[ T]HH:mm:ss` or `yyyy-MM-dd` → `yyyy-MM-dd HH:mm:ss`.
pub fn normalize_date(t: &str) -> String {
    let t = t.trim().replace('T', " ");
    if t.len() == 10 {
        format!("{t} 00:00:00")
    } else {
        t
    }
}

/// Validates one model of `form`; returns the cleaned model or the problems found.
pub fn validate(
    form: &str,
    model: Value,
    verify_base: bool,
    db: &Db,
) -> Result<Map<String, Value>, Vec<Problem>> {
    let Value::Object(mut obj) = model else {
        return Err(vec![(
            String::new(),
            "数据包Model必须是一个JSON对象".to_string(),
        )]);
    };
    let mut problems = Vec::new();
    match form.to_ascii_uppercase().as_str() {
        "SAL_RETURNSTOCK" => {
            check(&mut obj, RET_HEAD, None, verify_base, db, &mut problems);
            match key_in(&obj, "SubHeadEntity") {
                Some(k) => {
                    if let Some(Value::Object(sub)) = obj.get_mut(&k) {
                        check(sub, RET_SUBHEAD, None, verify_base, db, &mut problems);
                    } else {
                        check(
                            &mut Map::new(),
                            RET_SUBHEAD,
                            None,
                            verify_base,
                            db,
                            &mut problems,
                        );
                    }
                }
                None => check(
                    &mut Map::new(),
                    RET_SUBHEAD,
                    None,
                    verify_base,
                    db,
                    &mut problems,
                ),
            }
            let entries = key_in(&obj, "FEntity").and_then(|k| match obj.get_mut(&k) {
                Some(Value::Array(a)) if !a.is_empty() => Some(a),
                _ => None,
            });
            match entries {
                Some(rows) => {
                    for (i, row) in rows.iter_mut().enumerate() {
                        match row {
                            Value::Object(e) => {
                                check(e, RET_ENTRY, Some(i + 1), verify_base, db, &mut problems)
                            }
                            _ => problems.push((
                                "FEntity".into(),
                                format!("单据体实体【明细信息】第【{}】行分录不是对象", i + 1),
                            )),
                        }
                    }
                }
                None => problems.push((
                    "FEntity".into(),
                    "单据体“明细信息”至少需要录入一行分录".to_string(),
                )),
            }
        }
        "BD_STOCK" => check(&mut obj, STOCK_HEAD, None, verify_base, db, &mut problems),
        _ => {}
    }
    if problems.is_empty() {
        Ok(obj)
    } else {
        Err(problems)
    }
}
