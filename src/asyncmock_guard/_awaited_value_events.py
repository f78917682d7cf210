"""Events about what an awaited AsyncMock call gives the code under test, set up where the test builds the
mock: a coroutine *object* as ``return_value`` or ``side_effect`` item, an object whose ``__call__`` is
async as ``side_effect`` (not awaited: unittest.mock awaits only coroutine functions), an asyncio Future
or Task as ``return_value`` (handed over as it is). All ``coroutine-as-return-value``.

Loaded with the first such event.
"""

from __future__ import annotations

import inspect
from types import CodeType, FrameType
from typing import TYPE_CHECKING, Any

from asyncmock_guard import _frames
from asyncmock_guard._findings import FindingKind, Location
from asyncmock_guard._instrumentation import CoroutineRecord
from asyncmock_guard._owners import Owned, ScopeView

if TYPE_CHECKING:
    from asyncmock_guard._collector import Collector
    from asyncmock_guard._source import CallSite
    from asyncmock_guard.remedies import Remedy


class Given:
    """What a mock was given to hand over, judged when the phase ends, by what the code did with it:
    ``mock.return_value = asyncio.Future()`` on an AsyncMock (a finding if the code awaited the mock), or
    ``MagicMock(return_value=load())`` (right if the code called it once and awaited what it got)."""

    __slots__ = ("mock", "owned", "remedy", "value", "view", "where")

    def __init__(
        self,
        mock: object,
        value: object,
        where: Location,
        owned: Owned,
        *,
        view: ScopeView | None = None,
        remedy: tuple[str, Remedy, CallSite | None] | None = None,
    ) -> None:
        self.mock = mock  # kept until the phase ends: what the code did with it is read then
        self.value = value
        self.where = where
        self.owned = owned
        self.view = view  # a Future's: its finding is named when it is made
        self.remedy = remedy  # a coroutine's subject, remedy and constructor call: made at once, reported or not


class AwaitedValueEvents:
    """What the test set up an AsyncMock's awaited call to give, turned into findings."""

    def __init__(self, collector: Collector) -> None:
        self.collector = collector
        self.given: list[Given] = []
        # The ``__call__`` code of async-callable side effects reported: the coroutines unittest.mock makes
        # with them are that finding, not a second one when they are dropped.
        self.reported_calls: set[CodeType] = set()

    def _site_and_subject(
        self, mock: object | None, frame: FrameType, owned: Owned, at_construction: type | None
    ) -> tuple[Location, Any, str]:
        from asyncmock_guard import _naming, _source

        where = _frames.frame_location(frame)
        if mock is not None:
            return where, None, _naming.subject_of(mock, self.collector.owners.names(frame, owned[0]))
        site = _source.call_at(where.path, where.line, at_construction.__name__ if at_construction else "")
        subject = (
            site.target
            if site is not None and site.target
            else f"{getattr(at_construction, '__name__', 'AsyncMock')}(...)"
        )
        return where, site, subject

    def coroutine_as_return_value(
        self,
        mock: object | None,
        slot: str,
        value: object,
        frame: FrameType,
        *,
        at_construction: type | None,
        built: object = None,
    ) -> None:
        """``built``: the mock being constructed with it (``mock`` is None then)."""
        from asyncmock_guard import _naming
        from asyncmock_guard.remedies import coroutine_as_return_value

        owned = self.collector.owners.building_owner(frame)
        if owned is None:
            return
        where, site, subject = self._site_and_subject(mock, frame, owned, at_construction)
        items = value if isinstance(value, (list, tuple)) else (value,)  # a side_effect list is one finding
        for item in items:
            record = getattr(item, "_self_record", None)
            if isinstance(record, CoroutineRecord):
                record.reported = True
            code = getattr(item, "cr_code", None)
            if code is not None:
                qualname = getattr(item, "__qualname__", code.co_name)
                self.collector.coroutines_as_values.add((owned[0], where.path, where.line, qualname))
        mock_class = at_construction if at_construction is not None else type(mock)
        remedy = coroutine_as_return_value.remedy(
            where,
            site,
            subject,
            slot,
            value,
            rootdir=self.collector.rootdir,
            awaited=_naming.is_async_mock_class(mock_class),
        )
        holder = mock if mock is not None else built
        awaited = _naming.is_async_mock_class(mock_class)
        if slot == "return_value" and not awaited and holder is not None and not isinstance(value, (list, tuple)):
            # a Mock/MagicMock hands it over as it is: right if the code calls it once and awaits what it gets
            view = self.collector.owners.scope_view(frame, owned[0])
            self.given.append(Given(holder, value, where, owned, view=view, remedy=(subject, remedy, site)))
            return
        self.collector.add_remedied(
            FindingKind.COROUTINE_AS_RETURN_VALUE, owned, subject, where, remedy, operation=slot
        )

    def async_callable_side_effect(
        self, mock: object | None, value: object, frame: FrameType, *, at_construction: type | None
    ) -> None:
        from asyncmock_guard.remedies import coroutine_as_return_value

        owned = self.collector.owners.building_owner(frame)
        if owned is None:
            return
        where, site, subject = self._site_and_subject(mock, frame, owned, at_construction)
        call = inspect.unwrap(type(value).__call__)
        code = getattr(call, "__code__", None)
        if code is not None:
            self.reported_calls.add(code)
        remedy = coroutine_as_return_value.async_callable(where, site, subject, value, rootdir=self.collector.rootdir)
        self.collector.add_remedied(
            FindingKind.COROUTINE_AS_RETURN_VALUE, owned, subject, where, remedy, operation="side_effect"
        )

    def future_as_return_value(self, mock: object, value: object, frame: FrameType) -> None:
        """Judged when the phase ends (``confirm_futures``): a Future the code never got did nothing."""
        owned = self.collector.owners.building_owner(frame)
        if owned is None:
            return
        view = self.collector.owners.scope_view(frame, owned[0])
        self.given.append(Given(mock, value, _frames.frame_location(frame), owned, view=view))

    def confirm_given(self) -> None:
        given, self.given = self.given, []
        for entry in given:
            if getattr(entry.mock, "return_value", None) is not entry.value:
                continue  # replaced before the code got it
            judged = self._judged(entry)
            if judged is not None:
                subject, remedy = judged
                self.collector.add_remedied(
                    FindingKind.COROUTINE_AS_RETURN_VALUE,
                    entry.owned,
                    subject,
                    entry.where,
                    remedy,
                    operation="return_value",
                )

    def _judged(self, entry: Given) -> tuple[str, Remedy] | None:
        """The finding of what a mock was given, by what the code did with it; None when that was right."""
        from asyncmock_guard import _binding, _event_loop
        from asyncmock_guard.remedies import coroutine_as_return_value

        mock = entry.mock
        scope = self.collector.owners.scope_from(entry.view) if entry.view is not None else None
        if entry.remedy is not None:  # a coroutine a Mock/MagicMock hands over
            subject, remedy, site = entry.remedy
            calls = getattr(mock, "call_count", 0)
            started = not _event_loop.is_unstarted(entry.value)
            if started and calls <= 1:
                return None  # awaited by the one call that got it: correct
            if not started or scope is None:
                return subject, remedy
            return subject, coroutine_as_return_value.awaited_from_a_sync_mock(
                entry.where, site, subject, mock, scope, calls=calls, rootdir=self.collector.rootdir
            )
        if not getattr(mock, "await_count", 0) or scope is None:
            return None  # never awaited: the code never got the Future
        subject = _binding.bind(mock, scope).subject
        return subject, coroutine_as_return_value.future_given(
            mock, entry.value, scope, entry.where, subject, rootdir=self.collector.rootdir
        )
