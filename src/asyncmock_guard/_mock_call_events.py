"""Events about one coroutine: an AsyncMock call's coroutine used as a value or dropped, and a coroutine
function's coroutine dropped. Each becomes its diagnosis (``_diagnosis``) and its kind's remedy
(``remedies``); a misused or dropped coroutine of an AsyncMock the test assigned to a synchronous member is
that assignment's one ``async-mock-for-sync`` finding.

Loaded with the first such event: a run whose coroutines are all awaited never imports it.
"""

from __future__ import annotations

from types import FrameType
from typing import TYPE_CHECKING

from asyncmock_guard import _frames
from asyncmock_guard._findings import UNKNOWN_TEST, FindingKind, Location
from asyncmock_guard._instrumentation import CoroutineRecord, mock_of

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
        """Diagnosed now, while the line's frame names the mock; a finding only if the coroutine is not
        awaited after all (``_misuses``)."""
        from asyncmock_guard import _naming

        where = _frames.frame_location(frame)
        mock = mock_of(coroutine)
        scope = self.collector.owners.scope(frame, record.owner)
        misuses = self.collector.misuses
        if record.reported or misuses.noted(record):
            subject = _naming.subject_of(mock, scope.names)
            return self.misuse_note(subject, operation, where)
        diagnosis = self.diagnose_mock(mock, record, scope, where)
        happened = f"used the coroutine as a value ({operation}) at {where.short(self.collector.rootdir)}"

        def report() -> None:
            if record.reported:
                return
            record.reported = True
            if self.report_explicit_of(mock, record, happened, operation):
                return
            from asyncmock_guard.remedies import coroutine_misuse

            remedy = coroutine_misuse.remedy(diagnosis, operation)
            self.add_mock_finding(FindingKind.COROUTINE_MISUSE, record, diagnosis, remedy, operation)

        misuses.wait(record, report)  # only now: an internal error above leaves Python's own warning to speak
        return self.misuse_note(diagnosis.subject, operation, where)

    def misuse_note(self, subject: str, operation: str, where: Location) -> str:
        return (
            f"asyncmock-guard: `{subject}()` returned a coroutine that was used as a value"
            f" ({operation}) at {where.short(self.collector.rootdir)}: it must be awaited, or the mock must be a"
            " MagicMock; see the asyncmock-guard report for the fix."
        )

    def diagnose_mock(self, mock: object, record: CoroutineRecord, scope: Scope, where: Location) -> MockDiagnosis:
        from asyncmock_guard import _binding, _diagnosis

        if record.names is not None:  # a wider-scoped fixture's mock: its own names
            for key, name in record.names.items():
                scope.names.setdefault(key, name)
        explicit = self.explicit_for(mock)
        library, handed_over = record.library_caller, None
        if where.path == "<unknown>" and library is not None:  # a library called it from no line of the user's
            bound = _binding.bind(mock, scope)
            binding = bound.binding
            handed_over = _binding.handed_over(bound) or (binding.where if binding is not None else None)
            where = handed_over or where
        diagnosis = _diagnosis.diagnose_mock(
            mock,
            scope,
            evidence=explicit.evidence if explicit is not None else self.member_evidence(mock),
            where=where,
            call_site=record.where if handed_over is None else handed_over,
            # a library that calls the mock decides whether its result is awaited
            caller_is_async=record.caller_is_async
            if record.called_by is None
            else _frames.is_async_code(record.called_by[0]),
            explicit_at=explicit.where if explicit is not None else None,
            rootdir=self.collector.rootdir,
        )
        if library is not None:
            diagnosis.extra["called_by"] = library
            diagnosis.extra["handed_over"] = handed_over is not None
        return diagnosis

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
        library = diagnosis.extra.get("called_by")
        if isinstance(library, Location):
            message += self.called_by_library(
                library, diagnosis.where, handed_over=bool(diagnosis.extra["handed_over"])
            )
        evidence = diagnosis.evidence
        if evidence is not None and (remedy.bug_in or diagnosis.bug_in) == "test":
            message, fix = async_mock_for_sync.child(diagnosis.subject, evidence, message, fix)
            if not evidence.by_name_only:
                kind = FindingKind.ASYNC_MOCK_FOR_SYNC
        self.collector.add_finding(
            kind,
            (record.owner, record.phase, record.mode),
            subject=diagnosis.subject,
            where=diagnosis.where,
            message=message,
            fix=fix,
            operation=operation,
            change_at=remedy.change_at or diagnosis.change_at,
            bug_in=remedy.bug_in or diagnosis.bug_in,
            edits=remedy.edits,
            applicability=remedy.applicability,
        )

    def mock_never_awaited(self, mock: object, record: CoroutineRecord, scope: Scope) -> None:
        """An AsyncMock call's coroutine was finalized unawaited (``_dropped`` decided it is reported)."""
        from asyncmock_guard.remedies import never_awaited

        diagnosis = self.diagnose_mock(mock, record, scope, record.where)
        happened = f"called it at {record.where.short(self.collector.rootdir)} and never awaited the coroutine"
        if self.report_explicit_of(mock, record, happened, None):
            return
        self.add_mock_finding(FindingKind.NEVER_AWAITED, record, diagnosis, never_awaited.remedy(diagnosis), None)

    def called_by_library(self, library: Location, where: Location, *, handed_over: bool) -> str:
        """Who called the mock when a library did, not the user's code: the event loop (a callback), httpx (an
        event hook)..."""
        name = _frames.library_name(library.path)
        who = "The event loop" if name == "asyncio" else f"`{name}`"
        what = " as a callback" if name == "asyncio" else ""
        line = where.short(self.collector.rootdir)
        there = f"{line} is where your code handed it over" if handed_over else f"{line} is your code's nearest line"
        return f" {who} called it{what} ({self.library_place(library)}), not a line of yours: {there}."

    @staticmethod
    def library_place(library: Location) -> str:
        return f"`{library.function}`, {_frames.library_path(library.path)}:{library.line}"

    def task_never_ran(self, record: CoroutineRecord, coroutine: object) -> None:
        """An AsyncMock call's coroutine whose task the closing loop cancelled before it started: the call is
        recorded (``assert_called*`` passes), but it never ran (``assert_awaited*`` would fail)."""
        from asyncmock_guard.remedies import never_awaited

        if record.reported:
            return
        record.reported = True
        mock = mock_of(coroutine)
        diagnosis = self.diagnose_mock(mock, record, self.collector.owners.scope(None, record.owner), record.where)
        remedy = never_awaited.task_never_ran(diagnosis, self.test_line(coroutine, record.owner))
        self.add_mock_finding(FindingKind.NEVER_AWAITED, record, diagnosis, remedy, None)

    def test_line(self, coroutine: object, owner: str | None) -> tuple[Location, bool] | None:
        """The line of ``owner``'s test function that led to the coroutine (on its creation stack), else the
        test's last line (a callback made it after the test had returned); and whether the test is
        ``async def``."""
        from asyncmock_guard import _source

        context = self.collector.context
        if context is None or context.nodeid != owner:
            return None
        for filename, line, function in getattr(coroutine, "cr_origin", None) or ():
            if context.runs(filename, function):
                return Location(filename, line, function), context.is_async
        for code in context.codes:
            last = _source.last_line_of_function(code)
            if last is not None:
                return Location(code.co_filename, last, code.co_name), context.is_async
        return None

    def explicit_for(self, mock: object) -> ExplicitAsyncMock | None:
        """The record of ``mock`` as an explicit AsyncMock on a sync member (checked by identity: ids recur)."""
        explicit = self.collector.explicit_async.get(id(mock))
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

    def function_never_awaited(
        self,
        qualname: str,
        where: Location,
        owned: tuple[str | None, str, str],
        *,
        known_call_site: bool,
        running: str | None,
        called_by: Location | None = None,
    ) -> None:
        """A coroutine function's coroutine, made at ``where`` by ``owned``'s test, was finalized unawaited
        while the test ``running`` ran; ``called_by``: the installed library that called the function."""
        from asyncmock_guard.remedies import never_awaited

        owner, phase, _ = owned
        if called_by is not None:
            library, place = _frames.library_name(called_by.path), self.library_place(called_by)
            remedy = never_awaited.called_by_library(
                qualname, where, library, place, owner, self.collector.rootdir, defined_there=not known_call_site
            )
        else:
            remedy = never_awaited.function_dropped(
                qualname, where, known_call_site=known_call_site, nodeid=owner, rootdir=self.collector.rootdir
            )
        message = remedy.message
        if phase == UNKNOWN_TEST and running is not None:
            message += never_awaited.made_by_an_unknown_test(running)
        self.collector.add_finding(
            FindingKind.NEVER_AWAITED,
            owned,
            subject=qualname,
            where=where,
            message=message,
            fix=remedy.fix,
            change_at=remedy.change_at,
            bug_in=remedy.bug_in or "code",
            edits=remedy.edits,
            applicability=remedy.applicability,
        )
