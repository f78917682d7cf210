"""``coroutine-as-return-value``: ``return_value`` or ``side_effect`` set to a coroutine *object*, which runs
at most once and hands the code under test the coroutine itself.

The edit gives the mock the value the coroutine produces, computed where the test sets it up: ``await
load(...)`` in an ``async def`` (never inside a plain ``def``), ``asyncio.run(load(...))`` in a sync one.
A ``side_effect`` given a coroutine object becomes that ``return_value``.
"""

from __future__ import annotations

import ast
from typing import Any

from asyncmock_guard import _binding, _edits, _naming, _source
from asyncmock_guard._construction import is_coroutine
from asyncmock_guard._findings import Location
from asyncmock_guard._source import CallSite, module_of, text_of
from asyncmock_guard.remedies._mock_edits import added_lines, enclosing_function, retype, where_to_edit
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


def _list_edits(
    where: Location, node: ast.expr, items: list[object] | tuple[object, ...]
) -> tuple[_edits.Edit, ...] | str:
    """The side_effect list as written, each coroutine in it replaced by the value it produces: one edit."""
    function = enclosing_function(where)
    if function is None:
        return "the coroutines are made outside any function"
    if not isinstance(node, (ast.List, ast.Tuple)) or len(node.elts) != len(items):
        return "the list is not written out where it is set"
    in_async = isinstance(function, ast.AsyncFunctionDef)
    texts = [
        _value_of(text_of(where.path, element), in_async=in_async)
        if is_coroutine(item)
        else text_of(where.path, element)
        for element, item in zip(node.elts, items, strict=True)
    ]
    written = ", ".join(texts)
    written = f"({written}{',' if len(texts) == 1 else ''})" if isinstance(node, ast.Tuple) else f"[{written}]"
    made = [_edits.replace_node(where.path, node, written)]
    if not in_async:
        made.append(_edits.ensure_module_import(where.path, "asyncio"))
    edits = tuple(edit for edit in made if edit is not None)
    return edits if edits else "the source cannot be read"


def _list_remedy(
    where: Location, site: CallSite | None, subject: str, items: list[object] | tuple[object, ...], rootdir: str | None
) -> Remedy:
    """``AsyncMock(side_effect=[load(), load()])``: each awaited call gives the next item as it is."""
    node = site.keyword("side_effect") if site is not None else _assigned_value(where)
    expression = text_of(where.path, node) if node is not None else "[...]"
    message = (
        f"`{subject}` was given coroutine *objects* in its side_effect list (`{expression}`) at"
        f" {where.short(rootdir)}: each awaited call of an AsyncMock gives the next item as it is, so the code"
        " under test gets a coroutine, not the value it produces, and an item no call reaches is never awaited."
        " The values go in the list instead, all of them in one edit."
    )
    made = _list_edits(where, node, items) if node is not None else "the source cannot be read"
    if isinstance(made, str):
        return Remedy(
            f"{message} (No edit is offered: {made}.)", f"{subject}.side_effect = [...]  # the values", change_at=where
        )
    return Remedy(message, "\n".join([where_to_edit(made, rootdir), *added_lines(made)]), made, SAFE, where)


def remedy(
    where: Location,
    site: CallSite | None,
    subject: str,
    slot: str,
    value: object,
    *,
    rootdir: str | None,
    awaited: bool = True,
) -> Remedy:
    """``awaited``: the mock is an AsyncMock (its calls are awaited); a MagicMock or PropertyMock hands
    the coroutine over as it is, and a ``side_effect`` function would only make a new coroutine per call."""
    if isinstance(value, (list, tuple)):
        return _list_remedy(where, site, subject, value, rootdir)
    message, fix = _message_and_fix(where, site, subject, slot, value, rootdir=rootdir)
    if not awaited:
        message = message.replace(f"`await {subject}()` hands", f"`{subject}` hands")
        fix = "\n".join(line for line in fix.splitlines() if "side_effect=" not in line and ".side_effect" not in line)
    node = site.keyword(slot) if site is not None else _assigned_value(where)
    made = _edits_for(where, site, slot, node) if node is not None else "the source cannot be read"
    if isinstance(made, str):
        return Remedy(f"{message} (No edit is offered: {made}.)", fix, change_at=where)
    alternatives = [line for line in fix.splitlines() if "side_effect" in line]
    lines = [where_to_edit(made, rootdir), *added_lines(made)]
    lines += [line if line.startswith("# or") else f"# or: {line}" for line in alternatives]
    return Remedy(message, "\n".join(lines), made, SAFE, where)


# --- the message and fix text ---------------------------------------------------------------------
def _message_and_fix(
    where: Location, site: CallSite | None, subject: str, slot: str, value: object, *, rootdir: str | None
) -> tuple[str, str]:
    """Advice for ``return_value``/``side_effect`` set to a coroutine object."""
    expression_node = site.keyword(slot) if site is not None else _assigned_value(where)
    expression = text_of(where.path, expression_node) if expression_node is not None else "load()"
    qualname = getattr(value, "__qualname__", "the coroutine function")
    message = (
        f"`{subject}` was given a coroutine *object* (`{expression}`) as its {slot} at"
        f" {where.short(rootdir)}: a coroutine runs once, so at most one call could ever await it, and"
        f" `await {subject}()` hands the code under test the coroutine itself, not the value"
        f" `{qualname}` produces; if nobody awaits it, its body never runs."
    )
    function = text_of(where.path, expression_node.func) if isinstance(expression_node, ast.Call) else None
    takes_arguments = isinstance(expression_node, ast.Call) and bool(expression_node.args or expression_node.keywords)
    if site is not None and site.target:
        rebuilt = site.text(site.call.func) + "({})"
        with_function, with_value = f"{site.target} = {rebuilt}", f"{site.target} = {rebuilt}"
        with_function = with_function.format(f"side_effect={function}")
        with_value = with_value.format("return_value=...")
    else:
        with_function, with_value = f"{subject}.side_effect = {function}", f"{subject}.return_value = ..."
    by_function = f"{with_function}  # `{function}` is called, and awaited, on every call"
    by_value = f"{with_value}  # the value `{expression}` produces, as plain data"
    if function is None:
        return message, by_value
    if takes_arguments:  # side_effect gets the mock's own call arguments, not these
        return message, f"{by_value}\n# or, when the mock is called with what `{function}` takes: {by_function}"
    return message, f"{by_function}\n# or: {by_value}"


def _assigned_value(where: Location) -> ast.expr | None:
    tree = module_of(where.path)
    if tree is None:
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and node.lineno <= where.line <= (node.end_lineno or node.lineno):
            return node.value
    return None


# --- what else an awaited call gives as it is ----------------------------------------------------------
def _bound_attribute(path: str, node: ast.expr, attribute: str) -> str:
    """``node``'s text with ``.attribute``, parenthesized when it would not bind to the whole."""
    text = text_of(path, node)
    simple = isinstance(node, (ast.Name, ast.Attribute, ast.Call, ast.Subscript))
    return f"{text}.{attribute}" if simple else f"({text}).{attribute}"


def async_callable(
    where: Location, site: CallSite | None, subject: str, value: object, *, rootdir: str | None
) -> Remedy:
    """``AsyncMock(side_effect=FakeBackend())`` with an ``async def __call__``: the side_effect is called,
    not awaited, and the code gets the coroutine its ``__call__`` returns. Its bound ``__call__`` is a
    coroutine function, which the AsyncMock does await."""
    class_name = type(value).__qualname__
    node = site.keyword("side_effect") if site is not None else _assigned_value(where)
    written = text_of(where.path, node) if node is not None else f"{class_name}()"
    message = (
        f"`{subject}` was given `{written}` as its side_effect at {where.short(rootdir)}: an AsyncMock awaits"
        f" a side_effect only when it is a coroutine *function*, and a `{class_name}` instance is not one (its"
        f" `__call__` is `async def`), so every awaited call hands the code under test the coroutine"
        f" `{class_name}.__call__` returns, never awaited, instead of what it produces."
    )
    edit = _edits.replace_node(where.path, node, _bound_attribute(where.path, node, "__call__")) if node else None
    if edit is None:
        fix = f"{subject}.side_effect = {written}.__call__  # a coroutine function: awaited on every call"
        return Remedy(f"{message} (No edit is offered: the side_effect cannot be found.)", fix, change_at=where)
    return Remedy(message, "\n".join([where_to_edit((edit,), rootdir), *added_lines((edit,))]), (edit,), SAFE, where)


def future_given(
    mock: object, future: Any, scope: _binding.Scope, where: Location, subject: str, *, rootdir: str | None
) -> Remedy:
    """``mock.return_value = asyncio.Future()`` on an AsyncMock the code awaited: it got the Future itself
    (always true), not its result. A MagicMock returning it makes the code's ``await`` wait for the result."""
    kind = f"asyncio.{type(future).__name__}"
    message = (
        f"`{subject}` was given an `{kind}` as its return_value at {where.short(rootdir)}: an awaited AsyncMock"
        f" call gives its return_value as it is, so `await {subject}(...)` handed the code under test the"
        f" {type(future).__name__} itself (always true), not its result."
    )
    resolved = future.done() and not future.cancelled() and future.exception() is None
    value = _naming.expression_for(future.result(), {}) if resolved else "..."
    by_value = f"{subject}.return_value = {value}  # the value the code should get, as plain data"
    is_task = hasattr(future, "get_coro")
    if not resolved and not is_task:
        message += " Nothing had resolved it when the test's phase ended."
        return Remedy(
            f"{message} (No edit is offered: the guard cannot tell what value was meant.)", by_value, change_at=where
        )
    edits = retype(scope, mock, ("AsyncMock",), "MagicMock")
    if not edits:
        return Remedy(
            f"{message} (No edit is offered: the guard cannot tell where the mock was built.)",
            by_value,
            change_at=where,
        )
    lines = [
        where_to_edit(edits, rootdir),
        *added_lines(edits),
        f"# (a MagicMock's call returns the {type(future).__name__}, and the code's await gives its result)",
        f"# or: {by_value}",
    ]
    return Remedy(message, "\n".join(lines), edits, SAFE, Location(edits[0].path, edits[0].row))


def awaited_from_a_sync_mock(
    where: Location,
    site: CallSite | None,
    subject: str,
    mock: object,
    scope: _binding.Scope,
    *,
    calls: int,
    rootdir: str | None,
) -> Remedy:
    """A Mock/MagicMock handed its ``return_value`` coroutine to code that awaited it, and was called again
    (``calls`` > 1): each later call gets the same, spent coroutine. An AsyncMock returning the value gives
    every awaited call a fresh one."""
    node = site.keyword("return_value") if site is not None else _assigned_value(where)
    expression = text_of(where.path, node) if node is not None else "load()"
    message = (
        f"`{subject}` was given a coroutine *object* (`{expression}`) as its return_value at {where.short(rootdir)},"
        f" and called {calls} times: a coroutine runs once, so only the first call's await got a value, and every"
        " later one got the same, spent coroutine (`RuntimeError: cannot reuse already awaited coroutine`)."
        " Its awaited calls want an AsyncMock that returns the value."
    )
    made = _edits_for(where, site, "return_value", node) if node is not None else "the source cannot be read"
    if site is not None:
        func = site.call.func
        renamed = text_of(where.path, func).rpartition(".")[0]
        renamed_edit = _edits.replace_node(where.path, func, f"{renamed}.AsyncMock" if renamed else "AsyncMock")
        retyped: tuple[_edits.Edit, ...] = (renamed_edit,) if renamed_edit is not None else ()
    else:
        retyped = retype(scope, mock, ("MagicMock", "Mock"), "AsyncMock")
    fix = f"{subject} = AsyncMock(return_value=...)  # the value `{expression}` produces"
    if isinstance(made, str) or not retyped:
        reason = made if isinstance(made, str) else "the guard cannot tell where the mock was built"
        return Remedy(f"{message} (No edit is offered: {reason}.)", fix, change_at=where)
    imported = _edits.ensure_import(where.path, "unittest.mock", "AsyncMock")
    edits = (*retyped, *made, *((imported,) if imported is not None and imported not in retyped else ()))
    return Remedy(message, "\n".join([where_to_edit(edits, rootdir), *added_lines(edits)]), edits, SAFE, where)
