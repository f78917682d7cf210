"""Who owns the code running now, and what the owner calls things.

The running test (or a fixture wider than a test, which belongs to none) owns what its code makes; its
``Scope`` says what it names each object and where to read how: the test frame's locals, its fixtures,
``self``, the patches it entered, and, once its call phase has ended, the names kept while its coroutines
may still be reported. Nothing here reads source: a finalizer asks for a ``ScopeView``.
"""

from __future__ import annotations

import sys
import threading
import weakref
from collections.abc import Mapping
from types import CodeType, FrameType
from typing import TYPE_CHECKING, Any

from asyncmock_guard import _frames
from asyncmock_guard._construction import PatchSite

if TYPE_CHECKING:
    from asyncmock_guard._binding import Scope
    from asyncmock_guard._collector import Collector, TestContext

_MAX_FRAMES_TO_TEST = 32  # how far up from a mock call to look for the test function's frame

Owned = tuple[str | None, str, str]  # the test (None: no one test), its phase, its mode


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


class Owners:
    """Who owns the running code (``owner``), and its names (``scope``)."""

    def __init__(self, collector: Collector) -> None:
        self.collector = collector
        self.tests_by_function: dict[tuple[str, str], tuple[str, str]] = {}
        # Names a test used, kept past its call phase only while it left unawaited coroutines behind.
        self.names_after_call: dict[str, Scope] = {}
        # The mocks that patches made during the running test (or a wider fixture): how each was made.
        self.patches: dict[int, tuple[weakref.ref[Any], PatchSite, str | None]] = {}  # ..., and its test
        # Functions of fixtures with a scope wider than a test, by (file, name): what they do is theirs.
        self.wide_fixtures: dict[tuple[str, str], str] = {}

    # --- the test's life ---------------------------------------------------------------------------
    def test_entered(self, context: TestContext) -> None:
        for code in context.codes:
            self.tests_by_function[(code.co_filename, code.co_name)] = (context.nodeid, context.mode)

    def call_ended(self, context: TestContext, *, unsettled: bool) -> None:
        """Keep the test's names only if its coroutines may still be reported."""
        if unsettled:
            kept = self.scope(None, context.nodeid)
            # Names and ids only: holding the objects themselves would keep the test's coroutines alive.
            kept.values = {}
            self.names_after_call[context.nodeid] = kept

    def test_left(self, context: TestContext | None, unsettled: int) -> None:
        if context is not None and unsettled <= 0 and self.names_after_call:
            self.names_after_call.pop(context.nodeid, None)
        if self.patches:  # this test's are done with; a wider fixture's stay while they live
            nodeid = context.nodeid if context is not None else None
            self.patches = {k: v for k, v in self.patches.items() if v[0]() is not None and v[2] != nodeid}

    def find_test_frame(self, frame: FrameType | None) -> None:
        """Look up the stack for the test function; give up at pytest's own frames (a mock called
        from a task the test spawned has no test frame above it)."""
        context = self.collector.context
        if context is None or context.test_frame is not None or context.phase != "call":
            return
        context.test_frame = self.test_frame_above(frame)

    def test_frame_above(self, frame: FrameType | None) -> FrameType | None:
        context = self.collector.context
        if context is None:
            return None
        for caller in _frames.frames_above(frame, _MAX_FRAMES_TO_TEST):
            # Not a wrapper's frame (``@patch``'s ``patched``, hypothesis's): the test's own locals.
            if caller.f_code in context.codes and not _frames.is_library_frame(caller):
                return caller
        return None

    def live_test_frame(self, frame: FrameType | None) -> FrameType | None:
        """The test's frame as a finding is made: the one above ``frame`` (a test that runs several times in
        its call phase, as hypothesis's examples do, has a new frame each time), else the main thread's when
        a worker thread got here, else the one found at the test's first AsyncMock call."""
        context = self.collector.context
        if context is None or context.phase != "call":
            return context.test_frame if context is not None else None
        found = self.test_frame_above(frame) if frame is not None else None
        main = None
        if found is None and threading.current_thread() is not threading.main_thread():
            main = sys._current_frames().get(threading.main_thread().ident or 0)
            found = self.test_frame_above(main)
        if found is None and context.test_frame is None and context.is_async:
            found = self.suspended_test_frame(frame if main is None else main)
        return found or context.test_frame

    def suspended_test_frame(self, frame: FrameType | None) -> FrameType | None:
        """An ``async def`` test's frame while its coroutine waits and something else runs: a callback the
        event loop calls, a worker thread of ``asyncio.to_thread``. Found down the await chain of the
        loop's tasks; the loop is the one running here, else the one whose frame is on ``frame``'s stack."""
        context = self.collector.context
        asyncio = sys.modules.get("asyncio")
        if context is None or asyncio is None:
            return None
        loop = asyncio._get_running_loop()
        caller = frame
        while loop is None and caller is not None:
            candidate = caller.f_locals.get("self") if caller.f_code.co_name == "run_forever" else None
            if isinstance(candidate, asyncio.AbstractEventLoop):
                loop = candidate
            caller = caller.f_back
        if loop is None:
            return None
        for task in list(asyncio.all_tasks(loop)):
            awaited: Any = task.get_coro()
            for _ in range(_MAX_FRAMES_TO_TEST):
                suspended: FrameType | None = getattr(awaited, "cr_frame", None) or getattr(awaited, "gi_frame", None)
                if suspended is None:
                    break
                if suspended.f_code in context.codes:
                    return suspended
                awaited = getattr(awaited, "cr_await", None) or getattr(awaited, "gi_yieldfrom", None)
        return None

    def names(self, frame: FrameType | None, owner: str | None) -> dict[int, str]:
        """What the owning test calls each object (see ``scope``)."""
        return self.scope(frame, owner).names

    def scope(self, frame: FrameType | None, owner: str | None) -> Scope:
        """What the owning test names, and where to read how: its frame's locals (live), fixtures and
        ``self``, else the snapshot taken when its call phase ended."""
        return self.scope_from(self.scope_view(frame, owner))

    def scope_view(self, frame: FrameType | None, owner: str | None) -> ScopeView:
        """What ``scope`` reads, gathered with the modules already loaded (a finalizer asks for it)."""
        context = self.collector.context
        if context is None or context.nodeid != owner:
            return ScopeView(None, None, None, self.patch_sites(), self.names_after_call.get(owner or ""))
        self.find_test_frame(frame)
        live = self.live_test_frame(frame)
        # the locals as they are now (a later read would see what the test assigned since)
        frames = [(live.f_code, list(live.f_locals.items()))] if live is not None else []
        kept = self.names_after_call.get(context.nodeid)
        return ScopeView(frames, context.funcargs, context.item, self.patch_sites(), kept)

    @staticmethod
    def scope_from(view: ScopeView) -> Scope:
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

    def patch_sites(self) -> dict[int, PatchSite]:
        return {key: site for key, (mock, site, _) in self.patches.items() if mock() is not None}

    def patch_entered(self, mock: object, site: PatchSite) -> None:
        """A patch put a mock in place: how, for naming the mock and placing the fix (once per patch)."""
        owned = self.building_owner(None)
        if owned is not None:
            self.patches[id(mock)] = (weakref.ref(mock), site, owned[0])

    def owner(self, frame: FrameType | None = None) -> Owned:
        """Who the code running now belongs to: the running test, or, when ``frame`` shows a fixture of a
        wider scope at work (its setup or teardown), that fixture, which belongs to no one test."""
        context = self.collector.context
        if context is None:
            return None, self.collector.outside_phase, self.collector.default_mode
        if frame is not None and context.phase != "call" and self.wide_fixtures:
            fixture = self.wide_fixture_on_stack(frame)[0]
            if fixture is not None:
                return None, fixture, self.collector.default_mode
        return context.nodeid, context.phase, context.mode

    def fixture_set_up(self, label: str, codes: frozenset[CodeType]) -> None:
        """A fixture of a scope wider than a test is being set up: its code is recognised from now on."""
        for code in codes:
            if not _frames.is_library_location(code.co_filename):
                self.wide_fixtures[(code.co_filename, code.co_name)] = label

    def wide_fixture_on_stack(self, frame: FrameType | None) -> tuple[str | None, FrameType | None]:
        """The wider-scoped fixture whose function is on the stack below pytest's frames, and its frame."""
        wide = self.wide_fixtures
        for caller in _frames.frames_above(frame, 2 * _MAX_FRAMES_TO_TEST):
            code = caller.f_code
            label = wide.get((code.co_filename, code.co_name))
            if label is not None:
                return label, caller
        return None, None

    def fixture_names(self, frame: FrameType | None) -> dict[int, str] | None:
        from asyncmock_guard import _binding

        fixture_frame = self.wide_fixture_on_stack(frame)[1]
        return _binding.scope_of([fixture_frame], None).names if fixture_frame is not None else None

    def building_owner(self, frame: FrameType | None = None) -> Owned | None:
        owner, phase, mode = self.owner(frame)
        return None if mode == "off" else (owner, phase, mode)
