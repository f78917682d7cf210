"""The known-sync table against the real libraries: every entry must say what the installed class does."""

from __future__ import annotations

import importlib
import inspect
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
