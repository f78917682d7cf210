"""The pytest hooks: read the options, switch the instrumentation on, and attribute findings to tests.

Findings are queued by the collector and drained at the end of each test phase (like pytest's own
unraisable-exception handling): in strict mode they fail that phase's report, in warn mode they
become ``AsyncMockGuardWarning``s, which pytest attributes to the running test.
"""

from __future__ import annotations

import contextlib
import gc
import sys
import warnings
from collections.abc import Iterator
from types import CodeType
from typing import TYPE_CHECKING

import pytest

from asyncmock_guard import _config, _frames, _reporting
from asyncmock_guard._collector import Collector, TestContext
from asyncmock_guard._config import Mode
from asyncmock_guard._findings import Finding

if TYPE_CHECKING:
    from _pytest.fixtures import FixtureDef
    from _pytest.nodes import Node

_PLUGIN_NAME = "asyncmock-guard-session"
_mode_key = pytest.StashKey[Mode]()
_early_collector_key = pytest.StashKey[Collector]()


def pytest_addoption(parser: pytest.Parser) -> None:
    _config.addoption(parser)


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    """Watch from before the initial conftest files are imported (``-p asyncmock_guard`` is loaded before
    them): a coroutine one of them drops at import is reported too, with "conftest import" as its place."""
    mode = _config.early_mode(early_config)
    if mode is None or mode is Mode.OFF:
        return
    collector = Collector(default_mode=mode.value, rootdir=str(early_config.rootpath))
    collector.outside_phase = "conftest import"
    collector.install()
    early_config.stash[_early_collector_key] = collector
    early_config.add_cleanup(collector.uninstall)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{_config.MARKER}(mode): {_config.MARKER_HELP}")
    early = config.stash.get(_early_collector_key, None)
    plugin = GuardPlugin(config, _config.global_mode(config), _config.report_path(config), early)
    config.pluginmanager.register(plugin, _PLUGIN_NAME)
    config.add_cleanup(plugin.uninstall)
    plugin.install()


def _test_codes(function: object) -> frozenset[CodeType]:
    """The code objects of the test function (and of what it wraps), to find its frame on the stack."""
    codes: set[CodeType] = set()
    seen = 0
    while function is not None and seen < 16:
        seen += 1
        target = getattr(function, "__func__", function)
        code = getattr(target, "__code__", None)
        if isinstance(code, CodeType):
            codes.add(code)
        function = getattr(target, "__wrapped__", None)
    return frozenset(codes)


def _codes_and_kind(function: object) -> tuple[frozenset[CodeType], bool]:
    codes = _test_codes(function)
    return codes, any(_frames.is_async_code(code) for code in codes)


def _forget_last_failure() -> None:
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


def _fail(report: pytest.TestReport, text: str) -> None:
    """A passed phase becomes a failure with ``text``; a failed or skipped one shows ``text`` too."""
    if report.passed:
        report.outcome = "failed"
        report.longrepr = text
    else:
        report.sections.append(("asyncmock-guard", text))


class GuardPlugin:
    """Session state of the guard, registered by ``pytest_configure``; all of it lives here."""

    def __init__(
        self, config: pytest.Config, mode: Mode, report_path: str | None, early: Collector | None = None
    ) -> None:
        self.config = config
        self.mode = mode
        self.report_path = report_path
        self.rootdir = str(config.rootpath)
        user_entries = _config.sync_methods(config)
        if early is None:
            self.collector = Collector(default_mode=mode.value, rootdir=self.rootdir, user_entries=user_entries)
        else:  # installed by pytest_load_initial_conftests; the options are known for sure only now
            self.collector = early
            early.default_mode, early.rootdir, early.user_entries = mode.value, self.rootdir, user_entries
            early.outside_phase = "collection"
            if mode is Mode.OFF:
                early.uninstall()
        self.unattributed_strict: list[Finding] = []
        self.session: pytest.Session | None = None
        # Parametrized tests share their function: its code objects are looked up once.
        self._codes_by_function: dict[object, tuple[frozenset[CodeType], bool]] = {}

    # --- install -----------------------------------------------------------------------------------
    def install(self) -> None:
        if self.mode is not Mode.OFF:
            self.collector.install()

    def uninstall(self) -> None:
        self.collector.uninstall()

    @property
    def active(self) -> bool:
        return self.collector.instrumentation.installed

    def pytest_report_header(self) -> str:
        report = f", report: {self.report_path}" if self.report_path else ""
        return f"asyncmock-guard: mode {self.mode}{report}"

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        """Check every marker now, so a typo is a usage error before anything runs."""
        inherited: dict[Node, Mode] = {}
        for item in items:
            item.stash[_mode_key] = _config.marker_mode(item, self.mode, inherited)

    @pytest.hookimpl(tryfirst=True)
    def pytest_fixture_setup(self, fixturedef: FixtureDef[object]) -> None:
        """A fixture wider than a test is set up: what its code does belongs to no one test."""
        if fixturedef.scope == "function" or not self.active:
            return
        with self._shielded():
            codes, _ = self._codes_of(fixturedef.func)
            self.collector.fixture_set_up(f"{fixturedef.scope} fixture {fixturedef.argname}", codes)

    # --- test phases ---------------------------------------------------------------------------------
    # Two plain hooks per phase boundary, no wrappers: this runs for every test of every suite.
    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> None:
        """Enter the test before its setup; returning None lets pytest run it as usual."""
        if not self.active:
            return
        try:
            mode = item.stash.get(_mode_key, None) or _config.marker_mode(item, self.mode)
            codes, is_async = self._codes_of(getattr(item, "obj", None))
            self.collector.enter_test(
                TestContext(
                    nodeid=item.nodeid,
                    codes=codes,
                    mode=mode.value,
                    funcargs=getattr(item, "funcargs", None),
                    is_async=is_async,
                )
            )
        except pytest.UsageError:
            raise
        except Exception as error:  # noqa: BLE001 - see _shielded
            self.collector.internal_error(error)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_makereport(self, call: pytest.CallInfo[None]) -> None:
        """Before pytest formats a failure: add the guard's explanation to the exception."""
        excinfo = call.excinfo
        if excinfo is None or self.collector.context is None:
            return
        try:
            self.collector.explain_failure(excinfo.value)
        except Exception as error:  # noqa: BLE001 - see _shielded
            self.collector.internal_error(error)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """A phase just ended: finish it, and put its findings on its report before anyone reads it."""
        context = self.collector.context
        if context is None or context.nodeid != report.nodeid:
            return
        collector = self.collector
        findings: list[Finding] = []
        try:
            self._end_phase(context, report)
            if collector.pending:
                findings = collector.drain()
        except Exception as error:  # noqa: BLE001 - see _shielded
            collector.internal_error(error)
        if findings:
            self._dispatch(findings, report)

    def _codes_of(self, function: object) -> tuple[frozenset[CodeType], bool]:
        """The test function's code objects, and whether it is an ``async def`` (a loop runs it)."""
        key = getattr(function, "__func__", function)
        try:
            known = self._codes_by_function.get(key)
        except TypeError:  # an unhashable callable: not worth caching
            return _codes_and_kind(function)
        if known is None:
            known = self._codes_by_function[key] = _codes_and_kind(function)
        return known

    def _end_phase(self, context: TestContext, report: pytest.TestReport) -> None:
        collector = self.collector
        context.failed = context.failed or report.failed
        if report.when == "setup":
            context.phase = "call" if report.passed else "teardown"
        elif report.when == "call":
            if collector.watches_schedulers:
                collector.check_scheduler_mocks(test_ended=False)
            if not context.is_async:
                collector.check_idle_loop()
            collector.end_call_phase()
            context.phase = "teardown"
        else:
            if collector.watches_schedulers:
                collector.check_scheduler_mocks(test_ended=True)
            unsettled = collector.instrumentation.unsettled(report.nodeid)
            if context.failed or unsettled:
                # Finalize this test's lost coroutines now, inside the guard's hook and attributed to
                # it, rather than in a later gc at a random allocation, where CPython may not even
                # manage to report them (see _forget_last_failure). A failed test's traceback holds
                # them; cycles made during the test are young, so the cheap collection finds them, and
                # only a test whose mock coroutines survive it pays for a full one.
                _forget_last_failure()
                gc.collect(1)
                unsettled = collector.instrumentation.unsettled(report.nodeid)
                if unsettled:
                    gc.collect()
                    unsettled = collector.instrumentation.unsettled(report.nodeid)
            collector.leave_test(unsettled)

    @contextlib.contextmanager
    def _shielded(self) -> Iterator[None]:
        """An error of the guard itself becomes one warning at the end; the user's run goes on."""
        try:
            yield
        except Exception as error:  # noqa: BLE001
            self.collector.internal_error(error)

    def _dispatch(self, findings: list[Finding], report: pytest.TestReport | None) -> None:
        """Strict findings of this test fail its report; warn findings are warnings; the rest are the
        session's (their test has already been reported)."""
        nodeid = report.nodeid if report is not None else None
        strict: list[Finding] = []
        for finding in findings:
            if finding.mode == Mode.WARN.value:
                self._warn(finding, nodeid, report)
            elif report is not None and finding.nodeid == nodeid:
                strict.append(finding)
            else:
                self.unattributed_strict.append(finding)
        if strict and report is not None:
            with self._shielded():
                _fail(report, _reporting.failure_text(strict, self.rootdir))

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
            _fail(report, f"{type(error).__name__}: {error}")

    # --- end of session --------------------------------------------------------------------------------
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if not self.active:
            return
        self.session = session
        findings: list[Finding] = []
        with self._shielded():
            _forget_last_failure()
            self.collector.outside_phase = "session end"
            if self.collector.watches_schedulers:
                self.collector.check_scheduler_mocks(test_ended=True)
            self._collect_lost_coroutines()
            findings = self.collector.drain()
        self._dispatch(findings, None)
        if self.unattributed_strict and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        self._record_internal_errors()

    def _collect_lost_coroutines(self) -> None:
        """Finalize coroutines lost in reference cycles now, while the guard listens and before the summary.

        The young generations hold what the last tests left behind. A full collection (about 20 ms on
        the benchmark suite, more on big ones) is paid only when one of the guard's mock coroutines is
        still unaccounted for, or when nothing else will collect: pytest's unraisableexception plugin
        makes a full collection at unconfigure anyway, and what it finalizes is reported then
        (``pytest_unconfigure``).
        """
        gc.collect(1)
        if self.collector.instrumentation.pending() or not self.config.pluginmanager.has_plugin("unraisableexception"):
            gc.collect()

    @pytest.hookimpl(trylast=True)
    def pytest_unconfigure(self) -> None:
        """After pytest's own last garbage collection: report what it finalized, and write the report file."""
        if not self.active:
            return
        late: list[Finding] = []
        with self._shielded():
            self.collector.outside_phase = "session end"
            late = self.collector.drain()
        if late:
            with self._shielded():
                self._report_late(late)
        if self.report_path is not None:
            with self._shielded():
                _reporting.write_json(self.report_path, self.mode.value, self.collector.findings, self.rootdir)

    def _report_late(self, late: list[Finding]) -> None:
        """Findings of pytest's final garbage collection: the summary is printed and warnings are no longer
        shown, so they are printed here, and strict ones still fail the run."""
        terminal = self.config.pluginmanager.get_plugin("terminalreporter")
        if terminal is not None:
            terminal.write_sep("=", "asyncmock-guard: found by pytest's final garbage collection")
            for line in _reporting.summary_lines(late, self.rootdir):
                terminal.write_line(line)
        strict = [finding for finding in late if finding.mode == Mode.STRICT.value]
        session = self.session
        if strict and session is not None and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def _record_internal_errors(self) -> None:
        collector = self.collector
        if not collector.internal_error_count:
            return
        message = (
            f"asyncmock-guard: {collector.internal_error_count} internal error(s) were ignored and did not"
            f" change any test; please report this. First error:\n{collector.internal_errors[0]}"
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

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self.mode is Mode.OFF:
            return
        terminalreporter.write_sep("=", "asyncmock-guard")
        for line in _reporting.summary_lines(self.collector.findings, self.rootdir):
            terminalreporter.write_line(line)
        if self.unattributed_strict:
            terminalreporter.write_line(
                f"{len(self.unattributed_strict)} strict finding(s) were detected outside the test that"
                " caused them (listed above with their test); the run fails because of them."
            )
