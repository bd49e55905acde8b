#!/usr/bin/env python3
"""check_api_errors.py — the error convention holds for every public call (issue 12, item 3).

Reads include/tinymlp/*.h and checks that
  1. every TMLP_API function returning tmlp_status either takes a trailing
     `tmlp_error *err` or has an `_ex` twin that does;
  2. every `_ex` twin has a row in tests/test_errors.c (which calls it with a bad argument
     and checks the message), except the engine's twins tested elsewhere and the ones listed
     in UNPROVOKED with the reason.
Usage: check_api_errors.py SOURCE_ROOT
"""
import glob
import os
import re
import sys

# _ex twins whose bad-argument messages other tests check (test_session.c, test_api.c, ...).
TESTED_ELSEWHERE = {
    "tmlp_model_load_ex", "tmlp_session_create_ex", "tmlp_session_forward_ex",
    "tmlp_session_forward_u8_ex", "tmlp_session_forward_profiled_ex",
    "tmlp_session_forward_rows_ex", "tmlp_session_forward_u8_rows_ex",
    "tmlp_model_set_preprocess_ex", "tmlp_blas_set_threads_ex",
}
# _ex twins no argument can make fail on a correct machine.
UNPROVOKED = {
    "tmlp_blas_check_core_ex": "fails only when OpenBLAS runs a core wrong for the CPU",
}


def declarations(root):
    decls = {}
    for h in sorted(glob.glob(os.path.join(root, "include", "tinymlp", "*.h"))):
        text = re.sub(r"/\*.*?\*/", "", open(h, encoding="utf-8").read(), flags=re.S)
        for m in re.finditer(r"TMLP_API\s+tmlp_status\s+(\w+)\s*\(([^;]*?)\)\s*;", text, re.S):
            params = " ".join(m.group(2).split())
            decls[m.group(1)] = (os.path.basename(h), params)
    return decls


def main():
    root = sys.argv[1]
    decls = declarations(root)
    table = open(os.path.join(root, "tests", "test_errors.c"), encoding="utf-8").read()
    bad = []
    for name, (header, params) in sorted(decls.items()):
        last = params.split(",")[-1].strip()
        takes_err = re.fullmatch(r"tmlp_error\s*\*\s*\w+", last) is not None
        if not takes_err:
            twin = decls.get(name + "_ex")
            if not twin or not twin[1].split(",")[-1].strip().startswith("tmlp_error"):
                bad.append(f"{header}: {name} takes no tmlp_error * and has no _ex twin that does")
        if name.endswith("_ex") and name[:-3] in decls and name not in TESTED_ELSEWHERE \
                and name not in UNPROVOKED:
            if not re.search(r"X\(\w+,\s*" + re.escape(name[:-3]) + r"(_ex)?,", table):
                bad.append(f"{header}: {name} has no row in tests/test_errors.c")
    for b in bad:
        print(b)
    print(f"{len(decls)} status-returning declarations checked, {len(bad)} problems")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
