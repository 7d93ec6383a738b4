#!/usr/bin/env python3
"""Fusion benchmark: `tidewatch analyze` (decode + fusion, end to end) on the standard 1M-sentence
input, against `gpsdecode -u -c` (decode only) in the same run.

Usage: python3 tests/bench/analyze.py [--rounds N] [--sentences N]

Builds the release binary, makes the input with ../shared/bench/gen_bench_input.py, then runs, on one
core (taskset -c 0) and alternating, N rounds of:

  ours:  tidewatch analyze --start T --rate 1000 FILE   (alerts to /dev/null; land, ports, MID loaded)
  ours, land check off (what the land test costs: the difference)
  peer:  gpsdecode -u -c < FILE                          (decode only, no output)

and reports medians of wall time and of CPU time (user + sys), sentences per second, peak RSS, and
the ratio ours/peer. It also prints analyze's own summary (vessels tracked, bytes of live state per
vessel). Absolute times on shared machines are noise; compare the ratios measured side by side.
"""
import argparse, os, shutil, statistics, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.environ.get("TIDEWATCH_SHARED", os.path.join(ROOT, "..", "shared"))
TIDEWATCH = os.path.join(ROOT, "target", "release", "tidewatch")


def run(cmd, stdin_path=None):
    """(wall s, cpu s, peak RSS KiB, stderr) of one run, output discarded."""
    fmt = "%e %U %S %M"
    with open(stdin_path, "rb") if stdin_path else open(os.devnull, "rb") as f:
        p = subprocess.run(["/usr/bin/time", "-f", fmt, "taskset", "-c", "0"] + cmd, stdin=f,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    if p.returncode != 0:
        sys.exit(f"{cmd} failed with {p.returncode}:\n{p.stderr[-2000:]}")
    wall, user, sys_, rss = p.stderr.strip().splitlines()[-1].split()
    return float(wall), float(user) + float(sys_), int(rss), p.stderr


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--sentences", type=int, default=1_000_000)
    a = ap.parse_args()
    for prog in ("gpsdecode", "taskset"):
        if not shutil.which(prog):
            sys.exit(f"{prog} is missing: run tests/install-deps.sh (gpsdecode is in gpsd-clients)")
    subprocess.run(["cargo", "build", "--release", "--locked", "-p", "ops-console", "--bin", "tidewatch"],
                   check=True, cwd=ROOT)
    tmp = tempfile.mkdtemp(prefix="tidewatch-bench-")
    data = os.path.join(tmp, "bench.nmea")
    subprocess.run([sys.executable, os.path.join(SHARED, "bench", "gen_bench_input.py"), str(a.sentences), data],
                   check=True, stdout=subprocess.DEVNULL)
    noland = os.path.join(tmp, "noland.toml")
    with open(noland, "w") as f:
        f.write("[position_jump]\nland = false\n")
    analyze = [TIDEWATCH, "analyze", "--start", "2026-11-22T00:00:00Z", "--rate", "1000", data]
    cases = {
        "tidewatch analyze": (analyze, None),
        "tidewatch analyze, land check off": (analyze[:2] + ["--config", noland] + analyze[2:], None),
        "gpsdecode -u -c (decode only)": (["gpsdecode", "-u", "-c"], data),
    }
    results = {k: [] for k in cases}
    summary = ""
    for _ in range(a.rounds):
        for name, (cmd, stdin) in cases.items():
            wall, cpu, rss, err = run(cmd, stdin)
            results[name].append((wall, cpu, rss))
            if name == "tidewatch analyze":
                summary = "\n".join(l for l in err.splitlines() if l.startswith(("tidewatch analyze", "tracks", "alerts")))
    n = a.sentences
    print(f"\n{n} sentences, {a.rounds} rounds, one core, medians:")
    print(f"{'':38} {'wall s':>8} {'cpu s':>8} {'sent/s (cpu)':>13} {'peak RSS':>10}")
    med = {}
    for name, rs in results.items():
        wall = statistics.median(r[0] for r in rs)
        cpu = statistics.median(r[1] for r in rs)
        rss = statistics.median(r[2] for r in rs)
        med[name] = (wall, cpu, rss)
        print(f"{name:38} {wall:8.2f} {cpu:8.2f} {n / cpu:13,.0f} {rss / 1024:8.1f} MiB")
    peer = med["gpsdecode -u -c (decode only)"][1]
    for name in ("tidewatch analyze", "tidewatch analyze, land check off"):
        print(f"{name} (decode + fusion) vs gpsdecode (decode only): {peer / med[name][1]:.2f}x the throughput")
    print("\nanalyze's summary of the last round:\n" + summary)
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
