/* test-async-matrix.c: every way a caller can meet a flight
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A table-driven test over
 *   caller   (sync, async, manager sync, manager async)
 * × provider (sync only, async only, both)
 * × role     (leads the flight, joins one another caller leads)
 * × owner    (who owns the context: the caller, another thread, nobody)
 * × outcome  (success, failure, cancellation by one caller, by every caller)
 * Each cell is its own test case, /matrix/CALLER/PROVIDER/ROLE/OWNER/OUTCOME,
 * and asserts what the README's thread and context rules promise: the
 * caller's result or error code, what the other caller got, which provider
 * function ran and how often, what stays held, that nothing leaks and that
 * the context is finalized once everybody let go. The expected outcome of a
 * cell is computed from those rules by expect(), written once below, so a
 * reader can check the rules rather than 200 hand-written answers.
 *
 * The provider blocks on a gate until an orchestrator thread has seen every
 * caller join the flight (counted by a private hook of the core), has
 * cancelled whom the cell cancels, and opens the gate. Nothing waits on
 * wall-clock time except the bounds that turn a hang into a failure.
 */

#include <string.h>

#include "test-util.h"

#include "tether-flight-private.h"   /* the callers of a flight, for the orchestrator */
#include "tether-lock-private.h"     /* a lock ThreadSanitizer sees */

#define MX_ERROR (g_quark_from_static_string ("mx-error"))
#define MX_ERROR_REFUSED 7
#define MX_BOUND_US (10 * G_USEC_PER_SEC)

typedef enum { CALLER_SYNC, CALLER_ASYNC, CALLER_MGR_SYNC, CALLER_MGR_ASYNC, N_CALLERS } CallerKind;
typedef enum { PROV_SYNC, PROV_ASYNC, PROV_BOTH, N_PROVS } ProvKind;
typedef enum { ROLE_LEAD, ROLE_JOIN, N_ROLES } Role;
typedef enum { OWNER_CALLER, OWNER_OTHER, OWNER_NOBODY, N_OWNERS } Owner;
typedef enum { OUT_SUCCESS, OUT_FAILURE, OUT_CANCEL_ONE, OUT_CANCEL_ALL, N_OUTS } Outcome;

static const char *caller_names[] = { "sync", "async", "manager-sync", "manager-async" };
static const char *prov_names[] = { "sync-only", "async-only", "both" };
static const char *role_names[] = { "lead", "join" };
static const char *owner_names[] = { "caller", "other-thread", "nobody" };
static const char *out_names[] = { "success", "failure", "cancel-one", "cancel-all" };

typedef struct
{
  CallerKind kind;
  ProvKind   prov;
  Role       role;
  Owner      owner;
  Outcome    out;
} Cell;

/* ------------------------------------------------------------------------ */
/* The provider                                                             */
/* ------------------------------------------------------------------------ */

typedef struct
{
  TetherProvider vtable;
  ProvKind       kind;
  gboolean       fail;
  gint           gate;              /* atomic: open when non-zero */
  gint           n_acquire;         /* atomic counters */
  gint           n_acquire_async;
  gint           n_cancelled;
  gint           n_released;
  gint           n_bad_thread_default;
  gint           n_sync_inside_async;  /* acquire ran inside an _async call */
  gint           live;
  TetherMutex    made_lock;         /* visible to ThreadSanitizer, unlike GMutex */
  GPtrArray     *made;              /* every resource, freed with the provider */
} MxProvider;

typedef struct
{
  guint         magic;
  GMainContext *context;   /* identity only */
  MxProvider   *owner;
} MxResource;

#define MX_MAGIC 0x3a7b1c55u
#define MX_RELEASED 0x3a7b1c56u   /* released; kept so a late reader is safe */

static gpointer
mx_make (MxProvider   *mp,
         GMainContext *context,
         GError      **error)
{
  MxResource *res;

  if (mp->fail)
    {
      g_set_error (error, MX_ERROR, MX_ERROR_REFUSED, "the matrix provider refuses");
      return NULL;
    }

  res = g_new0 (MxResource, 1);
  res->magic = MX_MAGIC;
  res->context = context;
  res->owner = mp;
  g_atomic_int_inc (&mp->live);
  tether_mutex_lock (&mp->made_lock);
  g_ptr_array_add (mp->made, res);
  tether_mutex_unlock (&mp->made_lock);
  return res;
}

/* Depth of the test's _async calls on this thread: an _async call returns
 * at once, so a provider's synchronous acquire never runs inside one. */
static __thread gint in_async_call;

/* clang-format off */
#define ASYNC_CALL(call) \
  G_STMT_START            \
  {                       \
    in_async_call++;      \
    call;                 \
    in_async_call--;      \
  }                       \
  G_STMT_END
/* clang-format on */

/* Where tether promises to push the context: whenever this thread owns it. */
static void
mx_check_thread_default (MxProvider   *mp,
                         GMainContext *context)
{
  if (g_main_context_is_owner (context) && g_main_context_get_thread_default () != context)
    g_atomic_int_inc (&mp->n_bad_thread_default);
}

static gpointer
mx_acquire (GMainContext  *context,
            gpointer       data,
            GError       **error)
{
  MxProvider *mp = data;
  gint64 deadline = g_get_monotonic_time () + MX_BOUND_US;

  g_atomic_int_inc (&mp->n_acquire);
  if (in_async_call > 0)
    g_atomic_int_inc (&mp->n_sync_inside_async);
  mx_check_thread_default (mp, context);
  while (!g_atomic_int_get (&mp->gate))
    {
      if (g_get_monotonic_time () > deadline)
        {
          g_set_error (error, MX_ERROR, 99, "the gate never opened");
          return NULL;
        }
      g_usleep (100);
    }

  return mx_make (mp, context, error);
}

typedef struct
{
  MxProvider   *mp;
  GMainContext *context;
  GTask        *task;
  gint64        deadline;
} MxAsync;

static gboolean
mx_async_poll (gpointer data)
{
  MxAsync *op = data;
  GCancellable *cancellable = g_task_get_cancellable (op->task);
  GError *error = NULL;
  gpointer res;

  if (g_cancellable_is_cancelled (cancellable))
    {
      g_atomic_int_inc (&op->mp->n_cancelled);
      g_task_return_error_if_cancelled (op->task);
    }
  else if (g_atomic_int_get (&op->mp->gate))
    {
      res = mx_make (op->mp, op->context, &error);
      if (res != NULL)
        g_task_return_pointer (op->task, res, NULL);
      else
        g_task_return_error (op->task, error);
    }
  else if (g_get_monotonic_time () > op->deadline)
    g_task_return_new_error (op->task, MX_ERROR, 99, "the gate never opened");
  else
    return G_SOURCE_CONTINUE;

  g_object_unref (op->task);
  g_free (op);
  return G_SOURCE_REMOVE;
}

static void
mx_acquire_async (GMainContext        *context,
                  gpointer             data,
                  GCancellable        *cancellable,
                  GAsyncReadyCallback  callback,
                  gpointer             user_data)
{
  MxProvider *mp = data;
  MxAsync *op = g_new0 (MxAsync, 1);
  GSource *source;

  g_atomic_int_inc (&mp->n_acquire_async);
  mx_check_thread_default (mp, context);

  op->mp = mp;
  op->context = context;
  op->task = g_task_new (NULL, cancellable, callback, user_data);
  op->deadline = g_get_monotonic_time () + MX_BOUND_US;

  source = g_timeout_source_new (1);
  g_source_set_callback (source, mx_async_poll, op, NULL);
  g_source_attach (source, context);
  g_source_unref (source);
}

static gpointer
mx_acquire_finish (GAsyncResult  *result,
                   GError       **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
mx_release (gpointer      resource,
            GMainContext *context,
            gboolean      graceful,
            gpointer      data)
{
  MxProvider *mp = data;
  MxResource *res = resource;

  tether_mutex_lock (&mp->made_lock);
  g_assert_cmphex (res->magic, ==, MX_MAGIC);
  res->magic = MX_RELEASED;
  tether_mutex_unlock (&mp->made_lock);
  g_atomic_int_inc (&mp->n_released);
  g_atomic_int_add (&mp->live, -1);
}

static MxProvider *
mx_provider_new (ProvKind kind,
                 gboolean fail)
{
  MxProvider *mp = g_new0 (MxProvider, 1);
  TetherMutex init = TETHER_MUTEX_INIT;

  mp->kind = kind;
  mp->fail = fail;
  mp->made_lock = init;
  mp->made = g_ptr_array_new_with_free_func (g_free);
  mp->vtable.abi_version = TETHER_PROVIDER_ABI_VERSION;
  mp->vtable.struct_size = sizeof (TetherProvider);
  mp->vtable.name = "matrix";
  mp->vtable.release = mx_release;
  if (kind != PROV_ASYNC)
    mp->vtable.acquire = mx_acquire;
  if (kind != PROV_SYNC)
    {
      mp->vtable.acquire_async = mx_acquire_async;
      mp->vtable.acquire_finish = mx_acquire_finish;
    }
  return mp;
}

/* ------------------------------------------------------------------------ */
/* What the README promises                                                 */
/* ------------------------------------------------------------------------ */

typedef enum
{
  GOT_RESOURCE,
  GOT_PROVIDER_ERROR,
  GOT_CANCELLED,
  GOT_WOULD_BLOCK,
  GOT_WRONG_CONTEXT,
  GOT_NOTHING,          /* no such caller in this cell */
} Got;

static const char *got_names[] = {
  "resource", "provider error", "cancelled", "would-block", "wrong-context", "nothing",
};

typedef struct
{
  gboolean applicable;
  gboolean has_partner;
  gboolean partner_async;     /* else sync */
  gboolean ours_cancels;
  gboolean partner_cancels;
  Got      ours;
  Got      partner;
  guint    n_acquire;         /* calls of the provider's acquire */
  guint    n_acquire_async;   /* calls of its acquire_async */
  guint    n_held;            /* held once every caller is done */
} Expect;

static gboolean
is_async_kind (CallerKind kind)
{
  return kind == CALLER_ASYNC || kind == CALLER_MGR_ASYNC;
}

static gboolean
is_manager_kind (CallerKind kind)
{
  return kind == CALLER_MGR_SYNC || kind == CALLER_MGR_ASYNC;
}

/* The rules, in the README's words:
 * - A manager is used from the thread whose thread-default context is its
 *   context, or fails with WRONG_CONTEXT before anything runs.
 * - Whoever starts a flight decides which provider function runs: a
 *   synchronous caller calls `acquire` when the provider has it, an
 *   asynchronous caller calls `acquire_async` when the provider has it; the
 *   other one is used only when the provider lacks the first.
 * - A synchronous caller never waits for a context it cannot own: if the
 *   result can only arrive by iterating a context another thread owns (an
 *   asynchronous acquire, or one whose start waits in that context), it
 *   fails with WOULD_BLOCK, whether it would lead the flight or join it.
 * - Cancelling fails that caller at once with G_IO_ERROR_CANCELLED and
 *   nobody else; the provider's `acquire_async` is cancelled only when every
 *   caller has left (a synchronous caller never leaves), and a synchronous
 *   `acquire` always runs to its end, so its resource stays held.
 * - A manager's acquire that fails or is cancelled releases exactly what
 *   this acquire started (flights it led), after they settled, and leaves the
 *   context unmanaged.
 */
static Expect
expect (const Cell *c)
{
  Expect e = { .applicable = TRUE, .ours = GOT_RESOURCE, .partner = GOT_NOTHING };
  gboolean ours_async = is_async_kind (c->kind);
  gboolean flight_async;      /* the flight runs acquire_async */
  gboolean needs_context;     /* its result arrives only through the context */
  gboolean ours_blocked;      /* ours gets WOULD_BLOCK */
  gboolean cancelled_flight;  /* the provider's acquire_async was cancelled */
  gboolean ours_led;

  /* Who is there. */
  e.has_partner = c->role == ROLE_JOIN || c->out == OUT_CANCEL_ONE;
  if (c->out == OUT_CANCEL_ALL)
    {
      if (!ours_async)
        {
          e.applicable = FALSE;   /* a synchronous caller cannot cancel */
          return e;
        }
      e.ours_cancels = TRUE;
      e.partner_async = TRUE;
      e.partner_cancels = e.has_partner;
    }
  else if (c->out == OUT_CANCEL_ONE)
    {
      /* One asynchronous caller cancels, the other must not notice. */
      e.partner_async = !ours_async || c->prov != PROV_SYNC;
      e.ours_cancels = ours_async;
      e.partner_cancels = !ours_async;
    }
  else
    e.partner_async = c->prov != PROV_SYNC;

  /* A manager off its context: nothing happens. Only its lead cell. */
  if (is_manager_kind (c->kind) && c->owner != OWNER_CALLER)
    {
      if (e.has_partner)
        {
          e.applicable = FALSE;
          return e;
        }
      e.ours = GOT_WRONG_CONTEXT;
      return e;
    }

  /* Which provider function the flight's starter calls. */
  {
    gboolean starter_async = c->role == ROLE_LEAD ? ours_async : e.partner_async;

    if (c->prov == PROV_SYNC)
      flight_async = FALSE;
    else if (c->prov == PROV_ASYNC)
      flight_async = TRUE;
    else
      flight_async = starter_async;

    /* The harness lets ours join only once the provider runs, so a deferred
     * start has happened by then, except when the context's owner is the
     * very caller that has not joined yet. */
    needs_context = flight_async;
    if (!flight_async && starter_async && c->role == ROLE_JOIN && c->owner == OWNER_CALLER)
      needs_context = TRUE;
  }

  ours_blocked = !ours_async && c->owner == OWNER_OTHER && needs_context;
  if (ours_blocked)
    {
      e.ours = GOT_WOULD_BLOCK;
      /* WOULD_BLOCK is decided before anything is published: the flight is
       * the partner's alone. */
      if (!e.has_partner)
        return e;
    }

  ours_led = c->role == ROLE_LEAD && !ours_blocked;

  /* The provider runs once: whoever starts the flight. */
  if (flight_async)
    e.n_acquire_async = 1;
  else
    e.n_acquire = 1;

  /* Cancellation of the provider: every caller gone, async flight only. */
  {
    gboolean ours_stays = !ours_blocked && !e.ours_cancels;
    gboolean partner_stays = e.has_partner && !e.partner_cancels;

    cancelled_flight = flight_async && !ours_stays && !partner_stays;
  }

  /* Ours. */
  if (!ours_blocked)
    {
      if (e.ours_cancels)
        e.ours = GOT_CANCELLED;
      else if (c->out == OUT_FAILURE)
        e.ours = GOT_PROVIDER_ERROR;
      else
        e.ours = GOT_RESOURCE;
    }

  /* The partner. */
  if (e.has_partner)
    {
      if (e.partner_cancels)
        e.partner = GOT_CANCELLED;
      else if (c->out == OUT_FAILURE)
        e.partner = GOT_PROVIDER_ERROR;
      else
        e.partner = GOT_RESOURCE;
    }

  /* What stays held. */
  if (c->out == OUT_FAILURE || cancelled_flight)
    e.n_held = 0;
  else
    e.n_held = 1;

  /* A manager that did not enter rolls back the flights it led. */
  if (is_manager_kind (c->kind) && e.ours != GOT_RESOURCE && ours_led)
    e.n_held = 0;

  return e;
}

/* ------------------------------------------------------------------------ */
/* The harness                                                              */
/* ------------------------------------------------------------------------ */

typedef struct
{
  /* set up before any thread starts */
  Cell            cell;
  Expect          e;
  MxProvider     *mp;
  TetherTemplate *template;
  GMainContext   *context;
  gint            context_finalized;   /* atomic */

  /* the owner thread (OWNER_OTHER) */
  GThread        *owner_thread;
  GMainLoop      *owner_loop;
  gint            owner_running;       /* atomic */

  /* ours */
  GCancellable   *ours_cancellable;
  TetherManager  *manager;
  gpointer        ours_resource;       /* identity only once classified */
  GError         *ours_error;
  Got             ours_got;
  gint            ours_done;           /* atomic */

  /* the partner, on a thread of its own */
  GThread        *partner_thread;
  GCancellable   *partner_cancellable;
  gpointer        partner_resource;    /* identity only once classified */
  GError         *partner_error;
  Got             partner_got;
  gint            partner_started;     /* atomic: about to call the acquire */
  gint            partner_returned;    /* atomic: its (async) acquire returned */
  gint            partner_done;        /* atomic */

  GThread        *orchestrator;
} Run;

/* Waits, bounded, until @cond holds; FALSE on time-out. */
#define WAIT_UNTIL(cond) \
  G_STMT_START { \
    gint64 _deadline = g_get_monotonic_time () + MX_BOUND_US; \
    while (!(cond) && g_get_monotonic_time () < _deadline) \
      g_usleep (100); \
  } G_STMT_END

static Got classify (gpointer resource, GError *error, Run *run);

static guint
n_callers (Run *run)
{
  return _tether_flight_count_callers (run->template, run->context);
}

static gpointer
owner_thread_func (gpointer data)
{
  Run *run = data;

  g_main_context_push_thread_default (run->context);
  g_atomic_int_set (&run->owner_running, TRUE);
  g_main_loop_run (run->owner_loop);
  g_main_context_pop_thread_default (run->context);
  return NULL;
}

static void
partner_async_done (GObject      *object,
                    GAsyncResult *result,
                    gpointer      data)
{
  Run *run = data;

  run->partner_resource = tether_template_acquire_finish (run->template, result,
                                                          &run->partner_error);
  run->partner_got = classify (run->partner_resource, run->partner_error, run);
  g_atomic_int_set (&run->partner_done, TRUE);
}

static gpointer
partner_thread_func (gpointer data)
{
  Run *run = data;

  if (run->e.partner_async)
    {
      GMainContext *own = g_main_context_new ();

      g_main_context_push_thread_default (own);
      g_atomic_int_set (&run->partner_started, TRUE);
      ASYNC_CALL (tether_template_acquire_async (run->template, run->context,
                                                 run->partner_cancellable,
                                                 partner_async_done, run));
      g_atomic_int_set (&run->partner_returned, TRUE);
      while (!g_atomic_int_get (&run->partner_done))
        g_main_context_iteration (own, TRUE);
      g_main_context_pop_thread_default (own);
      g_main_context_unref (own);
    }
  else
    {
      g_atomic_int_set (&run->partner_started, TRUE);
      run->partner_resource = tether_template_acquire (run->template, run->context,
                                                       &run->partner_error);
      run->partner_got = classify (run->partner_resource, run->partner_error, run);
      g_atomic_int_set (&run->partner_done, TRUE);
    }

  return NULL;
}

static gboolean
provider_entered (Run *run)
{
  return g_atomic_int_get (&run->mp->n_acquire) + g_atomic_int_get (&run->mp->n_acquire_async) > 0;
}

static void
start_partner (Run *run)
{
  run->partner_thread = g_thread_new ("matrix-partner", partner_thread_func, run);
  WAIT_UNTIL (g_atomic_int_get (&run->partner_started) && n_callers (run) >= 1);
  /* An async partner holds the context while it starts the provider: wait
   * until it let go, unless a sync-only provider keeps it inside. */
  if (run->e.partner_async)
    WAIT_UNTIL (g_atomic_int_get (&run->partner_returned) ||
                g_atomic_int_get (&run->mp->n_acquire) > 0);
  /* A start deferred to the context happens where the context runs. */
  if (run->cell.owner == OWNER_OTHER)
    WAIT_UNTIL (provider_entered (run) || g_atomic_int_get (&run->partner_done));
}

/* Joins the callers up, cancels whom the cell cancels, opens the gate. */
static gpointer
orchestrator_func (gpointer data)
{
  Run *run = data;
  guint expected = 1;

  if (run->cell.role == ROLE_LEAD && run->e.has_partner)
    {
      /* Ours leads: the partner joins once ours is in, and once a start
       * deferred to the context has happened where the context runs. */
      WAIT_UNTIL (n_callers (run) >= 1 || g_atomic_int_get (&run->ours_done));
      if (run->cell.owner == OWNER_OTHER && !g_atomic_int_get (&run->ours_done))
        WAIT_UNTIL (provider_entered (run));
      start_partner (run);
    }
  if (run->e.has_partner)
    expected++;

  /* Everybody in, or ours already out (WOULD_BLOCK and the like). */
  WAIT_UNTIL (n_callers (run) >= expected ||
              (g_atomic_int_get (&run->ours_done) && n_callers (run) >= expected - 1));

  /* Cancel once the provider runs: an acquire abandoned before its start
   * is a case of its own (test-purge.c). */
  if (run->e.n_acquire + run->e.n_acquire_async > 0)
    WAIT_UNTIL (provider_entered (run));

  if (run->e.ours_cancels)
    g_cancellable_cancel (run->ours_cancellable);
  if (run->e.partner_cancels)
    g_cancellable_cancel (run->partner_cancellable);
  if (run->e.ours_cancels || run->e.partner_cancels)
    {
      guint staying = (!run->e.ours_cancels && run->e.ours != GOT_WOULD_BLOCK) +
                      (run->e.has_partner && !run->e.partner_cancels);

      /* The cancelled callers are gone before the provider can finish. */
      WAIT_UNTIL (n_callers (run) <= staying);
    }

  g_atomic_int_set (&run->mp->gate, TRUE);
  return NULL;
}

static void
ours_async_done (GObject      *object,
                 GAsyncResult *result,
                 gpointer      data)
{
  Run *run = data;

  run->ours_resource = tether_template_acquire_finish (run->template, result, &run->ours_error);
  run->ours_got = classify (run->ours_resource, run->ours_error, run);
  g_atomic_int_set (&run->ours_done, TRUE);
}

static void
ours_manager_done (GObject      *object,
                   GAsyncResult *result,
                   gpointer      data)
{
  Run *run = data;

  if (tether_manager_acquire_finish (run->manager, result, &run->ours_error))
    run->ours_resource = tether_template_lookup (run->template, run->context);
  run->ours_got = classify (run->ours_resource, run->ours_error, run);
  g_atomic_int_set (&run->ours_done, TRUE);
}

/* Iterates what the test thread must drive until @flag is set. */
static void
drive_until (Run  *run,
             gint *flag)
{
  gint64 deadline = g_get_monotonic_time () + MX_BOUND_US;
  GMainContext *mine = g_main_context_ref_thread_default ();

  while (!g_atomic_int_get (flag) && g_get_monotonic_time () < deadline)
    {
      gboolean busy = g_main_context_iteration (mine, FALSE);

      if (run->cell.owner == OWNER_NOBODY && mine != run->context)
        busy |= g_main_context_iteration (run->context, FALSE);
      if (!busy)
        g_usleep (100);
    }
  g_main_context_unref (mine);
}

/* Called where a result arrives; asserts nothing (it may run in another
 * thread), reports oddities. A resource may already be released by then (a
 * manager rolling back what it started, while its partner's callback is on
 * its way): the provider keeps released ones until the cell ends. */
static Got
classify (gpointer  resource,
          GError   *error,
          Run      *run)
{
  if (resource != NULL && error == NULL)
    {
      MxResource *res = resource;
      gboolean made;

      /* The resource crossed threads through GLib's main-context lock,
       * which ThreadSanitizer cannot see; the provider's lock orders the
       * reads below after the writes that made it. */
      tether_mutex_lock (&run->mp->made_lock);
      made = g_ptr_array_find (run->mp->made, res, NULL) &&
             (res->magic == MX_MAGIC || res->magic == MX_RELEASED) &&
             res->context == run->context;
      tether_mutex_unlock (&run->mp->made_lock);
      if (!made)
        {
          g_test_message ("a resource that is not the context's");
          return GOT_NOTHING;
        }
      return GOT_RESOURCE;
    }
  if (resource != NULL || error == NULL)
    {
      g_test_message ("a resource and an error, or neither");
      return GOT_NOTHING;
    }
  if (error->domain == MX_ERROR && error->code == MX_ERROR_REFUSED)
    return GOT_PROVIDER_ERROR;
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return GOT_CANCELLED;
  if (g_error_matches (error, TETHER_ERROR, TETHER_ERROR_WOULD_BLOCK))
    return GOT_WOULD_BLOCK;
  if (g_error_matches (error, TETHER_ERROR, TETHER_ERROR_WRONG_CONTEXT))
    return GOT_WRONG_CONTEXT;
  g_test_message ("unexpected error: %s (%s %d)", error->message,
                  g_quark_to_string (error->domain), error->code);
  return GOT_NOTHING;
}

/* Iterates the context where this thread may, until no flight is left. */
static void
settle (Run *run)
{
  gint64 deadline = g_get_monotonic_time () + MX_BOUND_US;

  while (_tether_flight_is_under_way (run->template, run->context) &&
         g_get_monotonic_time () < deadline)
    {
      if (run->cell.owner == OWNER_OTHER || !g_main_context_iteration (run->context, FALSE))
        g_usleep (100);
    }
  g_assert_false (_tether_flight_is_under_way (run->template, run->context));
}

static void
run_cell (gconstpointer data)
{
  const Cell *cell = data;
  Run run_storage = { 0 };
  Run *run = &run_storage;
  Got ours, partner = GOT_NOTHING;

  run->cell = *cell;
  run->e = expect (cell);
  g_assert_true (run->e.applicable);

  run->mp = mx_provider_new (cell->prov, cell->out == OUT_FAILURE);
  run->template = tether_template_new (&run->mp->vtable, run->mp);
  g_assert_nonnull (run->template);
  run->context = g_main_context_new ();
  test_watch_context (run->context, &run->context_finalized);
  run->ours_cancellable = g_cancellable_new ();
  run->partner_cancellable = g_cancellable_new ();

  switch (cell->owner)
    {
    case OWNER_CALLER:
      g_main_context_push_thread_default (run->context);
      break;
    case OWNER_OTHER:
      run->owner_loop = g_main_loop_new (run->context, FALSE);
      run->owner_thread = g_thread_new ("matrix-owner", owner_thread_func, run);
      WAIT_UNTIL (g_atomic_int_get (&run->owner_running));
      break;
    case OWNER_NOBODY:
    default:
      break;
    }

  /* A joining cell: the partner's flight is under way first. */
  if (cell->role == ROLE_JOIN)
    {
      start_partner (run);
      WAIT_UNTIL (n_callers (run) >= 1);
      g_assert_cmpuint (n_callers (run), >=, 1);
    }

  run->orchestrator = g_thread_new ("matrix-orchestrator", orchestrator_func, run);

  switch (cell->kind)
    {
    case CALLER_SYNC:
      run->ours_resource = tether_template_acquire (run->template, run->context, &run->ours_error);
      run->ours_got = classify (run->ours_resource, run->ours_error, run);
      g_atomic_int_set (&run->ours_done, TRUE);
      break;

    case CALLER_ASYNC:
      ASYNC_CALL (tether_template_acquire_async (run->template, run->context,
                                                 run->ours_cancellable, ours_async_done, run));
      drive_until (run, &run->ours_done);
      break;

    case CALLER_MGR_SYNC:
      run->manager = tether_manager_new (run->context, TETHER_MANAGER_NONE);
      if (tether_manager_acquire (run->manager, &run->ours_error))
        run->ours_resource = tether_template_lookup (run->template, run->context);
      run->ours_got = classify (run->ours_resource, run->ours_error, run);
      g_atomic_int_set (&run->ours_done, TRUE);
      break;

    case CALLER_MGR_ASYNC:
      run->manager = tether_manager_new (run->context, TETHER_MANAGER_NONE);
      ASYNC_CALL (tether_manager_acquire_async (run->manager, run->ours_cancellable,
                                                ours_manager_done, run));
      drive_until (run, &run->ours_done);
      break;

    default:
      g_assert_not_reached ();
    }

  g_assert_true (g_atomic_int_get (&run->ours_done));
  g_thread_join (run->orchestrator);
  if (run->partner_thread != NULL)
    {
      drive_until (run, &run->partner_done);
      g_assert_true (g_atomic_int_get (&run->partner_done));
      g_thread_join (run->partner_thread);
    }
  /* Whatever is still on its way through the context (a cancelled
   * provider's completion) arrives. */
  settle (run);

  ours = run->ours_got;
  if (run->e.has_partner)
    partner = run->partner_got;

  g_test_message ("ours: %s (expected %s); partner: %s (expected %s)",
                  got_names[ours], got_names[run->e.ours],
                  got_names[partner], got_names[run->e.partner]);
  if (run->ours_error != NULL)
    g_test_message ("ours' error: %s", run->ours_error->message);
  g_assert_cmpstr (got_names[ours], ==, got_names[run->e.ours]);
  g_assert_cmpstr (got_names[partner], ==, got_names[run->e.partner]);
  if (ours == GOT_RESOURCE && partner == GOT_RESOURCE)
    g_assert_true (run->ours_resource == run->partner_resource);

  /* Which provider function ran, and once. */
  g_assert_cmpint (g_atomic_int_get (&run->mp->n_acquire), ==, run->e.n_acquire);
  g_assert_cmpint (g_atomic_int_get (&run->mp->n_acquire_async), ==, run->e.n_acquire_async);
  g_assert_cmpint (g_atomic_int_get (&run->mp->n_bad_thread_default), ==, 0);
  /* No _async call blocked its caller on a synchronous acquire. */
  g_assert_cmpint (g_atomic_int_get (&run->mp->n_sync_inside_async), ==, 0);

  /* What stays held, and the manager's state. */
  g_assert_cmpuint (tether_template_get_n_held (run->template), ==, run->e.n_held);
  g_assert_cmpint (g_atomic_int_get (&run->mp->live), ==, run->e.n_held);
  if (run->manager != NULL)
    {
      g_autoptr(GPtrArray) managed = tether_dup_managed_contexts ();
      gboolean entered = ours == GOT_RESOURCE;

      g_assert_cmpint (tether_manager_is_active (run->manager), ==, entered);
      g_assert_cmpuint (managed->len, ==, entered ? 1 : 0);
      if (entered)
        tether_manager_release (run->manager);
      g_clear_object (&run->manager);
    }

  /* Clean up: nothing leaks, the context dies. */
  if (tether_template_lookup (run->template, run->context) != NULL)
    g_assert_true (tether_template_release (run->template, run->context, NULL));
  g_assert_cmpint (g_atomic_int_get (&run->mp->live), ==, 0);

  if (run->owner_thread != NULL)
    {
      g_main_loop_quit (run->owner_loop);
      g_thread_join (run->owner_thread);
      g_main_loop_unref (run->owner_loop);
    }
  if (cell->owner == OWNER_CALLER)
    g_main_context_pop_thread_default (run->context);

  tether_template_unregister (run->template);
  g_clear_object (&run->template);
  g_clear_error (&run->ours_error);
  g_clear_error (&run->partner_error);
  g_clear_object (&run->ours_cancellable);
  g_clear_object (&run->partner_cancellable);
  g_main_context_unref (run->context);
  g_assert_true (g_atomic_int_get (&run->context_finalized));
  g_assert_cmpuint (tether_get_n_pending_purge (), ==, 0);
  g_ptr_array_unref (run->mp->made);
  g_free (run->mp);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GPtrArray) cells = g_ptr_array_new_with_free_func (g_free);

  g_test_init (&argc, &argv, NULL);
  tether_set_unmanaged_warning_enabled (FALSE);

  for (CallerKind k = 0; k < N_CALLERS; k++)
    for (ProvKind p = 0; p < N_PROVS; p++)
      for (Role r = 0; r < N_ROLES; r++)
        for (Owner o = 0; o < N_OWNERS; o++)
          for (Outcome x = 0; x < N_OUTS; x++)
            {
              Cell cell = { k, p, r, o, x };
              g_autofree char *path = NULL;

              if (!expect (&cell).applicable)
                continue;
              path = g_strdup_printf ("/matrix/%s/%s/%s/%s/%s", caller_names[k],
                                      prov_names[p], role_names[r], owner_names[o],
                                      out_names[x]);
              g_ptr_array_add (cells, g_memdup2 (&cell, sizeof cell));
              g_test_add_data_func (path, g_ptr_array_index (cells, cells->len - 1), run_cell);
            }

  return g_test_run ();
}
