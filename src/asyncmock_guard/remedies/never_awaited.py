"""``never-awaited``: a coroutine nobody awaited, scheduled or closed.

Three ways to get there, one remedy each: an AsyncMock call's coroutine dropped by the code (``remedy``:
the mock is built wrong, or the code forgot ``await``); a coroutine function's coroutine dropped
(``_advice.never_awaited_function``); a coroutine handed to a mock scheduler that only records it
(``swallowed``).
"""

from __future__ import annotations

import ast
import re

from asyncmock_guard import _edits, _source
from asyncmock_guard._advice import call_span, source_line, with_await
from asyncmock_guard._binding import Bound, member_assignment
from asyncmock_guard._diagnosis import MockDiagnosis
from asyncmock_guard._edits import Edit
from asyncmock_guard._findings import Location, relative_path
from asyncmock_guard._source import module_of, text_of
from asyncmock_guard.remedies import no_running_loop
from asyncmock_guard.remedies._mock_call import dropped
from asyncmock_guard.remedies._mock_edits import (
    add_await,
    add_keyword,
    added_lines,
    configure_after_binding,
    enclosing_function,
    patch_call_node,
    where_to_edit,
)
from asyncmock_guard.remedies._remedy import SAFE, UNSAFE, Remedy


def remedy(diagnosis: MockDiagnosis) -> Remedy:
    """An AsyncMock call's coroutine that nobody awaited."""
    return dropped(diagnosis)


def _closing_edits(patch_site: tuple[Location, str], closing: str) -> tuple[Edit, ...]:
    """``side_effect=<closing>`` added to the patch call as written (a decorator or a ``with``)."""
    where, call = patch_site
    node = patch_call_node(where, call=call)
    if node is None or any(keyword.arg == "side_effect" for keyword in node.keywords):
        return ()
    edit = add_keyword(where.path, node, f"side_effect={closing}")
    return (edit,) if edit is not None else ()


def swallowed(
    coroutine_name: str,
    scheduler: str,
    scheduling: no_running_loop.Scheduling,
    where: Location,
    patch_site: tuple[Location, str] | None,
    *,
    handle: str | None,
    configured: bool,
    rootdir: str | None,
    from_mock: bool,
    side_effect_of: Bound | None = None,
    bound: Bound | None = None,
) -> Remedy:
    """A coroutine handed to a mock scheduler (``patch("asyncio.create_task")``, ``@patch("app.cli.asyncio.run")``,
    a mock loop's ``create_task``) that only records it: the patch closes what it is given. A scheduler
    whose return value the test configured keeps it: the closing side_effect returns ``DEFAULT``. One whose
    side_effect the test configured (``side_effect_of``, its binding) keeps that too (see ``_keeping``)."""
    if side_effect_of is not None:
        kept = _keeping(coroutine_name, scheduler, where, patch_site, side_effect_of, rootdir, from_mock=from_mock)
        if kept is not None:
            return kept
    if configured:
        closing = "lambda coro, *args, **kwargs: (coro.close(), DEFAULT)[1]"
        scheduling = no_running_loop.Scheduling(scheduling.call, scheduling.patch_target, extra_arguments=True)
    else:
        closing = scheduling.closing
    message, fix = _swallowed_text(
        coroutine_name, scheduler, scheduling, where, patch_site, rootdir=rootdir, from_mock=from_mock, handle=handle
    )
    if configured:
        fix = fix.replace(scheduling.closing, closing) if scheduling.closing != closing else fix
    if patch_site is None:
        return Remedy(message + " (No edit is offered: the guard cannot tell where the mock was made.)", fix)
    edits = _closing_edits(patch_site, closing)
    if not edits and bound is not None and bound.binding is not None and handle is not None:
        # a patch call that takes no side_effect keyword (patch.multiple): set it where the mock is in reach
        line = configure_after_binding(bound.binding, f"{handle}.side_effect = {closing}")
        edits = (line,) if line is not None else ()
    if edits and configured:
        imported = _edits.ensure_import(patch_site[0].path, "unittest.mock", "DEFAULT")
        edits = (*edits, imported) if imported is not None else edits
    if edits and "asyncio.iscoroutine" in closing:
        imported = _edits.ensure_module_import(patch_site[0].path, "asyncio")
        edits = (*edits, imported) if imported is not None else edits
    return Remedy(message, fix, edits, SAFE, patch_site[0])


def _keeping(  # noqa: PLR0917 - the swallowed coroutine, its scheduler and where each is
    coroutine_name: str,
    scheduler: str,
    where: Location,
    patch_site: tuple[Location, str] | None,
    bound: Bound,
    rootdir: str | None,
    *,
    from_mock: bool,
) -> Remedy | None:
    """A swallowing mock whose ``side_effect`` the test configured (an exception, values, a function): a
    second mock with that side_effect does what it did, after the coroutine is closed. It goes after the
    test's last ``x.side_effect = ...`` (which would win over anything before it), or where the mock is
    first in reach when the side_effect came with the patch (``patch(..., side_effect=...)``)."""
    binding = bound.binding
    if binding is None or binding.where is None:
        return None
    handle = bound.subject
    kept = re.sub(r"\W", "_", handle) + "_side_effect"
    lines = [
        f"{kept} = MagicMock(side_effect={handle}.side_effect, return_value=DEFAULT)  # what it did before",
        f"{handle}.side_effect = lambda coro, *args, **kwargs: (coro.close(), {kept}(coro, *args, **kwargs))[1]",
    ]
    assigned = member_assignment(binding, (*bound.segments, "side_effect"))
    text = "\n".join(lines)
    if assigned is not None:
        edit = _edits.insert_after_statement(binding.where.path, assigned[0], text)
    else:
        edit = configure_after_binding(binding, text)
    if edit is None:
        return None
    imports = [_edits.ensure_import(edit.path, "unittest.mock", name) for name in ("MagicMock", "DEFAULT")]
    edits = (edit, *(imported for imported in imports if imported is not None))
    patched_at = f" (patched at {patch_site[0].short(rootdir)}: `{patch_site[1]}`)" if patch_site else ""
    message = (
        f"`{coroutine_name}()`, created at {where.short(rootdir)}, was handed to `{scheduler}`, a mock{patched_at},"
        " which only records its arguments and does what its side_effect says: nothing ever ran the coroutine,"
        f" so the test passed without running `{coroutine_name}`. A mock swallowed it. The fix closes the"
        " coroutine first and keeps the side_effect the test configured."
    )
    fix = "\n".join(
        [
            where_to_edit(edits, rootdir),
            *added_lines(edits[:1]),
            no_running_loop.handed_check(handle, coroutine_name, from_mock=from_mock),
        ]
    )
    line = assigned[0].lineno if assigned is not None else binding.where.line
    return Remedy(message, fix, edits, SAFE, Location(binding.where.path, line, binding.where.function))


def _in_test_file(where: Location, nodeid: str | None, rootdir: str | None) -> bool:
    return nodeid is not None and relative_path(where.path, rootdir) == nodeid.split("::", 1)[0]


def function_dropped(
    qualname: str, where: Location, *, known_call_site: bool, nodeid: str | None, rootdir: str | None
) -> Remedy:
    """A coroutine function's coroutine, created at ``where`` and dropped: in async code the ``await`` it
    lacks; in a sync test ``asyncio.run(...)``; sync code under test cannot await, and is told so."""
    message, fix = _function_text(qualname, where, known_call_site=known_call_site, rootdir=rootdir)
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


def made_by_an_unknown_test(running: str) -> str:
    """Why a finding has no test: it is not blamed on the one that happened to run the collection."""
    return (
        f" Which test made it is unknown: its creation stack reaches no test, and a garbage collection of"
        f" older objects finalized it while `{running}` ran, which need not be the test that made it. So it"
        " fails no test; in strict mode the run still fails. Deeper origin tracking"
        " (`sys.set_coroutine_origin_tracking_depth`, or asyncio's debug mode) would show the test."
    )


# --- the message and fix text ---------------------------------------------------------------------
def _function_text(qualname: str, where: Location, *, known_call_site: bool, rootdir: str | None) -> tuple[str, str]:
    """Advice for a coroutine function (not a mock) called at ``where`` and never awaited."""
    line = source_line(where) if known_call_site else ""
    function_name = qualname.rsplit(".", 1)[-1]
    message = (
        f"`{qualname}()` was called at {where.short(rootdir)} and returned a coroutine that was never"
        f" awaited, scheduled or closed, so its body never ran."
    )
    if not known_call_site:
        message += (
            " Where it was called is unknown (it was created in another thread, or without origin"
            " tracking); the location is where it is defined."
        )
    call = _call_expression(line, function_name) or f"{function_name}(...)"
    fix = [
        f"# in async code, await it at {where.short(rootdir)}:",
        with_await(line, function_name) or f"await {call}",
        "# in synchronous code (a sync test), run it to completion:",
        f"asyncio.run({call})",
    ]
    return message, "\n".join(fix)


def _call_expression(line: str, callee: str) -> str | None:
    span = call_span(line, callee)
    return line[span[0] : span[1]] if span else None


def _first_body_line(where: Location) -> str:
    """The first statement inside the ``with`` at ``where``, as written (``...`` if unknown)."""
    tree = module_of(where.path)
    for node in ast.walk(tree) if tree is not None else ():
        if isinstance(node, (ast.With, ast.AsyncWith)) and node.lineno == where.line and node.body:
            return text_of(where.path, node.body[0]).splitlines()[0]
    return "..."


def closing_patch(
    patch_site: tuple[Location, str], closing: str, attribute: str, handle: str | None = None
) -> tuple[list[str], str] | None:
    """The patch as written, with ``side_effect=<closing>`` added, and the name its mock is bound to."""
    where, call = patch_site
    call = call.rstrip()
    if not call.endswith(")") or "side_effect" in call:
        return None
    separator = "" if call.endswith("()") else ", "
    fixed = f"{call[:-1]}{separator}side_effect={closing})"
    line = re.sub(r":\s*#.*$", ":", source_line(where))  # the with header, without its comment
    if call.startswith("@"):  # a decorator: the mock is the test's argument
        if handle is not None:
            return [f"{fixed}  # closes what it is given"], handle
        return [f"{fixed}  # closes what it is given", f"def test_...(..., {attribute}):"], attribute
    if line.startswith(("with ", "async with ")) and call in line:
        bound = re.search(rf"{re.escape(call)}\s+as\s+(\w+)", line)
        handle = bound.group(1) if bound else attribute
        statement = line.replace(call, fixed, 1)
        if bound is None:
            statement = statement.replace(fixed, f"{fixed} as {handle}", 1)
        return [f"{statement}  # closes what it is given", f"    {_first_body_line(where)}"], handle
    return [f"{fixed}  # closes what it is given"], attribute


def _swallowed_text(
    coroutine_name: str,
    scheduler: str,
    scheduling: no_running_loop.Scheduling,
    where: Location,
    patch_site: tuple[Location, str] | None,
    *,
    rootdir: str | None,
    from_mock: bool = False,
    handle: str | None = None,
) -> tuple[str, str]:
    """Advice for a coroutine handed to a mock scheduler (``patch("asyncio.create_task")``, a mock loop's
    ``create_task``) that records it and returns a MagicMock: nothing ever runs it."""
    patched_at = f" (patched at {patch_site[0].short(rootdir)}: `{patch_site[1]}`)" if patch_site else ""
    message = (
        f"`{coroutine_name}()`, created at {where.short(rootdir)}, was handed to `{scheduler}`, a mock{patched_at},"
        " which only records its arguments: nothing ever ran the coroutine, so the test passed without"
        f" running `{coroutine_name}`. A mock swallowed it."
    )
    closing = scheduling.closing
    attribute = scheduler.rpartition(".")[2]
    rewritten = closing_patch(patch_site, closing, attribute, handle) if patch_site is not None else None
    if rewritten is not None:
        fix, handle = rewritten
    else:
        fix, handle = [f"{scheduler}.side_effect = {closing}  # closes what it is given"], scheduler
    fix += [
        f"{handle}.assert_called_once()",
        no_running_loop.handed_check(handle, coroutine_name, from_mock=from_mock),
    ]
    fix.append(f"# or let a real loop run it: make the test async and stop mocking `{attribute}`")
    return message, "\n".join(fix)


def task_never_ran(diagnosis: MockDiagnosis, test_line: tuple[Location, bool] | None) -> Remedy:
    """An AsyncMock call handed to a task that was still pending when the test's loop closed: the loop
    cancelled it before it started. In an ``async def`` test that made it, the test lets it run before it
    ends; else the code must await the tasks it starts."""
    subject, rootdir = diagnosis.subject, diagnosis.rootdir
    called_at = diagnosis.call_site or diagnosis.where
    message = (
        f"`{subject}(...)` was called at {called_at.short(rootdir)} and its coroutine handed to a task, but that"
        " task was still pending when the test's event loop closed: the loop cancelled it before it started, so"
        f" the mocked call never ran. `{subject}.assert_called...()` passes all the same (the call was recorded"
        f" when it was made); `{subject}.assert_awaited_once_with(...)` would have failed."
    )
    keep = "# or keep the task and await it: task = asyncio.create_task(...); ...; await task"
    if test_line is None or not test_line[1]:
        fix = f"# await the task the code starts at {called_at.short(rootdir)} before its event loop ends\n{keep}"
        return Remedy(message, fix, change_at=called_at, bug_in="code")
    where = test_line[0]
    tree = module_of(where.path)
    statement = _source.statement_at(tree, where.line) if tree is not None else None
    made = [
        _edits.insert_after_statement(where.path, statement, "await asyncio.sleep(0)  # let the task it started run")
        if statement is not None
        else None,
        _edits.ensure_module_import(where.path, "asyncio"),
    ]
    edits = tuple(edit for edit in made if edit is not None)
    if not edits or made[0] is None:
        return Remedy(
            message, f"await asyncio.sleep(0)  # after {where.short(rootdir)}\n{keep}", change_at=where, bug_in="test"
        )
    return Remedy(
        message, "\n".join([where_to_edit(edits, rootdir), *added_lines(edits), keep]), edits, SAFE, where, "test"
    )


def called_by_library(  # noqa: PLR0917 - what happened, in the order the message tells it
    qualname: str,
    where: Location,
    library: str,
    place: str,
    nodeid: str | None,
    rootdir: str | None,
    *,
    defined_there: bool,
) -> Remedy:
    """An ``async def`` of the user's that an installed library called as a regular function (an async event
    hook given to httpx's sync ``Client``): the library dropped the coroutine. Nothing in the call can be
    edited; the function, or the API it is given to, must change."""
    name = qualname.rpartition(".")[2]
    message = (
        f"`{name}` is `async def`, but `{library}` called it as a regular function ({place}) and dropped the"
        f" coroutine it returned, so its body never ran; {where.short(rootdir)} is"
        f" {f'where `{name}` is defined' if defined_there else 'the nearest line of your code that led there'}."
        f" (No edit is offered: `{library}` expects a regular function there.)"
    )
    fix = (
        f"# make `{name}` a regular function (def, not async def), or give it to the async API of `{library}`,"
        " which awaits it"
    )
    return Remedy(message, fix, (), UNSAFE, where, "test" if _in_test_file(where, nodeid, rootdir) else "code")
