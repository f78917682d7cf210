"""The guard beside the plugins users run with it: each run has one misuse among correct async tests, in strict
and warn mode. pytest-rerunfailures (a finding belongs to its attempt: strict fails the attempt, so the rerun
happens, and the last attempt decides; listed once per test), pytest-randomly (any order, the same findings),
pytest-repeat (each repetition is its own test), pytest-timeout (a test killed by its timeout keeps its
finding, none leaks into the next test; the thread method, which ends the process, prints and writes them
first), pytest-cov (the same findings under coverage), and anyio's trio
backend."""

from __future__ import annotations

from typing import Any

import pytest

from _guardrun import line_of, run_guard, write_project

APP = """
def save(db, item):
    db.add(item)  # <-- dropped
"""

TESTS = """
import asyncio
from unittest.mock import AsyncMock

import app


def test_misuse():
    db = AsyncMock()
    app.save(db, 1)


async def test_correct_await():
    db = AsyncMock(return_value=2)
    assert await db() == 2


async def test_correct_task():
    db = AsyncMock(return_value=3)
    assert await asyncio.create_task(db()) == 3
"""

WHERE = {"path": "app.py", "line": line_of(APP, "<-- dropped")}


def _counts(run: Any, *outcomes: str) -> tuple[int, ...]:
    counted = run.result.parseoutcomes()
    return tuple(counted.get(outcome, 0) for outcome in outcomes)


def _only_the_misuse(findings: list[dict[str, object]], nodeid: str = "test_case.py::test_misuse") -> None:
    assert [(f["nodeid"], f["kind"], f["subject"], f["where"]) for f in findings] == [
        (nodeid, "never-awaited", "db.add", WHERE)
    ], findings


@pytest.mark.parametrize("mode", ["strict", "warn"])
def test_rerunfailures_fails_each_attempt_and_lists_the_finding_once(pytester: pytest.Pytester, mode: str) -> None:
    pytest.importorskip("pytest_rerunfailures")
    flaky = """
    from unittest.mock import AsyncMock

    import app

    ATTEMPTS = []


    def test_flaky_then_misuse():
        ATTEMPTS.append(1)
        assert len(ATTEMPTS) > 1, "flaky"
        db = AsyncMock()
        app.save(db, 1)


    async def test_correct():
        db = AsyncMock(return_value=1)
        assert await db() == 1
    """
    write_project(pytester, app=APP, test_case=flaky)
    run = run_guard(pytester, mode, "--reruns", "2", plugins=("rerunfailures",))
    _only_the_misuse(run.findings, "test_case.py::test_flaky_then_misuse")
    assert "<between tests>" not in run.output
    if mode == "strict":  # the misuse fails the second and third attempts: the test fails
        assert _counts(run, "failed", "passed", "rerun") == (1, 1, 2)
        assert run.result.ret == 1
    else:  # as without the guard: the second attempt passes
        assert _counts(run, "failed", "passed", "rerun", "warnings") == (0, 2, 1, 1)
        assert run.result.ret == 0


def test_rerunfailures_with_a_misuse_on_every_attempt(pytester: pytest.Pytester) -> None:
    pytest.importorskip("pytest_rerunfailures")
    write_project(pytester, app=APP, test_case=TESTS)
    run = run_guard(pytester, "strict", "--reruns", "1", plugins=("rerunfailures",))
    _only_the_misuse(run.findings)
    assert run.findings[0]["phase"] == "call"
    assert _counts(run, "failed", "passed", "rerun") == (1, 2, 1)


@pytest.mark.parametrize("mode", ["strict", "warn"])
def test_randomly_gives_the_same_findings_in_any_order(pytester: pytest.Pytester, mode: str) -> None:
    pytest.importorskip("pytest_randomly")
    write_project(pytester, app=APP, test_case=TESTS)
    for seed in ("1", "2", "3"):
        run = run_guard(pytester, mode, f"--randomly-seed={seed}", plugins=("randomly",))
        _only_the_misuse(run.findings)
        if mode == "strict":
            run.result.assert_outcomes(failed=1, passed=2)
        else:
            run.result.assert_outcomes(passed=3, warnings=1)


@pytest.mark.parametrize("mode", ["strict", "warn"])
def test_repeat_makes_each_repetition_its_own_test(pytester: pytest.Pytester, mode: str) -> None:
    pytest.importorskip("pytest_repeat")
    write_project(pytester, app=APP, test_case=TESTS)
    run = run_guard(pytester, mode, "--count", "3", plugins=("repeat",))
    assert sorted(f["nodeid"] for f in run.findings) == [f"test_case.py::test_misuse[{n}-3]" for n in (1, 2, 3)]
    assert all(f["subject"] == "db.add" and f["where"] == WHERE for f in run.findings)
    if mode == "strict":
        run.result.assert_outcomes(failed=3, passed=6)
    else:
        run.result.assert_outcomes(passed=9, warnings=3)


@pytest.mark.parametrize("mode", ["strict", "warn"])
def test_a_test_killed_by_its_timeout_keeps_its_finding(pytester: pytest.Pytester, mode: str) -> None:
    pytest.importorskip("pytest_timeout")
    timed = """
    import time
    from unittest.mock import AsyncMock

    import pytest

    import app


    @pytest.mark.timeout(0.5, method="signal")
    def test_misuse_then_hang():
        db = AsyncMock()
        app.save(db, 1)
        time.sleep(5)


    async def test_next():
        db = AsyncMock(return_value=1)
        assert await db() == 1
    """
    write_project(pytester, app=APP, test_case=timed)
    run = run_guard(pytester, mode, plugins=("timeout",))
    _only_the_misuse(run.findings, "test_case.py::test_misuse_then_hang")
    run.result.assert_outcomes(failed=1, passed=1)  # the timeout fails it either way; the next test is clean
    assert "Timeout" in run.output


HANGS = """
import time
from unittest.mock import AsyncMock

import pytest

import app


async def test_first():
    db = AsyncMock(return_value=1)
    assert await db() == 1


@pytest.mark.timeout(1, method="thread")
def test_misuse_then_hang():
    db = AsyncMock()
    app.save(db, 1)
    time.sleep(30)


def test_never_reached():
    db = AsyncMock()
    app.save(db, 2)
"""


@pytest.mark.parametrize("mode", ["strict", "warn"])
def test_the_thread_timeout_ends_the_run_after_printing_and_writing_the_findings(
    pytester: pytest.Pytester, mode: str
) -> None:
    """pytest-timeout's thread method ends the process from its timer thread, in the middle of the test: no
    report, no summary. The findings so far are printed first, and written to the report file, once."""
    pytest.importorskip("pytest_timeout")
    write_project(pytester, app=APP, test_case=HANGS)
    run = run_guard(pytester, mode, plugins=("timeout",))
    assert run.result.ret == 1
    _only_the_misuse(run.findings, "test_case.py::test_misuse_then_hang")
    output = run.output
    section = output.index("asyncmock-guard: findings of the test pytest-timeout ends")
    assert section < output.index("+ Timeout +")  # before pytest-timeout's stacks, and the exit
    assert "test_case.py::test_misuse_then_hang timed out; pytest-timeout ends the run before reporting it" in output
    assert output.count("[never-awaited] db.add") == 1
    assert "db.add = MagicMock()" in output


@pytest.mark.parametrize("mode", ["strict", "warn"])
def test_the_thread_timeout_under_xdist_lists_the_crashed_tests_findings(pytester: pytest.Pytester, mode: str) -> None:
    """Under pytest-xdist the ended worker leaves the test's findings to the controller, which lists them as
    that test's (pytest-xdist fails it as crashed); the tests after it run on a new worker."""
    pytest.importorskip("pytest_timeout")
    pytest.importorskip("xdist")
    write_project(pytester, app=APP, test_case=HANGS.replace("app.save(db, 2)", "assert db.add is not None"))
    run = run_guard(pytester, mode, "-n", "1", plugins=("timeout",))
    assert run.result.ret == 1
    _only_the_misuse(run.findings, "test_case.py::test_misuse_then_hang")
    run.result.assert_outcomes(failed=1, passed=2)
    assert "worker 'gw0' crashed while running 'test_case.py::test_misuse_then_hang'" in run.output
    summary = run.output[run.output.index("= asyncmock-guard =") :]
    assert "test_case.py::test_misuse_then_hang  never-awaited  db.add  app.py:2" in summary
    assert "failed no test" not in summary  # the crashed test failed for them


@pytest.mark.parametrize("mode", ["strict", "warn"])
def test_coverage_gives_the_same_findings(pytester: pytest.Pytester, mode: str) -> None:
    pytest.importorskip("pytest_cov")
    write_project(pytester, app=APP, test_case=TESTS)
    run = run_guard(pytester, mode, "--cov=app", "--cov-report=term", plugins=("pytest_cov",))
    _only_the_misuse(run.findings)
    assert "TOTAL" in run.output
    if mode == "strict":
        run.result.assert_outcomes(failed=1, passed=2)
    else:
        run.result.assert_outcomes(passed=3, warnings=1)


@pytest.mark.parametrize("mode", ["strict", "warn"])
def test_anyio_with_the_trio_backend(pytester: pytest.Pytester, mode: str) -> None:
    pytest.importorskip("trio")
    tests = """
    from unittest.mock import AsyncMock

    import pytest

    import app


    @pytest.fixture
    def anyio_backend():
        return "trio"


    @pytest.mark.anyio
    async def test_misuse():
        db = AsyncMock()
        app.save(db, 1)


    @pytest.mark.anyio
    async def test_correct():
        db = AsyncMock(return_value=1)
        assert await db() == 1
    """
    write_project(pytester, app=APP, test_case=tests)
    run = run_guard(pytester, mode)
    _only_the_misuse(run.findings)
    if mode == "strict":
        run.result.assert_outcomes(failed=1, passed=1)
    else:
        run.result.assert_outcomes(passed=2, warnings=1)


@pytest.mark.parametrize("mode", ["strict", "warn"])
def test_hypothesis_given_on_an_async_test(pytester: pytest.Pytester, mode: str) -> None:
    tests = """
    from unittest.mock import AsyncMock

    from hypothesis import given, settings, strategies as st

    import app


    @settings(max_examples=5, database=None, deadline=None)
    @given(st.integers())
    async def test_misuse(item):
        db = AsyncMock()
        app.save(db, item)


    async def test_correct():
        db = AsyncMock(return_value=1)
        assert await db() == 1
    """
    write_project(pytester, app=APP, test_case=tests)
    run = run_guard(pytester, mode)
    _only_the_misuse(run.findings)
    assert run.findings[0]["count"] == 5  # one finding, made by every example
    if mode == "strict":
        run.result.assert_outcomes(failed=1, passed=1)
    else:
        run.result.assert_outcomes(passed=2, warnings=1)


@pytest.mark.parametrize("mode", ["strict", "warn"])
def test_mocker_async_mock_is_named_as_bound(pytester: pytest.Pytester, mode: str) -> None:
    tests = """
    import app


    def test_misuse(mocker):
        db = mocker.AsyncMock()  # <-- built
        app.save(db, 1)


    async def test_correct(mocker):
        db = mocker.AsyncMock(return_value=1)
        assert await db() == 1
    """
    write_project(pytester, app=APP, test_case=tests)
    run = run_guard(pytester, mode)
    _only_the_misuse(run.findings)
    assert run.findings[0]["change_at"] == {"path": "test_case.py", "line": line_of(tests, "<-- built")}
    if mode == "strict":
        run.result.assert_outcomes(failed=1, passed=1)
    else:
        run.result.assert_outcomes(passed=2, warnings=1)
