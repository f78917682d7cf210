"""pytest-asyncmock-guard: catch AsyncMock and coroutine misuse in tests, and say how to fix it.

Enable it with ``pytest -p asyncmock_guard`` (or ``pytest_plugins = ["asyncmock_guard"]``). Importing
this package registers nothing by itself: the pytest hooks below take effect only when pytest loads
the package as a plugin.

PYTEST_DONT_REWRITE: pytest rewrites a ``-p`` plugin's asserts, and warns ("Module already imported so
cannot be rewritten") when the plugin was imported before, as resolving ``-W
error::asyncmock_guard.AsyncMockGuardWarning`` does; under ``filterwarnings = error`` that warning stops
pytest. This package has no asserts to rewrite.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.abc
import importlib.machinery
import sys
from collections.abc import Iterator, Sequence
from types import ModuleType


class _StandardImport(importlib.abc.MetaPathFinder):
    """Imports the guard's own modules with Python's standard loader while this package is imported.

    pytest marks a ``-p`` plugin's whole package for assertion rewriting, and its loader reads the
    cached code with ``marshal.load`` on a file object, about six times slower than the standard
    loader: some 5 ms on every run for the guard, which has no test assertions to rewrite.
    """

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if path is None or not fullname.startswith(f"{__name__}."):
            return None
        return importlib.machinery.PathFinder.find_spec(fullname, path, target)


_standard_import = _StandardImport()


@contextlib.contextmanager
def _standard_loader() -> Iterator[None]:
    """The guard's own modules imported within come through the standard loader (see ``_StandardImport``)."""
    sys.meta_path.insert(0, _standard_import)
    try:
        yield
    finally:
        sys.meta_path.remove(_standard_import)


def _import_module(name: str) -> ModuleType:
    """Import one of the guard's modules loaded on first use (``asyncmock_guard._proxy``)."""
    with _standard_loader():
        return importlib.import_module(name)


with _standard_loader():
    from asyncmock_guard._config import Mode
    from asyncmock_guard._findings import Finding, FindingKind, Location
    from asyncmock_guard._plugin import pytest_addoption, pytest_configure, pytest_load_initial_conftests
    from asyncmock_guard._reporting import AsyncMockGuardInternalWarning, AsyncMockGuardWarning

__version__ = "0.1.0"

__all__ = [
    "AsyncMockGuardInternalWarning",
    "AsyncMockGuardWarning",
    "Finding",
    "FindingKind",
    "Location",
    "Mode",
    "__version__",
    "pytest_addoption",
    "pytest_configure",
    "pytest_load_initial_conftests",
]
