//! The query APIs as pure functions from `biz` to the `data` object: every API of the `apis`
//! tables through one [`documents`], and `shops.query`. Errors are the `msg` of a code-140 answer.

use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

use super::apis::{ApiSpec, Filter, IdParam};
use super::docs::{Docs, SimDoc};
use crate::time::parse_beijing;

pub const INOUT_MAX_PAGE_SIZE: i64 = 50;
pub const SHOPS_MAX_PAGE_SIZE: i64 = 100;
pub const MAX_WINDOW_SECS: i64 = 7 * 86400;

fn int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn opt_int(biz: &Value, key: &str) -> Result<Option<i64>, String> {
    match biz.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(v) => int(v)
            .map(Some)
            .ok_or_else(|| format!("参数不符合规范,请检查传入参数! {key}必须是整数")),
    }
}

fn strings(biz: &Value, key: &str) -> Result<Option<Vec<String>>, String> {
    let list = match biz.get(key) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| match v {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .collect::<Option<Vec<String>>>(),
        Some(Value::String(s)) => Some(vec![s.clone()]),
        Some(Value::Number(n)) => Some(vec![n.to_string()]),
        _ => None,
    };
    list.map(Some)
        .ok_or_else(|| format!("参数不符合规范,请检查传入参数! {key}必须是数组"))
}

fn paging(biz: &Value, default: i64, max: i64) -> Result<(i64, i64), String> {
    let index = opt_int(biz, "page_index")?.unwrap_or(1).max(1);
    let size = match opt_int(biz, "page_size")? {
        None | Some(0) => default,
        Some(n) if n < 0 => return Err("参数不符合规范,请检查传入参数! page_size必须大于0".into()),
        Some(n) if n > max => {
            return Err(format!(
                "参数不符合规范,请检查传入参数! page_size不能超过{max}"
            ))
        }
        Some(n) => n,
    };
    Ok((index, size))
}

#[derive(Serialize)]
struct DocsData<'a> {
    page_index: i64,
    page_size: i64,
    data_count: usize,
    page_count: usize,
    has_next: bool,
    datas: Vec<&'a Value>,
}

/// The text of a document field or a parameter value (numbers as their digits).
fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// An id-list parameter's values (None: not given).
fn id_list(biz: &Value, p: &IdParam) -> Result<Option<Vec<String>>, String> {
    let list = if p.csv {
        match biz.get(p.param) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.trim().is_empty() => None,
            Some(Value::String(s)) => Some(
                s.split(',')
                    .map(|x| x.trim().to_string())
                    .filter(|x| !x.is_empty())
                    .collect::<Vec<_>>(),
            ),
            Some(_) => {
                return Err(format!(
                    "参数不符合规范,请检查传入参数! {}必须是以逗号分隔的字符串",
                    p.param
                ))
            }
        }
    } else {
        strings(biz, p.param)?
    };
    let Some(list) = list else { return Ok(None) };
    if list.len() > p.max {
        return Err(format!(
            "参数不符合规范,请检查传入参数! {}最多{}个",
            p.param, p.max
        ));
    }
    if p.numeric {
        let ints = list
            .iter()
            .map(|s| s.trim().parse::<i64>().map(|n| n.to_string()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| format!("参数不符合规范,请检查传入参数! {}必须是整数数组", p.param))?;
        return Ok(Some(ints));
    }
    Ok(Some(list))
}

/// A status or type filter's values (None: not given).
fn filter_values(biz: &Value, f: &Filter) -> Result<Option<Vec<String>>, String> {
    if f.many {
        return strings(biz, f.param);
    }
    Ok(match biz.get(f.param) {
        Some(Value::String(s)) if !s.is_empty() => Some(vec![s.clone()]),
        _ => None,
    })
}

/// One page of the documents (latest versions) of the API `spec` matching `biz`.
pub fn documents(spec: &ApiSpec, docs: &Docs, biz: &Value) -> Result<String, String> {
    let (index, size) = paging(biz, spec.page_default, spec.page_max)?;
    let time = |key: &str| -> Result<Option<i64>, String> {
        match biz.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => parse_beijing(s).map(Some).map_err(|_| {
                format!("参数不符合规范,请检查传入参数! {key}格式应为yyyy-MM-dd HH:mm:ss")
            }),
            Some(_) => Err(format!("参数不符合规范,请检查传入参数! {key}必须是字符串")),
        }
    };
    let begin = time("modified_begin")?;
    let end = time("modified_end")?;
    let mut id_filters: Vec<(&IdParam, Vec<String>)> = Vec::new();
    for p in spec.ids {
        if let Some(v) = id_list(biz, p)? {
            id_filters.push((p, v));
        }
    }
    let statuses = match &spec.status {
        Some(f) => filter_values(biz, f)?,
        None => None,
    }
    .or_else(|| {
        (!spec.default_statuses.is_empty()).then(|| {
            spec.default_statuses
                .iter()
                .map(|s| s.to_string())
                .collect()
        })
    });
    let types = match &spec.types {
        Some(f) => filter_values(biz, f)?,
        None => None,
    };
    let mut equal: Vec<(&str, String)> = Vec::new();
    for (param, field) in spec.equal {
        if let Some(v) = biz.get(*param).and_then(text).filter(|v| !v.is_empty()) {
            equal.push((field, v));
        }
    }
    let (date_param, date_fields) = spec.date;
    let date_field = match biz.get(date_param).and_then(text).filter(|v| !v.is_empty()) {
        None => date_fields.first().map_or("modified", |(_, f)| *f),
        Some(v) => date_fields
            .iter()
            .find(|(value, _)| *value == v)
            .map(|(_, f)| *f)
            .ok_or_else(|| format!("参数不符合规范,请检查传入参数! {date_param}不支持{v}"))?,
    };
    let window = match (begin, end) {
        (Some(b), Some(e)) => {
            if e < b {
                return Err(
                    "参数不符合规范,请检查传入参数! modified_end不能早于modified_begin".into(),
                );
            }
            if e - b > MAX_WINDOW_SECS {
                return Err("参数不符合规范,请检查传入参数! modified_begin和modified_end时间间隔不能超过七天".into());
            }
            Some((b, e))
        }
        (None, None) => {
            if id_filters.is_empty() {
                return Err(
                    "参数不符合规范,请检查传入参数! modified_begin和modified_end不能为空".into(),
                );
            }
            None
        }
        _ => {
            return Err(
                "参数不符合规范,请检查传入参数! modified_begin和modified_end必须同时传入".into(),
            )
        }
    };
    let keep = |d: &&Arc<SimDoc>| -> bool {
        if let Some(t) = &types {
            if !d.kind.as_ref().is_some_and(|x| t.contains(x)) {
                return false;
            }
        }
        if let Some(s) = &statuses {
            if !d.status.as_ref().is_some_and(|x| s.contains(x)) {
                return false;
            }
        }
        for (p, values) in &id_filters {
            let v = text(&d.value[p.field]);
            if !v.is_some_and(|v| values.contains(&v)) {
                return false;
            }
        }
        for (field, want) in &equal {
            if text(&d.value[*field]).as_ref() != Some(want) {
                return false;
            }
        }
        true
    };
    // A backfill pages through windows of thousands of documents: the window is filtered once
    // for all its pages (`Docs::matching`), not twice per page.
    let in_window = |d: &&Arc<SimDoc>| match window {
        Some((b, e)) => d
            .time_ms(date_field)
            .is_some_and(|t| t >= b * 1000 && t <= e * 1000 + 999),
        None => true,
    };
    let matching = || -> Box<dyn Iterator<Item = &Arc<SimDoc>> + '_> {
        match window {
            Some((b, e)) if date_field == "modified" => {
                Box::new(docs.modified_between(b * 1000, e * 1000 + 999).filter(keep))
            }
            Some(_) => Box::new(docs.latest().filter(in_window).filter(keep)),
            None => Box::new(docs.latest().filter(keep)),
        }
    };
    // The same query with another page_index reads the same documents: filtered once.
    let query = match biz {
        Value::Object(o) => {
            let mut o = o.clone();
            o.remove("page_index");
            format!("{} {}", spec.path, Value::Object(o))
        }
        other => format!("{} {other}", spec.path),
    };
    let all = docs.matching(query, || matching().cloned().collect());
    let count = all.len();
    let page_count = count.div_ceil(size as usize);
    let skip = ((index - 1) as usize).saturating_mul(size as usize);
    let datas: Vec<&Value> = all
        .iter()
        .skip(skip)
        .take(size as usize)
        .map(|d| &d.value)
        .collect();
    let data = DocsData {
        page_index: index,
        page_size: size,
        data_count: count,
        page_count,
        has_next: (index as usize) < page_count,
        datas,
    };
    serde_json::to_string(&data).map_err(|e| e.to_string())
}

/// `other.inout.query`: the documents (latest versions) matching `biz`, one page of them.
#[cfg(test)]
pub fn inout(docs: &Docs, biz: &Value) -> Result<String, String> {
    documents(&super::apis::OTHER_INOUT, docs, biz)
}

#[derive(Serialize)]
struct ShopsData<'a> {
    page_index: i64,
    page_size: i64,
    has_next: bool,
    datas: Vec<&'a Value>,
}

/// `shops.query`: no `data_count` or `page_count`, as the real fixtures show.
pub fn shops(all: &[Value], biz: &Value) -> Result<String, String> {
    let (index, size) = paging(biz, SHOPS_MAX_PAGE_SIZE, SHOPS_MAX_PAGE_SIZE)?;
    let ids: Option<Vec<i64>> = match biz.get("shop_ids") {
        None | Some(Value::Null) => None,
        Some(Value::Array(a)) => Some(
            a.iter()
                .map(int)
                .collect::<Option<Vec<i64>>>()
                .ok_or("参数不符合规范,请检查传入参数! shop_ids必须是整数数组")?,
        ),
        Some(_) => return Err("参数不符合规范,请检查传入参数! shop_ids必须是数组".into()),
    };
    let matching: Vec<&Value> = all
        .iter()
        .filter(|s| match &ids {
            Some(ids) => s["shop_id"].as_i64().is_some_and(|i| ids.contains(&i)),
            None => true,
        })
        .collect();
    let skip = ((index - 1) as usize).saturating_mul(size as usize);
    let has_next = matching.len() > skip.saturating_add(size as usize);
    let datas = matching
        .into_iter()
        .skip(skip)
        .take(size as usize)
        .collect();
    serde_json::to_string(&ShopsData {
        page_index: index,
        page_size: size,
        has_next,
        datas,
    })
    .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::super::state::State;
    use super::super::world::WorldParams;
    use super::*;
    use crate::time::format_beijing;
    use serde_json::json;

    fn state() -> State {
        let p = WorldParams {
            seed: 5,
            docs: 200,
            shops: 7,
            lines: None,
            history_days: 30,
        };
        State::open(&p, None).unwrap().0
    }

    #[test]
    fn windows_and_paging() {
        let s = state();
        let now = crate::time::now_unix();
        let all = s.docs.at(now);
        let mut seen = Vec::new();
        let mut begin = now - 31 * 86400;
        while begin < now {
            let end = (begin + 7 * 86400).min(now);
            for page in 1.. {
                let biz = json!({"modified_begin": format_beijing(begin), "modified_end": format_beijing(end), "page_index": page.to_string(), "page_size": 50});
                let d: Value = serde_json::from_str(&inout(&s.docs, &biz).unwrap()).unwrap();
                for x in d["datas"].as_array().unwrap() {
                    seen.push(x.clone());
                }
                if !d["has_next"].as_bool().unwrap() {
                    break;
                }
            }
            begin = end + 1;
        }
        assert_eq!(seen, all, "every document once, in (modified, io_id) order");
        let biz = json!({"modified_begin": format_beijing(now - 8 * 86400), "modified_end": format_beijing(now)});
        assert!(inout(&s.docs, &biz).unwrap_err().contains("七天"));
        let biz = json!({"modified_begin": format_beijing(now - 86400), "modified_end": format_beijing(now), "page_size": 51});
        assert!(inout(&s.docs, &biz).unwrap_err().contains("page_size"));
        assert!(inout(&s.docs, &json!({})).is_err());
        let biz =
            json!({"io_ids": [10001, "10002"], "types": ["其它进仓", "其它出库", "其它退货"]});
        let d: Value = serde_json::from_str(&inout(&s.docs, &biz).unwrap()).unwrap();
        assert_eq!(d["data_count"], 2);
    }

    #[test]
    fn shop_pages() {
        let s = state();
        let d: Value = serde_json::from_str(
            &shops(&s.shops, &json!({"page_index": 2, "page_size": 3})).unwrap(),
        )
        .unwrap();
        assert_eq!(d["datas"].as_array().unwrap().len(), 3);
        assert_eq!(d["has_next"], true);
        assert!(d.get("data_count").is_none());
        let d: Value = serde_json::from_str(
            &shops(&s.shops, &json!({"page_index": 3, "page_size": 3})).unwrap(),
        )
        .unwrap();
        assert_eq!(d["has_next"], false);
        assert!(shops(&s.shops, &json!({"page_size": 101})).is_err());
        let d: Value =
            serde_json::from_str(&shops(&s.shops, &json!({"shop_ids": [10178846]})).unwrap())
                .unwrap();
        assert_eq!(d["datas"][0]["shop_id"], 10178846);
    }
}
