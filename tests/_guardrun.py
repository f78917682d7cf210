"""Shared helpers for the end-to-end tests: run a pytester sub-run with the guard and read its report."""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from _pytest import unraisableexception

from asyncmock_guard import _edits

# pytest collects garbage fully in its own pytest_unconfigure, while the guard still listens, from the
# release that moved it there (9.1); before, only in a cleanup after the guard has stopped.
PYTEST_COLLECTS_AT_UNCONFIGURE = hasattr(unraisableexception, "pytest_unconfigure")

# An app whose coroutine a test can lose, and two tests that lose one in a reference cycle that is
# already old when it becomes garbage: only a full collection finds it (see GuardPlugin._collect_lost_coroutines).
POLLER_APP = """
class Poller:
    async def poll(self):
        return 1
"""

# The coroutine function the scheduler cases hand to ``asyncio.run`` (the test patches it).
TAGS_TOOLS = """
async def show_tags(repo):
    return ["a"]
"""

OLD_CYCLE_TESTS = """
    import gc
    import app

    kept = []

    def test_leaks_into_old_cycle():
        holder = {}
        holder["self"] = holder
        holder["pending"] = app.Poller().poll()  # <-- call
        kept.append(holder)
        gc.collect()  # holder survives a full collection: it is in the oldest generation now

    def test_lets_it_go():
        gc.disable()
        kept.clear()
    """

INI = """
[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = function
"""


@dataclass
class GuardRun:
    result: pytest.RunResult
    findings: list[dict[str, Any]]
    document: dict[str, Any]

    @property
    def output(self) -> str:
        return self.result.stdout.str()

    def only(self) -> dict[str, Any]:
        assert len(self.findings) == 1, self.findings
        return self.findings[0]


def uses_hypothesis(root: Path) -> bool:
    """Whether any module of the project mentions hypothesis."""
    return any("hypothesis" in path.read_text(encoding="utf-8", errors="replace") for path in root.rglob("*.py"))


# The plugins of the test extra that tests/test_other_plugins.py runs the guard beside: the other sub-runs
# keep them out (importing pytest-cov and the rest in every sub-run made the suite half as slow again).
OTHER_PLUGINS = ("randomly", "rerunfailures", "repeat", "timeout", "pytest_cov")


def run_guard(
    pytester: pytest.Pytester, mode: str | None, *args: str, plugin: bool = True, plugins: tuple[str, ...] = ()
) -> GuardRun:
    """Run pytest in a subprocess (the guard patches globals and finalizers) and load the JSON report;
    ``plugins``: those of ``OTHER_PLUGINS`` the run loads.

    hypothesis's pytest plugin is loaded only where the project uses hypothesis: that plugin imports all of
    hypothesis at every run's terminal summary, about a second, which would be most of each sub-run (the
    runs that load it, and the few that run pytest directly, cover how the guard and it get along)."""
    report = pytester.path / "guard-report.json"
    if report.exists():
        report.unlink()
    options = ["-p", "no:cacheprovider"]
    for other in OTHER_PLUGINS:
        options += ["-p", other if other in plugins else f"no:{other}"]
    if not uses_hypothesis(pytester.path):
        options += ["-p", "no:hypothesispytest"]
    if plugin:
        options += ["-p", "asyncmock_guard"]
    if mode is not None:
        options.append(f"--asyncmock-guard={mode}")
    options.append(f"--asyncmock-guard-report={report}")
    result = pytester.runpytest_subprocess(*options, *args)
    document: dict[str, Any] = json.loads(report.read_text()) if report.exists() else {"findings": []}
    return GuardRun(result, document["findings"], document)


def line_of(source: str, marker: str) -> int:
    """The 1-based line of the (dedented) source that contains ``marker``."""
    lines = textwrap.dedent(source).lstrip("\n").splitlines()
    matches = [number for number, line in enumerate(lines, start=1) if marker in line]
    assert len(matches) == 1, f"{marker!r} found {len(matches)} times"
    return matches[0]


def write_project(pytester: pytest.Pytester, **modules: str) -> None:
    pytester.makeini(INI)
    for name, source in modules.items():
        path = pytester.path / f"{name}.py"
        path.write_text(textwrap.dedent(source).lstrip("\n"))


def apply_edits(pytester: pytest.Pytester, findings: list[dict[str, Any]], rootdir: Path | None = None) -> int:
    """Apply the findings' edits to the project, as a user (or ``asyncmock-guard fix``) would: each distinct
    edit once (the findings of one shared helper carry the same ones). Returns how many were applied."""
    edits = list(
        dict.fromkeys(
            _edits.Edit.from_json(edit, str(rootdir or pytester.path)) for f in findings for edit in f["edits"]
        )
    )
    _edits.apply(edits)
    return len(edits)


def rerun_clean(pytester: pytest.Pytester, mode: str | None, *args: str) -> GuardRun:
    """Run again after the edits: no finding, and every test passes."""
    run = run_guard(pytester, mode, *args)
    assert run.findings == [], run.output
    outcomes = run.result.parseoutcomes()
    assert outcomes.get("passed", 0) >= 1, run.output
    assert not outcomes.get("failed"), run.output
    assert not outcomes.get("errors"), run.output
    return run


def write_files(pytester: pytest.Pytester, files: dict[str, str]) -> None:
    """A project of several packages (``app/``, ``tests/``...), importable from its root."""
    pytester.makeini(INI + "pythonpath = .\n")
    for name, source in files.items():
        path = pytester.path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source).lstrip("\n"))


def line_in(pytester: pytest.Pytester, name: str, marker: str) -> int:
    """The 1-based line of the project's file ``name`` that holds ``marker`` (exactly one does)."""
    lines = (pytester.path / name).read_text().splitlines()
    matches = [number for number, line in enumerate(lines, start=1) if marker in line]
    assert len(matches) == 1, (marker, matches)
    return matches[0]
