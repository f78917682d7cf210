"""Options, ini keys and modes, resolved once; every bad value is a ``pytest.UsageError`` naming the valid ones."""

from __future__ import annotations

import enum
import os
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from _pytest.nodes import Node  # pytest does not export it; only its annotations are needed

MODE_OPTION = "--asyncmock-guard"
MODE_INI = "asyncmock_guard_mode"
MODE_HELP = (
    "asyncmock-guard mode: 'strict' fails tests with AsyncMock/coroutine misuse, 'warn' only warns,"
    " 'off' installs nothing (default: strict)"
)
REPORT_OPTION = "--asyncmock-guard-report"
REPORT_INI = "asyncmock_guard_report"
REPORT_HELP = "write asyncmock-guard findings as JSON to this path (relative to the rootdir for the ini key)"
SYNC_METHODS_INI = "asyncmock_guard_sync_methods"
SYNC_METHODS_HELP = (
    "members your code calls synchronously, reported when a test makes them AsyncMocks: bare method names"
    " (save) or dotted [module.]Class.method names, one per line"
)
MARKER = "asyncmock_guard"
MARKER_HELP = "asyncmock_guard(mode): run this test (module, class) with asyncmock-guard mode 'strict', 'warn' or 'off'"


class Mode(str, enum.Enum):
    """How findings are handled."""

    STRICT = "strict"
    WARN = "warn"
    OFF = "off"

    def __str__(self) -> str:
        return self.value

    @classmethod
    def parse(cls, value: object, source: str) -> Mode:
        """The mode named by ``value``; ``source`` says where it came from for the error message."""
        text = value.strip().lower() if isinstance(value, str) else value
        for mode in cls:
            if text == mode.value:
                return mode
        valid = ", ".join(repr(mode.value) for mode in cls)
        raise pytest.UsageError(f"asyncmock-guard: {source} is {value!r}; valid modes are {valid}")


def addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("asyncmock-guard", "catch AsyncMock and coroutine misuse")
    group.addoption(MODE_OPTION, dest="asyncmock_guard_mode", default=None, metavar="MODE", help=MODE_HELP)
    group.addoption(REPORT_OPTION, dest="asyncmock_guard_report", default=None, metavar="PATH", help=REPORT_HELP)
    parser.addini(MODE_INI, MODE_HELP, default=None)
    parser.addini(REPORT_INI, REPORT_HELP, default=None)
    parser.addini(SYNC_METHODS_INI, SYNC_METHODS_HELP, type="linelist", default=[])


def _ini(config: pytest.Config, name: str) -> str | None:
    value = config.getini(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise pytest.UsageError(f"asyncmock-guard: ini option {name} must be a single value, got {value!r}")
    return value.strip() or None


def global_mode(config: pytest.Config) -> Mode:
    return _mode(config.getoption("asyncmock_guard_mode"), config)


def _mode(cli: object, config: pytest.Config) -> Mode:
    """The command line wins over the ini key; the default is strict."""
    if isinstance(cli, str):
        return Mode.parse(cli, f"{MODE_OPTION}")
    ini = _ini(config, MODE_INI)
    if ini is not None:
        return Mode.parse(ini, f"ini option {MODE_INI}")
    return Mode.STRICT


def early_mode(config: pytest.Config) -> Mode | None:
    """The mode as the command line and ini say before pytest is configured (when the initial conftest
    files are imported); None when that cannot be told, and ``global_mode`` reports the problem later."""
    try:
        return _mode(getattr(config.known_args_namespace, "asyncmock_guard_mode", None), config)
    except (pytest.UsageError, ValueError, AttributeError):
        return None


def report_path(config: pytest.Config) -> str | None:
    """Where to write the JSON report; checked now so a typo fails before the tests run."""
    cli: str | None = config.getoption("asyncmock_guard_report")
    ini = _ini(config, REPORT_INI)
    if cli:
        path = os.path.abspath(cli)
        source = REPORT_OPTION
    elif ini:
        path = os.path.join(str(config.rootpath), ini)
        source = f"ini option {REPORT_INI}"
    else:
        return None
    directory = os.path.dirname(path) or "."
    if os.path.isdir(path):
        raise pytest.UsageError(f"asyncmock-guard: {source} {path!r} is a directory, not a file")
    if not os.path.isdir(directory):
        raise pytest.UsageError(f"asyncmock-guard: {source} {path!r}: the directory {directory!r} does not exist")
    if not os.access(directory, os.W_OK):
        raise pytest.UsageError(f"asyncmock-guard: {source} {path!r}: the directory is not writable")
    return path


_ENTRY = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")


class UserEntries:
    """``asyncmock_guard_sync_methods``: bare member names, and dotted ``[module.]Class.member`` names."""

    __slots__ = ("bare", "dotted")

    def __init__(self, bare: frozenset[str] = frozenset(), dotted: frozenset[str] = frozenset()) -> None:
        self.bare = bare
        self.dotted = dotted

    @classmethod
    def parse(cls, entries: Iterable[str]) -> UserEntries:
        bare: set[str] = set()
        dotted: set[str] = set()
        for entry in entries:
            if not _ENTRY.match(entry):
                raise ValueError(entry)
            (dotted if "." in entry else bare).add(entry)
        return cls(frozenset(bare), frozenset(dotted))

    def names_for(self, spec: type, name: str) -> str | None:
        for cls in spec.__mro__:
            for candidate in (f"{cls.__module__}.{cls.__qualname__}.{name}", f"{cls.__qualname__}.{name}"):
                if candidate in self.dotted:
                    return candidate
        return None


def sync_methods(config: pytest.Config) -> UserEntries:
    """The user's own known-sync members; a malformed entry stops the run before any test."""
    entries = [entry.strip() for entry in config.getini(SYNC_METHODS_INI) if entry.strip()]
    try:
        return UserEntries.parse(entries)
    except ValueError as error:
        raise pytest.UsageError(
            f"asyncmock-guard: ini option {SYNC_METHODS_INI} has {str(error)!r}, which is not a method name:"
            " write a bare name (save) or a dotted name ([module.]Class.method), one per line"
        ) from None


def marker_mode(node: pytest.Item, default: Mode, inherited: dict[Node, Mode] | None = None) -> Mode:
    """The closest ``@pytest.mark.asyncmock_guard(mode)`` wins (test over class over module), as
    ``get_closest_marker`` would say; ``inherited`` keeps what each class, module and package decides,
    so their markers are read once per session, not once per test."""
    own = _own_mode(node)
    if own is not None:
        return own
    inherited = {} if inherited is None else inherited
    chain: list[Node] = []
    parent = node.parent
    mode = default
    while parent is not None:
        known = inherited.get(parent)
        if known is not None:
            mode = known
            break
        chain.append(parent)
        own = _own_mode(parent)
        if own is not None:
            mode = own
            break
        parent = parent.parent
    for visited in chain:
        inherited[visited] = mode
    return mode


def _own_mode(node: Node) -> Mode | None:
    """The mode of the first of the guard's markers set on ``node`` itself, if any."""
    for marker in node.own_markers:
        if marker.name != MARKER:
            continue
        args = list(marker.args)
        if "mode" in marker.kwargs:
            args.insert(0, marker.kwargs["mode"])
        if len(args) != 1 or set(marker.kwargs) - {"mode"}:
            raise pytest.UsageError(
                f"asyncmock-guard: {node.nodeid}: the marker takes one mode, e.g."
                f" @pytest.mark.{MARKER}('warn'); got args={marker.args!r} kwargs={marker.kwargs!r}"
            )
        return Mode.parse(args[0], f"the {MARKER} marker of {node.nodeid}")
    return None
