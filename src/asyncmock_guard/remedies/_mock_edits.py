"""Edits several kinds share: make a mock a MagicMock where the user built it, and add the ``await`` that
the code under test forgot.

Every edit is made where the diagnosis says the user must change something (``change_at``) and reads only
names bound there: the binding's own name, and names the edits import.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping

from asyncmock_guard import _advice, _binding, _edits, _naming, _source
from asyncmock_guard._diagnosis import MockDiagnosis
from asyncmock_guard._edits import Edit
from asyncmock_guard._findings import Location, relative_path

MOCK_MODULE = "unittest.mock"


def segments_between(ancestor: object, mock: object) -> tuple[str, ...] | None:
    """The attribute path from ``ancestor`` down to ``mock`` (empty when they are the same), or None."""
    segments: list[str] = []
    for member in _naming.ancestry(mock):
        if member is ancestor:
            return tuple(reversed(segments))
        segment = _naming.segment_of(member)
        if segment is None:
            return None
        segments.append(segment)
    return None


def advice_names(diagnosis: MockDiagnosis) -> dict[int, str]:
    """The names the fix text may use: the binding's name for its mock, and, when the binding is in the
    test itself, the test's other names (paths start at the innermost named ancestor, see ``subject_of``);
    a helper's or fixture's fix uses only its own name."""
    bound = diagnosis.bound
    names: dict[int, str] = {}
    if bound.binding is not None and not bound.binding.shared and bound.binding.how != _binding.UNNAMED:
        names = dict(diagnosis.names)
    if bound.anchor is not None and bound.binding is not None:
        names[id(bound.anchor)] = bound.binding.name
    return names


def _replace_mock_class(path: str, call: ast.Call, new_class: str) -> Edit | None:
    """``AsyncMock(rows)`` -> ``MagicMock(return_value=rows)``; ``mock.AsyncMock(...)`` keeps its module."""
    func = call.func
    if isinstance(func, ast.Attribute):
        prefix = _source.text_of(path, func.value) + "."
    elif isinstance(func, ast.Name):
        prefix = ""
    else:
        return None
    arguments = []
    if call.args:
        arguments.append(f"return_value={_source.text_of(path, call.args[0])}")
        arguments += [_source.text_of(path, argument) for argument in call.args[1:]]
    arguments += [
        _source.text_of(path, keyword)
        if keyword.arg is None
        else f"{keyword.arg}={_source.text_of(path, keyword.value)}"
        for keyword in call.keywords
    ]
    return _edits.replace_node(path, call, f"{prefix}{new_class}({', '.join(arguments)})")


def with_import(edits: list[Edit | None], path: str, name: str, module: str = MOCK_MODULE) -> tuple[Edit, ...]:
    """The edits, and the import of ``name`` into ``path`` when it is not bound there yet."""
    made = [edit for edit in edits if edit is not None]
    if not made:
        return ()
    imported = _edits.ensure_import(path, module, name)
    return (*made, imported) if imported is not None else tuple(made)


def replace_class_at(where: Location, old_class: str, new_class: str) -> tuple[Edit, ...]:
    """At ``where``, the call of ``old_class`` rewritten as one of ``new_class``, importing it as needed."""
    site = _source.call_at(where.path, where.line, old_class)
    if site is None:
        return ()
    return with_import([_replace_mock_class(where.path, site.call, new_class)], where.path, new_class)


def configure_after_binding(binding: _binding.Binding, line: str) -> Edit | None:
    """``line`` (``session.add = MagicMock()``) where the binding's mock is first in reach: after the
    statement that built it, as the first statement of a ``with`` body or of a test a decorator patched."""
    if binding.where is None or binding.statement is None:
        return None
    path = binding.where.path
    if binding.insert_before is not None:
        target = binding.insert_before
        if _is_docstring(target) and binding.function is not None and len(binding.function.body) > 1:
            return _edits.insert_after_statement(path, target, line)
        return _edits.insert_before_statement(path, target, line)
    statement = binding.statement
    if isinstance(statement, ast.Return) or (
        isinstance(statement, ast.Expr) and isinstance(statement.value, (ast.Yield, ast.YieldFrom))
    ):
        return None  # ``return AsyncMock()``: no name to configure it by (see ``bind_returned``)
    return _edits.insert_after_statement(path, statement, line)


def _is_docstring(statement: ast.stmt) -> bool:
    return (
        isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Constant)
        and isinstance(statement.value.value, str)
    )


def bind_returned(binding: _binding.Binding, name: str, lines: list[str]) -> Edit | None:
    """``return AsyncMock()`` rewritten as ``name = AsyncMock()``, the ``lines`` that configure it, and
    ``return name`` (or ``yield name``)."""
    statement = binding.statement
    if binding.where is None or binding.value is None or statement is None:
        return None
    path = binding.where.path
    keyword = "yield" if isinstance(statement, ast.Expr) else "return"
    indent = " " * statement.col_offset
    body = [f"{name} = {_source.text_of(path, binding.value)}", *lines, f"{keyword} {name}"]
    return _edits.replace_node(path, statement, f"\n{indent}".join(body))


def _sync_chain(diagnosis: MockDiagnosis, target: object) -> list[object]:
    """The mocks the code reached synchronously, top down: from ``target`` (what ``await X()`` gave, or the
    mock) down to the mock, then what the test configured the mock to return, and that value's member the
    operation touched (``scalars_mock`` and ``scalars_mock.all`` for ``result.scalars().all()``)."""
    chain = list(reversed(_naming.ancestry(diagnosis.mock)))
    below = chain[chain.index(target) :] if target in chain else [diagnosis.mock]
    returned = _naming.configured_return_value(diagnosis.mock)
    if _naming.is_async_mock(returned) and _naming.parent_of(returned) is not diagnosis.mock:
        below.append(returned)  # a mock of its own, made the return value: ``return_value=scalars_mock``
    attribute = diagnosis.extra.get("attribute")
    if isinstance(attribute, str) and _naming.is_mock(returned):
        child = _naming.configured_child(returned, attribute)
        if child is not None and _naming.is_async_mock(child):
            below.append(child)
    return below


def explicit_construction(scope: _binding.Scope, member: object, old: str, new: str) -> Edit | None:
    """The edit that turns the ``old(...)`` call that built ``member`` into a ``new(...)`` one: the statement
    that bound it (``scalars_mock = AsyncMock()``), or that assigned it to its parent
    (``asset_result.scalars = AsyncMock(...)``); None when it was not built by one the guard can see."""
    bound = _binding.bind(member, scope)
    binding = bound.binding
    if binding is None or binding.where is None:
        return None
    path = binding.where.path
    site = scope.patches.get(id(member))
    if not bound.segments and site is not None:  # a patch made it: its own call says with what
        value = binding.value
        if binding.how in (_binding.WITH_PATCH, _binding.PATCH_DECORATOR):
            at = binding.where
        elif isinstance(value, ast.Call) and _binding.is_patch_call(value):  # ``x = mocker.patch(...)``
            at = Location(path, value.lineno, binding.where.function)
        else:
            at = None
        if at is not None:
            return patch_to_magic_mock(at, site.attribute) if (old, new) == ("AsyncMock", "MagicMock") else None
    if not bound.segments:
        value = binding.value
    else:
        assigned = _binding.member_assignment(binding, bound.segments)
        value = assigned[1] if assigned is not None else None
    if isinstance(value, ast.Call) and _source.callee_name(value) == old:
        return _replace_mock_class(path, value, new)
    return None


def retype(scope: _binding.Scope, mock: object, olds: tuple[str, ...], new: str) -> tuple[Edit, ...]:
    """The edits that make ``mock`` a ``new`` (``AsyncMock``) where the test built it as one of ``olds``, or,
    for a child the test never built itself, that assign it one after its parent's binding
    (``resp.text = AsyncMock()``); with the import of ``new``. Empty when neither can be told."""
    for old in olds:
        edit = explicit_construction(scope, mock, old, new)
        if edit is not None:
            break
    else:
        bound = _binding.bind(mock, scope)
        binding, anchor = bound.binding, bound.anchor
        segments = segments_between(anchor, mock) if anchor is not None else None
        if binding is None or not segments:
            return ()
        edit = configure_after_binding(binding, f"{'.'.join((binding.name, *segments))} = {new}()")
    if edit is None:
        return ()
    imported = _edits.ensure_import(edit.path, MOCK_MODULE, new)
    return (edit, imported) if imported is not None else (edit,)


def patch_call_node(where: Location, *, call: str | None = None, attribute: str | None = None) -> ast.Call | None:
    """The ``patch(...)``/``patch.object(...)`` call at ``where``: in its statement, or a decorator there.
    Of several on that line (``with patch(a), patch(b):``), the one written ``call`` (a decorator's with its
    ``@``) or patching ``attribute``; None when that does not single one out."""
    tree = _source.module_of(where.path)
    if tree is None:
        return None
    statement = _source.statement_at(tree, where.line)
    roots: list[ast.AST] = [statement] if statement is not None else []
    roots += [
        decorator
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        for decorator in node.decorator_list
        if decorator.lineno == where.line
    ]
    found = {
        id(node): node
        for root in roots
        for node in ast.walk(root)
        if isinstance(node, ast.Call) and node.lineno == where.line and _source.callee_name(node) in _PATCHES
    }
    candidates = list(found.values())
    if call is not None:
        candidates = [node for node in candidates if _source.text_of(where.path, node) == call.removeprefix("@")]
    if attribute is not None:
        candidates = [node for node in candidates if _patches_attribute(where.path, node, attribute)]
    return candidates[0] if len(candidates) == 1 else None


def _patches_attribute(path: str, node: ast.Call, attribute: str) -> bool:
    written = _source.patched_name(path, node)
    return written is not None and (written == attribute or written.endswith(f".{attribute}"))


def patch_to_magic_mock(where: Location, attribute: str) -> Edit | None:
    """The patch call at ``where`` that patches ``attribute`` with an AsyncMock, made to patch it with a
    MagicMock: ``new_callable=AsyncMock``, ``new=AsyncMock(...)`` or ``patch.object(x, "a", AsyncMock(...))``."""
    node = patch_call_node(where, attribute=attribute)
    if node is None:
        return None
    for keyword in node.keywords:
        if keyword.arg == "new_callable" and _is_async_mock_name(keyword.value):
            return _edits.replace_node(where.path, keyword.value, "MagicMock")
    for value in (*node.args, *(keyword.value for keyword in node.keywords if keyword.arg == "new")):
        if isinstance(value, ast.Call) and _source.callee_name(value) == "AsyncMock":
            return _replace_mock_class(where.path, value, "MagicMock")
    return None


def _is_async_mock_name(node: ast.expr) -> bool:
    return (isinstance(node, ast.Name) and node.id == "AsyncMock") or (
        isinstance(node, ast.Attribute) and node.attr == "AsyncMock"
    )


_PATCHES = frozenset({"patch", "object"})


def to_magic_mock(diagnosis: MockDiagnosis) -> tuple[tuple[Edit, ...], str]:
    """Edits that make the mock's awaited result (what ``await X()`` gives), or the mock itself, a
    MagicMock where the user built it, with every ``AsyncMock(...)`` the test wrote for what the code then
    reached synchronously: the reason when none can be made."""
    anchor = diagnosis.bound.anchor
    awaited = _advice.awaited_result(diagnosis.mock)
    result = awaited[0] if awaited is not None else None
    reachable = result is not None and anchor is not None and segments_between(anchor, result) is not None
    target = result if reachable else diagnosis.mock
    edits: list[Edit] = []
    if diagnosis.explicit_at is not None:
        edits += replace_class_at(diagnosis.explicit_at, "AsyncMock", "MagicMock")[:1]
        target = diagnosis.mock
    for index, member in enumerate(_sync_chain(diagnosis, target)):
        if diagnosis.explicit_at is not None and member is diagnosis.mock:
            continue
        edit = explicit_construction(diagnosis.scope, member, "AsyncMock", "MagicMock")
        if edit is not None:
            edits.append(edit)
        elif index == 0:
            inserted = _configure_as_magic_mock(diagnosis, member)
            if isinstance(inserted, str):
                return (), inserted
            edits.append(inserted)
    if not edits:
        return (), "the guard cannot tell where this mock was built"
    kept = _keep_awaited_members(diagnosis, target) if target is result else None
    if kept is not None:
        edits.append(kept)
    unique = list(dict.fromkeys(edits))
    for path in sorted({edit.path for edit in unique}):
        names = ("MagicMock", "AsyncMock") if kept is not None and kept.path == path else ("MagicMock",)
        for name in names:
            imported = _edits.ensure_import(path, MOCK_MODULE, name)
            if imported is not None:
                unique.append(imported)
    return tuple(unique), ""


def awaited_members(diagnosis: MockDiagnosis, result: object) -> list[str]:
    """What the code awaits on the awaited result it then used synchronously (``await conn.ping()`` beside
    ``conn.cursor()``): a MagicMock in its place must keep those AsyncMocks. Read from the mock (members
    awaited so far) and from the code under test (``await <receiver>.<member>(...)`` in the function where
    the misuse happened, with the receiver written as at the misuse)."""
    found: dict[str, None] = {}
    children = vars(result).get("_mock_children") or {}
    for name, child in list(children.items()):
        if _naming.is_async_mock(child) and vars(child).get("_mock_await_count"):
            found[name] = None
    where, attribute = diagnosis.where, _naming.segment_of(diagnosis.mock)
    site = _source.call_at(where.path, where.line, attribute) if attribute else None
    function = enclosing_function(where)
    func = site.call.func if site is not None else None
    if function is not None and isinstance(func, ast.Attribute):
        receiver = _source.text_of(where.path, func.value)
        for node in ast.walk(function):
            if isinstance(node, ast.Await) and isinstance(node.value, ast.Call):
                called = node.value.func
                if isinstance(called, ast.Attribute) and _source.text_of(where.path, called.value) == receiver:
                    found[called.attr] = None
    return [name for name in found if name != attribute]


def _keep_awaited_members(diagnosis: MockDiagnosis, result: object) -> Edit | None:
    """``<result>.ping = AsyncMock()`` for each member the code awaits on the result made a MagicMock,
    where that result is in reach (after the edit that made it one)."""
    members = awaited_members(diagnosis, result)
    if not members:
        return None
    bound = _binding.bind(result, diagnosis.scope)
    binding = bound.binding
    if binding is None or binding.how == _binding.UNNAMED:
        return None
    path = ".".join((binding.name, *bound.segments))
    lines = [f"{path}.{member} = AsyncMock()  # awaited by the code" for member in members]
    if bound.segments:
        assigned = _binding.member_assignment(binding, bound.segments)
        if assigned is not None and binding.where is not None:
            return _edits.insert_after_statement(binding.where.path, assigned[0], "\n".join(lines))
    return configure_after_binding(binding, "\n".join(lines))


def _configure_as_magic_mock(diagnosis: MockDiagnosis, member: object) -> Edit | str:
    """``anchor.path.to.member = MagicMock()`` inserted where the anchor is bound (it was not built by an
    ``AsyncMock(...)`` call of its own: an attribute or the return value of an AsyncMock)."""
    binding = diagnosis.binding
    anchor = diagnosis.bound.anchor
    if binding is None or binding.where is None or anchor is None:
        return "the guard cannot tell where this mock was built"
    segments = segments_between(anchor, member)
    if segments is None:
        return "the mock's path from its binding is unknown"
    if not segments:
        return f"`{binding.name}` is not built by an `AsyncMock(...)` call the guard can rewrite"
    if binding.how == _binding.INLINE:  # no name to configure it by: its construction configures the member
        return _configured_in_construction(binding, segments)
    line = f"{'.'.join((binding.name, *segments))} = MagicMock()"
    returned = _naming.configured_return_value(diagnosis.mock)
    if diagnosis.extra.get("operation") == "truth test" and (_naming.is_default(returned) or _naming.is_mock(returned)):
        # a bare MagicMock is always true, as the coroutine was: say what the check sees
        if member is diagnosis.mock:
            line = f"{'.'.join((binding.name, *segments))} = MagicMock(return_value=True)"
        else:
            below = segments_between(member, diagnosis.mock)  # the awaited result's method that was tested
            if below:
                line += f"\n{'.'.join((binding.name, *segments, *below))}.return_value = True"
    edit = configure_after_binding(binding, line)
    if edit is None and binding.value is not None and binding.name.isidentifier():
        edit = bind_returned(binding, binding.name, [line])
    return edit if edit is not None else "there is no statement after the mock's construction to configure it in"


def _configured_in_construction(binding: _binding.Binding, segments: tuple[str, ...]) -> Edit | str:
    """``AsyncMock()`` built inline becomes ``AsyncMock(add=MagicMock())`` (``**{"a.b": ...}`` for a path):
    mocks take their members' configuration as keywords."""
    call = binding.value
    if binding.where is None or not isinstance(call, ast.Call):
        return "the mock's construction cannot be read"
    dotted = ".".join(segments)
    keyword = f"{dotted}=MagicMock()" if len(segments) == 1 else f"**{{{dotted!r}: MagicMock()}}"
    edit = add_keyword(binding.where.path, call, keyword)
    return edit if edit is not None else "the mock's construction cannot be read"


def add_keyword(path: str, call: ast.Call, keyword: str) -> Edit | None:
    """``keyword`` (``side_effect=...``) added as the call's last argument, before its closing parenthesis,
    with a comma only where one is needed (not right after the ``(`` or after a trailing comma)."""
    span = _edits.span_of(path, call)
    if span is None:
        return None
    written = _source.text_of(path, call)
    before = written[:-1].rstrip() if written.endswith(")") else ""
    if not before:
        return None
    separator = "" if before.endswith(("(", ",")) else ", "
    row, column = span[2], span[3] - 1  # before the closing parenthesis
    return _edits.replace_span(path, row, column, row, column, f"{separator}{keyword}")


def _parents(statement: ast.AST) -> Mapping[int, ast.AST]:
    return {id(child): node for node in ast.walk(statement) for child in ast.iter_child_nodes(node)}


def add_await(call_site: Location, attribute: str) -> Edit | None:
    """``await`` before the call of ``attribute`` at ``call_site``, in parentheses where the call's value is
    used further (``(await result.scalars()).all()``); None when it is awaited already or unreadable."""
    site = _source.call_at(call_site.path, call_site.line, attribute)
    if site is None:
        return None
    parent = _parents(site.statement).get(id(site.call))
    if isinstance(parent, ast.Await):
        return None
    text = _source.text_of(call_site.path, site.call)
    used_further = (isinstance(parent, (ast.Attribute, ast.Subscript)) and parent.value is site.call) or (
        isinstance(parent, ast.Call) and parent.func is site.call
    )
    return _edits.replace_node(call_site.path, site.call, f"(await {text})" if used_further else f"await {text}")


def added_lines(edits: tuple[Edit, ...]) -> list[str]:
    """The lines the edits write, dedented, imports left out: the fix text shows exactly what they do."""
    import difflib  # noqa: PLC0415 - only for a finding with edits
    import linecache  # noqa: PLC0415
    import textwrap  # noqa: PLC0415

    lines: list[str] = []
    by_path: dict[str, list[Edit]] = {}
    for edit in edits:
        by_path.setdefault(edit.path, []).append(edit)
    for path, own in by_path.items():
        before = "".join(linecache.getlines(path))
        try:
            after = _edits.apply_to_text(before, own)
        except ValueError:
            continue
        diff = difflib.ndiff(before.splitlines(), after.splitlines())
        added = [line[2:] for line in diff if line.startswith("+ ")]
        lines += [line for line in added if not line.lstrip().startswith(("from ", "import "))]
    return textwrap.dedent("\n".join(lines)).splitlines()


def where_to_edit(edits: tuple[Edit, ...], rootdir: str | None) -> str:
    """The fix text's first line: ``# insert after tests/conftest.py:12:``, ``# change app.py:5:``, or
    ``# change tests/test_x.py:25-28:`` for several lines (the imports the edits add aside)."""
    first = edits[0]
    rows = [
        edit.row
        for edit in edits
        if edit.path == first.path and not edit.content.lstrip().startswith(("from ", "import ", ", "))
    ] or [first.row]
    place = f"{relative_path(first.path, rootdir)}:{min(rows)}"
    if max(rows) != min(rows):
        place += f"-{max(rows)}"
    if first.is_insertion and first.content.endswith("\n") and first.column == 1:
        return f"# insert before {place}:"
    if first.is_insertion and first.content.startswith(("\n", "\r")):
        return f"# insert after {place}:"
    return f"# change {place}:"  # a span replaced, or words added inside the line


def enclosing_function(where: Location) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    """The innermost ``def`` whose body holds ``where``'s line: whether an ``await`` may be written there."""
    tree = _source.module_of(where.path)
    functions = [
        node
        for node in (ast.walk(tree) if tree is not None else ())
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and node.lineno <= where.line <= (node.end_lineno or node.lineno)
    ]
    return max(functions, key=lambda node: node.lineno, default=None)
