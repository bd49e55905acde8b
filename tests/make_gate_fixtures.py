#!/usr/bin/python3
"""make_gate_fixtures.py — write tests/compare_fixtures/gate_*.json: small bench_mlp results
documents (schema_version 1; the keys `compare` and `regress` read and those every reader
requires, bench/result_check.c) whose per-repetition values are chosen so that the
regression gate's rule has something to decide:

  gate_base.json   three runs (single-stream, multi-stream, offline), 5 repetitions each,
                   values with ~2-3% between-repetition spread;
  gate_aa.json     the same workload measured again with no real change, except that the
                   single-stream p50 repetitions came out ~4% lower with a small spread —
                   the issue-22 A/A case: a plain Welch test on those five values calls B
                   faster (p ~ 0.01), the gate (Holm over all the metrics, bar max(5%,
                   noise floor)) calls it unchanged;
  gate_slow.json   every latency 20% higher and every throughput 1/1.2 of base: a real
                   slowdown that every metric shows;
  gate_two.json    two repetitions a side only: no test, the threshold alone decides.
  bad_p50.json     gate_base.json with the single-stream p50 written as 1e999 (a number
                   a double cannot hold): every reader refuses it naming
                   /runs/0/latency_ns/p50 (docs/bench_mlp.md shows the line).

Run it from the source root: /usr/bin/python3 tests/make_gate_fixtures.py
"""
import json
import os

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "compare_fixtures")
SPREAD = [1.000, 1.021, 0.984, 1.012, 0.979]  # per repetition, the machine's drift
METRICS = ["mean", "p50", "p90", "p99"]
BASE = {  # ns; throughput in samples/s
    "single-stream": {"mean": 10400, "p50": 10000, "p90": 11500, "p99": 14000},
    "multi-stream": {"mean": 41000, "p50": 40000, "p90": 44000, "p99": 52000},
    "offline": {"mean": 1.2e9, "p50": 1.2e9, "p90": 2.1e9, "p99": 2.3e9},
}
THROUGHPUT = {"single-stream": 96000.0, "multi-stream": 195000.0, "offline": 450000.0}
DIGEST = {"single-stream": "1111111111111111", "multi-stream": "2222222222222222", "offline": "3333333333333333"}


def context():
    return {"host": "fixture", "cpu": "fixture CPU", "cores": 2,
            "model": {"kind": "synthetic", "source": "synthetic:64x32x10", "layers": "linear,relu,linear,softmax",
                      "input_width": 64, "output_width": 10, "params": 2410},
            "data": {"kind": "synthetic", "source": "synthetic", "count": 4096, "width": 64},
            "seeds": {"sample": "10688027786191513374", "schedule": "14962580496156340209"}}


def run(scen, reps):
    settings = {"scenario": scen, "mode": "performance", "min_duration_ms": 100, "max_duration_ms": 2000,
                "min_query_count": 64, "max_query_count": 0, "warmup_queries": 8,
                "target_latency_percentile": 0.9 if scen == "single-stream" else 0.99,
                "sample_seed": "10688027786191513374", "percentile_method": "loadgen",
                "samples_per_query": 8, "offline_batch_size": 256, "offline_sample_count": 0}
    return {"scenario": scen, "label": scen, "mode": "performance", "valid": True, "settings": settings,
            "workload_digest": DIGEST[scen], "repetitions": reps,
            "queries": sum(r["queries"] for r in reps), "duration_ns": sum(r["duration_ns"] for r in reps),
            "latency_ns": {m: sorted(r["latency_ns"][m] for r in reps)[len(reps) // 2] for m in METRICS},
            "throughput_samples_per_s": sorted(r["throughput_samples_per_s"] for r in reps)[len(reps) // 2]}


def reps(scen, n, lat_scale=1.0, p50_scale=None, spread=SPREAD):
    out = []
    for i in range(n):
        k = spread[i % len(spread)]
        lat = {m: round(BASE[scen][m] * lat_scale * k, 1) for m in METRICS}
        if p50_scale is not None:
            lat["p50"] = round(BASE[scen]["p50"] * p50_scale[i], 1)
        out.append({"repetition": i + 1, "valid": True, "queries": 1000, "duration_ns": 100000000, "latency_ns": lat,
                    "throughput_samples_per_s": round(THROUGHPUT[scen] / (lat_scale * k), 1),
                    "workload_digest": DIGEST[scen]})
    return out


def doc(runs):
    return {"schema_version": 1, "context": context(), "runs": runs}


def write(name, d):
    with open(os.path.join(HERE, name), "w") as f:
        json.dump(d, f, indent=1)
        f.write("\n")


SCENS = ["single-stream", "multi-stream", "offline"]
write("gate_base.json", doc([run(s, reps(s, 5)) for s in SCENS]))
# the A/A case: other drifts, and the single-stream p50 ~4% lower with a small spread
AA = [0.990, 1.008, 1.017, 0.993, 1.004]
write("gate_aa.json", doc([run(s, reps(s, 5, spread=AA,
                                     p50_scale=[0.962, 0.955, 0.967, 0.958, 0.961] if s == "single-stream" else None))
                           for s in SCENS]))
write("gate_slow.json", doc([run(s, reps(s, 5, lat_scale=1.2, spread=AA)) for s in SCENS]))
write("gate_two.json", doc([run(s, reps(s, 2, lat_scale=1.08, spread=AA)) for s in SCENS]))
# json cannot write an infinite number: a placeholder value, replaced in the text
bad = doc([run(s, reps(s, 5)) for s in SCENS])
bad["runs"][0]["latency_ns"]["p50"] = 123456789.5
with open(os.path.join(HERE, "bad_p50.json"), "w") as f:
    f.write(json.dumps(bad, indent=1).replace("123456789.5", "1e999") + "\n")
