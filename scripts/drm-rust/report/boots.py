# SPDX-License-Identifier: GPL-2.0
"""The table of boots, scripts/drm-rust/boots.txt: which baselines judge a boot, and how it is
reported."""

import os

from .common import HERE

TABLE = os.path.join(HERE, "boots.txt")
COLUMNS = ("name", "kind", "runs", "baselines", "variant", "timeout", "targets", "options")


def rows():
    """Every row of the table, as a dict of its columns ('-' becomes empty, lists are split)."""
    out = []
    with open(TABLE) as f:
        for line in f:
            fields = line.split("#", 1)[0].split()
            if not fields:
                continue
            row = dict(zip(COLUMNS, [None if v == "-" else v for v in fields]))
            for col in ("baselines", "targets", "options"):
                row[col] = (row.get(col) or "").split(",") if row.get(col) else []
            out.append(row)
    return out


def find(kind, variant=None, name=None, runs=None):
    """The row of a boot of this kind on this kernel variant (None: the test kernel), by name
    (KUnit boots) or by what it runs (user boots: the job); a row of the test kernel stands in
    for a variant that has none of its own. None when the table has no such boot."""
    table = rows()
    for want in (variant, None):
        for row in table:
            if (row["kind"] == kind and row["variant"] == want and
                    (name is None or row["name"] == name) and (runs is None or row["runs"] == runs)):
                return row
    return None
