#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turns the logs of a test run into a per-suite summary and the closing `N passed, N failed`.

Usage: report.py RUN_DIR [--igt | --bench]

The collectors, one per source of results, are in report/ (see report/__init__.py).
"""

import sys

import report

if __name__ == "__main__":
    sys.exit(report.main(sys.argv))
