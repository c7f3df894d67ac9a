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
  kmemleak.log       the suspected leaks after the job's kmemleak scans (kmemleak.err: why it
                     could not scan), judged against baselines/kmemleak.txt
  <variant>/         the same files, of the boots of a kernel variant (configs/variants/): its
                     tests are counted as "<variant>: ...", and its baselines are the main ones
                     plus baselines/<variant>/<file> if there is one; build.failed when its
                     build failed
Every boot that runs our code must be free of kernel splats (among them KASAN reports, soft
lockups and kmemleak's complaints); a splat or a leak counts as a failed test.
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
    r"rcu: INFO:|detected stalls? on CPU|BUG: KASAN|KASAN:|UBSAN:|refcount_t:|"
    r"soft lockup|unreferenced object|"
    # kmemleak only announces itself at boot (and its test module, samples/kmemleak, says what
    # it leaks on purpose); anything else it says is a complaint, but one: when the fuzzer's
    # fault injection fails kmemleak's own allocation of a scan area, kmemleak scans the whole
    # object instead, which can hide a leak but never invents one.
    r"kmemleak: (?!Kernel memory leak detector initialized|Automatic memory scanning thread|"
    r"Kmemleak testing$|\w+\(.*\) = (0x)?[0-9a-f]+$|"
    r"Cannot allocate a scan area, scanning the full object$)|"
    r"DEBUG_LOCKS_WARN_ON|list_(add|del) corruption|ODEBUG:|"
    r"sleeping function called from invalid context|drm-rust: boot timed out"
)
LOC_RE = re.compile(r"([\w./-]+\.(?:c|h|rs):\d+)")
# What a kmemleak scan prints in the kernel log; the leaks themselves are judged in kmemleak.log.
KMEMLEAK_SUMMARY_RE = re.compile(r"kmemleak: \d+ new suspected memory leaks")


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
        leak <function>                     a known kmemleak report: an unreferenced object
                                            whose allocation backtrace has <function>

    A variant's boots read the main baseline and the variant's own (baselines/<variant>/).
    """

    def __init__(self, *paths):
        self.fails, self.warns, self.leaks = [], [], []
        for path in paths:
            for line in read(path) or []:
                line = line.split("#", 1)[0].strip()
                if line.startswith("fail "):
                    self.fails.append(line[5:].strip())
                elif line.startswith("warn "):
                    loc, _, test = line[5:].partition(" in ")
                    self.warns.append((loc.strip(), test.strip()))
                elif line.startswith("leak "):
                    self.leaks.append(line[5:].strip())

    def known_fail(self, path):
        return any(path.startswith(f) for f in self.fails)

    def known_leak(self, frames):
        return any(f.split(" ")[0] in self.leaks for f in frames)

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


# The stack trace's and the allocator's own frames at the top of a kmemleak backtrace, left out
# of the report.
ALLOC_FRAME_RE = re.compile(
    r"^(save_stack_trace|stack_trace_save|set_track_prepare|__alloc_object|__?create_object|"
    r"kmemleak_|__?kmalloc|kmalloc|kmem_cache_alloc|__kmem_cache_alloc|kvmalloc|__kvmalloc|"
    r"kzalloc|krealloc|__vmalloc|vmalloc|vzalloc|slab_|__slab_|alloc_pages|__alloc_pages|"
    r"pcpu_alloc|__alloc_percpu|kmemdup|kstrdup|__do_kmalloc|___slab|__rust_|"
    r"_RNv\w*alloc)")


def kmemleak_leaks(lines):
    """The objects of a kmemleak report: [(header line, comm, [backtrace frames])], a frame being
    a function name, followed by " [module]" for a module's function."""
    leaks = []
    # "    function+0x1a/0x40 [module]" (older kernels: "    [<address>] function+0x1a/0x40").
    frame_re = re.compile(
        r"^\s+(?:\[<[0-9a-f]+>\]\s+)?([A-Za-z_.$][\w.$]*)\+0x[0-9a-f]+/0x[0-9a-f]+(\s+\[\w+\])?")
    comm_re = re.compile(r'^\s*comm "([^"]*)"')
    for line in lines:
        if line.startswith("unreferenced object"):
            leaks.append([line.strip().rstrip(":"), "?", []])
        elif leaks:
            m = comm_re.match(line)
            if m:
                leaks[-1][1] = m.group(1)
            m = frame_re.match(line)
            if m:
                leaks[-1][2].append(m.group(1) + (m.group(2) or ""))
    return leaks


def collect(run, igt_only=False, variant=None):
    """Judges the boots of one kernel (a run directory, or its <variant>/ subdirectory).

    Returns (suites by name, their order, known failures seen).
    """
    suites, order = {}, []

    def baseline(name):
        paths = [os.path.join(HERE, "baselines", name)]
        if variant:
            paths.append(os.path.join(HERE, "baselines", variant, name))
        return Baseline(*paths)

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
        base = baseline(f"kunit-{boot}.txt")
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
        igt_base = baseline("igt-uml.txt")
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
        kmemleak = read(os.path.join(run, "kmemleak.log"))
        for log in ("console.log", "dmesg.log"):
            lines = [line for line in read(os.path.join(run, log)) or []
                     if kmemleak is None or not KMEMLEAK_SUMMARY_RE.search(line)]
            for line, _, _ in splats(lines):
                if line not in seen:
                    seen.add(line)
                    check.add("fail", f"kernel splat: {line}")
        # kmemleak (a kernel built with it): no leak after the job's scans but known ones.
        if "KMEMLEAK=1" in env and rc:
            leaks = suite("kmemleak: no unreferenced objects after the tests")
            err = read(os.path.join(run, "kmemleak.err"))
            if err is not None or kmemleak is None:
                why = " ".join(err or []).strip() or "no kmemleak.log"
                leaks.add("fail", f"the job could not scan for leaks: {why} (see console.log)")
            else:
                leak_base = baseline("kmemleak.txt")
                found = kmemleak_leaks(kmemleak)
                def planted(frames):
                    return any(f.endswith(" [kmemleak_test]") for f in frames)
                if "KMEMLEAK_TEST=1" in env:
                    # The job loaded samples/kmemleak, which leaks on purpose: no report of
                    # those means kmemleak does not work, not that nothing leaked.
                    canary = suite("kmemleak: finds the leaks planted by kmemleak-test")
                    if any(planted(frames) for _, _, frames in found):
                        canary.add("pass")
                    else:
                        canary.add("fail", "kmemleak reported none of the leaks of kmemleak-test.ko: "
                                   "is it off, or did insmod fail? (see console.log)")
                for header, comm, frames in found:
                    if planted(frames):
                        continue
                    if leak_base.known_leak(frames):
                        known_seen.append(f"kmemleak: {header}, comm {comm}")
                        continue
                    ours = [f for f in frames if not ALLOC_FRAME_RE.match(f)][:4]
                    leaks.add("fail", f"{header}, comm {comm}, allocated in "
                              f"{' < '.join(ours) or '?'} (see kmemleak.log)")
                if not leaks.failed:
                    leaks.add("pass")
        stats = read(os.path.join(run, "lockdep_stats"))
        lockdep = suite("lockdep still on after the tests")
        if stats is None:
            lockdep.add("fail", "no /proc/lockdep_stats (is PROVE_LOCKING off?)")
        elif not any(re.match(r"\s*debug_locks:\s+1$", s) for s in stats):
            lockdep.add("fail", "debug_locks is 0: lockdep switched itself off, see console.log")
        else:
            lockdep.add("pass")

    return suites, order, known_seen


def main():
    run = sys.argv[1]
    igt_only = "--igt" in sys.argv
    suites, order, known_seen = collect(run, igt_only)

    # Kernel variants: their results under their own names.
    variants = os.path.join(HERE, "configs", "variants")
    for cfg in sorted(glob.glob(os.path.join(variants, "*.config"))):
        variant = os.path.basename(cfg)[:-len(".config")]
        vrun = os.path.join(run, variant)
        if not os.path.isdir(vrun):
            continue
        vsuites, vorder, vknown = collect(vrun, variant=variant)
        failed = read(os.path.join(vrun, "build.failed"))
        if failed is not None:
            vsuites["build"] = Suite("build")
            vsuites["build"].add("fail", " ".join(failed).strip())
            vorder.insert(0, "build")
        elif not vorder:
            vsuites["boots"] = Suite("boots")
            vsuites["boots"].add("fail", f"no result of the variant's boots in {vrun}")
            vorder.append("boots")
        for name in vorder:
            s = vsuites[name]
            s.name = f"{variant}: {name}"
            suites[s.name] = s
            order.append(s.name)
        known_seen.extend(f"{variant}: {k}" for k in vknown)

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
