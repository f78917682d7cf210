"""Is ``parent.name`` synchronous in the real code? The evidence for ``async-mock-for-sync``.

Sources, strongest first: the user's own ``asyncmock_guard_sync_methods`` entries; the parent's
spec (``spec=``, ``create_autospec``, ``patch(autospec=True)``) read through the known-sync table
or the real member itself; the awaited result of a known async method (``await session.execute()``
gives a SQLAlchemy ``Result``); a member name that means one thing across the table.

Firm evidence (user entries, the spec) is enough to report an ``AsyncMock`` assigned to the member
at once. Weak evidence (a bare name, an inferred class) only explains a coroutine that was actually
misused or dropped: a user's own class may well have an async ``add``.
"""

from __future__ import annotations

import inspect
import re
import types
import typing
from dataclasses import dataclass
from typing import Any

from asyncmock_guard import _known_sync, _naming
from asyncmock_guard._config import UserEntries
from asyncmock_guard._known_sync import Returns

# A return annotation that names one of these may well be awaited (redis.asyncio's ``-> ResponseT``
# is ``Union[Awaitable[Any], Any]``; motor's methods return Futures): not evidence of a sync member.
_MAYBE_AWAITABLE = re.compile(r"Awaitable|Coroutine|Future|Task|\bAny\b|\bobject\b")


@dataclass(frozen=True)
class SyncEvidence:
    title: str  # "SQLAlchemy `Result.scalars`", "`Repo.save` (from the spec)"
    returns: Returns
    firm: bool
    real_class: str | None = None  # "module:Class" of the parent, when known
    by_name_only: bool = False  # only the member's name matched the table: a hint, not a verdict
    returned_awaits: tuple[str, ...] = ()  # what the code awaits on what it returns (see ``SyncMember``)
    awaitable: bool = False  # what it returns can be awaited too: awaiting the AsyncMock's call is right


def _class_names(spec: type) -> list[str]:
    return [cls.__name__ for cls in spec.__mro__]


def _full_name(spec: type) -> str:
    return f"{spec.__module__}:{spec.__qualname__}"


def _return_annotation_text(function: Any) -> str | None:
    """The return annotation as text, with a plain alias name resolved in the function's module."""
    annotation = inspect.signature(function).return_annotation
    if annotation is inspect.Signature.empty:
        return None
    if isinstance(annotation, str):
        resolved = getattr(function, "__globals__", {}).get(annotation.split("[")[0].strip())
        return f"{annotation} {resolved!r}" if resolved is not None else annotation
    return repr(annotation)


def _from_spec_member(spec: type, name: str) -> tuple[bool, Returns] | None:
    """``(is_async, returns)`` read off the real member; None when it cannot be told."""
    return _read_member(inspect.getattr_static(spec, name, None))


def _read_member(member: Any) -> tuple[bool, Returns] | None:
    """``(is_async, returns)`` of a real class member or function; None when it cannot be told."""
    if member is None:
        return None
    if isinstance(member, property):
        return False, Returns.PROPERTY
    function = inspect.unwrap(getattr(member, "__func__", member))
    if not callable(function):
        return None
    if inspect.iscoroutinefunction(function):
        return True, Returns.VALUE
    if inspect.isasyncgenfunction(function):
        # ``@asynccontextmanager`` keeps the generator as ``__wrapped__``; a bare one is iterated.
        return (False, Returns.ASYNC_CONTEXT_MANAGER) if member is not function else None
    if function is not getattr(member, "__func__", member):
        return None  # a decorator (motor wraps pymongo's sync methods to return Futures) may change it all
    try:
        annotation = _return_annotation_text(function)
    except (TypeError, ValueError):
        return None
    if annotation is None or _MAYBE_AWAITABLE.search(annotation) or _returns_awaitable(function):
        return None
    return False, Returns.VALUE


def _returns_awaitable(function: Any) -> bool:
    """Whether the class the return annotation names (any member of a union) can be awaited: a sync
    method may return an awaitable (aiohttp's ``-> _BaseRequestContextManager[...]``)."""
    try:
        returned = typing.get_type_hints(function).get("return")
    except Exception:  # noqa: BLE001 - an annotation that cannot be resolved says nothing either way
        return False
    members = typing.get_args(returned) if typing.get_origin(returned) in (typing.Union, types.UnionType) else ()
    return any(hasattr(typing.get_origin(member) or member, "__await__") for member in members or (returned,))


def _awaited_result_class(parent: object) -> tuple[_known_sync.AwaitedResult, bool] | None:
    """For ``parent`` = ``X.return_value`` of an AsyncMock ``X``: what the real ``await X()`` gives."""
    if _naming.segment_of(parent) != "return_value":
        return None
    method = _naming.parent_of(parent)
    if not _naming.is_async_mock(method):
        return None
    method_name = _naming.segment_of(method)
    owner = _naming.parent_of(method)
    if method_name is None:
        return None
    owner_spec = _naming.spec_class(owner) if owner is not None else None
    if owner_spec is not None:
        result = _known_sync.awaited_result(_class_names(owner_spec), method_name)
        return (result, True) if result is not None else None
    result = _known_sync.awaited_result(None, method_name)
    return (result, False) if result is not None else None


def _listed_for_class(spec: type, name: str, user: UserEntries) -> SyncEvidence | None:
    """``spec.name`` in the user's dotted entries, else in the known-sync table."""
    entry_name = user.names_for(spec, name)
    if entry_name is not None:
        return SyncEvidence(f"`{entry_name}` (asyncmock_guard_sync_methods)", Returns.VALUE, True, _full_name(spec))
    member = _known_sync.sync_member(_class_names(spec), name)
    if member is not None:
        return SyncEvidence(
            member.title,
            member.returns,
            True,
            _full_name(spec),
            returned_awaits=member.returned_awaits,
            awaitable=member.awaitable,
        )
    return None


def for_member(parent: object, name: str, user: UserEntries) -> SyncEvidence | None:
    """The evidence that ``parent.name`` is synchronous in the real code, or None."""
    if name.startswith("_"):
        return None
    spec = _naming.spec_class(parent)
    if spec is not None:
        listed = _listed_for_class(spec, name, user)
        if listed is not None:
            return listed
        read = _from_spec_member(spec, name)
        if read is not None:
            is_async, returns = read
            if is_async:
                return None
            return SyncEvidence(f"`{spec.__qualname__}.{name}` (from the spec)", returns, True, _full_name(spec))
    if name in user.bare:
        return SyncEvidence(f"`{name}` (asyncmock_guard_sync_methods)", Returns.VALUE, True)
    inferred = _awaited_result_class(parent)
    if inferred is not None:
        result, firm = inferred
        member = _known_sync.result_members(result, name)
        if member is not None:
            return SyncEvidence(member.title, member.returns, firm, result.result, awaitable=member.awaitable)
    if spec is None:
        member = _known_sync.sync_member_by_name(name)
        if member is not None:
            return SyncEvidence(
                member.title, member.returns, False, member.owner, by_name_only=True, awaitable=member.awaitable
            )
    return None


def for_patched(target: object, name: str, original: object, user: UserEntries) -> SyncEvidence | None:
    """The evidence that ``target.name``, which a test patched with an AsyncMock, is synchronous: the
    user's entries, the known-sync table for a class, else the real attribute the patch replaced."""
    if name.startswith("_"):
        return None
    owner = target if isinstance(target, type) else type(target)
    real_class = None if isinstance(target, types.ModuleType) else _full_name(owner)
    if isinstance(target, types.ModuleType):
        dotted = f"{target.__name__}.{name}"
        if dotted in user.dotted:
            return SyncEvidence(f"`{dotted}` (asyncmock_guard_sync_methods)", Returns.VALUE, True)
        title = f"`{dotted}`"
    else:
        listed = _listed_for_class(owner, name, user)
        if listed is not None:
            return listed
        title = f"`{owner.__qualname__}.{name}`"
    if name in user.bare:
        return SyncEvidence(f"`{name}` (asyncmock_guard_sync_methods)", Returns.VALUE, True, real_class)
    read = _read_member(original)
    if read is None or read[0]:
        return None
    return SyncEvidence(f"{title} (the real attribute the patch replaced)", read[1], True, real_class)


def awaited_result_spec(result_mock: object) -> str | None:
    """``module:Class`` of what awaiting ``X()`` really gives, for ``result_mock`` = ``X.return_value``:
    from the table, else from the real method's return annotation."""
    inferred = _awaited_result_class(result_mock)
    if inferred is not None:
        return inferred[0].result
    annotated = annotated_result_class(result_mock)
    return f"{annotated.__module__}:{annotated.__qualname__}" if annotated is not None else None


def annotated_result_class(result_mock: object) -> type | None:
    """The class the real method's return annotation names, for ``result_mock`` = ``X.return_value`` of a
    mock specced from a class (``async def fetch(self) -> Task | None`` gives ``Task``)."""
    method = _naming.parent_of(result_mock)
    owner = _naming.parent_of(method) if method is not None else None
    spec = _naming.spec_class(owner) if owner is not None else None
    attribute = _naming.segment_of(method) if method is not None else None
    if spec is None or attribute is None:
        return None
    real = inspect.getattr_static(spec, attribute, None)
    real = getattr(real, "__func__", real)
    if not callable(real):
        return None
    try:
        returned = typing.get_type_hints(real).get("return")
    except Exception:  # noqa: BLE001 - unresolvable annotations just mean no class to name
        return None
    origin = _without_none(returned)
    if not isinstance(origin, type) or origin in (type(None), object):
        return None
    return origin


def _without_none(annotation: object) -> object:
    """The class an annotation names, ``None`` left out: ``Task | None`` and ``Optional[Task]`` mean
    ``Task`` (a spec of ``Task``); a union of several classes names none (``Union``)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        members = [member for member in typing.get_args(annotation) if member is not type(None)]
        if len(members) != 1:
            return typing.Union
        annotation = members[0]
        origin = typing.get_origin(annotation)
    return origin or annotation
