//! 销售出库单 (`SAL_OUTSTOCK`). Sources and certainty: `src/template/NOTES-kingdee.md`.
//! Required as real servers report them: `字段“客户”是必填项` (FieldName `FCustomerID`) and
//! `单据体实体【明细信息】第【1】行分录，【仓库】字段必录` (FieldName `FStockID`) were observed on
//! this form.

use super::bills::BILL_SYSTEM;
use super::Spec::{Choice, Date, Number, PositiveQty, Ref, Text, Value};
use super::{opt, req, Entry, Form, Seed, SubHead};

/// Owner types a 货主类型 field takes.
pub(super) const OWNER_TYPES: &[&str] = &["BD_OwnerOrg", "BD_Supplier", "BD_Customer"];
/// Keeper types a 保管者类型 field takes.
pub(super) const KEEPER_TYPES: &[&str] = &["BD_KeeperOrg", "BD_Supplier", "BD_Customer"];

/// 销售出库单.
pub static SAL_OUTSTOCK: Form = Form {
    id: "SAL_OUTSTOCK",
    pk: "FID",
    identity: "FBillNo",
    auto_number: "XSCKD",
    name_field: "",
    head: &[
        &[
            opt("FBillNo", "单据编号", Text),
            req("FBillTypeID", "单据类型", Ref("BOS_BILLTYPE")),
            req("FDate", "日期", Date),
            req("FSaleOrgId", "销售组织", Ref("ORG_ORGANIZATIONS")),
            req("FStockOrgId", "发货组织", Ref("ORG_ORGANIZATIONS")),
            req("FCustomerID", "客户", Ref("BD_CUSTOMER")),
            opt("FReceiverID", "收货方", Ref("BD_CUSTOMER")),
            opt("FSettleID", "结算方", Ref("BD_CUSTOMER")),
            opt("FPayerID", "付款方", Ref("BD_CUSTOMER")),
            opt("FDeliveryDeptID", "发货部门", Ref("BD_Department")),
            opt("FSaleDeptID", "销售部门", Ref("BD_Department")),
            opt("FSalesGroupID", "销售组", Value),
            opt("FSalesManID", "销售员", Ref("BD_SALEMAN")),
            opt("FStockerGroupID", "库存组", Value),
            opt("FStockerID", "仓管员", Value),
            opt("FCarrierID", "承运商", Value),
            opt("FCarriageNO", "运输单号", Value),
            opt("FLinkMan", "收货人姓名", Value),
            opt("FLinkPhone", "联系电话", Value),
            opt("FReceiveAddress", "收货人地址", Value),
            opt("FOwnerTypeIdHead", "货主类型", Choice(OWNER_TYPES)),
            opt("FOwnerIdHead", "货主", Ref("ORG_ORGANIZATIONS")),
            opt("FTransferBizType", "跨组织业务类型", Value),
            opt("FBussinessType", "业务类型", Value),
            opt("FIsTotalServiceOrCost", "整单服务或费用", Value),
            opt("FNote", "备注", Value),
        ],
        BILL_SYSTEM,
    ],
    sub_heads: &[SubHead {
        key: "SubHeadEntity",
        fields: &[
            req("FSettleCurrID", "结算币别", Ref("BD_CURRENCY")),
            req("FSettleOrgID", "结算组织", Ref("ORG_ORGANIZATIONS")),
            opt("FLocalCurrID", "本位币", Ref("BD_CURRENCY")),
            opt("FExchangeTypeID", "汇率类型", Value),
            opt("FExchangeRate", "汇率", Number),
            opt("FSettleTypeID", "结算方式", Value),
            opt("FReceiptConditionID", "收款条件", Value),
            opt("FPriceListId", "价目表", Value),
            opt("FIsIncludedTax", "是否含税", Value),
            opt("FIsPriceExcludeTax", "价外税", Value),
            opt("FBillAmount", "金额", Number),
            opt("FBillTaxAmount", "税额", Number),
            opt("FBillAllAmount", "价税合计", Number),
        ],
    }],
    entries: &[Entry {
        key: "FEntity",
        label: "明细信息",
        pk: "FEntryID",
        min_rows: 1,
        fields: &[
            opt("FRowType", "产品类型", Value),
            req("FMaterialID", "物料编码", Ref("BD_MATERIAL")),
            opt("FMaterialName", "物料名称", Value),
            opt("FUnitID", "库存单位", Ref("BD_UNIT")),
            req("FRealQty", "实发数量", PositiveQty),
            opt("FMustQty", "应发数量", Number),
            opt("FPrice", "单价", Number),
            opt("FTaxPrice", "含税单价", Number),
            opt("FEntryTaxRate", "税率%", Number),
            opt("FDiscountRate", "折扣率%", Number),
            opt("FDiscount", "折扣额", Number),
            opt("FAmount", "金额", Number),
            opt("FAllAmount", "价税合计", Number),
            opt("FIsFree", "是否赠品", Value),
            req("FStockID", "仓库", Ref("BD_STOCK")),
            opt("FStockLocID", "仓位", Value),
            opt("FStockStatusID", "库存状态", Ref("BD_STOCKSTATUS")),
            opt("FOwnerTypeID", "货主类型", Choice(OWNER_TYPES)),
            opt("FOwnerID", "货主", Ref("ORG_ORGANIZATIONS")),
            opt("FKeeperTypeID", "保管者类型", Choice(KEEPER_TYPES)),
            opt("FKeeperID", "保管者", Ref("ORG_ORGANIZATIONS")),
            opt("FLot", "批号", Value),
            opt("FProduceDate", "生产日期", Value),
            opt("FExpiryDate", "有效期至", Value),
            opt("FMtoNo", "计划跟踪号", Value),
            opt("FSalUnitID", "销售单位", Ref("BD_UNIT")),
            opt("FSALUNITQTY", "销售数量", Number),
            opt("FSALBASEQTY", "销售基本数量", Number),
            opt("FPriceUnitId", "计价单位", Ref("BD_UNIT")),
            opt("FPRICEBASEQTY", "计价基本数量", Number),
            opt("FEntrynote", "备注", Value),
            opt("FSrcType", "源单类型", Value),
            opt("FSrcBillNo", "源单编号", Value),
            opt("FSoorDerno", "订单单号", Value),
            opt("FOUTCONTROL", "控制出库数量", Value),
            opt("FCheckDelivery", "检验出库", Value),
        ],
    }],
    one_of: &[],
    seed: Seed::None,
};
