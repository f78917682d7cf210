"""Unusual but correct async test code: no finding, and every test's outcome as without the guard.

Each case is a class of code a real suite has and the guard once reported: members whose result is both
awaitable and an async context manager (aiohttp, SQLAlchemy, redis), builtins and C functions touching a
coroutine (``list.remove``, ``in``, ``hasattr``), code that asks a coroutine what it supports
(``hasattr(x, "__aenter__")``, ``isinstance(x, Iterable)``) or tries it as a value before awaiting it
(``if pending: await pending``), tasks a fixture's loop runs at teardown, tests that expect
Python's own "never awaited" warning, an AsyncMock replaced before anything called it, and a MagicMock
handing over a coroutine the one call that gets it awaits. Each runs without
the guard, in strict mode and in warn mode; the outcomes of its tests must be the same in all three.
"""

from __future__ import annotations

import re

import pytest

from _guardrun import run_guard, write_project

CASES: dict[str, str] = {
    "awaitable-context-managers": """
        from unittest.mock import AsyncMock, MagicMock, create_autospec, patch

        import aiohttp
        import redis.asyncio
        from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession


        async def fetch_status(session, url):
            response = await session.get(url)
            return response.status


        async def test_aiohttp_get_awaited_with_a_spec():
            session = MagicMock(spec=aiohttp.ClientSession)
            session.get = AsyncMock(return_value=MagicMock(status=200))
            assert await fetch_status(session, "http://x") == 200
            session.get.assert_awaited_once_with("http://x")


        async def test_aiohttp_members_assigned_and_never_called():
            session = create_autospec(aiohttp.ClientSession, instance=True)
            session.post = AsyncMock()
            session.ws_connect = AsyncMock()
            session.request = AsyncMock()
            session.post.assert_not_called()


        async def test_aiohttp_get_patched_and_awaited():
            with patch.object(aiohttp.ClientSession, "get", new_callable=AsyncMock) as get:
                get.return_value = MagicMock(status=204)
                async with aiohttp.ClientSession() as session:
                    assert await fetch_status(session, "http://x") == 204


        async def test_sqlalchemy_connect_and_begin_awaited():
            engine = MagicMock(spec=AsyncEngine)
            engine.connect = AsyncMock(return_value="connection")
            session = MagicMock(spec=AsyncSession)
            session.begin = AsyncMock(return_value="transaction")
            session.begin_nested = AsyncMock()
            assert await engine.connect() == "connection"
            assert await session.begin() == "transaction"


        async def test_redis_pipeline_awaited():
            client = MagicMock(spec=redis.asyncio.Redis)
            client.pipeline = AsyncMock(return_value="pipeline")
            assert await client.pipeline() == "pipeline"
    """,
    "builtins-touching-coroutines": """
        import asyncio
        from unittest.mock import AsyncMock


        async def test_list_remove_and_membership():
            client = AsyncMock()
            first, second, third = client.one(), client.two(), client.three()
            pending = [first, second, third]
            pending.remove(second)
            assert second not in pending
            assert first in pending
            assert pending.index(third) == 1
            assert pending.count(first) == 1
            await asyncio.gather(*pending, second)


        async def test_hashing_and_probing():
            client = AsyncMock()
            coroutine = client.run()
            assert len({coroutine, coroutine}) == 1
            assert {coroutine: 1}[coroutine] == 1
            assert not hasattr(coroutine, "all")
            assert getattr(coroutine, "scalars", None) is None
            assert callable(coroutine) is False
            assert isinstance(coroutine, object)
            await coroutine


        async def test_sorting_and_a_dict_of_pending():
            client = AsyncMock()
            calls = {name: getattr(client, name)() for name in ("b", "a")}
            pending = sorted(calls.values(), key=id)
            pending.sort(key=id, reverse=True)
            assert max(pending, key=id) is pending[0]
            assert list(calls.values()) != []
            for coroutine in pending:
                await coroutine
    """,
    "coroutines-probed-then-awaited": """
        import asyncio
        import contextlib
        import inspect
        import typing
        import weakref
        from collections import abc
        from unittest.mock import AsyncMock

        PROTOCOLS = (
            abc.Iterable, abc.Iterator, abc.Sized, abc.Container, abc.Collection, abc.Reversible,
            abc.AsyncIterable, abc.AsyncIterator, abc.Callable, abc.Mapping, abc.Sequence,
            contextlib.AbstractContextManager, contextlib.AbstractAsyncContextManager,
            typing.SupportsInt, typing.SupportsIndex, typing.SupportsFloat, typing.SupportsAbs,
        )
        DUNDERS = (
            "__len__", "__iter__", "__getitem__", "__setitem__", "__delitem__", "__contains__", "__bool__",
            "__aenter__", "__aexit__", "__aiter__", "__anext__", "__enter__", "__exit__", "__call__",
            "__index__", "__int__", "__add__", "__reversed__", "__next__", "__dict__", "__weakref__",
        )


        def profile(value):
            # what correct code can ask of a coroutine without using it
            return (
                [isinstance(value, protocol) for protocol in PROTOCOLS],
                [hasattr(value, name) for name in DUNDERS],
                isinstance(value, abc.Coroutine), isinstance(value, abc.Awaitable), isinstance(value, abc.Hashable),
                inspect.iscoroutine(value), inspect.isawaitable(value), asyncio.iscoroutine(value),
                callable(value), type(value).__name__, value.__class__.__name__, value.__doc__,
            )


        async def real():
            return 1


        async def test_looks_like_a_coroutine_to_every_check():
            client = AsyncMock(return_value=1)
            mocked, plain = client(), real()
            assert profile(mocked) == profile(plain)
            assert weakref.ref(mocked)() is mocked
            assert await mocked == await plain


        async def enter_or_await(value):
            if hasattr(value, "__aenter__"):
                async with value as entered:
                    return entered
            return await value


        def flatten(items):
            flat = []
            for item in items:
                if isinstance(item, abc.Iterable) and not isinstance(item, str):
                    flat.extend(flatten(item))
                else:
                    flat.append(item)
            return flat


        async def test_code_that_branches_on_protocols():
            get = AsyncMock(return_value=3)
            assert await enter_or_await(get()) == 3
            coroutines = flatten([[get(), get()], get()])
            assert await asyncio.gather(*coroutines) == [3, 3, 3]


        async def maybe_await(value):
            if value:  # None, or a coroutine (always true)
                return await value
            return None


        def size(value):
            try:
                return len(value)
            except TypeError:
                return None


        async def test_tried_as_a_value_then_awaited():
            items = AsyncMock(return_value=[1, 2])
            assert await maybe_await(items()) == [1, 2]
            assert await maybe_await(None) is None
            pending = items()
            assert size(pending) is None
            try:
                pending.scalars
            except AttributeError:
                pass
            assert await pending == [1, 2]
            closed = items()
            if closed:
                closed.close()
    """,
    "fixture-runs-the-loop-later": """
        import asyncio
        from unittest.mock import AsyncMock

        import pytest


        @pytest.fixture
        def loop():
            loop = asyncio.new_event_loop()
            yield loop
            loop.run_until_complete(asyncio.gather(*asyncio.all_tasks(loop)))
            loop.close()


        def test_task_on_the_fixture_loop(loop):
            worker = AsyncMock()
            loop.create_task(worker.run())


        def test_several_tasks_and_a_callback(loop):
            worker = AsyncMock()
            for key in range(3):
                loop.create_task(worker.run(key))
            loop.call_soon(print, "scheduled")
    """,
    "tests-that-expect-the-warning": """
        import gc
        import warnings
        from unittest.mock import AsyncMock

        import pytest


        async def make():
            return 1


        def test_pytest_warns_an_async_mock():
            client = AsyncMock()
            with pytest.warns(RuntimeWarning, match="never awaited"):
                client.run()
                gc.collect()


        def test_pytest_warns_a_coroutine_function():
            with pytest.warns(RuntimeWarning, match="coroutine 'make' was never awaited"):
                make()
                gc.collect()


        def test_recwarn(recwarn):
            client = AsyncMock()
            client.run()
            gc.collect()
            assert any("never awaited" in str(w.message) for w in recwarn.list)


        def test_catch_warnings_record():
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                make()
                AsyncMock()()
                gc.collect()
            assert len([w for w in caught if "never awaited" in str(w.message)]) == 2
    """,
    "replaced-before-any-call": """
        from unittest.mock import AsyncMock, MagicMock, create_autospec

        import pytest


        class Consumer:
            def consume_all(self) -> int:
                return 1

            def close(self) -> None:
                pass


        def run(consumer):
            return consumer.consume_all()


        @pytest.fixture
        def consumer():
            consumer = MagicMock(spec=Consumer)
            consumer.close = AsyncMock()
            return consumer


        def test_replaced_by_a_magic_mock():
            consumer = MagicMock(spec=Consumer)
            consumer.consume_all = AsyncMock()
            consumer.consume_all = MagicMock(return_value=3)
            assert run(consumer) == 3


        def test_replaced_on_an_autospec_by_a_function():
            consumer = create_autospec(Consumer, instance=True)
            consumer.consume_all = AsyncMock()
            consumer.consume_all = lambda: 4
            assert run(consumer) == 4


        def test_a_fixture_assignment_replaced_by_the_test(consumer):
            consumer.close = MagicMock()
            consumer.close()
            consumer.close.assert_called_once_with()
    """,
    "magic-mock-handing-over-a-coroutine": """
        from unittest.mock import MagicMock


        async def load():
            return 5


        async def test_constructed_and_awaited_once():
            client = MagicMock(return_value=load())
            assert await client() == 5


        async def test_assigned_and_awaited_once():
            client = MagicMock()
            client.get.return_value = load()
            assert await client.get("k") == 5
            client.get.assert_called_once_with("k")
    """,
}


def _outcomes(output: str) -> dict[str, str]:
    """Each test's outcome, from the ``-rA`` short summary."""
    summary = re.findall(r"^(PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS) (\S+)", output, re.MULTILINE)
    return {nodeid: outcome for outcome, nodeid in summary}


@pytest.mark.parametrize("case", CASES)
def test_correct_code_keeps_its_outcomes(pytester: pytest.Pytester, case: str) -> None:
    write_project(pytester, test_case=CASES[case])
    plain = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:randomly", "-rA").stdout.str()
    expected = _outcomes(plain)
    assert expected, plain
    assert set(expected.values()) == {"PASSED"}, plain
    for mode in ("strict", "warn"):
        run = run_guard(pytester, mode, "-rA")
        assert run.findings == [], (mode, run.output)
        assert _outcomes(run.output) == expected, (mode, run.output)
        assert "AsyncMockGuardWarning" not in run.output
        assert run.result.ret == 0, run.output
