"""The stand-in for a coroutine an AsyncMock call returns when its caller does not await it at once.

A module of its own, imported by the instrumentation when it makes its first proxy: a suite whose
AsyncMock calls are all awaited where they are made (or a pytest-xdist controller, which runs no test)
never loads it.

The proxy must look like a coroutine to every check correct code makes, and report only what a
coroutine cannot do. Python finds the operators of ``len(x)``, ``x[0]``, ``async with x`` on the type,
so the class defines them to see those uses; but a coroutine has none of them, and code that asks
(``hasattr(x, "__aenter__")``, ``isinstance(x, collections.abc.Iterable)``, ``typing.SupportsIndex``)
must get a coroutine's answer, or it takes another branch than it does without the guard. So an
instance shows only a coroutine's attributes (``__getattribute__``), and the structural checks of
``collections.abc``, which read ``cls.__mro__``, read the coroutine type's (the metaclass).
"""

from __future__ import annotations

import operator
import sys
import types
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from asyncmock_guard import _frames
from asyncmock_guard._instrumentation import CoroutineRecord, add_note

T = TypeVar("T")

_COROUTINE_ATTRIBUTES = frozenset(dir(types.CoroutineType)) | {"cr_suspended", "cr_origin"}


async def _enter_async_context(obj: Any) -> None:
    __tracebackhide__ = True
    async with obj:
        pass  # pragma: no cover - a coroutine is not an async context manager


async def _iterate_asynchronously(obj: Any) -> None:
    __tracebackhide__ = True
    async for _ in obj:
        pass  # pragma: no cover - a coroutine is not an async iterable


def _raise_like_protocol(runner: Callable[[Any], Coroutine[Any, Any, None]], obj: object) -> None:
    """Run ``async with``/``async for`` on the real coroutine, so the real error (type and text) is raised."""
    __tracebackhide__ = True
    attempt = runner(obj)
    try:
        attempt.send(None)
    except StopIteration:  # pragma: no cover - the protocol check fails before anything runs
        return
    finally:
        attempt.close()


class _CoroutineProxyType(type):
    """``collections.abc``'s structural checks (``Iterable``, ``Sized``, ``AsyncIterable``...) look for the
    methods along ``cls.__mro__``: the proxy's class answers with the coroutine type's, so they find what
    they find on a coroutine. Python itself (attribute lookup, ``super``, ``issubclass``) uses the real one."""

    @property
    def __mro__(cls) -> tuple[type, ...]:
        return types.CoroutineType.__mro__


class CoroutineProxy(metaclass=_CoroutineProxyType):
    """Stands in for the coroutine an AsyncMock call returns.

    ``isinstance(proxy, types.CoroutineType)`` is true (``__class__`` is the coroutine's), asyncio
    schedules it through ``send``/``throw``, and ``await`` goes through ``__await__``. Every other
    use of it as a value is noted, then performed on the real coroutine so the code gets what it would
    have got (the exception, or ``True`` for a truth test). It is a misuse only if the coroutine is never
    awaited after all (``Instrumentation.misuse``): code that tries ``len(x)`` and falls back to
    ``await x`` is correct.

    It has no ``__call__``: ``callable(coroutine)`` must stay false for code that tells callbacks from
    coroutines that way; calling one fails as Python fails it (the class is named ``coroutine`` for the
    error's text), and the coroutine, never awaited, is reported as such.
    """

    __slots__ = ("__weakref__", "__wrapped__", "_self_record")
    __wrapped__: types.CoroutineType[Any, Any, Any]
    _self_record: CoroutineRecord

    def __init__(self, wrapped: types.CoroutineType[Any, Any, Any], record: CoroutineRecord) -> None:
        _set_wrapped(self, wrapped)
        _set_record(self, record)

    def __getattribute__(self, name: str) -> Any:
        __tracebackhide__ = True
        if name in _OWN_ATTRIBUTES:
            return _object_getattribute(self, name)
        wrapped = _wrapped(self)
        if name in _COROUTINE_ATTRIBUTES or name.startswith("__"):  # a coroutine's answer, or its error
            return getattr(wrapped, name)
        return _misused(self, f"attribute {name!r}", getattr, wrapped, name)

    def __setattr__(self, name: str, value: object) -> None:
        setattr(_wrapped(self), name, value)  # a coroutine's error: it has no attributes to set

    def __delattr__(self, name: str) -> None:
        delattr(_wrapped(self), name)

    def __dir__(self) -> list[str]:
        return dir(_wrapped(self))

    # --- the coroutine protocol: consuming the coroutine is correct use -------------------------
    # Hot path: every awaited AsyncMock call goes through ``__await__``, so it only sets a flag.
    def __await__(self) -> Any:
        _record(self).settled = True
        return _wrapped(self).__await__()

    def send(self, value: object) -> Any:
        _record(self).settled = True
        return _wrapped(self).send(value)

    def throw(self, *args: Any) -> Any:
        record = _record(self)
        if not record.settled:  # thrown into before it ever ran: a task cancelled before it started
            record.instrumentation.thrown_before_start(record, _wrapped(self))
        record.settled = True
        return _wrapped(self).throw(*args)

    def close(self) -> None:
        _record(self).settled = True
        _wrapped(self).close()

    def __repr__(self) -> str:
        return repr(_wrapped(self))

    def __str__(self) -> str:
        return str(_wrapped(self))

    def __hash__(self) -> int:
        return hash(_wrapped(self))

    def __reduce_ex__(self, protocol: Any) -> Any:
        return _wrapped(self).__reduce_ex__(protocol)

    # --- uses as a value: noted, then done on the real coroutine ---------------------------------
    # The real operation is done by a builtin (no frame of ours in the user's traceback). None of these
    # is visible on an instance (see ``_OWN_ATTRIBUTES``).
    def __getitem__(self, key: object) -> Any:
        __tracebackhide__ = True
        return _misused(self, "subscript", operator.getitem, _wrapped(self), key)

    def __setitem__(self, key: object, value: object) -> None:
        __tracebackhide__ = True
        _misused(self, "item assignment", operator.setitem, _wrapped(self), key, value)

    def __delitem__(self, key: object) -> None:
        __tracebackhide__ = True
        _misused(self, "item deletion", operator.delitem, _wrapped(self), key)

    def __iter__(self) -> Any:
        __tracebackhide__ = True
        if _frames.is_generator_based_coroutine(sys._getframe(1).f_code):
            # ``yield from coro`` inside a @types.coroutine generator is how those await.
            return self.__await__()
        return _misused(self, "iteration", iter, _wrapped(self))

    def __len__(self) -> int:
        __tracebackhide__ = True
        return _misused(self, "len()", len, _wrapped(self))

    def __contains__(self, item: object) -> bool:
        __tracebackhide__ = True
        return _misused(self, "membership test", operator.contains, _wrapped(self), item)

    def __bool__(self) -> bool:
        __tracebackhide__ = True
        return _misused(self, "truth test", bool, _wrapped(self))

    def __eq__(self, other: object) -> bool:
        __tracebackhide__ = True
        wrapped = _wrapped(self)
        if other is self or other is wrapped:
            return True
        return bool(_misused(self, "comparison ==", operator.eq, wrapped, other))

    def __ne__(self, other: object) -> bool:
        __tracebackhide__ = True
        wrapped = _wrapped(self)
        if other is self or other is wrapped:
            return False
        return bool(_misused(self, "comparison !=", operator.ne, wrapped, other))

    def __aenter__(self) -> Any:
        __tracebackhide__ = True
        return _misused(self, "async with", _raise_like_protocol, _enter_async_context, _wrapped(self))

    def __aexit__(self, *exc_info: object) -> Any:  # pragma: no cover - __aenter__ always raises
        return None

    def __aiter__(self) -> Any:
        __tracebackhide__ = True
        return _misused(self, "async for", _raise_like_protocol, _iterate_asynchronously, _wrapped(self))


# The slots read and written as C descriptors, not through ``__getattribute__`` (a Python call).
_wrapped: Callable[[CoroutineProxy], Any] = CoroutineProxy.__dict__["__wrapped__"].__get__
_record: Callable[[CoroutineProxy], CoroutineRecord] = CoroutineProxy.__dict__["_self_record"].__get__
_set_wrapped: Callable[[CoroutineProxy, object], None] = CoroutineProxy.__dict__["__wrapped__"].__set__
_set_record: Callable[[CoroutineProxy, CoroutineRecord], None] = CoroutineProxy.__dict__["_self_record"].__set__
_object_getattribute = object.__getattribute__

# What an instance shows of its class: what a coroutine has too, and the two slots the guard reads
# (``_event_loop.unwrapped``, the loop's events). The rest (``__len__``, ``__aenter__``...) a coroutine
# lacks, and so does the proxy, to ``hasattr`` and ``getattr``: they answer from the real coroutine.
_OWN_ATTRIBUTES = (frozenset(vars(CoroutineProxy)) & _COROUTINE_ATTRIBUTES) - {"__class__", "__doc__"} | {
    "__wrapped__",
    "_self_record",
}


def _misused(proxy: CoroutineProxy, operation: str, perform: Callable[..., T], *args: Any) -> T:
    """Note a use of the coroutine as a value at the user's line (two frames up), then perform it."""
    __tracebackhide__ = True
    record = _record(proxy)
    note = record.instrumentation.misuse(record, _wrapped(proxy), operation, sys._getframe(2))
    try:
        return perform(*args)
    except BaseException as error:
        if note is not None:
            add_note(error, note)
        raise


# The type name Python's own errors show for an operation the proxy does not define: as for the coroutine.
CoroutineProxy.__name__ = CoroutineProxy.__qualname__ = "coroutine"
