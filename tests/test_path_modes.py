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
        ("tests/legacy/** = loud", "the mode of 'tests/legacy/** = loud' in ini option asyncmock_guard_paths is"),
    ],
)
def test_a_broken_rule_is_a_usage_error(pytester: pytest.Pytester, line: str, problem: str) -> None:
    _project(pytester, f"asyncmock_guard_paths =\n    {line}\n")
    result = pytester.runpytest_subprocess("-p", "asyncmock_guard")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: asyncmock-guard: *{problem}*"])


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
