"""One session's use of the baseline: the findings it accepts, what the session covered, and, at the end,
the entries gone stale or the updated file.

An entry counts as stale only where this session could have found it again: its test ran its body (its
call phase passed or failed; a partial run, a test whose setup failed or that skipped itself keeps its
entries), or, for an entry outside any test, its phase ran (a wide fixture was set up; collection always
runs) and its file was imported. A session that stopped early (Ctrl-C, ``pytest.exit``, ``-x``) covered
nothing for sure: its update adds what it found and removes nothing.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import Any

import pytest

from asyncmock_guard import _files, _phases, _reporting
from asyncmock_guard._baseline import Baseline, Key, Reconciliation, reconcile, render
from asyncmock_guard._findings import UNKNOWN_TEST, Finding, relative_path

# What runs in every session outside the tests (the wide fixtures are added as they are set up).
SESSION_PHASES = frozenset({"conftest import", "collection", "between tests", "session end", UNKNOWN_TEST})


class BaselineRun:
    """The baseline as this session uses it (``updating``: the session rewrites it)."""

    def __init__(self, baseline: Baseline, *, updating: bool, rootdir: str) -> None:
        self.baseline = baseline
        self.updating = updating
        self.rootdir = rootdir
        self.tests_run: set[str] = set()  # node ids (with a subtest's description) of the tests that ran their body
        self.stopped_early = False  # the session was interrupted, or stopped at a failure (-x, --maxfail)
        self.phases_run: set[str] = set(SESSION_PHASES)
        self.covered_outside_tests: set[Key] = set()
        self.reconciliation: Reconciliation | None = None
        self.write_error: str | None = None  # why the update could not be written

    def header(self) -> str:
        action = "updating" if self.updating else f"{sum(self.baseline.entries.values())} accepted"
        return f"baseline: {self.baseline.path} ({action})"

    def judged(self, finding: Finding) -> Finding:
        """The finding, marked baselined when the baseline accepts it (or when this run records it)."""
        if self.updating or self.baseline.claim(Key.of(finding, self.rootdir), finding.count):
            return finding.accepted()
        return finding

    # --- what the session covered ----------------------------------------------------------------------
    def test_reported(self, report: pytest.TestReport) -> None:
        """A test, or a subtest, ran its body when its call phase passed or failed (an xfail's failed too)."""
        if report.when != "call" or (report.skipped and not hasattr(report, "wasxfail")):
            return
        subtest = _phases.subtest_of(report)
        self.tests_run.add(report.nodeid if subtest is None else f"{report.nodeid} {subtest}")

    def cover_outside_tests(self) -> None:
        """The entries outside any test whose phase ran and whose file was imported."""
        loaded = {
            os.path.realpath(path)
            for module in list(sys.modules.values())
            if isinstance(path := getattr(module, "__file__", None), str)
        }
        for key in self.baseline.entries:
            if not key.outside_tests or key.test[1:-1] not in self.phases_run:
                continue
            if os.path.realpath(os.path.join(self.rootdir, key.path)) in loaded:
                self.covered_outside_tests.add(key)

    def covered(self, key: Key) -> bool:
        if self.stopped_early:
            return False
        return key in self.covered_outside_tests if key.outside_tests else key.test in self.tests_run

    # --- the end ----------------------------------------------------------------------------------------
    def reconcile(self, findings: Iterable[Finding]) -> None:
        """Stale entries for the summary, and, when updating, the updated file."""
        # a finding made several times in its test (a loop) is that many occurrences of its entry
        found = (key for finding in findings for key in [Key.of(finding, self.rootdir)] * finding.count)
        self.reconciliation = reconcile(self.baseline.entries, found, self.covered)
        if self.updating:
            self.write_error = None
            try:
                _files.write_text(self.baseline.path, render(self.reconciliation.updated))
            except Exception as error:  # noqa: BLE001 - said in the summary, and the run fails
                self.write_error = f"{type(error).__name__}: {error}"

    def report_section(self) -> dict[str, Any] | None:
        """The report file's ``baseline`` section."""
        reconciliation = self.reconciliation
        if reconciliation is None:
            return None
        section: dict[str, Any] = {"path": relative_path(self.baseline.path, self.rootdir)}
        if self.updating:
            section["updated"] = {
                "added": reconciliation.added,
                "removed": reconciliation.removed,
                "kept_not_run": reconciliation.kept_not_run,
                "stopped_early": self.stopped_early,
                "error": self.write_error,
            }
        else:
            section["stale"] = [key.to_json(count) for key, count in sorted(reconciliation.stale.items())]
        return section

    def summary_lines(self) -> list[str]:
        """The terminal summary's lines: the update, or the stale entries."""
        reconciliation = self.reconciliation
        if reconciliation is None:
            return []
        if self.updating and self.write_error is not None:
            path = relative_path(self.baseline.path, self.rootdir)
            return [_reporting.write_failed_line("baseline", path, self.write_error)]
        if self.updating:
            path, root = self.baseline.path, self.rootdir
            return [_reporting.baseline_update_line(path, reconciliation, root, stopped_early=self.stopped_early)]
        return list(_reporting.stale_lines(reconciliation.stale))
