#!/usr/bin/env python3
"""A plain `requests` client of the kind public Kingdee examples show: every call posts a dict,
so the body goes out form-urlencoded (`acctid=..&username=..`, `formid=..&data=<json>`), and
the session travels in the cookies of the ValidateUser reply. Runs against a ferry Kingdee
simulator; exits nonzero on failure.

usage: form_client.py BASE_URL ACCT_ID USER PASSWORD
"""
import json
import sys

import requests

FAILURES = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        FAILURES.append(what)


def main(argv):
    if len(argv) != 5:
        print(__doc__, file=sys.stderr)
        return 2
    base, acct, user, password = argv[1:]
    form = base + "Kingdee.BOS.WebApi.ServicesStub.DynamicFormService."
    login = requests.post(
        base + "Kingdee.BOS.WebApi.ServicesStub.AuthService.ValidateUser.common.kdsvc",
        data={"acctid": acct, "username": user, "password": password, "lcid": 2052},
        timeout=30)
    check(login.status_code == 200 and login.json()["LoginResultType"] == 1,
          "ValidateUser posted as a form: %s" % login.text[:200])
    cookies = login.cookies

    bill = {
        "FBillTypeID": {"FNUMBER": "XSTHD01_SYS"}, "FBillNo": "FORM-0001", "FDate": "2026-09-03",
        "FSaleOrgId": {"FNumber": "100"}, "FStockOrgId": {"FNumber": "100"},
        "FRetcustId": {"FNumber": "CUST001"}, "FHeadNote": "表单提交 & 测试",
        "SubHeadEntity": {"FSettleOrgId": {"FNumber": "100"},
                          "FSettleCurrId": {"FNumber": "PRE001"}},
        "FEntity": [{"FMaterialId": {"FNumber": "SKU-0003"}, "FRealQty": 1,
                     "FStockId": {"FNumber": "CK002"}}],
    }
    r = requests.post(form + "Save.common.kdsvc", cookies=cookies, timeout=30, data={
        "formid": "SAL_RETURNSTOCK", "data": json.dumps({"Model": bill})})
    st = r.json()["Result"]["ResponseStatus"]
    check(st["IsSuccess"] is True, "Save posted as a form: %s" % st)

    r = requests.post(form + "ExecuteBillQuery.common.kdsvc", cookies=cookies, timeout=30, data={
        "data": json.dumps({"FormId": "SAL_RETURNSTOCK", "FieldKeys": "FBillNo,FHeadNote",
                            "FilterString": "FBillNo='FORM-0001'", "OrderString": "FBillNo"})})
    check(r.json() == [["FORM-0001", "表单提交 & 测试"]], "ExecuteBillQuery posted as a form: %s" % r.text)

    r = requests.post(form + "BatchSave.common.kdsvc", cookies=cookies, timeout=30, data={
        "formid": "SAL_RETURNSTOK", "data": json.dumps({"Model": [bill]})})
    st = r.json()["Result"]["ResponseStatus"]
    check(st["MsgCode"] == 4 and "业务对象不存在" in st["Errors"][0]["Message"],
          "BatchSave to an unknown form is MsgCode 4: %s" % st)

    if FAILURES:
        print("%d check(s) failed" % len(FAILURES), file=sys.stderr)
        return 1
    print("all form-urlencoded client checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
