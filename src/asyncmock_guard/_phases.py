"""Where a test's phases end, and what ends with them: the collector moves to the next phase, and the
findings made so far go on the phase's report (strict ones fail it) before anyone reads it.

A phase ends when pytest's runner makes its report, not when the report is logged: pytest-rerunfailures
runs all three phases of an attempt before it logs their reports, and decides on a rerun in between. A
subtest's report (pytest 9's ``subtests``, ``self.subTest``, the pytest-subtests plugin) is made inside the
call phase and logged at once: the findings made during the subtest are its own, and the call phase goes on.
"""

from __future__ import annotations

import os
import sys
import traceback
import unittest
import warnings
from collections.abc import Mapping
from types import FrameType, TracebackType
from typing import TYPE_CHECKING

import pluggy
import pytest

from asyncmock_guard import _outcomes, _reporting

if TYPE_CHECKING:
    from asyncmock_guard._collector import Collector, TestContext
    from asyncmock_guard._errors import InternalErrors
    from asyncmock_guard._findings import Finding
    from asyncmock_guard._outcomes import Outcomes

_PLUGGY_DIR = os.path.dirname(pluggy.__file__) + os.sep


def made_by_the_runner(frame: FrameType | None) -> bool:
    """Whether the hook was called by pytest's runner for a phase of a test (``call_and_report``), not by
    a subtest inside the call phase: the first frame outside pluggy is the runner's."""
    while frame is not None and frame.f_code.co_filename.startswith(_PLUGGY_DIR):
        frame = frame.f_back
    return frame is not None and frame.f_code.co_name == "call_and_report"


def _described(msg: object, kwargs: Mapping[str, object]) -> str:
    """A subtest as pytest shows it: ``[msg] (key=value, ...)``."""
    parts = []
    if msg is not None:
        parts.append(f"[{msg}]")
    if kwargs:
        parts.append("(" + ", ".join(f"{key}={value}" for key, value in kwargs.items()) + ")")
    return " ".join(parts) or "(<subtest>)"


def subtest_of(report: pytest.TestReport) -> str | None:
    """A subtest's report: its description as pytest shows it; None for a test's own report."""
    context = getattr(report, "context", None)
    if report.when != "call" or context is None or not type(report).__name__.lower().startswith("subtestreport"):
        return None
    return _described(getattr(context, "msg", None), getattr(context, "kwargs", None) or {})


def unittest_subtest(context: TestContext | None) -> tuple[str | None, object]:
    """The running test, and the ``with self.subTest(...)`` block its unittest method is in now (None
    outside one): noted when a finding is made, or when a coroutine is dropped (diagnosed later). Before
    Python 3.11 unittest reports a test's subtests only after the method returns, so their reports cannot
    tell which one a finding was made in."""
    if context is None or context.phase != "call":  # pytest makes a new instance when asked after the call
        return None, None
    instance = getattr(context.item, "instance", None)
    return context.nodeid, getattr(instance, "_subtest", None) if isinstance(instance, unittest.TestCase) else None


def subtest_made_in(noted: tuple[str | None, object], owner: str | None, phase: str) -> str | None:
    """The description of the unittest subtest (see ``unittest_subtest``) a finding of ``owner``'s
    ``phase`` was made in, as its report will show it; None when it was not made in one."""
    nodeid, subtest = noted
    if subtest is None or phase != "call" or owner is None or owner != nodeid:
        return None
    message = getattr(subtest, "_message", None)
    msg = None if message is getattr(unittest.case, "_subtest_msg_sentinel", None) else message
    return _described(msg, dict(getattr(subtest, "params", None) or {}))


def forget_last_failure() -> None:
    """Drop the traceback pytest keeps of the last failed test for post-mortem debugging
    (``sys.last_traceback``, and the exception with it).

    Its frames keep that test's coroutines alive; released later by an automatic gc, an unawaited one
    is finalized wherever that gc happens to run, possibly inside code whose ``__builtins__`` is empty
    (a namedtuple's ``__new__``), where CPython fails to import ``warnings`` and the coroutine is
    reported nowhere (``KeyError: '__import__'`` as an unraisable exception). The test is over, and
    pytest has already shown its traceback.
    """
    for name in ("last_type", "last_value", "last_traceback", "last_exc"):
        if hasattr(sys, name):
            delattr(sys, name)


def release_failed_frames(failures: list[TracebackType]) -> None:
    """Clear the locals of the finished frames of a test's failures, as unittest does, once the test is over
    and its failures reported: another plugin may keep the exception (pytest-rerunfailures keeps every
    failed test's ``ExceptionInfo`` on its item), and with it the test's coroutines, to the session's end."""
    for failure in failures:
        traceback.clear_frames(failure)
    failures.clear()


class PhaseEnds:
    """Ends each phase of the running test on the collector, and hands its findings to the outcomes."""

    def __init__(self, outcomes: Outcomes, errors: InternalErrors) -> None:
        self.outcomes = outcomes
        self.errors = errors
        self.failed_subtests: dict[str, int] = {}  # tests whose subtests strict findings failed, how many
        self.hook_restored = False  # see _check_hook

    def phase_ended(self, collector: Collector, report: pytest.TestReport) -> None:
        context = collector.context
        if context is None or context.nodeid != report.nodeid:
            return
        findings: list[Finding] = []
        try:
            self._end_phase(collector, context, report)
            if report.when == "teardown":
                self._check_hook(collector, context)
            if collector.pending:
                findings = collector.drain()
        except Exception as error:  # noqa: BLE001 - see InternalErrors.shielded
            self.errors.record(error)
        if findings:
            self.outcomes.dispatch(findings, report)
        failed = self.failed_subtests.pop(report.nodeid, 0) if report.when == "call" else 0
        if failed and report.passed:
            _outcomes.fail(report, f"asyncmock-guard (strict): {failed} of its subtests failed for findings")

    def subtest_ended(self, collector: Collector, report: pytest.TestReport, subtest: str) -> None:
        """The findings made during a subtest are its own: strict ones fail it, and so its test."""
        findings: list[Finding] = []
        with self.errors.shielded():
            findings = collector.drain_subtest(report.nodeid, subtest) if collector.pending or collector.misuses else []
        if findings and self.outcomes.dispatch(findings, report):
            self.failed_subtests[report.nodeid] = self.failed_subtests.get(report.nodeid, 0) + 1

    def _check_hook(self, collector: Collector, context: TestContext) -> None:
        """After each test, the guard's never-awaited hook is in place again; a test that left it replaced is
        named once per session (in the teardown, so the warning is that test's)."""
        if not collector.instrumentation.restore_hook() or self.hook_restored:
            return
        self.hook_restored = True
        message = (
            f"asyncmock-guard: {context.nodeid} replaced warnings._warn_unawaited_coroutine and left it replaced,"
            " which turns off the reports of coroutines never awaited for the rest of the session; the guard put"
            " its hook back (replace it with monkeypatch.setattr, which restores it after the test)"
        )
        code = min(context.codes, key=lambda code: code.co_firstlineno, default=None)  # the test function's
        where = (code.co_filename, code.co_firstlineno) if code is not None else (__file__, 1)
        warnings.warn_explicit(_reporting.AsyncMockGuardWarning(message), _reporting.AsyncMockGuardWarning, *where)

    @staticmethod
    def _end_phase(collector: Collector, context: TestContext, report: pytest.TestReport) -> None:
        outcome, when = report.outcome, report.when
        if outcome == "failed":
            context.failed = True
        if when == "setup":
            context.phase = "call" if outcome == "passed" else "teardown"
            if context.phase == "call" and not context.is_async:
                collector.instrumentation.track_origins(deeply=True)  # see check_idle_loop
            elif context.phase == "call":
                collector.start_call_phase()
        elif when == "call":
            collector.confirm_assignments()
            if collector.watches_schedulers:
                collector.check_scheduler_mocks(test_ended=False)
            if not context.is_async:
                collector.instrumentation.track_origins(deeply=False)  # what the test made keeps its stack
                collector.check_idle_loop()
            collector.end_call_phase()
            context.phase = "teardown"
        else:
            collector.confirm_assignments()
            if collector.watches_schedulers:
                collector.check_scheduler_mocks(test_ended=True)
            collector.check_patched_mocks()
            unsettled = collector.instrumentation.unsettled(context.nodeid)
            if context.failed or unsettled:
                # Finalize this test's lost coroutines now, inside the guard's hook and attributed to
                # it, rather than in a later gc at a random allocation, where CPython may not even
                # manage to report them (see forget_last_failure). A failed test's traceback holds
                # them; cycles made during the test are young, so the cheap collection finds them, and
                # only a test whose mock coroutines survive it pays for a full one.
                forget_last_failure()
                collector.instrumentation.collect(1)
                unsettled = collector.instrumentation.unsettled(context.nodeid)
                if unsettled:
                    release_failed_frames(context.failures)
                    collector.instrumentation.collect()
                    unsettled = collector.instrumentation.unsettled(context.nodeid)
            collector.leave_test(unsettled)
