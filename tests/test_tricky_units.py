"""Focused tests of the pieces that keep tricky code right: which instruction uses a coroutine, which
objects an AsyncMock does not await, where a library's file lives, the test frame caught as it starts."""

from __future__ import annotations

import asyncio
import functools
import gc
import os
import sys
import warnings
from collections.abc import Callable
from types import FrameType
from typing import Any
from unittest.mock import AsyncMock, MagicMock

import pytest

from asyncmock_guard import _frames
from asyncmock_guard._collector import Collector
from asyncmock_guard._construction import has_async_call, is_future
from asyncmock_guard._instrumentation import Instrumentation
from asyncmock_guard._test_start import StartWatch


class _Spy:
    """Records the frame and instruction that used it, as a coroutine proxy's dunders see them."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, bool]] = []

    def _saw(self, operation: str) -> None:
        frame = sys._getframe(2)
        self.seen.append((operation, Instrumentation._done_by_the_line(frame, operation)))

    def __eq__(self, other: object) -> bool:
        self._saw("comparison ==")
        return other is self

    __hash__ = object.__hash__

    def __bool__(self) -> bool:
        self._saw("truth test")
        return True

    def __len__(self) -> int:
        self._saw("len()")
        return 0

    def __getitem__(self, key: object) -> int:
        self._saw("subscript")
        return 0

    def __iter__(self) -> Any:
        self._saw("iteration")
        return iter(())


def _uses(action: Callable[[_Spy, _Spy], object]) -> list[tuple[str, bool]]:
    first, second = _Spy(), _Spy()
    action(first, second)
    return first.seen + second.seen


def test_the_line_s_own_operations_are_uses() -> None:
    assert _uses(lambda a, b: a == b) == [("comparison ==", True)]
    assert _uses(lambda a, b: a[0]) == [("subscript", True)]
    assert _uses(lambda a, b: [x for x in a]) == [("iteration", True)]  # noqa: C416 - the loop's own GET_ITER
    assert _uses(lambda a, b: 1 if a else 2) == [("truth test", True)]
    assert _uses(lambda a, b: not a) == [("truth test", True)]


def test_a_builtin_called_with_the_coroutine_itself_is_a_use() -> None:
    assert _uses(lambda a, b: bool(a)) == [("truth test", True)]
    assert _uses(lambda a, b: len(a)) == [("len()", True)]
    # list() also asks for a length hint: that is list's own doing, the iteration is the line's
    assert sorted(_uses(lambda a, b: list(a))) == [("iteration", True), ("len()", False)]


def test_a_builtin_touching_it_on_its_own_account_is_not_a_use() -> None:
    def remove(a: _Spy, b: _Spy) -> None:
        pending = [a, b]
        pending.remove(b)  # compares a with b in C

    assert _uses(remove) == [("comparison ==", False)]
    assert _uses(lambda a, b: b in [a, b]) == [("comparison ==", False)]
    assert _uses(lambda a, b: any([a])) == [("truth test", False)]
    assert _uses(lambda a, b: [a].count(b)) == [("comparison ==", False)]


class _AsyncCall:
    async def __call__(self) -> int:
        return 1


async def _function() -> int:
    return 1


def test_has_async_call_is_an_object_whose_call_is_async_but_not_a_coroutine_function() -> None:
    assert has_async_call(_AsyncCall())
    assert not has_async_call(_AsyncCall().__call__)  # a bound coroutine function: awaited
    assert not has_async_call(_function)
    assert not has_async_call(functools.partial(_function))
    assert not has_async_call(AsyncMock())
    assert not has_async_call(_AsyncCall)  # the class: calling it makes an instance
    assert not has_async_call(print)


def test_is_future_is_asyncio_s_own_test() -> None:
    loop = asyncio.new_event_loop()
    try:
        future = loop.create_future()
        assert is_future(future)
        task = loop.create_task(_function())
        assert is_future(task)
        loop.run_until_complete(task)
    finally:
        loop.close()
    assert not is_future(MagicMock())
    assert not is_future(AsyncMock())
    assert not is_future(_function)


def test_library_files_are_named_and_shortened_from_where_they_are_installed() -> None:
    site = os.path.join(os.sep, "venv", "lib", "python3.13", "site-packages", "httpx", "_client.py")
    assert _frames.library_name(site) == "httpx"
    assert _frames.library_path(site) == os.path.join("httpx", "_client.py")
    assert _frames.is_installed_location(site)
    assert not _frames.is_own_location(site)
    events = asyncio.events.__file__
    assert _frames.library_name(events) == "asyncio"
    assert _frames.library_path(events) == os.path.join("asyncio", "events.py")
    assert _frames.is_own_location(__file__)


def test_a_console_script_is_never_a_line_of_the_user_s() -> None:
    script = os.path.join(os.path.realpath(sys.prefix), "bin", "pytest")
    assert _frames.is_library_location(script)


def test_closing_loop_is_asyncio_cancelling_what_is_left() -> None:
    seen: list[bool] = []

    async def wait() -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            seen.append(_frames.closing_loop(sys._getframe()))
            raise

    async def main() -> None:
        asyncio.get_running_loop().create_task(wait())
        await asyncio.sleep(0)

    asyncio.run(main())
    assert seen == [True]
    assert not _frames.closing_loop(sys._getframe())


def test_a_test_recording_warnings_is_told_apart_from_pytest_s_own_capture() -> None:
    collector = Collector()
    instrumentation = collector.instrumentation
    instrumentation.test_started()
    assert not instrumentation.test_records_warnings()
    with warnings.catch_warnings():  # filters only: warnings still go where they went
        assert not instrumentation.test_records_warnings()
    with warnings.catch_warnings(record=True):
        assert instrumentation.test_records_warnings()
    assert not instrumentation.test_records_warnings()
    instrumentation.test_ended()
    with warnings.catch_warnings(record=True):
        assert not instrumentation.test_records_warnings()  # no test runs


@pytest.mark.skipif(sys.version_info < (3, 12), reason="sys.monitoring is Python 3.12+")
def test_the_test_start_watch_catches_the_first_frame_of_its_codes_once() -> None:
    watch = StartWatch()
    watch.install()
    found: list[FrameType] = []
    errors: list[BaseException] = []

    async def the_test() -> int:
        marker = "local"
        await asyncio.sleep(0)
        return len(marker)

    try:
        watch.watch([the_test.__code__], found.append, errors.append)
        assert asyncio.run(the_test()) == 5
        assert asyncio.run(the_test()) == 5  # switched off once it fired
        assert errors == []
        assert len(found) == 1
        assert found[0].f_code is the_test.__code__
        assert found[0].f_locals.get("marker") == "local"  # the finished frame keeps its locals
    finally:
        watch.uninstall()
    gc.collect()


def test_a_specialized_instruction_that_calls_the_dunder_is_still_the_line_s_use() -> None:
    """Warmed up, ``x[0]`` on objects with a Python ``__getitem__`` is specialized to call it directly
    (3.11+), and ``f_lasti`` is then on one of the instruction's inline cache entries."""

    def first(value: Any) -> object:
        return value[0]

    spies = [_Spy() for _ in range(200)]  # well past the adaptive interpreter's warm-up, for this type
    for spy in spies:
        first(spy)
    assert {seen for spy in spies for seen in spy.seen} == {("subscript", True)}
