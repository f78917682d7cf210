"""The guard reads the user's source with ``ast.parse`` (``_source._parse``) to build its fixes. A file the
compiler warns about (an invalid escape sequence: a ``SyntaxWarning`` from Python 3.12, a
``DeprecationWarning`` before) must not make that parse warn into the user's run, and under ``-W error``
must not turn into a ``SyntaxError`` that loses the fix built from the source.

The invalid escape is in a helper module at the line of the finding, which pytest does not rewrite, and
that module is compiled beforehand: its import in the sub-run reads the bytecode, so Python compiles its
source nowhere but in the guard's own parse, and a warning about it in the output can only be the guard's.
"""

from __future__ import annotations

import py_compile
import sys
import warnings

import pytest

from _guardrun import line_of, run_guard, write_project

# Compiling this module warns: `"\d+"` is not a raw string.
HELPERS = r"""
from unittest.mock import AsyncMock, MagicMock

ROW_ID = "\d+"


def cursor_with(mock_data):
    mock_obj = MagicMock()
    mock_obj.fetchall = AsyncMock(mock_data)  # Wrong!
    return mock_obj
"""

APP = """
async def fetch_rows(cursor):
    return await cursor.fetchall()
"""

TEST = """
import app
import helpers


async def test_rows():
    cursor = helpers.cursor_with([1, 2, 3])
    assert await app.fetch_rows(cursor) == [1, 2, 3]
"""

# Python's category for an invalid escape sequence on this version
ESCAPE_WARNING = SyntaxWarning if sys.version_info >= (3, 12) else DeprecationWarning


def _escape_text() -> str:
    """What this Python says of ``"\\d"`` (3.14 reworded it: ``"\\d" is an invalid escape sequence...``)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        compile('"\\d"', "<escape>", "eval")
    return str(caught[0].message)


ESCAPE_TEXT = _escape_text()

# The fix the guard builds from the helper's source; without the source it can only say `AsyncMock(return_value=data)`.
SOURCE_FIX = "mock_obj.fetchall = AsyncMock(return_value=mock_data)"


def _precompile(pytester: pytest.Pytester, name: str) -> None:
    """Write ``name``'s bytecode now (its compiler warning silenced here), so the sub-run imports it without
    compiling it; a hash-checked pyc, so it does not depend on the file's mtime."""
    path = pytester.path / f"{name}.py"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        py_compile.compile(str(path), doraise=True, invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH)
    # the project's file really makes the compiler warn on this Python, so the test is not vacuous
    assert [str(w.message) for w in caught if issubclass(w.category, ESCAPE_WARNING)] == [ESCAPE_TEXT]


@pytest.mark.parametrize(
    "warning_options",
    [
        pytest.param((), id="default-filters"),
        pytest.param(("-W", "error::SyntaxWarning"), id="error-SyntaxWarning"),
        pytest.param(("-W", "error::DeprecationWarning"), id="error-DeprecationWarning"),
        pytest.param(("-W", "error"), id="error"),
    ],
)
def test_a_warning_compiling_the_users_file_neither_reaches_the_run_nor_loses_the_fix(
    pytester: pytest.Pytester, warning_options: tuple[str, ...]
) -> None:
    write_project(pytester, app=APP, helpers=HELPERS, test_case=TEST)
    _precompile(pytester, "helpers")
    run = run_guard(pytester, "strict", *warning_options)
    finding = run.only()
    assert finding["kind"] == "spec-is-data"
    assert finding["subject"] == "mock_obj.fetchall"
    assert finding["where"] == {"path": "helpers.py", "line": line_of(HELPERS, "# Wrong!")}
    assert SOURCE_FIX in finding["fix"], finding["fix"]
    assert "`AsyncMock(mock_data)` takes its first argument as the *spec*" in finding["message"], finding["message"]
    assert SOURCE_FIX in run.output
    assert ESCAPE_TEXT not in run.output
    assert "escape sequence" not in run.output
    assert "SyntaxWarning" not in run.output
    assert "SyntaxError" not in run.output
    assert "warnings summary" not in run.output
    run.result.assert_outcomes(failed=1)
