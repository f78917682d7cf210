"""Coroutines used as values: a misuse only if the code does not await them after all.

The proxy sees ``if coroutine:``, ``len(coroutine)`` or ``coroutine.all`` at the line that does it, and
that is when the guard diagnoses the use (the line's frame is there to name the mock) and adds its note to
the exception, if the use raised one. But correct code does such things too: ``if pending: await pending``
for a value that may be None, ``try: len(x) except TypeError: await x`` to tell a coroutine from a
list. So the finding waits until the coroutine's fate is known: a coroutine awaited, sent into or closed
later was used correctly, and its use leaves no finding; one finalized unawaited (``_dropped``), or still
unawaited when the phase or subtest that used it ends, is the finding of that use, not a never-awaited
one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from asyncmock_guard import _phases
from asyncmock_guard._dropped import run_as_noted
from asyncmock_guard._instrumentation import CoroutineRecord

if TYPE_CHECKING:
    from asyncmock_guard._collector import Collector

Report = Callable[[], None]


class MisusedCoroutines:
    """The diagnosed uses of coroutines as values whose coroutine's fate is not known yet."""

    def __init__(self, collector: Collector) -> None:
        self.collector = collector
        # by record key (the coroutine's id while it is tracked): its record, the report of its first use,
        # and the test and unittest subtest running then (see ``_phases.unittest_subtest``)
        self._waiting: dict[int, tuple[CoroutineRecord, Report, tuple[str | None, object]]] = {}

    def __bool__(self) -> bool:
        return bool(self._waiting)

    def noted(self, record: CoroutineRecord) -> bool:
        """Whether a use of this coroutine waits already: a later use only adds its note."""
        entry = self._waiting.get(record.key)
        return entry is not None and entry[0] is record

    def wait(self, record: CoroutineRecord, report: Report) -> None:
        self._waiting[record.key] = (record, report, _phases.unittest_subtest(self.collector.context))

    def take(self, record: CoroutineRecord) -> tuple[Report, tuple[str | None, object]] | None:
        """The report waiting for a coroutine finalized unawaited (it is that coroutine's one finding)."""
        entry = self._waiting.get(record.key)
        if entry is None or entry[0] is not record:
            return None
        del self._waiting[record.key]
        return entry[1], entry[2]

    def confirm(self) -> None:
        """A phase or subtest of the running test ended: the uses of its coroutines still unawaited are
        findings now, in the order they happened; those of coroutines used correctly since are forgotten."""
        collector = self.collector
        context = collector.context
        running = context.nodeid if context is not None else None
        for key, (record, report, noted) in list(self._waiting.items()):
            if record.settled:
                del self._waiting[key]
            elif record.owner == running:
                del self._waiting[key]
                run_as_noted(collector, report, noted)

    def clear(self) -> None:
        self._waiting.clear()
