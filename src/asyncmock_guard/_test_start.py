"""The frame of an ``async def`` test, caught as the test starts (Python 3.12+, ``sys.monitoring``).

What a test calls its mocks is read from its frame's locals. The guard finds that frame on the stack when
the test calls a mock, but an async test's mocks are often called where its frame is not on the stack: by
a callback the event loop runs after the test returned, or in a worker thread while it waits. There the
test's frame is caught when it starts: a ``PY_START`` event on the test function's own code objects only,
switched off as soon as it fires, so no other code pays for it. Python 3.10 and 3.11 have no such event:
there such mocks are named as the code reaches them.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from types import CodeType, FrameType
from typing import Any

_TOOL_NAME = "asyncmock-guard"
_FREE_TOOL_IDS = (4, 3)  # sys.monitoring reserves 0-2 and 5 (debugger, coverage, profiler, optimizer)


class StartWatch:
    """Calls ``found`` with the frame of the first of ``codes`` to start, once per ``watch``."""

    def __init__(self) -> None:
        self._monitoring: Any = getattr(sys, "monitoring", None)
        self._tool: int | None = None
        self._codes: tuple[CodeType, ...] = ()

    def install(self) -> None:
        monitoring = self._monitoring
        if monitoring is None or self._tool is not None:
            return
        for tool in _FREE_TOOL_IDS:
            try:
                monitoring.use_tool_id(tool, _TOOL_NAME)
            except ValueError:  # another tool has it
                continue
            self._tool = tool
            return

    def uninstall(self) -> None:
        if self._tool is None:
            return
        self.stop()
        self._monitoring.register_callback(self._tool, self._monitoring.events.PY_START, None)
        self._monitoring.free_tool_id(self._tool)
        self._tool = None

    def watch(
        self, codes: Iterable[CodeType], found: Callable[[FrameType], None], failed: Callable[[BaseException], None]
    ) -> None:
        tool, monitoring = self._tool, self._monitoring
        if tool is None:
            return
        self.stop()
        self._codes = tuple(codes)

        def started(code: CodeType, offset: int) -> None:
            try:
                self.stop()
                frame = sys._getframe(1)
                if frame.f_code is code:
                    found(frame)
            except Exception as error:  # noqa: BLE001 - an internal error must never break the test
                failed(error)

        monitoring.register_callback(tool, monitoring.events.PY_START, started)
        for code in self._codes:
            monitoring.set_local_events(tool, code, monitoring.events.PY_START)

    def stop(self) -> None:
        codes, self._codes = self._codes, ()
        if self._tool is not None:
            for code in codes:
                self._monitoring.set_local_events(self._tool, code, 0)
