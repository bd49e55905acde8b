#!/usr/bin/python3
"""check_schema.py BENCH_MLP SCHEMA FIXTURES — every JSON document bench_mlp writes, produced
for real by its subcommands, validated against docs/schema/results-v1.json (JSON Schema
draft 7, python3-jsonschema).

Documents: the run's --format json (every scenario, --repeat, --raw-latencies, server issue
delays, accuracy mode with a paired int8-vs-f32 block, find-peak, 2 MPI ranks when mpirun
and an MPI build are there), --trace, report's
results.json / find_peak.json / precision_*.json / resources.json / resources.trace.json,
and compare --format json on results files, on text files and with --per-query. regress,
ab, plan and profile write no JSON.

Each document is checked twice: against the shipped schema, and against a strict copy in
which every described object refuses keys it does not list (except the open "context" and
the trace events). A key added to a writer without its line in the schema fails here,
which is how the schema stays complete; adding an optional key does not bump
schema_version (docs/bench_mlp.md, "Results format").

Exit 77 (skipped) only when python3-jsonschema is not installed.
"""
import copy
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile

try:
    import jsonschema
except ImportError:
    print("python3-jsonschema is not installed: skipped")
    sys.exit(77)

BENCH, SCHEMA, FIX = sys.argv[1], sys.argv[2], sys.argv[3]
MODEL = os.path.join(FIX, "cli_tiny_mlp.safetensors")
IDX = os.path.join(FIX, "cli_tiny-images-idx3-ubyte")
OPEN = {"context", "trace_document", "history_row"}  # definitions whose objects may grow without a schema change
failures = 0


def strict(node, open_subtree=False):
    """A copy of the schema where every object with "properties" has additionalProperties: false."""
    if isinstance(node, list):
        return [strict(x, open_subtree) for x in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for k, v in node.items():
        if k == "definitions":
            out[k] = {name: strict(d, name in OPEN) for name, d in v.items()}
        else:
            out[k] = strict(v, open_subtree)
    if not open_subtree and "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    return out


schema = json.load(open(SCHEMA))
jsonschema.Draft7Validator.check_schema(schema)
shipped = jsonschema.Draft7Validator(schema)
tight = jsonschema.Draft7Validator(strict(schema))


def validator(v, kind):
    if kind == "results":
        return v
    s = {"definitions": v.schema["definitions"], "$ref": "#/definitions/%s_document" % kind}
    return jsonschema.Draft7Validator(s)


def check(path, kind):
    global failures
    try:
        doc = json.load(open(path))
    except (OSError, ValueError) as e:
        print("FAIL %s: not readable JSON: %s" % (path, e))
        failures += 1
        return
    for name, v in (("schema", shipped), ("strict schema", tight)):
        errs = sorted(validator(v, kind).iter_errors(doc), key=lambda e: list(e.absolute_path))
        for e in errs[:5]:
            print("FAIL %s (%s, %s): /%s: %s" % (os.path.basename(path), kind, name,
                                                 "/".join(str(p) for p in e.absolute_path), e.message[:300]))
        if errs:
            failures += 1
            return
    print("ok   %s (%s)" % (os.path.basename(path), kind))


def bench(*args, stdout=None):
    r = subprocess.run([BENCH] + list(args), stdout=stdout or subprocess.DEVNULL, stderr=subprocess.PIPE)
    if r.returncode != 0:
        sys.exit("bench_mlp %s: exit %d: %s" % (" ".join(args), r.returncode, r.stderr.decode()[-2000:]))


with tempfile.TemporaryDirectory() as t:
    p = lambda name: os.path.join(t, name)
    q = ["--model", "synthetic:16x8x3", "--quick", "--quiet", "--min-duration-ms", "30"]
    bench(*q, "--repeat", "2", "--raw-latencies", "--format", "json", "--output", p("all.json"),
          "--trace", p("all.trace.json"))
    bench(*q, "--scenario", "server", "--raw-latencies", "--format", "json", "--output", p("server.json"))
    bench("--model", MODEL, "--data", IDX, "--mode", "accuracy", "--precision", "int8", "--quiet",
          "--format", "json", "--output", p("accuracy.json"))
    bench(*q, "--mode", "find-peak", "--format", "json", "--output", p("peak.json"))
    for f in ("all.json", "server.json", "accuracy.json", "peak.json"):
        check(p(f), "results")
    # the strict check can fail: a key the schema does not list, and a figure of the wrong type
    d = json.load(open(p("all.json")))
    d["runs"][0]["undocumented"] = 1
    if tight.is_valid(d) or not shipped.is_valid(d):
        print("FAIL the strict schema accepts an undocumented run key (or the shipped one refuses it)")
        failures += 1
    d = json.load(open(p("all.json")))
    d["runs"][0]["latency_ns"]["p50"] = "fast"
    if shipped.is_valid(d):
        print("FAIL the schema accepts a string as p50")
        failures += 1
    check(p("all.trace.json"), "trace")

    # under mpirun (when bench_mlp has MPI and mpirun exists): context.mpi and per_rank
    mpirun = shutil.which("mpirun")
    if mpirun:
        env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
                   OMPI_MCA_rmaps_base_oversubscribe="1", OPENBLAS_NUM_THREADS="1")
        # in a sanitizer build: Open MPI's own allocations at exit are not ours (as cli_mpi.sh)
        supp = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lsan_mpi.supp")
        env["LSAN_OPTIONS"] = "suppressions=" + supp + (":" + os.environ["LSAN_OPTIONS"] if os.environ.get("LSAN_OPTIONS") else "")
        env["ASAN_OPTIONS"] = (os.environ["ASAN_OPTIONS"] + ":" if os.environ.get("ASAN_OPTIONS") else "") + \
            "fast_unwind_on_malloc=0"  # full malloc stacks, so the suppression sees Open MPI's frames
        r = subprocess.run(["timeout", "-k", "5", "60", mpirun, "--oversubscribe", "-n", "2", BENCH] + q +
                           ["--scenario", "single-stream,server,offline", "--format", "json", "--output", p("mpi.json")],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        if r.returncode == 0:
            check(p("mpi.json"), "results")
        elif b"built without MPI" in r.stderr:
            print("note: bench_mlp built without MPI: per-rank documents not checked")
        else:
            print("FAIL mpirun -n 2 bench_mlp: exit %d: %s" % (r.returncode, r.stderr.decode()[-1000:]))
            failures += 1
    else:
        print("note: no mpirun: per-rank documents not checked")

    bench("report", "--output", p("rep"), "--model", "synthetic:16x8x3", "--quick", "--no-profile",
          "--precisions", "f32,int8")
    for f in ["results.json", "find_peak.json"] + sorted(glob.glob(p("rep/precision_*.json"))):
        check(os.path.join(p("rep"), os.path.basename(f)), "results")
    check(p("rep/resources.json"), "resources")
    check(p("rep/resources.trace.json"), "trace")

    text_a = os.path.join(os.path.dirname(FIX), "compare_fixtures", "fast_a.txt")
    text_b = os.path.join(os.path.dirname(FIX), "compare_fixtures", "slow_b.txt")
    for name, args in (("compare_results.json", [p("all.json"), p("all.json")]),
                       ("compare_text.json", [text_a, text_b]),
                       ("compare_per_query.json", ["--per-query", p("all.json"), p("all.json")])):
        with open(p(name), "w") as out:
            bench("compare", "--format", "json", *args, stdout=out)
        check(p(name), "compare")

    # bench_mlp history: list, show and export of a database holding those runs
    bench("history", "import", p("h.db"), p("all.json"), p("rep/results.json"))
    for name, args, kind in (("hlist.json", ["list", p("h.db"), "--format", "json"], "history_list"),
                             ("hshow.json", ["show", p("h.db"), "1", "--format", "json"], "history_run"),
                             ("hexport.json", ["export", p("h.db"), "--format", "json"], "history_export")):
        with open(p(name), "w") as out:
            bench("history", *args, stdout=out)
        check(p(name), kind)

    # every writer stamps the version this bench_mlp reads: the C reader's constant
    for f in ("all.json", "rep/results.json", "rep/resources.json", "compare_text.json", "hlist.json", "hshow.json",
              "hexport.json"):
        d = json.load(open(p(f)))
        if d.get("schema_version") != 1:
            print("FAIL %s: schema_version %r, expected 1" % (f, d.get("schema_version")))
            failures += 1

if failures:
    print("%d document(s) do not match %s" % (failures, SCHEMA))
    sys.exit(1)
print("every document matches %s" % SCHEMA)
