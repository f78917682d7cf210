"""Events about event loops and schedulers: a sync test that reached asyncio with no loop, tasks left on a
loop nobody runs, and coroutines a mock scheduler (or any mock a test's patch made) only recorded.

Loaded with the first such event.
"""

from __future__ import annotations

import ast
import sys
import types
import weakref
from collections.abc import Mapping
from types import FrameType
from typing import TYPE_CHECKING, Any

from asyncmock_guard import _event_loop
from asyncmock_guard._construction import PatchSite
from asyncmock_guard._findings import FindingKind, Location
from asyncmock_guard._instrumentation import CoroutineRecord, add_note, mock_of

if TYPE_CHECKING:
    from asyncmock_guard._collector import Collector
    from asyncmock_guard.remedies import no_running_loop


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


class LoopEvents:
    """Loops and schedulers, turned into findings on the collector."""

    def __init__(self, collector: Collector) -> None:
        self.collector = collector

    def hold_reported(self, coroutine: Any) -> None:
        """Keep a reported coroutine alive: collected later, it would be reported again as never-awaited."""
        real = _event_loop.unwrapped(coroutine)
        if _event_loop.is_unstarted(real):
            self.collector.reported_coroutines[id(real)] = real

    def is_reported(self, coroutine: Any) -> bool:
        return id(_event_loop.unwrapped(coroutine)) in self.collector.reported_coroutines

    def coroutine_identity(
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
            scope = self.collector.owners.scope(None, record.owner)
            if names is not None:
                scope.names.update(names)
            owned = (record.owner, record.phase, record.mode)
            return _binding.bind(mock_of(real), scope).subject, record.where, owned, True
        created = self.collector.dropped.created(real)
        if created is None:
            return None
        where, owned, _, _ = created
        return getattr(real, "__qualname__", real.cr_code.co_name), where, owned, False

    def test_line(self, entries: list[types.TracebackType]) -> no_running_loop.TestLine | None:
        """The running test's line in a traceback (the call that led to the error)."""
        from asyncmock_guard.remedies import no_running_loop

        context = self.collector.context
        if context is None:
            return None
        for entry in reversed(entries):
            code = entry.tb_frame.f_code
            if code in context.codes:
                return no_running_loop.TestLine(Location(code.co_filename, entry.tb_lineno, code.co_name), code.co_name)
        return None

    def scheduling(self, frame: FrameType | None, where: Location, function: str) -> no_running_loop.Scheduling:
        """How the line at ``where`` spells the asyncio ``function`` it calls, and where to patch it."""
        from asyncmock_guard import _source
        from asyncmock_guard.remedies import no_running_loop

        default = f"asyncio.{function}"
        site = _source.call_at(where.path, where.line, function)
        if site is None:
            return no_running_loop.Scheduling(default, default)
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
        return no_running_loop.Scheduling(site.text(func), target, extra_arguments=extra)

    def explain_runtime_error(self, error: RuntimeError) -> None:
        """A sync test reached asyncio's scheduler with no loop: ``no-running-loop``, once, with the
        coroutine asyncio could not schedule (kept from being reported again as never-awaited)."""
        from asyncmock_guard.remedies import no_running_loop

        if not _event_loop.is_no_loop_error(error):
            return
        failed = _event_loop.failed_scheduling(error)
        if failed is None:
            return
        frame = failed.user_entry.tb_frame
        owned = self.collector.owners.building_owner(frame)
        if owned is None:
            return
        # The function's plain name, as creation stacks (``cr_origin``) give it for the other findings
        # about the same coroutine, and the same on every Python version.
        where = Location(frame.f_code.co_filename, failed.user_entry.tb_lineno, frame.f_code.co_name)
        scheduling = self.scheduling(frame, where, failed.call)
        coroutine_name, from_mock = None, False
        if failed.coroutine is not None:
            names = self.collector.building.names_in_traceback(failed.entries, owned[0])
            identity = self.coroutine_identity(failed.coroutine, names)
            if identity is not None:
                coroutine_name, from_mock = identity[0], identity[3]
            self.hold_reported(failed.coroutine)
        subject = coroutine_name or f"{scheduling.call}()"
        message, fix = no_running_loop.no_loop(
            subject,
            coroutine_name,
            scheduling,
            where,
            test_line := self.test_line(failed.entries),
            nodeid=owned[0],
            rootdir=self.collector.rootdir,
            from_mock=from_mock,
        )
        add_note(error, f"asyncmock-guard: {message} See the asyncmock-guard report for the fix.")
        self.add_loop_finding(owned, subject, where, message, fix=fix, test_line=test_line)

    def add_loop_finding(
        self,
        owned: tuple[str | None, str, str],
        subject: str,
        where: Location,
        message: str,
        *,
        fix: str,
        test_line: no_running_loop.TestLine | None,
    ) -> None:
        """``no-running-loop``: the test is what changes (async, or a closing scheduler patch), at its line."""
        message += (
            " (No edit is offered: which of the two fixes is right depends on what the test is about, whether"
            " what the task does matters to it.)"
        )
        change_at = test_line.where if test_line is not None else where
        self.collector.add_finding(
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
            if not self.is_reported(coroutine) and self.made_by_running_test(coroutine):
                self.never_ran_on_idle_loop(coroutine)

    def made_by_running_test(self, coroutine: Any) -> bool:
        """An AsyncMock's coroutine recorded for the running test, or one whose creation stack shows the
        running test's function."""
        record = getattr(coroutine, "_self_record", None)
        if isinstance(record, CoroutineRecord):
            return self.collector.context is not None and record.owner == self.collector.context.nodeid
        return self.test_line_of(coroutine) is not None

    def never_ran_on_idle_loop(self, coroutine: Any) -> None:
        from asyncmock_guard import _advice
        from asyncmock_guard.remedies import no_running_loop

        identity = self.coroutine_identity(coroutine, None)
        if identity is None:
            return
        name, where, owned, from_mock = identity
        self.hold_reported(coroutine)
        function = "ensure_future" if "ensure_future" in _advice.source_line(where) else "create_task"
        scheduling = self.scheduling(None, where, function)
        message, fix = no_running_loop.idle_loop(
            name,
            scheduling,
            where,
            test_line := self.test_line_of(coroutine),
            nodeid=owned[0],
            rootdir=self.collector.rootdir,
            from_mock=from_mock,
        )
        self.add_loop_finding(owned, name, where, message, fix=fix, test_line=test_line)

    def test_line_of(self, coroutine: Any) -> no_running_loop.TestLine | None:
        """The running test's line that led to ``coroutine``'s creation, from its creation stack."""
        from asyncmock_guard.remedies import no_running_loop

        context = self.collector.context
        if context is None:
            return None
        record = getattr(coroutine, "_self_record", None)
        if isinstance(record, CoroutineRecord):  # an AsyncMock's: its caller, if that is the test
            code = record.caller_code
            if code is None or code not in context.codes:
                return None
            return no_running_loop.TestLine(record.where, code.co_name)
        origin = getattr(_event_loop.unwrapped(coroutine), "cr_origin", None) or ()
        for filename, line, function in origin:
            if context.runs(filename, function):
                return no_running_loop.TestLine(Location(filename, line, function), function)
        return None

    def scheduler_mock_made(self, mock: object, frame: FrameType | None) -> None:
        """A mock named like a scheduler was made: remember it, and find the test's frame for its names."""
        if self.collector.owners.building_owner(frame) is None:  # the guard is off for this test
            return
        context = self.collector.context
        if context is not None and context.phase == "call" and context.test_frame is None:
            self.collector.owners.find_test_frame(frame)
        self.collector.scheduler_mocks[id(mock)] = SchedulerMock(mock)

    def scheduler_mock_patched(self, mock: object, patched: str, where: Location, *, decorated: bool) -> None:
        """A scheduler was patched with a mock (``patch("asyncio.create_task")``): remember the patch as
        written, and what it patched (``asyncio.create_task``)."""
        from asyncmock_guard import _source

        entry = self.collector.scheduler_mocks.get(id(mock))
        if entry is None or entry.mock() is not mock:
            if self.collector.owners.building_owner(sys._getframe()) is None:
                return
            entry = self.collector.scheduler_mocks[id(mock)] = SchedulerMock(mock)
        entry.patched_name = patched
        site = _source.patch_call(where.path, where.line, patched.rpartition(".")[2], decorated=decorated)
        if site is not None:
            line, call, _ = site
            entry.patch_site = (Location(where.path, line, where.function), call)

    def check_scheduler_mocks(self, *, test_ended: bool) -> None:
        """Coroutines that a mock scheduler was handed since the last look and that nothing started;
        when the test has ended, its mocks are no longer held."""
        for key, entry in list(self.collector.scheduler_mocks.items()):
            mock = entry.mock()
            if test_ended:
                entry.kept = None
            if mock is None:
                del self.collector.scheduler_mocks[key]
                continue
            calls = getattr(mock, "call_args_list", None)
            if not isinstance(calls, list):
                continue
            if len(calls) < entry.scanned:  # reset_mock()
                entry.scanned = 0
            for call in calls[entry.scanned :]:
                for coroutine in _event_loop.coroutines_in_call(call):
                    if _event_loop.is_unstarted(coroutine) and not self.is_reported(coroutine):
                        self.swallowed(mock, entry, coroutine, call)
            entry.scanned = len(calls)

    def check_patched_mocks(self) -> None:
        """As a test ends: the coroutines in the recorded calls of the mocks its patches made (and of their
        children) that nothing started were swallowed by that mock, and are this test's. Made deeper below
        the test than the creation stack CPython records, they would otherwise be finalized by a later
        garbage collection and blamed on whichever test runs then."""
        context = self.collector.context
        if context is None or not self.collector.owners.patches:
            return
        for reference, site, owner in list(self.collector.owners.patches.values()):
            root = reference()
            if root is None or owner != context.nodeid:
                continue
            for mock in _mock_tree(root):
                for call in list(vars(mock).get("_mock_call_args_list") or ()):
                    for coroutine in _event_loop.coroutines_in_call(call):
                        if _event_loop.is_unstarted(coroutine) and not self.is_reported(coroutine):
                            self.swallowed(mock, self.patched_entry(mock, root, site), coroutine, call)

    def patched_entry(self, mock: object, root: object, site: PatchSite) -> SchedulerMock:
        """The scheduler-like record of a patched mock that swallowed a coroutine: where it was patched."""
        from asyncmock_guard import _source

        entry = SchedulerMock(mock)
        entry.kept = None
        if mock is root:
            located = _source.patch_call(site.where.path, site.where.line, site.attribute, decorated=site.decorated)
            if located is not None:
                entry.patch_site = (Location(site.where.path, located[0], site.where.function), located[1])
        return entry

    def swallowed(self, mock: object, entry: SchedulerMock, coroutine: Any, call: Any) -> None:
        from asyncmock_guard import _binding, _naming
        from asyncmock_guard.remedies import never_awaited, no_running_loop

        identity = self.coroutine_identity(coroutine, None)
        if identity is None:
            return
        name, where, owned, from_mock = identity
        self.hold_reported(coroutine)
        scope = self.collector.owners.scope(None, owned[0])
        bound = _binding.bind(mock, scope)
        handle = bound.subject if bound.binding is not None and bound.binding.how != _binding.UNNAMED else None
        scheduler = entry.patched_name or handle or _naming.subject_of(mock, scope.names)
        args, kwargs = call.args, call.kwargs
        scheduling = no_running_loop.Scheduling(
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
            rootdir=self.collector.rootdir,
            from_mock=from_mock,
            side_effect_of=bound if vars(mock).get("_mock_side_effect") is not None and handle is not None else None,
            bound=bound,
        )
        self.collector.add_finding(
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
    if _naming.is_default(returned):
        return False
    if not _naming.is_mock(returned):
        return True
    state = vars(returned)
    return bool(state.get("_mock_children")) or (
        "_mock_return_value" in state and not _naming.is_default(state["_mock_return_value"])
    )
