"""Modes per directory (``asyncmock_guard_paths``) and their place among markers, command line and ini."""

from __future__ import annotations

import textwrap

import pytest

from _guardrun import INI, run_guard

APP = """
def save(db, item):
    db.add(item)
"""

MISUSE = """
from unittest.mock import AsyncMock
import app


def test_save():
    db = AsyncMock()
    app.save(db, 1)
"""

MARKED_STRICT = MISUSE.replace("import app\n", "import app\nimport pytest\n").replace(
    "def test_save", "@pytest.mark.asyncmock_guard('strict')\ndef test_save"
)

PATHS = """
asyncmock_guard_paths =
    tests/legacy/** = warn
    tests/new = strict
"""


def _project(pytester: pytest.Pytester, ini_extra: str = PATHS, **tests: str) -> None:
    pytester.makeini(INI + ini_extra)
    (pytester.path / "app.py").write_text(textwrap.dedent(APP))
    sources = {"tests/legacy/test_old.py": MISUSE, "tests/new/test_fresh.py": MISUSE, "tests/test_top.py": MISUSE}
    sources.update(tests)
    for name, source in sources.items():
        path = pytester.path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))
    pytester.syspathinsert()


def _modes(pytester: pytest.Pytester, *args: str) -> dict[str, str]:
    """Each test's outcome, as the modes make it: failed (strict), warned (warn) or silent (off)."""
    run = run_guard(pytester, None, *args, "-rA", "--import-mode=importlib")
    outcomes: dict[str, str] = {}
    for line in run.output.splitlines():
        for outcome in ("PASSED", "FAILED"):
            if line.startswith(outcome + " "):
                nodeid = line.split()[1]
                outcomes[nodeid] = "strict" if outcome == "FAILED" else "silent"
    for finding in run.findings:
        if outcomes.get(finding["nodeid"]) == "silent":
            outcomes[finding["nodeid"]] = "warn"
    return outcomes


def test_each_directory_gets_its_mode(pytester: pytest.Pytester) -> None:
    _project(pytester)
    assert _modes(pytester) == {
        "tests/legacy/test_old.py::test_save": "warn",
        "tests/new/test_fresh.py::test_save": "strict",
        "tests/test_top.py::test_save": "strict",  # no rule: the default
    }


def test_the_last_matching_rule_wins(pytester: pytest.Pytester) -> None:
    _project(pytester, "asyncmock_guard_paths =\n    tests/** = warn\n    tests/new/** = off\n")
    assert _modes(pytester) == {
        "tests/legacy/test_old.py::test_save": "warn",
        "tests/new/test_fresh.py::test_save": "silent",
        "tests/test_top.py::test_save": "warn",
    }


def test_a_marker_beats_the_path_rule(pytester: pytest.Pytester) -> None:
    _project(pytester, **{"tests/legacy/test_old.py": MARKED_STRICT})
    assert _modes(pytester)["tests/legacy/test_old.py::test_save"] == "strict"


def test_the_command_line_beats_the_path_rules(pytester: pytest.Pytester) -> None:
    _project(pytester, **{"tests/legacy/test_old.py": MARKED_STRICT})
    assert _modes(pytester, "--asyncmock-guard=warn") == {
        "tests/legacy/test_old.py::test_save": "strict",  # the marker still wins
        "tests/new/test_fresh.py::test_save": "warn",
        "tests/test_top.py::test_save": "warn",
    }


def test_the_path_rules_beat_the_ini_mode(pytester: pytest.Pytester) -> None:
    _project(pytester, PATHS + "asyncmock_guard_mode = warn\n")
    assert _modes(pytester) == {
        "tests/legacy/test_old.py::test_save": "warn",
        "tests/new/test_fresh.py::test_save": "strict",
        "tests/test_top.py::test_save": "warn",
    }


def test_an_off_ini_mode_leaves_the_guard_on_where_a_rule_says_so(pytester: pytest.Pytester) -> None:
    _project(pytester, "asyncmock_guard_mode = off\nasyncmock_guard_paths = tests/new/** = strict\n")
    assert _modes(pytester) == {
        "tests/legacy/test_old.py::test_save": "silent",
        "tests/new/test_fresh.py::test_save": "strict",
        "tests/test_top.py::test_save": "silent",
    }


def test_off_on_the_command_line_switches_everything_off(pytester: pytest.Pytester) -> None:
    _project(pytester)
    result = pytester.runpytest_subprocess("-p", "asyncmock_guard", "--asyncmock-guard=off", "--import-mode=importlib")
    result.assert_outcomes(passed=3, warnings=3)  # Python's own warnings, nothing of the guard's
    result.stdout.fnmatch_lines(["asyncmock-guard: mode off"])
    assert "= asyncmock-guard =" not in result.stdout.str()


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("tests/legacy/**", "write one 'GLOB = MODE' per line"),
        ("= warn", "write one 'GLOB = MODE' per line"),
        (
            "tests/legacy/** = loud",
            "the mode of 'tests/legacy/** = loud' in ini option asyncmock_guard_paths (tox.ini:",
        ),
    ],
)
def test_a_broken_rule_is_a_usage_error(pytester: pytest.Pytester, line: str, problem: str) -> None:
    _project(pytester, f"asyncmock_guard_paths =\n    {line}\n")
    result = pytester.runpytest_subprocess("-p", "asyncmock_guard")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: asyncmock-guard: *{problem}*"])


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("tests/[z-a]* = warn", "has 'tests/[z-a]* = warn': the glob 'tests/[z-a]*' is not valid (bad character range"),
        ("tests/** = warn = strict", "has 'tests/** = warn = strict'; write one 'GLOB = MODE' per line, with one '='"),
        ("tests/** == warn", "has 'tests/** == warn'; write one 'GLOB = MODE' per line, with one '='"),
    ],
)
def test_a_rule_that_would_match_nothing_is_a_usage_error_naming_the_ini_line(
    pytester: pytest.Pytester, line: str, problem: str
) -> None:
    """A glob Python cannot compile was a raw traceback; two '=' were taken as a glob holding '='."""
    _project(pytester, f"asyncmock_guard_paths =\n    tests/legacy/** = warn\n    {line}\n")
    rule_line = (pytester.path / "tox.ini").read_text().splitlines().index(f"    {line}") + 1
    result = pytester.runpytest_subprocess("-p", "asyncmock_guard")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert (
        f"ERROR: asyncmock-guard: ini option asyncmock_guard_paths (tox.ini:{rule_line}) {problem}"
        in result.stderr.str()
    )
    assert "Traceback" not in result.stderr.str()


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
@pytest.mark.parametrize(
    ("setting", "problem"),
    [
        (
            'asyncmock_guard_sync_methods = ["save", 3]',
            "ini option asyncmock_guard_sync_methods (pyproject.toml, item 2) is 3, not a string",
        ),
        (
            'asyncmock_guard_paths = ["tests/legacy/** = warn", 3]',
            "ini option asyncmock_guard_paths (pyproject.toml, item 2) is 3, not a string",
        ),
        (
            'asyncmock_guard_sync_methods = ["save", "not a name"]',
            "ini option asyncmock_guard_sync_methods (pyproject.toml:LINE) has 'not a name', which is not a method name",
        ),
        (
            'asyncmock_guard_mode = "loud"',
            "ini option asyncmock_guard_mode (pyproject.toml:LINE) is 'loud'; valid modes are",
        ),
    ],
)
def test_a_bad_pyproject_value_is_a_usage_error_naming_the_item(
    pytester: pytest.Pytester, setting: str, problem: str, workers: list[str]
) -> None:
    _project(pytester, "")
    (pytester.path / "tox.ini").unlink()
    pytester.makepyprojecttoml(
        f"""
        [tool.pytest.ini_options]
        asyncio_default_fixture_loop_scope = "function"
        {setting}
        """
    )
    line = (pytester.path / "pyproject.toml").read_text().splitlines().index(setting) + 1
    result = pytester.runpytest_subprocess("-p", "asyncmock_guard", *workers)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert f"ERROR: asyncmock-guard: {problem.replace('LINE', str(line))}" in result.stderr.str()
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()


def test_the_rules_from_pyproject_toml(pytester: pytest.Pytester) -> None:
    _project(pytester, "")
    (pytester.path / "tox.ini").unlink()
    pytester.makepyprojecttoml(
        """
        [tool.pytest.ini_options]
        asyncio_mode = "auto"
        asyncio_default_fixture_loop_scope = "function"
        asyncmock_guard_paths = ["tests/legacy/** = warn", "tests/new/** = strict"]
        """
    )
    assert _modes(pytester) == {
        "tests/legacy/test_old.py::test_save": "warn",
        "tests/new/test_fresh.py::test_save": "strict",
        "tests/test_top.py::test_save": "strict",
    }
