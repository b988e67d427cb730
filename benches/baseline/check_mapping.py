#!/usr/bin/env python3
"""Checks that the baseline maps like ferry: fetches the simulator's 其它进仓 documents, maps them
with returns_sync.map_return and with `ferry preview` (the shipped offline-returns scheme), and
compares model by model (numbers by value: 6 and 6.0 are the same to Kingdee).

usage: check_mapping.py FERRY_BINARY CONFIG_TOML SIM_JSON
Exits nonzero on the first difference; prints how many documents agreed.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import returns_sync as rs  # noqa: E402


def fetch_all(sim):
    j = sim["jushuitan"]
    source = rs.Jushuitan(j["base_url"], j["app_key"], j["app_secret"])
    source.login()
    now = int(time.time())
    begin = now - 32 * 86400
    docs = []
    while begin < now:
        end = min(begin + rs.WINDOW, now)
        index = 1
        while True:
            data = source.page(rs.beijing(begin), rs.beijing(end), index)
            docs.extend(data.get("datas") or [])
            if not data.get("has_next") or not data.get("datas"):
                break
            index += 1
        begin = end
    return docs


def ferry_models(ferry, config, docs):
    """document key → model (None when filtered, the error text when mapping failed)."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, encoding="utf-8") as f:
        json.dump(docs, f, ensure_ascii=False)
    out = subprocess.run([ferry, "--config", config, "preview", "--scheme", rs.SCHEME,
                          "--input", f.name], capture_output=True, text=True, check=False)
    os.unlink(f.name)
    models, key, body = {}, None, []

    def close():
        if key is not None and body:
            models[key] = json.loads("\n".join(body))

    for line in out.stdout.splitlines():
        if line.startswith("document "):
            close()
            key, body = line.split()[1].rstrip(":"), []
            if "skipped" in line:
                models[key], key = None, None
            elif "→" not in line:
                models[key], key = "error: " + line, None
        elif key is not None:
            body.append(line)
    close()
    return models


def main(argv):
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    ferry, config, sim_json = argv[1:]
    with open(sim_json, encoding="utf-8") as f:
        sim = json.loads(f.readline())
    docs = fetch_all(sim)
    theirs = ferry_models(ferry, config, docs)
    agreed = 0
    for doc in docs:
        key = rs.text(doc["io_id"])
        try:
            ours = rs.map_return(doc)
        except rs.MappingError as e:
            ours = "error: %s" % e
        want = theirs.get(key, "absent")
        same = (ours == want) or (isinstance(ours, str) and isinstance(want, str)
                                  and want.startswith("error"))
        if not same:
            print("document %s differs\n  baseline: %s\n  ferry:    %s" % (
                key, json.dumps(ours, ensure_ascii=False), json.dumps(want, ensure_ascii=False)))
            return 1
        agreed += 1
    print("%d documents mapped alike (%d filtered)" % (agreed, sum(1 for v in theirs.values() if v is None)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
