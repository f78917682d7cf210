"""The stand-in for a coroutine an AsyncMock call returns when its caller does not await it at once.

A module of its own, imported by the instrumentation when it makes its first proxy: it is what needs
``wrapt``, and a suite whose AsyncMock calls are all awaited where they are made (or a pytest-xdist
controller, which runs no test) never loads either.
"""

from __future__ import annotations

import operator
import sys
import types
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import wrapt

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


class CoroutineProxy(wrapt.BaseObjectProxy[Any]):
    """Stands in for the coroutine an AsyncMock call returns.

    ``isinstance(proxy, types.CoroutineType)`` stays true (wrapt forwards ``__class__``), asyncio
    schedules it through ``send``/``throw``, and ``await`` goes through ``__await__``. Every other
    use of it as a value is a misuse: it is reported, then performed on the real coroutine so the
    test still gets the exception it would have got.

    It has no ``__call__``: ``callable(coroutine)`` must stay false for code that tells callbacks from
    coroutines that way; calling one fails as Python fails it (the class is named ``coroutine`` for the
    error's text), and the coroutine, never awaited, is reported as such.
    """

    __slots__ = ("_self_record",)
    _self_record: CoroutineRecord

    # --- the coroutine protocol: consuming the coroutine is correct use -------------------------
    # Hot path: every awaited AsyncMock call goes through ``__await__``, so it only sets a flag.
    def __await__(self) -> Any:
        self._self_record.settled = True
        return self.__wrapped__.__await__()

    def send(self, value: object) -> Any:
        self._self_record.settled = True
        return self.__wrapped__.send(value)

    def throw(self, *args: Any) -> Any:
        record = self._self_record
        if not record.settled:  # thrown into before it ever ran: a task cancelled before it started
            record.instrumentation.thrown_before_start(record, self.__wrapped__)
        record.settled = True
        return self.__wrapped__.throw(*args)

    def close(self) -> None:
        self._self_record.settled = True
        self.__wrapped__.close()

    def __repr__(self) -> str:
        return repr(self.__wrapped__)

    def __str__(self) -> str:
        return str(self.__wrapped__)

    def __hash__(self) -> int:
        return hash(self.__wrapped__)

    def __reduce_ex__(self, protocol: Any) -> Any:
        return self.__wrapped__.__reduce_ex__(protocol)

    # --- uses as a value: reported, then done on the real coroutine ------------------------------
    # The real operation is done by a builtin (no frame of ours in the user's traceback).
    def _self_misuse(self, operation: str, perform: Callable[..., T], *args: Any) -> T:
        __tracebackhide__ = True
        record = self._self_record
        note = record.instrumentation.misuse(record, self.__wrapped__, operation, sys._getframe(2))
        try:
            return perform(*args)
        except BaseException as error:
            if note is not None:
                add_note(error, note)
            raise

    def __getattr__(self, name: str) -> Any:
        __tracebackhide__ = True
        if name.startswith(("_self_", "__")) or name in _COROUTINE_ATTRIBUTES:
            return super().__getattr__(name)
        return self._self_misuse(f"attribute {name!r}", getattr, self.__wrapped__, name)

    def __getitem__(self, key: object) -> Any:
        __tracebackhide__ = True
        return self._self_misuse("subscript", operator.getitem, self.__wrapped__, key)

    def __setitem__(self, key: object, value: object) -> None:
        __tracebackhide__ = True
        self._self_misuse("item assignment", operator.setitem, self.__wrapped__, key, value)

    def __delitem__(self, key: object) -> None:
        __tracebackhide__ = True
        self._self_misuse("item deletion", operator.delitem, self.__wrapped__, key)

    def __iter__(self) -> Any:
        __tracebackhide__ = True
        if _frames.is_generator_based_coroutine(sys._getframe(1).f_code):
            # ``yield from coro`` inside a @types.coroutine generator is how those await.
            return self.__await__()
        return self._self_misuse("iteration", iter, self.__wrapped__)

    def __len__(self) -> int:
        __tracebackhide__ = True
        return self._self_misuse("len()", len, self.__wrapped__)

    def __contains__(self, item: object) -> bool:
        __tracebackhide__ = True
        return self._self_misuse("membership test", operator.contains, self.__wrapped__, item)

    def __bool__(self) -> bool:
        __tracebackhide__ = True
        return self._self_misuse("truth test", bool, self.__wrapped__)

    def __eq__(self, other: object) -> bool:
        __tracebackhide__ = True
        if other is self or other is self.__wrapped__:
            return True
        return bool(self._self_misuse("comparison ==", operator.eq, self.__wrapped__, other))

    def __ne__(self, other: object) -> bool:
        __tracebackhide__ = True
        if other is self or other is self.__wrapped__:
            return False
        return bool(self._self_misuse("comparison !=", operator.ne, self.__wrapped__, other))

    def __aenter__(self) -> Any:
        __tracebackhide__ = True
        return self._self_misuse("async with", _raise_like_protocol, _enter_async_context, self.__wrapped__)

    def __aexit__(self, *exc_info: object) -> Any:  # pragma: no cover - __aenter__ always raises
        return None

    def __aiter__(self) -> Any:
        __tracebackhide__ = True
        return self._self_misuse("async for", _raise_like_protocol, _iterate_asynchronously, self.__wrapped__)


# The type name Python's own errors show for an operation the proxy does not define: as for the coroutine.
CoroutineProxy.__name__ = CoroutineProxy.__qualname__ = "coroutine"
