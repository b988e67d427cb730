#!/usr/bin/env python3
"""Drives the official Kingdee SDK (kingdee-cdp-webapi-sdk 8.2.0), unchanged, against a ferry
Kingdee simulator: BatchSave, Save, BillQuery, ExecuteBillQuery (errors, ordering), View, and the
answers to unknown forms and fields. Exits nonzero on failure.

usage: conformance.py BASE_URL ACCT_ID USER APP_ID APP_SECRET
   or: set FERRY_KD_URL, FERRY_KD_ACCT, FERRY_KD_USER, FERRY_KD_APP_ID, FERRY_KD_APP_SECRET
"""
import json
import os
import sys

from k3cloud_webapi_sdk.main import K3CloudApiSdk

FAILURES = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        FAILURES.append(what)


def status(reply):
    return reply["Result"]["ResponseStatus"]


def stock(number, name):
    return {
        "FStockId": 0, "FCreateOrgId": {"FNumber": "100"}, "FUseOrgId": {"FNumber": "100"},
        "FNumber": number, "FName": name, "FStockProperty": "1",
        "FStockStatusType": "0,1,2,3,4,5,6,7,8",
        "FDefReceiveStatusId": {"FNumber": "KCZT02_SYS"},
        "FDefStockStatusId": {"FNumber": "KCZT01_SYS"},
    }


def return_bill(bill_no, note, customer=True):
    m = {
        "FID": 0, "FBillTypeID": {"FNUMBER": "XSTHD01_SYS"}, "FBillNo": bill_no,
        "FDate": "2026-09-03 10:20:30", "FSaleOrgId": {"FNumber": "100"},
        "FStockOrgId": {"FNumber": "100"}, "FHeadNote": note,
        "SubHeadEntity": {"FSettleOrgId": {"FNumber": "100"}, "FSettleCurrId": {"FNumber": "PRE001"}},
        "FEntity": [{
            "FMaterialId": {"FNumber": "SKU-0002"}, "FRealQty": "3", "FTAXPRICE": 12.5,
            "FEntryTaxRate": 13, "FReturnType": {"FNumber": "THLX01_SYS"},
            "FOwnerTypeId": "BD_OwnerOrg", "FOwnerId": {"FNumber": "100"},
            "FStockId": {"FNumber": "SDKSTOCK1"},
        }],
    }
    if customer:
        m["FRetcustId"] = {"FNumber": "CUST002"}
    return m


def main(argv):
    env = os.environ
    if len(argv) == 6:
        url, acct, user, app_id, app_secret = argv[1:]
    else:
        url, acct, user, app_id, app_secret = (env.get(k, "") for k in (
            "FERRY_KD_URL", "FERRY_KD_ACCT", "FERRY_KD_USER", "FERRY_KD_APP_ID",
            "FERRY_KD_APP_SECRET"))
    if not url:
        print(__doc__, file=sys.stderr)
        return 2
    api = K3CloudApiSdk(url, timeout=30)
    api.InitConfig(acct, user, app_id, app_secret, url, lcid=2052, org_num=0)

    # BatchSave of two stocks, audited, data given as a dict.
    r = json.loads(api.BatchSave("BD_STOCK", {
        "IsAutoSubmitAndAudit": True,
        "Model": [stock("SDKSTOCK1", "SDK 仓一"), stock("SDKSTOCK2", "SDK 仓二")]}))
    st = status(r)
    check(st["IsSuccess"] is True, "BatchSave BD_STOCK succeeds")
    ents = sorted(st["SuccessEntitys"], key=lambda e: e["DIndex"])
    check([e["Number"] for e in ents] == ["SDKSTOCK1", "SDKSTOCK2"], "SuccessEntitys by DIndex")
    check(all(isinstance(e["Id"], int) for e in ents), "numeric Ids")
    check(api.cookiesStore.SID != "", "session id received through Set-Cookie")

    # Save of a bill referencing the new stock; data given as a JSON string this time.
    note = "SDK 一致性测试：退货"
    r = json.loads(api.Save("SAL_RETURNSTOCK", json.dumps(
        {"IsVerifyBaseDataField": True, "Model": return_bill("SDK-0001", note)})))
    check(status(r)["IsSuccess"] is True and r["Result"]["Number"] == "SDK-0001",
          "Save SAL_RETURNSTOCK succeeds: %s" % status(r)["Errors"])
    bill_id = r["Result"]["Id"]

    # Second save of the same number is refused.
    r = json.loads(api.Save("SAL_RETURNSTOCK", {"Model": return_bill("SDK-0001", note)}))
    errs = status(r)["Errors"]
    check(status(r)["IsSuccess"] is False and len(errs) == 1 and "已存在" in errs[0]["Message"],
          "duplicate number refused")

    # Validation error, Chinese message, DIndex of the bad package.
    r = json.loads(api.BatchSave("SAL_RETURNSTOCK", {"Model": [
        return_bill("SDK-0002", note), return_bill("SDK-0003", note, customer=False)]}))
    st = status(r)
    check(st["IsSuccess"] is False and st["MsgCode"] == 11, "partial failure is MsgCode 11")
    check([(e["DIndex"], e["Message"]) for e in st["Errors"]] == [(1, "字段“退货客户”是必填项")],
          "required-field error on DIndex 1: %s" % st["Errors"])
    check([e["DIndex"] for e in st["SuccessEntitys"]] == [0], "DIndex 0 saved")

    # BillQuery.
    rows = json.loads(api.BillQuery({
        "FormId": "SAL_RETURNSTOCK", "FieldKeys": "FID,FBillNo,FDocumentStatus,FDate",
        "FilterString": "FBillNo='SDK-0001'", "OrderString": "", "TopRowCount": 0,
        "StartRow": 0, "Limit": 2000, "SubSystemId": ""}))
    check(rows == [{"FID": bill_id, "FBillNo": "SDK-0001", "FDocumentStatus": "A",
                    "FDate": "2026-09-03T10:20:30"}], "BillQuery row: %s" % rows)

    # ExecuteBillQuery with an in-list and entry fields.
    rows = json.loads(api.ExecuteBillQuery({
        "FormId": "BD_STOCK", "FieldKeys": "FNumber,FName,FDocumentStatus",
        "FilterString": "FNumber in ('SDKSTOCK1','SDKSTOCK2','NOPE')", "StartRow": 0,
        "Limit": 100}))
    check(rows == [["SDKSTOCK1", "SDK 仓一", "C"], ["SDKSTOCK2", "SDK 仓二", "C"]],
          "ExecuteBillQuery rows: %s" % rows)
    rows = json.loads(api.ExecuteBillQuery({
        "FormId": "SAL_RETURNSTOCK",
        "FieldKeys": "FBillNo,FEntity_FSeq,FMaterialId.FNumber,FRealQty",
        "FilterString": "FBillNo in ('SDK-0001','SDK-0002')", "Limit": 100}))
    check(rows == [["SDK-0001", 1, "SKU-0002", "3"], ["SDK-0002", 1, "SKU-0002", "3"]],
          "ExecuteBillQuery entry rows: %s" % rows)
    err = json.loads(api.ExecuteBillQuery({"FormId": "NO_SUCH_FORM", "FieldKeys": "FID"}))
    check(err[0][0]["Result"]["ResponseStatus"]["IsSuccess"] is False, "query error shape [[...]]")

    # Unknown field keys: MsgCode 9, nested for ExecuteBillQuery, plain for BillQuery.
    q = {"FormId": "SAL_RETURNSTOCK", "FieldKeys": "FBillNo,FNoSuchField", "FilterString": ""}
    st = json.loads(api.ExecuteBillQuery(q))[0][0]["Result"]["ResponseStatus"]
    check(st["MsgCode"] == 9 and st["Errors"][0]["Message"] == "元数据中标识为FNoSuchField的字段不存在",
          "ExecuteBillQuery unknown field is MsgCode 9: %s" % st)
    st = status(json.loads(api.BillQuery(q)))
    check(st["MsgCode"] == 9 and st["IsSuccess"] is False, "BillQuery unknown field is MsgCode 9")

    # OrderString.
    rows = json.loads(api.ExecuteBillQuery({
        "FormId": "BD_STOCK", "FieldKeys": "FNumber", "FilterString": "FNumber like 'SDKSTOCK%'",
        "OrderString": "FNumber DESC"}))
    check(rows == [["SDKSTOCK2"], ["SDKSTOCK1"]], "OrderString DESC: %s" % rows)

    # Save to a form that does not exist: MsgCode 4, nothing saved.
    r = json.loads(api.Save("SAL_RETURNSTOK", {"Model": return_bill("SDK-0009", note)}))
    st = status(r)
    check(st["IsSuccess"] is False and st["MsgCode"] == 4
          and st["Errors"][0]["Message"] == "标识为“SAL_RETURNSTOK”的业务对象不存在，或者被删除。",
          "Save to an unknown form is MsgCode 4: %s" % st)
    r = json.loads(api.View("SAL_RETURNSTOCK", {"Number": "SDK-0009"}))
    check(status(r)["MsgCode"] == 10, "nothing saved by the refused Save")

    # View.
    r = json.loads(api.View("SAL_RETURNSTOCK", {"CreateOrgId": 0, "Number": "SDK-0001", "Id": ""}))
    check(status(r)["IsSuccess"] is True and r["Result"]["Result"]["FHeadNote"] == note,
          "View returns the bill")
    r = json.loads(api.View("SAL_RETURNSTOCK", {"Number": "SDK-404"}))
    check(status(r)["IsSuccess"] is False and status(r)["MsgCode"] == 10, "View of a missing bill")

    if FAILURES:
        print("%d check(s) failed" % len(FAILURES), file=sys.stderr)
        return 1
    print("all SDK conformance checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
