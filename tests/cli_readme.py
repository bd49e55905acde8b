#!/usr/bin/python3
"""cli_readme.py — every `bench_mlp` command of README.md (and docs/*.md) is run against the
real binary, so no example in the documentation can rot.

    cli_readme.py BENCH_MLP SOURCE_ROOT

What counts as a command: in a fenced code block, a line that starts with `bench_mlp`,
`build/bench/bench_mlp` or `$ bench_mlp` / `$ build/bench/bench_mlp` (continuation lines
ending in a backslash are joined; a trailing `# comment` is dropped). The commands of one
block run in order in one scratch directory (so `--output base.json` feeds a later
`regress base.json ...`), with `tests/` and `models/` linked in from the source tree and
`/tmp/` mapped into the scratch directory.

Speed: the suite must stay short, so a command gets `--quick` when it supports it and
lacks it (the default run, report, ab, regress --baseline; not accuracy mode, which is
one pass), find-peak a 1 s search budget, and `--repeat N` is capped at 3. Nothing else is
changed.

What is checked: the exit status is 0 — or 0 or 3 for a regression gate (`regress`,
`--baseline`, `history gate`), whose verdict depends on the measurements, and 1 with "no plan is possible"
for `plan` on a machine too busy (or a build too slow, ASan) for the bound — except for a
`$ ` example whose
shown output is an error line (`bench_mlp: ...`): then that exact line must appear on
stderr and the status must be 2 (usage) or 1 (runtime). A shell `; echo $?` keeps its own
exit 0.
"""
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time

CMD = re.compile(r"^\s*(\$ )?(build/bench/)?bench_mlp(\s|$)")


def blocks(path):
    """Yield (first line number, language, [lines]) of each fenced code block."""
    lines = open(path, encoding="utf-8").read().split("\n")
    i = 0
    while i < len(lines):
        if lines[i].startswith("```"):
            start, lang, body = i + 1, lines[i][3:].strip(), []
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                body.append(lines[i])
                i += 1
            yield start + 1, lang, body
        i += 1


def commands(body, first, lang):
    """(line, command, expected error line or None) for each command of one block. In a
    shell block every line that starts with bench_mlp is a command; elsewhere (text
    blocks of a session with its output) only the `$ ` prompt lines are."""
    shell = lang in ("sh", "bash", "shell", "console")
    out, i = [], 0
    while i < len(body):
        line = body[i]
        if not CMD.match(line) or (not shell and not line.lstrip().startswith("$ ")):
            i += 1
            continue
        no, prompt = first + i, line.lstrip().startswith("$ ")
        cmd = line.strip()[2:] if prompt else line.strip()
        while cmd.endswith("\\") and i + 1 < len(body):
            i += 1
            cmd = cmd[:-1] + " " + body[i].strip()
        cmd = re.sub(r"\s+#\s.*$", "", cmd).strip()
        expect = None
        if prompt and i + 1 < len(body) and body[i + 1].startswith("bench_mlp: "):
            expect = body[i + 1]
        out.append((no, cmd, expect))
        i += 1
    return out


def speed_up_one(cmd):
    """Short settings for one `bench_mlp ...` command (documented above)."""
    words = shlex.split(cmd)
    sub = words[1] if len(words) > 1 and not words[1].startswith("-") else ""
    extra = []
    runs = sub in ("", "ab") or (sub == "report" and "--from" not in words) or \
        (sub == "regress" and "--baseline" in words)
    if runs and "--quick" not in words and "accuracy" not in words:
        extra.append("--quick")
    if "find-peak" in words:
        extra += ["--find-peak-budget-ms", "1000"]
    # at most 3 repetitions: the suite checks that the commands work, not their noise
    words = [("3" if i > 0 and words[i - 1] == "--repeat" and w.isdigit() and int(w) > 3 else w)
             for i, w in enumerate(words)]
    at = 2 if sub else 1
    return " ".join(shlex.quote(w) for w in words[:at] + extra + words[at:])


def speed_up(cmd):
    """speed_up_one on every bench_mlp command of a shell line (split at && and ;)."""
    parts = re.split(r"(\s*&&\s*|\s*;\s*)", cmd)
    return "".join(speed_up_one(p) if p.strip().startswith("bench_mlp") else p for p in parts)


def main():
    bench, root = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    docs = [os.path.join(root, "README.md")]
    ddir = os.path.join(root, "docs")
    if os.path.isdir(ddir):
        docs += sorted(os.path.join(ddir, f) for f in os.listdir(ddir) if f.endswith(".md"))
    fails = ran = 0
    for doc in docs:
        for first, lang, body in blocks(doc):
            cmds = commands(body, first, lang)
            if not cmds:
                continue
            with tempfile.TemporaryDirectory() as tmp:
                for d in ("tests", "models"):
                    os.symlink(os.path.join(root, d), os.path.join(tmp, d))
                os.mkdir(os.path.join(tmp, "tmp"))
                for no, cmd, expect in cmds:
                    run = re.sub(r"(^|&&\s*|;\s*)(build/bench/)?bench_mlp(?=\s|$)",
                                 lambda m: m.group(1) + "bench_mlp", cmd)
                    run = speed_up(run).replace("/tmp/", tmp + "/tmp/")
                    run = re.sub(r"(^|&&\s*|;\s*)bench_mlp(?=\s|$)",
                                 lambda m: m.group(1) + shlex.quote(bench), run)
                    t0 = time.monotonic()
                    p = subprocess.run(["bash", "-c", run], cwd=tmp, capture_output=True, text=True,
                                       timeout=120, stdin=subprocess.DEVNULL)
                    took = time.monotonic() - t0
                    where = "%s:%d" % (os.path.relpath(doc, root), no)
                    ran += 1
                    if expect is not None:
                        good = p.returncode in (1, 2) and expect in p.stderr
                    elif "--baseline" in cmd or re.search(r"bench_mlp\s+(regress|history\s+gate)\b", cmd):
                        # a gate's verdict depends on the measurements: 0 or 3 (regression)
                        good = p.returncode in (0, 3)
                    elif re.search(r"bench_mlp\s+plan\b", cmd) and p.returncode == 1:
                        # plan measures; on a machine too slow or too busy for the bound its
                        # answer is "no plan is possible" (exit 1), which is still an answer
                        good = "no plan is possible" in p.stdout
                    else:
                        good = p.returncode == 0
                    if good:
                        print("ok   - %s (%.1f s): %s" % (where, took, cmd))
                    else:
                        fails += 1
                        print("FAIL - %s: %s\n       ran: %s\n       exit %d%s\n       stderr: %s" % (
                            where, cmd, run, p.returncode,
                            "\n       expected on stderr: " + expect if expect else "", p.stderr.strip()[-600:]))
    print("%d passed, %d failed" % (ran - fails, fails))
    return 1 if fails or ran == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
