"""The construction watch's listener: how a test builds its mocks, handed to the family of events that
diagnoses it (``_building_events``, ``_awaited_value_events``, ``_loop_events``, the owners' patches). An
event that can make a finding first settles the coroutines dropped before it, so findings come in the order
things happened."""

from __future__ import annotations

from types import FrameType
from typing import TYPE_CHECKING, Any

from asyncmock_guard._construction import DataConstruction, PatchSite
from asyncmock_guard._findings import Location

if TYPE_CHECKING:
    from asyncmock_guard._collector import Collector


class BuildingListener:
    """Routes the construction watch's events to the collector's event families."""

    def __init__(self, collector: Collector) -> None:
        self.collector = collector

    @property
    def unconfirmed_assignments(self) -> dict[tuple[int, str], Any]:
        return self.collector.unconfirmed_assignments

    def internal_error(self, error: BaseException) -> None:
        self.collector.internal_error(error)

    def patch_entered(self, mock: object, site: PatchSite) -> None:
        self.collector.owners.patch_entered(mock, site)

    def spec_written_positionally(self, mock_class: type, frame: FrameType) -> bool:
        return self.collector.building.spec_written_positionally(mock_class, frame)

    def spec_is_data(self, mock_class: type, spec: object, frame: FrameType) -> None:
        self.collector.settle_dropped()
        self.collector.building.spec_is_data(mock_class, spec, frame)

    def data_mock_awaited(
        self, parent: object, construction: DataConstruction, frame: FrameType, *, at_construction: type | None
    ) -> None:
        self.collector.settle_dropped()
        self.collector.building.data_mock_awaited(parent, construction, frame, at_construction=at_construction)

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
        self.collector.settle_dropped()
        self.collector.awaited_values.coroutine_as_return_value(
            mock, slot, value, frame, at_construction=at_construction, built=built
        )

    def async_callable_side_effect(
        self, mock: object | None, value: object, frame: FrameType, *, at_construction: type | None
    ) -> None:
        self.collector.settle_dropped()
        self.collector.awaited_values.async_callable_side_effect(mock, value, frame, at_construction=at_construction)

    def future_as_return_value(self, mock: object, value: object, frame: FrameType) -> None:
        self.collector.awaited_values.future_as_return_value(mock, value, frame)

    def async_mock_assigned(self, parent: object, name: str, value: object, frame: FrameType) -> None:
        self.collector.settle_dropped()
        self.collector.building.async_mock_assigned(parent, name, value, frame)

    def member_replaced(self, parent: object, name: str, value: object) -> None:
        try:
            self.collector.building.member_replaced(parent, name, value)
        except Exception as error:  # noqa: BLE001 - an internal error must never break the test
            self.collector.internal_error(error)

    def async_mock_patched(
        self, target: object, attribute: str, original: object, mock: object, where: Location, *, decorated: bool
    ) -> None:
        self.collector.settle_dropped()
        self.collector.building.async_mock_patched(target, attribute, original, mock, where, decorated=decorated)

    def scheduler_mock_made(self, mock: object, frame: FrameType | None) -> None:
        self.collector.loops.scheduler_mock_made(mock, frame)

    def scheduler_mock_patched(self, mock: object, patched: str, where: Location, *, decorated: bool) -> None:
        self.collector.loops.scheduler_mock_patched(mock, patched, where, decorated=decorated)
