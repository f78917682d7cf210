"""Unit tests of the text edits that carry a finding's fix: columns, builders, applying, JSON and files."""

from __future__ import annotations

import ast
import json
import linecache
import os
import stat
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from asyncmock_guard import _edits
from asyncmock_guard._edits import Edit, OverlapError


def _write(path: Path, text: str, encoding: str = "utf-8") -> str:
    """Write ``text`` exactly (no newline translation) and make linecache read it afresh."""
    path.write_bytes(text.encode(encoding))
    linecache.checkcache(str(path))
    return str(path)


def _tree(path: str) -> ast.Module:
    """The module as the guard parses it: from linecache's lines."""
    return ast.parse("".join(linecache.getlines(path)))


def _edited(path: str, *edits: Edit | None) -> str:
    """The file's text with ``edits`` applied (a dry run); every edit must have been built."""
    built = [edit for edit in edits if edit is not None]
    assert len(built) == len(edits), f"a builder returned None: {edits}"
    return _edits.render(built)[path]


def _calls(tree: ast.AST, name: str) -> list[ast.Call]:
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name
    ]


# --- columns -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "byte_offset", "expected"),
    [
        ("x = 1", 4, 4),
        ('x = "é"; y', 10, 9),  # é is two bytes
        ('s = "日本"; y', 14, 10),  # three bytes each
        ('e = "🐍"; y', 11, 8),  # four bytes, one code point
        ("\tx", 1, 1),  # a tab is one character
    ],
)
def test_char_offset_converts_utf8_bytes_to_characters(line: str, byte_offset: int, expected: int) -> None:
    assert _edits.char_offset(line, byte_offset) == expected
    assert line[expected:] == line.encode("utf-8")[byte_offset:].decode("utf-8")


def test_span_of_counts_characters_after_non_ascii_text(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.py", 'x = "é"; y = AsyncMock()\n')
    (call,) = _calls(_tree(path), "AsyncMock")
    assert call.col_offset == 14  # ast counts bytes
    assert _edits.span_of(path, call) == (1, 14, 1, 25)
    assert linecache.getline(path, 1)[13:24] == "AsyncMock()"


def test_span_of_a_node_over_several_lines(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.py", 'é = f(\n    "ü",\n    2)\n')
    (call,) = _calls(_tree(path), "f")
    assert _edits.span_of(path, call) == (1, 5, 3, 7)


def test_span_of_is_none_without_source_or_position(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.py", "x = 1\n")
    node = _tree(path).body[0]
    assert _edits.span_of(str(tmp_path / "missing.py"), node) is None
    assert _edits.span_of(path, ast.Load()) is None
    assert _edits.replace_node(str(tmp_path / "missing.py"), node, "y") is None
    assert _edits.insert_before_statement(str(tmp_path / "missing.py"), node, "y") is None


# --- replacing -----------------------------------------------------------------------------------------


def test_replace_node_of_a_call(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.py", 'x = "é"; session.add = AsyncMock(return_value=None)  # fix me\n')
    (call,) = _calls(_tree(path), "AsyncMock")
    edit = _edits.replace_node(path, call, "MagicMock()")
    assert edit == Edit(path, 1, 24, 1, 52, "MagicMock()")
    assert _edited(path, edit) == 'x = "é"; session.add = MagicMock()  # fix me\n'


def test_replace_node_of_a_call_over_several_lines(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.py", "m = AsyncMock(\n    spec=Session,\n)\nnext_line()\n")
    (call,) = _calls(_tree(path), "AsyncMock")
    assert _edited(path, _edits.replace_node(path, call, "MagicMock(spec=Session)")) == (
        "m = MagicMock(spec=Session)\nnext_line()\n"
    )


def test_replace_span_uses_character_columns(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.py", 'a = "ü"; b = 2\n')
    edit = _edits.replace_span(path, 1, 14, 1, 15, "3")
    assert _edited(path, edit) == 'a = "ü"; b = 3\n'
    assert _edits.replace_span(str(tmp_path / "missing.py"), 1, 1, 1, 1, "x") is None


# --- inserting lines -----------------------------------------------------------------------------------

INDENTED = """\
import asyncio


def test_outer():
    value = 1
    with patch("a") as m:
        m.run()

    @decorate
    def inner():
        return value

    assert inner() == 1
"""


def _module_level(tree: ast.Module) -> ast.stmt:
    return tree.body[0]


def _in_function(tree: ast.Module) -> ast.stmt:
    return _function(tree).body[0]


def _in_with(tree: ast.Module) -> ast.stmt:
    statement = _function(tree).body[1]
    assert isinstance(statement, ast.With)
    return statement.body[0]


def _nested_def(tree: ast.Module) -> ast.stmt:
    return _function(tree).body[2]


def _in_nested_def(tree: ast.Module) -> ast.stmt:
    inner = _nested_def(tree)
    assert isinstance(inner, ast.FunctionDef)
    return inner.body[0]


def _function(tree: ast.Module) -> ast.FunctionDef:
    function = tree.body[1]
    assert isinstance(function, ast.FunctionDef)
    return function


@pytest.mark.parametrize(
    ("select", "before", "after"),
    [
        pytest.param(_module_level, "NEW\nimport asyncio\n", "import asyncio\nNEW\n", id="module"),
        pytest.param(_in_function, "    NEW\n    value = 1\n", "    value = 1\n    NEW\n", id="function"),
        pytest.param(_in_with, "        NEW\n        m.run()\n", "        m.run()\n        NEW\n", id="with-body"),
        pytest.param(_nested_def, "    NEW\n    @decorate\n", "        return value\n    NEW\n", id="nested-def"),
        pytest.param(
            _in_nested_def, "        NEW\n        return", "        return value\n        NEW\n", id="in-nested"
        ),
    ],
)
def test_insert_around_statements_at_their_indentation(
    tmp_path: Path, select: Callable[[ast.Module], ast.stmt], before: str, after: str
) -> None:
    path = _write(tmp_path / "t.py", INDENTED)
    statement = select(_tree(path))
    inserted_before = _edited(path, _edits.insert_before_statement(path, statement, "NEW"))
    inserted_after = _edited(path, _edits.insert_after_statement(path, statement, "NEW"))
    assert before in inserted_before
    assert after in inserted_after
    for text in (inserted_before, inserted_after):
        assert text.count("NEW") == 1
        assert len(text.splitlines()) == len(INDENTED.splitlines()) + 1
        ast.parse(text)


def test_insert_several_lines_indents_each(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.py", INDENTED)
    statement = _in_with(_tree(path))
    edit = _edits.insert_before_statement(path, statement, "m.add = MagicMock()\nif m:\n    pass\n\nm.x = 1\n")
    assert _edited(path, edit).split("\n")[5:11] == [
        '    with patch("a") as m:',
        "        m.add = MagicMock()",
        "        if m:",
        "            pass",
        "",  # an empty line gets no trailing whitespace
        "        m.x = 1",
    ]


def test_insert_after_the_last_line_of_a_file_without_newline(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.py", "def f():\n    return 1")
    function = _tree(path).body[0]
    assert isinstance(function, ast.FunctionDef)
    assert _edited(path, _edits.insert_after_statement(path, function.body[0], "print()")) == (
        "def f():\n    return 1\n    print()"
    )
    assert _edited(path, _edits.insert_after_statement(path, function, "x = 1\ny = 2")) == (
        "def f():\n    return 1\nx = 1\ny = 2"
    )


def test_insert_after_the_last_line_of_a_file_with_newline(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.py", "x = 1\n")
    assert _edited(path, _edits.insert_after_statement(path, _tree(path).body[0], "y = 2")) == "x = 1\ny = 2\n"


def test_insert_after_a_statement_with_a_trailing_comment(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.py", "x = 1  # one\ny = 2\n")
    assert _edited(path, _edits.insert_after_statement(path, _tree(path).body[0], "z = 3")) == (
        "x = 1  # one\nz = 3\ny = 2\n"
    )


def test_no_whole_line_insertion_beside_code_on_the_same_line(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.py", "a = 1; b = 2\nif a: c = 3\nif a:\n    pass\nelif b:\n    pass\n")
    first, second, one_liner, chain = _tree(path).body
    assert isinstance(one_liner, ast.If)
    assert isinstance(chain, ast.If)
    elif_ = chain.orelse[0]
    assert _edits.insert_before_statement(path, second, "x") is None  # would go before ``a = 1`` too
    assert _edits.insert_after_statement(path, first, "x") is None  # would go after ``b = 2`` too
    assert _edits.insert_before_statement(path, one_liner.body[0], "x") is None  # would leave the ``if``
    assert _edits.insert_after_statement(path, one_liner.body[0], "x") is None
    assert _edits.insert_before_statement(path, elif_, "x") is None  # would end the ``if``
    assert _edits.insert_after_statement(path, elif_, "x") is None
    assert _edits.insert_before_statement(path, first, "x") is not None
    assert _edits.insert_after_statement(path, chain, "x") is not None
    assert _edits.insert_before_statement(path, chain.body[0], "x") is not None


def test_crlf_files_keep_crlf(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.py", "import os\r\n\r\ndef f():\r\n    with os:\r\n        return 1")
    tree = _tree(path)
    function = tree.body[1]
    assert isinstance(function, ast.FunctionDef)
    with_ = function.body[0]
    assert isinstance(with_, ast.With)
    text = _edited(
        path,
        _edits.insert_before_statement(path, with_.body[0], "m = 1\nn = 2"),
        _edits.insert_after_statement(path, with_.body[0], "o = 3"),
        _edits.insert_after_statement(path, function, "p = 4"),
        _edits.ensure_import(path, "unittest.mock", "MagicMock"),
    )
    assert text == (
        "import os\r\nfrom unittest.mock import MagicMock\r\n\r\ndef f():\r\n    with os:\r\n"
        "        m = 1\r\n        n = 2\r\n        return 1\r\n        o = 3\r\np = 4"
    )
    assert "\n" not in text.replace("\r\n", "")
    ast.parse(text)


# --- imports -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "from unittest.mock import MagicMock\n",
        "from unittest.mock import AsyncMock, MagicMock as MagicMock\n",
        "from mocks import MagicMock\n",  # any binding counts: never shadow the test's own
        "from unittest.mock import *\n",
        "import MagicMock\n",
        "MagicMock = object()\n",
        "MagicMock: type = object\n",
        "a, (b, MagicMock) = 1, (2, 3)\n",
        "def MagicMock(): pass\n",
        "class MagicMock: pass\n",
        "try:\n    from mock import MagicMock\nexcept ImportError:\n    from unittest.mock import MagicMock\n",
        "import sys\nif sys.version_info >= (3, 8):\n    from unittest.mock import MagicMock\n",
    ],
)
def test_ensure_import_is_none_when_the_name_is_bound(tmp_path: Path, source: str) -> None:
    path = _write(tmp_path / "t.py", source)
    assert _edits.ensure_import(path, "unittest.mock", "MagicMock") is None


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        pytest.param(
            "from unittest.mock import AsyncMock\n\nx = 1\n",
            "from unittest.mock import AsyncMock, MagicMock\n\nx = 1\n",
            id="single-line",
        ),
        pytest.param(
            "from unittest.mock import AsyncMock as AM, patch  # why\n",
            "from unittest.mock import AsyncMock as AM, patch, MagicMock  # why\n",
            id="single-line-alias-comment",
        ),
        pytest.param(
            "from unittest.mock import (\n    AsyncMock,\n    patch,\n)\n",
            "from unittest.mock import (\n    AsyncMock,\n    patch,\n    MagicMock,\n)\n",
            id="parenthesized-trailing-comma",
        ),
        pytest.param(
            "from unittest.mock import (\n    AsyncMock,\n    patch\n)\n",
            "from unittest.mock import (\n    AsyncMock,\n    patch, MagicMock\n)\n",
            id="parenthesized-no-trailing-comma",
        ),
        pytest.param(
            "from unittest.mock import (AsyncMock, patch,)\n",
            "from unittest.mock import (AsyncMock, patch, MagicMock,)\n",
            id="parenthesized-one-line-trailing-comma",
        ),
        pytest.param(
            "from unittest.mock import (AsyncMock,\n                           patch)\n",
            "from unittest.mock import (AsyncMock,\n                           patch, MagicMock)\n",
            id="parenthesized-hanging",
        ),
        pytest.param(
            "from unittest.mock import AsyncMock, \\\n    patch\n",
            "from unittest.mock import AsyncMock, \\\n    patch, MagicMock\n",
            id="backslash",
        ),
        pytest.param(
            "import asyncio\nimport pytest\n\n\ndef test():\n    pass\n",
            "import asyncio\nimport pytest\nfrom unittest.mock import MagicMock\n\n\ndef test():\n    pass\n",
            id="after-last-import",
        ),
        pytest.param(
            '"""Doc."""\n\nfrom __future__ import annotations\n\nx = 1\n',
            '"""Doc."""\n\nfrom __future__ import annotations\nfrom unittest.mock import MagicMock\n\nx = 1\n',
            id="after-future",
        ),
        pytest.param(
            '"""Doc\n\non lines.\n"""\n\nx = 1\n',
            '"""Doc\n\non lines.\n"""\nfrom unittest.mock import MagicMock\n\nx = 1\n',
            id="after-docstring",
        ),
        pytest.param("x = 1\n", "from unittest.mock import MagicMock\nx = 1\n", id="at-the-top"),
        pytest.param(
            "#!/usr/bin/env python\n# -*- coding: utf-8 -*-\n\nx = 1\n",
            "#!/usr/bin/env python\n# -*- coding: utf-8 -*-\nfrom unittest.mock import MagicMock\n\nx = 1\n",
            id="after-opening-comments",
        ),
        pytest.param("", "from unittest.mock import MagicMock\n", id="empty-file"),
        pytest.param(
            "import unittest.mock\n\nm = unittest.mock.AsyncMock()\n",
            "import unittest.mock\nfrom unittest.mock import MagicMock\n\nm = unittest.mock.AsyncMock()\n",
            id="import-of-the-module-binds-only-its-package",
        ),
        pytest.param(
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from unittest.mock import MagicMock\n",
            "from typing import TYPE_CHECKING\nfrom unittest.mock import MagicMock\n"
            "if TYPE_CHECKING:\n    from unittest.mock import MagicMock\n",
            id="type-checking-does-not-bind",
        ),
        pytest.param(
            "from . import MagicMockish\nimport os",
            "from . import MagicMockish\nimport os\nfrom unittest.mock import MagicMock",
            id="no-newline-at-end",
        ),
    ],
)
def test_ensure_import(tmp_path: Path, source: str, expected: str) -> None:
    path = _write(tmp_path / "t.py", source)
    assert _edited(path, _edits.ensure_import(path, "unittest.mock", "MagicMock")) == expected


def test_ensure_import_extends_the_first_top_level_from_import_only(tmp_path: Path) -> None:
    source = "def f():\n    from unittest.mock import patch\nfrom unittest.mock import AsyncMock\n"
    path = _write(tmp_path / "t.py", source)
    assert _edited(path, _edits.ensure_import(path, "unittest.mock", "MagicMock")) == (
        "def f():\n    from unittest.mock import patch\nfrom unittest.mock import AsyncMock, MagicMock\n"
    )


def test_ensure_import_is_none_when_the_source_cannot_be_parsed(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.py", "def broken(:\n")
    assert _edits.ensure_import(path, "unittest.mock", "MagicMock") is None
    assert _edits.ensure_import(str(tmp_path / "missing.py"), "unittest.mock", "MagicMock") is None


@pytest.mark.parametrize(
    ("source", "module", "expected"),
    [
        pytest.param("import asyncio\n", "asyncio", None, id="bound"),
        pytest.param("import os, asyncio as asyncio\n", "asyncio", None, id="bound-in-a-list"),
        pytest.param("import os\n\nx = 1\n", "asyncio", "import os\nimport asyncio\n\nx = 1\n", id="after-import"),
        pytest.param("from asyncio import run\n", "asyncio", "from asyncio import run\nimport asyncio\n", id="from"),
        pytest.param("import unittest.mock\n", "unittest.mock", None, id="dotted-bound"),
        pytest.param("import unittest.mock.sub\n", "unittest.mock", None, id="dotted-submodule"),
        pytest.param("import unittest\n", "unittest.mock", "import unittest\nimport unittest.mock\n", id="package"),
        pytest.param(
            "import unittest.mock as mock\n",
            "unittest.mock",
            "import unittest.mock as mock\nimport unittest.mock\n",
            id="dotted-alias",
        ),
        pytest.param('"""Doc."""\n', "asyncio", '"""Doc."""\nimport asyncio\n', id="after-docstring"),
    ],
)
def test_ensure_module_import(tmp_path: Path, source: str, module: str, expected: str | None) -> None:
    path = _write(tmp_path / "t.py", source)
    edit = _edits.ensure_module_import(path, module)
    if expected is None:
        assert edit is None
    else:
        assert _edited(path, edit) == expected


# --- applying ------------------------------------------------------------------------------------------


def _edit(row: int, column: int, end_row: int, end_column: int, content: str, path: str = "/t.py") -> Edit:
    return Edit(path, row, column, end_row, end_column, content)


TEXT = "first line\nsecond é line\nthird\n"


def test_apply_to_text_keeps_every_position_meaning_the_original_text() -> None:
    edits = [
        _edit(1, 1, 1, 6, "1st"),  # "first" -> "1st", shorter
        _edit(2, 8, 2, 9, "E"),  # the é
        _edit(2, 14, 3, 1, "; "),  # join lines 2 and 3
        _edit(4, 1, 4, 1, "fourth\n"),  # the end of the text
    ]
    expected = "1st line\nsecond E line; third\nfourth\n"
    assert _edits.apply_to_text(TEXT, edits) == expected
    assert _edits.apply_to_text(TEXT, edits[::-1]) == expected
    assert _edits.apply_to_text(TEXT, [edits[2], edits[0], edits[3], edits[1]]) == expected


def test_apply_to_text_applies_duplicates_once() -> None:
    insertion = _edit(2, 1, 2, 1, "new\n")
    replacement = _edit(3, 1, 3, 6, "3rd")
    assert _edits.apply_to_text(TEXT, [insertion, replacement, insertion, replacement]) == (
        "first line\nnew\nsecond é line\n3rd\n"
    )


@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param(_edit(1, 1, 1, 6, "a"), _edit(1, 3, 1, 8, "b"), id="crossing"),
        pytest.param(_edit(1, 1, 2, 3, "a"), _edit(1, 3, 1, 4, "b"), id="inside"),
        pytest.param(_edit(1, 1, 1, 6, "a"), _edit(1, 1, 1, 6, "b"), id="same-span"),
        pytest.param(_edit(1, 1, 1, 6, "a"), _edit(1, 3, 1, 3, "b"), id="insertion-inside"),
    ],
)
def test_apply_to_text_refuses_overlapping_edits(first: Edit, second: Edit) -> None:
    with pytest.raises(OverlapError) as raised:
        _edits.apply_to_text(TEXT, [first, second])
    assert isinstance(raised.value, ValueError)
    assert {raised.value.first, raised.value.second} == {first, second}
    assert repr(first.content) in str(raised.value)
    assert repr(second.content) in str(raised.value)


def test_insertions_at_one_place_go_in_the_order_given() -> None:
    a, b = _edit(2, 1, 2, 1, "A\n"), _edit(2, 1, 2, 1, "B\n")
    assert _edits.apply_to_text(TEXT, [a, b]).splitlines()[1:3] == ["A", "B"]
    assert _edits.apply_to_text(TEXT, [b, a]).splitlines()[1:3] == ["B", "A"]


def test_insertions_at_the_ends_of_a_replaced_span_and_adjacent_replacements_do_not_overlap() -> None:
    edits = [
        _edit(1, 7, 1, 11, "LINE"),
        _edit(1, 11, 1, 11, "!"),  # at its end: after the new text
        _edit(1, 7, 1, 7, "<"),  # at its start: before the new text
        _edit(1, 1, 1, 7, "1st "),  # ends where the other starts
    ]
    assert _edits.apply_to_text(TEXT, edits).splitlines()[0] == "1st <LINE!"


def test_apply_to_text_with_crlf_line_endings() -> None:
    text = "a = 1\r\nb = 'é'\r\nc = 3"
    edits = [_edit(2, 6, 2, 7, "ü"), _edit(2, 8, 2, 8, "\r\nb2 = 2"), _edit(3, 6, 3, 6, "\r\nd = 4")]
    assert _edits.apply_to_text(text, edits) == "a = 1\r\nb = 'ü'\r\nb2 = 2\r\nc = 3\r\nd = 4"


@pytest.mark.parametrize(
    "edit",
    [
        _edit(0, 1, 1, 1, "x"),
        _edit(1, 0, 1, 1, "x"),
        _edit(1, 12, 1, 12, "x"),  # past the end of "first line" (the end is column 11)
        _edit(5, 1, 5, 1, "x"),
        _edit(2, 3, 1, 1, "x"),  # ends before it starts
    ],
)
def test_apply_to_text_refuses_positions_outside_the_text(edit: Edit) -> None:
    with pytest.raises(ValueError, match=r"outside the text|ends before it starts"):
        _edits.apply_to_text(TEXT, [edit])


def test_the_row_after_the_last_exists_only_after_a_final_line_break() -> None:
    assert _edits.apply_to_text("x\n", [_edit(2, 1, 2, 1, "y\n")]) == "x\ny\n"
    assert _edits.apply_to_text("", [_edit(1, 1, 1, 1, "y\n")]) == "y\n"
    with pytest.raises(ValueError, match="outside the text"):
        _edits.apply_to_text("x", [_edit(2, 1, 2, 1, "y")])


def test_apply_to_text_takes_one_file() -> None:
    with pytest.raises(ValueError, match="one file"):
        _edits.apply_to_text(TEXT, [_edit(1, 1, 1, 1, "a", "/a.py"), _edit(1, 1, 1, 1, "b", "/b.py")])


# --- JSON ----------------------------------------------------------------------------------------------


def test_json_round_trip_with_paths_relative_to_the_rootdir(tmp_path: Path) -> None:
    source = tmp_path / "tests" / "test_x.py"
    source.parent.mkdir()
    source.write_text("import app\n\ndb = AsyncMock()\n")
    edit = Edit(str(source), 3, 6, 3, 15, "MagicMock")
    data = edit.to_json(str(tmp_path))
    assert data == {
        "path": "tests/test_x.py",
        "location": {"row": 3, "column": 6},
        "end_location": {"row": 3, "column": 15},
        "content": "MagicMock",
        "expected": "db = AsyncMock()\n",  # the rows it touches, to tell a file changed since
    }
    assert Edit.from_json(json.loads(json.dumps(data)), str(tmp_path)) == edit
    assert hash(Edit.from_json(data, str(tmp_path))) == hash(edit)
    assert edit.matches(data["expected"])
    source.write_text("import app\n\ndb = AsyncMock(name='db')\n")
    assert not edit.matches(data["expected"])


def test_json_keeps_paths_outside_the_rootdir_and_without_one(tmp_path: Path) -> None:
    edit = Edit(str(tmp_path / "elsewhere.py"), 1, 1, 1, 1, "x")
    rootdir = str(tmp_path / "project")
    assert edit.to_json(rootdir)["path"] == edit.path
    assert edit.to_json(None)["path"] == edit.path
    assert Edit.from_json(edit.to_json(rootdir), rootdir) == edit
    assert Edit.from_json(edit.to_json(None), None) == edit


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"path": "a.py", "location": {"row": 1}, "end_location": {"row": 1, "column": 1}, "content": ""},
        {"path": "a.py", "location": {"row": "1", "column": 1}, "end_location": {"row": 1, "column": 1}, "content": ""},
        {
            "path": "a.py",
            "location": {"row": True, "column": 1},
            "end_location": {"row": 1, "column": 1},
            "content": "",
        },
        {"path": 1, "location": {"row": 1, "column": 1}, "end_location": {"row": 1, "column": 1}, "content": ""},
        {"path": "a.py", "location": [1, 1], "end_location": {"row": 1, "column": 1}, "content": ""},
    ],
)
def test_from_json_refuses_what_is_not_an_edit(data: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="not an edit"):
        Edit.from_json(data, "/root")


def test_edit_properties() -> None:
    assert _edit(1, 2, 1, 2, "x").is_insertion
    assert not _edit(1, 2, 1, 3, "x").is_insertion
    assert _edit(1, 2, 3, 4, "x").describe() == "/t.py:1:2-3:4 -> 'x'"


# --- files ---------------------------------------------------------------------------------------------


def test_apply_writes_the_files_and_returns_their_texts(tmp_path: Path) -> None:
    first = _write(tmp_path / "a.py", "x = AsyncMock()\n")
    second = _write(tmp_path / "b.py", "y = 1\n")
    (call,) = _calls(_tree(first), "AsyncMock")
    edits = [
        _edits.replace_node(first, call, "MagicMock()"),
        _edits.ensure_import(first, "unittest.mock", "MagicMock"),
        _edits.insert_after_statement(second, _tree(second).body[0], "z = 2"),
    ]
    result = _edits.apply([edit for edit in edits if edit is not None])
    assert result == {
        first: "from unittest.mock import MagicMock\nx = MagicMock()\n",
        second: "y = 1\nz = 2\n",
    }
    assert Path(first).read_text() == result[first]
    assert Path(second).read_text() == result[second]
    assert "".join(linecache.getlines(first)) == result[first]  # linecache forgot the old text
    assert sorted(os.listdir(tmp_path)) == ["a.py", "b.py"]  # no temporary file left


def test_apply_replaces_the_file_atomically_from_its_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path / "t.py", "x = 1\n")
    replaced: list[tuple[str, str, bytes]] = []
    real_replace = os.replace

    def spy(source: str, target: str) -> None:
        replaced.append((source, target, Path(source).read_bytes()))
        assert Path(target).read_bytes() == b"x = 1\n"  # untouched until the rename
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", spy)
    _edits.apply([_edit(1, 5, 1, 6, "2", path)])
    ((source, target, written),) = replaced
    assert os.path.dirname(source) == str(tmp_path)
    assert target == os.path.realpath(path)
    assert written == b"x = 2\n"
    assert Path(path).read_bytes() == b"x = 2\n"


def test_apply_leaves_the_file_and_no_temporary_when_writing_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path / "t.py", "x = 1\n")

    def broken(source: str, target: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError, match="disk full"):
        _edits.apply([_edit(1, 5, 1, 6, "2", path)])
    assert Path(path).read_bytes() == b"x = 1\n"
    assert os.listdir(tmp_path) == ["t.py"]


def test_apply_writes_nothing_when_any_file_cannot_be_edited(tmp_path: Path) -> None:
    good = _write(tmp_path / "a.py", "x = 1\n")
    bad = _write(tmp_path / "b.py", "y = 1\n")
    with pytest.raises(OverlapError):
        _edits.apply([_edit(1, 5, 1, 6, "2", good), _edit(1, 1, 1, 3, "z", bad), _edit(1, 2, 1, 4, "w", bad)])
    assert Path(good).read_text() == "x = 1\n"
    assert Path(bad).read_text() == "y = 1\n"


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permission bits")
def test_apply_keeps_the_permission_bits(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.py", "x = 1\n")
    os.chmod(path, 0o751)
    _edits.apply([_edit(1, 5, 1, 6, "2", path)])
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o751
    assert Path(path).read_text() == "x = 2\n"


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks need privileges")
def test_apply_through_a_symlink_keeps_the_link(tmp_path: Path) -> None:
    target = _write(tmp_path / "real.py", "x = 1\n")
    link = tmp_path / "link.py"
    link.symlink_to(target)
    _edits.apply([_edit(1, 5, 1, 6, "2", str(link))])
    assert link.is_symlink()
    assert Path(target).read_text() == "x = 2\n"


def test_apply_keeps_a_latin_1_coding_cookie_files_encoding(tmp_path: Path) -> None:
    source = '# -*- coding: latin-1 -*-\nname = "café"; m = AsyncMock()\n'
    path = _write(tmp_path / "t.py", source, encoding="latin-1")
    (call,) = _calls(_tree(path), "AsyncMock")
    assert _edits.span_of(path, call) == (2, 20, 2, 31)  # linecache decoded the cookie's encoding
    edits = [_edits.replace_node(path, call, "MagicMock()"), _edits.ensure_import(path, "unittest.mock", "MagicMock")]
    _edits.apply([edit for edit in edits if edit is not None])
    assert Path(path).read_bytes() == (
        b'# -*- coding: latin-1 -*-\nfrom unittest.mock import MagicMock\nname = "caf\xe9"; m = MagicMock()\n'
    )


def test_apply_keeps_a_utf8_bom_and_crlf(tmp_path: Path) -> None:
    path = str(tmp_path / "t.py")
    Path(path).write_bytes(b"\xef\xbb\xbfx = '\xc3\xa9'\r\ny = 1\r\n")
    linecache.checkcache(path)
    edit = _edits.insert_after_statement(path, _tree(path).body[0], "z = 2")
    assert edit is not None
    _edits.apply([edit])
    assert Path(path).read_bytes() == b"\xef\xbb\xbfx = '\xc3\xa9'\r\nz = 2\r\ny = 1\r\n"


def test_render_and_unified_diff_write_nothing(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    path = _write(tmp_path / "tests" / "t.py", "x = 1\ny = 2")
    edits = [_edit(1, 5, 1, 6, "10", path), _edit(2, 6, 2, 6, "\nz = 3", path)]
    assert _edits.render(edits) == {path: "x = 10\ny = 2\nz = 3"}
    assert _edits.unified_diff(edits, str(tmp_path)) == (
        "--- a/tests/t.py\n+++ b/tests/t.py\n@@ -1,2 +1,3 @@\n"
        "-x = 1\n-y = 2\n\\ No newline at end of file\n+x = 10\n+y = 2\n+z = 3\n\\ No newline at end of file\n"
    )
    assert Path(path).read_text() == "x = 1\ny = 2"
    assert _edits.render([]) == {}
    assert _edits.unified_diff([], str(tmp_path)) == ""


# --- property: the builders' edits keep the file valid Python ------------------------------------------

SAMPLES = {
    "blocks": '''\
"""Tests with every kind of block."""

from __future__ import annotations

import asyncio
from unittest.mock import (
    AsyncMock,
    patch,
)

NAME = "é日本🐍"  # non-ASCII before code


@decorate
class TestThing:
    """A class."""

    attribute = AsyncMock()

    @staticmethod
    @other(  # a decorator over lines
        1,
    )
    async def test_method(arg: int = 1) -> None:
        async with patch("é") as m, patch("x"):
            await m.run(arg, *[1], **{"k": 2})
        for item in range(3):
            if item:
                continue
            elif item > 1:
                break
            else:
                pass
        else:
            pass


def test_try():
    try:
        value = {"k": [1, 2, (3, 4)], "s": d[1:2, ::3]}
    except (KeyError, ValueError) as error:
        raise RuntimeError from error
    else:
        value = 1
    finally:
        print(value)
    while False:
        x = lambda y: y + 1  # noqa
        total = sum(i for i in range(3))
    match value:
        case {"k": [_, *rest]}:
            pass
        case _:
            pass
''',
    "one_liners": "import os; import sys\nif os: x = 1\nelse: x = 2\nclass A: pass\ndef f(): return [i for i in range(3)]\n",
    "no_newline": 'def f():\n    s = """a\nb"""\n    return 1 + \\\n        2',
    "crlf": "import os\r\n\r\ndef f():\r\n    if os:\r\n        return 1\r\n    return 2\r\n",
    "tabs": 'if True:\n\tx = 1\n\tif x:\n\t\ty = "é"\n',
}


def _address(tree: ast.AST, target: ast.AST) -> list[tuple[str, int]] | None:
    """The fields and indexes that lead from ``tree`` to ``target`` (a statement is always in a list)."""
    for field, value in ast.iter_fields(tree):
        children = value if isinstance(value, list) else [value]
        for index, child in enumerate(children):
            if child is target:
                return [(field, index)]
            if isinstance(child, ast.AST):
                found = _address(child, target)
                if found is not None:
                    return [(field, index), *found]
    return None


def _at(tree: ast.AST, address: list[tuple[str, int]]) -> ast.AST:
    node = tree
    for field, index in address:
        value = getattr(node, field)
        node = value[index] if isinstance(value, list) else value
    return node


def _alone_on_its_lines(path: str, statement: ast.stmt) -> tuple[bool, bool]:
    """An oracle for the builders: does only indentation (and a decorator's ``@``) come before the
    statement, and does only a comment follow it on its last line?"""
    decorators: list[ast.expr] = getattr(statement, "decorator_list", [])
    first = decorators[0] if decorators else statement
    lines = [line.encode("utf-8") for line in linecache.getlines(path)]
    before = lines[first.lineno - 1][: first.col_offset].decode().strip()
    head = lines[statement.lineno - 1][statement.col_offset :].decode()
    after = lines[(statement.end_lineno or 0) - 1][statement.end_col_offset :].decode().strip()
    starts = before in ("", "@") and not (isinstance(statement, ast.If) and head.startswith("elif"))
    return starts, starts and (not after or after.startswith("#"))


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_inserted_lines_land_in_the_statements_block(tmp_path: Path, name: str) -> None:
    path = _write(tmp_path / f"{name}.py", SAMPLES[name])
    tree = _tree(path)
    statements = [node for node in ast.walk(tree) if isinstance(node, ast.stmt)]
    placed = 0
    for statement in statements:
        address = _address(tree, statement)
        assert address is not None
        can_before, can_after = _alone_on_its_lines(path, statement)
        for offset, build, expected in (
            (0, _edits.insert_before_statement, can_before),
            (1, _edits.insert_after_statement, can_after),
        ):
            edit = build(path, statement, "marker_ = 0\nif marker_:\n    pass")
            assert (edit is not None) == expected, (ast.dump(statement), build.__name__)
            if edit is None:
                continue
            new_tree = ast.parse(_edited(path, edit))
            *parents, (field, index) = address
            # before: the marker, its ``if``, then the statement; after: the statement, then the marker
            marker = _at(new_tree, [*parents, (field, index + offset)])
            original = _at(new_tree, [*parents, (field, index + 2 * (1 - offset))])
            assert ast.unparse(marker) == "marker_ = 0"
            assert ast.dump(original) == ast.dump(statement)
            placed += 1
    assert placed >= len(statements) // 2


def _parenthesizable(tree: ast.Module) -> list[ast.expr]:
    """The expressions whose text may be wrapped in parentheses without changing the module's AST: not
    the parts of f-strings or of ``match`` patterns, nor starred items and slices."""
    containers = [node for node in ast.walk(tree) if isinstance(node, ast.JoinedStr | ast.pattern)]
    inside = {id(child) for node in containers for child in ast.walk(node) if child is not node}
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.expr)
        and id(node) not in inside
        and not isinstance(node, ast.Starred | ast.Slice)
        and not (isinstance(node, ast.Tuple) and any(isinstance(item, ast.Slice) for item in node.elts))
    ]


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_replaced_nodes_and_imports_keep_the_module_valid(tmp_path: Path, name: str) -> None:
    path = _write(tmp_path / f"{name}.py", SAMPLES[name])
    tree = _tree(path)
    expected = ast.dump(tree)
    for node in _parenthesizable(tree):
        segment = ast.get_source_segment("".join(linecache.getlines(path)), node)
        assert segment is not None
        edit = _edits.replace_node(path, node, f"({segment})")
        assert edit is not None
        assert ast.dump(ast.parse(_edited(path, edit))) == expected, ast.dump(node)
    imports = [
        _edits.ensure_import(path, "unittest.mock", "MagicMock"),
        _edits.ensure_import(path, "unittest.mock", "AsyncMock"),
        _edits.ensure_import(path, "asyncmock_guard", "guard"),
        _edits.ensure_module_import(path, "asyncio"),
        _edits.ensure_module_import(path, "unittest.mock"),
    ]
    built = [edit for edit in imports if edit is not None]
    new_tree = ast.parse(_edits.render(built)[path])
    imported = {
        alias.asname or alias.name
        for node in new_tree.body
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert {"MagicMock", "AsyncMock", "guard", "asyncio", "unittest.mock"} <= imported


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_many_builders_edits_applied_together_keep_the_module_valid(tmp_path: Path, name: str) -> None:
    path = _write(tmp_path / f"{name}.py", SAMPLES[name])
    tree = _tree(path)
    before = [
        _edits.insert_before_statement(path, node, "marker_ = 0")
        for node in ast.walk(tree)
        if isinstance(node, ast.stmt)
    ]
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call)]
    edits = [
        *(edit for edit in before if edit is not None),
        *(_edits.replace_node(path, call.func, "replaced_") for call in calls),
        _edits.ensure_import(path, "unittest.mock", "MagicMock"),
        _edits.ensure_module_import(path, "asyncio"),
    ]
    built = [edit for edit in edits if edit is not None]
    assert len(built) >= 3
    new_tree = ast.parse(_edits.render(built)[path])
    markers = [
        node for node in ast.walk(new_tree) if isinstance(node, ast.Assign) and ast.unparse(node) == "marker_ = 0"
    ]
    assert len(markers) == sum(edit is not None for edit in before)
    assert len([node for node in ast.walk(new_tree) if isinstance(node, ast.Name) and node.id == "replaced_"]) == len(
        calls
    )
