#!/usr/bin/env python3
# SPDX-FileCopyrightText: 2026 The tether authors
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Checks, in a meson testlog.json, that the sentinel's direct test ran and passed.

tether learns of a context's death from a source's destroy notify, which GLib
must run inside the context's last g_main_context_unref(), before the memory
can be reused (docs/reliability.md, "The sentinel across GLib versions").
test-purge's /purge/dead-context/reused-address fails if it does not, and
skips only when the allocator never handed the dead context's address back
(by design under ASan). In a plain build a skip would leave the behaviour
unproved on that GLib, so here a skip fails like a failure.

Prints the case's TAP line, then "1 passed, 0 failed, 0 skipped" or
"0 passed, 1 failed, 0 skipped"; exits 0 or 1.
"""
import json
import re
import sys

CASE = "/purge/dead-context/reused-address"


def main(path):
    try:
        lines = open(path, encoding="utf-8").read().splitlines()
    except OSError as e:
        return f"sentinel: no test log: {e}"
    ran = False
    for line in lines:
        if not line.strip():
            continue
        t = json.loads(line)
        # "test-purge", "tether:test-purge" or "tether:core / test-purge",
        # depending on meson's version.
        if not re.search(r"(^|[ :])test-purge$", t.get("name", "")):
            continue
        ran = True
        for out in (t.get("stdout") or "").splitlines():
            if re.search(r"^(not )?ok \d+ " + re.escape(CASE) + r"\b", out):
                print(f"sentinel: {out}")
                if out.startswith("ok ") and "# SKIP" not in out.upper():
                    return None
                return f"sentinel: {CASE} did not pass (failed or skipped)"
    if ran:
        return f"sentinel: test-purge reported no {CASE}"
    return "sentinel: test-purge is not in the test log"


error = main(sys.argv[1] if len(sys.argv) > 1 else "build/meson-logs/testlog.json")
if error:
    print(error)
    print("0 passed, 1 failed, 0 skipped")
    sys.exit(1)
print("1 passed, 0 failed, 0 skipped")
