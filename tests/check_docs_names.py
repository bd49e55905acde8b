#!/usr/bin/python3
"""check_docs_names.py — every name the documentation gives exists.

    check_docs_names.py SOURCE_ROOT BENCH_MLP [--self-test]

Reads README.md and docs/*.md and fails (exit 1, one line per offence) when
  1. a `tmlp_*` identifier (function, type or field prefix; a `tmlp_model_add_*` pattern
     is skipped) occurs nowhere in include/, src/, bench/ or examples/;
  2. a file path does not exist: a path in backticks or a Markdown link whose first part
     is a top-level folder of the tree (src/, bench/, docs/, tests/, tools/, ...) is
     looked up from the root (a link also from the document's folder); a bare file name
     in backticks with a source ending (.c .h .py .sh .build) must be some file's name;
  3. a `--option` is not listed by bench_mlp: on a line that names `bench_mlp SUB`, by
     `bench_mlp SUB --help`; anywhere else, by the --help of bench_mlp or of one of its
     subcommands. Options of other programs are listed below with the program;
  4. docs/building.md's layout table does not name a .c/.h file of src/<area>/ or bench/
     in the row of its folder;
  5. a Python program of tools/, bench/peers/, tests/ or fuzz/ does not start with
     #!/usr/bin/python3 (the interpreter python3-torch and python3-numpy install into).
Names that stand for what the reader makes up (placeholders) are listed with the reason.
"""
import glob
import os
import re
import subprocess
import sys

SUBCOMMANDS = ["compare", "report", "ab", "regress", "profile", "plan", "history"]
# Taken out of argv before the subcommand is chosen (bench/bench_mlp.c): every command
# accepts them, whether or not its --help repeats them.
GLOBAL = {"--kernels", "--precision", "--version", "--help", "--quick"}
# Options of programs other than bench_mlp that the documents show, by program.
OTHER_OPTIONS = {
    "meson": {"--buildtype", "--prefix", "--destdir", "--print-errorlogs", "--wipe",
              "--reconfigure", "--suite", "--num-processes", "--repeat", "--setup",
              "--no-rebuild", "--list", "--wrapper", "--cross-file", "--libdir",
              "--default-library", "--benchmark", "--verbose", "--timeout-multiplier",
              "--only", "--tags"},
    "pkg-config": {"--cflags", "--libs", "--static", "--modversion", "--variable"},
    "git": {"--always", "--dirty", "--oneline", "--stat"},
    "dpkg": {"--add-architecture"},
    "bench_forward": {"--quick", "--large", "--sweep", "--lowp", "--u8", "--p99", "--threads"},
    "mpirun": {"--oversubscribe", "--allow-run-as-root", "--bind-to", "--map-by", "--host", "-np"},
    "tools/*.py, scripts/*.sh": {"--out", "--epochs", "--seed", "--fuzz", "--onnx", "--check",
                                 "--no-fuzz", "--help", "--version", "--data", "--model"},
    "perf, valgrind, taskset, cc": {"--tool", "--call-graph", "--cpu-list", "--leak-check",
                                    "--error-exitcode", "--std", "--save"},
    "mpirun --hostfile, grep --include (c-api.md's migration one-liner)": {"--hostfile", "--include"},
    "bench/peers/run_peers.sh": {"--rounds"},
    "tools/export_onnx.py": {"--opset", "--preprocess"},
    "build/tests/test_vmath": {"--full"},
    "build/bench/bench_harness": {"--queries", "--qps", "--seconds"},
    "bench/soak.sh": {"--minutes", "--null-qps", "--model-qps"},
}
# tmlp_ names that are placeholders in the prose, never identifiers of the library.
PLACEHOLDERS = {
    "tmlp_": "the prefix itself",
    "tmlp_object_verb": "the naming rule tmlp_<object>_<verb>",
    # docs/c-api.md's migration notes name the 0.1 calls 0.2.0 removed
    "tmlp_session_forward_ex": "removed in 0.2.0 (c-api.md, migration)",
    "tmlp_model_load_ex": "removed in 0.2.0 (c-api.md, migration)",
    "tmlp_sut_shard_sut": "renamed tmlp_sut_shard_callbacks in 0.2.0 (c-api.md, migration)",
    "tmlp_model_sut_sut": "renamed tmlp_model_sut_callbacks in 0.2.0 (c-api.md, migration)",
    # designs the documents explain they did not take
    "tmlp_session_last_error": "c-api.md: why a caller-owned error and not a last-error call",
    "tmlp_model_convert": "precision.md: why precision is a load option, not a convert step",
}
# Paths the documents name that are made by a run and never committed.
GENERATED_PATHS = {
    "fuzz/corpus-run/": "scripts/fuzz.sh's working corpus (git-ignored)",
    "bench/peers/.onnx/": "bench/peers/run_peers.sh's onnxruntime install (git-ignored)",
}
SOURCE_ENDINGS = (".c", ".h", ".py", ".sh", ".build", ".in")


def documents(root):
    return [os.path.join(root, "README.md")] + sorted(glob.glob(os.path.join(root, "docs", "*.md")))


def source_text(root):
    parts = []
    for d in ("include", "src", "bench", "examples"):
        for f in glob.glob(os.path.join(root, d, "**", "*"), recursive=True):
            if os.path.isfile(f) and f.endswith((".c", ".h", ".build", ".in")):
                parts.append(open(f, encoding="utf-8", errors="replace").read())
    return "\n".join(parts)


def tree_files(root):
    out = subprocess.run(["git", "-C", root, "ls-files", "--cached", "--others", "--exclude-standard"], capture_output=True, text=True)
    files = set(out.stdout.split()) if out.returncode == 0 else set()
    if not files:  # a source tree without git (a release tarball): walk it
        for d, _, fs in os.walk(root):
            if "/build" in d or "/.git" in d:
                continue
            files |= {os.path.relpath(os.path.join(d, f), root) for f in fs}
    return files


def help_options(bench_mlp):
    """{None: options of bench_mlp --help, SUB: options of bench_mlp SUB --help}."""
    opts = {}
    for sub in [None] + SUBCOMMANDS:
        cmd = [bench_mlp] + ([sub] if sub else []) + ["--help"]
        r = subprocess.run(cmd, capture_output=True, text=True)
        opts[sub] = set(re.findall(r"(--[a-z][a-z0-9-]*)", r.stdout + r.stderr))
    return opts


def layout_problems(root, files):
    """4. docs/building.md's layout table names every .c/.h of src/<area>/ and bench/ in the
    row of its folder."""
    text = open(os.path.join(root, "docs", "building.md"), encoding="utf-8").read()
    rows = {}
    for m in re.finditer(r"^\| `([^`]+/)` \| (.*) \|$", text.split("## Project layout", 1)[-1], re.M):
        rows[m.group(1)] = m.group(2)
    bad = []
    for f in sorted(files):
        if not re.fullmatch(r"(src/[a-z]+|bench)/[^/]+\.[ch]", f):
            continue
        folder, name = f.rsplit("/", 1)
        row = rows.get(folder + "/")
        if row is None:
            bad.append(f"docs/building.md: the layout table has no row for {folder}/ ({f})")
        elif f"`{name}`" not in row:
            bad.append(f"docs/building.md: the layout row of {folder}/ does not name {name}")
    return bad


def main():
    root, bench_mlp = sys.argv[1], sys.argv[2]
    text = source_text(root)
    idents = set(re.findall(r"\b(tmlp_\w+|TMLP_\w+)\b", text))
    files = tree_files(root)
    basenames = {os.path.basename(f) for f in files}
    dirs = {os.path.dirname(f) for f in files}
    dirs |= {d.rsplit("/", 1)[0] for d in list(dirs) if "/" in d}
    top = {f.split("/", 1)[0] for f in files if "/" in f}
    opts = help_options(bench_mlp)
    any_help = set().union(*opts.values())
    other = set().union(*OTHER_OPTIONS.values())
    bad = []
    counts = {"names": 0, "paths": 0, "options": 0}

    def exists(path, doc_dir):
        p = path.rstrip("/").split("#")[0]
        for base in ("", os.path.relpath(doc_dir, root)):
            q = os.path.normpath(os.path.join(base, p))
            if q in files or q in dirs:
                return True
        return False

    for doc in documents(root):
        rel = os.path.relpath(doc, root)
        doc_dir = os.path.dirname(doc)
        lines = open(doc, encoding="utf-8").read().split("\n")
        for n, line in enumerate(lines, 1):
            where = f"{rel}:{n}"
            # 1. identifiers
            for m in re.finditer(r"\b(tmlp_[a-z0-9_]*)(\*|<)?", line):
                name, wild = m.group(1), m.group(2)
                if wild or name.endswith("_") or name in PLACEHOLDERS:
                    continue
                counts["names"] += 1
                if name not in idents:
                    bad.append(f"{where}: `{name}` is named but exists nowhere in include/, src/, "
                               f"bench/ or examples/")
            # 2. paths: in backticks, and Markdown link targets
            cands = [(c, False) for c in re.findall(r"`([^`\s]+)`", line)]
            cands += [(c, True) for c in re.findall(r"\]\(([^)\s]+)\)", line)]
            for c, is_link in cands:
                c = c.strip("'\".,;:")
                if re.match(r"^[a-z]+:", c) or c.startswith(("#", "$", "<", "/", "~", "-")):
                    continue
                if any(ch in c for ch in "*{}<>$=()[]|,") or c.endswith("..."):
                    continue
                first = c.split("/", 1)[0]
                if c in GENERATED_PATHS:
                    continue
                if "/" in c and (first in top or first in (".", "..") or is_link):
                    counts["paths"] += 1
                    if not exists(c, doc_dir):
                        bad.append(f"{where}: path {c} does not exist in the tree")
                elif "/" not in c and c.endswith(SOURCE_ENDINGS) and not is_link:
                    counts["paths"] += 1
                    if c not in basenames:
                        bad.append(f"{where}: file {c} does not exist in the tree")
                elif is_link and c.endswith(".md"):
                    counts["paths"] += 1
                    if not exists(c, doc_dir):
                        bad.append(f"{where}: link {c} does not exist")
            # 3. options: judged by the `bench_mlp [SUB]` nearest before them on the line
            calls = [(m.end(), m.group(1)) for m in
                     re.finditer(r"bench_mlp(?:\s+(" + "|".join(SUBCOMMANDS) + r")\b)?", line)]
            for m in re.finditer(r"(?<![\w-])(--[a-z][a-z0-9-]*[a-z0-9])", line):
                o = m.group(1)
                counts["options"] += 1
                before = [c for c in calls if c[0] <= m.start()]
                if before:
                    sub = before[-1][1]
                    if o not in opts[sub] and o not in GLOBAL and o not in other:
                        bad.append(f"{where}: {o} is not listed by `bench_mlp{' ' + sub if sub else ''} --help`")
                elif o not in any_help and o not in other:
                    bad.append(f"{where}: {o} is listed by no `bench_mlp [SUB] --help` "
                               f"(nor in this check's list of other programs' options)")
    bad += layout_problems(root, files)
    # 5. the Python tools the documents tell a reader to run use the interpreter Debian's
    # python3-torch and python3-numpy install into, not the first python3 on PATH
    for f in sorted(files):
        if re.fullmatch(r"(tools|bench/peers|tests|fuzz)/[^/]+\.py", f):
            first = open(os.path.join(root, f), encoding="utf-8").readline().strip()
            if first != "#!/usr/bin/python3":
                bad.append(f"{f}: starts with {first!r}, not #!/usr/bin/python3")
    for b in bad:
        print(b)
    print(f"{len(documents(root))} documents: {counts['names']} tmlp_ names, {counts['paths']} paths, "
          f"{counts['options']} options checked, {len(bad)} problems")
    return 1 if bad else 0


def self_test(root, bench_mlp):
    """The check catches what it claims to: a copy of the tree whose docs name a missing
    function, path and option, and whose layout table lost a file, must fail on each."""
    import shutil
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        for d in ("include", "src", "bench", "examples", "docs", "tools", "tests", "fuzz", "models",
                  "scripts"):
            if os.path.isdir(os.path.join(root, d)):
                shutil.copytree(os.path.join(root, d), os.path.join(tmp, d),
                                ignore=shutil.ignore_patterns("*.safetensors", "*.onnx", "*-ubyte"))
        shutil.copy(os.path.join(root, "README.md"), tmp)
        with open(os.path.join(tmp, "docs", "README.md"), "a", encoding="utf-8") as f:
            f.write("\nCall `tmlp_no_such_call`, read `src/layers/no_such_file.c`, "
                    "run `bench_mlp compare --no-such-option`.\n")
        b = os.path.join(tmp, "docs", "building.md")
        text = open(b, encoding="utf-8").read().replace("`sort.c`, ", "")
        open(b, "w", encoding="utf-8").write(text)
        r = subprocess.run([sys.executable, __file__, tmp, bench_mlp], capture_output=True, text=True)
        want = ["tmlp_no_such_call", "src/layers/no_such_file.c", "--no-such-option", "does not name sort.c"]
        missed = [w for w in want if w not in r.stdout]
        if r.returncode != 1 or missed:
            print(f"self-test: exit {r.returncode}, not caught: {missed}\n{r.stdout}")
            return 1
    print("self-test: a missing function, path, option and layout entry are each caught")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 3 and sys.argv[3] == "--self-test":
        sys.exit(self_test(sys.argv[1], sys.argv[2]))
    sys.exit(main())
