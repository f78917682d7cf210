"""The one registry of mutable state: which test is running, and the findings made so far.

The plugin tells the collector when each test phase starts and ends; the instrumentation tells it
what coroutines do. The collector knows who owns the code running now and what the owning test calls
things (its ``Scope``); each family of events is handled by an object of its own (``_mock_call_events``,
``_building_events``, ``_loop_events``), which turns it into a diagnosis (``_diagnosis``) and its kind's
remedy (``remedies``): a finding, formatted at once and queued for the plugin to drain at the end of
each phase.

Those modules, and the ones that name, explain and advise, are imported on first use: a run without
such events never loads them, and every module loaded makes the whole run a little slower (measured on
the benchmark suite).
"""

from __future__ import annotations

import functools
import sys
import threading
import types
import weakref
from collections.abc import Mapping
from types import CodeType, FrameType
from typing import TYPE_CHECKING, Any

from asyncmock_guard import _event_loop, _frames
from asyncmock_guard._config import UserEntries
from asyncmock_guard._construction import ConstructionWatch, DataConstruction, PatchSite
from asyncmock_guard._dropped import DroppedCoroutines
from asyncmock_guard._errors import InternalErrors
from asyncmock_guard._findings import Finding, FindingKind, FindingQueue, Location
from asyncmock_guard._instrumentation import CoroutineRecord, Instrumentation

if TYPE_CHECKING:
    from asyncmock_guard._binding import Scope
    from asyncmock_guard._building_events import BuildingEvents, ExplicitAsyncMock
    from asyncmock_guard._edits import Edit
    from asyncmock_guard._loop_events import LoopEvents, SchedulerMock
    from asyncmock_guard._mock_call_events import MockCallEvents
    from asyncmock_guard.remedies import Remedy

_MAX_FRAMES_TO_TEST = 32  # how far up from a mock call to look for the test function's frame


# The records below are plain classes, not dataclasses: a dataclass compiles its methods when the
# module is imported, and every pytest run with the guard pays for that (measured).
class TestContext:
    """The running test, as plain data: no pytest objects beyond the ``funcargs`` mapping.

    ``test_frame`` is the test function's frame, found at the first AsyncMock call of the call
    phase and released when that phase ends: its locals are where the test named its mocks.
    """

    __slots__ = ("codes", "failed", "funcargs", "is_async", "item", "mode", "nodeid", "phase", "test_frame")

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

    def __repr__(self) -> str:
        return f"TestContext({self.nodeid!r}, mode={self.mode!r}, phase={self.phase!r})"

    def runs(self, filename: str, function: str) -> bool:
        """Whether a ``cr_origin`` entry (file and function name) is the test function's."""
        return any(code.co_filename == filename and code.co_name == function for code in self.codes)


class ScopeView:
    """The parts of a test's ``Scope``, before it is built: its frames' code and locals (None: not the
    running test's), its fixtures, its item, the live patches, and the names kept when its call ended."""

    __slots__ = ("frames", "funcargs", "item", "kept", "patches")

    def __init__(
        self,
        frames: list[tuple[CodeType, list[tuple[str, object]]]] | None,
        funcargs: Mapping[str, object] | None,
        item: object,
        patches: dict[int, PatchSite],
        kept: Scope | None,
    ) -> None:
        self.frames = frames
        self.funcargs = funcargs
        self.item = item
        self.patches = patches
        self.kept = kept


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
        self.outside_phase = "collection"
        self.queue = FindingQueue()
        self.errors = errors if errors is not None else InternalErrors()  # shared with the plugin
        self._tests_by_function: dict[tuple[str, str], tuple[str, str]] = {}
        # Names a test used, kept past its call phase only while it left unawaited coroutines behind.
        self._names_after_call: dict[str, Scope] = {}
        # The mocks that patches made during the running test (or a wider fixture): how each was made.
        self._patches: dict[int, tuple[weakref.ref[Any], PatchSite, str | None]] = {}  # ..., and its test
        # AsyncMocks assigned to sync members, by id (checked against the weak reference).
        self._explicit_async: dict[int, ExplicitAsyncMock] = {}
        # Coroutines already reported as a return_value/side_effect: (test, path, line, function).
        self._coroutines_as_values: set[tuple[str | None, str, int, str]] = set()
        self._scheduler_mocks: dict[int, SchedulerMock] = {}
        # Coroutines reported as never run (no loop, a mock scheduler, a loop nobody runs), by id: kept
        # alive so that each is reported once, and closed at the end if nothing started them meanwhile.
        self._reported_coroutines: dict[int, Any] = {}
        # Functions of fixtures with a scope wider than a test, by (file, name): what they do is theirs.
        self._wide_fixtures: dict[tuple[str, str], str] = {}
        # Lines that make a mock with a data spec: whether they pass it positionally (see the method).
        self._positional_spec_lines: dict[tuple[str, int, str], bool] = {}
        self.instrumentation = Instrumentation(self)
        self.construction = ConstructionWatch(self)
        self.dropped = DroppedCoroutines(self)

    def install(self) -> None:
        self.instrumentation.install()
        self.construction.install()

    def uninstall(self) -> None:
        self.construction.uninstall()
        self.instrumentation.uninstall()
        self._explicit_async.clear()
        self._scheduler_mocks.clear()
        self.close_reported_coroutines()

    def close_reported_coroutines(self) -> None:
        """Close the reported coroutines that nothing started: they were reported once, and closing an
        unstarted coroutine runs none of its code and keeps Python from warning about it again."""
        reported, self._reported_coroutines = self._reported_coroutines, {}
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
        context = self.context = TestContext(nodeid, codes, mode, funcargs, is_async=is_async, item=item)
        for code in context.codes:
            self._tests_by_function[(code.co_filename, code.co_name)] = (context.nodeid, context.mode)
        return context

    def end_call_phase(self) -> None:
        """Release the test's frame; keep its names only if its coroutines may still be reported."""
        context = self.context
        if context is None or context.test_frame is None:
            return
        if self.instrumentation.unsettled(context.nodeid) > 0:
            kept = self._scope(None, context.nodeid)
            # Names and ids only: holding the objects themselves would keep the test's coroutines alive.
            kept.values = {}
            self._names_after_call[context.nodeid] = kept
        context.test_frame = None

    def leave_test(self, unsettled: int) -> None:
        context = self.context
        if context is not None and unsettled <= 0 and self._names_after_call:
            self._names_after_call.pop(context.nodeid, None)
        if self._explicit_async:
            self._explicit_async = {k: v for k, v in self._explicit_async.items() if v.mock() is not None}
        if self._patches:  # this test's are done with; a wider fixture's stay while they live
            nodeid = context.nodeid if context is not None else None
            self._patches = {k: v for k, v in self._patches.items() if v[0]() is not None and v[2] != nodeid}
        self.context = None
        self.outside_phase = "between tests"

    def _settle_dropped(self) -> None:
        """Diagnose the coroutines dropped so far (``_dropped``) before anything reads the findings or adds
        one: the findings come in the order things happened."""
        if self.dropped.waiting:
            self.dropped.diagnose()

    def drain(self) -> list[Finding]:
        self._settle_dropped()
        return self.queue.drain()

    # --- naming scope ----------------------------------------------------------------------------
    def _find_test_frame(self, frame: FrameType | None) -> None:
        """Look up the stack for the test function; give up at pytest's own frames (a mock called
        from a task the test spawned has no test frame above it)."""
        context = self.context
        if context is None or context.test_frame is not None or context.phase != "call":
            return
        context.test_frame = self._test_frame_above(frame)

    def _test_frame_above(self, frame: FrameType | None) -> FrameType | None:
        context = self.context
        if context is None:
            return None
        for caller in _frames.frames_above(frame, _MAX_FRAMES_TO_TEST):
            # Not a wrapper's frame (``@patch``'s ``patched``, hypothesis's): the test's own locals.
            if caller.f_code in context.codes and not _frames.is_library_frame(caller):
                return caller
        return None

    def _live_test_frame(self, frame: FrameType | None) -> FrameType | None:
        """The test's frame as a finding is made: the one above ``frame`` (a test that runs several times in
        its call phase, as hypothesis's examples do, has a new frame each time), else the main thread's when
        a worker thread got here, else the one found at the test's first AsyncMock call."""
        context = self.context
        if context is None or context.phase != "call":
            return context.test_frame if context is not None else None
        found = self._test_frame_above(frame) if frame is not None else None
        if found is None and threading.current_thread() is not threading.main_thread():
            found = self._test_frame_above(sys._current_frames().get(threading.main_thread().ident or 0))
        return found or context.test_frame

    def _names(self, frame: FrameType | None, owner: str | None) -> dict[int, str]:
        """What the owning test calls each object (see ``_scope``)."""
        return self._scope(frame, owner).names

    def _scope(self, frame: FrameType | None, owner: str | None) -> Scope:
        """What the owning test names, and where to read how: its frame's locals (live), fixtures and
        ``self``, else the snapshot taken when its call phase ended."""
        return self._scope_from(self._scope_view(frame, owner))

    def _scope_view(self, frame: FrameType | None, owner: str | None) -> ScopeView:
        """What ``_scope`` reads, gathered with the modules already loaded (a finalizer asks for it)."""
        context = self.context
        if context is None or context.nodeid != owner:
            return ScopeView(None, None, None, self._patch_sites(), self._names_after_call.get(owner or ""))
        self._find_test_frame(frame)
        live = self._live_test_frame(frame)
        # the locals as they are now (a later read would see what the test assigned since)
        frames = [(live.f_code, list(live.f_locals.items()))] if live is not None else []
        kept = self._names_after_call.get(context.nodeid)
        return ScopeView(frames, context.funcargs, context.item, self._patch_sites(), kept)

    @staticmethod
    def _scope_from(view: ScopeView) -> Scope:
        from asyncmock_guard import _binding

        kept = view.kept
        if view.frames is None:  # not the running test's: what its call phase left, if anything
            return kept if kept is not None else _binding.Scope(patches=view.patches)
        scope = _binding.scope_of_locals(view.frames, view.funcargs, view.item, view.patches)
        if kept is not None:
            for key, name in kept.names.items():
                scope.names.setdefault(key, name)
                scope.origins.setdefault(key, kept.origins.get(key, "local"))
        return scope

    def _patch_sites(self) -> dict[int, PatchSite]:
        return {key: site for key, (mock, site, _) in self._patches.items() if mock() is not None}

    def patch_entered(self, mock: object, site: PatchSite) -> None:
        """A patch put a mock in place: how, for naming the mock and placing the fix (once per patch)."""
        owned = self._building_owner(None)
        if owned is not None:
            self._patches[id(mock)] = (weakref.ref(mock), site, owned[0])

    def _owner(self, frame: FrameType | None = None) -> tuple[str | None, str, str]:
        """Who the code running now belongs to: the running test, or, when ``frame`` shows a fixture of a
        wider scope at work (its setup or teardown), that fixture, which belongs to no one test."""
        context = self.context
        if context is None:
            return None, self.outside_phase, self.default_mode
        if frame is not None and context.phase != "call" and self._wide_fixtures:
            fixture = self._wide_fixture_on_stack(frame)[0]
            if fixture is not None:
                return None, fixture, self.default_mode
        return context.nodeid, context.phase, context.mode

    def fixture_set_up(self, label: str, codes: frozenset[CodeType]) -> None:
        """A fixture of a scope wider than a test is being set up: its code is recognised from now on."""
        for code in codes:
            if not _frames.is_library_location(code.co_filename):
                self._wide_fixtures[(code.co_filename, code.co_name)] = label

    def _wide_fixture_on_stack(self, frame: FrameType | None) -> tuple[str | None, FrameType | None]:
        """The wider-scoped fixture whose function is on the stack below pytest's frames, and its frame."""
        wide = self._wide_fixtures
        for caller in _frames.frames_above(frame, 2 * _MAX_FRAMES_TO_TEST):
            code = caller.f_code
            label = wide.get((code.co_filename, code.co_name))
            if label is not None:
                return label, caller
        return None, None

    def _add(self, finding: Finding) -> None:
        self.queue.add(finding, self.rootdir)

    @property
    def pending(self) -> list[Finding]:
        self._settle_dropped()
        return self.queue.pending

    @property
    def findings(self) -> list[Finding]:
        self._settle_dropped()
        return self.queue.all

    # --- instrumentation events ------------------------------------------------------------------
    def mock_coroutine_created(
        self, instrumentation: Instrumentation, mock: object, frame: FrameType | None
    ) -> CoroutineRecord | None:
        context = self.context
        if context is None or context.phase != "call":  # outside a test, or in a fixture: whose?
            if context is not None and context.mode == "off":
                return None
            owner, phase, mode = self._owner(frame)
        elif context.mode == "off":
            return None
        else:  # the hot path: a mock called during a test's call phase
            owner, phase, mode = context.nodeid, "call", context.mode
            if context.test_frame is None:
                self._find_test_frame(frame)
        record = CoroutineRecord(instrumentation, owner, phase, mode, frame, id(mock))
        if owner is None and context is not None:  # a wider-scoped fixture's: name its mocks while it runs
            record.names = self._fixture_names(frame)
        return record

    def _fixture_names(self, frame: FrameType | None) -> dict[int, str] | None:
        from asyncmock_guard import _binding

        fixture_frame = self._wide_fixture_on_stack(frame)[1]
        return _binding.scope_of([fixture_frame], None).names if fixture_frame is not None else None

    # --- how the test builds its mocks (construction watch events) ------------------------------
    def _building_owner(self, frame: FrameType | None = None) -> tuple[str | None, str, str] | None:
        owner, phase, mode = self._owner(frame)
        return None if mode == "off" else (owner, phase, mode)

    def _add_remedied(
        self,
        kind: FindingKind,
        owned: tuple[str | None, str, str],
        subject: str,
        where: Location,
        remedy: Remedy,
        *,
        operation: str | None = None,
    ) -> None:
        self._add_finding(
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

    def _add_finding(
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
    def loops(self) -> LoopEvents:
        from asyncmock_guard._loop_events import LoopEvents

        return LoopEvents(self)

    # the instrumentation's listener
    def coroutine_misused(
        self, record: CoroutineRecord, coroutine: object, operation: str, frame: FrameType
    ) -> str | None:
        self._settle_dropped()
        return self.mock_calls.coroutine_misused(record, coroutine, operation, frame)

    def coroutine_never_awaited(
        self, coroutine: types.CoroutineType[Any, Any, Any], record: CoroutineRecord | None
    ) -> bool:
        return self.dropped.dropped(coroutine, record)  # a finalizer: decided now, diagnosed at the next drain

    def mock_dropped(self, mock: object, record: CoroutineRecord, view: ScopeView) -> None:
        self.mock_calls.mock_never_awaited(mock, record, self._scope_from(view))

    def function_dropped(
        self,
        qualname: str,
        where: Location,
        owned: tuple[str | None, str, str],
        known_call_site: bool,
        running: str | None,
    ) -> None:
        self.mock_calls.function_never_awaited(qualname, where, owned, known_call_site=known_call_site, running=running)

    # the construction watch's listener
    def spec_written_positionally(self, mock_class: type, frame: FrameType) -> bool:
        return self.building.spec_written_positionally(mock_class, frame)

    def spec_is_data(self, mock_class: type, spec: object, frame: FrameType) -> None:
        self._settle_dropped()
        self.building.spec_is_data(mock_class, spec, frame)

    def data_mock_awaited(
        self, parent: object, construction: DataConstruction, frame: FrameType, *, at_construction: type | None
    ) -> None:
        self._settle_dropped()
        self.building.data_mock_awaited(parent, construction, frame, at_construction=at_construction)

    def coroutine_as_return_value(
        self, mock: object | None, slot: str, value: object, frame: FrameType, *, at_construction: type | None
    ) -> None:
        self._settle_dropped()
        self.building.coroutine_as_return_value(mock, slot, value, frame, at_construction=at_construction)

    def async_mock_assigned(self, parent: object, name: str, value: object, frame: FrameType) -> None:
        self._settle_dropped()
        self.building.async_mock_assigned(parent, name, value, frame)

    def async_mock_patched(
        self, target: object, attribute: str, original: object, mock: object, where: Location, *, decorated: bool
    ) -> None:
        self._settle_dropped()
        self.building.async_mock_patched(target, attribute, original, mock, where, decorated=decorated)

    def scheduler_mock_made(self, mock: object, frame: FrameType | None) -> None:
        self.loops.scheduler_mock_made(mock, frame)

    def scheduler_mock_patched(self, mock: object, patched: str, where: Location, *, decorated: bool) -> None:
        self.loops.scheduler_mock_patched(mock, patched, where, decorated=decorated)

    # what the plugin asks at the end of each phase
    def explain_failure(self, error: BaseException) -> None:
        """Called with the exception a test phase failed with, before pytest formats it."""
        self._settle_dropped()
        self.building.explain_failure(error)

    @property
    def watches_schedulers(self) -> bool:
        return bool(self._scheduler_mocks)

    def check_scheduler_mocks(self, *, test_ended: bool) -> None:
        self._settle_dropped()
        self.loops.check_scheduler_mocks(test_ended=test_ended)

    def check_patched_mocks(self) -> None:
        if self._patches:
            self._settle_dropped()
            self.loops.check_patched_mocks()

    def check_idle_loop(self) -> None:
        """At the end of a sync test: tasks left on a loop that nobody runs (see ``LoopEvents``)."""
        if _event_loop.idle_loop() is not None:
            self._settle_dropped()
            self.loops.check_idle_loop()

    def internal_error(self, error: BaseException) -> None:
        self.errors.record(error)
