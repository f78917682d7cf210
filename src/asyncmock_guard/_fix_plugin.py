"""The pytest side of ``asyncmock-guard fix``, which loads it (``-p asyncmock_guard._fix_plugin``) in the runs it
makes: run only the tests listed in the file that ``ASYNCMOCK_GUARD_FIX_SELECT`` names, when it is set, and
write each test's outcome to the file that ``ASYNCMOCK_GUARD_FIX_OUTCOMES`` names. Under pytest-xdist every
worker selects the same tests and the controller, which sees every report, writes the outcomes."""

from __future__ import annotations

import json
import os

import pytest

SELECT_ENV = "ASYNCMOCK_GUARD_FIX_SELECT"
OUTCOMES_ENV = "ASYNCMOCK_GUARD_FIX_OUTCOMES"
# From worst to best: a test's outcome is the worst of its reports (a failed subtest fails its test).
ORDER = ("error", "failed", "skipped", "xfailed", "passed")


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(_Outcomes(config), "asyncmock-guard-fix-outcomes")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    path = os.environ.get(SELECT_ENV)
    if not path:
        return
    with open(path, encoding="utf-8") as stream:
        wanted = set(json.load(stream))  # node ids, and paths of test modules (every test in them)

    def selected(item: pytest.Item) -> bool:
        return item.nodeid in wanted or item.nodeid.partition("::")[0] in wanted

    deselected = [item for item in items if not selected(item)]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if selected(item)]


def outcome_of(report: pytest.TestReport) -> str | None:
    """What one report says of its test; None for a report that decides nothing (a rerun's attempt)."""
    if report.outcome not in ("passed", "failed", "skipped"):
        return None  # pytest-rerunfailures' "rerun": the last attempt decides
    if report.failed:
        return "failed" if report.when == "call" else "error"
    if report.skipped:
        return "xfailed" if hasattr(report, "wasxfail") else "skipped"
    return "passed" if report.when == "call" else None


class _Outcomes:
    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.outcomes: dict[str, str] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        outcome = outcome_of(report)
        known = self.outcomes.get(report.nodeid)
        if outcome is not None and (known is None or ORDER.index(outcome) < ORDER.index(known)):
            self.outcomes[report.nodeid] = outcome

    def pytest_sessionfinish(self) -> None:
        path = os.environ.get(OUTCOMES_ENV)
        if path and not hasattr(self.config, "workerinput"):
            with open(path, "w", encoding="utf-8") as stream:
                json.dump(self.outcomes, stream)
