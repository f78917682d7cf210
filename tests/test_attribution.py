"""Findings belong to the test that created the coroutine, however late the coroutine is collected."""

from __future__ import annotations

import json

import pytest

from _guardrun import OLD_CYCLE_TESTS, POLLER_APP, PYTEST_COLLECTS_AT_UNCONFIGURE, line_of, run_guard, write_project

APP = POLLER_APP


@pytest.mark.parametrize("mode", ["strict", "warn"])
def test_mock_coroutine_in_a_cycle_is_reported_in_its_own_test(pytester: pytest.Pytester, mode: str) -> None:
    test = """
    import gc
    from unittest.mock import AsyncMock

    gc.disable()  # only the guard's own collection at the end of the test finds the cycle

    def test_leaks_in_cycle():
        client = AsyncMock()
        holder = {}
        holder["self"] = holder
        holder["pending"] = client.refresh()  # <-- call

    def test_later():
        gc.enable()
    """
    write_project(pytester, app=APP, test_case=test)
    run = run_guard(pytester, mode)
    finding = run.only()
    assert finding["nodeid"] == "test_case.py::test_leaks_in_cycle"
    assert finding["subject"] == "client.refresh"
    assert finding["where"] == {"path": "test_case.py", "line": line_of(test, "<-- call")}
    if mode == "strict":
        # detected at the end of the test (the guard collects only when a test leaves coroutines behind)
        run.result.assert_outcomes(passed=2, errors=1)
        run.result.stdout.fnmatch_lines(["*ERROR at teardown of test_leaks_in_cycle*"])
    else:
        run.result.assert_outcomes(passed=2, warnings=1)


@pytest.mark.parametrize("mode", ["strict", "warn"])
def test_plain_coroutine_collected_two_tests_later_blames_the_first(pytester: pytest.Pytester, mode: str) -> None:
    test = """
    import gc
    import app

    gc.disable()  # the cycle is collected exactly where test_third says so

    def test_first():
        holder = {}
        holder["self"] = holder
        holder["pending"] = app.Poller().poll()  # <-- call

    def test_second():
        pass

    def test_third():
        gc.collect()
        gc.enable()
    """
    _assert_blamed_on_the_first_test(pytester, mode, test)


# Production code that forgets an ``await`` and keeps the coroutine on an object in a reference cycle.
MONITOR_APP = """
class Poller:
    async def poll(self):
        return 1


class Monitor:
    def __init__(self):
        self.me = self  # a reference cycle: only a garbage collection frees a Monitor

    async def refresh(self):
        self.pending = Poller().poll()  # <-- made, never awaited
"""


@pytest.mark.parametrize("mode", ["strict", "warn"])
def test_coroutine_made_by_production_code_and_collected_later_blames_the_test_that_called_it(
    pytester: pytest.Pytester, mode: str
) -> None:
    """The creation stack holds two frames in an async test: the production line that made the
    coroutine and the test line that called that production code, which names the test to blame."""
    test = """
    import gc
    import app

    async def test_first():
        gc.disable()  # the cycle is collected exactly where test_third says so
        await app.Monitor().refresh()

    async def test_second():
        pass

    async def test_third():
        gc.collect()
        gc.enable()
    """
    where = {"path": "app.py", "line": line_of(MONITOR_APP, "<-- made")}
    _assert_blamed_on_the_first_test(pytester, mode, test, app=MONITOR_APP, where=where)


def _assert_blamed_on_the_first_test(
    pytester: pytest.Pytester, mode: str, test: str, *, app: str = APP, where: dict[str, object] | None = None
) -> None:
    """Three tests pass; test_third collects a coroutine that test_first made (at ``where``, by default
    the test's ``<-- call`` line) and never awaited, and test_first is the one to blame."""
    write_project(pytester, app=app, test_case=test)
    run = run_guard(pytester, mode)
    finding = run.only()
    assert finding["nodeid"] == "test_case.py::test_first"
    assert finding["subject"] == "Poller.poll"
    assert finding["where"] == (where or {"path": "test_case.py", "line": line_of(test, "<-- call")})
    if mode == "strict":
        run.result.assert_outcomes(passed=3)
        assert run.result.ret == pytest.ExitCode.TESTS_FAILED
        run.result.stdout.fnmatch_lines(["*detected outside the test that caused them*"])
    else:
        run.result.assert_outcomes(passed=3, warnings=1)
        run.result.stdout.fnmatch_lines(
            [
                "test_case.py::test_third",
                "*(the coroutine was created in test_case.py::test_first; it was only detected now)",
            ]
        )


@pytest.mark.parametrize("mode", ["strict", "warn"])
def test_coroutine_held_by_a_failing_traceback(pytester: pytest.Pytester, mode: str) -> None:
    test = """
    from unittest.mock import AsyncMock

    def test_fails_holding_it():
        api = AsyncMock()
        pending = api.fetch()  # <-- call
        assert pending is None

    def test_next():
        pass
    """
    write_project(pytester, app=APP, test_case=test)
    run = run_guard(pytester, mode)
    finding = run.only()
    assert finding["nodeid"] == "test_case.py::test_fails_holding_it"
    assert finding["subject"] == "api.fetch"
    assert finding["where"] == {"path": "test_case.py", "line": line_of(test, "<-- call")}
    # Found as the failed test ends (its traceback let go): strict fails that test's teardown too.
    if mode == "strict":
        run.result.assert_outcomes(failed=1, passed=1, errors=1)
        run.result.stdout.fnmatch_lines(
            ["*ERROR at teardown of test_fails_holding_it*", "*never-awaited?*api.fetch", "ERROR test_case.py::*"]
        )
    else:
        run.result.assert_outcomes(failed=1, passed=1, warnings=1)
        run.result.stdout.fnmatch_lines(["test_case.py::test_fails_holding_it", "*AsyncMockGuardWarning*"])
    assert "never awaited" not in run.result.stderr.str()


def test_coroutine_dropped_at_collection_has_no_test(pytester: pytest.Pytester) -> None:
    test = """
    import app

    app.Poller().poll()  # <-- call

    def test_ok():
        pass
    """
    write_project(pytester, app=APP, test_case=test)
    run = run_guard(pytester, "strict")
    finding = run.only()
    assert finding["nodeid"] is None
    assert finding["where"] == {"path": "test_case.py", "line": line_of(test, "<-- call")}
    run.result.stdout.fnmatch_lines(["<collection>  never-awaited  Poller.poll  test_case.py:3"])
    assert run.result.ret == pytest.ExitCode.TESTS_FAILED


@pytest.mark.parametrize("mode", ["strict", "warn"])
def test_coroutine_lost_in_a_young_cycle_at_the_end_is_in_the_summary(pytester: pytest.Pytester, mode: str) -> None:
    test = """
    import gc
    import app

    gc.disable()  # nothing collects the cycle before the session ends

    def test_last():
        holder = {}
        holder["self"] = holder
        holder["pending"] = app.Poller().poll()  # <-- call
    """
    write_project(pytester, app=APP, test_case=test)
    run = run_guard(pytester, mode)
    finding = run.only()
    assert finding["nodeid"] == "test_case.py::test_last"
    assert finding["where"] == {"path": "test_case.py", "line": line_of(test, "<-- call")}
    run.result.stdout.fnmatch_lines(["*= asyncmock-guard =*", "test_case.py::test_last  never-awaited  Poller.poll  *"])
    assert "final garbage collection" not in run.output
    expected = pytest.ExitCode.TESTS_FAILED if mode == "strict" else pytest.ExitCode.OK
    assert run.result.ret == expected


@pytest.mark.parametrize("mode", ["strict", "warn"])
def test_coroutine_lost_in_an_old_cycle_is_reported_after_pytests_final_collection(
    pytester: pytest.Pytester, mode: str
) -> None:
    # The guard's own collection at session end looks at the young generations only; garbage that
    # was old before it became garbage is finalized by pytest's full collection at unconfigure. An
    # older pytest collects only in a cleanup, after the guard has stopped listening: the guard then
    # collects fully itself, and the finding is in the summary.
    test = OLD_CYCLE_TESTS
    write_project(pytester, app=APP, test_case=test)
    run = run_guard(pytester, mode)
    finding = run.only()  # the report file is written after that collection
    assert finding["nodeid"] == "test_case.py::test_leaks_into_old_cycle"
    assert finding["where"] == {"path": "test_case.py", "line": line_of(test, "<-- call")}
    line = "test_case.py::test_leaks_into_old_cycle  never-awaited  Poller.poll  *"
    if PYTEST_COLLECTS_AT_UNCONFIGURE:
        late = "*= asyncmock-guard: found by pytest's final garbage collection =*"
        run.result.stdout.fnmatch_lines(["*= asyncmock-guard =*", "no findings", "*= 2 passed in *", late, line])
    else:
        run.result.stdout.fnmatch_lines(["*= asyncmock-guard =*", line, "*= 2 passed*"])
        assert "final garbage collection" not in run.output
    expected = pytest.ExitCode.TESTS_FAILED if mode == "strict" else pytest.ExitCode.OK
    assert run.result.ret == expected
    assert "never awaited" not in run.result.stderr.str()


def test_without_pytests_final_collection_the_guard_collects_fully(pytester: pytest.Pytester) -> None:
    test = OLD_CYCLE_TESTS
    write_project(pytester, app=APP, test_case=test)
    run = run_guard(pytester, "strict", "-p", "no:unraisableexception")
    assert run.only()["nodeid"] == "test_case.py::test_leaks_into_old_cycle"
    run.result.stdout.fnmatch_lines(
        ["*= asyncmock-guard =*", "test_case.py::test_leaks_into_old_cycle  never-awaited  *"]
    )
    assert "final garbage collection" not in run.output
    assert run.result.ret == pytest.ExitCode.TESTS_FAILED


# The same three tests under one loop for the whole module, run by pytest-asyncio or by anyio.
WIDE_LOOP_BODY = """
async def test_first():
    gc.disable()  # the cycle is collected exactly where test_third says so
    holder = {}
    holder["self"] = holder
    holder["pending"] = app.Poller().poll()  # <-- call

async def test_second():
    pass

async def test_third():
    gc.collect()
    gc.enable()
"""
WIDE_LOOP_HEADERS = {
    "pytest-asyncio": """
import gc
import json

import pytest
import app

pytestmark = pytest.mark.asyncio(loop_scope="module")
""",
    "anyio": """
import gc
import json

import pytest
import app

pytestmark = pytest.mark.anyio

@pytest.fixture(scope="module")
def anyio_backend():  # one runner, and loop, for the whole module
    return "asyncio"
""",
}


@pytest.mark.parametrize("mode", ["strict", "warn"])
@pytest.mark.parametrize("runner", sorted(WIDE_LOOP_HEADERS))
def test_under_a_module_scoped_loop_the_first_test_is_blamed(pytester: pytest.Pytester, runner: str, mode: str) -> None:
    _assert_blamed_on_the_first_test(pytester, mode, WIDE_LOOP_HEADERS[runner] + WIDE_LOOP_BODY)


LEAKY_CONFTEST = """
import json

import pytest
import pytest_asyncio
from unittest.mock import AsyncMock
import app


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def shared_client():
    client = AsyncMock()
    client.connect()  # <-- setup
    yield client
    app.Poller().poll()  # <-- teardown
"""


@pytest.mark.parametrize("mode", ["strict", "warn"])
def test_a_session_scoped_async_fixture_leaking_coroutines_is_the_place(pytester: pytest.Pytester, mode: str) -> None:
    test = """
    import pytest

    @pytest.mark.asyncio(loop_scope="session")
    async def test_uses_it(shared_client):
        pass

    def test_other():
        pass
    """
    write_project(pytester, app=APP, conftest=LEAKY_CONFTEST, test_case=test)
    run = run_guard(pytester, mode)
    by_subject = {finding["subject"]: finding for finding in run.findings}
    assert sorted(by_subject) == ["Poller.poll", "client.connect"]
    for subject, marker in (("client.connect", "<-- setup"), ("Poller.poll", "<-- teardown")):
        assert by_subject[subject]["nodeid"] is None
        assert by_subject[subject]["where"] == {"path": "conftest.py", "line": line_of(LEAKY_CONFTEST, marker)}
    run.result.stdout.fnmatch_lines(
        [
            "<session fixture shared_client>  never-awaited  client.connect  conftest.py:*",
            "<session fixture shared_client>  never-awaited  Poller.poll  conftest.py:*",
        ]
    )
    # No test is blamed for the fixture's coroutines: the tests pass; strict fails the run.
    if mode == "strict":
        run.result.assert_outcomes(passed=2)
        assert run.result.ret == pytest.ExitCode.TESTS_FAILED
    else:
        run.result.assert_outcomes(passed=2, warnings=2)
        assert run.result.ret == pytest.ExitCode.OK


def test_a_coroutine_dropped_by_the_initial_conftest_is_reported(pytester: pytest.Pytester) -> None:
    conftest = """
    import app

    app.Poller().poll()  # <-- import
    """
    write_project(pytester, app=APP, conftest=conftest, test_case="def test_ok():\n    pass\n")
    run = run_guard(pytester, "strict")
    finding = run.only()
    assert finding["nodeid"] is None
    assert finding["where"] == {"path": "conftest.py", "line": line_of(conftest, "<-- import")}
    run.result.stdout.fnmatch_lines(["<conftest import>  never-awaited  Poller.poll  conftest.py:3"])
    assert run.result.ret == pytest.ExitCode.TESTS_FAILED


DROPPED_DURING_A_PARSE = {
    "mock": ("holder = [client.fetch()]  # <-- dropped", "client.fetch"),
    "function": ("holder = [app.Poller().poll()]  # <-- dropped", "Poller.poll"),
}


@pytest.mark.parametrize("mode", ["strict", "warn"])
@pytest.mark.parametrize("made_by", sorted(DROPPED_DURING_A_PARSE))
def test_a_coroutine_finalized_inside_a_parse_is_reported_after_it(
    pytester: pytest.Pytester, made_by: str, mode: str
) -> None:
    """The collector may finalize a coroutine anywhere, pytest's assertion rewriting's ``ast.parse`` of
    an imported module among the likeliest. The guard must neither import nor parse there: on Python
    3.11 a parse nested in another makes the outer one fail (SystemError: AST constructor recursion
    depth mismatch), and the user's import with it. Every other Python checks that nothing the guard
    does in the finalizer imports or compiles (the conftest's spy)."""
    made, subject = DROPPED_DURING_A_PARSE[made_by]
    test = f"""
    import ast
    import gc
    import inspect
    from unittest.mock import AsyncMock, MagicMock

    import app

    SOURCE = inspect.getsource(inspect)


    def drop_in_a_cycle(client):
        {made}
        holder.append(holder)


    def test_parse():
        client = MagicMock()
        client.fetch = AsyncMock()
        thresholds = gc.get_threshold()
        gc.collect()
        gc.disable()
        try:
            drop_in_a_cycle(client)
            gc.set_threshold(1)  # the next allocation collects: inside the parse
            gc.enable()
            tree = ast.parse(SOURCE)
        finally:
            gc.set_threshold(*thresholds)
            gc.enable()
        assert tree.body
    """
    conftest = """
    import json
    import sys
    import warnings

    import pytest

    IN_FINALIZER = []
    EVENTS = []


    def _audit(event, args):
        if IN_FINALIZER and event in ("compile", "import"):
            EVENTS.append([event, str(args[0])[:80]])


    sys.addaudithook(_audit)


    @pytest.fixture(autouse=True)
    def _spy_on_the_finalizer_hook():
        hook = warnings._warn_unawaited_coroutine

        def spy(coroutine):
            IN_FINALIZER.append(True)
            try:
                hook(coroutine)
            finally:
                IN_FINALIZER.pop()

        warnings._warn_unawaited_coroutine = spy
        yield
        warnings._warn_unawaited_coroutine = hook


    def pytest_unconfigure(config):
        with open("finalizer-events.json", "w") as file:
            json.dump(EVENTS, file)
    """
    write_project(pytester, app=APP, test_case=test, conftest=conftest)
    run = run_guard(pytester, mode)
    assert "SystemError" not in run.output
    finding = run.only()
    assert (finding["kind"], finding["nodeid"], finding["subject"]) == (
        "never-awaited",
        "test_case.py::test_parse",
        subject,
    )
    assert finding["where"] == {"path": "test_case.py", "line": line_of(test, "<-- dropped")}
    assert json.loads((pytester.path / "finalizer-events.json").read_text()) == []
    if mode == "strict":
        run.result.assert_outcomes(failed=1)
    else:
        run.result.assert_outcomes(passed=1, warnings=1)
