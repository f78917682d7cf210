"""``no-running-loop``: a sync test (or sync code it calls) reached asyncio's scheduler with no loop running
(asyncio's RuntimeError), or left a task on a loop that ``get_event_loop()`` made and nobody runs.

The two fixes, make the test async or patch the scheduler with a closing ``side_effect``, are both shown;
which is right depends on whether what the task does matters to the test, so no edit is offered. The
scheduling helpers here (how the code spelled the scheduler, where to patch it) serve ``never_awaited``'s
swallowed-by-a-mock remedy too.
"""

from __future__ import annotations

import re

from asyncmock_guard._advice import source_line
from asyncmock_guard._findings import Location


class TestLine:
    """The line of the test that led to a finding, and the test function's name (for the rewrite)."""

    __slots__ = ("function", "where")

    def __init__(self, where: Location, function: str) -> None:
        self.where = where
        self.function = function


class Scheduling:
    """How the user's code reached the scheduler: the callable as written (``asyncio.create_task``),
    where to patch it (``asyncio.create_task``, or ``app.metrics.create_task`` after ``from asyncio
    import create_task``), and whether it passed more than the coroutine."""

    __slots__ = ("call", "coroutine_first", "extra_arguments", "patch_target")

    def __init__(
        self, call: str, patch_target: str, *, extra_arguments: bool = False, coroutine_first: bool = True
    ) -> None:
        self.call = call
        self.patch_target = patch_target
        self.extra_arguments = extra_arguments
        self.coroutine_first = coroutine_first

    @property
    def closing(self) -> str:
        """A side_effect that closes the coroutine it is given, so it is neither run nor lost."""
        if not self.coroutine_first:
            return "lambda *args, **kwargs: [arg.close() for arg in args if asyncio.iscoroutine(arg)]"
        return "lambda coro, *args, **kwargs: coro.close()" if self.extra_arguments else "lambda coro: coro.close()"


_LOOP_GETTERS = ("get_event_loop", "get_running_loop")


def _loop_method_after(line: str, getter: str) -> str:
    """The loop method called on the getter's result on that line (``create_task`` by default)."""
    match = re.search(rf"{getter}\(\)\s*\.\s*(\w+)\s*\(", line)
    return match.group(1) if match else "create_task"


def handed_check(handle: str, coroutine_name: str, *, from_mock: bool) -> str:
    """The assertion on what the closing mock was handed: the coroutine function's name, or, for an
    AsyncMock's coroutine (whose function is unittest.mock's), that the AsyncMock was called."""
    if from_mock:
        return f"{coroutine_name}.assert_called_once()"
    return f'assert {handle}.call_args.args[0].__qualname__ == "{coroutine_name}"'


def _async_test_fix(test: TestLine | None, coroutine_name: str | None) -> list[str]:
    name = test.function if test is not None else "test_..."
    body = source_line(test.where) if test is not None else "..."
    wait = (
        f"  # then let `{coroutine_name}()` start before asserting on what it does"
        if coroutine_name
        else "  # a loop is running now"
    )
    return [
        "# 1. make the test async, so that a loop runs (pytest-asyncio; with anyio: @pytest.mark.anyio):",
        "@pytest.mark.asyncio",
        f"async def {name}(...):",
        f"    {body}",
        f"    await asyncio.sleep(0){wait}",
    ]


def _sync_test_fix(
    scheduling: Scheduling, test: TestLine | None, coroutine_name: str | None, *, from_mock: bool
) -> list[str]:
    body = source_line(test.where) if test is not None else "..."
    attribute = scheduling.patch_target.rpartition(".")[2]
    fix = ["# 2. or keep the test sync, and patch the scheduler so that it closes what it is given:"]
    if attribute in _LOOP_GETTERS:
        method = _loop_method_after(source_line(test.where) if test is not None else "", attribute)
        fix += [
            "loop = MagicMock()",
            f"loop.{method}.side_effect = lambda coro, *args, **kwargs: coro.close()",
            f'with patch("{scheduling.patch_target}", return_value=loop):',
            f"    {body}",
            f"loop.{method}.assert_called_once()",
        ]
        return fix
    fix += [
        f'with patch("{scheduling.patch_target}", side_effect={scheduling.closing}) as {attribute}:',
        f"    {body}",
        f"{attribute}.assert_called_once()",
    ]
    if coroutine_name:
        fix.append(handed_check(attribute, coroutine_name, from_mock=from_mock))
    return fix


def no_loop(
    subject: str,
    coroutine_name: str | None,
    scheduling: Scheduling,
    where: Location,
    test: TestLine | None,
    *,
    nodeid: str | None,
    rootdir: str | None,
    from_mock: bool = False,
) -> tuple[str, str]:
    """Advice for a sync test whose code reached asyncio's scheduler with no loop, and got RuntimeError."""
    from_test = (
        f" (reached from the test's line {test.where.short(rootdir)})"
        if test is not None and test.where != where
        else ""
    )
    in_test = _sync_code(nodeid)
    if coroutine_name:
        message = (
            f"`{coroutine_name}()` was handed to `{scheduling.call}()` at {where.short(rootdir)}{from_test},"
            f" but no event loop is running in {in_test}: asyncio raised RuntimeError, and the coroutine"
            " never ran."
        )
    else:
        message = (
            f"`{subject}` at {where.short(rootdir)}{from_test} needs an event loop, but none is running in"
            f" {in_test}: asyncio raised RuntimeError."
        )
    return message, _loop_fixes(scheduling, test, coroutine_name, from_mock=from_mock)


def _sync_code(nodeid: str | None) -> str:
    return f"the sync test {nodeid}" if nodeid else "this sync code"


def _loop_fixes(scheduling: Scheduling, test: TestLine | None, coroutine_name: str | None, *, from_mock: bool) -> str:
    """The two fixes for code that needs a running loop: an async test, or a scheduler that closes."""
    fix = [
        *_async_test_fix(test, coroutine_name),
        *_sync_test_fix(scheduling, test, coroutine_name, from_mock=from_mock),
    ]
    return "\n".join(fix)


def idle_loop(
    coroutine_name: str,
    scheduling: Scheduling,
    where: Location,
    test: TestLine | None,
    *,
    nodeid: str | None,
    rootdir: str | None,
    from_mock: bool = False,
) -> tuple[str, str]:
    """Advice for a task scheduled, in a sync test, on a loop that ``get_event_loop()`` made and nobody runs."""
    in_test = _sync_code(nodeid)
    message = (
        f"`{coroutine_name}()` was scheduled at {where.short(rootdir)} on an event loop that is not running:"
        f" no loop runs in {in_test}, so asyncio's get_event_loop() handed out an idle one (a new loop it"
        " made, which Python 3.12 and 3.13 warn about with a DeprecationWarning and 3.14 refuses with"
        " RuntimeError, or one left over from another test). The task never started, so the test passed"
        f" without running `{coroutine_name}`."
    )
    return message, _loop_fixes(scheduling, test, coroutine_name, from_mock=from_mock)
