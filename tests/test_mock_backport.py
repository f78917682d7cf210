"""PyPI's ``mock`` backport (``from mock import AsyncMock``, in many older suites): the same code as
``unittest.mock`` with classes of its own, instrumented the same way once it is imported, so the example
suite written against it gives the same findings, names, locations, fixes and edits."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from _guardrun import apply_edits, run_guard, write_project

pytest.importorskip("mock")

REPOSITORY = Path(__file__).parent.parent
_COMPARED = ("nodeid", "kind", "subject", "where", "change_at", "phase", "operation", "message", "fix", "edits")


def _to_the_backport(directory: Path) -> None:
    """Import every mock from the backport, as a suite that predates ``unittest.mock``'s AsyncMock does."""
    for path in directory.rglob("*.py"):
        text = path.read_text()
        text = re.sub(r"\bfrom unittest\.mock import\b", "from mock import", text)
        text = re.sub(r"\bfrom unittest import mock\b", "import mock", text)
        text = text.replace("unittest.mock.", "mock.")
        path.write_text(text)


def _compared(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{field: finding[field] for field in _COMPARED} for finding in findings]


@pytest.mark.parametrize("mode", ["strict", "warn"])
def test_the_example_suite_on_the_backport_gives_the_same_findings(pytester: pytest.Pytester, mode: str) -> None:
    shutil.copytree(REPOSITORY / "examples", pytester.path / "standard")
    shutil.copytree(REPOSITORY / "examples", pytester.path / "backport")
    _to_the_backport(pytester.path / "backport")
    assert "unittest" not in (pytester.path / "backport" / "tests" / "test_seed_patterns.py").read_text()
    standard = run_guard(pytester, mode, "-c", "standard/pytest.ini", "--rootdir=standard", "standard")
    backport = run_guard(pytester, mode, "-c", "backport/pytest.ini", "--rootdir=backport", "backport")
    assert len(backport.findings) == len(standard.findings) == 12
    assert _compared(backport.findings) == _compared(standard.findings)
    # The guard's own section only: pytest's short test summary quotes the assertion, and an awaited
    # AsyncMock's coroutine is `<coroutine object AsyncMockMixin._execute_mock_call ...>` there on both
    # libraries (how much of it shows depends on the terminal's width)
    section = backport.output[backport.output.index("= asyncmock-guard =") :]
    section = section.split("short test summary info", 1)[0]
    assert "never-awaited  mock_db.add" in section
    assert "_execute_mock_call" not in section
    assert not [f for f in backport.findings if "site-packages" in f["where"]["path"] + f["change_at"]["path"]]
    assert backport.result.parseoutcomes() == standard.result.parseoutcomes()


BACKPORT_APP = """
def save(db, item):
    db.add(item)


async def load(store):
    return await store.load()
"""

BACKPORT_TESTS = """
import mock

import app


def test_dropped():
    db = mock.AsyncMock()
    app.save(db, 1)


async def test_data_as_spec():
    store = mock.MagicMock()
    store.load = mock.AsyncMock({"id": 1})
    assert await app.load(store) == {"id": 1}


async def test_correct():
    store = mock.MagicMock()
    store.load = mock.AsyncMock(return_value={"id": 1})
    assert await app.load(store) == {"id": 1}
"""


def test_the_backports_fixes_apply_and_import_from_the_backport(pytester: pytest.Pytester) -> None:
    """A fix's import goes where the file imports its mocks from; applied, the suite runs clean."""
    write_project(
        pytester,
        app=BACKPORT_APP,
        test_case=BACKPORT_TESTS.replace("import mock\n", "from mock import AsyncMock, MagicMock\nimport mock\n"),
    )
    first = run_guard(pytester, "strict")
    assert sorted((f["nodeid"], f["kind"]) for f in first.findings) == [
        ("test_case.py::test_data_as_spec", "spec-is-data"),
        ("test_case.py::test_dropped", "never-awaited"),
    ]
    first.result.assert_outcomes(failed=2, passed=1)
    apply_edits(pytester, first.findings)
    edited = (pytester.path / "test_case.py").read_text()
    assert "unittest" not in edited
    second = run_guard(pytester, "strict")
    assert second.findings == []
    second.result.assert_outcomes(passed=3)


def test_a_backport_imported_only_during_a_test_is_watched_from_then_on(pytester: pytest.Pytester) -> None:
    """The backport is instrumented when it is imported, whenever that is (here: inside the first test)."""
    write_project(
        pytester,
        app=BACKPORT_APP,
        test_case="""
        import app


        def test_imports_it_late():
            import mock

            app.save(mock.AsyncMock(), 1)
        """,
    )
    run = run_guard(pytester, "strict")
    assert [(f["kind"], f["subject"], f["where"]["path"]) for f in run.findings] == [
        ("never-awaited", "AsyncMock().add", "app.py")
    ]
    assert "RuntimeWarning" not in run.output  # Python's own warning is not shown: the guard reported it
