#!/usr/bin/python3
# SPDX-FileCopyrightText: 2026 The tether authors
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# PyGObject tests of tether: what the seed's example does (threads from a
# ThreadPoolExecutor, each with its own GMainContext and manager, each
# getting its own resource from a provider written in Python), with the
# scoped and the decorator-like forms; release at scope exit; the purge of a
# dropped context. Prints TAP.

import gc
import os
import sys
import threading
import unittest
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import tether_tap  # noqa: E402
from tether_example import (GLib, GObject, Session, SessionProvider,  # noqa: E402
                            Tether, in_new_context, managed)

N_WORKERS = 4
TIMEOUT = 20  # seconds any wait in a test may take


class TetherTestCase(unittest.TestCase):
    def setUp(self):
        Tether.set_unmanaged_warning_enabled(False)
        self.provider = SessionProvider()
        self.template = self.provider.make_template(f'py-{self._testMethodName}'.replace('_', '-'))

    def tearDown(self):
        self.template.unregister()
        Tether.purge()
        self.assertEqual(self.template.get_n_held(), 0)

    def assert_isolated(self, results):
        """results: (session, thread name) per job, taken while every
        worker held its session at once."""
        sessions = [s for s, _ in results]
        self.assertEqual(len({id(s) for s in sessions}), len(sessions),
                         'two concurrent workers shared a session')
        for session, thread_name in results:
            self.assertEqual(session.props.thread_name, thread_name,
                             'a session was made on another thread than its user')
        self.assertEqual(self.provider.wrong_context, 0,
                         'acquire ran without its context pushed')


class TestObjectTemplate(TetherTestCase):
    def test_typed_object_and_same_per_context(self):
        context = GLib.MainContext.new()
        self.assertEqual(self.template.get_object_type(), Session.__gtype__)
        self.assertIsNone(self.template.lookup_object(context))
        session = self.template.acquire_object(context)
        self.assertIsInstance(session, Session)
        # The overrides type the untyped calls too.
        self.assertIs(self.template.acquire(context), session)
        self.assertIs(self.template.lookup(context), session)
        self.assertIs(self.template.acquire_object(context), session)
        self.assertIs(self.template.lookup_object(context), session)
        self.assertEqual(self.template.get_n_held(), 1)
        self.assertTrue(self.template.release(context))
        self.assertTrue(session.props.closed)
        self.assertEqual(self.provider.released, [(session, True, True)])
        with self.assertRaises(GLib.Error) as cm:
            self.template.release(context)
        self.assertTrue(cm.exception.matches(Tether.error_quark(), Tether.Error.NOT_ACQUIRED))

    def test_acquire_returning_nothing_is_an_error(self):
        template = Tether.Template.new_for_object('py-nothing', None, Session,
                                                  lambda context: None, None)
        try:
            with self.assertRaises(GLib.Error) as cm:
                template.acquire_object(GLib.MainContext.new())
            self.assertTrue(cm.exception.matches(Tether.error_quark(),
                                                 Tether.Error.INVALID_RESULT))
            self.assertEqual(template.get_n_held(), 0)
        finally:
            template.unregister()

    def test_acquire_of_wrong_type_is_an_error(self):
        template = Tether.Template.new_for_object('py-wrong-type', None, Session,
                                                  lambda context: GObject.Object(), None)
        try:
            with self.assertRaises(GLib.Error) as cm:
                template.acquire_object(GLib.MainContext.new())
            self.assertIn('TetherExampleSession', cm.exception.message)
        finally:
            template.unregister()

    def test_invalid_name_raises(self):
        with self.assertRaises(GLib.Error) as cm:
            Tether.Template.new_for_object('not a name', None, Session,
                                           self.provider.acquire, None)
        self.assertTrue(cm.exception.matches(Tether.error_quark(), Tether.Error.INVALID_NAME))


class TestThreads(TetherTestCase):
    def test_scoped_form_threads_isolated_and_released(self):
        """`with managed(ctx):` in ThreadPoolExecutor workers."""
        barrier = threading.Barrier(N_WORKERS, timeout=TIMEOUT)
        template = self.template

        def job(_n):
            context = GLib.MainContext.new()
            context.push_thread_default()
            try:
                with managed(context) as manager:
                    self.assertTrue(manager.is_active())
                    session = template.lookup_object(None)
                    self.assertIsNotNone(session, 'the manager did not acquire')
                    self.assertIs(template.acquire_object(None), session)
                    self.assertIs(template.acquire_object(context), session)
                    barrier.wait()  # every worker holds its session now
                    self.assertFalse(session.props.closed)
                    held = template.get_n_held()
                    barrier.wait()
                self.assertFalse(manager.is_active())
                # Released at scope exit, gracefully, on this thread.
                self.assertTrue(session.props.closed)
                self.assertTrue(session.props.graceful)
                self.assertIsNone(template.lookup_object(context))
                return session, threading.current_thread().name, held
            finally:
                context.pop_thread_default()

        with ThreadPoolExecutor(max_workers=N_WORKERS) as pool:
            results = list(pool.map(job, range(N_WORKERS), timeout=TIMEOUT))

        self.assert_isolated([(s, t) for s, t, _ in results])
        self.assertEqual([held for _, _, held in results], [N_WORKERS] * N_WORKERS)
        self.assertEqual(len(self.provider.acquired), N_WORKERS)
        self.assertEqual(sorted(g for _, g, _ in self.provider.released), [True] * N_WORKERS)
        self.assertEqual(self.template.get_n_held(), 0)

    def test_decorator_form_threads_isolated_and_released(self):
        """Tether.Manager.run() through a decorator, in pool workers."""
        barrier = threading.Barrier(N_WORKERS, timeout=TIMEOUT)
        template = self.template

        @in_new_context
        def job(_n):
            context = GLib.MainContext.get_thread_default()
            self.assertEqual(Tether.dup_managed_contexts().count(context), 1)
            session = template.lookup_object(None)
            self.assertIsNotNone(session)
            barrier.wait()
            return session, threading.current_thread().name, context

        with ThreadPoolExecutor(max_workers=N_WORKERS) as pool:
            results = list(pool.map(job, range(N_WORKERS), timeout=TIMEOUT))

        self.assert_isolated([(s, t) for s, t, _ in results])
        contexts = [c for _, _, c in results]
        for i, a in enumerate(contexts):
            for b in contexts[i + 1:]:
                self.assertNotEqual(a, b, 'two workers ran in the same context')
        for session, _, _ in results:
            self.assertTrue(session.props.closed)
            self.assertTrue(session.props.graceful)
        self.assertEqual(len(self.provider.released), N_WORKERS)
        self.assertEqual(Tether.dup_managed_contexts(), [])

    def test_scope_error_still_releases(self):
        template = self.template

        @in_new_context
        def failing_job():
            self.assertIsNotNone(template.lookup_object(None))
            raise ValueError('the job failed')

        with ThreadPoolExecutor(max_workers=1) as pool:
            future = pool.submit(failing_job)
            with self.assertRaises(ValueError):
                future.result(timeout=TIMEOUT)
        self.assertEqual(len(self.provider.released), 1)
        self.assertTrue(self.provider.acquired[0].props.closed)

    def test_second_manager_refused_unless_exist_ok(self):
        context = GLib.MainContext.new()
        context.push_thread_default()
        try:
            with managed(context):
                with self.assertRaises(GLib.Error) as cm:
                    with managed(context):
                        pass
                self.assertTrue(cm.exception.matches(Tether.error_quark(),
                                                     Tether.Error.ALREADY_MANAGED))
                with managed(context, Tether.ManagerFlags.EXIST_OK) as inner:
                    self.assertTrue(inner.is_noop())
                # The no-op scope released nothing.
                self.assertFalse(self.provider.acquired[0].props.closed)
            self.assertTrue(self.provider.acquired[0].props.closed)
        finally:
            context.pop_thread_default()

    def test_async_acquire_in_worker_loop(self):
        template = self.template

        def job():
            context = GLib.MainContext.new()
            context.push_thread_default()
            loop = GLib.MainLoop.new(context, False)
            got = {}

            def done(source, result, *_):
                got['session'] = source.acquire_object_finish(result)
                loop.quit()

            try:
                template.acquire_object_async(None, None, done)
                timeout = GLib.timeout_source_new_seconds(TIMEOUT)
                timeout.set_callback(lambda *_: loop.quit())
                timeout.attach(context)
                loop.run()
                timeout.destroy()
                session = got.get('session')
                self.assertIsNotNone(session, 'the async acquire did not complete')
                self.assertIs(template.lookup_object(context), session)
                self.assertTrue(template.release(context))
                return session
            finally:
                context.pop_thread_default()

        with ThreadPoolExecutor(max_workers=1) as pool:
            session = pool.submit(job).result(timeout=TIMEOUT)
        self.assertTrue(session.props.closed)
        self.assertEqual(self.provider.wrong_context, 0)


class TestOverrides(TetherTestCase):
    """The PyGObject overrides in gi/overrides/Tether.py."""

    def test_manager_is_a_context_manager(self):
        context = GLib.MainContext.new()
        context.push_thread_default()
        try:
            with Tether.Manager.new(context, Tether.ManagerFlags.NONE) as manager:
                self.assertTrue(manager.is_active())
                session = self.template.lookup_object(None)
                self.assertIsInstance(session, Session)
            self.assertFalse(manager.is_active())
            self.assertTrue(session.props.closed)
            with self.assertRaises(KeyError):
                with Tether.Manager.new(context, Tether.ManagerFlags.NONE):
                    raise KeyError('inside the scope')
            self.assertEqual(len(self.provider.released), 2)
            self.assertEqual(Tether.dup_managed_contexts(), [])
        finally:
            context.pop_thread_default()

    def test_run_in_new_context_returns_and_raises(self):
        template = self.template

        def job(a, b=0):
            session = template.lookup_object(None)
            self.assertIsNotNone(session)
            return a + b, session

        with ThreadPoolExecutor(max_workers=2) as pool:
            results = list(pool.map(lambda n: Tether.run_in_new_context(job, n, b=10),
                                    range(4), timeout=TIMEOUT))
        self.assertEqual([r for r, _ in results], [10, 11, 12, 13])
        self.assertTrue(all(s.props.closed for _, s in results))

        def failing():
            raise LookupError('job failed')

        with self.assertRaises(LookupError):
            Tether.run_in_new_context(failing)
        self.assertEqual(len(self.provider.released), 5)


class TestPurge(TetherTestCase):
    def test_dropped_context_is_purged(self):
        """A worker acquires without a manager and drops its context: the
        session is taken off at once and released ungracefully, with no
        context, by Tether.purge()."""
        template = self.template

        def job():
            context = GLib.MainContext.new()
            session = template.acquire_object(context)
            self.assertEqual(template.get_n_held(), 1)
            del context  # the last reference: the context is finalized
            gc.collect()
            return session

        with ThreadPoolExecutor(max_workers=1) as pool:
            session = pool.submit(job).result(timeout=TIMEOUT)

        self.assertEqual(template.get_n_held(), 0)
        self.assertFalse(session.props.closed, 'released before the purge')
        self.assertGreaterEqual(Tether.get_n_pending_purge(), 1)
        self.assertEqual(Tether.purge(), 1)
        self.assertTrue(session.props.closed)
        self.assertEqual(self.provider.released, [(session, False, False)])
        self.assertEqual(Tether.get_n_pending_purge(), 0)


@unittest.skipUnless(os.environ.get('TETHER_TEST_COUNTER_MODULE'),
                     'the counter provider module is not built')
class TestPluginProvider(unittest.TestCase):
    def test_module_loaded_from_python_serves_scopes(self):
        """A provider module loaded from Python becomes a registered,
        on-demand template: a scope acquires it on first use and releases
        it at exit; set_eager(True) makes the scope acquire it on enter."""
        path = os.environ['TETHER_TEST_COUNTER_MODULE']
        template = Tether.load_provider(path, None)
        try:
            self.assertEqual(template.get_name(), 'counter')
            self.assertTrue(template.is_registered())
            self.assertEqual(template.get_object_type(), GObject.TYPE_INVALID)
            # Untyped: acquire() stays the C pointer, as an int.
            probe = GLib.MainContext.new()
            self.assertIsInstance(template.acquire(probe), int)
            self.assertTrue(template.release(probe))

            self.assertFalse(template.get_eager())

            def job(_n):
                context = GLib.MainContext.new()
                context.push_thread_default()
                try:
                    with managed(context):
                        on_enter = template.lookup(context) is not None
                        template.acquire(context)
                        return (on_enter, template.lookup(context) is not None)
                finally:
                    context.pop_thread_default()

            with ThreadPoolExecutor(max_workers=2) as pool:
                results = list(pool.map(job, range(4), timeout=TIMEOUT))
            self.assertEqual(results, [(False, True)] * 4)
            self.assertEqual(template.get_n_held(), 0)

            template.set_eager(True)
            with ThreadPoolExecutor(max_workers=2) as pool:
                results = list(pool.map(job, range(4), timeout=TIMEOUT))
            self.assertEqual(results, [(True, True)] * 4)
            self.assertEqual(template.get_n_held(), 0)
        finally:
            template.unregister()

    def test_list_providers_from_python(self):
        """The loader's listing reaches Python as boxed records and lists."""
        directory = os.path.dirname(os.environ['TETHER_TEST_COUNTER_MODULE'])
        infos, failures = Tether.list_providers([directory], Tether.LoadFlags.NONE)
        names = {info.get_name(): info for info in infos}
        self.assertIn('counter', names)
        counter = names['counter']
        self.assertEqual(os.path.realpath(counter.get_path()),
                         os.path.realpath(os.environ['TETHER_TEST_COUNTER_MODULE']))
        self.assertEqual(counter.get_abi_version() >> 16, Tether.PROVIDER_ABI_MAJOR)
        self.assertFalse(counter.get_is_async())
        self.assertEqual([f.get_error().message for f in failures], [])


if __name__ == '__main__':
    sys.exit(tether_tap.main())
