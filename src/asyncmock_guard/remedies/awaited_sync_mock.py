"""``awaited-sync-mock``: the code under test awaits a ``Mock``/``MagicMock``. The mock becomes an AsyncMock
where the test built it; but when its spec says the real member is synchronous, the code under test is
wrong to await it, and the edit removes that ``await`` (unsafe: it changes the code under test)."""

from __future__ import annotations

import ast
import inspect

from asyncmock_guard import _binding, _edits, _frames, _naming, _source
from asyncmock_guard._findings import Location
from asyncmock_guard.remedies._mock_edits import (
    MOCK_MODULE,
    added_lines,
    configure_after_binding,
    explicit_construction,
    segments_between,
    where_to_edit,
)
from asyncmock_guard.remedies._remedy import SAFE, UNSAFE, Remedy


def _remove_await(where: Location, expression: ast.expr) -> _edits.Edit | None:
    tree = _source.module_of(where.path)
    for node in ast.walk(tree) if tree is not None else ():
        if isinstance(node, ast.Await) and node.value is expression:
            return _edits.replace_node(where.path, node, _source.text_of(where.path, expression))
    return None


def _to_async_mock(scope: _binding.Scope, mock: object) -> tuple[_edits.Edit, ...]:
    for old in ("MagicMock", "Mock"):
        edit = explicit_construction(scope, mock, old, "AsyncMock")
        if edit is not None:
            break
    else:
        bound = _binding.bind(mock, scope)
        binding, anchor = bound.binding, bound.anchor
        segments = segments_between(anchor, mock) if anchor is not None else None
        if binding is None or not segments:
            return ()
        edit = configure_after_binding(binding, f"{'.'.join((binding.name, *segments))} = AsyncMock()")
    if edit is None:
        return ()
    imported = _edits.ensure_import(edit.path, MOCK_MODULE, "AsyncMock")
    return (edit, imported) if imported is not None else (edit,)


def remedy(
    mock: object,
    scope: _binding.Scope,
    where: Location,
    expression: ast.expr,
    *,
    called: bool,
    rootdir: str | None,
) -> Remedy:
    subject = _binding.bind(mock, scope).subject
    message, fix = _message_and_fix(mock, subject, where, called=called, rootdir=rootdir)
    if fix.startswith("# remove the `await`"):  # the spec says the real member is synchronous
        edit = _remove_await(where, expression)
        edits: tuple[_edits.Edit, ...] = (edit,) if edit is not None else ()
        text = "\n".join([where_to_edit(edits, rootdir), *added_lines(edits)]) if edits else fix
        return Remedy(message, text, edits, UNSAFE, where, "code")
    if not called:
        return Remedy(f"{message} (No edit is offered: the code awaits the mock itself.)", fix, bug_in="test")
    edits = _to_async_mock(scope, mock)
    if not edits:
        return Remedy(f"{message} (No edit is offered: the guard cannot tell where the mock was built.)", fix)
    alternatives = [line for line in fix.splitlines() if line.startswith("#")]
    lines = [where_to_edit(edits, rootdir), *added_lines(edits), *alternatives]
    return Remedy(message, "\n".join(lines), edits, SAFE, Location(edits[0].path, edits[0].row), "test")


# --- the message and fix text ---------------------------------------------------------------------
def _message_and_fix(
    mock: object, subject: str, where: Location, *, called: bool, rootdir: str | None
) -> tuple[str, str]:
    """Advice for ``await store.save(...)`` where ``store.save`` is a Mock/MagicMock."""
    kind = type(mock).__name__
    awaited = f"{subject}(...)" if called else subject
    message = (
        f"The code at {where.short(rootdir)} awaits `{awaited}`, but `{subject}` is a {kind}, not an"
        f" AsyncMock, so {'its return value' if called else 'it'} cannot be awaited."
    )
    configured = _naming.configured_return_value(mock) if called else _naming.DEFAULT
    plain = configured is not _naming.DEFAULT and not _naming.is_mock(configured)
    value = _naming.expression_for(configured, {}) if plain else "..."
    fix = [f"{subject} = AsyncMock(return_value={value})" if called else f"{subject} = AsyncMock()()  # an awaitable"]
    parent = _naming.parent_of(mock)
    spec = _naming.spec_class(parent) if parent is not None else None
    attribute = _naming.segment_of(mock)
    if spec is not None and attribute is not None:
        real = inspect.getattr_static(spec, attribute, None)
        if real is not None and not _frames.is_coroutine_function(real):
            message += (
                f" It is specced from `{spec.__qualname__}`, whose `{attribute}` is synchronous: either the code"
                f" under test must not await it, or the real `{attribute}` has become async and the spec is stale."
            )
            fix = [f"# remove the `await` at {where.short(rootdir)}, or make `{spec.__qualname__}.{attribute}` async"]
            return message, "\n".join(fix)
        parent_subject = subject.rpartition(".")[0]
        fix.append(
            f"# or spec it from the real class: {parent_subject} = create_autospec({spec.__qualname__}, instance=True)"
        )
    else:
        fix.append(
            "# or make the mock with create_autospec(RealClass, instance=True): its async methods are AsyncMocks"
        )
    return message, "\n".join(fix)
