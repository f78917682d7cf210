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

import contextlib
import functools
import gc
import json
import os
import shutil
import sys
import tempfile
import warnings
from collections.abc import Iterable, Iterator
from types import CodeType
from typing import TYPE_CHECKING, Any

import pytest

import asyncmock_guard
from asyncmock_guard import _config, _reporting
from asyncmock_guard._baseline import Baseline, Key, Reconciliation, reconcile, render
from asyncmock_guard._config import Mode, Modes
from asyncmock_guard._errors import InternalErrors
from asyncmock_guard._findings import UNKNOWN_TEST, Finding, relative_path

if TYPE_CHECKING:
    from _pytest.fixtures import FixtureDef
    from _pytest.nodes import Node

    from asyncmock_guard._collector import Collector, TestContext

_PLUGIN_NAME = "asyncmock-guard-session"
_XDIST_PLUGIN_NAME = "asyncmock-guard-xdist"
_REPORT_ATTRIBUTE = "asyncmock_guard"  # the findings a pytest-xdist worker attaches to a test report
_WORKER_OUTPUT_KEY = "asyncmock_guard"
_LATE_DIRECTORY_KEY = "asyncmock_guard_late"  # in a worker's workerinput: where it leaves its late findings
_JUNIT_PROPERTY = "asyncmock_guard"
# What runs in every session outside the tests (the wide fixtures are added as they are set up).
_SESSION_PHASES = frozenset({"conftest import", "collection", "between tests", "session end", UNKNOWN_TEST})
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
        self, config: pytest.Config, modes: Modes, report_path: str | None, early: Collector | None = None
    ) -> None:
        self.config = config
        self.modes = modes
        self.mode = modes.session
        self.report_path = report_path
        self.rootdir = str(config.rootpath)
        baseline_path, self.updating_baseline = _config.baseline(config)
        if self.updating_baseline and not modes.installs:
            raise pytest.UsageError(
                f"asyncmock-guard: {_config.UPDATE_BASELINE_OPTION} cannot record findings with the guard off"
            )
        self.baseline: Baseline | None = None
        if baseline_path is not None and modes.installs:
            self.baseline = Baseline.load(baseline_path, missing_ok=self.updating_baseline)
        self.github = _config.github_annotations(config)
        self.junit = report_path is not None and bool(config.getoption("xmlpath", None))
        self.is_worker = hasattr(config, "workerinput")
        # A pytest-xdist controller runs no test: its workers watch them, and it only gathers. Foreseen
        # from the options now, and made sure of at session start.
        self.is_controller = _config.runs_no_tests(config, early=False)
        self.user_entries = _config.sync_methods(config)
        self.errors = early.errors if early is not None else InternalErrors()
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
        # Everything found in this session (gathered from the workers under pytest-xdist), in order.
        self.findings: list[Finding] = []
        self.unattributed_strict: list[Finding] = []
        self._after_last_test: list[Finding] = []  # a pytest-xdist worker's, sent with its final output
        self._seen_outside_tests: set[tuple[object, ...]] = set()
        # What this session covered, for the baseline: tests that ran, and the entries outside any test
        # whose phase and file this session went through.
        self.tests_run: set[str] = set()
        self.phases_run: set[str] = set(_SESSION_PHASES)
        self.covered_outside_tests: set[Key] = set()
        self.reconciliation: Reconciliation | None = None
        self.session: pytest.Session | None = None
        # A pytest-xdist controller's directory where each worker leaves what pytest's final collection found.
        self.late_directory: str | None = None
        self._internal_errors_recorded = 0  # how many of them the warnings summary shows
        self._item: pytest.Item | None = None
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
            action = "updating" if self.updating_baseline else f"{sum(self.baseline.entries.values())} accepted"
            parts.append(f"baseline: {self.baseline.path} ({action})")
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
            with self._shielded():
                self.late_directory = tempfile.mkdtemp(prefix="asyncmock-guard-late-")
                self.config.add_cleanup(functools.partial(shutil.rmtree, self.late_directory, ignore_errors=True))
        self.config.pluginmanager.register(XdistController(self), _XDIST_PLUGIN_NAME)

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        """Check every marker now, so a typo is a usage error before anything runs."""
        inherited: dict[Node, Mode | None] = {}
        for item in items:
            item.stash[_mode_key] = _config.MODE_TEXT[_config.item_mode(item, self.modes, inherited)]

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
        with self._shielded():
            codes, _ = self._codes_of(fixturedef.func)
            label = f"{fixturedef.scope} fixture {fixturedef.argname}"
            self.phases_run.add(label)
            collector.fixture_set_up(label, codes)

    # --- test phases ---------------------------------------------------------------------------------
    # Two plain hooks per phase boundary, no wrappers: this runs for every test of every suite.
    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> None:
        """Enter the test before its setup; returning None lets pytest run it as usual."""
        collector = self._watching()
        if collector is None:
            return
        try:
            mode = item.stash.get(_mode_key, None) or _config.MODE_TEXT[_config.item_mode(item, self.modes)]
            self._item = item
            codes, is_async = self._codes_of(getattr(item, "obj", None))
            collector.enter_test(
                item.nodeid, codes, mode, getattr(item, "funcargs", None), is_async=is_async, item=item
            )
        except pytest.UsageError:
            raise
        except Exception as error:  # noqa: BLE001 - see _shielded
            self.errors.record(error)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_makereport(self, call: pytest.CallInfo[None]) -> None:
        """Before pytest formats a failure: add the guard's explanation to the exception."""
        excinfo = call.excinfo
        if excinfo is None:
            return
        collector = self.collector
        if collector is None or collector.context is None:
            return
        try:
            collector.explain_failure(excinfo.value)
        except Exception as error:  # noqa: BLE001 - see _shielded
            self.errors.record(error)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """A phase just ended: finish it, and put its findings on its report before anyone reads it."""
        if self.baseline is not None and report.when == "setup" and report.outcome != "skipped":
            self.tests_run.add(report.nodeid)  # only a baseline reads it (which entries this run covered)
        collector = self.collector
        if collector is None:  # no test runs here with the guard on: a pytest-xdist controller, or off
            if self.is_controller:
                wire = getattr(report, _REPORT_ATTRIBUTE, None)
                if wire:
                    with self._shielded():
                        self.received(wire, report.nodeid)
            return
        context = collector.context
        if context is None or context.nodeid != report.nodeid:
            return
        findings: list[Finding] = []
        try:
            self._end_phase(collector, context, report)
            if collector.pending:
                findings = collector.drain()
        except Exception as error:  # noqa: BLE001 - see _shielded
            self.errors.record(error)
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

    def _end_phase(self, collector: Collector, context: TestContext, report: pytest.TestReport) -> None:
        outcome, when = report.outcome, report.when
        if outcome == "failed":
            context.failed = True
        if when == "setup":
            context.phase = "call" if outcome == "passed" else "teardown"
            if context.phase == "call" and not context.is_async:
                collector.instrumentation.track_origins(deeply=True)  # see check_idle_loop
        elif when == "call":
            if collector.watches_schedulers:
                collector.check_scheduler_mocks(test_ended=False)
            if not context.is_async:
                collector.instrumentation.track_origins(deeply=False)  # what the test made keeps its stack
                collector.check_idle_loop()
            collector.end_call_phase()
            context.phase = "teardown"
        else:
            if collector.watches_schedulers:
                collector.check_scheduler_mocks(test_ended=True)
            collector.check_patched_mocks()
            unsettled = collector.instrumentation.unsettled(context.nodeid)
            if context.failed or unsettled:
                # Finalize this test's lost coroutines now, inside the guard's hook and attributed to
                # it, rather than in a later gc at a random allocation, where CPython may not even
                # manage to report them (see _forget_last_failure). A failed test's traceback holds
                # them; cycles made during the test are young, so the cheap collection finds them, and
                # only a test whose mock coroutines survive it pays for a full one.
                _forget_last_failure()
                collector.instrumentation.collect(1)
                unsettled = collector.instrumentation.unsettled(context.nodeid)
                if unsettled:
                    collector.instrumentation.collect()
                    unsettled = collector.instrumentation.unsettled(context.nodeid)
            collector.leave_test(unsettled)

    @contextlib.contextmanager
    def _shielded(self) -> Iterator[None]:
        """An error of the guard itself becomes one warning at the end; the user's run goes on."""
        try:
            yield
        except Exception as error:  # noqa: BLE001
            self.errors.record(error)

    def _dispatch(self, findings: list[Finding], report: pytest.TestReport | None) -> None:
        """Strict findings of this test fail its report; warn findings are warnings; baselined ones are
        only listed; the rest are the session's (their test has already been reported)."""
        with self._shielded():
            findings = [self._judged(finding) for finding in findings]
        nodeid = report.nodeid if report is not None else None
        self._account(findings, nodeid)
        if report is not None:
            with self._shielded():
                self._attach(findings, report)
        elif self.is_worker:
            self._after_last_test.extend(findings)
        strict: list[Finding] = []
        for finding in findings:
            if finding.baselined:
                continue
            if finding.mode == Mode.WARN.value:
                self._warn(finding, nodeid, report)
            elif report is not None and finding.nodeid == nodeid:
                strict.append(finding)
        if strict and report is not None:
            with self._shielded():
                _fail(report, _reporting.failure_text(strict, self.rootdir))

    def _judged(self, finding: Finding) -> Finding:
        """The finding, marked baselined when the baseline accepts it (or when this run records it)."""
        baseline = self.baseline
        if baseline is None:
            return finding
        if self.updating_baseline or baseline.claim(Key.of(finding, self.rootdir), finding.count):
            return finding.accepted()
        return finding

    def _account(self, findings: Iterable[Finding], current_nodeid: str | None) -> list[Finding]:
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
            self.findings.append(finding)
            if finding.mode == Mode.STRICT.value and not finding.baselined and finding.nodeid != current_nodeid:
                self.unattributed_strict.append(finding)
        return kept

    def _attach(self, findings: list[Finding], report: pytest.TestReport) -> None:
        """Put the findings where the rest of the run reads them: the JUnit XML properties of the test,
        and, in a pytest-xdist worker, the report that goes to the controller."""
        if self.is_worker:
            attached: list[dict[str, Any]] = getattr(report, _REPORT_ATTRIBUTE, [])
            attached.extend(finding.to_wire() for finding in findings)
            setattr(report, _REPORT_ATTRIBUTE, attached)
        if self.junit:
            properties = [(_JUNIT_PROPERTY, _reporting.junit_property(finding, self.rootdir)) for finding in findings]
            report.user_properties.extend(properties)
            item = self._item
            if item is not None and item.nodeid == report.nodeid and report.when != "teardown":
                # JUnit XML reads the properties from the teardown report, made from the item's later
                item.user_properties.extend(properties)

    def received(self, wire: Iterable[dict[str, Any]], nodeid: str | None) -> None:
        """Findings a pytest-xdist worker sent (it has already failed or warned for them)."""
        self._account((Finding.from_wire(entry) for entry in wire), nodeid)

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
        self.session = session
        collector = self._watching()
        if collector is not None:
            findings: list[Finding] = []
            with self._shielded():
                _forget_last_failure()
                collector.outside_phase = "session end"
                if collector.watches_schedulers:
                    collector.check_scheduler_mocks(test_ended=True)
                self._collect_lost_coroutines(collector)
                findings = collector.drain()
            self._dispatch(findings, None)
            with self._shielded():
                self._cover_outside_tests()
        if self.is_worker:
            with self._shielded():
                self._send_to_controller()
        elif self.reports:
            with self._shielded():
                self._reconcile_baseline()
        if self.unattributed_strict and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        self._record_internal_errors()

    def _collect_lost_coroutines(self, collector: Collector) -> None:
        """Finalize coroutines lost in reference cycles now, while the guard listens and before the summary.

        The young generations hold what the last tests left behind. A full collection (about 20 ms on
        the benchmark suite, more on big ones, and once per pytest-xdist worker) is paid only when one
        of the guard's mock coroutines is still unaccounted for, or when nothing else will collect while
        the guard listens: pytest's unraisableexception plugin makes a full collection in its own
        ``pytest_unconfigure`` (pytest 9.1 and later; before, in a cleanup after the guard has gone), and
        what it finalizes is reported then (``pytest_unconfigure``; a worker leaves it for the controller).
        """
        gc.collect(1)
        unraisable = self.config.pluginmanager.get_plugin("unraisableexception")
        if (
            collector.instrumentation.pending()
            or self.updating_baseline  # the update's summary line, printed before, must count them too
            or not hasattr(unraisable, "pytest_unconfigure")
        ):
            gc.collect()

    def _cover_outside_tests(self) -> None:
        """Which baseline entries outside any test this session could have found again: their phase
        ran (a wide fixture was set up; collection always runs) and their file was imported."""
        baseline = self.baseline
        if baseline is None:
            return
        loaded = {
            os.path.realpath(path)
            for module in list(sys.modules.values())
            if isinstance(path := getattr(module, "__file__", None), str)
        }
        for key in baseline.entries:
            if not key.outside_tests or key.test[1:-1] not in self.phases_run:
                continue
            if os.path.realpath(os.path.join(self.rootdir, key.path)) in loaded:
                self.covered_outside_tests.add(key)

    def _send_to_controller(self) -> None:
        """A worker's last word: findings made after its last test (those made during a test went with
        its report), and which baseline entries outside the tests it covered."""
        output: dict[str, Any] = self.config.workeroutput  # type: ignore[attr-defined]
        output[_WORKER_OUTPUT_KEY] = {
            "findings": [finding.to_wire() for finding in self._after_last_test],
            "covered": [tuple(key) for key in self.covered_outside_tests],
        }

    def worker_finished(self, output: dict[str, Any]) -> None:
        """The controller receives a worker's last word (see ``_send_to_controller``)."""
        with self._shielded():
            self.received(output.get("findings", []), None)
            self.covered_outside_tests.update(Key(*fields) for fields in output.get("covered", []))

    def _covered(self, key: Key) -> bool:
        return key in self.covered_outside_tests if key.outside_tests else key.test in self.tests_run

    def _reconcile_baseline(self) -> None:
        """Stale entries for the summary, and, when asked, the updated file."""
        baseline = self.baseline
        if baseline is None:
            return
        # a finding made several times in its test (a loop) is that many occurrences of its entry
        found = (key for finding in self.findings for key in [Key.of(finding, self.rootdir)] * finding.count)
        self.reconciliation = reconcile(baseline.entries, found, self._covered)
        if self.updating_baseline:
            _reporting.write_atomically(baseline.path, render(self.reconciliation.updated))

    @pytest.hookimpl(trylast=True)
    def pytest_unconfigure(self) -> None:
        """After pytest's own last garbage collection: report what it finalized, and write the report file."""
        late: list[Finding] = []
        collector = self._watching()
        if collector is not None:
            with self._shielded():
                collector.outside_phase = "session end"
                late = [self._judged(finding) for finding in collector.drain()]
        elif self.late_directory is not None:  # a pytest-xdist controller: its workers have all ended
            with self._shielded():
                late = self._late_from_workers(self.late_directory)
        if late and self.is_worker:
            with self._shielded():
                self._leave_for_controller(late)
        elif late:
            late = self._account(late, None)
            if late and self.reports:
                with self._shielded():
                    self._report_late(late)
                    self._reconcile_baseline()  # the update must hold them too
        if self.reports and self.report_path is not None:
            with self._shielded():
                _reporting.write_json(
                    self.report_path, self.mode.value, self.findings, self.rootdir, self._baseline_summary()
                )
        self._show_internal_errors_after_summary()

    def _show_internal_errors_after_summary(self) -> None:
        """Internal errors of the guard's work after the warnings summary: one line on the terminal."""
        errors = self.errors
        unshown = errors.count - self._internal_errors_recorded
        terminal = self.config.pluginmanager.get_plugin("terminalreporter")
        if unshown <= 0 or terminal is None or self.is_worker:
            return
        first = errors.tracebacks[min(self._internal_errors_recorded, len(errors.tracebacks) - 1)]
        terminal.write_line(
            f"asyncmock-guard: {unshown} internal error(s) at the end of the session were ignored and did not"
            f" change any test; please report this. First error:\n{first}"
        )

    def _leave_for_controller(self, late: list[Finding]) -> None:
        """A worker's findings of pytest's final collection: its output to the controller has gone, so they
        go to a file in the directory the controller named, which it reads once every worker has ended."""
        directory = getattr(self.config, "workerinput", {}).get(_LATE_DIRECTORY_KEY)
        if not isinstance(directory, str) or not os.path.isdir(directory):
            return
        worker = str(self.config.workerinput.get("workerid", os.getpid()))  # type: ignore[attr-defined]
        document = json.dumps([finding.to_wire() for finding in late])
        _reporting.write_atomically(os.path.join(directory, f"{worker}.json"), document)

    def _late_from_workers(self, directory: str) -> list[Finding]:
        """What the workers left (see ``_leave_for_controller``), in the order of their names; a file that
        cannot be read is an internal error, and the others still count."""
        late: list[Finding] = []
        for name in sorted(os.listdir(directory)):
            if name.endswith(".json"):
                with self._shielded(), open(os.path.join(directory, name), encoding="utf-8") as stream:
                    late.extend([Finding.from_wire(entry) for entry in json.load(stream)])
        return late

    def _baseline_summary(self) -> dict[str, Any] | None:
        """The report file's ``baseline`` section."""
        baseline, reconciliation = self.baseline, self.reconciliation
        if baseline is None or reconciliation is None:
            return None
        section: dict[str, Any] = {"path": relative_path(baseline.path, self.rootdir)}
        if self.updating_baseline:
            section["updated"] = {
                "added": reconciliation.added,
                "removed": reconciliation.removed,
                "kept_not_run": reconciliation.kept_not_run,
            }
        else:
            section["stale"] = [key.to_json(count) for key, count in sorted(reconciliation.stale.items())]
        return section

    def _report_late(self, late: list[Finding]) -> None:
        """Findings of pytest's final garbage collection: the summary is printed and warnings are no longer
        shown, so they are printed here, and strict ones still fail the run."""
        terminal = self.config.pluginmanager.get_plugin("terminalreporter")
        if terminal is not None:
            terminal.write_sep("=", "asyncmock-guard: found by pytest's final garbage collection")
            for line in _reporting.summary_lines(late, self.rootdir):
                terminal.write_line(line)
            self._annotate(terminal, late)
        strict = [finding for finding in late if finding.mode == Mode.STRICT.value and not finding.baselined]
        session = self.session
        if strict and session is not None and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def _annotate(self, terminal: pytest.TerminalReporter, findings: Iterable[Finding]) -> None:
        """GitHub workflow commands, one line each, for the findings that are not baselined."""
        if not self.github:
            return
        workspace = os.environ.get("GITHUB_WORKSPACE") or self.rootdir
        for finding in findings:
            if not finding.baselined:
                terminal.write_line(_reporting.github_annotation(finding, self.rootdir, workspace))

    def _record_internal_errors(self) -> None:
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

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if not self.reports:
            return
        terminalreporter.write_sep("=", "asyncmock-guard")
        for line in _reporting.summary_lines(self.findings, self.rootdir):
            terminalreporter.write_line(line)
        for line in _reporting.unattributed_lines(self.unattributed_strict, self.rootdir):
            terminalreporter.write_line(line)
        baseline, reconciliation = self.baseline, self.reconciliation
        if baseline is not None and reconciliation is not None:
            if self.updating_baseline:
                line = _reporting.baseline_update_line(baseline.path, reconciliation, self.rootdir)
                terminalreporter.write_line(line)
            else:
                for line in _reporting.stale_lines(reconciliation.stale):
                    terminalreporter.write_line(line)
        self._annotate(terminalreporter, self.findings)


class XdistController:
    """Hooks that exist only with pytest-xdist, registered on its controller (pytest rejects a plugin
    that implements a hook nobody declared)."""

    def __init__(self, guard: GuardPlugin) -> None:
        self.guard = guard

    def pytest_configure_node(self, node: Any) -> None:
        if self.guard.late_directory is not None:
            node.workerinput[_LATE_DIRECTORY_KEY] = self.guard.late_directory

    def pytest_testnodedown(self, node: Any) -> None:
        output = getattr(node, "workeroutput", None)
        if isinstance(output, dict) and isinstance(output.get(_WORKER_OUTPUT_KEY), dict):
            self.guard.worker_finished(output[_WORKER_OUTPUT_KEY])
