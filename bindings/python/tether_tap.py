# SPDX-FileCopyrightText: 2026 The tether authors
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Runs a module's unittest tests and prints TAP, for meson's `protocol: tap`.

import sys
import unittest


class TapResult(unittest.TestResult):
    def __init__(self):
        super().__init__()
        self.n = 0

    def _line(self, ok, test, detail=None):
        self.n += 1
        print(f'{"ok" if ok else "not ok"} {self.n} - {test.id()}')
        if detail:
            for line in detail.rstrip().splitlines():
                print(f'# {line}')
        sys.stdout.flush()

    def addSuccess(self, test):
        super().addSuccess(test)
        self._line(True, test)

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self.n += 1
        print(f'ok {self.n} - {test.id()} # SKIP {reason}')
        sys.stdout.flush()

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._line(False, test, self._exc_info_to_string(err, test))

    def addError(self, test, err):
        super().addError(test, err)
        self._line(False, test, self._exc_info_to_string(err, test))


def main(module_name='__main__'):
    suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules[module_name])
    print('TAP version 13')
    print(f'1..{suite.countTestCases()}')
    result = TapResult()
    suite.run(result)
    return 0 if result.wasSuccessful() else 1
