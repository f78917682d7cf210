"""``never-awaited``: a coroutine nobody awaited, scheduled or closed.

Three ways to get there, one remedy each: an AsyncMock call's coroutine dropped by the code (``remedy``:
the mock is built wrong, or the code forgot ``await``); a coroutine function's coroutine dropped
(``_advice.never_awaited_function``); a coroutine handed to a mock scheduler that only records it
(``swallowed``).
"""

from __future__ import annotations

import ast

from asyncmock_guard import _advice, _edits, _source
from asyncmock_guard._diagnosis import MockDiagnosis
from asyncmock_guard._edits import Edit
from asyncmock_guard._findings import Location, relative_path
from asyncmock_guard.remedies._mock_call import dropped
from asyncmock_guard.remedies._mock_edits import add_await, enclosing_function, patch_call_node
from asyncmock_guard.remedies._remedy import SAFE, UNSAFE, Remedy


def remedy(diagnosis: MockDiagnosis) -> Remedy:
    """An AsyncMock call's coroutine that nobody awaited."""
    return dropped(diagnosis)


def _closing_edits(patch_site: tuple[Location, str], closing: str) -> tuple[Edit, ...]:
    """``side_effect=<closing>`` added to the patch call as written (a decorator or a ``with``)."""
    where, _ = patch_site
    node = patch_call_node(where)
    if node is None or any(keyword.arg == "side_effect" for keyword in node.keywords):
        return ()
    span = _edits.span_of(where.path, node)
    if span is None:
        return ()
    row, column = span[2], span[3] - 1  # before the closing parenthesis
    edit = _edits.replace_span(where.path, row, column, row, column, f", side_effect={closing}")
    return (edit,) if edit is not None else ()


def swallowed(
    coroutine_name: str,
    scheduler: str,
    scheduling: _advice.Scheduling,
    where: Location,
    patch_site: tuple[Location, str] | None,
    *,
    handle: str | None,
    configured: bool,
    rootdir: str | None,
    from_mock: bool,
) -> Remedy:
    """A coroutine handed to a mock scheduler (``patch("asyncio.create_task")``, ``@patch("app.cli.asyncio.run")``,
    a mock loop's ``create_task``) that only records it: the patch closes what it is given. A scheduler
    whose return value the test configured keeps it: the closing side_effect returns ``DEFAULT``."""
    if configured:
        closing = "lambda coro, *args, **kwargs: (coro.close(), DEFAULT)[1]"
        scheduling = _advice.Scheduling(scheduling.call, scheduling.patch_target, extra_arguments=True)
    else:
        closing = scheduling.closing
    message, fix = _advice.swallowed_by_mock(
        coroutine_name, scheduler, scheduling, where, patch_site, rootdir=rootdir, from_mock=from_mock, handle=handle
    )
    if configured:
        fix = fix.replace(scheduling.closing, closing) if scheduling.closing != closing else fix
    if patch_site is None:
        return Remedy(message + " (No edit is offered: the guard cannot tell where the mock was made.)", fix)
    edits = _closing_edits(patch_site, closing)
    if edits and configured:
        imported = _edits.ensure_import(patch_site[0].path, "unittest.mock", "DEFAULT")
        edits = (*edits, imported) if imported is not None else edits
    if edits and "asyncio.iscoroutine" in closing:
        imported = _edits.ensure_module_import(patch_site[0].path, "asyncio")
        edits = (*edits, imported) if imported is not None else edits
    return Remedy(message, fix, edits, SAFE, patch_site[0])


def _in_test_file(where: Location, nodeid: str | None, rootdir: str | None) -> bool:
    return nodeid is not None and relative_path(where.path, rootdir) == nodeid.split("::", 1)[0]


def function_dropped(
    qualname: str, where: Location, *, known_call_site: bool, nodeid: str | None, rootdir: str | None
) -> Remedy:
    """A coroutine function's coroutine, created at ``where`` and dropped: in async code the ``await`` it
    lacks; in a sync test ``asyncio.run(...)``; sync code under test cannot await, and is told so."""
    message, fix = _advice.never_awaited_function(qualname, where, known_call_site=known_call_site, rootdir=rootdir)
    bug_in = "test" if _in_test_file(where, nodeid, rootdir) else "code"
    applicability = SAFE if bug_in == "test" else UNSAFE
    if not known_call_site:
        return Remedy(message + " (No edit is offered: where it was called is unknown.)", fix, bug_in=bug_in)
    function = enclosing_function(where)
    name = qualname.rpartition(".")[2]
    if function is not None and isinstance(function, ast.AsyncFunctionDef):
        edit = add_await(where, name)
        if edit is not None:
            return Remedy(message, fix, (edit,), applicability, where, bug_in)
    elif function is not None and bug_in == "test":
        site = _source.call_at(where.path, where.line, name)
        if site is not None:
            call = _edits.replace_node(where.path, site.call, f"asyncio.run({_source.text_of(where.path, site.call)})")
            imported = _edits.ensure_module_import(where.path, "asyncio")
            edits = tuple(edit for edit in (call, imported) if edit is not None)
            return Remedy(message, fix, edits, applicability, where, bug_in)
    reason = (
        f"`{function.name}` is a regular function and cannot await it: make it async, or run the coroutine"
        " (asyncio.run) or schedule it (asyncio.create_task) where a loop runs"
        if function is not None
        else "the call could not be read"
    )
    return Remedy(f"{message} (No edit is offered: {reason}.)", fix, (), applicability, where, bug_in)
