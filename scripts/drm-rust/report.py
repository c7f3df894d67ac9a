#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turns the logs of a test run into a per-suite summary and the closing `N passed, N failed`.

Usage: report.py RUN_DIR [--igt]

Reads from RUN_DIR:
  kunit-<name>.log   KUnit boots (KTAP on the console); kunit-drm-c.log is judged against the
                     baseline of the base kernel's own C DRM suites (baselines/drm-kunit.txt)
  user-<test>.tap    userspace tests (kselftest harness, TAP)
  peers.tap          peer clients (TAP)
  igt-<drv>-<t>.log  IGT runs (and .rc, the exit code)
  console.log, dmesg.log, lockdep_stats   the userspace boot
Every boot that runs our code must be free of kernel splats; a splat counts as a failed test.
Exits 1 when anything failed.
"""

import glob
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PREFIX_RE = re.compile(r"^\[\s*\d+\.\d+\]\s?")
RESULT_RE = re.compile(r"^(\s*)(ok|not ok) (\d+)(?: -)? ?([^#]*?)\s*(?:#\s*(.*))?$")
PLAN_RE = re.compile(r"^(\s*)1\.\.(\d+)")
SUBTEST_RE = re.compile(r"^(\s*)# Subtest: (\S+)")
SPLAT_RE = re.compile(
    r"WARNING:|BUG:|\bOops\b|Kernel panic|kernel BUG at|general protection fault|"
    r"possible circular locking|possible recursive locking|inconsistent lock state|"
    r"bad unlock balance|suspicious RCU usage|INFO: task \S+ blocked for more than|"
    r"rcu: INFO:|detected stalls? on CPU|KASAN:|UBSAN:|kmemleak:|refcount_t:|"
    r"DEBUG_LOCKS_WARN_ON|list_(add|del) corruption|ODEBUG:|"
    r"sleeping function called from invalid context|drm-rust: boot timed out"
)
LOC_RE = re.compile(r"([\w./-]+\.(?:c|h|rs):\d+)")


class Suite:
    def __init__(self, name):
        self.name = name
        self.passed = 0
        self.failed = 0
        self.skipped = 0
        self.notes = []

    def add(self, status, what=""):
        if status == "pass":
            self.passed += 1
        elif status == "skip":
            self.skipped += 1
        else:
            self.failed += 1
            if what:
                self.notes.append(what)


def read(path):
    try:
        with open(path, errors="replace") as f:
            return [PREFIX_RE.sub("", line.rstrip("\n")) for line in f]
    except FileNotFoundError:
        return None


def parse_ktap(lines, default_suite, suites, order):
    """Counts leaf results of a (possibly nested) KTAP stream, per suite.

    A result line is a leaf when no deeper result lines came since the previous result at its own
    depth or above. Suites are the `# Subtest:` blocks one level below the top (KUnit), or the
    whole stream (kselftest). Returns (plan, top-level results) for a completeness check.
    """
    pending = {}
    top_indent = None
    plan = None
    top_results = 0
    suite_name = default_suite
    for line in lines:
        m = PLAN_RE.match(line)
        if m and top_indent is None:
            top_indent = len(m.group(1))
            plan = int(m.group(2))
            continue
        m = SUBTEST_RE.match(line)
        if m and top_indent is not None and len(m.group(1)) == top_indent + 4:
            suite_name = m.group(2)
            continue
        m = RESULT_RE.match(line)
        if not m:
            continue
        indent = len(m.group(1))
        if top_indent is None:
            top_indent = indent
        has_children = any(n for d, n in pending.items() if d > indent)
        for d in list(pending):
            if d > indent:
                pending[d] = 0
        pending[indent] = pending.get(indent, 0) + 1
        if indent == top_indent:
            top_results += 1
        if has_children:
            if indent == top_indent and suite_name != default_suite:
                suite_name = default_suite
            continue
        directive = (m.group(5) or "").upper()
        if "SKIP" in directive:
            status = "skip"
        elif m.group(2) == "ok":
            status = "pass"
        else:
            status = "fail"
        if suite_name not in suites:
            suites[suite_name] = Suite(suite_name)
            order.append(suite_name)
        suites[suite_name].add(status, m.group(4).strip())
    return plan, top_results


def splats(lines):
    """Returns the kernel splat lines of a log, each with the location it names (if any)."""
    out = []
    for line in lines:
        if SPLAT_RE.search(line):
            loc = LOC_RE.search(line)
            out.append((line.strip(), loc.group(1) if loc else None))
    return out


def load_baseline(path):
    fails, warns = set(), set()
    for line in read(path) or []:
        line = line.split("#", 1)[0].strip()
        if line.startswith("fail "):
            fails.add(line[5:].strip())
        elif line.startswith("warn "):
            warns.add(line[5:].strip())
    return fails, warns


def igt_results(log_lines, rc, suite):
    """Per-subtest IGT results; a test without subtests is judged by its exit code."""
    sub_re = re.compile(r"^(Subtest|Dynamic subtest) (\S+): (SUCCESS|FAIL|SKIP|CRASH|TIMEOUT)")
    rows = []
    for line in log_lines:
        m = sub_re.match(line)
        if m:
            rows.append((m.group(2), m.group(3)))
    if not rows:
        rows.append(("(whole test)", {0: "SUCCESS", 77: "SKIP"}.get(rc, f"FAIL (exit {rc})")))
    for name, res in rows:
        suite.add({"SUCCESS": "pass", "SKIP": "skip"}.get(res, "fail"), f"{name}: {res}")
    return rows


def main():
    run = sys.argv[1]
    igt_only = "--igt" in sys.argv
    suites, order = {}, []

    def suite(name):
        if name not in suites:
            suites[name] = Suite(name)
            order.append(name)
        return suites[name]

    known_fail_seen = []
    base_fails, base_warns = load_baseline(os.path.join(HERE, "baselines", "drm-kunit.txt"))

    # KUnit boots.
    for path in sorted(glob.glob(os.path.join(run, "kunit-*.log"))):
        boot = os.path.basename(path)[len("kunit-"):-len(".log")]
        lines = read(path)
        sub, sub_order = {}, []
        plan, got = parse_ktap(lines, f"kunit-{boot}", sub, sub_order)
        canary = boot == "drm-c"
        for name in sub_order:
            s = sub[name]
            if canary:
                # Known failures of the base's own suites do not count against us.
                kept = []
                for note in s.notes:
                    key = f"{name}.{note}"
                    if any(key.startswith(b) for b in base_fails):
                        known_fail_seen.append(key)
                        s.failed -= 1
                    else:
                        kept.append(note)
                s.notes = kept
            s.name = f"kunit: {name}" + (" (C, canary)" if canary else "")
            suites[s.name] = s
            order.append(s.name)
        check = suite(f"boot: kunit-{boot}")
        if plan is None:
            check.add("fail", f"no KTAP output in {path}")
        elif got < plan:
            check.add("fail", f"only {got} of {plan} suites reported (crash or timeout?), see {path}")
        else:
            check.add("pass")
        for line, loc in splats(lines):
            if canary and loc and any(loc.endswith(w) for w in base_warns):
                continue
            if canary and not loc and "cut here" in line:
                continue
            check.add("fail", f"kernel splat: {line}")

    # The userspace boot.
    if os.path.exists(os.path.join(run, "console.log")):
        for path in sorted(glob.glob(os.path.join(run, "user-*.tap"))):
            name = os.path.basename(path)[len("user-"):-len(".tap")]
            lines = read(path)
            before = sum(s.passed + s.failed + s.skipped for s in suites.values())
            plan, got = parse_ktap(lines, f"user: {name}", suites, order)
            if plan is None or got < plan:
                suite(f"user: {name}").add("fail", f"incomplete: {got} of {plan} results, see {path}")
            elif sum(s.passed + s.failed + s.skipped for s in suites.values()) == before:
                suite(f"user: {name}").add("fail", f"no results in {path}")
        peers = read(os.path.join(run, "peers.tap"))
        if peers is not None:
            parse_ktap(peers, "peer clients", suites, order)
        for path in sorted(glob.glob(os.path.join(run, "igt-*.log"))):
            base = os.path.basename(path)[len("igt-"):-len(".log")]
            drv, test = base.split("-", 1)
            rc_lines = read(path[:-4] + ".rc") or ["255"]
            rows = igt_results(read(path), int(rc_lines[0] or 255), suite(f"igt: {test} on {drv}"))
            if igt_only:
                for name, res in rows:
                    print(f"  {drv:8} {test:28} {name:40} {res}")
        check = suite("boot: userspace")
        if not os.path.exists(os.path.join(run, "job.rc")):
            check.add("fail", "the job did not finish: see console.log")
        else:
            check.add("pass")
        seen = set()
        for log in ("console.log", "dmesg.log"):
            for line, _ in splats(read(os.path.join(run, log)) or []):
                if line not in seen:
                    seen.add(line)
                    check.add("fail", f"kernel splat: {line}")
        stats = read(os.path.join(run, "lockdep_stats"))
        lockdep = suite("lockdep still on after the tests")
        if stats is None:
            lockdep.add("fail", "no /proc/lockdep_stats (is PROVE_LOCKING off?)")
        elif not any(re.match(r"\s*debug_locks:\s+1$", s) for s in stats):
            lockdep.add("fail", "debug_locks is 0: lockdep switched itself off, see console.log")
        else:
            lockdep.add("pass")

    width = max([len(n) for n in order] + [20])
    print(f"{'suite':{width}} {'passed':>7} {'failed':>7} {'skipped':>8}")
    for name in order:
        s = suites[name]
        if s.passed + s.failed + s.skipped == 0:
            continue
        print(f"{name:{width}} {s.passed:7} {s.failed:7} {s.skipped:8}")
        for note in s.notes[:10]:
            print(f"    FAILED: {note}")
        if len(s.notes) > 10:
            print(f"    ... and {len(s.notes) - 10} more")
    if known_fail_seen:
        print(f"known failures of the base's C suites, not counted (baselines/drm-kunit.txt): "
              f"{', '.join(known_fail_seen)}")
    passed = sum(s.passed for s in suites.values())
    failed = sum(s.failed for s in suites.values())
    skipped = sum(s.skipped for s in suites.values())
    if skipped:
        print(f"({skipped} skipped)")
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed or passed == 0 else 0)


if __name__ == "__main__":
    main()
