//! Base data the purchase and stock bills reference: suppliers (供应商) and departments (部门).
//! Minimal models from the public clients cited in `src/template/NOTES-kingdee.md`; seeded with
//! numbers the template library uses (VEN00001.., BM000001..).

use super::base_data::{BASE_SYSTEM, ORG_SCOPED};
use super::Spec::{Ref, Text, Value};
use super::{opt, req, Form, Seed, SubHead};

/// 供应商. Sub-headers 基本信息 (`FBaseInfo`), 商务信息 (`FBusinessInfo`), 财务信息
/// (`FFinanceInfo`), all optional on save.
pub static BD_SUPPLIER: Form = Form {
    id: "BD_Supplier",
    pk: "FSupplierId",
    identity: "FNumber",
    auto_number: "VEN",
    name_field: "FName",
    head: &[
        &[
            opt("FNumber", "编码", Text),
            req("FName", "名称", Text),
            opt("FShortName", "简称", Value),
            opt("FGroup", "供应商分组", Value),
            opt("FDescription", "描述", Value),
        ],
        ORG_SCOPED,
        BASE_SYSTEM,
    ],
    sub_heads: &[
        SubHead {
            key: "FBaseInfo",
            fields: &[
                opt("FCountry", "国家", Value),
                opt("FAddress", "通讯地址", Value),
                opt("FSOCIALCRECODE", "统一社会信用代码", Value),
                opt("FSupplyClassify", "供应类别", Value),
            ],
        },
        SubHead {
            key: "FBusinessInfo",
            fields: &[opt("FPurchaserGroupId", "采购组", Value)],
        },
        SubHead {
            key: "FFinanceInfo",
            fields: &[
                opt("FPayCurrencyId", "结算币别", Ref("BD_CURRENCY")),
                opt("FInvoiceType", "发票类型", Value),
                opt("FTaxRateId", "默认税率", Value),
            ],
        },
    ],
    entries: &[],
    one_of: &[],
    seed: Seed::Rows(&[
        ("VEN00001", "默认供应商"),
        ("VEN00002", "杭州织造有限公司"),
        ("VEN00003", "义乌小商品贸易行"),
        ("VEN00004", "广州包装材料厂"),
        ("VEN00005", "深圳电子配件公司"),
    ]),
};

/// 部门.
pub static BD_DEPARTMENT: Form = Form {
    id: "BD_Department",
    pk: "FDEPTID",
    identity: "FNumber",
    auto_number: "BM",
    name_field: "FName",
    head: &[
        &[
            opt("FNumber", "编码", Text),
            req("FName", "名称", Text),
            opt("FHelpCode", "助记码", Value),
            opt("FFullName", "全称", Value),
            opt("FParentID", "上级部门", Ref("BD_Department")),
            opt("FDeptProperty", "部门属性", Value),
            opt("FEffectDate", "生效日期", Value),
            opt("FLapseDate", "失效日期", Value),
            opt("FDescription", "描述", Value),
        ],
        ORG_SCOPED,
        BASE_SYSTEM,
    ],
    sub_heads: &[],
    entries: &[],
    one_of: &[],
    seed: Seed::Rows(&[
        ("BM000001", "总经办"),
        ("BM000002", "销售部"),
        ("BM000003", "仓储部"),
        ("BM000004", "采购部"),
        ("BM000005", "电商运营部"),
    ]),
};
