#!/usr/bin/python3
# SPDX-FileCopyrightText: 2026 The tether authors
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Runs the build-tree commands of docs/bindings.md as they are written: the
# shell block after "<!-- test: build-tree -->", from a directory that looks
# like the source directory with the build tree as `build`. The `meson
# setup` and `ninja` lines are the build this test runs in, so they are not
# run again. Prints TAP.
#
# Usage: test_doc_commands.py SOURCE_ROOT BUILD_ROOT

import os
import re
import subprocess
import sys
import tempfile


def commands(markdown):
    text = open(markdown, encoding='utf-8').read()
    m = re.search(r'<!-- test: build-tree -->\s*```sh\n(.*?)```', text, re.S)
    if m is None:
        raise SystemExit(f'no "<!-- test: build-tree -->" shell block in {markdown}')
    lines = m.group(1).replace('\\\n', ' ').splitlines()
    return [line.strip() for line in lines if line.strip()]


def main():
    source_root, build_root = (os.path.abspath(p) for p in sys.argv[1:3])
    cmds = [c for c in commands(os.path.join(source_root, 'docs', 'bindings.md'))
            if not c.startswith(('meson setup', 'ninja'))]
    print('TAP version 13')
    print(f'1..{len(cmds)}')
    failed = 0
    with tempfile.TemporaryDirectory(prefix='tether-doc-') as tree:
        for entry in os.listdir(source_root):
            if entry != 'build':
                os.symlink(os.path.join(source_root, entry), os.path.join(tree, entry))
        os.symlink(build_root, os.path.join(tree, 'build'))
        # The documented environment is all the commands get from the test.
        env = {k: v for k, v in os.environ.items()
               if k not in ('GI_TYPELIB_PATH', 'LD_LIBRARY_PATH', 'PYTHONPATH')}
        for n, cmd in enumerate(cmds, 1):
            proc = subprocess.run(['/bin/sh', '-c', cmd], cwd=tree, env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True, timeout=120)
            ok = proc.returncode == 0 and 'managed contexts left: 0' in proc.stdout
            failed += not ok
            print(f'{"ok" if ok else "not ok"} {n} - {cmd}')
            if not ok:
                for line in proc.stdout.splitlines():
                    print(f'# {line}')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
