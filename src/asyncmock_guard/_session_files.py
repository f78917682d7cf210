"""What the session writes at its end: the baseline update (before the summary, which says how it went) and
the report file (after pytest's final garbage collection). A write that fails is said, with the file and
the reason, and fails the run: nothing says a file was written that was not."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import pytest

from asyncmock_guard import _reporting
from asyncmock_guard._baseline_run import BaselineRun
from asyncmock_guard._findings import Finding, relative_path


class SessionFiles:
    def __init__(
        self, config: pytest.Config, baseline: BaselineRun | None, report_path: str | None, mode: str, rootdir: str
    ) -> None:
        self.config = config
        self.baseline = baseline
        self.report_path = report_path
        self.mode = mode
        self.rootdir = rootdir

    def stopped_early(self) -> None:
        """Ctrl-C, ``pytest.exit``: the tests not run yet cannot say which entries are stale."""
        if self.baseline is not None:
            self.baseline.stopped_early = True

    def update_baseline(self, findings: Sequence[Finding], session: pytest.Session | None, *, late: bool) -> None:
        """Reconcile the baseline with the session's findings (and write the update); ``late``: again, with
        what pytest's final collection found, after the summary."""
        baseline = self.baseline
        if baseline is None:
            return
        if session is not None and (session.shouldstop or session.shouldfail):  # -x, --maxfail
            baseline.stopped_early = True
        baseline.reconcile(findings)
        if baseline.write_error is not None:
            # before the summary, its baseline line says so
            self._failed(session, "baseline", baseline.baseline.path, baseline.write_error, say=late)

    def write_report(self, findings: Sequence[Finding], session: pytest.Session | None) -> None:
        if self.report_path is None:
            return
        try:
            _reporting.write_json(self.report_path, self.mode, findings, self.rootdir, self._baseline_section())
        except Exception as error:  # noqa: BLE001 - said, and the run fails
            self._failed(session, "report", self.report_path, f"{type(error).__name__}: {error}", say=True)

    def _baseline_section(self) -> dict[str, Any] | None:
        return self.baseline.report_section() if self.baseline is not None else None

    def _failed(self, session: pytest.Session | None, what: str, path: str, error: str, *, say: bool) -> None:
        if session is not None and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        if not say:
            return
        line = _reporting.printable(_reporting.write_failed_line(what, relative_path(path, self.rootdir), error))
        terminal = self.config.pluginmanager.get_plugin("terminalreporter")
        if terminal is not None:
            terminal.write_line(line)
        else:
            sys.stderr.write(line + "\n")
