#!/usr/bin/env python3
# SPDX-FileCopyrightText: 2026 The tether authors
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Prints 'N passed, N failed' for a meson testlog.json.

A TAP test counts each of its test cases ('ok'/'not ok' lines); any other
test counts once. A TAP test that crashed counts its passed cases and one
failure for the crash. Skipped cases are reported separately.
"""
import json
import re
import sys

passed = failed = skipped = 0
for line in open(sys.argv[1], encoding="utf-8"):
    line = line.strip()
    if not line:
        continue
    t = json.loads(line)
    result = t.get("result")
    out = t.get("stdout") or ""
    if t.get("protocol") == "tap" or re.search(r"^1\.\.\d+", out, re.M):
        ok = len(re.findall(r"^ok \d+(?!.*# SKIP)", out, re.M | re.I))
        sk = len(re.findall(r"^ok \d+.*# SKIP", out, re.M | re.I))
        bad = len(re.findall(r"^not ok \d+", out, re.M))
        passed += ok
        skipped += sk
        failed += bad
        if result not in ("OK", "SKIP", "EXPECTEDFAIL") and bad == 0:
            failed += 1
    elif result in ("OK", "EXPECTEDFAIL"):
        passed += 1
    elif result == "SKIP":
        skipped += 1
    else:
        failed += 1

print(f"{passed} passed, {failed} failed, {skipped} skipped")
