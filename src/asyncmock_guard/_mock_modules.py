"""The mock libraries the guard instruments: ``unittest.mock``, and PyPI's ``mock`` backport (``from mock
import AsyncMock``, in many older suites) from the moment it is imported. The backport is the same code
with classes and sentinels of its own, so what the rest of the guard asks of "a mock" it asks here, of
both: the classes, the ``DEFAULT`` sentinels, the files (frames inside them are the mock library's), and the
code objects the hooks recognize.

The names below are rebound (the tuples) or grown in place (the sets) when the backport arrives: read them
as ``_mock_modules.NAME`` at the time of use, never bind them at import.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import CodeType, ModuleType
from unittest import mock as _standard

import wrapt

STANDARD: ModuleType = _standard
BACKPORT_NAME = "mock.mock"  # the backport's module; ``mock`` re-exports it

MODULES: tuple[ModuleType, ...] = (_standard,)
NON_CALLABLE: tuple[type, ...] = (_standard.NonCallableMock,)
ASYNC: tuple[type, ...] = (_standard.AsyncMockMixin,)
DEFAULTS: tuple[object, ...] = (_standard.DEFAULT,)
FILES: set[str] = {_standard.__file__}
# The code of ``AsyncMockMixin._execute_mock_call`` (every AsyncMock call's coroutine runs it).
EXECUTE_CODES: set[CodeType] = {_standard.AsyncMockMixin._execute_mock_call.__code__}
# ``CallableMixin.__init__``: ``Mock(side_effect=...)`` sets it from there, a test's assignment from its code.
INIT_CODES: set[CodeType] = {_standard.CallableMixin.__init__.__code__}
# Values that are never a mock (``_check_and_set_parent`` starts with ``_extract_mock`` and
# ``_is_instance_mock``, which say so for these exact types): the bookkeeping mocks set on every call.
NEVER_MOCKS: set[type] = {bool, int, float, str, bytes, type(None), tuple, list, dict, _standard._Call}
NEVER_MOCKS.add(_standard._CallList)

# What the hooks need of a module: a backport too old to have them (before mock 4) is left alone.
_NEEDED = ("AsyncMockMixin", "CallableMixin", "NonCallableMock", "DEFAULT", "_check_and_set_parent", "_patch")


def is_default(value: object) -> bool:
    """``value`` is one of the libraries' ``DEFAULT`` (nothing configured, or "return as configured")."""
    return any(value is default for default in DEFAULTS)


def usable(module: ModuleType) -> bool:
    mixin = getattr(module, "AsyncMockMixin", None)
    return all(hasattr(module, name) for name in _NEEDED) and callable(getattr(mixin, "_execute_mock_call", None))


def add(module: ModuleType) -> bool:
    """Count the backport's classes as mocks from now on; whether it is new and usable."""
    global MODULES, NON_CALLABLE, ASYNC, DEFAULTS
    if module in MODULES or not usable(module):
        return False
    MODULES += (module,)
    NON_CALLABLE += (module.NonCallableMock,)
    ASYNC += (module.AsyncMockMixin,)
    DEFAULTS += (module.DEFAULT,)
    FILES.add(str(module.__file__))
    EXECUTE_CODES.add(module.AsyncMockMixin._execute_mock_call.__code__)
    INIT_CODES.add(module.CallableMixin.__init__.__code__)
    NEVER_MOCKS.update(kind for kind in (getattr(module, "_Call", None), getattr(module, "_CallList", None)) if kind)
    return True


def when_backport_imported(callback: Callable[[ModuleType], None]) -> None:
    """Call ``callback`` with the backport's module now if it is imported, else when it is (wrapt's post
    import hook: the library made for this). Called once per session; the callback decides what to do."""

    def imported(_: ModuleType) -> None:
        module = sys.modules.get(BACKPORT_NAME)
        if module is not None:
            callback(module)

    wrapt.register_post_import_hook(imported, "mock")
