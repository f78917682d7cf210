"""Each misuse the core guard detects, end to end in strict and warn mode.

Every case asserts the kind, the subject as the test wrote it, the file and line, the operation, and
that the fix uses the test's own names. In strict mode the test fails with the findings in its report;
in warn mode its outcome is what it would be without the guard and the finding is a warning.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from _guardrun import apply_edits, line_of, rerun_clean, run_guard, write_project

SEED_PATTERN_1_APP = """
async def get_asset_ids(db):
    result = await db.execute("SELECT id FROM assets")
    return result.scalars().all()  # <-- misuse
"""


@dataclass(frozen=True)
class Case:
    app: str
    test: str
    kind: str
    subject: str
    marker: str
    operation: str | None
    fix_contains: tuple[str, ...]
    warn_outcome: str  # the outcome without the guard, which warn mode must keep
    path: str = "app.py"
    message_contains: tuple[str, ...] = field(default=())
    plugins: tuple[str, ...] = ()  # extra pytest arguments, e.g. to run under anyio or asyncio strict mode
    fix_excludes: tuple[str, ...] = ()  # advice that would be wrong here

    @property
    def line(self) -> int:
        return line_of(self.app if self.path == "app.py" else self.test, self.marker)


CASES = {
    "seed-pattern-1-incorrect": Case(
        app=SEED_PATTERN_1_APP,
        test="""
        from unittest.mock import AsyncMock
        import pytest
        import app

        @pytest.fixture
        def mock_db():
            return AsyncMock()

        async def test_asset_ids(mock_db):
            asset_ids = [1, 2, 3]
            scalars_mock = AsyncMock()
            scalars_mock.all = AsyncMock(return_value=asset_ids)
            asset_result = AsyncMock()
            asset_result.scalars = AsyncMock(return_value=scalars_mock)
            mock_db.execute.return_value = asset_result
            assert await app.get_asset_ids(mock_db) == asset_ids
        """,
        kind="async-mock-for-sync",
        subject="asset_result.scalars",
        marker="<-- misuse",
        operation="attribute 'all'",
        # every AsyncMock the test wrote for what the code reaches synchronously, in one fix
        fix_contains=(
            "scalars_mock = MagicMock()",
            "scalars_mock.all = MagicMock(return_value=asset_ids)",
            "asset_result = MagicMock()",
            "asset_result.scalars = MagicMock(return_value=scalars_mock)",
        ),
        warn_outcome="failed",
        message_contains=(
            "SQLAlchemy `Result.scalars` is synchronous",
            "every attribute of an AsyncMock is an AsyncMock",
        ),
    ),
    "seed-pattern-1-so-called-correct": Case(
        app=SEED_PATTERN_1_APP,
        test="""
        from unittest.mock import AsyncMock
        import pytest
        import app

        @pytest.fixture
        def mock_db():
            return AsyncMock()

        async def test_asset_ids(mock_db):
            asset_ids = [1, 2, 3]
            asset_result = AsyncMock()
            asset_result.scalars.return_value.all.return_value = asset_ids
            mock_db.execute.return_value = asset_result
            assert await app.get_asset_ids(mock_db) == asset_ids
        """,
        kind="async-mock-for-sync",
        subject="asset_result.scalars",
        marker="<-- misuse",
        operation="attribute 'all'",
        fix_contains=("# change test_case.py:11:", "asset_result = MagicMock()"),
        warn_outcome="failed",
        message_contains=("`asset_result` (what `await mock_db.execute(...)` returns)",),
        fix_excludes=("missing `await`",),  # Result.scalars is known synchronous: no await to add
    ),
    "unnamed-awaited-result": Case(
        app=SEED_PATTERN_1_APP,
        test="""
        from unittest.mock import AsyncMock
        import app

        async def test_asset_ids():
            mock_db = AsyncMock()
            mock_db.execute.return_value.scalars.return_value.all.return_value = [7]
            assert await app.get_asset_ids(mock_db) == [7]
        """,
        kind="async-mock-for-sync",
        subject="mock_db.execute.return_value.scalars",
        marker="<-- misuse",
        operation="attribute 'all'",
        fix_contains=("# insert after test_case.py:5:", "mock_db.execute.return_value = MagicMock()"),
        warn_outcome="failed",
    ),
    "autospec-gap-awaited-result": Case(
        app="""
        class Result:
            def scalars(self):
                raise NotImplementedError

        class Session:
            async def execute(self, query) -> Result:
                raise NotImplementedError

        async def asset_ids(session):
            result = await session.execute("SELECT id FROM assets")
            return result.scalars().all()  # <-- misuse
        """,
        test="""
        from unittest.mock import create_autospec
        import app

        async def test_asset_ids():
            session = create_autospec(app.Session, instance=True)
            session.execute.return_value.scalars.return_value.all.return_value = [4]
            assert await app.asset_ids(session) == [4]
        """,
        kind="coroutine-misuse",
        subject="session.execute.return_value.scalars",
        marker="<-- misuse",
        operation="attribute 'all'",
        fix_contains=(
            "session.execute.return_value = MagicMock()",
            "session.execute.return_value = MagicMock(spec=Result)  # from app import Result",
        ),
        warn_outcome="failed",
    ),
    "seed-pattern-2-sync-caller": Case(
        app="""
        def first_row(cursor):
            rows = cursor.fetchall()
            return rows[0]  # <-- misuse
        """,
        test="""
        from unittest.mock import AsyncMock, MagicMock
        import app

        def test_first_row():
            mock_obj = MagicMock()
            mock_data = [{"id": 1}, {"id": 2}]
            mock_obj.fetchall = AsyncMock(return_value=mock_data)  # <-- assigned
            assert app.first_row(mock_obj) == {"id": 1}
        """,
        kind="async-mock-for-sync",
        subject="mock_obj.fetchall",
        marker="<-- assigned",
        path="test_case.py",
        operation="subscript",
        fix_contains=("mock_obj.fetchall = MagicMock(return_value=mock_data)",),
        warn_outcome="failed",
        message_contains=(
            "`mock_obj.fetchall` is set to an AsyncMock at test_case.py:",
            "SQLAlchemy `Result.fetchall` is synchronous",
            "used the coroutine as a value (subscript) at app.py:3",
        ),
    ),
    "seed-pattern-2-as-written": Case(
        app="""
        def first_row(cursor):
            rows = cursor.fetchall()
            return rows[0]  # <-- misuse
        """,
        test="""
        from unittest.mock import AsyncMock, MagicMock
        import app

        def test_first_row():
            mock_obj = MagicMock()
            mock_data = ["row-1", "row-2"]  # a list of dicts dies inside unittest.mock (spec-is-data)
            mock_obj.fetchall = AsyncMock(mock_data)  # <-- assigned
            assert app.first_row(mock_obj) == "row-1"
        """,
        kind="async-mock-for-sync",
        subject="mock_obj.fetchall",
        marker="<-- assigned",
        path="test_case.py",
        operation="subscript",
        fix_contains=("mock_obj.fetchall = MagicMock(return_value=mock_data)",),
        warn_outcome="failed",
        message_contains=("taken as the spec, not the return value, too",),
    ),
    "seed-pattern-4-incorrect": Case(
        app="""
        async def get_user_name(session, user_id):
            result = await session.execute(user_id)
            user = result.scalar_one_or_none()
            if user is None:
                return None
            return user.name  # <-- misuse
        """,
        test="""
        from unittest.mock import AsyncMock, Mock
        import app

        async def test_missing_user():
            session = AsyncMock()
            mock_result = AsyncMock()
            mock_result.scalar_one_or_none = AsyncMock(return_value=None)  # WRONG!
            mock_result.scalars = AsyncMock(return_value=Mock(all=Mock(return_value=[])))  # WRONG!
            session.execute = AsyncMock(return_value=mock_result)
            assert await app.get_user_name(session, 1) is None
        """,
        kind="async-mock-for-sync",
        subject="mock_result.scalar_one_or_none",
        marker="scalar_one_or_none = AsyncMock(",
        path="test_case.py",
        operation="attribute 'name'",
        fix_contains=(
            "mock_result.scalar_one_or_none = MagicMock(return_value=None)",
            "user = await result.scalar_one_or_none()",
        ),
        warn_outcome="failed",
    ),
    "never-awaited-sync-caller": Case(
        app="""
        def stage(session, obj):
            session.add(obj)  # <-- call
        """,
        test="""
        from unittest.mock import AsyncMock
        import app

        def test_stage():
            session = AsyncMock()
            app.stage(session, "row")
            session.add.assert_called_once_with("row")
        """,
        kind="never-awaited",
        subject="session.add",
        marker="<-- call",
        operation=None,
        fix_contains=("session.add = MagicMock()",),
        warn_outcome="passed",
        message_contains=("`stage` is a regular function and cannot await",),
    ),
    "never-awaited-async-caller": Case(
        app="""
        async def publish(client, event):
            client.send_event(event)  # <-- call
            return "sent"
        """,
        test="""
        from unittest.mock import AsyncMock
        import app

        async def test_publish():
            events_client = AsyncMock()
            assert await app.publish(events_client, {"id": 1}) == "sent"
        """,
        kind="never-awaited",
        subject="events_client.send_event",
        marker="<-- call",
        operation=None,
        fix_contains=("await client.send_event(event)", "events_client.send_event = MagicMock()"),
        warn_outcome="passed",
    ),
    "never-awaited-coroutine-function": Case(
        app="""
        class MetricsRegistry:
            async def flush(self):
                return None

            def record_metric(self, service, name, value):
                self.flush()  # <-- call
        """,
        test="""
        import app

        def test_record_metric():
            registry = app.MetricsRegistry()
            registry.record_metric("Service", "metric", 1)
        """,
        kind="never-awaited",
        subject="MetricsRegistry.flush",
        marker="<-- call",
        operation=None,
        fix_contains=("await self.flush()", "asyncio.run(self.flush())"),
        warn_outcome="passed",
    ),
    "never-awaited-in-test": Case(
        app="""
        async def refresh():
            return 1
        """,
        test="""
        import app

        async def test_refresh():
            app.refresh()  # <-- call
        """,
        path="test_case.py",
        kind="never-awaited",
        subject="refresh",
        marker="<-- call",
        operation=None,
        fix_contains=("await app.refresh()",),
        warn_outcome="passed",
    ),
    "truth-test-passes-silently": Case(
        app="""
        async def lookup(cache, key):
            if cache.exists(key):  # <-- misuse
                return "hit"
            return "miss"
        """,
        test="""
        from unittest.mock import AsyncMock
        import app

        async def test_lookup_hit():
            cache = AsyncMock()
            cache.exists.return_value = True
            assert await app.lookup(cache, "k") == "hit"
        """,
        kind="coroutine-misuse",
        subject="cache.exists",
        marker="<-- misuse",
        operation="truth test",
        fix_contains=("cache.exists = MagicMock()", "if await cache.exists(key):"),
        warn_outcome="passed",
        message_contains=("silently tests nothing",),
    ),
    "comparison-passes-silently": Case(
        app="""
        def is_cached(cache, key):
            return cache.get(key) == "cached"  # <-- misuse
        """,
        test="""
        from unittest.mock import AsyncMock
        import app

        def test_not_cached():
            cache = AsyncMock()
            cache.get.return_value = "fresh"
            assert app.is_cached(cache, "k") is False
        """,
        kind="coroutine-misuse",
        subject="cache.get",
        marker="<-- misuse",
        operation="comparison ==",
        fix_contains=("cache.get = MagicMock()",),
        warn_outcome="passed",
    ),
    "iteration": Case(
        app="""
        def names(cursor):
            return [row["name"] for row in cursor.fetchall()]  # <-- misuse
        """,
        test="""
        from unittest.mock import AsyncMock
        import app

        def test_names():
            cursor = AsyncMock()
            cursor.fetchall.return_value = [{"name": "a"}]
            assert app.names(cursor) == ["a"]
        """,
        kind="coroutine-misuse",
        subject="cursor.fetchall",
        marker="<-- misuse",
        operation="iteration",
        fix_contains=("cursor.fetchall = MagicMock()",),
        warn_outcome="failed",
    ),
    "len": Case(
        app="""
        async def count(repo):
            items = repo.list_items()
            return len(items)  # <-- misuse
        """,
        test="""
        from unittest.mock import AsyncMock
        import app

        async def test_count():
            repo = AsyncMock()
            repo.list_items.return_value = [1, 2]
            assert await app.count(repo) == 2
        """,
        kind="coroutine-misuse",
        subject="repo.list_items",
        marker="<-- misuse",
        operation="len()",
        fix_contains=("repo.list_items = MagicMock()", "items = await repo.list_items()"),
        warn_outcome="failed",
    ),
    # Tried as a value, the error swallowed, never awaited: the use is the finding (awaited later, none).
    "len-tried-then-dropped": Case(
        app="""
        def count(repo):
            items = repo.list_items()
            try:
                return len(items)  # <-- misuse
            except TypeError:
                return 0
        """,
        test="""
        from unittest.mock import AsyncMock
        import app

        def test_count():
            repo = AsyncMock()
            repo.list_items.return_value = [1, 2]
            assert app.count(repo) in (0, 2)
        """,
        kind="coroutine-misuse",
        subject="repo.list_items",
        marker="<-- misuse",
        operation="len()",
        fix_contains=("repo.list_items = MagicMock()",),
        warn_outcome="passed",
    ),
    "truth-test-of-a-kept-coroutine": Case(
        app="""
        class Gate:
            def __init__(self, client):
                self.state = client.is_open()

            def allows(self):
                return bool(self.state)  # <-- misuse
        """,
        test="""
        from unittest.mock import AsyncMock
        import app

        def test_gate():
            client = AsyncMock()
            gate = app.Gate(client)
            assert gate.allows()
        """,
        kind="coroutine-misuse",
        subject="client.is_open",
        marker="<-- misuse",
        operation="truth test",
        fix_contains=("client.is_open = MagicMock(",),
        warn_outcome="passed",
    ),
    "async-with-aiohttp-style": Case(
        app="""
        async def fetch_status(http, url):
            async with http.get(url) as response:  # <-- misuse
                return response.status
        """,
        test="""
        from unittest.mock import AsyncMock, MagicMock
        import app

        async def test_fetch_status():
            http = AsyncMock()
            ok = MagicMock(status=200)
            http.get.return_value.__aenter__.return_value = ok
            assert await app.fetch_status(http, "https://example.test") == 200
        """,
        kind="coroutine-misuse",
        subject="http.get",
        marker="<-- misuse",
        operation="async with",
        fix_contains=("http.get = MagicMock()",),
        fix_excludes=("__aenter__",),  # the test configures what `async with` binds itself
        warn_outcome="failed",
    ),
    "async-for": Case(
        app="""
        async def collect(client):
            return [chunk async for chunk in client.stream()]  # <-- misuse
        """,
        test="""
        from unittest.mock import AsyncMock
        import app

        async def test_collect():
            client = AsyncMock()
            assert await app.collect(client) == []
        """,
        kind="coroutine-misuse",
        subject="client.stream",
        marker="<-- misuse",
        operation="async for",
        fix_contains=("client.stream = MagicMock()", "client.stream.return_value.__aiter__.return_value = [...]"),
        warn_outcome="failed",
    ),
    "patched-function-is-named-after-target": Case(
        app="""
        async def send_email(address):
            return True

        def register(address):
            send_email(address)  # <-- call
            return address
        """,
        test="""
        from unittest.mock import patch
        import app

        def test_register():
            with patch("app.send_email"):
                assert app.register("bob@example.test") == "bob@example.test"
        """,
        kind="never-awaited",
        subject="send_email",
        marker="<-- call",
        operation=None,
        # the patch target is ``async def``: the code under test is wrong, and a MagicMock would hide it
        fix_contains=("await `send_email(...)`",),
        fix_excludes=("MagicMock",),
        message_contains=("says the real `send_email` is a coroutine function", "No edit is offered"),
        warn_outcome="passed",
    ),
    "anyio-plugin": Case(
        app="""
        async def first_row(repo):
            rows = repo.fetch_rows()
            return rows[0]  # <-- misuse
        """,
        test="""
        import pytest
        from unittest.mock import AsyncMock
        import app

        @pytest.fixture
        def anyio_backend():
            return "asyncio"

        @pytest.mark.anyio
        async def test_first_row():
            repo = AsyncMock()
            repo.fetch_rows.return_value = [1]
            assert await app.first_row(repo) == 1
        """,
        kind="coroutine-misuse",
        subject="repo.fetch_rows",
        marker="<-- misuse",
        operation="subscript",
        fix_contains=("repo.fetch_rows = MagicMock()", "rows = await repo.fetch_rows()"),
        warn_outcome="failed",
        plugins=("-o", "asyncio_mode=strict"),
    ),
    "pytest-asyncio-strict-mode": Case(
        app="""
        async def first_row(repo):
            rows = repo.fetch_rows()
            return rows[0]  # <-- misuse
        """,
        test="""
        import pytest
        from unittest.mock import AsyncMock
        import app

        @pytest.fixture
        def repo():
            return AsyncMock()

        @pytest.mark.asyncio
        async def test_first_row(repo):
            repo.fetch_rows.return_value = [1]
            assert await app.first_row(repo) == 1
        """,
        kind="coroutine-misuse",
        subject="repo.fetch_rows",
        marker="<-- misuse",
        operation="subscript",
        fix_contains=("# change test_case.py:7:", "repo = AsyncMock()", "repo.fetch_rows = MagicMock()", "return repo"),
        warn_outcome="failed",
        plugins=("-o", "asyncio_mode=strict"),
    ),
    "unittest-isolated-asyncio-testcase": Case(
        app="""
        async def archive(session, item):
            session.add(item)  # <-- call
            await session.commit()
        """,
        test="""
        import unittest
        from unittest.mock import AsyncMock
        import app

        class ArchiveTest(unittest.IsolatedAsyncioTestCase):
            async def asyncSetUp(self):
                self.session = AsyncMock()

            async def test_archive(self):
                await app.archive(self.session, "item")
                self.session.commit.assert_awaited_once()
        """,
        kind="never-awaited",
        subject="self.session.add",
        marker="<-- call",
        operation=None,
        fix_contains=("self.session.add = MagicMock()", "await session.add(item)"),
        warn_outcome="passed",
    ),
}


def _nodeid(case: Case) -> str:
    for line in case.test.splitlines():
        stripped = line.strip()
        if stripped.startswith(("def test_", "async def test_")):
            name = stripped.split("def ", 1)[1].split("(", 1)[0]
            classes = [
                raw.strip().split("class ", 1)[1].split("(", 1)[0]
                for raw in case.test.splitlines()
                if raw.strip().startswith("class ")
            ]
            return "::".join(["test_case.py", *classes, name])
    raise AssertionError("no test in case")


@pytest.mark.parametrize("mode", ["strict", "warn"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_finding_is_reported(pytester: pytest.Pytester, name: str, mode: str) -> None:
    check_case(pytester, CASES[name], mode)


def check_case(pytester: pytest.Pytester, case: Case, mode: str) -> None:
    """Run ``case`` in ``mode``: one finding, with every field as expected, and the outcome of the mode."""
    write_project(pytester, app=case.app, test_case=case.test)
    run = run_guard(pytester, mode, *case.plugins)
    finding = run.only()
    assert finding["kind"] == case.kind
    assert finding["subject"] == case.subject
    assert finding["where"] == {"path": case.path, "line": case.line}
    assert finding["operation"] == case.operation
    assert finding["nodeid"] == _nodeid(case)
    for text in case.fix_contains:
        assert text in finding["fix"], finding["fix"]
    for text in case.fix_excludes:
        assert text not in finding["fix"], finding["fix"]
    for text in case.message_contains:
        assert text in finding["message"], finding["message"]
    assert "RuntimeWarning" not in run.output
    assert f"{_nodeid(case)}  {case.kind}  {case.subject}  {case.path}:{case.line}" in run.output
    if mode == "strict":
        run.result.assert_outcomes(failed=1)
        assert f"[{case.kind}] {case.subject}" in run.output
        assert f"at {case.path}:{case.line}" in run.output
    else:
        run.result.assert_outcomes(**{case.warn_outcome: 1}, warnings=1)
        assert f"{case.path}:{case.line}: AsyncMockGuardWarning: [{case.kind}] {case.subject}" in run.output


OTHER_OPERATIONS = {
    # operation: (expression using `pending`, the outcome without the guard)
    "comparison !=": ('assert pending != "fresh"', "passed"),
    "membership test": ('assert "a" in pending', "failed"),
    "item assignment": ('pending["a"] = 1', "failed"),
}


@pytest.mark.parametrize("mode", ["strict", "warn"])
@pytest.mark.parametrize("operation", sorted(OTHER_OPERATIONS))
def test_other_uses_as_a_value(pytester: pytest.Pytester, operation: str, mode: str) -> None:
    expression, outcome = OTHER_OPERATIONS[operation]
    test = f"""
    from unittest.mock import AsyncMock

    def test_use():
        store = AsyncMock()
        pending = store.load()
        {expression}  # <-- misuse
    """
    write_project(pytester, test_case=test)
    run = run_guard(pytester, mode)
    finding = run.only()
    assert finding["kind"] == "coroutine-misuse"
    assert finding["subject"] == "store.load"
    assert finding["operation"] == operation
    assert finding["where"] == {"path": "test_case.py", "line": line_of(test, "<-- misuse")}
    assert "store.load = MagicMock(" in finding["fix"]
    if mode == "strict":
        run.result.assert_outcomes(failed=1)
    else:
        run.result.assert_outcomes(**{outcome: 1}, warnings=1)


@pytest.mark.parametrize("mode", ["strict", "warn"])
def test_a_coroutine_called_like_a_function_fails_as_without_the_guard(pytester: pytest.Pytester, mode: str) -> None:
    """A coroutine is not callable (``callable()`` says so, with the guard too, for code that tells callbacks
    from coroutines that way); calling one is Python's own TypeError, and the coroutine is never awaited."""
    test = """
    from unittest.mock import AsyncMock

    def test_use():
        store = AsyncMock()
        pending = store.load()  # <-- made
        assert not callable(pending)
        pending()
    """
    write_project(pytester, test_case=test)
    run = run_guard(pytester, mode)
    finding = run.only()
    assert finding["kind"] == "never-awaited"
    assert finding["subject"] == "store.load"
    assert finding["where"] == {"path": "test_case.py", "line": line_of(test, "<-- made")}
    assert "TypeError: 'coroutine' object is not callable" in run.output
    assert run.result.parseoutcomes()["failed"] == 1


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_edits_work_when_applied(pytester: pytest.Pytester, name: str) -> None:
    check_edits(pytester, CASES[name])


def check_edits(pytester: pytest.Pytester, case: Case) -> None:
    """A fix is right only if applying it works: the finding's edits, applied to the project, leave no finding
    and a passing test; a finding without edits says why."""
    write_project(pytester, app=case.app, test_case=case.test)
    finding = run_guard(pytester, "strict", *case.plugins).only()
    if not finding["edits"]:
        assert "No edit is offered" in finding["message"], finding
        return
    apply_edits(pytester, [finding])
    rerun_clean(pytester, "strict", *case.plugins)
