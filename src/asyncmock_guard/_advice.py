"""The fix for each kind of finding, written with the test's own names.

Every function returns ``(message, fix)``: the message says what happened and why in one or two
sentences; the fix is code the user can paste. Advice reads the mocks (through ``_naming``) at the
moment the finding is made; it never keeps them.
"""

from __future__ import annotations

import linecache
import re
from collections.abc import Mapping

from asyncmock_guard import _evidence, _naming
from asyncmock_guard._findings import Location
from asyncmock_guard._source import CallSite

_ASSIGNMENT = re.compile(r"^(?P<target>[\w.\[\]'\"]+(?:\s*,\s*[\w.\[\]'\"]+)*\s*(?:[-+*/|&]?=)\s*)(?P<expr>.+)$")
_RETURN = re.compile(r"^(?P<keyword>return\s+|yield\s+)(?P<expr>.+)$")


def source_line(where: Location) -> str:
    """The offending line's text, stripped (empty when the source cannot be read)."""
    return linecache.getline(where.path, where.line).strip()


def call_span(line: str, callee: str) -> tuple[int, int] | None:
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
    span = call_span(line, callee) if callee else None
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


def awaited_result(mock: object) -> tuple[object, object] | None:
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
        awaited = awaited_result(mock)
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
    awaited = awaited_result(mock)
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
    if not _naming.is_default(configured) and not _naming.is_mock(configured):
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


# --- event loops -----------------------------------------------------------------------------------
