# SPDX-FileCopyrightText: 2026 The tether authors
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# PyGObject overrides for tether: Python idioms on top of the introspected
# API, and Pyot's resources API (pyot.core.resources) on top of those.
#
# - `Tether.ResourceTemplate(acquire_func, release_func=None, name=None)`:
#   one resource per GLib.MainContext (per asyncio loop), any Python object,
#   made by a plain or a coroutine function.
# - `Tether.ResourceManager(exist_ok=False, context=None)`, alias
#   `Tether.resource_manager`: `async with`, `with`, `as_decorator`.
# - `Tether.resource_templates`, `Tether.resource_managed_contexts()`,
#   `Tether.new_event_loop()` (an asyncio loop factory over GLib).
# - `with Tether.Manager.new(context, flags):` and
#   `Tether.run_in_new_context(func, *args, **kwargs)`.
# - `Tether.Template.new_for_object()` with callables whose exceptions and
#   wrong results reach the caller as what they are.
#
# The asyncio forms need PyGObject >= 3.50, whose gi.events runs asyncio
# over GLib (an asyncio loop is then a GLib.MainContext being iterated); on
# older PyGObject they raise NeedsGLibEventLoop and the sync forms work.

import asyncio
import contextlib
import functools
import inspect
import itertools
import re
import sys
import os
import threading
import types
import warnings
import weakref

import gi

from ..importer import modules
from ..overrides import override

from gi.repository import Gio, GLib, GObject

try:
    from gi import events as _gi_events   # PyGObject >= 3.50
except ImportError:
    _gi_events = None

Tether = modules['Tether']._introspection_module

__all__ = []


# ------------------------------------------------------------------------
# The low-level overrides


class Manager(Tether.Manager):
    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, exc_type, exc_value, traceback):
        self.release()
        return False


Manager = override(Manager)
__all__.append('Manager')


def run_in_new_context(func, *args, **kwargs):
    outcome = {}

    def scope(*_user_data):
        # An exception cannot cross the C scope function: keep it, fail the
        # scope, and raise it again once everything was released.
        try:
            outcome['value'] = func(*args, **kwargs)
        except BaseException as e:  # noqa: B036
            outcome['exception'] = e
            return False
        return True

    try:
        Tether.run_in_new_context(scope, None)
    except Exception:
        if 'exception' not in outcome:
            raise
    if 'exception' in outcome:
        raise outcome['exception']
    return outcome.get('value')


__all__.append('run_in_new_context')


# ------------------------------------------------------------------------
# Exceptions crossing the C boundary
#
# PyGObject prints and drops an exception raised in a Python function that
# C calls through a closure, and the closure then returns nothing. So every
# callable given to tether is wrapped: the wrapper catches the exception,
# hands its text to tether with Tether.Template.set_acquire_error() (so the
# C caller, a manager or another thread, gets a GError naming it), and
# keeps the exception object in a "call frame" of the Python caller waiting
# for that context, which raises it again when the C call returns.


class NeedsGLibEventLoop(RuntimeError):
    """An asyncio form of the resources API was used where asyncio does not
    run over GLib: PyGObject older than 3.50 (no gi.events), or an asyncio
    loop that is not a gi.events.GLibEventLoop."""


__all__.append('NeedsGLibEventLoop')


class ResourceWarning(RuntimeWarning):  # noqa: A001 - Pyot's name
    """tether's unmanaged warning for a Python template: it is acquired for
    a second context (an asyncio loop, a thread) that no resource manager
    manages, so its resource can only be released ungracefully. Pyot's
    multithreading warning."""


__all__.append('ResourceWarning')


def _describe_exception(e):
    cls = type(e)
    name = cls.__qualname__
    if cls.__module__ not in ('builtins', '__main__'):
        name = f'{cls.__module__}.{name}'
    text = str(e)
    return f'{name}: {text}' if text else name


class _CallFrame:
    """What the closures run for one Python call into C report back to it."""

    def __init__(self, can_await, in_order):
        self.can_await = can_await
        self.in_order = in_order       # an enter: coroutine acquires wait to be run in order
        self.acquire_error = None      # the first exception of an acquire function
        self.release_errors = []       # exceptions of release functions
        self.release_awaitables = []   # coroutines of release functions, to await
        self.pending = []              # boxes whose coroutine acquire was started (or is
                                       # to be run, in_order), in the order C asked for them
        self.warnings = []             # unmanaged warnings, issued in the caller's frame

    def raise_for(self, gerror):
        """Raises what made a C call fail: the Python exception behind
        @gerror if a closure of this call raised one, else @gerror."""
        if self.acquire_error is not None:
            e = self.acquire_error
            self.acquire_error = None
            raise e from gerror
        raise gerror


_frames_lock = threading.Lock()
_frames = {}   # hash(GMainContext) -> [_CallFrame], innermost last


def _context_key(context):
    # hash() of a GLib.MainContext wrapper is the GMainContext address.
    return hash(context) if context is not None else hash(GLib.MainContext.default())


@contextlib.contextmanager
def _call_frame(context, can_await=False, in_order=False):
    """Marks a Python call into C for @context: the closures tether calls
    for @context meanwhile (on this thread, or from this context's loop)
    report their exceptions and coroutines to the frame."""
    frame = _CallFrame(can_await, in_order)
    key = _context_key(context)
    with _frames_lock:
        _frames.setdefault(key, []).append(frame)
    try:
        yield frame
    finally:
        with _frames_lock:
            stack = _frames[key]
            stack.remove(frame)
            if not stack:
                del _frames[key]


def _current_frame(context):
    with _frames_lock:
        stack = _frames.get(_context_key(context))
        return stack[-1] if stack else None


def _fail_acquire(template, name, e, context, code=None):
    """Reports exception @e of @template's acquire function: to tether as
    the acquire's GError, and to the waiting Python caller as itself."""
    frame = _current_frame(context)
    if frame is not None and frame.acquire_error is None:
        frame.acquire_error = e
    if isinstance(e, GLib.Error):
        gerror = e
    else:
        gerror = GLib.Error.new_literal(Tether.error_quark(),
                                        f"{name} raised {_describe_exception(e)}",
                                        code if code is not None else Tether.Error.FAILED)
    set_error = getattr(Tether.Template, 'set_acquire_error', None)
    if template is not None and set_error is not None:
        set_error(template, gerror)
    elif frame is None:
        # An older libtether: all that is left is what PyGObject would do.
        sys.unraisablehook(types.SimpleNamespace(
            exc_type=type(e), exc_value=e, exc_traceback=e.__traceback__,
            err_msg=f'Exception ignored in {name}', object=None))


def _report_release_error(e, context, what):
    frame = _current_frame(context) if context is not None else None
    if frame is not None:
        frame.release_errors.append(e)
        return
    # Nobody in Python waits for this release (a C caller, the janitor):
    # report it the way Python reports an exception it cannot raise.
    sys.unraisablehook(types.SimpleNamespace(
        exc_type=type(e), exc_value=e, exc_traceback=e.__traceback__,
        err_msg=f'Exception ignored in {what}', object=None))


# ------------------------------------------------------------------------
# asyncio over GLib

_get_running_loop = asyncio._get_running_loop   # C; None where no loop runs


def _pygobject_version():
    return getattr(gi, '__version__', 'unknown')


def _is_glib_loop(loop):
    return _gi_events is not None and isinstance(loop, _gi_events.GLibEventLoop)


def _require_glib_loop(what):
    """The running asyncio loop, which must be a gi.events loop."""
    if _gi_events is None:
        raise NeedsGLibEventLoop(
            f'{what} needs PyGObject >= 3.50 (gi.events, asyncio running over GLib); '
            f'this is PyGObject {_pygobject_version()}. Use the sync forms: '
            '`with Tether.resource_manager():`, template.acquire_sync(), '
            'template.release_sync()')
    loop = _get_running_loop()
    if loop is None:
        raise NeedsGLibEventLoop(f'{what} must be awaited in a running asyncio loop')
    if not _is_glib_loop(loop):
        raise NeedsGLibEventLoop(
            f'{what} needs an asyncio loop running over GLib, not a {type(loop).__name__}: '
            'run it with asyncio.run(main(), loop_factory=Tether.new_event_loop)')
    return loop


def _check_async_available(what):
    """Raises at once, rather than when awaited, where asyncio forms cannot
    work at all."""
    if _gi_events is None:
        _require_glib_loop(what)


def _loop_context(loop):
    return loop._context


def _running_glib_loop_for(context):
    """The gi.events loop running on this thread for @context, or None."""
    loop = _get_running_loop()
    if (loop is not None and _is_glib_loop(loop) and
            _context_key(_loop_context(loop)) == _context_key(context)):
        return loop
    return None


def _resolve_context(context, loop=None):
    """A `context` argument: None (the running gi.events loop's context,
    else the thread-default context), a GLib.MainContext, or a gi.events
    loop. The sync and the asyncio forms resolve None alike."""
    if context is None:
        if loop is None:
            loop = _get_running_loop()
        if loop is not None and _is_glib_loop(loop):
            return _loop_context(loop)
        return GLib.MainContext.ref_thread_default()
    if isinstance(context, GLib.MainContext):
        return context
    if _is_glib_loop(context):
        return _loop_context(context)
    if isinstance(context, asyncio.AbstractEventLoop):
        raise NeedsGLibEventLoop(
            f'{type(context).__name__} does not run over GLib: only a gi.events.GLibEventLoop '
            '(PyGObject >= 3.50) has a GLib.MainContext')
    raise TypeError(f'context must be None, a GLib.MainContext or a gi.events.GLibEventLoop, '
                    f'not {type(context).__name__}')


def _is_thread_default(context):
    return _context_key(GLib.MainContext.ref_thread_default()) == _context_key(context)


@contextlib.contextmanager
def _thread_default(context):
    """Makes @context, the context of the gi.events loop running on this
    thread, the thread-default context for a call into C. PyGObject 3.50's
    loop does not push its context when it is made by a loop_factory
    (PyGObject 3.52 and later do), and tether's managers, and every GTask,
    go by the thread-default context."""
    if _is_thread_default(context):
        yield
        return
    context.push_thread_default()
    try:
        yield
    finally:
        context.pop_thread_default()


class _InContext:
    """Awaits a coroutine with @context pushed as thread-default around each
    of its steps: a coroutine acquire_func or release_func then binds what
    it builds (a Soup.Session, a Gio call's callback) to its loop's context,
    even in a loop that does not push it (PyGObject 3.50)."""

    __slots__ = ('_iterator', '_context')

    def __init__(self, awaitable, context):
        self._iterator = awaitable.__await__()
        self._context = context

    def __await__(self):
        iterator, context = self._iterator, self._context
        value, error = None, None
        while True:
            # Pushed only where it is not the thread-default context already
            # (PyGObject >= 3.52, and 3.50's policy loops, push it).
            push = not _is_thread_default(context)
            if push:
                context.push_thread_default()
            try:
                if error is not None:
                    yielded = iterator.throw(error)
                else:
                    yielded = iterator.send(value)
            except StopIteration as stop:
                return stop.value
            finally:
                if push:
                    context.pop_thread_default()
                error = None
            try:
                value = yield yielded
            except BaseException as e:  # noqa: B036 - thrown into the coroutine
                value, error = None, e


def _isawaitable(value):
    # inspect.isawaitable(), without its abc check for the plain values
    # most acquire and release functions return.
    if type(value) is types.CoroutineType or hasattr(type(value), '__await__'):
        return True
    return isinstance(value, types.GeneratorType) and inspect.isawaitable(value)


def _close_awaitable(aw):
    close = getattr(aw, 'close', None)
    if close is not None:
        close()


def _run_to_completion(aw, context, what):
    """Runs awaitable @aw where no asyncio loop runs on this thread: on a
    gi.events loop over @context, which the caller (tether) has pushed."""
    if _gi_events is None:
        _close_awaitable(aw)
        raise NeedsGLibEventLoop(
            f'{what} is a coroutine function: awaiting it outside an asyncio loop needs '
            f'PyGObject >= 3.50 (gi.events); this is PyGObject {_pygobject_version()}')
    loop = _gi_events.GLibEventLoop(context)
    try:
        return loop.run_until_complete(aw)
    finally:
        loop.close()


# PyGObject's awaitable Gio call. On PyGObject 3.50 its cancel() takes no
# argument, while asyncio's Task.cancel() passes its message on to the
# future the task waits for: cancelling a task that awaits a Gio call raises
# TypeError there (fixed in later PyGObject).
_GioAsync = getattr(getattr(gi, '_gi', None), 'Async', None)


def _cancel_task(task):
    """task.cancel(), also for a task waiting for a Gio call on PyGObject
    3.50 (see _gio_cancel_takes_no_message()): that call is cancelled
    through its GCancellable, and ends with G_IO_ERROR_CANCELLED, which the
    override's tasks take as their cancellation. Returns whether the
    cancellation went through the Gio call."""
    try:
        task.cancel()
        return False
    except TypeError:
        waiter = getattr(task, '_fut_waiter', None)
        if _GioAsync is None or not isinstance(waiter, _GioAsync):
            raise
        waiter.cancel()
        return True


async def _wait_for(future):
    """Awaits @future without cancelling it when this task is cancelled, as
    asyncio.shield() does (without shield's report, on Python 3.14, of a
    failure that comes after the waiter left)."""
    if future.done():
        return future.result()
    mine = future.get_loop().create_future()

    def copy(done):
        if mine.done():
            return
        if done.cancelled():
            mine.cancel()
        elif done.exception() is not None:
            mine.set_exception(done.exception())
        else:
            mine.set_result(done.result())

    future.add_done_callback(copy)
    try:
        return await mine
    finally:
        future.remove_done_callback(copy)


def _is_cancelled_error(e):
    return isinstance(e, GLib.Error) and e.matches(Gio.io_error_quark(),
                                                   Gio.IOErrorEnum.CANCELLED)


def _new_loop_class():
    if _gi_events is None:
        return None
    base = _gi_events.GLibEventLoop
    if hasattr(base, '__enter__'):
        # PyGObject >= 3.52 pushes the loop's context while it runs.
        return base

    class GLibEventLoop(base):
        """gi.events.GLibEventLoop of PyGObject 3.50, pushing its context as
        the thread-default context while it runs, as later PyGObject do."""

        @contextlib.contextmanager
        def running(self, quit_func):
            push = not self.is_running() and not _is_thread_default(self._context)
            if push:
                self._context.push_thread_default()
            try:
                with super().running(quit_func):
                    yield
            finally:
                if push:
                    self._context.pop_thread_default()

    GLibEventLoop.__qualname__ = 'Tether.GLibEventLoop'
    return GLibEventLoop


_NewLoop = _new_loop_class()


def new_event_loop():
    """A new asyncio loop running over a new GLib.MainContext, which it
    pushes as the thread's thread-default context while it runs: the
    loop_factory of `asyncio.run(main(), loop_factory=Tether.new_event_loop)`
    and `asyncio.Runner(loop_factory=Tether.new_event_loop)` (Python 3.12
    and later), on every PyGObject >= 3.50. It is a gi.events.GLibEventLoop
    (on PyGObject 3.50, a subclass that pushes its context as PyGObject 3.52
    and later do)."""
    if _NewLoop is None:
        raise NeedsGLibEventLoop(
            'Tether.new_event_loop() needs PyGObject >= 3.50 (gi.events, asyncio running over '
            f'GLib); this is PyGObject {_pygobject_version()}. Use the sync forms: '
            '`with Tether.resource_manager():`, template.acquire_sync()')
    return _NewLoop(GLib.MainContext.new())


__all__.append('new_event_loop')


# ------------------------------------------------------------------------
# Tether.Template.new_for_object with callables that may raise


def _object_gtype(object_type):
    if isinstance(object_type, GObject.GType):
        return object_type
    return object_type.__gtype__


def _wrap_object_acquire(holder, name, gtype, acquire):
    what = f"acquire function of template '{name}'"

    def wrapped(context):
        template = holder.get('template')
        try:
            obj = acquire(context)
        except BaseException as e:  # noqa: B036 - handed on, not swallowed
            _fail_acquire(template, what, e, context)
            return None
        if not isinstance(obj, GObject.Object) or not obj.__gtype__.is_a(gtype):
            got = 'None' if obj is None else type(obj).__qualname__
            _fail_acquire(template, what,
                          TypeError(f'it returned {got} where a {gtype.name} '
                                    '(a GObject.Object) was expected'),
                          context, Tether.Error.INVALID_RESULT)
            return None
        return obj

    return wrapped


def _wrap_object_release(name, release):
    what = f"release function of template '{name}'"

    def wrapped(obj, context, graceful):
        try:
            release(obj, context, graceful)
        except BaseException as e:  # noqa: B036
            _report_release_error(e, context, what)

    return wrapped


# The GClosure form: tether_template_new_for_object() itself takes C
# callbacks, which gjs can use (a thrown exception becomes their GError) and
# PyGObject cannot report an exception through.
_new_for_object_with_closures = getattr(Tether.Template, 'new_for_object_with_closures',
                                        Tether.Template.new_for_object)


# The templates whose acquire function is Python code made by these
# overrides (object templates and ResourceTemplates): an async enter whose
# eager templates are all such can run tether's synchronous enter, which
# calls them in one go (see ResourceManager._acquire_async()).
_python_acquired = weakref.WeakSet()


class Template(Tether.Template):
    @staticmethod
    def new_for_object(name, description, object_type, acquire, release=None):
        """Tether.Template.new_for_object(name, description, object_type,
        acquire, release): an exception raised by @acquire, or a result
        that is not an @object_type, fails the acquire with a GError naming
        it (and in Python re-raises the exception itself where the
        resources API waits for it)."""
        holder = {}
        gtype = _object_gtype(object_type)
        template = _new_for_object_with_closures(
            name, description, gtype,
            _wrap_object_acquire(holder, name, gtype, acquire),
            _wrap_object_release(name, release) if release is not None else None)
        holder['template'] = template
        _python_acquired.add(template)
        return template

    def acquire(self, context=None):
        """The resource for @context: the object itself when the template's
        resources are objects (get_object_type() is a type), else the C
        pointer as an int."""
        if self.get_object_type() != GObject.TYPE_INVALID:
            return self.acquire_object(context)
        return Tether.Template.acquire(self, context)

    def lookup(self, context=None):
        """The held resource for @context, or None: typed as acquire()."""
        if self.get_object_type() != GObject.TYPE_INVALID:
            return self.lookup_object(context)
        # An untyped NULL comes through GI as 0: nothing held is None.
        return Tether.Template.lookup(self, context) or None


Template = override(Template)
__all__.append('Template')


# ------------------------------------------------------------------------
# Pyot's resources API


class NotAcquiredError(ValueError):
    """`release()` of a template that holds no resource for the context (a
    ValueError, as in Pyot)."""


__all__.append('NotAcquiredError')


class WrongLoopError(RuntimeError):
    """A resource manager entered in another asyncio loop than the one it
    was made in (a RuntimeError, as in Pyot)."""


__all__.append('WrongLoopError')


class _Aborted(Exception):
    """A coroutine acquire that was stopped (released, or its loop shut
    down) before it ended: its waiters try again."""


_PENDING, _READY, _FAILED = 'pending', 'ready', 'failed'

# The per-loop cache of the fast path: an attribute of each gi.events loop,
# {ResourceTemplate: resource} for the resources its context holds that a
# Python caller got in that loop. Every release of a Python template runs
# ResourceTemplate._c_release(), which takes the resource out of every loop
# that cached it, so a hit is exact. It lives on the loop, and dies with it.
_CACHE = '_tether_resources'


class _Resource(GObject.Object):
    """The GObject a ResourceTemplate's C template holds for a context: a
    box around any Python object. While a coroutine acquire_func runs, its
    state is _PENDING and `pending` is the future that will carry it; once
    it ended, nothing in the box refers to the loop any more."""

    __gtype_name__ = 'TetherPyResource'

    # Defaults, set on an instance only when they change: a box is made for
    # every acquire, and a manager's enter makes one per template.
    state = _READY
    pending = None      # asyncio future, while _PENDING
    coro = None         # the acquire_func's awaitable, until started
    task = None         # the task awaiting it, while it runs
    loop = None         # weakref to the loop it runs in, while _PENDING
    waiters = 0         # callers awaiting `pending` (the last one leaving stops it)
    cancelling = False  # stopped by the override (not by the coroutine)
    counted = False     # counted in its template's served count
    released = False
    cached_in = ()      # weakrefs to the loops whose cache holds it (a list once cached)
    warning = None      # an unmanaged warning for the first Python caller
    owner = None        # weakref to its ResourceTemplate, while _PENDING

    def __init__(self, value=None):
        super().__init__()
        self.value = value


resource_templates = []
__all__.append('resource_templates')

_python_template_names = set()
_name_serial = itertools.count(1)
_warning_handler_installed = False
_warning_lock = threading.Lock()
_background = set()   # release tasks nobody awaits, kept alive until done

_UNMANAGED_RE = re.compile(r"^Template '([^']+)' is being acquired for context ")

_env_warning = os.environ.get('TETHER_UNMANAGED_WARNING', '')
_unmanaged_warning = not (_env_warning == '0' or _env_warning.lower() == 'no')


def set_unmanaged_warning_enabled(enabled):
    """Tether.set_unmanaged_warning_enabled(enabled): also turns
    Tether.ResourceWarning on or off."""
    global _unmanaged_warning
    _unmanaged_warning = bool(enabled)
    Tether.set_unmanaged_warning_enabled(enabled)


__all__.append('set_unmanaged_warning_enabled')


def _on_tether_warning(domain, level, message, *_user_data):
    # A Python template warns in Python, in its caller's frame, by Pyot's
    # rule (see ResourceTemplate._served()): tether's own log line for it
    # would say the same thing a second time.
    m = _UNMANAGED_RE.match(message or '')
    if m and m.group(1) in _python_template_names:
        return
    GLib.log_default_handler(domain, level, message, None)


def _install_warning_handler():
    global _warning_handler_installed
    with _warning_lock:
        if _warning_handler_installed:
            return
        GLib.log_set_handler('Tether', GLib.LogLevelFlags.LEVEL_WARNING, _on_tether_warning, None)
        _warning_handler_installed = True


def _default_name(func):
    base = getattr(func, '__qualname__', None) or getattr(func, '__name__', None) or 'resource'
    base = re.sub(r'[^A-Za-z0-9_.-]+', '-', base).strip('-.')
    return f'py-{base[:96] or "resource"}-{next(_name_serial)}'


def resource_managed_contexts():
    """The set of GLib.MainContexts that have an active resource manager
    (Pyot's resource_managed_loops): Tether.dup_managed_contexts()."""
    return set(Tether.dup_managed_contexts())


__all__.append('resource_managed_contexts')


def _is_managed(context):
    key = _context_key(context)
    return any(_context_key(c) == key for c in Tether.dup_managed_contexts())


def _issue_warnings(messages, stacklevel):
    for message in messages:
        warnings.warn(message, ResourceWarning, stacklevel=stacklevel + 1)


def _fail_future(future, exception):
    # Read at once: a failure nobody awaits any more (its loop shut down, its
    # last waiter left) is not reported as "never retrieved". Waiters await
    # it through _wait_for(), which hands them the exception.
    if not future.done():
        future.set_exception(exception)
        future.exception()


def _close_coro(box):
    coro, box.coro = box.coro, None
    if coro is not None:
        _close_awaitable(getattr(coro, '_iterator', coro))


_MAX_ATTEMPTS = 8   # a waiter whose acquire was stopped under it tries again


class ResourceTemplate:
    """Pyot's ResourceTemplate: one resource per GLib.MainContext (per
    asyncio loop, when asyncio runs over GLib), any Python object.

    acquire_func() makes the resource, release_func(resource) closes it;
    either may be a plain function or a coroutine function, whose coroutine
    is awaited in the loop of the context the resource is for. Both run with
    that context pushed as the thread's thread-default context, so objects
    that capture it (Soup.Session, Gio.DBusConnection) bind to it.

    The template is registered at once: every resource manager acquires it.
    """

    def __init__(self, acquire_func, release_func=None, name=None):
        if not callable(acquire_func):
            raise TypeError('acquire_func must be callable')
        if release_func is not None and not callable(release_func):
            raise TypeError('release_func must be callable or None')
        self._acquire_func = acquire_func
        self._release_func = release_func
        self._served_lock = threading.Lock()
        self._n_served = 0   # held, or held for a dead context not yet purged (Pyot's rule)
        _install_warning_handler()
        name = name if name is not None else _default_name(acquire_func)
        self._template = _new_for_object_with_closures(
            name, 'a Python resource (Tether.ResourceTemplate)', _Resource.__gtype__,
            self._c_acquire, self._c_release)
        self._lookup_object = self._template.lookup_object
        self._name = name
        _python_template_names.add(name)
        _python_acquired.add(self._template)
        resource_templates.append(self)

    def __repr__(self):
        return f'<Tether.ResourceTemplate {self._name!r}>'

    @property
    def acquire_func(self):
        return self._acquire_func

    @property
    def release_func(self):
        return self._release_func

    @property
    def name(self):
        return self._name

    @property
    def template(self):
        """The Tether.Template underneath."""
        return self._template

    # -- bookkeeping --

    def _served(self, box, context, frame, defer=False):
        """Counts a new resource and, by Pyot's rule, warns when the
        template already serves another context (held, or held by a dead
        context not yet purged) and @context has no manager. The warning is
        issued by the Python caller, in its frame."""
        with self._served_lock:
            self._n_served += 1
            n = self._n_served
        box.counted = True
        if n < 2 or not _unmanaged_warning or _is_managed(context):
            return
        message = (f"ResourceTemplate '{self._name}' is acquired for context "
                   f'0x{_context_key(context):x}, which no resource manager manages, while '
                   f'it serves {n - 1} other context(s): its resource can only be released '
                   'ungracefully (use `async with Tether.resource_manager():`)')
        if frame is not None:
            frame.warnings.append(message)
        elif defer:
            box.warning = message
        else:
            try:
                warnings.warn(message, ResourceWarning, stacklevel=2)
            except Exception as e:  # noqa: BLE001 - a filter made it an error: no caller to raise it to
                sys.unraisablehook(types.SimpleNamespace(
                    exc_type=type(e), exc_value=e, exc_traceback=e.__traceback__,
                    err_msg='Exception ignored in a ResourceWarning', object=self))

    def _remember(self, loop, box):
        """Puts @box's resource in @loop's cache (see _CACHE), unless it was
        released meanwhile (by another thread: _c_release() sets `released`
        before it empties the caches, so one of the two sees the other)."""
        cache = getattr(loop, _CACHE, None)
        if cache is None:
            cache = {}
            setattr(loop, _CACHE, cache)
        cache[self] = box.value
        if not box.cached_in:
            box.cached_in = []
        box.cached_in.append(weakref.ref(loop))
        if box.released:
            cache.pop(self, None)

    # -- called by tether (any thread; the context pushed when possible) --

    def _c_acquire(self, context):
        what = f"acquire_func of ResourceTemplate '{self._name}'"
        frame = _current_frame(context)
        try:
            value = self._acquire_func()
            if _isawaitable(value):
                loop = _running_glib_loop_for(context)
                if loop is not None:
                    return self._new_pending(loop, value, context, frame)
                if _get_running_loop() is not None:
                    _close_awaitable(value)
                    raise NeedsGLibEventLoop(
                        f'{what} is a coroutine function: it is awaited in the asyncio loop of '
                        'the context it is acquired for, and the loop running on this thread '
                        "is not that context's (await template.acquire() from that loop)")
                value = _run_to_completion(value, context, what)
            box = _Resource(value)
        except BaseException as e:  # noqa: B036 - handed on, not swallowed
            _fail_acquire(self._template, what, e, context)
            return None
        self._served(box, context, frame)
        return box

    def _new_pending(self, loop, awaitable, context, frame):
        box = _Resource()
        box.state = _PENDING
        box.pending = loop.create_future()
        box.coro = _InContext(awaitable, context)
        box.loop = weakref.ref(loop)
        box.owner = weakref.ref(self)
        if frame is not None:
            frame.pending.append(box)
            if frame.in_order:
                box.waiters = 1   # the enter, which runs it in its turn
        if frame is None or not frame.in_order:
            self._start(box, context)
        return box

    def _start(self, box, context):
        """Runs @box's coroutine in a task of its loop (the running one)."""
        if box.task is None and box.coro is not None:
            box.task = _get_running_loop().create_task(self._run_pending(box, context))

    async def _run_pending(self, box, context):
        coro, box.coro = box.coro, None
        future = box.pending
        try:
            value = await coro
        except BaseException as e:  # noqa: B036 - handed on, not swallowed
            stopped = (isinstance(e, asyncio.CancelledError) or
                       (box.cancelling and _is_cancelled_error(e)))
            box.state = _FAILED
            box.pending = box.task = box.loop = box.owner = None
            _fail_future(future, _Aborted() if stopped else e)
            # Take the placeholder off: nothing for release_func to close.
            if not box.released and self._template.lookup_object(context) is box:
                with contextlib.suppress(GLib.Error), _thread_default(context):
                    self._template.release(context)
            if stopped and isinstance(e, asyncio.CancelledError):
                raise
            if isinstance(e, (KeyboardInterrupt, SystemExit)):
                raise
            return
        box.value = value
        box.state = _READY
        box.pending = box.task = box.loop = box.owner = None
        if box.released:
            # Released while its coroutine ran: what it made is released now.
            self._release_value(box, context, True)
            _fail_future(future, _Aborted())
            return
        self._served(box, context, None, defer=True)
        if not future.done():
            future.set_result(value)

    def _stop_pending(self, box):
        """Stops @box's coroutine (never started: closed; running: its task
        cancelled); its waiters try again. On @box's loop's thread."""
        box.cancelling = True
        if box.coro is not None:
            _close_coro(box)
            box.state = _FAILED
            future, box.pending, box.loop, box.owner = box.pending, None, None, None
            if future is not None:
                _fail_future(future, _Aborted())
        elif box.task is not None:
            _cancel_task(box.task)

    def _c_release(self, box, context, graceful):
        box.released = True
        for ref in box.cached_in:
            loop = ref()
            if loop is not None:
                getattr(loop, _CACHE, {}).pop(self, None)
        if box.counted:
            box.counted = False
            with self._served_lock:
                self._n_served -= 1
        if box.state is _PENDING:
            # Released while its coroutine acquire runs, or before it ran.
            loop = box.loop() if box.loop is not None else None
            if loop is None or loop.is_closed():
                _close_coro(box)
                box.state = _FAILED
            elif loop is _get_running_loop():
                self._stop_pending(box)
            else:
                loop.call_soon_threadsafe(self._stop_pending, box)
            return
        if box.state is _FAILED:
            return
        self._release_value(box, context, graceful)

    def _release_value(self, box, context, graceful):
        if self._release_func is None:
            return
        what = f"release_func of ResourceTemplate '{self._name}'"
        try:
            result = self._release_func(box.value)
            if not _isawaitable(result):
                return
            if not graceful:
                # Its loop is gone: the coroutine cannot be awaited where it
                # belongs. Pyot's purge kills such resources too.
                _close_awaitable(result)
                warnings.warn(f"{what} was not awaited: the resource's context was destroyed "
                              'before a resource manager released it (released ungracefully)',
                              ResourceWarning, stacklevel=2)
                return
            loop = _running_glib_loop_for(context)
            if loop is not None:
                result = _InContext(result, context)
                frame = _current_frame(context)
                if frame is not None and frame.can_await:
                    frame.release_awaitables.append(result)
                else:
                    task = loop.create_task(_awaited(result))
                    _background.add(task)
                    task.add_done_callback(_background.discard)
                return
            if _get_running_loop() is not None:
                _close_awaitable(result)
                raise NeedsGLibEventLoop(
                    f"{what} is a coroutine function, released from a thread whose running "
                    "asyncio loop is not the resource's context's")
            _run_to_completion(result, context, what)
        except BaseException as e:  # noqa: B036
            _report_release_error(e, context, what)

    # -- sync forms --

    def acquire_sync(self, context=None):
        """The resource for @context (default: the running gi.events loop's
        context, else the thread-default context), acquiring it the first
        time. For code without an asyncio loop."""
        if context is None:
            loop = _get_running_loop()
            if loop is not None:
                try:
                    return loop._tether_resources[self]   # see _CACHE
                except (AttributeError, KeyError):
                    pass
            else:
                box = self._lookup_object(None)
                if box is not None and box.state is _READY:
                    return box.value
        return self._acquire_sync(context)

    def _acquire_sync(self, context):
        loop = _get_running_loop()
        context = _resolve_context(context, loop)
        own = loop is not None and _is_glib_loop(loop) and \
            _context_key(_loop_context(loop)) == _context_key(context)
        with _call_frame(context) as frame:
            try:
                if own:
                    with _thread_default(context):
                        box = self._template.acquire_object(context)
                else:
                    box = self._template.acquire_object(context)
            except GLib.Error as e:
                frame.raise_for(e)
        _issue_warnings(frame.warnings, 3)
        if box.state is _PENDING:
            raise RuntimeError(f"ResourceTemplate '{self._name}' is still being acquired "
                               'by its coroutine in its loop: use `await template.acquire()`')
        if own:
            self._remember(loop, box)
        return box.value

    def release_sync(self, context=None):
        """Releases the resource for @context gracefully (release_func runs
        now); raises Tether.NotAcquiredError (a ValueError) if none is held,
        as Pyot does."""
        loop = _get_running_loop()
        context = _resolve_context(context, loop)
        with _call_frame(context) as frame:
            try:
                if _running_glib_loop_for(context) is not None:
                    with _thread_default(context):
                        self._template.release(context)
                else:
                    self._template.release(context)
            except GLib.Error as e:
                self._raise_not_acquired(e, context)
        if frame.release_errors:
            raise frame.release_errors[0]

    def _raise_not_acquired(self, e, context):
        if e.matches(Tether.error_quark(), Tether.Error.NOT_ACQUIRED):
            raise NotAcquiredError(f"ResourceTemplate '{self._name}' holds no resource for "
                                   f'context 0x{_context_key(context):x}') from e
        raise e

    def lookup(self, context=None):
        """The resource held for @context, or None; never acquires."""
        box = self._template.lookup_object(_resolve_context(context))
        if box is None or box.state is not _READY:
            return None
        return box.value

    def discard(self, resource, context=None):
        """Says that @resource, held for @context, can no longer be used (a
        connection that closed on its own): if this template still holds
        exactly @resource for @context, the next acquire makes a new one,
        and release_func runs later, ungracefully, from the janitor or
        Tether.purge(). Returns whether it was held. Any thread."""
        context = _resolve_context(context)
        box = self._template.lookup_object(context)
        if box is None or box.state is not _READY or box.value is not resource:
            return False
        # The loops' caches forget it first, as a release does.
        for ref in box.cached_in or ():
            loop = ref()
            if loop is not None:
                getattr(loop, _CACHE, {}).pop(self, None)
        return self._template.discard_object(context, box)

    # -- asyncio forms (PyGObject >= 3.50) --

    if _gi_events is not None:
        async def acquire(self, context=None):
            """`await template.acquire(context=None)`: the resource for
            @context (default: the running loop's), acquiring it the first
            time; a coroutine acquire_func is awaited in that loop."""
            if context is None:
                try:
                    # The hit: the running loop's cache (see _CACHE).
                    return _get_running_loop()._tether_resources[self]
                except (AttributeError, KeyError):
                    pass
            return await self._acquire_async(context)
    else:
        def acquire(self, context=None):
            """`await template.acquire(context=None)`: needs PyGObject >= 3.50."""
            _check_async_available('ResourceTemplate.acquire()')

    async def _acquire_async(self, context):
        loop = _require_glib_loop('ResourceTemplate.acquire()')
        other = context if _is_glib_loop(context) else None
        context = _resolve_context(context, loop)
        if _context_key(context) != _context_key(_loop_context(loop)):
            if other is not None and other.is_running():
                # Acquired in the loop it is for, whose thread it is.
                future = asyncio.run_coroutine_threadsafe(self.acquire(), other)
                return await asyncio.wrap_future(future)
            return self._acquire_sync(context)
        for _attempt in range(_MAX_ATTEMPTS):
            with _call_frame(context, can_await=True) as frame:
                try:
                    with _thread_default(context):
                        box = self._template.acquire_object(context)
                except GLib.Error as e:
                    frame.raise_for(e)
            _issue_warnings(frame.warnings, 3)
            if box.state is _READY:
                self._remember(loop, box)
                return box.value
            try:
                value = await self._wait_pending(box, context)
            except _Aborted:
                continue
            if box.warning is not None:
                message, box.warning = box.warning, None
                _issue_warnings([message], 3)
            self._remember(loop, box)
            return value
        raise RuntimeError(f"ResourceTemplate '{self._name}': its acquire was stopped "
                           f'{_MAX_ATTEMPTS} times in a row (released while being acquired)')

    async def _wait_pending(self, box, context):
        """Awaits @box's coroutine acquire as one of its waiters; the last
        waiter to be cancelled stops it, and nothing is cached."""
        future = box.pending
        if future is None:   # it ended between the C call and now
            if box.state is _READY:
                return box.value
            raise _Aborted()
        box.waiters += 1
        try:
            return await _wait_for(future)
        except asyncio.CancelledError:
            if not future.done() and box.waiters == 1:
                self._stop_pending(box)
            raise
        finally:
            box.waiters -= 1

    if _gi_events is not None:
        async def release(self, context=None):
            """`await template.release(context=None)`: releases the resource
            of @context gracefully, awaiting a coroutine release_func;
            raises Tether.NotAcquiredError (a ValueError) if none is held."""
            loop = _require_glib_loop('ResourceTemplate.release()')
            context = _resolve_context(context, loop)
            with _call_frame(context, can_await=True) as frame:
                try:
                    with _thread_default(context):
                        self._template.release(context)
                except GLib.Error as e:
                    self._raise_not_acquired(e, context)
            await _await_releases(frame)

        async def purge(self):
            """`await template.purge()`: releases, ungracefully, this
            template's resources of every destroyed context; returns how
            many. Tether.purge() does it for every template."""
            _require_glib_loop('ResourceTemplate.purge()')
            return self._template.purge()
    else:
        def release(self, context=None):
            """`await template.release(context=None)`: needs PyGObject >= 3.50."""
            _check_async_available('ResourceTemplate.release()')

        def purge(self):
            """`await template.purge()`: needs PyGObject >= 3.50."""
            _check_async_available('ResourceTemplate.purge()')

    def purge_sync(self):
        """Releases, ungracefully, this template's resources of every
        destroyed context; returns how many."""
        return self._template.purge()

    def unregister(self):
        """Stops new managers from acquiring this template and forgets it
        (not in Pyot, whose templates live forever). What it holds is still
        released by managers and purges."""
        self._template.unregister()
        with contextlib.suppress(ValueError):
            resource_templates.remove(self)
        _python_template_names.discard(self._name)


__all__.append('ResourceTemplate')


async def _awaited(awaitable):
    return await awaitable


async def _await_releases(frame):
    for awaitable in frame.release_awaitables:
        try:
            await awaitable
        except BaseException as e:  # noqa: B036
            frame.release_errors.append(e)
    if frame.release_errors:
        raise frame.release_errors[0]


def _only_python_eager_templates():
    for template in Tether.dup_templates():
        if template not in _python_acquired and template.get_eager():
            return False
    return True


def _stop_unstarted(boxes):
    """Closes the coroutines an enter did not start (tether released their
    boxes already, or is about to)."""
    for box in boxes:
        if box.state is _PENDING and box.coro is not None:
            _close_coro(box)


async def _settle(future):
    """Awaits @future to its end even if this task is cancelled meanwhile;
    returns whether it was (the caller re-raises CancelledError then)."""
    cancelled = False
    while not future.done():
        try:
            await _wait_for(future)
        except asyncio.CancelledError:
            cancelled = True
        except BaseException:  # noqa: B036 - the outcome is read by the caller
            pass
    return cancelled


class ResourceManager:
    """Pyot's ResourceManager: `async with Tether.resource_manager():`
    acquires every registered template for the running loop's context, one
    after another in registration order, and releases them all, gracefully,
    when the block ends; `with` does the same without a loop (the
    thread-default context).

    Like Pyot's, a manager belongs to the asyncio loop running when it is
    made (`loop`), and entering it in another loop raises
    Tether.WrongLoopError. Made where no loop runs, it belongs to the first
    loop it is entered in.

    exist_ok: if another manager is active for the context, this one is a
    no-op scope instead of an error (Tether.Error.ALREADY_MANAGED).
    context: the GLib.MainContext (or gi.events loop) to manage, which must
    be the one the thread runs; default: the running loop's, or the
    thread-default context.
    """

    def __init__(self, exist_ok=False, context=None):
        self._exist_ok = bool(exist_ok)
        self._context_arg = context
        self._context = None
        self._manager = None
        loop = _get_running_loop()
        self._loop = weakref.ref(loop) if loop is not None else None

    @property
    def exist_ok(self):
        return self._exist_ok

    @property
    def loop(self):
        """The asyncio loop the manager belongs to: the one running when it
        was made, or the first one it was entered in (None before that)."""
        return self._loop() if self._loop is not None else None

    @property
    def context(self):
        """The GLib.MainContext managed while the manager is entered."""
        return self._context

    @property
    def manager(self):
        """The Tether.Manager underneath while entered."""
        return self._manager

    def _flags(self):
        return Tether.ManagerFlags.EXIST_OK if self._exist_ok else Tether.ManagerFlags.NONE

    def _check_loop(self, loop):
        if self._loop is None:
            if loop is not None:
                self._loop = weakref.ref(loop)
            return
        bound = self._loop()
        if bound is not loop:
            def name(lp):
                return 'no loop' if lp is None else f'loop 0x{id(lp):x}'
            raise WrongLoopError(
                f'this resource manager belongs to {name(bound)} and cannot be entered in '
                f'{name(loop)}: make a manager in the loop that enters it '
                '(Tether.resource_manager.as_decorator does)')

    def _check_not_entered(self):
        if self._manager is not None and self._manager.is_active():
            raise RuntimeError('this resource manager is already entered')

    def _done(self):
        # Nothing kept once the scope is left: the manager and the context
        # wrapper would keep the context alive.
        self._manager = None
        self._context = None

    # -- sync form --

    def __enter__(self):
        self.acquire_sync()
        return self

    def __exit__(self, exc_type, exc_value, traceback):
        self.release_sync()
        return False

    def acquire_sync(self):
        loop = _get_running_loop()
        self._check_loop(loop)
        self._check_not_entered()
        context = _resolve_context(self._context_arg, loop)
        own = _running_glib_loop_for(context) is not None
        manager = Tether.Manager.new(context, self._flags())
        with _call_frame(context) as frame:
            try:
                if own:
                    with _thread_default(context):
                        manager.acquire()
                else:
                    manager.acquire()
            except GLib.Error as e:
                frame.raise_for(e)
        self._context, self._manager = context, manager
        if frame.pending:
            self.release_sync()
            raise RuntimeError('coroutine acquire functions were started in the running asyncio '
                               'loop: use `async with Tether.resource_manager():`')
        return self

    def release_sync(self):
        manager = self._manager
        if manager is None or not manager.is_active():
            raise RuntimeError('this resource manager is not entered')
        context = self._context
        with _call_frame(context) as frame:
            if _running_glib_loop_for(context) is not None:
                with _thread_default(context):
                    manager.release()
            else:
                manager.release()
        self._done()
        if frame.release_errors:
            raise frame.release_errors[0]

    # -- asyncio form --

    async def __aenter__(self):
        return await self.acquire()

    async def __aexit__(self, exc_type, exc_value, traceback):
        await self.release()
        return False

    if _gi_events is not None:
        async def acquire(self):
            """`await manager.acquire()`: Pyot's explicit __aenter__."""
            return await self._acquire_async()

        async def release(self):
            """`await manager.release()`: Pyot's explicit __aexit__."""
            await self._release_async()
    else:
        def acquire(self):
            """`await manager.acquire()`: needs PyGObject >= 3.50."""
            _check_async_available('Tether.resource_manager().acquire()')

        def release(self):
            """`await manager.release()`: needs PyGObject >= 3.50."""
            _check_async_available('Tether.resource_manager().release()')

    async def _acquire_async(self):
        loop = _require_glib_loop('async with Tether.resource_manager()')
        if _only_python_eager_templates():
            # Every acquire function tether calls on enter is Python: a
            # plain one runs at once (as in Pyot), a coroutine one is
            # deferred and awaited below, so tether's synchronous enter
            # blocks nothing, and saves the loop iteration per template
            # its asynchronous enter takes.
            return await self._acquire_async_with(loop, None)
        return await self._acquire_async_with(loop, Gio.Cancellable.new())

    async def _acquire_async_with(self, loop, cancellable):
        self._check_loop(loop)
        self._check_not_entered()
        context = _resolve_context(self._context_arg, loop)
        manager = Tether.Manager.new(context, self._flags())
        done = loop.create_future()

        def on_acquired(source, result, *_user_data):
            try:
                source.acquire_finish(result)
            except GLib.Error as e:
                if not done.done():
                    done.set_exception(e)
                return
            if not done.done():
                done.set_result(True)

        with _call_frame(context, can_await=True, in_order=True) as frame:
            with _thread_default(context):
                if cancellable is None:
                    try:
                        manager.acquire()
                        done.set_result(True)
                    except GLib.Error as e:
                        done.set_exception(e)
                else:
                    manager.acquire_async(cancellable, on_acquired)
            try:
                await _wait_for(done)
            except asyncio.CancelledError:
                # Cancelled while tether enters: tether rolls back what it
                # started; wait for that, then leave nothing behind.
                if cancellable is not None:
                    cancellable.cancel()
                await _settle(done)
                if done.exception() is None:
                    await self._roll_back(manager, context, frame)
                else:
                    _stop_unstarted(frame.pending)
                raise
            except GLib.Error as e:
                _stop_unstarted(frame.pending)
                frame.raise_for(e)
            self._context, self._manager = context, manager
            # Coroutine acquire functions: one after another, in the order
            # tether asked for them (registration order); the first failure
            # (or a cancellation) releases everything again.
            try:
                for box in frame.pending:
                    if box.state is _PENDING:
                        await self._run_in_order(box, context)
            except BaseException:
                _stop_unstarted(frame.pending)
                await self._roll_back(manager, context, frame)
                raise
        _issue_warnings(frame.warnings, 3)
        return self

    async def _run_in_order(self, box, context):
        template = box.owner() if box.owner is not None else None
        future = box.pending
        if template is None or future is None:
            box.waiters -= 1
            if box.state is _READY:
                return
            raise RuntimeError('a resource of this scope was released while it was acquired')
        template._start(box, context)
        try:
            await _wait_for(future)
        except asyncio.CancelledError:
            if not future.done():
                template._stop_pending(box)
                await _settle(future)
            raise
        except _Aborted:
            raise RuntimeError(f"ResourceTemplate '{template.name}' was released while this "
                               'resource manager acquired it') from None
        finally:
            box.waiters -= 1

    async def _roll_back(self, manager, context, frame):
        """Releases what an enter acquired (the context is left unmanaged),
        awaiting coroutine release functions to their end even if this task
        is cancelled meanwhile."""
        with _call_frame(context, can_await=True) as release_frame:
            with _thread_default(context):
                manager.release()
        self._done()
        for awaitable in release_frame.release_awaitables:
            task = asyncio.ensure_future(_awaited(awaitable))
            await _settle(task)
            if not task.cancelled() and task.exception() is not None:
                _report_release_error(task.exception(), None, 'a release during a rollback')

    async def _release_async(self):
        _require_glib_loop('Tether.resource_manager().release()')
        manager = self._manager
        if manager is None or not manager.is_active():
            raise RuntimeError('this resource manager is not entered')
        context = self._context
        with _call_frame(context, can_await=True) as frame:
            with _thread_default(context):
                manager.release()
        self._done()
        await _await_releases(frame)

    # -- decorator --

    @classmethod
    def as_decorator(cls, func):
        """Decorates a coroutine function (or a plain function, for the
        sync form) so that it runs inside a resource manager of its own."""
        if inspect.iscoroutinefunction(func):
            @functools.wraps(func)
            async def async_wrapper(*args, **kwargs):
                async with cls():
                    return await func(*args, **kwargs)
            return async_wrapper

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with cls():
                return func(*args, **kwargs)
        return wrapper


resource_manager = ResourceManager
__all__ += ['ResourceManager', 'resource_manager']
