"""Event-loop misuse: the seed's Pattern 3 (create_task from a sync test), the patched scheduler it
suggests, ensure_future/get_event_loop, mocked loops, and the correct ways that must stay silent."""

from __future__ import annotations

import sys

import pytest

from _guardrun import line_of, run_guard, write_project

# The seed's MetricsRegistry: recording a metric schedules an automatic flush.
METRICS = """
import asyncio


class MetricsRegistry:
    def __init__(self, flush_every=1):
        self.metrics = []
        self.flush_every = flush_every
        self.flushed = []

    def record_metric(self, service, metric, value):
        self.metrics.append((service, metric, value))
        if len(self.metrics) >= self.flush_every:
            asyncio.create_task(self.flush())  # <-- create_task

    def record_with_ensure_future(self, service, metric, value):
        self.metrics.append((service, metric, value))
        asyncio.ensure_future(self.flush())  # <-- ensure_future

    def record_on_current_loop(self, service, metric, value):
        self.metrics.append((service, metric, value))
        asyncio.get_event_loop().create_task(self.flush())  # <-- get_event_loop

    def record_in_thread(self, service, metric, value):
        self.metrics.append((service, metric, value))
        asyncio.get_event_loop().run_in_executor(None, asyncio.run, self.flush())  # <-- run_in_executor

    async def flush(self):
        self.flushed.extend(self.metrics)
        self.metrics.clear()
"""

PATTERN_3 = """
from metrics import MetricsRegistry


def test_records_metric():
    registry = MetricsRegistry()
    value = 42
    registry.record_metric("Service", "metric", value)  # <-- test line
"""

# Python 3.14 refuses get_event_loop() without a loop instead of making one (see _event_loop).
MAKES_IMPLICIT_LOOP = sys.version_info < (3, 14)
# what a finding names when `asyncio.get_event_loop()` meets no loop: the coroutine the loop was to run, or,
# where asyncio raises first (3.14+), the call that raised
MADE_BY_GET_EVENT_LOOP = "MetricsRegistry.flush" if MAKES_IMPLICIT_LOOP else "asyncio.get_event_loop()"


def _where(marker: str) -> dict[str, object]:
    return {"path": "metrics.py", "line": line_of(METRICS, marker)}


@pytest.mark.parametrize("mode", ["strict", "warn"])
def test_seed_pattern_3_create_task_in_a_sync_test(pytester: pytest.Pytester, mode: str) -> None:
    write_project(pytester, metrics=METRICS, test_case=PATTERN_3)
    run = run_guard(pytester, mode)
    finding = run.only()
    assert finding["kind"] == "no-running-loop"
    assert finding["nodeid"] == "test_case.py::test_records_metric"
    assert finding["subject"] == "MetricsRegistry.flush"
    assert finding["where"] == _where("<-- create_task")
    test_line = line_of(PATTERN_3, "<-- test line")
    assert f"(reached from the test's line test_case.py:{test_line})" in finding["message"]
    fix = finding["fix"].splitlines()
    assert "async def test_records_metric(...):" in fix
    assert 'with patch("asyncio.create_task", side_effect=lambda coro: coro.close()) as create_task:' in fix
    assert '    registry.record_metric("Service", "metric", value)  # <-- test line' in fix
    assert 'assert create_task.call_args.args[0].__qualname__ == "MetricsRegistry.flush"' in fix
    # The test's own exception still reaches the user, with the explanation added to it.
    run.result.stdout.fnmatch_lines(
        [
            "E       RuntimeError: no running event loop",
            "E       asyncmock-guard: `MetricsRegistry.flush()` was handed*",
        ]
    )
    if mode == "strict":
        run.result.assert_outcomes(failed=1)
        run.result.stdout.fnmatch_lines(["*no-running-loop? MetricsRegistry.flush*"])
    else:
        run.result.assert_outcomes(failed=1, warnings=1)
    # The coroutine asyncio could not schedule is reported once, here, not again as never-awaited.
    assert "never awaited" not in run.result.stderr.str() + run.output


@pytest.mark.parametrize("mode", ["strict", "warn"])
def test_seed_pattern_3_with_the_patch_it_suggests(pytester: pytest.Pytester, mode: str) -> None:
    test = """
    from unittest.mock import patch
    from metrics import MetricsRegistry


    def test_records_metric():
        registry = MetricsRegistry()
        value = 42
        with patch("asyncio.create_task"):  # <-- patch
            registry.record_metric("Service", "metric", value)
    """
    write_project(pytester, metrics=METRICS, test_case=test)
    run = run_guard(pytester, mode)
    finding = run.only()
    assert finding["kind"] == "never-awaited"
    assert finding["nodeid"] == "test_case.py::test_records_metric"
    assert finding["subject"] == "MetricsRegistry.flush"
    assert finding["where"] == _where("<-- create_task")
    patch_line = line_of(test, "<-- patch")
    assert "was handed to `asyncio.create_task`, a mock" in finding["message"]
    assert f'patched at test_case.py:{patch_line}: `patch("asyncio.create_task")`' in finding["message"]
    assert "A mock swallowed it" in finding["message"]
    fix = finding["fix"].splitlines()
    assert fix[0] == (
        'with patch("asyncio.create_task", side_effect=lambda coro: coro.close()) as create_task:'
        "  # closes what it is given"
    )
    assert "create_task.assert_called_once()" in fix
    if mode == "strict":
        run.result.assert_outcomes(failed=1)
    else:
        run.result.assert_outcomes(passed=1, warnings=1)
    assert "never awaited" not in run.result.stderr.str()


def test_the_suggested_fixes_pass_silently(pytester: pytest.Pytester) -> None:
    """Both fixes of the no-running-loop report, pasted in, give a clean run."""
    test = """
    import asyncio
    from unittest.mock import patch

    import pytest
    from metrics import MetricsRegistry


    def test_sync_with_closing_patch():
        registry = MetricsRegistry()
        value = 42
        with patch("asyncio.create_task", side_effect=lambda coro: coro.close()) as create_task:
            registry.record_metric("Service", "metric", value)
        create_task.assert_called_once()
        assert create_task.call_args.args[0].__qualname__ == "MetricsRegistry.flush"


    @pytest.mark.asyncio
    async def test_records_metric():
        registry = MetricsRegistry()
        value = 42
        registry.record_metric("Service", "metric", value)
        await asyncio.sleep(0)
        assert registry.flushed == [("Service", "metric", 42)]
    """
    write_project(pytester, metrics=METRICS, test_case=test)
    run = run_guard(pytester, "strict")
    run.result.assert_outcomes(passed=2)
    assert run.findings == []


@pytest.mark.parametrize("mode", ["strict", "warn"])
@pytest.mark.parametrize(
    ("method", "marker", "subject"),
    [
        ("record_with_ensure_future", "<-- ensure_future", "MetricsRegistry.flush"),
        # on 3.14, `asyncio.get_event_loop().create_task(self.flush())` raises before `self.flush()` runs
        ("record_on_current_loop", "<-- get_event_loop", MADE_BY_GET_EVENT_LOOP),
    ],
)
def test_ensure_future_and_get_event_loop_without_a_loop(
    pytester: pytest.Pytester, mode: str, method: str, marker: str, subject: str
) -> None:
    # With no loop at all, Python 3.10 to 3.13 make one that nothing runs (3.14 raises RuntimeError).
    test = f"""
    from metrics import MetricsRegistry


    def test_records_metric():
        registry = MetricsRegistry()
        registry.{method}("Service", "metric", 42)
    """
    write_project(pytester, metrics=METRICS, test_case=test)
    run = run_guard(pytester, mode, "-W", "ignore::DeprecationWarning")
    finding = run.only()
    assert finding["kind"] == "no-running-loop"
    assert finding["nodeid"] == "test_case.py::test_records_metric"
    assert finding["subject"] == subject
    assert finding["where"] == _where(marker)
    assert "async def test_records_metric(...):" in finding["fix"]
    if MAKES_IMPLICIT_LOOP:
        assert "on an event loop that is not running" in finding["message"]
        if mode == "strict":
            run.result.assert_outcomes(failed=1)
        else:
            run.result.assert_outcomes(passed=1, warnings=1)
    else:  # pragma: no cover - Python 3.14
        run.result.assert_outcomes(failed=1, warnings=1 if mode == "warn" else 0)
    assert "never awaited" not in run.result.stderr.str()


def test_a_task_scheduled_three_calls_below_a_sync_test_is_the_tests(pytester: pytest.Pytester) -> None:
    # The coroutine is created four frames below the test function: still on its creation stack.
    test = """
    from metrics import MetricsRegistry


    class Service:
        def __init__(self):
            self.registry = MetricsRegistry()

        def handle(self):
            self._audit()

        def _audit(self):
            self.registry.record_with_ensure_future("Service", "metric", 42)


    def test_handles_a_request():
        Service().handle()  # <-- test line
    """
    write_project(pytester, metrics=METRICS, test_case=test)
    run = run_guard(pytester, "strict", "-W", "ignore::DeprecationWarning")
    finding = run.only()
    assert finding["kind"] == "no-running-loop"
    assert finding["nodeid"] == "test_case.py::test_handles_a_request"
    assert finding["where"] == _where("<-- ensure_future")
    if MAKES_IMPLICIT_LOOP:
        assert "on an event loop that is not running" in finding["message"]
        assert "    Service().handle()  # <-- test line" in finding["fix"].splitlines()
    run.result.assert_outcomes(failed=1)


@pytest.mark.parametrize("mode", ["strict", "warn"])
@pytest.mark.parametrize(
    ("method", "marker", "subject", "patch_target"),
    [
        ("record_with_ensure_future", "<-- ensure_future", "MetricsRegistry.flush", "asyncio.ensure_future"),
        ("record_on_current_loop", "<-- get_event_loop", "asyncio.get_event_loop()", "asyncio.get_event_loop"),
    ],
)
def test_ensure_future_and_get_event_loop_after_the_loop_was_unset(
    pytester: pytest.Pytester, mode: str, method: str, marker: str, subject: str, patch_target: str
) -> None:
    # After set_event_loop(None) (as pytest-asyncio leaves it after an async test) every version raises.
    test = f"""
    import asyncio
    from metrics import MetricsRegistry


    def test_records_metric():
        asyncio.set_event_loop(None)
        registry = MetricsRegistry()
        registry.{method}("Service", "metric", 42)  # <-- test line
    """
    write_project(pytester, metrics=METRICS, test_case=test)
    run = run_guard(pytester, mode)
    finding = run.only()
    assert finding["kind"] == "no-running-loop"
    assert finding["subject"] == subject
    assert finding["where"] == _where(marker)
    assert f'patch("{patch_target}"' in finding["fix"]
    run.result.stdout.fnmatch_lines(["E*RuntimeError: There is no current event loop*"])
    run.result.assert_outcomes(failed=1, warnings=1 if mode == "warn" else 0)
    assert "never awaited" not in run.result.stderr.str()


@pytest.mark.parametrize("mode", ["strict", "warn"])
@pytest.mark.parametrize(
    ("method", "marker", "scheduler", "closing"),
    [
        ("record_on_current_loop", "<-- get_event_loop", "mock_loop.create_task", "lambda coro: coro.close()"),
        (
            "record_in_thread",
            "<-- run_in_executor",
            "mock_loop.run_in_executor",
            "lambda *args, **kwargs: [arg.close() for arg in args if asyncio.iscoroutine(arg)]",
        ),
    ],
)
def test_a_mocked_loop_swallows_the_coroutine(
    pytester: pytest.Pytester, mode: str, method: str, marker: str, scheduler: str, closing: str
) -> None:
    test = f"""
    from unittest.mock import MagicMock, patch
    from metrics import MetricsRegistry


    def test_records_metric():
        registry = MetricsRegistry()
        mock_loop = MagicMock()
        with patch("asyncio.get_event_loop", return_value=mock_loop):
            registry.{method}("Service", "metric", 42)
    """
    write_project(pytester, metrics=METRICS, test_case=test)
    run = run_guard(pytester, mode)
    finding = run.only()
    assert finding["kind"] == "never-awaited"
    assert finding["subject"] == "MetricsRegistry.flush"
    assert finding["where"] == _where(marker)
    assert f"was handed to `{scheduler}`, a mock" in finding["message"]
    assert finding["fix"].splitlines()[0] == f"{scheduler}.side_effect = {closing}  # closes what it is given"
    if mode == "strict":
        run.result.assert_outcomes(failed=1)
    else:
        run.result.assert_outcomes(passed=1, warnings=1)
    assert "never awaited" not in run.result.stderr.str()


def test_an_awaited_mock_coroutine_handed_to_a_patched_scheduler_is_named_by_its_mock(
    pytester: pytest.Pytester,
) -> None:
    test = """
    import asyncio
    from unittest.mock import AsyncMock, patch


    def notify(client):
        asyncio.create_task(client.send("hello"))  # <-- schedule


    def test_notifies():
        client = AsyncMock()
        with patch("asyncio.create_task") as create_task:
            notify(client)
        create_task.assert_called_once()
    """
    write_project(pytester, test_case=test)
    run = run_guard(pytester, "strict")
    finding = run.only()
    assert finding["kind"] == "never-awaited"
    assert finding["subject"] == "client.send"
    assert finding["where"] == {"path": "test_case.py", "line": line_of(test, "<-- schedule")}
    assert (
        finding["fix"]
        .splitlines()[0]
        .startswith('with patch("asyncio.create_task", side_effect=lambda coro: coro.close()) as create_task:')
    )
    run.result.assert_outcomes(failed=1)


CORRECT = """
import asyncio
import threading
from unittest.mock import MagicMock, patch

import pytest
from metrics import MetricsRegistry


def test_closing_side_effect_on_the_mocked_loop():
    mock_loop = MagicMock()
    mock_loop.create_task.side_effect = lambda coro: coro.close()
    with patch("asyncio.get_event_loop", return_value=mock_loop):
        MetricsRegistry().record_on_current_loop("Service", "metric", 1)
    mock_loop.create_task.assert_called_once()


async def test_async_test_awaits_its_task():
    registry = MetricsRegistry()
    registry.record_metric("Service", "metric", 1)
    await asyncio.gather(*(asyncio.all_tasks() - {asyncio.current_task()}))
    assert registry.flushed == [("Service", "metric", 1)]


async def test_async_test_with_ensure_future_and_gather():
    registry = MetricsRegistry()
    await asyncio.gather(asyncio.ensure_future(registry.flush()), asyncio.create_task(registry.flush()))


def test_asyncio_run_in_a_sync_test():
    registry = MetricsRegistry(flush_every=10)
    registry.record_metric("Service", "metric", 1)
    asyncio.run(registry.flush())
    assert registry.flushed == [("Service", "metric", 1)]


def test_run_coroutine_threadsafe_on_a_loop_in_a_thread():
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever)
    thread.start()
    try:
        registry = MetricsRegistry(flush_every=10)
        registry.record_metric("Service", "metric", 1)
        asyncio.run_coroutine_threadsafe(registry.flush(), loop).result(timeout=5)
        assert registry.flushed == [("Service", "metric", 1)]
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()


def test_old_style_loop_run_until_complete():
    loop = asyncio.new_event_loop()
    try:
        task = loop.create_task(MetricsRegistry().flush())
        loop.run_until_complete(task)
    finally:
        loop.close()


@pytest.mark.asyncio(loop_scope="module")
async def test_module_scoped_loop_runs_its_task():
    registry = MetricsRegistry()
    registry.record_metric("Service", "metric", 1)
    await asyncio.sleep(0)
    assert registry.flushed


@pytest.mark.anyio
async def test_anyio_task_group_runs_it():
    import anyio

    registry = MetricsRegistry(flush_every=10)
    async with anyio.create_task_group() as group:
        group.start_soon(registry.flush)


@pytest.fixture
def anyio_backend():
    return "asyncio"
"""


@pytest.mark.parametrize("mode", ["strict", "warn"])
def test_correct_event_loop_code_stays_silent(pytester: pytest.Pytester, mode: str) -> None:
    write_project(pytester, metrics=METRICS, test_case=CORRECT)
    run = run_guard(pytester, mode, "-W", "error::DeprecationWarning")
    run.result.assert_outcomes(passed=8)
    assert run.findings == []
    assert "never awaited" not in run.result.stderr.str()


@pytest.mark.skipif(not MAKES_IMPLICIT_LOOP, reason="Python 3.14 raises RuntimeError instead")
def test_an_asyncmock_coroutine_left_on_an_idle_loop_is_named_by_its_mock(pytester: pytest.Pytester) -> None:
    test = """
    import asyncio
    from unittest.mock import AsyncMock


    def test_sends():
        client = AsyncMock()
        asyncio.ensure_future(client.send("x"))  # <-- schedule
    """
    write_project(pytester, test_case=test)
    run = run_guard(pytester, "strict", "-W", "ignore::DeprecationWarning")
    finding = run.only()
    assert (finding["kind"], finding["subject"]) == ("no-running-loop", "client.send")
    assert finding["where"] == {"path": "test_case.py", "line": line_of(test, "<-- schedule")}
    fix = finding["fix"].splitlines()
    assert "async def test_sends(...):" in fix
    assert 'with patch("asyncio.ensure_future", side_effect=lambda coro: coro.close()) as ensure_future:' in fix
    assert fix[-1] == "client.send.assert_called_once()"
    run.result.assert_outcomes(failed=1)


@pytest.mark.skipif(not MAKES_IMPLICIT_LOOP, reason="Python 3.14 raises RuntimeError instead")
@pytest.mark.parametrize("mode", ["strict", "warn"])
def test_an_asyncmock_coroutine_on_the_loop_a_sync_test_got_is_named_by_its_mock(
    pytester: pytest.Pytester, mode: str
) -> None:
    test = """
    import asyncio
    from unittest.mock import AsyncMock


    def test_sends():
        client = AsyncMock()
        loop = asyncio.get_event_loop()
        loop.create_task(client.send("x"))  # <-- schedule
    """
    write_project(pytester, test_case=test)
    run = run_guard(pytester, mode, "-W", "ignore::DeprecationWarning")
    finding = run.only()
    assert (finding["kind"], finding["subject"]) == ("no-running-loop", "client.send")
    assert finding["where"] == {"path": "test_case.py", "line": line_of(test, "<-- schedule")}
    assert "async def test_sends(...):" in finding["fix"].splitlines()
    if mode == "strict":
        run.result.assert_outcomes(failed=1)
    else:
        run.result.assert_outcomes(passed=1, warnings=1)


def test_a_collection_during_the_test_does_not_hide_the_swallowing_mock(pytester: pytest.Pytester) -> None:
    # Mocks live in reference cycles: the patched create_task is garbage once the with block ends.
    test = """
    import gc
    from unittest.mock import patch
    from metrics import MetricsRegistry


    def test_records_metric():
        registry = MetricsRegistry()
        with patch("asyncio.create_task"):
            registry.record_metric("Service", "metric", 42)
        gc.collect()
    """
    write_project(pytester, metrics=METRICS, test_case=test)
    run = run_guard(pytester, "strict")
    finding = run.only()
    assert "A mock swallowed it" in finding["message"]
    run.result.assert_outcomes(failed=1)
