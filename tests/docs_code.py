#!/usr/bin/python3
"""docs_code.py — every C (and Python) code block of README.md and docs/*.md is compiled, and
every complete program is run, so no example in the documentation can rot.

    docs_code.py SOURCE_ROOT LIBRARY "CC" SANITIZE

LIBRARY is the built libtinymlp (.a or .so), CC the C compiler command, SANITIZE meson's
b_sanitize value ("none", "address,undefined", ...). bench_mlp commands are not run here:
tests/cli_readme.py runs them.

The conventions a writer follows (fenced blocks, language after the three backticks):

  ```c            a complete program: compiled as C11 with -Wall -Wextra -Werror against the
                  public headers only (include/), linked with LIBRARY, and run with exit
                  status 0 expected, in a scratch directory where tests/ and models/ of the
                  source tree (and tools/) are linked in (so relative paths like models/... work and files
                  the program writes go nowhere).
  ```c fragment   statements, not a program: compiled (not linked, not run) as the body of a
                  function after #include <tinymlp.h>, <tinymlp/report.h>, <stdio.h>,
                  <stdlib.h>. A fragment declares what it uses.
  ```c excerpt F  a quotation of the library's own source F (e.g. a private struct): not
                  compiled; every line of the block, with /* comments */ removed and spaces
                  collapsed, must occur in F, so the quotation cannot go stale.
  ```c test       a complete cmocka test program (tests/test_*.c style): as a program, plus
                  -I tests/ for the helpers there (check.h, tmpdir.h, ...) and -lcmocka.
  ```python       byte-compiled always; run (exit 0, same scratch directory) only when the
                  modules it imports are installed, else reported as SKIP for that block.

An HTML comment on the line right before a block may say more, `;`-separated:

  <!-- file: examples/quickstart.c -->    the block must equal that file byte for byte
                                          (the README shows the file verbatim)
  <!-- args: tests/fixtures/ref_mlp.safetensors 0.5 -->   command-line arguments for the run
  <!-- prelude: float x[784] = {0}; -->   fragments only, alone in its comment: declarations
                                          put before the block (what the prose has set up)

Other languages (sh, text, json, none) are not compiled here.
"""
import os
import re
import shlex
import subprocess
import sys
import tempfile

MARK = re.compile(r"^<!--\s*(.*?)\s*-->\s*$")
FRAGMENT_HEAD = ("#include <tinymlp.h>\n#include <tinymlp/report.h>\n#include <cblas.h>\n"
                 "#include <stdio.h>\n#include <stdlib.h>\n\nvoid docs_fragment(void);\n"
                 "void docs_fragment(void)\n{\n")


def normalize(text):
    """Lines of C with comments removed and whitespace collapsed (for excerpts)."""
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    return [" ".join(l.split()) for l in text.split("\n") if l.strip()]


def blocks(path):
    """Yield (line of the first body line, language, body text, {marker: value})."""
    lines = open(path, encoding="utf-8").read().split("\n")
    i = 0
    while i < len(lines):
        if lines[i].startswith("```"):
            lang, start, body = lines[i][3:].strip(), i + 2, []
            marks = {}
            m = MARK.match(lines[i - 1]) if i > 0 else None
            if m and m.group(1).startswith("prelude:"):
                marks["prelude"] = m.group(1)[len("prelude:"):].strip()
            elif m:
                for part in m.group(1).split(";"):
                    key, _, value = part.partition(":")
                    marks[key.strip()] = value.strip()
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                body.append(lines[i])
                i += 1
            yield start, lang, "\n".join(body) + "\n", marks
        i += 1


def python_imports_available(code, root):
    mods = []
    for m in re.finditer(r"^\s*import\s+(.+)$", code, re.M):
        mods += [part.split()[0].split(".")[0] for part in m.group(1).split(",")]
    mods += re.findall(r"^\s*from\s+([A-Za-z_]\w*)", code, re.M)
    for mod in mods:
        env = dict(os.environ, PYTHONPATH=os.path.join(root, "tools"))
        p = subprocess.run(["/usr/bin/python3", "-c", "import " + mod], capture_output=True, env=env)
        if p.returncode != 0:
            return mod
    return None


def main():
    root, lib, cc, sanitize = (os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2]),
                               shlex.split(sys.argv[3]), sys.argv[4])
    docs = [os.path.join(root, "README.md")]
    ddir = os.path.join(root, "docs")
    docs += sorted(os.path.join(ddir, f) for f in os.listdir(ddir) if f.endswith(".md"))
    san = [] if sanitize in ("", "none") else ["-fsanitize=" + sanitize]
    deps = subprocess.run(["pkg-config", "--libs", "openblas", "libcjson", "zlib"],
                          capture_output=True, text=True, check=True).stdout.split()
    cflags = subprocess.run(["pkg-config", "--cflags", "openblas"], capture_output=True, text=True,
                            check=True).stdout.split()
    link = [lib] + deps + ["-lm", "-pthread"]
    if lib.endswith(".so") or ".so." in lib:
        link.append("-Wl,-rpath," + os.path.dirname(lib))
    env = dict(os.environ)
    env.setdefault("OPENBLAS_CORETYPE", "Haswell")
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    fails = done = 0

    def report(ok, where, what, detail=""):
        nonlocal fails, done
        done += 1
        if ok:
            print("ok   - %s: %s" % (where, what))
        else:
            fails += 1
            print("FAIL - %s: %s\n%s" % (where, what, detail.rstrip()[-2000:]))

    for doc in docs:
        rel = os.path.relpath(doc, root)
        for line, lang, code, marks in blocks(doc):
            words = lang.split()
            kind = words[0] if words else ""
            if kind not in ("c", "python"):
                continue
            where = "%s:%d" % (rel, line)
            if "file" in marks:
                want = open(os.path.join(root, marks["file"]), encoding="utf-8").read()
                report(code == want, where, "block equals " + marks["file"],
                       "the block differs from the file: copy the file into the document")
            if kind == "c" and len(words) > 1 and words[1] == "excerpt":
                where_from = words[2] if len(words) > 2 else ""
                src_path = os.path.join(root, where_from)
                have = normalize(open(src_path, encoding="utf-8").read()) if os.path.isfile(src_path) else []
                text = "\n".join(have)
                missing = [l for l in normalize(code) if l not in text]
                report(bool(have) and not missing, where, "excerpt occurs in " + where_from,
                       "not in the file: " + "\n".join(missing or ["(no such file)"]))
                continue
            with tempfile.TemporaryDirectory() as tmp:
                for d in ("tests", "models", "tools"):
                    os.symlink(os.path.join(root, d), os.path.join(tmp, d))
                args = shlex.split(marks.get("args", ""))
                if kind == "python":
                    src = os.path.join(tmp, "block.py")
                    open(src, "w", encoding="utf-8").write(code)
                    p = subprocess.run(["/usr/bin/python3", "-m", "py_compile", src],
                                       capture_output=True, text=True)
                    report(p.returncode == 0, where, "python compiles", p.stderr)
                    missing = python_imports_available(code, root)
                    if missing:
                        print("SKIP - %s: not run, module %s is not installed" % (where, missing))
                        continue
                    p = subprocess.run(["/usr/bin/python3", src] + args, cwd=tmp, capture_output=True,
                                       text=True, timeout=300, env=env)
                    report(p.returncode == 0, where, "python runs", p.stdout + p.stderr)
                    continue
                fragment = "fragment" in words[1:]
                src = os.path.join(tmp, "block.c")
                open(src, "w", encoding="utf-8").write(
                    FRAGMENT_HEAD + marks.get("prelude", "") + "\n" + code + "}\n" if fragment else code)
                flags = ["-std=c11", "-D_POSIX_C_SOURCE=200809L", "-Wall", "-Wextra", "-Werror",
                         "-Wno-unused-variable", "-Wno-unused-but-set-variable",
                         "-I" + os.path.join(root, "include")] + cflags + san
                if fragment:
                    p = subprocess.run(cc + flags + ["-c", src, "-o", os.path.join(tmp, "block.o")],
                                       capture_output=True, text=True)
                    report(p.returncode == 0, where, "C fragment compiles", p.stderr)
                    continue
                exe = os.path.join(tmp, "block")
                extra = []
                if "test" in words[1:]:
                    flags.append("-I" + os.path.join(root, "tests"))
                    extra = ["-lcmocka"]
                    flags.remove("-D_POSIX_C_SOURCE=200809L")
                    flags.append("-D_XOPEN_SOURCE=700")
                p = subprocess.run(cc + flags + [src, "-o", exe] + san + link + extra,
                                   capture_output=True, text=True)
                report(p.returncode == 0, where, "C program compiles and links", p.stderr)
                if p.returncode != 0:
                    continue
                p = subprocess.run([exe] + args, cwd=tmp, capture_output=True, text=True,
                                   timeout=120, env=env)
                report(p.returncode == 0, where, "C program runs (exit 0)",
                       "exit %d\n%s%s" % (p.returncode, p.stdout, p.stderr))
    print("%d checks, %d failed" % (done, fails))
    return 1 if fails or done == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
