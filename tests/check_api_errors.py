#!/usr/bin/python3
"""check_api_errors.py — the error convention holds for every public call.

Reads include/tinymlp/*.h and checks that
  1. every TMLP_API function returning tmlp_status takes a trailing `tmlp_error *err`
     (one signature per call: no public name ends in `_ex`, the 0.1 twins are gone);
  2. every call in TABLED has a row in tests/test_errors.c, which calls it with a bad
     argument and checks the status and the message; the calls whose messages other tests
     check, or that no argument can make fail, are listed with the reason;
  3. every row of tests/test_errors.c names a public status-returning call.
Usage: check_api_errors.py SOURCE_ROOT
"""
import glob
import os
import re
import sys

# Calls whose bad-argument messages test_errors.c tables (the calls that had an `_ex` twin
# in 0.1, CHANGELOG 0.2.0), less the two sets below.
TABLED = {
    "tmlp_percentile_method_parse", "tmlp_stats_summarize", "tmlp_stats_percentile",
    "tmlp_stats_percentile_ci_sorted", "tmlp_stats_welch", "tmlp_stats_student",
    "tmlp_stats_mannwhitney", "tmlp_stats_ci_mean", "tmlp_stats_ci_mean_diff",
    "tmlp_stats_ci_relative_change", "tmlp_stats_effect_size", "tmlp_stats_outliers_find",
    "tmlp_stats_bootstrap_ci", "tmlp_stats_sample_describe", "tmlp_stats_compare",
    "tmlp_monitor_get_summary", "tmlp_monitor_trace_events", "tmlp_srm_check",
    "tmlp_regress_compare_runs", "tmlp_regress_holm", "tmlp_report_heading",
    "tmlp_report_paragraph", "tmlp_report_bullet", "tmlp_report_code", "tmlp_report_table",
    "tmlp_report_table_row", "tmlp_report_figure", "tmlp_report_render",
    "tmlp_model_layer_info", "tmlp_model_layers_string", "tmlp_model_kernel_info",
    "tmlp_scenario_parse", "tmlp_mode_parse", "tmlp_kernel_parse", "tmlp_precision_parse",
}
# Messages checked by other tests (test_session.c, test_api.c, test_model_io.c, ...).
TESTED_ELSEWHERE = {
    "tmlp_model_load", "tmlp_session_create", "tmlp_session_forward",
    "tmlp_session_forward_u8", "tmlp_session_forward_profiled",
    "tmlp_session_forward_rows", "tmlp_session_forward_u8_rows",
    "tmlp_model_set_preprocess", "tmlp_blas_set_threads", "tmlp_session_set_threads",
    "tmlp_model_sut_set_threads",
}
# No argument can make these fail on a correct machine.
UNPROVOKED = {
    "tmlp_blas_check_core": "fails only when OpenBLAS runs a core wrong for the CPU",
}


def declarations(root):
    decls = {}
    for h in sorted(glob.glob(os.path.join(root, "include", "tinymlp", "*.h"))):
        text = re.sub(r"/\*.*?\*/", "", open(h, encoding="utf-8").read(), flags=re.S)
        for m in re.finditer(r"TMLP_API\s+tmlp_status\s+(\w+)\s*\(([^;]*?)\)\s*;", text, re.S):
            params = " ".join(m.group(2).split())
            decls[m.group(1)] = (os.path.basename(h), params)
        for m in re.finditer(r"TMLP_API\b[^;(]*?\b(\w+_ex)\s*\(", text):
            decls.setdefault(m.group(1), (os.path.basename(h), "?"))
    return decls


def main():
    root = sys.argv[1]
    decls = declarations(root)
    table = open(os.path.join(root, "tests", "test_errors.c"), encoding="utf-8").read()
    table = re.sub(r"/\*.*?\*/", "", table, flags=re.S)
    rows = set(re.findall(r"X\(\w+,\s*(\w+),", table))
    bad = []
    for name, (header, params) in sorted(decls.items()):
        if name.endswith("_ex"):
            bad.append(f"{header}: {name}: one signature per call, fold it into {name[:-3]}")
            continue
        last = params.split(",")[-1].strip()
        if not re.fullmatch(r"tmlp_error\s*\*\s*\w+", last):
            bad.append(f"{header}: {name} takes no trailing tmlp_error *")
    for name in sorted(TABLED | TESTED_ELSEWHERE | set(UNPROVOKED)):
        if name not in decls:
            bad.append(f"check_api_errors.py names {name}, which no public header declares")
    for name in sorted(TABLED - rows):
        bad.append(f"{name} has no row in tests/test_errors.c")
    for name in sorted(rows - set(decls)):
        bad.append(f"tests/test_errors.c has a row for {name}, not a public status call")
    for b in bad:
        print(b)
    print(f"{len(decls)} status-returning declarations checked, {len(rows)} calls tabled, "
          f"{len(bad)} problems")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
