#!/usr/bin/env python3
"""The README "Benchmarks" memory and restart rows, on the real binary: a backlog waiting for
Kingdee, then a restart that delivers it.

usage: benches/backlog.py [--ferry target/release/ferry] [--docs 300000] [--rounds 3]

Each round starts a fresh `ferry sim --docs N --lines 5` (limits lifted), then:
1. `ferry run --once --wait-retries 0s --scheme offline-returns` with `[kingdee] base_url` on a
   closed loopback port: every eligible return (about two thirds of N) is fetched, mapped and
   queued, and none can be sent. Peak memory is the process's maximum resident set (wait4).
2. The same command again on the same data folder with Kingdee up: the time from starting the
   process to the first bill the Kingdee simulator has saved (polled every 10 ms on its
   `_sim/saved` list), then the time until the whole backlog is delivered, and that run's peak.
Prints the medians as table rows on stdout; progress on stderr.
"""
import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import figures  # noqa: E402  (the same config and simulator set-up as the throughput rows)

SCHEME = figures.SCHEME


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def run_measured(ferry, cfg, on_start=None):
    """`run` with the child's own peak RSS (MB), read from wait4."""
    args = [ferry, "--config", cfg, "run", "--once", "--json", "--wait-retries", "0s",
            "--scheme", SCHEME]
    t0 = time.perf_counter()
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=dict(os.environ, FERRY_LOG="warn"))
    first = on_start(t0) if on_start else None
    out = p.stdout.read().decode("utf-8", "replace")
    err = p.stderr.read().decode("utf-8", "replace")
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    summary = next((json.loads(l) for l in reversed(out.splitlines()) if l.startswith("{")), {})
    row = next((r for r in summary.get("schemes", []) if r.get("scheme") == SCHEME), {})
    if not row:
        figures.log("ferry run failed (%s): %s %s" % (status, out[-500:], err[-1500:]))
    return row, wall, ru.ru_maxrss / 1024, first


def first_save(kingdee_base, limit_s=30):
    url = kingdee_base.rstrip("/") + "/_sim/saved?formid=SAL_RETURNSTOCK"

    def poll(t0):
        deadline = t0 + limit_s
        while time.perf_counter() < deadline:
            try:
                with urllib.request.urlopen(url, timeout=2) as r:
                    body = r.read(4096)
                if body.startswith(b"[") and body.strip() != b"[]":
                    return time.perf_counter() - t0
            except OSError:
                pass
            time.sleep(0.01)
        return float("nan")
    return poll


def one(ferry, docs):
    work = tempfile.mkdtemp(prefix="ferry-backlog-")
    sim_proc, sim = figures.start_sim(ferry, docs, 5)
    try:
        cfg = os.path.join(work, "config.toml")
        figures.ferry_config(cfg, sim)
        real = sim["kingdee"]["base_url"]
        with open(cfg, encoding="utf-8") as f:
            text = f.read()
        down = "http://127.0.0.1:%d/k3cloud/" % closed_port()
        with open(cfg, "w", encoding="utf-8") as f:
            f.write(figures.set_key(text, "kingdee", "base_url", down))
        row, wall, peak, _ = run_measured(ferry, cfg)
        queued = row.get("pending", 0) + row.get("retrying", 0)
        figures.log("queued %d (fetched %d) in %.1f s, peak %.1f MB" % (
            queued, row.get("fetched", 0), wall, peak))
        with open(cfg, "w", encoding="utf-8") as f:
            f.write(text)
        row2, wall2, peak2, first = run_measured(ferry, cfg, first_save(real))
        figures.log("restart: first bill saved after %.3f s; %d delivered in %.1f s, peak %.1f MB" % (
            first, row2.get("delivered", 0), wall2, peak2))
        return dict(queued=queued, peak=peak, first=first, drain=wall2, peak2=peak2,
                    delivered=row2.get("delivered", 0))
    finally:
        sim_proc.terminate()
        sim_proc.wait()
        shutil.rmtree(work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ferry", default=os.path.join(figures.ROOT, "target", "release", "ferry"))
    ap.add_argument("--docs", type=int, default=300000)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    rs = [one(a.ferry, a.docs) for _ in range(a.rounds)]
    med = lambda k: statistics.median(r[k] for r in rs)  # noqa: E731
    cmd = "`benches/backlog.py --docs %d --rounds %d`" % (a.docs, a.rounds)
    print("| peak memory, Kingdee down, %s entries queued (%s-document history) | %.1f MB "
          "(runs: %s) | %s |" % (figures.fmt_n(med("queued")), figures.fmt_n(a.docs), med("peak"),
                                 ", ".join("%.1f" % r["peak"] for r in rs), cmd))
    print("| restart with that backlog to the first bill saved in Kingdee | %.2f s (runs: %s); "
          "the backlog then drains in %.0f s, peak %.1f MB | %s |" % (
              med("first"), ", ".join("%.2f" % r["first"] for r in rs), med("drain"),
              med("peak2"), cmd))


if __name__ == "__main__":
    main()
