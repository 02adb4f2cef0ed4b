#!/usr/bin/python3
# SPDX-FileCopyrightText: 2026 The tether authors
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The seed's example (Pyot's "Resources" page) on tether: jobs in a
# ThreadPoolExecutor, each running its own asyncio loop inside
# `async with Tether.resource_manager():`, each fetching with a Soup.Session
# of its own that a Tether.ResourceTemplate makes with a coroutine. A local
# Soup.Server on 127.0.0.1 stands in for the web service.
#
# asyncio runs over GLib with PyGObject >= 3.50 (gi.events, Debian 13); on
# older PyGObject (Debian 12) the same jobs run in the sync form.
#
# From a build tree:
#   meson devenv -C build -w . /usr/bin/python3 bindings/python/resources_example.py

import asyncio
import functools
import statistics
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import gi

gi.require_version('GLib', '2.0')
gi.require_version('Soup', '3.0')
gi.require_version('Tether', '1')
from gi.repository import GLib, Soup, Tether  # noqa: E402

try:
    import gi.events  # noqa: F401 - asyncio over GLib, PyGObject >= 3.50
    HAS_EVENTS = True
except ImportError:   # PyGObject < 3.50 (Debian 12): the sync forms only
    HAS_EVENTS = False


def async_to_sync(func):
    """Pyot's pyot.utils.sync.async_to_sync, with a loop over GLib."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        return asyncio.run(func(*args, **kwargs), loop_factory=Tether.new_event_loop)
    return wrapper


def serve():
    """A Soup.Server on 127.0.0.1 in a thread of its own; returns its URL
    and a function that stops it."""
    started = threading.Event()
    state = {}

    def run():
        context = GLib.MainContext.new()
        context.push_thread_default()
        state['loop'] = loop = GLib.MainLoop.new(context, False)
        server = Soup.Server()

        def handle(server, msg, path, query, *_):
            msg.set_status(200, None)
            msg.set_response('text/plain', Soup.MemoryUse.COPY, f'{len(path) * 1000}'.encode())

        server.add_handler('/', handle)
        server.listen_local(0, Soup.ServerListenOptions.IPV4_ONLY)
        state['url'] = server.get_uris()[0].to_string()
        started.set()
        loop.run()
        server.disconnect()
        context.pop_thread_default()

    thread = threading.Thread(target=run, name='server')
    thread.start()
    started.wait()

    def stop():
        source = GLib.idle_source_new()
        source.set_callback(lambda *_: state['loop'].quit())
        source.attach(state['loop'].get_context())
        thread.join()

    return state['url'], stop


URL, stop_server = serve()


# -- the resource: a Soup.Session per loop ------------------------------

async def new_session():
    return Soup.Session(timeout=10)


def close_session(session):
    session.abort()


sessions = Tether.ResourceTemplate(new_session, close_session, name='soup-session')


async def get(path):
    session = await sessions.acquire()   # this loop's own
    msg = Soup.Message.new('GET', URL + path.lstrip('/'))
    body = await session.send_and_read_async(msg, GLib.PRIORITY_DEFAULT, None)
    return int(body.get_data())


# -- the seed's job, in both of its forms --------------------------------

@async_to_sync
async def average_match_duration_millis(summoner_name):
    # This function runs in a different thread and event loop
    async with Tether.resource_manager():
        # At this point, resources are acquired for this event loop
        durations = await asyncio.gather(*(get(f'/{summoner_name}/{n}') for n in range(5)))
        # At this point, resources are released for this event loop
    return statistics.mean(durations or [0])


@async_to_sync
@Tether.resource_manager.as_decorator
async def decorated_average(summoner_name):
    durations = await asyncio.gather(*(get(f'/{summoner_name}/{n}') for n in range(5)))
    return statistics.mean(durations or [0])


# -- the same without asyncio (PyGObject < 3.50) --------------------------

def sync_session():
    return Soup.Session(timeout=10)


sync_sessions = Tether.ResourceTemplate(sync_session, close_session, name='soup-session-sync')


def sync_average(summoner_name):
    context = GLib.MainContext.new()   # this job's own
    context.push_thread_default()
    try:
        with Tether.resource_manager():
            session = sync_sessions.acquire_sync()
            durations = [int(session.send_and_read(
                Soup.Message.new('GET', f'{URL}{summoner_name}/{n}'), None).get_data())
                for n in range(5)]
        return statistics.mean(durations)
    finally:
        context.pop_thread_default()


def main():
    names = ['faker', 'caps', 'chovy', 'showmaker']
    if HAS_EVENTS:
        sync_sessions.unregister()
        forms = [('async with', average_match_duration_millis),
                 ('as_decorator', decorated_average)]
    else:
        sessions.unregister()
        forms = [('sync with', sync_average)]
    try:
        for form, job in forms:
            with ThreadPoolExecutor() as executor:
                futures = [executor.submit(job, name) for name in names]
                results = [future.result() for future in futures]
            print(f'{form}: {dict(zip(names, results))}')
    finally:
        stop_server()
    print(f'managed contexts left: {len(Tether.resource_managed_contexts())}')
    return 0 if not Tether.resource_managed_contexts() else 1


if __name__ == '__main__':
    sys.exit(main())
