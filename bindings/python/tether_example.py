#!/usr/bin/python3
# SPDX-FileCopyrightText: 2026 The tether authors
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# tether from Python through GObject introspection: worker threads from a
# concurrent.futures.ThreadPoolExecutor, each running its own GMainContext
# inside a tether manager, each getting its own "session" object from a
# provider written in Python.
#
# Run it from a build tree with:
#   meson devenv -C build -w . /usr/bin/python3 bindings/python/tether_example.py

import contextlib
import functools
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import gi

gi.require_version('GLib', '2.0')
gi.require_version('GObject', '2.0')
gi.require_version('Tether', '1')
from gi.repository import GLib, GObject, Tether  # noqa: E402


class Session(GObject.Object):
    """The resource: one per GMainContext, like a SoupSession would be.

    It remembers the thread that made it and whether it was closed, and it
    does not keep a reference on its context (a resource that does keeps the
    context alive until it is released)."""

    __gtype_name__ = 'TetherExampleSession'

    serial = GObject.Property(type=int, default=0)
    thread_name = GObject.Property(type=str, default='')
    closed = GObject.Property(type=bool, default=False)
    graceful = GObject.Property(type=bool, default=False)


class SessionProvider:
    """A tether provider written in Python: acquire and release are plain
    Python callables, run by tether on the acquiring thread (with the
    context pushed as thread-default) and on the releasing thread."""

    def __init__(self):
        self._lock = threading.Lock()
        self._serial = 0
        self.acquired = []      # every session made, in order
        self.released = []      # (session, graceful, context given?)
        self.wrong_context = 0  # acquires that ran without their context pushed

    def acquire(self, context):
        if GLib.MainContext.get_thread_default() != context:
            with self._lock:
                self.wrong_context += 1
        with self._lock:
            self._serial += 1
            session = Session(serial=self._serial,
                              thread_name=threading.current_thread().name)
            self.acquired.append(session)
        return session

    def release(self, session, context, graceful):
        session.props.closed = True
        session.props.graceful = graceful
        with self._lock:
            self.released.append((session, graceful, context is not None))

    def make_template(self, name='py-session'):
        return Tether.Template.new_for_object(name, 'A session made in Python',
                                              Session, self.acquire, self.release)


@contextlib.contextmanager
def managed(context=None, flags=Tether.ManagerFlags.NONE):
    """The scoped form: `with managed(ctx):` acquires every registered
    template for ctx (the calling thread's thread-default context) and
    releases them all when the block ends, even on an exception."""
    manager = Tether.Manager.new(context, flags)
    manager.acquire()
    try:
        yield manager
    finally:
        manager.release()


def in_new_context(func):
    """The decorator-like form: the decorated function runs in a fresh
    GMainContext of its own, pushed as thread-default, inside
    Tether.Manager.run(), which always releases the scope afterwards."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        context = GLib.MainContext.new()
        context.push_thread_default()
        outcome = {}

        def scope(*_user_data):
            # An exception cannot cross the C scope function: keep it, make
            # the scope fail, and raise it again once the scope is released.
            try:
                outcome['value'] = func(*args, **kwargs)
            except BaseException as e:  # noqa: B036
                outcome['exception'] = e
                return False
            return True

        try:
            Tether.Manager.run(context, Tether.ManagerFlags.NONE, scope, None)
        except GLib.Error:
            if 'exception' not in outcome:
                raise
        finally:
            context.pop_thread_default()
        if 'exception' in outcome:
            raise outcome['exception']
        return outcome.get('value')

    return wrapper


def main():
    provider = SessionProvider()
    template = provider.make_template()

    def job(n):
        context = GLib.MainContext.new()
        context.push_thread_default()
        try:
            with managed(context):
                session = template.acquire_object(None)
                return n, session.props.serial, session.props.thread_name
        finally:
            context.pop_thread_default()

    @in_new_context
    def decorated_job(n):
        session = template.lookup_object(None)
        return n, session.props.serial, session.props.thread_name

    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(job, range(4)))
        results += list(pool.map(decorated_job, range(4, 8)))

    for n, serial, thread_name in results:
        print(f'job {n}: session #{serial} made on {thread_name}')
    print(f'{len(provider.acquired)} sessions made, {len(provider.released)} released, '
          f'{Tether.Template.get_n_held(template)} still held')

    template.unregister()
    ok = (len(provider.released) == len(provider.acquired) == len(results)
          and provider.wrong_context == 0)
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
