"""The pytest hooks: read the options, switch the instrumentation on, and attribute findings to tests.

Findings are queued by the collector and drained at the end of each test phase (like pytest's own
unraisable-exception handling): in strict mode they fail that phase's report, in warn mode they
become ``AsyncMockGuardWarning``s, which pytest attributes to the running test. Findings recorded in
the baseline do neither; they are only listed.

Under pytest-xdist each worker does all of that for its tests and sends its findings with the test
reports (an extra report attribute, which pytest serializes) and, for what surfaces after the last
test, with its final output; what only pytest's final garbage collection finds (after that output
has gone) it leaves in a file for the controller. The controller, which runs no test, only gathers
them: one summary, one report file, one baseline update.
"""

from __future__ import annotations

import functools
import shutil
import sys
import tempfile
from collections.abc import Generator, Iterable
from types import CodeType
from typing import TYPE_CHECKING, Any

import pytest

import asyncmock_guard
from asyncmock_guard import _config, _phases, _xdist
from asyncmock_guard._baseline import Baseline, Key
from asyncmock_guard._baseline_run import BaselineRun
from asyncmock_guard._config import Mode, Modes
from asyncmock_guard._errors import InternalErrors
from asyncmock_guard._findings import Finding
from asyncmock_guard._outcomes import Outcomes
from asyncmock_guard._phases import PhaseEnds
from asyncmock_guard._session_files import SessionFiles
from asyncmock_guard._session_report import SessionReport

if TYPE_CHECKING:
    from _pytest.fixtures import FixtureDef
    from _pytest.nodes import Node

    from asyncmock_guard._collector import Collector

_PLUGIN_NAME = "asyncmock-guard-session"
_mode_key = pytest.StashKey[str]()  # the test's mode, as the plain string the collector compares
_early_collector_key = pytest.StashKey["Collector"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    _config.addoption(parser)


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    """Watch from before the initial conftest files are imported (``-p asyncmock_guard`` is loaded before
    them): a coroutine one of them drops at import is reported too, with "conftest import" as its place."""
    modes = _config.early_modes(early_config)
    if modes is None or not modes.installs or _config.runs_no_tests(early_config, early=True):
        return
    collector = _new_collector(default_mode=modes.session.value, rootdir=str(early_config.rootpath))
    collector.outside_phase = "conftest import"
    collector.install()
    early_config.stash[_early_collector_key] = collector
    early_config.add_cleanup(collector.uninstall)


def _new_collector(**settings: Any) -> Collector:
    """The collector, with the instrumentation it installs: loaded only by a process that runs tests (a
    pytest-xdist controller never loads these modules, nor ``unittest.mock``)."""
    module = asyncmock_guard._import_module("asyncmock_guard._collector")
    collector: Collector = module.Collector(**settings)
    return collector


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{_config.MARKER}(mode): {_config.MARKER_HELP}")
    early = config.stash.get(_early_collector_key, None)
    plugin = GuardPlugin(config, _config.modes(config), _config.report_path(config), early)
    config.pluginmanager.register(plugin, _PLUGIN_NAME)
    config.add_cleanup(plugin.uninstall)
    plugin.install()
    if plugin.modes.installs and config.pluginmanager.has_plugin("timeout"):  # only beside pytest-timeout
        asyncmock_guard._import_module("asyncmock_guard._timeout").ThreadTimeouts.watch(plugin)


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
        # hypothesis's @given keeps the test it runs as ``.hypothesis.inner_test``, not as ``__wrapped__``
        inner = getattr(getattr(target, "hypothesis", None), "inner_test", None)
        function = inner if inner is not None else getattr(target, "__wrapped__", None)
    return frozenset(codes)


def _codes_and_kind(function: object) -> tuple[frozenset[CodeType], bool]:
    from asyncmock_guard import _frames  # noqa: PLC0415 - loaded with the collector, which runs tests

    codes = _test_codes(function)
    return codes, any(_frames.is_async_code(code) for code in codes)


class GuardPlugin:
    """Session state of the guard, registered by ``pytest_configure``; all of it lives here."""

    def __init__(
        self, config: pytest.Config, modes: Modes, report_path: str | None, early: Collector | None = None
    ) -> None:
        self.config = config
        self.modes = modes
        self.mode = modes.session
        self.report_path = report_path
        self.rootdir = str(config.rootpath)
        baseline_path, updating = _config.baseline(config)
        if updating and not modes.installs:
            raise pytest.UsageError(
                f"asyncmock-guard: {_config.UPDATE_BASELINE_OPTION} cannot record findings with the guard off"
            )
        self.baseline: BaselineRun | None = None
        if baseline_path is not None and modes.installs:
            loaded = Baseline.load(baseline_path, missing_ok=updating)
            self.baseline = BaselineRun(loaded, updating=updating, rootdir=self.rootdir)
        self.junit = report_path is not None and bool(config.getoption("xmlpath", None))
        self.is_worker = hasattr(config, "workerinput")
        # A pytest-xdist controller runs no test: its workers watch them, and it only gathers. Foreseen
        # from the options now, and made sure of at session start.
        self.is_controller = _config.runs_no_tests(config, early=False)
        self.user_entries = _config.sync_methods(config)
        self.errors = early.errors if early is not None else InternalErrors()
        github = _config.github_annotations(config)
        self.terminal = SessionReport(config, self.errors, rootdir=self.rootdir, github=github)
        # The collector, with its instrumentation, exists in a process that runs tests with the guard on.
        self.collector: Collector | None = None
        watches = modes.installs and not self.is_controller
        if early is not None:  # installed by pytest_load_initial_conftests; the options are known for sure only now
            early.default_mode, early.rootdir, early.user_entries = self.mode.value, self.rootdir, self.user_entries
            early.outside_phase = "collection"
            if watches:
                self.collector = early
            else:
                early.uninstall()
                early.drain()  # what a controller's own conftest import showed, every worker shows too
        elif watches:
            self.collector = self._new_collector()
        self.outcomes = Outcomes(self.rootdir, self.baseline, self.errors, is_worker=self.is_worker, junit=self.junit)
        self.phases = PhaseEnds(self.outcomes, self.errors)
        self.files = SessionFiles(config, self.baseline, report_path, self.mode.value, self.rootdir)
        self.session: pytest.Session | None = None
        # A pytest-xdist controller's directory where each worker leaves what pytest's final collection found.
        self.late_directory: str | None = None
        # Parametrized tests share their function: its code objects are looked up once.
        self._codes_by_function: dict[object, tuple[frozenset[CodeType], bool]] = {}
        # The function-scoped FixtureDefs seen (by id, with the object itself, so that the id is not reused).
        self._per_test_fixtures: dict[int, object] = {}

    # --- install -----------------------------------------------------------------------------------
    def _new_collector(self) -> Collector:
        collector = _new_collector(
            default_mode=self.mode.value, rootdir=self.rootdir, user_entries=self.user_entries, errors=self.errors
        )
        collector.outside_phase = "collection"
        return collector

    def install(self) -> None:
        if self.collector is not None:
            self.collector.install()

    def uninstall(self) -> None:
        if self.collector is not None:
            self.collector.uninstall()

    def _watching(self) -> Collector | None:
        """The collector while its instrumentation is installed; None where nothing is watched (a
        pytest-xdist controller, the guard off, or after the session)."""
        collector = self.collector
        return collector if collector is not None and collector.instrumentation.installed else None

    @property
    def reports(self) -> bool:
        """This process shows the session's results: not a pytest-xdist worker, and the guard is on."""
        return self.modes.installs and not self.is_worker

    def pytest_report_header(self) -> str:
        parts = [f"asyncmock-guard: mode {self.mode}"]
        if not self.modes.installs:
            return parts[0]
        if self.modes.by_path.rules:
            parts.append(f"{len(self.modes.by_path.rules)} path rule(s)")
        if self.report_path:
            parts.append(f"report: {self.report_path}")
        if self.baseline is not None:
            parts.append(self.baseline.header())
        return ", ".join(parts)

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        """A pytest-xdist controller runs no test: its workers watch them, and it only gathers."""
        self.session = session
        self.is_controller = self.config.pluginmanager.has_plugin("dsession")
        collector = self.collector
        if self.is_controller and collector is not None:  # not foreseen at configure
            collector.uninstall()
            collector.drain()  # what the controller's own conftest import showed, every worker shows too
            self.collector = None
        elif not self.is_controller and collector is None and self.modes.installs:  # foreseen wrongly
            self.collector = self._new_collector()
            self.collector.install()
        if not self.is_controller:
            return
        if self.modes.installs:
            with self.errors.shielded():
                self.late_directory = tempfile.mkdtemp(prefix="asyncmock-guard-late-")
                self.config.add_cleanup(functools.partial(shutil.rmtree, self.late_directory, ignore_errors=True))
        self.config.pluginmanager.register(_xdist.XdistController(self), _xdist.PLUGIN_NAME)

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        """Check every marker now, so a typo is a usage error before anything runs. A pytest-xdist worker
        cannot stop the run with one (its controller takes it for a crash): it runs nothing and tells its
        controller, which stops with it (see ``_xdist.usage_error``)."""
        inherited: dict[Node, Mode | None] = {}
        try:
            for item in items:
                item.stash[_mode_key] = _config.MODE_TEXT[_config.item_mode(item, self.modes, inherited)]
        except pytest.UsageError as error:
            if not self.is_worker:
                raise
            _xdist.usage_error(self.config, str(error))
            items.clear()

    @pytest.hookimpl(tryfirst=True)
    def pytest_fixture_setup(self, fixturedef: FixtureDef[object]) -> None:
        """A fixture wider than a test is set up: what its code does belongs to no one test."""
        if self._per_test_fixtures.get(id(fixturedef)) is fixturedef:  # most of them, for every test
            return
        collector = self._watching()
        if collector is None:
            return
        if fixturedef.scope == "function":
            self._per_test_fixtures[id(fixturedef)] = fixturedef  # pytest keeps each one for the session
            return
        with self.errors.shielded():
            codes, _ = self._codes_of(fixturedef.func)
            label = f"{fixturedef.scope} fixture {fixturedef.argname}"
            if self.baseline is not None:
                self.baseline.phases_run.add(label)
            collector.owners.fixture_set_up(label, codes)

    # --- test phases (see _phases) ---------------------------------------------------------------------
    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        """Enter the test before its setup (each attempt of a rerun test enters it again)."""
        collector = self._watching()
        if collector is None:
            return
        try:
            mode = item.stash.get(_mode_key, None) or _config.MODE_TEXT[_config.item_mode(item, self.modes)]
            self.outcomes.item = item
            codes, is_async = self._codes_of(getattr(item, "obj", None))
            collector.enter_test(
                item.nodeid, codes, mode, getattr(item, "funcargs", None), is_async=is_async, item=item
            )
        except pytest.UsageError:
            raise
        except Exception as error:  # noqa: BLE001 - see InternalErrors.shielded
            self.errors.record(error)

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_makereport(
        self, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        """Before pytest formats a failure: add the guard's explanation to the exception. Once the report of a
        phase is made (by pytest's runner: a subtest's is made inside the call phase): end the phase, and put its
        findings on the report before anyone reads it. Outermost, so an xfail has been judged by then."""
        collector = self.collector
        phase_report = collector is not None and _phases.made_by_the_runner(sys._getframe(1))
        excinfo = call.excinfo
        context = collector.context if collector is not None else None
        if excinfo is not None and collector is not None and context is not None:
            try:
                collector.explain_failure(excinfo.value)
            except Exception as error:  # noqa: BLE001 - see InternalErrors.shielded
                self.errors.record(error)
            if phase_report:
                context.failures.append(excinfo.tb)  # see _phases.release_failed_frames
        report = yield
        if phase_report and collector is not None:
            self.phases.phase_ended(collector, report)
        return report

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """A report is logged: which tests ran (for the baseline), what a pytest-xdist worker found, and the
        end of a subtest (whose report is made inside the call phase, and logged at once)."""
        if self.baseline is not None:
            self.baseline.test_reported(report)  # which entries this run covered
        collector = self.collector
        if collector is None:  # no test runs here with the guard on: a pytest-xdist controller, or off
            if self.is_controller:
                wire = _xdist.attached(report)
                if wire:
                    with self.errors.shielded():
                        self.outcomes.received(wire, report.nodeid)
            return
        context = collector.context
        if context is None or context.nodeid != report.nodeid:
            return
        subtest = _phases.subtest_of(report)
        if subtest is not None:  # one subtest ended: the test's call phase goes on
            self.phases.subtest_ended(collector, report, subtest)

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

    # --- end of session --------------------------------------------------------------------------------
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self.session = session
        collector = self._watching()
        if collector is not None:
            findings: list[Finding] = []
            with self.errors.shielded():
                _phases.forget_last_failure()
                collector.outside_phase = "session end"
                collector.confirm_assignments()
                if collector.watches_schedulers:
                    collector.check_scheduler_mocks(test_ended=True)
                self._collect_lost_coroutines(collector)
                findings = collector.drain()
            self.outcomes.dispatch(findings, None)
            if self.baseline is not None:
                with self.errors.shielded():
                    self.baseline.cover_outside_tests()
        if self.is_worker:
            with self.errors.shielded():
                covered = self.baseline.covered_outside_tests if self.baseline is not None else set()
                _xdist.send_to_controller(self.config, self.outcomes.after_last_test, covered)
        elif self.reports:
            with self.errors.shielded():
                self.files.update_baseline(self.outcomes.findings, session, late=False)
        if self.outcomes.unattributed_strict and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        self.terminal.record_internal_errors()

    def _collect_lost_coroutines(self, collector: Collector) -> None:
        """Finalize coroutines lost in reference cycles now, while the guard listens and before the summary
        (see ``Instrumentation.collect_lost``): fully only when nothing else will while the guard listens
        (pytest's unraisableexception plugin collects fully in its ``pytest_unconfigure`` from pytest 9.1
        on, and what it finalizes is reported then, a worker leaving it for the controller), or when a
        baseline update's summary line, printed before that, must count them too."""
        unraisable = self.config.pluginmanager.get_plugin("unraisableexception")
        updating = self.baseline is not None and self.baseline.updating
        collector.instrumentation.collect_lost(fully=updating or not hasattr(unraisable, "pytest_unconfigure"))

    def worker_finished(self, wire: Iterable[dict[str, Any]], covered: Iterable[Key]) -> None:
        """The controller receives a worker's last word (see ``_xdist.send_to_controller``)."""
        with self.errors.shielded():
            self.outcomes.received(wire, None)
            if self.baseline is not None:
                self.baseline.covered_outside_tests.update(covered)

    def pytest_keyboard_interrupt(self) -> None:
        self.files.stopped_early()  # Ctrl-C, or pytest.exit

    @pytest.hookimpl(trylast=True)
    def pytest_unconfigure(self) -> None:
        """After pytest's own last garbage collection: report what it finalized, and write the report file."""
        late: list[Finding] = []
        collector = self._watching()
        if collector is not None:
            with self.errors.shielded():
                collector.outside_phase = "session end"
                collector.confirm_assignments()
                late = [self.outcomes.judged(finding) for finding in collector.drain()]
        elif self.late_directory is not None:  # a pytest-xdist controller: its workers have all ended
            with self.errors.shielded():
                late = _xdist.late_from_workers(self.late_directory, self.errors.shielded)
        if late and self.is_worker:
            with self.errors.shielded():
                _xdist.leave_for_controller(self.config, late)
        elif late:
            late = self.outcomes.account(late, None)
            if late and self.reports:
                with self.errors.shielded():
                    self.terminal.late(late, self.session)
                    self.files.update_baseline(self.outcomes.findings, self.session, late=True)  # they count too
        if self.reports:
            with self.errors.shielded():
                self.files.write_report(self.outcomes.findings, self.session)
        if not self.is_worker:
            self.terminal.internal_errors_after_summary()

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self.reports:
            self.terminal.summary(terminalreporter, self.outcomes, self.baseline)
