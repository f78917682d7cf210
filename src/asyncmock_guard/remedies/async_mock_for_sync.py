"""``async-mock-for-sync``: an AsyncMock where the real member is synchronous (by its spec, the known-sync
table, the user's entries, or the real attribute a patch replaced).

Three shapes: the test assigned it (``store.save = AsyncMock()``: that call becomes a ``MagicMock(...)``);
a patch put it there (``patch(..., new_callable=AsyncMock)`` or ``new=AsyncMock(...)``: the patch makes a
MagicMock instead; ``new=`` takes no mock keywords, so the object itself is rewritten); or it is a child of
an AsyncMock (the core finding's remedy, ``_mock_call``, with what is known put first).
"""

from __future__ import annotations

import ast

from asyncmock_guard import _advice, _edits, _source
from asyncmock_guard._evidence import SyncEvidence
from asyncmock_guard._findings import Location
from asyncmock_guard._known_sync import Returns
from asyncmock_guard.remedies._mock_edits import (
    MOCK_MODULE,
    added_lines,
    patch_call_node,
    replace_class_at,
    where_to_edit,
)
from asyncmock_guard.remedies._remedy import SAFE, Remedy


def assigned_edits(where: Location, evidence: SyncEvidence) -> tuple[_edits.Edit, ...]:
    """``parent.member = AsyncMock(...)`` at ``where`` rewritten as ``MagicMock(...)``, shaped as the code uses
    it: for an async context manager, the test's ``return_value`` is what ``async with ... as x`` binds; the
    members of the returned object that the real code awaits stay AsyncMocks."""
    site = _source.call_at(where.path, where.line, "AsyncMock")
    statement = site.statement if site is not None else None
    target = site.target if site is not None else None
    if site is None or not isinstance(statement, ast.Assign) or target is None:
        return replace_class_at(where, "AsyncMock", "MagicMock")
    returned = site.keyword("return_value")
    lines: list[str] = []
    rebuilt = None
    if evidence.returns is Returns.ASYNC_CONTEXT_MANAGER and returned is not None:
        kept = [keyword for keyword in site.call.keywords if keyword.arg != "return_value"]
        arguments = [site.text(argument) for argument in site.call.args]
        arguments += [site.text(k) if k.arg is None else f"{k.arg}={site.text(k.value)}" for k in kept]
        prefix = site.text(site.call.func).removesuffix("AsyncMock")
        rebuilt = _edits.replace_node(where.path, site.call, f"{prefix}MagicMock({', '.join(arguments)})")
        lines.append(f"{target}.return_value.__aenter__.return_value = {site.text(returned)}")
    lines += [f"{target}.return_value.{member} = AsyncMock()" for member in evidence.returned_awaits]
    edits = list(replace_class_at(where, "AsyncMock", "MagicMock")) if rebuilt is None else [rebuilt]
    if not edits:
        return ()
    if lines:
        inserted = _edits.insert_after_statement(where.path, statement, "\n".join(lines))
        if inserted is None:
            return ()
        edits.insert(1, inserted)
    for name in ("MagicMock", *(["AsyncMock"] if evidence.returned_awaits else [])):
        imported = _edits.ensure_import(where.path, MOCK_MODULE, name)
        if imported is not None and imported not in edits:
            edits.append(imported)
    return tuple(dict.fromkeys(edits))


def _is_async_mock_name(node: ast.expr) -> bool:
    return (isinstance(node, ast.Name) and node.id == "AsyncMock") or (
        isinstance(node, ast.Attribute) and node.attr == "AsyncMock"
    )


def _patched_edits(where: Location) -> tuple[_edits.Edit, ...]:
    node = patch_call_node(where)
    if node is None:
        return ()
    made = [
        _edits.replace_node(where.path, keyword.value, "MagicMock")
        for keyword in node.keywords
        if keyword.arg == "new_callable" and _is_async_mock_name(keyword.value)
    ]
    if not made:  # ``new=AsyncMock(...)``, or ``patch.object(x, "attr", AsyncMock(...))``
        for value in (*node.args, *(keyword.value for keyword in node.keywords if keyword.arg == "new")):
            if isinstance(value, ast.Call) and _source.callee_name(value) == "AsyncMock":
                line = Location(where.path, value.lineno, where.function)
                return replace_class_at(line, "AsyncMock", "MagicMock")
    edits = [edit for edit in made if edit is not None]
    if not edits:
        return ()
    imported = _edits.ensure_import(where.path, MOCK_MODULE, "MagicMock")
    return (*edits, imported) if imported is not None else tuple(edits)


def patched(subject: str, evidence: SyncEvidence, where: Location, call: str | None, *, rootdir: str | None) -> Remedy:
    """``patch(...)`` that puts an AsyncMock on a synchronous attribute."""
    message, fix = _advice.async_mock_for_sync_patched(subject, evidence, where, call, rootdir=rootdir)
    edits = _patched_edits(where)
    if not edits:
        return Remedy(f"{message} (No edit is offered: the patch call cannot be read.)", fix, change_at=where)
    lines = [where_to_edit(edits, rootdir), *added_lines(edits)]
    lines.append("# or patch(..., autospec=True): made from the real attribute, async exactly where it is async")
    return Remedy(message, "\n".join(lines), edits, SAFE, where)


def with_edits(message: str, fix: str, edits: tuple[_edits.Edit, ...], rootdir: str | None) -> Remedy:
    """An assigned AsyncMock's advice, its fix text led by what the edits write."""
    if not edits:
        return Remedy(f"{message} (No edit is offered: the assignment cannot be rewritten mechanically.)", fix)
    alternatives = [line for line in fix.splitlines() if line.startswith("#")]
    extra = [line for line in fix.splitlines()[1:] if not line.startswith("#")]  # protocol lines (async with)
    lines = [where_to_edit(edits, rootdir), *added_lines(edits), *extra, *alternatives]
    return Remedy(message, "\n".join(lines), edits, SAFE)
