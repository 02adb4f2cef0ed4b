#!/usr/bin/python3
# SPDX-FileCopyrightText: 2026 The tether authors
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Runs README.md's Python example as written (the code block of "Python,
# JavaScript, GTK"), with `urls` pointing at a local Soup.Server, in a
# process of its own where a DeprecationWarning from the example or from
# tether's overrides is an error. Where
# PyGObject has no gi.events (before 3.50), the example must stop at once
# with a message naming PyGObject >= 3.50. Prints TAP.
#
# Usage: test_readme_example.py SOURCE_ROOT

import os
import re
import subprocess
import sys
import tempfile
import threading

import gi

gi.require_version('GLib', '2.0')
gi.require_version('Soup', '3.0')
from gi.repository import GLib, Soup  # noqa: E402

try:
    import gi.events  # noqa: F401
    HAS_EVENTS = True
except ImportError:
    HAS_EVENTS = False


def example(readme):
    text = open(readme, encoding='utf-8').read()
    section = text[text.index('## Python, JavaScript, GTK'):]
    m = re.search(r'```python\n(.*?)```', section, re.S)
    if m is None:
        raise SystemExit(f'no python block in the "Python, JavaScript, GTK" section of {readme}')
    return m.group(1)


def serve():
    """A Soup.Server on 127.0.0.1 answering with the path, in a thread."""
    ready = threading.Event()
    state = {}

    def run():
        context = GLib.MainContext.new()
        context.push_thread_default()
        server = Soup.Server()
        server.add_handler('/', lambda _s, msg, path, *_: (
            msg.set_status(200, None),
            msg.set_response('text/plain', Soup.MemoryUse.COPY, path.encode())))
        server.listen_local(0, Soup.ServerListenOptions.IPV4_ONLY)
        state['url'] = server.get_uris()[0].to_string()
        state['context'] = context
        ready.set()
        while not state.get('stop'):
            context.iteration(True)
        server.disconnect()
        context.pop_thread_default()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait(30)

    def stop():
        state['stop'] = True
        state['context'].wakeup()
        thread.join(30)

    return state['url'], stop


def main():
    code = example(os.path.join(sys.argv[1], 'README.md'))
    url, stop = serve()
    print('TAP version 13')
    print('1..1')
    urls = [f'{url}job/{n}' for n in range(6)]
    script = (f'urls = {urls!r}\n' + code +
              '\nprint("bodies:", sorted(b.get_data().decode() for b in bodies))\n')
    try:
        with tempfile.NamedTemporaryFile('w', suffix='.py', delete=False) as f:
            f.write(script)
        # The example's own code and tether's overrides: PyGObject 3.58
        # itself touches asyncio's deprecated policy names on Python 3.14
        # (hidden by Python's default filters, outside __main__).
        proc = subprocess.run([sys.executable,
                               '-W', 'error::DeprecationWarning:__main__',
                               '-W', 'error::DeprecationWarning:gi.overrides.Tether', f.name],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=120)
    finally:
        os.unlink(f.name)
        stop()
    if HAS_EVENTS:
        expected = 'bodies: ' + repr(sorted(f'/job/{n}' for n in range(6)))
        ok = proc.returncode == 0 and expected in proc.stdout
        name = "README's asyncio example runs, with no DeprecationWarning of its own"
    else:
        ok = proc.returncode != 0 and 'PyGObject >= 3.50' in proc.stdout and \
            'Traceback' not in proc.stdout
        name = "README's asyncio example stops with a message naming PyGObject >= 3.50"
    print(f'{"ok" if ok else "not ok"} 1 - {name}')
    if not ok:
        for line in proc.stdout.splitlines():
            print(f'# {line}')
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
