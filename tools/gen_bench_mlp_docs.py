#!/usr/bin/python3
"""gen_bench_mlp_docs.py — regenerate bench/bench_mlp.1's option sections and
bench/bench_mlp.bash-completion's option lists from every `bench_mlp ... --help`.

    python3 tools/gen_bench_mlp_docs.py build/bench/bench_mlp

Run it after changing an option; tests/cli_uniform.sh fails until you do. The man page's
header (NAME .. DESCRIPTION) and trailer (FILES ..) are kept as they are in the file.
"""
import re
import subprocess
import sys

B = sys.argv[1] if len(sys.argv) > 1 else "build/bench/bench_mlp"
CMDS = ["compare", "report", "ab", "regress", "profile", "plan", "history"]


def help_of(*a):
    return subprocess.run([B, *a, "--help"], capture_output=True, text=True).stdout


def esc(t):
    t = t.replace("\\", "\\\\").replace("-", "\\-").replace("'", "\\(aq").replace('"', "\\(dq")
    return "\\&" + t if t[:1] == "." or t.startswith("\\(aq") else t


def man():
    src = open("bench/bench_mlp.1").read()
    out = [src[:src.index(".SH OPTIONS")].rstrip("\n")]
    tail = src[src.index(".SH FILES"):]

    def section(title, text):
        out.append(".SH %s" % title)
        usage = True
        for line in text.splitlines():
            if usage and (line.lower().startswith("usage") or line.startswith("       ")):
                out.append(".nf\n%s\n.fi" % esc(line.strip()))
                continue
            usage = False
            if re.match(r"^ {1,2}-", line):
                parts = re.split(r"\s{2,}", line.strip(), maxsplit=1)
                out.append(".TP\n.B %s" % esc(parts[0]))
                if len(parts) > 1:
                    out.append(esc(parts[1]))
            elif line.strip() == "":
                out.append(".PP")
            else:
                out.append(esc(line.strip()))
    section("OPTIONS (the default run)", help_of())
    for c in CMDS:
        section("BENCH_MLP %s" % c.upper(), help_of(c))
    open("bench/bench_mlp.1", "w").write("\n".join(out) + "\n" + tail)


def completion():
    def opts(*a):
        return " ".join(sorted(set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", help_of(*a))))) + " -h"
    p = "bench/bench_mlp.bash-completion"
    s = open(p).read()
    s = re.sub(r'    local run_opts="[^"]*"', lambda m: '    local run_opts="%s"' % opts(), s)
    for c in CMDS:
        s = re.sub(r'    local %s_opts="[^"]*"' % c, lambda m, c=c: '    local %s_opts="%s"' % (c, opts(c)), s)
    open(p, "w").write(s)


man()
completion()
