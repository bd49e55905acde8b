#!/usr/bin/python3
"""check_bench_includes.py — bench/ is a client of the public API: it includes only
include/tinymlp.h, include/tinymlp/*.h, its own headers (bench/*.h and the ones meson
generates there) and system headers, never a header of the library's sources (src/).

    check_bench_includes.py SOURCE_ROOT [--self-test]

An #include "X" or <X> in bench/ (programs, peers) fails when X is a header under src/
(as "kernels/kernels.h", "bench/harness_internal.h", "internal.h" resolve through the
library's private include path), or names no file at all among the allowed places and
looks like a project header (a quoted include). Prints each offence and exits 1; exit 0
with a count otherwise.
"""
import glob
import os
import re
import sys

# Headers bench/ may still include from src/, each with its reason (none: keep it so).
TEMPORARY_EXCEPTIONS = {}
# Made by meson in the build directory's bench/ (bench/meson.build).
GENERATED = {"bench_config.h", "bench_git.h"}

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^">]+)[">]', re.M)


def private_headers(root):
    """Every header under src/, as each of the private include paths would name it."""
    names = set()
    src = os.path.join(root, "src")
    for h in glob.glob(os.path.join(src, "**", "*.h"), recursive=True):
        rel = os.path.relpath(h, src)
        names.add(rel)                                        # -I src: "kernels/kernels.h"
        names.add(os.path.relpath(h, os.path.join(src, "tensor")))  # -I src/tensor
        names.add(os.path.basename(h))                        # beside its source
    return {n for n in names if not n.startswith("..")}


def main():
    root = sys.argv[1]
    private = private_headers(root)
    public = {"tinymlp.h"} | {"tinymlp/" + os.path.basename(h)
                              for h in glob.glob(os.path.join(root, "include", "tinymlp", "*.h"))}
    bench = os.path.join(root, "bench")
    files = sorted(glob.glob(os.path.join(bench, "**", "*.[ch]"), recursive=True))
    bad, seen = [], 0
    for f in files:
        here = os.path.dirname(f)
        text = open(f, encoding="utf-8").read()
        for m in INCLUDE.finditer(text):
            seen += 1
            kind, name = m.group(1), m.group(2)
            line = text.count("\n", 0, m.start()) + 1
            where = f"{os.path.relpath(f, root)}:{line}"
            if name in public:
                continue
            local = os.path.exists(os.path.join(here, name)) or name in GENERATED
            if name in TEMPORARY_EXCEPTIONS:
                print(f"{where}: {name} allowed for now ({TEMPORARY_EXCEPTIONS[name]})")
                continue
            if name in private and not local:
                bad.append(f"{where}: includes {name}, a library-internal header (src/): use "
                           f"include/tinymlp/ or make what bench/ needs public")
            elif kind == '"' and not local:
                bad.append(f"{where}: includes \"{name}\", which is neither in bench/ nor a "
                           f"public header (include/)")
    for b in bad:
        print(b)
    print(f"{len(files)} files of bench/, {seen} includes checked, {len(bad)} problems")
    return 1 if bad else 0


def self_test(root):
    """On a copy of the tree, bench/ including a src/ header (as "kernels/kernels.h" or
    <bench/harness_internal.h>) must fail the check."""
    import shutil
    import subprocess
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        for d in ("include", "src", "bench"):
            shutil.copytree(os.path.join(root, d), os.path.join(tmp, d))
        with open(os.path.join(tmp, "bench", "cli.c"), "a", encoding="utf-8") as f:
            f.write('\n#include "kernels/kernels.h"\n#include <bench/harness_internal.h>\n')
        r = subprocess.run([sys.executable, __file__, tmp], capture_output=True, text=True)
        if r.returncode != 1 or r.stdout.count("library-internal header") != 2:
            print(f"self-test: exit {r.returncode}, output:\n{r.stdout}")
            return 1
    print("self-test: both private includes are caught")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[2] == "--self-test":
        sys.exit(self_test(sys.argv[1]))
    sys.exit(main())
