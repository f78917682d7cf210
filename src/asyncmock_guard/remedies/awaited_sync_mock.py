"""``awaited-sync-mock``: the code under test awaits a ``Mock``/``MagicMock``. The mock becomes an AsyncMock
where the test built it; but when its spec says the real member is synchronous, the code under test is
wrong to await it, and the edit removes that ``await`` (unsafe: it changes the code under test)."""

from __future__ import annotations

import ast

from asyncmock_guard import _advice, _binding, _edits, _source
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
    message, fix = _advice.awaited_sync_mock(mock, subject, where, called=called, rootdir=rootdir)
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
