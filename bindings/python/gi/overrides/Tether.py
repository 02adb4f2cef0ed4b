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
# - `Tether.resource_templates`, `Tether.resource_managed_contexts()`.
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
import threading
import types
import warnings

import gi

from ..importer import modules
from ..overrides import override

from gi.repository import GLib, GObject

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

    def __init__(self, can_await):
        self.can_await = can_await
        self.acquire_error = None      # the first exception of an acquire function
        self.release_errors = []       # exceptions of release functions
        self.release_awaitables = []   # coroutines of release functions, to await
        self.pending = []              # boxes whose coroutine acquire was started

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
def _call_frame(context, can_await=False):
    """Marks a Python call into C for @context: the closures tether calls
    for @context meanwhile (on this thread, or from this context's loop)
    report their exceptions and coroutines to the frame."""
    frame = _CallFrame(can_await)
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


def _pygobject_version():
    return getattr(gi, '__version__', 'unknown')


def _require_glib_loop(what):
    """The running asyncio loop, which must be a gi.events loop."""
    if _gi_events is None:
        raise NeedsGLibEventLoop(
            f'{what} needs PyGObject >= 3.50 (gi.events, asyncio running over GLib); '
            f'this is PyGObject {_pygobject_version()}. Use the sync forms: '
            '`with Tether.resource_manager():`, template.acquire_sync(), '
            'template.release_sync()')
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        raise NeedsGLibEventLoop(f'{what} must be awaited in a running asyncio loop') from None
    if not isinstance(loop, _gi_events.GLibEventLoop):
        raise NeedsGLibEventLoop(
            f'{what} needs an asyncio loop running over GLib, not a {type(loop).__name__}: '
            'call asyncio.set_event_loop_policy(gi.events.GLibEventLoopPolicy()) '
            'before asyncio.run()')
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
    loop = asyncio._get_running_loop()
    if (loop is not None and _gi_events is not None and
            isinstance(loop, _gi_events.GLibEventLoop) and
            _context_key(_loop_context(loop)) == _context_key(context)):
        return loop
    return None


def _resolve_context(context, loop=None):
    """A `context` argument: None (the running loop's context, or the
    thread-default context), a GLib.MainContext, or a gi.events loop."""
    if context is None:
        if loop is not None:
            return _loop_context(loop)
        return GLib.MainContext.ref_thread_default()
    if isinstance(context, GLib.MainContext):
        return context
    if _gi_events is not None and isinstance(context, _gi_events.GLibEventLoop):
        return _loop_context(context)
    if isinstance(context, asyncio.AbstractEventLoop):
        raise NeedsGLibEventLoop(
            f'{type(context).__name__} does not run over GLib: only a gi.events.GLibEventLoop '
            '(PyGObject >= 3.50) has a GLib.MainContext')
    raise TypeError(f'context must be None, a GLib.MainContext or a gi.events.GLibEventLoop, '
                    f'not {type(context).__name__}')


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
        template = Tether.Template.new_for_object(
            name, description, gtype,
            _wrap_object_acquire(holder, name, gtype, acquire),
            _wrap_object_release(name, release) if release is not None else None)
        holder['template'] = template
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


class _Resource(GObject.Object):
    """The GObject a ResourceTemplate's C template holds for a context: a
    box around any Python object. While a coroutine acquire_func runs,
    `pending` is the asyncio future that will carry it."""

    __gtype_name__ = 'TetherPyResource'

    def __init__(self, value=None, pending=None):
        super().__init__()
        self.value = value
        self.pending = pending
        self.task = None
        self.failed = False


resource_templates = []
__all__.append('resource_templates')

_python_template_names = set()
_name_serial = itertools.count(1)
_warning_handler_installed = False
_warning_lock = threading.Lock()
_background = set()   # release tasks nobody awaits, kept alive until done

_UNMANAGED_RE = re.compile(r"^Template '([^']+)' is being acquired for context ")


def _on_tether_warning(domain, level, message, *_user_data):
    m = _UNMANAGED_RE.match(message or '')
    if m and m.group(1) in _python_template_names:
        warnings.warn(message, ResourceWarning, stacklevel=2)
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
        _install_warning_handler()
        name = name if name is not None else _default_name(acquire_func)
        self._template = Tether.Template.new_for_object(
            name, 'a Python resource (Tether.ResourceTemplate)', _Resource.__gtype__,
            self._c_acquire, self._c_release)
        self._name = name
        _python_template_names.add(name)
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

    # -- called by tether (any thread; the context pushed when possible) --

    def _c_acquire(self, context):
        what = f"acquire_func of ResourceTemplate '{self._name}'"
        try:
            value = self._acquire_func()
            if inspect.isawaitable(value):
                loop = _running_glib_loop_for(context)
                if loop is not None:
                    return self._start_pending(loop, value, context)
                if asyncio._get_running_loop() is not None:
                    _close_awaitable(value)
                    raise NeedsGLibEventLoop(
                        f'{what} is a coroutine function: it is awaited in the asyncio loop of '
                        'the context it is acquired for, and the loop running on this thread '
                        "is not that context's (await template.acquire() from that loop)")
                value = _run_to_completion(value, context, what)
            return _Resource(value)
        except BaseException as e:  # noqa: B036 - handed on, not swallowed
            _fail_acquire(self._template, what, e, context)
            return None

    def _start_pending(self, loop, awaitable, context):
        box = _Resource(pending=loop.create_future())
        box.task = loop.create_task(self._finish_pending(box, awaitable, context))
        frame = _current_frame(context)
        if frame is not None:
            frame.pending.append(box)
        return box

    async def _finish_pending(self, box, awaitable, context):
        try:
            value = await awaitable
        except BaseException as e:  # noqa: B036
            box.failed = True
            if not box.pending.done():
                box.pending.set_exception(e)
            # Take the placeholder off: nothing for release_func to close.
            if self._template.lookup_object(context) is box:
                with contextlib.suppress(GLib.Error):
                    self._template.release(context)
            if isinstance(e, (KeyboardInterrupt, SystemExit)):
                raise
            return
        box.value = value
        if not box.pending.done():
            box.pending.set_result(value)

    def _c_release(self, box, context, graceful):
        what = f"release_func of ResourceTemplate '{self._name}'"
        if box.pending is not None and not box.pending.done():
            # Released while its coroutine still runs: stop it.
            box.failed = True
            if box.task is not None:
                box.task.cancel()
            box.pending.cancel()
            return
        if box.failed or self._release_func is None:
            return
        try:
            result = self._release_func(box.value)
            if not inspect.isawaitable(result):
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
                frame = _current_frame(context)
                if frame is not None and frame.can_await:
                    frame.release_awaitables.append(result)
                else:
                    task = loop.create_task(result)
                    _background.add(task)
                    task.add_done_callback(_background.discard)
                return
            if asyncio._get_running_loop() is not None:
                _close_awaitable(result)
                raise NeedsGLibEventLoop(
                    f"{what} is a coroutine function, released from a thread whose running "
                    "asyncio loop is not the resource's context's")
            _run_to_completion(result, context, what)
        except BaseException as e:  # noqa: B036
            _report_release_error(e, context, what)

    # -- sync forms --

    def acquire_sync(self, context=None):
        """The resource for @context (default: the thread-default context),
        acquiring it the first time. For code without an asyncio loop."""
        context = _resolve_context(context)
        with _call_frame(context) as frame:
            try:
                box = self._template.acquire_object(context)
            except GLib.Error as e:
                frame.raise_for(e)
        if box.pending is not None:
            if not box.pending.done():
                raise RuntimeError(f"ResourceTemplate '{self._name}' is still being acquired "
                                   'by its coroutine in its loop: use `await template.acquire()`')
            return box.pending.result()
        return box.value

    def release_sync(self, context=None):
        """Releases the resource for @context gracefully (release_func runs
        now); does nothing if none is held, as in Pyot."""
        context = _resolve_context(context)
        with _call_frame(context) as frame:
            try:
                self._template.release(context)
            except GLib.Error as e:
                if not e.matches(Tether.error_quark(), Tether.Error.NOT_ACQUIRED):
                    raise
        if frame.release_errors:
            raise frame.release_errors[0]

    def lookup(self, context=None):
        """The resource held for @context, or None; never acquires."""
        box = self._template.lookup_object(_resolve_context(context))
        if box is None or (box.pending is not None and not box.pending.done()) or box.failed:
            return None
        return box.value

    # -- asyncio forms (PyGObject >= 3.50) --

    def acquire(self, context=None):
        """`await template.acquire(context=None)`: the resource for
        @context (default: the running loop's), acquiring it the first
        time; a coroutine acquire_func is awaited in that loop."""
        _check_async_available('ResourceTemplate.acquire()')
        return self._acquire_async(context)

    async def _acquire_async(self, context):
        loop = _require_glib_loop('ResourceTemplate.acquire()')
        other = None
        if _gi_events is not None and isinstance(context, _gi_events.GLibEventLoop):
            other = context
        context = _resolve_context(context, loop)
        if _context_key(context) != _context_key(_loop_context(loop)):
            if other is not None and other.is_running():
                # Acquired in the loop it is for, whose thread it is.
                future = asyncio.run_coroutine_threadsafe(self._acquire_async(None), other)
                return await asyncio.wrap_future(future)
            return self.acquire_sync(context)
        with _call_frame(context, can_await=True) as frame:
            try:
                box = self._template.acquire_object(context)
            except GLib.Error as e:
                frame.raise_for(e)
        if box.pending is not None:
            return await asyncio.shield(box.pending)
        return box.value

    def release(self, context=None):
        """`await template.release(context=None)`: releases the resource of
        @context gracefully, awaiting a coroutine release_func."""
        _check_async_available('ResourceTemplate.release()')
        return self._release_async(context)

    async def _release_async(self, context):
        loop = _require_glib_loop('ResourceTemplate.release()')
        context = _resolve_context(context, loop)
        with _call_frame(context, can_await=True) as frame:
            try:
                self._template.release(context)
            except GLib.Error as e:
                if not e.matches(Tether.error_quark(), Tether.Error.NOT_ACQUIRED):
                    raise
        await _await_releases(frame)

    def purge(self):
        """`await template.purge()`: releases, ungracefully, the resources
        of every destroyed context (of every template: Tether.purge());
        returns how many."""
        _check_async_available('ResourceTemplate.purge()')
        return self._purge_async()

    async def _purge_async(self):
        _require_glib_loop('ResourceTemplate.purge()')
        return Tether.purge()

    def unregister(self):
        """Stops new managers from acquiring this template and forgets it
        (not in Pyot, whose templates live forever). What it holds is still
        released by managers and purges."""
        self._template.unregister()
        with contextlib.suppress(ValueError):
            resource_templates.remove(self)
        _python_template_names.discard(self._name)


__all__.append('ResourceTemplate')


async def _await_releases(frame):
    for awaitable in frame.release_awaitables:
        try:
            await awaitable
        except BaseException as e:  # noqa: B036
            frame.release_errors.append(e)
    if frame.release_errors:
        raise frame.release_errors[0]


class ResourceManager:
    """Pyot's ResourceManager: `async with Tether.resource_manager():`
    acquires every registered template for the running loop's context and
    releases them all, gracefully, when the block ends; `with` does the
    same without a loop (the thread-default context).

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
        self._loop = None

    @property
    def exist_ok(self):
        return self._exist_ok

    @property
    def loop(self):
        """The asyncio loop the manager was entered in (None in the sync
        form or before it is entered)."""
        return self._loop

    @property
    def context(self):
        """The GLib.MainContext managed (None before it is entered)."""
        return self._context

    @property
    def manager(self):
        """The Tether.Manager underneath (None before it is entered)."""
        return self._manager

    def _flags(self):
        return Tether.ManagerFlags.EXIST_OK if self._exist_ok else Tether.ManagerFlags.NONE

    # -- sync form --

    def __enter__(self):
        self.acquire_sync()
        return self

    def __exit__(self, exc_type, exc_value, traceback):
        self.release_sync()
        return False

    def acquire_sync(self):
        if self._manager is not None and self._manager.is_active():
            raise RuntimeError('this resource manager is already entered')
        context = _resolve_context(self._context_arg)
        manager = Tether.Manager.new(context, self._flags())
        with _call_frame(context) as frame:
            try:
                manager.acquire()
            except GLib.Error as e:
                frame.raise_for(e)
        self._context, self._manager, self._loop = context, manager, None
        if frame.pending:
            self.release_sync()
            raise RuntimeError('coroutine acquire functions were started in the running asyncio '
                               'loop: use `async with Tether.resource_manager():`')
        return self

    def release_sync(self):
        manager = self._manager
        if manager is None or not manager.is_active():
            raise RuntimeError('this resource manager is not entered')
        with _call_frame(self._context) as frame:
            manager.release()
        if frame.release_errors:
            raise frame.release_errors[0]

    # -- asyncio form --

    async def __aenter__(self):
        return await self.acquire()

    async def __aexit__(self, exc_type, exc_value, traceback):
        await self.release()
        return False

    def acquire(self):
        """`await manager.acquire()`: Pyot's explicit __aenter__."""
        _check_async_available('Tether.resource_manager().acquire()')
        return self._acquire_async()

    async def _acquire_async(self):
        loop = _require_glib_loop('async with Tether.resource_manager()')
        if self._manager is not None and self._manager.is_active():
            raise RuntimeError('this resource manager is already entered')
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

        with _call_frame(context, can_await=True) as frame:
            manager.acquire_async(None, on_acquired)
            try:
                await done
            except GLib.Error as e:
                frame.raise_for(e)
            self._context, self._manager, self._loop = context, manager, loop
            # Coroutine acquire functions run as tasks of this loop: wait
            # for them, and leave the scope again if one fails.
            try:
                for box in frame.pending:
                    await asyncio.shield(box.pending)
            except BaseException:
                with contextlib.suppress(Exception):
                    await self._release_async()
                raise
        return self

    def release(self):
        """`await manager.release()`: Pyot's explicit __aexit__."""
        _check_async_available('Tether.resource_manager().release()')
        return self._release_async()

    async def _release_async(self):
        _require_glib_loop('Tether.resource_manager().release()')
        manager = self._manager
        if manager is None or not manager.is_active():
            raise RuntimeError('this resource manager is not entered')
        with _call_frame(self._context, can_await=True) as frame:
            manager.release()
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
