"""The known-sync table against the real libraries: every entry must say what the installed class does."""

from __future__ import annotations

import asyncio
import collections.abc
import importlib
import inspect
import types
import typing
from typing import Any

import pytest

from asyncmock_guard._known_sync import ASYNC_NAMESAKES, AWAITED_RESULTS, SYNC_MEMBERS, Returns, SyncMember


def _real_class(owner: str) -> type:
    module_name, _, class_name = owner.partition(":")
    module = pytest.importorskip(module_name)
    cls = getattr(module, class_name)
    assert isinstance(cls, type), owner
    return cls


def _member(owner: str, name: str) -> Any:
    cls = _real_class(owner)
    member = inspect.getattr_static(cls, name, None)
    assert member is not None, f"{owner} has no member {name!r}"
    return member


def _unwrapped(member: Any) -> Any:
    return inspect.unwrap(getattr(member, "__func__", member))


def _is_async(member: Any) -> bool:
    """As ``unittest.mock`` decides it for a spec: a coroutine function once decorators are unwrapped."""
    return inspect.iscoroutinefunction(_unwrapped(member))


@pytest.mark.parametrize("entry", SYNC_MEMBERS, ids=lambda e: f"{e.class_name}.{e.name}")
def test_sync_member_is_synchronous(entry: SyncMember) -> None:
    member = _member(entry.owner, entry.name)
    if entry.returns is Returns.PROPERTY:
        assert isinstance(member, property)
        return
    assert callable(member)
    assert not _is_async(member), f"{entry.title} is async in the installed {entry.library}"


@pytest.mark.parametrize(
    "entry",
    [m for m in SYNC_MEMBERS if m.returns is Returns.ASYNC_CONTEXT_MANAGER],
    ids=lambda e: f"{e.class_name}.{e.name}",
)
def test_async_context_manager_members_return_one(entry: SyncMember) -> None:
    """What the call returns has ``__aenter__``: an ``@asynccontextmanager`` function, or read from the
    return annotation, resolved in the library's module."""
    member = _member(entry.owner, entry.name)
    if inspect.isasyncgenfunction(_unwrapped(member)):
        assert hasattr(member, "__wrapped__"), f"{entry.title} is an async generator, not a context manager"
        return
    annotation = inspect.signature(member).return_annotation
    if isinstance(annotation, str):
        module = importlib.import_module(member.__module__)
        annotation = eval(annotation.split("[")[0], vars(module))
    annotation = getattr(annotation, "__origin__", annotation)
    assert hasattr(annotation, "__aenter__"), f"{entry.title} returns {annotation!r}"


@pytest.mark.parametrize("entry", ASYNC_NAMESAKES, ids=lambda e: f"{e.class_name}.{e.name}")
def test_async_namesakes_are_async(entry: SyncMember) -> None:
    assert _is_async(_member(entry.owner, entry.name)), entry.title


@pytest.mark.parametrize("entry", AWAITED_RESULTS, ids=lambda e: f"{e.owner}.{e.name}")
def test_awaited_results(entry: Any) -> None:
    assert _is_async(_member(entry.owner, entry.name)), f"{entry.owner}.{entry.name} is not async"
    _real_class(entry.result)


def _annotated_return(member: Any) -> Any:
    """The resolved return annotation of a real member (``inspect.Signature.empty`` when it has none)."""
    function = getattr(member, "__func__", member)
    try:
        return typing.get_type_hints(function).get("return", inspect.Signature.empty)
    except NameError:  # a name only the type checker sees: resolve the text in the library's module
        annotation = inspect.signature(function).return_annotation
        module = importlib.import_module(function.__module__)
        return eval(annotation.split("[")[0], vars(module)) if isinstance(annotation, str) else annotation


def _can_be_awaited(annotation: Any) -> bool:
    """Whether a value of the annotated type may be awaited: the class (or a member of the union) defines
    ``__await__``, or the annotation says ``Awaitable``/``Coroutine``."""
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        return any(_can_be_awaited(member) for member in typing.get_args(annotation))
    cls = origin or annotation
    return cls in (collections.abc.Awaitable, collections.abc.Coroutine) or hasattr(cls, "__await__")


def _motor_result(entry: SyncMember) -> Any:
    """Motor's methods are generated and unannotated: call the real one (no I/O happens before iteration)."""
    motor_asyncio = pytest.importorskip("motor.motor_asyncio")

    async def call() -> Any:
        client = motor_asyncio.AsyncIOMotorClient("mongodb://localhost:1", connect=False)
        collection = client.db.collection
        arguments: dict[str, tuple[Any, ...]] = {"find": ({},), "aggregate": ([],)}
        return getattr(collection, entry.name)(*arguments.get(entry.name, ()))

    return asyncio.run(call())


@pytest.mark.parametrize("entry", SYNC_MEMBERS, ids=lambda e: f"{e.class_name}.{e.name}")
def test_awaitable_says_whether_the_real_result_can_be_awaited(entry: SyncMember) -> None:
    """``awaitable`` is what the installed library's member returns: an object with ``__await__`` (aiohttp's
    request context managers, SQLAlchemy's startable contexts, redis's pipeline) or not."""
    member = _member(entry.owner, entry.name)
    if entry.returns is Returns.PROPERTY:
        assert not entry.awaitable, entry.title
        return
    if inspect.isasyncgenfunction(_unwrapped(member)):  # @asynccontextmanager: its manager cannot be awaited
        assert not entry.awaitable, entry.title
        return
    if entry.library == "motor":
        assert entry.awaitable is hasattr(type(_motor_result(entry)), "__await__"), entry.title
        return
    annotation = _annotated_return(member)
    assert annotation is not inspect.Signature.empty, f"{entry.title} has no return annotation to check"
    assert entry.awaitable is _can_be_awaited(annotation), f"{entry.title} returns {annotation!r}"
