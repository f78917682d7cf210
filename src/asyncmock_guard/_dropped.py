"""Coroutines finalized without ever being awaited: decided at once, diagnosed later.

Python finalizes a coroutine wherever the garbage collector happens to run, in the middle of an import,
or of the ``compile`` in pytest's assertion rewriting. Code run there must neither import nor compile:
on Python 3.11 a compile nested in another makes the outer one fail (``SystemError: AST constructor
recursion depth mismatch``), and the user's run with it. So the finalizer hook only decides whether the
coroutine is the guard's to report, and notes, with the modules already loaded, who made it and what the
test named then. The diagnosis, which reads and parses source and loads the modules that name and
advise, runs when the plugin next asks for findings (``Collector.pending``, ``Collector.drain``).
"""

from __future__ import annotations

import sys
import types
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from asyncmock_guard import _frames, _mock_modules, _phases
from asyncmock_guard._findings import UNKNOWN_TEST, Location
from asyncmock_guard._instrumentation import CoroutineRecord, mock_of
from asyncmock_guard._owners import Owned

if TYPE_CHECKING:
    from asyncmock_guard._collector import Collector


def run_as_noted(collector: Collector, job: Callable[[], None], noted: tuple[str | None, object]) -> bool:
    """Run a diagnosis made after its event as if the test and unittest subtest noted then were running
    (``_phases.unittest_subtest``); False when it failed: an internal error, one finding lost, not the run."""
    collector.noted_at_drop = noted
    try:
        job()
    except Exception as error:  # noqa: BLE001 - one finding lost, not the run
        collector.internal_error(error)
        return False
    finally:
        collector.noted_at_drop = None
    return True


class DroppedCoroutines:
    """The finalizer's side of a never-awaited coroutine: a decision now, a finding later."""

    def __init__(self, collector: Collector) -> None:
        self.collector = collector
        # each with its coroutine, for Python's own warning if the diagnosis fails, and the test and unittest
        # subtest running when it was dropped (see ``_phases.unittest_subtest``)
        self._waiting: list[tuple[Callable[[], None], object, tuple[str | None, object]]] = []
        self._diagnosing = False

    def dropped(self, coroutine: types.CoroutineType[Any, Any, Any], record: CoroutineRecord | None) -> bool:
        """Whether the guard reports this coroutine (else Python's own warning is shown). Runs in a
        finalizer: no import, no source read here."""
        collector = self.collector
        if record is not None:
            misused = collector.misuses.take(record) if collector.misuses else None
            if misused is not None:  # used as a value, then dropped: that use is its one finding
                self._waiting.append((misused[0], coroutine, misused[1]))
            elif not record.reported:  # a misuse reported already is that coroutine's one report
                view = collector.owners.scope_view(sys._getframe(), record.owner)
                mock = mock_of(coroutine)

                def diagnose_mock() -> None:  # ``mock_calls`` loads its module: only when this runs
                    collector.mock_calls.mock_never_awaited(mock, record, collector.owners.scope_from(view))

                self._waiting.append((diagnose_mock, coroutine, _phases.unittest_subtest(collector.context)))
            return True
        code = coroutine.cr_code
        if code in _mock_modules.EXECUTE_CODES:
            return False  # an AsyncMock call the guard did not watch (a test in 'off' mode)
        if "awaited_values" in vars(collector) and code in collector.awaited_values.reported_calls:
            origin = getattr(coroutine, "cr_origin", None)
            if not origin or _frames.is_mock_file(origin[0][0]):
                return True  # made by an AsyncMock whose async-callable side_effect was reported (see there)
        created = self.created(coroutine)
        if created is None:
            return False
        where, owned, known_call_site, called_by = created
        qualname = getattr(coroutine, "__qualname__", code.co_name)
        if (owned[0], where.path, where.line, qualname) in collector.coroutines_as_values:
            return True  # reported already, where the test made it a mock's return value
        context = collector.context
        running = context.nodeid if context is not None else None

        def diagnose_function() -> None:
            collector.mock_calls.function_never_awaited(
                qualname, where, owned, known_call_site=known_call_site, running=running, called_by=called_by
            )

        self._waiting.append((diagnose_function, coroutine, _phases.unittest_subtest(context)))
        return True

    @property
    def waiting(self) -> bool:
        return bool(self._waiting)

    def diagnose(self) -> None:
        """Turn the coroutines dropped since the last call into findings, in the order they were dropped;
        never from a finalizer. A coroutine dropped meanwhile (a collection while diagnosing) is diagnosed
        in the same call. A diagnosis that fails is an internal error, and Python's own warning."""
        if self._diagnosing:
            return
        self._diagnosing = True
        try:
            while self._waiting:
                jobs, self._waiting = self._waiting, []
                jobs.reverse()
                while jobs:  # each released once diagnosed: what it held is finalized, and queued, now
                    self._run(*jobs.pop())
        finally:
            self._diagnosing = False

    def _run(self, job: Callable[[], None], coroutine: object, noted: tuple[str | None, object]) -> None:
        if not run_as_noted(self.collector, job, noted):
            self.collector.instrumentation.warn_as_python_would(coroutine)

    def created(
        self, coroutine: types.CoroutineType[Any, Any, Any]
    ) -> tuple[Location, Owned, bool, Location | None] | None:
        """Where a coroutine (not an AsyncMock's) was created, by whom, whether that place is its caller
        (``cr_origin``) or only its definition, and the installed library that called it, if one did (an
        async function given to httpx as an event hook): then the place is the user's nearest line. None
        when it is not the user's to fix (made by asyncio, pytest, anyio, or a library's own coroutine) or
        its test runs with the guard off."""
        collector = self.collector
        code = coroutine.cr_code
        origin = getattr(coroutine, "cr_origin", None)
        owned = None
        called_by = None
        if origin:
            if _frames.is_library_location(origin[0][0]):
                return None
            where = Location(*origin[0])
            if _frames.is_installed_location(where.path):
                if _frames.is_installed_location(code.co_filename):
                    return None  # the library's own coroutine, which it dropped: not the user's to fix
                called_by = where
                own = next((entry for entry in origin if _frames.is_own_location(entry[0])), None)
                where = Location(*own) if own is not None else own_definition(code)
            owned = self.owner_from_origin(origin)
        else:
            if _frames.is_library_location(code.co_filename):
                return None
            where = Location(code.co_filename, code.co_firstlineno, code.co_name)
        if owned is None:  # nothing on the creation stack says: the test running now, if it is recent
            owned = collector.owners.owner()
            if owned[0] is not None and collector.instrumentation.finalizing_old_garbage:
                owned = (None, UNKNOWN_TEST, collector.default_mode)  # any earlier test may have made it
        if owned[2] == "off":
            return None
        # with a library between, the call site known is the user's line that led to the library's call
        return where, owned, bool(origin) and (called_by is None or where != own_definition(code)), called_by

    def owner_from_origin(self, origin: tuple[tuple[str, int, str], ...]) -> Owned | None:
        """The test, or wider-scoped fixture, whose function is on the creation stack (innermost first):
        the current test, else the latest test of that function; None if none is."""
        collector = self.collector
        context = collector.context
        for filename, _, function in origin:
            if context is not None and context.runs(filename, function):
                return context.nodeid, "call", context.mode
            known = collector.owners.tests_by_function.get((filename, function))
            if known is not None:
                return known[0], "call", known[1]
            fixture = collector.owners.wide_fixtures.get((filename, function))
            if fixture is not None:
                return None, fixture, collector.default_mode
        return None


def own_definition(code: types.CodeType) -> Location:
    return Location(code.co_filename, code.co_firstlineno, code.co_name)
