"""The one registry of mutable state: which test is running, and the findings made so far.

The plugin tells the collector when each test phase starts and ends; the instrumentation tells it
what coroutines do. The collector turns those events into findings (with ``_naming`` and
``_advice``), formatted at once, and queues them for the plugin to drain at the end of each phase.
"""

from __future__ import annotations

import traceback
import types
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import CodeType, FrameType
from typing import Any

from asyncmock_guard import _advice, _frames, _naming
from asyncmock_guard._findings import Finding, FindingKind, Location
from asyncmock_guard._instrumentation import EXECUTE_MOCK_CALL_CODE, CoroutineRecord, Instrumentation

_MAX_INTERNAL_ERRORS = 20


@dataclass
class TestContext:
    """The running test, as plain data: no pytest objects beyond the ``funcargs`` mapping."""

    nodeid: str
    codes: frozenset[CodeType]
    mode: str  # "strict", "warn" or "off"
    funcargs: Mapping[str, object] | None = None
    phase: str = "setup"

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
    outstanding: Counter[str | None] = field(default_factory=Counter)
    _tests_by_function: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    instrumentation: Instrumentation = field(init=False)

    def __post_init__(self) -> None:
        self.instrumentation = Instrumentation(self)

    # --- test lifecycle (called by the plugin) ---------------------------------------------------
    def enter_test(self, context: TestContext) -> None:
        self.context = context
        for code in context.codes:
            self._tests_by_function[(code.co_filename, code.co_name)] = (context.nodeid, context.mode)

    def leave_test(self) -> None:
        self.context = None
        self.outside_phase = "between tests"

    def drain(self) -> list[Finding]:
        drained, self.pending = self.pending, []
        return drained

    def outstanding_for(self, nodeid: str) -> int:
        return self.outstanding[nodeid]

    # --- naming scope ----------------------------------------------------------------------------
    def _test_frames(self, frame: FrameType | None) -> Iterator[FrameType]:
        context = self.context
        if context is None:
            return
        while frame is not None:
            if frame.f_code in context.codes:
                yield frame
            frame = frame.f_back

    def _names(self, frame: FrameType | None) -> dict[int, str]:
        context = self.context
        return _naming.scope_names(self._test_frames(frame), context.funcargs if context else None)

    def _owner(self) -> tuple[str | None, str, str]:
        context = self.context
        if context is None:
            return None, self.outside_phase, self.default_mode
        return context.nodeid, context.phase, context.mode

    def _add(self, finding: Finding) -> None:
        self.pending.append(finding)
        self.findings.append(finding)

    # --- instrumentation events ------------------------------------------------------------------
    def mock_coroutine_created(self, mock: object, frame: FrameType | None) -> CoroutineRecord | None:
        context = self.context
        if context is not None and not context.active:
            return None
        owner, phase, _ = self._owner()
        names = self._names(frame)
        if frame is not None:
            where = _frames.frame_location(frame)
            caller_is_async = _frames.is_async_code(frame.f_code)
        else:
            where, caller_is_async = Location("<unknown>", 0), False
        record = CoroutineRecord(
            owner=owner,
            phase=phase,
            subject=_naming.subject_of(mock, names),
            where=where,
            caller_is_async=caller_is_async,
            mock_id=id(mock),
            names=names,
        )
        self.outstanding[owner] += 1
        return record

    def coroutine_settled(self, record: CoroutineRecord) -> None:
        self.outstanding[record.owner] -= 1

    def coroutine_misused(self, record: CoroutineRecord, coroutine: object, operation: str,
                          frame: FrameType) -> str | None:
        where = _frames.frame_location(frame)
        note = (
            f"asyncmock-guard: `{record.subject}()` returned a coroutine that was used as a value"
            f" ({operation}) at {_advice.short_path(where, self.rootdir)}: it must be awaited, or the mock must be a"
            " MagicMock; see the asyncmock-guard report for the fix."
        )
        if record.reported:
            return note
        record.reported = True
        mock = _mock_of(coroutine)
        names = {**self._names(frame), **record.names}
        message, fix = _advice.coroutine_misuse(
            mock, names, operation, where=where, call_site=record.where,
            caller_is_async=record.caller_is_async, rootdir=self.rootdir,
        )
        owner, _, mode = self._owner()
        self._add(Finding(
            kind=FindingKind.COROUTINE_MISUSE,
            nodeid=record.owner,
            subject=record.subject,
            where=where,
            message=message,
            fix=fix,
            operation=operation,
            phase=record.phase,
            mode=mode if owner == record.owner else self._mode_of(record.owner),
            late=owner != record.owner,
        ))
        return note

    def coroutine_never_awaited(self, coroutine: types.CoroutineType[Any, Any, Any],
                                record: CoroutineRecord | None) -> bool:
        if record is not None:
            self.outstanding[record.owner] -= 1
            if record.reported:
                return True  # already reported as misuse: one report per coroutine
            return self._mock_never_awaited(coroutine, record)
        return self._function_never_awaited(coroutine)

    def _mock_never_awaited(self, coroutine: types.CoroutineType[Any, Any, Any],
                            record: CoroutineRecord) -> bool:
        mock = _mock_of(coroutine)
        message, fix = _advice.never_awaited_mock(
            mock, record.names, where=record.where, caller_is_async=record.caller_is_async, rootdir=self.rootdir
        )
        owner, _, mode = self._owner()
        self._add(Finding(
            kind=FindingKind.NEVER_AWAITED,
            nodeid=record.owner,
            subject=record.subject,
            where=record.where,
            message=message,
            fix=fix,
            phase=record.phase,
            mode=mode if owner == record.owner else self._mode_of(record.owner),
            late=owner != record.owner,
        ))
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
        self._add(Finding(
            kind=FindingKind.NEVER_AWAITED,
            nodeid=owner,
            subject=qualname,
            where=where,
            message=message,
            fix=fix,
            phase=phase if owner == current else "call",
            mode=mode,
            late=owner != current,
        ))
        return True

    def _owner_from_origin(self, origin: tuple[tuple[str, int, str], ...], current: str | None,
                           mode: str) -> tuple[str | None, str]:
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

    def _mode_of(self, nodeid: str | None) -> str:
        for known_nodeid, mode in self._tests_by_function.values():
            if known_nodeid == nodeid:
                return mode
        return self.default_mode

    def internal_error(self, error: BaseException) -> None:
        self.internal_error_count += 1
        if len(self.internal_errors) < _MAX_INTERNAL_ERRORS:
            self.internal_errors.append("".join(traceback.format_exception(type(error), error, error.__traceback__)))


def _mock_of(coroutine: object) -> object:
    """The AsyncMock an ``_execute_mock_call`` coroutine belongs to (its frame's ``self``)."""
    frame = getattr(coroutine, "cr_frame", None)
    return frame.f_locals.get("self") if frame is not None else None

