//! The query APIs the simulator serves, as data: one [`ApiSpec`] per API (its name and path, the
//! document key, page default and cap, the id-list parameters, the status, type and date
//! filters) and, for in/out documents, the [`InOutShape`] its generator follows (id ranges,
//! status and type values with their weights, header and line fields). Adding a flow is adding a
//! table here. Sources and certainty: `src/template/NOTES-jushuitan.md`.

/// Every query API of the simulator except `shops.query` (which has no window and no key).
pub static APIS: &[&ApiSpec] = &[
    &OTHER_INOUT,
    &ORDERS_OUT,
    &AFTERSALE_RECEIVED,
    &PURCHASE_IN,
    &PURCHASE_OUT,
    &ALLOCATE,
    &SKUS,
];

/// The API served at `path`.
pub fn by_path(path: &str) -> Option<&'static ApiSpec> {
    APIS.iter().copied().find(|a| a.path == path)
}

/// The API called `name` (`orders.out.simple.query`).
pub fn by_name(name: &str) -> Option<&'static ApiSpec> {
    APIS.iter().copied().find(|a| a.name == name)
}

/// What a query API accepts.
pub struct ApiSpec {
    pub name: &'static str,
    pub path: &'static str,
    /// The document key (`io_id`, or `sku_id` for SKUs).
    pub key: &'static str,
    pub page_default: i64,
    pub page_max: i64,
    /// Id-list parameters: with one of them the time window may be left out.
    pub ids: &'static [IdParam],
    /// The status filter: parameter name and whether it takes a list.
    pub status: Option<Filter>,
    /// Statuses returned when the status filter is not given (empty: all).
    pub default_statuses: &'static [&'static str],
    /// The type filter on the document field `type`.
    pub types: Option<Filter>,
    /// Equality filters: (parameter, document field), e.g. `shop_id`.
    pub equal: &'static [(&'static str, &'static str)],
    /// Which time field the window applies to: the parameter (`date_type`, `date_field`) and
    /// its values with the field each selects; the first one is the default.
    pub date: (&'static str, &'static [(&'static str, &'static str)]),
    pub family: Family,
}

/// A list of ids that may replace the time window.
pub struct IdParam {
    pub param: &'static str,
    pub field: &'static str,
    pub max: usize,
    /// Integers only (`io_ids`).
    pub numeric: bool,
    /// Sent as one comma-separated string (`sku.query`'s `sku_ids`).
    pub csv: bool,
}

/// A status or type filter.
pub struct Filter {
    pub param: &'static str,
    pub many: bool,
}

/// How the documents of an API are generated.
pub enum Family {
    InOut(&'static InOutShape),
    Skus,
}

/// The shape of in/out-like documents (a header with lines).
pub struct InOutShape {
    /// Salt of the generator (each API has its own random stream).
    pub salt: u64,
    pub first_io_id: i64,
    pub first_ioi_id: i64,
    /// Status values and their weights.
    pub statuses: &'static [(&'static str, f64)],
    /// The status of an earlier version of a document with this status.
    pub earlier: &'static [(&'static str, &'static str)],
    /// The field carrying the document type and its values with their weights (empty: none).
    pub type_field: &'static str,
    pub types: &'static [(&'static str, f64)],
    /// Header fields beyond the common ones (io_id, io_date, status, so_id, warehouse, wh_id,
    /// wms_co_id, modified, created, remark, creator_name, items, batchs, sns).
    pub head: &'static [(&'static str, Head)],
    /// Line fields beyond the common ones (ioi_id, io_id, sku_id, i_id, name, unit,
    /// properties_value, qty).
    pub line: &'static [(&'static str, Line)],
    /// The line field naming the batch (`batch_id` or `batch_no`).
    pub line_batch: &'static str,
    /// `ioi_id` is typed string in the documentation (written as text in string-shaped
    /// documents).
    pub ioi_text: bool,
}

/// How a header field's value is made.
#[derive(Clone, Copy)]
pub enum Head {
    Text(&'static str),
    Int(i64),
    Bool(bool),
    /// The same number as the document's wh_id shape would write it (number or text).
    IntShaped(i64),
    OneOf(&'static [&'static str]),
    Person,
    ShopId,
    ShopName,
    SupplierId,
    SupplierName,
    /// The internal order number (`o_id`).
    OrderId,
    /// The after-sale number (`as_id`).
    AfterSaleId,
    /// The purchase order number (`po_id`).
    PurchaseId,
    /// The other warehouse of a transfer, its number and its document.
    LinkWarehouse,
    LinkWhId,
    LinkIoId,
    Logistics,
    LogisticsNo,
    LogisticsCode,
    /// The sum of the lines' sale amounts.
    SaleTotal,
    /// A tax rate (13, 9, 6 or 0).
    TaxRate,
    /// Labels as a list of text.
    LabelList,
}

/// How a line field's value is made.
#[derive(Clone, Copy)]
pub enum Line {
    CostPrice,
    CostAmount,
    SalePrice,
    SaleAmount,
    SaleBasePrice,
    Remark,
    TaxRate,
    IsGift,
    /// The order line number (`oi_id`, text).
    OrderLine,
    /// The counted quantity (`r_qty`).
    Counted,
    Pic,
    Int(i64),
}

const STATUS_SINGLE: Option<Filter> = Some(Filter {
    param: "status",
    many: false,
});
const BY_MODIFIED_OR_IO_DATE: (&str, &[(&str, &str)]) =
    ("date_type", &[("0", "modified"), ("2", "io_date")]);

const fn ids(param: &'static str, field: &'static str, max: usize, numeric: bool) -> IdParam {
    IdParam {
        param,
        field,
        max,
        numeric,
        csv: false,
    }
}

/// 其它出入库查询 (the seed API; its world is generated by `world`, not by this shape).
pub static OTHER_INOUT: ApiSpec = ApiSpec {
    name: "other.inout.query",
    path: "/open/other/inout/query",
    key: "io_id",
    page_default: 30,
    page_max: 50,
    ids: &[
        ids("so_ids", "so_id", 50, false),
        ids("io_ids", "io_id", 50, true),
    ],
    status: STATUS_SINGLE,
    default_statuses: &[],
    types: Some(Filter {
        param: "types",
        many: true,
    }),
    equal: &[("wms_co_id", "wms_co_id")],
    date: BY_MODIFIED_OR_IO_DATE,
    family: Family::InOut(&OTHER_INOUT_SHAPE),
};

/// Only for the tables' completeness: other.inout.query documents come from `world`.
static OTHER_INOUT_SHAPE: InOutShape = InOutShape {
    salt: 0,
    first_io_id: super::world::FIRST_IO_ID,
    first_ioi_id: super::world::FIRST_IOI_ID,
    statuses: &[],
    earlier: &[],
    type_field: "type",
    types: &[],
    head: &[],
    line: &[],
    line_batch: "batch_id",
    ioi_text: false,
};

/// 销售出库查询.
pub static ORDERS_OUT: ApiSpec = ApiSpec {
    name: "orders.out.simple.query",
    path: "/open/orders/out/simple/query",
    key: "io_id",
    page_default: 30,
    page_max: 50,
    ids: &[
        ids("so_ids", "so_id", 50, false),
        ids("o_ids", "o_id", 50, true),
        ids("io_ids", "io_id", 50, true),
        ids("l_ids", "l_id", 20, false),
    ],
    status: STATUS_SINGLE,
    default_statuses: &[],
    types: None,
    equal: &[("shop_id", "shop_id"), ("wms_co_id", "wms_co_id")],
    date: BY_MODIFIED_OR_IO_DATE,
    family: Family::InOut(&InOutShape {
        salt: 0x0A11_0001,
        first_io_id: 2_000_001,
        first_ioi_id: 12_000_001,
        statuses: &[
            ("Confirmed", 0.86),
            ("WaitConfirm", 0.06),
            ("Delete", 0.03),
            ("Cancelled", 0.03),
            ("OuterConfirming", 0.02),
        ],
        earlier: &[("Confirmed", "WaitConfirm"), ("Cancelled", "Confirmed")],
        type_field: "order_type",
        types: &[
            ("普通订单", 0.85),
            ("补发订单", 0.06),
            ("换货订单", 0.05),
            ("分销Plus", 0.04),
        ],
        head: &[
            ("co_id", Head::Int(12252)),
            ("shop_id", Head::ShopId),
            ("shop_name", Head::ShopName),
            ("o_id", Head::OrderId),
            (
                "shop_buyer_id",
                Head::OneOf(&["tb_小王", "jd_李女士", "dy_阿杰", "线下客户"]),
            ),
            (
                "receiver_state",
                Head::OneOf(&["浙江省", "广东省", "北京", "上海"]),
            ),
            (
                "receiver_city",
                Head::OneOf(&["杭州市", "广州市", "北京市", "上海市"]),
            ),
            ("receiver_name", Head::Person),
            ("pay_amount", Head::SaleTotal),
            ("paid_amount", Head::SaleTotal),
            ("freight", Head::IntShaped(0)),
            ("l_id", Head::LogisticsNo),
            ("lc_id", Head::LogisticsCode),
            ("logistics_company", Head::Logistics),
            ("labels", Head::Text("")),
            ("is_cod", Head::Bool(false)),
        ],
        line: &[
            ("sale_price", Line::SalePrice),
            ("sale_amount", Line::SaleAmount),
            ("sale_base_price", Line::SaleBasePrice),
            ("is_gift", Line::IsGift),
            ("oi_id", Line::OrderLine),
            ("pic", Line::Pic),
        ],
        line_batch: "batch_id",
        ioi_text: false,
    }),
};

/// 实际收货查询 (after-sale returns received into a warehouse, 销售退仓).
pub static AFTERSALE_RECEIVED: ApiSpec = ApiSpec {
    name: "aftersale.received.query",
    path: "/open/aftersale/received/query",
    key: "io_id",
    page_default: 30,
    page_max: 50,
    ids: &[
        ids("so_ids", "so_id", 50, false),
        ids("o_ids", "o_id", 50, true),
        ids("as_ids", "as_id", 50, true),
        ids("io_ids", "io_id", 50, true),
    ],
    status: None,
    default_statuses: &[],
    types: None,
    equal: &[("shop_id", "shop_id")],
    date: (
        "date_type",
        &[("0", "modified"), ("1", "created"), ("4", "io_date")],
    ),
    family: Family::InOut(&InOutShape {
        salt: 0x0A11_0002,
        first_io_id: 3_000_001,
        first_ioi_id: 13_000_001,
        statuses: &[
            ("Confirmed", 0.88),
            ("WaitConfirm", 0.06),
            ("Cancelled", 0.04),
            ("Merged", 0.02),
        ],
        earlier: &[("Confirmed", "WaitConfirm"), ("Cancelled", "Confirmed")],
        type_field: "type",
        types: &[
            ("普通退货", 0.75),
            ("拒收退货", 0.12),
            ("换货", 0.08),
            ("其它", 0.05),
        ],
        head: &[
            ("as_id", Head::AfterSaleId),
            ("o_id", Head::OrderId),
            ("shop_id", Head::ShopId),
            ("creator", Head::Int(10001)),
            (
                "aftersale_remark",
                Head::OneOf(&["", "七天无理由", "尺码不合适", "质量问题"]),
            ),
            ("l_id", Head::LogisticsNo),
            ("lc_id", Head::LogisticsCode),
            ("logistics_company", Head::Logistics),
            ("drp_co_name", Head::Text("")),
        ],
        line: &[
            ("sale_price", Line::SalePrice),
            ("sale_amount", Line::SaleAmount),
        ],
        line_batch: "batch_id",
        ioi_text: true,
    }),
};

/// 采购入库查询.
pub static PURCHASE_IN: ApiSpec = ApiSpec {
    name: "purchasein.query",
    path: "/open/purchasein/query",
    key: "io_id",
    page_default: 30,
    page_max: 50,
    ids: &[
        ids("po_ids", "po_id", 30, true),
        ids("io_ids", "io_id", 30, true),
        ids("so_ids", "so_id", 50, false),
    ],
    status: Some(Filter {
        param: "statuss",
        many: true,
    }),
    default_statuses: &["Confirmed"],
    types: None,
    equal: &[],
    date: BY_MODIFIED_OR_IO_DATE,
    family: Family::InOut(&InOutShape {
        salt: 0x0A11_0003,
        first_io_id: 4_000_001,
        first_ioi_id: 14_000_001,
        statuses: &[
            ("Confirmed", 0.85),
            ("WaitConfirm", 0.07),
            ("Cancelled", 0.03),
            ("Archive", 0.03),
            ("OuterConfirming", 0.02),
        ],
        earlier: &[
            ("Confirmed", "WaitConfirm"),
            ("Archive", "Confirmed"),
            ("Cancelled", "WaitConfirm"),
        ],
        type_field: "type",
        types: &[("采购进仓", 1.0)],
        head: &[
            ("po_id", Head::PurchaseId),
            ("supplier_id", Head::SupplierId),
            ("supplier_name", Head::SupplierName),
            ("out_io_id", Head::Text("")),
            ("tax_rate", Head::TaxRate),
            ("labels", Head::Text("")),
            ("merge_so_id", Head::Text("")),
            ("archived", Head::Text("")),
            ("l_id", Head::LogisticsNo),
            ("f_status", Head::OneOf(&["WaitConfirm", "Confirmed"])),
            ("lock_wh_id", Head::Int(0)),
            ("lock_wh_name", Head::Text("")),
        ],
        line: &[
            ("cost_price", Line::CostPrice),
            ("cost_amount", Line::CostAmount),
            ("tax_rate", Line::TaxRate),
            ("remark", Line::Remark),
        ],
        line_batch: "batch_no",
        ioi_text: false,
    }),
};

/// 采购退货查询.
pub static PURCHASE_OUT: ApiSpec = ApiSpec {
    name: "purchaseout.query",
    path: "/open/purchaseout/query",
    key: "io_id",
    page_default: 30,
    page_max: 50,
    ids: &[
        ids("so_ids", "so_id", 50, false),
        ids("io_ids", "io_id", 30, true),
    ],
    status: STATUS_SINGLE,
    default_statuses: &[],
    types: None,
    equal: &[],
    date: BY_MODIFIED_OR_IO_DATE,
    family: Family::InOut(&InOutShape {
        salt: 0x0A11_0004,
        first_io_id: 5_000_001,
        first_ioi_id: 15_000_001,
        statuses: &[
            ("Confirmed", 0.84),
            ("WaitConfirm", 0.06),
            ("Creating", 0.04),
            ("Cancelled", 0.03),
            ("Delete", 0.02),
            ("OuterConfirming", 0.01),
        ],
        earlier: &[("Confirmed", "WaitConfirm"), ("WaitConfirm", "Creating")],
        type_field: "",
        types: &[],
        head: &[
            ("po_id", Head::PurchaseId),
            ("seller_id", Head::SupplierId),
            ("receiver_name", Head::SupplierName),
            ("f_status", Head::OneOf(&["WaitConfirm", "Confirmed"])),
            ("labels", Head::Text("")),
            ("logistics_company", Head::Logistics),
            ("lc_id", Head::LogisticsCode),
            ("l_id", Head::LogisticsNo),
            ("archived", Head::Text("")),
            ("out_io_id", Head::Text("")),
            ("lock_wh_id", Head::Int(0)),
            ("lock_wh_name", Head::Text("")),
        ],
        line: &[
            ("cost_price", Line::CostPrice),
            ("cost_amount", Line::CostAmount),
            ("tax_rate", Line::TaxRate),
            ("remark", Line::Remark),
            ("co_id", Line::Int(12252)),
        ],
        line_batch: "batch_no",
        ioi_text: false,
    }),
};

/// 调拨单查询.
pub static ALLOCATE: ApiSpec = ApiSpec {
    name: "allocate.query",
    path: "/open/allocate/query",
    key: "io_id",
    page_default: 30,
    page_max: 50,
    ids: &[
        ids("so_ids", "so_id", 50, false),
        ids("io_ids", "io_id", 50, true),
    ],
    status: None,
    default_statuses: &[],
    types: Some(Filter {
        param: "type",
        many: false,
    }),
    equal: &[],
    date: BY_MODIFIED_OR_IO_DATE,
    family: Family::InOut(&InOutShape {
        salt: 0x0A11_0005,
        first_io_id: 6_000_001,
        first_ioi_id: 16_000_001,
        statuses: &[
            ("Confirmed", 0.84),
            ("Creating", 0.06),
            ("Confirming", 0.03),
            ("Picking", 0.03),
            ("Cancelled", 0.03),
            ("OuterConfirming", 0.01),
        ],
        earlier: &[("Confirmed", "Creating"), ("Cancelled", "Creating")],
        type_field: "type",
        types: &[("调拨出", 0.5), ("调拨入", 0.5)],
        head: &[
            ("co_id", Head::Int(12252)),
            ("link_warehouse", Head::LinkWarehouse),
            ("link_wh_id", Head::LinkWhId),
            ("link_wms_co_id", Head::Int(0)),
            ("link_io_id", Head::LinkIoId),
            ("f_status", Head::OneOf(&["WaitConfirm", "Confirmed"])),
            ("labels", Head::LabelList),
            ("lock_wh_id", Head::Text("")),
            ("lock_link_wh_id", Head::Text("")),
            ("out_io_id", Head::Text("")),
        ],
        line: &[("r_qty", Line::Counted)],
        line_batch: "batch_id",
        ioi_text: false,
    }),
};

/// 普通商品资料查询 (SKUs).
pub static SKUS: ApiSpec = ApiSpec {
    name: "sku.query",
    path: "/open/sku/query",
    key: "sku_id",
    page_default: 30,
    page_max: 50,
    ids: &[
        IdParam {
            param: "sku_ids",
            field: "sku_id",
            max: 20,
            numeric: false,
            csv: true,
        },
        ids("i_ids", "i_id", 20, false),
        ids("exactly_name", "name", 1, false),
    ],
    status: None,
    default_statuses: &[],
    types: None,
    equal: &[],
    date: (
        "date_field",
        &[("modified", "modified"), ("created", "created")],
    ),
    family: Family::Skus,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_paths_and_weights_agree() {
        let mut paths = std::collections::BTreeSet::new();
        for a in APIS {
            assert_eq!(a.path, format!("/open/{}", a.name.replace('.', "/")));
            assert!(paths.insert(a.path), "{} twice", a.path);
            assert!(a.page_default <= a.page_max);
            assert!(by_name(a.name).is_some() && by_path(a.path).is_some());
            let cap = crate::config::DEFAULT_CAPS
                .iter()
                .find(|(n, _)| *n == a.name);
            assert_eq!(
                cap.map(|(_, c)| i64::from(*c)),
                Some(a.page_max),
                "the client's built-in page cap of {} is the simulator's",
                a.name
            );
            if let Family::InOut(s) = a.family {
                if a.name != "other.inout.query" {
                    let total: f64 = s.statuses.iter().map(|(_, w)| w).sum();
                    assert!((total - 1.0).abs() < 1e-9, "{}: {total}", a.name);
                    assert!(s.statuses[0].0 == "Confirmed");
                }
            }
        }
    }
}
