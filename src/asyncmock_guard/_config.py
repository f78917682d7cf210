"""Options, ini keys and modes, resolved once; every bad value is a ``pytest.UsageError`` naming the valid ones."""

from __future__ import annotations

import enum
import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from asyncmock_guard._ini_source import located

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
BASELINE_OPTION = "--asyncmock-guard-baseline"
BASELINE_INI = "asyncmock_guard_baseline"
BASELINE_HELP = (
    "a JSON baseline of accepted findings: they are listed but fail no test; new findings do"
    " (relative to the rootdir for the ini key)"
)
UPDATE_BASELINE_OPTION = "--asyncmock-guard-update-baseline"
UPDATE_BASELINE_HELP = (
    "write this run's findings to the baseline (entries of tests that did not run are kept); no finding fails"
)
GITHUB_OPTION = "--asyncmock-guard-github"
GITHUB_HELP = "print GitHub workflow annotations for the findings (on by default when GITHUB_ACTIONS=true)"
PATHS_INI = "asyncmock_guard_paths"
PATHS_HELP = (
    "modes per path, one 'GLOB = MODE' per line (e.g. tests/legacy/** = warn), globs relative to the rootdir;"
    " the last matching line wins"
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


# Each mode's text, as the collector compares it: a dictionary lookup, where ``.value`` runs Python code.
MODE_TEXT: dict[Mode, str] = {mode: mode.value for mode in Mode}


def addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("asyncmock-guard", "catch AsyncMock and coroutine misuse")
    group.addoption(MODE_OPTION, dest="asyncmock_guard_mode", default=None, metavar="MODE", help=MODE_HELP)
    group.addoption(REPORT_OPTION, dest="asyncmock_guard_report", default=None, metavar="PATH", help=REPORT_HELP)
    group.addoption(BASELINE_OPTION, dest="asyncmock_guard_baseline", default=None, metavar="PATH", help=BASELINE_HELP)
    group.addoption(
        UPDATE_BASELINE_OPTION, dest="asyncmock_guard_update_baseline", action="store_true", help=UPDATE_BASELINE_HELP
    )
    group.addoption(GITHUB_OPTION, dest="asyncmock_guard_github", action="store_true", help=GITHUB_HELP)
    parser.addini(MODE_INI, MODE_HELP, default=None)
    parser.addini(REPORT_INI, REPORT_HELP, default=None)
    parser.addini(BASELINE_INI, BASELINE_HELP, default=None)
    parser.addini(PATHS_INI, PATHS_HELP, type="linelist", default=[])
    parser.addini(SYNC_METHODS_INI, SYNC_METHODS_HELP, type="linelist", default=[])


def _ini(config: pytest.Config, name: str) -> str | None:
    value = config.getini(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise pytest.UsageError(f"asyncmock-guard: {located(config, name)} must be a single value, got {value!r}")
    return value.strip() or None


class PathModes:
    """``asyncmock_guard_paths``: ``GLOB = MODE`` lines matched against a test file's path relative to the
    rootdir; the last matching line wins, as in ``.gitignore`` and ``CODEOWNERS``.

    ``**`` matches any number of directories, ``*`` and ``?`` stay within one, and a pattern that names
    a directory (``tests/legacy``) covers everything below it. Each file is matched once per session.
    """

    __slots__ = ("_by_file", "rootdir", "rules")

    def __init__(self, rules: Iterable[tuple[str, Mode]] = (), rootdir: Path | None = None) -> None:
        self.rules = tuple((_glob_pattern(glob), mode) for glob, mode in rules)
        self.rootdir = rootdir
        self._by_file: dict[Path, Mode | None] = {}

    @classmethod
    def parse(cls, lines: Iterable[str], rootdir: Path, where: Callable[[str], str] | None = None) -> PathModes:
        """``where(line)`` names the ini file and line for the usage errors."""
        rules: list[tuple[str, Mode]] = []
        for line in lines:
            source = where(line) if where is not None else f"ini option {PATHS_INI}"
            glob, equals, mode = line.partition("=")
            glob = glob.strip().rstrip("/")
            if not equals or not glob or "=" in mode:
                raise pytest.UsageError(
                    f"asyncmock-guard: {source} has {line!r}; write one 'GLOB = MODE' per line, with one '=',"
                    " e.g. 'tests/legacy/** = warn'"
                )
            try:
                _glob_pattern(glob)
            except re.error as error:
                raise pytest.UsageError(
                    f"asyncmock-guard: {source} has {line!r}: the glob {glob!r} is not valid ({error})"
                ) from None
            rules.append((glob, Mode.parse(mode.strip(), f"the mode of {line!r} in {source}")))
        return cls(rules, rootdir)

    def turns_on(self) -> bool:
        """Whether some directory runs in strict or warn mode."""
        return any(mode is not Mode.OFF for _, mode in self.rules)

    def mode_for(self, path: Path | None) -> Mode | None:
        if not self.rules or path is None:
            return None
        try:
            return self._by_file[path]
        except KeyError:
            mode = self._by_file[path] = self._match(path)
            return mode

    def _match(self, path: Path) -> Mode | None:
        if self.rootdir is None:
            return None
        try:
            relative = path.relative_to(self.rootdir).as_posix()
        except ValueError:
            return None  # outside the rootdir: no rule can name it
        candidates = [relative, *(parent.as_posix() for parent in Path(relative).parents if parent.parts)]
        found: Mode | None = None
        for pattern, mode in self.rules:
            if any(pattern.fullmatch(candidate) for candidate in candidates):
                found = mode
        return found


def _glob_pattern(glob: str) -> re.Pattern[str]:
    """A path glob as a regular expression: ``**`` crosses directories, ``*``, ``?`` and ``[...]`` do not.
    (``glob.translate`` does this from Python 3.13 on.)"""
    out: list[str] = []
    index = 0
    while index < len(glob):
        if glob.startswith("**/", index):
            out.append("(?:.*/)?")
            index += 3
        elif glob.startswith("**", index):
            out.append(".*")
            index += 2
        elif glob[index] == "*":
            out.append("[^/]*")
            index += 1
        elif glob[index] == "?":
            out.append("[^/]")
            index += 1
        elif glob[index] == "[" and "]" in glob[index + 2 :]:
            close = glob.index("]", index + 2)
            body = glob[index + 1 : close]
            negate = body.startswith("!")
            body = re.escape(body[1:] if negate else body).replace("\\-", "-")
            out.append(f"[^/{body}]" if negate else f"[{body}]")
            index = close + 1
        else:
            out.append(re.escape(glob[index]))
            index += 1
    return re.compile("".join(out))


class Modes:
    """Where a test's mode comes from, below its markers: the command line, then the test file's
    ``asyncmock_guard_paths`` rule, then ``asyncmock_guard_mode``, then strict."""

    __slots__ = ("by_path", "command_line", "ini")

    def __init__(
        self, command_line: Mode | None = None, by_path: PathModes | None = None, ini: Mode | None = None
    ) -> None:
        self.command_line = command_line
        self.by_path = by_path or PathModes()
        self.ini = ini

    @property
    def session(self) -> Mode:
        """The mode of everything that is not a test (collection, wide fixtures) and of the report."""
        return self.command_line or self.ini or Mode.STRICT

    @property
    def installs(self) -> bool:
        """``--asyncmock-guard=off`` switches everything off; an ``off`` ini mode leaves on the paths
        that ``asyncmock_guard_paths`` puts in strict or warn mode."""
        if self.command_line is not None:
            return self.command_line is not Mode.OFF
        return self.session is not Mode.OFF or self.by_path.turns_on()

    def for_path(self, path: Path | None) -> Mode:
        if self.command_line is not None:
            return self.command_line
        return self.by_path.mode_for(path) or self.ini or Mode.STRICT


def modes(config: pytest.Config) -> Modes:
    return _modes(config.getoption("asyncmock_guard_mode"), config)


def _modes(cli: object, config: pytest.Config) -> Modes:
    command_line = Mode.parse(cli, MODE_OPTION) if isinstance(cli, str) else None
    ini = _ini(config, MODE_INI)
    paths = _lines(config, PATHS_INI)
    return Modes(
        command_line=command_line,
        by_path=PathModes.parse(paths, config.rootpath, lambda line: located(config, PATHS_INI, line)),
        ini=Mode.parse(ini, located(config, MODE_INI, ini)) if ini is not None else None,
    )


def early_modes(config: pytest.Config) -> Modes | None:
    """The modes as the command line and ini say before pytest is configured (when the initial conftest
    files are imported); None when that cannot be told, and ``modes`` reports the problem later."""
    try:
        return _modes(getattr(config.known_args_namespace, "asyncmock_guard_mode", None), config)
    except (pytest.UsageError, ValueError, AttributeError):
        return None


def _lines(config: pytest.Config, name: str) -> list[str]:
    """A line list's lines (a ``pyproject.toml`` list's items), stripped, empty ones dropped; an item that
    is not a string (``["save", 3]``) is a usage error naming it."""
    value = config.getini(name)
    if not isinstance(value, list):
        raise pytest.UsageError(f"asyncmock-guard: {located(config, name)} must be a list of lines, got {value!r}")
    for index, line in enumerate(value):
        if not isinstance(line, str):
            raise pytest.UsageError(
                f"asyncmock-guard: {located(config, name, index=index)} is {line!r}, not a string:"
                " write every item in quotes"
            )
    return [line.strip() for line in value if line.strip()]


def report_path(config: pytest.Config) -> str | None:
    """Where to write the JSON report; checked now so a typo fails before the tests run."""
    found = _path_option(config, "asyncmock_guard_report", REPORT_OPTION, REPORT_INI)
    if found is None:
        return None
    path, source = found
    _check_writable(path, source)
    return path


def baseline(config: pytest.Config) -> tuple[str | None, bool]:
    """The baseline file, and whether this run rewrites it (which needs a path, and a writable one)."""
    update = bool(config.getoption("asyncmock_guard_update_baseline"))
    found = _path_option(config, "asyncmock_guard_baseline", BASELINE_OPTION, BASELINE_INI)
    if found is None:
        if update:
            raise pytest.UsageError(
                f"asyncmock-guard: {UPDATE_BASELINE_OPTION} needs a baseline file:"
                f" {BASELINE_OPTION}=PATH or the ini option {BASELINE_INI}"
            )
        return None, False
    path, source = found
    if update:
        _check_writable(path, source)
    return path, update


def github_annotations(config: pytest.Config) -> bool:
    """``--asyncmock-guard-github``, or a GitHub Actions job (which sets ``GITHUB_ACTIONS=true``)."""
    return bool(config.getoption("asyncmock_guard_github")) or os.environ.get("GITHUB_ACTIONS") == "true"


def runs_no_tests(config: pytest.Config, *, early: bool) -> bool:
    """Whether pytest-xdist makes this process its controller, which runs no test (its workers do).

    Read as pytest-xdist reads its options: at ``pytest_configure`` they are settled (``-n`` made
    ``--dist`` and ``--tx``); ``early``, before that, it is a forecast from what the command line and
    ini say (a worker is told apart by the environment pytest-xdist gives it, as its ``workerinput``
    does not exist yet). Either is checked at session start, where the controller is known for sure.
    """
    if hasattr(config, "workerinput") or not config.pluginmanager.has_plugin("xdist"):
        return False
    options = config.known_args_namespace if early else config.option
    if getattr(options, "collectonly", False):
        return False
    dist, specs = getattr(options, "dist", "no"), getattr(options, "tx", None)
    if early:
        if "PYTEST_XDIST_WORKER" in os.environ:
            return False
        workers = getattr(options, "numprocesses", None)
        if workers in ("auto", "logical"):
            return not getattr(options, "usepdb", False)
        if workers:
            return True
        if workers == 0:
            return False
        if getattr(options, "distload", False):
            dist = "load"
    return dist != "no" and bool(specs)


def _path_option(config: pytest.Config, dest: str, option: str, ini_name: str) -> tuple[str, str] | None:
    """A file named on the command line (relative to the invocation directory) or in the ini file
    (relative to the rootdir), with where it was named, for error messages."""
    cli: str | None = config.getoption(dest)
    if cli:
        return os.path.abspath(cli), option
    ini = _ini(config, ini_name)
    if ini:
        return os.path.join(str(config.rootpath), ini), located(config, ini_name, ini)
    return None


def _check_writable(path: str, source: str) -> None:
    directory = os.path.dirname(path) or "."
    if os.path.isdir(path):
        raise pytest.UsageError(f"asyncmock-guard: {source} {path!r} is a directory, not a file")
    if not os.path.isdir(directory):
        raise pytest.UsageError(f"asyncmock-guard: {source} {path!r}: the directory {directory!r} does not exist")
    if not os.access(directory, os.W_OK):
        raise pytest.UsageError(f"asyncmock-guard: {source} {path!r}: the directory is not writable")


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
    entries = _lines(config, SYNC_METHODS_INI)
    try:
        return UserEntries.parse(entries)
    except ValueError as error:
        raise pytest.UsageError(
            f"asyncmock-guard: {located(config, SYNC_METHODS_INI, str(error))} has {str(error)!r}, which is not a"
            " method name: write a bare name (save) or a dotted name ([module.]Class.method), one per line"
        ) from None


def item_mode(item: pytest.Item, modes: Modes, inherited: dict[Node, Mode | None] | None = None) -> Mode:
    """A test's mode: its closest marker, else what ``modes`` says for its file."""
    marked = marker_mode(item, inherited)
    return marked if marked is not None else modes.for_path(getattr(item, "path", None))


def marker_mode(node: pytest.Item, inherited: dict[Node, Mode | None] | None = None) -> Mode | None:
    """The closest ``@pytest.mark.asyncmock_guard(mode)`` (test over class over module), as
    ``get_closest_marker`` would say, or None; ``inherited`` keeps what each class, module and package
    decides, so their markers are read once per session, not once per test."""
    own = _own_mode(node)
    if own is not None:
        return own
    inherited = {} if inherited is None else inherited
    chain: list[Node] = []
    parent = node.parent
    mode: Mode | None = None
    while parent is not None:
        if parent in inherited:
            mode = inherited[parent]
            break
        chain.append(parent)
        mode = _own_mode(parent)
        if mode is not None:
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
