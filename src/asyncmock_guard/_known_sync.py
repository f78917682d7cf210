"""What the guard knows about widely used async libraries without importing them.

Two tables, plain data: the *synchronous* members of classes whose other members are awaited (an
``AsyncMock`` for one of these is a bug), and the async methods whose awaited result is an object
with synchronous members (what ``await session.execute(...)`` returns). Every entry names the
library and the version it was checked against; ``tests/test_known_sync.py`` checks each one
against the real class wherever the library is installed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum


class Returns(str, Enum):
    """What calling the synchronous member gives, which decides the shape of the fix."""

    VALUE = "value"  # a plain value: ``MagicMock(return_value=...)``
    ASYNC_CONTEXT_MANAGER = "async-context-manager"  # ``async with x.begin():``: mock ``__aenter__``
    CURSOR = "cursor"  # an object with async methods / ``async for``: a MagicMock with AsyncMock leaves
    PROPERTY = "property"  # not called at all: set the attribute to the value


@dataclass(frozen=True)
class SyncMember:
    library: str
    checked: str  # the library version the entry was checked against
    owner: str  # import path of the class, as ``module:Class``
    name: str
    returns: Returns = Returns.VALUE
    # members of what it returns that are awaited (``await redis.pipeline().execute()``): a MagicMock put in
    # its place needs them as AsyncMocks
    returned_awaits: tuple[str, ...] = ()
    # what it returns can be awaited as well (aiohttp's ``_RequestContextManager``: ``await session.get(u)``
    # and ``async with session.get(u)`` both work): an AsyncMock for it is right when the code awaits the
    # call, so only a misused or dropped coroutine of one is a finding, never the assignment alone
    awaitable: bool = False

    @property
    def class_name(self) -> str:
        return self.owner.rpartition(":")[2]

    @property
    def title(self) -> str:
        return f"{self.library} `{self.class_name}.{self.name}`"


@dataclass(frozen=True)
class AwaitedResult:
    """``await <owner>.<name>(...)`` gives an instance of ``result`` (``module:Class``)."""

    library: str
    checked: str
    owner: str
    name: str
    result: str

    @property
    def result_name(self) -> str:
        return self.result.rpartition(":")[2]


def _members(
    library: str,
    checked: str,
    owner: str,
    names: str,
    returns: Returns = Returns.VALUE,
    *,
    returned_awaits: tuple[str, ...] = (),
    awaitable: bool = False,
) -> list[SyncMember]:
    return [SyncMember(library, checked, owner, name, returns, returned_awaits, awaitable) for name in names.split()]


def _results(library: str, checked: str, owner: str, names: str, result: str) -> list[AwaitedResult]:
    return [AwaitedResult(library, checked, owner, name, result) for name in names.split()]


_SQLALCHEMY = ("SQLAlchemy", "2.1.9")
_RESULT_METHODS = "all first one one_or_none unique fetchall fetchmany partitions"
_HTTPX = ("httpx", "0.28.1")
_AIOHTTP = ("aiohttp", "3.14.5")
_REDIS = ("redis", "8.1.0")
_MOTOR = ("motor", "3.7.1")
_PYMONGO = ("pymongo", "4.20.0")

SYNC_MEMBERS: tuple[SyncMember, ...] = (
    *_members(
        *_SQLALCHEMY,
        "sqlalchemy.ext.asyncio:AsyncSession",
        "add add_all expunge expunge_all in_transaction in_nested_transaction is_modified",
    ),
    # the current AsyncSessionTransaction, which (like every startable context) has ``__await__``
    *_members(*_SQLALCHEMY, "sqlalchemy.ext.asyncio:AsyncSession", "get_transaction", awaitable=True),
    *_members(
        *_SQLALCHEMY,
        "sqlalchemy.ext.asyncio:AsyncSession",
        "begin begin_nested",
        Returns.ASYNC_CONTEXT_MANAGER,
        awaitable=True,  # an AsyncSessionTransaction: ``await session.begin()`` starts it
    ),
    *_members(*_SQLALCHEMY, "sqlalchemy.ext.asyncio:AsyncEngine", "begin", Returns.ASYNC_CONTEXT_MANAGER),
    *_members(
        *_SQLALCHEMY, "sqlalchemy.ext.asyncio:AsyncEngine", "connect", Returns.ASYNC_CONTEXT_MANAGER, awaitable=True
    ),
    *_members(
        *_SQLALCHEMY,
        "sqlalchemy.engine:Result",
        f"{_RESULT_METHODS} scalars scalar_one scalar_one_or_none scalar fetchone mappings columns tuples",
    ),
    *_members(*_SQLALCHEMY, "sqlalchemy.engine:ScalarResult", _RESULT_METHODS),
    *_members(*_SQLALCHEMY, "sqlalchemy.engine:MappingResult", f"{_RESULT_METHODS} fetchone columns"),
    *_members(*_HTTPX, "httpx:Response", "json raise_for_status read iter_bytes iter_text iter_lines close"),
    *_members(*_HTTPX, "httpx:Response", "text content", Returns.PROPERTY),
    *_members(*_HTTPX, "httpx:AsyncClient", "stream", Returns.ASYNC_CONTEXT_MANAGER),
    *_members(
        *_AIOHTTP,
        "aiohttp:ClientSession",
        "get post put patch delete head options request ws_connect",
        Returns.ASYNC_CONTEXT_MANAGER,
        awaitable=True,  # a _BaseRequestContextManager: ``resp = await session.get(url)`` works too
    ),
    *_members(*_AIOHTTP, "aiohttp:ClientResponse", "raise_for_status release close get_encoding"),
    # a Pipeline, which ``await`` gives back (as do its commands, which return the pipeline itself)
    *_members(*_REDIS, "redis.asyncio:Redis", "pipeline", returned_awaits=("execute",), awaitable=True),
    *_members(
        *_REDIS,
        "redis.asyncio.client:Pipeline",
        "set get delete incr decr expire hset hget lpush rpush sadd zadd",
        awaitable=True,
    ),
    *_members(
        *_MOTOR, "motor.motor_asyncio:AsyncIOMotorCollection", "find aggregate list_indexes watch", Returns.CURSOR
    ),
    *_members(*_PYMONGO, "pymongo.asynchronous.collection:AsyncCollection", "find find_raw_batches", Returns.CURSOR),
)

AWAITED_RESULTS: tuple[AwaitedResult, ...] = (
    *_results(*_SQLALCHEMY, "sqlalchemy.ext.asyncio:AsyncSession", "execute", "sqlalchemy.engine:Result"),
    # (a ``CursorResult``, which is a ``Result``)
    *_results(*_SQLALCHEMY, "sqlalchemy.ext.asyncio:AsyncConnection", "execute", "sqlalchemy.engine:Result"),
    *_results(*_SQLALCHEMY, "sqlalchemy.ext.asyncio:AsyncSession", "scalars", "sqlalchemy.engine:ScalarResult"),
    *_results(*_HTTPX, "httpx:AsyncClient", "get post put patch delete head options request send", "httpx:Response"),
)


# Async methods of the same libraries that share a name with a synchronous entry above (``await
# session.scalars(...)`` but ``result.scalars()``): a bare name match on these names is ambiguous.
ASYNC_NAMESAKES: tuple[SyncMember, ...] = (
    *_members(*_SQLALCHEMY, "sqlalchemy.ext.asyncio:AsyncSession", "scalars scalar get close"),
    *_members(*_SQLALCHEMY, "sqlalchemy.ext.asyncio:AsyncResult", "all first one one_or_none fetchone fetchmany"),
    *_members(*_AIOHTTP, "aiohttp:ClientResponse", "json text read"),
    *_members(*_AIOHTTP, "aiohttp:ClientSession", "close"),
    *_members(*_REDIS, "redis.asyncio.client:Pipeline", "execute"),
    *_members(*_PYMONGO, "pymongo.asynchronous.collection:AsyncCollection", "aggregate"),
)


def _short(owner: str) -> str:
    return owner.rpartition(":")[2]


# Lookups by class name (the spec's class or any class of its MRO) and by member name alone.
_BY_CLASS: dict[tuple[str, str], SyncMember] = {(_short(m.owner), m.name): m for m in SYNC_MEMBERS}
_BY_NAME: dict[str, list[SyncMember]] = {}
for _member in SYNC_MEMBERS:
    _BY_NAME.setdefault(_member.name, []).append(_member)
_RESULT_BY_CLASS: dict[tuple[str, str], AwaitedResult] = {(_short(r.owner), r.name): r for r in AWAITED_RESULTS}
_RESULT_BY_NAME: dict[str, list[AwaitedResult]] = {}
for _result in AWAITED_RESULTS:
    _RESULT_BY_NAME.setdefault(_result.name, []).append(_result)
_AMBIGUOUS_NAMES = frozenset(m.name for m in ASYNC_NAMESAKES) | frozenset(r.name for r in AWAITED_RESULTS)


def sync_member(class_names: Iterable[str], name: str) -> SyncMember | None:
    """The entry for ``name`` on the first of ``class_names`` (a class and its bases) that has one."""
    for class_name in class_names:
        member = _BY_CLASS.get((class_name, name))
        if member is not None:
            return member
    return None


def sync_member_by_name(name: str) -> SyncMember | None:
    """The entry for a bare member name, when the name means one thing across the table."""
    members = _BY_NAME.get(name)
    if not members or name in _AMBIGUOUS_NAMES:
        return None
    return members[0]


def awaited_result(class_names: Iterable[str] | None, name: str) -> AwaitedResult | None:
    """What ``await <class>.<name>(...)`` gives; with no class, only when the name is unambiguous."""
    if class_names is not None:
        for class_name in class_names:
            result = _RESULT_BY_CLASS.get((class_name, name))
            if result is not None:
                return result
        return None
    results = _RESULT_BY_NAME.get(name, [])
    return results[0] if len({r.result for r in results}) == 1 else None


def result_members(result: AwaitedResult, name: str) -> SyncMember | None:
    return _BY_CLASS.get((result.result_name, name))
