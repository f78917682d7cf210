"""CI output: JUnit XML properties next to the report, and GitHub workflow annotations."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from _guardrun import GuardRun, line_of, run_guard, write_project

APP = """
def save(db, item):
    db.add(item)
"""

TESTS = """
from unittest.mock import AsyncMock, MagicMock
import pytest
import app


def test_strict():
    db = AsyncMock()
    app.save(db, 1)


@pytest.mark.asyncmock_guard("warn")
def test_warned():
    client = AsyncMock()
    client.ping()


def test_fine():
    db = MagicMock()
    app.save(db, 1)
"""


@pytest.fixture(autouse=True)
def _not_on_github(monkeypatch: pytest.MonkeyPatch) -> None:
    """The sub-runs inherit the environment: the outer run may itself be a GitHub Actions job."""
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.delenv("GITHUB_WORKSPACE", raising=False)


def _properties(path: str) -> dict[str, list[str]]:
    """Each test case's asyncmock_guard property values."""
    found: dict[str, list[str]] = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        values = [prop.get("value", "") for prop in case.iter("property") if prop.get("name") == "asyncmock_guard"]
        found[case.get("name", "")] = values
    return found


@pytest.mark.parametrize("workers", ["0", "2"])
def test_junit_properties_on_the_right_test_cases(pytester: pytest.Pytester, workers: str) -> None:
    pytest.importorskip("xdist")
    write_project(pytester, app=APP, test_ci=TESTS)
    xml = str(pytester.path / "junit.xml")
    run = run_guard(pytester, "strict", f"--junitxml={xml}", "-n", workers)
    run.result.assert_outcomes(passed=2, failed=1, warnings=1)
    properties = _properties(xml)
    assert properties["test_fine"] == []
    [strict] = properties["test_strict"]
    assert strict.startswith("(strict) [never-awaited] db.add\n  at app.py:2 (in save)")
    assert "fix:\n    # insert after test_ci.py:7:\n    db.add = MagicMock()" in strict
    [warned] = properties["test_warned"]
    assert warned.startswith("(warn) [never-awaited] client.ping\n  at test_ci.py:")


def test_a_teardown_finding_is_a_property_too(pytester: pytest.Pytester) -> None:
    write_project(
        pytester,
        test_cycle="""
        from unittest.mock import AsyncMock

        def test_cycle():
            db = AsyncMock()
            holder = {"db": db}
            holder["self"] = holder
            holder["lost"] = db.add(1)
        """,
    )
    xml = str(pytester.path / "junit.xml")
    run_guard(pytester, "strict", f"--junitxml={xml}")
    values = [value for values in _properties(xml).values() for value in values]
    assert len(values) == 1
    assert values[0].startswith("(strict) [never-awaited] db.add")


def test_no_properties_without_the_report(pytester: pytest.Pytester) -> None:
    write_project(pytester, app=APP, test_ci=TESTS)
    xml = str(pytester.path / "junit.xml")
    pytester.runpytest_subprocess("-p", "asyncmock_guard", f"--junitxml={xml}")
    assert all(values == [] for values in _properties(xml).values())


def _annotations(run: GuardRun) -> list[str]:
    return [line for line in run.output.splitlines() if line.startswith("::")]


def test_github_annotations_with_the_flag(pytester: pytest.Pytester) -> None:
    write_project(pytester, app=APP, test_ci=TESTS)
    run = run_guard(pytester, "strict", "--asyncmock-guard-github")
    error, warning = sorted(_annotations(run))
    assert error.startswith(
        "::error file=app.py,line=2,title=asyncmock-guard%3A never-awaited db.add::[never-awaited] db.add%0A"
    )
    assert "%0A  fix:%0A    # insert after test_ci.py:7:%0A    db.add = MagicMock()" in error
    assert error.endswith("%0A  test: test_ci.py::test_strict")
    line = line_of(TESTS, "client.ping()")
    assert warning.startswith(
        f"::warning file=test_ci.py,line={line},title=asyncmock-guard%3A never-awaited client.ping::"
    )
    assert "\n" not in error


def test_github_annotations_in_a_github_actions_job(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    write_project(pytester, app=APP, test_ci=TESTS)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_WORKSPACE", str(pytester.path.parent))  # the repository holds the project
    run = run_guard(pytester, "warn")
    annotations = _annotations(run)
    assert len(annotations) == 2
    assert all(annotation.startswith("::warning ") for annotation in annotations)  # warn mode: warnings only
    prefix = pytester.path.name
    assert any(annotation.startswith(f"::warning file={prefix}/app.py,line=2,") for annotation in annotations)


def test_no_annotations_by_default_and_none_for_baselined_findings(pytester: pytest.Pytester) -> None:
    write_project(pytester, app=APP, test_ci=TESTS)
    assert _annotations(run_guard(pytester, "strict")) == []
    run_guard(pytester, "strict", "--asyncmock-guard-baseline=b.json", "--asyncmock-guard-update-baseline")
    quiet = run_guard(pytester, "strict", "--asyncmock-guard-baseline=b.json", "--asyncmock-guard-github")
    assert _annotations(quiet) == []
