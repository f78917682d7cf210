"""Naming mocks the way the test wrote them: ``mock_db.execute.return_value.scalars``, not ``mock().scalars``.

``unittest.mock`` remembers each child's parent and attribute name, but not the variable the test bound
the root to. That name is found by identity in the test's own scope: the locals of the test function's
frame, its fixtures (``item.funcargs``) and, for class-based tests, the attributes of ``self``
(``_binding.scope_of`` collects them, with where each name came from).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from asyncmock_guard import _mock_modules

_RETURN_VALUE = "()"
# what ``configured_return_value`` gives for nothing configured; compare with ``is_default``, which knows the
# backport's too
DEFAULT = _mock_modules.STANDARD.DEFAULT
_MAX_CHAIN = 64  # mocks can be made to point at themselves; never loop forever


def is_mock(obj: object) -> bool:
    return isinstance(obj, _mock_modules.NON_CALLABLE)


def is_async_mock(obj: object) -> bool:
    return isinstance(obj, _mock_modules.ASYNC)


def is_async_mock_class(cls: object) -> bool:
    return isinstance(cls, type) and issubclass(cls, _mock_modules.ASYNC)


def is_default(value: object) -> bool:
    """One of the mock libraries' ``DEFAULT``: nothing configured, or "return as configured"."""
    return _mock_modules.is_default(value)


def _state(node: object, key: str) -> Any:
    """Read mock bookkeeping straight from the instance dict, never through ``Mock.__getattr__``."""
    try:
        return vars(node).get(key)
    except TypeError:
        return None


def parent_of(node: object) -> object | None:
    parent = _state(node, "_mock_new_parent")
    if parent is None:
        parent = _state(node, "_mock_parent")
    return parent if is_mock(parent) else None


def segment_of(node: object) -> str | None:
    """The attribute name under its parent, ``return_value`` for a call's result."""
    name = _state(node, "_mock_new_name") or _state(node, "_mock_name")
    if not isinstance(name, str) or not name:
        return None
    return "return_value" if name == _RETURN_VALUE else name


def ancestry(node: object) -> list[object]:
    """The mock and its ancestors, innermost first."""
    chain = [node]
    seen = {id(node)}
    current = parent_of(node)
    while current is not None and id(current) not in seen and len(chain) < _MAX_CHAIN:
        chain.append(current)
        seen.add(id(current))
        current = parent_of(current)
    return chain


@dataclass(frozen=True)
class MockPath:
    """A mock's path: the name it hangs from (``anchor``) and the segments below it."""

    anchor: str
    segments: tuple[str, ...]

    def __str__(self) -> str:
        return ".".join((self.anchor, *self.segments))

    def child(self, *segments: str) -> MockPath:
        return MockPath(self.anchor, (*self.segments, *segments))


def path_of(node: object, names: Mapping[int, str], *, outermost: bool = True) -> MockPath:
    """The path of ``node`` from its outermost (or innermost) ancestor that the test named.

    Without any named ancestor, the root's own ``name`` (``patch`` names its mocks after the
    patched attribute) is used, else what built it (``AsyncMock()``).
    """
    chain = ancestry(node)
    best: int | None = None
    for index, member in enumerate(chain):
        if id(member) in names:
            best = index
            if not outermost:
                break
    if best is None:
        best = len(chain) - 1
        root = chain[best]
        root_name = _state(root, "_mock_name")
        # never a bare ``mock``: what built it, when nothing named it
        anchor = root_name if isinstance(root_name, str) and root_name else f"{type(root).__name__}()"
    else:
        anchor = names[id(chain[best])]
    segments = []
    for member in reversed(chain[:best]):
        segment = segment_of(member)
        if segment is not None:
            segments.append(segment)
    return MockPath(anchor, tuple(segments))


def subject_of(node: object, names: Mapping[int, str]) -> str:
    """The subject string of a finding about ``node``: from its innermost ancestor the test named, which is
    where the test built it (``asset_result.scalars``, not ``mock_db.execute.return_value.scalars``)."""
    return str(path_of(node, names, outermost=False))


def spec_class(node: object) -> type | None:
    """The real class a mock was specced from (``spec=``, ``create_autospec``), if any."""
    spec = _state(node, "_spec_class")
    return spec if isinstance(spec, type) else None


def configured_return_value(node: object) -> object:
    """The return value a test configured on a mock, or a ``DEFAULT`` (see ``is_default``)."""
    value = _state(node, "_mock_return_value")
    return DEFAULT if value is None and "_mock_return_value" not in vars(node) else value


def configured_child(node: object, attribute: str) -> object | None:
    """An attribute mock already made on ``node`` (explicitly or by earlier access), or None."""
    children = _state(node, "_mock_children")
    if not isinstance(children, dict):
        return None
    child = children.get(attribute)
    return child if is_mock(child) else None


def expression_for(value: object, names: Mapping[int, str], placeholder: str = "...") -> str:
    """How to write ``value`` in the fix: its name in the test, a short literal, or a placeholder."""
    if is_default(value):
        return placeholder
    if value is None or isinstance(value, (bool, int, float, str, bytes)):
        text = repr(value)  # a short literal says more than a variable that happens to hold it
        if len(text) <= 60:
            return text
    name = names.get(id(value))
    if name is not None:
        return name
    if isinstance(value, (list, tuple, dict, set)):
        text = repr(value)
        if len(text) <= 60 and "<" not in text:
            return text
    return placeholder
