"""``coroutine-as-return-value``: ``return_value`` or ``side_effect`` set to a coroutine *object*, which runs
at most once and hands the code under test the coroutine itself.

The edit gives the mock the value the coroutine produces, computed where the test sets it up: ``await
load(...)`` in an ``async def`` (never inside a plain ``def``), ``asyncio.run(load(...))`` in a sync one.
A ``side_effect`` given a coroutine object becomes that ``return_value``.
"""

from __future__ import annotations

import ast

from asyncmock_guard import _advice, _edits, _source
from asyncmock_guard._findings import Location
from asyncmock_guard._source import CallSite
from asyncmock_guard.remedies._mock_edits import added_lines, enclosing_function, where_to_edit
from asyncmock_guard.remedies._remedy import SAFE, Remedy


def _value_of(expression: str, *, in_async: bool) -> str:
    return f"await {expression}" if in_async else f"asyncio.run({expression})"


def _edits_for(where: Location, site: CallSite | None, slot: str, node: ast.expr) -> tuple[_edits.Edit, ...] | str:
    function = enclosing_function(where)
    if function is None:
        return "the coroutine is made outside any function"
    in_async = isinstance(function, ast.AsyncFunctionDef)
    expression = _source.text_of(where.path, node)
    value = _value_of(expression, in_async=in_async)
    made: list[_edits.Edit | None] = []
    if site is not None:  # a keyword of the mock's constructor: ``AsyncMock(side_effect=load())``
        keyword = next((k for k in site.call.keywords if k.arg == slot), None)
        if keyword is None:
            return "the keyword cannot be found in the call"
        made.append(_edits.replace_node(where.path, keyword, f"return_value={value}"))
    else:  # an assignment: ``store.load.return_value = load()``
        tree = _source.module_of(where.path)
        statement = _source.statement_at(tree, where.line) if tree is not None else None
        if not isinstance(statement, ast.Assign) or statement.value is not node or len(statement.targets) != 1:
            return "the assignment cannot be read"
        target = statement.targets[0]
        if not isinstance(target, ast.Attribute):
            return "the assignment's target is not an attribute"
        owner = _source.text_of(where.path, target.value)
        made.append(_edits.replace_node(where.path, statement, f"{owner}.return_value = {value}"))
    if not in_async:
        made.append(_edits.ensure_module_import(where.path, "asyncio"))
    edits = tuple(edit for edit in made if edit is not None)
    return edits if edits else "the source cannot be read"


def remedy(
    where: Location, site: CallSite | None, subject: str, slot: str, value: object, *, rootdir: str | None
) -> Remedy:
    message, fix = _advice.coroutine_as_return_value(where, site, subject, slot, value, rootdir=rootdir)
    node = site.keyword(slot) if site is not None else _advice.assigned_value(where)
    made = _edits_for(where, site, slot, node) if node is not None else "the source cannot be read"
    if isinstance(made, str):
        return Remedy(f"{message} (No edit is offered: {made}.)", fix, change_at=where)
    alternatives = [line for line in fix.splitlines() if "side_effect" in line]
    lines = [where_to_edit(made, rootdir), *added_lines(made)]
    lines += [line if line.startswith("# or") else f"# or: {line}" for line in alternatives]
    return Remedy(message, "\n".join(lines), made, SAFE, where)
