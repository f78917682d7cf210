"""What the session shows on the terminal: the guard's summary, what pytest's final garbage collection
found after it, GitHub annotations, and the guard's own internal errors (one warning, or one line when
they happened after the warnings summary)."""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable

import pytest

from asyncmock_guard import _reporting
from asyncmock_guard._baseline_run import BaselineRun
from asyncmock_guard._config import Mode
from asyncmock_guard._errors import InternalErrors
from asyncmock_guard._findings import Finding
from asyncmock_guard._outcomes import Outcomes


class SessionReport:
    """The terminal side of the session's results."""

    def __init__(self, config: pytest.Config, errors: InternalErrors, *, rootdir: str, github: bool) -> None:
        self.config = config
        self.errors = errors
        self.rootdir = rootdir
        self.github = github
        self._internal_errors_recorded = 0  # how many of them the warnings summary shows

    def summary(self, terminal: pytest.TerminalReporter, outcomes: Outcomes, baseline: BaselineRun | None) -> None:
        terminal.write_sep("=", "asyncmock-guard")
        lines = _reporting.summary_lines(outcomes.findings, self.rootdir)
        lines += _reporting.unattributed_lines(outcomes.unattributed_strict, self.rootdir)
        lines += baseline.summary_lines() if baseline is not None else []
        for line in lines:
            terminal.write_line(_reporting.printable(line))
        self.annotate(terminal, outcomes.findings)

    def late(self, late: list[Finding], session: pytest.Session | None) -> None:
        """Findings of pytest's final garbage collection: the summary is printed and warnings are no longer
        shown, so they are printed here, and strict ones still fail the run."""
        terminal = self.config.pluginmanager.get_plugin("terminalreporter")
        if terminal is not None:
            terminal.write_sep("=", "asyncmock-guard: found by pytest's final garbage collection")
            for line in _reporting.summary_lines(late, self.rootdir):
                terminal.write_line(_reporting.printable(line))
            self.annotate(terminal, late)
        strict = [finding for finding in late if finding.mode == Mode.STRICT.value and not finding.baselined]
        if strict and session is not None and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def annotate(self, terminal: pytest.TerminalReporter, findings: Iterable[Finding]) -> None:
        """GitHub workflow commands, one line each, for the findings that are not baselined."""
        if not self.github:
            return
        workspace = os.environ.get("GITHUB_WORKSPACE") or self.rootdir
        for finding in findings:
            if not finding.baselined:
                terminal.write_line(
                    _reporting.printable(_reporting.github_annotation(finding, self.rootdir, workspace))
                )

    def record_internal_errors(self) -> None:
        """The guard's internal errors so far, as one warning of the warnings summary."""
        errors = self.errors
        self._internal_errors_recorded = errors.count
        if not errors.count:
            return
        message = (
            f"asyncmock-guard: {errors.count} internal error(s) were ignored and did not"
            f" change any test; please report this. First error:\n{errors.tracebacks[0]}"
        )
        self.config.hook.pytest_warning_recorded.call_historic(
            kwargs={
                "warning_message": warnings.WarningMessage(
                    _reporting.AsyncMockGuardInternalWarning(message),
                    _reporting.AsyncMockGuardInternalWarning,
                    __file__,
                    0,
                ),
                "when": "config",
                "nodeid": "",
                "location": None,
            }
        )

    def internal_errors_after_summary(self) -> None:
        """Internal errors of the guard's work after the warnings summary: one line on the terminal."""
        errors = self.errors
        unshown = errors.count - self._internal_errors_recorded
        terminal = self.config.pluginmanager.get_plugin("terminalreporter")
        if unshown <= 0 or terminal is None:
            return
        first = errors.tracebacks[min(self._internal_errors_recorded, len(errors.tracebacks) - 1)]
        terminal.write_line(
            f"asyncmock-guard: {unshown} internal error(s) at the end of the session were ignored and did not"
            f" change any test; please report this. First error:\n{first}"
        )
