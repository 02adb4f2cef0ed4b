/* test-typed-resources.c: providers that declare their resource's GType
 * (ABI 1.1), and errors handed to an object template's acquire by a binding
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include "test-util.h"

/* ------------------------------------------------------------------------ */
/* Providers declaring their resource type                                  */

static gpointer
action_group_acquire (GMainContext  *context,
                      gpointer       provider_data,
                      GError       **error)
{
  return g_simple_action_group_new ();
}

static gpointer
wrong_object_acquire (GMainContext  *context,
                      gpointer       provider_data,
                      GError       **error)
{
  return g_cancellable_new ();
}

static void
object_release (gpointer      resource,
                GMainContext *context,
                gboolean      graceful,
                gpointer      provider_data)
{
  g_object_unref (resource);
}

static GType
int_type (void)
{
  return G_TYPE_INT;
}

static TetherProvider
typed_provider (const char *name)
{
  TetherProvider provider = {
    .abi_version = TETHER_PROVIDER_ABI_VERSION,
    .struct_size = sizeof (TetherProvider),
    .name = name,
    .acquire = action_group_acquire,
    .release = object_release,
    .resource_type = g_simple_action_group_get_type,
  };

  return provider;
}

/* A template from a provider that declares its type reports it, and its
 * resources come out of the typed calls as that type. */
static void
test_declared_type_reported_and_typed (void)
{
  TetherProvider provider = typed_provider ("typed-group");
  g_autoptr(TetherTemplate) template = tether_template_new (&provider, NULL);
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GObject) dup = NULL;
  GObject *object;

  g_assert_nonnull (template);
  g_assert_true (tether_template_get_object_type (template) == G_TYPE_SIMPLE_ACTION_GROUP);

  object = tether_template_acquire_object (template, context, &error);
  g_assert_no_error (error);
  g_assert_true (G_IS_SIMPLE_ACTION_GROUP (object));
  g_assert_true (tether_template_lookup_object (template, context) == object);
  dup = tether_template_dup_object (template, context);
  g_assert_true (dup == object);

  g_assert_true (tether_template_release (template, context, &error));
  g_assert_no_error (error);
  tether_template_unregister (template);
}

/* A 1.0 provider's reserved bytes are never read as a type: the same
 * struct, with a function in the slot, but saying ABI 1.0. */
static void
test_abi_1_0_slot_ignored (void)
{
  TetherProvider provider = typed_provider ("old-abi");
  g_autoptr(TetherTemplate) template = NULL;
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GError) error = NULL;

  provider.abi_version = (TETHER_PROVIDER_ABI_MAJOR << 16) | 0;
  template = tether_template_new (&provider, NULL);
  g_assert_nonnull (template);
  g_assert_true (tether_template_get_object_type (template) == G_TYPE_INVALID);

  /* Still served, as an opaque pointer. */
  g_assert_nonnull (tether_template_acquire (template, context, &error));
  g_assert_no_error (error);
  g_assert_true (tether_template_release (template, context, &error));
  tether_template_unregister (template);
}

/* An older, smaller struct loads and has no type, even when the bytes
 * after its end hold one. */
static void
test_smaller_struct_loads_untyped (void)
{
  TetherProvider provider = typed_provider ("small-struct");
  g_autoptr(TetherTemplate) template = NULL;

  provider.struct_size = TETHER_PROVIDER_MIN_STRUCT_SIZE;
  template = tether_template_new (&provider, NULL);
  g_assert_nonnull (template);
  g_assert_true (tether_template_get_object_type (template) == G_TYPE_INVALID);
  tether_template_unregister (template);
}

/* A resource of another type than the declared one fails the acquire and
 * is not cached; the error names both types. */
static void
test_wrong_instance_is_invalid_result (void)
{
  TetherProvider provider = typed_provider ("wrong-instance");
  g_autoptr(TetherTemplate) template = NULL;
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GError) error = NULL;

  provider.acquire = wrong_object_acquire;
  template = tether_template_new (&provider, NULL);
  g_assert_null (tether_template_acquire (template, context, &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_RESULT);
  g_assert_nonnull (strstr (error->message, "GCancellable"));
  g_assert_nonnull (strstr (error->message, "GSimpleActionGroup"));
  g_assert_cmpuint (tether_template_get_n_held (template), ==, 0);
  tether_template_unregister (template);
}

/* Declaring a type that is not a GObject type is a broken vtable, refused
 * like the others (a critical from tether_template_new). */
static void
test_non_object_type_refused (void)
{
  if (g_test_subprocess ())
    {
      TetherProvider provider = typed_provider ("int-type");

      provider.resource_type = int_type;
      g_assert_null (tether_template_new (&provider, NULL));
      return;
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*'int-type'*gint*not a GObject type*");
}

/* ------------------------------------------------------------------------ */
/* tether_template_set_acquire_error                                         */

typedef struct
{
  TetherTemplate *self;     /* the template being acquired, set after creation */
  TetherTemplate *inner;    /* acquired from inside, or NULL */
  gboolean        set_error;
  gboolean        return_object;
} BindingLike;

/* What a binding's closure does with an exception: report it, return
 * nothing (or, badly, something). */
static GObject *
binding_acquire (GMainContext  *context,
                 gpointer       user_data,
                 GError       **error)
{
  BindingLike *b = user_data;

  if (b->inner != NULL)
    {
      g_autoptr(GError) inner_error = NULL;

      /* The inner acquire fails with its own error, which must not land
       * in this frame. */
      g_assert_null (tether_template_acquire_object (b->inner, context, &inner_error));
      g_assert_error (inner_error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
    }

  if (b->set_error)
    {
      g_autoptr(GError) e = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                                                 "ValueError: the binding's exception");

      tether_template_set_acquire_error (b->self, e);
      /* Twice: the first error is kept. */
      g_clear_error (&e);
      e = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_FAILED, "second");
      tether_template_set_acquire_error (b->self, e);
    }

  return b->return_object ? g_object_new (G_TYPE_OBJECT, NULL) : NULL;
}

static TetherTemplate *
binding_template (const char  *name,
                  BindingLike *b)
{
  g_autoptr(GError) error = NULL;

  b->self = tether_template_new_for_object (name, NULL, G_TYPE_OBJECT, binding_acquire, b, NULL,
                                            NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  return b->self;
}

static void
test_set_acquire_error_reaches_caller (void)
{
  BindingLike b = { .set_error = TRUE };
  g_autoptr(TetherTemplate) template = binding_template ("binding-error", &b);
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GError) error = NULL;

  g_assert_null (tether_template_acquire_object (template, context, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_assert_cmpstr (error->message, ==, "ValueError: the binding's exception");
  g_assert_cmpuint (tether_template_get_n_held (template), ==, 0);

  /* With an object returned anyway: the error wins, the object is dropped. */
  b.return_object = TRUE;
  g_clear_error (&error);
  g_assert_null (tether_template_acquire_object (template, context, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_assert_cmpuint (tether_template_get_n_held (template), ==, 0);

  /* And a manager's caller gets it, prefixed with the template. */
  b.return_object = FALSE;
  g_clear_error (&error);
  g_main_context_push_thread_default (context);
  {
    g_autoptr(TetherManager) manager = tether_manager_new (NULL, TETHER_MANAGER_NONE);

    g_assert_false (tether_manager_acquire (manager, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
    g_assert_nonnull (strstr (error->message, "binding-error"));
    g_assert_nonnull (strstr (error->message, "ValueError: the binding's exception"));
  }
  g_main_context_pop_thread_default (context);
  tether_template_unregister (template);
}

/* An error set in an inner template's acquire stays with it. */
static void
test_set_acquire_error_nested_frames (void)
{
  BindingLike inner = { .set_error = TRUE };
  BindingLike outer = { .return_object = TRUE };
  g_autoptr(TetherTemplate) inner_t = binding_template ("binding-inner", &inner);
  g_autoptr(TetherTemplate) outer_t = binding_template ("binding-outer", &outer);
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GError) error = NULL;

  outer.inner = inner_t;
  g_assert_nonnull (tether_template_acquire_object (outer_t, context, &error));
  g_assert_no_error (error);
  g_assert_true (tether_template_release (outer_t, context, &error));
  tether_template_unregister (outer_t);
  tether_template_unregister (inner_t);
}

/* Outside an acquire it is a programmer error. */
static void
test_set_acquire_error_outside_acquire (void)
{
  if (g_test_subprocess ())
    {
      BindingLike b = { 0 };
      g_autoptr(TetherTemplate) template = binding_template ("binding-outside", &b);
      g_autoptr(GError) e = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_FAILED, "x");

      tether_template_set_acquire_error (template, e);
      return;
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*no acquire of template 'binding-outside'*");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/typed-resources/declared-type-reported-and-typed",
                   test_declared_type_reported_and_typed);
  g_test_add_func ("/typed-resources/abi-1-0-slot-ignored", test_abi_1_0_slot_ignored);
  g_test_add_func ("/typed-resources/smaller-struct-loads-untyped",
                   test_smaller_struct_loads_untyped);
  g_test_add_func ("/typed-resources/wrong-instance-is-invalid-result",
                   test_wrong_instance_is_invalid_result);
  g_test_add_func ("/typed-resources/non-object-type-refused", test_non_object_type_refused);
  g_test_add_func ("/set-acquire-error/reaches-caller", test_set_acquire_error_reaches_caller);
  g_test_add_func ("/set-acquire-error/nested-frames", test_set_acquire_error_nested_frames);
  g_test_add_func ("/set-acquire-error/outside-acquire", test_set_acquire_error_outside_acquire);

  return g_test_run ();
}
