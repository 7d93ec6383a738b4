#!/usr/bin/env python3
"""AIS decode benchmark: ours against the `ais` crate and gpsdecode, in one run.

Usage: python3 tests/bench/decode.py [--rounds N] [--sentences N]

Builds the release binaries, makes the standard input with ../shared/bench/gen_bench_input.py
(1M sentences), then runs every decoder on one core (taskset -c 0), alternating, N rounds,
and reports medians of wall time and peak RSS, and ratios against the peers measured in
the same run. Absolute times on shared machines are noise; the ratios are the result.

  decode only:  ours (ingest::ais::Decoder)  vs  the `ais` crate 0.12  vs  `gpsdecode -u -c`
  with output:  `tidewatch decode --format gpsd` and `tidewatch decode` (our JSON)
                vs  `gpsdecode -u -j`  vs  `aiscat` (AIS-catcher's C++ decoder from PyPI, its full
                JSON a message: tests/bench/aiscat_json.py, installed into target/tools/aiscat)
  observations: ingest's pipeline on every line (decode, duplicates, observation), without
                JSON, with `Observation::write_json` (what ingest publishes) and with serde's
                derive: what writing costs next to decoding; and the same in one process
                (`decode_bench writers`: decoding every line and writing every observation in
                turns, 15 rounds), whose ratio the hour's speed cancels out of
  formats:      the two JSON writers alone on the same messages just decoded, in turns
                (`decode_bench formats`, 15 rounds): what our JSON's writing costs next to gpsd's
  streaming:    ours on 1x and 5x the input through a pipe: peak RSS must not grow.
"""
import argparse, os, resource, shutil, statistics, subprocess, sys, time

AISCAT_VERSION = "0.68.16"

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.environ.get("TIDEWATCH_SHARED", os.path.join(ROOT, "..", "shared"))


def sh(cmd, **kw):
    subprocess.run(cmd, check=True, cwd=ROOT, **kw)


def timed(cmd, stdin_path=None, repeat_input=1):
    """Wall seconds and peak RSS (KiB) of one run of cmd, output discarded."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    if repeat_input > 1:
        cat = subprocess.Popen(["cat"] + [stdin_path] * repeat_input, stdout=subprocess.PIPE)
        p = subprocess.run(cmd, stdin=cat.stdout, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
        cat.wait()
    else:
        with open(stdin_path, "rb") if stdin_path else open(os.devnull, "rb") as f:
            p = subprocess.run(cmd, stdin=f, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"{cmd} failed with {p.returncode}")
    # ru_maxrss of children is the max over all children so far; measure with /usr/bin/time instead.
    return dt


def peak_rss_kib(cmd, stdin_path, repeat_input=1):
    cat = subprocess.Popen(["cat"] + [stdin_path] * repeat_input, stdout=subprocess.PIPE)
    p = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, stdin=cat.stdout,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT, text=True)
    cat.wait()
    return int(p.stderr.strip().splitlines()[-1])


def aiscat_python():
    """The Python of a venv in target/tools/aiscat holding `aiscat` (made on first use)."""
    venv = os.path.join(ROOT, "target", "tools", "aiscat")
    py = os.path.join(venv, "bin", "python")
    ok = os.path.exists(py) and subprocess.run(
        [py, "-c", f"import importlib.metadata as m; assert m.version('aiscat') == '{AISCAT_VERSION}'"],
        stderr=subprocess.DEVNULL).returncode == 0
    if not ok:
        print(f"installing aiscat {AISCAT_VERSION} into {venv}", file=sys.stderr)
        sh([sys.executable, "-m", "venv", venv])
        sh([os.path.join(venv, "bin", "pip"), "install", "--quiet", "--disable-pip-version-check",
            f"aiscat=={AISCAT_VERSION}"])
    return py


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--sentences", type=int, default=1_000_000)
    a = ap.parse_args()
    for prog in ("gpsdecode", "taskset"):
        if not shutil.which(prog):
            sys.exit(f"{prog} is missing: run tests/install-deps.sh (gpsdecode is in gpsd-clients)")
    sh(["cargo", "build", "--release", "--locked", "-p", "ingest", "--example", "decode_bench",
        "-p", "ops-console", "--bin", "tidewatch"])
    bench_dir = os.path.join(ROOT, "target", "bench")
    os.makedirs(bench_dir, exist_ok=True)
    inp = os.path.join(bench_dir, f"bench-{a.sentences}.nmea")
    if not os.path.exists(inp):
        sh([sys.executable, os.path.join(SHARED, "bench", "gen_bench_input.py"), str(a.sentences), inp])
    ex = os.path.join(ROOT, "target", "release", "examples", "decode_bench")
    tw = os.path.join(ROOT, "target", "release", "tidewatch")
    one = ["taskset", "-c", "0"]
    aiscat = [aiscat_python(), os.path.join(ROOT, "tests", "bench", "aiscat_json.py")]
    runs = {
        "ours (decode only)": one + [ex, "ours", "-"],
        "ais crate 0.12 (decode only)": one + [ex, "ais", "-"],
        "gpsdecode -u -c": one + ["gpsdecode", "-u", "-c"],
        "tidewatch decode --format gpsd": one + [tw, "decode", "--format", "gpsd", "-"],
        "gpsdecode -u -j": one + ["gpsdecode", "-u", "-j"],
        "tidewatch decode (our JSON)": one + [tw, "decode", "-"],
        "aiscat (JSON)": one + aiscat,
        "ingest pipeline, no JSON": one + [ex, "pipeline", "-"],
        "ingest pipeline + observation JSON": one + [ex, "pipeline-json", "-"],
        "ingest pipeline + serde derive JSON": one + [ex, "pipeline-serde", "-"],
    }
    times = {k: [] for k in runs}
    for r in range(a.rounds):
        for name, cmd in runs.items():
            times[name].append(timed(cmd, inp))
    med = {k: statistics.median(v) for k, v in times.items()}
    with open(inp, "rb") as f:
        n = sum(1 for _ in f)
    print(f"input: {inp} ({os.path.getsize(inp)} bytes, {n} sentences); {a.rounds} rounds, one core, medians")
    print(f"{'decoder':34} {'seconds':>8} {'sentences/s':>12}")
    for k, v in med.items():
        print(f"{k:34} {v:8.3f} {n / v:12,.0f}")
    ours = med["ours (decode only)"]
    print()
    print(f"ratio ours vs ais crate (decode only):       {med['ais crate 0.12 (decode only)'] / ours:5.1f}x faster")
    print(f"ratio ours vs gpsdecode -u -c:               {med['gpsdecode -u -c'] / ours:5.1f}x faster")
    gpsd_json = med["tidewatch decode --format gpsd"]
    our_json = med["tidewatch decode (our JSON)"]
    print(f"ratio tidewatch --format gpsd vs gpsdecode -u -j: {med['gpsdecode -u -j'] / gpsd_json:5.1f}x faster")
    print(f"ratio tidewatch --format gpsd vs aiscat (JSON):   {med['aiscat (JSON)'] / gpsd_json:5.1f}x faster")
    print(f"ratio tidewatch (our JSON) vs gpsdecode -u -j:    {med['gpsdecode -u -j'] / our_json:5.1f}x faster")
    print(f"ratio tidewatch (our JSON) vs aiscat (JSON):      {med['aiscat (JSON)'] / our_json:5.1f}x faster")
    print(f"our JSON costs {our_json / gpsd_json:4.2f}x what --format gpsd does")
    # Writing the observations ingest publishes: the pipeline with JSON less the pipeline
    # without, against decoding alone (per sentence). Taken round by round (the three runs
    # of a round are adjacent) and then the median: a difference of two medians swings with
    # the machine's hour by more than what it measures.
    base = times["ingest pipeline, no JSON"]
    per = lambda k: [(j - b) / n * 1e9 for j, b in zip(times[k], base)]
    ours_ws, serde_ws = per("ingest pipeline + observation JSON"), per("ingest pipeline + serde derive JSON")
    ratios = [w / (d / n * 1e9) for w, d in zip(ours_ws, times["ours (decode only)"])]
    ours_w, serde_w = statistics.median(ours_ws), statistics.median(serde_ws)
    dec = ours / n * 1e9
    print(f"writing an observation's JSON: {ours_w:.0f} ns a sentence ({statistics.median(ratios):4.2f}x decoding it, "
          f"{dec:.0f} ns; rounds {min(ratios):.2f}-{max(ratios):.2f}x); through serde's derive {serde_w:.0f} ns "
          f"({serde_w / dec:4.2f}x)")
    # The same, in one process: decoding every line and writing every observation in turns,
    # a round's two adjacent in time, so the hour's speed cancels out of their ratio.
    print("writing against decoding, in one process (decode_bench writers):")
    w = subprocess.run(one + [ex, "writers", inp, "--rounds", "15"], check=True, cwd=ROOT,
                       capture_output=True, text=True).stdout
    # Its two summaries: observations just made (in cache, as ingest writes them) and from
    # memory.
    for line in w.strip().splitlines():
        if "median" in line:
            print(line)
    # Our JSON against gpsd's, writing only, in one process: the same messages, just
    # decoded, written in both formats in turns (decode_bench formats).
    print("our JSON against gpsd's, writing only, in one process (decode_bench formats):")
    w = subprocess.run(one + [ex, "formats", inp, "--rounds", "15"], check=True, cwd=ROOT,
                       capture_output=True, text=True).stdout
    print(w.strip().splitlines()[-1])
    rss1 = peak_rss_kib([ex, "ours", "-"], inp, 1)
    rss5 = peak_rss_kib([ex, "ours", "-"], inp, 5)
    rss_ais = peak_rss_kib([ex, "ais", "-"], inp, 1)
    rss_gpsd = peak_rss_kib(["gpsdecode", "-u", "-c"], inp, 1)
    print(f"peak RSS, streaming: ours {rss1} KiB on 1x input, {rss5} KiB on 5x; ais crate {rss_ais} KiB; gpsdecode {rss_gpsd} KiB")


if __name__ == "__main__":
    main()
