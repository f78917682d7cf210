"""Focused unit tests: naming, advice text helpers, frame classification, modes, and the proxy."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import inspect
import json
import subprocess
import sys
import types
import warnings
import weakref
from collections import abc
from collections.abc import Generator, Iterator
from typing import Any
from unittest import mock as stdlib_mock
from unittest.mock import AsyncMock, MagicMock, create_autospec, patch

import pytest

from asyncmock_guard import _advice, _binding, _frames, _naming
from asyncmock_guard._collector import Collector
from asyncmock_guard._config import Mode
from asyncmock_guard._construction import spec_says_async
from asyncmock_guard._edits import Edit
from asyncmock_guard._findings import Finding, FindingKind, Location
from asyncmock_guard._instrumentation import ORIGIN_TRACKING_DEPTH, SYNC_TEST_ORIGIN_TRACKING_DEPTH, add_note
from asyncmock_guard._proxy import CoroutineProxy

# --- naming --------------------------------------------------------------------------------------------


def test_subject_starts_at_the_innermost_named_ancestor() -> None:
    """Where the test built the mock, which is where the fix goes."""
    mock_db = AsyncMock()
    asset_result = AsyncMock()
    mock_db.execute.return_value = asset_result
    names = {id(mock_db): "mock_db", id(asset_result): "asset_result"}
    assert _naming.subject_of(asset_result.scalars, names) == "asset_result.scalars"
    assert str(_naming.path_of(asset_result.scalars, names)) == "mock_db.execute.return_value.scalars"


def test_path_without_names_says_what_built_the_mock() -> None:
    assert _naming.subject_of(AsyncMock().fetch.return_value.rows, {}) == "AsyncMock().fetch.return_value.rows"
    assert _naming.subject_of(AsyncMock(name="db").get, {}) == "db.get"


def test_patched_mock_is_named_after_its_target() -> None:
    with patch("asyncio.sleep") as patched:
        assert _naming.subject_of(patched, {}) == "sleep"


_fixture_value = MagicMock()


def test_scope_names_reads_locals_fixtures_and_self() -> None:
    class Case:
        def __init__(self) -> None:
            self.session = MagicMock()

    case = Case()
    client = MagicMock()
    frame = sys._getframe()
    names = _binding.scope_of([frame], {"mock_db": _fixture_value, "client": MagicMock()}).names
    assert names[id(client)] == "client"  # the test's own local wins over a fixture of that name
    assert names[id(_fixture_value)] == "mock_db"
    assert names[id(case)] == "case"
    del case, client, frame


def test_self_attributes_are_named() -> None:
    class Case:
        def method(self) -> dict[int, str]:
            self.session = MagicMock()
            return _binding.scope_of([sys._getframe()], None).names

    case = Case()
    names = case.method()
    assert names[id(case.session)] == "self.session"


def test_expression_for_values() -> None:
    data = [1, 2]
    assert _naming.expression_for(data, {id(data): "rows"}) == "rows"
    assert _naming.expression_for(None, {}) == "None"
    assert _naming.expression_for(None, {id(None): "user"}) == "None"
    assert _naming.expression_for([{"id": 1}], {}) == "[{'id': 1}]"
    assert _naming.expression_for(object(), {}) == "..."
    assert _naming.expression_for(list(range(100)), {}) == "..."


def test_ancestry_survives_a_mock_that_is_its_own_parent() -> None:
    mock = MagicMock()
    mock.child.__dict__["_mock_new_parent"] = mock.child
    assert len(_naming.ancestry(mock.child)) == 1


# --- advice helpers ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "callee", "expected"),
    [
        ("x = repo.get(1)", "get", "x = await repo.get(1)"),
        ("return result.scalars().all()", "scalars", "return (await result.scalars()).all()"),
        ("rows = cursor.fetchall()[0]", "fetchall", "rows = (await cursor.fetchall())[0]"),
        ("if cache.exists(key):", "exists", "if await cache.exists(key):"),
        ("session.add(obj)", "add", "await session.add(obj)"),
        ("self.flush()", "flush", "await self.flush()"),
        ("total = len(client.items(a, f(b)))", "items", "total = len(await client.items(a, f(b)))"),
        ("value = await client.get()", "get", None),
        ("def get(self):", "get", None),
        ("x = something_else()", None, "x = await something_else()"),
    ],
)
def test_with_await(line: str, callee: str | None, expected: str | None) -> None:
    assert _advice.with_await(line, callee) == expected


def test_short_location_is_relative_to_rootdir(tmp_path: pytest.TempPathFactory) -> None:
    where = Location(str(tmp_path / "pkg" / "mod.py"), 3)  # type: ignore[operator]
    assert where.short(str(tmp_path)) == "pkg/mod.py:3"
    assert Location("/elsewhere/mod.py", 1).short(str(tmp_path)) == "/elsewhere/mod.py:1"
    assert Location("relative.py", 2).short(None) == "relative.py:2"


# --- frames ----------------------------------------------------------------------------------------------


def test_library_frames() -> None:
    assert not _frames.is_library_frame(sys._getframe())  # this test file is user code
    assert _frames.is_library_location(asyncio.__file__)
    assert _frames.is_library_location(inspect.__file__)
    assert _frames.is_library_location("<frozen importlib._bootstrap>")
    assert _frames.is_library_location(pytest.__file__)
    assert _frames.is_library_location(_frames.__file__)
    assert not _frames.is_library_location("/project/src/app/site_packages_helper.py")


def test_first_user_frame_skips_library_frames() -> None:
    def through_library() -> types.FrameType | None:
        return _frames.first_user_frame(sys._getframe())

    frame = through_library()
    assert frame is not None
    assert frame.f_code.co_name == "through_library"


def test_awaits_what_it_calls_only_for_an_await_of_that_very_call() -> None:
    seen: dict[str, bool] = {}

    async def value() -> int:
        return 1

    def make(case: str, *exc_info: object) -> Any:  # like a mock's __call__: looks at its caller while being called
        seen[case] = _frames.awaits_what_it_calls(sys._getframe(1))
        return value()

    class Lock:  # partials (C) are called straight from the ``async with`` line, as a mock's dunders are
        __aenter__ = staticmethod(functools.partial(make, "async with: __aenter__"))
        __aexit__ = staticmethod(functools.partial(make, "async with: __aexit__"))

    async def main() -> None:
        await make("await f()")
        async with Lock():
            pass
        pending = make("kept first")
        await pending
        await asyncio.wait_for(make("passed on"), 1)

    asyncio.run(main())
    assert seen == {
        "await f()": True,
        "async with: __aenter__": True,
        "async with: __aexit__": True,
        "kept first": False,
        "passed on": False,
    }


def test_await_sites_are_remembered_per_code_object_and_match_a_fresh_scan() -> None:
    async def caller(mock: Any) -> None:
        await mock()
        pending = mock()
        await pending

    def awaits_after(raw: bytes, offset: int) -> bool:  # past the call's inline caches, the next one awaits
        index = offset + 2
        while index < len(raw) and raw[index] == _frames._CACHE:
            index += 2
        return index < len(raw) and raw[index] == _frames._GET_AWAITABLE

    assert _frames.await_sites(caller.__code__)  # the call in ``await mock()`` (``await pending`` calls nothing)
    for function in (caller, asyncio.wait_for, asyncio.wait, asyncio.sleep):
        code = function.__code__
        raw = code.co_code
        assert _frames.await_sites(code) == {offset for offset in range(0, len(raw), 2) if awaits_after(raw, offset)}

    seen: list[bool] = []

    def observing(*_: object) -> Any:
        seen.append(_frames.awaits_what_it_calls(sys._getframe(1)))
        return asyncio.sleep(0)

    asyncio.run(caller(observing))
    assert _frames._await_sites[id(caller.__code__)] == (caller.__code__, _frames.await_sites(caller.__code__))
    asyncio.run(caller(observing))  # the second time from the remembered sites
    assert seen == [True, False, True, False]


def test_the_remembered_await_sites_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_frames, "_AWAIT_SITES_KEPT", 1)
    monkeypatch.setattr(_frames, "_await_sites", {})

    def first() -> bool:
        return _frames.awaits_what_it_calls(sys._getframe())

    def second() -> bool:
        return _frames.awaits_what_it_calls(sys._getframe())

    assert (first(), second(), first()) == (False, False, False)
    assert list(_frames._await_sites.values()) == [(first.__code__, frozenset())]


def test_an_asyncmock_called_from_the_bottom_of_the_stack_is_still_watched() -> None:
    """The hook asks for the frame two levels up, where unittest.mock's ``__call__`` is; called straight
    from a module's top level there is no such frame, and the hook looks one level up instead."""
    script = (
        "from unittest.mock import AsyncMock\n"
        "from asyncmock_guard._collector import Collector\n"
        "collector = Collector()\n"
        "collector.install()\n"
        "coroutine = AsyncMock()._execute_mock_call()\n"
        "print(type(coroutine).__module__, collector.errors.count)\n"
        "coroutine.close()\n"
    )
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert completed.stdout.split() == ["asyncmock_guard._proxy", "0"]


def test_line_at_gives_the_line_a_frame_was_at() -> None:
    lines: list[tuple[int, int]] = []

    def record(*_: object) -> int:
        frame = sys._getframe(1)
        lines.append((frame.f_lineno, _frames.line_at(frame.f_code, frame.f_lasti)))
        return 1

    def calls() -> int:
        total = record()
        total += record(
            1,
            2,
        )
        for _ in range(2):
            total += len([record() for _ in range(1)])
        return total + sum(record(item) for item in range(2))

    calls()
    assert len(lines) == 6
    assert all(seen == computed for seen, computed in lines)
    assert _frames.line_at(calls.__code__, 10**6) == 0  # past the end


def test_spec_says_async_for_coroutine_functions_of_the_spec_only() -> None:
    class Service:
        async def fetch(self) -> int:
            return 1

        def add(self, item: object) -> None:
            pass

        @classmethod
        async def build(cls) -> Service:
            return cls()

        @functools.wraps(fetch)
        async def wrapped(self) -> int:
            return 2

    spec = create_autospec(Service, instance=True)
    assert spec_says_async(spec, "fetch")
    assert spec_says_async(spec, "build")
    assert spec_says_async(spec, "wrapped")
    assert not spec_says_async(spec, "add")
    assert not spec_says_async(spec, "missing")
    assert not spec_says_async(AsyncMock(), "fetch")  # no spec: nothing is known

    class Looped:
        def run(self) -> None:
            pass

    Looped.run.__wrapped__ = Looped.run  # type: ignore[attr-defined]  # inspect.unwrap raises ValueError
    assert not spec_says_async(create_autospec(Looped, instance=True), "run")
    assert not spec_says_async(object(), "run")  # no __dict__ at all


def test_mock_calls_awaited_at_once_get_no_proxy(collector: Collector) -> None:
    mock = AsyncMock(return_value=2)
    kinds: list[bool] = []

    async def awaited_at_once() -> object:
        return await mock()

    async def kept_first() -> object:
        pending = mock()
        kinds.append(isinstance(pending, CoroutineProxy))
        return await pending

    async def passed_on() -> object:
        return await asyncio.wait_for(mock(), 1)

    original_call = vars(stdlib_mock.AsyncMockMixin)["_execute_mock_call"]
    assert asyncio.run(awaited_at_once()) == 2
    assert collector.instrumentation.tracked == {}  # no record was made
    assert asyncio.run(kept_first()) == 2
    assert asyncio.run(passed_on()) == 2
    assert kinds == [True]
    assert vars(stdlib_mock.AsyncMockMixin)["_execute_mock_call"] is original_call
    assert collector.findings == []


# --- modes and findings --------------------------------------------------------------------------------


def test_mode_parse_is_case_insensitive_and_strict() -> None:
    assert Mode.parse(" WARN ", "x") is Mode.WARN
    with pytest.raises(pytest.UsageError, match="valid modes are 'strict', 'warn', 'off'"):
        Mode.parse("loud", "--asyncmock-guard")


def test_kind_vocabulary_is_stable() -> None:
    assert [kind.value for kind in FindingKind] == [
        "never-awaited",
        "coroutine-misuse",
        "spec-is-data",
        "async-mock-for-sync",
        "coroutine-as-return-value",
        "no-running-loop",
        "awaited-sync-mock",
    ]


def test_finding_json_shape() -> None:
    finding = Finding(FindingKind.NEVER_AWAITED, "t.py::test", "db.add", Location("/r/t.py", 3), "m", "f")
    assert finding.to_json("t.py", "0123456789abcdef", "/r") == {
        "kind": "never-awaited",
        "nodeid": "t.py::test",
        "subtest": None,
        "phase": "call",
        "subject": "db.add",
        "where": {"path": "t.py", "line": 3},
        "operation": None,
        "message": "m",
        "fix": "f",
        "change_at": {"path": "t.py", "line": 3},  # where the offending line is, unless told otherwise
        "bug_in": "test",
        "edits": [],
        "applicability": "safe",
        "count": 1,
        "fingerprint": "0123456789abcdef",
        "baselined": False,
    }


def test_finding_survives_the_trip_to_the_xdist_controller() -> None:
    finding = Finding(
        FindingKind.COROUTINE_MISUSE,
        None,
        "db.execute.return_value.scalars",
        Location("/r/app.py", 7, "ids"),
        "m",
        "f",
        operation="attribute 'all'",
        phase="session fixture db",
        mode="warn",
        baselined=True,
        change_at=Location("/r/app.py", 5, "ids"),
        bug_in="code",
        edits=(Edit("/r/app.py", 7, 12, 7, 12, "await "),),
        applicability="unsafe",
        count=3,
    )
    back = Finding.from_wire(json.loads(json.dumps(finding.to_wire())))
    assert back == finding
    assert (back.mode, back.baselined) == ("warn", True)
    assert (back.change_at, back.bug_in, back.edits) == (finding.change_at, "code", finding.edits)
    assert (back.applicability, back.count) == ("unsafe", 3)


def test_add_note() -> None:
    error = TypeError("boom")
    add_note(error, "first")
    add_note(error, "second")
    assert getattr(error, "__notes__", None) == ["first", "second"]


# --- instrumentation -------------------------------------------------------------------------------------


@pytest.fixture
def collector() -> Iterator[Collector]:
    collector = Collector()
    collector.instrumentation.install()
    yield collector
    collector.instrumentation.uninstall()


def test_install_and_uninstall_restore_everything() -> None:
    execute = vars(stdlib_mock.AsyncMockMixin)["_execute_mock_call"]
    hook = warnings._warn_unawaited_coroutine  # type: ignore[attr-defined]
    depth = sys.get_coroutine_origin_tracking_depth()
    construction_hooks = {
        "_mock_add_spec": vars(stdlib_mock.NonCallableMock)["_mock_add_spec"],
        "return_value": vars(stdlib_mock.NonCallableMock)["return_value"],
        "side_effect": vars(stdlib_mock.NonCallableMock)["side_effect"],
        "_check_and_set_parent": stdlib_mock._check_and_set_parent,  # type: ignore[attr-defined]
        "_patch.__enter__": vars(stdlib_mock._patch)["__enter__"],
    }

    def current() -> dict[str, object]:
        return {
            "_mock_add_spec": vars(stdlib_mock.NonCallableMock)["_mock_add_spec"],
            "return_value": vars(stdlib_mock.NonCallableMock)["return_value"],
            "side_effect": vars(stdlib_mock.NonCallableMock)["side_effect"],
            "_check_and_set_parent": stdlib_mock._check_and_set_parent,  # type: ignore[attr-defined]
            "_patch.__enter__": vars(stdlib_mock._patch)["__enter__"],
        }

    collector = Collector()
    collector.install()
    try:
        assert collector.instrumentation.installed
        assert vars(stdlib_mock.AsyncMockMixin)["_execute_mock_call"] is not execute
        assert warnings._warn_unawaited_coroutine is not hook  # type: ignore[attr-defined]
        assert sys.get_coroutine_origin_tracking_depth() >= ORIGIN_TRACKING_DEPTH
        collector.instrumentation.track_origins(deeply=True)
        assert sys.get_coroutine_origin_tracking_depth() >= SYNC_TEST_ORIGIN_TRACKING_DEPTH
        assert all(current()[name] is not original for name, original in construction_hooks.items())
    finally:
        collector.uninstall()
    assert vars(stdlib_mock.AsyncMockMixin)["_execute_mock_call"] is execute
    assert warnings._warn_unawaited_coroutine is hook  # type: ignore[attr-defined]
    assert sys.get_coroutine_origin_tracking_depth() == depth
    assert current() == construction_hooks


def test_the_assignment_hook_answers_as_unittest_mock_does() -> None:
    original = stdlib_mock._check_and_set_parent  # type: ignore[attr-defined]
    collector = Collector()
    collector.install()
    try:
        hooked = stdlib_mock._check_and_set_parent  # type: ignore[attr-defined]
        assert hooked is not original
        parent = MagicMock()
        call = stdlib_mock.call(1)
        for value in (True, 3, 1.5, "name", b"x", None, (1,), [1], {"a": 1}, call, stdlib_mock._CallList()):
            assert hooked(parent, value, "attribute", "attribute") is False
            assert original(parent, value, "attribute", "attribute") is False
        child = MagicMock()
        assert hooked(parent, child, "child", "child") is True  # a mock is still attached
        assert child._mock_new_parent is parent
        parent.client = MagicMock()
        parent.client.fetch(1)
        parent.client.fetch.assert_called_once_with(1)
        assert parent.mock_calls == [stdlib_mock.call.client.fetch(1)]
    finally:
        collector.uninstall()
    assert stdlib_mock._check_and_set_parent is original  # type: ignore[attr-defined]


@pytest.fixture
def origin_depth() -> Iterator[None]:
    """The tracking depth before and after a test that changes it."""
    depth = sys.get_coroutine_origin_tracking_depth()
    sys.set_coroutine_origin_tracking_depth(0)
    yield
    sys.set_coroutine_origin_tracking_depth(depth)


@pytest.mark.usefixtures("origin_depth")
def test_origins_are_tracked_deeper_only_when_asked() -> None:
    instrumentation = Collector().instrumentation
    instrumentation.track_origins(deeply=True)  # not installed: nothing changes
    assert sys.get_coroutine_origin_tracking_depth() == 0
    with instrumentation:
        assert sys.get_coroutine_origin_tracking_depth() == ORIGIN_TRACKING_DEPTH
        instrumentation.track_origins(deeply=True)
        assert sys.get_coroutine_origin_tracking_depth() == SYNC_TEST_ORIGIN_TRACKING_DEPTH
        instrumentation.track_origins(deeply=False)
        assert sys.get_coroutine_origin_tracking_depth() == ORIGIN_TRACKING_DEPTH
    assert sys.get_coroutine_origin_tracking_depth() == 0


@pytest.mark.usefixtures("origin_depth")
def test_a_deeper_tracking_depth_set_before_or_meanwhile_is_kept() -> None:
    sys.set_coroutine_origin_tracking_depth(10)  # asyncio's debug mode, say
    with Collector().instrumentation as instrumentation:
        instrumentation.track_origins(deeply=True)
        instrumentation.track_origins(deeply=False)
        assert sys.get_coroutine_origin_tracking_depth() == 10
    assert sys.get_coroutine_origin_tracking_depth() == 10
    sys.set_coroutine_origin_tracking_depth(0)
    with Collector().instrumentation as instrumentation:
        sys.set_coroutine_origin_tracking_depth(10)  # a debug loop starts running
        instrumentation.track_origins(deeply=True)
        assert sys.get_coroutine_origin_tracking_depth() == 10
        sys.set_coroutine_origin_tracking_depth(ORIGIN_TRACKING_DEPTH)  # and stops, restoring the guard's
        instrumentation.track_origins(deeply=True)
        assert sys.get_coroutine_origin_tracking_depth() == SYNC_TEST_ORIGIN_TRACKING_DEPTH
    assert sys.get_coroutine_origin_tracking_depth() == 0


def test_proxy_looks_like_a_coroutine(collector: Collector) -> None:
    coroutine: Any = AsyncMock(return_value=5)()
    assert issubclass(type(coroutine), CoroutineProxy)
    assert isinstance(coroutine, types.CoroutineType)  # what isinstance checks in libraries see
    assert inspect.iscoroutine(coroutine)
    assert asyncio.iscoroutine(coroutine)
    assert inspect.isawaitable(coroutine)
    assert repr(coroutine).startswith("<coroutine object AsyncMockMixin._execute_mock_call at ")
    assert coroutine.cr_code.co_name == "_execute_mock_call"
    assert asyncio.run(coroutine) == 5
    assert collector.findings == []


async def _plain() -> None:
    return None


def test_proxy_shows_only_what_a_coroutine_has(collector: Collector) -> None:
    """Code that asks what a value supports gets a coroutine's answer: the operators the proxy defines to see
    a misuse are invisible to ``hasattr`` and to ``collections.abc``'s structural checks."""
    coroutine: Any = AsyncMock(return_value=5)()
    real = _plain()
    names = ["__len__", "__iter__", "__getitem__", "__setitem__", "__contains__", "__bool__", "__aenter__"]
    names += ["__aexit__", "__aiter__", "__enter__", "__add__", "__weakref__", "__module__", "__dict__", "__del__"]
    assert [hasattr(coroutine, name) for name in names] == [hasattr(real, name) for name in names]
    protocols: list[type] = [abc.Iterable, abc.Sized, abc.Container, abc.Collection, abc.Reversible]
    protocols += [abc.AsyncIterable, contextlib.AbstractContextManager, contextlib.AbstractAsyncContextManager]
    assert [isinstance(coroutine, p) for p in protocols] == [isinstance(real, p) for p in protocols] == [False] * 8
    assert not callable(coroutine)
    assert [isinstance(coroutine, kind) for kind in (abc.Coroutine, abc.Awaitable, abc.Hashable)] == [True] * 3
    assert dir(coroutine) == dir(real)
    assert coroutine.__doc__ is real.__doc__ is None
    assert id(weakref.ref(coroutine)()) == id(coroutine)
    with pytest.raises(AttributeError, match="'coroutine' object has no attribute 'tag'"):
        coroutine.tag = 1
    assert asyncio.run(coroutine) == 5
    real.close()
    assert collector.findings == []


def test_a_use_as_a_value_is_a_finding_only_if_the_coroutine_is_not_awaited_after_all(collector: Collector) -> None:
    mock = AsyncMock(return_value=5)
    awaited = mock()
    assert awaited  # a truth test (always true)...
    with pytest.raises(TypeError):
        len(awaited)
    assert asyncio.run(awaited) == 5  # ...then awaited: the code only tried it
    closed = mock()
    assert closed
    closed.close()
    dropped = mock()
    assert dropped  # <-- the finding
    line = sys._getframe().f_lineno - 1
    del awaited, closed, dropped
    gc.collect()
    [finding] = collector.findings
    assert finding.kind is FindingKind.COROUTINE_MISUSE
    assert finding.operation == "truth test"
    assert (finding.where.path, finding.where.line) == (__file__, line)


def test_proxy_send_and_close_count_as_use(collector: Collector) -> None:
    mock = AsyncMock(return_value=3)
    coroutine = mock()
    with pytest.raises(StopIteration) as stop:
        coroutine.send(None)
    assert stop.value.value == 3
    closed = mock()
    closed.close()
    del coroutine, closed
    gc.collect()
    assert collector.findings == []
    assert collector.instrumentation.unsettled(None) == 0
    assert collector.instrumentation.tracked == {}


def test_yield_from_in_a_generator_based_coroutine_is_an_await(collector: Collector) -> None:
    @types.coroutine
    def legacy(awaitable: Any) -> Generator[Any, Any, Any]:
        return (yield from awaitable)

    async def main() -> object:
        return await legacy(AsyncMock(return_value=4)())

    assert asyncio.run(main()) == 4
    gc.collect()
    assert collector.findings == []


def test_dropped_coroutine_is_a_finding(collector: Collector) -> None:
    client = AsyncMock()
    client.ping()
    gc.collect()
    [finding] = collector.findings
    assert finding.kind is FindingKind.NEVER_AWAITED
    assert finding.subject == "AsyncMock().ping"  # no test context and no name: what built it
    assert finding.where.path == __file__


def test_guard_keeps_no_mock_or_coroutine_alive(collector: Collector) -> None:
    mock = AsyncMock(return_value=1)
    coroutine = mock()
    mock_ref = weakref.ref(mock)
    assert asyncio.run(coroutine) == 1
    del mock, coroutine
    gc.collect()
    assert mock_ref() is None


def test_internal_error_never_breaks_the_call(collector: Collector, monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(*args: object) -> None:
        raise RuntimeError("guard bug")

    monkeypatch.setattr(collector, "mock_coroutine_created", explode)
    assert asyncio.run(AsyncMock(return_value=2)()) == 2
    assert collector.errors.count == 1
    assert "guard bug" in collector.errors.tracebacks[0]
