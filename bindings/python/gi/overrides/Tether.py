# SPDX-License-Identifier: LGPL-2.1-or-later
#
# PyGObject overrides for tether: Python idioms on top of the introspected
# API.
#
# - `with Tether.Manager.new(context, flags):` enters the scope (acquires
#   every registered template for the context) and always leaves it.
# - `Tether.run_in_new_context(func, *args, **kwargs)` runs func in a fresh
#   context of its own inside a manager, returns what func returns, and
#   raises what func raises, after everything was released.

from ..importer import modules
from ..overrides import override

Tether = modules['Tether']._introspection_module

__all__ = []


class Manager(Tether.Manager):
    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, exc_type, exc_value, traceback):
        self.release()
        return False


Manager = override(Manager)
__all__.append('Manager')


def run_in_new_context(func, *args, **kwargs):
    outcome = {}

    def scope(*_user_data):
        # An exception cannot cross the C scope function: keep it, fail the
        # scope, and raise it again once everything was released.
        try:
            outcome['value'] = func(*args, **kwargs)
        except BaseException as e:  # noqa: B036
            outcome['exception'] = e
            return False
        return True

    try:
        Tether.run_in_new_context(scope, None)
    except Exception:
        if 'exception' not in outcome:
            raise
    if 'exception' in outcome:
        raise outcome['exception']
    return outcome.get('value')


__all__.append('run_in_new_context')
