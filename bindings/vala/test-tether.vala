/* test-tether.vala: tether from Vala, through tether-1.vapi.
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A template whose resources are Vala objects, one per GMainContext, used
 * inside a Tether.Manager and inside Tether.run_in_new_context(); each test
 * checks who was made, who was released and how.
 */

class Session : Object {
  public int serial { get; construct; }
  public unowned MainContext made_in { get; construct; }

  public Session (int serial, MainContext made_in) {
    Object (serial: serial, made_in: made_in);
  }
}

class Sessions {
  public Tether.Template template;
  public int made = 0;
  public int released_gracefully = 0;
  public int released_ungracefully = 0;

  public Sessions (string name) throws Error {
    template = new Tether.Template.for_object (name, "a session per context", typeof (Session),
      (context) => {
        made++;
        /* tether pushes the context as thread-default around the acquire */
        assert (MainContext.get_thread_default () == context);
        return new Session (made, context);
      },
      (session, context, graceful) => {
        if (graceful)
          released_gracefully++;
        else
          released_ungracefully++;
      });
  }
}

/* One object per context; the same context gets the same object back. */
void test_one_per_context () {
  try {
    var sessions = new Sessions ("vala-one-per-context");
    var first = new MainContext ();
    var second = new MainContext ();

    var a = sessions.template.acquire_object (first) as Session;
    var again = sessions.template.acquire_object (first) as Session;
    var b = sessions.template.acquire_object (second) as Session;
    assert_nonnull (a);
    assert_nonnull (b);
    assert (a == again);
    assert (a != b);
    assert (a.made_in == first);
    assert (b.made_in == second);
    assert_cmpint (sessions.made, CompareOperator.EQ, 2);
    assert_cmpuint (sessions.template.get_n_held (), CompareOperator.EQ, 2);

    assert_true (sessions.template.release (first));
    assert_true (sessions.template.release (second));
    assert_cmpint (sessions.released_gracefully, CompareOperator.EQ, 2);
    assert_cmpuint (sessions.template.get_n_held (), CompareOperator.EQ, 0);
    assert_true (sessions.template.unregister ());
  } catch (Error e) {
    error ("%s", e.message);
  }
}

/* A manager acquires the eager template on enter and releases it on exit. */
void test_manager_scope () {
  try {
    var sessions = new Sessions ("vala-manager-scope");
    var context = new MainContext ();
    context.push_thread_default ();

    var manager = new Tether.Manager (context, Tether.ManagerFlags.NONE);
    assert_true (manager.acquire ());
    assert_true (manager.is_active ());
    assert_cmpint (sessions.made, CompareOperator.EQ, 1);
    var session = sessions.template.lookup_object (null) as Session;
    assert_nonnull (session);
    assert_cmpint (session.serial, CompareOperator.EQ, 1);

    manager.release ();
    assert_false (manager.is_active ());
    assert_cmpint (sessions.released_gracefully, CompareOperator.EQ, 1);
    assert_null (sessions.template.lookup_object (context));

    context.pop_thread_default ();
    assert_true (sessions.template.unregister ());
  } catch (Error e) {
    error ("%s", e.message);
  }
}

/* run_in_new_context: a fresh context with a manager around a Vala lambda. */
void test_run_in_new_context () {
  try {
    var sessions = new Sessions ("vala-run-in-new-context");
    unowned MainContext? seen = null;
    assert_true (Tether.run_in_new_context (() => {
      var session = sessions.template.acquire_object (null) as Session;
      seen = session.made_in;
      return session.made_in == MainContext.get_thread_default ();
    }));
    assert_nonnull (seen);
    assert_cmpint (sessions.made, CompareOperator.EQ, 1);
    assert_cmpint (sessions.released_gracefully, CompareOperator.EQ, 1);
    assert_cmpint (sessions.released_ungracefully, CompareOperator.EQ, 0);
    assert_true (sessions.template.unregister ());
  } catch (Error e) {
    error ("%s", e.message);
  }
}

int main (string[] args) {
  Test.init (ref args);
  /* The first test acquires for contexts no manager scopes on purpose; its
   * warning would be fatal in a test program. */
  Tether.set_unmanaged_warning_enabled (false);
  Test.add_func ("/vala/template/one-per-context", test_one_per_context);
  Test.add_func ("/vala/manager/scope", test_manager_scope);
  Test.add_func ("/vala/run-in-new-context", test_run_in_new_context);
  return Test.run ();
}
