"""How many tests of the run share a mock built outside them, by a fixture or a helper.

One wrong line in a fixture or helper fails every test that uses it, and one edit there clears them all:
the report says how many there are. They are the collected items that reach the place where the mock was
built the way this test did, through the first fixture or helper on its way (``Binding.via``): the items
that request that fixture (pytest resolves each one's fixture closure at collection), or whose test function
(or its class's ``setUp``) names that helper. Counted once per session, when the first such finding is made.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from types import CodeType
from typing import Any

import pytest

from asyncmock_guard import _binding

_users_key = pytest.StashKey["Users"]()


def _names_in(code: CodeType) -> Iterator[str]:
    """Every name a code object and the functions nested in it load, call or read as an attribute."""
    yield from code.co_names
    for constant in code.co_consts:
        if isinstance(constant, CodeType):
            yield from _names_in(constant)


def _codes_of(function: object) -> Iterator[CodeType]:
    """The code of a test function and of what it wraps (pytest-asyncio and hypothesis wrap tests)."""
    for _ in range(16):
        if function is None:
            return
        target = getattr(function, "__func__", function)
        code = getattr(target, "__code__", None)
        if isinstance(code, CodeType):
            yield code
        inner = getattr(getattr(target, "hypothesis", None), "inner_test", None)
        function = inner if inner is not None else getattr(target, "__wrapped__", None)


def _fixture_functions(item: object) -> dict[str, object]:
    """argname -> the function of the fixture the item gets under that name (the closest definition)."""
    info = getattr(item, "_fixtureinfo", None)
    definitions = getattr(info, "name2fixturedefs", None) or {}
    names = getattr(info, "names_closure", None) or list(definitions)
    functions: dict[str, object] = {}
    for name in names:
        defs = definitions.get(name)
        if defs:
            functions[name] = getattr(defs[-1], "func", None)
    return functions


def _helper_names(item: object) -> frozenset[str]:
    """The names the item's test function, and its class's set-up methods, use."""
    names: set[str] = set()
    functions = [getattr(item, "obj", None)]
    cls = getattr(item, "cls", None)
    if cls is not None:
        functions.extend(getattr(cls, name, None) for name in _binding.SETUP_NAMES)
    for function in functions:
        for code in _codes_of(function):
            names.update(_names_in(code))
    return frozenset(names)


class Users:
    """For each collected item, what it reaches: its fixtures and the names its test code uses."""

    def __init__(self, items: Sequence[object]) -> None:
        self._reaches = [(_fixture_functions(item), _helper_names(item), item) for item in items]

    def of(self, hop: _binding.Hop) -> list[object]:
        """The items that take ``hop`` on their way: request that fixture, or name that helper."""
        if hop.kind == _binding.FIXTURE:
            return [item for fixtures, _, item in self._reaches if fixtures.get(hop.name) is hop.function]
        users = []
        for _, names, item in self._reaches:
            if hop.name not in names:
                continue
            module_globals: dict[str, Any] = getattr(getattr(item, "obj", None), "__globals__", None) or {}
            same = module_globals.get(hop.name, hop.function)  # named as an attribute (fakes.make_resolver): no global
            if same is hop.function or not callable(same):
                users.append(item)
        return users


def tests_sharing(binding: _binding.Binding, item: object) -> int | None:
    """How many of the session's tests reach ``binding`` the way ``item`` does; None when not known (no
    session, or the count does not include ``item`` itself, so it cannot be trusted)."""
    if not binding.via:
        return None
    session = getattr(item, "session", None)
    items = getattr(session, "items", None)
    if session is None or not items:
        return None
    users = session.stash.get(_users_key, None)
    if users is None:
        users = session.stash[_users_key] = Users(items)
    sharing = users.of(binding.via[0])
    return len(sharing) if any(user is item for user in sharing) else None
