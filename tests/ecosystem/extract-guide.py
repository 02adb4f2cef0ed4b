#!/usr/bin/python3
# SPDX-FileCopyrightText: 2026 The tether authors
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Extracts the C blocks of docs/writing-a-provider.md, in order: the blocks
# up to the one that starts with "/* app.c" make the provider module, that
# block and the following ones the application.
#
#   extract-guide.py GUIDE MODULE_OUT APP_OUT
#   extract-guide.py --compare GUIDE FILE     (FILE must equal the module)
#
# Blocks are joined with one blank line, as the sections of a file are.

import re
import sys


def blocks(path):
    with open(path, encoding='utf-8') as f:
        text = f.read()
    return [m.group(1).rstrip('\n') for m in
            re.finditer(r'^```c\n(.*?)^```\s*$', text, flags=re.S | re.M)]


def split(path):
    module, app = [], []
    for block in blocks(path):
        (app if app or block.startswith('/* app.c') else module).append(block)
    if not module or not app:
        sys.exit(f'{path}: expected provider blocks, then an "/* app.c" block')
    return '\n\n'.join(module) + '\n', '\n\n'.join(app) + '\n'


def main(argv):
    if len(argv) == 4 and argv[1] == '--compare':
        module, _ = split(argv[2])
        with open(argv[3], encoding='utf-8') as f:
            finished = f.read()
        if module == finished:
            print('1..1\nok 1 - the C blocks of the guide are', argv[3])
            return 0
        import difflib
        print('1..1\nnot ok 1 - the C blocks of the guide differ from', argv[3])
        for line in difflib.unified_diff(finished.splitlines(), module.splitlines(),
                                         argv[3], 'guide', lineterm=''):
            print('#', line)
        return 1
    if len(argv) != 4:
        sys.exit(__doc__)
    module, app = split(argv[1])
    with open(argv[2], 'w', encoding='utf-8') as f:
        f.write(module)
    with open(argv[3], 'w', encoding='utf-8') as f:
        f.write(app)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
