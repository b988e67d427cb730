#!/usr/bin/env python3
"""The Python baseline of the benchmarks: a competent script doing ferry's job for the shipped
`offline-returns` scheme (Jushuitan other.inout.query 其它进仓 → Kingdee SAL_RETURNSTOCK), run
against the same simulators as ferry (an external `ferry sim`).

What it does, as a careful person would write it:
- Jushuitan: one pooled `requests.Session`, signed calls (MD5 over the sorted parameters),
  getInitToken once, then other.inout.query in 7-day windows of `modified` time, 50 a page.
- Kingdee: the official SDK (kingdee-cdp-webapi-sdk 8.2.0, signed headers), its module-level
  `requests.post` routed through one pooled `requests.Session` (the SDK opens a new connection per
  call otherwise), BatchSave of 50 models with the scheme's options.
- State: sqlite in WAL mode with `synchronous=FULL`; one committed transaction per fetched page
  (documents deduplicated by io_id and a fingerprint of their model, line keys ioi_id never
  claimed by two documents, the window checkpoint), and before each BatchSave the batch is marked
  in flight in its own committed transaction, then delivered (Kingdee's id and number) or failed
  in another. In-flight rows left by a crash are looked up in Kingdee (ExecuteBillQuery by
  FBillNo) at the next start, so nothing is posted twice.
- Mapping: the same as the shipped scheme (config.toml `[[scheme]] name = "offline-returns"`):
  the same precondition, fields, lookups, numbers (`num`, `abs`, `round`) and dates.
  `check_mapping.py` compares it with `ferry preview` on simulator documents.

usage: returns_sync.py SIM_JSON DB [--start "YYYY-MM-DD HH:MM:SS"] [--days N]
  SIM_JSON: a file holding the one JSON line `ferry sim --json` prints
  DB:       the sqlite file (created if missing; a second run only fetches and finds no news)
Prints one JSON line: fetched, mapped, filtered, failed, delivered, save_errors, pages, batches,
seconds.
"""
import hashlib
import json
import math
import re
import sqlite3
import sys
import time
import types

import requests
from k3cloud_webapi_sdk.core import webapi_client
from k3cloud_webapi_sdk.main import K3CloudApiSdk

SCHEME = "offline-returns"
FORM_ID = "SAL_RETURNSTOCK"
PAGE_SIZE = 50
BATCH_SIZE = 50
WINDOW = 7 * 86400
SAVE_OPTIONS = {"IsAutoSubmitAndAudit": False, "IsVerifyBaseDataField": True, "IsDeleteEntry": True}
WAREHOUSE = {"主仓": "CK001", "销退仓": "CK002", "进货仓": "CK003", "次品仓": "CK004"}
CUSTOMER = {"": "CUST000", "线下门店-北京": "CUST001", "线下门店-上海": "CUST002",
            "线下门店-广州": "CUST003"}
BEIJING = 8 * 3600


class MappingError(Exception):
    pass


# ------------------------------------------------------------------------------------------------
# Mapping (the shipped offline-returns scheme)

def text(v):
    """A value joined into a string the way the scheme's formulas join it."""
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def missing(v):
    return v is None or (isinstance(v, str) and v.strip() == "")


def number(v):
    if isinstance(v, bool):
        raise MappingError("%r is not a number" % (v,))
    if isinstance(v, (int, float)):
        return v
    if isinstance(v, str):
        t = v.strip()
        try:
            if t.lstrip("+-").isdigit():
                return int(t)
            f = float(t)
            if math.isfinite(f) and not any(c in t for c in "xXnNiI_,"):
                return f
        except ValueError:
            pass
    raise MappingError("%r is not a number" % (v,))


def num(v):
    return 0 if missing(v) else number(v)


def rround(v, digits):
    if missing(v):
        return None
    n = number(v)
    if isinstance(n, int):
        return n
    p = 10.0 ** max(0, min(12, digits))
    x = n * p
    return math.copysign(math.floor(abs(x) + 0.5), x) / p


def nabs(v):
    if missing(v):
        raise MappingError("abs: the value is missing")
    return abs(number(v))


DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?)?")


def date(v):
    """`date(x, "yyyy-MM-dd")`: the day of a Beijing time text (time.strptime is slow: a regex)."""
    if v is None:
        return None
    m = DATE.fullmatch(v.strip()) if isinstance(v, str) else None
    if m is None or not ("01" <= m.group(2) <= "12" and "01" <= m.group(3) <= "31"):
        raise MappingError("%r is not a date" % (v,))
    return "%s-%s-%s" % m.group(1, 2, 3)


def lookup(table, name, key):
    key = "" if key is None else text(key)
    if key not in table:
        raise MappingError('lookup "%s" has no entry for "%s"' % (name, key))
    return table[key]


def map_return(doc):
    """The Kingdee model of one document, or None when the precondition filters it out."""
    items = doc.get("items")
    if not (doc.get("type") == "其它进仓" and doc.get("status") == "Confirmed"
            and isinstance(items, list) and len(items) > 0):
        return None
    io_id = text(doc.get("io_id"))
    remark = doc.get("remark")
    bill_date = date(doc.get("io_date"))
    so_id = doc.get("so_id")
    stock = lookup(WAREHOUSE, "warehouse", doc.get("warehouse"))
    batchs = doc.get("batchs")
    entries = []
    for item in items:
        if item.get("batch_id") not in (None, ""):
            lot = item["batch_id"]
        else:
            lot = ""
            for b in batchs or []:
                if b.get("sku_id") == item.get("sku_id"):
                    lot = b.get("batch_no")
                    break
        price = num(item.get("sale_price"))
        produced = item.get("product_date")
        entries.append({
            "FMaterialId": {"FNumber": item.get("sku_id")},
            "FRealQty": nabs(item.get("qty")),
            "FTAXPRICE": rround(price, 2),
            "FIsFree": price == 0,
            "FEntryTaxRate": 13,
            "FReturnType": {"FNumber": "THLX01_SYS"},
            "FOwnerTypeId": "BD_OwnerOrg",
            "FOwnerId": {"FNumber": "100"},
            "FStockId": {"FNumber": stock},
            "FLot": {"FNumber": lot},
            "FProduceDate": "" if produced in (None, "") else date(produced),
            "FDeliveryDate": bill_date,
            "FNote": "" if item.get("remark") is None else item.get("remark"),
            "FSRCBILLNO": "JST-" + io_id,
            "FORDERNO": "" if so_id is None else so_id,
        })
    return {
        "FBillTypeID": {"FNUMBER": "XSTHD01_SYS"},
        "FBillNo": "JST-" + io_id,
        "FSaleOrgId": {"FNumber": "100"},
        "FDate": bill_date,
        "FStockOrgId": {"FNumber": "100"},
        "FRetcustId": {"FNumber": lookup(CUSTOMER, "customer", doc.get("drp_co_name"))},
        "FHeadNote": "聚水潭其它进仓 " + io_id + ("" if remark in (None, "") else "：" + text(remark)),
        "FSalesManID": {"FNumber": "XSY001"},
        "SubHeadEntity": {"FSettleOrgId": {"FNumber": "100"}, "FSettleCurrId": {"FNumber": "PRE001"}},
        "FEntity": entries,
    }


# ------------------------------------------------------------------------------------------------
# Jushuitan

class Jushuitan:
    def __init__(self, base_url, app_key, app_secret):
        self.base, self.key, self.secret = base_url.rstrip("/"), app_key, app_secret
        self.http = requests.Session()
        self.token = None

    def _call(self, path, params):
        signed = "".join(k + v for k, v in sorted(params.items()))
        params["sign"] = hashlib.md5((self.secret + signed).encode("utf-8")).hexdigest()
        for attempt in range(5):
            r = self.http.post(self.base + path, data=params, timeout=60)
            body = r.json()
            if body.get("code") in (199, 200):   # rate limited: back off and retry
                time.sleep(1 + attempt)
                continue
            if body.get("code") != 0:
                raise RuntimeError("Jushuitan %s: code %s %s" % (path, body.get("code"), body.get("msg")))
            return body["data"]
        raise RuntimeError("Jushuitan %s: still rate limited" % path)

    def login(self):
        data = self._call("/openWeb/auth/getInitToken", {
            "app_key": self.key, "timestamp": str(int(time.time())), "grant_type": "authorization_code",
            "charset": "utf-8", "code": "bench1"})
        self.token = data["access_token"]

    def page(self, begin, end, index):
        biz = {"modified_begin": begin, "modified_end": end, "types": ["其它进仓"],
               "page_index": index, "page_size": PAGE_SIZE}
        return self._call("/open/other/inout/query", {
            "access_token": self.token, "app_key": self.key,
            "biz": json.dumps(biz, ensure_ascii=False, separators=(",", ":")),
            "charset": "utf-8", "timestamp": str(int(time.time())), "version": "2"})


def beijing(ts):
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ts + BEIJING))


def from_beijing(s):
    return int(time.mktime(time.strptime(s, "%Y-%m-%d %H:%M:%S")) - time.timezone) - BEIJING


# ------------------------------------------------------------------------------------------------
# Kingdee (the official SDK with pooled connections)

def kingdee(k):
    pool = requests.Session()
    # The SDK calls `requests.post` and reads `requests.codes`: hand it the pooled session's post.
    webapi_client.requests = types.SimpleNamespace(post=pool.post, codes=requests.codes)
    api = K3CloudApiSdk(k["base_url"], timeout=120)
    api.InitConfig(k["acct_id"], k["user"], k["app_id"], k["app_secret"], k["base_url"],
                   lcid=k.get("lcid", 2052), org_num=0)
    return api


# ------------------------------------------------------------------------------------------------
# The store

SCHEMA = """
CREATE TABLE IF NOT EXISTS docs (
    io_id TEXT PRIMARY KEY, bill_no TEXT, fingerprint TEXT, model TEXT, state TEXT NOT NULL,
    error TEXT, batch INTEGER, attempts INTEGER NOT NULL DEFAULT 0, kingdee_id TEXT,
    changed_after_delivery INTEGER NOT NULL DEFAULT 0, updated_at REAL);
CREATE INDEX IF NOT EXISTS docs_state ON docs(state);
CREATE TABLE IF NOT EXISTS lines (ioi_id TEXT PRIMARY KEY, io_id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS checkpoints (scheme TEXT PRIMARY KEY, at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v INTEGER NOT NULL);
"""


def open_db(path):
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.executescript(SCHEMA)
    return db


def ingest_page(db, docs, checkpoint, stats):
    """One committed transaction: the page's documents, mapped, and the window checkpoint."""
    now = time.time()
    db.execute("BEGIN IMMEDIATE")
    try:
        for doc in docs:
            io_id = text(doc.get("io_id"))
            try:
                model = map_return(doc)
            except MappingError as e:
                stats["failed"] += 1
                db.execute("INSERT INTO docs(io_id, state, error, updated_at) VALUES (?, 'failed', ?, ?) "
                           "ON CONFLICT(io_id) DO UPDATE SET error = excluded.error "
                           "WHERE docs.state = 'failed'", (io_id, str(e), now))
                continue
            if model is None:
                stats["filtered"] += 1
                continue
            body = json.dumps(model, ensure_ascii=False, separators=(",", ":"))
            fp = hashlib.blake2b(body.encode("utf-8"), digest_size=8).hexdigest()
            row = db.execute("SELECT fingerprint, state FROM docs WHERE io_id = ?", (io_id,)).fetchone()
            if row is not None and row[0] == fp:
                continue                      # seen before, unchanged
            if row is not None and row[1] in ("in_flight", "delivered"):
                db.execute("UPDATE docs SET changed_after_delivery = 1 WHERE io_id = ?", (io_id,))
                continue                      # changed after it was sent: recorded, not re-posted
            conflict = None
            for item in doc["items"]:
                key = text(item.get("ioi_id"))
                owner = db.execute("SELECT io_id FROM lines WHERE ioi_id = ?", (key,)).fetchone()
                if owner is not None and owner[0] != io_id:
                    conflict = "line %s already belongs to document %s" % (key, owner[0])
                    break
            if conflict:
                stats["failed"] += 1
                db.execute("INSERT OR REPLACE INTO docs(io_id, state, error, updated_at) "
                           "VALUES (?, 'failed', ?, ?)", (io_id, conflict, now))
                continue
            db.executemany("INSERT OR IGNORE INTO lines(ioi_id, io_id) VALUES (?, ?)",
                           [(text(i.get("ioi_id")), io_id) for i in doc["items"]])
            db.execute("INSERT OR REPLACE INTO docs(io_id, bill_no, fingerprint, model, state, updated_at) "
                       "VALUES (?, ?, ?, ?, 'pending', ?)", (io_id, model["FBillNo"], fp, body, now))
            stats["mapped"] += 1
        db.execute("INSERT OR REPLACE INTO checkpoints(scheme, at) VALUES (?, ?)", (SCHEME, checkpoint))
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def next_batch_id(db):
    db.execute("INSERT INTO meta(k, v) VALUES ('batch', 1) ON CONFLICT(k) DO UPDATE SET v = v + 1")
    return db.execute("SELECT v FROM meta WHERE k = 'batch'").fetchone()[0]


def deliver_pending(db, api, stats):
    """BatchSave every pending document, 50 at a time, each batch marked in flight first."""
    while True:
        rows = db.execute("SELECT io_id, model FROM docs WHERE state = 'pending' ORDER BY rowid LIMIT ?",
                          (BATCH_SIZE,)).fetchall()
        if not rows:
            return
        db.execute("BEGIN IMMEDIATE")
        batch = next_batch_id(db)
        db.executemany("UPDATE docs SET state = 'in_flight', batch = ?, attempts = attempts + 1, "
                       "updated_at = ? WHERE io_id = ?", [(batch, time.time(), r[0]) for r in rows])
        db.execute("COMMIT")
        models = "[" + ",".join(r[1] for r in rows) + "]"
        data = dict(SAVE_OPTIONS)
        data["Model"] = json.loads(models)
        reply = json.loads(api.BatchSave(FORM_ID, data))
        status = reply["Result"]["ResponseStatus"]
        stats["batches"] += 1
        done = {e["DIndex"]: e for e in status.get("SuccessEntitys") or []}
        errors = {}
        for e in status.get("Errors") or []:
            errors.setdefault(e.get("DIndex", -1), e.get("Message", ""))
        if not done and -1 in errors:
            raise RuntimeError("Kingdee BatchSave refused the whole batch: %s" % errors[-1])
        now = time.time()
        db.execute("BEGIN IMMEDIATE")
        for i, (io_id, _) in enumerate(rows):
            if i in done:
                db.execute("UPDATE docs SET state = 'delivered', kingdee_id = ?, model = NULL, "
                           "updated_at = ? WHERE io_id = ?", (str(done[i].get("Id")), now, io_id))
                stats["delivered"] += 1
            else:
                db.execute("UPDATE docs SET state = 'failed', error = ?, updated_at = ? WHERE io_id = ?",
                           (errors.get(i, "no result for this model"), now, io_id))
                stats["save_errors"] += 1
        db.execute("COMMIT")


def reconcile(db, api):
    """In-flight rows left by a crash: delivered if Kingdee has the bill, otherwise pending again."""
    rows = db.execute("SELECT io_id, bill_no FROM docs WHERE state = 'in_flight'").fetchall()
    for i in range(0, len(rows), BATCH_SIZE):
        chunk = rows[i:i + BATCH_SIZE]
        numbers = ",".join("'%s'" % r[1].replace("'", "''") for r in chunk)
        found = json.loads(api.ExecuteBillQuery({
            "FormId": FORM_ID, "FieldKeys": "FBillNo,FID",
            "FilterString": "FBillNo in (%s)" % numbers, "OrderString": "FBillNo"}))
        have = {r[0]: r[1] for r in found if isinstance(r, list) and len(r) == 2}
        db.execute("BEGIN IMMEDIATE")
        for io_id, bill_no in chunk:
            if bill_no in have:
                db.execute("UPDATE docs SET state = 'delivered', kingdee_id = ? WHERE io_id = ?",
                           (str(have[bill_no]), io_id))
            else:
                db.execute("UPDATE docs SET state = 'pending' WHERE io_id = ?", (io_id,))
        db.execute("COMMIT")


def main(argv):
    args = [a for a in argv[1:]]
    start = None
    days = 32
    if "--start" in args:
        i = args.index("--start")
        start = args[i + 1]
        del args[i:i + 2]
    if "--days" in args:
        i = args.index("--days")
        days = int(args[i + 1])
        del args[i:i + 2]
    if len(args) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(args[0], encoding="utf-8") as f:
        sim = json.loads(f.readline())
    t0 = time.perf_counter()
    db = open_db(args[1])
    j = sim["jushuitan"]
    source = Jushuitan(j["base_url"], j["app_key"], j["app_secret"])
    source.login()
    api = kingdee(sim["kingdee"])
    reconcile(db, api)
    stats = dict(fetched=0, mapped=0, filtered=0, failed=0, delivered=0, save_errors=0, pages=0,
                 batches=0)
    row = db.execute("SELECT at FROM checkpoints WHERE scheme = ?", (SCHEME,)).fetchone()
    now = int(time.time())
    begin = row[0] - 600 if row else (from_beijing(start) if start else now - days * 86400)
    while begin < now:
        end = min(begin + WINDOW, now)
        index = 1
        while True:
            data = source.page(beijing(begin), beijing(end), index)
            docs = data.get("datas") or []
            stats["fetched"] += len(docs)
            stats["pages"] += 1
            more = bool(data.get("has_next")) and len(docs) > 0
            ingest_page(db, docs, begin if more else end, stats)
            deliver_pending(db, api, stats)
            if not more:
                break
            index += 1
        begin = end
    stats["seconds"] = round(time.perf_counter() - t0, 3)
    print(json.dumps(stats))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
