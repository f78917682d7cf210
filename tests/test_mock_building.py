"""Misuse visible where the test builds its mocks (issue 3), end to end in strict and warn mode:
``spec-is-data``, ``coroutine-as-return-value``, ``async-mock-for-sync`` and ``awaited-sync-mock``.

Each case asserts the kind, the subject as the test wrote it, the file and line, the operation and
the fix text, through ``check_case`` (shared with the core detection tests).
"""

from __future__ import annotations

import pytest

from _guardrun import run_guard, write_project
from test_detection import Case, check_case, check_edits

FETCH_APP = """
async def fetch_rows(cursor):
    return await cursor.fetchall()
"""


def _pattern_2(data: str, expected: str) -> Case:
    """The seed's Pattern 2 exactly as written, with an async caller (its own correct fix then passes)."""
    return Case(
        app=FETCH_APP,
        test=f"""
        from unittest.mock import AsyncMock, MagicMock
        import app

        async def test_rows():
            mock_obj = MagicMock()
            mock_data = {data}
            mock_obj.fetchall = AsyncMock(mock_data)  # Wrong!
            assert await app.fetch_rows(mock_obj) == {expected}
        """,
        kind="spec-is-data",
        subject="mock_obj.fetchall",
        marker="# Wrong!",
        path="test_case.py",
        operation=None,
        fix_contains=("mock_obj.fetchall = AsyncMock(return_value=mock_data)",),
        message_contains=("takes its first argument as the *spec*, not as the return value",),
        warn_outcome="failed",
    )


def _coroutine_given_to_constructor(slot: str) -> Case:
    """``AsyncMock(return_value=load())`` or ``AsyncMock(side_effect=load())``: one finding each, with the fix."""
    return Case(
        app="""
        async def current(repo):
            return await repo.fetch()
        """,
        test=f"""
        from unittest.mock import AsyncMock, MagicMock
        import app

        async def load():
            return 5

        async def test_current():
            repo = MagicMock()
            repo.fetch = AsyncMock({slot}=load())  # <-- assigned
            assert await app.current(repo) == 5
        """,
        kind="coroutine-as-return-value",
        subject="repo.fetch",
        marker="<-- assigned",
        path="test_case.py",
        operation=slot,
        fix_contains=("repo.fetch = AsyncMock(side_effect=load)",),
        warn_outcome="failed",
    )


PATCH_APP = """
class Store:
    def save(self, item) -> None:
        raise NotImplementedError


def audit(item: object) -> None:
    print("audited", item)


def keep(store, item):
    store.save(item)
    audit(item)
    return True
"""

CASES = {
    "spec-is-data-list": _pattern_2("[1, 2, 3]", "[1, 2, 3]"),
    "spec-is-data-list-of-dicts": _pattern_2('[{"id": 1}, {"id": 2}]', '[{"id": 1}, {"id": 2}]'),
    "spec-is-data-dict": _pattern_2('{"id": 1}', '{"id": 1}'),
    "spec-is-data-tuple": _pattern_2("(1, 2)", "(1, 2)"),
    "spec-is-data-patch-object": Case(
        app=FETCH_APP,
        test="""
        from unittest.mock import AsyncMock, MagicMock, patch
        import app

        async def test_rows():
            cursor = MagicMock()
            rows = ["a", "b"]
            with patch.object(cursor, "fetchall", AsyncMock(rows)):  # <-- built
                assert await app.fetch_rows(cursor) == rows
        """,
        kind="spec-is-data",
        subject="cursor.fetchall",
        marker="<-- built",
        path="test_case.py",
        operation=None,
        fix_contains=("AsyncMock(return_value=rows)",),
        warn_outcome="failed",
    ),
    "spec-is-data-magicmock-as-awaited-result": Case(
        app="""
        async def names(repo):
            return await repo.list_names()
        """,
        test="""
        from unittest.mock import AsyncMock, MagicMock
        import app

        async def test_names():
            repo = MagicMock()
            repo.list_names = AsyncMock()
            repo.list_names.return_value = MagicMock([1, 2])  # <-- built
            assert await app.names(repo) == [1, 2]
        """,
        kind="spec-is-data",
        subject="repo.list_names.return_value",
        marker="<-- built",
        path="test_case.py",
        operation=None,
        fix_contains=("repo.list_names.return_value = [1, 2]",),
        warn_outcome="failed",
    ),
    "coroutine-as-return-value-constructor": _coroutine_given_to_constructor("return_value"),
    "coroutine-as-side-effect-constructor": _coroutine_given_to_constructor("side_effect"),
    "coroutine-as-return-value-setter": Case(
        app="""
        async def current(repo):
            return await repo.fetch()
        """,
        test="""
        from unittest.mock import AsyncMock, MagicMock
        import app

        async def load():
            return 5

        async def test_current():
            repo = MagicMock()
            repo.fetch = AsyncMock()
            repo.fetch.side_effect = load()  # <-- assigned
            assert await app.current(repo) == 5
        """,
        kind="coroutine-as-return-value",
        subject="repo.fetch",
        marker="<-- assigned",
        path="test_case.py",
        operation="side_effect",
        fix_contains=("repo.fetch.side_effect = load",),
        warn_outcome="failed",
    ),
    "async-mock-for-sync-spec": Case(
        app="""
        class Store:
            def save(self, item) -> None:
                raise NotImplementedError

        def keep(store, item):
            store.save(item)
            return True
        """,
        test="""
        from unittest.mock import AsyncMock, MagicMock
        import app

        def test_keep():
            store = MagicMock(spec=app.Store)
            store.save = AsyncMock()  # <-- assigned
            assert app.keep(store, 1)
        """,
        kind="async-mock-for-sync",
        subject="store.save",
        marker="<-- assigned",
        path="test_case.py",
        operation=None,
        fix_contains=("store.save = MagicMock()", "store = create_autospec(Store, instance=True)"),
        message_contains=("`Store.save` (from the spec) is synchronous",),
        warn_outcome="passed",
    ),
    "async-mock-for-sync-ini-bare-name": Case(
        app="""
        def keep(store, item):
            store.save(item)
            return True
        """,
        test="""
        from unittest.mock import AsyncMock, MagicMock
        import app

        def test_keep():
            store = MagicMock()
            store.save = AsyncMock(return_value=None)  # <-- assigned
            assert app.keep(store, 1)
        """,
        kind="async-mock-for-sync",
        subject="store.save",
        marker="<-- assigned",
        path="test_case.py",
        operation=None,
        fix_contains=("store.save = MagicMock(return_value=None)",),
        message_contains=("`save` (asyncmock_guard_sync_methods)",),
        warn_outcome="passed",
        plugins=("-o", "asyncmock_guard_sync_methods=save"),
    ),
    "async-mock-for-sync-never-awaited-known-sync": Case(
        app="""
        async def persist(store, item):
            store.save(item)  # <-- call
            return True
        """,
        test="""
        from unittest.mock import AsyncMock
        import app

        async def test_persist():
            store = AsyncMock()
            assert await app.persist(store, 1)
        """,
        kind="async-mock-for-sync",
        subject="store.save",
        marker="<-- call",
        operation=None,
        fix_contains=("store.save = MagicMock()",),
        # the user says `save` is synchronous: adding `await` is no alternative
        fix_excludes=("await", "coroutine function"),
        message_contains=("`save` (asyncmock_guard_sync_methods) is synchronous", "was never awaited"),
        warn_outcome="passed",
        plugins=("-o", "asyncmock_guard_sync_methods=save"),
    ),
    "async-mock-for-sync-ini-dotted-name": Case(
        app="""
        class Store:
            def save(self, item):
                raise NotImplementedError
        """,
        test="""
        from unittest.mock import AsyncMock, create_autospec
        import app

        def test_keep():
            store = create_autospec(app.Store, instance=True)
            store.save = AsyncMock()  # <-- assigned
        """,
        kind="async-mock-for-sync",
        subject="store.save",
        marker="<-- assigned",
        path="test_case.py",
        operation=None,
        fix_contains=("store.save = MagicMock()",),
        message_contains=("`app.Store.save` (asyncmock_guard_sync_methods)",),
        warn_outcome="passed",
        plugins=("-o", "asyncmock_guard_sync_methods=app.Store.save"),
    ),
    "patch-object-new-callable-async-mock": Case(
        app=PATCH_APP,
        test="""
        from unittest.mock import AsyncMock, patch
        import app

        def test_keep():
            with patch.object(app.Store, "save", new_callable=AsyncMock) as save:  # <-- patched
                assert app.keep(app.Store(), 1)
            save.assert_called_once_with(1)
        """,
        kind="async-mock-for-sync",
        subject="app.Store.save",
        marker="<-- patched",
        path="test_case.py",
        operation=None,
        fix_contains=('patch.object(app.Store, "save", new_callable=MagicMock)',),
        message_contains=("`Store.save` (the real attribute the patch replaced) is synchronous",),
        warn_outcome="passed",
    ),
    "patch-decorator-new-callable-async-mock": Case(
        app=PATCH_APP,
        test="""
        from unittest.mock import AsyncMock, patch
        import app

        @patch("app.audit", new_callable=AsyncMock)  # <-- patched
        def test_keep(audit):
            store = app.Store.__new__(app.Store)
            store.save = lambda item: None
            assert app.keep(store, 1)
            audit.assert_called_once_with(1)
        """,
        kind="async-mock-for-sync",
        subject="audit",
        marker="<-- patched",
        path="test_case.py",
        operation=None,
        fix_contains=('@patch("app.audit", new_callable=MagicMock)',),
        fix_excludes=("await",),
        message_contains=("`app.audit` (the real attribute the patch replaced) is synchronous",),
        warn_outcome="passed",
    ),
    "patch-object-with-an-async-mock-object": Case(
        app=PATCH_APP,
        test="""
        from unittest.mock import AsyncMock, MagicMock, patch
        import app

        def test_keep():
            with patch.object(app.Store, "save", AsyncMock(return_value=None)):  # <-- patched
                assert app.keep(app.Store(), 1)
        """,
        kind="async-mock-for-sync",
        subject="app.Store.save",
        marker="<-- patched",
        path="test_case.py",
        operation=None,
        fix_contains=('patch.object(app.Store, "save", MagicMock(return_value=None))', "autospec=True"),
        warn_outcome="passed",
    ),
    "awaited-sync-mock": Case(
        app="""
        async def persist(store, item):
            await store.save(item)  # <-- await
            return True
        """,
        test="""
        from unittest.mock import MagicMock
        import app

        async def test_persist():
            store = MagicMock()
            assert await app.persist(store, 1)
        """,
        kind="awaited-sync-mock",
        subject="store.save",
        marker="<-- await",
        operation="await",
        fix_contains=("store.save = AsyncMock()",),
        message_contains=("awaits `store.save(...)`, but `store.save` is a MagicMock",),
        warn_outcome="failed",
    ),
    "awaited-sync-mock-through-self": Case(
        app="""
        class Service:
            def __init__(self, store):
                self.store = store

            async def persist(self, item):
                await self.store.save(item)  # <-- await
        """,
        test="""
        from unittest.mock import MagicMock
        import app

        async def test_persist():
            store = MagicMock()
            store.save.return_value = True
            await app.Service(store).persist(1)
        """,
        kind="awaited-sync-mock",
        subject="store.save",
        marker="<-- await",
        operation="await",
        fix_contains=("# insert after test_case.py:5:", "store.save = AsyncMock()"),
        warn_outcome="failed",
    ),
}


@pytest.mark.parametrize("mode", ["strict", "warn"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_finding_is_reported(pytester: pytest.Pytester, name: str, mode: str) -> None:
    check_case(pytester, CASES[name], mode)


# One realistic production function and test per library of the known-sync table. The real library is
# imported by the test (spec or autospec), so these run where the test extras are installed.
CREATE_USER_APP = """
async def create_user(session, user):
    session.add(user)
    await session.commit()
    return user
"""

LIBRARY_CASES = {
    "sqlalchemy-session-add": (
        "sqlalchemy",
        Case(
            app=CREATE_USER_APP,
            test="""
            from unittest.mock import AsyncMock
            from sqlalchemy.ext.asyncio import AsyncSession
            import app

            async def test_create_user():
                session = AsyncMock(spec=AsyncSession)
                session.add = AsyncMock()  # <-- assigned
                assert await app.create_user(session, "ada") == "ada"
                session.commit.assert_awaited_once()
            """,
            kind="async-mock-for-sync",
            subject="session.add",
            marker="<-- assigned",
            path="test_case.py",
            operation=None,
            fix_contains=("session.add = MagicMock()", "session = create_autospec(AsyncSession, instance=True)"),
            message_contains=("SQLAlchemy `AsyncSession.add` is synchronous",),
            warn_outcome="passed",
        ),
    ),
    "sqlalchemy-patch-object-add": (
        "sqlalchemy",
        Case(
            app=CREATE_USER_APP,
            test="""
            from unittest.mock import AsyncMock, patch
            from sqlalchemy.ext.asyncio import AsyncSession
            import app

            async def test_create_user():
                session = AsyncSession()
                with (
                    patch.object(AsyncSession, "add", new_callable=AsyncMock),  # <-- patched
                    patch.object(AsyncSession, "commit", new_callable=AsyncMock) as commit,
                ):
                    assert await app.create_user(session, "ada") == "ada"
                commit.assert_awaited_once()
            """,
            kind="async-mock-for-sync",
            subject="AsyncSession.add",
            marker="<-- patched",
            path="test_case.py",
            operation=None,
            fix_contains=('patch.object(AsyncSession, "add", new_callable=MagicMock)',),
            message_contains=("SQLAlchemy `AsyncSession.add` is synchronous",),
            warn_outcome="passed",
        ),
    ),
    "sqlalchemy-autospec-gap": (
        "sqlalchemy",
        Case(
            app="""
            async def asset_ids(session):
                result = await session.execute("SELECT id FROM assets")
                return result.scalars().all()  # <-- misuse
            """,
            test="""
            from unittest.mock import create_autospec
            from sqlalchemy.ext.asyncio import AsyncSession
            import app

            async def test_asset_ids():
                session = create_autospec(AsyncSession, instance=True)
                session.execute.return_value.scalars.return_value.all.return_value = [1, 2]
                assert await app.asset_ids(session) == [1, 2]
            """,
            kind="async-mock-for-sync",
            subject="session.execute.return_value.scalars",
            marker="<-- misuse",
            operation="attribute 'all'",
            fix_contains=(
                "session.execute.return_value = MagicMock()",
                "session.execute.return_value = MagicMock(spec=Result)  # from sqlalchemy.engine import Result",
            ),
            message_contains=("`session` is specced from `AsyncSession`, but a spec or create_autospec stops",),
            warn_outcome="failed",
        ),
    ),
    "httpx-response-json": (
        "httpx",
        Case(
            app="""
            async def user_id(client, name):
                response = await client.get(f"/users/{name}")
                return response.json()["id"]  # <-- misuse
            """,
            test="""
            from unittest.mock import AsyncMock
            import app

            async def test_user_id():
                client = AsyncMock()
                client.get.return_value.json.return_value = {"id": 7}
                assert await app.user_id(client, "ada") == 7
            """,
            kind="async-mock-for-sync",
            subject="client.get.return_value.json",
            marker="<-- misuse",
            operation="subscript",
            fix_contains=("client.get.return_value = MagicMock()",),
            message_contains=("httpx `Response.json` is synchronous",),
            warn_outcome="failed",
        ),
    ),
    "aiohttp-session-get": (
        "aiohttp",
        Case(
            app="""
            async def fetch_status(session, url):
                async with session.get(url) as response:
                    return response.status
            """,
            test="""
            from unittest.mock import AsyncMock, MagicMock
            import aiohttp
            import app

            async def test_fetch_status():
                session = MagicMock(spec=aiohttp.ClientSession)
                session.get = AsyncMock(return_value=MagicMock(status=200))  # <-- assigned
                assert await app.fetch_status(session, "http://x") == 200
            """,
            kind="async-mock-for-sync",
            subject="session.get",
            marker="<-- assigned",
            path="test_case.py",
            # reported where the code misused it: awaiting session.get(url) would have been right
            operation="async with",
            fix_contains=("session.get = MagicMock()", "session.get.return_value.__aenter__.return_value = ..."),
            message_contains=("aiohttp `ClientSession.get` is synchronous", "async context manager"),
            warn_outcome="failed",
        ),
    ),
    "redis-pipeline": (
        "redis",
        Case(
            app="""
            async def remember(redis, key, value):
                pipe = redis.pipeline()
                pipe.set(key, value)
                pipe.expire(key, 60)
                return await pipe.execute()
            """,
            test="""
            from unittest.mock import AsyncMock
            from redis.asyncio import Redis
            import app

            async def test_remember():
                redis = AsyncMock(spec=Redis)
                redis.pipeline = AsyncMock()  # <-- assigned
                await app.remember(redis, "k", "v")
            """,
            kind="async-mock-for-sync",
            subject="redis.pipeline",
            marker="<-- assigned",
            path="test_case.py",
            # the assignment is judged when the phase ends; the misuse came first, and says what happened
            operation="attribute 'set'",
            fix_contains=("redis.pipeline = MagicMock()",),
            message_contains=("redis `Redis.pipeline` is synchronous",),
            warn_outcome="failed",
        ),
    ),
    "motor-find": (
        "motor",
        Case(
            app="""
            async def active_users(collection):
                return await collection.find({"active": True}).to_list(length=None)
            """,
            test="""
            from unittest.mock import AsyncMock, MagicMock
            from motor.motor_asyncio import AsyncIOMotorCollection
            import app

            async def test_active_users():
                collection = MagicMock(spec=AsyncIOMotorCollection)
                collection.find = AsyncMock(return_value=[{"name": "ada"}])  # <-- assigned
                assert await app.active_users(collection) == [{"name": "ada"}]
            """,
            kind="async-mock-for-sync",
            subject="collection.find",
            marker="<-- assigned",
            path="test_case.py",
            operation="attribute 'to_list'",
            fix_contains=("collection.find = MagicMock()", "collection.find.return_value.to_list = AsyncMock("),
            message_contains=("motor `AsyncIOMotorCollection.find` is synchronous",),
            warn_outcome="failed",
        ),
    ),
}


@pytest.mark.parametrize("mode", ["strict", "warn"])
@pytest.mark.parametrize("name", sorted(LIBRARY_CASES))
def test_library_misuse_is_reported(pytester: pytest.Pytester, name: str, mode: str) -> None:
    library, case = LIBRARY_CASES[name]
    pytest.importorskip(library)
    check_case(pytester, case, mode)


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_edits_work_when_applied(pytester: pytest.Pytester, name: str) -> None:
    check_edits(pytester, CASES[name])


@pytest.mark.parametrize("name", sorted(LIBRARY_CASES))
def test_the_library_edits_work_when_applied(pytester: pytest.Pytester, name: str) -> None:
    library, case = LIBRARY_CASES[name]
    pytest.importorskip(library)
    check_edits(pytester, case)


CORRECT_APP = """
class Store:
    def save(self, item) -> None:
        raise NotImplementedError

    async def load(self, key) -> dict:
        raise NotImplementedError


async def user_name(session, user_id):
    result = await session.execute(user_id)
    user = result.scalar_one_or_none()
    return None if user is None else user.name


async def asset_ids(session):
    result = await session.execute("SELECT id FROM assets")
    return result.scalars().all()
"""

CORRECT_TESTS = """
import functools
from unittest.mock import AsyncMock, MagicMock, Mock, create_autospec, patch

import pytest
import app


async def test_async_mock_with_a_class_spec():
    store = AsyncMock(spec=app.Store)
    store.load.return_value = {"a": 1}
    assert await store.load("k") == {"a": 1}
    store.save(1)  # a sync member of a specced AsyncMock is a MagicMock


async def test_async_mock_with_names_as_spec_keyword():
    mock = AsyncMock(spec=["a", "b"])
    mock.return_value = 1
    assert await mock() == 1
    mock.a.return_value = 2  # a listed name is a sync child
    assert mock.a() == 2


def test_mock_with_names_positional():
    mock = MagicMock(["read", "close"])
    mock.read.return_value = "x"
    assert mock.read() == "x"


def test_mock_with_an_instance_spec():
    mock = Mock(app.Store())
    mock.save(1)
    mock.save.assert_called_once_with(1)


async def test_autospec_used_right():
    store = create_autospec(app.Store, instance=True)
    store.load.return_value = {"a": 1}
    assert await store.load("k") == {"a": 1}
    store.save(2)
    store.save.assert_called_once_with(2)


async def test_side_effect_async_function():
    async def load(key):
        return key * 2

    repo = MagicMock()
    repo.fetch = AsyncMock(side_effect=load)
    assert await repo.fetch(2) == 4
    repo.fetch.side_effect = functools.partial(load, 5)
    assert await repo.fetch() == 10


async def test_side_effect_values_and_exceptions():
    repo = AsyncMock()
    repo.fetch.side_effect = [1, ValueError("boom")]
    assert await repo.fetch() == 1
    with pytest.raises(ValueError, match="boom"):
        await repo.fetch()


async def test_magic_mock_chain_with_async_leaves():
    session = MagicMock()
    session.execute = AsyncMock()
    session.execute.return_value = MagicMock()
    session.execute.return_value.scalars.return_value.all.return_value = [1, 2]
    assert await app.asset_ids(session) == [1, 2]


async def test_seed_pattern_4_correct():
    session = AsyncMock()
    mock_result = Mock()  # Regular Mock, not AsyncMock
    mock_result.scalar_one_or_none = Mock(return_value=None)  # Sync method
    mock_result.scalars = Mock(return_value=Mock(all=Mock(return_value=[])))  # Sync method
    session.execute = AsyncMock(return_value=mock_result)  # Only execute() is async
    assert await app.user_name(session, 1) is None


def setup_mock_db_session_empty():
    session = AsyncMock()
    mock_result = Mock()
    mock_result.scalar_one_or_none = Mock(return_value=None)
    mock_result.scalars = Mock(return_value=Mock(all=Mock(return_value=[])))
    session.execute = AsyncMock(return_value=mock_result)
    return session


async def test_seed_pattern_4_helper():
    session = setup_mock_db_session_empty()
    assert await app.user_name(session, 1) is None
    assert await app.asset_ids(session) == []


async def test_patch_with_new_callable():
    with patch.object(app.Store, "load", new_callable=AsyncMock) as load:
        load.return_value = {"b": 2}
        assert await app.Store().load("k") == {"b": 2}


async def test_return_value_is_a_mock_made_with_keywords():
    repo = MagicMock()
    repo.fetch = AsyncMock(return_value=MagicMock(spec=["rows"], rows=[1]))
    assert (await repo.fetch()).rows == [1]


async def test_patch_sync_and_async_members_rightly():
    with (
        patch.object(app.Store, "save", new_callable=MagicMock) as save,
        patch.object(app.Store, "load", autospec=True) as load,
        patch.object(app.Store, "save", new_callable=MagicMock),
    ):
        load.return_value = {}
        assert await app.Store().load("k") == {}
        assert save is not None


@patch.object(app.Store, "load", new_callable=AsyncMock)
@patch("app.Store.save")
async def test_patch_decorators_rightly(save, load):
    load.return_value = {"c": 3}
    assert await app.Store().load("k") == {"c": 3}
    app.Store().save(1)
    save.assert_called_once_with(1)


def test_patch_an_attribute_that_does_not_exist_yet():
    with patch.object(app.Store, "flush", new_callable=AsyncMock, create=True) as flush:
        assert flush is app.Store.flush
"""

LIBRARY_CORRECT_TESTS = {
    "redis": """
    from unittest.mock import AsyncMock, MagicMock
    from redis.asyncio import Redis


    async def test_redis_commands_are_awaited():
        redis = AsyncMock(spec=Redis)
        redis.get = AsyncMock(return_value=b"1")  # Redis.get returns an awaitable: AsyncMock is right
        assert await redis.get("k") == b"1"
        pipe = MagicMock()
        pipe.execute = AsyncMock(return_value=[True])
        redis.pipeline = MagicMock(return_value=pipe)
        redis.pipeline().set("k", "v")
        assert await redis.pipeline().execute() == [True]
    """,
    "motor": """
    from unittest.mock import AsyncMock, MagicMock
    from motor.motor_asyncio import AsyncIOMotorCollection


    async def test_motor_find_one_is_awaited():
        collection = MagicMock(spec=AsyncIOMotorCollection)
        collection.find_one = AsyncMock(return_value={"name": "ada"})  # awaited in motor
        assert await collection.find_one({}) == {"name": "ada"}
    """,
    "sqlalchemy": """
    from unittest.mock import AsyncMock, MagicMock, create_autospec
    from sqlalchemy.engine import Result
    from sqlalchemy.ext.asyncio import AsyncSession


    async def test_session_with_a_specced_result():
        session = create_autospec(AsyncSession, instance=True)
        session.execute.return_value = MagicMock(spec=Result)
        session.execute.return_value.scalars.return_value.all.return_value = [3]
        result = await session.execute("q")
        assert result.scalars().all() == [3]
        session.add("x")
        await session.commit()
    """,
    "aiohttp": """
    from unittest.mock import MagicMock
    import aiohttp


    async def test_client_session_get_as_context_manager():
        session = MagicMock(spec=aiohttp.ClientSession)
        session.get.return_value.__aenter__.return_value.status = 200
        async with session.get("http://x") as response:
            assert response.status == 200
    """,
}


def test_correct_mock_building_stays_silent(pytester: pytest.Pytester) -> None:
    write_project(pytester, app=CORRECT_APP, test_case=CORRECT_TESTS)
    run = run_guard(pytester, "strict", "-o", "asyncmock_guard_sync_methods=app.Store.save")
    run.result.assert_outcomes(passed=CORRECT_TESTS.count("\ndef test_") + CORRECT_TESTS.count("async def test_"))
    assert run.findings == []
    assert "RuntimeWarning" not in run.output


@pytest.mark.parametrize("library", sorted(LIBRARY_CORRECT_TESTS))
def test_correct_library_mocks_stay_silent(pytester: pytest.Pytester, library: str) -> None:
    pytest.importorskip(library)
    write_project(pytester, test_case=LIBRARY_CORRECT_TESTS[library])
    run = run_guard(pytester, "strict")
    run.result.assert_outcomes(passed=1)
    assert run.findings == []
