"""The rules a fix must keep (issue 20, section 4), each on the shape that breaks it: the fix goes where it
still takes effect and keeps what the test configured, uses the protocol the code uses, gives a truth test
an explicit value, names spec classes without their ``None``, turns a side_effect list of coroutines into
values in one edit, and keeps the members the code awaits when a result becomes a MagicMock.

Each case runs the guard, checks the finding, applies its ``edits``, and reruns: the finding is gone and
every test passes (the tests assert what the configuration was for, so a fix that drops it fails them).
"""

from __future__ import annotations

import pytest

from _guardrun import TAGS_TOOLS, apply_edits, line_in, rerun_clean, run_guard, write_files

SCHEDULER_APP = {
    "app/__init__.py": "",
    "app/tools.py": TAGS_TOOLS,
    "app/cli.py": """
        import asyncio
        from app import tools


        def tags(repo):
            try:
                return asyncio.run(tools.show_tags(repo))
            except RuntimeError:
                return None
        """,
    "tests/__init__.py": "",
}

SIDE_EFFECT_CASES = {
    # test source, the line change_at points at
    "set_later_in_the_body": (
        """
        from unittest.mock import patch
        from app import cli


        @patch("app.cli.asyncio.run")
        def test_error(mock_run):
            mock_run.side_effect = RuntimeError("boom")  # <-- configured
            assert cli.tags("repo") is None
            mock_run.assert_called_once()
        """,
        "<-- configured",
    ),
    "decorator_keyword_exception": (
        """
        from unittest.mock import patch
        from app import cli


        @patch("app.cli.asyncio.run", side_effect=RuntimeError("boom"))  # <-- configured
        def test_error(mock_run):
            assert cli.tags("repo") is None
        """,
        "<-- configured",
    ),
    "with_keyword_values": (
        """
        from unittest.mock import patch
        from app import cli


        def test_values():
            with patch("app.cli.asyncio.run", side_effect=[["x"], ["y"]]) as run:  # <-- configured
                assert cli.tags("repo") == ["x"]
                assert cli.tags("repo") == ["y"]
            assert run.call_count == 2
        """,
        "<-- configured",
    ),
}


@pytest.mark.parametrize("mode", ["strict", "warn"])
@pytest.mark.parametrize("case", sorted(SIDE_EFFECT_CASES))
def test_a_swallowing_mock_keeps_the_side_effect_the_test_configured(
    pytester: pytest.Pytester, case: str, mode: str
) -> None:
    """The patched ``asyncio.run`` swallows the coroutine; its side_effect (an exception, values) is what the
    test is about. The fix closes the coroutine and does what the side_effect did, after the body's own
    assignment (which would win over a decorator's keyword)."""
    source, marker = SIDE_EFFECT_CASES[case]
    write_files(pytester, {**SCHEDULER_APP, "tests/test_case.py": source})
    run = run_guard(pytester, mode)
    assert run.findings, run.output
    for finding in run.findings:
        assert finding["kind"] == "never-awaited"
        assert finding["subject"] == "show_tags"
        assert finding["change_at"] == {
            "path": "tests/test_case.py",
            "line": line_in(pytester, "tests/test_case.py", marker),
        }
        assert "keeps the side_effect the test configured" in finding["message"]
        assert finding["edits"]
    apply_edits(pytester, run.findings)
    rerun_clean(pytester, mode)


def test_the_handle_of_a_decorator_patch_is_its_parameter(pytester: pytest.Pytester) -> None:
    """``@patch("app.cli.asyncio.run")`` fills ``mock_run``: the fix configures ``mock_run``, not ``run``."""
    source = """
        from unittest.mock import patch
        from app import cli


        @patch("app.cli.asyncio.run")
        def test_tags(mock_run):
            mock_run.return_value = ["a"]
            assert cli.tags("repo") == ["a"]
        """
    write_files(pytester, {**SCHEDULER_APP, "tests/test_case.py": source})
    run = run_guard(pytester, "strict")
    finding = run.only()
    assert "mock_run.call_args" in finding["fix"], finding["fix"]
    apply_edits(pytester, [finding])
    rerun_clean(pytester, "strict")


PROTOCOL_APP = {
    "app/__init__.py": "",
    "app/rows.py": """
        async def names(session):
            found = []
            async for row in session.stream("select"):
                found.append(row)
            return found


        async def first(client):
            async with client.connect() as conn:
                return conn
        """,
    "tests/__init__.py": "",
}


@pytest.mark.parametrize("mode", ["strict", "warn"])
@pytest.mark.parametrize(
    ("test", "subject", "protocol", "other"),
    [
        (
            """
            from unittest.mock import AsyncMock
            from app.rows import names


            async def test_stream():
                session = AsyncMock()
                assert await names(session) == []
            """,
            "session.stream",
            "__aiter__",
            "__aenter__",
        ),
        (
            """
            from unittest.mock import AsyncMock
            from app.rows import first


            async def test_connect():
                client = AsyncMock()
                assert await first(client) is not None
            """,
            "client.connect",
            "__aenter__",
            "__aiter__",
        ),
    ],
    ids=["async-for", "async-with"],
)
def test_the_fix_uses_the_protocol_the_code_uses(
    pytester: pytest.Pytester, mode: str, test: str, subject: str, protocol: str, other: str
) -> None:
    write_files(pytester, {**PROTOCOL_APP, "tests/test_case.py": test})
    run = run_guard(pytester, mode)
    finding = run.only()
    assert finding["subject"] == subject
    assert protocol in finding["fix"]
    assert other not in finding["fix"]
    apply_edits(pytester, [finding])
    rerun_clean(pytester, mode)


REPO_APP = {
    "app/__init__.py": "",
    "app/repo.py": """
        from __future__ import annotations

        from typing import Optional


        class Task:
            def done(self) -> bool:
                return True


        class Repo:
            async def fetch(self) -> Task | None:
                return Task()

            async def fetch_old(self) -> Optional[Task]:
                return Task()


        async def finished(repo):
            task = await repo.fetch()
            return bool(task.done())


        async def finished_old(repo):
            task = await repo.fetch_old()
            return bool(task.done())
        """,
    "tests/__init__.py": "",
}


@pytest.mark.parametrize("function", ["finished", "finished_old"])
def test_a_spec_class_from_an_annotation_drops_its_none_and_a_truth_test_gets_a_value(
    pytester: pytest.Pytester, function: str
) -> None:
    """``-> Task | None`` and ``-> Optional[Task]`` name ``Task``, whose ``done`` is synchronous: the test is
    wrong, for certain; and ``bool(task.done())`` of a bare MagicMock would be true whatever happens, as the
    coroutine was: the fix says what the check sees."""
    test = f"""
        from unittest.mock import AsyncMock
        from app.repo import Repo, {function}


        async def test_done():
            repo = AsyncMock(spec=Repo)
            assert await {function}(repo)
        """
    write_files(pytester, {**REPO_APP, "tests/test_case.py": test})
    run = run_guard(pytester, "strict")
    finding = run.only()
    assert finding["kind"] == "coroutine-misuse"
    assert finding["bug_in"] == "test"
    assert "Nothing here says" not in finding["message"]  # the annotation says `done` is synchronous
    assert "missing `await`" not in finding["fix"]
    assert "MagicMock(spec=Task)  # from app.repo import Task" in finding["fix"]
    assert ".done.return_value = True" in finding["fix"]
    apply_edits(pytester, [finding])
    rerun_clean(pytester, "strict")


def test_spec_classes_of_annotations_unit() -> None:
    from typing import Optional, Union  # noqa: PLC0415

    from asyncmock_guard import _evidence  # noqa: PLC0415

    class Task:
        pass

    assert _evidence._without_none(Task | None) is Task
    assert _evidence._without_none(Optional[Task]) is Task  # noqa: UP045 - the spelling under test
    assert _evidence._without_none(Union[Task, int, None]) is Union  # noqa: UP007 - names no one class
    assert _evidence._without_none(list[Task]) is list
    assert _evidence._without_none(Task) is Task


LOAD_APP = {
    "app/__init__.py": "",
    "app/load.py": """
        async def fetch_twice(client):
            return [await client.get(), await client.get()]


        def status(thing):
            return thing.state
        """,
    "tests/__init__.py": "",
}


@pytest.mark.parametrize("mode", ["strict", "warn"])
@pytest.mark.parametrize(
    ("test", "kind_of_test"),
    [
        (
            """
            from unittest.mock import AsyncMock, MagicMock
            from app.load import fetch_twice


            async def value(n):
                return n


            async def test_list():
                client = MagicMock()
                client.get = AsyncMock(side_effect=[value(1), value(2)])  # <-- configured
                assert await fetch_twice(client) == [1, 2]
            """,
            "async",
        ),
        (
            """
            from unittest.mock import AsyncMock, MagicMock
            from app.load import fetch_twice
            import asyncio


            async def value(n):
                return n


            def test_list():
                client = MagicMock()
                client.get = AsyncMock()
                client.get.side_effect = (value(1), value(2))  # <-- configured
                assert asyncio.run(fetch_twice(client)) == [1, 2]
            """,
            "sync",
        ),
    ],
    ids=["constructor-list-async-test", "assigned-tuple-sync-test"],
)
def test_coroutines_in_a_side_effect_list_are_one_finding_and_one_edit(
    pytester: pytest.Pytester, mode: str, test: str, kind_of_test: str
) -> None:
    write_files(pytester, {**LOAD_APP, "tests/test_case.py": test})
    run = run_guard(pytester, mode)
    finding = run.only()
    assert finding["kind"] == "coroutine-as-return-value"
    assert finding["subject"] == "client.get"
    assert finding["change_at"] == {
        "path": "tests/test_case.py",
        "line": line_in(pytester, "tests/test_case.py", "<-- configured"),
    }
    changes = [edit for edit in finding["edits"] if "import" not in edit["content"]]
    assert len(changes) == 1
    expected = (
        "await value(1), await value(2)" if kind_of_test == "async" else "asyncio.run(value(1)), asyncio.run(value(2))"
    )
    assert expected in changes[0]["content"]
    apply_edits(pytester, [finding])
    rerun_clean(pytester, mode)


def test_a_property_mocks_coroutine_becomes_its_value(pytester: pytest.Pytester) -> None:
    """A PropertyMock hands the coroutine over as it is: no ``side_effect`` alternative (it would only make
    a new coroutine per read), and no ``await`` in its wording."""
    test = """
        from unittest.mock import MagicMock, PropertyMock
        from app.load import status


        async def value():
            return "up"


        def test_property():
            thing = MagicMock()
            type(thing).state = PropertyMock(return_value=value())
            assert status(thing) == "up"
        """
    write_files(pytester, {**LOAD_APP, "tests/test_case.py": test})
    run = run_guard(pytester, "warn")
    finding = run.only()
    assert finding["kind"] == "coroutine-as-return-value"
    assert "side_effect" not in finding["fix"]
    assert "`await " not in finding["message"]
    apply_edits(pytester, [finding])
    rerun_clean(pytester, "strict")


def test_a_result_made_a_magicmock_keeps_the_members_the_code_awaits(pytester: pytest.Pytester) -> None:
    """``conn = await pool.acquire()`` is used synchronously (``conn.cursor()``) and awaited on
    (``await conn.ping()``, ``await conn.release()`` in a ``finally`` that runs after the misuse): the
    MagicMock that replaces ``conn`` keeps those two AsyncMocks, or the fixed test fails on them."""
    files = {
        "app/__init__.py": "",
        "app/pool.py": """
            async def names(pool):
                conn = await pool.acquire()
                try:
                    await conn.ping()
                    return conn.cursor().fetchall()
                finally:
                    await conn.release()
            """,
        "tests/__init__.py": "",
        "tests/test_case.py": """
            from unittest.mock import AsyncMock
            from app.pool import names


            async def test_names():
                pool = AsyncMock()
                pool.acquire.return_value.cursor.return_value.fetchall.return_value = ["a"]
                assert await names(pool) == ["a"]
            """,
    }
    write_files(pytester, files)
    run = run_guard(pytester, "strict")
    finding = run.only()
    assert "pool.acquire.return_value.ping = AsyncMock()" in finding["fix"]
    assert "pool.acquire.return_value.release = AsyncMock()" in finding["fix"]
    apply_edits(pytester, [finding])
    rerun_clean(pytester, "strict")


def test_an_async_member_of_the_annotated_result_makes_the_code_wrong(pytester: pytest.Pytester) -> None:
    """The annotation's class says ``wait`` is a coroutine function: the code forgot ``await``."""
    files = {
        **REPO_APP,
        "app/waits.py": """
            from __future__ import annotations


            class Job:
                async def wait(self) -> bool:
                    return True


            class Queue:
                async def take(self) -> Job | None:
                    return Job()


            async def drain(queue):
                job = await queue.take()
                job.wait()
                return "drained"
            """,
        "tests/test_case.py": """
            from unittest.mock import AsyncMock
            from app.waits import Queue, drain


            async def test_drain():
                queue = AsyncMock(spec=Queue)
                assert await drain(queue) == "drained"
            """,
    }
    write_files(pytester, files)
    run = run_guard(pytester, "strict")
    finding = run.only()
    assert finding["bug_in"] == "code"
    assert finding["change_at"] == {"path": "app/waits.py", "line": line_in(pytester, "app/waits.py", "job.wait()")}
    apply_edits(pytester, [finding])
    assert "await job.wait()" in (pytester.path / "app/waits.py").read_text()
    rerun_clean(pytester, "strict")


TWO_PATCHES_ON_A_LINE = {
    "app/__init__.py": "",
    "app/store.py": """
        class Store:
            async def load(self):
                return 1

            def save(self, data) -> None:
                pass

            def save_unannotated(self, data):
                pass
        """,
    "app/service.py": """
        async def run(store):
            data = await store.load()
            store.save(data)
            return data


        async def run_unannotated(store):
            data = await store.load()
            store.save_unannotated(data)
            return data
        """,
    "app/cli.py": """
        import asyncio
        from app import tools


        def tags(repo):
            tools.log("tags")
            return asyncio.run(tools.show_tags(repo))
        """,
    "app/tools.py": """
        def log(text):
            pass


        async def show_tags(repo):
            return ["a"]
        """,
    "tests/__init__.py": "",
}


@pytest.mark.parametrize("mode", ["strict", "warn"])
@pytest.mark.parametrize(
    ("case", "kind", "subject"),
    [
        ("async_member", "async-mock-for-sync", "Store.save"),
        # no annotation says what the real one returns: found when its coroutine is dropped
        ("async_member_unannotated", "never-awaited", "Store.save_unannotated"),
        ("scheduler", "never-awaited", "show_tags"),
    ],
)
def test_the_edit_goes_to_the_patch_that_made_the_mock_when_a_line_has_two(
    pytester: pytest.Pytester, case: str, kind: str, subject: str, mode: str
) -> None:
    """``with patch(a), patch(b):`` on one line: the edit changes the patch of the mock the finding is about,
    the second one here, and leaves the other alone (the rerun fails if it changed the first)."""
    sources = {
        "async_member": """
            from unittest.mock import AsyncMock, patch
            from app import service
            from app.store import Store


            async def test_run():
                with patch.object(Store, "load", new_callable=AsyncMock, return_value=1), patch.object(Store, "save", new_callable=AsyncMock):  # <-- patched
                    assert await service.run(Store()) == 1
                    Store.save.assert_called_once_with(1)
            """,
        "async_member_unannotated": """
            from unittest.mock import AsyncMock, patch
            from app import service
            from app.store import Store


            async def test_run():
                with patch.object(Store, "load", new_callable=AsyncMock, return_value=1), patch.object(Store, "save_unannotated", new_callable=AsyncMock):  # <-- patched
                    assert await service.run_unannotated(Store()) == 1
                    Store.save_unannotated.assert_called_once_with(1)
            """,
        "scheduler": """
            from unittest.mock import patch
            from app import cli


            def test_tags():
                with patch("app.tools.log") as log, patch("app.cli.asyncio.run", return_value=["a"]) as run:  # <-- patched
                    assert cli.tags("repo") == ["a"]
                log.assert_called_once_with("tags")
                run.assert_called_once()
            """,
    }
    write_files(pytester, {**TWO_PATCHES_ON_A_LINE, "tests/test_case.py": sources[case]})
    run = run_guard(pytester, mode)
    finding = run.only()
    assert (finding["kind"], finding["subject"]) == (kind, subject), finding
    line = line_in(pytester, "tests/test_case.py", "<-- patched")
    assert finding["change_at"] == {"path": "tests/test_case.py", "line": line}
    assert finding["edits"], finding["fix"]
    apply_edits(pytester, [finding])
    rerun_clean(pytester, mode)


@pytest.mark.parametrize("mode", ["strict", "warn"])
@pytest.mark.parametrize(
    ("case", "subject", "marker"),
    [
        ("scheduler", "show_tags", "<-- patched"),
        ("inline_mock", "AsyncMock().add", "<-- built"),
    ],
)
def test_an_argument_added_to_a_call_with_a_trailing_comma_keeps_it_valid(
    pytester: pytest.Pytester, case: str, subject: str, marker: str, mode: str
) -> None:
    """``patch(..., return_value=x,)`` and ``AsyncMock(spec_set=None,)``: the keyword the fix adds goes after
    the trailing comma, not after a second one (``,, side_effect=...`` does not parse)."""
    sources = {
        "scheduler": """
            from unittest.mock import patch
            from app import cli


            def test_tags():
                with patch(
                    "app.cli.asyncio.run",
                    return_value=["a"],
                ) as run:  # <-- patched
                    assert cli.tags("repo") == ["a"]
                run.assert_called_once()
            """,
        "inline_mock": """
            from unittest.mock import AsyncMock
            from app import service


            async def test_inline():
                await service.save(AsyncMock(name=None,), 1)  # <-- built
            """,
    }
    app = {
        **SCHEDULER_APP,
        "app/service.py": """
            async def save(session, item):
                session.add(item)
                await session.commit()
            """,
    }
    write_files(pytester, {**app, "tests/test_case.py": sources[case]})
    run = run_guard(pytester, mode)
    finding = run.only()
    assert finding["subject"] == subject, finding
    assert finding["edits"], finding["fix"]
    apply_edits(pytester, [finding])
    rerun_clean(pytester, mode)
