"""The fix for each kind of finding, written with the test's own names.

Every function returns ``(message, fix)``: the message says what happened and why in one or two
sentences; the fix is code the user can paste. Advice reads the mocks (through ``_naming``) at the
moment the finding is made; it never keeps them.
"""

from __future__ import annotations

import ast
import inspect
import linecache
import re
from collections.abc import Hashable, Mapping
from typing import Any

from asyncmock_guard import _evidence, _frames, _naming
from asyncmock_guard._evidence import SyncEvidence
from asyncmock_guard._findings import Location
from asyncmock_guard._known_sync import Returns
from asyncmock_guard._source import CallSite, call_at, module_of, text_of

_ASSIGNMENT = re.compile(r"^(?P<target>[\w.\[\]'\"]+(?:\s*,\s*[\w.\[\]'\"]+)*\s*(?:[-+*/|&]?=)\s*)(?P<expr>.+)$")
_RETURN = re.compile(r"^(?P<keyword>return\s+|yield\s+)(?P<expr>.+)$")


def source_line(where: Location) -> str:
    """The offending line's text, stripped (empty when the source cannot be read)."""
    return linecache.getline(where.path, where.line).strip()


def _call_span(line: str, callee: str) -> tuple[int, int] | None:
    """Where in ``line`` the call ``<receiver>.callee(...)`` (or ``callee(...)``) starts and ends."""
    for match in re.finditer(rf"(?<![\w]){re.escape(callee)}\s*\(", line):
        start = match.start()
        while start > 0:  # walk back over the receiver: names, dots, balanced (...) and [...]
            previous = line[start - 1]
            if previous.isalnum() or previous in "._":
                start -= 1
            elif previous in ")]":
                depth, index = 0, start - 1
                while index >= 0:
                    depth += {")": 1, "]": 1, "(": -1, "[": -1}.get(line[index], 0)
                    if depth == 0:
                        break
                    index -= 1
                if index < 0:
                    break
                start = index
            else:
                break
        depth, end = 0, match.end() - 1
        while end < len(line):
            depth += {"(": 1, ")": -1}.get(line[end], 0)
            end += 1
            if depth == 0:
                return start, end
    return None


def with_await(line: str, callee: str | None = None) -> str | None:
    """The line with the call to ``callee`` awaited: ``x = repo.get(1)`` -> ``x = await repo.get(1)``.

    A call in the middle of an expression is parenthesised: ``(await result.scalars()).all()``.
    """
    if not line or line.startswith(("async def ", "def ", "class ", "#")):
        return None
    span = _call_span(line, callee) if callee else None
    if span is None:
        if "await " in line:
            return None
        for pattern, head in ((_RETURN, "keyword"), (_ASSIGNMENT, "target")):
            match = pattern.match(line)
            if match:
                return f"{match.group(head)}await {match.group('expr')}"
        return f"await {line}"
    start, end = span
    if line[:start].rstrip().endswith("await"):
        return None
    before, call, after = line[:start], line[start:end], line[end:]
    # ``await`` binds tighter than every operator but attribute access, subscript and call.
    whole = not after.lstrip().startswith((".", "[", "("))
    return f"{before}await {call}{after}" if whole else f"{before}(await {call}){after}"


def _awaited_result(mock: object) -> tuple[object, object] | None:
    """The nearest ancestor of ``mock`` that is ``X.return_value`` of an AsyncMock ``X``, with ``X``.

    That object is what ``await X(...)`` gives the code under test: a plain object in the real
    library (a SQLAlchemy ``Result``, an httpx ``Response``), so it must not be an AsyncMock.
    """
    for member in _naming.ancestry(mock)[1:]:
        parent = _naming.parent_of(member)
        if _naming.segment_of(member) == "return_value" and _naming.is_async_mock(parent):
            return member, parent
    return None


def _relative(mock: object, ancestor: object) -> tuple[str, ...]:
    segments: list[str] = []
    for member in _naming.ancestry(mock):
        if member is ancestor:
            break
        segment = _naming.segment_of(member)
        if segment is not None:
            segments.append(segment)
    return tuple(reversed(segments))


def _anchor_for(node: object, names: Mapping[int, str]) -> str:
    """The name the test gave ``node`` itself, else its full path."""
    return names.get(id(node)) or str(_naming.path_of(node, names))


def _called_attribute(line: str, attribute: str) -> bool:
    return re.search(rf"\.{re.escape(attribute)}\s*\(", line) is not None


def value_after(mock: object, attribute: str | None, names: Mapping[int, str]) -> str:
    """The expression the test already configured for what the code wanted, or ``...``."""
    result = _naming.configured_return_value(mock)
    if attribute is None:
        return _naming.expression_for(result, names)
    if not _naming.is_mock(result):
        return "..."
    child = _naming.configured_child(result, attribute)
    if child is None:
        return "..."
    return _naming.expression_for(_naming.configured_return_value(child), names)


def why_async(mock: object, names: Mapping[int, str]) -> str:
    subject = _naming.subject_of(mock, names)
    parent = _naming.parent_of(mock)
    attribute = _naming.segment_of(mock)
    if parent is not None and _naming.is_async_mock(parent) and attribute is not None:
        awaited = _awaited_result(mock)
        if awaited is not None:
            result, awaited_mock = awaited
            why = (
                f"`{_naming.subject_of(result, names)}` (what `await {_naming.subject_of(awaited_mock, names)}(...)`"
                f" returns) is an AsyncMock, and every attribute of an AsyncMock is an AsyncMock, so"
                f" `{subject}()` returns a coroutine"
            )
            return why + _autospec_gap(awaited_mock, names)
        return (
            f"`{_naming.subject_of(parent, names)}` is an AsyncMock, and every attribute of an AsyncMock is"
            f" an AsyncMock, so `{subject}()` returns a coroutine"
        )
    return f"`{subject}` is an AsyncMock, so `{subject}()` returns a coroutine"


def _autospec_gap(awaited_mock: object, names: Mapping[int, str]) -> str:
    """The sentence for an awaited result of a specced async method: autospec stops at the call."""
    owner = _naming.parent_of(awaited_mock)
    spec = _naming.spec_class(owner) if owner is not None else None
    if spec is None:
        return ""
    method = _naming.subject_of(awaited_mock, names)
    return (
        f" (`{_naming.subject_of(owner, names)}` is specced from `{spec.__qualname__}`, but a spec or"
        f" create_autospec stops at the call: what `await {method}(...)` returns is an un-specced AsyncMock;"
        " give it a spec of its own)"
    )


def sync_mock_fix(
    mock: object, names: Mapping[int, str], tail: tuple[str, ...], value: str, operation: str | None
) -> list[str]:
    """Lines that make the awaited result (or the mock itself) a MagicMock and re-create the chain."""
    awaited = _awaited_result(mock)
    if awaited is None and not tail and operation not in ("async with", "async for"):
        target = _naming.subject_of(mock, names)
        return [f"{target} = MagicMock(return_value={value})" if value != "..." else f"{target} = MagicMock()"]
    if awaited is not None:
        result = awaited[0]
        anchor = _anchor_for(result, names)
        target = ".".join((anchor, *_relative(mock, result)))
        chain = ".".join((target, "return_value", *tail))
        lines = [f"{anchor} = MagicMock()  # the awaited result is a plain object; only awaited methods are AsyncMock"]
    else:
        target = _naming.subject_of(mock, names)
        chain = ".".join((target, "return_value", *tail))
        lines = [f"{target} = MagicMock()"]
    if operation == "async with":
        lines.append(f"{chain}.__aenter__.return_value = {value}")
    elif operation == "async for":
        lines.append(f"{chain}.__aiter__.return_value = {value if value != '...' else '[...]'}")
    elif value != "..." or tail:
        lines.append(f"{chain} = {value}")
    if awaited is not None:
        replaced = _explicit_assignment(mock, target, names)
        if replaced:
            lines.append(f"# and drop `{replaced}`, which the chain above replaces")
        else:
            lines.append(f"# and assign no AsyncMock to `{target}`: it would make the call async again")
        real_class = _evidence.awaited_result_spec(awaited[0])
        if real_class is not None:
            module, _, name = real_class.partition(":")
            lines.append(
                f"# or, specced from its real class: {anchor} = MagicMock(spec={name})  # from {module} import {name}"
            )
    return lines


def _explicit_assignment(mock: object, target: str, names: Mapping[int, str]) -> str | None:
    """``x.attr = AsyncMock(return_value=y)`` written by the test, recognised by a foreign return value."""
    result = _naming.configured_return_value(mock)
    if not _naming.is_mock(result) or _naming.parent_of(result) is mock:
        return None
    return f"{target} = AsyncMock(return_value={_naming.expression_for(result, names)})"


def missing_await(mock: object, call_site: Location, rootdir: str | None) -> list[str]:
    """The production line with ``await`` added, as a commented alternative."""
    attribute = _naming.segment_of(mock)
    awaited_line = with_await(source_line(call_site), attribute)
    if not awaited_line:
        return []
    return [
        f"# or, if the real `{attribute}` is a coroutine function, the code under test is missing"
        f" `await` at {call_site.short(rootdir)}:",
        f"#     {awaited_line}",
    ]


def coroutine_misuse(
    mock: object,
    names: Mapping[int, str],
    operation: str,
    *,
    where: Location,
    call_site: Location,
    caller_is_async: bool,
    rootdir: str | None,
    member_is_sync: bool = False,
) -> tuple[str, str]:
    """Advice for a coroutine from ``mock()`` used as a value at ``where``; ``member_is_sync`` when the real
    member is known to be synchronous, so a missing ``await`` is no alternative."""
    line = source_line(where)
    why = why_async(mock, names)
    if operation in ("truth test", "comparison ==", "comparison !="):
        consequence = (
            "which raises nothing: a coroutine is always true and never equal to data, so this check"
            " silently tests nothing"
        )
    else:
        consequence = "which fails because a coroutine is not the data the code expected"
    message = (
        f"{why}. The code at {where.short(rootdir)} used that coroutine as a value ({operation})"
        f" instead of awaiting it, {consequence}."
    )
    tail: tuple[str, ...] = ()
    configured = _naming.configured_return_value(mock)
    if configured is not _naming.DEFAULT and not _naming.is_mock(configured):
        value = _naming.expression_for(configured, names)  # the test said what the call returns
    elif operation.startswith("attribute "):
        attribute = operation.split(" ", 1)[1].strip("'\"")
        called = _called_attribute(line, attribute)
        tail = (attribute, "return_value") if called else (attribute,)
        value = value_after(mock, attribute, names) if called else "..."
    elif operation == "async with":
        enter = _naming.configured_child(configured, "__aenter__") if _naming.is_mock(configured) else None
        value = _naming.expression_for(_naming.configured_return_value(enter), names) if enter else "..."
    else:
        value = value_after(mock, None, names)
    fix = sync_mock_fix(mock, names, tail, value, operation)
    if caller_is_async and not member_is_sync:
        fix += missing_await(mock, call_site, rootdir)
    return message, "\n".join(fix)


def never_awaited_mock(
    mock: object,
    names: Mapping[int, str],
    *,
    where: Location,
    caller_is_async: bool,
    rootdir: str | None,
    member_is_sync: bool = False,
) -> tuple[str, str]:
    """Advice for ``mock()`` called at ``where`` whose coroutine nobody awaited; ``member_is_sync`` when
    the real member is known to be synchronous, so a missing ``await`` is no alternative."""
    subject = _naming.subject_of(mock, names)
    attribute = _naming.segment_of(mock) or subject
    function = where.function or "the caller"
    message = (
        f"`{subject}(...)` was called at {where.short(rootdir)} but the coroutine it returned was"
        f" never awaited, so the mocked call never ran: no side_effect, await_count stays 0, and the"
        f" code under test went on without its result."
    )
    configure = sync_mock_fix(mock, names, (), value_after(mock, None, names), None)
    if member_is_sync:
        message += f" {why_async(mock, names)} where the real `{attribute}` returns its result directly."
        return message, "\n".join(configure)
    awaited_line = with_await(source_line(where), _naming.segment_of(mock)) if caller_is_async else None
    if awaited_line is None:
        message += (
            f" `{function}` is a regular function and cannot await, so the real `{attribute}` is"
            f" synchronous: {why_async(mock, names)} that nobody can await."
        )
        return message, "\n".join(configure)
    message += (
        f" `{function}` is async: either it is missing `await`, or the real `{attribute}` is synchronous"
        f" and must not be an AsyncMock."
    )
    fix = [
        f"# if the real `{attribute}` is a coroutine function, await it at {where.short(rootdir)}:",
        awaited_line,
        f"# if the real `{attribute}` is synchronous, mock it with MagicMock:",
        *configure,
    ]
    return message, "\n".join(fix)


def never_awaited_function(
    qualname: str, where: Location, *, known_call_site: bool, rootdir: str | None
) -> tuple[str, str]:
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
    span = _call_span(line, callee)
    return line[span[0] : span[1]] if span else None


# --- how the test built its mocks -------------------------------------------------------------------


def rebuilt_call(site: CallSite, callee: str, *, first: str | None, keep_first_as: str | None) -> str:
    """``site``'s call written again with ``callee``, its first positional argument as ``keep_first_as=``
    (or dropped), and the rest of its arguments as the test wrote them."""
    arguments = []
    if keep_first_as is not None and first is not None:
        arguments.append(f"{keep_first_as}={first}")
    arguments += [site.text(argument) for argument in site.call.args[1:]]
    arguments += [
        site.text(keyword) if keyword.arg is None else f"{keyword.arg}={site.text(keyword.value)}"
        for keyword in site.call.keywords
    ]
    return f"{callee}({', '.join(arguments)})"


def _with_target(site: CallSite, expression: str) -> str:
    return f"{site.target} = {expression}" if site.target and isinstance(site.statement, ast.Assign) else expression


def spec_is_data(site: CallSite | None, class_name: str, spec: object, subject: str) -> tuple[str, str]:
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


def data_mock_as_awaited_result(site: CallSite | None, construction: Any, subject: str) -> tuple[str, str]:
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


def coroutine_as_return_value(
    where: Location, site: CallSite | None, subject: str, slot: str, value: object, *, rootdir: str | None
) -> tuple[str, str]:
    """Advice for ``return_value``/``side_effect`` set to a coroutine object."""
    expression_node = site.keyword(slot) if site is not None else assigned_value(where)
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


def assigned_value(where: Location) -> ast.expr | None:
    tree = module_of(where.path)
    if tree is None:
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and node.lineno <= where.line <= (node.end_lineno or node.lineno):
            return node.value
    return None


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


def async_mock_for_sync_assigned(
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


def async_mock_for_sync_patched(
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


def async_mock_for_sync_child(subject: str, evidence: SyncEvidence, message: str, fix: str) -> tuple[str, str]:
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


def awaited_sync_mock(
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
    plain = configured is not _naming.DEFAULT and not _naming.is_mock(configured)
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


# --- event loops -----------------------------------------------------------------------------------
class TestLine:
    """The line of the test that led to a finding, and the test function's name (for the rewrite)."""

    __slots__ = ("function", "where")

    def __init__(self, where: Location, function: str) -> None:
        self.where = where
        self.function = function


class Scheduling:
    """How the user's code reached the scheduler: the callable as written (``asyncio.create_task``),
    where to patch it (``asyncio.create_task``, or ``app.metrics.create_task`` after ``from asyncio
    import create_task``), and whether it passed more than the coroutine."""

    __slots__ = ("call", "coroutine_first", "extra_arguments", "patch_target")

    def __init__(
        self, call: str, patch_target: str, *, extra_arguments: bool = False, coroutine_first: bool = True
    ) -> None:
        self.call = call
        self.patch_target = patch_target
        self.extra_arguments = extra_arguments
        self.coroutine_first = coroutine_first

    @property
    def closing(self) -> str:
        """A side_effect that closes the coroutine it is given, so it is neither run nor lost."""
        if not self.coroutine_first:
            return "lambda *args, **kwargs: [arg.close() for arg in args if asyncio.iscoroutine(arg)]"
        return "lambda coro, *args, **kwargs: coro.close()" if self.extra_arguments else "lambda coro: coro.close()"


_LOOP_GETTERS = ("get_event_loop", "get_running_loop")


def _loop_method_after(line: str, getter: str) -> str:
    """The loop method called on the getter's result on that line (``create_task`` by default)."""
    match = re.search(rf"{getter}\(\)\s*\.\s*(\w+)\s*\(", line)
    return match.group(1) if match else "create_task"


def _handed_check(handle: str, coroutine_name: str, *, from_mock: bool) -> str:
    """The assertion on what the closing mock was handed: the coroutine function's name, or, for an
    AsyncMock's coroutine (whose function is unittest.mock's), that the AsyncMock was called."""
    if from_mock:
        return f"{coroutine_name}.assert_called_once()"
    return f'assert {handle}.call_args.args[0].__qualname__ == "{coroutine_name}"'


def _async_test_fix(test: TestLine | None, coroutine_name: str | None) -> list[str]:
    name = test.function if test is not None else "test_..."
    body = source_line(test.where) if test is not None else "..."
    wait = (
        f"  # then let `{coroutine_name}()` start before asserting on what it does"
        if coroutine_name
        else "  # a loop is running now"
    )
    return [
        "# 1. make the test async, so that a loop runs (pytest-asyncio; with anyio: @pytest.mark.anyio):",
        "@pytest.mark.asyncio",
        f"async def {name}(...):",
        f"    {body}",
        f"    await asyncio.sleep(0){wait}",
    ]


def _sync_test_fix(
    scheduling: Scheduling, test: TestLine | None, coroutine_name: str | None, *, from_mock: bool
) -> list[str]:
    body = source_line(test.where) if test is not None else "..."
    attribute = scheduling.patch_target.rpartition(".")[2]
    fix = ["# 2. or keep the test sync, and patch the scheduler so that it closes what it is given:"]
    if attribute in _LOOP_GETTERS:
        method = _loop_method_after(source_line(test.where) if test is not None else "", attribute)
        fix += [
            "loop = MagicMock()",
            f"loop.{method}.side_effect = lambda coro, *args, **kwargs: coro.close()",
            f'with patch("{scheduling.patch_target}", return_value=loop):',
            f"    {body}",
            f"loop.{method}.assert_called_once()",
        ]
        return fix
    fix += [
        f'with patch("{scheduling.patch_target}", side_effect={scheduling.closing}) as {attribute}:',
        f"    {body}",
        f"{attribute}.assert_called_once()",
    ]
    if coroutine_name:
        fix.append(_handed_check(attribute, coroutine_name, from_mock=from_mock))
    return fix


def no_running_loop(
    subject: str,
    coroutine_name: str | None,
    scheduling: Scheduling,
    where: Location,
    test: TestLine | None,
    *,
    nodeid: str | None,
    rootdir: str | None,
    from_mock: bool = False,
) -> tuple[str, str]:
    """Advice for a sync test whose code reached asyncio's scheduler with no loop, and got RuntimeError."""
    from_test = (
        f" (reached from the test's line {test.where.short(rootdir)})"
        if test is not None and test.where != where
        else ""
    )
    in_test = _sync_code(nodeid)
    if coroutine_name:
        message = (
            f"`{coroutine_name}()` was handed to `{scheduling.call}()` at {where.short(rootdir)}{from_test},"
            f" but no event loop is running in {in_test}: asyncio raised RuntimeError, and the coroutine"
            " never ran."
        )
    else:
        message = (
            f"`{subject}` at {where.short(rootdir)}{from_test} needs an event loop, but none is running in"
            f" {in_test}: asyncio raised RuntimeError."
        )
    return message, _loop_fixes(scheduling, test, coroutine_name, from_mock=from_mock)


def _sync_code(nodeid: str | None) -> str:
    return f"the sync test {nodeid}" if nodeid else "this sync code"


def _loop_fixes(scheduling: Scheduling, test: TestLine | None, coroutine_name: str | None, *, from_mock: bool) -> str:
    """The two fixes for code that needs a running loop: an async test, or a scheduler that closes."""
    fix = [
        *_async_test_fix(test, coroutine_name),
        *_sync_test_fix(scheduling, test, coroutine_name, from_mock=from_mock),
    ]
    return "\n".join(fix)


def on_idle_loop(
    coroutine_name: str,
    scheduling: Scheduling,
    where: Location,
    test: TestLine | None,
    *,
    nodeid: str | None,
    rootdir: str | None,
    from_mock: bool = False,
) -> tuple[str, str]:
    """Advice for a task scheduled, in a sync test, on a loop that ``get_event_loop()`` made and nobody runs."""
    in_test = _sync_code(nodeid)
    message = (
        f"`{coroutine_name}()` was scheduled at {where.short(rootdir)} on an event loop that is not running:"
        f" no loop runs in {in_test}, so asyncio's get_event_loop() handed out an idle one (a new loop it"
        " made, which Python 3.12 and 3.13 warn about with a DeprecationWarning and 3.14 refuses with"
        " RuntimeError, or one left over from another test). The task never started, so the test passed"
        f" without running `{coroutine_name}`."
    )
    return message, _loop_fixes(scheduling, test, coroutine_name, from_mock=from_mock)


def _first_body_line(where: Location) -> str:
    """The first statement inside the ``with`` at ``where``, as written (``...`` if unknown)."""
    tree = module_of(where.path)
    for node in ast.walk(tree) if tree is not None else ():
        if isinstance(node, (ast.With, ast.AsyncWith)) and node.lineno == where.line and node.body:
            return text_of(where.path, node.body[0]).splitlines()[0]
    return "..."


def _closing_patch(
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


def swallowed_by_mock(
    coroutine_name: str,
    scheduler: str,
    scheduling: Scheduling,
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
    rewritten = _closing_patch(patch_site, closing, attribute, handle) if patch_site is not None else None
    if rewritten is not None:
        fix, handle = rewritten
    else:
        fix, handle = [f"{scheduler}.side_effect = {closing}  # closes what it is given"], scheduler
    fix += [
        f"{handle}.assert_called_once()",
        _handed_check(handle, coroutine_name, from_mock=from_mock),
    ]
    fix.append(f"# or let a real loop run it: make the test async and stop mocking `{attribute}`")
    return message, "\n".join(fix)
