"""Misuses that only show on tricky suites: each found, named as the test names it, located in the user's
files (never site-packages, the stdlib or ``<unknown>``), and fixed by its edits (applied, then rerun clean).

The classes: awaiting a mock attribute that was never called (``await resp.text``); a side_effect object whose
``__call__`` is async; a coroutine a MagicMock hands over to more calls than one, or to none; an asyncio Future or Task as an AsyncMock's return value; an AsyncMock call whose task
the closing loop cancelled before it ran; AsyncMocks called from worker threads, by the event loop as
callbacks, and by a library (an httpx event hook); mocks the test module or class holds at its top level.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

import pytest

from _guardrun import apply_edits, line_of, rerun_clean, run_guard, write_project


@dataclass(frozen=True)
class Misuse:
    test: str
    kind: str
    subject: str
    where: str  # the marker of the line the finding is at
    change_at: str  # the marker of the line to change
    bug_in: str
    message_contains: tuple[str, ...] = ()
    app: str = ""
    edits: bool = True  # a mechanical fix exists
    # each test's outcome in warn mode (as without the guard)
    warn_outcomes: dict[str, int] = field(default_factory=lambda: {"passed": 1})
    # in strict mode, when not every test fails (a finding made as the test's loop closes errors its teardown)
    strict_outcomes: dict[str, int] | None = None
    # the mock is only ever called after the test returned: its name is caught as the test starts (3.12+)
    named_from_3_12: bool = False
    # asyncio's debug mode (PYTHONDEVMODE, as nox runs the suite) refuses a coroutine function as a callback
    # itself ("coroutines cannot be used with call_soon()"): the case is what a run without it sees
    without_debug_mode: bool = False


# The code under test of the cases whose mock the test module or class holds.
SAVES = """
    def save(db, item):
        db.add(item)  # <-- dropped
"""

MISUSES: dict[str, Misuse] = {
    "awaited-attribute-not-called": Misuse(
        app="""
            async def read(response):
                return await response.text  # <-- awaited
        """,
        test="""
            from unittest.mock import MagicMock

            import app

            async def test_read():
                response = MagicMock()  # <-- built
                response.text.return_value = "hi"
                assert await app.read(response) == "hi"
        """,
        kind="awaited-sync-mock",
        subject="response.text",
        where="app.py:<-- awaited",
        change_at="app.py:<-- awaited",
        bug_in="code",
        message_contains=("without calling it", "`await response.text()`"),
        warn_outcomes={"failed": 1},
    ),
    "async-callable-side-effect": Misuse(
        app="""
            async def lookup(client, key):
                return await client.get(key)
        """,
        test="""
            from unittest.mock import AsyncMock

            import app

            class FakeBackend:
                async def __call__(self, key):
                    return key.upper()

            async def test_lookup():
                client = AsyncMock()
                client.get = AsyncMock(side_effect=FakeBackend())  # <-- side effect
                result = await app.lookup(client, "a")
                assert result is not None
                client.get.assert_awaited_once_with("a")

            async def test_lookup_assigned():
                backend = FakeBackend()
                client = AsyncMock()
                client.get.side_effect = backend  # <-- assigned
                assert await app.lookup(client, "b") is not None
        """,
        kind="coroutine-as-return-value",
        subject="client.get",
        where="test_case.py:<-- side effect",
        change_at="test_case.py:<-- side effect",
        bug_in="test",
        message_contains=("`FakeBackend.__call__`", "coroutine *function*"),
        warn_outcomes={"passed": 2},
    ),
    "future-as-return-value": Misuse(
        app="""
            async def has(cache, key):
                if await cache.contains(key):
                    return "hit"
                return "miss"
        """,
        test="""
            import asyncio
            from unittest.mock import AsyncMock

            import app

            async def test_has():
                cache = AsyncMock()  # <-- built
                cache.contains.return_value = asyncio.get_running_loop().create_future()  # <-- future
                cache.contains.return_value.set_result(False)
                assert await app.has(cache, "k") == "miss"
        """,
        kind="coroutine-as-return-value",
        subject="cache.contains",
        where="test_case.py:<-- future",
        change_at="test_case.py:<-- built",
        bug_in="test",
        message_contains=("`asyncio.Future`", "always true"),
        warn_outcomes={"failed": 1},
    ),
    "task-as-return-value": Misuse(
        app="""
            async def start(spawner):
                return await spawner.spawn()
        """,
        test="""
            import asyncio
            from unittest.mock import AsyncMock

            import app

            async def work():
                return 7

            async def test_start():
                spawner = AsyncMock()  # <-- built
                spawner.spawn = AsyncMock(return_value=asyncio.create_task(work()))  # <-- task
                assert await app.start(spawner) == 7
        """,
        kind="coroutine-as-return-value",
        subject="spawner.spawn",
        where="test_case.py:<-- task",
        change_at="test_case.py:<-- task",
        bug_in="test",
        message_contains=("`asyncio.Task`",),
        warn_outcomes={"failed": 1},
    ),
    "pending-future-nobody-resolves": Misuse(
        app="""
            async def has(cache, key):
                return "hit" if await cache.contains(key) else "miss"
        """,
        test="""
            import asyncio
            from unittest.mock import AsyncMock

            import app

            async def test_has():
                cache = AsyncMock()
                cache.contains.return_value = asyncio.Future()  # <-- future
                assert await app.has(cache, "k") == "hit"
        """,
        kind="coroutine-as-return-value",
        subject="cache.contains",
        where="test_case.py:<-- future",
        change_at="test_case.py:<-- future",
        bug_in="test",
        message_contains=("Nothing had resolved it",),
        edits=False,
    ),
    "magic-mock-coroutine-awaited-twice": Misuse(
        app="""
            async def total(client):
                return await client.get("a") + await client.get("b")
        """,
        test="""
            from unittest.mock import MagicMock

            import app

            async def load():
                return 5

            async def test_total():
                client = MagicMock()
                client.get.return_value = load()  # <-- given
                try:
                    await app.total(client)
                except RuntimeError:  # cannot reuse already awaited coroutine
                    pass
        """,
        kind="coroutine-as-return-value",
        subject="client.get",
        where="test_case.py:<-- given",
        change_at="test_case.py:<-- given",
        bug_in="test",
        message_contains=("a coroutine runs once", "called 2 times"),
    ),
    "magic-mock-coroutine-constructed-awaited-twice": Misuse(
        app="""
            async def total(client):
                return await client("a") + await client("b")
        """,
        test="""
            from unittest.mock import MagicMock

            import app

            async def load():
                return 5

            async def test_total():
                client = MagicMock(return_value=load())  # <-- given
                try:
                    await app.total(client)
                except RuntimeError:
                    pass
        """,
        kind="coroutine-as-return-value",
        subject="client",
        where="test_case.py:<-- given",
        change_at="test_case.py:<-- given",
        bug_in="test",
        message_contains=("called 2 times",),
    ),
    "magic-mock-coroutine-never-awaited": Misuse(
        test="""
            from unittest.mock import MagicMock

            async def load():
                return 5

            def test_unused():
                client = MagicMock(return_value=load())  # <-- given
                assert client is not None
        """,
        kind="coroutine-as-return-value",
        subject="client",
        where="test_case.py:<-- given",
        change_at="test_case.py:<-- given",
        bug_in="test",
        message_contains=("its body never runs",),
    ),
    "task-cancelled-before-it-ran": Misuse(
        app="""
            import asyncio

            class Signup:
                def __init__(self, sink):
                    self.sink = sink

                def done(self):
                    asyncio.create_task(self.sink.write("signup"))  # <-- called

                def finish(self):
                    asyncio.get_running_loop().call_soon(self.done)
        """,
        test="""
            from unittest.mock import AsyncMock

            import app

            async def test_signup():
                sink = AsyncMock()
                await sink.connect()
                app.Signup(sink).finish()  # <-- test line
        """,
        kind="never-awaited",
        subject="sink.write",
        where="app.py:<-- called",
        change_at="test_case.py:<-- test line",
        bug_in="test",
        message_contains=("still pending when the test's event loop closed", "assert_awaited_once_with"),
        strict_outcomes={"passed": 1, "errors": 1},
        named_from_3_12=True,
    ),
    "to-thread": Misuse(
        app="""
            def upload(s3):
                s3.put_object("key")  # <-- called
        """,
        test="""
            import asyncio
            from unittest.mock import AsyncMock, MagicMock

            import app

            async def test_upload():
                s3 = MagicMock()
                s3.put_object = AsyncMock()  # <-- built
                await asyncio.to_thread(app.upload, s3)
                s3.put_object.assert_called_once_with("key")
        """,
        kind="never-awaited",
        subject="s3.put_object",
        where="app.py:<-- called",
        change_at="test_case.py:<-- built",
        bug_in="test",
    ),
    "run-in-executor": Misuse(
        app="""
            def upload(s3):
                s3.put_object("key")  # <-- called
        """,
        test="""
            import asyncio
            from unittest.mock import AsyncMock, MagicMock

            import app

            async def test_upload():
                s3 = MagicMock()
                s3.put_object = AsyncMock()  # <-- built
                await asyncio.get_running_loop().run_in_executor(None, app.upload, s3)
        """,
        kind="never-awaited",
        subject="s3.put_object",
        where="app.py:<-- called",
        change_at="test_case.py:<-- built",
        bug_in="test",
    ),
    "thread-pool-executor": Misuse(
        app="""
            from concurrent.futures import ThreadPoolExecutor

            def upload_all(s3, keys):
                with ThreadPoolExecutor(max_workers=2) as pool:
                    list(pool.map(s3.put_object, keys))  # <-- called
        """,
        test="""
            from unittest.mock import AsyncMock, MagicMock

            import app

            def test_upload_all():
                s3 = MagicMock()
                s3.put_object = AsyncMock()  # <-- built
                app.upload_all(s3, ["a"])
                s3.put_object.assert_called_once_with("a")
        """,
        kind="never-awaited",
        subject="s3.put_object",
        where="app.py:<-- called",
        change_at="test_case.py:<-- built",
        bug_in="test",
    ),
    "loop-callback": Misuse(
        app="""
            def register(loop, callback):
                loop.call_soon(callback)
        """,
        test="""
            import asyncio
            from unittest.mock import AsyncMock

            import app

            async def test_register():
                on_done = AsyncMock()  # <-- built
                app.register(asyncio.get_running_loop(), on_done)  # <-- handed over
                await asyncio.sleep(0)
                on_done.assert_called_once_with()
        """,
        kind="never-awaited",
        subject="on_done",
        where="test_case.py:<-- handed over",
        change_at="test_case.py:<-- built",
        bug_in="test",
        message_contains=("The event loop called it as a callback", "asyncio/events.py"),
        without_debug_mode=True,
    ),
    "done-callback": Misuse(
        test="""
            import asyncio
            from unittest.mock import AsyncMock

            async def test_done_callback():
                on_done = AsyncMock()  # <-- built
                future = asyncio.get_running_loop().create_future()
                future.add_done_callback(on_done)  # <-- handed over
                future.set_result(1)
                await asyncio.sleep(0)
                on_done.assert_called_once_with(future)
        """,
        kind="never-awaited",
        subject="on_done",
        where="test_case.py:<-- handed over",
        change_at="test_case.py:<-- built",
        bug_in="test",
        message_contains=("The event loop called it",),
        without_debug_mode=True,
    ),
    "httpx-event-hook": Misuse(
        app="""
            import httpx

            def make_client(hook):
                return httpx.Client(
                    event_hooks={"request": [hook]}, transport=httpx.MockTransport(lambda r: httpx.Response(200))
                )
        """,
        test="""
            from unittest.mock import AsyncMock

            import app

            def test_hook():
                hook = AsyncMock()  # <-- built
                client = app.make_client(hook)
                assert client.get("http://x").status_code == 200  # <-- nearest
                hook.assert_called_once()
        """,
        kind="never-awaited",
        subject="hook",
        where="test_case.py:<-- nearest",
        change_at="test_case.py:<-- built",
        bug_in="test",
        message_contains=("`httpx` called it", "httpx/_client.py"),
    ),
    "async-function-as-httpx-hook": Misuse(
        test="""
            import httpx

            async def log_request(request):  # <-- defined
                pass

            def test_sync_client_with_an_async_hook():
                transport = httpx.MockTransport(lambda request: httpx.Response(200))
                client = httpx.Client(event_hooks={"request": [log_request]}, transport=transport)
                assert client.get("http://x").status_code == 200
        """,
        kind="never-awaited",
        subject="log_request",
        where="test_case.py:<-- defined",
        change_at="test_case.py:<-- defined",
        bug_in="test",
        message_contains=("`httpx` called it as a regular function", "httpx/_client.py"),
        edits=False,
    ),
    "module-level-mock": Misuse(
        app=SAVES,
        test="""
            from unittest.mock import AsyncMock

            import app

            db = AsyncMock()  # <-- built


            def test_save():
                app.save(db, 1)


            def test_save_again():
                app.save(db, 2)
                assert db.add.call_count == 2
        """,
        kind="never-awaited",
        subject="db.add",
        where="app.py:<-- dropped",
        change_at="test_case.py:<-- built",
        bug_in="test",
        warn_outcomes={"passed": 2},
    ),
    "class-attribute-mock": Misuse(
        app=SAVES,
        test="""
            from unittest.mock import AsyncMock

            import app


            class TestSave:
                db = AsyncMock()  # <-- built

                def test_save(self):
                    app.save(self.db, 1)
        """,
        kind="never-awaited",
        subject="db.add",
        where="app.py:<-- dropped",
        change_at="test_case.py:<-- built",
        bug_in="test",
    ),
    "unittest-class-attribute-of-a-base": Misuse(
        app=SAVES,
        test="""
            import unittest
            from unittest.mock import AsyncMock

            import app


            class DatabaseCase(unittest.TestCase):
                db = AsyncMock()  # <-- built


            class TestSave(DatabaseCase):
                def test_save(self):
                    app.save(self.db, 1)
        """,
        kind="never-awaited",
        subject="db.add",
        where="app.py:<-- dropped",
        change_at="test_case.py:<-- built",
        bug_in="test",
    ),
    "module-level-container-of-mocks": Misuse(
        app=SAVES,
        test="""
            from unittest.mock import AsyncMock

            import app

            DATABASES = {"main": AsyncMock()}  # <-- built


            def test_save():
                app.save(DATABASES["main"], 1)
        """,
        kind="never-awaited",
        subject="DATABASES['main'].add",
        where="app.py:<-- dropped",
        change_at="test_case.py:<-- built",
        bug_in="test",
    ),
}


def _line(misuse: Misuse, marker: str) -> dict[str, object]:
    path, _, text = marker.partition(":")
    source = misuse.app if path == "app.py" else misuse.test
    return {"path": path, "line": line_of(source, text)}


def _write(pytester: pytest.Pytester, misuse: Misuse, monkeypatch: pytest.MonkeyPatch) -> None:
    if misuse.without_debug_mode:
        monkeypatch.delenv("PYTHONDEVMODE", raising=False)
    modules = {"test_case": misuse.test}
    if misuse.app:
        modules["app"] = misuse.app
    write_project(pytester, **modules)


@pytest.mark.parametrize("mode", ["strict", "warn"])
@pytest.mark.parametrize("name", MISUSES)
def test_found_named_and_located(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, name: str, mode: str
) -> None:
    misuse = MISUSES[name]
    _write(pytester, misuse, monkeypatch)
    run = run_guard(pytester, mode)
    findings = run.findings
    assert findings, run.output
    finding = findings[0]
    assert finding["kind"] == misuse.kind, finding
    if misuse.named_from_3_12 and sys.version_info < (3, 12):
        # no test frame was ever on a stack the guard saw: named as the code reaches it (see _test_start)
        assert finding["subject"].endswith(misuse.subject.rpartition(".")[2]), finding
    else:
        assert finding["subject"] == misuse.subject, finding
    assert finding["where"] == _line(misuse, misuse.where), finding
    assert finding["change_at"] == _line(misuse, misuse.change_at), finding
    assert finding["bug_in"] == misuse.bug_in, finding
    for text in misuse.message_contains:
        assert text in finding["message"], finding["message"]
    for each in findings:
        for place in (each["where"], each["change_at"]):
            assert place["path"] in ("app.py", "test_case.py"), each
    assert "RuntimeWarning" not in run.output + run.result.stderr.str()  # the guard's finding, not Python's
    tests = len(
        [line for line in misuse.test.splitlines() if line.strip().startswith(("def test_", "async def test_"))]
    )
    assert len(findings) == tests, findings
    if mode == "strict":
        run.result.assert_outcomes(**(misuse.strict_outcomes or {"failed": tests}))
    else:
        run.result.assert_outcomes(**misuse.warn_outcomes, warnings=tests)


@pytest.mark.parametrize("name", MISUSES)
def test_the_edits_fix_it(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    misuse = MISUSES[name]
    _write(pytester, misuse, monkeypatch)
    findings = run_guard(pytester, "strict").findings
    assert findings
    if not misuse.edits:
        assert all(not f["edits"] and "No edit is offered" in f["message"] for f in findings), findings
        return
    assert all(f["edits"] for f in findings), findings
    apply_edits(pytester, findings)
    rerun_clean(pytester, "strict")
    rerun_clean(pytester, "warn")


def test_async_with_over_an_awaitable_members_coroutine_is_still_reported(pytester: pytest.Pytester) -> None:
    """Members whose result is also awaitable (aiohttp's ``session.get``) may be AsyncMocks; ``async with``
    over the coroutine of one is still the misuse it was."""
    test = """
        from unittest.mock import AsyncMock, MagicMock

        import aiohttp

        async def status(session):
            async with session.get("http://x") as response:
                return response.status

        async def test_status():
            session = MagicMock(spec=aiohttp.ClientSession)
            session.get = AsyncMock()  # <-- assigned
            await status(session)
    """
    write_project(pytester, test_case=test)
    run = run_guard(pytester, "warn")
    finding = run.only()
    assert finding["subject"] == "session.get"
    assert finding["kind"] == "async-mock-for-sync"
    assert finding["operation"] == "async with"
    assert finding["where"] == {"path": "test_case.py", "line": line_of(test, "<-- assigned")}


def test_an_async_mock_for_a_sync_member_left_in_place_is_still_reported(pytester: pytest.Pytester) -> None:
    """The assignment is judged when the phase ends: one that nothing replaced is reported, though unused."""
    test = """
        from unittest.mock import AsyncMock, MagicMock

        class Consumer:
            def consume_all(self) -> int:
                return 1

        def test_kept():
            consumer = MagicMock(spec=Consumer)
            consumer.consume_all = AsyncMock()  # <-- assigned
            consumer.other = MagicMock()
    """
    write_project(pytester, test_case=test)
    run = run_guard(pytester, "strict")
    finding = run.only()
    assert finding["kind"] == "async-mock-for-sync"
    assert finding["subject"] == "consumer.consume_all"
    assert finding["where"] == {"path": "test_case.py", "line": line_of(test, "<-- assigned")}
    run.result.assert_outcomes(failed=1)
