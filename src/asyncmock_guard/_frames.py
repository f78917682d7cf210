"""Telling the user's code from library code, so every report points at a line the user can change.

Library code is the standard library (asyncio, unittest.mock, contextlib, ...) and the test machinery
(pytest, pluggy, wrapt, pytest-asyncio, anyio, ...), including this package. Production code installed
in site-packages is *not* library code: it is what the test exercises.
"""

from __future__ import annotations

import dis
import inspect
import os
import sys
import threading
from collections.abc import Iterator
from types import CodeType, FrameType, TracebackType
from typing import Any

from asyncmock_guard import _mock_modules
from asyncmock_guard._findings import Location

# Packages outside the standard library whose frames are never the user's line.
_FRAMEWORK_PACKAGES = frozenset(
    {
        "asyncmock_guard",
        "wrapt",
        "pytest",
        "_pytest",
        "pluggy",
        "pytest_asyncio",
        "anyio",
        "sniffio",
        "trio",
        "exceptiongroup",
        "_pytest_asyncio",
        "pytest_mock",
        "typeguard",
        "xdist",
        "execnet",
        "hypothesis",
        "_hypothesis_pytestplugin",
    }
)
# Installed packages that are test machinery too, told by their directory in site-packages only (a module
# of the user's may have the name): PyPI's ``mock``, the backport of ``unittest.mock``.
_INSTALLED_FRAMEWORK_PACKAGES = frozenset({"mock"})


def _stdlib_prefixes() -> tuple[str, ...]:
    """Where the standard library's Python files are: beside ``os.py`` (``sysconfig`` would say the
    same, at the price of importing it on every run; its ``platstdlib`` only adds compiled modules,
    which have no Python frames)."""
    return (os.path.dirname(os.path.realpath(os.__file__)) + os.sep,)


_STDLIB_PREFIXES = _stdlib_prefixes()
# Console scripts (``bin/pytest``): the bottom frame of every run, never a line of the user's.
_SCRIPT_PREFIXES = tuple(
    os.path.join(os.path.realpath(prefix), scripts) + os.sep
    for prefix in {sys.prefix, sys.exec_prefix, sys.base_prefix}
    for scripts in ("bin", "Scripts")
)
_SITE_MARKERS = (os.sep + "site-packages" + os.sep, os.sep + "dist-packages" + os.sep)
_OWN_PACKAGE_DIR = os.path.dirname(os.path.realpath(__file__)) + os.sep
_library_by_filename: dict[str, bool] = {}


def _package_in_site_packages(path: str) -> str | None:
    """``wrapt`` for ``.../site-packages/wrapt/wrappers.py``; None outside site-packages."""
    for marker in _SITE_MARKERS:
        index = path.rfind(marker)
        if index >= 0:
            rest = path[index + len(marker) :]
            return rest.split(os.sep, 1)[0].removesuffix(".py")
    return None


def _classify(filename: str, module: str | None) -> bool:
    if filename.startswith("<frozen ") or (filename == "<string>" and module is None):
        return True
    real = os.path.realpath(filename) if os.path.isabs(filename) else filename
    installed = _package_in_site_packages(real)
    top = (module or "").partition(".")[0] or installed
    if top in _FRAMEWORK_PACKAGES or installed in _INSTALLED_FRAMEWORK_PACKAGES:
        return True
    if real.startswith(_OWN_PACKAGE_DIR) or real.startswith(_SCRIPT_PREFIXES):
        return True
    for prefix in _STDLIB_PREFIXES:
        if real.startswith(prefix):
            return _package_in_site_packages(real) is None
    return False


def is_library_frame(frame: FrameType) -> bool:
    """True for frames of the standard library, the test machinery and this guard."""
    filename = frame.f_code.co_filename
    known = _library_by_filename.get(filename)
    if known is None:
        module = frame.f_globals.get("__name__")
        known = _classify(filename, module if isinstance(module, str) else None)
        _library_by_filename[filename] = known
    return known


def is_installed_frame(frame: FrameType) -> bool:
    """True for frames of an installed package that is not test machinery (httpx calling an event hook):
    code the test exercises, but no line the user edits."""
    return is_installed_location(frame.f_code.co_filename)


def is_installed_location(filename: str) -> bool:
    known = _installed_by_filename.get(filename)
    if known is None:
        real = os.path.realpath(filename) if os.path.isabs(filename) else filename
        known = _installed_by_filename[filename] = _package_in_site_packages(real) is not None
    return known


_installed_by_filename: dict[str, bool] = {}


def waiting_main_thread_frame() -> FrameType | None:
    """From a worker thread a library started (``ThreadPoolExecutor.map``), the user's line the main thread
    waits at for it: the nearest line of the user's code that led here."""
    if threading.current_thread() is threading.main_thread():
        return None
    return first_own_frame(sys._current_frames().get(threading.main_thread().ident or 0))


def is_own_location(filename: str) -> bool:
    """A file of the user's own: neither library code nor an installed package."""
    return not is_library_location(filename) and not is_installed_location(filename)


def first_own_frame(frame: FrameType | None) -> FrameType | None:
    """The innermost frame, from ``frame`` outwards, of the user's own files: neither library code nor an
    installed package."""
    while frame is not None and (is_library_frame(frame) or is_installed_frame(frame)):
        frame = frame.f_back
    return frame


def library_name(filename: str) -> str:
    """What to call the library a file belongs to: its installed package, else its top-level module
    (``asyncio`` for ``.../lib/python3.13/asyncio/events.py``), else the file's name."""
    below = library_path(filename)
    return below.split(os.sep, 1)[0].removesuffix(".py") if below != filename else os.path.basename(filename)


def library_path(filename: str) -> str:
    """A library file's path below its site-packages or standard library directory (``httpx/_client.py``)."""
    real = os.path.realpath(filename) if os.path.isabs(filename) else filename
    for marker in _SITE_MARKERS:
        index = real.rfind(marker)
        if index >= 0:
            return real[index + len(marker) :]
    for prefix in _STDLIB_PREFIXES:
        if real.startswith(prefix):
            return real[len(prefix) :]
    return filename


def is_library_location(filename: str) -> bool:
    """The same judgement for a bare file name (from ``cr_origin``), where no module name is known."""
    known = _library_by_filename.get(filename)
    if known is None:
        known = _classify(filename, None)
        _library_by_filename[filename] = known
    return known


_TEST_RUNNER_PACKAGES = frozenset({"_pytest", "pluggy", "pytest_asyncio"})
_runner_by_filename: dict[str, bool] = {}


def is_test_runner_frame(frame: FrameType) -> bool:
    """True for frames of pytest itself (and its asyncio runner): a test function is never above them."""
    filename = frame.f_code.co_filename
    known = _runner_by_filename.get(filename)
    if known is None:
        module = frame.f_globals.get("__name__")
        known = isinstance(module, str) and module.partition(".")[0] in _TEST_RUNNER_PACKAGES
        _runner_by_filename[filename] = known
    return known


def frames_above(frame: FrameType | None, limit: int) -> Iterator[FrameType]:
    """``frame`` and its callers, at most ``limit``, up to (not including) pytest's own frames: the
    test function and its fixtures are below them."""
    for _ in range(limit):
        if frame is None or is_test_runner_frame(frame):
            return
        yield frame
        frame = frame.f_back


def traceback_entries(error: BaseException) -> list[TracebackType]:
    """The entries of ``error``'s traceback, outermost first."""
    entries: list[TracebackType] = []
    tb = error.__traceback__
    while tb is not None:
        entries.append(tb)
        tb = tb.tb_next
    return entries


def first_user_frame(frame: FrameType | None) -> FrameType | None:
    """The innermost frame, starting at ``frame``, that is not library code."""
    while frame is not None and is_library_frame(frame):
        frame = frame.f_back
    return frame


def frame_location(frame: FrameType) -> Location:
    """The file, current line and function name of a frame."""
    code = frame.f_code
    return Location(code.co_filename, frame.f_lineno, code_name(code))


def line_at(code: CodeType, offset: int) -> int:
    """The line of the instruction at byte ``offset`` (a frame's ``f_lasti``), as the frame's ``f_lineno``
    said then; 0 when the instruction has none."""
    for start, end, line in code.co_lines():
        if start <= offset < end:
            return line or 0
    return 0


def code_name(code: CodeType) -> str:
    return getattr(code, "co_qualname", code.co_name)


def is_async_code(code: CodeType) -> bool:
    """True for the code of an ``async def`` (the function could have awaited)."""
    return bool(code.co_flags & (inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR))


def is_coroutine_function(member: Any) -> bool:
    """``async def`` functions and methods (bound, static, class), also behind ``functools.wraps``."""
    return inspect.iscoroutinefunction(inspect.unwrap(getattr(member, "__func__", member)))


def is_generator_based_coroutine(code: CodeType) -> bool:
    """True for ``@types.coroutine`` generators, where ``yield from coro`` is a legitimate await."""
    return bool(code.co_flags & inspect.CO_ITERABLE_COROUTINE)


_GET_AWAITABLE = dis.opmap["GET_AWAITABLE"]
_GET_AWAITABLE_BYTE = bytes([_GET_AWAITABLE])


def is_await_instruction(code: CodeType, offset: int) -> bool:
    """True when the instruction at byte ``offset`` (a traceback's ``tb_lasti``) starts an ``await``."""
    raw = code.co_code
    return 0 <= offset < len(raw) and raw[offset] == _GET_AWAITABLE


def _opcodes(*names: str) -> frozenset[int]:
    return frozenset(dis.opmap[name] for name in names if name in dis.opmap)  # each Python has some of them


_CALLS = ("CALL", "CALL_KW", "CALL_FUNCTION", "CALL_FUNCTION_KW", "CALL_FUNCTION_EX", "CALL_METHOD", "PRECALL")
# The instructions with which code itself uses a value in each way a coroutine proxy reports (by the
# operation's first word), across Python 3.10 to 3.15: a use from any other instruction is a builtin or C
# function doing it (``list.remove`` compares the other items with the coroutine, ``hasattr`` probes it).
_OPERATION_OPCODES: dict[str, frozenset[int]] = {
    "attribute": _opcodes("LOAD_ATTR", "LOAD_METHOD"),
    "subscript": _opcodes("BINARY_SUBSCR", "BINARY_SLICE", "BINARY_OP"),  # 3.14: BINARY_OP NB_SUBSCR
    "item": _opcodes("STORE_SUBSCR", "STORE_SLICE", "DELETE_SUBSCR"),
    "iteration": _opcodes(
        "GET_ITER", "FOR_ITER", "UNPACK_SEQUENCE", "UNPACK_EX", "LIST_EXTEND", "SET_UPDATE", "CALL_FUNCTION_EX"
    ),
    "len()": frozenset(),  # only ``len(...)`` itself (see BUILTIN_USES)
    "membership": _opcodes("CONTAINS_OP"),
    "truth": _opcodes(
        "TO_BOOL",
        "UNARY_NOT",
        "POP_JUMP_IF_FALSE",
        "POP_JUMP_IF_TRUE",
        "POP_JUMP_FORWARD_IF_FALSE",
        "POP_JUMP_FORWARD_IF_TRUE",
        "POP_JUMP_BACKWARD_IF_FALSE",
        "POP_JUMP_BACKWARD_IF_TRUE",
        "JUMP_IF_FALSE_OR_POP",
        "JUMP_IF_TRUE_OR_POP",
    ),
    "comparison": _opcodes("COMPARE_OP"),
    "async": _opcodes("BEFORE_ASYNC_WITH", "LOAD_SPECIAL", "GET_AITER"),
}


_CALL_OPCODES = _opcodes(*_CALLS)
# The builtins that, called with the coroutine itself (``bool(coroutine)``), do the operation the code means:
# a use by the user's line, unlike ``any(pending)`` or ``pending.remove(x)``, which touch it on their own.
BUILTIN_USES: dict[str, frozenset[str]] = {
    "truth": frozenset({"bool"}),
    "len()": frozenset({"len"}),
    "iteration": frozenset(
        {"list", "tuple", "set", "frozenset", "sorted", "iter", "next", "enumerate", "zip", "dict", "min", "max"}
        | {"sum", "reversed", "map", "filter"}
    ),
}


def is_call_instruction(frame: FrameType) -> bool:
    raw = frame.f_code.co_code
    offset = _instruction_at(raw, frame.f_lasti)
    return 0 <= offset < len(raw) and raw[offset] in _CALL_OPCODES


def performs(frame: FrameType, operation: str) -> bool:
    """Whether the instruction ``frame`` is executing is itself ``operation`` (as a coroutine proxy names
    it: "subscript", "attribute 'all'", "comparison =="...), not a call of a builtin that does it."""
    opcodes = _OPERATION_OPCODES.get(operation.partition(" ")[0])
    raw = frame.f_code.co_code
    offset = _instruction_at(raw, frame.f_lasti)
    if opcodes is None or (0 <= offset < len(raw) and raw[offset] in opcodes):
        return True
    return operation == "async with" and _calls_what_load_special_loaded(frame.f_code, offset)


def _instruction_at(raw: bytes, offset: int) -> int:
    """The offset of the instruction ``offset`` is in: a specialized instruction that calls a Python function
    itself (3.11+: ``BINARY_SUBSCR`` reaching a ``__getitem__``) leaves ``f_lasti`` at one of its inline
    cache entries, which ``co_code`` shows as ``CACHE``."""
    while offset > 0 and offset < len(raw) and raw[offset] == _CACHE:
        offset -= 2
    return offset


def _calls_what_load_special_loaded(code: CodeType, offset: int) -> bool:
    """Python 3.14+ compiles ``async with x`` to ``LOAD_SPECIAL __aenter__`` and a ``CALL`` of it."""
    previous = None
    for instruction in dis.get_instructions(code):
        if instruction.offset == offset:
            return (
                instruction.opcode in _CALL_OPCODES
                and previous is not None
                and previous.opname == "LOAD_SPECIAL"
                and previous.argrepr == "__aenter__"
            )
        previous = instruction
    return False


def is_mock_module(frame: FrameType) -> bool:
    return frame.f_code.co_filename in _mock_modules.FILES


_RUNNERS_FILE = os.path.join("asyncio", "runners.py")
_RUNNER_BACKPORT = os.path.join("backports", "asyncio", "runner")  # asyncio.Runner on Python 3.10


def closing_loop(frame: FrameType | None) -> bool:
    """Whether an event loop is cancelling the tasks left on it as it closes (``asyncio.run``, ``Runner``)."""
    while frame is not None:
        code = frame.f_code
        if code.co_name == "_cancel_all_tasks" and (
            code.co_filename.endswith(_RUNNERS_FILE) or _RUNNER_BACKPORT in code.co_filename
        ):
            return True
        frame = frame.f_back
    return False


def is_mock_file(filename: str) -> bool:
    return filename in _mock_modules.FILES


def caller_of_mock(frame: FrameType | None, mock_files: set[str] = _mock_modules.FILES) -> FrameType | None:
    """The first frame, from ``frame`` outwards, that is not the mock library's: the one that called it.
    (On every AsyncMock call: the files' set, grown in place, is bound once.)"""
    while frame is not None and frame.f_code.co_filename in mock_files:
        frame = frame.f_back
    return frame


_CACHE = dis.opmap.get("CACHE", -1)  # inline cache entries after an instruction (3.11+)
# The await sites of the code objects seen, by id, each with its code object (which keeps the id from
# being reused while the entry lives). Bounded: ``create_autospec`` compiles a new function per mock.
_await_sites: dict[int, tuple[CodeType, frozenset[int]]] = {}
_AWAIT_SITES_KEPT = 4096


def await_sites(code: CodeType) -> frozenset[int]:
    """The offsets ``f_lasti`` can have in a call whose result is awaited at once: each call
    instruction (and its inline cache entries) immediately followed by ``GET_AWAITABLE``."""
    raw = code.co_code
    sites: set[int] = set()
    index = raw.find(_GET_AWAITABLE_BYTE)
    while index >= 0:
        if index % 2 == 0:  # an opcode, not an argument byte of the same value
            offset = index - 2
            while offset >= 0:
                sites.add(offset)
                if raw[offset] != _CACHE:
                    break
                offset -= 2
        index = raw.find(_GET_AWAITABLE_BYTE, index + 1)
    return frozenset(sites)


def awaits_what_it_calls(frame: FrameType) -> bool:
    """True when ``frame`` is inside a call whose result it awaits at once: ``await f(...)``, and the
    ``__aenter__``/``__aexit__`` calls of ``async with``.

    That is a call immediately followed by ``GET_AWAITABLE``, the same on 3.10 to 3.13 (and on 3.14,
    per its ``dis`` docs). ``f_lasti`` is within the calling instruction: at its start or, on 3.11+
    when a Python function is called directly, at its last inline cache entry; the cache entries are
    ``CACHE`` code units in ``co_code``. Should a version compile ``await`` differently, nothing
    matches and every call is simply watched: slower, never wrong. Every AsyncMock call asks, so each
    code object is scanned once and its await sites are looked up by id (hashing a code object is slow).
    """
    code = frame.f_code
    known = _await_sites.get(id(code))
    if known is None or known[0] is not code:
        if len(_await_sites) >= _AWAIT_SITES_KEPT:
            _await_sites.clear()
        known = _await_sites[id(code)] = (code, await_sites(code))
    return frame.f_lasti in known[1]
