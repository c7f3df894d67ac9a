#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Filters kernel build output: progress instead of one line per object, and file paths of the
work tree rewritten to the repository file they link to, so errors point at files one can edit.
Errors are always shown; warnings only when they name a file of this repository (the base's own
warnings are counted and left in the log).

Usage: make ... 2>&1 | buildfilter.py SRC BUILD LOG
"""

import os
import re
import sys
import time

PATH_RE = re.compile(r"(?<![\w/.+-])((?:/|\.\./|\./)?[\w.+-]+(?:/[\w.+-]+)*\.(?:rs|c|h|S|lds|rst|py|sh|Makefile))\b")
# Kbuild's quiet lines: "  CC [M]  drivers/x.o", "  RUSTC L kernel", ...
QUIET_RE = re.compile(r"^  [A-Z][A-Z0-9_]*( \[M\]| [A-Z])?\s+\S")


def make_rewriter(src, build):
    cache = {}

    def resolve(p):
        if p in cache:
            return cache[p]
        out = p
        for cand in ([p] if p.startswith("/") else [os.path.join(build, p), os.path.join(src, p)]):
            cand = os.path.normpath(cand)
            if not cand.startswith(src + "/") or not os.path.exists(cand):
                continue
            real = os.path.realpath(cand)
            if not real.startswith(src + "/"):
                out = real
            break
        cache[p] = out
        return out

    return lambda line: PATH_RE.sub(lambda m: resolve(m.group(1)), line)


ERROR_RE = re.compile(r"\berror(\[E\d+\])?:|\*\*\*|Error \d|undefined reference|undefined symbol")


def main():
    src, build, log = sys.argv[1], sys.argv[2], sys.argv[3]
    src = os.path.realpath(src)
    repo = os.path.realpath(os.path.join(os.path.dirname(__file__), "..", ".."))
    rewrite = make_rewriter(src, build)
    count = 0
    hidden = 0
    last = time.monotonic()
    verbose = os.environ.get("V", "") not in ("", "0")
    block = []

    def flush_block():
        nonlocal hidden
        if not block:
            return
        text = "".join(block)
        if verbose or ERROR_RE.search(text) or repo + "/" in text:
            sys.stdout.write(text)
            sys.stdout.flush()
        elif "warning" in text:
            hidden += 1
        else:
            sys.stdout.write(text)
        block.clear()

    with open(log, "w") as logf:
        for line in sys.stdin:
            logf.write(line)
            if QUIET_RE.match(line) or line.startswith("make"):
                flush_block()
                if line.startswith("make") or verbose:
                    if verbose or "Error" in line:
                        sys.stdout.write(line)
                    continue
                count += 1
                now = time.monotonic()
                if now - last >= 20:
                    print(f"    ... {count} build steps done (now: {line.split()[-1]})", flush=True)
                    last = now
                continue
            block.append(rewrite(line))
        flush_block()
    if count:
        print(f"    ... {count} build steps done", flush=True)
    if hidden:
        print(f"    ({hidden} warnings in base files not shown; see {log})", flush=True)


if __name__ == "__main__":
    main()
