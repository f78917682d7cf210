"""What each finding does to the run, and the session's findings in order.

A strict finding of the test being reported fails that phase's report; a warn finding becomes an
``AsyncMockGuardWarning`` at its line, which pytest attributes to the running test; a finding the baseline
accepts is only listed. A strict finding whose test has already been reported (a coroutine collected
later, or code outside any test) fails the session instead. Every finding also goes where the rest of the
run reads it: the JUnit XML properties of its test and, in a pytest-xdist worker, the report or final
output that goes to the controller.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import pytest

from asyncmock_guard import _reporting, _xdist
from asyncmock_guard._config import Mode
from asyncmock_guard._findings import Finding

if TYPE_CHECKING:
    from asyncmock_guard._baseline_run import BaselineRun
    from asyncmock_guard._errors import InternalErrors

_JUNIT_PROPERTY = "asyncmock_guard"


def fail(report: pytest.TestReport, text: str) -> None:
    """A passed phase becomes a failure with ``text``; a failed or skipped one shows ``text`` too."""
    if report.passed:
        report.outcome = "failed"
        report.longrepr = text
    else:
        report.sections.append(("asyncmock-guard", text))


class Outcomes:
    """The session's findings, and what each did to the run."""

    def __init__(
        self, rootdir: str, baseline: BaselineRun | None, errors: InternalErrors, *, is_worker: bool, junit: bool
    ) -> None:
        self.rootdir = rootdir
        self.baseline = baseline
        self.errors = errors
        self.is_worker = is_worker
        self.junit = junit
        # Everything found in this session (gathered from the workers under pytest-xdist), in order.
        self.findings: list[Finding] = []
        self.unattributed_strict: list[Finding] = []  # strict, and no test's report failed for them
        self.after_last_test: list[Finding] = []  # a pytest-xdist worker's, sent with its final output
        self._seen_outside_tests: set[tuple[object, ...]] = set()
        # each test's findings, by identity: a rerun's attempts find the same ones, listed once (the last's)
        self._listed: dict[Finding, int] = {}
        self.item: pytest.Item | None = None  # the running test, whose JUnit properties a report feeds

    def judged(self, finding: Finding) -> Finding:
        return self.baseline.judged(finding) if self.baseline is not None else finding

    def dispatch(self, findings: list[Finding], report: pytest.TestReport | None) -> bool:
        """Strict findings of this test fail its report; warn findings are warnings; baselined ones are
        only listed; the rest are the session's (their test has already been reported). Whether strict
        findings failed the report."""
        with self.errors.shielded():
            findings = [self.judged(finding) for finding in findings]
        nodeid = report.nodeid if report is not None else None
        self.account(findings, nodeid)
        if report is not None:
            with self.errors.shielded():
                self._attach(findings, report)
        elif self.is_worker:
            self.after_last_test.extend(findings)
        strict: list[Finding] = []
        for finding in findings:
            if finding.baselined:
                continue
            if finding.mode == Mode.WARN.value:
                self._warn(finding, nodeid, report)
            elif report is not None and finding.nodeid == nodeid:
                strict.append(finding)
        if strict and report is not None:
            with self.errors.shielded():
                fail(report, _reporting.failure_text(strict, self.rootdir))
        return bool(strict) and report is not None

    def account(self, findings: Iterable[Finding], current_nodeid: str | None) -> list[Finding]:
        """Keep the findings for the summary and the report, and return them. Code outside the tests runs
        once per pytest-xdist worker (a session fixture, a conftest file): its findings are kept once."""
        kept: list[Finding] = []
        for finding in findings:
            if finding.nodeid is None:
                identity = (finding.kind, finding.subject, finding.where, finding.phase, finding.operation)
                if identity in self._seen_outside_tests:
                    continue
                self._seen_outside_tests.add(identity)
            kept.append(finding)
            listed = self._listed.get(finding) if finding.nodeid is not None else None
            if listed is not None:
                self.findings[listed] = finding
            else:
                self._listed[finding] = len(self.findings)
                self.findings.append(finding)
            if finding.mode == Mode.STRICT.value and not finding.baselined and finding.nodeid != current_nodeid:
                self.unattributed_strict.append(finding)
        return kept

    def received(self, wire: Iterable[dict[str, Any]], nodeid: str | None) -> None:
        """Findings a pytest-xdist worker sent (it has already failed or warned for them)."""
        self.account((Finding.from_wire(entry) for entry in wire), nodeid)

    def received_of_ended_test(self, wire: Iterable[dict[str, Any]]) -> None:
        """Findings of the test during which a pytest-xdist worker was ended (see ``_timeout``): pytest-xdist
        fails that test (its worker crashed), so they are its own, not the session's."""
        for finding in (Finding.from_wire(entry) for entry in wire):
            self.account([finding], finding.nodeid)

    def _attach(self, findings: list[Finding], report: pytest.TestReport) -> None:
        if self.is_worker:
            _xdist.attach(report, findings)
        if self.junit:
            properties = [(_JUNIT_PROPERTY, _reporting.junit_property(finding, self.rootdir)) for finding in findings]
            report.user_properties.extend(properties)
            item = self.item
            if item is not None and item.nodeid == report.nodeid and report.when != "teardown":
                # JUnit XML reads the properties from the teardown report, made from the item's later
                item.user_properties.extend(properties)

    def _warn(self, finding: Finding, current_nodeid: str | None, report: pytest.TestReport | None) -> None:
        """Warn at the offending line; under ``-W error`` the warning fails the report, as an error would."""
        text = _reporting.warning_text(finding, self.rootdir, current_nodeid)
        try:
            warnings.warn_explicit(
                _reporting.AsyncMockGuardWarning(text),
                category=_reporting.AsyncMockGuardWarning,
                filename=finding.where.path,
                lineno=finding.where.line,
            )
        except _reporting.AsyncMockGuardWarning as error:
            if report is None:
                raise
            fail(report, f"{type(error).__name__}: {error}")
