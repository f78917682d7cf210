"""Reading the test's source at a finding's line with ``ast``: which call is there, what it is assigned
to, and the text of its arguments, so that subjects and fixes use the test's own expressions.

Only called when a finding is made, never on the hot path. Every function returns ``None`` when the
source cannot be read or parsed (a REPL, a generated file): the finding is still made, with less text.
"""

from __future__ import annotations

import ast
import builtins
import dis
import functools
import inspect
import linecache
import warnings
from dataclasses import dataclass
from types import CodeType, FrameType
from typing import Any

from asyncmock_guard import _naming

_MISSING = object()


@functools.lru_cache(maxsize=64)
def _parse(path: str, size: int) -> ast.Module | None:
    # Compiling the user's file may warn about it (an invalid escape sequence: a SyntaxWarning, a
    # DeprecationWarning before 3.12). Python said so when it compiled the file; said again here it
    # would be the guard's noise in the user's run, and under ``-W error`` a SyntaxError that loses the
    # finding's source. So no warning for this parse only: the user's filters are restored after it.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return ast.parse("".join(linecache.getlines(path)))
        except (SyntaxError, ValueError):
            return None


def module_of(path: str) -> ast.Module | None:
    lines = linecache.getlines(path)
    if not lines:
        return None
    return _parse(path, sum(map(len, lines)))


def text_of(path: str, node: ast.AST) -> str:
    """The source of ``node`` exactly as written (its first line's indentation dropped)."""
    segment = ast.get_source_segment("".join(linecache.getlines(path)), node)
    return segment if segment is not None else ast.unparse(node)


def callee_name(call: ast.Call) -> str | None:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


@dataclass(frozen=True)
class CallSite:
    """A call at a line of the test: the call, the statement holding it, and what it is assigned to."""

    path: str
    call: ast.Call
    statement: ast.stmt
    target: str | None  # ``mock_obj.fetchall`` in ``mock_obj.fetchall = AsyncMock(...)``

    def text(self, node: ast.AST) -> str:
        return text_of(self.path, node)

    def keyword(self, name: str) -> ast.expr | None:
        return next((k.value for k in self.call.keywords if k.arg == name), None)


def _statements(tree: ast.Module, line: int) -> ast.stmt | None:
    """The innermost statement that spans ``line`` (a ``with`` whose header holds the line, too)."""
    spanning = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.stmt) and node.lineno <= line <= (node.end_lineno or node.lineno)
    ]
    if not spanning:
        return None
    return max(spanning, key=lambda node: (node.lineno, -(node.end_lineno or node.lineno)))


def statement_at(tree: ast.Module, line: int) -> ast.stmt | None:
    """The innermost statement of ``tree`` that spans ``line``."""
    return _statements(tree, line)


def call_at(path: str, line: int, callee: str, *, positional: bool = False) -> CallSite | None:
    """The call of ``callee`` (by its last name) at ``line``: the first one that has positional
    arguments when ``positional`` is asked, else the first one."""
    tree = module_of(path)
    if tree is None:
        return None
    statement = _statements(tree, line)
    if statement is None:
        return None
    calls = [
        node
        for node in ast.walk(statement)
        if isinstance(node, ast.Call)
        and callee_name(node) == callee
        and node.lineno <= line <= (node.end_lineno or node.lineno)
        and (node.args or not positional)
    ]
    if not calls:
        return None
    call = min(calls, key=lambda node: (node.lineno, node.col_offset))
    return CallSite(path, call, statement, _target_of(path, statement, call))


def _target_of(path: str, statement: ast.stmt, call: ast.Call) -> str | None:
    """What the call's value is bound to: an assignment target, or ``patch.object(x, "attr", <call>)``."""
    if isinstance(statement, (ast.Assign, ast.AnnAssign)) and statement.value is call:
        targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
        if len(targets) == 1 and isinstance(targets[0], (ast.Name, ast.Attribute, ast.Subscript)):
            return text_of(path, targets[0])
    for node in ast.walk(statement):
        if not isinstance(node, ast.Call) or node is call:
            continue
        name = callee_name(node)
        if name == "object" and len(node.args) >= 3 and node.args[2] is call:
            attribute = node.args[1]
            if isinstance(attribute, ast.Constant) and isinstance(attribute.value, str):
                return f"{text_of(path, node.args[0])}.{attribute.value}"
        if name in ("patch", "object") and any(k.arg == "new" and k.value is call for k in node.keywords):
            return patched_name(path, node)
        if name == "patch" and len(node.args) >= 2 and node.args[1] is call:
            return patched_name(path, node)
        for keyword in node.keywords:
            if keyword.value is call and keyword.arg in ("return_value", "side_effect"):
                return None
    return None


def patched_name(path: str, patch_call: ast.Call) -> str | None:
    """What a ``patch(...)``/``patch.object(...)`` call patches, as written (``send_email``, ``Store.save``)."""
    if not patch_call.args:
        return None
    first = patch_call.args[0]
    if isinstance(first, ast.Constant) and isinstance(first.value, str):
        return first.value.rpartition(".")[2]
    if len(patch_call.args) >= 2:
        attribute = patch_call.args[1]
        if isinstance(attribute, ast.Constant) and isinstance(attribute.value, str):
            return f"{text_of(path, first)}.{attribute.value}"
    return None


def awaited_expression(code: CodeType, lasti: int, line: int) -> ast.expr | None:
    """The operand of the ``await`` that the instruction at ``lasti`` of ``code`` executes."""
    path = code.co_filename
    tree = module_of(path)
    if tree is None:
        return None
    position = _position(code, lasti)
    awaits = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Await) and node.lineno <= line <= (node.end_lineno or node.lineno)
    ]
    if position is not None:
        exact = [
            node
            for node in awaits
            if (node.lineno, node.col_offset) <= position[:2] and position[2:] <= (node.end_lineno, node.end_col_offset)
        ]
        if exact:
            awaits = exact
    if not awaits:
        return None
    # the innermost await that spans the instruction
    return max(awaits, key=lambda node: (node.lineno, node.col_offset)).value


def last_line_of_function(code: CodeType) -> int | None:
    """The first line of the last statement of the function ``code`` is the body of."""
    tree = module_of(code.co_filename)
    for node in ast.walk(tree) if tree is not None else ():
        if (
            isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.name == code.co_name
            and _first_line(node) == code.co_firstlineno
        ):
            return node.body[-1].lineno
    return None


def callee_at(code: CodeType, lasti: int, line: int) -> str | None:
    """The name of what the call instruction at ``lasti`` of ``code`` calls (``bool`` for ``bool(x)``), when
    the source tells it for certain."""
    tree = module_of(code.co_filename)
    if tree is None:
        return None
    calls = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and node.lineno <= line <= (node.end_lineno or node.lineno)
    ]
    position = _position(code, lasti)
    if position is not None:
        calls = [
            node for node in calls if (node.lineno, node.col_offset, node.end_lineno, node.end_col_offset) == position
        ]
    names = {callee_name(node) for node in calls}
    if len(names) > 1 and position is None:  # Python 3.10: the bytecode says which of the line's calls it is
        return _callee_loaded_for(code, lasti)
    return names.pop() if len(names) == 1 else None


_LOADS = frozenset({"LOAD_GLOBAL", "LOAD_NAME", "LOAD_DEREF", "LOAD_FAST"})


def _callee_loaded_for(code: CodeType, lasti: int) -> str | None:
    """The name loaded as the callable of the ``CALL_FUNCTION`` instruction at ``lasti`` (Python 3.10): walking
    back through straight-line code, the instruction that pushed what lies below its arguments."""
    instructions = [instruction for instruction in dis.get_instructions(code) if instruction.offset <= lasti]
    if not instructions or instructions[-1].offset != lasti or instructions[-1].opname != "CALL_FUNCTION":
        return None
    needed = (instructions[-1].arg or 0) + 1  # its positional arguments, and the callable below them
    for instruction in reversed(instructions[:-1]):
        if instruction.is_jump_target:
            return None
        argument = instruction.arg if instruction.opcode >= dis.HAVE_ARGUMENT else None
        needed -= dis.stack_effect(instruction.opcode, argument)
        if needed <= 0:
            return instruction.argval if needed == 0 and instruction.opname in _LOADS else None
    return None


def _position(code: CodeType, lasti: int) -> tuple[int, int, int, int] | None:
    positions = getattr(code, "co_positions", None)
    if positions is None:  # Python 3.10: the line is all there is
        return None
    for index, (start, end, column, end_column) in enumerate(positions()):
        if index == lasti // 2:
            if None in (start, end, column, end_column):
                return None
            return start, column, end, end_column
    return None


def evaluate_chain(node: ast.expr, frame: FrameType) -> Any:
    """The object a name or attribute chain (``self.store.save``) refers to in ``frame``, found without
    running any code: no properties, no ``__getattr__``, and no new mock children. None if unknown."""
    value = _lookup(node, frame)
    return None if value is _MISSING else value


def _lookup(node: ast.expr, frame: FrameType) -> Any:
    if isinstance(node, ast.Name):
        for scope in (frame.f_locals, frame.f_globals, vars(builtins)):
            if node.id in scope:
                return scope[node.id]
        return _MISSING
    if not isinstance(node, ast.Attribute):
        return _MISSING
    base = _lookup(node.value, frame)
    if base is _MISSING:
        return _MISSING
    if _naming.is_mock(base):
        assigned = vars(base).get(node.attr, _MISSING)
        if assigned is not _MISSING:
            return assigned
        child = _naming.configured_child(base, node.attr)
        return _MISSING if child is None else child
    value = inspect.getattr_static(base, node.attr, _MISSING)
    if isinstance(value, (property, staticmethod, classmethod)) or hasattr(type(value), "__get__"):
        return _MISSING if not callable(value) else value
    return value


def _first_line(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """The line a function's code starts at (``co_firstlineno``): its first decorator's, else its ``def``."""
    return min((decorator.lineno for decorator in node.decorator_list), default=node.lineno)


def patch_call(path: str, line: int, attribute: str, *, decorated: bool) -> tuple[int, str, str | None] | None:
    """The ``patch(...)``/``patch.object(...)`` call that patched ``attribute``: in the statement at
    ``line``, or, when ``decorated``, among the decorators of the test whose first line is ``line`` and of
    its class.
    Returns its line, its text (a decorator's with its ``@``) and the patched name as written
    (``send_email``, ``AsyncSession.add``).
    """
    tree = module_of(path)
    if tree is None:
        return None
    roots: list[ast.AST] = []
    if decorated:
        for node in ast.walk(tree):
            # the test's own decorators, and its class's (a class decorator patches each of its tests)
            tests = node.body if isinstance(node, ast.ClassDef) else [node]
            if any(
                isinstance(test, (ast.FunctionDef, ast.AsyncFunctionDef)) and _first_line(test) == line
                for test in tests
            ):
                roots.extend(getattr(node, "decorator_list", []))
    else:
        statement = _statements(tree, line)
        if statement is not None:
            roots.append(statement)
    for root in roots:
        for node in ast.walk(root):
            if not isinstance(node, ast.Call) or callee_name(node) not in ("patch", "object", "multiple"):
                continue
            written = patched_name(path, node)
            if callee_name(node) == "multiple":  # patch.multiple(target, run=DEFAULT): one keyword each
                written = attribute if any(keyword.arg == attribute for keyword in node.keywords) else None
            if written is not None and (written == attribute or written.endswith(f".{attribute}")):
                text = text_of(path, node)
                return node.lineno, f"@{text}" if node is root and decorated else text, written
    return None
