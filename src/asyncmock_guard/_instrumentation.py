"""Runtime instrumentation: the hook on AsyncMock calls, which hands out the coroutine proxy of
``_proxy``, and the hook CPython calls for a coroutine that dies without ever running.

No pytest here. Everything observed is handed to a ``Listener`` (the collector), which decides
whether it is a finding; this module only keeps the bookkeeping a coroutine needs to be recognised
again when CPython finalizes it.

Why a proxy and a finalizer hook both: the proxy sees a coroutine *used as a value* (subscript,
``.all``, ``async with``...) at the exact line, while only CPython knows for sure that a coroutine
was never started (``warnings._warn_unawaited_coroutine``, called from the coroutine's finalizer,
3.8 to 3.13). The proxy cannot decide "never awaited" by itself: ``await proxy`` drops the proxy
before the coroutine runs.
"""

from __future__ import annotations

import contextlib
import gc
import sys
import types
import warnings
from collections.abc import Callable
from types import CodeType, FrameType, ModuleType
from typing import TYPE_CHECKING, Any, Protocol

from asyncmock_guard import _frames, _mock_modules
from asyncmock_guard._findings import Location

if TYPE_CHECKING:
    from asyncmock_guard._proxy import CoroutineProxy

# Depth of ``cr_origin`` recorded for every coroutine (other than AsyncMock calls, which the guard
# locates itself): the first frame is the ``where`` of a never-awaited coroutine, and a test function
# within reach attributes a coroutine collected after its test (production code one call deep is still
# found). CPython looks up the line of every frame it records, and asyncio, pytest-asyncio and pytest
# create coroutines deep in long functions: on the benchmark suite depth 4 costs 2.7 times the
# instructions of depth 2.
ORIGIN_TRACKING_DEPTH = 2
# While a synchronous test's call phase runs: the tasks such a test leaves on an idle loop are its own
# only when its function is on their creation stack (``Collector.check_idle_loop``), and the code that
# schedules them may be production code a few calls below the test. No pytest-asyncio runner makes
# coroutines there, so few are made.
SYNC_TEST_ORIGIN_TRACKING_DEPTH = 4


class CoroutineRecord:
    """What the guard remembers of one AsyncMock coroutine. Holds no reference to mock or coroutine.

    It is made on every AsyncMock call not awaited at once, so it holds only what is cheap to take
    then; names and advice are worked out when (and only if) the coroutine turns out to be misused.
    A plain class: a dataclass would compile its methods at every import of the guard.
    """

    __slots__ = (
        "_caller_line",
        "called_by",
        "caller_code",
        "caller_offset",
        "instrumentation",
        "key",
        "mock_id",
        "mode",
        "names",
        "owner",
        "phase",
        "reported",
        "settled",
    )

    def __init__(  # noqa: PLR0917 - made on every AsyncMock call not awaited at once: positional is cheaper
        self,
        instrumentation: Instrumentation,
        owner: str | None,
        phase: str,
        mode: str,  # of the owning test, which may have ended when the finding is made
        caller: FrameType | None,  # its code and line are the ``where`` of a never-awaited coroutine
        mock_id: int,
    ) -> None:
        self.instrumentation = instrumentation
        self.owner = owner
        # What a wider-scoped fixture that made it calls its mocks (no test frame will say).
        self.names: dict[int, str] | None = None
        self.phase = phase
        self.mode = mode
        if caller is None:
            self.caller_code: CodeType | None = None
            self.caller_offset = -1
        else:
            # The line is worked out only for a finding: ``f_lineno`` scans the code's line table.
            self.caller_code = caller.f_code
            self.caller_offset = caller.f_lasti
        self._caller_line: int | None = None
        # The library frame that called the mock, when one did (the event loop calling a callback, httpx an
        # event hook): its code and offset; ``caller`` is then the user's nearest frame, if any.
        self.called_by: tuple[CodeType, int] | None = None
        self.mock_id = mock_id
        self.key = 0
        self.reported = False
        self.settled = False  # awaited, scheduled, sent into or closed: correct use

    def __repr__(self) -> str:
        return f"CoroutineRecord(owner={self.owner!r}, where={self.where!r}, settled={self.settled})"

    @property
    def where(self) -> Location:
        code = self.caller_code
        if code is None:
            return Location("<unknown>", 0)
        if self._caller_line is None:
            self._caller_line = _frames.line_at(code, self.caller_offset)
        return Location(code.co_filename, self._caller_line, _frames.code_name(code))

    @property
    def library_caller(self) -> Location | None:
        """Where the library that called the mock did it (see ``called_by``)."""
        if self.called_by is None:
            return None
        code, offset = self.called_by
        return Location(code.co_filename, _frames.line_at(code, offset), _frames.code_name(code))

    @property
    def caller_is_async(self) -> bool:
        return self.caller_code is not None and _frames.is_async_code(self.caller_code)


class Listener(Protocol):
    """What the instrumentation reports to; implemented by the collector."""

    def mock_coroutine_created(
        self, instrumentation: Instrumentation, mock: object, frame: FrameType | None
    ) -> CoroutineRecord | None: ...

    def coroutine_misused(
        self, record: CoroutineRecord, coroutine: object, operation: str, frame: FrameType
    ) -> str | None: ...

    def coroutine_never_awaited(
        self, coroutine: types.CoroutineType[Any, Any, Any], record: CoroutineRecord | None
    ) -> bool: ...

    def task_never_ran(self, record: CoroutineRecord, coroutine: object) -> None: ...

    def internal_error(self, error: BaseException) -> None: ...


def add_note(error: BaseException, note: str) -> None:
    """PEP 678 notes; on 3.10 the attribute alone, which pytest displays all the same."""
    if sys.version_info >= (3, 11):
        error.add_note(note)
    else:  # pragma: no cover - exercised on 3.10 only
        notes = list(getattr(error, "__notes__", []))
        notes.append(note)
        error.__notes__ = notes  # type: ignore[attr-defined]


class Instrumentation:
    """Installs the wrappers once per session and undoes them exactly (see ``uninstall``).

    ``tracked`` maps ``id(coroutine)`` to its record from the AsyncMock call until the coroutine is
    finalized unstarted (the hook pops it) or found settled at the end of a test (``unsettled``), so the
    finalizer hook can recognise it: weak references to a coroutine are already cleared when CPython
    calls the hook, so ids (validated against the mock the coroutine belongs to) are used.
    """

    def __init__(self, listener: Listener) -> None:
        self.listener = listener
        self.tracked: dict[int, CoroutineRecord] = {}
        self._original_executes: dict[ModuleType, object] = {}  # each mock library's _execute_mock_call
        self._original_hook: Callable[[object], None] | None = None
        self._test_sink: tuple[object, object, object] | None = None  # see test_started
        self._previous_depth: int | None = None
        self._depth = 0  # the tracking depth the guard set last
        self._depths = (ORIGIN_TRACKING_DEPTH, SYNC_TEST_ORIGIN_TRACKING_DEPTH)  # (shallow, deep), set at install
        self._proxy_class: type[CoroutineProxy] | None = None
        # The generation a garbage collection the guard did not start is collecting now, or -1 (see
        # ``finalizing_old_garbage``).
        self._collecting = -1
        self._own_collection = False
        self.installed = False

    # --- install / uninstall --------------------------------------------------------------------
    def install(self) -> Instrumentation:
        if self.installed:
            return self
        for module in _mock_modules.MODULES:
            self.add_module(module)
        self._original_hook = getattr(warnings, "_warn_unawaited_coroutine", None)
        warnings._warn_unawaited_coroutine = self._on_unawaited  # type: ignore[attr-defined]
        self._previous_depth = self._depth = sys.get_coroutine_origin_tracking_depth()
        # never less than the depth before the guard
        self._depths = (
            max(ORIGIN_TRACKING_DEPTH, self._previous_depth),
            max(SYNC_TEST_ORIGIN_TRACKING_DEPTH, self._previous_depth),
        )
        gc.callbacks.append(self._on_gc)
        self.installed = True
        self.track_origins(deeply=False)
        return self

    def add_module(self, module: ModuleType) -> None:
        """Watch the AsyncMock calls of a mock library (``unittest.mock``, or the ``mock`` backport once it
        is imported: see ``_mock_modules``)."""
        if module in self._original_executes:
            return
        mixin = module.AsyncMockMixin
        original = vars(mixin)["_execute_mock_call"]
        self._original_executes[module] = original
        # A plain function, not a wrapt FunctionWrapper: it runs on every AsyncMock call, and a wrapt
        # wrapper binds a new wrapper object per call.
        watch = self._watch
        internal_error = self.listener.internal_error
        get_depth, set_depth = sys.get_coroutine_origin_tracking_depth, sys.set_coroutine_origin_tracking_depth
        getframe, call_code = sys._getframe, module.CallableMixin.__call__.__code__
        caller_of_mock, awaits_what_it_calls = _frames.caller_of_mock, _frames.awaits_what_it_calls

        def _execute_mock_call(mock: Any, /, *args: Any, **kwargs: Any) -> Any:
            # The guard finds an AsyncMock coroutine's origin by itself: spare CPython recording it.
            depth = get_depth()
            if depth:
                set_depth(0)
                try:
                    coroutine = original(mock, *args, **kwargs)
                finally:
                    set_depth(depth)
            else:
                coroutine = original(mock, *args, **kwargs)
            try:
                # 0: here, 1: ``_mock_call``, 2: ``CallableMixin.__call__``, the way unittest.mock calls
                # it; asking for that frame directly spares making frame objects for the ones between.
                frame: FrameType | None
                try:
                    frame = getframe(2)
                except ValueError:  # called straight from the bottom of the stack
                    frame = getframe(1)
                if frame.f_code is call_code:
                    frame = frame.f_back
                caller = caller_of_mock(frame)
                if caller is not None and awaits_what_it_calls(caller):
                    # ``await mock(...)``: started at once, it can be neither misused nor lost. Most
                    # calls are like this, and they cost no record and no proxy.
                    return coroutine
                return watch(mock, coroutine, caller)
            except Exception as error:  # noqa: BLE001 - an internal error must never break the test
                internal_error(error)
                return coroutine

        setattr(mixin, "_execute_mock_call", _execute_mock_call)  # noqa: B010

    def restore_hook(self) -> bool:
        """Put the guard's never-awaited hook back if something replaced it for good (a test assigning
        ``warnings._warn_unawaited_coroutine`` without monkeypatch, which would leave every later coroutine
        unreported); whether it had to."""
        if not self.installed or getattr(warnings, "_warn_unawaited_coroutine", None) == self._on_unawaited:
            return False
        warnings._warn_unawaited_coroutine = self._on_unawaited  # type: ignore[attr-defined]
        return True

    def uninstall(self) -> None:
        if not self.installed:
            return
        for module, original in self._original_executes.items():
            setattr(module.AsyncMockMixin, "_execute_mock_call", original)  # noqa: B010
        self._original_executes.clear()
        if getattr(warnings, "_warn_unawaited_coroutine", None) == self._on_unawaited:
            if self._original_hook is None:
                del warnings._warn_unawaited_coroutine  # type: ignore[attr-defined]
            else:
                warnings._warn_unawaited_coroutine = self._original_hook  # type: ignore[attr-defined]
        if self._previous_depth is not None and sys.get_coroutine_origin_tracking_depth() == self._depth:
            sys.set_coroutine_origin_tracking_depth(self._previous_depth)
        with contextlib.suppress(ValueError):
            gc.callbacks.remove(self._on_gc)
        self.tracked.clear()
        self.installed = False

    def track_origins(self, *, deeply: bool) -> None:
        """Record creation stacks ``SYNC_TEST_ORIGIN_TRACKING_DEPTH`` deep (a synchronous test's call phase)
        or ``ORIGIN_TRACKING_DEPTH``; never less than the depth before the guard, and not over a depth that
        someone else set meanwhile (asyncio's debug mode raises it while a loop runs)."""
        if not self.installed or sys.get_coroutine_origin_tracking_depth() != self._depth:
            return
        wanted = self._depths[deeply]  # twice per synchronous test: plain lookups
        if wanted != self._depth:
            sys.set_coroutine_origin_tracking_depth(wanted)
            self._depth = wanted

    # --- garbage collections ----------------------------------------------------------------------
    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        """Called by CPython at the start and end of every collection: a few attribute stores."""
        self._collecting = info["generation"] if phase == "start" and not self._own_collection else -1

    @property
    def finalizing_old_garbage(self) -> bool:
        """A coroutine finalized now was found by a collection of the older generations that the guard did
        not start (an automatic one, or the user's ``gc.collect()``): it may have been made by any earlier
        test, where a young collection (or the plain drop of its last reference) finds what is recent."""
        return self._collecting > 0

    def collect_lost(self, *, fully: bool) -> None:
        """Finalize the coroutines lost in reference cycles at the end of the session. The young
        generations hold what the last tests left behind. A full collection (about 20 ms on the benchmark
        suite, more on big ones, and once per pytest-xdist worker) is paid only when one of the guard's
        mock coroutines is still unaccounted for, or when the caller says so (``fully``)."""
        gc.collect(1)
        if fully or self.pending():
            gc.collect()

    def collect(self, generation: int = 2) -> None:
        """The guard's own collection, at the end of the test whose coroutines it finalizes (so they are
        that test's)."""
        self._own_collection = True
        try:
            gc.collect(generation)
        finally:
            self._own_collection = False

    def __enter__(self) -> Instrumentation:
        return self.install()

    def __exit__(self, *exc_info: object) -> None:
        self.uninstall()

    # --- events ---------------------------------------------------------------------------------
    def _watch(self, mock: object, coroutine: Any, caller: FrameType | None) -> Any:
        """The coroutine, or a proxy that reports its misuse, with the record to recognise it by."""
        frame = _frames.first_user_frame(caller)
        if frame is not None and _frames.is_installed_frame(frame):  # an installed library called it
            frame = _frames.first_own_frame(frame)
        if frame is None and caller is not None:  # a library called it with no line of the user's below
            frame = _frames.waiting_main_thread_frame()
        record = self.listener.mock_coroutine_created(self, mock, frame)
        if record is None:
            return coroutine
        if caller is not None and frame is not caller:
            record.called_by = (caller.f_code, caller.f_lasti)
        record.key = id(coroutine)
        self.tracked[record.key] = record
        proxy_class = self._proxy_class
        if proxy_class is None:  # the first coroutine that needs one: load the proxy now
            import asyncmock_guard  # noqa: PLC0415 - the package, loaded by now

            proxy_class = self._proxy_class = asyncmock_guard._import_module("asyncmock_guard._proxy").CoroutineProxy
        return proxy_class(coroutine, record)

    def unsettled(self, owner: str | None) -> int:
        """Forget the records of coroutines that were used correctly; count ``owner``'s others.

        Done once per test rather than on every ``await``, which must stay cheap.
        """
        if not self.tracked:
            return 0
        count = 0
        for key, record in list(self.tracked.items()):
            if record.settled:
                self.tracked.pop(key, None)  # a finalizer may have run meanwhile
            elif record.owner == owner:
                count += 1
        return count

    def pending(self) -> int:
        """How many of the guard's mock coroutines, of any test, are still unaccounted for."""
        self.unsettled(None)
        return len(self.tracked)

    def misuse(self, record: CoroutineRecord, coroutine: object, operation: str, frame: FrameType | None) -> str | None:
        try:
            if frame is None or _frames.is_library_frame(frame) or not self._done_by_the_line(frame, operation):
                return None
            return self.listener.coroutine_misused(record, coroutine, operation, frame)
        except Exception as error:  # noqa: BLE001
            self.listener.internal_error(error)
            return None

    def thrown_before_start(self, record: CoroutineRecord, coroutine: object) -> None:
        """A watched coroutine's first step was a ``throw``: its task was cancelled before it ran. A finding
        when the test's event loop did it as it closed (``asyncio.Runner``, which pytest-asyncio uses)."""
        try:
            if _frames.closing_loop(sys._getframe(2)):
                self.listener.task_never_ran(record, coroutine)
        except Exception as error:  # noqa: BLE001
            self.listener.internal_error(error)

    def test_started(self) -> None:
        """Note where warnings go when a test starts (pytest's own capture): a sink other than this one
        while it runs is the test's own (``pytest.warns``, ``recwarn``, ``catch_warnings(record=True)``)."""
        self._test_sink = _warning_sink()

    def test_ended(self) -> None:
        self._test_sink = None

    def test_records_warnings(self) -> bool:
        """Whether the running test records warnings itself: Python's "never awaited" warning is then the
        test's to see (it may well expect it), and the guard stays out of its way."""
        sink = self._test_sink
        return sink is not None and any(a is not b for a, b in zip(sink, _warning_sink(), strict=True))

    @staticmethod
    def _done_by_the_line(frame: FrameType, operation: str) -> bool:
        """Whether the user's line does ``operation`` to the coroutine itself (its instruction, or a builtin it
        calls with it: ``bool(coroutine)``), not a builtin or C function touching it on its own account
        (``pending.remove(other)`` compares every item with ``other``)."""
        if _frames.performs(frame, operation):
            return True
        builtins = _frames.BUILTIN_USES.get(operation.partition(" ")[0])
        if builtins is None or not _frames.is_call_instruction(frame):
            return False
        from asyncmock_guard import _source  # noqa: PLC0415 - a proxy was touched: the finding path

        return _source.callee_at(frame.f_code, frame.f_lasti, frame.f_lineno) in builtins

    def _on_unawaited(self, coroutine: Any) -> None:
        if self.test_records_warnings() and self._original_hook is not None:
            self.tracked.pop(id(coroutine), None)
            self._original_hook(coroutine)
            return
        handled = False
        try:
            record = self.tracked.pop(id(coroutine), None)
            if record is not None and (record.settled or not self._belongs_to(coroutine, record)):
                record = None  # a stale id: that coroutine ran, and this one reuses its address
            handled = self.listener.coroutine_never_awaited(coroutine, record)
        except Exception as error:  # noqa: BLE001
            self.listener.internal_error(error)
        if not handled and self._original_hook is not None:
            self._original_hook(coroutine)

    def warn_as_python_would(self, coroutine: object) -> None:
        """Python's own "never awaited" warning, for a coroutine the guard meant to report and could not."""
        if self._original_hook is not None:
            self._original_hook(coroutine)

    @staticmethod
    def _belongs_to(coroutine: Any, record: CoroutineRecord) -> bool:
        """Guard against a stale id: the coroutine must be an AsyncMock call of the recorded mock."""
        if getattr(coroutine, "cr_code", None) not in _mock_modules.EXECUTE_CODES:
            return False
        return id(mock_of(coroutine)) == record.mock_id


def _warning_sink() -> tuple[object, object, object]:
    """Where a warning shown now ends up: ``showwarning``, what it calls, and (Python 3.14's context-aware
    warnings) the current context's log; ``catch_warnings(record=True)`` replaces one of them."""
    get_context = getattr(warnings, "_get_context", None)
    log = getattr(get_context(), "log", None) if get_context is not None else None
    return warnings.showwarning, getattr(warnings, "_showwarnmsg_impl", None), log


def mock_of(coroutine: object) -> object:
    """The AsyncMock an ``_execute_mock_call`` coroutine belongs to (its frame's ``self``)."""
    frame = getattr(coroutine, "cr_frame", None)
    if frame is None:
        return None
    # its first parameter: ``self`` in unittest.mock, ``_mock_self`` in the ``mock`` backport
    names = frame.f_code.co_varnames
    return frame.f_locals.get(names[0]) if names else None
