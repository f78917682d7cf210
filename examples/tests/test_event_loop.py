"""The guide's Pattern 3, "RuntimeError: There is no current event loop", and its suggested fix.

Tests named ``test_wrong_*`` fail in strict mode with a report; ``test_right_*`` are the two real fixes.
"""

from __future__ import annotations

import asyncio
from unittest.mock import patch

import pytest
from app.metrics import MetricsRegistry


# The problem: a sync test reaches asyncio.create_task with no loop running.
def test_wrong_pattern_3_no_running_loop() -> None:
    registry = MetricsRegistry()
    value = 42.0
    registry.record_metric("Service", "metric", value)


# The guide's "solution": the patched create_task swallows the coroutine; flush() never runs.
def test_wrong_pattern_3_patched_create_task() -> None:
    registry = MetricsRegistry()
    value = 42.0
    with patch("asyncio.create_task"):
        registry.record_metric("Service", "metric", value)


# Fix 1: an async test, so that a loop runs the task.
async def test_right_pattern_3_async_test() -> None:
    registry = MetricsRegistry()
    value = 42.0
    registry.record_metric("Service", "metric", value)
    await asyncio.sleep(0)
    assert registry.flushed == [("Service", "metric", value)]


# Fix 2: a sync test whose patched create_task closes what it is given, and says what it was.
def test_right_pattern_3_closing_patch() -> None:
    registry = MetricsRegistry()
    value = 42.0
    with patch("asyncio.create_task", side_effect=lambda coro: coro.close()) as create_task:
        registry.record_metric("Service", "metric", value)
    create_task.assert_called_once()
    assert create_task.call_args.args[0].__qualname__ == "MetricsRegistry.flush"


@pytest.mark.parametrize("value", [1.0])
def test_right_pattern_3_nothing_to_flush(value: float) -> None:
    registry = MetricsRegistry(flush_every=2)
    registry.record_metric("Service", "metric", value)
    assert registry.flushed == []
