# SPDX-License-Identifier: GPL-2.0
"""What every collector shares: a suite's counts, the results of one kernel's boots, and reading
a log."""

import os
import re

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PREFIX_RE = re.compile(r"^\[\s*\d+\.\d+\]\s?")


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

    def total(self):
        return self.passed + self.failed + self.skipped


class Results:
    """The suites of one kernel's boots, in the order they are reported, and the known failures
    (of the baselines) that were seen and not counted, and the C peers' IGT subtests that failed
    and passed when run again."""

    def __init__(self):
        self.suites = {}
        self.order = []
        self.known = []
        self.again = []

    def suite(self, name):
        if name not in self.suites:
            self.suites[name] = Suite(name)
            self.order.append(name)
        return self.suites[name]

    def put(self, s):
        """Adds a suite made elsewhere, under its name."""
        self.suites[s.name] = s
        self.order.append(s.name)

    def total(self):
        return sum(s.total() for s in self.suites.values())


def read(path):
    """The lines of a log without their kernel timestamps; None when there is no such file."""
    try:
        with open(path, errors="replace") as f:
            return [PREFIX_RE.sub("", line.rstrip("\n")) for line in f]
    except FileNotFoundError:
        return None
