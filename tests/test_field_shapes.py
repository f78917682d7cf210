"""Mocks built where real suites build them: stacked ``@patch`` decorators, helpers in other modules,
conftest fixtures, ``setUp``, containers, nested ``side_effect`` functions, parametrized tests.

Each case checks the finding's subject (the name the user wrote), ``change_at`` (the line that wrote it) and
``bug_in``, then applies the finding's ``edits`` to the project, reruns it, and checks that the finding is
gone and the test passes: a fix is right only if applying it works.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from _guardrun import TAGS_TOOLS, apply_edits, line_in, rerun_clean, run_guard, write_files

APP = {
    "app/__init__.py": "",
    "app/tools.py": TAGS_TOOLS,
    "app/cli.py": """
        import asyncio
        from app import tools


        def tags(repo):
            return asyncio.run(tools.show_tags(repo))
        """,
    "app/keys.py": """
        def lookup(key):
            return key


        def run_lookup(key):
            lookup(key)
            return key
        """,
    "app/service.py": """
        async def resolve(resolver, name):
            ok = resolver.check(name)
            if ok:
                return name
            return None


        def get_resolver():
            raise RuntimeError("the real resolver needs a network")


        async def resolve_default(name):
            return await resolve(get_resolver(), name)


        def add_all(session, items):
            for item in items:
                session.add(item)


        def fetch_all(client, keys):
            for key in keys:
                client.fetch(key)


        async def save(session, item):
            session.add(item)
            await session.commit()


        async def run_job(factory):
            instance = factory()
            instance.run()
            return instance


        async def use_redis(client):
            pipe = client.pipeline()
            pipe.set("a", 1)
            return pipe
        """,
    "tests/__init__.py": "",
    "tests/utils/__init__.py": "",
    "tests/utils/fakes.py": """
        from unittest.mock import AsyncMock, MagicMock

        from app import service


        def make_resolver():
            resolver = AsyncMock()
            resolver.check.return_value = True
            return resolver


        def count_fetched(keys):
            client = MagicMock()
            client.fetch = AsyncMock()
            service.fetch_all(client, keys)
            return client.fetch.call_count
        """,
    "tests/conftest.py": """
        import pytest
        from unittest.mock import AsyncMock
        from tests.utils.fakes import make_resolver


        @pytest.fixture
        def resolver():
            return make_resolver()


        @pytest.fixture
        def db():
            session = AsyncMock()
            return session
        """,
}


CASES: dict[str, tuple[str, str, str, str, str]] = {
    # test source, subject, change_at file, change_at marker, bug_in
    "stacked_patch_decorators": (
        """
        import unittest
        from unittest.mock import patch
        from app import cli


        class TestCli(unittest.TestCase):
            @patch("app.cli.asyncio.run")
            @patch("app.tools.show_tags")
            def test_tags(self, mock_show_tags, mock_run):
                mock_run.return_value = ["a"]
                assert cli.tags("repo") == ["a"]
                mock_run.assert_called_once()
        """,
        "mock_show_tags",
        "tests/test_case.py",
        '@patch("app.cli.asyncio.run")',
        "test",
    ),
    "class_level_patch_decorator": (
        """
        import unittest
        from unittest.mock import patch
        from app import cli


        @patch("app.cli.asyncio.run")
        class TestCli(unittest.TestCase):
            @patch("app.tools.show_tags")
            def test_tags(self, mock_show_tags, mock_run):
                mock_run.return_value = ["a"]
                assert cli.tags("repo") == ["a"]
                mock_run.assert_called_once()
        """,
        "mock_show_tags",
        "tests/test_case.py",
        '@patch("app.cli.asyncio.run")',
        "test",
    ),
    "patch_multiple": (
        """
        from unittest.mock import DEFAULT, patch
        from app import cli


        def test_tags():
            with patch.multiple("app.cli.asyncio", run=DEFAULT) as mocks:
                mocks["run"].return_value = ["a"]
                assert cli.tags("repo") == ["a"]
            mocks["run"].assert_called_once()
        """,
        "show_tags",
        "tests/test_case.py",
        'with patch.multiple("app.cli.asyncio", run=DEFAULT) as mocks:',
        "test",
    ),
    "mocker_patch_scheduler": (
        """
        from app import cli


        def test_tags(mocker):
            run = mocker.patch("app.cli.asyncio.run", return_value=["a"])
            assert cli.tags("repo") == ["a"]
            run.assert_called_once()
        """,
        "show_tags",
        "tests/test_case.py",
        'run = mocker.patch("app.cli.asyncio.run", return_value=["a"])',
        "test",
    ),
    "mocker_patch_new_callable": (
        """
        from unittest.mock import AsyncMock
        from app import keys


        def test_lookup(mocker):
            lookup = mocker.patch("app.keys.lookup", new_callable=AsyncMock)
            assert keys.run_lookup("k") == "k"
            lookup.assert_called_once_with("k")
        """,
        "lookup",
        "tests/test_case.py",
        'lookup = mocker.patch("app.keys.lookup", new_callable=AsyncMock)',
        "test",
    ),
    "helper_in_another_module": (
        """
        from app import service
        from tests.utils.fakes import make_resolver


        async def test_helper():
            resolver = make_resolver()
            assert await service.resolve(resolver, "x") == "x"
        """,
        "resolver.check",
        "tests/utils/fakes.py",
        "resolver = AsyncMock()",
        "test",
    ),
    "helper_that_builds_and_runs": (
        """
        from tests.utils import fakes


        def test_counts():
            assert fakes.count_fetched([1, 2]) == 2
        """,
        "client.fetch",
        "tests/utils/fakes.py",
        "client.fetch = AsyncMock()",
        "test",
    ),
    "inline_construction": (
        """
        from unittest.mock import AsyncMock
        from app import service


        async def test_inline():
            await service.save(AsyncMock(), 1)
        """,
        "AsyncMock().add",
        "tests/test_case.py",
        "await service.save(AsyncMock(), 1)",
        "test",
    ),
    "helper_as_a_patch_return_value": (
        """
        from app import service
        from tests.utils.fakes import make_resolver


        async def test_default(mocker):
            mocker.patch("app.service.get_resolver", return_value=make_resolver())
            assert await service.resolve_default("x") == "x"
        """,
        "resolver.check",
        "tests/utils/fakes.py",
        "resolver = AsyncMock()",
        "test",
    ),
    "helper_through_a_conftest_fixture": (
        """
        from app import service


        async def test_fixture(resolver):
            assert await service.resolve(resolver, "x") == "x"
        """,
        "resolver.check",
        "tests/utils/fakes.py",
        "resolver = AsyncMock()",
        "test",
    ),
    "conftest_fixture_in_a_loop": (
        """
        from app import service


        def test_fixture(db):
            service.add_all(db, [1, 2])
            assert db.add.call_count == 2
        """,
        "session.add",
        "tests/conftest.py",
        "session = AsyncMock()",
        "test",
    ),
    "nested_side_effect_function": (
        """
        from unittest.mock import AsyncMock, MagicMock
        from app import service


        async def test_nested():
            def factory():
                instance = MagicMock()
                instance.run = AsyncMock()
                return instance

            instance = await service.run_job(factory)
            instance.run.assert_called_once()
        """,
        "instance.run",
        "tests/test_case.py",
        "instance.run = AsyncMock()",
        "test",
    ),
    "container": (
        """
        from unittest.mock import AsyncMock
        from app import service


        async def test_container():
            mocks = {"redis": AsyncMock()}
            await service.use_redis(mocks["redis"])
        """,
        "mocks['redis'].pipeline",
        "tests/test_case.py",
        'mocks = {"redis": AsyncMock()}',
        "test",
    ),
    "self_in_setup": (
        """
        import unittest
        from unittest.mock import AsyncMock
        from app import service


        class TestSave(unittest.IsolatedAsyncioTestCase):
            def setUp(self):
                self.session = AsyncMock()

            async def test_save(self):
                await service.save(self.session, 1)
                self.session.commit.assert_awaited_once()
        """,
        "self.session.add",
        "tests/test_case.py",
        "self.session = AsyncMock()",
        "test",
    ),
    "parametrized": (
        """
        import pytest
        from unittest.mock import AsyncMock
        from app import service


        @pytest.mark.parametrize("item", [1, 2])
        async def test_param(item):
            session = AsyncMock()
            await service.save(session, item)
            session.add.assert_called_once_with(item)
        """,
        "session.add",
        "tests/test_case.py",
        "session = AsyncMock()",
        "test",
    ),
}


@pytest.mark.parametrize("mode", ["strict", "warn"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_finding_is_named_located_and_its_edits_fix_it(pytester: pytest.Pytester, case: str, mode: str) -> None:
    source, subject, change_file, change_marker, bug_in = CASES[case]
    write_files(pytester, {**APP, "tests/test_case.py": source})
    run = run_guard(pytester, mode)
    assert run.findings, run.output
    subjects = {finding["subject"] for finding in run.findings}
    assert subjects == {subject}, run.output
    expected_line = line_in(pytester, change_file, change_marker)
    for finding in run.findings:
        assert finding["change_at"] == {"path": change_file, "line": expected_line}, finding
        assert finding["bug_in"] == bug_in
        assert finding["applicability"] == "safe"
    if mode == "strict":
        assert run.result.ret == 1
    apply_edits(pytester, run.findings)  # a shared helper's findings carry the same edits: applied once
    rerun_clean(pytester, mode)


def test_a_loop_is_one_finding_with_its_count(pytester: pytest.Pytester) -> None:
    source = CASES["conftest_fixture_in_a_loop"][0]
    write_files(pytester, {**APP, "tests/test_case.py": source})
    run = run_guard(pytester, "warn")
    finding = run.only()
    assert finding["count"] == 2
    assert "session.add (2 times)" in run.output


def test_a_missing_await_is_the_codes_bug_when_the_patch_target_is_async(pytester: pytest.Pytester) -> None:
    """The patched callee is ``async def``: the code under test forgot ``await``. The report leads with the
    ``await`` in the code, never with a MagicMock that would make the test pass over the bug."""
    files = {
        **APP,
        "app/report.py": """
            from app import tools


            async def publish(repo):
                tools.show_tags(repo)
                return "done"
            """,
        "tests/test_case.py": """
            from unittest.mock import patch
            from app import report


            @patch("app.tools.show_tags")
            async def test_publish(mock_show_tags):
                assert await report.publish("repo") == "done"
                mock_show_tags.assert_awaited_once_with("repo")
            """,
    }
    write_files(pytester, files)
    run = run_guard(pytester, "strict")
    finding = run.only()
    assert finding["subject"] == "mock_show_tags"
    assert finding["bug_in"] == "code"
    assert finding["applicability"] == "unsafe"
    assert finding["change_at"] == {"path": "app/report.py", "line": 5}
    assert "MagicMock" not in finding["fix"].splitlines()[1]
    assert "await tools.show_tags(repo)" in finding["fix"]
    apply_edits(pytester, [finding])
    assert "    await tools.show_tags(repo)\n" in Path(pytester.path / "app/report.py").read_text()
    rerun_clean(pytester, "strict")


def test_a_hypothesis_test_repeating_the_misuse_in_every_example_is_one_finding(pytester: pytest.Pytester) -> None:
    source = """
        from hypothesis import given, settings, strategies as st
        from unittest.mock import AsyncMock
        from app import service


        @settings(max_examples=50, database=None)
        @given(st.lists(st.integers(), max_size=3))
        def test_add_all(items):
            session = AsyncMock()
            service.add_all(session, items or [0])
            assert session.add.call_count == len(items or [0])
        """
    write_files(pytester, {**APP, "tests/test_case.py": source})
    run = run_guard(pytester, "strict")
    finding = run.only()
    assert finding["subject"] == "session.add"
    assert finding["nodeid"] == "tests/test_case.py::test_add_all"
    assert finding["count"] > 1
    assert finding["change_at"] == {
        "path": "tests/test_case.py",
        "line": line_in(pytester, "tests/test_case.py", "session = AsyncMock()"),
    }
    apply_edits(pytester, [finding])
    rerun_clean(pytester, "strict")


def test_a_mock_used_from_a_thread_is_named_and_fixed(pytester: pytest.Pytester) -> None:
    """A worker thread calls the mock: its coroutine dies there, not in the test's frame."""
    files = {
        **APP,
        "app/threads.py": """
            import threading


            def add_in_thread(session, item):
                worker = threading.Thread(target=session.add, args=(item,))
                worker.start()
                worker.join()
            """,
        "tests/test_case.py": """
            from unittest.mock import AsyncMock
            from app import threads


            def test_thread():
                session = AsyncMock()
                threads.add_in_thread(session, 1)
                session.add.assert_called_once_with(1)
            """,
    }
    write_files(pytester, files)
    run = run_guard(pytester, "strict")
    finding = run.only()
    assert finding["subject"] == "session.add"
    assert finding["nodeid"] == "tests/test_case.py::test_thread"
    apply_edits(pytester, [finding])
    rerun_clean(pytester, "strict")


SHARED_TESTS = {
    "tests/test_direct.py": """
        import pytest
        from app import service
        from tests.utils import fakes
        from tests.utils.fakes import make_resolver


        async def test_direct():
            resolver = make_resolver()
            assert await service.resolve(resolver, "x") == "x"


        @pytest.mark.parametrize("name", ["a", "b"])
        async def test_as_attribute(name):
            assert await service.resolve(fakes.make_resolver(), name) == name
        """,
    "tests/test_through_fixture.py": """
        from app import service


        async def test_fixture(resolver):
            assert await service.resolve(resolver, "x") == "x"


        def test_unrelated():
            assert True
        """,
    "tests/test_in_setup.py": """
        import unittest
        from app import service
        from tests.utils.fakes import make_resolver


        class TestResolve(unittest.IsolatedAsyncioTestCase):
            def setUp(self):
                self.resolver = make_resolver()

            async def test_one(self):
                assert await service.resolve(self.resolver, "x") == "x"

            async def test_two(self):
                assert await service.resolve(self.resolver, "y") == "y"
        """,
}


@pytest.mark.parametrize("workers", [(), ("-n", "2")], ids=["one-process", "xdist"])
def test_a_helpers_message_says_how_many_tests_share_it(pytester: pytest.Pytester, workers: tuple[str, ...]) -> None:
    """Five tests call the helper (one of them parametrized twice, two in ``setUp``), one reaches it through a
    fixture: the helper's findings say 5 tests use it, the fixture's that only this test uses the fixture,
    and one edit at the helper clears all of them."""
    write_files(pytester, {**APP, **SHARED_TESTS})
    run = run_guard(pytester, "strict", *workers)
    by_test = {finding["nodeid"]: finding for finding in run.findings}
    assert set(by_test) == {
        "tests/test_direct.py::test_direct",
        "tests/test_direct.py::test_as_attribute[a]",
        "tests/test_direct.py::test_as_attribute[b]",
        "tests/test_through_fixture.py::test_fixture",
        "tests/test_in_setup.py::TestResolve::test_one",
        "tests/test_in_setup.py::TestResolve::test_two",
    }, run.output
    for nodeid, finding in by_test.items():
        assert finding["change_at"]["path"] == "tests/utils/fakes.py"
        if "fixture" in nodeid:
            assert "only this test of the run uses the fixture `resolver`" in finding["message"]
        else:
            assert "5 tests of the run use the helper `make_resolver`" in finding["message"], finding["message"]
    assert len({repr(finding["edits"]) for finding in run.findings}) == 1  # one fix for all of them
    apply_edits(pytester, run.findings)
    rerun_clean(pytester, "strict", *workers)
