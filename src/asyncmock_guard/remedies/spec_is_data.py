"""``spec-is-data``: ``AsyncMock(data)`` takes ``data`` as its spec, not its return value; and a
``MagicMock(data)`` made what awaiting an AsyncMock gives is a mock shaped like the data, not the data."""

from __future__ import annotations

import ast
from collections.abc import Hashable
from typing import Any

from asyncmock_guard import _advice, _edits
from asyncmock_guard._advice import rebuilt_call
from asyncmock_guard._findings import Location
from asyncmock_guard._source import CallSite
from asyncmock_guard.remedies._mock_edits import added_lines, where_to_edit
from asyncmock_guard.remedies._remedy import SAFE, Remedy


def _with_edit(message: str, fix: str, edit: _edits.Edit | None, where: Location, rootdir: str | None) -> Remedy:
    if edit is None:
        return Remedy(f"{message} (No edit is offered: the source of the call cannot be read.)", fix, change_at=where)
    alternatives = [line for line in fix.splitlines() if line.startswith("# or")]
    text = "\n".join([where_to_edit((edit,), rootdir), *added_lines((edit,)), *alternatives])
    return Remedy(message, text, (edit,), SAFE, where)


def remedy(
    site: CallSite | None, class_name: str, spec: object, subject: str, where: Location, *, rootdir: str | None
) -> Remedy:
    """``AsyncMock(rows)`` -> ``AsyncMock(return_value=rows)``, the rest of the call as written."""
    message, fix = _message_and_fix(site, class_name, spec, subject)
    edit = None
    if site is not None and site.call.args:
        first = site.text(site.call.args[0])
        rebuilt = _advice.rebuilt_call(site, site.text(site.call.func), first=first, keep_first_as="return_value")
        edit = _edits.replace_node(site.path, site.call, rebuilt)
    return _with_edit(message, fix, edit, where, rootdir)


def data_as_awaited_result(
    site: CallSite | None, construction: object, subject: str, where: Location, rootdir: str | None
) -> Remedy:
    """``X.return_value = MagicMock(rows)`` on an AsyncMock ``X``: the data itself is what awaiting gives."""
    message, fix = _data_message_and_fix(site, construction, subject)
    edit = None
    if site is not None and site.call.args:
        edit = _edits.replace_node(site.path, site.call, site.text(site.call.args[0]))
    return _with_edit(message, fix, edit, where, rootdir)


# --- the message and fix text ---------------------------------------------------------------------
def _with_target(site: CallSite, expression: str) -> str:
    return f"{site.target} = {expression}" if site.target and isinstance(site.statement, ast.Assign) else expression


def _message_and_fix(site: CallSite | None, class_name: str, spec: object, subject: str) -> tuple[str, str]:
    """Advice for ``AsyncMock(data)``: the positional argument is the spec, not the return value."""
    data = site.text(site.call.args[0]) if site is not None else "data"
    kind = type(spec).__name__
    message = (
        f"`{class_name}({data})` takes its first argument as the *spec*, not as the return value: `{subject}`"
        f" is an {class_name} specced on a {kind}, and awaiting its call gives another mock, not `{data}`"
        "."
    )
    if isinstance(spec, (list, tuple)) and not all(isinstance(item, Hashable) for item in spec):
        message += (
            f" unittest.mock even fails on it (a list of {type(spec[0]).__name__}s is no list of attribute names)."
        )
    if site is None:
        return message, f"{class_name}(return_value={data})"
    fix = [_with_target(site, rebuilt_call(site, class_name, first=data, keep_first_as="return_value"))]
    if not isinstance(spec, (list, tuple, dict, set, frozenset, str, bytes, int, float, complex)):
        fix.append(f"# or, if `{data}` is meant as the spec, say so: {class_name}(spec={data})")
    return message, "\n".join(fix)


def _data_message_and_fix(site: CallSite | None, construction: Any, subject: str) -> tuple[str, str]:
    """Advice for ``X.return_value = MagicMock(rows)`` on an AsyncMock ``X``: the awaited result is a mock
    specced on the data, not the data."""
    class_name = construction.class_name
    data = site.text(site.call.args[0]) if site is not None and site.call.args else "data"
    message = (
        f"`{class_name}({data})` takes `{data}` as its spec, not as a value, and it is what awaiting"
        f" `{subject.removesuffix('.return_value')}(...)` gives: the code under test gets a {class_name}"
        f" shaped like a {construction.data_type}, not `{data}`."
    )
    if site is None:
        return message, f"{subject} = {data}"
    statement = site.text(site.statement)
    call_text = site.text(site.call)
    fix = [statement.replace(call_text, data, 1) if call_text in statement else f"{subject} = {data}"]
    fix.append(f"# or, if the awaited object should be a mock with data on it: {class_name}(return_value={data})")
    return message, "\n".join(fix)
