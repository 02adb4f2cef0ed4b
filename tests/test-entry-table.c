/* test-entry-table.c: a template's table of entries across the boundary
 * between its inline part and its hash table
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A template keeps its first few entries inline and the others in a hash
 * table (core/tether-entry-private.h, TETHER_ENTRY_TABLE_N_INLINE = 4).
 * Every way an entry leaves the table (graceful release, a failed acquire,
 * the purge of a dead context) and every way a slot is filled again is
 * run for each number of contexts from 1 to past twice the inline part,
 * in three release orders, and after each step every context must still
 * find exactly its own resource.
 */

#include "test-util.h"

#define MAX_CONTEXTS 11

typedef enum
{
  ORDER_FORWARD,     /* the inline ones first */
  ORDER_REVERSE,     /* the hashed ones first */
  ORDER_ALTERNATE,   /* every other one, then the rest */
} Order;

typedef struct
{
  guint n;
  Order order;
} Cell;

typedef struct
{
  TestProvider   *tp;
  TetherTemplate *template;
  GMainContext   *contexts[MAX_CONTEXTS * 2];
  TestResource   *resources[MAX_CONTEXTS * 2];
  guint           n_contexts;
} Fixture;

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  test_reset_global_state ();
  f->tp = test_provider_new ("table");
  f->template = test_provider_template (f->tp);
  f->n_contexts = 0;
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  for (guint i = 0; i < f->n_contexts; i++)
    if (f->contexts[i] != NULL)
      {
        g_assert_true (tether_template_release (f->template, f->contexts[i], NULL));
        g_main_context_unref (f->contexts[i]);
      }
  tether_purge ();
  g_assert_cmpuint (tether_template_get_n_held (f->template), ==, 0);
  test_provider_finish (f->tp, f->template);
}

static guint
n_live_contexts (Fixture *f)
{
  guint n = 0;

  for (guint i = 0; i < f->n_contexts; i++)
    n += f->contexts[i] != NULL;

  return n;
}

/* Every context still held finds its own resource, and only those count. */
static void
assert_table (Fixture *f)
{
  for (guint i = 0; i < f->n_contexts; i++)
    {
      TestResource *resource;

      if (f->contexts[i] == NULL)
        continue;

      resource = tether_template_lookup (f->template, f->contexts[i]);
      g_assert_true (resource == f->resources[i]);
      g_assert_true (resource->context == f->contexts[i]);
      /* A second acquire is a hit on the same entry: no provider call. */
      g_assert_true (tether_template_acquire (f->template, f->contexts[i], NULL) == resource);
    }
  g_assert_cmpuint (tether_template_get_n_held (f->template), ==, n_live_contexts (f));
  g_assert_cmpint (f->tp->live, ==, (gint) n_live_contexts (f));
}

/* A new context; its first acquire fails once (the entry it made leaves
 * the table again), the second succeeds. */
static void
add_context (Fixture *f)
{
  g_autoptr(GError) error = NULL;
  GMainContext *context = g_main_context_new ();
  guint i = f->n_contexts++;

  g_assert_cmpuint (i, <, G_N_ELEMENTS (f->contexts));

  g_atomic_int_set (&f->tp->fail_remaining, 1);
  g_assert_null (tether_template_acquire (f->template, context, &error));
  g_assert_nonnull (error);
  g_assert_null (tether_template_lookup (f->template, context));

  f->contexts[i] = context;
  f->resources[i] = tether_template_acquire (f->template, context, NULL);
  g_assert_nonnull (f->resources[i]);
  g_assert_true (f->resources[i]->context == context);
}

/* The @k-th context to take away in @order among the first @n. */
static guint
nth_in_order (Order order,
              guint n,
              guint k)
{
  guint n_even = (n + 1) / 2;

  switch (order)
    {
    case ORDER_FORWARD:
      return k;
    case ORDER_REVERSE:
      return n - 1 - k;
    case ORDER_ALTERNATE:
      return k < n_even ? 2 * k : 2 * (k - n_even) + 1;
    }
  g_assert_not_reached ();
}

static void
test_table_cell (Fixture       *f,
                 gconstpointer  data)
{
  const Cell *cell = data;
  guint n_release = (cell->n + 1) / 2;
  guint n_purge;

  for (guint i = 0; i < cell->n; i++)
    {
      add_context (f);
      assert_table (f);
    }

  /* Half released, one at a time, in the cell's order. */
  for (guint k = 0; k < n_release; k++)
    {
      guint i = nth_in_order (cell->order, cell->n, k);
      GMainContext *context = f->contexts[i];

      g_assert_true (tether_template_release (f->template, context, NULL));
      f->contexts[i] = NULL;
      g_assert_null (tether_template_lookup (f->template, context));
      g_main_context_unref (context);
      assert_table (f);
    }

  /* New contexts take the freed places (inline ones first, while some of
   * the others may still be hashed). */
  for (guint k = 0; k < n_release; k++)
    {
      add_context (f);
      assert_table (f);
    }

  /* Half of what is left dies without a release: purged. */
  n_purge = n_live_contexts (f) / 2;
  for (guint k = 0, done = 0; k < f->n_contexts && done < n_purge; k++)
    {
      guint i = nth_in_order (cell->order, f->n_contexts, k);

      if (f->contexts[i] == NULL)
        continue;
      g_main_context_unref (g_steal_pointer (&f->contexts[i]));
      done++;
    }
  g_assert_cmpuint (tether_purge (), ==, n_purge);
  g_assert_cmpint (f->tp->n_released_ungraceful, ==, (gint) n_purge);
  assert_table (f);

  /* And once more past the inline part, after the purge. */
  for (guint k = 0; k < 3 && f->n_contexts < G_N_ELEMENTS (f->contexts); k++)
    {
      add_context (f);
      assert_table (f);
    }
}

int
main (int   argc,
      char *argv[])
{
  static const char *order_names[] = { "forward", "reverse", "alternate" };
  static Cell cells[MAX_CONTEXTS * G_N_ELEMENTS (order_names)];
  guint n_cells = 0;

  g_test_init (&argc, &argv, NULL);
  /* Contexts with no manager, on purpose: the table is under test. */
  tether_set_unmanaged_warning_enabled (FALSE);

  for (guint n = 1; n <= MAX_CONTEXTS; n++)
    for (guint o = 0; o < G_N_ELEMENTS (order_names); o++)
      {
        g_autofree char *path = g_strdup_printf ("/entry-table/%u-contexts/%s", n,
                                                 order_names[o]);
        Cell *cell = &cells[n_cells++];

        cell->n = n;
        cell->order = o;
        g_test_add (path, Fixture, cell, fixture_set_up, test_table_cell, fixture_tear_down);
      }

  return g_test_run ();
}
