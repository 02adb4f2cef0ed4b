/* test-stress.c: the ledger stress — many threads churning contexts while
 * others purge, replace templates and move the janitor
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The contract checked here (the core's documented contract, made precise):
 *
 *  1. Exactly once. Every resource a provider acquired is released exactly
 *     once: gracefully (with its own, live context) by a manager or
 *     tether_template_release(), or ungracefully (context NULL) after its
 *     context died. At the end, after a final tether_purge(), acquired =
 *     released (graceful + ungraceful) and nothing is live.
 *  2. Valid while held. A resource returned by an acquire for context C —
 *     by the provider, by a waiter of a flight, or by a lock-free hit of the
 *     per-thread cache — stays live until something releases it for C. A
 *     caller that holds it (here: while it holds C's scope lock, which the
 *     owner of C takes to release) always finds it live, and an ungraceful
 *     release never happens while C is alive.
 *  3. No stale hits. No acquire that starts after a release for C has
 *     returned yields the released resource: whatever it yields is live and
 *     made for C (checked by the ledger's context ids, which also catch a
 *     new context at a reused address seeing a dead one's resource).
 *  4. Single flight. A template never holds two live resources for one
 *     context.
 *  5. Nothing kept alive. Every context the test created is finalized (a
 *     watch source's callback notify) and every template it created is
 *     finalized once unregistered and unreferenced by the test.
 */

#include <string.h>

#include "test-util.h"

#include "tether-lock-private.h"

#ifndef STRESS_ITERATIONS
# define STRESS_ITERATIONS 200
#endif

#define N_WORKERS   64
#define N_PEERS     4
#define N_PURGERS   2
#define N_SLOTS     6
#define MAX_HELD    64   /* slots are replaced while a worker holds them */
#define PEER_ROUNDS 3

/* A worker's context, shared with the peers that acquire for it from their
 * own threads. */
typedef struct
{
  gint          ref_count;   /* atomic */
  GMainContext *context;     /* owned */
  guint64       id;          /* the ledger's id */
  TetherMutex   scope;       /* held by a peer while it uses a resource, by
                              * the owner while it releases */
  guint         rounds;      /* peer rounds left; under the queue lock */
} Shared;

typedef struct
{
  TestLedger         *ledger;

  /* The template slots that workers pick from; under slots_lock */
  TetherMutex         slots_lock;
  TetherTemplate     *slots[N_SLOTS];
  GPtrArray          *providers;      /* every TestLedgerProvider, freed last */

  /* Contexts handed to peers; under queue_lock */
  TetherMutex         queue_lock;
  GQueue              queue;

  gint                stop;           /* atomic */
  gint                workers_left;   /* atomic */
  guint               iterations;
  guint32             seed;

  /* Figures (atomic) */
  gint                contexts;
  gint                managed_sync;
  gint                managed_async;
  gint                unmanaged_sync;
  gint                unmanaged_async;
  gint                dropped;
  gint                disposed_managers;
  gint                peer_acquires;
  gint                purges;
  gint                purged;
  gint                templates_created;
  gint                templates_finalized;
  gint                janitor_moves;
  gint                post_release_checks;
} Stress;

static Stress *S;

static void
stress_mutex_init (TetherMutex *m)
{
#ifdef TETHER_PTHREAD_LOCKS
  pthread_mutex_init (m, NULL);
#else
  g_mutex_init (m);
#endif
}

static void
stress_mutex_clear (TetherMutex *m)
{
#ifdef TETHER_PTHREAD_LOCKS
  pthread_mutex_destroy (m);
#else
  g_mutex_clear (m);
#endif
}

static Shared *
shared_new (GMainContext *context,
            guint64       id)
{
  Shared *shared = g_new0 (Shared, 1);

  shared->ref_count = 1;
  shared->context = g_main_context_ref (context);
  shared->id = id;
  shared->rounds = PEER_ROUNDS;
  stress_mutex_init (&shared->scope);
  return shared;
}

static Shared *
shared_ref (Shared *shared)
{
  g_atomic_int_inc (&shared->ref_count);
  return shared;
}

static void
shared_unref (Shared *shared)
{
  if (!g_atomic_int_dec_and_test (&shared->ref_count))
    return;
  stress_mutex_clear (&shared->scope);
  g_main_context_unref (shared->context);
  g_free (shared);
}

/* ------------------------------------------------------------------------ */
/* Templates                                                                */
/* ------------------------------------------------------------------------ */

static void
on_template_finalized (gpointer  data,
                       GObject  *where)
{
  g_atomic_int_inc (&S->templates_finalized);
}

/* A fresh provider for slot @i (so the ledger can check single flight per
 * template), and its registered template. */
static TetherTemplate *
make_template (guint i)
{
  g_autofree char *name = g_strdup_printf ("stress%u-%d", i, g_atomic_int_get (&S->templates_created));
  TestLedgerProvider *lp = test_ledger_provider_new (S->ledger, name);
  TetherTemplate *template;

  lp->async_only = (i % 3 == 2);   /* a third are served only asynchronously */

  tether_mutex_lock (&S->slots_lock);
  g_ptr_array_add (S->providers, lp);
  tether_mutex_unlock (&S->slots_lock);

  template = test_ledger_provider_template (lp);
  g_assert_nonnull (template);
  g_object_weak_ref (G_OBJECT (template), on_template_finalized, NULL);
  g_atomic_int_inc (&S->templates_created);

  return template;
}

static TetherTemplate *
dup_slot (guint i)
{
  TetherTemplate *template;

  tether_mutex_lock (&S->slots_lock);
  template = g_object_ref (S->slots[i]);
  tether_mutex_unlock (&S->slots_lock);

  return template;
}

/* ------------------------------------------------------------------------ */
/* Workers                                                                  */
/* ------------------------------------------------------------------------ */

typedef struct
{
  TetherTemplate *template;   /* owned */
  gpointer        resource;
} Held;

typedef struct
{
  GRand        *rand;
  Shared       *shared;
  GMainContext *context;
  guint64       id;
  Held          held[MAX_HELD];
  guint         n_held;
  gint          pending;      /* async callbacks outstanding */
} Worker;

static void
worker_forget (Worker *w)
{
  for (guint i = 0; i < w->n_held; i++)
    g_object_unref (w->held[i].template);
  w->n_held = 0;
}

static void
worker_hold (Worker         *w,
             TetherTemplate *template,
             gpointer        resource,
             const char     *where)
{
  test_ledger_check_held (S->ledger, resource, w->id, where);

  for (guint i = 0; i < w->n_held; i++)
    if (w->held[i].template == template)
      {
        if (w->held[i].resource != resource)
          test_ledger_record_violation (S->ledger,
                                        "%s: template '%s' gave context #%" G_GUINT64_FORMAT
                                        " %p, then %p, with no release in between",
                                        where, tether_template_get_name (template), w->id,
                                        w->held[i].resource, resource);
        return;
      }

  if (w->n_held == MAX_HELD)
    return;   /* not kept for checks; still released with the context */
  w->held[w->n_held].template = g_object_ref (template);
  w->held[w->n_held].resource = resource;
  w->n_held++;
}

/* Everything this worker holds is still live: no one released it. */
static void
worker_check_all (Worker     *w,
                  const char *where)
{
  for (guint i = 0; i < w->n_held; i++)
    test_ledger_check_held (S->ledger, w->held[i].resource, w->id, where);
}

static void
worker_acquire_sync (Worker *w)
{
  guint n = g_rand_int_range (w->rand, 1, N_SLOTS + 1);

  for (guint k = 0; k < n; k++)
    {
      g_autoptr(TetherTemplate) template = dup_slot (g_rand_int_range (w->rand, 0, N_SLOTS));
      g_autoptr(GError) error = NULL;
      gpointer resource, again;

      resource = tether_template_acquire (template, w->context, &error);
      if (resource == NULL)
        {
          test_ledger_record_violation (S->ledger, "acquire failed: %s", error->message);
          continue;
        }
      worker_hold (w, template, resource, "sync acquire");

      /* The second one is a hit of the per-thread cache. */
      again = tether_template_acquire (template, NULL, NULL);
      if (again != resource)
        test_ledger_record_violation (S->ledger, "hit gave %p, the acquire %p", again, resource);
    }
}

typedef struct
{
  Worker         *w;
  TetherTemplate *template;   /* owned */
} AsyncCall;

static void
on_acquired (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  AsyncCall *call = user_data;
  g_autoptr(GError) error = NULL;
  gpointer resource;

  resource = tether_template_acquire_finish (call->template, result, &error);
  if (resource == NULL)
    test_ledger_record_violation (S->ledger, "async acquire failed: %s", error->message);
  else
    worker_hold (call->w, call->template, resource, "async acquire");

  call->w->pending--;
  g_object_unref (call->template);
  g_free (call);
}

static void
worker_acquire_async (Worker *w)
{
  guint n = g_rand_int_range (w->rand, 1, N_SLOTS + 1);

  for (guint k = 0; k < n; k++)
    {
      AsyncCall *call = g_new0 (AsyncCall, 1);

      call->w = w;
      call->template = dup_slot (g_rand_int_range (w->rand, 0, N_SLOTS));
      w->pending++;
      tether_template_acquire_async (call->template, NULL, NULL, on_acquired, call);
    }

  /* An async acquire holds its context until it completes: see it through. */
  while (w->pending > 0)
    g_main_context_iteration (w->context, TRUE);
}

/* What a manager acquired: every slot template that was registered when it
 * entered holds a resource now (or was replaced since). */
static void
worker_adopt_managed (Worker *w)
{
  for (guint i = 0; i < N_SLOTS; i++)
    {
      g_autoptr(TetherTemplate) template = dup_slot (i);
      gpointer resource = tether_template_lookup (template, w->context);

      if (resource != NULL)
        worker_hold (w, template, resource, "managed lookup");
    }
}

static void
on_manager_acquired (GObject      *object,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  Worker *w = user_data;
  g_autoptr(GError) error = NULL;

  if (!tether_manager_acquire_finish (TETHER_MANAGER (object), result, &error))
    test_ledger_record_violation (S->ledger, "async manager acquire failed: %s", error->message);
  w->pending--;
}

/* Releases what this worker holds, as the owner of its context: under the
 * scope lock, so that no peer is using a resource meanwhile. Then checks
 * that acquires starting now never yield a released resource. */
static void
worker_release (Worker        *w,
                TetherManager *manager)
{
  Held released[MAX_HELD];
  guint n_released = w->n_held;

  tether_mutex_lock (&w->shared->scope);
  worker_check_all (w, "before release");

  if (manager != NULL)
    {
      if (g_rand_boolean (w->rand))
        {
          tether_manager_release (manager);
          g_object_unref (manager);
        }
      else
        {
          /* Dropping an active manager releases like tether_manager_release(). */
          g_object_unref (manager);
          g_atomic_int_inc (&S->disposed_managers);
        }
    }
  else
    for (guint i = 0; i < w->n_held; i++)
      {
        g_autoptr(GError) error = NULL;

        if (!tether_template_release (w->held[i].template, w->context, &error))
          test_ledger_record_violation (S->ledger, "release of a held resource failed: %s",
                                        error->message);
      }

  memcpy (released, w->held, sizeof released);
  w->n_held = 0;
  tether_mutex_unlock (&w->shared->scope);

  /* The cache of this thread (and of peers) had these: the next acquires
   * must not see them. Whatever they yield is live and made for this
   * context; a released pointer may come back only as a new live resource
   * at a reused address. */
  for (guint i = 0; i < n_released; i++)
    {
      gpointer now = tether_template_lookup (released[i].template, w->context);

      if (now != NULL)
        test_ledger_check_held (S->ledger, now, w->id, "lookup after release");

      if (g_rand_int_range (w->rand, 0, 4) == 0)
        {
          now = tether_template_acquire (released[i].template, w->context, NULL);
          if (now != NULL)
            {
              test_ledger_check_held (S->ledger, now, w->id, "acquire after release");
              /* Left held: the context's death releases it. */
            }
        }
      g_atomic_int_inc (&S->post_release_checks);
      g_object_unref (released[i].template);
    }
}

/* Bounded: each queued context keeps its file descriptors open. */
#define MAX_QUEUED 128

static void
queue_for_peers (Shared *shared)
{
  tether_mutex_lock (&S->queue_lock);
  if (S->queue.length < MAX_QUEUED)
    g_queue_push_tail (&S->queue, shared_ref (shared));
  tether_mutex_unlock (&S->queue_lock);
}

static void
worker_iteration (Worker *w)
{
  g_autoptr(TetherManager) manager = NULL;
  guint mode = g_rand_int_range (w->rand, 0, 4);
  gboolean drop;

  w->context = g_main_context_new ();
  w->id = test_ledger_track_context (S->ledger, w->context);
  w->shared = shared_new (w->context, w->id);
  g_atomic_int_inc (&S->contexts);
  g_main_context_push_thread_default (w->context);

  if (g_rand_int_range (w->rand, 0, 3) == 0)
    queue_for_peers (w->shared);

  switch (mode)
    {
    case 0:   /* managed, synchronous */
      {
        g_autoptr(GError) error = NULL;

        manager = tether_manager_new (w->context, TETHER_MANAGER_NONE);
        if (!tether_manager_acquire (manager, &error))
          test_ledger_record_violation (S->ledger, "manager acquire failed: %s", error->message);
        worker_adopt_managed (w);
        worker_acquire_sync (w);
        g_atomic_int_inc (&S->managed_sync);
      }
      break;

    case 1:   /* managed, asynchronous */
      manager = tether_manager_new (NULL, TETHER_MANAGER_NONE);
      w->pending++;
      tether_manager_acquire_async (manager, NULL, on_manager_acquired, w);
      while (w->pending > 0)
        g_main_context_iteration (w->context, TRUE);
      worker_adopt_managed (w);
      worker_acquire_async (w);
      g_atomic_int_inc (&S->managed_async);
      break;

    case 2:   /* unmanaged, synchronous */
      worker_acquire_sync (w);
      g_atomic_int_inc (&S->unmanaged_sync);
      break;

    default:  /* unmanaged, asynchronous */
      worker_acquire_async (w);
      g_atomic_int_inc (&S->unmanaged_async);
      break;
    }

  /* Let the others run, then check nothing held was taken away. */
  g_thread_yield ();
  while (g_main_context_iteration (w->context, FALSE))
    ;
  worker_check_all (w, "while held");

  /* An unmanaged context is sometimes dropped with everything held: its
   * death releases it, ungracefully. */
  drop = manager == NULL && g_rand_int_range (w->rand, 0, 3) == 0;
  if (drop)
    {
      worker_forget (w);
      g_atomic_int_inc (&S->dropped);
    }
  else
    worker_release (w, g_steal_pointer (&manager));

  g_main_context_pop_thread_default (w->context);
  shared_unref (g_steal_pointer (&w->shared));
  g_clear_pointer (&w->context, g_main_context_unref);
}

static gpointer
worker_thread (gpointer data)
{
  Worker w = { 0, };

  w.rand = g_rand_new_with_seed (S->seed + GPOINTER_TO_UINT (data));
  for (guint i = 0; i < S->iterations; i++)
    worker_iteration (&w);
  g_rand_free (w.rand);

  g_atomic_int_dec_and_test (&S->workers_left);
  return NULL;
}

/* ------------------------------------------------------------------------ */
/* The other threads                                                        */
/* ------------------------------------------------------------------------ */

/* Acquires for other threads' contexts, holding the context's scope lock
 * while it uses the resource. */
static gpointer
peer_thread (gpointer data)
{
  GRand *rand = g_rand_new_with_seed (S->seed ^ 0x9e3779b9u ^ GPOINTER_TO_UINT (data));

  while (!g_atomic_int_get (&S->stop))
    {
      Shared *shared;
      gboolean again;

      tether_mutex_lock (&S->queue_lock);
      shared = g_queue_pop_head (&S->queue);
      tether_mutex_unlock (&S->queue_lock);

      if (shared == NULL)
        {
          g_usleep (200);
          continue;
        }

      tether_mutex_lock (&shared->scope);
      {
        g_autoptr(TetherTemplate) template = dup_slot (g_rand_int_range (rand, 0, N_SLOTS));
        g_autoptr(GError) error = NULL;
        gpointer resource = tether_template_acquire (template, shared->context, &error);

        if (resource != NULL)
          {
            test_ledger_check_held (S->ledger, resource, shared->id, "peer acquire");
            g_thread_yield ();
            if (tether_template_acquire (template, shared->context, NULL) != resource)
              test_ledger_record_violation (S->ledger, "peer: second acquire differs");
            test_ledger_check_held (S->ledger, resource, shared->id, "peer hold");
            g_atomic_int_inc (&S->peer_acquires);
          }
        else if (!g_error_matches (error, TETHER_ERROR, TETHER_ERROR_WOULD_BLOCK))
          /* WOULD_BLOCK is the documented answer for an async-only
           * template and a context its owner is using. */
          test_ledger_record_violation (S->ledger, "peer acquire failed: %s", error->message);
      }
      tether_mutex_unlock (&shared->scope);

      tether_mutex_lock (&S->queue_lock);
      again = --shared->rounds > 0;
      if (again)
        g_queue_push_tail (&S->queue, shared);
      tether_mutex_unlock (&S->queue_lock);

      /* The last reference may be this one: the context then dies here, on
       * a thread that never owned it. */
      if (!again)
        shared_unref (shared);
    }

  g_rand_free (rand);
  return NULL;
}

static gpointer
purger_thread (gpointer data)
{
  while (!g_atomic_int_get (&S->stop))
    {
      g_atomic_int_add (&S->purged, (gint) tether_purge ());
      g_atomic_int_inc (&S->purges);
      g_usleep (500);
    }
  return NULL;
}

/* Replaces a template slot: registers a new template, unregisters the old. */
static gpointer
churner_thread (gpointer data)
{
  GRand *rand = g_rand_new_with_seed (S->seed ^ 0x51ed270bu);

  while (!g_atomic_int_get (&S->stop))
    {
      guint i = g_rand_int_range (rand, 0, N_SLOTS);
      TetherTemplate *fresh = make_template (i);
      TetherTemplate *old;

      tether_mutex_lock (&S->slots_lock);
      old = S->slots[i];
      S->slots[i] = fresh;
      tether_mutex_unlock (&S->slots_lock);

      g_assert_true (tether_template_unregister (old));
      g_object_unref (old);
      g_usleep (2000);
    }

  g_rand_free (rand);
  return NULL;
}

/* Moves the janitor between a context of its own and the default one. */
static gpointer
janitor_mover_thread (gpointer data)
{
  while (!g_atomic_int_get (&S->stop))
    {
      GMainContext *janitor = g_main_context_new ();

      tether_set_janitor_context (janitor);
      g_atomic_int_inc (&S->janitor_moves);
      for (guint k = 0; k < 20 && !g_atomic_int_get (&S->stop); k++)
        {
          while (g_main_context_iteration (janitor, FALSE))
            ;
          g_usleep (500);
        }
      tether_set_janitor_context (NULL);
      g_atomic_int_inc (&S->janitor_moves);
      /* A janitor idle left on it is destroyed with it. */
      g_main_context_unref (janitor);
      g_usleep (2000);
    }
  return NULL;
}

/* ------------------------------------------------------------------------ */

static guint
get_iterations (void)
{
  const char *env = g_getenv ("TETHER_STRESS_ITERATIONS");

  if (env != NULL && g_ascii_strtoull (env, NULL, 10) > 0)
    return (guint) g_ascii_strtoull (env, NULL, 10);

  return STRESS_ITERATIONS;
}

static void
test_stress_ledger (void)
{
  GThread *workers[N_WORKERS];
  GThread *peers[N_PEERS];
  GThread *purgers[N_PURGERS];
  GThread *churner, *mover;
  TestLedgerTotals totals;
  g_autoptr(GPtrArray) left = NULL;
  gint64 start = g_get_monotonic_time ();
  gdouble seconds;
  Shared *shared;

  test_reset_global_state ();
  tether_set_unmanaged_warning_enabled (FALSE);

  S = g_new0 (Stress, 1);
  S->ledger = test_ledger_new ();
  S->providers = g_ptr_array_new ();
  stress_mutex_init (&S->slots_lock);
  stress_mutex_init (&S->queue_lock);
  g_queue_init (&S->queue);
  S->iterations = get_iterations ();
  S->seed = g_test_rand_int ();
  S->workers_left = N_WORKERS;

  for (guint i = 0; i < N_SLOTS; i++)
    S->slots[i] = make_template (i);

  for (guint i = 0; i < N_PEERS; i++)
    peers[i] = g_thread_new ("stress-peer", peer_thread, GUINT_TO_POINTER (i));
  for (guint i = 0; i < N_PURGERS; i++)
    purgers[i] = g_thread_new ("stress-purge", purger_thread, NULL);
  churner = g_thread_new ("stress-churn", churner_thread, NULL);
  mover = g_thread_new ("stress-janitor", janitor_mover_thread, NULL);
  for (guint i = 0; i < N_WORKERS; i++)
    workers[i] = g_thread_new ("stress-worker", worker_thread, GUINT_TO_POINTER (i));

  /* The default context is the janitor's half of the time. */
  while (g_atomic_int_get (&S->workers_left) > 0)
    {
      while (g_main_context_iteration (NULL, FALSE))
        ;
      g_usleep (1000);
    }

  for (guint i = 0; i < N_WORKERS; i++)
    g_thread_join (workers[i]);
  g_atomic_int_set (&S->stop, 1);
  for (guint i = 0; i < N_PEERS; i++)
    g_thread_join (peers[i]);
  for (guint i = 0; i < N_PURGERS; i++)
    g_thread_join (purgers[i]);
  g_thread_join (churner);
  g_thread_join (mover);

  /* Contexts the peers did not get to die now, on this thread. */
  while ((shared = g_queue_pop_head (&S->queue)) != NULL)
    shared_unref (shared);

  for (guint i = 0; i < N_SLOTS; i++)
    {
      g_assert_true (tether_template_unregister (S->slots[i]));
      g_clear_object (&S->slots[i]);
    }

  /* The final purge. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_atomic_int_add (&S->purged, (gint) tether_purge ());
  seconds = (g_get_monotonic_time () - start) / (gdouble) G_USEC_PER_SEC;

  test_ledger_get_totals (S->ledger, &totals);
  g_test_message ("stress: %u workers x %u iterations (+%u peers, %u purgers, 1 template "
                  "churner, 1 janitor mover), seed %u, %.1f s",
                  N_WORKERS, S->iterations, N_PEERS, N_PURGERS, S->seed, seconds);
  g_test_message ("stress: contexts %d (managed sync %d, managed async %d, unmanaged sync %d, "
                  "unmanaged async %d; dropped holding %d; managers disposed active %d)",
                  S->contexts, S->managed_sync, S->managed_async, S->unmanaged_sync,
                  S->unmanaged_async, S->dropped, S->disposed_managers);
  g_test_message ("stress: acquired %" G_GUINT64_FORMAT ", released graceful %" G_GUINT64_FORMAT
                  ", ungraceful %" G_GUINT64_FORMAT ", live %" G_GUINT64_FORMAT
                  ", ledger checks %" G_GUINT64_FORMAT ", violations %" G_GUINT64_FORMAT,
                  totals.acquired, totals.released_graceful, totals.released_ungraceful,
                  totals.live, totals.checks, totals.violations);
  g_test_message ("stress: peer acquires %d, post-release checks %d, purges %d (released %d), "
                  "templates created %d, janitor moves %d, contexts finalized %" G_GUINT64_FORMAT
                  "/%" G_GUINT64_FORMAT,
                  S->peer_acquires, S->post_release_checks, S->purges, S->purged,
                  S->templates_created, S->janitor_moves, totals.contexts_finalized,
                  totals.contexts_tracked);

  /* 1-4: the ledger. 5: nothing kept alive. */
  test_ledger_assert_balanced (S->ledger);
  g_assert_cmpuint (totals.contexts_tracked, ==, (guint64) S->contexts);
  g_assert_cmpint (g_atomic_int_get (&S->templates_finalized), ==, S->templates_created);
  g_assert_cmpuint (tether_get_n_pending_purge (), ==, 0);
  left = tether_dup_managed_contexts ();
  g_assert_cmpuint (left->len, ==, 0);
  g_clear_pointer (&left, g_ptr_array_unref);
  left = tether_dup_templates ();
  g_assert_cmpuint (left->len, ==, 0);

  /* Every mode ran. */
  g_assert_cmpint (S->managed_sync, >, 0);
  g_assert_cmpint (S->managed_async, >, 0);
  g_assert_cmpint (S->unmanaged_sync, >, 0);
  g_assert_cmpint (S->unmanaged_async, >, 0);
  g_assert_cmpint (S->dropped, >, 0);
  g_assert_cmpuint (totals.released_ungraceful, >, 0);

  for (guint i = 0; i < S->providers->len; i++)
    test_ledger_provider_free (g_ptr_array_index (S->providers, i));
  g_ptr_array_unref (S->providers);
  test_ledger_free (S->ledger);
  stress_mutex_clear (&S->slots_lock);
  stress_mutex_clear (&S->queue_lock);
  g_clear_pointer (&S, g_free);
  tether_set_unmanaged_warning_enabled (TRUE);
}

/* Contexts die holding resources (so their sentinel schedules the janitor)
 * while another thread keeps moving the janitor. Each resource is released
 * exactly once and no GLib critical is logged (the janitor idle was once
 * destroyed by the move before it was attached: "g_source_attach:
 * assertion '!SOURCE_DESTROYED (source)' failed"). */
static gint janitor_race_stop;

static gpointer
janitor_race_mover (gpointer data)
{
  while (!g_atomic_int_get (&janitor_race_stop))
    {
      GMainContext *janitor = g_main_context_new ();

      tether_set_janitor_context (janitor);
      while (g_main_context_iteration (janitor, FALSE))
        ;
      tether_set_janitor_context (NULL);
      g_main_context_unref (janitor);
    }
  return NULL;
}

typedef struct
{
  TestLedger     *ledger;
  TetherTemplate *template;
} JanitorRace;

static gpointer
janitor_race_killer (gpointer data)
{
  JanitorRace *race = data;

  for (guint i = 0; i < 2000; i++)
    {
      GMainContext *context = g_main_context_new ();
      guint64 id = test_ledger_track_context (race->ledger, context);
      gpointer resource = tether_template_acquire (race->template, context, NULL);

      test_ledger_check_held (race->ledger, resource, id, "janitor race");
      g_main_context_unref (context);   /* schedules the janitor */
      if (i % 64 == 0)
        tether_purge ();
    }
  return NULL;
}

static void
test_stress_janitor_move (void)
{
  TestLedger *ledger = test_ledger_new ();
  TestLedgerProvider *lp = test_ledger_provider_new (ledger, "janitor-race");
  JanitorRace race = { ledger, NULL };
  GThread *mover, *killers[2];

  test_reset_global_state ();
  tether_set_unmanaged_warning_enabled (FALSE);
  race.template = test_ledger_provider_template (lp);

  g_atomic_int_set (&janitor_race_stop, 0);
  mover = g_thread_new ("janitor-mover", janitor_race_mover, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (killers); i++)
    killers[i] = g_thread_new ("context-killer", janitor_race_killer, &race);
  for (guint i = 0; i < G_N_ELEMENTS (killers); i++)
    g_thread_join (killers[i]);
  g_atomic_int_set (&janitor_race_stop, 1);
  g_thread_join (mover);

  while (g_main_context_iteration (NULL, FALSE))
    ;
  tether_purge ();

  test_ledger_assert_balanced (ledger);
  g_assert_cmpuint (tether_get_n_pending_purge (), ==, 0);

  tether_template_unregister (race.template);
  g_object_unref (race.template);
  test_ledger_provider_free (lp);
  test_ledger_free (ledger);
  tether_set_unmanaged_warning_enabled (TRUE);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/stress/ledger", test_stress_ledger);
  g_test_add_func ("/stress/janitor-move", test_stress_janitor_move);

  return g_test_run ();
}
