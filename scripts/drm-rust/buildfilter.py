#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Filters kernel build output: progress instead of one line per object, and file paths of the
work tree rewritten to the repository file they link to, so errors point at files one can edit.
A base file that patches/ changes (the ported drivers, say) stays a work-tree path, followed by a
note naming the patch to fix. Errors are always shown; warnings only when they name a file of
this repository or a patched file (the base's own warnings are counted and left in the log).

Usage: make ... 2>&1 | buildfilter.py SRC BUILD LOG
"""

import os
import re
import sys
import time

PATH_RE = re.compile(r"(?<![\w/.+-])((?:/|\.\./|\./)?[\w.+-]+(?:/[\w.+-]+)*\.(?:rs|c|h|S|lds|rst|py|sh|Makefile))\b")
# Kbuild's quiet lines: "  CC [M]  drivers/x.o", "  RUSTC L kernel", ...
QUIET_RE = re.compile(r"^  [A-Z][A-Z0-9_]*( \[M\]| [A-Z])?\s+\S")


DOCTEST_RE = re.compile(r"(?:\S*/)?rust/doctests_kernel_generated\.rs:(\d+)(:\d+)?")
ANCHOR_RE = re.compile(r"static __DOCTEST_ANCHOR: i32 = ::core::line!\(\) as i32 \+ (\d+) \+ (\d+);")
LOCATION_RE = re.compile(r"\.location: (\S+):(\d+)")


def make_doctest_mapper(src, build):
    """Maps a line of the generated doctest file back to the doctest in its source file."""
    lines = None

    def mapper(m):
        nonlocal lines
        if lines is None:
            try:
                with open(os.path.join(build, "rust", "doctests_kernel_generated.rs")) as f:
                    lines = f.read().split("\n")
            except OSError:
                lines = []
        gen = int(m.group(1))
        anchor = location = None
        for i in range(min(gen, len(lines)) - 1, -1, -1):
            if anchor is None:
                a = ANCHOR_RE.search(lines[i])
                if a:
                    anchor = i + 1 + int(a.group(1)) + int(a.group(2))
                    continue
            else:
                loc = LOCATION_RE.search(lines[i])
                if loc:
                    location = (loc.group(1), int(loc.group(2)))
                    break
        if anchor is None or location is None:
            return m.group(0)
        path = os.path.join(src, location[0])
        real = os.path.realpath(path) if os.path.exists(path) else path
        col = m.group(2) or ""
        return f"{real}:{location[1] + gen - anchor}{col} (doctest; generated {m.group(0)})"

    return mapper


def load_patched(src):
    """The patches that change each patched base file, from worktree.sh's manifest."""
    patched = {}
    try:
        with open(os.path.join(src, ".drm-rust-patched-by")) as f:
            for line in f:
                parts = line.split()
                if len(parts) == 2:
                    patched.setdefault(parts[0], []).append(parts[1])
    except OSError:
        pass
    return patched


# Where a diagnostic is: "path:line:col: warning: ..." (C), "--> path:line:col" (Rust).
WHERE_RE = re.compile(r"^(?:\s*--> )?(\S+?):\d+:\d+(?::|$)", re.M)


def patch_notes(text, src, patched):
    """A note per patched file that a diagnostic of `text` is in: the patches that make it.
    Files it merely includes from ("In file included from") do not count."""
    notes = []
    for m in WHERE_RE.finditer(text):
        p = m.group(1)
        rel = os.path.relpath(os.path.normpath(p), src) if p.startswith("/") else os.path.normpath(p)
        if rel in patched:
            patches = ", ".join(f"patches/{p}" for p in patched[rel])
            note = f"note: {rel} is a base file patched by {patches}: fix it there\n"
            if note not in notes:
                notes.append(note)
    return notes


def make_rewriter(src, build):
    cache = {}
    doctest = make_doctest_mapper(src, build)

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

    def rewrite(line):
        if "doctests_kernel_generated.rs:" in line:
            return DOCTEST_RE.sub(doctest, line)
        return PATH_RE.sub(lambda m: resolve(m.group(1)), line)

    return rewrite


ERROR_RE = re.compile(r"\berror(\[E\d+\])?:|\*\*\*|Error \d|undefined reference|undefined symbol")


def main():
    src, build, log = sys.argv[1], sys.argv[2], sys.argv[3]
    src = os.path.realpath(src)
    repo = os.path.realpath(os.path.join(os.path.dirname(__file__), "..", ".."))
    rewrite = make_rewriter(src, build)
    patched = load_patched(src)
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
        notes = patch_notes(text, src, patched) if patched else []
        if verbose or ERROR_RE.search(text) or repo + "/" in text or notes:
            sys.stdout.write(text + "".join(notes))
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
