"""The one registry of mutable state: which test is running, and the findings made so far.

The plugin tells the collector when each test phase starts and ends; the instrumentation tells it
what coroutines do. The collector turns those events into findings (with ``_naming`` and
``_advice``), formatted at once, and queues them for the plugin to drain at the end of each phase.

The modules that name, explain and advise (``_naming``, ``_evidence``, ``_source``, ``_advice``) are
imported by the methods that make findings, on first use: a run without findings never loads them,
and every module loaded makes the whole run a little slower (measured on the benchmark suite).
"""

from __future__ import annotations

import ast
import sys
import types
import weakref
from collections.abc import Mapping
from types import CodeType, FrameType
from typing import TYPE_CHECKING, Any

from asyncmock_guard import _event_loop, _frames
from asyncmock_guard._config import UserEntries
from asyncmock_guard._construction import ConstructionWatch, DataConstruction, PatchSite
from asyncmock_guard._errors import InternalErrors
from asyncmock_guard._findings import Finding, FindingKind, Location
from asyncmock_guard._instrumentation import EXECUTE_MOCK_CALL_CODE, CoroutineRecord, Instrumentation, add_note

if TYPE_CHECKING:
    from asyncmock_guard import _advice
    from asyncmock_guard._binding import Scope
    from asyncmock_guard._diagnosis import MockDiagnosis
    from asyncmock_guard._edits import Edit
    from asyncmock_guard._evidence import SyncEvidence
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


class ExplicitAsyncMock:
    """``parent.name = AsyncMock(...)`` on a member known (or thought) to be synchronous."""

    __slots__ = ("edits", "evidence", "mock", "mode", "owner", "phase", "reported", "subject", "where")

    def __init__(
        self,
        mock: weakref.ref[Any],
        where: Location,
        subject: str,
        evidence: SyncEvidence,
        *,
        owner: str | None,
        phase: str,
        mode: str,
    ) -> None:
        self.mock = mock
        self.where = where
        self.subject = subject
        self.evidence = evidence
        self.owner = owner
        self.phase = phase
        self.mode = mode
        self.reported = False
        self.edits: tuple[Edit, ...] = ()  # the fix of the assignment


class SchedulerMock:
    """A mock named like a scheduler (``create_task``, a mock loop's ``call_soon``...): the coroutines it
    was handed are looked at as tests end (``check_scheduler_mocks``)."""

    __slots__ = ("kept", "mock", "patch_site", "patched_name", "scanned")

    def __init__(self, mock: Any) -> None:
        self.mock = weakref.ref(mock)
        # Held until its test ends: mocks live in reference cycles, and a garbage collection in the
        # middle of the test would take the coroutines in its calls along before anyone looked.
        self.kept: Any = mock
        self.patch_site: tuple[Location, str] | None = None  # where it was patched, and the call as written
        self.patched_name: str | None = None  # ``asyncio.create_task`` in ``patch("asyncio.create_task")``
        self.scanned = 0  # how many of its calls have been looked at


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
        self.pending: list[Finding] = []
        self.findings: list[Finding] = []
        self._finding_index: dict[Finding, int] = {}  # where each finding is in ``findings``
        self._by_fix: dict[tuple[str | None, tuple[Edit, ...]], int] = {}  # a test's findings by their edits
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

    def drain(self) -> list[Finding]:
        drained, self.pending = self.pending, []
        return drained

    # --- naming scope ----------------------------------------------------------------------------
    def _find_test_frame(self, frame: FrameType | None) -> None:
        """Look up the stack for the test function; give up at pytest's own frames (a mock called
        from a task the test spawned has no test frame above it)."""
        context = self.context
        if context is None or context.test_frame is not None or context.phase != "call":
            return
        for caller in _frames.frames_above(frame, _MAX_FRAMES_TO_TEST):
            # Not a wrapper's frame (``@patch``'s ``patched``, hypothesis's): the test's own locals.
            if caller.f_code in context.codes and not _frames.is_library_frame(caller):
                context.test_frame = caller
                return

    def _names(self, frame: FrameType | None, owner: str | None) -> dict[int, str]:
        """What the owning test calls each object (see ``_scope``)."""
        return self._scope(frame, owner).names

    def _scope(self, frame: FrameType | None, owner: str | None) -> Scope:
        """What the owning test names, and where to read how: its frame's locals (live), fixtures and
        ``self``, else the snapshot taken when its call phase ended."""
        from asyncmock_guard import _binding

        context = self.context
        if context is None or context.nodeid != owner:
            kept = self._names_after_call.get(owner or "")
            return kept if kept is not None else _binding.Scope(patches=self._patch_sites())
        self._find_test_frame(frame)
        frames = [context.test_frame] if context.test_frame is not None else []
        scope = _binding.scope_of(frames, context.funcargs, context.item, self._patch_sites())
        kept = self._names_after_call.get(context.nodeid)
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
        """Queue a finding; the same finding made again by its test (a loop, hypothesis's examples) is
        counted on the first one instead."""
        index = self._finding_index.get(finding)
        if index is not None:
            self._replace(index, self.findings[index].again())
            return
        same_fix = self._by_fix.get((finding.nodeid, finding.edits)) if finding.edits else None
        if same_fix is not None and self.findings[same_fix] in self.pending:
            # one mis-built mock, used wrong in several places: one finding, one fix, that lists the uses
            known = self.findings[same_fix]
            also = f" The same fix covers its use at {finding.where.short(self.rootdir)} (`{finding.subject}`)."
            self._replace(same_fix, known.with_message(known.message + also))
            self._finding_index[finding] = same_fix
            return
        self._finding_index[finding] = len(self.findings)
        if finding.edits:
            self._by_fix[(finding.nodeid, finding.edits)] = len(self.findings)
        self.pending.append(finding)
        self.findings.append(finding)

    def _replace(self, index: int, finding: Finding) -> None:
        known = self.findings[index]
        self.findings[index] = finding
        self._finding_index[finding] = index
        self.pending = [finding if queued is known else queued for queued in self.pending]

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
        from asyncmock_guard import _naming

        fixture_frame = self._wide_fixture_on_stack(frame)[1]
        return _naming.scope_names([fixture_frame], None) if fixture_frame is not None else None

    def coroutine_misused(
        self, record: CoroutineRecord, coroutine: object, operation: str, frame: FrameType
    ) -> str | None:
        from asyncmock_guard import _naming

        where = _frames.frame_location(frame)
        mock = _mock_of(coroutine)
        scope = self._scope(frame, record.owner)
        if record.reported:
            subject = _naming.subject_of(mock, scope.names)
            return self._misuse_note(subject, operation, where)
        diagnosis = self._diagnose_mock(mock, record, scope, where)
        record.reported = True  # only now: an internal error above leaves Python's own warning to speak
        note = self._misuse_note(diagnosis.subject, operation, where)
        happened = f"used the coroutine as a value ({operation}) at {where.short(self.rootdir)}"
        if self._report_explicit_of(mock, record, happened, operation):
            return note
        from asyncmock_guard.remedies import coroutine_misuse

        self._add_mock_finding(
            FindingKind.COROUTINE_MISUSE, record, diagnosis, coroutine_misuse.remedy(diagnosis, operation), operation
        )
        return note

    def _misuse_note(self, subject: str, operation: str, where: Location) -> str:
        return (
            f"asyncmock-guard: `{subject}()` returned a coroutine that was used as a value"
            f" ({operation}) at {where.short(self.rootdir)}: it must be awaited, or the mock must be a"
            " MagicMock; see the asyncmock-guard report for the fix."
        )

    def _diagnose_mock(self, mock: object, record: CoroutineRecord, scope: Scope, where: Location) -> MockDiagnosis:
        from asyncmock_guard import _diagnosis

        if record.names is not None:  # a wider-scoped fixture's mock: its own names
            for key, name in record.names.items():
                scope.names.setdefault(key, name)
        explicit = self._explicit_for(mock)
        return _diagnosis.diagnose_mock(
            mock,
            scope,
            evidence=explicit.evidence if explicit is not None else self._member_evidence(mock),
            where=where,
            call_site=record.where,
            caller_is_async=record.caller_is_async,
            explicit_at=explicit.where if explicit is not None else None,
            rootdir=self.rootdir,
        )

    def _add_mock_finding(
        self,
        kind: FindingKind,
        record: CoroutineRecord,
        diagnosis: MockDiagnosis,
        remedy: Remedy,
        operation: str | None,
    ) -> None:
        """The core finding, or, when the real member is known to be synchronous, ``async-mock-for-sync``
        (a bare name known to the table only adds a hint to the core finding)."""
        from asyncmock_guard import _advice

        message, fix = remedy.message, remedy.fix
        evidence = diagnosis.evidence
        if evidence is not None and diagnosis.bug_in == "test":
            message, fix = _advice.async_mock_for_sync_child(diagnosis.subject, evidence, message, fix)
            if not evidence.by_name_only:
                kind = FindingKind.ASYNC_MOCK_FOR_SYNC
        self._add_finding(
            kind,
            (record.owner, record.phase, record.mode),
            subject=diagnosis.subject,
            where=diagnosis.where,
            message=message,
            fix=fix,
            operation=operation,
            change_at=remedy.change_at or diagnosis.change_at,
            bug_in=diagnosis.bug_in,
            edits=remedy.edits,
            applicability=remedy.applicability,
        )

    def coroutine_never_awaited(
        self, coroutine: types.CoroutineType[Any, Any, Any], record: CoroutineRecord | None
    ) -> bool:
        if record is not None:
            if record.reported:
                return True  # already reported as misuse: one report per coroutine
            return self._mock_never_awaited(coroutine, record)
        return self._function_never_awaited(coroutine)

    def _mock_never_awaited(self, coroutine: types.CoroutineType[Any, Any, Any], record: CoroutineRecord) -> bool:
        from asyncmock_guard.remedies import never_awaited

        mock = _mock_of(coroutine)
        scope = self._scope(sys._getframe(), record.owner)
        diagnosis = self._diagnose_mock(mock, record, scope, record.where)
        happened = f"called it at {record.where.short(self.rootdir)} and never awaited the coroutine"
        if self._report_explicit_of(mock, record, happened, None):
            return True
        self._add_mock_finding(FindingKind.NEVER_AWAITED, record, diagnosis, never_awaited.remedy(diagnosis), None)
        return True

    def _explicit_for(self, mock: object) -> ExplicitAsyncMock | None:
        """The record of ``mock`` as an explicit AsyncMock on a sync member (checked by identity: ids recur)."""
        explicit = self._explicit_async.get(id(mock))
        return explicit if explicit is not None and explicit.mock() is mock else None

    def _member_evidence(self, mock: object) -> SyncEvidence | None:
        """What is known of the real member an AsyncMock stands for: from its explicit assignment, or from
        its parent (spec, known-sync table, user entries)."""
        from asyncmock_guard import _evidence, _naming

        explicit = self._explicit_for(mock)
        if explicit is not None:
            return explicit.evidence
        parent, attribute = _naming.parent_of(mock), _naming.segment_of(mock)
        if parent is None or attribute is None:
            return None
        return _evidence.for_member(parent, attribute, self.user_entries)

    def _report_explicit_of(self, mock: object, record: CoroutineRecord, happened: str, operation: str | None) -> bool:
        """A misused or dropped coroutine of an AsyncMock the test assigned to a synchronous member is the
        one ``async-mock-for-sync`` finding of that assignment (at its line), not a second finding."""
        from asyncmock_guard import _advice

        explicit = self._explicit_for(mock)
        if explicit is None:
            return False
        if not explicit.reported:
            explicit.reported = True
            # Only a bare name leaves room for a real coroutine function that the code forgot to await.
            maybe_async = explicit.evidence.by_name_only
            alternatives = _advice.missing_await(mock, record.where, self.rootdir) if maybe_async else []
            self._report_explicit(explicit, happened, operation, alternatives)
        return True

    def _report_explicit(
        self,
        explicit: ExplicitAsyncMock,
        happened: str | None,
        operation: str | None,
        alternatives: list[str] | None = None,
    ) -> None:
        """The finding for an explicit ``parent.member = AsyncMock(...)``; a spec-is-data finding for the
        same line (``AsyncMock(rows)``) is folded into it: its fix replaces both."""
        from asyncmock_guard import _advice
        from asyncmock_guard.remedies import async_mock_for_sync

        also_data = [
            f
            for f in self.pending
            if f.kind is FindingKind.SPEC_IS_DATA and f.nodeid == explicit.owner and f.where == explicit.where
        ]
        for finding in also_data:
            self.pending.remove(finding)
            self.findings.remove(finding)
        message, fix = _advice.async_mock_for_sync_assigned(
            explicit.subject, explicit.evidence, explicit.where, happened=happened, rootdir=self.rootdir
        )
        if also_data:
            message += " Its positional argument is taken as the spec, not the return value, too."
        if alternatives and explicit.evidence.by_name_only:
            fix = "\n".join([fix, *alternatives])
        remedy = async_mock_for_sync.with_edits(message, fix, explicit.edits, self.rootdir)
        owned = (explicit.owner, explicit.phase, explicit.mode)
        self._add_remedied(
            FindingKind.ASYNC_MOCK_FOR_SYNC, owned, explicit.subject, explicit.where, remedy, operation=operation
        )

    # --- how the test builds its mocks (construction watch events) ------------------------------
    def _building_owner(self, frame: FrameType | None = None) -> tuple[str | None, str, str] | None:
        owner, phase, mode = self._owner(frame)
        return None if mode == "off" else (owner, phase, mode)

    def spec_written_positionally(self, mock_class: type, frame: FrameType) -> bool:
        """Whether the test's line calls ``mock_class`` with a positional argument (``AsyncMock(rows)``): the
        construction hook sees the spec, not how it was written. Unknown (no source) counts as no."""
        from asyncmock_guard import _source

        code = frame.f_code
        key = (code.co_filename, frame.f_lineno, mock_class.__name__)
        known = self._positional_spec_lines.get(key)
        if known is None:  # a fixture makes its mocks on the same line for every test: read it once
            known = _source.call_at(key[0], key[1], key[2], positional=True) is not None
            self._positional_spec_lines[key] = known
        return known

    def spec_is_data(self, mock_class: type, spec: object, frame: FrameType) -> None:
        from asyncmock_guard import _source
        from asyncmock_guard.remedies import spec_is_data

        owned = self._building_owner(frame)
        if owned is None:
            return
        where = _frames.frame_location(frame)
        site = _source.call_at(where.path, where.line, mock_class.__name__, positional=True)
        subject = site.target if site is not None and site.target else f"{mock_class.__name__}(...)"
        remedy = spec_is_data.remedy(site, mock_class.__name__, spec, subject, where, rootdir=self.rootdir)
        self._add_remedied(FindingKind.SPEC_IS_DATA, owned, subject, where, remedy)

    def data_mock_awaited(
        self, parent: object, construction: DataConstruction, frame: FrameType, *, at_construction: type | None
    ) -> None:
        from asyncmock_guard import _naming, _source
        from asyncmock_guard.remedies import spec_is_data

        owned = self._building_owner(frame)
        if owned is None:
            return
        if parent is not None:
            subject = f"{_naming.subject_of(parent, self._names(frame, owned[0]))}.return_value"
        else:
            here = _frames.frame_location(frame)
            site = _source.call_at(here.path, here.line, at_construction.__name__ if at_construction else "")
            subject = f"{site.target}.return_value" if site is not None and site.target else "return_value"
        where = construction.where
        site = _source.call_at(where.path, where.line, construction.class_name, positional=True)
        remedy = spec_is_data.data_as_awaited_result(site, construction, subject, where, self.rootdir)
        self._add_remedied(FindingKind.SPEC_IS_DATA, owned, subject, where, remedy)

    def coroutine_as_return_value(
        self, mock: object | None, slot: str, value: object, frame: FrameType, *, at_construction: type | None
    ) -> None:
        from asyncmock_guard import _naming, _source
        from asyncmock_guard.remedies import coroutine_as_return_value

        owned = self._building_owner(frame)
        if owned is None:
            return
        where = _frames.frame_location(frame)
        record = getattr(value, "_self_record", None)
        if isinstance(record, CoroutineRecord):
            record.reported = True
        code = getattr(value, "cr_code", None)
        if code is not None:
            qualname = getattr(value, "__qualname__", code.co_name)
            self._coroutines_as_values.add((owned[0], where.path, where.line, qualname))
        if mock is not None:
            subject = _naming.subject_of(mock, self._names(frame, owned[0]))
            site = None
        else:
            site = _source.call_at(where.path, where.line, at_construction.__name__ if at_construction else "")
            subject = site.target if site is not None and site.target else "AsyncMock(...)"
        remedy = coroutine_as_return_value.remedy(where, site, subject, slot, value, rootdir=self.rootdir)
        self._add_remedied(FindingKind.COROUTINE_AS_RETURN_VALUE, owned, subject, where, remedy, operation=slot)

    def async_mock_assigned(self, parent: object, name: str, value: object, frame: FrameType) -> None:
        from asyncmock_guard import _evidence, _naming, _source
        from asyncmock_guard._known_sync import Returns
        from asyncmock_guard.remedies import async_mock_for_sync

        owned = self._building_owner(frame)
        if owned is None:
            return
        evidence = _evidence.for_member(parent, name, self.user_entries)
        if evidence is None:
            return
        owner, phase, mode = owned
        where = _frames.frame_location(frame)
        site = _source.call_at(where.path, where.line, "AsyncMock")
        written = site.target if site is not None and site.target and site.target.endswith(f".{name}") else None
        subject = written or f"{_naming.subject_of(parent, self._names(frame, owner))}.{name}"
        explicit = ExplicitAsyncMock(weakref.ref(value), where, subject, evidence, owner=owner, phase=phase, mode=mode)
        if evidence.returns in (Returns.VALUE, Returns.ASYNC_CONTEXT_MANAGER):
            explicit.edits = async_mock_for_sync.assigned_edits(where, evidence)
        self._explicit_async[id(value)] = explicit
        if evidence.firm:
            explicit.reported = True
            self._report_explicit(explicit, None, None)

    def async_mock_patched(
        self, target: object, attribute: str, original: object, mock: object, where: Location, *, decorated: bool
    ) -> None:
        from asyncmock_guard import _evidence, _source
        from asyncmock_guard.remedies import async_mock_for_sync

        owned = self._building_owner(sys._getframe())
        if owned is None:
            return
        evidence = _evidence.for_patched(target, attribute, original, self.user_entries)
        if evidence is None:
            return
        if isinstance(target, types.ModuleType):
            subject = attribute  # like the mock patch("pkg.mod.send_email") makes: send_email
        else:
            subject = f"{(target if isinstance(target, type) else type(target)).__name__}.{attribute}"
        call = None
        site = _source.patch_call(where.path, where.line, attribute, decorated=decorated)
        if site is not None:
            line, call, written = site
            where = Location(where.path, line, where.function)
            subject = written or subject
        remedy = async_mock_for_sync.patched(subject, evidence, where, call, rootdir=self.rootdir)
        # Its coroutines, if later dropped or misused, are this same finding (see _merge_with_sync_evidence).
        explicit = ExplicitAsyncMock(
            weakref.ref(mock), where, subject, evidence, owner=owned[0], phase=owned[1], mode=owned[2]
        )
        explicit.reported = True
        self._explicit_async[id(mock)] = explicit
        self._add_remedied(FindingKind.ASYNC_MOCK_FOR_SYNC, owned, subject, where, remedy)

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
    def explain_failure(self, error: BaseException) -> None:
        """Called with the exception a test phase failed with, before pytest formats it."""
        seen: set[int] = set()
        current: BaseException | None = error
        while current is not None and id(current) not in seen:
            seen.add(id(current))
            if isinstance(current, TypeError):
                self._explain_type_error(current)
            elif isinstance(current, RuntimeError):
                self._explain_runtime_error(current)
            current = current.__cause__ or current.__context__

    def _explain_type_error(self, error: TypeError) -> None:
        owned = self._building_owner()
        if owned is None:
            return
        entries = _frames.traceback_entries(error)
        if not entries:
            return
        last = entries[-1]
        if _frames.is_await_instruction(last.tb_frame.f_code, last.tb_lasti):
            self._awaited_sync_mock(error, last, owned, self._names_in_traceback(entries, owned[0]))
            return
        for index, entry in enumerate(entries[:-1]):
            nxt = entries[index + 1]
            if _frames.is_library_frame(entry.tb_frame) or not _frames.is_mock_module(nxt.tb_frame):
                continue
            path, line = entry.tb_frame.f_code.co_filename, entry.tb_lineno
            for finding in self.findings:
                if (
                    finding.kind is FindingKind.SPEC_IS_DATA
                    and (finding.where.path, finding.where.line) == (path, line)
                    and finding.nodeid == owned[0]
                ):
                    add_note(error, f"asyncmock-guard: {finding.message}")
                    return

    def _names_in_traceback(self, entries: list[types.TracebackType], owner: str | None) -> dict[int, str]:
        """Names from the test function's frame in a traceback (the test may never have called an AsyncMock)."""
        from asyncmock_guard import _naming

        context = self.context
        if context is None or context.nodeid != owner:
            return self._names(None, owner)
        frames = [entry.tb_frame for entry in entries if entry.tb_frame.f_code in context.codes]
        names = _naming.scope_names(frames[-1:], context.funcargs)
        for key, name in self._names(None, owner).items():
            names.setdefault(key, name)
        return names

    def _awaited_sync_mock(
        self,
        error: TypeError,
        entry: types.TracebackType,
        owned: tuple[str | None, str, str],
        names: Mapping[int, str],
    ) -> None:
        from asyncmock_guard import _binding, _naming, _source
        from asyncmock_guard.remedies import awaited_sync_mock

        frame = entry.tb_frame
        expression = _source.awaited_expression(frame.f_code, entry.tb_lasti, entry.tb_lineno)
        if expression is None:
            return
        called = isinstance(expression, ast.Call)
        target = _source.evaluate_chain(expression.func if isinstance(expression, ast.Call) else expression, frame)
        if not _naming.is_mock(target) or _naming.is_async_mock(target):
            return
        where = Location(frame.f_code.co_filename, entry.tb_lineno, _frames.code_name(frame.f_code))
        subject = _naming.subject_of(target, names)
        scope = self._scope(None, owned[0])
        for key, name in names.items():
            scope.names.setdefault(key, name)
        remedy = awaited_sync_mock.remedy(target, scope, where, expression, called=called, rootdir=self.rootdir)
        subject = _binding.bind(target, scope).subject
        add_note(error, f"asyncmock-guard: {remedy.message}")
        self._add_remedied(FindingKind.AWAITED_SYNC_MOCK, owned, subject, where, remedy, operation="await")

    def _function_never_awaited(self, coroutine: types.CoroutineType[Any, Any, Any]) -> bool:

        code = coroutine.cr_code
        if code is EXECUTE_MOCK_CALL_CODE:
            return False  # an AsyncMock call the guard did not watch (a test in 'off' mode)
        created = self._created(coroutine)
        if created is None:
            return False
        where, (owner, phase, mode), known_call_site = created
        qualname = getattr(coroutine, "__qualname__", code.co_name)
        if (owner, where.path, where.line, qualname) in self._coroutines_as_values:
            return True  # reported already, where the test made it a mock's return value
        from asyncmock_guard.remedies import never_awaited

        remedy = never_awaited.function_dropped(
            qualname, where, known_call_site=known_call_site, nodeid=owner, rootdir=self.rootdir
        )
        self._add_finding(
            FindingKind.NEVER_AWAITED,
            (owner, phase, mode),
            subject=qualname,
            where=where,
            message=remedy.message,
            fix=remedy.fix,
            change_at=remedy.change_at,
            bug_in=remedy.bug_in or "code",
            edits=remedy.edits,
            applicability=remedy.applicability,
        )
        return True

    def _created(
        self, coroutine: types.CoroutineType[Any, Any, Any]
    ) -> tuple[Location, tuple[str | None, str, str], bool] | None:
        """Where a coroutine (not an AsyncMock's) was created, by whom, and whether that place is its
        caller (``cr_origin``) or only its definition. None when it is not the user's to fix (made by
        asyncio, pytest, anyio...) or its test runs with the guard off."""
        code = coroutine.cr_code
        origin = getattr(coroutine, "cr_origin", None)
        owned = None
        if origin:
            if _frames.is_library_location(origin[0][0]):
                return None
            where = Location(*origin[0])
            owned = self._owner_from_origin(origin)
        else:
            if _frames.is_library_location(code.co_filename):
                return None
            where = Location(code.co_filename, code.co_firstlineno, code.co_name)
        if owned is None:  # nothing on the creation stack says: the test running now
            owned = self._owner()
        if owned[2] == "off":
            return None
        return where, owned, bool(origin)

    def _owner_from_origin(self, origin: tuple[tuple[str, int, str], ...]) -> tuple[str | None, str, str] | None:
        """The test, or wider-scoped fixture, whose function is on the creation stack (innermost first):
        the current test, else the latest test of that function; None if none is."""
        context = self.context
        for filename, _, function in origin:
            if context is not None and context.runs(filename, function):
                return context.nodeid, "call", context.mode
            known = self._tests_by_function.get((filename, function))
            if known is not None:
                return known[0], "call", known[1]
            fixture = self._wide_fixtures.get((filename, function))
            if fixture is not None:
                return None, fixture, self.default_mode
        return None

    # --- event loops: coroutines handed to a scheduler that will never run them -------------------
    def _hold_reported(self, coroutine: Any) -> None:
        """Keep a reported coroutine alive: collected later, it would be reported again as never-awaited."""
        real = _event_loop.unwrapped(coroutine)
        if _event_loop.is_unstarted(real):
            self._reported_coroutines[id(real)] = real

    def _is_reported(self, coroutine: Any) -> bool:
        return id(_event_loop.unwrapped(coroutine)) in self._reported_coroutines

    def _coroutine_identity(
        self, coroutine: Any, names: Mapping[int, str] | None
    ) -> tuple[str, Location, tuple[str | None, str, str], bool] | None:
        """What a coroutine handed to a scheduler is called, where it was made, its test, and whether an
        AsyncMock made it: then it is named by the mock's path (its record knows the rest), else by the
        coroutine function."""
        from asyncmock_guard import _binding

        record = getattr(coroutine, "_self_record", None)
        real = _event_loop.unwrapped(coroutine)
        if isinstance(record, CoroutineRecord):
            record.reported = record.settled = True
            scope = self._scope(None, record.owner)
            if names is not None:
                scope.names.update(names)
            owned = (record.owner, record.phase, record.mode)
            return _binding.bind(_mock_of(real), scope).subject, record.where, owned, True
        created = self._created(real)
        if created is None:
            return None
        where, owned, _ = created
        return getattr(real, "__qualname__", real.cr_code.co_name), where, owned, False

    def _test_line(self, entries: list[types.TracebackType]) -> _advice.TestLine | None:
        """The running test's line in a traceback (the call that led to the error)."""
        from asyncmock_guard import _advice

        context = self.context
        if context is None:
            return None
        for entry in reversed(entries):
            code = entry.tb_frame.f_code
            if code in context.codes:
                return _advice.TestLine(Location(code.co_filename, entry.tb_lineno, code.co_name), code.co_name)
        return None

    def _scheduling(self, frame: FrameType | None, where: Location, function: str) -> _advice.Scheduling:
        """How the line at ``where`` spells the asyncio ``function`` it calls, and where to patch it."""
        from asyncmock_guard import _advice, _source

        default = f"asyncio.{function}"
        site = _source.call_at(where.path, where.line, function)
        if site is None:
            return _advice.Scheduling(default, default)
        func = site.call.func
        target = default
        if isinstance(func, ast.Name) and frame is not None:
            module = frame.f_globals.get("__name__")
            target = f"{module}.{func.id}" if isinstance(module, str) else default
        elif isinstance(func, ast.Attribute) and frame is not None:
            owner = _source.evaluate_chain(func.value, frame)
            if isinstance(owner, types.ModuleType):
                target = f"{owner.__name__}.{func.attr}"
        extra = len(site.call.args) > 1 or bool(site.call.keywords)
        return _advice.Scheduling(site.text(func), target, extra_arguments=extra)

    def _explain_runtime_error(self, error: RuntimeError) -> None:
        """A sync test reached asyncio's scheduler with no loop: ``no-running-loop``, once, with the
        coroutine asyncio could not schedule (kept from being reported again as never-awaited)."""
        from asyncmock_guard import _advice

        if not _event_loop.is_no_loop_error(error):
            return
        failed = _event_loop.failed_scheduling(error)
        if failed is None:
            return
        frame = failed.user_entry.tb_frame
        owned = self._building_owner(frame)
        if owned is None:
            return
        # The function's plain name, as creation stacks (``cr_origin``) give it for the other findings
        # about the same coroutine, and the same on every Python version.
        where = Location(frame.f_code.co_filename, failed.user_entry.tb_lineno, frame.f_code.co_name)
        scheduling = self._scheduling(frame, where, failed.call)
        coroutine_name, from_mock = None, False
        if failed.coroutine is not None:
            names = self._names_in_traceback(failed.entries, owned[0])
            identity = self._coroutine_identity(failed.coroutine, names)
            if identity is not None:
                coroutine_name, from_mock = identity[0], identity[3]
            self._hold_reported(failed.coroutine)
        subject = coroutine_name or f"{scheduling.call}()"
        message, fix = _advice.no_running_loop(
            subject,
            coroutine_name,
            scheduling,
            where,
            test_line := self._test_line(failed.entries),
            nodeid=owned[0],
            rootdir=self.rootdir,
            from_mock=from_mock,
        )
        add_note(error, f"asyncmock-guard: {message} See the asyncmock-guard report for the fix.")
        self._add_loop_finding(owned, subject, where, message, fix=fix, test_line=test_line)

    def _add_loop_finding(
        self,
        owned: tuple[str | None, str, str],
        subject: str,
        where: Location,
        message: str,
        *,
        fix: str,
        test_line: _advice.TestLine | None,
    ) -> None:
        """``no-running-loop``: the test is what changes (async, or a closing scheduler patch), at its line."""
        message += (
            " (No edit is offered: which of the two fixes is right depends on what the test is about, whether"
            " what the task does matters to it.)"
        )
        change_at = test_line.where if test_line is not None else where
        self._add_finding(
            FindingKind.NO_RUNNING_LOOP,
            owned,
            subject=subject,
            where=where,
            message=message,
            fix=fix,
            change_at=change_at,
        )

    def check_idle_loop(self) -> None:
        """At the end of a sync test: tasks that its code scheduled on a loop that ``get_event_loop()``
        made for it (3.10 to 3.13) and nobody ran."""
        loop = _event_loop.idle_loop()
        if loop is None:
            return
        for coroutine in _event_loop.unstarted_tasks(loop):
            # Only what this test's own code scheduled (its function is on the creation stack): a task
            # that a wider-scoped async fixture left on its loop will run when that loop runs again.
            if not self._is_reported(coroutine) and self._made_by_running_test(coroutine):
                self._never_ran_on_idle_loop(coroutine)

    def _made_by_running_test(self, coroutine: Any) -> bool:
        """An AsyncMock's coroutine recorded for the running test, or one whose creation stack shows the
        running test's function."""
        record = getattr(coroutine, "_self_record", None)
        if isinstance(record, CoroutineRecord):
            return self.context is not None and record.owner == self.context.nodeid
        return self._test_line_of(coroutine) is not None

    def _never_ran_on_idle_loop(self, coroutine: Any) -> None:
        from asyncmock_guard import _advice

        identity = self._coroutine_identity(coroutine, None)
        if identity is None:
            return
        name, where, owned, from_mock = identity
        self._hold_reported(coroutine)
        function = "ensure_future" if "ensure_future" in _advice.source_line(where) else "create_task"
        scheduling = self._scheduling(None, where, function)
        message, fix = _advice.on_idle_loop(
            name,
            scheduling,
            where,
            test_line := self._test_line_of(coroutine),
            nodeid=owned[0],
            rootdir=self.rootdir,
            from_mock=from_mock,
        )
        self._add_loop_finding(owned, name, where, message, fix=fix, test_line=test_line)

    def _test_line_of(self, coroutine: Any) -> _advice.TestLine | None:
        """The running test's line that led to ``coroutine``'s creation, from its creation stack."""
        from asyncmock_guard import _advice

        context = self.context
        if context is None:
            return None
        record = getattr(coroutine, "_self_record", None)
        if isinstance(record, CoroutineRecord):  # an AsyncMock's: its caller, if that is the test
            code = record.caller_code
            if code is None or code not in context.codes:
                return None
            return _advice.TestLine(record.where, code.co_name)
        origin = getattr(_event_loop.unwrapped(coroutine), "cr_origin", None) or ()
        for filename, line, function in origin:
            if context.runs(filename, function):
                return _advice.TestLine(Location(filename, line, function), function)
        return None

    def scheduler_mock_made(self, mock: object, frame: FrameType | None) -> None:
        """A mock named like a scheduler was made: remember it, and find the test's frame for its names."""
        if self._building_owner(frame) is None:  # the guard is off for this test
            return
        context = self.context
        if context is not None and context.phase == "call" and context.test_frame is None:
            self._find_test_frame(frame)
        self._scheduler_mocks[id(mock)] = SchedulerMock(mock)

    def scheduler_mock_patched(self, mock: object, patched: str, where: Location, *, decorated: bool) -> None:
        """A scheduler was patched with a mock (``patch("asyncio.create_task")``): remember the patch as
        written, and what it patched (``asyncio.create_task``)."""
        from asyncmock_guard import _source

        entry = self._scheduler_mocks.get(id(mock))
        if entry is None or entry.mock() is not mock:
            if self._building_owner(sys._getframe()) is None:
                return
            entry = self._scheduler_mocks[id(mock)] = SchedulerMock(mock)
        entry.patched_name = patched
        site = _source.patch_call(where.path, where.line, patched.rpartition(".")[2], decorated=decorated)
        if site is not None:
            line, call, _ = site
            entry.patch_site = (Location(where.path, line, where.function), call)

    @property
    def watches_schedulers(self) -> bool:
        return bool(self._scheduler_mocks)

    def check_scheduler_mocks(self, *, test_ended: bool) -> None:
        """Coroutines that a mock scheduler was handed since the last look and that nothing started;
        when the test has ended, its mocks are no longer held."""
        for key, entry in list(self._scheduler_mocks.items()):
            mock = entry.mock()
            if test_ended:
                entry.kept = None
            if mock is None:
                del self._scheduler_mocks[key]
                continue
            calls = getattr(mock, "call_args_list", None)
            if not isinstance(calls, list):
                continue
            if len(calls) < entry.scanned:  # reset_mock()
                entry.scanned = 0
            for call in calls[entry.scanned :]:
                for coroutine in _event_loop.coroutines_in_call(call):
                    if _event_loop.is_unstarted(coroutine) and not self._is_reported(coroutine):
                        self._swallowed(mock, entry, coroutine, call)
            entry.scanned = len(calls)

    def check_patched_mocks(self) -> None:
        """As a test ends: the coroutines in the recorded calls of the mocks its patches made (and of their
        children) that nothing started were swallowed by that mock, and are this test's. Made deeper below
        the test than the creation stack CPython records, they would otherwise be finalized by a later
        garbage collection and blamed on whichever test runs then."""
        context = self.context
        if context is None or not self._patches:
            return
        for reference, site, owner in list(self._patches.values()):
            root = reference()
            if root is None or owner != context.nodeid:
                continue
            for mock in _mock_tree(root):
                for call in list(vars(mock).get("_mock_call_args_list") or ()):
                    for coroutine in _event_loop.coroutines_in_call(call):
                        if _event_loop.is_unstarted(coroutine) and not self._is_reported(coroutine):
                            self._swallowed(mock, self._patched_entry(mock, root, site), coroutine, call)

    def _patched_entry(self, mock: object, root: object, site: PatchSite) -> SchedulerMock:
        """The scheduler-like record of a patched mock that swallowed a coroutine: where it was patched."""
        from asyncmock_guard import _source

        entry = SchedulerMock(mock)
        entry.kept = None
        if mock is root:
            located = _source.patch_call(site.where.path, site.where.line, site.attribute, decorated=site.decorated)
            if located is not None:
                entry.patch_site = (Location(site.where.path, located[0], site.where.function), located[1])
        return entry

    def _swallowed(self, mock: object, entry: SchedulerMock, coroutine: Any, call: Any) -> None:
        from asyncmock_guard import _advice, _binding, _naming
        from asyncmock_guard.remedies import never_awaited

        identity = self._coroutine_identity(coroutine, None)
        if identity is None:
            return
        name, where, owned, from_mock = identity
        self._hold_reported(coroutine)
        bound = _binding.bind(mock, self._scope(None, owned[0]))
        handle = bound.subject if bound.binding is not None and bound.binding.how != _binding.UNNAMED else None
        scheduler = entry.patched_name or handle or _naming.subject_of(mock, self._names(None, owned[0]))
        args, kwargs = call.args, call.kwargs
        scheduling = _advice.Scheduling(
            scheduler,
            scheduler,
            extra_arguments=len(args) > 1 or bool(kwargs),
            coroutine_first=bool(args) and args[0] is coroutine,
        )
        remedy = never_awaited.swallowed(
            name,
            scheduler,
            scheduling,
            where,
            entry.patch_site,
            handle=handle,
            configured=_return_value_matters(mock),
            rootdir=self.rootdir,
            from_mock=from_mock,
        )
        self._add_finding(
            FindingKind.NEVER_AWAITED,
            owned,
            subject=name,
            where=where,
            message=remedy.message,
            fix=remedy.fix,
            change_at=remedy.change_at,
            edits=remedy.edits,
            applicability=remedy.applicability,
        )

    def internal_error(self, error: BaseException) -> None:
        self.errors.record(error)


def _mock_tree(root: object, limit: int = 256) -> list[object]:
    """``root`` and the mocks below it (children, return values), read from their dicts, at most ``limit``."""
    from asyncmock_guard import _naming

    found: list[object] = []
    pending = [root]
    seen: set[int] = set()
    while pending and len(found) < limit:
        mock = pending.pop()
        if id(mock) in seen or not _naming.is_mock(mock):
            continue
        seen.add(id(mock))
        found.append(mock)
        state = vars(mock)
        children = state.get("_mock_children")
        if isinstance(children, dict):
            pending.extend(children.values())
        pending.append(state.get("_mock_return_value"))
    return found


def _return_value_matters(mock: object) -> bool:
    """Whether what the mock returns was configured by the test or used by the code (a value, or a mock
    with members or a return value of its own): a side_effect that replaces it must return ``DEFAULT``."""
    from asyncmock_guard import _naming

    returned = _naming.configured_return_value(mock)
    if returned is _naming.DEFAULT:
        return False
    if not _naming.is_mock(returned):
        return True
    state = vars(returned)
    return bool(state.get("_mock_children")) or (
        "_mock_return_value" in state and state["_mock_return_value"] is not _naming.DEFAULT
    )


def _mock_of(coroutine: object) -> object:
    """The AsyncMock an ``_execute_mock_call`` coroutine belongs to (its frame's ``self``)."""
    frame = getattr(coroutine, "cr_frame", None)
    return frame.f_locals.get("self") if frame is not None else None
