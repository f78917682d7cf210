"""Focused unit tests of the event-loop checks: recognising asyncio's no-loop errors, reading their
tracebacks, finding coroutines in mock calls, and the fixes' closing side effects."""

from __future__ import annotations

import asyncio
from pathlib import Path
from unittest.mock import call

import pytest

from asyncmock_guard import _event_loop
from asyncmock_guard._findings import Location
from asyncmock_guard.remedies import never_awaited, no_running_loop


async def _work() -> None:
    return None


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (RuntimeError("no running event loop"), True),
        (RuntimeError("There is no current event loop in thread 'MainThread'."), True),
        (RuntimeError("There is no current event loop"), True),  # Python 3.14's wording may drop the thread
        (RuntimeError("Event loop is closed"), False),
        (ValueError("no running event loop"), False),
    ],
)
def test_no_loop_errors_are_asyncios_two_messages(error: BaseException, expected: bool) -> None:
    assert _event_loop.is_no_loop_error(error) is expected


def _schedule_without_a_loop() -> None:
    asyncio.create_task(_work())  # noqa: RUF006 - the user's line that reaches asyncio


def test_failed_scheduling_reads_the_coroutine_and_the_users_line() -> None:
    with pytest.raises(RuntimeError) as caught:
        _schedule_without_a_loop()
    failed = _event_loop.failed_scheduling(caught.value)
    assert failed is not None
    assert failed.call == "create_task"
    assert failed.user_entry.tb_frame.f_code is _schedule_without_a_loop.__code__
    coroutine = failed.coroutine
    assert asyncio.iscoroutine(coroutine)
    assert _event_loop.is_unstarted(coroutine)
    coroutine.close()
    assert not _event_loop.is_unstarted(coroutine)


def test_failed_scheduling_of_get_running_loop_has_no_coroutine() -> None:
    with pytest.raises(RuntimeError) as caught:
        asyncio.get_running_loop()
    failed = _event_loop.failed_scheduling(caught.value)
    assert failed is not None
    assert (failed.call, failed.coroutine) == ("get_running_loop", None)


def test_coroutines_in_a_call_one_level_deep() -> None:
    first, second, third = _work(), _work(), _work()
    try:
        found = list(_event_loop.coroutines_in_call(call(first, [second], 5, name="x", extra=third)))
        assert found == [first, second, third]
        assert list(_event_loop.coroutines_in_call(call(1, "two"))) == []
        assert list(_event_loop.coroutines_in_call(object())) == []
    finally:
        for coroutine in (first, second, third):
            coroutine.close()


def test_no_idle_loop_while_a_loop_runs() -> None:
    async def look() -> object:
        return _event_loop.idle_loop()

    assert asyncio.run(look()) is None


@pytest.mark.parametrize(
    ("extra", "first", "closing"),
    [
        (False, True, "lambda coro: coro.close()"),
        (True, True, "lambda coro, *args, **kwargs: coro.close()"),
        (True, False, "lambda *args, **kwargs: [arg.close() for arg in args if asyncio.iscoroutine(arg)]"),
    ],
)
def test_closing_side_effect_fits_the_call(extra: bool, first: bool, closing: str) -> None:
    scheduling = no_running_loop.Scheduling("x", "x", extra_arguments=extra, coroutine_first=first)
    assert scheduling.closing == closing
    # and it is valid code that closes the coroutine it is given
    coroutine = _work()
    function = eval(closing, {"asyncio": asyncio})
    function(*((coroutine,) if first else (None, coroutine)))
    assert not _event_loop.is_unstarted(coroutine)


def test_closing_patch_keeps_the_with_statement_and_its_name(tmp_path: Path) -> None:
    source = tmp_path / "test_x.py"
    source.write_text(
        "def test_a():\n"
        '    with patch("asyncio.create_task") as spawn:  # note\n'
        "        run()\n"
        '    with patch("asyncio.create_task"):\n'
        "        run()\n"
    )
    closing = "lambda coro: coro.close()"
    bound = never_awaited.closing_patch(
        (Location(str(source), 2), 'patch("asyncio.create_task")'), closing, "create_task"
    )
    assert bound == (
        [
            f'with patch("asyncio.create_task", side_effect={closing}) as spawn:  # closes what it is given',
            "    run()",
        ],
        "spawn",
    )
    unbound = never_awaited.closing_patch(
        (Location(str(source), 4), 'patch("asyncio.create_task")'), closing, "create_task"
    )
    assert unbound is not None
    assert unbound[0][0].startswith(f'with patch("asyncio.create_task", side_effect={closing}) as create_task:')
    decorated = never_awaited.closing_patch(
        (Location(str(source), 1), '@patch("asyncio.create_task")'), closing, "create_task"
    )
    assert decorated is not None
    assert decorated[0][0] == f'@patch("asyncio.create_task", side_effect={closing})  # closes what it is given'
