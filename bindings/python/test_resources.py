#!/usr/bin/python3
# SPDX-FileCopyrightText: 2026 The tether authors
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Pyot's resources API on tether (gi/overrides/Tether.py): ResourceTemplate,
# ResourceManager / resource_manager, as_decorator, resource_templates,
# resource_managed_contexts(), ResourceWarning; exceptions crossing the C
# boundary; typed resources from provider modules. The seed's example runs
# in its asyncio form where PyGObject >= 3.50 runs asyncio over GLib
# (gi.events), and in its sync form everywhere. Prints TAP.

import asyncio
import functools
import os
import sys
import threading
import unittest
import warnings
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import tether_tap  # noqa: E402

import gi  # noqa: E402

gi.require_version('GLib', '2.0')
gi.require_version('Gio', '2.0')
gi.require_version('Soup', '3.0')
gi.require_version('Tether', '1')
from gi.repository import Gio, GLib, GObject, Soup, Tether  # noqa: E402

try:
    from gi.events import GLibEventLoopPolicy
except ImportError:
    GLibEventLoopPolicy = None

HAS_EVENTS = GLibEventLoopPolicy is not None
N_JOBS = 6
N_WORKERS = 3
TIMEOUT = 30  # seconds any wait may take


def async_to_sync(func):
    """Pyot's pyot.utils.sync.async_to_sync: runs the coroutine function in
    an event loop of its own, on the calling thread."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        return asyncio.run(func(*args, **kwargs))
    return wrapper


def run_in_thread(coroutine_function, *args):
    """asyncio.run() in a thread of its own, as a pool worker would: with
    gi.events, asyncio.run() makes a new loop over a new GLib.MainContext,
    which only a thread that has no thread-default context yet can push
    (the main thread has the global default one)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine_function(*args)).result(timeout=TIMEOUT)


class LocalServer:
    """A Soup.Server on 127.0.0.1, served by a thread of its own."""

    def __init__(self):
        self.hits = 0
        self._lock = threading.Lock()
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), name='soup-server')
        self._thread.start()
        if not ready.wait(TIMEOUT):
            raise RuntimeError('the server did not start')

    def _run(self, ready):
        self._context = GLib.MainContext.new()
        self._context.push_thread_default()
        self._loop = GLib.MainLoop.new(self._context, False)
        server = Soup.Server()
        server.add_handler('/', self._handle)
        server.listen_local(0, Soup.ServerListenOptions.IPV4_ONLY)
        self.url = server.get_uris()[0].to_string()
        ready.set()
        self._loop.run()
        server.disconnect()
        self._context.pop_thread_default()

    def _handle(self, server, msg, path, query, *_user_data):
        with self._lock:
            self.hits += 1
        msg.set_status(200, None)
        msg.set_response('text/plain', Soup.MemoryUse.COPY, b'hello from 127.0.0.1')

    def close(self):
        source = GLib.idle_source_new()
        source.set_callback(lambda *_: self._loop.quit() or False)
        source.attach(self._context)
        self._thread.join(TIMEOUT)


class Sessions:
    """The seed's resource: a Soup.Session per context, recorded with the
    context it was made in and the context it was released in."""

    def __init__(self, url):
        self.url = url
        self.lock = threading.Lock()
        self.made = []        # (session, hash of the thread-default context)
        self.released = []    # (session, hash of the thread-default context)

    def _made(self, session):
        with self.lock:
            self.made.append((session, hash(GLib.MainContext.ref_thread_default())))
        return session

    def _released(self, session):
        with self.lock:
            self.released.append((session, hash(GLib.MainContext.ref_thread_default())))
        session.abort()

    # The sync form: plain functions.
    def acquire(self):
        session = Soup.Session()
        # A first fetch, as a client would check its server.
        session.send_and_read(Soup.Message.new('GET', self.url), None)
        return self._made(session)

    def release(self, session):
        self._released(session)

    # The asyncio form: coroutine functions.
    async def acquire_async(self):
        session = Soup.Session()
        await session.send_and_read_async(Soup.Message.new('GET', self.url),
                                          GLib.PRIORITY_DEFAULT, None)
        return self._made(session)

    async def release_async(self, session):
        await asyncio.sleep(0)   # a real await, in the session's loop
        self._released(session)


def fetch_sync(session, url):
    return session.send_and_read(Soup.Message.new('GET', url), None).get_data()


async def fetch(session, url):
    data = await session.send_and_read_async(Soup.Message.new('GET', url),
                                             GLib.PRIORITY_DEFAULT, None)
    return data.get_data()


class ResourcesTestCase(unittest.TestCase):
    def setUp(self):
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

    def template(self, *args, **kwargs):
        template = Tether.ResourceTemplate(*args, **kwargs)
        self.templates.append(template)
        return template

    def assert_no_warning(self):
        # Deprecations of the interpreter's own API are not the resources'.
        self.assertEqual([str(w.message) for w in self.warnings
                          if not issubclass(w.category, DeprecationWarning)], [])


class TestSyncForms(ResourcesTestCase):
    def test_any_python_object_one_per_context(self):
        released = []
        template = self.template(lambda: {'made': threading.get_ident()}, released.append,
                                 name='py-dict')
        self.assertIn(template, Tether.resource_templates)
        self.assertEqual(template.name, 'py-dict')
        a, b = GLib.MainContext.new(), GLib.MainContext.new()
        with _pushed(a):
            with Tether.resource_manager() as manager:
                self.assertEqual(manager.context, a)
                self.assertIn(a, Tether.resource_managed_contexts())
                first = template.acquire_sync()
                self.assertIsInstance(first, dict)
                self.assertIs(template.acquire_sync(a), first)
                self.assertIs(template.lookup(), first)
            self.assertEqual(released, [first])
            self.assertIsNone(template.lookup(a))
        with _pushed(b), Tether.resource_manager():
            self.assertIsNot(template.acquire_sync(), first)
        self.assertEqual(len(released), 2)
        self.assertNotIn(a, Tether.resource_managed_contexts())
        self.assert_no_warning()

    def test_release_sync_of_nothing_raises_a_value_error(self):
        """Pyot's release() of a loop that holds nothing raises ValueError."""
        released = []
        template = self.template(object, released.append)
        context = GLib.MainContext.new()
        value = template.acquire_sync(context)
        template.release_sync(context)
        self.assertEqual(released, [value])
        with self.assertRaises(Tether.NotAcquiredError) as cm:
            template.release_sync(context)
        self.assertIsInstance(cm.exception, ValueError)
        self.assertIn(template.name, str(cm.exception))
        self.assertEqual(released, [value])

    def test_seed_example_sync_form_in_thread_pool(self):
        """The seed's example without asyncio: pool workers, each with a
        context of its own and `with Tether.resource_manager():`, fetch from
        a local Soup.Server with their own Soup.Session."""
        server = LocalServer()
        try:
            sessions = Sessions(server.url)
            template = self.template(sessions.acquire, sessions.release)
            barrier = threading.Barrier(N_WORKERS, timeout=TIMEOUT)

            def job(n):
                context = GLib.MainContext.new()
                with _pushed(context), Tether.resource_manager():
                    session = template.acquire_sync()
                    body = fetch_sync(session, server.url)
                    if n < N_WORKERS:
                        barrier.wait()   # the first jobs hold theirs at once
                    return session, hash(context), body

            with ThreadPoolExecutor(max_workers=N_WORKERS) as pool:
                results = list(pool.map(job, range(N_JOBS), timeout=TIMEOUT))
            self.assert_seed_outcome(sessions, results)
        finally:
            server.close()

    def test_seed_example_sync_decorator_form(self):
        server = LocalServer()
        try:
            sessions = Sessions(server.url)
            template = self.template(sessions.acquire, sessions.release)

            @Tether.resource_manager.as_decorator
            def work(context):
                session = template.acquire_sync()
                return session, hash(context), fetch_sync(session, server.url)

            def job(_n):
                context = GLib.MainContext.new()
                with _pushed(context):
                    return work(context)

            with ThreadPoolExecutor(max_workers=N_WORKERS) as pool:
                results = list(pool.map(job, range(N_JOBS), timeout=TIMEOUT))
            self.assert_seed_outcome(sessions, results)
        finally:
            server.close()

    def assert_seed_outcome(self, sessions, results):
        self.assertEqual(len(results), N_JOBS)
        self.assertEqual(len({id(s) for s, _, _ in results}), N_JOBS,
                         'two jobs shared a session')
        made = {id(s): c for s, c in sessions.made}
        released = {id(s): c for s, c in sessions.released}
        for session, context, body in results:
            self.assertEqual(body, b'hello from 127.0.0.1')
            self.assertEqual(made[id(session)], context,
                             'a session was made in another context than its job')
            self.assertEqual(released.get(id(session)), context,
                             'a session was not released gracefully in its context')
        self.assertEqual(len(sessions.made), N_JOBS)
        self.assertEqual(len(sessions.released), N_JOBS)
        self.assert_no_warning()

    def test_unmanaged_warning_is_a_resource_warning(self):
        template = self.template(object)
        a, b = GLib.MainContext.new(), GLib.MainContext.new()
        template.acquire_sync(a)
        template.acquire_sync(b)   # a second unmanaged context: Pyot's warning
        found = [w for w in self.warnings if issubclass(w.category, Tether.ResourceWarning)]
        self.assertEqual(len(found), 1, [str(w.message) for w in self.warnings])
        self.assertTrue(issubclass(Tether.ResourceWarning, RuntimeWarning))
        self.assertIn(template.name, str(found[0].message))
        template.release_sync(a)
        template.release_sync(b)

    def test_purged_coroutine_release_is_closed_with_a_warning(self):
        """A context that died unreleased: its loop is gone, so a coroutine
        release_func cannot be awaited; the purge closes it and says so."""
        ran = []

        async def release(value):
            ran.append(value)

        template = self.template(object, release, name='py-purged')

        def job():
            context = GLib.MainContext.new()
            template.acquire_sync(context)
            del context   # the last reference: the context dies unreleased

        with ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(job).result(timeout=TIMEOUT)
        self.assertGreaterEqual(Tether.purge(), 1)
        self.assertEqual(ran, [], 'the coroutine ran without its loop')
        messages = [str(w.message) for w in self.warnings]
        self.assertTrue(any('py-purged' in m and 'not awaited' in m for m in messages), messages)
        self.assertFalse(any('never awaited' in m for m in messages), messages)
        self.assertTrue(all(issubclass(w.category, Tether.ResourceWarning) for w in self.warnings))

    def test_exist_ok_nests_a_noop_scope(self):
        released = []
        template = self.template(object, released.append)
        context = GLib.MainContext.new()
        with _pushed(context), Tether.resource_manager():
            with self.assertRaises(GLib.Error) as cm:
                with Tether.resource_manager():
                    pass
            self.assertTrue(cm.exception.matches(Tether.error_quark(),
                                                 Tether.Error.ALREADY_MANAGED))
            with Tether.resource_manager(exist_ok=True) as inner:
                self.assertTrue(inner.exist_ok)
                self.assertTrue(inner.manager.is_noop())
            self.assertEqual(released, [])
            self.assertIsNotNone(template.lookup())
        self.assertEqual(len(released), 1)


class TestPyotSemanticsSync(ResourcesTestCase):
    """Pyot's rules where the sync forms can show them (every PyGObject)."""

    def dead_context_acquire(self, template):
        """Acquires @template for a context that then dies unreleased (its
        resource waits for the purge), as a loop closed without a manager."""
        def job():
            context = GLib.MainContext.new()
            template.acquire_sync(context)
        with ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(job).result(timeout=TIMEOUT)

    def test_second_unmanaged_context_after_the_first_died_warns(self):
        """Pyot warns when a template serves a second loop without a
        manager, also when the first one is closed but not yet purged."""
        template = self.template(object, name='py-one-after-another')
        self.dead_context_acquire(template)
        self.assert_no_warning()
        context = GLib.MainContext.new()
        template.acquire_sync(context)
        found = [w for w in self.warnings if issubclass(w.category, Tether.ResourceWarning)]
        self.assertEqual(len(found), 1, [str(w.message) for w in self.warnings])
        self.assertIn('py-one-after-another', str(found[0].message))
        # Issued in the caller's frame, not in a GLib log handler.
        self.assertEqual(found[0].filename, __file__)
        template.release_sync(context)

    def test_warning_filter_error_raises_in_the_caller(self):
        template = self.template(object, name='py-warning-error')
        a, b = GLib.MainContext.new(), GLib.MainContext.new()
        template.acquire_sync(a)
        with warnings.catch_warnings():
            warnings.simplefilter('error', Tether.ResourceWarning)
            with self.assertRaises(Tether.ResourceWarning) as cm:
                template.acquire_sync(b)
        self.assertIn('py-warning-error', str(cm.exception))
        template.release_sync(a)
        template.release_sync(b)

    def test_managed_and_disabled_acquires_do_not_warn(self):
        template = self.template(object)
        a, b = GLib.MainContext.new(), GLib.MainContext.new()
        template.acquire_sync(a)
        with _pushed(b), Tether.resource_manager():
            template.acquire_sync()
        Tether.set_unmanaged_warning_enabled(False)
        c = GLib.MainContext.new()
        template.acquire_sync(c)
        self.assert_no_warning()
        template.release_sync(a)
        template.release_sync(c)

    def test_template_purge_purges_that_template(self):
        first = self.template(object)
        second = self.template(object)
        self.dead_context_acquire(first)
        self.dead_context_acquire(second)
        self.assertEqual(Tether.get_n_pending_purge(), 2)
        self.assertEqual(first.purge_sync(), 1)
        self.assertEqual(Tether.get_n_pending_purge(), 1)
        self.assertEqual(Tether.purge(), 1)

    def test_manager_made_in_a_loop_refuses_another(self):
        """A manager belongs to the loop running when it is made (Pyot)."""
        async def make():
            return Tether.resource_manager()

        loop = asyncio.new_event_loop()
        try:
            manager = loop.run_until_complete(make())
            self.assertIs(manager.loop, loop)
        finally:
            loop.close()
        context = GLib.MainContext.new()
        with _pushed(context):
            with self.assertRaises(Tether.WrongLoopError) as cm:
                with manager:
                    pass
        self.assertIsInstance(cm.exception, RuntimeError)
        self.assertEqual(Tether.dup_managed_contexts(), [])

    def test_left_manager_keeps_no_context_alive(self):
        """Once its scope is left, a manager object kept by the program
        does not keep the context alive: the context dies, and what it held
        unmanaged waits for the purge."""
        template = self.template(object)
        manager = Tether.resource_manager()

        def job():
            context = GLib.MainContext.new()
            with _pushed(context):
                with manager:
                    pass
                template.acquire_sync()

        with ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(job).result(timeout=TIMEOUT)
        self.assertIsNone(manager.context)
        self.assertEqual(Tether.get_n_pending_purge(), 1, 'the context is still alive')
        self.assertEqual(Tether.purge(), 1)

    def test_sync_hit_is_exact_after_every_kind_of_release(self):
        made = []
        template = self.template(lambda: made.append(object()) or made[-1])
        context = GLib.MainContext.new()
        with _pushed(context):
            first = template.acquire_sync()
            self.assertIs(template.acquire_sync(), first)
            template.release_sync()
            second = template.acquire_sync()
            self.assertIsNot(second, first)
            with Tether.resource_manager():
                self.assertIs(template.acquire_sync(), second)
            third = template.acquire_sync()   # the manager released it
            self.assertIsNot(third, second)
            template.release_sync()
        self.assertEqual(len(made), 3)


    def test_discard_replaces_a_dead_resource(self):
        """A resource that died on its own is discarded: the next acquire
        makes a new one, and release_func gets the old one from the purge,
        ungracefully."""
        made, released = [], []

        def make():
            made.append(object())
            return made[-1]

        template = self.template(make, released.append)
        context = GLib.MainContext.new()
        with _pushed(context):
            first = template.acquire_sync()
            self.assertFalse(template.discard(object()))
            self.assertTrue(template.discard(first))
            self.assertFalse(template.discard(first))
            self.assertIsNone(template.lookup())
            second = template.acquire_sync()
            self.assertIsNot(second, first)
            self.assertIs(template.acquire_sync(), second)
            self.assertEqual(released, [])
            self.assertEqual(Tether.purge(), 1)
            self.assertEqual(released, [first])
            template.release_sync()
        self.assertEqual(released, [first, second])


class TestErrorsCrossTheBoundary(ResourcesTestCase):
    def test_acquire_exception_reraised_in_python(self):
        def broken():
            raise ValueError('the server said no')

        template = self.template(broken)
        context = GLib.MainContext.new()
        with self.assertRaises(ValueError) as cm:
            template.acquire_sync(context)
        self.assertEqual(str(cm.exception), 'the server said no')
        self.assertIsInstance(cm.exception.__cause__, GLib.Error)
        self.assertIsNone(template.lookup(context))

    def test_acquire_exception_is_the_gerror_of_a_c_caller(self):
        """A Tether.Manager (C code) acquiring the Python template gets a
        GError naming the exception's type and text."""
        def broken():
            raise KeyError('no such key')

        self.template(broken, name='py-broken')
        context = GLib.MainContext.new()
        with _pushed(context):
            manager = Tether.Manager.new(None, Tether.ManagerFlags.NONE)
            with self.assertRaises(GLib.Error) as cm:
                manager.acquire()
        message = cm.exception.message
        self.assertIn("'py-broken'", message)
        self.assertIn("KeyError: 'no such key'", message)
        self.assertTrue(cm.exception.matches(Tether.error_quark(), Tether.Error.FAILED))
        self.assertEqual(Tether.dup_managed_contexts(), [])

    def test_gerror_from_acquire_keeps_domain_and_code(self):
        def broken():
            raise GLib.Error.new_literal(Gio.io_error_quark(), 'refused by peer',
                                         Gio.IOErrorEnum.CONNECTION_REFUSED)

        template = self.template(broken)
        with self.assertRaises(GLib.Error) as cm:
            template.template.acquire_object(GLib.MainContext.new())
        self.assertTrue(cm.exception.matches(Gio.io_error_quark(),
                                             Gio.IOErrorEnum.CONNECTION_REFUSED))
        self.assertEqual(cm.exception.message, 'refused by peer')

    def test_acquire_exception_in_another_thread_reaches_the_manager(self):
        def broken():
            raise RuntimeError(f'failed on {threading.current_thread().name}')

        self.template(broken, name='py-broken-thread')

        def job():
            context = GLib.MainContext.new()
            with _pushed(context):
                manager = Tether.Manager.new(None, Tether.ManagerFlags.NONE)
                try:
                    manager.acquire()
                except GLib.Error as e:
                    return e.message
            return None

        with ThreadPoolExecutor(max_workers=1, thread_name_prefix='worker') as pool:
            message = pool.submit(job).result(timeout=TIMEOUT)
        self.assertIsNotNone(message)
        self.assertIn('RuntimeError: failed on worker', message)

    def test_release_exception_reraised_and_resource_released(self):
        def broken_release(value):
            raise OSError('close failed')

        template = self.template(object, broken_release)
        context = GLib.MainContext.new()
        with self.assertRaises(OSError):
            with _pushed(context), Tether.resource_manager():
                template.acquire_sync()
        self.assertIsNone(template.lookup(context))
        self.assertEqual(Tether.dup_managed_contexts(), [])

    def test_object_template_wrong_return_type_says_what_was_expected(self):
        class Thing(GObject.Object):
            __gtype_name__ = 'TetherTestThing'

        template = Tether.Template.new_for_object('py-wrong-return', None, Thing,
                                                  lambda context: {'not': 'a Thing'}, None)
        try:
            with self.assertRaises(GLib.Error) as cm:
                template.acquire_object(GLib.MainContext.new())
            self.assertTrue(cm.exception.matches(Tether.error_quark(),
                                                 Tether.Error.INVALID_RESULT))
            self.assertIn('dict', cm.exception.message)
            self.assertIn('TetherTestThing', cm.exception.message)
        finally:
            template.unregister()


@unittest.skipIf(HAS_EVENTS, 'PyGObject >= 3.50 has gi.events')
class TestAsyncFormsNeedPyGObject350(ResourcesTestCase):
    def test_every_async_form_says_it_needs_3_50(self):
        template = self.template(object)
        forms = {
            'template.acquire()': lambda: template.acquire(),
            'template.release()': lambda: template.release(),
            'template.purge()': lambda: template.purge(),
            'manager.acquire()': lambda: Tether.resource_manager().acquire(),
            'manager.release()': lambda: Tether.resource_manager().release(),
            'Tether.new_event_loop()': lambda: Tether.new_event_loop(),
        }
        for what, form in forms.items():
            with self.subTest(form=what):
                with self.assertRaises(Tether.NeedsGLibEventLoop) as cm:
                    form()
                self.assertIn('PyGObject >= 3.50', str(cm.exception))

        async def scoped():
            async with Tether.resource_manager():
                pass

        @Tether.resource_manager.as_decorator
        async def decorated():
            pass

        for what, main in (('async with', scoped), ('as_decorator', decorated)):
            with self.subTest(form=what):
                with self.assertRaises(Tether.NeedsGLibEventLoop) as cm:
                    asyncio.run(main())
                self.assertIn('PyGObject >= 3.50', str(cm.exception))

    def test_coroutine_acquire_func_in_sync_form_says_it_needs_3_50(self):
        async def make():
            return object()

        template = self.template(make)
        with self.assertRaises(Tether.NeedsGLibEventLoop) as cm:
            template.acquire_sync(GLib.MainContext.new())
        self.assertIn('PyGObject >= 3.50', str(cm.exception))


@unittest.skipUnless(HAS_EVENTS, 'needs PyGObject >= 3.50 (gi.events)')
class TestAsyncio(ResourcesTestCase):
    def setUp(self):
        # Before the warnings are recorded: newer Pythons deprecate policies.
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', DeprecationWarning)
            asyncio.set_event_loop_policy(GLibEventLoopPolicy())
        super().setUp()

    def tearDown(self):
        super().tearDown()
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', DeprecationWarning)
            # PyGObject's GLib.MainLoop.run() (the test servers') makes a
            # loop through the policy for the server's context, which
            # nobody closes: close them, or their "unclosed event loop"
            # warning lands, at some later collection, in another test.
            policy = asyncio.get_event_loop_policy()
            for loop in list(getattr(policy, '_loops', {}).values()):
                if not loop.is_running() and not loop.is_closed():
                    loop.close()
            asyncio.set_event_loop_policy(None)

    def run_seed_jobs(self, sessions, job):
        with ThreadPoolExecutor(max_workers=N_WORKERS) as pool:
            futures = [pool.submit(job, n) for n in range(N_JOBS)]
            results = [f.result(timeout=TIMEOUT) for f in futures]
        self.assertEqual(len({id(s) for s, _, _ in results}), N_JOBS,
                         'two jobs shared a session')
        made = {id(s): c for s, c in sessions.made}
        released = {id(s): c for s, c in sessions.released}
        for session, context, body in results:
            self.assertEqual(body, b'hello from 127.0.0.1')
            self.assertEqual(made[id(session)], context,
                             "a session was made outside its job's loop")
            self.assertEqual(released.get(id(session)), context,
                             "a session was not released gracefully in its job's loop")
        self.assertEqual(len(sessions.made), N_JOBS)
        self.assertEqual(len(sessions.released), N_JOBS)
        self.assert_no_warning()

    def test_seed_example_asyncio_in_thread_pool(self):
        """The seed's example, literally: async_to_sync jobs in a
        ThreadPoolExecutor, each `async with Tether.resource_manager():`,
        a coroutine acquire making a Soup.Session that fetches from a local
        server, and a coroutine release."""
        server = LocalServer()
        try:
            sessions = Sessions(server.url)
            template = self.template(sessions.acquire_async, sessions.release_async)

            @async_to_sync
            async def job(_n):
                # This runs in a pool thread, on its own loop and context.
                context = asyncio.get_running_loop()._context
                async with Tether.resource_manager() as manager:
                    self.assertIs(manager.loop, asyncio.get_running_loop())
                    self.assertIn(context, Tether.resource_managed_contexts())
                    session = await template.acquire()
                    body = await fetch(session, server.url)
                return session, hash(context), body

            self.run_seed_jobs(sessions, job)
        finally:
            server.close()

    def test_seed_example_asyncio_decorator_form(self):
        server = LocalServer()
        try:
            sessions = Sessions(server.url)
            template = self.template(sessions.acquire_async, sessions.release_async)

            @async_to_sync
            @Tether.resource_manager.as_decorator
            async def job(_n):
                context = asyncio.get_running_loop()._context
                session = await template.acquire()
                return session, hash(context), await fetch(session, server.url)

            self.run_seed_jobs(sessions, job)
        finally:
            server.close()

    def test_concurrent_awaits_share_one_acquire(self):
        calls = []

        async def make():
            calls.append(1)
            await asyncio.sleep(0.01)
            return object()

        template = self.template(make)

        async def main():
            async with Tether.resource_manager():
                results = await asyncio.gather(*(template.acquire() for _ in range(5)))
            return results

        results = run_in_thread(main)
        self.assertEqual(len({id(r) for r in results}), 1)
        self.assertEqual(len(calls), 1)

    def test_coroutine_acquire_exception_fails_the_scope(self):
        async def broken():
            await asyncio.sleep(0)
            raise ConnectionError('no route')

        released = []
        self.template(object, released.append)
        self.template(broken)

        async def main():
            async with Tether.resource_manager():
                self.fail('the scope was entered')

        with self.assertRaises(ConnectionError):
            run_in_thread(main)
        self.assertEqual(len(released), 1, 'what was acquired was not released')
        self.assertEqual(Tether.dup_managed_contexts(), [])

    def test_coroutine_release_exception_raised_by_scope_exit(self):
        async def release(value):
            await asyncio.sleep(0)
            raise BrokenPipeError('flush failed')

        template = self.template(object, release)

        async def main():
            async with Tether.resource_manager():
                await template.acquire()

        with self.assertRaises(BrokenPipeError):
            run_in_thread(main)
        self.assertEqual(Tether.dup_managed_contexts(), [])

    def test_explicit_acquire_release_and_purge(self):
        released = []
        template = self.template(object, released.append)

        async def main():
            manager = Tether.resource_manager()
            self.assertIs(await manager.acquire(), manager)
            value = await template.acquire()
            await template.release()
            self.assertEqual(released, [value])
            await manager.release()
            return await template.purge()

        self.assertEqual(run_in_thread(main), 0)

    def test_context_argument_takes_a_loop(self):
        template = self.template(lambda: threading.current_thread().name)
        ready = threading.Event()
        state = {}

        def other_thread():
            async def main():
                state['loop'] = asyncio.get_running_loop()
                state['stop'] = asyncio.Event()
                ready.set()
                async with Tether.resource_manager():
                    await state['stop'].wait()
            asyncio.run(main())

        thread = threading.Thread(target=other_thread, name='loop-thread')
        thread.start()
        try:
            self.assertTrue(ready.wait(TIMEOUT))

            async def main():
                return await template.acquire(state['loop'])

            self.assertEqual(run_in_thread(main), 'loop-thread')
        finally:
            state['loop'].call_soon_threadsafe(state['stop'].set)
            thread.join(TIMEOUT)

    def test_standard_asyncio_loop_is_refused(self):
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', DeprecationWarning)
            asyncio.set_event_loop_policy(None)
        template = self.template(object)

        async def main():
            await template.acquire()

        with self.assertRaises(Tether.NeedsGLibEventLoop) as cm:
            asyncio.run(main())
        self.assertIn('loop_factory=Tether.new_event_loop', str(cm.exception))

    def test_coroutine_acquire_func_in_sync_form_runs_to_completion(self):
        async def make():
            await asyncio.sleep(0)
            return hash(GLib.MainContext.ref_thread_default())

        template = self.template(make)
        context = GLib.MainContext.new()
        self.assertEqual(template.acquire_sync(context), hash(context))
        template.release_sync(context)


class TestTypedPluginResources(unittest.TestCase):
    """Provider modules that declare their resource's GType hand Python the
    real object."""

    def load(self, env):
        path = os.environ.get(env)
        if not path:
            self.skipTest(f'{env} is not set (the module is not built)')
        template = Tether.load_provider(path, None)
        self.addCleanup(template.unregister)
        return template

    def test_soup_session_module_gives_a_soup_session(self):
        template = self.load('TETHER_TEST_SOUP_MODULE')
        self.assertEqual(template.get_object_type(), Soup.Session.__gtype__)
        context = GLib.MainContext.new()
        session = template.acquire_object(context)
        self.assertIsInstance(session, Soup.Session)
        self.assertIs(template.lookup_object(context), session)
        dup = template.dup_object(context)
        self.assertIs(dup, session)
        self.assertIs(template.acquire(context), session)   # typed, not an address
        self.assertIs(template.lookup(context), session)
        self.assertTrue(template.release(context))

    def test_dbus_module_gives_a_dbus_connection(self):
        template = self.load('TETHER_TEST_DBUS_MODULE')
        bus = Gio.TestDBus.new(Gio.TestDBusFlags.NONE)
        bus.up()   # a private session bus, which the module connects to
        try:
            self.assertEqual(template.get_object_type(), Gio.DBusConnection.__gtype__)
            context = GLib.MainContext.new()
            with _pushed(context), Tether.resource_manager():
                connection = template.acquire_object(None)
                self.assertIsInstance(connection, Gio.DBusConnection)
                self.assertIsNotNone(connection.get_unique_name())
            self.assertIsNone(template.lookup_object(context))
            # Closed by the module's release; GDBus marks it closed from the
            # connection's context, so iterate that until it has.
            deadline = GLib.get_monotonic_time() + TIMEOUT * 1000000
            while not connection.is_closed() and GLib.get_monotonic_time() < deadline:
                context.iteration(False) or GLib.usleep(1000)
            self.assertTrue(connection.is_closed())
        finally:
            bus.down()


class TestInstallLocation(unittest.TestCase):
    """The overrides are installed where /usr/bin/python3 looks for them."""

    def test_configured_install_dir_is_on_sys_path(self):
        build_root = os.environ.get('TETHER_TEST_BUILD_ROOT')
        if not build_root:
            self.skipTest('TETHER_TEST_BUILD_ROOT is not set')
        import json
        import subprocess
        out = subprocess.run(['meson', 'introspect', build_root, '--installed'],
                             check=True, stdout=subprocess.PIPE, text=True).stdout
        dests = [d for src, d in json.loads(out).items()
                 if src.endswith(os.path.join('gi', 'overrides', 'Tether.py'))]
        self.assertEqual(len(dests), 1, dests)
        site = os.path.dirname(os.path.dirname(os.path.dirname(dests[0])))
        prefix = json.loads(subprocess.run(
            ['meson', 'introspect', build_root, '--buildoptions'], check=True,
            stdout=subprocess.PIPE, text=True).stdout)
        prefix = next(o['value'] for o in prefix if o['name'] == 'prefix')
        if prefix not in ('/usr', '/usr/local'):
            self.skipTest(f'prefix {prefix}: PYTHONPATH is documented as needed')
        self.assertIn(site, [os.path.normpath(p) for p in sys.path if p],
                      f'the overrides would go to {site}, where python3 does not look')

    def test_overrides_dir_per_prefix(self):
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'overrides-dir.py')
        import subprocess
        paths = [os.path.normpath(p) for p in sys.path if p]
        for prefix in ('/usr', '/usr/local', '/opt/tether-test'):
            with self.subTest(prefix=prefix):
                where, found = subprocess.run(
                    [sys.executable, script, prefix], check=True,
                    stdout=subprocess.PIPE, text=True).stdout.split()
                self.assertTrue(where.startswith(prefix + '/lib'), where)
                self.assertEqual(found == 'found', where in paths, where)
                if prefix == '/usr':
                    # Where Debian's python3-gi itself is.
                    self.assertEqual(os.path.dirname(os.path.dirname(gi.__file__)), where)


class _pushed:
    """`with _pushed(context):` pushes context as thread-default."""

    def __init__(self, context):
        self.context = context

    def __enter__(self):
        self.context.push_thread_default()
        return self.context

    def __exit__(self, *exc):
        self.context.pop_thread_default()
        return False


if __name__ == '__main__':
    sys.exit(tether_tap.main())
