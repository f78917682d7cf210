"""Events about how tests build their mocks (the construction watch: a data spec, an AsyncMock assigned to
or patched over a synchronous member; what an awaited call gives is ``_awaited_values``) and the failures a test got
(``TypeError`` of an awaited MagicMock, a spec-is-data mock that unittest.mock could not build).

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

from asyncmock_guard import _frames
from asyncmock_guard._construction import DataConstruction
from asyncmock_guard._findings import FindingKind, Location
from asyncmock_guard._instrumentation import add_note

if TYPE_CHECKING:
    from asyncmock_guard._collector import Collector
    from asyncmock_guard._edits import Edit
    from asyncmock_guard._evidence import SyncEvidence
    from asyncmock_guard.remedies._remedy import Remedy


class ExplicitAsyncMock:
    """``parent.name = AsyncMock(...)`` on a member known (or thought) to be synchronous."""

    __slots__ = ("edits", "evidence", "mock", "mode", "owner", "phase", "remedy", "reported", "subject", "where")

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
        self.remedy: Remedy | None = None  # a patch's finding, made when it was entered, reported later


class BuildingEvents:
    """How the test built its mocks, and the exceptions it got for it, turned into findings."""

    def __init__(self, collector: Collector) -> None:
        self.collector = collector

    def report_explicit(
        self,
        explicit: ExplicitAsyncMock,
        happened: str | None,
        operation: str | None,
        alternatives: list[str] | None = None,
    ) -> None:
        """The finding for an explicit ``parent.member = AsyncMock(...)``; a spec-is-data finding for the
        same line (``AsyncMock(rows)``) is folded into it: its fix replaces both."""
        from asyncmock_guard.remedies import async_mock_for_sync

        owned = (explicit.owner, explicit.phase, explicit.mode)
        if explicit.remedy is not None:
            self.collector.add_remedied(
                FindingKind.ASYNC_MOCK_FOR_SYNC, owned, explicit.subject, explicit.where, explicit.remedy
            )
            return
        also_data = [
            f
            for f in self.collector.pending
            if f.kind is FindingKind.SPEC_IS_DATA and f.nodeid == explicit.owner and f.where == explicit.where
        ]
        for finding in also_data:
            self.collector.queue.discard(finding)
        message, fix = async_mock_for_sync.assigned_text(
            explicit.subject, explicit.evidence, explicit.where, happened=happened, rootdir=self.collector.rootdir
        )
        if also_data:
            message += " Its positional argument is taken as the spec, not the return value, too."
        if alternatives and explicit.evidence.by_name_only:
            fix = "\n".join([fix, *alternatives])
        remedy = async_mock_for_sync.with_edits(message, fix, explicit.edits, self.collector.rootdir)
        self.collector.add_remedied(
            FindingKind.ASYNC_MOCK_FOR_SYNC, owned, explicit.subject, explicit.where, remedy, operation=operation
        )

    def spec_written_positionally(self, mock_class: type, frame: FrameType) -> bool:
        """Whether the test's line calls ``mock_class`` with a positional argument (``AsyncMock(rows)``): the
        construction hook sees the spec, not how it was written. Unknown (no source) counts as no."""
        from asyncmock_guard import _source

        code = frame.f_code
        key = (code.co_filename, frame.f_lineno, mock_class.__name__)
        known = self.collector.positional_spec_lines.get(key)
        if known is None:  # a fixture makes its mocks on the same line for every test: read it once
            known = _source.call_at(key[0], key[1], key[2], positional=True) is not None
            self.collector.positional_spec_lines[key] = known
        return known

    def spec_is_data(self, mock_class: type, spec: object, frame: FrameType) -> None:
        from asyncmock_guard import _source
        from asyncmock_guard.remedies import spec_is_data

        owned = self.collector.owners.building_owner(frame)
        if owned is None:
            return
        where = _frames.frame_location(frame)
        site = _source.call_at(where.path, where.line, mock_class.__name__, positional=True)
        subject = site.target if site is not None and site.target else f"{mock_class.__name__}(...)"
        remedy = spec_is_data.remedy(site, mock_class.__name__, spec, subject, where, rootdir=self.collector.rootdir)
        self.collector.add_remedied(FindingKind.SPEC_IS_DATA, owned, subject, where, remedy)

    def data_mock_awaited(
        self, parent: object, construction: DataConstruction, frame: FrameType, *, at_construction: type | None
    ) -> None:
        from asyncmock_guard import _naming, _source
        from asyncmock_guard.remedies import spec_is_data

        owned = self.collector.owners.building_owner(frame)
        if owned is None:
            return
        if parent is not None:
            subject = f"{_naming.subject_of(parent, self.collector.owners.names(frame, owned[0]))}.return_value"
        else:
            here = _frames.frame_location(frame)
            site = _source.call_at(here.path, here.line, at_construction.__name__ if at_construction else "")
            subject = f"{site.target}.return_value" if site is not None and site.target else "return_value"
        where = construction.where
        site = _source.call_at(where.path, where.line, construction.class_name, positional=True)
        remedy = spec_is_data.data_as_awaited_result(site, construction, subject, where, self.collector.rootdir)
        self.collector.add_remedied(FindingKind.SPEC_IS_DATA, owned, subject, where, remedy)

    def async_mock_assigned(self, parent: object, name: str, value: object, frame: FrameType) -> None:
        from asyncmock_guard import _evidence, _naming, _source
        from asyncmock_guard._known_sync import Returns
        from asyncmock_guard.remedies import async_mock_for_sync

        owned = self.collector.owners.building_owner(frame)
        if owned is None:
            return
        evidence = _evidence.for_member(parent, name, self.collector.user_entries)
        if evidence is None:
            return
        owner, phase, mode = owned
        where = _frames.frame_location(frame)
        site = _source.call_at(where.path, where.line, "AsyncMock")
        written = site.target if site is not None and site.target and site.target.endswith(f".{name}") else None
        subject = written or f"{_naming.subject_of(parent, self.collector.owners.names(frame, owner))}.{name}"
        explicit = ExplicitAsyncMock(weakref.ref(value), where, subject, evidence, owner=owner, phase=phase, mode=mode)
        if evidence.returns in (Returns.VALUE, Returns.ASYNC_CONTEXT_MANAGER):
            explicit.edits = async_mock_for_sync.assigned_edits(where, evidence)
        self.collector.explicit_async[id(value)] = explicit
        if evidence.firm and not evidence.awaitable:
            # Reported when the phase ends (confirm_assignments), unless the test first replaces it unused.
            self.collector.unconfirmed_assignments[(id(parent), name)] = (weakref.ref(parent), explicit)

    def member_replaced(self, parent: object, name: str, value: object) -> None:
        """``parent.name = other`` after ``parent.name = AsyncMock()``: an AsyncMock replaced before anything
        called it did nothing, and is no finding."""
        key = (id(parent), name)
        parent_ref, explicit = self.collector.unconfirmed_assignments[key]
        mock = explicit.mock()
        if parent_ref() is not parent:  # a dead parent's id, reused: that assignment stood to the end
            del self.collector.unconfirmed_assignments[key]
            if not explicit.reported:
                explicit.reported = True
                self.report_explicit(explicit, None, None)
            return
        if mock is value:
            return
        if mock is None or not getattr(mock, "call_count", 0):
            del self.collector.unconfirmed_assignments[key]

    def confirm_assignments(self) -> None:
        unconfirmed = list(self.collector.unconfirmed_assignments.values())
        self.collector.unconfirmed_assignments.clear()  # in place: the construction watch holds it
        for _, explicit in unconfirmed:
            if not explicit.reported:
                explicit.reported = True
                self.report_explicit(explicit, None, None)

    def async_mock_patched(
        self, target: object, attribute: str, original: object, mock: object, where: Location, *, decorated: bool
    ) -> None:
        from asyncmock_guard import _evidence, _source
        from asyncmock_guard.remedies import async_mock_for_sync

        owned = self.collector.owners.building_owner(sys._getframe())
        if owned is None:
            return
        evidence = _evidence.for_patched(target, attribute, original, self.collector.user_entries)
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
        remedy = async_mock_for_sync.patched(subject, evidence, where, call, attribute, rootdir=self.collector.rootdir)
        # Its coroutines, if later dropped or misused, are this same finding (see _merge_with_sync_evidence).
        explicit = ExplicitAsyncMock(
            weakref.ref(mock), where, subject, evidence, owner=owned[0], phase=owned[1], mode=owned[2]
        )
        self.collector.explicit_async[id(mock)] = explicit
        if evidence.awaitable:  # right if the code awaits it: a finding only if its coroutine is misused
            explicit.remedy = remedy
            return
        explicit.reported = True
        self.collector.add_remedied(FindingKind.ASYNC_MOCK_FOR_SYNC, owned, subject, where, remedy)

    def explain_failure(self, error: BaseException) -> None:
        """Called with the exception a test phase failed with, before pytest formats it."""
        seen: set[int] = set()
        current: BaseException | None = error
        while current is not None and id(current) not in seen:
            seen.add(id(current))
            if isinstance(current, TypeError):
                self.explain_type_error(current)
            elif isinstance(current, RuntimeError):
                self.collector.loops.explain_runtime_error(current)
            current = current.__cause__ or current.__context__

    def explain_type_error(self, error: TypeError) -> None:
        owned = self.collector.owners.building_owner()
        if owned is None:
            return
        entries = _frames.traceback_entries(error)
        if not entries:
            return
        last = entries[-1]
        if _frames.is_await_instruction(last.tb_frame.f_code, last.tb_lasti):
            self.awaited_sync_mock(error, last, owned, self.names_in_traceback(entries, owned[0]))
            return
        for index, entry in enumerate(entries[:-1]):
            nxt = entries[index + 1]
            if _frames.is_library_frame(entry.tb_frame) or not _frames.is_mock_module(nxt.tb_frame):
                continue
            path, line = entry.tb_frame.f_code.co_filename, entry.tb_lineno
            for finding in self.collector.findings:
                if (
                    finding.kind is FindingKind.SPEC_IS_DATA
                    and (finding.where.path, finding.where.line) == (path, line)
                    and finding.nodeid == owned[0]
                ):
                    add_note(error, f"asyncmock-guard: {finding.message}")
                    return

    def names_in_traceback(self, entries: list[types.TracebackType], owner: str | None) -> dict[int, str]:
        """Names from the test function's frame in a traceback (the test may never have called an AsyncMock)."""
        from asyncmock_guard import _binding

        context = self.collector.context
        if context is None or context.nodeid != owner:
            return self.collector.owners.names(None, owner)
        frames = [entry.tb_frame for entry in entries if entry.tb_frame.f_code in context.codes]
        names = _binding.scope_of(frames[-1:], context.funcargs).names
        for key, name in self.collector.owners.names(None, owner).items():
            names.setdefault(key, name)
        return names

    def awaited_sync_mock(
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
        scope = self.collector.owners.scope(None, owned[0])
        for key, name in names.items():
            scope.names.setdefault(key, name)
        remedy = awaited_sync_mock.remedy(
            target, scope, where, expression, called=called, rootdir=self.collector.rootdir
        )
        subject = _binding.bind(target, scope).subject
        add_note(error, f"asyncmock-guard: {remedy.message}")
        self.collector.add_remedied(FindingKind.AWAITED_SYNC_MOCK, owned, subject, where, remedy, operation="await")
