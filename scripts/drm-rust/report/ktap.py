# SPDX-License-Identifier: GPL-2.0
"""The KTAP (and TAP) parser that the KUnit and kselftest collectors share."""

import re

from .splats import splats

RESULT_RE = re.compile(r"^(\s*)(ok|not ok) (\d+)(?: -)? ?([^#]*?)\s*(?:#\s*(.*))?$")
PLAN_RE = re.compile(r"^(\s*)1\.\.(\d+)")
SUBTEST_RE = re.compile(r"^(\s*)# Subtest: (\S+)")


def parse(lines, default_suite, res):
    """Counts leaf results of a (possibly nested) KTAP stream, per suite, into `res`.

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
        res.suite(suite_name).add(status, path)

    # A splat belongs to the test whose result follows it; before the first plan, to the boot.
    found = []
    for line, loc, i in splats(lines):
        if plan_at is None or i < plan_at:
            test = "early boot"
        else:
            test = next((path for at, path in results if at > i), None)
        found.append((line, loc, test))
    return plan, top_results, found
