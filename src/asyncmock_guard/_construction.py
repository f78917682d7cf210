"""Watching how tests *build* mocks: construction (``NonCallableMock._mock_add_spec``, which every mock
calls while it is made) and assignment of mocks to mocks and of ``return_value``/``side_effect`` (see
``install``).

Construction runs for every mock made, children included, so the hook decides in a few checks
whether there is anything to look at; the collector does the rest.
"""

from __future__ import annotations

import inspect
import numbers
import sys
import types
import weakref
from collections.abc import Callable
from types import FrameType
from typing import Any, Protocol

from asyncmock_guard import _frames, _mock_modules
from asyncmock_guard._findings import Location

# Built-in data that no one means as a spec of a Mock/MagicMock (a list of names is a spec there).
_DATA_TYPES = (list, tuple, dict, set, frozenset, str, bytes, bytearray, numbers.Number)
_ASSIGNED_VALUE_SLOTS = ("return_value", "side_effect")

# Mocks of these names receive coroutines to run: a coroutine passed to one and never started was
# swallowed by it. A mock of any other name can swallow one too; those are reported as never-awaited
# when the coroutine is collected, without naming the mock.
SCHEDULER_NAMES = frozenset(
    {
        # asyncio module functions
        "create_task",
        "ensure_future",
        "run_coroutine_threadsafe",
        "gather",
        "wait",
        "wait_for",
        "shield",
        "as_completed",
        "run",
        # event loop methods
        "run_until_complete",
        "call_soon",
        "call_soon_threadsafe",
        "call_later",
        "call_at",
        "run_in_executor",
        # task groups, job schedulers and executors of other libraries
        "start_soon",
        "spawn",
        "submit",
        "add_task",
    }
)


def is_coroutine(value: object) -> bool:
    """A coroutine object, the guard's proxy of one included (its ``__class__`` is the coroutine's)."""
    return isinstance(value, types.CoroutineType)


def has_async_call(value: object) -> bool:
    """An object called like a coroutine function that is not one (``FakeBackend()`` whose ``__call__`` is
    ``async def``): an AsyncMock awaits a side_effect only when it is a coroutine function, so its calls
    give the code the coroutine ``__call__`` returns."""
    if isinstance(value, (types.FunctionType, types.MethodType, type, *_mock_modules.NON_CALLABLE)):
        return False
    call = inspect.getattr_static(type(value), "__call__", None)
    return inspect.iscoroutinefunction(call) and not inspect.iscoroutinefunction(value)


def is_future(value: object) -> bool:
    """An asyncio Future or Task (as ``asyncio.isfuture`` tells them, without importing asyncio)."""
    if isinstance(value, _mock_modules.NON_CALLABLE):
        return False
    return getattr(type(value), "_asyncio_future_blocking", None) is not None


def spec_is_data(mock_class: type, spec: object) -> bool:
    """Whether the positional ``spec`` of ``mock_class(spec)`` is data rather than a spec.

    For an ``AsyncMock`` anything that is not a class, a callable or a module: its positional argument
    is almost always meant as the awaited value. For ``Mock``/``MagicMock`` only built-in data, and not
    a list of attribute names, which the docs give as a spec.
    """
    if spec is None or isinstance(spec, (type, types.ModuleType, *_mock_modules.NON_CALLABLE)) or callable(spec):
        return False
    if issubclass(mock_class, _mock_modules.ASYNC):
        return True
    if isinstance(spec, (list, tuple)) and all(isinstance(item, str) for item in spec):
        return False
    return isinstance(spec, _DATA_TYPES)


def spec_says_async(parent: object, name: str) -> bool:
    """Whether ``parent`` is specced from a class whose ``name`` is a coroutine function: an AsyncMock
    there is right (``create_autospec`` makes them by the hundred), with nothing more to look up.
    A shortcut only: anything unexpected answers False, and the (shielded) full check runs."""
    try:
        state = getattr(parent, "__dict__", None)
        spec = state.get("_spec_class") if isinstance(state, dict) else None
        if not isinstance(spec, type):
            return False
        member = inspect.getattr_static(spec, name, None)
        return member is not None and _frames.is_coroutine_function(member)
    except Exception:  # noqa: BLE001 - e.g. a __wrapped__ loop in the real class
        return False


def _patch_location(frame: FrameType | None) -> tuple[Location, bool] | None:
    """Where a patch was entered: the ``with``/``start()`` line; or, for ``@patch`` decorators (entered
    by unittest.mock's ``patched`` wrapper, under pytest), the first line of the decorated test, with
    True: the decorator itself is found in the source when a finding is made."""
    while frame is not None:
        if _frames.is_mock_module(frame):
            if frame.f_code.co_name == "patched":
                code = getattr(frame.f_locals.get("func"), "__code__", None)
                if isinstance(code, types.CodeType):
                    return Location(code.co_filename, code.co_firstlineno, _frames.code_name(code)), True
        elif not _frames.is_library_frame(frame):
            return _frames.frame_location(frame), False
        frame = frame.f_back
    return None


class PatchSite:
    """A patch entered while a test ran: where it was entered (the ``with``/``start()`` line, or the first
    line of a decorated test), whether by a decorator, what it patched and whether that was async."""

    __slots__ = ("attribute", "decorated", "original", "where")

    def __init__(self, where: Location, *, decorated: bool, attribute: str, original: object) -> None:
        self.where = where
        self.decorated = decorated
        self.attribute = attribute
        self.original = original

    @property
    def original_is_async(self) -> bool:
        """Read only for a finding: every patch entered makes one of these."""
        return self.original is not None and _frames.is_coroutine_function(self.original)


class DataConstruction:
    """A ``Mock``/``MagicMock`` made with data as its spec: a finding only if it becomes an awaited result."""

    __slots__ = ("class_name", "data_type", "where")

    def __init__(self, class_name: str, where: Location, data_type: str) -> None:
        self.class_name = class_name
        self.where = where
        self.data_type = data_type


class ConstructionListener(Protocol):
    def spec_written_positionally(self, mock_class: type, frame: FrameType) -> bool: ...

    def spec_is_data(self, mock_class: type, spec: object, frame: FrameType) -> None: ...

    def coroutine_as_return_value(
        self,
        mock: object | None,
        slot: str,
        value: object,
        frame: FrameType,
        *,
        at_construction: type | None,
        built: object = None,
    ) -> None: ...

    def data_mock_awaited(
        self, parent: object, construction: DataConstruction, frame: FrameType, *, at_construction: type | None
    ) -> None: ...

    def async_mock_assigned(self, parent: object, name: str, value: object, frame: FrameType) -> None: ...

    def async_callable_side_effect(
        self, mock: object | None, value: object, frame: FrameType, *, at_construction: type | None
    ) -> None: ...

    def future_as_return_value(self, mock: object, value: object, frame: FrameType) -> None: ...

    # ``(id(parent), name)`` of the AsyncMock assignments whose finding waits for the phase to end; each
    # later assignment to one of those members is told to ``member_replaced``
    @property
    def unconfirmed_assignments(self) -> dict[tuple[int, str], Any]: ...

    def member_replaced(self, parent: object, name: str, value: object) -> None: ...

    def async_mock_patched(
        self, target: object, attribute: str, original: object, mock: object, where: Location, *, decorated: bool
    ) -> None: ...

    def scheduler_mock_made(self, mock: object, frame: FrameType | None) -> None: ...

    def scheduler_mock_patched(self, mock: object, patched: str, where: Location, *, decorated: bool) -> None: ...

    def patch_entered(self, mock: object, site: PatchSite) -> None: ...

    def internal_error(self, error: BaseException) -> None: ...


class ConstructionWatch:
    """Installs the hooks; ``data_mocks`` remembers Mock/MagicMock(data) until they die."""

    def __init__(self, listener: ConstructionListener) -> None:
        self.listener = listener
        self.data_mocks: dict[int, tuple[weakref.ref[Any], DataConstruction]] = {}
        # what each hook replaced: (the mock library, the object that had it, the name) -> the original
        self._originals: dict[tuple[types.ModuleType, object, str], object] = {}
        self.installed = False

    def install(self) -> None:
        if self.installed:
            return
        for module in _mock_modules.MODULES:
            self.add_module(module)
        self.installed = True

    def add_module(self, module: types.ModuleType) -> None:
        """Watch the mocks of a mock library (``unittest.mock``, or the ``mock`` backport once it is imported:
        see ``_mock_modules``)."""
        if any(known is module for known, _, _ in self._originals):
            return
        non_callable, patch_class = module.NonCallableMock, module._patch
        # Plain functions, not wrapt wrappers, on these paths: they run for every mock made (children
        # included) and for every mock or value assigned to one, and a wrapt FunctionWrapper binds a new
        # wrapper object per call (about 1 us per mock, measured). Each hook makes a few cheap checks and
        # only then looks at frames.
        #
        # Construction is seen in ``_mock_add_spec``: ``NonCallableMock.__init__`` calls it for every mock
        # made, with plain positional arguments, before it sets ``_mock_children``; by then the mock's
        # ``__dict__`` holds its name and, for a callable mock, the ``return_value`` it was given. A hook
        # on ``__new__`` would see the arguments as written, but costs twice as much per mock (its
        # ``*args, **kwargs`` are packed and unpacked once more); whether a data spec was written as the
        # positional argument is read from the test's line instead, only for data, which is rare.
        add_spec = vars(non_callable)["_mock_add_spec"]
        self._originals[(module, non_callable, "_mock_add_spec")] = add_spec
        on_construction = self._on_construction
        on_scheduler = self._on_scheduler_mock
        default = module.DEFAULT

        def watched_add_spec(
            mock: Any, spec: Any, spec_set: Any, _spec_as_instance: Any = False, _eat_self: Any = False
        ) -> Any:
            state = mock.__dict__
            if "_mock_children" not in state:  # being made (a later ``mock_add_spec()`` finds it set)
                # Only a spec that is not callable can be data (``create_autospec`` gives classes and
                # functions by the hundred), and only one written as ``spec``: ``spec_set`` is a keyword
                # (AsyncMock itself makes a NonCallableMock with ``spec_set=<names>`` for every mock).
                written = None if spec_set else spec
                returned = state.get("_mock_return_value", default)
                if (written is not None and not callable(written)) or returned is not default:
                    on_construction(mock, written)
                # Children and patches are named (``mock_loop.create_task``, ``patch("asyncio.create_task")``).
                name = state.get("_mock_name")
                if type(name) is str and name in SCHEDULER_NAMES:
                    on_scheduler(mock)
            return add_spec(mock, spec, spec_set, _spec_as_instance, _eat_self)

        setattr(non_callable, "_mock_add_spec", watched_add_spec)  # noqa: B010
        # Assignment is hooked where unittest.mock itself handles it, not on ``__setattr__``: every mock
        # call sets ``called``/``call_count`` through ``__setattr__``, and a wrapper there costs ~4%
        # on mock-heavy suites. ``_check_and_set_parent`` sees mock-to-mock assignments (also via
        # ``configure_mock`` and ``attach_mock``); the two properties see return_value/side_effect.
        check_and_set_parent = module._check_and_set_parent
        self._originals[(module, module, "_check_and_set_parent")] = check_and_set_parent
        on_assignment = self._on_assignment
        unconfirmed = self.listener.unconfirmed_assignments  # emptied in place, never replaced
        member_replaced = self.listener.member_replaced
        never_mocks = _mock_modules.NEVER_MOCKS  # grown in place

        def _check_and_set_parent_watched(parent: Any, value: Any, name: Any, new_name: Any) -> Any:
            if type(value) in never_mocks:
                # What every mock call sets (``called``, ``call_count``, ``call_args``...): the original
                # would say False too, after two calls of its own, so the hook costs less than none.
                return False
            if unconfirmed and (id(parent), name) in unconfirmed:  # an AsyncMock assigned there is replaced
                member_replaced(parent, name, value)
            # Dunder children (``__aenter__``...) are how a test configures the mock's protocols.
            if (
                name is not None
                and isinstance(value, _mock_modules.ASYNC)
                and name[:2] != "__"
                and not spec_says_async(parent, name)
            ):
                on_assignment(parent, name, value)
            attached = check_and_set_parent(parent, value, name, new_name)
            if attached and type(name) is str and name in SCHEDULER_NAMES:  # ``mock_loop.create_task = Mock()``
                on_scheduler(value)
            return attached

        module._check_and_set_parent = _check_and_set_parent_watched  # type: ignore[attr-defined]
        for slot in _ASSIGNED_VALUE_SLOTS:
            original = vars(non_callable)[slot]
            self._originals[(module, non_callable, slot)] = original
            setattr(
                non_callable,
                slot,
                property(original.fget, self._watched_setter(slot, original.fset), None, original.__doc__),
            )
        # ``patch``/``patch.object`` replace attributes of real objects, not of mocks: their entry is
        # where an AsyncMock meets the real attribute it replaces (once per patch, not a hot path).
        enter_patch = vars(patch_class)["__enter__"]
        self._originals[(module, patch_class, "__enter__")] = enter_patch
        on_patched = self._on_patched

        def watched_enter(patcher: Any) -> Any:
            result = enter_patch(patcher)
            on_patched(patcher, sys._getframe(1))
            return result

        setattr(patch_class, "__enter__", watched_enter)  # noqa: B010

    def _watched_setter(self, slot: str, setter: Callable[[Any, Any], None]) -> Callable[[Any, Any], None]:
        """Only these values set here can be findings: a coroutine; a Mock/MagicMock(data) or an asyncio
        Future made the ``return_value`` of an AsyncMock; a list or tuple of coroutines, or an object with an
        async ``__call__``, made an AsyncMock's ``side_effect``."""
        on_assignment = self._on_assignment
        data_mocks = self.data_mocks
        coroutine_type = types.CoroutineType

        if slot == "side_effect":  # set (to None, mostly) by every mock's constructor

            def watched_side_effect(mock: Any, value: Any) -> None:
                if value is not None and (
                    isinstance(value, coroutine_type)
                    or (
                        isinstance(mock, _mock_modules.ASYNC)
                        and (
                            (type(value) in (list, tuple) and any(isinstance(item, coroutine_type) for item in value))
                            or has_async_call(value)
                        )
                    )
                ):
                    on_assignment(mock, slot, value)
                setter(mock, value)

            return watched_side_effect

        def watched(mock: Any, value: Any) -> None:
            if isinstance(value, coroutine_type) or (
                isinstance(mock, _mock_modules.ASYNC) and ((data_mocks and id(value) in data_mocks) or is_future(value))
            ):
                on_assignment(mock, slot, value)
            setter(mock, value)

        return watched

    def uninstall(self) -> None:
        if not self.installed:
            return
        for (_, owner, name), original in self._originals.items():
            setattr(owner, name, original)
        self._originals.clear()
        self.data_mocks.clear()
        self.installed = False

    # --- construction ----------------------------------------------------------------------------
    def _on_construction(self, mock: Any, spec: object) -> None:
        try:
            # 0: here, 1: the hook, 2: NonCallableMock.__init__, below the test's line
            construction = self._constructed(mock, spec, sys._getframe(2))
            if construction is not None:
                self.data_mocks[id(mock)] = (weakref.ref(mock, self._forget(id(mock))), construction)
        except Exception as error:  # noqa: BLE001 - an internal error must never break the test
            self.listener.internal_error(error)

    def _forget(self, key: int) -> Callable[[object], None]:
        def forget(_: object) -> None:
            self.data_mocks.pop(key, None)

        return forget

    def _constructed(self, mock: Any, spec: object, frame: FrameType | None) -> DataConstruction | None:
        """Report what is wrong with what ``mock`` was made with; return the DataConstruction to remember, if any.

        Frames are only looked at once something is wrong: most arguments are fine.
        """
        mock_class = type(mock)  # made for this mock by ``__new__``, with the name of the class called
        is_async = issubclass(mock_class, _mock_modules.ASYNC)
        spec_data = spec is not None and spec_is_data(mock_class, spec)
        returned = mock.__dict__.get("_mock_return_value")
        returns_coroutine = is_coroutine(returned)
        returns_future = is_async and is_future(returned)
        awaited_data = None
        if is_async and isinstance(returned, _mock_modules.NON_CALLABLE):
            known = self.data_mocks.get(id(returned))
            if known is not None and known[0]() is returned:
                awaited_data = known[1]
        if not (spec_data or returns_coroutine or returns_future or awaited_data):
            return None
        frame = _frames.first_user_frame(frame)
        if frame is None:
            return None
        construction = None
        # ``spec=`` as a keyword, ``create_autospec(...)`` and ``mock_add_spec(...)`` give a spec on purpose.
        if spec_data and self.listener.spec_written_positionally(mock_class, frame):
            if is_async:
                self.listener.spec_is_data(mock_class, spec, frame)
            else:
                construction = DataConstruction(mock_class.__name__, _frames.frame_location(frame), type(spec).__name__)
        if returns_coroutine:
            self.listener.coroutine_as_return_value(
                None, "return_value", returned, frame, at_construction=mock_class, built=mock
            )
        if returns_future:
            self.listener.future_as_return_value(mock, returned, frame)
        if awaited_data is not None:
            self.listener.data_mock_awaited(None, awaited_data, frame, at_construction=mock_class)
        return construction

    def _on_scheduler_mock(self, mock: object) -> None:
        try:
            self.listener.scheduler_mock_made(mock, sys._getframe(2))
        except Exception as error:  # noqa: BLE001 - an internal error must never break the test
            self.listener.internal_error(error)

    # --- patching --------------------------------------------------------------------------------
    def _on_patched(self, patcher: Any, frame: FrameType | None) -> None:
        try:
            mock = getattr(patcher.target, patcher.attribute, None)
            if not isinstance(mock, _mock_modules.NON_CALLABLE):
                return
            original = getattr(patcher, "temp_original", _mock_modules.STANDARD.DEFAULT)
            located = _patch_location(frame)
            if located is not None:
                where, decorated = located
                real = None if _mock_modules.is_default(original) else original
                self.listener.patch_entered(
                    mock, PatchSite(where, decorated=decorated, attribute=patcher.attribute, original=real)
                )
            if patcher.attribute in SCHEDULER_NAMES:
                self._scheduler_patched(patcher, mock, frame)
            if patcher.autospec not in (None, False):
                return  # made from the real attribute: async exactly where it is async
            if _mock_modules.is_default(original):
                return  # ``create=True``: there is no real attribute to compare with
            if not isinstance(mock, _mock_modules.ASYNC) or _frames.is_coroutine_function(original):
                return
            if located is not None:
                where, decorated = located
                self.listener.async_mock_patched(
                    patcher.target, patcher.attribute, original, mock, where, decorated=decorated
                )
        except Exception as error:  # noqa: BLE001 - an internal error must never break the test
            self.listener.internal_error(error)

    def _scheduler_patched(self, patcher: Any, mock: object, frame: FrameType | None) -> None:
        """``patch("asyncio.create_task")`` and the like: a mock now receives the coroutines to schedule."""
        located = _patch_location(frame)
        if located is not None:
            where, decorated = located
            target = patcher.target
            owner = getattr(target, "__name__", None) if isinstance(target, (types.ModuleType, type)) else None
            patched = f"{owner}.{patcher.attribute}" if owner else patcher.attribute
            self.listener.scheduler_mock_patched(mock, patched, where, decorated=decorated)

    # --- assignment ------------------------------------------------------------------------------
    def _on_assignment(self, parent: Any, name: str, value: object) -> None:
        try:
            self._assigned(parent, name, value)
        except Exception as error:  # noqa: BLE001 - an internal error must never break the test
            self.listener.internal_error(error)

    def _assigned(self, parent: Any, name: str, value: object) -> None:
        caller = sys._getframe(3)  # 0: here, 1: _on_assignment, 2: the hook
        frame = _frames.first_user_frame(caller)
        if frame is None:
            return
        if name in _ASSIGNED_VALUE_SLOTS:
            if is_coroutine(value):
                if _set_by_constructor(caller, frame):  # ``AsyncMock(side_effect=coro)``
                    self.listener.coroutine_as_return_value(
                        None, name, value, frame, at_construction=type(parent), built=parent
                    )
                else:
                    self.listener.coroutine_as_return_value(parent, name, value, frame, at_construction=None)
            elif (
                name == "side_effect"
                and isinstance(value, (list, tuple))
                and isinstance(parent, _mock_modules.ASYNC)
                and any(is_coroutine(item) for item in value)
            ):  # each awaited call gives the next item as it is: a coroutine, not what it produces
                constructed = _set_by_constructor(caller, frame)
                self.listener.coroutine_as_return_value(
                    None if constructed else parent,
                    name,
                    value,
                    frame,
                    at_construction=type(parent) if constructed else None,
                )
            elif name == "side_effect" and isinstance(parent, _mock_modules.ASYNC) and has_async_call(value):
                constructed = _set_by_constructor(caller, frame)
                self.listener.async_callable_side_effect(
                    None if constructed else parent, value, frame, at_construction=type(parent) if constructed else None
                )
            elif name == "return_value" and isinstance(parent, _mock_modules.ASYNC) and is_future(value):
                self.listener.future_as_return_value(parent, value, frame)
            elif name == "return_value" and isinstance(parent, _mock_modules.ASYNC):
                known = self.data_mocks.get(id(value))
                if known is not None and known[0]() is value:
                    self.listener.data_mock_awaited(parent, known[1], frame, at_construction=None)
        elif isinstance(value, _mock_modules.ASYNC) and not name.startswith("__"):
            self.listener.async_mock_assigned(parent, name, value, frame)


def _set_by_constructor(caller: FrameType | None, user_frame: FrameType) -> bool:
    """Whether ``CallableMixin.__init__`` is between the hook and the user's line: the value was given to
    the constructor (``Mock(side_effect=...)``), not assigned by the test."""
    while caller is not None and caller is not user_frame:
        if caller.f_code in _mock_modules.INIT_CODES:
            return True
        caller = caller.f_back
    return False
