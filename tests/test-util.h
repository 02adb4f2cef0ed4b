/* test-util.h: providers with counters and a ledger, for the test suites
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <tether/tether.h>

G_BEGIN_DECLS

/* A resource made by the test provider. */
typedef struct
{
  guint         magic;        /* TEST_RESOURCE_MAGIC while alive */
  guint         serial;
  GMainContext *context;      /* the context it was acquired for; identity only */
  GMainContext *thread_default; /* the thread-default context during acquire */
  struct _TestProvider *owner;
  gint          released;     /* atomic: times released (must end at 1) */
  TetherResourceWatch *watch; /* with TestProvider.watch: tether's watch */
} TestResource;

#define TEST_RESOURCE_MAGIC 0x7e57e500u

typedef void (*TestHookFunc) (struct _TestProvider *tp, GMainContext *context, gpointer data);

/* Behaviour and counters of one test provider; counters are atomic. */
typedef struct _TestProvider
{
  TetherProvider  vtable;
  char           *name;

  /* behaviour */
  gboolean        async_only;
  gboolean        no_release;
  gboolean        ref_context;      /* the resource refs its context, like SoupSession */
  gint            fail_remaining;   /* atomic: fail this many acquires */
  guint           delay_ms;         /* sleep (sync) or timeout (async) in acquire */
  gboolean        return_null_no_error;
  gboolean        return_value_and_error;
  TestHookFunc    acquire_hook;     /* called inside acquire */
  gpointer        acquire_hook_data;
  TestHookFunc    release_hook;     /* called inside release */
  gpointer        release_hook_data;
  GArray         *order_log;        /* if set: appends ±serial of this provider, under order_lock */
  gboolean        watch;            /* ABI 1.2: keep tether's watch in each resource */
  gboolean        discard_in_watch; /* ... and discard at once, before it is handed out */

  /* counters */
  gint            n_acquire_calls;
  gint            n_acquired;
  gint            n_released_graceful;
  gint            n_released_ungraceful;
  gint            n_double_release;
  gint            n_wrong_context;  /* graceful release with another context */
  gint            live;
  gint            in_acquire;       /* concurrent acquires of this provider right now */
  gint            max_in_acquire;
} TestProvider;

TestProvider   *test_provider_new        (const char    *name);
void            test_provider_free       (TestProvider  *tp);
/* A fixture's end: asserts that @tp holds nothing and released each
 * resource once, with its own context; then unregisters @template, drops
 * its reference and frees @tp. */
void            test_provider_finish     (TestProvider   *tp,
                                          TetherTemplate *template);
TetherTemplate *test_provider_template   (TestProvider  *tp);

/* Whether provider acquires are timed in this run: meson runs the stats
 * tests three ways (TETHER_ACQUIRE_TIMING unset, =monotonic, =0). */
gboolean        test_acquire_timed       (void);

/* Asserts that an order log reads @expected: "+a" for an acquire of the
 * provider whose name starts with 'a', "-a" for its release. */
void            test_assert_order        (GArray        *order,
                                          const char    *expected);

/* Appends to a shared order log; thread-safe. */
void            test_order_log_append    (GArray        *log,
                                          gint           value);

/* Unregisters and drops every registered template, then purges, so that
 * each test starts from an empty global list. */
void            test_reset_global_state  (void);

/* Sets *@finalized (atomically) inside the last g_main_context_unref() of
 * @context, before its memory is freed. */
void            test_watch_context       (GMainContext  *context,
                                          gint          *finalized);

/* Iterates @context until @condition (an atomic gint) is non-zero or
 * @timeout_ms passes. Returns whether the condition was met. */
gboolean        test_iterate_until       (GMainContext  *context,
                                          gint          *condition,
                                          guint          timeout_ms);

/* ------------------------------------------------------------------------ */
/* The ledger: every acquire and release of the ledger providers, with the   */
/* contexts they were made for, checked as they happen                       */
/* ------------------------------------------------------------------------ */

/* A gate that blocking providers wait on until the test opens it. Uses the
 * same lock type as the core, so that ThreadSanitizer sees it. */
typedef struct _TestGate TestGate;

TestGate       *test_gate_new            (void);
void            test_gate_free           (TestGate      *gate);
void            test_gate_open           (TestGate      *gate);
void            test_gate_wait           (TestGate      *gate);
/* Waits until @n callers are blocked in test_gate_wait(). */
void            test_gate_wait_for       (TestGate      *gate,
                                          guint          n);

typedef struct _TestLedger TestLedger;
typedef struct _TestLedgerProvider TestLedgerProvider;

/* One resource of a ledger provider. */
typedef struct
{
  guint64             id;          /* unique in the ledger */
  guint64             context_id;  /* the ledger's id of its context, 0 if untracked */
  GMainContext       *context;     /* identity only */
  TestLedgerProvider *provider;
} LedgerResource;

typedef void (*TestLedgerHook) (TestLedgerProvider *lp,
                                GMainContext       *context,
                                gpointer            resource,
                                gpointer            data);

struct _TestLedgerProvider
{
  TetherProvider  vtable;
  char           *name;
  TestLedger     *ledger;

  /* behaviour, set before the template is made */
  gboolean        async_only;      /* only acquire_async/acquire_finish */
  guint           fail_permille;   /* this fraction of acquires fails (random) */
  gint            fail_next;       /* atomic: the next this many acquires fail */
  guint           delay_ms;        /* sync: sleep; async: complete after a timeout */
  gboolean        ignore_cancel;   /* async: complete normally even if cancelled */
  TestGate       *gate;            /* if set, every acquire blocks on it first */
  TestLedgerHook  acquire_hook;    /* called inside acquire (sync and async start) */
  gpointer        acquire_hook_data;
  TestLedgerHook  release_hook;    /* called inside release, before the resource is freed */
  gpointer        release_hook_data;
  guint           release_delay_ms;

  /* counters (atomic) */
  gint            n_acquire_calls;
};

/* Totals of a ledger. */
typedef struct
{
  guint64 acquired;
  guint64 released_graceful;
  guint64 released_ungraceful;
  guint64 failed;               /* acquires failed on purpose */
  guint64 cancelled;            /* async acquires that ended cancelled */
  guint64 live;                 /* acquired and not released */
  guint64 violations;
  guint64 checks;               /* test_ledger_check_held() calls */
  guint64 contexts_tracked;
  guint64 contexts_finalized;
} TestLedgerTotals;

TestLedger         *test_ledger_new              (void);
/* Asserts nothing; frees what is left. */
void                test_ledger_free             (TestLedger         *ledger);
TestLedgerProvider *test_ledger_provider_new     (TestLedger         *ledger,
                                                  const char         *name);
void                test_ledger_provider_free    (TestLedgerProvider *lp);
TetherTemplate     *test_ledger_provider_template (TestLedgerProvider *lp);

/* Gives @context an id and watches its finalization with a source whose
 * callback notify runs in the last g_main_context_unref(). The watch is
 * destroyed before tether's own sentinel (lowest priority), so a resource
 * released ungracefully always finds its context already dead in the
 * ledger. Returns the id. */
guint64             test_ledger_track_context    (TestLedger         *ledger,
                                                  GMainContext       *context);
gboolean            test_ledger_context_alive    (TestLedger         *ledger,
                                                  guint64             context_id);

/* Checks that @resource is a live resource of the ledger made for the
 * context with @context_id; records a violation otherwise. Never reads
 * @resource unless it is live. */
gboolean            test_ledger_check_held       (TestLedger         *ledger,
                                                  gpointer            resource,
                                                  guint64             context_id,
                                                  const char         *where);
/* Live resources of the ledger made for @context_id. */
guint               test_ledger_count_live_for   (TestLedger         *ledger,
                                                  guint64             context_id);
void                test_ledger_record_violation (TestLedger         *ledger,
                                                  const char         *format,
                                                  ...) G_GNUC_PRINTF (2, 3);
void                test_ledger_get_totals       (TestLedger         *ledger,
                                                  TestLedgerTotals   *out);
/* g_test_message()s the first violations, then asserts there were none. */
void                test_ledger_assert_clean     (TestLedger         *ledger);
/* Asserts the end state: nothing live, acquired = released, no violation,
 * every tracked context finalized. */
void                test_ledger_assert_balanced  (TestLedger         *ledger);

/* Copies the file @from to @to, which gets exactly @mode (the umask is
 * not applied). */
void                test_copy_file               (const char         *from,
                                                  const char         *to,
                                                  int                 mode);

/* Removes @path: a file, or a directory with everything in it. */
void                test_remove_tree             (const char         *path);

G_END_DECLS
