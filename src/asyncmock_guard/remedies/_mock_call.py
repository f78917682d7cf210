"""The remedy shared by the two findings about one AsyncMock call's coroutine: dropped (``never-awaited``)
and used as a value (``coroutine-misuse``), and by ``async-mock-for-sync`` when the real member is known to
be synchronous. Where the bug is decides what leads:

- in the test (the member is synchronous, or likelier so): the mock, or what ``await X()`` gives, becomes a
  MagicMock where the user built it (the test, a fixture, a helper, ``setUp``, a ``@patch`` decorator);
- in the code under test (the real callee is a coroutine function): the ``await`` it forgot, and never a
  MagicMock, which would make the test pass over the bug.
"""

from __future__ import annotations

from asyncmock_guard import _advice
from asyncmock_guard._binding import Hop
from asyncmock_guard._diagnosis import CODE, MockDiagnosis
from asyncmock_guard._findings import Location
from asyncmock_guard._sharing import tests_sharing
from asyncmock_guard.remedies._mock_edits import (
    add_await,
    added_lines,
    advice_names,
    enclosing_function,
    to_magic_mock,
    where_to_edit,
)
from asyncmock_guard.remedies._remedy import SAFE, UNSAFE, Remedy


def _where_built(diagnosis: MockDiagnosis) -> str:
    """``, built by the fixture `db` at tests/conftest.py:12`` when the binding is not in the test."""
    binding = diagnosis.binding
    if binding is None or binding.where is None:
        return ""
    if not binding.shared:
        return ""
    route = " via ".join(map(str, binding.via))
    text = f" `{binding.name}` is built by {route} at {binding.place(diagnosis.rootdir)}"
    return text + _shared_by(tests_sharing(binding, diagnosis.scope.item), binding.via[0])


def _shared_by(count: int | None, hop: Hop) -> str:
    """How many tests the one edit at a fixture or helper corrects."""
    if count is None:
        return "."
    if count == 1:
        return f"; only this test of the run uses {hop}."
    return f"; {count} tests of the run use {hop}, and this one fix there corrects them all."


def code_is_wrong(diagnosis: MockDiagnosis, happened: str) -> Remedy:
    """The real callee is async and the code under test did not await it: the code is wrong."""
    rootdir = diagnosis.rootdir
    call_site = diagnosis.call_site or diagnosis.where
    function = call_site.function or "the caller"
    message = (
        f"The code under test {happened}, but {diagnosis.callee.source} says the real `{diagnosis.attribute}` is a"
        f" coroutine function: the code at {call_site.short(rootdir)} is missing `await`. The mock only hides it"
        " (its coroutine does nothing when dropped); against the real object this code would not work."
        " Fix the code, not the mock."
    )
    if not diagnosis.caller_is_async:
        message += (
            f" (No edit is offered: `{function}` is a regular function and cannot await; make it async, or run"
            " the coroutine (asyncio.run) or schedule it (asyncio.create_task, gather) where a loop runs.)"
        )
        return Remedy(
            message,
            f"# in {function}: await `{diagnosis.attribute}(...)`, or make {function} async",
            (),
            UNSAFE,
            call_site,
        )
    edit = add_await(call_site, diagnosis.attribute)
    edits = (edit,) if edit is not None else ()
    lines = added_lines(edits) or [_advice.with_await(_advice.source_line(call_site), diagnosis.attribute) or ""]
    header = (
        f"# in the code under test, {where_to_edit(edits, rootdir)[2:]}"
        if edits
        else f"# at {call_site.short(rootdir)}:"
    )
    fix = "\n".join([header, *lines])
    return Remedy(message, fix, edits, UNSAFE, call_site)


def test_is_wrong(diagnosis: MockDiagnosis, message: str, fix: str) -> Remedy:
    """The mock is built wrong: edits at its binding, with the advice's text when they cannot be made."""
    edits, reason = to_magic_mock(diagnosis)
    message += _where_built(diagnosis)
    specced = [line for line in fix.splitlines() if line.startswith("# or, specced")]
    protocol = [
        f"# and what the protocol gives, if the test does not configure it yet: {line}"
        for line in fix.splitlines()
        if not line.startswith("#")
        and ("__aenter__" in line or "__aiter__" in line)
        and line.endswith(("= ...", "= [...]"))
    ]
    awaited: list[str] = []
    if diagnosis.likelier_only and diagnosis.call_site is not None:
        message += (
            f" Nothing here says whether the real `{diagnosis.attribute}` is async; if it is, the code under test is"
            f" missing `await` at {diagnosis.call_site.short(diagnosis.rootdir)} instead. A spec decides:"
            " `create_autospec(RealClass, instance=True)` or `spec=RealClass` on the mock."
        )
        if diagnosis.caller_is_async:
            awaited = _advice.missing_await(diagnosis.mock, diagnosis.call_site, diagnosis.rootdir)
    if not edits:
        message += f" (No edit is offered: {reason}.)"
        kept = [line for line in fix.splitlines() if line not in awaited]
        return Remedy(message, "\n".join([*kept, *awaited]), (), SAFE)
    lines = [where_to_edit(edits, diagnosis.rootdir), *added_lines(edits)]
    # the line the fix changes first (``s3.put_object = AsyncMock()``, not ``s3 = MagicMock()`` above it)
    first = Location(edits[0].path, edits[0].row)
    function = enclosing_function(first)
    change_at = Location(first.path, first.line, function.name if function is not None else "")
    return Remedy(message, "\n".join([*lines, *protocol, *specced, *awaited]), edits, SAFE, change_at)


def dropped(diagnosis: MockDiagnosis) -> Remedy:
    """``never-awaited`` for an AsyncMock call whose coroutine nobody awaited."""
    where, rootdir = diagnosis.where, diagnosis.rootdir
    if diagnosis.bug_in == CODE:
        happened = f"called `{diagnosis.subject}(...)` at {where.short(rootdir)} and never awaited the coroutine"
        return code_is_wrong(diagnosis, happened)
    names = advice_names(diagnosis)
    why = _advice.why_async(diagnosis.mock, names)
    attribute, function = diagnosis.attribute, where.function or "the caller"
    called_by = diagnosis.extra.get("called_by")
    if isinstance(called_by, Location):  # a library called it, and dropped what it returned
        function = called_by.function or function
    message = (
        f"`{diagnosis.subject}(...)` was called at {where.short(rootdir)} but the coroutine it returned was"
        " never awaited, so the mocked call never ran: no side_effect, await_count stays 0, and the code under"
        " test went on without its result."
    )
    if diagnosis.evidence is not None and not diagnosis.evidence.by_name_only:
        message += f" {why} where the real `{attribute}` returns its result directly."
    elif not diagnosis.caller_is_async:
        message += (
            f" `{function}` is a regular function and cannot await, so the real `{attribute}` is"
            f" synchronous: {why} that nobody can await."
        )
    else:
        message += f" {why}."
    fix = "\n".join(
        _advice.sync_mock_fix(diagnosis.mock, names, (), _advice.value_after(diagnosis.mock, None, names), None)
    )
    return test_is_wrong(diagnosis, message, fix)


def misused(diagnosis: MockDiagnosis, operation: str) -> Remedy:
    """``coroutine-misuse``: the coroutine of an AsyncMock call was used as a value."""
    where = diagnosis.where
    if diagnosis.bug_in == CODE:
        return code_is_wrong(
            diagnosis,
            f"used the coroutine of `{diagnosis.subject}(...)` as a value ({operation}) at"
            f" {where.short(diagnosis.rootdir)} instead of awaiting it",
        )
    diagnosis.extra["operation"] = operation
    if operation.startswith("attribute "):
        diagnosis.extra["attribute"] = operation.split(" ", 1)[1].strip("'\"")
    names = advice_names(diagnosis)
    message, fix = _advice.coroutine_misuse(
        diagnosis.mock,
        names,
        operation,
        where=where,
        call_site=diagnosis.call_site or where,
        caller_is_async=diagnosis.caller_is_async,
        rootdir=diagnosis.rootdir,
        member_is_sync=diagnosis.evidence is not None and not diagnosis.evidence.by_name_only,
    )
    return test_is_wrong(diagnosis, message, fix)
