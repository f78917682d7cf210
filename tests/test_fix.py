"""``asyncmock-guard fix``: the suite's verified fixes applied in one command (see ``_fix``). Each run here is the
installed command in a subprocess, in a pytester project, as a user runs it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from _guardrun import run_guard, write_project

REPOSITORY = Path(__file__).parent.parent
BLOCKED = [f"-p no:{name}" for name in ("randomly", "rerunfailures", "repeat", "timeout", "pytest_cov")]


def _fix(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``asyncmock-guard fix ARGS``: our options, then the pytest arguments (the test extra's plugins off)."""
    ours = [arg for arg in args if arg in ("--diff", "--unsafe") or arg.startswith("--report=")]
    theirs = [arg for arg in args if arg not in ours]
    blocked = [part for option in BLOCKED for part in option.split()]
    command = [sys.executable, "-m", "asyncmock_guard", "fix", *ours, "--", *blocked, "-p", "no:cacheprovider"]
    return subprocess.run([*command, *theirs], cwd=project, capture_output=True, text=True, check=False, timeout=600)


def _texts(directory: Path) -> dict[str, bytes]:
    return {str(path.relative_to(directory)): path.read_bytes() for path in sorted(directory.rglob("*.py"))}


def _examples(pytester: pytest.Pytester) -> Path:
    shutil.copytree(REPOSITORY / "examples", pytester.path / "examples")
    return pytester.path / "examples"


def _outcomes(run: Any) -> dict[str, str]:
    """node id -> PASSED/FAILED from a ``-rA`` run."""
    found = {}
    for line in run.result.stdout.lines:
        for outcome in ("PASSED", "FAILED", "ERROR"):
            if line.startswith(f"{outcome} "):
                found[line.split()[1]] = outcome
    return found


def test_the_example_suite_is_fixed_by_one_command(pytester: pytest.Pytester) -> None:
    """Every finding that had edits is gone; each fixed test passes or fails as it failed without the guard;
    the right tests are untouched; the one finding without an edit is listed with its fix and why."""
    examples = _examples(pytester)
    before = run_guard(pytester, "warn", "-c", "examples/pytest.ini", "examples", "-rA")
    with_edits = {f["nodeid"] for f in before.findings if f["edits"]}
    without = [f for f in before.findings if not f["edits"]]
    right = {name: text for name, text in _texts(examples).items() if name.startswith("tests/")}

    fixed = _fix(examples, "-c", "pytest.ini", ".")

    assert fixed.returncode == 1, fixed.stdout + fixed.stderr  # one finding remains
    out = fixed.stdout
    assert "tests/test_mock_building.py: 4 fixed, verified" in out
    assert "tests/test_seed_patterns.py: 5 fixed, verified" in out
    assert f"asyncmock-guard fix: fixed {len(with_edits)} of {len(before.findings)} findings; 1 remain" in out
    assert "reverted" not in out
    [left] = without
    assert (
        f"not applied: {left['nodeid']}  {left['kind']}  {left['subject']} (it needs a person: no edit is offered"
        in out
    )
    assert "  fix: # 1. make the test async" in out
    assert "+    asset_result = MagicMock()" in out  # the diff of what was applied
    after = run_guard(pytester, "warn", "-c", "examples/pytest.ini", "examples", "-rA")
    assert [(f["nodeid"], f["kind"]) for f in after.findings] == [(left["nodeid"], left["kind"])]
    was, now = _outcomes(before), _outcomes(after)
    for nodeid in with_edits:
        assert now[f"examples/{nodeid}"] in ("PASSED", was[f"examples/{nodeid}"]), nodeid
    for name, text in right.items():  # the right tests keep their text (the wrong ones around them changed)
        edited = (examples / name).read_bytes()
        for block in text.split(b"\n\n\n"):
            if b"def test_right" in block:
                assert block.split(b"def test_right", 1)[1] in edited


def test_diff_writes_nothing_and_a_second_run_changes_nothing(pytester: pytest.Pytester) -> None:
    examples = _examples(pytester)
    untouched = _texts(examples)
    preview = _fix(examples, "--diff", "-c", "pytest.ini", ".")
    assert preview.returncode == 1  # there is a diff
    assert _texts(examples) == untouched
    assert "asyncmock-guard fix: would fix 11 of 12 findings; 1 remain" in preview.stdout
    diff = preview.stdout[preview.stdout.index("--- a/") : preview.stdout.index("not applied:")]

    applied = _fix(examples, "-c", "pytest.ini", ".")
    assert diff in applied.stdout  # the preview was the diff that is applied
    once = _texts(examples)
    assert once != untouched

    again = _fix(examples, "-c", "pytest.ini", ".")
    assert _texts(examples) == once
    assert "fixed 0 of 1 findings; 1 remain" in again.stdout
    assert "--- a/" not in again.stdout


def _diff_of(out: str) -> str:
    return out[out.index("--- a/") : out.index("not applied:")]


def test_parallel_runs_give_the_same_diff(pytester: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    examples = _examples(pytester)
    serial = _fix(examples, "--diff", "-c", "pytest.ini", ".", "-n", "0")
    parallel = _fix(examples, "--diff", "-c", "pytest.ini", ".", "-n", "2")
    assert _diff_of(parallel.stdout) == _diff_of(serial.stdout)
    assert "fixed" in parallel.stdout


APP = """
def save(db, item):
    db.add(item)


class Store:
    async def save(self, item):
        return item


async def handle(store, item):
    store.save(item)  # <-- the code forgot await
    return item
"""

BREAKS = """
from unittest.mock import AsyncMock, create_autospec

import app


def test_asserts_the_async_api():
    db = AsyncMock()
    app.save(db, 1)
    db.add.assert_not_awaited()  # true of the AsyncMock; a MagicMock has no such assertion


def test_fixable():
    db = AsyncMock()
    app.save(db, 2)


async def test_code_forgot_await():
    store = create_autospec(app.Store, instance=True)
    assert await app.handle(store, 3) == 3
"""


def test_an_edit_that_breaks_its_test_is_reverted_and_said(pytester: pytest.Pytester) -> None:
    write_project(pytester, app=APP, test_case=BREAKS)
    result = _fix(pytester.path)
    out = result.stdout
    assert "test_case.py: 1 fixed, verified; 1 reverted" in out, out + result.stderr
    assert (
        "  reverted: test_case.py::test_asserts_the_async_api  never-awaited  db.add:"
        " its test passed before the edits and failed after them"
    ) in out
    text = (pytester.path / "test_case.py").read_text()
    assert text.count("db.add = MagicMock()") == 1  # test_fixable's, not the reverted one's
    assert "store.save(item)  # <-- the code forgot await" in (pytester.path / "app.py").read_text()
    assert "its edits change the code under test: --unsafe applies them" in out
    assert result.returncode == 1


def test_unsafe_adds_the_await_the_code_forgot(pytester: pytest.Pytester) -> None:
    write_project(pytester, app=APP, test_case=BREAKS)
    result = _fix(pytester.path, "--unsafe")
    assert "app.py: 1 fixed, verified" in result.stdout, result.stdout + result.stderr
    assert "await store.save(item)" in (pytester.path / "app.py").read_text()
    clean = run_guard(pytester, "strict")
    assert [f["nodeid"] for f in clean.findings] == ["test_case.py::test_asserts_the_async_api"]


def test_a_file_edited_after_the_report_is_skipped(pytester: pytest.Pytester) -> None:
    write_project(pytester, app=APP, test_case=BREAKS)
    report = run_guard(pytester, "warn").document
    assert report["findings"]
    (pytester.path / "report.json").write_text(__import__("json").dumps(report))
    path = pytester.path / "test_case.py"
    fixable = "def test_fixable():\n    db = AsyncMock()\n"
    path.write_text(path.read_text().replace(fixable, "def test_fixable():\n    db = AsyncMock(name='db')\n"))
    result = _fix(pytester.path, "--report=report.json")
    assert "test_case.py::test_fixable  never-awaited  db.add (test_case.py changed since the report)" in result.stdout
    assert "def test_fixable():\n    db = AsyncMock(name='db')\n    app.save(db, 2)" in path.read_text()  # untouched
    assert "test_case.py: 1 reverted" in result.stdout  # the other one, which breaks its test


def test_the_baselines_fixed_entries_are_reported_stale(pytester: pytest.Pytester) -> None:
    write_project(pytester, app=APP, test_case=BREAKS)
    baseline = "--asyncmock-guard-baseline=baseline.json"
    run_guard(pytester, "strict", baseline, "--asyncmock-guard-update-baseline")
    result = _fix(pytester.path, baseline)
    assert "1 baseline entry fixed now (stale): pytest --asyncmock-guard-update-baseline drops them" in result.stdout
    assert "  test_case.py::test_fixable  never-awaited  db.add  app.py" in result.stdout
    updated = run_guard(pytester, "strict", baseline, "--asyncmock-guard-update-baseline")
    assert "1 removed" in updated.output


def test_bad_usage(tmp_path: Path) -> None:
    missing = subprocess.run(
        [sys.executable, "-m", "asyncmock_guard", "fix", "--report", str(tmp_path / "nope.json")],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert missing.returncode == 2
    assert "does not exist" in missing.stderr
    for name, text in (("corrupt.json", "{"), ("foreign.json", '{"entries": []}')):
        (tmp_path / name).write_text(text)
        broken = subprocess.run(
            [sys.executable, "-m", "asyncmock_guard", "fix", f"--report={tmp_path / name}"],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        assert broken.returncode == 2, broken.stdout + broken.stderr
        assert broken.stdout.startswith("asyncmock-guard fix: ")
        assert name in broken.stdout
        assert "Traceback" not in broken.stdout + broken.stderr
    helped = subprocess.run(
        [sys.executable, "-m", "asyncmock_guard", "fix", "--help"], capture_output=True, text=True, check=False
    )
    assert helped.returncode == 0
    assert helped.stdout.startswith("usage: asyncmock-guard fix")
    assert os.path.isdir(tmp_path)


HELPER = (
    "from unittest.mock import AsyncMock\r\n\r\n\r\ndef make_db():\r\n    db = AsyncMock()  # café\r\n    return db\r\n"
)

HELPED = """
import app
from helpers import make_db


def test_one():
    app.save(make_db(), 1)


def test_two():
    db = make_db()
    app.save(db, 2)
    assert db.add.call_count == 1


def test_three():
    app.save(make_db(), 3)
"""


def test_one_helpers_fix_is_applied_once_for_all_its_tests(pytester: pytest.Pytester) -> None:
    """Three findings of one mis-built helper share its edit: applied once, verified by all three tests; the
    file keeps its line breaks (CRLF here) and encoding."""
    write_project(pytester, app=APP, test_a=HELPED)
    (pytester.path / "helpers.py").write_bytes(HELPER.encode("utf-8"))
    result = _fix(pytester.path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "helpers.py: 3 fixed, verified" in result.stdout
    assert "asyncmock-guard fix: fixed 3 of 3 findings; 0 remain" in result.stdout
    data = (pytester.path / "helpers.py").read_bytes()
    assert data.count(b"db.add = MagicMock()") == 1
    assert b"\n" not in data.replace(b"\r\n", b"")  # every line break still CRLF
    assert "café".encode() in data
    assert run_guard(pytester, "strict").findings == []


SHARED_FIXTURE = """
from unittest.mock import AsyncMock

import pytest


@pytest.fixture
def db():
    return AsyncMock()
"""

SHARED_APP = """
def save(db, item):
    db.add(item)


async def save_later(db, item):
    await db.add(item)
"""

USES_THE_FIXTURE = """
import app


def test_save(db):
    app.save(db, 1)
"""

AWAITS_THROUGH_THE_FIXTURE = """
from unittest.mock import AsyncMock

import app


async def test_save_later(db):
    await app.save_later(db, 1)
    db.add.assert_awaited_once()


def test_own_mock():
    cache = AsyncMock()
    app.save(cache, 2)
"""


@pytest.mark.parametrize("from_report", [False, True])
def test_an_edit_that_breaks_a_test_without_findings_is_reverted(pytester: pytest.Pytester, from_report: bool) -> None:
    """A fixture's fix, verified by its finding's test alone, would break another test that uses the fixture:
    an edit of a file any test may use (a conftest, a helper) is verified by the whole suite, and a test
    that ends worse is blamed on the edits that can have changed it; the edit of a test module is verified
    by its module's tests, and kept."""
    write_project(pytester, app=SHARED_APP, test_save=USES_THE_FIXTURE, test_other=AWAITS_THROUGH_THE_FIXTURE)
    (pytester.path / "conftest.py").write_text(SHARED_FIXTURE)
    args = []
    if from_report:
        report = run_guard(pytester, "warn").document
        (pytester.path / "report.json").write_text(__import__("json").dumps(report))
        args = ["--report=report.json"]
    result = _fix(pytester.path, *args)
    out = result.stdout
    assert "verifying 2 fixes by running the suite again" in out, out + result.stderr
    assert "conftest.py: 1 reverted" in out
    assert (
        "  reverted: test_save.py::test_save  never-awaited  db.add: its edits made"
        " test_other.py::test_save_later end failed (it passed before them)"
    ) in out
    assert "test_other.py: 1 fixed, verified" in out
    assert (pytester.path / "conftest.py").read_text() == SHARED_FIXTURE
    assert "cache.add = MagicMock()" in (pytester.path / "test_other.py").read_text()
    if from_report:
        assert "running the suite as it is first" in out
    after = run_guard(pytester, "strict", "-rA")
    assert [f["nodeid"] for f in after.findings] == ["test_save.py::test_save"]
    assert "PASSED test_other.py::test_save_later" in after.output
    assert result.returncode == 1


MODULE_FIXTURE = """
from unittest.mock import AsyncMock

import pytest

import app


@pytest.fixture
def db():
    return AsyncMock()


def test_save(db):
    app.save(db, 1)


async def test_save_later(db):
    await app.save_later(db, 1)
"""


def test_from_a_report_every_test_of_an_edited_module_is_verified(pytester: pytest.Pytester) -> None:
    """A report made of part of a module (``-k``) lists only some of its tests; the module's fixture edit can
    break the others, so all of them run before and after the edits."""
    write_project(pytester, app=SHARED_APP, test_mod=MODULE_FIXTURE)
    report = run_guard(pytester, "warn", "-k", "test_save and not later").document
    assert [f["nodeid"] for f in report["findings"]] == ["test_mod.py::test_save"]
    (pytester.path / "report.json").write_text(__import__("json").dumps(report))
    result = _fix(pytester.path, "--report=report.json")
    out = result.stdout
    assert "1 findings in report.json; running the 1 test modules they are in" in out, out + result.stderr
    assert "verifying 1 fixes by running 2 tests" in out
    assert (
        "  reverted: test_mod.py::test_save  never-awaited  db.add: its edits made"
        " test_mod.py::test_save_later end failed (it passed before them)"
    ) in out
    assert (pytester.path / "test_mod.py").read_text().strip() == MODULE_FIXTURE.strip()
    assert result.returncode == 1


OWN_MOCK = """
from unittest.mock import AsyncMock

import app


def test_save():
    db = AsyncMock()
    app.save(db, 1)
"""


def test_only_the_edited_modules_tests_run_again(pytester: pytest.Pytester) -> None:
    """An edit of one test module is verified by that module's tests; another module's tests do not run again
    (and are not taken for broken because they did not)."""
    write_project(pytester, app=SHARED_APP, test_mod=OWN_MOCK, test_untouched="def test_untouched():\n    pass\n")
    result = _fix(pytester.path)
    out = result.stdout
    assert "verifying 1 fixes by running 1 tests" in out, out + result.stderr
    assert "test_mod.py: 1 fixed, verified" in out
    assert "reverted" not in out
    assert result.returncode == 0
