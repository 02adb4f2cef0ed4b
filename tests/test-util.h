/* test-util.h: providers with counters and a ledger, for the test suites
 *
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
TetherTemplate *test_provider_template   (TestProvider  *tp);

/* Appends to a shared order log; thread-safe. */
void            test_order_log_append    (GArray        *log,
                                          gint           value);

/* Unregisters and drops every registered template, then purges, so that
 * each test starts from an empty global list. */
void            test_reset_global_state  (void);

/* Iterates @context until @condition (an atomic gint) is non-zero or
 * @timeout_ms passes. Returns whether the condition was met. */
gboolean        test_iterate_until       (GMainContext  *context,
                                          gint          *condition,
                                          guint          timeout_ms);

G_END_DECLS
