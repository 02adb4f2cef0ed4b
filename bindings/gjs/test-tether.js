// SPDX-FileCopyrightText: 2026 The tether authors
// SPDX-License-Identifier: LGPL-2.1-or-later
//
// tether from gjs: a provider written in JavaScript (an object template
// whose acquire and release are JS functions), managers in the scoped and
// the run() forms, one session per context, release at scope exit, and the
// purge of a dropped context. JavaScript runs on one thread, so each
// "worker" here is a context of its own on the main thread. Prints TAP.

imports.gi.versions.Tether = '1';
const {GLib, GObject, Tether} = imports.gi;
const System = imports.system;

const Session = GObject.registerClass({
    GTypeName: 'TetherJsSession',
    Properties: {
        'serial': GObject.ParamSpec.int('serial', 'serial', 'serial',
            GObject.ParamFlags.READWRITE, 0, 1 << 30, 0),
    },
}, class Session extends GObject.Object {});

let n = 0;
let failed = 0;
function check(ok, name, detail) {
    n++;
    print(`${ok ? 'ok' : 'not ok'} ${n} - ${name}`);
    if (!ok) {
        failed++;
        if (detail)
            print(`# ${detail}`);
    }
}

print('TAP version 13');
Tether.set_unmanaged_warning_enabled(false);

let serial = 0;
const acquiredOnContext = [];
const released = [];
const template = Tether.Template.new_for_object('js-session', 'A session made in JS',
    Session.$gtype,
    context => {
        // Every context here is a new one, which tether pushes around the call.
        acquiredOnContext.push(GLib.MainContext.get_thread_default() !== null);
        serial++;
        return new Session({serial});
    },
    (session, context, graceful) => {
        released.push({serial: session.serial, graceful, hasContext: context !== null});
    });

check(template.get_object_type() === Session.$gtype, 'object type is the JS class');

// Scoped form: one manager per context.
const sessions = [];
for (let i = 0; i < 3; i++) {
    const context = GLib.MainContext.new();
    context.push_thread_default();
    const manager = Tether.Manager.new(context, Tether.ManagerFlags.NONE);
    manager.acquire();
    const session = template.acquire_object(null);
    sessions.push(session);
    check(session instanceof Session, `context ${i}: a typed Session`);
    check(template.lookup_object(context) === session, `context ${i}: same object per context`);
    manager.release();
    check(template.lookup_object(context) === null, `context ${i}: released at scope exit`);
    context.pop_thread_default();
}
check(new Set(sessions.map(s => s.serial)).size === 3, 'each context got its own session');
check(released.length === 3 && released.every(r => r.graceful && r.hasContext),
    'three graceful releases with their context', JSON.stringify(released));

// run() form: acquire, call, always release.
{
    const context = GLib.MainContext.new();
    context.push_thread_default();
    let seen = null;
    const ok = Tether.Manager.run(context, Tether.ManagerFlags.NONE, () => {
        seen = template.lookup_object(null);
        return true;
    });
    context.pop_thread_default();
    check(ok && seen instanceof Session, 'Manager.run() scope sees a session');
    check(released.length === 4 && released[3].serial === seen.serial,
        'Manager.run() released it at scope exit');
}

// A dropped context: its session is purged, ungracefully, without context.
{
    let context = GLib.MainContext.new();
    const session = template.acquire_object(context);
    check(template.get_n_held() === 1, 'held for the dropped context');
    context = null;
    System.gc();
    check(template.get_n_held() === 0, 'taken off when the context is finalized');
    const purged = Tether.purge();
    const last = released[released.length - 1];
    check(purged === 1 && last.serial === session.serial && !last.graceful && !last.hasContext,
        'purged ungracefully without a context', `purged ${purged}, ${JSON.stringify(last)}`);
}

check(acquiredOnContext.every(x => x), 'acquire ran with its context pushed');
template.unregister();

// An exception thrown by a JavaScript acquire is the acquire's error: a
// direct caller and a manager (a C caller) get it, named, and nothing is held.
{
    const throwing = Tether.Template.new_for_object('js-throwing', null, Session.$gtype,
        () => {
            throw new TypeError('the server said no');
        }, null);
    const context = GLib.MainContext.new();
    let caught = null;
    try {
        throwing.acquire_object(context);
    } catch (e) {
        caught = e;
    }
    check(caught instanceof TypeError && caught.message === 'the server said no',
        'a thrown TypeError reaches the caller as itself', `${caught}`);
    check(throwing.get_n_held() === 0, 'nothing held after a thrown acquire');

    context.push_thread_default();
    const manager = Tether.Manager.new(context, Tether.ManagerFlags.NONE);
    caught = null;
    try {
        manager.acquire();
    } catch (e) {
        caught = e;
    }
    context.pop_thread_default();
    check(caught !== null && `${caught}`.includes('the server said no') && !manager.is_active(),
        'a manager entering fails with the thrown error and stays inactive', `${caught}`);
    check(Tether.dup_managed_contexts().length === 0, 'the context is left unmanaged');
    throwing.unregister();

    const failing = Tether.Template.new_for_object('js-gerror', null, Session.$gtype,
        () => {
            throw new GLib.Error(GLib.file_error_quark(), GLib.FileError.NOENT, 'no such file');
        }, null);
    caught = null;
    try {
        failing.acquire_object(GLib.MainContext.new());
    } catch (e) {
        caught = e;
    }
    check(caught instanceof GLib.Error && caught.matches(GLib.file_error_quark(), GLib.FileError.NOENT) &&
        caught.message === 'no such file',
        'a thrown GLib.Error keeps its domain, code and message', `${caught}`);
    failing.unregister();
}
print(`1..${n}`);
if (failed)
    imports.system.exit(1);
