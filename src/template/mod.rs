//! The template library (模板库): ready schemes for the flows a firm connects, one TOML text per
//! template under `library/` (embedded in the binary). Each text is a complete `[[scheme]]`
//! block with the `[lookups.*]` tables it uses; the lines a consultant must change for the firm
//! are marked `ADAPT` in comments. The template's name is its scheme's name. The two seeds
//! (`shops-to-stocks`, `offline-returns`) are the very text `config.toml` ships (a test holds
//! them equal). What each mapping is based on: `NOTES-jushuitan.md`, `NOTES-kingdee.md`.
//!
//! `ferry template list|show|add` (src/cli/template.rs) print them and add them to a config
//! file in place ([`edit::add`]).

pub mod edit;
pub mod sections;

/// One template of the library.
#[derive(Debug, Clone, Copy)]
pub struct Template {
    /// The template's and its scheme's name.
    pub name: &'static str,
    /// What it does, in Chinese (the name the flow has in Kingdee's and Jushuitan's own words).
    pub title: &'static str,
    /// The TOML text: introduction comments, `[lookups.*]` tables, then the scheme.
    pub text: &'static str,
    /// Schemes that read the same documents, and what to do when the config has one of them
    /// (`ferry template add` says so).
    pub overlaps: &'static [(&'static str, &'static str)],
}

/// offline-returns and other-in both read confirmed 其它进仓.
const RECEIPTS_SPLIT: &str = "offline-returns and other-in both read confirmed 其它进仓: \
     a receipt taken by both is booked twice (a sales return and an other receipt). Split them: \
     other-in takes the documents without a store (doc.drp_co_name == \"\"); add \
     `&& doc.drp_co_name != \"\"` to offline-returns' precondition, or adapt both rules";

/// Every template, in the order `ferry template list` shows them.
pub static LIBRARY: &[Template] = &[
    Template {
        name: "shops-to-stocks",
        title: "仓库新增：聚水潭店铺 → 金蝶仓库",
        text: include_str!("library/shops-to-stocks.toml"),
        overlaps: &[],
    },
    Template {
        name: "offline-returns",
        title: "销售退货：线下退货（其它进仓）→ 销售退货单",
        text: include_str!("library/offline-returns.toml"),
        overlaps: &[("other-in", RECEIPTS_SPLIT)],
    },
    Template {
        name: "sales-out",
        title: "销售出库：销售出库单 → 销售出库单",
        text: include_str!("library/sales-out.toml"),
        overlaps: &[],
    },
    Template {
        name: "aftersale-returns",
        title: "售后退货：售后实际收货 → 销售退货单",
        text: include_str!("library/aftersale-returns.toml"),
        overlaps: &[],
    },
    Template {
        name: "purchase-in",
        title: "采购入库：采购入库单 → 采购入库单",
        text: include_str!("library/purchase-in.toml"),
        overlaps: &[],
    },
    Template {
        name: "purchase-returns",
        title: "采购退货：采购退货单 → 采购退料单",
        text: include_str!("library/purchase-returns.toml"),
        overlaps: &[],
    },
    Template {
        name: "other-out",
        title: "其它出库：其它出库 → 其他出库单",
        text: include_str!("library/other-out.toml"),
        overlaps: &[],
    },
    Template {
        name: "other-in",
        title: "其它入库：其它进仓（非退货）→ 其他入库单",
        text: include_str!("library/other-in.toml"),
        overlaps: &[("offline-returns", RECEIPTS_SPLIT)],
    },
    Template {
        name: "transfers",
        title: "调拨：调拨出 → 直接调拨单",
        text: include_str!("library/transfers.toml"),
        overlaps: &[],
    },
    Template {
        name: "materials",
        title: "商品：普通商品资料 → 物料",
        text: include_str!("library/materials.toml"),
        overlaps: &[],
    },
];

/// Errors of the library and of adding a template to a config file.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("there is no template named `{name}`{}; the templates are: {}",
        .suggestion.as_ref().map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default(),
        .known.join(", "))]
    Unknown {
        name: String,
        suggestion: Option<String>,
        known: Vec<String>,
    },
    /// A library text that does not have the expected shape (a bug of ferry; tests guard it).
    #[error("template `{template}` is broken: {why}")]
    Broken { template: String, why: String },
    #[error("{file} is not valid TOML ({why}); fix it first (`ferry check` shows where)")]
    ConfigSyntax { file: String, why: String },
    #[error("{file} already has a scheme named `{name}`; nothing was added (rename or remove that scheme first)")]
    Exists { file: String, name: String },
}

/// A `[lookups.NAME]` table of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupPart<'a> {
    pub name: String,
    /// From its header line to its last row (comments in it included).
    pub text: &'a str,
    /// Its keys (the Jushuitan values it maps).
    pub keys: Vec<String>,
}

/// A template's text taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parts<'a> {
    pub lookups: Vec<LookupPart<'a>>,
    /// The `[[scheme]]` block with its sub-tables and the comment lines directly above it.
    pub scheme: &'a str,
    pub scheme_name: String,
    /// `[scheme.source] api`.
    pub api: String,
    /// `[scheme.source] params.types`, when given.
    pub types: Vec<String>,
    /// `[scheme.target] form_id`.
    pub form: String,
}

/// The template named `name`, or an error naming the known ones (and a near miss).
pub fn find(name: &str) -> Result<&'static Template, TemplateError> {
    LIBRARY.iter().find(|t| t.name == name).ok_or_else(|| {
        let names = LIBRARY.iter().map(|t| t.name);
        TemplateError::Unknown {
            name: name.to_string(),
            suggestion: crate::config::suggest::closest(name, names.clone()).map(str::to_string),
            known: names.map(str::to_string).collect(),
        }
    })
}

impl Template {
    /// The text taken apart: lookup tables, scheme block, and what the scheme connects.
    pub fn parts(&self) -> Result<Parts<'static>, TemplateError> {
        parts(self.name, self.text)
    }
}

/// Takes a template text apart (see [`Parts`]).
pub fn parts<'a>(template: &str, text: &'a str) -> Result<Parts<'a>, TemplateError> {
    let broken = |why: String| TemplateError::Broken {
        template: template.to_string(),
        why,
    };
    let sections = sections::sections(text).map_err(&broken)?;
    let value: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| broken(e.to_string()))?;
    let mut lookups = Vec::new();
    let mut scheme = None;
    for s in &sections {
        let path: Vec<&str> = s.header.path.iter().map(String::as_str).collect();
        match (path.as_slice(), s.header.array, scheme.is_some()) {
            (["lookups", name], false, false) => {
                let keys = value
                    .get("lookups")
                    .and_then(|l| l.get(*name))
                    .and_then(|t| t.as_table())
                    .map(|t| t.keys().cloned().collect())
                    .unwrap_or_default();
                lookups.push(LookupPart {
                    name: name.to_string(),
                    text: text.get(s.table.clone()).unwrap_or(""),
                    keys,
                });
            }
            (["scheme"], true, false) => {
                scheme = Some(text.get(s.with_comments.start..).unwrap_or(""));
            }
            (["scheme", ..], false, true) => {}
            _ => {
                return Err(broken(format!(
                    "unexpected table [{}] (a template is [lookups.*] tables, then one [[scheme]])",
                    s.header.path.join(".")
                )))
            }
        }
    }
    let scheme = scheme.ok_or_else(|| broken("no [[scheme]]".into()))?;
    let sc = value
        .get("scheme")
        .and_then(|s| s.as_array())
        .and_then(|a| a.first())
        .ok_or_else(|| broken("no [[scheme]]".into()))?;
    let text_at = |path: &[&str]| -> Option<String> {
        let mut v = sc;
        for p in path {
            v = v.get(*p)?;
        }
        v.as_str().map(str::to_string)
    };
    let types = sc
        .get("source")
        .and_then(|s| s.get("params"))
        .and_then(|p| p.get("types"))
        .and_then(|t| t.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    Ok(Parts {
        lookups,
        scheme,
        scheme_name: text_at(&["name"]).ok_or_else(|| broken("the scheme has no name".into()))?,
        api: text_at(&["source", "api"]).ok_or_else(|| broken("no [scheme.source] api".into()))?,
        types,
        form: text_at(&["target", "form_id"])
            .ok_or_else(|| broken("no [scheme.target] form_id".into()))?,
    })
}

#[cfg(test)]
mod tests;
