"""pytest-xdist: the workers' findings reach the controller once; ``-n 2`` reports what ``-n 0`` reports."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from _guardrun import OLD_CYCLE_TESTS, POLLER_APP, PYTEST_COLLECTS_AT_UNCONFIGURE, GuardRun, run_guard, write_project
from asyncmock_guard import _config

pytest.importorskip("xdist")

APP = """
def first(cursor):
    return cursor.fetchall()[0]


def save(db, item):
    db.add(item)
"""

CONFTEST = """
from unittest.mock import AsyncMock
import pytest

@pytest.fixture(scope="session")
def warm_cache():
    cache = AsyncMock()
    cache.warm()  # dropped once per worker: one finding all the same
    return cache
"""

TEST_A = """
from unittest.mock import AsyncMock, MagicMock
import app


def test_crash():
    cursor = AsyncMock()
    cursor.fetchall.return_value = ["a"]
    assert app.first(cursor) == "a"


def test_silent(warm_cache):
    db = AsyncMock()
    app.save(db, 1)


def test_cycle():
    db = AsyncMock()
    holder = {"db": db}
    holder["self"] = holder
    holder["lost"] = db.add(1)


def test_fine(warm_cache):
    db = MagicMock()
    app.save(db, 1)
    db.add.assert_called_once_with(1)
"""

TEST_B = """
from unittest.mock import AsyncMock, MagicMock
import pytest
import app

pytestmark = pytest.mark.asyncmock_guard("warn")


def test_legacy(warm_cache):
    db = AsyncMock()
    app.save(db, 2)


@pytest.mark.parametrize("n", range(4))
def test_many(n):
    db = MagicMock()
    app.save(db, n)
"""


def _project(pytester: pytest.Pytester) -> None:
    write_project(pytester, app=APP, conftest=CONFTEST, test_a=TEST_A, test_b=TEST_B)


def _summary(run: GuardRun) -> list[str]:
    lines = run.output.splitlines()
    start = next(index for index, line in enumerate(lines) if re.fullmatch(r"=+ asyncmock-guard =+", line))
    end = next(index for index in range(start + 1, len(lines)) if lines[index].startswith("="))
    return lines[start:end]


def _failed(run: GuardRun) -> list[str]:
    """The tests that failed or errored (a strict finding of the teardown is an error)."""
    lines = run.output.splitlines()
    return sorted(line.split()[1] for line in lines if line.startswith(("FAILED ", "ERROR ")))


def _outcomes(run: GuardRun) -> dict[str, int]:
    outcomes = run.result.parseoutcomes()
    outcomes.pop("warnings", None)  # Python's own, per process; the guard's are compared via the report
    return outcomes


@pytest.mark.parametrize("mode", ["strict", "warn"])
@pytest.mark.parametrize("dist", ["load", "loadfile"])
def test_two_workers_report_what_one_process_reports(pytester: pytest.Pytester, mode: str, dist: str) -> None:
    _project(pytester)
    single = run_guard(pytester, mode, "-n", "0", "-rA")
    double = run_guard(pytester, mode, "-n", "2", f"--dist={dist}", "-rA")

    assert "2 workers" in double.output
    assert double.document == single.document
    kinds = sorted((finding["nodeid"] or "", finding["kind"]) for finding in double.findings)
    assert kinds == [
        ("", "never-awaited"),  # the session fixture, set up on both workers, is reported once
        ("test_a.py::test_crash", "coroutine-misuse"),
        ("test_a.py::test_cycle", "never-awaited"),
        ("test_a.py::test_silent", "never-awaited"),
        ("test_b.py::test_legacy", "never-awaited"),
    ]
    assert _summary(double) == _summary(single)
    assert double.output.count("= asyncmock-guard =") == 1
    assert _outcomes(double) == _outcomes(single)
    assert _failed(double) == _failed(single)
    assert double.result.ret == single.result.ret == pytest.ExitCode.TESTS_FAILED
    if mode == "strict":
        assert _failed(double) == ["test_a.py::test_crash", "test_a.py::test_cycle", "test_a.py::test_silent"]
    else:
        assert _failed(double) == ["test_a.py::test_crash"]  # its own AttributeError
    # the warn-mode test warns on the controller's warnings summary, attributed to itself
    assert "test_b.py::test_legacy" in double.output.split("warnings summary")[1]


def test_one_baseline_update_with_two_workers(pytester: pytest.Pytester) -> None:
    _project(pytester)
    single = run_guard(
        pytester, "strict", "-n", "0", "--asyncmock-guard-baseline=b0.json", "--asyncmock-guard-update-baseline"
    )
    double = run_guard(
        pytester, "strict", "-n", "2", "--asyncmock-guard-baseline=b2.json", "--asyncmock-guard-update-baseline"
    )
    assert (pytester.path / "b2.json").read_text() == (pytester.path / "b0.json").read_text()
    assert len(json.loads((pytester.path / "b2.json").read_text())["entries"]) == 5
    for run in (single, double):
        assert run.output.count("baseline b") == 1
        run.result.stdout.fnmatch_lines(["baseline b?.json updated: 5 added, 0 removed, 5 entries in all"])

    # The baselined findings pass; a new one fails its own test, on whichever worker it ran.
    (pytester.path / "test_c.py").write_text(
        "from unittest.mock import AsyncMock\nimport app\n\n\n"
        "def test_new():\n    db = AsyncMock()\n    app.save(db, 3)\n"
    )
    checked = run_guard(pytester, "strict", "-n", "2", "--asyncmock-guard-baseline=b2.json", "-rA")
    assert _failed(checked) == ["test_a.py::test_crash", "test_c.py::test_new"]  # test_crash: its own error
    new = [finding for finding in checked.findings if not finding["baselined"]]
    assert [finding["nodeid"] for finding in new] == ["test_c.py::test_new"]
    assert "stale" not in checked.output


def test_partial_update_with_two_workers_keeps_the_rest(pytester: pytest.Pytester) -> None:
    _project(pytester)
    run_guard(pytester, "strict", "-n", "2", "--asyncmock-guard-baseline=b.json", "--asyncmock-guard-update-baseline")
    before: list[dict[str, Any]] = json.loads((pytester.path / "b.json").read_text())["entries"]
    (pytester.path / "test_a.py").write_text(TEST_A.replace('holder["lost"] = db.add(1)', 'holder["kept"] = 1'))
    partial = run_guard(
        pytester,
        "strict",
        "-n",
        "2",
        "--asyncmock-guard-baseline=b.json",
        "--asyncmock-guard-update-baseline",
        "test_b.py",
    )
    partial.result.stdout.fnmatch_lines(
        ["baseline b.json updated: 0 added, 0 removed, 5 entries in all (3 kept for tests that did not run)"]
    )
    assert json.loads((pytester.path / "b.json").read_text())["entries"] == before


@pytest.mark.parametrize("mode", ["strict", "warn"])
def test_what_pytests_final_collection_finds_on_a_worker_reaches_the_controller(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    write_project(pytester, app=POLLER_APP, test_old=OLD_CYCLE_TESTS)
    scratch = pytester.mkdir("scratch")  # the controller's directory for its workers' late findings
    monkeypatch.setenv("TMPDIR", str(scratch))
    single = run_guard(pytester, mode, "-n", "0")
    double = run_guard(pytester, mode, "-n", "2", "--dist=loadfile")
    finding = double.only()
    assert finding["nodeid"] == "test_old.py::test_leaks_into_old_cycle"
    assert double.document == single.document
    late = "*= asyncmock-guard: found by pytest's final garbage collection =*"
    for run in (single, double):
        run.result.stdout.fnmatch_lines(
            [
                late if PYTEST_COLLECTS_AT_UNCONFIGURE else "*= asyncmock-guard =*",
                "test_old.py::test_leaks_into_old_cycle  *",
            ]
        )
        assert run.output.count("found by pytest's final garbage collection") == int(PYTEST_COLLECTS_AT_UNCONFIGURE)
    expected = pytest.ExitCode.TESTS_FAILED if mode == "strict" else pytest.ExitCode.OK
    assert double.result.ret == single.result.ret == expected
    assert list(scratch.iterdir()) == []  # removed at the end


def test_an_unreadable_late_file_of_a_worker_is_an_internal_error(pytester: pytest.Pytester) -> None:
    write_project(pytester, app=POLLER_APP, test_old=OLD_CYCLE_TESTS)
    # A worker's late file that is not what the guard writes (a plugin of the user's breaking it, say).
    pytester.makeconftest(
        """
        import os
        import pytest

        @pytest.hookimpl(trylast=True)
        def pytest_unconfigure(config):
            directory = getattr(config, "workerinput", {}).get("asyncmock_guard_late")
            if directory:
                with open(os.path.join(directory, "zz.late.json"), "w") as stream:
                    stream.write("{not json")
        """
    )
    run = run_guard(pytester, "strict", "-n", "2", "--dist=loadfile")
    lines = [
        "test_old.py::test_leaks_into_old_cycle  never-awaited  Poller.poll  *",
        "asyncmock-guard: 1 internal error(s) at the end of the session were ignored and did not change any test;*",
    ]
    if PYTEST_COLLECTS_AT_UNCONFIGURE:
        lines.insert(0, "*= asyncmock-guard: found by pytest's final garbage collection =*")
    run.result.stdout.fnmatch_lines(lines)
    assert run.result.ret == pytest.ExitCode.TESTS_FAILED  # by the worker's finding, which still counts


MODULES_PROBE = """
import json
import os
import sys


def pytest_sessionfinish(session):
    role = getattr(session.config, "workerinput", {}).get("workerid", "controller")
    loaded = sorted(name for name in sys.modules if name.startswith("asyncmock_guard"))
    mock = sys.modules.get("unittest.mock")
    hooked = mock is not None and vars(mock.AsyncMockMixin)["_execute_mock_call"].__module__ != mock.__name__
    with open(os.path.join(str(session.config.rootpath), f"modules-{role}.json"), "w") as stream:
        json.dump({"loaded": loaded, "hooked": hooked}, stream)
"""


@pytest.mark.parametrize("nested", [False, True], ids=["controller", "controller-run-inside-a-worker"])
def test_the_controller_loads_no_instrumentation(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, nested: bool
) -> None:
    # A pytest run started inside a pytest-xdist worker (as pytester does here) inherits that worker's
    # environment: the guard cannot tell it is a controller until its options are settled.
    if nested:
        monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw7")
    else:
        monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    _project(pytester)
    pytester.makeconftest(CONFTEST + MODULES_PROBE)
    single = run_guard(pytester, "strict", "-n", "0")
    double = run_guard(pytester, "strict", "-n", "2")
    assert double.document == single.document
    controller = json.loads((pytester.path / "modules-controller.json").read_text())
    assert "asyncmock_guard._plugin" in controller["loaded"]
    assert not controller["hooked"]
    # Foreseen, it does not even load them; else it loaded and installed them early, and took them out.
    loaded_instrumentation = "asyncmock_guard._instrumentation" in controller["loaded"]
    assert loaded_instrumentation is nested
    for worker in ("gw0", "gw1"):
        probe = json.loads((pytester.path / f"modules-{worker}.json").read_text())
        assert "asyncmock_guard._instrumentation" in probe["loaded"]
        assert probe["hooked"]


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["-n", "2"], True),
        (["-n", "auto"], True),
        (["-n", "auto", "--pdb"], False),
        (["-n", "0"], False),
        (["--dist", "load", "--tx", "popen"], True),
        (["-d", "--tx", "popen"], True),
        (["--tx", "popen"], False),  # no distribution mode
        (["--collect-only", "-n", "2"], False),
        ([], False),
    ],
)
def test_a_controller_is_foreseen_from_the_command_line(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, arguments: list[str], expected: bool
) -> None:
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    config = pytester.parseconfig(*arguments)
    assert _config.runs_no_tests(config, early=True) is expected
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw0")  # a worker's own arguments may say -n (addopts)
    assert _config.runs_no_tests(config, early=True) is False
    assert _config.runs_no_tests(pytester.parseconfig("-p", "no:xdist"), early=True) is False


def test_a_controller_foreseen_wrongly_still_watches_the_tests(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With pytest-xdist's session blocked, -n 2 runs every test in this process after all: the guard
    # learns it at session start and installs then.
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    _project(pytester)
    single = run_guard(pytester, "strict", "-n", "0")
    blocked = run_guard(pytester, "strict", "-n", "2", "-p", "no:dsession")
    assert "workers" not in blocked.output
    assert blocked.document == single.document
    assert _failed(blocked) == _failed(single)
