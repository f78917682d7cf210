"""The one registry of mutable state: which test is running, and the findings made so far.

The plugin tells the collector when each test phase starts and ends; the instrumentation tells it
what coroutines do. Its ``owners`` (``_owners``) know who owns the code running now and what the owning
test calls things (its ``Scope``); each family of events is handled by an object of its own
(``_mock_call_events``, ``_building_events``, ``_loop_events``), which turns it into a diagnosis
(``_diagnosis``) and its kind's remedy (``remedies``): a finding, formatted at once and queued for the
plugin to drain at the end of each phase. A coroutine finalized unawaited is only noted by the finalizer
(``_dropped``) and diagnosed before the findings are next read or added to; a coroutine used as a value is
diagnosed at once, and a finding only once it is known not to be awaited after all (``_misuses``).

Those modules, and the ones that name, explain and advise, are imported on first use: a run without
such events never loads them, and every module loaded makes the whole run a little slower (measured on
the benchmark suite).
"""

from __future__ import annotations

import functools
import types
import weakref
from collections.abc import Mapping
from types import CodeType, FrameType, TracebackType
from typing import TYPE_CHECKING, Any

from asyncmock_guard import _event_loop, _frames, _mock_modules, _phases
from asyncmock_guard._building_listener import BuildingListener
from asyncmock_guard._config import UserEntries
from asyncmock_guard._construction import ConstructionWatch
from asyncmock_guard._dropped import DroppedCoroutines
from asyncmock_guard._errors import InternalErrors
from asyncmock_guard._findings import Finding, FindingKind, FindingQueue, Location
from asyncmock_guard._instrumentation import CoroutineRecord, Instrumentation
from asyncmock_guard._misuses import MisusedCoroutines
from asyncmock_guard._owners import Owners
from asyncmock_guard._test_start import StartWatch

if TYPE_CHECKING:
    from asyncmock_guard._awaited_value_events import AwaitedValueEvents
    from asyncmock_guard._building_events import BuildingEvents, ExplicitAsyncMock
    from asyncmock_guard._edits import Edit
    from asyncmock_guard._loop_events import LoopEvents, SchedulerMock
    from asyncmock_guard._mock_call_events import MockCallEvents
    from asyncmock_guard.remedies import Remedy


# The records below are plain classes, not dataclasses: a dataclass compiles its methods when the
# module is imported, and every pytest run with the guard pays for that (measured).
class TestContext:
    """The running test, as plain data: no pytest objects beyond the ``funcargs`` mapping.

    ``test_frame`` is the test function's frame, found at the first AsyncMock call of the call
    phase and released when that phase ends: its locals are where the test named its mocks.
    """

    __slots__ = (
        "codes",
        "failed",
        "failures",
        "funcargs",
        "is_async",
        "item",
        "mode",
        "nodeid",
        "phase",
        "test_frame",
    )

    def __init__(
        self,
        nodeid: str,
        codes: frozenset[CodeType],
        mode: str,  # "strict", "warn" or "off"
        funcargs: Mapping[str, object] | None = None,
        *,
        is_async: bool = False,  # an ``async def`` test: a loop runs it
        item: object = None,  # the pytest item: read only when a finding is made (its function, fixtures)
    ) -> None:
        self.item = item
        self.nodeid = nodeid
        self.codes = codes
        self.mode = mode
        self.funcargs = funcargs
        self.is_async = is_async
        self.phase = "setup"
        self.test_frame: FrameType | None = None
        self.failed = False  # some phase of the test failed
        self.failures: list[TracebackType] = []  # the tracebacks its phases failed with

    def __repr__(self) -> str:
        return f"TestContext({self.nodeid!r}, mode={self.mode!r}, phase={self.phase!r})"

    def runs(self, filename: str, function: str) -> bool:
        """Whether a ``cr_origin`` entry (file and function name) is the test function's."""
        return any(code.co_filename == filename and code.co_name == function for code in self.codes)


class Collector:
    """Receives instrumentation events and keeps the findings of the session."""

    def __init__(
        self,
        default_mode: str = "strict",
        rootdir: str | None = None,
        user_entries: UserEntries | None = None,
        errors: InternalErrors | None = None,
    ) -> None:
        self.default_mode = default_mode
        self.rootdir = rootdir
        self.user_entries = user_entries if user_entries is not None else UserEntries()
        self.context: TestContext | None = None
        self.last_test: str | None = None  # the test entered last: entered again, it is a rerun's next attempt
        self.outside_phase = "collection"
        self.queue = FindingQueue()
        self.errors = errors if errors is not None else InternalErrors()  # shared with the plugin
        self.owners = Owners(self)
        # AsyncMocks assigned to sync members, by id (checked against the weak reference).
        self.explicit_async: dict[int, ExplicitAsyncMock] = {}
        # Those of them with firm evidence, reported when the phase ends unless the test replaced them
        # unused first, by (id(parent), member), each with its parent (see BuildingEvents.member_replaced).
        self.unconfirmed_assignments: dict[tuple[int, str], tuple[weakref.ref[Any], ExplicitAsyncMock]] = {}
        # Coroutines already reported as a return_value/side_effect: (test, path, line, function).
        self.coroutines_as_values: set[tuple[str | None, str, int, str]] = set()
        self.scheduler_mocks: dict[int, SchedulerMock] = {}
        # Coroutines reported as never run (no loop, a mock scheduler, a loop nobody runs), by id: kept
        # alive so that each is reported once, and closed at the end if nothing started them meanwhile.
        self.reported_coroutines: dict[int, Any] = {}
        # Lines that make a mock with a data spec: whether they pass it positionally (see the method).
        self.positional_spec_lines: dict[tuple[str, int, str], bool] = {}
        self.instrumentation = Instrumentation(self)
        self.construction = ConstructionWatch(BuildingListener(self))
        self.dropped = DroppedCoroutines(self)
        self.misuses = MisusedCoroutines(self)
        # While a dropped coroutine is diagnosed: the test and unittest subtest running when it was dropped.
        self.noted_at_drop: tuple[str | None, object] | None = None
        self.test_start = StartWatch()

    def install(self) -> None:
        self.instrumentation.install()
        self.construction.install()
        self.test_start.install()
        _mock_modules.when_backport_imported(functools.partial(_backport_imported, self))

    def uninstall(self) -> None:
        self.test_start.uninstall()
        self.construction.uninstall()
        self.instrumentation.uninstall()
        self.explicit_async.clear()
        self.unconfirmed_assignments.clear()
        self.scheduler_mocks.clear()
        self.misuses.clear()
        self.close_reported_coroutines()

    def close_reported_coroutines(self) -> None:
        """Close the reported coroutines that nothing started: they were reported once, and closing an
        unstarted coroutine runs none of its code and keeps Python from warning about it again."""
        reported, self.reported_coroutines = self.reported_coroutines, {}
        for coroutine in reported.values():
            if _event_loop.is_unstarted(coroutine):
                coroutine.close()

    # --- test lifecycle (called by the plugin) ---------------------------------------------------
    def enter_test(
        self,
        nodeid: str,
        codes: frozenset[CodeType],
        mode: str,
        funcargs: Mapping[str, object] | None,
        *,
        is_async: bool,
        item: object = None,
    ) -> TestContext:
        if nodeid == self.last_test and self.queue.all:  # an attempt of a rerun test
            self.queue.forget_test(nodeid)
        self.last_test = nodeid
        context = self.context = TestContext(nodeid, codes, mode, funcargs, is_async=is_async, item=item)
        self.owners.test_entered(context)
        self.instrumentation.test_started()
        return context

    def start_call_phase(self) -> None:
        """An async test is about to run: catch its frame as it starts (see ``_test_start``)."""
        context = self.context
        if context is not None and context.is_async and context.mode != "off":
            self.test_start.watch(context.codes, self._test_started, self.internal_error)

    def _test_started(self, frame: FrameType) -> None:
        context = self.context
        # not a wrapper's code (hypothesis's): the inner test's frame is found when it calls a mock
        if context is not None and context.test_frame is None and not _frames.is_library_frame(frame):
            context.test_frame = frame

    def end_call_phase(self) -> None:
        """Release the test's frame; keep its names only if its coroutines may still be reported."""
        self.test_start.stop()
        context = self.context
        if context is None or context.test_frame is None:
            return
        self.owners.call_ended(context, unsettled=self.instrumentation.unsettled(context.nodeid) > 0)
        context.test_frame = None

    def leave_test(self, unsettled: int) -> None:
        self.owners.test_left(self.context, unsettled)
        if self.explicit_async:
            self.explicit_async = {k: v for k, v in self.explicit_async.items() if v.mock() is not None}
        self.context = None
        self.outside_phase = "between tests"
        self.instrumentation.test_ended()

    def settle_dropped(self) -> None:
        """Diagnose the coroutines dropped so far (``_dropped``) before anything reads the findings or adds
        one: the findings come in the order things happened."""
        if self.dropped.waiting:
            self.dropped.diagnose()

    def drain(self) -> list[Finding]:
        self.settle_dropped()
        return self.queue.drain()

    def drain_subtest(self, nodeid: str, subtest: str) -> list[Finding]:
        """A subtest of the running test ended: the findings so far, the test's own marked as the subtest's."""
        self.settle_dropped()
        if self.misuses:
            self.misuses.confirm()
        return self.queue.drain_subtest(nodeid, subtest)

    def _add(self, finding: Finding) -> None:
        self.queue.add(finding, self.rootdir)

    @property
    def pending(self) -> list[Finding]:
        self.settle_dropped()
        return self.queue.pending

    @property
    def findings(self) -> list[Finding]:
        self.settle_dropped()
        return self.queue.all

    # --- instrumentation events ------------------------------------------------------------------
    def mock_coroutine_created(
        self, instrumentation: Instrumentation, mock: object, frame: FrameType | None
    ) -> CoroutineRecord | None:
        context = self.context
        if context is None or context.phase != "call":  # outside a test, or in a fixture: whose?
            if context is not None and context.mode == "off":
                return None
            owner, phase, mode = self.owners.owner(frame)
        elif context.mode == "off":
            return None
        else:  # the hot path: a mock called during a test's call phase
            owner, phase, mode = context.nodeid, "call", context.mode
            if context.test_frame is None:
                self.owners.find_test_frame(frame)
        record = CoroutineRecord(instrumentation, owner, phase, mode, frame, id(mock))
        if owner is None and context is not None:  # a wider-scoped fixture's: name its mocks while it runs
            record.names = self.owners.fixture_names(frame)
        return record

    # --- how the test builds its mocks (construction watch events) ------------------------------
    def add_remedied(
        self,
        kind: FindingKind,
        owned: tuple[str | None, str, str],
        subject: str,
        where: Location,
        remedy: Remedy,
        *,
        operation: str | None = None,
    ) -> None:
        self.add_finding(
            kind,
            owned,
            subject=subject,
            where=where,
            message=remedy.message,
            fix=remedy.fix,
            operation=operation,
            change_at=remedy.change_at,
            bug_in=remedy.bug_in or "test",
            edits=remedy.edits,
            applicability=remedy.applicability,
        )

    def add_finding(
        self,
        kind: FindingKind,
        owned: tuple[str | None, str, str],
        *,
        subject: str,
        where: Location,
        message: str,
        fix: str,
        operation: str | None = None,
        change_at: Location | None = None,
        bug_in: str = "test",
        edits: tuple[Edit, ...] = (),
        applicability: str = "safe",
    ) -> None:
        owner, phase, mode = owned
        noted = self.noted_at_drop or _phases.unittest_subtest(self.context)
        self._add(
            Finding(
                kind,
                owner,
                subject,
                where,
                message,
                fix,
                operation=operation,
                phase=phase,
                mode=mode,
                change_at=change_at,
                bug_in=bug_in,
                edits=edits,
                applicability=applicability,
                subtest=_phases.subtest_made_in(noted, owner, phase),
            )
        )

    # --- failures the test got: add the guard's explanation to the exception ----------------------
    # --- event loops: coroutines handed to a scheduler that will never run them -------------------
    # --- the events, handled by one object per family, each loaded with its first event ----------
    @functools.cached_property
    def mock_calls(self) -> MockCallEvents:
        from asyncmock_guard._mock_call_events import MockCallEvents

        return MockCallEvents(self)

    @functools.cached_property
    def building(self) -> BuildingEvents:
        from asyncmock_guard._building_events import BuildingEvents

        return BuildingEvents(self)

    @functools.cached_property
    def awaited_values(self) -> AwaitedValueEvents:
        from asyncmock_guard._awaited_value_events import AwaitedValueEvents

        return AwaitedValueEvents(self)

    @functools.cached_property
    def loops(self) -> LoopEvents:
        from asyncmock_guard._loop_events import LoopEvents

        return LoopEvents(self)

    # the instrumentation's listener
    def coroutine_misused(
        self, record: CoroutineRecord, coroutine: object, operation: str, frame: FrameType
    ) -> str | None:
        self.settle_dropped()
        return self.mock_calls.coroutine_misused(record, coroutine, operation, frame)

    def task_never_ran(self, record: CoroutineRecord, coroutine: object) -> None:
        self.settle_dropped()
        self.mock_calls.task_never_ran(record, coroutine)

    def coroutine_never_awaited(
        self, coroutine: types.CoroutineType[Any, Any, Any], record: CoroutineRecord | None
    ) -> bool:
        return self.dropped.dropped(coroutine, record)  # a finalizer: decided now, diagnosed at the next drain

    def confirm_assignments(self) -> None:
        """A phase ended: the AsyncMock assignments it (or the setup) left in place, the Futures the code
        got from awaited AsyncMocks, and the coroutines it used as values and left unawaited, are findings
        now."""
        if self.misuses:
            self.settle_dropped()
            self.misuses.confirm()
        if self.unconfirmed_assignments:
            self.settle_dropped()
            self.building.confirm_assignments()
        if "awaited_values" in self.__dict__ and self.awaited_values.given:
            self.settle_dropped()
            self.awaited_values.confirm_given()

    # what the plugin asks at the end of each phase
    def explain_failure(self, error: BaseException) -> None:
        """Called with the exception a test phase failed with, before pytest formats it."""
        self.settle_dropped()
        self.building.explain_failure(error)

    @property
    def watches_schedulers(self) -> bool:
        return bool(self.scheduler_mocks)

    def check_scheduler_mocks(self, *, test_ended: bool) -> None:
        self.settle_dropped()
        self.loops.check_scheduler_mocks(test_ended=test_ended)

    def check_patched_mocks(self) -> None:
        if self.owners.patches:
            self.settle_dropped()
            self.loops.check_patched_mocks()

    def check_idle_loop(self) -> None:
        """At the end of a sync test: tasks left on a loop that nobody runs (see ``LoopEvents``)."""
        if _event_loop.idle_loop() is not None:
            self.settle_dropped()
            self.loops.check_idle_loop()

    def internal_error(self, error: BaseException) -> None:
        self.errors.record(error)


def _backport_imported(collector: Collector, module: types.ModuleType) -> None:
    """PyPI's ``mock`` was imported (now, or before the guard): its mocks are watched like unittest.mock's."""
    if not collector.instrumentation.installed:
        return  # an earlier session's collector
    try:
        _mock_modules.add(module)
        if module in _mock_modules.MODULES:
            collector.instrumentation.add_module(module)
            collector.construction.add_module(module)
    except Exception as error:  # noqa: BLE001 - an internal error must never break the run
        collector.internal_error(error)
