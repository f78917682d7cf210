"""pytest-asyncmock-guard: catch AsyncMock and coroutine misuse in tests, and say how to fix it.

Enable it with ``pytest -p asyncmock_guard`` (or ``pytest_plugins = ["asyncmock_guard"]``). Importing
this package registers nothing by itself: the pytest hooks below take effect only when pytest loads
the package as a plugin.
"""

from __future__ import annotations

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
