"""``async-mock-for-sync``: an AsyncMock where the real member is synchronous (by its spec, the known-sync
table, the user's entries, or the real attribute a patch replaced).

Three shapes: the test assigned it (``store.save = AsyncMock()``: that call becomes a ``MagicMock(...)``);
a patch put it there (``patch(..., new_callable=AsyncMock)`` or ``new=AsyncMock(...)``: the patch makes a
MagicMock instead; ``new=`` takes no mock keywords, so the object itself is rewritten); or it is a child of
an AsyncMock (the core finding's remedy, ``_mock_call``, with what is known put first).
"""

from __future__ import annotations

import ast
import re

from asyncmock_guard import _edits, _source
from asyncmock_guard._advice import rebuilt_call
from asyncmock_guard._evidence import SyncEvidence
from asyncmock_guard._findings import Location
from asyncmock_guard._known_sync import Returns
from asyncmock_guard._source import call_at
from asyncmock_guard.remedies._mock_edits import (
    MOCK_MODULE,
    added_lines,
    patch_to_magic_mock,
    replace_class_at,
    where_to_edit,
    with_import,
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


def patched(
    subject: str, evidence: SyncEvidence, where: Location, call: str | None, attribute: str, *, rootdir: str | None
) -> Remedy:
    """``patch(...)`` that puts an AsyncMock on a synchronous attribute."""
    message, fix = _patched_text(subject, evidence, where, call, rootdir=rootdir)
    edit = patch_to_magic_mock(where, attribute)
    edits = with_import([edit], where.path, "MagicMock") if edit is not None else ()
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


# --- the message and fix text ---------------------------------------------------------------------
def _sync_shape(subject: str, evidence: SyncEvidence, call: str) -> list[str]:
    """The mock for a synchronous member, by what the real member returns."""
    if evidence.returns is Returns.ASYNC_CONTEXT_MANAGER:
        return [
            f"{subject} = MagicMock()  # calling it is synchronous; `async with` awaits __aenter__",
            f"{subject}.return_value.__aenter__.return_value = ...  # what `async with ... as x` binds",
        ]
    if evidence.returns is Returns.CURSOR:
        return [
            f"{subject} = MagicMock()  # returns a cursor synchronously; its fetching methods are async",
            f"{subject}.return_value.to_list = AsyncMock(return_value=[...])",
            f"{subject}.return_value.__aiter__.return_value = [...]  # for `async for`",
        ]
    if evidence.returns is Returns.PROPERTY:
        return [f"{subject} = ...  # a property: the value itself, not a mock to call"]
    return [f"{subject} = {call}"]


def _autospec_line(subject: str, evidence: SyncEvidence) -> list[str]:
    if evidence.real_class is None:
        return []
    module, _, name = evidence.real_class.partition(":")
    parent = subject.rpartition(".")[0] or subject
    return [
        f"# or spec the whole object: {parent} = create_autospec({name}, instance=True)  # from {module} import {name}"
    ]


def assigned_text(
    subject: str, evidence: SyncEvidence, where: Location, *, happened: str | None, rootdir: str | None
) -> tuple[str, str]:
    """Advice for ``parent.member = AsyncMock(...)`` where the real member is synchronous."""
    message = (
        f"`{subject}` is set to an AsyncMock at {where.short(rootdir)}, but {evidence.title} is synchronous:"
        f" calling it returns a coroutine where the real code returns"
        f" {_RETURNS_TEXT[evidence.returns]}."
    )
    if happened:
        message += f" The code under test {happened}."
    else:
        message += " Code that calls it gets a coroutine; code that awaits it would fail against the real object."
    site = call_at(where.path, where.line, "AsyncMock")
    call = rebuilt_call(site, "MagicMock", first=None, keep_first_as=None) if site is not None else "MagicMock()"
    if site is not None and site.call.args:
        call = rebuilt_call(site, "MagicMock", first=site.text(site.call.args[0]), keep_first_as="return_value")
    return message, "\n".join([*_sync_shape(subject, evidence, call), *_autospec_line(subject, evidence)])


def _patched_text(
    subject: str, evidence: SyncEvidence, where: Location, call: str | None, *, rootdir: str | None
) -> tuple[str, str]:
    """Advice for ``patch(...)``/``patch.object(...)`` putting an AsyncMock where the real attribute is
    synchronous; ``call`` is the patch call as written, when the source could be read."""
    message = (
        f"`{subject}` is patched with an AsyncMock at {where.short(rootdir)}, but {evidence.title} is"
        f" synchronous: calling it returns a coroutine where the real code returns"
        f" {_RETURNS_TEXT[evidence.returns]}. Code that calls it gets a coroutine it never awaits (the"
        " call silently does nothing); code that awaits it would fail against the real object."
    )
    fixed = None
    if call is not None and re.search(r"new_callable\s*=\s*AsyncMock\b", call):
        fixed = re.sub(r"new_callable\s*=\s*AsyncMock\b", "autospec=True", call, count=1)
    elif call is not None and "AsyncMock(" in call:
        fixed = call.replace("AsyncMock(", "MagicMock(", 1)
    lines = [f"{fixed}  # a synchronous mock, as the real one is" if fixed else f"# patch `{subject}` with a MagicMock"]
    if fixed is None or "autospec=True" not in fixed:
        lines.append("# or patch(..., autospec=True): made from the real attribute, async exactly where it is async")
    if evidence.returns is Returns.ASYNC_CONTEXT_MANAGER:
        lines += _sync_shape(subject.rpartition(".")[2], evidence, "MagicMock()")[1:]
    return message, "\n".join(lines)


def child(subject: str, evidence: SyncEvidence, message: str, fix: str) -> tuple[str, str]:
    """The core finding's advice, with what is known about the real member put first."""
    if evidence.by_name_only:
        hint = f" Note: in {evidence.title}, `{subject.rpartition('.')[2]}` is synchronous; if that is what"
        hint += " this mock stands for, it must be a MagicMock, not an AsyncMock."
        return message + hint, fix
    lead = f"{evidence.title} is synchronous, but `{subject}` is an AsyncMock. "
    if evidence.returns is Returns.VALUE:
        return lead + message, fix
    lines = _sync_shape(subject, evidence, "MagicMock()")
    return lead + message, "\n".join([*lines, *_autospec_line(subject, evidence)])


_RETURNS_TEXT = {
    Returns.VALUE: "a plain value",
    Returns.ASYNC_CONTEXT_MANAGER: "an async context manager (used as `async with x(...)`, not awaited)",
    Returns.CURSOR: "a cursor (its methods are awaited, or it is used in `async for`)",
    Returns.PROPERTY: "a value (it is a property)",
}
