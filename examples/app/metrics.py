"""The guide's Pattern 3: recording a metric schedules an automatic flush on the running loop."""

from __future__ import annotations

import asyncio


class MetricsRegistry:
    def __init__(self, flush_every: int = 1) -> None:
        self.metrics: list[tuple[str, str, float]] = []
        self.flush_every = flush_every
        self.flushed: list[tuple[str, str, float]] = []

    def record_metric(self, service: str, metric: str, value: float) -> None:
        self.metrics.append((service, metric, value))
        if len(self.metrics) >= self.flush_every:
            asyncio.create_task(self.flush())  # noqa: RUF006 - the guide's code, as written

    async def flush(self) -> None:
        self.flushed.extend(self.metrics)
        self.metrics.clear()
