//! Base-data forms (基础资料): identity `FNumber`, each with its own primary key. Seeded with
//! what the shipped config.toml and the template library reference (organisation 100,
//! SKU-0001.., CK001..CK004, CUST000..CUST003, PRE001, the standard bill types of every bill form,
//! THLX01_SYS, KCZT01_SYS/KCZT02_SYS, XSY001, Pcs); suppliers and departments in `parties.rs`.
//! The numbers are listed in `src/template/NOTES-kingdee.md`.

use super::Spec::{Choice, Number, Ref, Text, Value};
use super::{opt, req, Field, Form, Seed, SubHead};

/// Audit and status fields every base-data form has.
pub(super) const BASE_SYSTEM: &[Field] = &[
    opt("FForbidStatus", "禁用状态", Value),
    opt("FCreatorId", "创建人", Value),
    opt("FCreateDate", "创建日期", Value),
    opt("FModifierId", "修改人", Value),
    opt("FModifyDate", "修改日期", Value),
    opt("FAuditorId", "审核人", Value),
    opt("FAuditDate", "审核日期", Value),
    opt("FForbidderId", "禁用人", Value),
    opt("FForbidDate", "禁用日期", Value),
];

/// Base data created in one organisation and used in (allocated to) others.
pub(super) const ORG_SCOPED: &[Field] = &[
    req("FCreateOrgId", "创建组织", Ref("ORG_ORGANIZATIONS")),
    req("FUseOrgId", "使用组织", Ref("ORG_ORGANIZATIONS")),
];

/// Base data whose organisations are filled in by the server when absent.
const ORG_DEFAULTED: &[Field] = &[
    opt("FCreateOrgId", "创建组织", Ref("ORG_ORGANIZATIONS")),
    opt("FUseOrgId", "使用组织", Ref("ORG_ORGANIZATIONS")),
];

/// 组织机构.
pub static ORG_ORGANIZATIONS: Form = Form {
    id: "ORG_ORGANIZATIONS",
    pk: "FOrgID",
    identity: "FNumber",
    auto_number: "ORG",
    name_field: "FName",
    head: &[
        &[
            opt("FNumber", "编码", Text),
            req("FName", "名称", Text),
            opt("FDescription", "描述", Value),
            opt("FOrgFormID", "形态", Value),
            opt("FParentID", "上级组织", Value),
        ],
        BASE_SYSTEM,
    ],
    sub_heads: &[],
    entries: &[],
    one_of: &[],
    seed: Seed::Rows(&[("100", "总公司")]),
};

/// 物料. Saveable (the `materials` flow creates them); seeded SKU-0001..SKU-0060 (base unit
/// Pcs). `FErpClsID` and `FBaseUnitId` live in the sub-header `SubHeadEntity` (基本).
pub static BD_MATERIAL: Form = Form {
    id: "BD_MATERIAL",
    pk: "FMATERIALID",
    identity: "FNumber",
    auto_number: "MAT",
    name_field: "FName",
    head: &[
        &[
            opt("FNumber", "编码", Text),
            req("FName", "名称", Text),
            opt("FSpecification", "规格型号", Value),
            opt("FMnemonicCode", "助记码", Value),
            opt("FOldNumber", "旧物料编码", Value),
            opt("FDescription", "描述", Value),
            opt("FMaterialGroup", "物料分组", Value),
            opt("FImgStorageType", "图片存储类型", Value),
        ],
        ORG_SCOPED,
        BASE_SYSTEM,
    ],
    sub_heads: &[SubHead {
        key: "SubHeadEntity",
        fields: &[
            req(
                "FErpClsID",
                "物料属性",
                Choice(&["1", "2", "3", "4", "5", "6", "7", "9", "10", "11", "12"]),
            ),
            req("FBaseUnitId", "基本单位", Ref("BD_UNIT")),
            opt("FCategoryID", "存货类别", Value),
            opt("FTaxType", "税分类", Value),
            opt("FTaxRateId", "默认税率", Value),
            opt("FBARCODE", "条码", Value),
            opt("FIsPurchase", "允许采购", Value),
            opt("FIsInventory", "允许库存", Value),
            opt("FIsSale", "允许销售", Value),
            opt("FIsSubContract", "允许委外", Value),
            opt("FIsProduce", "允许生产", Value),
            opt("FIsAsset", "允许资产", Value),
            opt("FGROSSWEIGHT", "毛重", Number),
            opt("FNETWEIGHT", "净重", Number),
            opt("FWEIGHTUNITID", "重量单位", Value),
            opt("FVOLUMEUNITID", "尺寸单位", Value),
        ],
    }],
    entries: &[],
    one_of: &[],
    seed: Seed::Numbered {
        prefix: "SKU-",
        name_prefix: "商品",
        width: 4,
        count: 60,
    },
};

/// 仓库. Minimal model: shared/protocols/kingdee.md §6.1.
pub static BD_STOCK: Form = Form {
    id: "BD_STOCK",
    pk: "FStockId",
    identity: "FNumber",
    auto_number: "SIM",
    name_field: "FName",
    head: &[
        &[
            req("FNumber", "编码", Text),
            req("FName", "名称", Text),
            opt("FDescription", "描述", Value),
            opt("FStockProperty", "仓库属性", Value),
            opt("FStockStatusType", "库存状态类型", Value),
            opt("FDefReceiveStatusId", "默认收货状态", Ref("BD_STOCKSTATUS")),
            opt("FDefStockStatusId", "默认库存状态", Ref("BD_STOCKSTATUS")),
            opt("FAllowMinusQty", "允许即时库存出现负数", Value),
            opt("FIsOpenLocation", "启用仓位管理", Value),
            opt("FAllowLock", "允许锁库", Value),
            opt("FAllowMRPPlan", "参与MRP计算", Value),
            opt("FAllowATPCheck", "参与可用量检查", Value),
            opt("FAddress", "仓库地址", Value),
            opt("FPrincipal", "仓库负责人", Value),
            opt("FTel", "电话", Value),
            opt("FGroup", "仓库分组", Value),
        ],
        ORG_SCOPED,
        BASE_SYSTEM,
    ],
    sub_heads: &[],
    entries: &[],
    one_of: &[],
    seed: Seed::Rows(&[
        ("CK001", "主仓"),
        ("CK002", "销退仓"),
        ("CK003", "进货仓"),
        ("CK004", "次品仓"),
    ]),
};

/// 客户.
pub static BD_CUSTOMER: Form = Form {
    id: "BD_CUSTOMER",
    pk: "FCUSTID",
    identity: "FNumber",
    auto_number: "CUST",
    name_field: "FName",
    head: &[
        &[
            opt("FNumber", "编码", Text),
            req("FName", "客户名称", Text),
            opt("FShortName", "简称", Value),
            opt("FCustTypeId", "客户类别", Value),
            opt("FGroup", "客户分组", Value),
            opt("FTEL", "联系电话", Value),
            opt("FADDRESS", "通讯地址", Value),
            opt("FCOUNTRY", "国家", Value),
            opt("FTRADINGCURRID", "结算币别", Ref("BD_CURRENCY")),
            opt("FSELLER", "销售员", Ref("BD_SALEMAN")),
            opt("FINVOICETITLE", "发票抬头", Value),
            opt("FTAXREGISTERCODE", "纳税登记号", Value),
            opt("FDescription", "描述", Value),
        ],
        ORG_SCOPED,
        BASE_SYSTEM,
    ],
    sub_heads: &[],
    entries: &[],
    one_of: &[],
    seed: Seed::Rows(&[
        ("CUST000", "零售客户"),
        ("CUST001", "线下门店-北京"),
        ("CUST002", "线下门店-上海"),
        ("CUST003", "线下门店-广州"),
    ]),
};

/// 币别.
pub static BD_CURRENCY: Form = Form {
    id: "BD_CURRENCY",
    pk: "FCURRENCYID",
    identity: "FNumber",
    auto_number: "PRE",
    name_field: "FName",
    head: &[
        &[
            opt("FNumber", "编码", Text),
            req("FName", "名称", Text),
            opt("FCODE", "货币代码", Value),
            opt("FPRICEDIGITS", "单价精度", Value),
            opt("FAMOUNTDIGITS", "金额精度", Value),
            opt("FDescription", "描述", Value),
        ],
        ORG_DEFAULTED,
        BASE_SYSTEM,
    ],
    sub_heads: &[],
    entries: &[],
    one_of: &[],
    seed: Seed::Rows(&[("PRE001", "人民币")]),
};

/// 单据类型.
pub static BOS_BILLTYPE: Form = Form {
    id: "BOS_BILLTYPE",
    pk: "FBILLTYPEID",
    identity: "FNumber",
    auto_number: "BT",
    name_field: "FName",
    head: &[
        &[
            opt("FNumber", "编码", Text),
            req("FName", "名称", Text),
            opt("FBillFormID", "单据", Value),
            opt("FIsDefault", "默认", Value),
            opt("FDescription", "描述", Value),
        ],
        ORG_DEFAULTED,
        BASE_SYSTEM,
    ],
    sub_heads: &[],
    entries: &[],
    one_of: &[],
    seed: Seed::BillTypes(&[
        ("XSTHD01_SYS", "标准销售退货单", "SAL_RETURNSTOCK"),
        ("XSCKD01_SYS", "标准销售出库单", "SAL_OUTSTOCK"),
        ("RKD01_SYS", "标准采购入库单", "STK_InStock"),
        ("TLD01_SYS", "标准采购退料单", "PUR_MRB"),
        ("QTCKD01_SYS", "标准其他出库单", "STK_MisDelivery"),
        ("QTRKD01_SYS", "标准其他入库单", "STK_MISCELLANEOUS"),
        ("ZJDB01_SYS", "标准直接调拨单", "STK_TransferDirect"),
    ]),
};

/// 辅助资料 (values of assistant data such as 退货类型). Its name field is `FDataValue`.
pub static BOS_ASSISTANTDATA_DETAIL: Form = Form {
    id: "BOS_ASSISTANTDATA_DETAIL",
    pk: "FEntryID",
    identity: "FNumber",
    auto_number: "AD",
    name_field: "FDataValue",
    head: &[
        &[
            opt("FNumber", "编码", Text),
            req("FDataValue", "数据值", Text),
            opt("FId", "类别", Value),
            opt("FDescription", "描述", Value),
        ],
        ORG_DEFAULTED,
        BASE_SYSTEM,
    ],
    sub_heads: &[],
    entries: &[],
    one_of: &[],
    seed: Seed::Rows(&[("THLX01_SYS", "退货")]),
};

/// 库存状态.
pub static BD_STOCKSTATUS: Form = Form {
    id: "BD_STOCKSTATUS",
    pk: "FStockStatusId",
    identity: "FNumber",
    auto_number: "KCZT",
    name_field: "FName",
    head: &[
        &[
            opt("FNumber", "编码", Text),
            req("FName", "名称", Text),
            opt("FType", "类型", Value),
            opt("FDescription", "描述", Value),
        ],
        ORG_DEFAULTED,
        BASE_SYSTEM,
    ],
    sub_heads: &[],
    entries: &[],
    one_of: &[],
    seed: Seed::Rows(&[("KCZT01_SYS", "可用"), ("KCZT02_SYS", "待检")]),
};

/// 销售员.
pub static BD_SALEMAN: Form = Form {
    id: "BD_SALEMAN",
    pk: "FID",
    identity: "FNumber",
    auto_number: "XSY",
    name_field: "FName",
    head: &[
        &[
            opt("FNumber", "编码", Text),
            req("FName", "名称", Text),
            opt("FStaffId", "员工", Value),
            opt("FDeptId", "部门", Value),
            opt("FBizOrgId", "业务组织", Ref("ORG_ORGANIZATIONS")),
            opt("FDescription", "描述", Value),
        ],
        ORG_DEFAULTED,
        BASE_SYSTEM,
    ],
    sub_heads: &[],
    entries: &[],
    one_of: &[],
    seed: Seed::Rows(&[("XSY001", "销售员一")]),
};

/// 计量单位.
pub static BD_UNIT: Form = Form {
    id: "BD_UNIT",
    pk: "FUNITID",
    identity: "FNumber",
    auto_number: "UNIT",
    name_field: "FName",
    head: &[
        &[
            opt("FNumber", "编码", Text),
            req("FName", "名称", Text),
            opt("FUnitGroupId", "所属组别", Value),
            opt("FPrecision", "精度", Value),
            opt("FDescription", "描述", Value),
        ],
        ORG_DEFAULTED,
        BASE_SYSTEM,
    ],
    sub_heads: &[],
    entries: &[],
    one_of: &[],
    seed: Seed::Rows(&[("Pcs", "个")]),
};
