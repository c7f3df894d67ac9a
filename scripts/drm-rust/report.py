#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turns the logs of a test run into a per-suite summary and the closing `N passed, N failed`.

Usage: report.py RUN_DIR [--igt]

Reads from RUN_DIR:
  kunit-<name>.log   KUnit boots (KTAP on the console), each judged against the baseline of the
                     base kernel's own known failures and WARNs, baselines/kunit-<name>.txt
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
    whole stream (kselftest). Kernel splats are attributed to the test whose result follows them.

    Returns (plan, top-level result count, [(splat line, location, test path)]).
    """
    pending = {}
    names = {}
    top_indent = None
    plan = None
    top_results = 0
    suite_name = default_suite
    plan_at = None
    results = []
    for i, line in enumerate(lines):
        m = PLAN_RE.match(line)
        if m and top_indent is None:
            top_indent = len(m.group(1))
            plan = int(m.group(2))
            plan_at = i
            continue
        m = SUBTEST_RE.match(line)
        if m:
            indent = len(m.group(1))
            names[indent] = m.group(2)
            if top_indent is not None and indent == top_indent + 4:
                suite_name = m.group(2)
            continue
        m = RESULT_RE.match(line)
        if not m:
            continue
        indent = len(m.group(1))
        if top_indent is None:
            top_indent = indent
        name = m.group(4).strip()
        path = ".".join([names[d] for d in sorted(names) if top_indent < d < indent + 4 and
                         names[d] != name] + [name])
        results.append((i, path))
        has_children = any(n for d, n in pending.items() if d > indent)
        for d in list(pending):
            if d > indent:
                pending[d] = 0
        for d in list(names):
            if d > indent:
                del names[d]
        pending[indent] = pending.get(indent, 0) + 1
        if indent == top_indent:
            top_results += 1
        if has_children:
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
        suites[suite_name].add(status, path)

    # A splat belongs to the test whose result follows it; before the first plan, to the boot.
    found = []
    for line, loc, i in splats(lines):
        if plan_at is None or i < plan_at:
            test = "early boot"
        else:
            test = next((path for at, path in results if at > i), None)
        found.append((line, loc, test))
    return plan, top_results, found


def splats(lines):
    """Returns the kernel splats of a log as (line, location it names or None, line index).

    Lines right after a splat line (the DEBUG_LOCKS_WARN_ON condition after a WARNING) belong
    to the same splat; the line that names a location represents it.
    """
    out = []
    last = -10
    for i, line in enumerate(lines):
        if not SPLAT_RE.search(line):
            continue
        loc = LOC_RE.search(line)
        if i - last <= 3 and out:
            if out[-1][1] is None and loc:
                out[-1] = (line.strip(), loc.group(1), out[-1][2])
        else:
            out.append((line.strip(), loc.group(1) if loc else None, i))
        last = i
    return out


class Baseline:
    """Known failures and WARN locations of the base's own tests in one boot (baselines/*.txt).

        fail <suite>.<test>[.<param>]       a known failing test (prefix match)
        warn <file>:<line> [in <name>]      a known WARN location, optionally only in tests whose
                                            suite, test or parameter name starts with <name>
    """

    def __init__(self, path):
        self.fails, self.warns = [], []
        for line in read(path) or []:
            line = line.split("#", 1)[0].strip()
            if line.startswith("fail "):
                self.fails.append(line[5:].strip())
            elif line.startswith("warn "):
                loc, _, test = line[5:].partition(" in ")
                self.warns.append((loc.strip(), test.strip()))

    def known_fail(self, path):
        return any(path.startswith(f) for f in self.fails)

    def known_warn(self, loc, test):
        parts = (test or "").split(".")
        return loc is not None and any(
            loc.endswith(w) and (not t or any(p.startswith(t) for p in parts))
            for w, t in self.warns)


def igt_results(log_lines, rc, suite, known=lambda name: False):
    """Per-subtest IGT results; a test without subtests is judged by its exit code.

    A subtest with dynamic subtests is counted through them (as `subtest/dynamic`), not itself.
    A failure that `known(name)` accepts is not counted; the names of those are returned second.
    """
    start_re = re.compile(r"^Starting subtest: (\S+)")
    sub_re = re.compile(r"^(Subtest|Dynamic subtest) (\S+): (SUCCESS|FAIL|SKIP|CRASH|TIMEOUT)")
    rows = []
    current, dynamic = None, 0
    for line in log_lines:
        m = start_re.match(line)
        if m:
            current, dynamic = m.group(1), 0
            continue
        m = sub_re.match(line)
        if not m:
            continue
        if m.group(1) == "Dynamic subtest":
            dynamic += 1
            rows.append((f"{current}/{m.group(2)}", m.group(3)))
        elif not dynamic:
            rows.append((m.group(2), m.group(3)))
    if not rows:
        rows.append(("(whole test)", {0: "SUCCESS", 77: "SKIP"}.get(rc, f"FAIL (exit {rc})")))
    known_failed = []
    for name, res in rows:
        status = {"SUCCESS": "pass", "SKIP": "skip"}.get(res, "fail")
        if status == "fail" and known(name):
            known_failed.append(name)
            continue
        suite.add(status, f"{name}: {res}")
    return rows, known_failed


def main():
    run = sys.argv[1]
    igt_only = "--igt" in sys.argv
    suites, order = {}, []

    def suite(name):
        if name not in suites:
            suites[name] = Suite(name)
            order.append(name)
        return suites[name]

    known_seen = []

    lint = read(os.path.join(run, "lint.tap"))
    if lint is not None:
        parse_ktap(lint, "lint (make lint for details)", suites, order)

    # KUnit boots.
    for path in sorted(glob.glob(os.path.join(run, "kunit-*.log")), key=os.path.getmtime):
        boot = os.path.basename(path)[len("kunit-"):-len(".log")]
        base = Baseline(os.path.join(HERE, "baselines", f"kunit-{boot}.txt"))
        lines = read(path)
        sub, sub_order = {}, []
        plan, got, found = parse_ktap(lines, f"kunit-{boot}", sub, sub_order)
        canary = Suite(f"kunit: the base's C DRM suites (canary, {len(sub_order)} suites)")
        for name in sub_order:
            s = sub[name]
            # Known failures of the base's own tests do not count against us.
            for note in s.notes:
                if base.known_fail(note):
                    known_seen.append(note)
                    s.failed -= 1
                else:
                    canary.notes.append(note)
            if boot == "drm-c":
                canary.passed += s.passed
                canary.failed += s.failed
                canary.skipped += s.skipped
                continue
            s.notes = [n for n in s.notes if not base.known_fail(n)]
            s.name = f"kunit: {name}"
            suites[s.name] = s
            order.append(s.name)
        if boot == "drm-c":
            suites[canary.name] = canary
            order.append(canary.name)
        check = suite(f"boot: kunit-{boot}")
        if plan is None:
            check.add("fail", f"no KTAP output in {path}")
        elif got < plan:
            check.add("fail", f"only {got} of {plan} suites reported (crash or timeout?), see {path}")
        else:
            check.add("pass")
        for line, loc, test in found:
            if base.known_warn(loc, test):
                known_seen.append(f"{loc} in {test}")
            else:
                check.add("fail", f"kernel splat in {test or 'boot'}: {line}")

    # The userspace boot.
    if os.path.exists(os.path.join(run, "console.log")):
        for path in sorted(glob.glob(os.path.join(run, "user-*.tap"))):
            name = os.path.basename(path)[len("user-"):-len(".tap")]
            lines = read(path)
            before = sum(s.passed + s.failed + s.skipped for s in suites.values())
            plan, got, _ = parse_ktap(lines, f"user: {name}", suites, order)
            if plan is None or got < plan:
                suite(f"user: {name}").add("fail", f"incomplete: {got} of {plan} results, see {path}")
            elif sum(s.passed + s.failed + s.skipped for s in suites.values()) == before:
                suite(f"user: {name}").add("fail", f"no results in {path}")
        peers = read(os.path.join(run, "peers.tap"))
        if peers is not None:
            parse_ktap(peers, "peer clients", suites, order)
        table, drivers = {}, []
        # IGT subtests that fail in UML for every driver, the C peers included.
        igt_base = Baseline(os.path.join(HERE, "baselines", "igt-uml.txt"))
        for path in sorted(glob.glob(os.path.join(run, "igt-*.log")), key=os.path.getmtime):
            base = os.path.basename(path)[len("igt-"):-len(".log")]
            drv, test = base.split("-", 1)
            rc_lines = read(path[:-4] + ".rc") or ["255"]
            rows, known = igt_results(read(path), int(rc_lines[0] or 255),
                                      suite(f"igt: {test} on {drv}"),
                                      lambda name, t=test: igt_base.known_fail(f"{t}/{name}"))
            known_seen.extend(f"IGT {test}/{name} on {drv}" for name in known)
            if drv not in drivers:
                drivers.append(drv)
            for name, res in rows:
                table.setdefault((test, name), {})[drv] = res
        # The sample must pass at least what vkms passes, test by test.
        sample = os.environ.get("SAMPLE_DRIVER", "vrust")
        if sample in drivers and "vkms" in drivers:
            cmp = suite(f"igt: {sample} passes at least what vkms passes")
            for t in dict.fromkeys(test for test, _ in table):
                n = {d: sum(r.get(d) == "SUCCESS" for (tt, _), r in table.items() if tt == t)
                     for d in (sample, "vkms")}
                if n[sample] >= n["vkms"]:
                    cmp.add("pass")
                else:
                    cmp.add("fail", f"{t}: {sample} {n[sample]} < vkms {n['vkms']} subtests passed")
        if igt_only and table:
            print(f"  {'test':24} {'subtest':52} " + " ".join(f"{d:>10}" for d in drivers))
            for (test, name), res in table.items():
                print(f"  {test:24} {name:52} " + " ".join(f"{res.get(d, '-'):>10}" for d in drivers))
            print(f"  {'SUCCESS per driver':77} " + " ".join(
                f"{sum(r.get(d) == 'SUCCESS' for r in table.values()):>10}" for d in drivers))
        if igt_only and not glob.glob(os.path.join(run, "igt-*.log")):
            suite("igt").add("fail", "no IGT test ran")
        check = suite("boot: userspace")
        rc = (read(os.path.join(run, "job.rc")) or [""])[0].strip()
        if not rc:
            check.add("fail", "the job did not finish: see console.log")
        elif rc != "0":
            check.add("fail", f"the job exited with {rc}: see console.log")
        else:
            check.add("pass")
        env = read(os.path.join(run, "env")) or []
        if "JOB=test" in env and not glob.glob(os.path.join(run, "user-*.tap")):
            check.add("fail", "no userspace test ran: see console.log")
        seen = set()
        for log in ("console.log", "dmesg.log"):
            for line, _, _ in splats(read(os.path.join(run, log)) or []):
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
    if known_seen:
        print(f"known failures and WARNs of the base kernel and of IGT in UML, not counted (baselines/): "
              f"{len(known_seen)}")
    passed = sum(s.passed for s in suites.values())
    failed = sum(s.failed for s in suites.values())
    skipped = sum(s.skipped for s in suites.values())
    if skipped:
        print(f"({skipped} skipped)")
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed or passed == 0 else 0)


if __name__ == "__main__":
    main()
