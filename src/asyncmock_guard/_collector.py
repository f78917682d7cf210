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
import traceback
import types
import weakref
from collections.abc import Mapping
from types import CodeType, FrameType
from typing import TYPE_CHECKING, Any

from asyncmock_guard import _frames
from asyncmock_guard._config import UserEntries
from asyncmock_guard._construction import ConstructionWatch, DataConstruction
from asyncmock_guard._findings import Finding, FindingKind, Location
from asyncmock_guard._instrumentation import EXECUTE_MOCK_CALL_CODE, CoroutineRecord, Instrumentation, add_note

if TYPE_CHECKING:
    from asyncmock_guard._evidence import SyncEvidence

_MAX_INTERNAL_ERRORS = 20
_MAX_FRAMES_TO_TEST = 32  # how far up from a mock call to look for the test function's frame


# The records below are plain classes, not dataclasses: a dataclass compiles its methods when the
# module is imported, and every pytest run with the guard pays for that (measured).
class TestContext:
    """The running test, as plain data: no pytest objects beyond the ``funcargs`` mapping.

    ``test_frame`` is the test function's frame, found at the first AsyncMock call of the call
    phase and released when that phase ends: its locals are where the test named its mocks.
    """

    __slots__ = ("codes", "failed", "funcargs", "mode", "nodeid", "phase", "test_frame")

    def __init__(
        self,
        nodeid: str,
        codes: frozenset[CodeType],
        mode: str,  # "strict", "warn" or "off"
        funcargs: Mapping[str, object] | None = None,
    ) -> None:
        self.nodeid = nodeid
        self.codes = codes
        self.mode = mode
        self.funcargs = funcargs
        self.phase = "setup"
        self.test_frame: FrameType | None = None
        self.failed = False  # some phase of the test failed

    def __repr__(self) -> str:
        return f"TestContext({self.nodeid!r}, mode={self.mode!r}, phase={self.phase!r})"

    @property
    def active(self) -> bool:
        return self.mode != "off"


class ExplicitAsyncMock:
    """``parent.name = AsyncMock(...)`` on a member known (or thought) to be synchronous."""

    __slots__ = ("evidence", "mock", "mode", "owner", "phase", "reported", "subject", "where")

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


class Collector:
    """Receives instrumentation events and keeps the findings of the session."""

    def __init__(
        self, default_mode: str = "strict", rootdir: str | None = None, user_entries: UserEntries | None = None
    ) -> None:
        self.default_mode = default_mode
        self.rootdir = rootdir
        self.user_entries = user_entries if user_entries is not None else UserEntries()
        self.context: TestContext | None = None
        self.outside_phase = "collection"
        self.pending: list[Finding] = []
        self.findings: list[Finding] = []
        self.internal_errors: list[str] = []
        self.internal_error_count = 0
        self._tests_by_function: dict[tuple[str, str], tuple[str, str]] = {}
        # Names a test used, kept past its call phase only while it left unawaited coroutines behind.
        self._names_after_call: dict[str, dict[int, str]] = {}
        # AsyncMocks assigned to sync members, by id (checked against the weak reference).
        self._explicit_async: dict[int, ExplicitAsyncMock] = {}
        # Coroutines already reported as a return_value/side_effect: (test, path, line, function).
        self._coroutines_as_values: set[tuple[str | None, str, int, str]] = set()
        self.instrumentation = Instrumentation(self)
        self.construction = ConstructionWatch(self)

    def install(self) -> None:
        self.instrumentation.install()
        self.construction.install()

    def uninstall(self) -> None:
        self.construction.uninstall()
        self.instrumentation.uninstall()
        self._explicit_async.clear()

    # --- test lifecycle (called by the plugin) ---------------------------------------------------
    def enter_test(self, context: TestContext) -> None:
        self.context = context
        for code in context.codes:
            self._tests_by_function[(code.co_filename, code.co_name)] = (context.nodeid, context.mode)

    def end_call_phase(self) -> None:
        """Release the test's frame; keep its names only if its coroutines may still be reported."""
        context = self.context
        if context is None or context.test_frame is None:
            return
        if self.instrumentation.unsettled(context.nodeid) > 0:
            self._names_after_call[context.nodeid] = self._names(None, context.nodeid)
        context.test_frame = None

    def leave_test(self, unsettled: int) -> None:
        context = self.context
        if context is not None and unsettled <= 0:
            self._names_after_call.pop(context.nodeid, None)
        if self._explicit_async:
            self._explicit_async = {k: v for k, v in self._explicit_async.items() if v.mock() is not None}
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
        for _ in range(_MAX_FRAMES_TO_TEST):
            if frame is None or _frames.is_test_runner_frame(frame):
                return
            if frame.f_code in context.codes:
                context.test_frame = frame
                return
            frame = frame.f_back

    def _names(self, frame: FrameType | None, owner: str | None) -> dict[int, str]:
        """What the owning test calls each object: its frame's locals (live), fixtures, else a snapshot."""
        from asyncmock_guard import _naming

        context = self.context
        if context is None or context.nodeid != owner:
            return dict(self._names_after_call.get(owner or "", {}))
        self._find_test_frame(frame)
        frames = [context.test_frame] if context.test_frame is not None else []
        names = _naming.scope_names(frames, context.funcargs)
        for key, name in self._names_after_call.get(context.nodeid, {}).items():
            names.setdefault(key, name)
        return names

    def _owner(self) -> tuple[str | None, str, str]:
        context = self.context
        if context is None:
            return None, self.outside_phase, self.default_mode
        return context.nodeid, context.phase, context.mode

    def _add(self, finding: Finding) -> None:
        self.pending.append(finding)
        self.findings.append(finding)

    # --- instrumentation events ------------------------------------------------------------------
    def mock_coroutine_created(
        self, instrumentation: Instrumentation, mock: object, frame: FrameType | None
    ) -> CoroutineRecord | None:
        context = self.context
        if context is None:
            owner, phase, mode = None, self.outside_phase, self.default_mode
        elif context.mode == "off":
            return None
        else:
            owner, phase, mode = context.nodeid, context.phase, context.mode
            if context.test_frame is None and phase == "call":
                self._find_test_frame(frame)
        return CoroutineRecord(instrumentation, owner, phase, mode, caller=frame, mock_id=id(mock))

    def coroutine_misused(
        self, record: CoroutineRecord, coroutine: object, operation: str, frame: FrameType
    ) -> str | None:
        from asyncmock_guard import _advice, _naming

        where = _frames.frame_location(frame)
        mock = _mock_of(coroutine)
        names = self._names(frame, record.owner)
        subject = _naming.subject_of(mock, names)
        note = (
            f"asyncmock-guard: `{subject}()` returned a coroutine that was used as a value"
            f" ({operation}) at {where.short(self.rootdir)}: it must be awaited, or the mock must be a"
            " MagicMock; see the asyncmock-guard report for the fix."
        )
        if record.reported:
            return note
        evidence = self._member_evidence(mock)
        message, fix = _advice.coroutine_misuse(
            mock,
            names,
            operation,
            where=where,
            call_site=record.where,
            caller_is_async=record.caller_is_async,
            member_is_sync=evidence is not None and not evidence.by_name_only,
            rootdir=self.rootdir,
        )
        record.reported = True
        happened = f"used the coroutine as a value ({operation}) at {where.short(self.rootdir)}"
        if self._merge_with_sync_evidence(
            mock,
            names,
            record,
            evidence,
            where=where,
            happened=happened,
            message=message,
            fix=fix,
            operation=operation,
        ):
            return note
        self._add_finding(
            FindingKind.COROUTINE_MISUSE,
            (record.owner, record.phase, record.mode),
            subject=subject,
            where=where,
            message=message,
            fix=fix,
            operation=operation,
        )
        return note

    def coroutine_never_awaited(
        self, coroutine: types.CoroutineType[Any, Any, Any], record: CoroutineRecord | None
    ) -> bool:
        if record is not None:
            if record.reported:
                return True  # already reported as misuse: one report per coroutine
            return self._mock_never_awaited(coroutine, record)
        return self._function_never_awaited(coroutine)

    def _mock_never_awaited(self, coroutine: types.CoroutineType[Any, Any, Any], record: CoroutineRecord) -> bool:
        from asyncmock_guard import _advice, _naming

        mock = _mock_of(coroutine)
        names = self._names(sys._getframe(), record.owner)
        evidence = self._member_evidence(mock)
        message, fix = _advice.never_awaited_mock(
            mock,
            names,
            where=record.where,
            caller_is_async=record.caller_is_async,
            member_is_sync=evidence is not None and not evidence.by_name_only,
            rootdir=self.rootdir,
        )
        happened = f"called it at {record.where.short(self.rootdir)} and never awaited the coroutine"
        if self._merge_with_sync_evidence(
            mock,
            names,
            record,
            evidence,
            where=record.where,
            happened=happened,
            message=message,
            fix=fix,
            operation=None,
        ):
            return True
        self._add(
            Finding(
                kind=FindingKind.NEVER_AWAITED,
                nodeid=record.owner,
                subject=_naming.subject_of(mock, names),
                where=record.where,
                message=message,
                fix=fix,
                phase=record.phase,
                mode=record.mode,
            )
        )
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

    def _merge_with_sync_evidence(
        self,
        mock: object,
        names: Mapping[int, str],
        record: CoroutineRecord,
        evidence: SyncEvidence | None,
        *,
        where: Location,
        happened: str,
        message: str,
        fix: str,
        operation: str | None,
    ) -> bool:
        """A misused or dropped coroutine of an AsyncMock standing for a synchronous member becomes one
        ``async-mock-for-sync`` finding (at the assignment line, when the test assigned it), not two.

        False when the core finding stands; the evidence may still have added a hint to ``message``.
        """
        from asyncmock_guard import _advice, _naming

        explicit = self._explicit_for(mock)
        if explicit is not None:
            if not explicit.reported:
                explicit.reported = True
                # Only a bare name leaves room for a real coroutine function that the code forgot to await.
                maybe_async = explicit.evidence.by_name_only
                alternatives = _advice.missing_await(mock, record.where, self.rootdir) if maybe_async else []
                self._report_explicit(explicit, happened, operation, alternatives)
            return True
        if evidence is None:
            return False
        subject = _naming.subject_of(mock, names)
        message, fix = _advice.async_mock_for_sync_child(subject, evidence, message, fix)
        kind = FindingKind.ASYNC_MOCK_FOR_SYNC
        if evidence.by_name_only:  # a hint on the core finding, whose kind stands
            kind = FindingKind.COROUTINE_MISUSE if operation is not None else FindingKind.NEVER_AWAITED
        self._add_finding(
            kind,
            (record.owner, record.phase, record.mode),
            subject=subject,
            where=where,
            message=message,
            fix=fix,
            operation=operation,
        )
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
        self._add_finding(
            FindingKind.ASYNC_MOCK_FOR_SYNC,
            (explicit.owner, explicit.phase, explicit.mode),
            subject=explicit.subject,
            where=explicit.where,
            message=message,
            fix=fix,
            operation=operation,
        )

    # --- how the test builds its mocks (construction watch events) ------------------------------
    def _building_owner(self) -> tuple[str | None, str, str] | None:
        owner, phase, mode = self._owner()
        return None if mode == "off" else (owner, phase, mode)

    def spec_is_data(self, mock_class: type, spec: object, frame: FrameType) -> None:
        from asyncmock_guard import _advice, _source

        owned = self._building_owner()
        if owned is None:
            return
        where = _frames.frame_location(frame)
        site = _source.call_at(where.path, where.line, mock_class.__name__, positional=True)
        subject = site.target if site is not None and site.target else f"{mock_class.__name__}(...)"
        message, fix = _advice.spec_is_data(site, mock_class.__name__, spec, subject)
        self._add_finding(FindingKind.SPEC_IS_DATA, owned, subject=subject, where=where, message=message, fix=fix)

    def data_mock_awaited(
        self, parent: object, construction: DataConstruction, frame: FrameType, *, at_construction: type | None
    ) -> None:
        from asyncmock_guard import _advice, _naming, _source

        owned = self._building_owner()
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
        message, fix = _advice.data_mock_as_awaited_result(site, construction, subject)
        self._add_finding(FindingKind.SPEC_IS_DATA, owned, subject=subject, where=where, message=message, fix=fix)

    def coroutine_as_return_value(
        self, mock: object | None, slot: str, value: object, frame: FrameType, *, at_construction: type | None
    ) -> None:
        from asyncmock_guard import _advice, _naming, _source

        owned = self._building_owner()
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
        message, fix = _advice.coroutine_as_return_value(where, site, subject, slot, value, rootdir=self.rootdir)
        self._add_finding(
            FindingKind.COROUTINE_AS_RETURN_VALUE,
            owned,
            subject=subject,
            where=where,
            message=message,
            fix=fix,
            operation=slot,
        )

    def async_mock_assigned(self, parent: object, name: str, value: object, frame: FrameType) -> None:
        from asyncmock_guard import _evidence, _naming

        owned = self._building_owner()
        if owned is None:
            return
        evidence = _evidence.for_member(parent, name, self.user_entries)
        if evidence is None:
            return
        owner, phase, mode = owned
        where = _frames.frame_location(frame)
        subject = f"{_naming.subject_of(parent, self._names(frame, owner))}.{name}"
        explicit = ExplicitAsyncMock(weakref.ref(value), where, subject, evidence, owner=owner, phase=phase, mode=mode)
        self._explicit_async[id(value)] = explicit
        if evidence.firm:
            explicit.reported = True
            self._report_explicit(explicit, None, None)

    def async_mock_patched(
        self, target: object, attribute: str, original: object, mock: object, where: Location, *, decorated: bool
    ) -> None:
        from asyncmock_guard import _advice, _evidence, _source

        owned = self._building_owner()
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
        message, fix = _advice.async_mock_for_sync_patched(subject, evidence, where, call, rootdir=self.rootdir)
        # Its coroutines, if later dropped or misused, are this same finding (see _merge_with_sync_evidence).
        explicit = ExplicitAsyncMock(
            weakref.ref(mock), where, subject, evidence, owner=owned[0], phase=owned[1], mode=owned[2]
        )
        explicit.reported = True
        self._explicit_async[id(mock)] = explicit
        self._add_finding(
            FindingKind.ASYNC_MOCK_FOR_SYNC, owned, subject=subject, where=where, message=message, fix=fix
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
    ) -> None:
        owner, phase, mode = owned
        self._add(Finding(kind, owner, subject, where, message, fix, operation=operation, phase=phase, mode=mode))

    # --- failures the test got: add the guard's explanation to the exception ----------------------
    def explain_failure(self, error: BaseException) -> None:
        """Called with the exception a test phase failed with, before pytest formats it."""
        seen: set[int] = set()
        current: BaseException | None = error
        while current is not None and id(current) not in seen:
            seen.add(id(current))
            if isinstance(current, TypeError):
                self._explain_type_error(current)
            current = current.__cause__ or current.__context__

    def _explain_type_error(self, error: TypeError) -> None:
        owned = self._building_owner()
        if owned is None:
            return
        entries: list[types.TracebackType] = []
        tb = error.__traceback__
        while tb is not None:
            entries.append(tb)
            tb = tb.tb_next
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
        from asyncmock_guard import _advice, _naming, _source

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
        message, fix = _advice.awaited_sync_mock(target, subject, where, called=called, rootdir=self.rootdir)
        add_note(error, f"asyncmock-guard: {message}")
        self._add_finding(
            FindingKind.AWAITED_SYNC_MOCK,
            owned,
            subject=subject,
            where=where,
            message=message,
            fix=fix,
            operation="await",
        )

    def _function_never_awaited(self, coroutine: types.CoroutineType[Any, Any, Any]) -> bool:
        from asyncmock_guard import _advice

        code = coroutine.cr_code
        if code is EXECUTE_MOCK_CALL_CODE:
            return False  # an AsyncMock call the guard did not watch (a test in 'off' mode)
        origin = getattr(coroutine, "cr_origin", None)
        current, phase, mode = self._owner()
        if origin:
            if _frames.is_library_location(origin[0][0]):
                return False  # created by asyncio, pytest, anyio...: not the user's to fix
            where = Location(*origin[0])
            owner, mode = self._owner_from_origin(origin, current, mode)
        else:
            if _frames.is_library_location(code.co_filename):
                return False
            where = Location(code.co_filename, code.co_firstlineno, code.co_name)
            owner = current
        if (owner == current and self.context is not None and not self.context.active) or mode == "off":
            return False
        qualname = getattr(coroutine, "__qualname__", code.co_name)
        if (owner, where.path, where.line, qualname) in self._coroutines_as_values:
            return True  # reported already, where the test made it a mock's return value
        message, fix = _advice.never_awaited_function(
            qualname, where, known_call_site=bool(origin), rootdir=self.rootdir
        )
        self._add(
            Finding(
                kind=FindingKind.NEVER_AWAITED,
                nodeid=owner,
                subject=qualname,
                where=where,
                message=message,
                fix=fix,
                phase=phase if owner == current else "call",
                mode=mode,
            )
        )
        return True

    def _owner_from_origin(
        self, origin: tuple[tuple[str, int, str], ...], current: str | None, mode: str
    ) -> tuple[str | None, str]:
        """The test whose function is on the creation stack: the current one, else the latest such."""
        context = self.context
        for filename, _, function in origin:
            if context is not None and any(
                code.co_filename == filename and code.co_name == function for code in context.codes
            ):
                return context.nodeid, context.mode
            known = self._tests_by_function.get((filename, function))
            if known is not None:
                return known
        return current, mode

    def internal_error(self, error: BaseException) -> None:
        self.internal_error_count += 1
        if len(self.internal_errors) < _MAX_INTERNAL_ERRORS:
            self.internal_errors.append("".join(traceback.format_exception(type(error), error, error.__traceback__)))


def _mock_of(coroutine: object) -> object:
    """The AsyncMock an ``_execute_mock_call`` coroutine belongs to (its frame's ``self``)."""
    frame = getattr(coroutine, "cr_frame", None)
    return frame.f_locals.get("self") if frame is not None else None
