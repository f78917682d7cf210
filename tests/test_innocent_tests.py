"""Never blame an innocent test: a coroutine made deep below a sync test (deeper than the creation stack
CPython records for it) and kept alive by a mock's recorded calls belongs to the test that made it, even
when garbage collection only finalizes it during a later test, in another file."""

from __future__ import annotations

import pytest

from _guardrun import apply_edits, line_in, rerun_clean, run_guard, write_files

# Five calls between a test and the line that makes its coroutine: deeper than ``cr_origin`` records.
DEEP_CHAIN = """
        async def work():
            return 1


        def level1():
            return level2()


        def level2():
            return level3()


        def level3():
            return level4()


        def level4():
            return level5()
"""

DEEP_APP = {
    "app/__init__.py": "",
    "app/jobs.py": """
        def enqueue(job):
            raise NotImplementedError
        """,
    "app/deep.py": """
        from app import jobs


"""
    + DEEP_CHAIN
    + """
        def level5():
            jobs.enqueue(work())  # <-- created
            return "queued"
        """,
    "tests/__init__.py": "",
    "tests/test_a.py": """
        from unittest.mock import patch
        from app import deep


        KEPT = []  # the mock outlives its test, as a mock kept by a fixture, a cache or a cycle would


        def test_queues():
            with patch("app.jobs.enqueue") as enqueue:  # <-- patched
                assert deep.level1() == "queued"
            enqueue.assert_called_once()
            KEPT.append(enqueue)
        """,
    "tests/test_b.py": """
        import gc


        from tests import test_a


        def test_innocent():
            test_a.KEPT.clear()
            gc.collect()  # the mock of test_a, and the coroutine in its calls, die here
            assert True
        """,
}


@pytest.mark.parametrize("mode", ["strict", "warn"])
def test_a_coroutine_a_mock_swallowed_deep_below_a_test_is_that_tests(pytester: pytest.Pytester, mode: str) -> None:
    write_files(pytester, DEEP_APP)
    run = run_guard(pytester, mode, "-p", "no:randomly", "tests/test_a.py", "tests/test_b.py")
    finding = run.only()
    assert finding["nodeid"] == "tests/test_a.py::test_queues"
    assert finding["kind"] == "never-awaited"
    assert finding["subject"] == "work"
    assert finding["where"] == {"path": "app/deep.py", "line": line_in(pytester, "app/deep.py", "<-- created")}
    assert finding["change_at"] == {
        "path": "tests/test_a.py",
        "line": line_in(pytester, "tests/test_a.py", "<-- patched"),
    }
    assert "`enqueue`" in finding["message"]
    outcomes = run.result.parseoutcomes()
    blamed = [line for line in run.output.splitlines() if line.startswith(("FAILED ", "ERROR "))]
    assert not [line for line in blamed if "test_b.py" in line], run.output  # the innocent test passes
    if mode == "strict":  # found as test_a ends: its teardown fails with the report
        assert outcomes == {"passed": 2, "errors": 1}, run.output
        assert [line.split(" ")[1] for line in blamed] == ["tests/test_a.py::test_queues"], run.output
    else:
        assert outcomes == {"passed": 2, "warnings": 1}, run.output
    apply_edits(pytester, run.findings)
    rerun_clean(pytester, mode, "-p", "no:randomly", "tests/test_a.py", "tests/test_b.py")


UNOWNED_APP = {
    "app/__init__.py": "",
    "app/registry.py": """
        JOBS = []


        class Job:
            def __init__(self, coroutine):
                self.coroutine = coroutine
                self.me = self  # a cycle: only a garbage collection frees a job


"""
    + DEEP_CHAIN
    + """
        def level5():
            JOBS.append(Job(work()))  # <-- created
            return "queued"
        """,
    "tests/__init__.py": "",
    "tests/test_a.py": """
        from app import registry


        def test_queues():
            assert registry.level1() == "queued"
        """,
    "tests/test_b.py": """
        import gc

        from app import registry


        def test_innocent():
            registry.JOBS.clear()
            gc.collect()  # the job of test_a, and its coroutine, die here
            assert True
        """,
}


@pytest.mark.parametrize("mode", ["strict", "warn"])
def test_a_coroutine_no_test_can_be_named_for_fails_no_test(pytester: pytest.Pytester, mode: str) -> None:
    """Made below a sync test deeper than its creation stack reaches, kept by no mock, and finalized by a
    full collection during a later test: no one can say which test made it, so it is reported with its
    creation place and no test, fails no test, and (strict) fails the run."""
    write_files(pytester, UNOWNED_APP)
    run = run_guard(pytester, mode, "-p", "no:randomly", "tests/test_a.py", "tests/test_b.py")
    finding = run.only()
    assert finding["nodeid"] is None
    assert finding["phase"] == "unknown test"
    assert finding["subject"] == "work"
    assert finding["where"] == {"path": "app/registry.py", "line": line_in(pytester, "app/registry.py", "<-- created")}
    assert finding["bug_in"] == "code"
    assert "while `tests/test_b.py::test_innocent` ran, which need not be the test that made it" in finding["message"]
    outcomes = run.result.parseoutcomes()
    if mode == "strict":
        assert outcomes == {"passed": 2}, run.output
        assert run.result.ret == 1, run.output
        assert "outside the test that caused them" in run.output
    else:
        assert outcomes == {"passed": 2, "warnings": 1}, run.output
        assert run.result.ret == 0, run.output


def test_a_recent_coroutine_dropped_below_the_test_is_still_the_running_tests(pytester: pytest.Pytester) -> None:
    """The same coroutine, dropped as soon as it is made (no collection of older objects involved): it is
    the running test's, and strict fails that test."""
    files = dict(UNOWNED_APP)
    files["tests/test_a.py"] = """
        from app import registry


        def test_queues():
            assert registry.level1() == "queued"
            registry.JOBS.clear()
            import gc
            gc.collect(0)
        """
    write_files(pytester, files)
    run = run_guard(pytester, "strict", "-p", "no:randomly", "tests/test_a.py")
    finding = run.only()
    assert finding["nodeid"] == "tests/test_a.py::test_queues"
    assert run.result.parseoutcomes() == {"failed": 1}, run.output
