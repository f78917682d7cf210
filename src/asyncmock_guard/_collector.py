"""The one registry of mutable state: which test is running, and the findings made so far.

The plugin tells the collector when each test phase starts and ends; the instrumentation tells it
what coroutines do. The collector turns those events into findings (with ``_naming`` and
``_advice``), formatted at once, and queues them for the plugin to drain at the end of each phase.
"""

from __future__ import annotations

import sys
import traceback
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import CodeType, FrameType
from typing import Any

from asyncmock_guard import _advice, _frames, _naming
from asyncmock_guard._findings import Finding, FindingKind, Location
from asyncmock_guard._instrumentation import EXECUTE_MOCK_CALL_CODE, CoroutineRecord, Instrumentation

_MAX_INTERNAL_ERRORS = 20
_MAX_FRAMES_TO_TEST = 32  # how far up from a mock call to look for the test function's frame


@dataclass
class TestContext:
    """The running test, as plain data: no pytest objects beyond the ``funcargs`` mapping.

    ``test_frame`` is the test function's frame, found at the first AsyncMock call of the call
    phase and released when that phase ends: its locals are where the test named its mocks.
    """

    nodeid: str
    codes: frozenset[CodeType]
    mode: str  # "strict", "warn" or "off"
    funcargs: Mapping[str, object] | None = None
    phase: str = "setup"
    test_frame: FrameType | None = None

    @property
    def active(self) -> bool:
        return self.mode != "off"


@dataclass
class Collector:
    """Receives instrumentation events and keeps the findings of the session."""

    default_mode: str = "strict"
    rootdir: str | None = None
    context: TestContext | None = None
    outside_phase: str = "collection"
    pending: list[Finding] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    internal_errors: list[str] = field(default_factory=list)
    internal_error_count: int = 0
    _tests_by_function: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    # Names a test used, kept past its call phase only while it left unawaited coroutines behind.
    _names_after_call: dict[str, dict[int, str]] = field(default_factory=dict)
    instrumentation: Instrumentation = field(init=False)

    def __post_init__(self) -> None:
        self.instrumentation = Instrumentation(self)

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
        if frame is None:
            return CoroutineRecord(instrumentation, owner, phase, mode, None, 0, id(mock))
        return CoroutineRecord(instrumentation, owner, phase, mode, frame.f_code, frame.f_lineno, id(mock))

    def coroutine_misused(
        self, record: CoroutineRecord, coroutine: object, operation: str, frame: FrameType
    ) -> str | None:
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
        message, fix = _advice.coroutine_misuse(
            mock,
            names,
            operation,
            where=where,
            call_site=record.where,
            caller_is_async=record.caller_is_async,
            rootdir=self.rootdir,
        )
        self._add(
            Finding(
                kind=FindingKind.COROUTINE_MISUSE,
                nodeid=record.owner,
                subject=subject,
                where=where,
                message=message,
                fix=fix,
                operation=operation,
                phase=record.phase,
                mode=record.mode,
            )
        )
        record.reported = True
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
        mock = _mock_of(coroutine)
        names = self._names(sys._getframe(), record.owner)
        message, fix = _advice.never_awaited_mock(
            mock, names, where=record.where, caller_is_async=record.caller_is_async, rootdir=self.rootdir
        )
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

    def _function_never_awaited(self, coroutine: types.CoroutineType[Any, Any, Any]) -> bool:
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
