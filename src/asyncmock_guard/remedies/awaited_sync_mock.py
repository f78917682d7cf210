"""``awaited-sync-mock``: the code under test awaits a ``Mock``/``MagicMock``. The mock becomes an AsyncMock
where the test built it; but when its spec says the real member is synchronous, the code under test is
wrong to await it, and the edit removes that ``await`` (unsafe: it changes the code under test)."""

from __future__ import annotations

import ast
import inspect

from asyncmock_guard import _binding, _edits, _frames, _naming, _source
from asyncmock_guard._findings import Location
from asyncmock_guard.remedies._mock_edits import added_lines, retype, where_to_edit
from asyncmock_guard.remedies._remedy import SAFE, UNSAFE, Remedy


def _remove_await(where: Location, expression: ast.expr) -> _edits.Edit | None:
    tree = _source.module_of(where.path)
    for node in ast.walk(tree) if tree is not None else ():
        if isinstance(node, ast.Await) and node.value is expression:
            return _edits.replace_node(where.path, node, _source.text_of(where.path, expression))
    return None


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
        return _call_it(mock, scope, where, expression, subject, rootdir=rootdir)
    edits = retype(scope, mock, ("MagicMock", "Mock"), "AsyncMock")
    if not edits:
        return Remedy(f"{message} (No edit is offered: the guard cannot tell where the mock was built.)", fix)
    alternatives = [line for line in fix.splitlines() if line.startswith("#")]
    lines = [where_to_edit(edits, rootdir), *added_lines(edits), *alternatives]
    return Remedy(message, "\n".join(lines), edits, SAFE, Location(edits[0].path, edits[0].row), "test")


def _call_it(
    mock: object, scope: _binding.Scope, where: Location, expression: ast.expr, subject: str, *, rootdir: str | None
) -> Remedy:
    """``await resp.text`` on a mock: a mock's attribute is never awaitable, and what real code awaits on
    such an object is a method's result (aiohttp's ``await resp.text()``). The code forgot to call it; once
    it does, the test's ``resp.text`` must be an AsyncMock for the call to give an awaitable."""
    message = (
        f"The code at {where.short(rootdir)} awaits `{subject}` without calling it: `{subject}` is a"
        f" {type(mock).__name__} attribute, which cannot be awaited. Awaitable members of such objects are"
        f" async methods (aiohttp's `await resp.text()`): the code under test must call it,"
        f" `await {_source.text_of(where.path, expression)}()`, and the test's `{subject}` must then be an"
        " AsyncMock, whose call gives the awaitable."
    )
    called = _edits.replace_node(where.path, expression, f"{_source.text_of(where.path, expression)}()")
    edits = (called, *retype(scope, mock, ("MagicMock", "Mock"), "AsyncMock")) if called is not None else ()
    if not edits:
        fix = f"await {_source.text_of(where.path, expression)}()  # at {where.short(rootdir)}"
        return Remedy(message, fix, applicability=UNSAFE, change_at=where, bug_in="code")
    return Remedy(message, "\n".join(added_lines_by_file(edits, rootdir)), edits, UNSAFE, where, "code")


def added_lines_by_file(edits: tuple[_edits.Edit, ...], rootdir: str | None) -> list[str]:
    """The fix text of edits in several places: each place's header, then its lines."""
    lines: list[str] = []
    for edit in edits:
        lines += [where_to_edit((edit,), rootdir), *added_lines((edit,))]
    return lines


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
    plain = not _naming.is_default(configured) and not _naming.is_mock(configured)
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
