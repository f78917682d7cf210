"""Correct code produces no finding and behaves exactly as without the guard.

Each item is a real test file run in a pytester sub-run in strict mode: every test in it must pass,
the report must be empty and Python must not complain about an unawaited coroutine. The generated
tests check the behaviour users rely on (values, await counts, exception types and texts) themselves.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from _guardrun import run_guard, write_project

HELPERS = """
import asyncio


async def double(value):
    await asyncio.sleep(0)
    return value * 2


class Service:
    def __init__(self, client):
        self.client = client

    async def load(self, key):
        return await self.client.get(key)

    async def notify(self, message):
        raise NotImplementedError


async def send_email(address):
    raise NotImplementedError
"""

ITEMS: dict[str, str] = {
    "await": """
        from unittest.mock import AsyncMock

        async def test_await_return_value():
            client = AsyncMock(return_value=3)
            assert await client(1, key="k") == 3
            client.assert_awaited_once_with(1, key="k")
            assert client.await_count == 1

        async def test_await_child():
            client = AsyncMock()
            client.get.return_value = {"id": 1}
            assert await client.get("k") == {"id": 1}
            client.get.assert_awaited_once_with("k")
    """,
    "create-task-and-ensure-future": """
        import asyncio
        from unittest.mock import AsyncMock
        import helpers

        async def test_create_task():
            worker = AsyncMock(return_value="done")
            task = asyncio.create_task(worker())
            plain = asyncio.create_task(helpers.double(2))
            assert await task == "done"
            assert await plain == 4
            worker.assert_awaited_once()

        async def test_ensure_future():
            worker = AsyncMock(return_value=5)
            assert await asyncio.ensure_future(worker()) == 5
            assert await asyncio.ensure_future(helpers.double(3)) == 6
    """,
    "gather-wait-wait-for-shield": """
        import asyncio
        from unittest.mock import AsyncMock
        import helpers

        async def test_gather():
            fetch = AsyncMock(side_effect=lambda n: n + 1)
            assert await asyncio.gather(fetch(1), fetch(2), helpers.double(3)) == [2, 3, 6]
            assert fetch.await_count == 2

        async def test_wait():
            fetch = AsyncMock(return_value=1)
            tasks = {asyncio.create_task(fetch()) for _ in range(3)}
            done, pending = await asyncio.wait(tasks)
            assert not pending
            assert [task.result() for task in done] == [1, 1, 1]

        async def test_wait_for_and_shield():
            fetch = AsyncMock(return_value=7)
            assert await asyncio.wait_for(fetch(), timeout=5) == 7
            assert await asyncio.shield(fetch()) == 7

        async def test_wait_for_timeout_cancels():
            async def slow():
                await asyncio.sleep(10)

            fetch = AsyncMock(side_effect=slow)
            try:
                await asyncio.wait_for(fetch(), timeout=0.01)
            except asyncio.TimeoutError:
                pass
            else:
                raise AssertionError("expected a timeout")
    """,
    "task-group": """
        import asyncio
        import sys
        from unittest.mock import AsyncMock
        import pytest

        @pytest.mark.skipif(sys.version_info < (3, 11), reason="TaskGroup is new in 3.11")
        async def test_task_group():
            fetch = AsyncMock(side_effect=[1, 2])
            async with asyncio.TaskGroup() as group:
                first = group.create_task(fetch())
                second = group.create_task(fetch())
            assert (first.result(), second.result()) == (1, 2)
    """,
    "run-coroutine-threadsafe": """
        import asyncio
        import threading
        from unittest.mock import AsyncMock

        def test_run_coroutine_threadsafe():
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever)
            thread.start()
            try:
                fetch = AsyncMock(return_value="remote")
                assert asyncio.run_coroutine_threadsafe(fetch(), loop).result(timeout=5) == "remote"
                fetch.assert_awaited_once()
            finally:
                loop.call_soon_threadsafe(loop.stop)
                thread.join()
                loop.close()
    """,
    "send-throw-close": """
        import pytest
        from unittest.mock import AsyncMock

        def test_send():
            coroutine = AsyncMock(return_value=9)()
            with pytest.raises(StopIteration) as stop:
                coroutine.send(None)
            assert stop.value.value == 9

        def test_throw():
            coroutine = AsyncMock(return_value=9)()
            with pytest.raises(KeyError, match="boom"):
                coroutine.throw(KeyError("boom"))

        def test_close_without_awaiting():
            mock = AsyncMock()
            coroutine = mock()
            coroutine.close()
            assert mock.await_count == 0
    """,
    "introspection": """
        import asyncio
        import inspect
        import types
        from unittest.mock import AsyncMock

        async def test_introspection():
            coroutine = AsyncMock(return_value=1)()
            assert inspect.iscoroutine(coroutine)
            assert asyncio.iscoroutine(coroutine)
            assert inspect.isawaitable(coroutine)
            assert isinstance(coroutine, types.CoroutineType)
            assert inspect.getcoroutinestate(coroutine) == inspect.CORO_CREATED
            assert repr(coroutine).startswith("<coroutine object AsyncMockMixin._execute_mock_call")
            assert coroutine.__qualname__ == "AsyncMockMixin._execute_mock_call"
            assert coroutine.cr_frame is not None
            assert coroutine == coroutine
            assert hash(coroutine) == hash(coroutine)
            assert coroutine in [coroutine]
            assert await coroutine == 1

        def test_iscoroutinefunction():
            assert inspect.iscoroutinefunction(AsyncMock()) or asyncio.iscoroutinefunction(AsyncMock())
    """,
    "async-context-manager-and-iterator": """
        from unittest.mock import AsyncMock, MagicMock

        async def test_async_mock_as_context_manager():
            lock = AsyncMock()
            lock.__aenter__.return_value = "entered"
            async with lock as value:
                assert value == "entered"
            lock.__aenter__.assert_awaited_once()
            lock.__aexit__.assert_awaited_once()

        async def test_magic_mock_context_manager_factory():
            http = AsyncMock()
            http.get = MagicMock()
            http.get.return_value.__aenter__.return_value.status = 200
            async with http.get("/") as response:
                assert response.status == 200

        async def test_async_iterator():
            stream = AsyncMock()
            stream.__aiter__.return_value = [1, 2, 3]
            assert [item async for item in stream] == [1, 2, 3]
    """,
    "side-effects": """
        import pytest
        from unittest.mock import AsyncMock

        async def test_side_effect_sync_function():
            mock = AsyncMock(side_effect=lambda value: value * 3)
            assert await mock(2) == 6

        async def test_side_effect_async_function():
            async def load(key):
                return {"key": key}

            mock = AsyncMock(side_effect=load)
            assert await mock("a") == {"key": "a"}

        async def test_side_effect_iterable():
            mock = AsyncMock(side_effect=[1, 2])
            assert [await mock(), await mock()] == [1, 2]
            with pytest.raises(StopAsyncIteration):
                await mock()

        async def test_side_effect_exception():
            mock = AsyncMock(side_effect=ValueError("nope"))
            with pytest.raises(ValueError, match="^nope$"):
                await mock()
            mock.assert_awaited_once()
    """,
    "assert-awaited": """
        from unittest.mock import AsyncMock, call

        async def test_assert_awaited_family():
            mock = AsyncMock()
            await mock(1)
            await mock(2)
            mock.assert_awaited()
            mock.assert_awaited_with(2)
            mock.assert_any_await(1)
            mock.assert_has_awaits([call(1), call(2)])
            assert mock.await_args_list == [call(1), call(2)]
            other = AsyncMock()
            other.assert_not_awaited()
    """,
    "seed-pattern-4-correct-and-helper": """
        from unittest.mock import AsyncMock, Mock

        def setup_mock_db_session_empty():
            session = AsyncMock()
            mock_result = Mock()
            mock_result.scalar_one_or_none = Mock(return_value=None)
            mock_result.scalars = Mock(return_value=Mock(all=Mock(return_value=[])))
            session.execute = AsyncMock(return_value=mock_result)
            return session

        async def find(session):
            result = await session.execute("q")
            return result.scalar_one_or_none(), result.scalars().all()

        async def test_pattern_4_correct():
            session = AsyncMock()
            mock_result = Mock()
            mock_result.scalar_one_or_none = Mock(return_value=None)
            mock_result.scalars = Mock(return_value=Mock(all=Mock(return_value=[])))
            session.execute = AsyncMock(return_value=mock_result)
            assert await find(session) == (None, [])

        async def test_helper():
            assert await find(setup_mock_db_session_empty()) == (None, [])
    """,
    "magic-mock-chain-with-async-leaves": """
        from unittest.mock import AsyncMock, MagicMock

        async def get_ids(db):
            result = await db.execute("q")
            return result.scalars().all()

        async def test_chain():
            db = MagicMock()
            db.execute = AsyncMock(return_value=MagicMock())  # the awaited leaf; its result is sync
            db.execute.return_value.scalars.return_value.all.return_value = [1]
            assert await get_ids(db) == [1]

        async def test_leaves_on_a_magic_mock_client():
            client = MagicMock()
            response = MagicMock()
            response.json.return_value = {"ok": True}
            client.get = AsyncMock(return_value=response)
            client.close = MagicMock()
            result = await client.get("/")
            client.close()
            assert result.json() == {"ok": True}

        async def test_awaited_result_is_magic_mock():
            db = AsyncMock()
            db.execute.return_value = MagicMock()
            db.execute.return_value.scalars.return_value.all.return_value = [2]
            assert await get_ids(db) == [2]
    """,
    "autospec-and-patch": """
        from unittest.mock import AsyncMock, create_autospec, patch
        import helpers

        async def test_create_autospec_instance():
            service = create_autospec(helpers.Service, instance=True)
            service.load.return_value = "value"
            assert await service.load("k") == "value"
            service.load.assert_awaited_once_with("k")
            await service.notify("hello")

        async def test_create_autospec_function():
            send = create_autospec(helpers.send_email)
            await send("a@example.test")
            send.assert_awaited_once_with("a@example.test")

        async def test_patch_async_function():
            with patch("helpers.send_email") as send:
                assert isinstance(send, AsyncMock)
                await helpers.send_email("b@example.test")
                send.assert_awaited_once_with("b@example.test")

        async def test_patch_object_autospec():
            with patch.object(helpers.Service, "load", autospec=True) as load:
                load.return_value = 4
                assert await helpers.Service(None).load("k") == 4
    """,
    "asyncio-run-in-sync-test": """
        import asyncio
        from unittest.mock import AsyncMock
        import helpers

        def test_asyncio_run():
            client = AsyncMock()
            client.get.return_value = "value"
            assert asyncio.run(helpers.Service(client).load("k")) == "value"
            assert asyncio.run(helpers.double(4)) == 8

        def test_asyncio_run_debug_mode():
            fetch = AsyncMock(return_value=1)

            async def main():
                task = asyncio.create_task(fetch())
                assert "_execute_mock_call" in repr(task)
                return await task

            assert asyncio.run(main(), debug=True) == 1
    """,
    "stored-then-awaited": """
        from unittest.mock import AsyncMock

        async def test_store_then_await():
            fetch = AsyncMock(side_effect=lambda n: n)
            pending = [fetch(n) for n in range(3)]
            assert [await coroutine for coroutine in pending] == [0, 1, 2]

        async def test_pass_through_helpers():
            fetch = AsyncMock(return_value=1)
            coroutine = fetch()
            holder = {"coroutine": coroutine}
            assert await holder["coroutine"] == 1
    """,
    "isolated-asyncio-testcase": """
        import unittest
        from unittest.mock import AsyncMock, MagicMock

        class RepositoryTest(unittest.IsolatedAsyncioTestCase):
            async def asyncSetUp(self):
                self.session = AsyncMock()
                self.session.add = MagicMock()

            async def test_add_and_commit(self):
                self.session.add("row")
                await self.session.commit()
                self.session.add.assert_called_once_with("row")
                self.session.commit.assert_awaited_once()

            async def test_raises(self):
                self.session.commit.side_effect = RuntimeError("db down")
                with self.assertRaises(RuntimeError):
                    await self.session.commit()
    """,
    "anyio-plugin": """
        import pytest
        from unittest.mock import AsyncMock

        @pytest.fixture
        def anyio_backend():
            return "asyncio"

        @pytest.mark.anyio
        async def test_anyio():
            fetch = AsyncMock(return_value=3)
            assert await fetch() == 3
            fetch.assert_awaited_once()
    """,
    "library-touching-coroutines": """
        import asyncio
        import pickle
        import pytest
        from unittest.mock import AsyncMock

        async def test_assertion_rewriting_and_reprs():
            coroutine = AsyncMock(return_value=[1])()
            text = f"{coroutine!r} {coroutine!s}"
            assert "coroutine object" in text
            assert await coroutine == [1]

        def test_copy_and_pickle_refuse_like_a_coroutine():
            coroutine = AsyncMock()()
            with pytest.raises(TypeError):
                pickle.dumps(coroutine)
            coroutine.close()

        async def test_cancelled_task():
            async def slow():
                await asyncio.sleep(10)

            fetch = AsyncMock(side_effect=slow)
            task = asyncio.create_task(fetch())
            await asyncio.sleep(0)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

        async def test_task_cancelled_before_it_starts():
            task = asyncio.create_task(AsyncMock()())
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
    """,
    "keeps-nothing-alive": """
        import asyncio
        import gc
        import weakref
        from unittest.mock import AsyncMock

        async def test_mock_and_coroutine_are_freed():
            mock = AsyncMock(return_value=1)
            coroutine = mock()
            mock_ref = weakref.ref(mock)
            assert await coroutine == 1
            del mock, coroutine
            gc.collect()
            assert mock_ref() is None

        def test_closed_coroutine_is_freed():
            mock = AsyncMock()
            mock_ref = weakref.ref(mock)
            mock().close()
            del mock
            gc.collect()
            assert mock_ref() is None
    """,
}


# Items with their own async runner (anyio, unittest) do not depend on pytest-asyncio's mode.
_OWN_RUNNER = {"anyio-plugin", "isolated-asyncio-testcase"}
_CASES = [
    (item, mode)
    for item in sorted(ITEMS)
    for mode in ("auto", "strict")
    if not (item in _OWN_RUNNER and mode == "strict")
]


@pytest.mark.parametrize(("item", "asyncio_mode"), _CASES)
def test_correct_code_has_no_finding(pytester: pytest.Pytester, item: str, asyncio_mode: str) -> None:
    source = ITEMS[item]
    if asyncio_mode == "strict" and item not in _OWN_RUNNER:
        # pytest-asyncio's strict mode only runs async tests that carry the marker
        source = "import pytest\npytestmark = pytest.mark.asyncio\n" + _dedent(source)
    write_project(pytester, helpers=HELPERS, test_item=source)
    run = run_guard(pytester, "strict", "-o", f"asyncio_mode={asyncio_mode}", "-W", "error::RuntimeWarning")
    outcomes = run.result.parseoutcomes()
    expected = len(re.findall(r"^\s*(?:async )?def test_", source, flags=re.MULTILINE))
    skipped = 1 if item == "task-group" and sys.version_info < (3, 11) else 0
    assert outcomes.get("passed", 0) == expected - skipped, run.output
    assert outcomes.get("failed", 0) == 0
    assert outcomes.get("errors", 0) == 0
    assert run.findings == []
    assert "no findings" in run.output
    assert "never awaited" not in run.output + run.result.stderr.str()
    assert run.result.ret == 0


def _dedent(source: str) -> str:
    return textwrap.dedent(source).lstrip("\n")


BENCHMARK = Path(__file__).resolve().parent.parent / "benchmarks" / "bench.py"


def _load_benchmark() -> Any:
    spec = importlib.util.spec_from_file_location("bench", BENCHMARK)
    assert spec is not None
    assert spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    return bench


@pytest.mark.parametrize("suite", ["mocks", "asgi"])
def test_the_benchmark_suites_have_no_finding(pytester: pytest.Pytester, suite: str) -> None:
    """The benchmark measures the guard on correct code (it stops at a finding): keep both suites so."""
    bench = _load_benchmark()
    count = bench.generate(pytester.path, 20, suite)
    run = run_guard(pytester, "strict", "-p", "no:xdist", "-W", "error::RuntimeWarning")
    run.result.assert_outcomes(passed=count)
    assert run.findings == []
    assert "no findings" in run.output


def test_the_benchmark_control_is_a_plain_run_paired_with_a_plain_run_of_its_kind() -> None:
    """The control shows what noise alone does to a ratio only if it runs exactly what its partner runs."""
    bench = _load_benchmark()
    configured = bench.configurations(2)
    for suffix in ("", " -n2"):
        control = "control" + suffix
        assert bench.is_control(control)
        assert bench.plain_of(control) == "plain" + suffix
        assert configured[control] == configured["plain" + suffix]
        assert "no:asyncmock_guard" in configured[control]
    assert not any(bench.is_control(name) for name in bench.configurations(2, control=False))
    assert not any(bench.is_control(name) for name in ("plain", "strict -n2", "warn"))


@pytest.mark.parametrize(
    ("rounds", "ranks"),
    [(5, None), (6, (1, 6)), (10, (2, 9)), (20, (6, 15)), (30, (10, 21)), (100, (40, 61))],
)
def test_the_benchmark_interval_of_a_median_is_the_order_statistics_of_the_binomial_tables(
    rounds: int, ranks: tuple[int, int] | None
) -> None:
    """The 95% interval printed beside a median: the ranks that tables of the sign test give (none for
    fewer than 6 rounds), whatever order the rounds came in."""
    bench = _load_benchmark()
    ratios = [1 + rank / 1000 for rank in range(1, rounds + 1)]
    shuffled = ratios[1::2] + ratios[::2][::-1]
    expected = None if ranks is None else (ratios[ranks[0] - 1], ratios[ranks[1] - 1])
    assert bench.median_interval(shuffled) == expected


def test_the_benchmark_under_coverage_runs_every_configuration_under_pytest_cov() -> None:
    """--cov measures what the guard adds to a suite measured for coverage: its plain partner is measured too."""
    bench = _load_benchmark()
    covered = bench.configurations(2, coverage=True)
    assert covered.keys() == bench.configurations(2).keys()
    size = len(bench.COVERAGE)
    for name, arguments in covered.items():
        starts = [index for index in range(len(arguments)) if arguments[index : index + size] == bench.COVERAGE]
        assert len(starts) == 1, arguments
        assert arguments[: starts[0]] + arguments[starts[0] + size :] == bench.configurations(2)[name]
    assert "--cov=app" in bench.COVERAGE
    assert not any("--cov=app" in arguments for arguments in bench.configurations(2).values())


def _sitting(
    path: Path,
    ratios: dict[str, list[float]],
    suite: str = "mocks",
    python: str = "3.13.0",
    coverage: bool | None = None,
) -> Path:
    """A --json file of timed rounds whose per-round CPU ratios are ``ratios`` (each plain run took 1 s);
    ``coverage`` None: a file from before ``--cov``, which says nothing of it."""
    pairs = {name: [[[2.0, ratio], [2.0, 1.0]] for ratio in values] for name, values in ratios.items()}
    document: dict[str, object] = {"suite": suite, "tests": 1000, "python": python, "pairs": pairs}
    if coverage is not None:
        document["coverage"] = coverage
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_the_benchmark_pools_the_rounds_of_sittings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """More rounds narrow a median's interval: --combine pools sittings' rounds, a configuration that only
    some sittings have (the control is recent) from those, and judges the pooled medians."""
    bench = _load_benchmark()
    first = _sitting(
        tmp_path / "first.json",
        {"strict": [1.01, 1.02, 1.03], "warn": [1.01, 1.02, 1.03], "control": [0.99, 1.0, 1.01]},
    )
    second = _sitting(tmp_path / "second.json", {"strict": [1.04, 1.05, 1.06], "warn": [1.0, 1.0, 1.0]})
    pooled = tmp_path / "pooled.json"

    assert bench.main(["--combine", str(first), str(second), "--json", str(pooled)]) == 0

    output = capsys.readouterr().out
    assert "python 3.13.0; the rounds of 2 sittings pooled" in output
    assert re.search(r"^strict\s+6\s", output, re.MULTILINE)
    assert re.search(r"^control\s+3\s", output, re.MULTILINE)
    document = json.loads(pooled.read_text(encoding="utf-8"))
    assert (document["suite"], document["tests"], document["python"]) == ("mocks", 1000, "3.13.0")
    assert document["cpu_ratios"] == pytest.approx({"strict": 1.035, "warn": 1.005, "control": 1.0})
    assert document["intervals"]["strict"] == pytest.approx([1.01, 1.06])  # six rounds: their extremes
    assert document["intervals"]["control"] is None  # three rounds are too few for 95%
    assert bench.main(["--combine", str(first), str(second), "--max-ratio", "1.03"]) == 1


@pytest.mark.parametrize(
    ("contents", "problem"),
    [
        ("{not json", r"broken\.json: cannot read the timed rounds of a sitting from it \(JSONDecodeError"),
        (
            '{"suite": "mocks", "tests": 1000, "python": "3.13.0", "instructions": {"strict": 1}}',
            r"broken\.json: .*KeyError: 'pairs'",
        ),
        (
            '{"suite": "mocks", "tests": 1000, "pairs": {"strict": [[1.0]]}}',
            r"broken\.json: cannot read the timed rounds.*ValueError",
        ),
        ('{"suite": "mocks", "tests": 1000, "pairs": {}}', r"broken\.json: .*KeyError: 'python'"),
        (None, r"broken\.json: cannot read the timed rounds of a sitting from it \(FileNotFoundError"),
    ],
)
def test_the_benchmark_names_a_file_it_cannot_pool(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], contents: str | None, problem: str
) -> None:
    bench = _load_benchmark()
    good = _sitting(tmp_path / "good.json", {"strict": [1.0] * 6, "warn": [1.0] * 6})
    broken = tmp_path / "broken.json"
    if contents is not None:
        broken.write_text(contents, encoding="utf-8")

    with pytest.raises(SystemExit) as stopped:
        bench.main(["--combine", str(good), str(broken)])

    assert stopped.value.code == 2
    assert re.search(problem, capsys.readouterr().err)


def test_the_benchmark_pools_only_sittings_of_one_suite_and_python(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A median of rounds pooled across suites or Pythons would estimate no one ratio."""
    bench = _load_benchmark()
    rounds = {"strict": [1.0] * 6, "warn": [1.0] * 6}
    mocks = _sitting(tmp_path / "mocks.json", rounds)
    asgi = _sitting(tmp_path / "asgi.json", rounds, suite="asgi")
    older = _sitting(tmp_path / "older.json", rounds, python="3.12.1")
    control_only = _sitting(tmp_path / "control.json", {"control": [1.0] * 6})
    covered = _sitting(tmp_path / "covered.json", rounds, coverage=True)
    uncovered = _sitting(tmp_path / "uncovered.json", rounds, coverage=False)

    assert bench.main(["--combine", str(mocks), str(uncovered)]) == 0  # a file without the field: no coverage
    capsys.readouterr()
    for files, problem in (
        (
            [mocks, covered],
            "different things: mocks (1000 tests, python 3.13.0), mocks (1000 tests, python 3.13.0, under pytest-cov)",
        ),
        ([mocks, asgi], "different things: asgi (1000 tests, python 3.13.0), mocks (1000 tests, python 3.13.0)"),
        ([mocks, older], "different things: mocks (1000 tests, python 3.12.1), mocks (1000 tests, python 3.13.0)"),
        ([control_only], "the files hold no rounds of the guard"),
    ):
        with pytest.raises(SystemExit):
            bench.main(["--combine", *map(str, files)])
        assert problem in capsys.readouterr().err
    with pytest.raises(SystemExit):
        bench.main(["--combine", str(mocks), "--instructions"])
    assert "--combine reads timed rounds" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        bench.main(["--combine", str(mocks), "--cov"])
    assert "--cov cannot apply to them" in capsys.readouterr().err
