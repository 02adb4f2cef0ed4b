#!/usr/bin/python3
# SPDX-FileCopyrightText: 2026 The tether authors
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The asyncio forms of Pyot's resources API on tether, where they differ
# from a plain cache: cancellation that leaves nothing behind, the purge of
# what coroutines made, the loop_factory forms of Python 3.12 and later,
# and Pyot's rules (order of an enter, a manager bound to its loop, the
# per-template purge, the warning in the caller's frame). Needs PyGObject
# >= 3.50 (gi.events); skipped, with that reason, elsewhere. Prints TAP.

import asyncio
import gc
import logging
import os
import sys
import threading
import unittest
import warnings
import weakref

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import tether_tap  # noqa: E402

import gi  # noqa: E402

gi.require_version('GLib', '2.0')
gi.require_version('Gio', '2.0')
gi.require_version('Soup', '3.0')
gi.require_version('Tether', '1')
from gi.repository import Gio, GLib, Soup, Tether  # noqa: E402

try:
    from gi.events import GLibEventLoop, GLibEventLoopPolicy
except ImportError:
    GLibEventLoop = GLibEventLoopPolicy = None

TIMEOUT = 30  # seconds any wait may take
NEEDS_EVENTS = 'needs PyGObject >= 3.50 (gi.events); this is PyGObject ' + gi.__version__


def run_in_thread(main, loop_factory=None):
    """asyncio.run(main()) in a daemon thread of its own (a hang fails the
    test instead of blocking the interpreter's exit), with @loop_factory,
    else over the GLib policy the test case set; returns or raises what it
    did."""
    outcome = {}

    def thread():
        try:
            outcome['value'] = asyncio.run(main(), loop_factory=loop_factory)
        except BaseException as e:  # noqa: B036 - handed to the test
            outcome['error'] = e

    t = threading.Thread(target=thread, daemon=True)
    t.start()
    t.join(TIMEOUT)
    if t.is_alive():
        raise AssertionError(f'asyncio.run({main.__name__}) did not end within {TIMEOUT} s')
    if 'error' in outcome:
        raise outcome['error']
    return outcome.get('value')


def plain_glib_loop():
    """gi.events' own loop as a loop_factory, as PyGObject documents it."""
    return GLibEventLoop(GLib.MainContext.new())


class Pipe:
    """A Gio read on a pipe nobody writes to: a Gio call that only ends
    when it is cancelled."""

    def __init__(self):
        self.r, self.w = os.pipe()
        stream_type = getattr(Gio, 'UnixInputStream', None)
        if stream_type is None:
            gi.require_version('GioUnix', '2.0')
            from gi.repository import GioUnix
            stream_type = GioUnix.InputStream
        self.stream = stream_type.new(self.r, False)

    async def read(self):
        return await self.stream.read_bytes_async(16, GLib.PRIORITY_DEFAULT)

    def close(self):
        os.close(self.r)
        os.close(self.w)


class Counter:
    """acquire/release functions that count what they made and released."""

    def __init__(self):
        self.made = []
        self.released = []

    def acquire(self):
        self.made.append(object())
        return self.made[-1]

    def release(self, value):
        self.released.append(value)


@unittest.skipIf(GLibEventLoop is None, NEEDS_EVENTS)
class AsyncioTestCase(unittest.TestCase):
    def setUp(self):
        # The policy form runs asyncio over GLib on every PyGObject >= 3.50
        # (the tests of loop_factory pass theirs); newer Pythons deprecate it.
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', DeprecationWarning)
            asyncio.set_event_loop_policy(GLibEventLoopPolicy())
        Tether.set_unmanaged_warning_enabled(True)
        self.templates = []
        self._warnings = warnings.catch_warnings(record=True)
        self.warnings = self._warnings.__enter__()
        warnings.simplefilter('always')

    def tearDown(self):
        self._warnings.__exit__(None, None, None)
        for template in self.templates:
            template.unregister()
        Tether.purge()
        self.assertEqual(Tether.dup_managed_contexts(), [])
        Tether.set_unmanaged_warning_enabled(False)
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', DeprecationWarning)
            # The loops PyGObject's GLib.MainLoop.run() (the test servers')
            # makes through the policy, which nobody closes.
            policy = asyncio.get_event_loop_policy()
            for loop in list(getattr(policy, '_loops', {}).values()):
                if not loop.is_running() and not loop.is_closed():
                    loop.close()
            asyncio.set_event_loop_policy(None)

    def template(self, *args, **kwargs):
        template = Tether.ResourceTemplate(*args, **kwargs)
        self.templates.append(template)
        return template

    def resource_warnings(self):
        return [w for w in self.warnings if issubclass(w.category, Tether.ResourceWarning)]


class TestCancellation(AsyncioTestCase):
    """A cancelled or timed-out enter rolls back what it started: the
    context is left unmanaged, and a retry in the same loop enters."""

    def cancelled_enter(self, slow_kind, how, iterations):
        plain = Counter()
        self.template(plain.acquire, plain.release)
        state = {'slow': True, 'started': 0, 'stopped': 0}
        pipe = Pipe() if slow_kind == 'gio' else None

        async def slow_acquire():
            state['started'] += 1
            try:
                if state['slow']:
                    if pipe is not None:
                        await pipe.read()
                    else:
                        await asyncio.Event().wait()
            except (asyncio.CancelledError, GLib.Error):
                state['stopped'] += 1
                raise
            return 'slow resource'

        slow = self.template(slow_acquire)

        async def main():
            context = asyncio.get_running_loop()._context

            async def enter():
                async with Tether.resource_manager():
                    raise AssertionError('the scope was entered')

            if how == 'timeout':
                with self.assertRaises(TimeoutError):
                    async with asyncio.timeout(0.05):
                        await enter()
            else:
                task = asyncio.ensure_future(enter())
                for _ in range(iterations):
                    await asyncio.sleep(0)
                task.cancel()
                with self.assertRaises(asyncio.CancelledError):
                    await task
            managed = [hash(c) for c in Tether.dup_managed_contexts()]
            self.assertNotIn(hash(context), managed, 'the context is still managed')
            self.assertIsNone(slow.lookup(), 'the stopped acquire was cached')
            self.assertEqual(len(plain.made), len(plain.released), 'a resource was left held')
            # A retry in the same loop enters, and gets everything.
            state['slow'] = False
            async with Tether.resource_manager():
                self.assertEqual(await slow.acquire(), 'slow resource')
                self.assertIs(await self.templates[0].acquire(), plain.made[-1])
            return context

        try:
            run_in_thread(main)
        finally:
            if pipe is not None:
                pipe.close()
        self.assertEqual(len(plain.made), len(plain.released))
        if state['started'] > 1:
            self.assertEqual(state['stopped'], state['started'] - 1)

    def test_cancelled_enter_matrix(self):
        for kind in ('asyncio', 'gio'):
            for iterations in range(5):
                with self.subTest(kind=kind, iterations=iterations):
                    self.cancelled_enter(kind, 'cancel', iterations)
                    for template in self.templates:
                        template.unregister()
                    self.templates = []

    def test_timeout_during_enter_is_a_timeout_error(self):
        """asyncio.timeout() around an enter whose coroutine acquire awaits
        a Gio call: TimeoutError (PyGObject 3.50's Gio awaitable refuses
        asyncio's cancel message; the override works around it)."""
        for kind in ('asyncio', 'gio'):
            with self.subTest(kind=kind):
                self.cancelled_enter(kind, 'timeout', 0)
                for template in self.templates:
                    template.unregister()
                self.templates = []

    def test_last_waiter_cancelled_stops_the_acquire(self):
        state = {'stopped': 0}
        gate = {}

        async def slow():
            try:
                await gate['event'].wait()
            except asyncio.CancelledError:
                state['stopped'] += 1
                raise
            return 'made'

        template = self.template(slow)

        async def main():
            gate['event'] = asyncio.Event()
            first = asyncio.ensure_future(template.acquire())
            second = asyncio.ensure_future(template.acquire())
            await asyncio.sleep(0.01)
            first.cancel()
            await asyncio.sleep(0.01)
            self.assertEqual(state['stopped'], 0, 'stopped while another caller waits')
            second.cancel()
            await asyncio.sleep(0.01)
            self.assertEqual(state['stopped'], 1, 'the acquire_func was not cancelled')
            self.assertIsNone(template.lookup())
            self.assertEqual(template.template.get_n_held(), 0, 'the stopped acquire is held')
            gate['event'].set()
            return await template.acquire()   # a new acquire starts cleanly

        self.assertEqual(run_in_thread(main), 'made')

    def test_loop_closing_with_pending_acquires_logs_nothing(self):
        """Acquires still running when their loop shuts down (asyncio.run()
        cancels every task), and one whose only waiter left before it
        failed: nothing is reported as "never retrieved"."""
        records = []
        handler = logging.Handler()
        handler.emit = records.append
        logging.getLogger('asyncio').addHandler(handler)
        try:
            async def never():
                await asyncio.Event().wait()

            async def failing():
                await asyncio.sleep(0.01)
                raise ConnectionError('refused')

            hanging = self.template(never)
            broken = self.template(failing)

            async def main():
                waiters = [asyncio.ensure_future(hanging.acquire()) for _ in range(2)]
                gone = asyncio.ensure_future(broken.acquire())
                await asyncio.sleep(0)
                gone.cancel()
                await asyncio.sleep(0.02)
                return waiters

            run_in_thread(main)
            gc.collect()
        finally:
            logging.getLogger('asyncio').removeHandler(handler)
        self.assertEqual([r.getMessage() for r in records], [])
        self.assertEqual(hanging.template.get_n_held(), 0)
        self.assertEqual(broken.template.get_n_held(), 0)


class TestPurge(AsyncioTestCase):
    def test_purge_releases_every_dead_loop_and_nothing_keeps_them(self):
        """Loops that acquired without a manager, with plain and coroutine
        acquire functions: once closed, no loop and no context is kept
        alive, and the purge releases every resource."""
        plain, coro = Counter(), Counter()

        async def coro_acquire():
            await asyncio.sleep(0)
            return coro.acquire()

        plain_template = self.template(plain.acquire, plain.release)
        coro_template = self.template(coro_acquire, coro.release)
        Tether.set_unmanaged_warning_enabled(False)
        loops = []

        async def job(template):
            loops.append(weakref.ref(asyncio.get_running_loop()))
            await template.acquire()
            await template.acquire()   # the cached hit

        n = 10
        for template in [plain_template] * n + [coro_template] * n:
            run_in_thread(lambda: job(template))
        gc.collect()
        alive = sum(ref() is not None for ref in loops)
        self.assertEqual(alive, 0, f'closed loops still alive: {alive} of {2 * n}')
        self.assertEqual(plain_template.template.get_n_held(), 0)
        self.assertEqual(coro_template.template.get_n_held(), 0, 'contexts kept alive')
        self.assertEqual(Tether.purge(), 2 * n)
        self.assertEqual((len(plain.released), len(coro.released)), (n, n))

    def test_template_purge_purges_that_template(self):
        first, second = Counter(), Counter()
        one = self.template(first.acquire, first.release)
        two = self.template(second.acquire, second.release)
        Tether.set_unmanaged_warning_enabled(False)

        async def job():
            await one.acquire()
            await two.acquire()

        run_in_thread(job)
        gc.collect()

        async def purge():
            return await one.purge()

        self.assertEqual(run_in_thread(purge), 1)
        self.assertEqual((len(first.released), len(second.released)), (1, 0))
        self.assertEqual(Tether.purge(), 1)


class TestLoopFactory(AsyncioTestCase):
    """Python 3.12+'s asyncio.run(main(), loop_factory=...) and
    asyncio.Runner(loop_factory=...), with Tether.new_event_loop and with
    gi.events' own loop."""

    def seed_job(self, server_url, loop_factory):
        made_in = {}

        async def new_session():
            session = Soup.Session()
            await asyncio.sleep(0)
            made_in['context'] = hash(GLib.MainContext.ref_thread_default())
            return session

        sessions = self.template(new_session, lambda session: session.abort())

        async def main():
            context = asyncio.get_running_loop()._context
            async with Tether.resource_manager() as manager:
                self.assertIs(manager.loop, asyncio.get_running_loop())
                session = await sessions.acquire()
                self.assertIs(sessions.acquire_sync(), session,
                              'acquire_sync() resolved another context than await acquire()')
                self.assertIs(sessions.lookup(), session)
                msg = Soup.Message.new('GET', server_url)
                body = await session.send_and_read_async(msg, GLib.PRIORITY_DEFAULT, None)
            return hash(context), body.get_data()

        context, body = run_in_thread(main, loop_factory)
        self.assertEqual(body, b'hello')
        self.assertEqual(made_in['context'], context, 'the session was made in another context')
        self.assertEqual(Tether.dup_managed_contexts(), [])

    def test_asyncio_run_with_loop_factory(self):
        with LocalServer() as url:
            self.seed_job(url, Tether.new_event_loop)
        # No DeprecationWarning from this form or from tether. (PyGObject
        # 3.58's own GLib.MainLoop.run(), which the test server uses, calls
        # asyncio.get_event_loop_policy(), deprecated by Python 3.14.)
        ours = [w for w in self.warnings if issubclass(w.category, DeprecationWarning) and
                (w.filename == __file__ or w.filename.endswith(os.path.join('overrides', 'Tether.py')))]
        self.assertEqual([f'{w.filename}:{w.lineno}: {w.message}' for w in ours], [])

    def test_asyncio_run_with_gi_events_loop(self):
        """gi.events' own loop, which PyGObject 3.50 does not push as the
        thread-default context: tether's forms still resolve, push and
        deliver to the loop's context."""
        with LocalServer() as url:
            made = {}

            async def coro_acquire():
                await asyncio.sleep(0)
                made['context'] = hash(GLib.MainContext.ref_thread_default())
                return object()

            template = self.template(coro_acquire)

            async def main():
                context = asyncio.get_running_loop()._context
                async with Tether.resource_manager():
                    value = await template.acquire()
                    self.assertIs(template.acquire_sync(), value)
                self.assertIsNone(template.lookup())
                return hash(context)

            self.assertEqual(run_in_thread(main, plain_glib_loop), made['context'])
            del url

    def test_runner_with_loop_factory(self):
        counter = Counter()
        template = self.template(counter.acquire, counter.release)
        outcome = {}

        async def main():
            async with Tether.resource_manager():
                return await template.acquire()

        def thread():
            with asyncio.Runner(loop_factory=Tether.new_event_loop) as runner:
                outcome['first'] = runner.run(main())
                outcome['second'] = runner.run(main())

        t = threading.Thread(target=thread, daemon=True)
        t.start()
        t.join(TIMEOUT)
        self.assertFalse(t.is_alive(), 'asyncio.Runner hung')
        self.assertIsNot(outcome['first'], outcome['second'])
        self.assertEqual(counter.released, [outcome['first'], outcome['second']])


class TestPyotSemantics(AsyncioTestCase):
    def test_enter_awaits_acquires_in_registration_order(self):
        events = []

        def make(name):
            async def acquire():
                events.append(f'{name} start')
                await asyncio.sleep(0.005)
                events.append(f'{name} end')
                return name
            return acquire

        for name in 'abc':
            self.template(make(name))

        async def main():
            async with Tether.resource_manager():
                return [await t.acquire() for t in self.templates]

        self.assertEqual(run_in_thread(main), ['a', 'b', 'c'])
        self.assertEqual(events, ['a start', 'a end', 'b start', 'b end', 'c start', 'c end'])

    def test_manager_belongs_to_its_loop(self):
        self.template(object)
        made = {}

        async def make():
            manager = Tether.resource_manager()
            made['manager'], made['loop'] = manager, asyncio.get_running_loop()
            self.assertIs(manager.loop, made['loop'])

        async def enter_elsewhere():
            async with made['manager']:
                pass

        run_in_thread(make)
        with self.assertRaises(Tether.WrongLoopError) as cm:
            run_in_thread(enter_elsewhere)
        self.assertIsInstance(cm.exception, RuntimeError)
        del made['loop']

    def test_release_of_nothing_raises_a_value_error(self):
        template = self.template(object)

        async def main():
            await template.acquire()
            await template.release()
            with self.assertRaises(Tether.NotAcquiredError):
                await template.release()

        run_in_thread(main)

    def test_second_unmanaged_loop_warns_in_the_callers_frame(self):
        template = self.template(object, name='py-second-loop')

        async def job():
            await template.acquire()

        run_in_thread(job)   # closed, not purged
        self.assertEqual(self.resource_warnings(), [])
        caught = {}

        async def second():
            with warnings.catch_warnings():
                warnings.simplefilter('error', Tether.ResourceWarning)
                try:
                    await template.acquire()
                except Tether.ResourceWarning as e:
                    caught['warning'] = e

        run_in_thread(second)
        self.assertIn('py-second-loop', str(caught.get('warning')))

    def test_cached_hit_is_exact(self):
        counter = Counter()
        template = self.template(counter.acquire, counter.release)

        async def main():
            first = await template.acquire()
            self.assertIs(await template.acquire(), first)
            await template.release()
            second = await template.acquire()
            self.assertIsNot(second, first)
            async with Tether.resource_manager():
                self.assertIs(await template.acquire(), second)
            third = await template.acquire()   # the manager released second
            self.assertIsNot(third, second)
            await template.release()
            return [first, second, third]

        self.assertEqual(run_in_thread(main), counter.released)


class LocalServer:
    """`with LocalServer() as url:` a Soup.Server on 127.0.0.1 answering
    "hello", served by a thread of its own."""

    def __enter__(self):
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self._thread.start()
        if not ready.wait(TIMEOUT):
            raise RuntimeError('the server did not start')
        return self.url

    def _run(self, ready):
        self._context = GLib.MainContext.new()
        self._context.push_thread_default()
        self._loop = GLib.MainLoop.new(self._context, False)
        server = Soup.Server()
        server.add_handler('/', lambda _s, msg, *_: (
            msg.set_status(200, None),
            msg.set_response('text/plain', Soup.MemoryUse.COPY, b'hello')))
        server.listen_local(0, Soup.ServerListenOptions.IPV4_ONLY)
        self.url = server.get_uris()[0].to_string()
        ready.set()
        self._loop.run()
        server.disconnect()
        self._context.pop_thread_default()

    def __exit__(self, *exc):
        source = GLib.idle_source_new()
        source.set_callback(lambda *_: self._loop.quit() or False)
        source.attach(self._context)
        self._thread.join(TIMEOUT)
        return False


if __name__ == '__main__':
    sys.exit(tether_tap.main())
