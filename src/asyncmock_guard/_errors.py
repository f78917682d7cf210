"""The guard's own errors: counted and kept, never raised into the user's run (the plugin shows them as
one warning at the end).

A module of its own because the pytest-xdist controller, which loads no instrumentation, records them
too (a report file it cannot write, a worker's file it cannot read).
"""

from __future__ import annotations

import contextlib
import traceback
from collections.abc import Iterator

_MAX_KEPT = 20  # tracebacks kept; all are counted


class InternalErrors:
    __slots__ = ("count", "tracebacks")

    def __init__(self) -> None:
        self.count = 0
        self.tracebacks: list[str] = []

    def record(self, error: BaseException) -> None:
        self.count += 1
        if len(self.tracebacks) < _MAX_KEPT:
            self.tracebacks.append("".join(traceback.format_exception(type(error), error, error.__traceback__)))

    @contextlib.contextmanager
    def shielded(self) -> Iterator[None]:
        """An error of the guard itself is recorded (one warning at the end); the user's run goes on."""
        try:
            yield
        except Exception as error:  # noqa: BLE001
            self.record(error)
