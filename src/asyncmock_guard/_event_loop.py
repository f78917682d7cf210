"""Event loops in tests: coroutines that were handed to a scheduler and that no loop will ever run.

A test gets there three ways, each with its own evidence:

- a sync test (or sync code it calls) reaches ``asyncio.create_task``/``ensure_future``/
  ``get_running_loop``/``get_event_loop`` with no loop: asyncio raises ``RuntimeError``, and the
  coroutine it was given is still in the locals of asyncio's frame in the traceback;
- the scheduler is a mock (``patch("asyncio.create_task")``, a ``MagicMock`` loop): it records the
  coroutine in its ``call_args_list`` and returns a MagicMock, so nothing ever starts it;
- on Python 3.10 to 3.13, ``get_event_loop()``/``ensure_future()`` in a sync test *makes* a loop when
  there is none (silently on 3.10/3.11, with a DeprecationWarning on 3.12/3.13) and schedules the task
  on it; nobody runs that loop, so the task never starts.

Python 3.14 differs (from its "What's New" and asyncio docs): ``get_event_loop()`` raises RuntimeError
when there is no current loop instead of making one, so the third way becomes the first, and the
policy system is deprecated (``asyncio.get_event_loop_policy()`` warns). ``idle_loop`` therefore reads
the module's private policy variable rather than calling that function; on 3.14 it simply finds no
implicit loop, and ``failed_scheduling`` handles the RuntimeError instead.

This module never imports asyncio itself: a suite that never imported it has no loop to look at.
"""

from __future__ import annotations

import inspect
import sys
import types
from collections.abc import Iterator
from typing import Any

from asyncmock_guard import _frames
from asyncmock_guard._construction import is_coroutine

# What asyncio says when there is no loop (3.10 to 3.14): ``get_running_loop()`` and the policy's
# ``get_event_loop()`` ("There is no current event loop in thread 'MainThread'.").
_NO_RUNNING_LOOP = "no running event loop"
_NO_CURRENT_LOOP = "There is no current event loop"
# The locals asyncio keeps the coroutine in while it fails to schedule it: ``create_task(coro)``,
# ``loop.create_task(coro)``, ``ensure_future(coro_or_future)`` (and its helper ``_ensure_future``).
_COROUTINE_LOCALS = ("coro", "coro_or_future")


def is_no_loop_error(error: BaseException) -> bool:
    """asyncio's RuntimeError for a missing event loop."""
    if not isinstance(error, RuntimeError):
        return False
    text = str(error)
    return text == _NO_RUNNING_LOOP or text.startswith(_NO_CURRENT_LOOP)


def unwrapped(coroutine: Any) -> Any:
    """The real coroutine behind the guard's proxy (``__wrapped__``), or the coroutine itself."""
    if type(coroutine) is types.CoroutineType:
        return coroutine
    return getattr(coroutine, "__wrapped__", coroutine)


def is_unstarted(coroutine: Any) -> bool:
    """Created and never started, sent into, thrown into or closed."""
    try:
        return inspect.getcoroutinestate(unwrapped(coroutine)) == inspect.CORO_CREATED
    except (AttributeError, TypeError):
        return False


class FailedScheduling:
    """What a no-loop RuntimeError's traceback tells: the user's line that reached asyncio, the asyncio
    function it called, and the coroutine asyncio could not schedule (None for ``get_running_loop()``
    and ``get_event_loop()``, which have none)."""

    __slots__ = ("call", "coroutine", "entries", "user_entry")

    def __init__(
        self, entries: list[types.TracebackType], user_entry: types.TracebackType, call: str, coroutine: object | None
    ) -> None:
        self.entries = entries
        self.user_entry = user_entry
        self.call = call
        self.coroutine = coroutine


def failed_scheduling(error: RuntimeError) -> FailedScheduling | None:
    """Read ``error``'s traceback: the innermost frame of the user's code, what it called in asyncio,
    and the coroutine found in the locals of asyncio's frames below it."""
    entries = _frames.traceback_entries(error)
    user_index = max((i for i, entry in enumerate(entries) if not _frames.is_library_frame(entry.tb_frame)), default=-1)
    if user_index < 0:
        return None
    below = entries[user_index + 1 :]
    coroutine = None
    for entry in below:
        for name in _COROUTINE_LOCALS:
            value = entry.tb_frame.f_locals.get(name)
            if is_coroutine(value):
                coroutine = value
                break
    if below:
        call = below[0].tb_frame.f_code.co_name.lstrip("_")  # ``_ensure_future`` is ``ensure_future``
    else:  # raised by C code called from the user's line: ``get_running_loop()``
        call = "get_running_loop" if str(error) == _NO_RUNNING_LOOP else "get_event_loop"
    return FailedScheduling(entries, entries[user_index], call, coroutine)


def coroutines_in_call(call: Any) -> Iterator[Any]:
    """The coroutines among a recorded mock call's arguments, and one level into lists, tuples and sets
    (``asyncio.wait([a(), b()])``)."""
    args, kwargs = getattr(call, "args", None), getattr(call, "kwargs", None)
    if not isinstance(args, tuple) or not isinstance(kwargs, dict):
        return
    for value in (*args, *kwargs.values()):
        if is_coroutine(value):
            yield value
        elif isinstance(value, (list, tuple, set, frozenset)):
            yield from (item for item in value if is_coroutine(item))


def idle_loop() -> Any:
    """The current event loop of asyncio's policy when it exists, is not running and is not closed:
    in a sync test, a loop that ``get_event_loop()`` made and that nobody runs.

    Reads private state (the policy object and its thread-local ``_loop``) so that looking never
    makes a loop, and never warns (``get_event_loop_policy()`` warns on 3.14). If a version stores it
    elsewhere, nothing is found: such tasks are then reported as never-awaited when collected.
    """
    asyncio = sys.modules.get("asyncio")
    if asyncio is None:
        return None
    policy = getattr(asyncio.events, "_event_loop_policy", None)
    loop = getattr(getattr(policy, "_local", None), "_loop", None)
    if loop is None or loop.is_running() or loop.is_closed():
        return None
    return loop


def unstarted_tasks(loop: Any) -> list[Any]:
    """The coroutines of ``loop``'s pending tasks that have not started."""
    asyncio = sys.modules["asyncio"]
    coroutines = []
    for task in asyncio.all_tasks(loop):
        coroutine = task.get_coro()
        if is_coroutine(coroutine) and is_unstarted(coroutine):
            coroutines.append(coroutine)
    return coroutines
