#!/usr/bin/python3
# SPDX-FileCopyrightText: 2026 The tether authors
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# What a Python program pays for tether's resources API, against a
# pure-Python cache written the way Pyot's pyot.core.resources works (a
# dict per template keyed by the event loop, a threading.Lock taken through
# the loop's default executor on a miss, a manager that awaits every
# template's acquire and release in turn), measured in the same run, in the
# same loop, on the same interpreter:
#
#   cached `await template.acquire()`        target <= 1.0x the Pyot-style cache
#   cached `template.acquire_sync()` in a loop target <= 1.0x
#   cached `template.acquire_sync()`, no loop  against a dict keyed by the
#                                              thread-default context (found
#                                              through GI, as Python must)
#   `async with resource_manager()`, 16 templates  target >= 10x faster
#   `with resource_manager()`, 16 templates        (no Pyot equivalent; against
#                                              the same dict-and-lock work)
#
# Each figure is the median of 7 runs, tether's and the baseline's in turn. The asyncio rows need PyGObject >=
# 3.50 (gi.events) and are left out, saying so, elsewhere.
#
#   meson test -C build --benchmark bench-python-acquire

import asyncio
import os
import statistics
import sys
import threading
import time

import gi

gi.require_version('GLib', '2.0')
gi.require_version('Tether', '1')
from gi.repository import GLib, Tether  # noqa: E402

try:
    from gi import events as gi_events
except ImportError:
    gi_events = None

REPEATS = 7
HITS = int(os.environ.get('BENCH_PYTHON_HITS', '200000'))
CYCLES = int(os.environ.get('BENCH_PYTHON_CYCLES', '300'))
N_TEMPLATES = 16


# -- the baseline: Pyot's algorithm, written for this benchmark ----------

pyot_registry = []
pyot_managed = set()


class PyotStyleTemplate:
    """One resource per event loop in a dict; a miss takes a threading
    lock without blocking the loop (through the default executor) and
    awaits acquire_func's result if it is awaitable."""

    def __init__(self, acquire_func, release_func=None):
        self.acquire_func = acquire_func
        self.release_func = release_func
        self.by_loop = {}
        self.lock = threading.Lock()
        pyot_registry.append(self)

    async def acquire(self, loop=None):
        if loop is None:
            loop = asyncio.get_event_loop()
        if loop in self.by_loop:
            return self.by_loop[loop]
        await loop.run_in_executor(None, self.lock.acquire)
        try:
            if loop not in self.by_loop:
                made = self.acquire_func()
                if asyncio.iscoroutine(made):
                    made = await made
                self.by_loop[loop] = made
            return self.by_loop[loop]
        finally:
            self.lock.release()

    def acquire_sync(self, loop=None):
        # The same hit, without the coroutine.
        if loop is None:
            loop = asyncio.get_event_loop()
        if loop in self.by_loop:
            return self.by_loop[loop]
        raise LookupError('the baseline has no sync miss')

    async def release(self, loop=None):
        if loop is None:
            loop = asyncio.get_event_loop()
        await loop.run_in_executor(None, self.lock.acquire)
        try:
            made = self.by_loop.pop(loop)
            if self.release_func is not None:
                done = self.release_func(made)
                if asyncio.iscoroutine(done):
                    await done
        finally:
            self.lock.release()


class PyotStyleManager:
    async def __aenter__(self):
        self.loop = asyncio.get_event_loop()
        pyot_managed.add(self.loop)
        for template in pyot_registry:
            await template.acquire(self.loop)
        return self

    async def __aexit__(self, *exc):
        pyot_managed.discard(self.loop)
        for template in pyot_registry:
            await template.release(self.loop)


class ContextDictTemplate:
    """The sync baseline: a dict keyed by the thread-default context, which
    pure Python can only find through GI."""

    def __init__(self, acquire_func, release_func=None):
        self.acquire_func = acquire_func
        self.release_func = release_func
        self.by_context = {}
        self.lock = threading.Lock()

    def acquire_sync(self):
        key = hash(GLib.MainContext.ref_thread_default())
        try:
            return self.by_context[key]
        except KeyError:
            pass
        with self.lock:
            return self.by_context.setdefault(key, self.acquire_func())

    def release_sync(self):
        key = hash(GLib.MainContext.ref_thread_default())
        with self.lock:
            made = self.by_context.pop(key)
        if self.release_func is not None:
            self.release_func(made)


# -- measuring ------------------------------------------------------------

def compare_ns(run_ours, run_base, n):
    """Medians over REPEATS of the time per operation, in ns, of @run_ours
    and @run_base (each doing @n operations), run in turn so that a change
    of the machine's load touches both alike."""
    ours, base = [], []
    for _ in range(REPEATS):
        for run, samples in ((run_ours, ours), (run_base, base)):
            start = time.perf_counter_ns()
            run()
            samples.append((time.perf_counter_ns() - start) / n)
    return statistics.median(ours), statistics.median(base)


async def acompare_ns(run_ours, run_base, n):
    ours, base = [], []
    for _ in range(REPEATS):
        for run, samples in ((run_ours, ours), (run_base, base)):
            start = time.perf_counter_ns()
            await run()
            samples.append((time.perf_counter_ns() - start) / n)
    return statistics.median(ours), statistics.median(base)


rows = []


def row(what, ours, base, target, faster_is_ratio=False):
    """faster_is_ratio: the target is how many times faster (base/ours),
    else the ratio ours/base must stay at or under it."""
    if faster_is_ratio:
        ratio = base / ours
        met = ratio >= target
        shown, goal = f'{ratio:.1f}x faster', f'>= {target:g}x faster'
    else:
        ratio = ours / base
        met = target is None or ratio <= target
        shown, goal = f'{ratio:.2f}x', '-' if target is None else f'<= {target:g}x'
    rows.append((what, ours, base, shown, goal,
                 '-' if target is None else ('yes' if met else 'NO')))


def fmt(ns):
    return f'{ns / 1000:.1f} us' if ns >= 10000 else f'{ns:.0f} ns'


def print_table():
    print(f'Python {sys.version.split()[0]}, PyGObject {gi.__version__}, '
          f'GLib {GLib.MAJOR_VERSION}.{GLib.MINOR_VERSION}.{GLib.MICRO_VERSION}; '
          f'median of {REPEATS} runs each, in turn')
    head = ('', 'tether', 'baseline', 'ratio', 'target', 'met')
    widths = [max(len(str(x)) for x in col) for col in zip(head, *[
        (r[0], fmt(r[1]), fmt(r[2]), r[3], r[4], r[5]) for r in rows])]
    line = '| ' + ' | '.join(f'{{:{w}}}' for w in widths) + ' |'
    print(line.format(*head))
    print('|' + '|'.join('-' * (w + 2) for w in widths) + '|')
    for r in rows:
        print(line.format(r[0], fmt(r[1]), fmt(r[2]), r[3], r[4], r[5]))


def sync_rows():
    ours = Tether.ResourceTemplate(object, name='bench-sync-hit')
    base = ContextDictTemplate(object)
    context = GLib.MainContext.new()
    context.push_thread_default()
    try:
        ours.acquire_sync()
        base.acquire_sync()

        def run_ours():
            acquire = ours.acquire_sync
            for _ in range(HITS):
                acquire()

        def run_base():
            acquire = base.acquire_sync
            for _ in range(HITS):
                acquire()

        row('cached acquire_sync(), no loop (thread-default context)',
            *compare_ns(run_ours, run_base, HITS), 1.0)
        ours.release_sync()
        base.release_sync()
    finally:
        context.pop_thread_default()
        ours.unregister()

    templates = [Tether.ResourceTemplate(object, lambda _v: None, name=f'bench-sync-{i}')
                 for i in range(N_TEMPLATES)]
    bases = [ContextDictTemplate(object, lambda _v: None) for _ in range(N_TEMPLATES)]
    context = GLib.MainContext.new()
    context.push_thread_default()
    try:
        def run_ours():
            for _ in range(CYCLES):
                with Tether.resource_manager():
                    pass

        def run_base():
            for _ in range(CYCLES):
                for template in bases:
                    template.acquire_sync()
                for template in reversed(bases):
                    template.release_sync()

        row(f'with resource_manager(), {N_TEMPLATES} templates (sync)',
            *compare_ns(run_ours, run_base, CYCLES), None)
    finally:
        context.pop_thread_default()
        for template in templates:
            template.unregister()


async def async_rows():
    ours = Tether.ResourceTemplate(object, name='bench-async-hit')
    base = PyotStyleTemplate(object)
    pyot_registry.remove(base)
    await ours.acquire()
    await base.acquire()

    async def run_ours():
        acquire = ours.acquire
        for _ in range(HITS):
            await acquire()

    async def run_base():
        acquire = base.acquire
        for _ in range(HITS):
            await acquire()

    row('cached await template.acquire()',
        *await acompare_ns(run_ours, run_base, HITS), 1.0)

    def run_ours_sync():
        acquire = ours.acquire_sync
        for _ in range(HITS):
            acquire()

    def run_base_sync():
        acquire = base.acquire_sync
        for _ in range(HITS):
            acquire()

    row('cached acquire_sync() in a running loop',
        *compare_ns(run_ours_sync, run_base_sync, HITS), 1.0)
    await ours.release()
    await base.release()
    ours.unregister()

    templates = [Tether.ResourceTemplate(object, lambda _v: None, name=f'bench-async-{i}')
                 for i in range(N_TEMPLATES)]
    for _ in range(N_TEMPLATES):
        PyotStyleTemplate(object, lambda _v: None)
    try:
        async def cycle_ours():
            for _ in range(CYCLES):
                async with Tether.resource_manager():
                    pass

        async def cycle_base():
            for _ in range(CYCLES):
                async with PyotStyleManager():
                    pass

        row(f'async with resource_manager(), {N_TEMPLATES} templates',
            *await acompare_ns(cycle_ours, cycle_base, CYCLES), 10.0, faster_is_ratio=True)
    finally:
        for template in templates:
            template.unregister()
        pyot_registry.clear()


def main():
    Tether.set_unmanaged_warning_enabled(False)
    sync_rows()
    if gi_events is None:
        print(f'asyncio rows left out: PyGObject {gi.__version__} has no gi.events (needs 3.50)')
    else:
        asyncio.run(async_rows(), loop_factory=Tether.new_event_loop)
    print_table()
    return 0


if __name__ == '__main__':
    sys.exit(main())
