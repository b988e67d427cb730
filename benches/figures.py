#!/usr/bin/env python3
"""The README "Benchmarks" rows: ferry against the Python baseline, against an external
`ferry sim`, in interleaved rounds, medians; plus the criterion figures if `cargo bench` ran.

usage: benches/figures.py [--ferry target/release/ferry] [--docs 20000] [--rounds 5]
                          [--criterion] [--skip-python]

Each round starts a fresh `ferry sim` (limits lifted: 100,000/s, 6,000,000/min; 5 lines per
document where `ferry sim --lines` exists), then runs, in turn, ferry (`run --once --scheme
offline-returns` with the shipped config pointed at the simulator, a fresh data_dir) and the
baseline (benches/baseline/returns_sync.py, a fresh sqlite file), each against its own fresh
simulator so Kingdee holds no bill yet. Which goes first alternates by round. CPU and peak memory
are the process's own (wait4 rusage): the simulator's CPU is not counted. Progress goes to
stderr; the table rows to stdout.

--criterion adds the criterion figures (target/criterion/*/*/new/estimates.json, median) of
`cargo bench --bench throughput`, `--bench store`, `--bench signing`, `--bench mapping`.
Needs a release build: `cargo build --release`.
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BASELINE = os.path.join(ROOT, "benches", "baseline", "returns_sync.py")
SCHEME = "offline-returns"


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def set_key(text, section, key, value):
    """`key = value` in `[section]` of a TOML text (replaced, or added under the header)."""
    lines = text.split("\n")
    head = next(i for i, l in enumerate(lines) if l.strip() == "[%s]" % section)
    end = next((i for i in range(head + 1, len(lines)) if lines[i].startswith("[")), len(lines))
    line = "%s = %s" % (key, json.dumps(value, ensure_ascii=False) if isinstance(value, str)
                        else str(value).lower() if isinstance(value, bool) else value)
    for i in range(head + 1, end):
        if re.match(r"\s*%s\s*=" % re.escape(key), lines[i]):
            lines[i] = line
            return "\n".join(lines)
    lines.insert(head + 1, line)
    return "\n".join(lines)


def beijing(ts):
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ts + 8 * 3600))


def ferry_config(path, sim):
    with open(os.path.join(ROOT, "config.toml"), encoding="utf-8") as f:
        t = f.read()
    j, k = sim["jushuitan"], sim["kingdee"]
    t = set_key(t, "simulator", "enabled", False)
    for key, v in [("base_url", j["base_url"]), ("app_key", j["app_key"]),
                   ("app_secret", j["app_secret"]), ("per_second", 100000), ("per_minute", 6000000)]:
        t = set_key(t, "jushuitan", key, v)
    for key in ["base_url", "acct_id", "user", "app_id", "app_secret"]:
        t = set_key(t, "kingdee", key, k[key])
    t = set_key(t, "kingdee", "auth", "signed")
    t = set_key(t, "admin", "listen", "off")
    t = set_key(t, "pipeline", "settle_lag", "1s")
    start = beijing(int(time.time()) - 32 * 86400)
    t = re.sub(r'(?m)^start_from = ".*"', 'start_from = "%s"' % start, t)
    with open(path, "w", encoding="utf-8") as f:
        f.write(t)


def start_sim(ferry, docs, lines):
    args = [ferry, "--config", os.path.join(tempfile.gettempdir(), "no-such-ferry.toml"), "sim",
            "--json", "--docs", str(docs), "--per-second", "100000", "--per-minute", "6000000"]
    if lines:
        args += ["--lines", str(lines)]
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = p.stdout.readline()
    if not line:
        p.kill()
        raise SystemExit("ferry sim printed nothing")
    return p, json.loads(line)


def measured(args, **kw):
    """Runs `args`; returns (exit code, stdout, stderr, wall seconds)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    out, err = p.communicate()
    wall = time.perf_counter() - t0
    return p.returncode, out, err, wall


def children_cpu():
    """User+sys seconds and peak RSS of the reaped children so far (the caller takes differences)."""
    import resource
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime, r.ru_maxrss / 1024


def run_ferry(ferry, sim, work):
    cfg = os.path.join(work, "config.toml")
    ferry_config(cfg, sim)
    cpu0, _ = children_cpu()
    code, out, err, wall = measured([ferry, "--config", cfg, "run", "--once", "--json",
                                     "--wait-retries", "0s", "--scheme", SCHEME],
                                    env=dict(os.environ, FERRY_LOG="warn"))
    cpu1, _ = children_cpu()
    summary = next((json.loads(l) for l in reversed(out.splitlines()) if l.startswith("{")), {})
    row = next((r for r in summary.get("schemes", []) if r.get("scheme") == SCHEME), {})
    if code != 0 or not row.get("delivered"):
        log("ferry run failed (%s): %s %s" % (code, out[-500:], err[-1500:]))
    return dict(delivered=row.get("delivered", 0), fetched=row.get("fetched", 0), wall=wall,
                cpu=cpu1 - cpu0)


def run_python(sim_json, work):
    cpu0, _ = children_cpu()
    code, out, err, wall = measured([sys.executable, BASELINE, sim_json,
                                     os.path.join(work, "baseline.db")])
    cpu1, _ = children_cpu()
    stats = next((json.loads(l) for l in reversed(out.splitlines()) if l.startswith("{")), {})
    if code != 0:
        log("baseline failed (%s): %s" % (code, err[-1500:]))
    return dict(delivered=stats.get("delivered", 0), fetched=stats.get("fetched", 0), wall=wall,
                cpu=cpu1 - cpu0)


def one(kind, ferry, docs, lines):
    work = tempfile.mkdtemp(prefix="ferry-figures-")
    sim_proc, sim = start_sim(ferry, docs, lines)
    try:
        sim_json = os.path.join(work, "sim.json")
        with open(sim_json, "w", encoding="utf-8") as f:
            f.write(json.dumps(sim) + "\n")
        r = run_ferry(ferry, sim, work) if kind == "ferry" else run_python(sim_json, work)
    finally:
        sim_proc.terminate()
        sim_proc.wait()
        shutil.rmtree(work, ignore_errors=True)
    r["us_per_doc"] = r["cpu"] / r["delivered"] * 1e6 if r["delivered"] else float("nan")
    r["per_s"] = r["delivered"] / r["wall"] if r["wall"] else float("nan")
    log("%-6s delivered %6d in %6.2f s wall, %6.2f s CPU = %5.0f µs CPU/doc, %6.0f docs/s" % (
        kind, r["delivered"], r["wall"], r["cpu"], r["us_per_doc"], r["per_s"]))
    return r


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def criterion_rows():
    base = os.path.join(ROOT, "target", "criterion")
    rows = []
    for est in sorted(_glob(base)):
        d = os.path.dirname(os.path.dirname(est))
        with open(est, encoding="utf-8") as f:
            median_ns = json.load(f)["median"]["point_estimate"]
        with open(os.path.join(os.path.dirname(est), "benchmark.json"), encoding="utf-8") as f:
            b = json.load(f)
        t = b.get("throughput") or {}
        figure = "%s per iteration" % fmt_ns(median_ns)
        if "Elements" in t:
            per_s = t["Elements"] / (median_ns / 1e9)
            figure += ", %s/s" % fmt_n(per_s) + (" (%.1f µs each)" % (median_ns / t["Elements"] / 1e3)
                                                   if t["Elements"] > 1 else "")
        elif "Bytes" in t:
            figure += ", %.1f MB/s" % (t["Bytes"] / (median_ns / 1e9) / 1e6)
        group = b.get("group_id", os.path.basename(os.path.dirname(d)))
        rows.append("| %s: %s | %s | - | `cargo bench --bench %s` |" % (
            group, b.get("function_id") or b.get("title"), figure, bench_of(group)))
    return rows


def _glob(base):
    for root, _, files in os.walk(base):
        if root.endswith(os.path.join("new")) and "estimates.json" in files:
            yield os.path.join(root, "estimates.json")


def bench_of(group):
    return {"backfill": "throughput", "store": "store", "raw limits": "store", "signing": "signing",
            "mapping": "mapping"}.get(group, group)


def fmt_ns(ns):
    for unit, div in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= div:
            return "%.3g %s" % (ns / div, unit)
    return "%.3g ns" % ns


def fmt_n(x):
    return "{:,.0f}".format(x)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ferry", default=os.path.join(ROOT, "target", "release", "ferry"))
    ap.add_argument("--docs", type=int, default=20000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--criterion", action="store_true")
    ap.add_argument("--skip-python", action="store_true")
    a = ap.parse_args()
    helptext = subprocess.run([a.ferry, "sim", "--help"], capture_output=True, text=True).stdout
    lines = 5 if "--lines" in helptext else None
    log("ferry %s, %d documents per API, %s lines each, %d rounds" % (
        a.ferry, a.docs, lines or "0-5", a.rounds))
    f, p = [], []
    for i in range(a.rounds):
        order = ["ferry", "python"] if i % 2 == 0 else ["python", "ferry"]
        for kind in order:
            if kind == "python" and a.skip_python:
                continue
            (f if kind == "ferry" else p).append(one(kind, a.ferry, a.docs, lines))
    ratios = [pp["wall"] / ff["wall"] for ff, pp in zip(f, p)]
    cmd = "`benches/figures.py --docs %d --rounds %d`" % (a.docs, a.rounds)
    shape = "%s sales returns, %s lines each" % (fmt_n(med([r["delivered"] for r in f])),
                                                 lines or "0-5")
    print("| what | ferry | Python baseline | command |")
    print("|------|-------|-----------------|---------|")
    print("| wall time, external `ferry sim`, %s (median of %d) | %.2f s (%s/s) | %s | %s |" % (
        shape, a.rounds, med([r["wall"] for r in f]), fmt_n(med([r["per_s"] for r in f])),
        "%.2f s (%s/s); ferry %.1f× faster (median of pairwise ratios)" % (
            med([r["wall"] for r in p]), fmt_n(med([r["per_s"] for r in p])), med(ratios))
        if p else "-", cmd))
    print("| CPU per delivered document (user+sys of the process / delivered) | %.0f µs | %s | %s |" % (
        med([r["us_per_doc"] for r in f]),
        "%.0f µs" % med([r["us_per_doc"] for r in p]) if p else "-", cmd))
    if a.criterion:
        for row in criterion_rows():
            print(row)


if __name__ == "__main__":
    main()
