"""Events about one coroutine: an AsyncMock call's coroutine used as a value or dropped, and a coroutine
function's coroutine dropped. Each becomes its diagnosis (``_diagnosis``) and its kind's remedy
(``remedies``); a misused or dropped coroutine of an AsyncMock the test assigned to a synchronous member is
that assignment's one ``async-mock-for-sync`` finding.

Loaded with the first such event: a run whose coroutines are all awaited never imports it.
"""

from __future__ import annotations

import sys
import types
from types import FrameType
from typing import TYPE_CHECKING, Any

from asyncmock_guard import _frames
from asyncmock_guard._findings import UNKNOWN_TEST, FindingKind, Location
from asyncmock_guard._instrumentation import EXECUTE_MOCK_CALL_CODE, CoroutineRecord, mock_of

if TYPE_CHECKING:
    from asyncmock_guard._binding import Scope
    from asyncmock_guard._building_events import ExplicitAsyncMock
    from asyncmock_guard._collector import Collector
    from asyncmock_guard._diagnosis import MockDiagnosis
    from asyncmock_guard._evidence import SyncEvidence
    from asyncmock_guard.remedies import Remedy


class MockCallEvents:
    """What the instrumentation saw a coroutine do, turned into findings on the collector."""

    def __init__(self, collector: Collector) -> None:
        self.collector = collector

    def coroutine_misused(
        self, record: CoroutineRecord, coroutine: object, operation: str, frame: FrameType
    ) -> str | None:
        from asyncmock_guard import _naming

        where = _frames.frame_location(frame)
        mock = mock_of(coroutine)
        scope = self.collector._scope(frame, record.owner)
        if record.reported:
            subject = _naming.subject_of(mock, scope.names)
            return self.misuse_note(subject, operation, where)
        diagnosis = self.diagnose_mock(mock, record, scope, where)
        record.reported = True  # only now: an internal error above leaves Python's own warning to speak
        note = self.misuse_note(diagnosis.subject, operation, where)
        happened = f"used the coroutine as a value ({operation}) at {where.short(self.collector.rootdir)}"
        if self.report_explicit_of(mock, record, happened, operation):
            return note
        from asyncmock_guard.remedies import coroutine_misuse

        self.add_mock_finding(
            FindingKind.COROUTINE_MISUSE, record, diagnosis, coroutine_misuse.remedy(diagnosis, operation), operation
        )
        return note

    def misuse_note(self, subject: str, operation: str, where: Location) -> str:
        return (
            f"asyncmock-guard: `{subject}()` returned a coroutine that was used as a value"
            f" ({operation}) at {where.short(self.collector.rootdir)}: it must be awaited, or the mock must be a"
            " MagicMock; see the asyncmock-guard report for the fix."
        )

    def diagnose_mock(self, mock: object, record: CoroutineRecord, scope: Scope, where: Location) -> MockDiagnosis:
        from asyncmock_guard import _diagnosis

        if record.names is not None:  # a wider-scoped fixture's mock: its own names
            for key, name in record.names.items():
                scope.names.setdefault(key, name)
        explicit = self.explicit_for(mock)
        return _diagnosis.diagnose_mock(
            mock,
            scope,
            evidence=explicit.evidence if explicit is not None else self.member_evidence(mock),
            where=where,
            call_site=record.where,
            caller_is_async=record.caller_is_async,
            explicit_at=explicit.where if explicit is not None else None,
            rootdir=self.collector.rootdir,
        )

    def add_mock_finding(
        self,
        kind: FindingKind,
        record: CoroutineRecord,
        diagnosis: MockDiagnosis,
        remedy: Remedy,
        operation: str | None,
    ) -> None:
        """The core finding, or, when the real member is known to be synchronous, ``async-mock-for-sync``
        (a bare name known to the table only adds a hint to the core finding)."""
        from asyncmock_guard.remedies import async_mock_for_sync

        message, fix = remedy.message, remedy.fix
        evidence = diagnosis.evidence
        if evidence is not None and diagnosis.bug_in == "test":
            message, fix = async_mock_for_sync.child(diagnosis.subject, evidence, message, fix)
            if not evidence.by_name_only:
                kind = FindingKind.ASYNC_MOCK_FOR_SYNC
        self.collector._add_finding(
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
            return self.mock_never_awaited(coroutine, record)
        return self.function_never_awaited(coroutine)

    def mock_never_awaited(self, coroutine: types.CoroutineType[Any, Any, Any], record: CoroutineRecord) -> bool:
        from asyncmock_guard.remedies import never_awaited

        mock = mock_of(coroutine)
        scope = self.collector._scope(sys._getframe(), record.owner)
        diagnosis = self.diagnose_mock(mock, record, scope, record.where)
        happened = f"called it at {record.where.short(self.collector.rootdir)} and never awaited the coroutine"
        if self.report_explicit_of(mock, record, happened, None):
            return True
        self.add_mock_finding(FindingKind.NEVER_AWAITED, record, diagnosis, never_awaited.remedy(diagnosis), None)
        return True

    def explicit_for(self, mock: object) -> ExplicitAsyncMock | None:
        """The record of ``mock`` as an explicit AsyncMock on a sync member (checked by identity: ids recur)."""
        explicit = self.collector._explicit_async.get(id(mock))
        return explicit if explicit is not None and explicit.mock() is mock else None

    def member_evidence(self, mock: object) -> SyncEvidence | None:
        """What is known of the real member an AsyncMock stands for: from its explicit assignment, or from
        its parent (spec, known-sync table, user entries)."""
        from asyncmock_guard import _evidence, _naming

        explicit = self.explicit_for(mock)
        if explicit is not None:
            return explicit.evidence
        parent, attribute = _naming.parent_of(mock), _naming.segment_of(mock)
        if parent is None or attribute is None:
            return None
        return _evidence.for_member(parent, attribute, self.collector.user_entries)

    def report_explicit_of(self, mock: object, record: CoroutineRecord, happened: str, operation: str | None) -> bool:
        """A misused or dropped coroutine of an AsyncMock the test assigned to a synchronous member is the
        one ``async-mock-for-sync`` finding of that assignment (at its line), not a second finding."""
        from asyncmock_guard import _advice

        explicit = self.explicit_for(mock)
        if explicit is None:
            return False
        if not explicit.reported:
            explicit.reported = True
            # Only a bare name leaves room for a real coroutine function that the code forgot to await.
            maybe_async = explicit.evidence.by_name_only
            alternatives = _advice.missing_await(mock, record.where, self.collector.rootdir) if maybe_async else []
            self.collector.building.report_explicit(explicit, happened, operation, alternatives)
        return True

    def function_never_awaited(self, coroutine: types.CoroutineType[Any, Any, Any]) -> bool:

        code = coroutine.cr_code
        if code is EXECUTE_MOCK_CALL_CODE:
            return False  # an AsyncMock call the guard did not watch (a test in 'off' mode)
        created = self.created(coroutine)
        if created is None:
            return False
        where, (owner, phase, mode), known_call_site = created
        qualname = getattr(coroutine, "__qualname__", code.co_name)
        if (owner, where.path, where.line, qualname) in self.collector._coroutines_as_values:
            return True  # reported already, where the test made it a mock's return value
        from asyncmock_guard.remedies import never_awaited

        remedy = never_awaited.function_dropped(
            qualname, where, known_call_site=known_call_site, nodeid=owner, rootdir=self.collector.rootdir
        )
        message = remedy.message
        context = self.collector.context
        if phase == UNKNOWN_TEST and context is not None:
            message += never_awaited.made_by_an_unknown_test(context.nodeid)
        self.collector._add_finding(
            FindingKind.NEVER_AWAITED,
            (owner, phase, mode),
            subject=qualname,
            where=where,
            message=message,
            fix=remedy.fix,
            change_at=remedy.change_at,
            bug_in=remedy.bug_in or "code",
            edits=remedy.edits,
            applicability=remedy.applicability,
        )
        return True

    def created(
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
            owned = self.owner_from_origin(origin)
        else:
            if _frames.is_library_location(code.co_filename):
                return None
            where = Location(code.co_filename, code.co_firstlineno, code.co_name)
        if owned is None:  # nothing on the creation stack says: the test running now, if it is recent
            owned = self.collector._owner()
            if owned[0] is not None and self.collector.instrumentation.finalizing_old_garbage:
                owned = (None, UNKNOWN_TEST, self.collector.default_mode)  # any earlier test may have made it
        if owned[2] == "off":
            return None
        return where, owned, bool(origin)

    def owner_from_origin(self, origin: tuple[tuple[str, int, str], ...]) -> tuple[str | None, str, str] | None:
        """The test, or wider-scoped fixture, whose function is on the creation stack (innermost first):
        the current test, else the latest test of that function; None if none is."""
        context = self.collector.context
        for filename, _, function in origin:
            if context is not None and context.runs(filename, function):
                return context.nodeid, "call", context.mode
            known = self.collector._tests_by_function.get((filename, function))
            if known is not None:
                return known[0], "call", known[1]
            fixture = self.collector._wide_fixtures.get((filename, function))
            if fixture is not None:
                return None, fixture, self.collector.default_mode
        return None
