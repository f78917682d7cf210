"""Activation, modes, markers, usage errors, the terminal summary and the JSON report format."""

from __future__ import annotations

import json
import re

import pytest
from _pytest.nodes import Node

import asyncmock_guard
from _guardrun import INI, run_guard, write_project
from asyncmock_guard import _config
from asyncmock_guard._config import Mode

MISUSE_APP = """
def first(cursor):
    return cursor.fetchall()[0]
"""

MISUSE_TEST = """
from unittest.mock import AsyncMock
import app

def test_first():
    cursor = AsyncMock()
    cursor.fetchall.return_value = ["a"]
    assert app.first(cursor) == "a"
"""

SILENT_TEST = """
from unittest.mock import AsyncMock

def test_silent():
    client = AsyncMock()
    client.ping()
"""


def _project(pytester: pytest.Pytester, test: str = SILENT_TEST) -> None:
    write_project(pytester, app=MISUSE_APP, test_case=test)


# --- activation --------------------------------------------------------------------------------------


def test_installing_alone_changes_nothing(pytester: pytest.Pytester) -> None:
    _project(pytester)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, warnings=1)
    assert "asyncmock-guard" not in result.stdout.str()
    assert "was never awaited" in result.stdout.str()


@pytest.mark.parametrize(
    "how",
    ["command line", "pytest_plugins in root conftest", "addopts"],
)
def test_ways_to_enable(pytester: pytest.Pytester, how: str) -> None:
    _project(pytester)
    args: list[str] = ["-p", "no:cacheprovider"]
    if how == "command line":
        args += ["-p", "asyncmock_guard"]
    elif how == "addopts":
        pytester.makeini(INI + "addopts = -p asyncmock_guard\n")
    else:
        pytester.makeconftest('pytest_plugins = ["asyncmock_guard"]\n')
    result = pytester.runpytest_subprocess(*args)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*= asyncmock-guard =*", "1 finding: 1 never-awaited"])


def test_no_flag_disables_it(pytester: pytest.Pytester) -> None:
    _project(pytester)
    pytester.makeconftest('pytest_plugins = ["asyncmock_guard"]\n')
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:asyncmock_guard")
    result.assert_outcomes(passed=1, warnings=1)
    assert "asyncmock-guard" not in result.stdout.str()


LOADERS_TEST = """
import importlib.machinery
import sys

def test_loaders():
    guard = {name: module for name, module in sys.modules.items() if name.startswith("asyncmock_guard.")}
    assert "asyncmock_guard._plugin" in guard and "asyncmock_guard._event_loop" in guard
    standard = {name for name, module in guard.items()
                if type(module.__spec__.loader) is importlib.machinery.SourceFileLoader}
    assert standard == set(guard), sorted(set(guard) - standard)
    assert not any(type(finder).__module__ == "asyncmock_guard" for finder in sys.meta_path)
"""


@pytest.mark.parametrize("how", ["command line", "pytest_plugins in root conftest"])
def test_own_modules_skip_assertion_rewriting(pytester: pytest.Pytester, how: str) -> None:
    """pytest marks a plugin's package for assertion rewriting, and its loader is slow to read cached
    code: the guard's modules come through the standard loader, and the finder that does it is gone."""
    pytester.makepyfile(test_loaders=LOADERS_TEST)
    args = ["-p", "no:cacheprovider"]
    if how == "command line":
        args += ["-p", "asyncmock_guard"]
    else:
        pytester.makeconftest('pytest_plugins = ["asyncmock_guard"]\n')
    result = pytester.runpytest_subprocess(*args)
    result.assert_outcomes(passed=1)


def test_report_header_shows_mode(pytester: pytest.Pytester) -> None:
    _project(pytester)
    run = run_guard(pytester, "warn")
    run.result.stdout.fnmatch_lines(["asyncmock-guard: mode warn, report: *guard-report.json"])


# --- modes -------------------------------------------------------------------------------------------


def test_default_mode_is_strict(pytester: pytest.Pytester) -> None:
    _project(pytester)
    run = run_guard(pytester, None)
    run.result.assert_outcomes(failed=1)
    assert run.document["mode"] == "strict"


def test_ini_mode_and_command_line_wins(pytester: pytest.Pytester) -> None:
    _project(pytester)
    pytester.makeini(INI + "asyncmock_guard_mode = warn\n")
    run = run_guard(pytester, None)
    run.result.assert_outcomes(passed=1, warnings=1)
    assert run.document["mode"] == "warn"
    run = run_guard(pytester, "strict")
    run.result.assert_outcomes(failed=1)


def test_off_installs_nothing(pytester: pytest.Pytester) -> None:
    _project(
        pytester,
        """
        import types
        from unittest.mock import AsyncMock

        def test_plain_coroutine():
            coroutine = AsyncMock()()
            assert type(coroutine) is types.CoroutineType
            coroutine.close()
        """,
    )
    result = pytester.runpytest_subprocess("-p", "asyncmock_guard", "--asyncmock-guard=off", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert "= asyncmock-guard =" not in result.stdout.str()


def test_warning_filters_apply_in_warn_mode(pytester: pytest.Pytester) -> None:
    _project(pytester)
    run = run_guard(pytester, "warn", "-W", "error::asyncmock_guard.AsyncMockGuardWarning")
    run.result.assert_outcomes(failed=1)
    run.result.stdout.fnmatch_lines(["*AsyncMockGuardWarning: [[]never-awaited[]] client.ping*"])


FILTER = "error::asyncmock_guard.AsyncMockGuardWarning"

FILTERED_TESTS = """
from unittest.mock import AsyncMock

import pytest


def ping(client):
    client.ping()


{marker}
def test_misuse():
    ping(AsyncMock())


def test_correct():
    assert True
"""


@pytest.mark.parametrize("enabled_by", ["-p", "pytest_plugins"])
@pytest.mark.parametrize("all_errors", [False, True], ids=["", "filterwarnings=error"])
@pytest.mark.parametrize("where", ["command line", "ini", "marker"])
def test_the_error_filter_works_wherever_it_is_given(
    pytester: pytest.Pytester, where: str, all_errors: bool, enabled_by: str
) -> None:
    """The README recommends turning the guard's warnings into errors: given on the command line, in the ini
    file or as a marker, beside ``filterwarnings = error`` or not, with the guard enabled by ``-p`` or by
    ``pytest_plugins``, the misuse fails its test, the rest pass, and pytest says nothing of rewriting."""
    filters = ["error"] if all_errors else []
    if where == "ini":
        filters.append(FILTER)
    ini = INI + ("filterwarnings =\n" + "".join(f"    {line}\n" for line in filters) if filters else "")
    pytester.makeini(ini)
    marker = f'@pytest.mark.filterwarnings("{FILTER}")' if where == "marker" else ""
    pytester.makepyfile(test_case=FILTERED_TESTS.format(marker=marker))
    options = ["-p", "no:cacheprovider", "-p", "no:randomly", "--asyncmock-guard=warn"]
    if enabled_by == "-p":
        options += ["-p", "asyncmock_guard"]
    else:
        pytester.makeconftest('pytest_plugins = ["asyncmock_guard"]\n')
    if where == "command line":
        options += ["-W", FILTER]
    result = pytester.runpytest_subprocess(*options)
    result.assert_outcomes(failed=1, passed=1)
    # the failure is the warning raised as an error (pytest 8's short summary may leave out its text)
    result.stdout.fnmatch_lines(["*AsyncMockGuardWarning: [[]never-awaited[]]*", "FAILED test_case.py::test_misuse*"])
    output = result.stdout.str() + result.stderr.str()
    assert "Module already imported" not in output
    assert "PytestAssertRewriteWarning" not in output
    assert "INTERNALERROR" not in output


def test_warning_category_is_exported(pytester: pytest.Pytester) -> None:
    _project(pytester)
    pytester.makeini(INI + "filterwarnings =\n    ignore::asyncmock_guard.AsyncMockGuardWarning\n")
    run = run_guard(pytester, "warn")
    run.result.assert_outcomes(passed=1)
    assert len(run.findings) == 1  # still reported in the summary and the report file
    assert issubclass(asyncmock_guard.AsyncMockGuardWarning, pytest.PytestWarning)


# --- markers -----------------------------------------------------------------------------------------


def test_marker_overrides_for_test_class_and_module(pytester: pytest.Pytester) -> None:
    write_project(
        pytester,
        app=MISUSE_APP,
        test_case="""
        import pytest
        from unittest.mock import AsyncMock

        @pytest.mark.asyncmock_guard("warn")
        def test_warned():
            AsyncMock().ping()

        @pytest.mark.asyncmock_guard("off")
        def test_off():
            AsyncMock().ping()

        @pytest.mark.asyncmock_guard(mode="warn")
        class TestLegacy:
            def test_in_class(self):
                AsyncMock().ping()

            @pytest.mark.asyncmock_guard("strict")
            def test_closest_marker_wins(self):
                AsyncMock().ping()

        def test_strict_default():
            AsyncMock().ping()
        """,
        test_module_off="""
        import pytest
        from unittest.mock import AsyncMock

        pytestmark = pytest.mark.asyncmock_guard("off")

        def test_module_off():
            AsyncMock().ping()
        """,
    )
    run = run_guard(pytester, "strict")
    run.result.assert_outcomes(passed=4, failed=2)
    failed = {line.split(" ")[1] for line in run.output.splitlines() if line.startswith("FAILED")}
    assert failed == {"test_case.py::TestLegacy::test_closest_marker_wins", "test_case.py::test_strict_default"}
    reported = sorted(finding["nodeid"] for finding in run.findings)
    assert reported == [
        "test_case.py::TestLegacy::test_closest_marker_wins",
        "test_case.py::TestLegacy::test_in_class",
        "test_case.py::test_strict_default",
        "test_case.py::test_warned",
    ]


# --- usage errors ------------------------------------------------------------------------------------


def test_unknown_mode_on_command_line(pytester: pytest.Pytester) -> None:
    _project(pytester)
    result = pytester.runpytest_subprocess("-p", "asyncmock_guard", "--asyncmock-guard=loud")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--asyncmock-guard is 'loud'; valid modes are 'strict', 'warn', 'off'*"])


def test_unknown_mode_in_ini(pytester: pytest.Pytester) -> None:
    _project(pytester)
    pytester.makeini(INI + "asyncmock_guard_mode = sometimes\n")
    result = pytester.runpytest_subprocess("-p", "asyncmock_guard")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*ini option asyncmock_guard_mode (tox.ini:*) is 'sometimes'; valid modes are*"])


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_unknown_mode_in_marker(pytester: pytest.Pytester, workers: list[str]) -> None:
    """Under pytest-xdist the workers collect, and the controller stops with the same usage error (a worker
    raising it would be taken for a crash: INTERNALERROR)."""
    _project(
        pytester,
        """
        import pytest

        @pytest.mark.asyncmock_guard("loose")
        def test_marked():
            pass

        def test_unmarked():
            pass
        """,
    )
    result = pytester.runpytest_subprocess("-p", "asyncmock_guard", *workers)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*marker of test_case.py::test_marked is 'loose'; valid modes are*"])
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
    assert "passed" not in result.stdout.str()  # nothing ran


def test_marker_with_two_modes_is_a_usage_error(pytester: pytest.Pytester) -> None:
    _project(
        pytester,
        """
        import pytest

        @pytest.mark.asyncmock_guard("warn", "off")
        def test_marked():
            pass
        """,
    )
    result = pytester.runpytest_subprocess("-p", "asyncmock_guard")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*the marker takes one mode*"])


def test_report_in_missing_directory_is_a_usage_error(pytester: pytest.Pytester) -> None:
    _project(pytester)
    result = pytester.runpytest_subprocess("-p", "asyncmock_guard", "--asyncmock-guard-report=nowhere/report.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--asyncmock-guard-report*nowhere*does not exist*"])


# --- outputs -----------------------------------------------------------------------------------------


def test_report_file_format(pytester: pytest.Pytester) -> None:
    _project(pytester, MISUSE_TEST + "\n\n" + SILENT_TEST.split("\n", 2)[2])
    run = run_guard(pytester, "strict")
    assert set(run.document) == {"version", "mode", "rootdir", "findings"}
    assert run.document["rootdir"] == str(pytester.path)
    assert run.document["version"] == 1
    assert run.document["mode"] == "strict"
    assert [finding["kind"] for finding in run.findings] == ["coroutine-misuse", "never-awaited"]
    for finding in run.findings:
        assert set(finding) == {
            "kind",
            "nodeid",
            "subtest",
            "phase",
            "subject",
            "where",
            "operation",
            "message",
            "fix",
            "change_at",
            "bug_in",
            "edits",
            "applicability",
            "count",
            "fingerprint",
            "baselined",
        }
        assert set(finding["where"]) == {"path", "line"}
        assert set(finding["change_at"]) == {"path", "line"}
        assert finding["bug_in"] in {"test", "code"}
        assert finding["applicability"] in {"safe", "unsafe"}
        assert finding["count"] == 1
        for edit in finding["edits"]:  # ruff's fix shape
            assert set(edit) == {"path", "location", "end_location", "content", "expected"}
            assert set(edit["location"]) == set(edit["end_location"]) == {"row", "column"}
        assert re.fullmatch("[0-9a-f]{16}", finding["fingerprint"])
        assert finding["baselined"] is False
        assert finding["phase"] in {"setup", "call", "teardown"}
        assert isinstance(finding["where"]["line"], int)
        assert finding["message"]
        assert finding["fix"]
    assert run.findings[0]["operation"] == "subscript"
    assert run.findings[1]["operation"] is None


def test_report_path_from_ini_is_relative_to_rootdir(pytester: pytest.Pytester) -> None:
    _project(pytester)
    pytester.makeini(INI + "asyncmock_guard_report = out/guard.json\n")
    (pytester.path / "out").mkdir()
    result = pytester.runpytest_subprocess("-p", "asyncmock_guard", "--asyncmock-guard=warn")
    result.assert_outcomes(passed=1, warnings=1)
    document = json.loads((pytester.path / "out" / "guard.json").read_text())
    assert document["mode"] == "warn"
    assert len(document["findings"]) == 1


def test_terminal_summary_counts_and_lines(pytester: pytest.Pytester) -> None:
    _project(pytester, MISUSE_TEST + "\n\n" + SILENT_TEST.split("\n", 2)[2])
    run = run_guard(pytester, "warn")
    run.result.stdout.fnmatch_lines(
        [
            "*= asyncmock-guard =*",
            "2 findings: 1 never-awaited, 1 coroutine-misuse",
            "test_case.py::test_first  coroutine-misuse  cursor.fetchall  app.py:2",
            "test_case.py::test_silent  never-awaited  client.ping  test_case.py:13",
        ]
    )


def test_summary_says_no_findings(pytester: pytest.Pytester) -> None:
    _project(pytester, "def test_nothing():\n    pass\n")
    run = run_guard(pytester, "strict")
    run.result.assert_outcomes(passed=1)
    run.result.stdout.fnmatch_lines(["*= asyncmock-guard =*", "no findings"])


def test_failed_test_also_shows_its_findings(pytester: pytest.Pytester) -> None:
    _project(
        pytester,
        """
        from unittest.mock import AsyncMock

        def test_fails_anyway():
            client = AsyncMock()
            client.ping()
            assert 1 == 2
        """,
    )
    run = run_guard(pytester, "strict")
    run.result.assert_outcomes(failed=1)
    run.result.stdout.fnmatch_lines(
        ["*assert 1 == 2*", "*- asyncmock-guard -*", "*[[]never-awaited[]] client.ping*", "*client.ping = MagicMock()*"]
    )


def test_misuse_keeps_the_original_exception(pytester: pytest.Pytester) -> None:
    _project(
        pytester,
        MISUSE_TEST.replace(
            'assert app.first(cursor) == "a"',
            "with pytest.raises(TypeError, match=\"^'coroutine' object is not subscriptable\") as info:\n"
            "        app.first(cursor)\n"
            '    assert "asyncmock-guard: `cursor.fetchall()` returned a coroutine" in "".join(info.value.__notes__)',
        ).replace("import app", "import app\nimport pytest"),
    )
    run = run_guard(pytester, "warn")
    run.result.assert_outcomes(passed=1, warnings=1)
    assert "never awaited" not in run.result.stderr.str()  # one report per coroutine, none at exit


def test_internal_error_becomes_one_warning_and_changes_nothing(pytester: pytest.Pytester) -> None:
    _project(pytester, MISUSE_TEST)
    pytester.makeconftest(
        """
        import asyncmock_guard._diagnosis

        def broken(*args, **kwargs):
            raise RuntimeError("a bug in the guard")

        asyncmock_guard._diagnosis.diagnose_mock = broken
        """
    )
    run = run_guard(pytester, "strict")
    # as without the guard: the test's own TypeError and Python's own warning; plus one internal warning
    run.result.assert_outcomes(failed=1, warnings=2)
    run.result.stdout.fnmatch_lines(
        [
            "*TypeError: 'coroutine' object is not subscriptable",
            # the failed test's coroutine is finalized as the test ends, so Python's warning is the test's
            "test_case.py::test_first",
            "*RuntimeWarning: coroutine 'AsyncMockMixin._execute_mock_call' was never awaited",
            "*AsyncMockGuardInternalWarning: asyncmock-guard: 2 internal error(s) were ignored*",
            "*RuntimeError: a bug in the guard",
        ]
    )
    assert run.findings == []


def test_marker_mode_reads_each_parent_once_and_agrees_with_get_closest_marker(pytester: pytest.Pytester) -> None:
    pytester.makeini(
        "[pytest]\nasyncio_default_fixture_loop_scope = function\nmarkers =\n    asyncmock_guard(mode): test marker\n"
    )
    items = pytester.getitems(
        """
        import pytest

        pytestmark = pytest.mark.asyncmock_guard("warn")

        def test_module_marker(): pass

        @pytest.mark.asyncmock_guard("off")
        def test_own_marker(): pass

        class TestPlain:
            def test_a(self): pass
            def test_b(self): pass

        @pytest.mark.asyncmock_guard("strict")
        class TestMarked:
            def test_c(self): pass

            @pytest.mark.asyncmock_guard("off")
            def test_d(self): pass

            @pytest.mark.parametrize("n", [1, 2])
            def test_e(self, n): pass
        """
    )
    inherited: dict[Node, Mode | None] = {}
    modes = {item.name: _config.marker_mode(item, inherited) for item in items}
    assert modes == {
        "test_module_marker": Mode.WARN,
        "test_own_marker": Mode.OFF,
        "test_a": Mode.WARN,
        "test_b": Mode.WARN,
        "test_c": Mode.STRICT,
        "test_d": Mode.OFF,
        "test_e[1]": Mode.STRICT,
        "test_e[2]": Mode.STRICT,
    }
    for item in items:
        closest = item.get_closest_marker("asyncmock_guard")
        assert closest is not None
        assert modes[item.name] is Mode.parse(closest.args[0], "test")
    # the module, TestPlain and TestMarked, each decided once; nothing above the module was read
    assert set(inherited) == {items[0].parent, items[2].parent, items[4].parent}


HOOK_REPLACED = """
import warnings
from unittest.mock import AsyncMock


def ping(client):
    client.ping()


def test_replaces_it_for_good():
    warnings._warn_unawaited_coroutine = lambda coroutine: None


def test_replaces_it_with_monkeypatch(monkeypatch):
    monkeypatch.setattr(warnings, "_warn_unawaited_coroutine", lambda coroutine: None)


def test_replaces_it_again():
    warnings._warn_unawaited_coroutine = lambda coroutine: None


def test_later_misuse():
    ping(AsyncMock())
"""


@pytest.mark.parametrize("mode", ["strict", "warn"])
def test_a_test_that_leaves_the_hook_replaced_is_named_once_and_the_hook_restored(
    pytester: pytest.Pytester, mode: str
) -> None:
    """Without the guard's hook, no later coroutine would be reported: it is put back after each test, and the
    first test that left it replaced is named once (monkeypatch restores it itself: nothing to say)."""
    pytester.makeini(INI)
    pytester.makepyfile(test_case=HOOK_REPLACED)
    run = run_guard(pytester, mode, "-p", "no:randomly")
    assert [(f["nodeid"], f["kind"], f["subject"]) for f in run.findings] == [
        ("test_case.py::test_later_misuse", "never-awaited", "AsyncMock().ping")
    ]
    if mode == "strict":
        run.result.assert_outcomes(passed=3, failed=1, warnings=1)
    else:
        run.result.assert_outcomes(passed=4, warnings=2)
    output = run.output
    assert output.count("replaced warnings._warn_unawaited_coroutine and left it replaced") == 1
    line = HOOK_REPLACED.lstrip("\n").splitlines().index("def test_replaces_it_for_good():") + 1
    run.result.stdout.fnmatch_lines(
        [
            f"  *test_case.py:{line}: AsyncMockGuardWarning: asyncmock-guard: test_case.py::test_replaces_it_for_good"
            " replaced warnings._warn_unawaited_coroutine*"
        ]
    )
