/* tether-registry.c: the registered templates and every live template
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "tether-lock-private.h"
#include "tether-registry-private.h"
#include "tether-template-private.h"

/* Protected by the state lock; both created at the first template, before
 * any reader can see one. */
static GPtrArray *registered_templates;  /* owned references, registration order */
static GPtrArray *all_templates;         /* every live template, no references */

GPtrArray *
_tether_registry_all_locked (void)
{
  if (all_templates == NULL)
    all_templates = g_ptr_array_new ();
  return all_templates;
}

static GPtrArray *
registered_locked (void)
{
  if (registered_templates == NULL)
    registered_templates = g_ptr_array_new ();
  return registered_templates;
}

void
_tether_registry_add_locked (TetherTemplate *template,
                             gboolean        eager)
{
  g_ptr_array_add (_tether_registry_all_locked (), template);
  g_ptr_array_add (registered_locked (), g_object_ref (template));
  template->registered = TRUE;
  template->eager = eager != FALSE;
}

/* Names are unique among registered templates; an unregistered one's name
 * is free again. */
gboolean
_tether_registry_has_name_locked (const char *name)
{
  GPtrArray *registered = registered_locked ();

  for (guint i = 0; i < registered->len; i++)
    {
      TetherTemplate *other = g_ptr_array_index (registered, i);

      if (g_strcmp0 (other->call.name, name) == 0)
        return TRUE;
    }
  return FALSE;
}

/* Returns whether the value changed. */
gboolean
_tether_registry_set_eager (TetherTemplate *template,
                            gboolean        eager)
{
  gboolean changed;

  eager = eager != FALSE;
  TETHER_STATE_LOCK ();
  changed = template->eager != (guint) eager;
  template->eager = eager;
  TETHER_STATE_UNLOCK ();

  return changed;
}

gboolean
_tether_registry_get_eager (TetherTemplate *template)
{
  gboolean eager;

  TETHER_STATE_LOCK ();
  eager = template->eager;
  TETHER_STATE_UNLOCK ();

  return eager;
}

void
_tether_registry_forget_locked (TetherTemplate *template)
{
  g_ptr_array_remove_fast (_tether_registry_all_locked (), template);
}

gboolean
_tether_registry_is_registered (TetherTemplate *template)
{
  gboolean registered;

  TETHER_STATE_LOCK ();
  registered = template->registered;
  TETHER_STATE_UNLOCK ();

  return registered;
}

gboolean
_tether_registry_is_registered_locked (TetherTemplate *template)
{
  return template->registered;
}

gboolean
_tether_registry_unregister_locked (TetherTemplate *template)
{
  guint index;

  if (!template->registered)
    return FALSE;

  template->registered = FALSE;
  if (g_ptr_array_find (registered_locked (), template, &index))
    g_ptr_array_steal_index (registered_templates, index);

  return TRUE;
}

/* A snapshot of the registered templates in registration order, holding a
 * reference on each; with @only_eager, what a scope acquires when it
 * enters. */
static GPtrArray *
dup_registered_locked (gboolean only_eager)
{
  GPtrArray *registered = registered_locked ();
  GPtrArray *templates = g_ptr_array_new_full (registered->len, g_object_unref);

  for (guint i = 0; i < registered->len; i++)
    {
      TetherTemplate *template = g_ptr_array_index (registered, i);

      if (!only_eager || template->eager)
        g_ptr_array_add (templates, g_object_ref (template));
    }

  return templates;
}

GPtrArray *
_tether_registry_registered_locked (void)
{
  return registered_locked ();
}

gboolean
_tether_registry_is_eager_locked (TetherTemplate *template)
{
  return template->eager;
}

GPtrArray *
_tether_registry_dup_registered_locked (void)
{
  return dup_registered_locked (FALSE);
}

GPtrArray *
_tether_registry_dup_eager_locked (void)
{
  return dup_registered_locked (TRUE);
}

/**
 * tether_dup_templates:
 *
 * Lists the registered templates in registration order (Pyot's
 * `resource_templates`). The list is a snapshot. Callable from any thread.
 *
 * Returns: (transfer container) (element-type TetherTemplate): a new array
 *   holding a reference on each template; free it with g_ptr_array_unref()
 */
GPtrArray *
tether_dup_templates (void)
{
  GPtrArray *templates;

  TETHER_STATE_LOCK ();
  templates = _tether_registry_dup_registered_locked ();
  TETHER_STATE_UNLOCK ();

  return templates;
}
