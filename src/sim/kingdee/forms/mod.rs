//! What the simulator knows about forms, as data: one [`Form`] table per form id (primary key,
//! identity field, header fields, sub-headers, entries with their entry names, required fields,
//! base-data references, seeded rows). A form without a table does not exist: Save, BatchSave,
//! View and queries answer MsgCode 4 `标识为“X”的业务对象不存在，或者被删除。` as Kingdee does.
//!
//! Adding a form is adding a table to one of the table files (`bills.rs` and `sales.rs` for sales,
//! `purchase.rs`, `stock.rs`; `base_data.rs` and `parties.rs` for base data) and listing it in
//! [`FORMS`]. What each table says and where it comes from: `src/template/NOTES-kingdee.md`.
//!
//! Query field keys ([`Form::column`]) follow what real servers accept: a field key of the
//! header, a sub-header or an entry (`FMaterialId`), the header primary key (`FID`,
//! `FStockId`), `FDocumentStatus`, an entry's own key and sequence (`FEntity_FEntryID`,
//! `FEntity_FSeq`), and a field of referenced base data (`FMaterialId.FNumber`,
//! `FStockId.FName`). Anything else is MsgCode 9 `元数据中标识为X的字段不存在`.
//!
//! Form ids and field keys ignore ASCII case. Real clients send `FTAXPRICE`, `FSTOCKID.FNUMBER`,
//! `FCUSTID` next to `FTaxPrice` and report them working, while one guide lists "wrong case" among
//! the causes of MsgCode 9; where sources disagree the simulator is tolerant.

mod base_data;
mod bills;
mod parties;
mod purchase;
mod sales;
mod stock;

/// What a field holds, as far as Save validation cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spec {
    /// A base-data reference `{"FNumber": "..."}` into the named form.
    Ref(&'static str),
    /// Non-empty text.
    Text,
    /// `yyyy-MM-dd[ HH:mm:ss]`.
    Date,
    /// A number above zero.
    PositiveQty,
    /// A number (price, rate, amount); empty text counts as absent.
    Number,
    /// One of these values of a combo field (`GENERAL`, `BD_OwnerOrg`), ASCII case ignored.
    Choice(&'static [&'static str]),
    /// Anything (not validated).
    Value,
}

/// One field of a form.
#[derive(Debug)]
pub struct Field {
    pub key: &'static str,
    /// The Chinese caption Kingdee's messages name the field by.
    pub label: &'static str,
    pub spec: Spec,
    pub required: bool,
}

/// A required field.
pub const fn req(key: &'static str, label: &'static str, spec: Spec) -> Field {
    Field {
        key,
        label,
        spec,
        required: true,
    }
}

/// An optional field.
pub const fn opt(key: &'static str, label: &'static str, spec: Spec) -> Field {
    Field {
        key,
        label,
        spec,
        required: false,
    }
}

/// A sub-header: one object under the header (`"SubHeadEntity": {...}`).
#[derive(Debug)]
pub struct SubHead {
    pub key: &'static str,
    pub fields: &'static [Field],
}

/// An entry (单据体): an array of rows under the header (`"FEntity": [...]`).
#[derive(Debug)]
pub struct Entry {
    pub key: &'static str,
    /// Caption used in row messages: `单据体实体【明细信息】第【1】行分录，...`.
    pub label: &'static str,
    /// Primary key of a row (`FEntryID`), queried as `FEntity_FEntryID`.
    pub pk: &'static str,
    /// A package with fewer rows is refused.
    pub min_rows: usize,
    pub fields: &'static [Field],
}

/// Rows the simulator starts with.
#[derive(Debug)]
pub enum Seed {
    None,
    /// (number, name) pairs.
    Rows(&'static [(&'static str, &'static str)]),
    /// (number, name, form) rows of bill types: a bill type belongs to one form
    /// (`FBillFormID`), and a bill of another form cannot use it.
    BillTypes(&'static [(&'static str, &'static str, &'static str)]),
    /// `count` rows numbered `{prefix}{n:0width$}`, named `{name_prefix}{n:0width$}`.
    Numbered {
        prefix: &'static str,
        name_prefix: &'static str,
        width: usize,
        count: usize,
    },
}

/// A seeded row: number, name, extra header fields (`FBillFormID` of a bill type).
pub type SeedRow = (String, String, Vec<(&'static str, String)>);

/// A form the simulator knows.
#[derive(Debug)]
pub struct Form {
    /// Form id (`SAL_RETURNSTOCK`).
    pub id: &'static str,
    /// Header primary key (`FID`, `FStockId`): numeric, assigned on save.
    pub pk: &'static str,
    /// Identity field: `FBillNo` for bills, `FNumber` for base data. Unique.
    pub identity: &'static str,
    /// Prefix of the numbers the simulator assigns when a package has none.
    pub auto_number: &'static str,
    /// Field holding the name of seeded rows (`FName`; `FDataValue` for assistant data; empty
    /// for forms without seeds).
    pub name_field: &'static str,
    /// Header fields, in groups so tables can share common groups.
    pub head: &'static [&'static [Field]],
    pub sub_heads: &'static [SubHead],
    pub entries: &'static [Entry],
    /// Groups of header fields of which at least one must be filled (`FDeptId` or `FCustId`).
    pub one_of: &'static [&'static [&'static str]],
    pub seed: Seed,
}

/// Every form the simulator knows. Seeded in this order.
pub static FORMS: &[&Form] = &[
    &base_data::ORG_ORGANIZATIONS,
    &base_data::BD_MATERIAL,
    &base_data::BD_STOCK,
    &base_data::BD_CUSTOMER,
    &base_data::BD_CURRENCY,
    &base_data::BOS_BILLTYPE,
    &base_data::BOS_ASSISTANTDATA_DETAIL,
    &base_data::BD_STOCKSTATUS,
    &base_data::BD_SALEMAN,
    &base_data::BD_UNIT,
    &parties::BD_SUPPLIER,
    &parties::BD_DEPARTMENT,
    &bills::SAL_RETURNSTOCK,
    &sales::SAL_OUTSTOCK,
    &purchase::STK_INSTOCK,
    &purchase::PUR_MRB,
    &stock::STK_MISDELIVERY,
    &stock::STK_MISCELLANEOUS,
    &stock::STK_TRANSFERDIRECT,
];

/// The form with this id (ASCII case ignored).
pub fn find(id: &str) -> Option<&'static Form> {
    let id = id.trim();
    FORMS
        .iter()
        .copied()
        .find(|f| f.id.eq_ignore_ascii_case(id))
}

/// Kingdee's answer to a form id it does not know (MsgCode 4).
pub fn unknown_form_message(id: &str) -> String {
    format!("标识为“{id}”的业务对象不存在，或者被删除。")
}

/// Kingdee's answer to a field key it does not know (MsgCode 9).
pub fn unknown_field_message(key: &str) -> String {
    format!("元数据中标识为{key}的字段不存在")
}

/// Where a field lives in a model.
#[derive(Debug, Clone, Copy)]
pub enum Place {
    Head,
    SubHead(&'static SubHead),
    Entry(&'static Entry),
}

/// A resolved query field key.
#[derive(Debug, Clone)]
pub enum Column {
    /// The header primary key.
    Pk,
    /// `FDocumentStatus`.
    Status,
    /// `FEntity_FEntryID`.
    EntryPk(&'static Entry),
    /// `FEntity_FSeq`.
    EntrySeq(&'static Entry),
    /// A field of the model.
    Field(Place, &'static Field),
    /// `Ref.Key`: a column of the base data the reference field points to.
    Via(Place, &'static Field, &'static Form, Box<Column>),
}

impl Column {
    /// The entry whose rows this column reads, if any.
    pub fn entry(&self) -> Option<&'static Entry> {
        match self {
            Column::EntryPk(e) | Column::EntrySeq(e) => Some(e),
            Column::Field(Place::Entry(e), _) | Column::Via(Place::Entry(e), ..) => Some(e),
            _ => None,
        }
    }
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

impl Form {
    pub fn is_bill(&self) -> bool {
        self.identity.eq_ignore_ascii_case("FBillNo")
    }

    /// Header fields, all groups.
    pub fn head_fields(&self) -> impl Iterator<Item = &'static Field> {
        self.head.iter().flat_map(|g| g.iter())
    }

    /// A field of the header, a sub-header or an entry.
    pub fn field(&self, key: &str) -> Option<(Place, &'static Field)> {
        let key = key.trim();
        let same = |f: &&'static Field| f.key.eq_ignore_ascii_case(key);
        if let Some(f) = self.head_fields().find(same) {
            return Some((Place::Head, f));
        }
        for s in self.sub_heads {
            if let Some(f) = s.fields.iter().find(same) {
                return Some((Place::SubHead(s), f));
            }
        }
        for e in self.entries {
            if let Some(f) = e.fields.iter().find(same) {
                return Some((Place::Entry(e), f));
            }
        }
        None
    }

    /// Resolves a query field key; `Err` holds the key Kingdee names in its MsgCode 9 message.
    ///
    /// `X.Y` where `X` is not a reference names `X` (observed: `FDocumentStatus.FName` answers
    /// `元数据中标识为FDocumentStatus的字段不存在`); an unknown `Y` of a reference names `X.Y`
    /// (not observed: our choice).
    pub fn column(&self, key: &str) -> Result<Column, String> {
        let key = key.trim();
        if let Some((root, rest)) = key.split_once('.') {
            let Some((place, field)) = self.field(root) else {
                return Err(root.trim().to_string());
            };
            let Spec::Ref(target) = field.spec else {
                return Err(root.trim().to_string());
            };
            let target = find(target).ok_or_else(|| key.to_string())?;
            let inner = target.column(rest).map_err(|_| key.to_string())?;
            return Ok(Column::Via(place, field, target, Box::new(inner)));
        }
        if key.eq_ignore_ascii_case(self.pk) {
            return Ok(Column::Pk);
        }
        if key.eq_ignore_ascii_case("FDocumentStatus") {
            return Ok(Column::Status);
        }
        for e in self.entries {
            if let Some(sub) = strip_prefix_ci(key, e.key).and_then(|s| s.strip_prefix('_')) {
                if sub.eq_ignore_ascii_case(e.pk) {
                    return Ok(Column::EntryPk(e));
                }
                if sub.eq_ignore_ascii_case("FSeq") {
                    return Ok(Column::EntrySeq(e));
                }
            }
        }
        match self.field(key) {
            Some((place, field)) => Ok(Column::Field(place, field)),
            None => Err(key.to_string()),
        }
    }

    /// The rows this form starts with: (number, name).
    #[cfg(test)]
    pub fn seed_rows(&self) -> Vec<(String, String)> {
        self.seed_docs()
            .into_iter()
            .map(|(n, name, _)| (n, name))
            .collect()
    }

    /// The rows this form starts with: (number, name, extra fields).
    pub fn seed_docs(&self) -> Vec<SeedRow> {
        match &self.seed {
            Seed::None => Vec::new(),
            Seed::Rows(rows) => rows
                .iter()
                .map(|(n, name)| (n.to_string(), name.to_string(), Vec::new()))
                .collect(),
            Seed::BillTypes(rows) => rows
                .iter()
                .map(|(n, name, form)| {
                    (
                        n.to_string(),
                        name.to_string(),
                        vec![("FBillFormID", form.to_string())],
                    )
                })
                .collect(),
            Seed::Numbered {
                prefix,
                name_prefix,
                width,
                count,
            } => (1..=*count)
                .map(|i| {
                    (
                        format!("{prefix}{i:0width$}", width = *width),
                        format!("{name_prefix}{i:0width$}", width = *width),
                        Vec::new(),
                    )
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(form: &str, key: &str) -> Result<Column, String> {
        match find(form) {
            Some(f) => f.column(key),
            None => panic!("no form {form}"),
        }
    }

    #[test]
    fn tables_are_consistent() {
        let mut ids = std::collections::HashSet::new();
        for f in FORMS {
            assert!(ids.insert(f.id.to_ascii_uppercase()), "{} twice", f.id);
            assert!(
                f.field(f.identity).is_some(),
                "{}: identity {} is not a field",
                f.id,
                f.identity
            );
            assert!(f.field(f.pk).is_none(), "{}: pk listed as a field", f.id);
            if !matches!(f.seed, Seed::None) {
                assert!(f.field(f.name_field).is_some(), "{}: name field", f.id);
            }
            let mut keys = std::collections::HashSet::new();
            let all = f
                .head_fields()
                .chain(f.sub_heads.iter().flat_map(|s| s.fields.iter()))
                .chain(f.entries.iter().flat_map(|e| e.fields.iter()));
            for fd in all {
                assert!(
                    keys.insert(fd.key.to_ascii_uppercase()),
                    "{}: field {} twice",
                    f.id,
                    fd.key
                );
                if let Spec::Ref(t) = fd.spec {
                    assert!(
                        find(t).is_some(),
                        "{}.{} refers to unknown {t}",
                        f.id,
                        fd.key
                    );
                }
            }
            for group in f.one_of {
                assert!(group.len() > 1, "{}: one_of group of one", f.id);
                for k in *group {
                    assert!(
                        f.head_fields().any(|h| h.key == *k && !h.required),
                        "{}: one_of names {k}, not an optional header field",
                        f.id
                    );
                }
            }
            if let Seed::BillTypes(rows) = f.seed {
                for (n, _, form) in rows {
                    assert!(find(form).is_some(), "bill type {n} of unknown form {form}");
                }
            }
        }
    }

    #[test]
    fn field_keys() {
        assert!(matches!(col("SAL_RETURNSTOCK", "FID"), Ok(Column::Pk)));
        assert!(
            matches!(col("sal_returnstock", "fbillno"), Ok(Column::Field(Place::Head, f)) if f.key == "FBillNo")
        );
        assert!(matches!(
            col("SAL_RETURNSTOCK", "FSettleCurrId"),
            Ok(Column::Field(Place::SubHead(_), _))
        ));
        assert!(matches!(
            col("SAL_RETURNSTOCK", "FTAXPRICE"),
            Ok(Column::Field(Place::Entry(_), _))
        ));
        assert!(matches!(
            col("SAL_RETURNSTOCK", "FEntity_FEntryID"),
            Ok(Column::EntryPk(_))
        ));
        assert!(matches!(
            col("SAL_RETURNSTOCK", "fentity_fseq"),
            Ok(Column::EntrySeq(_))
        ));
        assert!(matches!(
            col("SAL_RETURNSTOCK", "FMaterialId.FNumber"),
            Ok(Column::Via(Place::Entry(_), _, t, _)) if t.id == "BD_MATERIAL"
        ));
        assert!(matches!(col("BD_STOCK", "FStockId"), Ok(Column::Pk)));
        assert_eq!(
            col("SAL_RETURNSTOCK", "FNoSuchField").err(),
            Some("FNoSuchField".into())
        );
        assert_eq!(
            col("SAL_RETURNSTOCK", "FDocumentStatus.FName").err(),
            Some("FDocumentStatus".into())
        );
        assert_eq!(
            col("SAL_RETURNSTOCK", "FStockId.FNoSuch").err(),
            Some("FStockId.FNoSuch".into())
        );
        assert_eq!(
            col("SAL_RETURNSTOCK", "FMaterialId_FNumber").err(),
            Some("FMaterialId_FNumber".into())
        );
        assert_eq!(col("BD_STOCK", "FID").err(), Some("FID".into()));
    }

    #[test]
    fn seeds() {
        let m = find("BD_MATERIAL").map(Form::seed_rows).unwrap_or_default();
        assert_eq!(m.len(), 60);
        assert_eq!(m[0], ("SKU-0001".to_string(), "商品0001".to_string()));
        assert!(find("NO_SUCH_FORM").is_none());
    }
}
