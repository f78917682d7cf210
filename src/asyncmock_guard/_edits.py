"""Machine-applicable fixes: text edits built from a test's source, in ruff's JSON fix shape, and applied.

A finding's advice says what to write; an edit says exactly where, so that ``--fix``, an editor or a CI
bot can apply it without guessing. The shape is ruff's (``location``/``end_location`` with 1-based rows
and columns, the end exclusive, an insertion having both equal) because tools already read it.

Columns count characters (code points) of the line, not bytes: ``ast`` gives UTF-8 byte offsets, which
would be off by one for every ``é`` before the node, so every builder converts them with the line's text.
Builders read the source through ``linecache`` (as the rest of the guard does, so the nodes they are given
match the text they measure; only the line break style, which linecache does not keep, comes from the file);
applying reads the real file, its encoding and its line breaks, from disk.

Only used when a finding is made, never on the hot path: clarity beats speed, and only the stdlib is
imported. Builders return ``None`` when the source cannot be read (a REPL, a generated file) or the edit
cannot be placed; the finding is still made, without a fix.
"""

from __future__ import annotations

import ast
import difflib
import io
import itertools
import linecache
import os
import re
import sys
import tokenize
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple

from asyncmock_guard import _files
from asyncmock_guard._findings import relative_path

# rows are split where Python splits them: at \r\n, \r or \n (not at \f or \u2028, as str.splitlines does)
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")

if sys.version_info >= (3, 11):
    _TRY_STATEMENTS = (ast.Try, ast.TryStar)
else:
    _TRY_STATEMENTS = (ast.Try,)


class Edit(NamedTuple):
    """Replace the text from ``row:column`` up to (not including) ``end_row:end_column`` of ``path`` with
    ``content``; rows and columns are 1-based, columns in characters. An insertion starts where it ends.

    A NamedTuple so that edits hash and compare: the same fix proposed twice is one edit.
    """

    path: str  # absolute
    row: int
    column: int
    end_row: int
    end_column: int
    content: str

    @property
    def is_insertion(self) -> bool:
        """Whether the edit only adds text (it replaces nothing)."""
        return (self.row, self.column) == (self.end_row, self.end_column)

    def describe(self) -> str:
        """``path:row:column-end_row:end_column -> 'content'``, for error messages."""
        return f"{self.path}:{self.row}:{self.column}-{self.end_row}:{self.end_column} -> {self.content!r}"

    def to_json(self, rootdir: str | None) -> dict[str, Any]:
        """Ruff's edit shape plus the path (relative to the rootdir, with ``/``, when it lies below it),
        so a report stays valid on another machine, and ``expected``: the rows it touches as they are now,
        so that whoever applies it later can tell the file has changed since (see ``matches``)."""
        return {
            "path": relative_path(self.path, rootdir),
            "location": {"row": self.row, "column": self.column},
            "end_location": {"row": self.end_row, "column": self.end_column},
            "content": self.content,
            "expected": self.rows_now(),
        }

    def rows_now(self) -> str:
        """The text of the rows the edit touches (``row`` to ``end_row``, whole), as the file reads now."""
        return "".join(linecache.getlines(self.path)[self.row - 1 : self.end_row])

    def matches(self, expected: str) -> bool:
        """Whether the file still reads as it did when the edit was made (``expected`` from ``to_json``)."""
        linecache.checkcache(self.path)
        return self.rows_now() == expected

    @classmethod
    def from_json(cls, data: Mapping[str, Any], rootdir: str | None) -> Edit:
        """The edit that ``to_json`` wrote; a relative path is taken from the rootdir. ValueError if malformed."""
        try:
            path, start, end, content = data["path"], data["location"], data["end_location"], data["content"]
            numbers = [start["row"], start["column"], end["row"], end["column"]]
        except (KeyError, TypeError) as error:
            raise ValueError(f"not an edit: {data!r}") from error
        if not _is_edit_json(path, content, numbers):
            raise ValueError(f"not an edit: {data!r}")
        if rootdir and not os.path.isabs(path):
            path = os.path.normpath(os.path.join(rootdir, *path.split("/")))
        row, column, end_row, end_column = numbers
        return cls(path, row, column, end_row, end_column, content)


def _is_edit_json(path: object, content: object, numbers: list[object]) -> bool:
    return (
        isinstance(path, str)
        and isinstance(content, str)
        and all(isinstance(number, int) and not isinstance(number, bool) for number in numbers)
    )


class OverlapError(ValueError):
    """Two different edits of one file touch the same text: applying both would garble it."""

    def __init__(self, first: Edit, second: Edit) -> None:
        super().__init__(f"edits overlap: {first.describe()} and {second.describe()}")
        self.first = first
        self.second = second


# --- positions -----------------------------------------------------------------------------------------


def char_offset(line: str, byte_offset: int) -> int:
    """The 0-based character offset in ``line`` of ``ast``'s 0-based UTF-8 byte offset into it."""
    return len(line.encode("utf-8")[:byte_offset].decode("utf-8", errors="replace"))


def _byte_span(node: ast.AST) -> tuple[int, int, int, int] | None:
    """``ast``'s ``lineno, col_offset, end_lineno, end_col_offset`` of ``node``, if it has them all."""
    row, column = getattr(node, "lineno", None), getattr(node, "col_offset", None)
    end_row, end_column = getattr(node, "end_lineno", None), getattr(node, "end_col_offset", None)
    if isinstance(row, int) and isinstance(column, int) and isinstance(end_row, int) and isinstance(end_column, int):
        return row, column, end_row, end_column
    return None


def span_of(path: str, node: ast.AST) -> tuple[int, int, int, int] | None:
    """``(row, column, end_row, end_column)`` of ``node`` in ``path``: 1-based, character columns, end
    exclusive. None when the source cannot be read or the node has no position (an ``ast.Load``)."""
    lines = linecache.getlines(path)
    span = _byte_span(node)
    if not lines or span is None:
        return None
    row, column, end_row, end_column = span
    if not 1 <= row <= end_row <= len(lines):
        return None
    return row, char_offset(lines[row - 1], column) + 1, end_row, char_offset(lines[end_row - 1], end_column) + 1


def _body(line: str) -> str:
    """The line without its line break (linecache's lines end in ``\\n``, the file's may not)."""
    return line.rstrip("\r\n")


def _newline_of(path: str) -> str:
    """The file's line break (its first one): linecache has turned them all into ``\\n``, but an inserted
    line must match the file's, or a ``\\r\\n`` file would come out mixed."""
    try:
        with open(path, "rb") as stream:
            data = stream.read()
    except OSError:
        return "\n"
    carriage, feed = data.find(b"\r"), data.find(b"\n")
    if carriage == -1 or (feed != -1 and feed < carriage):
        return "\n"
    return "\r\n" if data[carriage + 1 : carriage + 2] == b"\n" else "\r"


def _indented(text: str, indent: str) -> list[str]:
    """``text``'s lines (a trailing line break dropped), each with ``indent`` unless it is empty."""
    lines = text.replace("\r\n", "\n").removesuffix("\n").split("\n")
    return [f"{indent}{line}" if line else "" for line in lines]


def _leading_whitespace(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


# --- builders ------------------------------------------------------------------------------------------


def replace_span(  # noqa: PLR0917 - the fields of an edit, in their order
    path: str, row: int, column: int, end_row: int, end_column: int, content: str
) -> Edit | None:
    """Replace a span given in character columns; None when the source cannot be read."""
    if not linecache.getlines(path):
        return None
    return Edit(os.path.abspath(path), row, column, end_row, end_column, content)


def replace_node(path: str, node: ast.AST, content: str) -> Edit | None:
    """Replace exactly the source of ``node`` (without the parentheses around it, as ``ast`` spans it)."""
    span = span_of(path, node)
    if span is None:
        return None
    return Edit(os.path.abspath(path), *span, content)


def _first_line(statement: ast.stmt) -> tuple[int, int]:
    """Where ``statement`` starts in bytes: its first decorator's line for a decorated def or class."""
    decorators: list[ast.expr] = getattr(statement, "decorator_list", [])
    first = min(decorators, key=lambda node: node.lineno) if decorators else statement
    return first.lineno, first.col_offset


def _starts_line(prefix: str, decorated: bool) -> bool:
    """Whether the text before a statement on its line is only indentation (and a decorator's ``@``)."""
    stripped = prefix.rstrip()
    if decorated and stripped.endswith("@"):
        stripped = stripped[:-1]
    return not stripped.strip(" \t")


def _statement_indent(lines: list[str], statement: ast.stmt) -> str | None:
    """The indentation of ``statement``'s first line, or None when code comes before it on that line
    (``a; b``, ``if x: b``) or it is an ``elif`` (an ``If`` in ``ast``): a whole line put there would land
    in another block, or end the ``if``."""
    row, column = _first_line(statement)
    if not 1 <= row <= len(lines):
        return None
    line = lines[row - 1]
    prefix = line[: char_offset(line, column)]
    if not _starts_line(prefix, bool(getattr(statement, "decorator_list", []))):
        return None
    if isinstance(statement, ast.If) and re.match(r"elif\b", line[len(prefix) :]):
        return None
    return _leading_whitespace(prefix)


def insert_before_statement(path: str, statement: ast.stmt, text: str) -> Edit | None:
    """Insert ``text`` (one or more lines, written without indentation) as whole lines just before
    ``statement`` (before its decorators), indented like its first line. None when the source cannot be
    read or the statement shares its first line with code before it."""
    lines = linecache.getlines(path)
    indent = _statement_indent(lines, statement) if lines else None
    if indent is None:
        return None
    newline = _newline_of(path)
    row = _first_line(statement)[0]
    content = "".join(f"{line}{newline}" for line in _indented(text, indent))
    return Edit(os.path.abspath(path), row, 1, row, 1, content)


def _after_row(path: str, lines: list[str], row: int, indent: str, text: str) -> Edit:
    """Insert lines after line ``row`` (0: at the top). The edit goes at the end of the line's text, before
    its break, with a break before each new line: this is right whether or not the file ends with one."""
    newline = _newline_of(path)
    new_lines = _indented(text, indent)
    if row == 0:
        return Edit(os.path.abspath(path), 1, 1, 1, 1, "".join(f"{line}{newline}" for line in new_lines))
    column = len(_body(lines[row - 1])) + 1
    return Edit(os.path.abspath(path), row, column, row, column, "".join(f"{newline}{line}" for line in new_lines))


def insert_after_statement(path: str, statement: ast.stmt, text: str) -> Edit | None:
    """Insert ``text`` (one or more lines, written without indentation) as whole lines after the last line
    of ``statement``, indented like its first line, in the file's line break style. None when the source
    cannot be read or code other than a comment shares the statement's first or last line.

    After a block's last statement and after the block itself is the same place: insertions there go in
    the order given to ``apply_to_text``, so give the inner one first."""
    lines = linecache.getlines(path)
    indent = _statement_indent(lines, statement) if lines else None
    end_row, end_column = statement.end_lineno, statement.end_col_offset
    if indent is None or end_row is None or end_column is None or not 1 <= end_row <= len(lines):
        return None
    last = lines[end_row - 1]
    rest = _body(last)[char_offset(last, end_column) :].strip()
    if rest.startswith(";"):
        rest = rest[1:].strip()
    if rest and not rest.startswith("#"):
        return None
    return _after_row(path, lines, end_row, indent, text)


# --- imports -------------------------------------------------------------------------------------------


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _module_level(statements: Iterable[ast.stmt]) -> Iterator[ast.stmt]:
    """The statements that run when the module is imported: the module's own, and those in its top-level
    ``try`` blocks and ``if`` blocks (but not ``if TYPE_CHECKING:``, which never runs)."""
    for statement in statements:
        yield statement
        if isinstance(statement, _TRY_STATEMENTS):
            blocks = [statement.body, *(handler.body for handler in statement.handlers)]
            yield from _module_level(itertools.chain(*blocks, statement.orelse, statement.finalbody))
        elif isinstance(statement, ast.If) and not _is_type_checking(statement.test):
            yield from _module_level(itertools.chain(statement.body, statement.orelse))


def _bound_names(statement: ast.stmt) -> Iterator[str]:
    """The names a statement binds: imports (``import a.b`` binds ``a``), assignments, defs and classes.
    ``from m import *`` yields ``*``."""
    if isinstance(statement, ast.Import):
        for alias in statement.names:
            yield alias.asname or alias.name.partition(".")[0]
    elif isinstance(statement, ast.ImportFrom):
        for alias in statement.names:
            yield alias.asname or alias.name
    elif isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        yield statement.name
    elif isinstance(statement, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
        targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
        if not isinstance(statement, ast.AnnAssign) or statement.value is not None:  # ``x: int`` binds nothing
            for target in targets:
                yield from (node.id for node in ast.walk(target) if isinstance(node, ast.Name))


def _binds(tree: ast.Module, name: str, module: str | None = None) -> bool:
    """Whether the module's top level binds ``name`` (or star-imports it from ``module``). Any binding
    counts, even one to something else: an edit must never shadow the test's own ``name``."""
    for statement in _module_level(tree.body):
        for bound in _bound_names(statement):
            if bound == name:
                return True
            if bound == "*" and isinstance(statement, ast.ImportFrom) and statement.module == module:
                return True
    return False


def _parsed(path: str) -> tuple[list[str], ast.Module] | None:
    """The file's lines and tree, parsed the one silent way the guard parses users' files (``_source``)."""
    from asyncmock_guard import _source  # noqa: PLC0415 - _source is the guard's; this module stays stdlib-only to load

    lines = linecache.getlines(path)
    if not lines and os.path.isfile(path) and os.path.getsize(path) == 0:
        # an empty file: linecache gives no lines before 3.13 and one empty line from 3.13 on
        return ["\n"], ast.Module(body=[], type_ignores=[])
    tree = _source.module_of(path) if lines else None
    return (lines, tree) if tree is not None else None


def _import_row(lines: list[str], tree: ast.Module) -> int:
    """The line after which a new import goes: the last top-level import's, else the module docstring's
    (``from __future__`` imports are imports), else the last of the comments that open the file (a
    shebang, a coding cookie, a licence), else 0: the top."""
    imports = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
    if imports:
        return imports[-1].end_lineno or imports[-1].lineno
    first = tree.body[0] if tree.body else None
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        return first.end_lineno or first.lineno
    row = 0
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if stripped.startswith("#"):
            row = number
        elif stripped:
            break
    return row


def _extend_from_import(path: str, lines: list[str], statement: ast.ImportFrom, name: str) -> Edit | None:
    """Add ``name`` to ``from module import a, b``: ``, name`` after the last name, or, when the list is
    parenthesized with a trailing comma, ``name,`` as the last item (on its own line if ``)`` is)."""
    last = statement.names[-1]
    end_row, end_column = last.end_lineno, last.end_col_offset
    if end_row is None or end_column is None or statement.end_lineno is None or statement.end_col_offset is None:
        return None
    alias_line = lines[end_row - 1]
    after = char_offset(alias_line, end_column)
    closing_line = lines[statement.end_lineno - 1]
    closing = char_offset(closing_line, statement.end_col_offset) - 1  # the statement's last character
    parenthesized = closing_line[closing : closing + 1] == ")"
    rest = _body(alias_line)[after:]
    if not parenthesized or not rest.lstrip().startswith(","):
        return replace_span(path, end_row, after + 1, end_row, after + 1, f", {name}")
    if statement.end_lineno > end_row and not closing_line[:closing].strip():
        alias_start = last.lineno
        start_line = lines[alias_start - 1]
        prefix = start_line[: char_offset(start_line, last.col_offset)]
        indent = prefix if alias_start != statement.lineno and not prefix.strip() else "    "
        row = statement.end_lineno
        return replace_span(path, row, 1, row, 1, f"{indent}{name},{_newline_of(path)}")
    comma = after + len(rest) - len(rest.lstrip()) + 1  # just after the trailing comma, 0-based
    return replace_span(path, end_row, comma + 1, end_row, comma + 1, f" {name},")


def ensure_import(path: str, module: str, name: str) -> Edit | None:
    """An edit that makes ``name`` importable at module level as ``from module import name``; None when the
    top level already binds ``name`` (see ``_binds``) or the source cannot be read.

    A top-level ``from module import ...`` is extended; otherwise a new line goes after the last top-level
    import, else after the docstring, else at the top (after the comments that open the file).
    """
    parsed = _parsed(path)
    if parsed is None:
        return None
    lines, tree = parsed
    module = _as_the_file_imports(tree, module)
    if _binds(tree, name, module):
        return None
    for statement in tree.body:
        if (
            isinstance(statement, ast.ImportFrom)
            and statement.module == module
            and statement.level == 0
            and all(alias.name != "*" for alias in statement.names)
        ):
            return _extend_from_import(path, lines, statement, name)
    return _after_row(path, lines, _import_row(lines, tree), "", f"from {module} import {name}")


# Standard modules that some suites import from a PyPI backport instead.
_BACKPORTS = {"unittest.mock": "mock"}


def _as_the_file_imports(tree: ast.Module, module: str) -> str:
    """``unittest.mock`` as a file that imports its mocks from the ``mock`` backport (and nothing from
    ``unittest.mock``) knows it: ``mock``."""
    backport = _BACKPORTS.get(module)
    if backport is None:
        return module
    imported = {
        statement.module for statement in tree.body if isinstance(statement, ast.ImportFrom) and not statement.level
    }
    return backport if backport in imported and module not in imported else module


def _imports_module(tree: ast.Module, module: str) -> bool:
    """Whether the top level makes ``module`` reachable by its name: bound (``asyncio``), or, for a dotted
    name, imported by a plain ``import unittest.mock`` (or of a submodule of it)."""
    if "." not in module:
        return _binds(tree, module)
    return any(
        alias.asname is None and (alias.name == module or alias.name.startswith(f"{module}."))
        for statement in _module_level(tree.body)
        if isinstance(statement, ast.Import)
        for alias in statement.names
    )


def ensure_module_import(path: str, module: str) -> Edit | None:
    """An edit that adds ``import module`` at module level, placed as ``ensure_import`` places a new line;
    None when the top level already makes ``module`` reachable or the source cannot be read."""
    parsed = _parsed(path)
    if parsed is None:
        return None
    lines, tree = parsed
    if _imports_module(tree, module):
        return None
    return _after_row(path, lines, _import_row(lines, tree), "", f"import {module}")


# --- applying ------------------------------------------------------------------------------------------


def _split_lines(text: str) -> list[str]:
    return _LINE.findall(text)


class _Span(NamedTuple):
    start: int
    end: int
    order: int
    edit: Edit


def _offset(text: str, lines: list[str], starts: list[int], row: int, column: int) -> int:
    """The index into ``text`` of a 1-based row and character column. The end of a line is its last
    column + 1; the row after the last line exists (column 1) only when the text ends with a line break."""
    if 1 <= row <= len(lines) and 1 <= column <= len(_body(lines[row - 1])) + 1:
        return starts[row - 1] + column - 1
    if row == len(lines) + 1 and column == 1 and (not text or text.endswith(("\n", "\r"))):
        return len(text)
    raise ValueError(f"{row}:{column} is outside the text ({len(lines)} lines)")


def _overlap(first: _Span, second: _Span) -> bool:
    """Whether two spans share text. Insertions share none: one at either end of a replaced span, or at
    the same place as another insertion, is fine; one strictly inside a replaced span is not."""
    if first.start == first.end and second.start == second.end:
        return False
    if first.start == first.end:
        return second.start < first.start < second.end
    if second.start == second.end:
        return first.start < second.start < first.end
    return first.start < second.end and second.start < first.end


def apply_to_text(text: str, edits: Sequence[Edit]) -> str:
    """``text`` (one file's) with ``edits`` applied.

    Every position means what it meant in the original text, as if the edits were applied bottom-up.
    An edit given twice is applied once; two different edits that overlap raise ``OverlapError``.
    Insertions at the same place go in the order given, and an insertion at the start of a replaced span
    goes before the new text (at its end, after it). The text may use any line breaks; contents go in as
    they are (the builders write them with the file's).
    """
    unique = list(dict.fromkeys(edits))
    if len({edit.path for edit in unique}) > 1:
        raise ValueError("apply_to_text takes the edits of one file")
    lines = _split_lines(text)
    starts = [0, *itertools.accumulate(map(len, lines))]
    spans = []
    for index, edit in enumerate(unique):
        start = _offset(text, lines, starts, edit.row, edit.column)
        end = _offset(text, lines, starts, edit.end_row, edit.end_column)
        if end < start:
            raise ValueError(f"edit ends before it starts: {edit.describe()}")
        spans.append(_Span(start, end, index, edit))
    for first, second in itertools.combinations(spans, 2):
        if _overlap(first, second):
            raise OverlapError(first.edit, second.edit)
    pieces: list[str] = []
    cursor = 0
    for span in sorted(spans):  # by start, then end (insertions first), then the order given
        pieces += [text[cursor : span.start], span.edit.content]
        cursor = span.end
    pieces.append(text[cursor:])
    return "".join(pieces)


def _read(path: str) -> tuple[str, str]:
    """The file's text, exactly (no line break translation), and its encoding (a PEP 263 cookie's, or a
    BOM's ``utf-8-sig``, or UTF-8), so that writing it back changes nothing but the edits."""
    with open(path, "rb") as stream:
        data = stream.read()
    encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    return data.decode(encoding), encoding


def _by_path(edits: Iterable[Edit]) -> dict[str, list[Edit]]:
    grouped: dict[str, list[Edit]] = {}
    for edit in edits:
        grouped.setdefault(edit.path, []).append(edit)
    return grouped


def _rendered(edits: Iterable[Edit]) -> dict[str, tuple[str, str, str]]:
    """path -> (old text, new text, encoding), every file read and edited before anything is written."""
    result = {}
    for path, group in _by_path(edits).items():
        old, encoding = _read(path)
        result[path] = old, apply_to_text(old, group), encoding
    return result


def render(edits: Iterable[Edit]) -> dict[str, str]:
    """path -> the file's text with its edits applied, without writing anything (a dry run)."""
    return {path: new for path, (_, new, _) in _rendered(edits).items()}


def apply(edits: Iterable[Edit]) -> dict[str, str]:
    """Apply the edits to their files and return path -> new text. Every file is edited and encoded
    first, so an overlap or an unencodable character in one leaves all of them untouched. Files keep
    their encoding and line breaks; linecache forgets their old text."""
    rendered = _rendered(edits)
    payloads = {path: (new.encode(encoding), new != old) for path, (old, new, encoding) in rendered.items()}
    for path, (data, changed) in payloads.items():
        if changed:
            _files.write_atomically(path, data)
            linecache.checkcache(path)
    return {path: new for path, (_, new, _) in rendered.items()}


def unified_diff(edits: Iterable[Edit], rootdir: str | None) -> str:
    """The edits as a unified diff (``a/``/``b/`` paths relative to the rootdir), to show before applying."""
    chunks: list[str] = []
    for path, (old, new, _) in sorted(_rendered(edits).items()):
        name = relative_path(path, rootdir)
        before, after = (name, name) if os.path.isabs(name) else (f"a/{name}", f"b/{name}")
        chunks.extend(
            line if line.endswith(("\n", "\r")) else f"{line}\n\\ No newline at end of file\n"
            for line in difflib.unified_diff(_split_lines(old), _split_lines(new), before, after)
        )
    return "".join(chunks)
