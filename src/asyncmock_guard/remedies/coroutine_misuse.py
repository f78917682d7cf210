"""``coroutine-misuse``: the coroutine of an AsyncMock call used as a value (subscript, ``.all``, iteration,
``async with``, a truth test...) instead of being awaited."""

from __future__ import annotations

from asyncmock_guard._diagnosis import MockDiagnosis
from asyncmock_guard.remedies._mock_call import misused
from asyncmock_guard.remedies._remedy import Remedy


def remedy(diagnosis: MockDiagnosis, operation: str) -> Remedy:
    return misused(diagnosis, operation)
