#!/usr/bin/env bash
# Side-by-side benchmark: vigipy (PyPI) on the same pairs files as
# `cargo bench -p risk --bench signals`, and a comparison of the numbers.
#
#   scripts/bench-vigipy.sh            # uses /tmp/risk-bench, /tmp/vigipy-venv
#   RISK_BENCH_OUT=DIR VIGIPY_VERSION=3.5.1 scripts/bench-vigipy.sh
#
# Our side: the bench writes DIR/{caers_pairs,synthetic}_pairs.csv, our results
# DIR/<set>_<method>.csv and the fitted MGPS prior DIR/<set>_mgps_prior.json. vigipy's MGPS is
# given that prior (prior_param) so that the posterior numbers can be compared; its own prior fit
# (over the dense table, zeros included) is timed separately on CAERS only.
# vigipy's GPS evaluates digamma through sympy and quantiles element by element in Python; on the
# 1,000,000-pair table it is run on the first VIGIPY_MGPS_ROWS rows (default 20000) and the time
# scaled, which the output says. VIGIPY_SETS="caers_pairs" limits the run to CAERS. Every time is
# the best of VIGIPY_RUNS (default 3) calls, as the Rust bench takes the best of RISK_BENCH_RUNS.
# Run both under the same conditions (e.g. both under `nice -n 19`) and note the load average.
# Where the bench wrote its compute times (DIR/<set>_times.json) each line also gives ours and
# the ratio (vigipy's time over ours; for gps on the synthetic table, over the scaled time).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${RISK_BENCH_OUT:-/tmp/risk-bench}
VENV=${VIGIPY_VENV:-/tmp/vigipy-venv}
VERSION=${VIGIPY_VERSION:-3.5.1}

if [ ! -f "$OUT/synthetic_pairs.csv" ]; then
  RISK_BENCH_OUT="$OUT" cargo bench -p risk --bench signals
fi
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install -q "vigipy==$VERSION"

"$VENV/bin/python" - "$OUT" <<'EOF'
import json, sys, time
import numpy as np
import pandas as pd
import vigipy
from vigipy import convert, prr, ror, bcpnn, gps

out = sys.argv[1]
rows_mgps = int(__import__("os").environ.get("VIGIPY_MGPS_ROWS", "20000"))
runs = int(__import__("os").environ.get("VIGIPY_RUNS", "3"))

def best(f):
    """Best wall time of `runs` calls (as the Rust bench takes the best of RISK_BENCH_RUNS)."""
    dt, out = float("inf"), None
    for _ in range(runs):
        t = time.perf_counter(); out = f(); dt = min(dt, time.perf_counter() - t)
    return dt, out
print(f"vigipy {getattr(vigipy, '__version__', '?')}, numpy {np.__version__}, pandas {pd.__version__}")

def ours(name, method):
    df = pd.read_csv(f"{out}/{name}_{method}.csv", keep_default_na=False, na_values=["NaN"])
    return df.set_index(["product", "event"])

def relmax(a, b):
    a = np.asarray(a, dtype=float); b = np.asarray(b, dtype=float)
    ok = np.isfinite(a) & np.isfinite(b)
    if not ok.any():
        return float("nan")
    return float(np.max(np.abs(a[ok] - b[ok]) / np.maximum(np.abs(b[ok]), 1e-300)))

def pick(df, *names):
    for n in names:
        if n in df.columns:
            return df[n]
    raise KeyError(f"none of {names} in {list(df.columns)}")

times = {}
def ratio(name, method, theirs):
    """ours vs vigipy from the compute times our bench wrote (DIR/<set>_times.json)."""
    if name not in times:
        try:
            times[name] = json.load(open(f"{out}/{name}_times.json"))
        except OSError:
            times[name] = {}
    t = times[name].get(method)
    return f"; ours {t * 1e3:.3f} ms, {theirs / t:.0f}x" if t else ""

def keyed(res):
    df = res.all_signals.copy()
    return df.set_index([pick(df, "Product", "product"), pick(df, "Adverse Event", "AE", "event")])

for name in __import__("os").environ.get("VIGIPY_SETS", "caers_pairs synthetic").split():
    pairs = pd.read_csv(f"{out}/{name}.csv" if name == "caers_pairs" else f"{out}/synthetic_pairs.csv",
                        keep_default_na=False, dtype={"product": str, "event": str})
    df = pairs.rename(columns={"product": "name", "event": "AE"})
    print(f"\n{name}: {len(df)} pairs")
    t_conv, cont = best(lambda: convert(df))
    print(f"  convert: {t_conv:.3f} s")

    # vigipy >= 3.5 adds 0.5 to every cell of tables with a zero cell unless told not to; the
    # plain formulas are what both sides compute with continuity_correction=False.
    import inspect
    cc = {"continuity_correction": False} if "continuity_correction" in inspect.signature(prr).parameters else {}
    dt, r = best(lambda: prr(cont, min_events=1, ranking_statistic="CI", decision_metric="rank", **cc))
    k = keyed(r); o = ours(name, "prr").reindex(k.index)
    print(f"  prr: {dt:.3f} s (+convert {t_conv:.3f}){ratio(name, 'prr', dt)}; max rel diff PRR {relmax(k['PRR'], o['prr']):.2e}, "
          f"CI {relmax(pick(k, 'CI Lower'), o['prr_lo']):.2e} / {relmax(pick(k, 'CI Upper'), o['prr_hi']):.2e}")

    dt, r = best(lambda: ror(cont, min_events=1, ranking_statistic="CI", decision_metric="rank", **cc))
    k = keyed(r); o = ours(name, "ror").reindex(k.index)
    print(f"  ror: {dt:.3f} s{ratio(name, 'ror', dt)}; max rel diff ROR {relmax(k['ROR'], o['ror']):.2e}, "
          f"CI {relmax(pick(k, 'CI Lower'), o['ror_lo']):.2e} / {relmax(pick(k, 'CI Upper'), o['ror_hi']):.2e}")

    dt, r = best(lambda: bcpnn(cont, min_events=1, ranking_statistic="quantile", decision_metric="rank"))
    k = keyed(r); o = ours(name, "bcpnn").reindex(k.index)
    print(f"  bcpnn: {dt:.3f} s{ratio(name, 'bcpnn', dt)}; max rel diff IC025 {relmax(k['quantile'], o['ic025']):.2e}")

    prior = json.load(open(f"{out}/{name}_mgps_prior.json"))
    theta = np.array([prior["alpha1"], prior["beta1"], prior["alpha2"], prior["beta2"], prior["p"]])
    sub = cont
    scale = 1.0
    if len(cont.data) > rows_mgps:
        import copy
        sub = copy.copy(cont)
        sub.data = cont.data.iloc[:rows_mgps].copy()
        scale = len(cont.data) / rows_mgps
    dt, r = best(lambda: gps(sub, min_events=1, prior_param=theta, decision_metric="rank", ranking_statistic="log2"))
    k = keyed(r); o = ours(name, "mgps").reindex(k.index)
    ebgm = np.power(2.0, k["log2"].astype(float))
    note = f" on {rows_mgps} of {len(cont.data)} cells, x{scale:.1f} = {dt*scale:.1f} s for all" if scale != 1.0 else ""
    print(f"  gps (our prior): {dt:.3f} s{note}{ratio(name, 'mgps', dt * scale)}; max rel diff EBGM {relmax(ebgm, o['ebgm']):.2e}, EB05 {relmax(k['LowerBound'].astype(float), o['eb05']):.2e}")
    if name == "caers_pairs":
        dt, r = best(lambda: gps(cont, min_events=1, decision_metric="rank", ranking_statistic="log2"))
        print(f"  gps (its own prior fit, zeros included): {dt:.3f} s; prior {r.param['prior_param']}")
EOF
