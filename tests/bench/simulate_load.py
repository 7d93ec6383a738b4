#!/usr/bin/env python3
"""Load mode benchmark: `tidewatch simulate --load N` writing to a file on one core,
against a peer encoder in the same run.

Usage: python3 tests/bench/simulate_load.py [--rounds N] [--rate N] [--seconds S]

Builds the release `tidewatch`, then, alternating, N rounds, each on one core
(taskset -c 0), and reports medians and ratios (absolute times on shared machines are
noise; the ratios are the result):

  ours:   tidewatch simulate --load RATE --duration S --out FILE  (realistic traffic:
          types 1, 5, 18, 24, tag blocks s: and c:, vessels moving on lanes)
  peer:   pyais 2.x `encode_dict`, the Python AIS encoder, writing the same number of
          type 1 sentences (no tag blocks) to a file: the only other open AIS encoder
  and:    gpsdecode -u -c decoding our file, to show the load outruns a gpsd consumer.

The issue's goal is at least 200,000 sentences/s to a file on one core.
"""
import argparse, os, shutil, statistics, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VENV = os.path.join(ROOT, "target", "tools", "pyais")
PEER = r'''
import sys, time
from pyais.encode import encode_dict
n, out = int(sys.argv[1]), sys.argv[2]
with open(out, "w") as f:
    for i in range(n):
        d = {"type": 1, "mmsi": 247000000 + i % 20000, "status": 0, "speed": 12.3,
             "lon": 12.5 + (i % 1000) * 0.001, "lat": 35.2 + (i % 700) * 0.001,
             "course": 271.0, "heading": 271, "second": i % 60, "accuracy": 1}
        for s in encode_dict(d, radio_channel="A", talker_id="AIVDM"):
            f.write(s)
            f.write("\n")
'''


def sh(cmd, **kw):
    subprocess.run(cmd, check=True, cwd=ROOT, **kw)


def timed(cmd):
    t0 = time.perf_counter()
    p = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"{cmd} failed with {p.returncode}")
    return dt


def lines(path):
    with open(path, "rb") as f:
        return sum(1 for _ in f)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--rate", type=int, default=200_000)
    ap.add_argument("--seconds", type=int, default=10)
    a = ap.parse_args()
    for prog in ("gpsdecode", "taskset"):
        if not shutil.which(prog):
            sys.exit(f"{prog} is missing: run tests/install-deps.sh (gpsdecode is in gpsd-clients)")
    if not os.path.exists(os.path.join(VENV, "bin", "python")):
        sh([sys.executable, "-m", "venv", VENV])
        sh([os.path.join(VENV, "bin", "pip"), "install", "--quiet", "pyais==2.9.2"])
    sh(["cargo", "build", "--release", "--locked", "-p", "ops-console", "--bin", "tidewatch"])
    bench = os.path.join(ROOT, "target", "bench")
    os.makedirs(bench, exist_ok=True)
    ours_out = os.path.join(bench, "load.nmea")
    peer_out = os.path.join(bench, "load-pyais.nmea")
    peer_py = os.path.join(bench, "pyais_load.py")
    with open(peer_py, "w") as f:
        f.write(PEER)
    tw = os.path.join(ROOT, "target", "release", "tidewatch")
    one = ["taskset", "-c", "0"]
    ours_cmd = one + [tw, "simulate", "--load", str(a.rate), "--duration", f"{a.seconds}s",
                      "--start", "2026-11-22T02:00:00Z", "--out", ours_out]
    timed(ours_cmd)
    n = lines(ours_out)
    peer_cmd = one + [os.path.join(VENV, "bin", "python"), peer_py, str(n), peer_out]
    gpsd_cmd = ["sh", "-c", f"taskset -c 0 gpsdecode -u -c < {ours_out} > /dev/null"]
    t = {"ours": [], "pyais": [], "gpsdecode": []}
    for _ in range(a.rounds):
        t["ours"].append(timed(ours_cmd))
        t["pyais"].append(timed(peer_cmd))
        t["gpsdecode"].append(timed(gpsd_cmd))
    med = {k: statistics.median(v) for k, v in t.items()}
    print(f"{n:,} sentences ({a.rate:,}/s of scenario time for {a.seconds} s); {a.rounds} rounds, one core, medians")
    print(f"{'':36} {'seconds':>8} {'sentences/s':>12}")
    print(f"{'tidewatch simulate --load (writes)':36} {med['ours']:8.3f} {n / med['ours']:12,.0f}")
    print(f"{'pyais encode_dict (writes)':36} {med['pyais']:8.3f} {lines(peer_out) / med['pyais']:12,.0f}")
    print(f"{'gpsdecode -u -c (reads ours)':36} {med['gpsdecode']:8.3f} {n / med['gpsdecode']:12,.0f}")
    print()
    print(f"ratio ours vs pyais (writing):        {med['pyais'] / med['ours']:6.1f}x faster")
    print(f"ratio ours writing vs gpsdecode reading: {med['gpsdecode'] / med['ours']:6.1f}x")
    rate = n / med["ours"]
    print(f"goal 200,000 sentences/s on one core: {'met' if rate >= 200_000 else 'NOT met'} ({rate:,.0f})")


if __name__ == "__main__":
    main()
