"""Where a mock was bound: the name the user wrote for it, the line that wrote it, and how.

Real suites rarely build their mocks in the test body. They come from ``@patch`` decorators (injected as
parameters, bottom decorator first), ``with patch(...) as m``, ``mocker.patch(...)``, fixtures in a
``conftest.py``, helper functions in other modules, ``self.`` attributes set in ``setUp``, containers
(``mocks["redis"]``) and functions nested in the test (a ``side_effect`` that builds ``instance =
MagicMock()``). Nothing of that survives in the mock itself (``unittest.mock`` keeps each child's
parent and attribute name, not the variable or the line), so the binding is read from the source of
the scope that named the mock: statically, with ``ast``, and only when a finding is made.

``bind`` answers for one mock: the innermost of its ancestors that the scope names, followed to the
statement that built it (through fixtures and helpers, which are the places to edit), or, for a mock
the scope never named, the patch that made it, a container that holds it, or the nested function
that built it.
"""

from __future__ import annotations

import ast
import functools
import inspect
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import CodeType, FrameType, FunctionType
from typing import Any, NamedTuple

from asyncmock_guard import _naming, _source
from asyncmock_guard._construction import PatchSite
from asyncmock_guard._findings import Location

_MOCK_CLASSES = frozenset({"AsyncMock", "MagicMock", "Mock", "NonCallableMock", "NonCallableMagicMock", "PropertyMock"})
_AUTOSPEC = frozenset({"create_autospec"})
SETUP_NAMES = ("setUp", "asyncSetUp", "setup_method", "setup", "setUpClass", "setup_class")
_MAX_FOLLOW = 4  # fixtures and helpers followed, at most: a helper of a helper of a fixture...

# How a mock was bound, as the report says it.
ASSIGNMENT = "assignment"
WITH_PATCH = "with patch"
PATCH_DECORATOR = "patch decorator"
MOCKER_PATCH = "mocker.patch"
PATCH_START = "patcher.start()"
HELPER = "helper"
FIXTURE = "fixture"
NESTED_FUNCTION = "nested function"
SETUP = "setUp"
CONTAINER = "container"
INLINE = "inline construction"  # ``service.save(AsyncMock(), 1)``: built where it is passed, never named
UNNAMED = "unnamed"


class Hop(NamedTuple):
    """One step from the test to where its mock was built: a fixture it requests or a helper it calls."""

    kind: str  # FIXTURE or HELPER
    name: str  # the fixture's argname, or the helper's name
    function: object  # the fixture's or helper's function

    def __str__(self) -> str:
        return f"the {self.kind} `{self.name}`"


@dataclass(frozen=True)
class Binding:
    """The statement that bound a mock, and the name it was given there.

    ``name`` is the expression as written at ``where`` (``resolver``, ``mock_run``, ``self.session``,
    ``mocks["redis"]``), or what built it when nothing named it (``AsyncMock()``). ``via`` says how the
    test reaches that place (``the fixture `db```, ``the helper `make_resolver```), outermost first.
    ``statement`` and ``path`` locate the node for edits; ``insert_at`` is the statement before which a
    line that configures the mock further goes (None: after ``statement``).
    """

    name: str
    how: str
    where: Location | None
    statement: ast.stmt | None = field(default=None, compare=False, repr=False)
    via: tuple[Hop, ...] = ()
    insert_before: ast.stmt | None = field(default=None, compare=False, repr=False)
    value: ast.expr | None = field(default=None, compare=False, repr=False)  # the expression that built it
    function: ast.FunctionDef | ast.AsyncFunctionDef | None = field(default=None, compare=False, repr=False)
    globals: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)

    @property
    def shared(self) -> bool:
        """Built outside the test (a helper or fixture): other tests may share the same line."""
        return bool(self.via)

    def place(self, rootdir: str | None) -> str:
        return self.where.short(rootdir) if self.where is not None else "an unknown line"


@dataclass
class Scope:
    """What the owning test names, and where to read how: its function, fixtures, module and ``self``.

    ``names`` maps ``id(obj)`` to the name; ``origins`` says where each name came from: ``local`` (the
    test function's variables and parameters), ``fixture`` (``item.funcargs``), ``self``, ``class`` (a mock,
    or a dict or list of them, that the test class holds: ``db = AsyncMock()`` in its body), or ``global``
    (the same, held by the test's module: ``db = AsyncMock()`` above the tests).
    """

    names: dict[int, str] = field(default_factory=dict)
    origins: dict[int, str] = field(default_factory=dict)
    values: dict[str, object] = field(default_factory=dict)  # name -> object, for containers
    function: object | None = None  # the test function (``item.obj``), decorators and all
    code: CodeType | None = None  # the code object of the test function's own body
    fixtures: Callable[[str], object | None] | None = None  # argname -> the fixture's function
    owner_class: type | None = None  # the test class, for ``self.`` attributes
    patches: Mapping[int, PatchSite] = field(default_factory=dict)  # id(mock) -> how a patch made it
    item: object | None = None  # the pytest item, for what the session knows of the other tests


def scope_of(
    frames: Sequence[FrameType],
    funcargs: Mapping[str, object] | None,
    item: object = None,
    patches: Mapping[int, PatchSite] | None = None,
) -> Scope:
    """The scope of a running test: its frame's locals, its fixtures, ``self``'s attributes, and where to
    read how each was bound (the item's function, fixture definitions and class)."""
    return scope_of_locals([frame_locals(frame) for frame in frames], funcargs, item, patches)


FrameLocals = tuple[CodeType, list[tuple[str, object]]]  # a frame's code, and its locals as they were


def frame_locals(frame: FrameType) -> FrameLocals:
    return frame.f_code, list(frame.f_locals.items())


def scope_of_locals(
    frames: Sequence[FrameLocals],
    funcargs: Mapping[str, object] | None,
    item: object = None,
    patches: Mapping[int, PatchSite] | None = None,
) -> Scope:
    """``scope_of``, from the frames' locals as read earlier (see ``frame_locals``)."""
    scope = Scope(patches=patches if patches is not None else {})
    owners: list[object] = []
    for _, local_items in frames:
        for name, value in local_items:
            _add(scope, name, value, "local")
            if name == "self":
                owners.append(value)
    for name, value in list((funcargs or {}).items()):
        _add(scope, name, value, "fixture")
    for owner in owners:
        try:
            attributes = list(vars(owner).items())
        except TypeError:
            continue
        for attribute, value in attributes:
            if not attribute.startswith("__"):
                _add(scope, f"self.{attribute}", value, "self")
        for klass in type(owner).__mro__:
            if klass.__module__ not in ("builtins", "unittest.case"):
                for attribute, value in _mocks_in(vars(klass)):
                    _add(scope, f"self.{attribute}", value, "class")
    scope.item = item
    scope.function = getattr(item, "obj", None)
    for name, value in _module_values(scope.function):
        _add(scope, name, value, "global")
    scope.owner_class = getattr(item, "cls", None)
    scope.code = frames[0][0] if frames else _innermost_code(scope.function)
    info = getattr(item, "_fixtureinfo", None)
    definitions = getattr(info, "name2fixturedefs", None)
    if isinstance(definitions, Mapping):
        scope.fixtures = functools.partial(_fixture_function, definitions)
    return scope


def _add(scope: Scope, name: str, value: object, origin: str) -> None:
    if name.startswith("@") or id(value) in scope.names:
        return
    scope.names[id(value)] = name
    scope.origins[id(value)] = origin
    scope.values.setdefault(name, value)
    inner = getattr(value, "mock", None) if isinstance(value, FunctionType) else None
    if _naming.is_mock(inner):  # create_autospec(func) returns a function with .mock
        scope.names.setdefault(id(inner), name)
        scope.origins.setdefault(id(inner), origin)


def _module_values(function: object) -> list[tuple[str, object]]:
    """The mocks, and the dicts, lists and tuples of mocks, that the test function's module holds."""
    namespace = _namespace_of(function)
    return _mocks_in(namespace) if namespace is not None else []


def _mocks_in(namespace: Mapping[str, object]) -> list[tuple[str, object]]:
    """The mocks, and the dicts, lists and tuples of mocks, of a module's or class's namespace."""
    found = []
    for name, value in list(namespace.items()):
        if name.startswith("__"):
            continue
        if _naming.is_mock(value):
            found.append((name, value))
        elif isinstance(value, (dict, list, tuple)) and len(value) <= 100:
            items = value.values() if isinstance(value, dict) else value
            if any(_naming.is_mock(item) for item in items):
                found.append((name, value))
    return found


def _namespace_of(function: object) -> Mapping[str, Any] | None:
    """The globals of a test function, through its decorators (``@patch``, hypothesis's ``@given``...)."""
    try:
        unwrapped = inspect.unwrap(function) if callable(function) else None
    except ValueError:
        return None
    namespace = getattr(getattr(unwrapped, "__func__", unwrapped), "__globals__", None)
    return namespace if isinstance(namespace, Mapping) else None


def _innermost_code(function: object) -> CodeType | None:
    function = getattr(function, "__func__", function)
    try:
        function = inspect.unwrap(function) if callable(function) else function
    except ValueError:
        return None
    code = getattr(getattr(function, "__func__", function), "__code__", None)
    return code if isinstance(code, CodeType) else None


def _fixture_function(definitions: Mapping[str, Sequence[object]], name: str) -> object | None:
    defs = definitions.get(name)
    return getattr(defs[-1], "func", None) if defs else None


# --- reading source ------------------------------------------------------------------------------------
def function_node(code: CodeType) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    """The ``def`` of ``code`` in its file (matched by name and first line, decorators included)."""
    tree = _source.module_of(code.co_filename)
    if tree is None:
        return None
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == code.co_name:
            first = min([node.lineno, *(decorator.lineno for decorator in node.decorator_list)])
            if code.co_firstlineno in {first, node.lineno}:
                return node
    return None


def _own_statements(body: Sequence[ast.stmt]) -> Iterator[ast.stmt]:
    """The statements of a function body, compound ones' bodies included, nested defs and classes not."""
    for statement in body:
        yield statement
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        for name in ("body", "orelse", "finalbody", "handlers"):
            inner = getattr(statement, name, None)
            if isinstance(inner, list):
                yield from _own_statements([node for node in inner if isinstance(node, ast.stmt)])
            if name == "handlers" and isinstance(inner, list):
                for handler in inner:
                    yield from _own_statements(handler.body)
        if isinstance(statement, ast.Match):
            for case in statement.cases:
                yield from _own_statements(case.body)


def _target_text(path: str, target: ast.expr) -> str:
    return _source.text_of(path, target)


def _bindings_of(path: str, body: Sequence[ast.stmt], name: str) -> Iterator[tuple[ast.stmt, ast.expr | None, str]]:
    """Statements of ``body`` that bind ``name`` (a variable, or a dotted/subscripted target as written):
    with the expression bound and how."""
    for statement in _own_statements(body):
        if isinstance(statement, ast.Assign):
            for target in statement.targets:
                if _target_text(path, target) == name:
                    yield statement, statement.value, ASSIGNMENT
        elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
            if _target_text(path, statement.target) == name:
                yield statement, statement.value, ASSIGNMENT
        elif isinstance(statement, (ast.With, ast.AsyncWith)):
            for item in statement.items:
                if item.optional_vars is not None and _target_text(path, item.optional_vars) == name:
                    yield statement, item.context_expr, WITH_PATCH


def _returned(body: Sequence[ast.stmt]) -> tuple[ast.stmt, ast.expr] | None:
    """The last ``return X``/``yield X`` of a function body (a fixture yields its value)."""
    found: tuple[ast.stmt, ast.expr] | None = None
    for statement in _own_statements(body):
        if isinstance(statement, ast.Return) and statement.value is not None:
            found = (statement, statement.value)
        elif (
            isinstance(statement, ast.Expr)
            and isinstance(statement.value, (ast.Yield, ast.YieldFrom))
            and statement.value.value is not None
        ):
            found = (statement, statement.value.value)
    return found


def _call_name(call: ast.Call) -> str:
    """``mocker.patch.object`` for ``mocker.patch.object(...)``: the callee as a dotted name."""
    parts: list[str] = []
    node: ast.expr = call.func
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return ".".join(reversed(parts))


def builds_mock(value: ast.expr | None) -> bool:
    """``AsyncMock(...)``, ``mock.MagicMock(...)``, ``create_autospec(...)``."""
    if not isinstance(value, ast.Call):
        return False
    last = _call_name(value).rpartition(".")[2]
    return last in _MOCK_CLASSES or last in _AUTOSPEC


def is_patch_call(value: ast.expr | None) -> bool:
    if not isinstance(value, ast.Call):
        return False
    dotted = _call_name(value)
    parts = dotted.split(".")
    return "patch" in parts and parts[-1] in ("patch", "object", "multiple", "dict")


def _how_for(value: ast.expr | None, how: str) -> str:
    if is_patch_call(value):
        assert isinstance(value, ast.Call)
        dotted = _call_name(value)
        if dotted.startswith("mocker.") or ".mocker." in dotted:
            return MOCKER_PATCH
        return WITH_PATCH if how == WITH_PATCH else ASSIGNMENT
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and value.func.attr == "start":
        return PATCH_START
    return how


def _resolve_function(expression: ast.expr, namespace: Mapping[str, Any] | None) -> FunctionType | None:
    """The Python function a call's callee names in ``namespace`` (``make_resolver``, ``fakes.make_resolver``)."""
    if namespace is None:
        return None
    if isinstance(expression, ast.Name):
        value = namespace.get(expression.id)
    elif isinstance(expression, ast.Attribute) and isinstance(expression.value, ast.Name):
        value = getattr(namespace.get(expression.value.id), expression.attr, None)
    else:
        return None
    value = inspect.unwrap(value) if callable(value) else value
    return value if isinstance(value, FunctionType) else None


# --- following a name to the statement that built it ---------------------------------------------------
@dataclass
class _Place:
    """A function whose source is read: its file, ``def`` and globals."""

    path: str
    node: ast.FunctionDef | ast.AsyncFunctionDef
    globals: Mapping[str, Any] | None


def _place_of(function: object) -> _Place | None:
    function = inspect.unwrap(function) if callable(function) else function
    function = getattr(function, "__func__", function)
    code = getattr(function, "__code__", None)
    if not isinstance(code, CodeType):
        return None
    node = function_node(code)
    if node is None:
        return None
    return _Place(code.co_filename, node, getattr(function, "__globals__", None))


def _location(place: _Place, statement: ast.stmt) -> Location:
    return Location(place.path, statement.lineno, place.node.name)


def _follow(place: _Place, name: str, via: tuple[Hop, ...], depth: int, before: int | None = None) -> Binding | None:
    """The binding of ``name`` in ``place``'s function: the statement that assigned it, followed into a
    helper when the value is a helper's return value."""
    candidates = list(_bindings_of(place.path, place.node.body, name))
    if before is not None:
        earlier = [found for found in candidates if found[0].lineno <= before]
        candidates = earlier or candidates
    if not candidates:
        return None
    statement, value, how = candidates[-1]
    followed = _into_helper(place, value, via, depth, name)
    if followed is not None:
        return followed
    return _binding(place, name, _how_for(value, how), statement, value, via)


def _binding(  # noqa: PLR0917 - the fields of the Binding it makes, in their order
    place: _Place, name: str, how: str, statement: ast.stmt, value: ast.expr | None, via: tuple[Hop, ...]
) -> Binding:
    insert_before = None
    if isinstance(statement, (ast.With, ast.AsyncWith)) and statement.body:
        insert_before = statement.body[0]
    return Binding(
        name,
        how,
        _location(place, statement),
        statement,
        via,
        insert_before,
        value,
        place.node,
        place.globals,
    )


def _into_helper(
    place: _Place, value: ast.expr | None, via: tuple[Hop, ...], depth: int, outer_name: str | None = None
) -> Binding | None:
    """When ``value`` is a call of a helper function (not a mock class, not a patch): the helper's own
    binding of what it returns (named ``outer_name``, the caller's name for it, when the helper gives none)."""
    if not isinstance(value, ast.Call) or builds_mock(value) or is_patch_call(value) or depth >= _MAX_FOLLOW:
        return None
    function = _resolve_function(value.func, place.globals)
    if function is None:
        return None
    helper = _place_of(function)
    if helper is None:
        return None
    return _returned_binding(helper, (*via, Hop(HELPER, helper.node.name, function)), depth + 1, HELPER, outer_name)


def _returned_binding(
    place: _Place, via: tuple[Hop, ...], depth: int, how: str, outer_name: str | None = None
) -> Binding | None:
    """What a helper or fixture returns (or yields): the name it returns, followed; else the expression
    that built it, in that statement, named as the caller named it (``outer_name``) or as what built it."""
    returned = _returned(place.node.body)
    if returned is None:
        return None
    statement, value = returned
    if isinstance(value, (ast.Name, ast.Attribute, ast.Subscript)):
        name = _source.text_of(place.path, value)
        followed = _follow(place, name, via, depth, before=statement.lineno)
        if followed is not None:
            return followed
    followed = _into_helper(place, value, via, depth, outer_name)
    if followed is not None:
        return followed
    built = _source.text_of(place.path, value.func) + "()" if isinstance(value, ast.Call) else "the value"
    name = outer_name or built
    return Binding(name, how, _location(place, statement), statement, via, None, value, place.node, place.globals)


# --- the scope's own kinds of names --------------------------------------------------------------------
def _parameter_binding(scope: Scope, place: _Place, name: str) -> Binding | None:
    """A parameter of the test: a mock a ``@patch`` decorator injected (the decorator is the binding),
    or a fixture (followed into its function)."""
    arguments = place.node.args
    positional = [argument.arg for argument in (*arguments.posonlyargs, *arguments.args)]
    if name not in positional and name not in [a.arg for a in arguments.kwonlyargs]:
        return None
    decorator = _injecting_decorator(scope, place, positional, name)
    if decorator is not None:
        statement = place.node.body[0]
        return Binding(
            name,
            PATCH_DECORATOR,
            Location(place.path, decorator.lineno, place.node.name),
            statement,
            (),
            statement,
            decorator,
            place.node,
            place.globals,
        )
    return _fixture_binding(scope, name, (), 0)


def _patch_decorators(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> list[ast.Call]:
    """The node's ``@patch...`` decorators, bottom first (the order unittest.mock enters them)."""
    return [d for d in reversed(node.decorator_list) if isinstance(d, ast.Call) and is_patch_call(d)]


def _class_node(cls: type) -> ast.ClassDef | None:
    try:
        path = inspect.getsourcefile(cls)
    except TypeError:
        return None
    tree = _source.module_of(path) if path else None
    if tree is None:
        return None
    matches = [node for node in ast.walk(tree) if isinstance(node, ast.ClassDef) and node.name == cls.__name__]
    first_line = getattr(cls, "__firstlineno__", None)
    for node in matches:
        if first_line is None or first_line in (node.lineno, *(d.lineno for d in node.decorator_list)):
            return node
    return matches[0] if len(matches) == 1 else None


def _injecting_decorator(scope: Scope, place: _Place, positional: list[str], name: str) -> ast.Call | None:
    """The ``@patch`` decorator whose mock fills parameter ``name``: unittest.mock passes the mocks of
    the decorators that give no ``new`` positionally, bottom decorator first, after what the caller passed
    (``self`` for a method); ``patch.multiple`` passes its mocks by keyword. Class decorators come last."""
    patchings = _patchings(scope.function)
    decorators = _patch_decorators(place.node)
    if scope.owner_class is not None:
        class_node = _class_node(scope.owner_class)
        if class_node is not None:
            decorators += _patch_decorators(class_node)
    if not patchings or len(patchings) != len(decorators):
        return None
    injected = [
        decorator
        for patching, decorator in zip(patchings, decorators, strict=True)
        if getattr(patching, "attribute_name", None) is None and _naming.is_default(getattr(patching, "new", None))
    ]
    for patching, decorator in zip(patchings, decorators, strict=True):
        if getattr(patching, "attribute_name", None) is not None and any(
            keyword.arg == name for keyword in decorator.keywords
        ):
            return decorator
    start = 1 if positional[:1] in (["self"], ["cls"]) else 0
    parameters = positional[start:]
    if name not in parameters:
        return None
    index = parameters.index(name)
    return injected[index] if index < len(injected) else None


def _patchings(function: object) -> list[Any]:
    """The patches ``@patch`` decorators keep on the function they wrap (``patched.patchings``), looked for
    along the ``__wrapped__`` chain (other decorators may wrap it in turn)."""
    for _ in range(16):
        function = getattr(function, "__func__", function)
        patchings = getattr(function, "patchings", None)
        if isinstance(patchings, list):
            return list(patchings)
        function = getattr(function, "__wrapped__", None)
        if function is None:
            break
    return []


def _fixture_binding(scope: Scope, name: str, via: tuple[Hop, ...], depth: int) -> Binding | None:
    function = scope.fixtures(name) if scope.fixtures is not None else None
    if function is None:
        return None
    place = _place_of(function)
    if place is None:
        return None
    return _returned_binding(place, (*via, Hop(FIXTURE, name, function)), depth, FIXTURE, name)


def _self_binding(scope: Scope, attribute: str) -> Binding | None:
    """``self.session = AsyncMock()`` in ``setUp`` (or ``setup_method``, or any method of the class)."""
    cls = scope.owner_class
    if cls is None:
        return None
    name = f"self.{attribute}"
    methods: list[tuple[int, object]] = []
    for klass in cls.__mro__:
        for method_name, member in vars(klass).items():
            function = getattr(member, "__func__", member)
            if isinstance(function, FunctionType):
                rank = SETUP_NAMES.index(method_name) if method_name in SETUP_NAMES else len(SETUP_NAMES)
                methods.append((rank, function))
    for _, function in sorted(methods, key=lambda item: item[0]):
        place = _place_of(function)
        if place is None:
            continue
        found = _follow(place, name, (), 0)
        if found is not None:
            how = SETUP if found.how == ASSIGNMENT and not found.via else found.how
            return Binding(
                found.name,
                how,
                found.where,
                found.statement,
                found.via,
                found.insert_before,
                found.value,
                found.function,
                found.globals,
            )
    return None


def _test_place(scope: Scope) -> _Place | None:
    if scope.code is None:
        return None
    node = function_node(scope.code)
    if node is None:
        return None
    return _Place(scope.code.co_filename, node, _namespace_of(scope.function))


def _named_binding(scope: Scope, member: object, name: str) -> Binding | None:
    origin = scope.origins.get(id(member), "local")
    if origin == "self" and name.startswith("self."):
        return _self_binding(scope, name.removeprefix("self."))
    if origin == "fixture":
        return _fixture_binding(scope, name, (), 0)
    if origin == "class":
        return _class_binding(scope, name.removeprefix("self."))
    place = _test_place(scope)
    if place is None:
        return None
    if origin == "global":
        return _module_binding(place, name)
    return _follow(place, name, (), 0) or _parameter_binding(scope, place, name)


def _class_binding(scope: Scope, attribute: str) -> Binding | None:
    """The statement of the test class's body (or a base's) that bound ``attribute``: ``db = AsyncMock()``."""
    owner = scope.owner_class
    klass = next((k for k in getattr(owner, "__mro__", ()) if attribute in vars(k)), None)
    node = _class_node(klass) if klass is not None else None
    if klass is None or node is None:
        return None
    path = inspect.getsourcefile(klass)
    if not path:
        return None
    namespace = getattr(sys.modules.get(klass.__module__), "__dict__", None)
    return _last_binding(path, node.body, attribute, klass.__name__, namespace)


def _module_binding(place: _Place, name: str) -> Binding | None:
    """The top-level statement of the test's module that bound ``name`` (the last one, as Python runs them)."""
    tree = _source.module_of(place.path)
    if tree is None:
        return None
    return _last_binding(place.path, tree.body, name, "<module>", place.globals)


def _last_binding(
    path: str, body: Sequence[ast.stmt], name: str, scope_name: str, namespace: Mapping[str, Any] | None
) -> Binding | None:
    """The last statement of a module's or class's own body that bound ``name`` (as Python runs them)."""
    candidates = list(_bindings_of(path, body, name))
    if not candidates:
        return None
    statement, value, how = candidates[-1]
    where = Location(path, statement.lineno, scope_name)
    return Binding(name, _how_for(value, how), where, statement, (), None, value, None, namespace)


def _container_name(scope: Scope, root: object) -> str | None:
    """``mocks["redis"]`` for a mock kept in a dict or list the scope names (one level deep)."""
    for name, value in scope.values.items():
        if isinstance(value, dict):
            for key, item in value.items():
                if item is root and isinstance(key, (str, int)):
                    return f"{name}[{key!r}]"
        elif isinstance(value, (list, tuple)):
            for index, item in enumerate(value):
                if item is root:
                    return f"{name}[{index}]"
    return None


def _inner_places(place: _Place) -> Iterator[tuple[_Place, tuple[Hop, ...], str]]:
    """The functions nested in the test, and the helpers it calls (each once), with how the test reaches them."""
    seen: set[tuple[str, int]] = set()
    for node in ast.walk(place.node):
        if node is not place.node and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield _Place(place.path, node, place.globals), (), NESTED_FUNCTION
        elif isinstance(node, ast.Call) and not builds_mock(node) and not is_patch_call(node):
            function = _resolve_function(node.func, place.globals)
            helper = _place_of(function) if function is not None else None
            if helper is None or helper.node is place.node or (helper.path, helper.node.lineno) in seen:
                continue
            seen.add((helper.path, helper.node.lineno))
            yield helper, (Hop(HELPER, helper.node.name, function),), HELPER


def _nested_binding(scope: Scope, segments: tuple[str, ...], root_class: str) -> Binding | None:
    """A mock built in a function nested in the test (a ``side_effect`` that returns ``instance``) or in a
    helper the test calls and that never hands it back (``client = MagicMock()`` and ``client.fetch =
    AsyncMock()`` before running the code): that function's statement that configures ``<local>.<first
    segment>``, when exactly one does."""
    place = _test_place(scope)
    if place is None or not segments:
        return None
    found: list[Binding] = []
    for inner, via, how in _inner_places(place):
        for statement in _own_statements(inner.node.body):
            if not isinstance(statement, ast.Assign) or len(statement.targets) != 1:
                continue
            target = statement.targets[0]
            if not (isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name)):
                continue
            if target.attr != segments[0]:
                continue
            local = target.value.id
            built = [value for _, value, _ in _bindings_of(inner.path, inner.node.body, local)]
            if built and builds_mock(built[0]) and _call_name(built[0]).endswith(root_class):  # type: ignore[arg-type]
                name = _source.text_of(inner.path, target)
                found.append(_binding(inner, name, how, statement, statement.value, via))
    return found[0] if len(found) == 1 else None


def _inline_helper_binding(scope: Scope, root_class: str) -> Binding | None:
    """A mock the test never named because it passed a helper's return value on at once
    (``service.resolve(fakes.make_resolver(), name)``): the helper's binding, when exactly one helper
    called in the test returns a mock of the root's class."""
    place = _test_place(scope)
    if place is None:
        return None
    found: dict[tuple[object, ...], Binding] = {}
    for node in ast.walk(place.node):
        if not isinstance(node, ast.Call):
            continue
        binding = _into_helper(place, node, (), 0)
        if binding is None or binding.where is None or not builds_mock(binding.value):
            continue
        if _call_name(binding.value).endswith(root_class):  # type: ignore[arg-type]
            found[(binding.where, binding.name)] = binding
    return next(iter(found.values())) if len(found) == 1 else None


def _inline_construction(scope: Scope, root_class: str) -> Binding | None:
    """A mock built where it is used and never named (``await service.save(AsyncMock(), 1)``): the one
    construction of the root's class in the test, outside any assignment, when there is exactly one."""
    place = _test_place(scope)
    if place is None:
        return None
    assigned = {
        id(node.value)
        for node in ast.walk(place.node)
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.NamedExpr)) and node.value is not None
    }
    assigned |= {
        id(item.context_expr)
        for node in ast.walk(place.node)
        if isinstance(node, (ast.With, ast.AsyncWith))
        for item in node.items
    }
    found = [
        node
        for node in ast.walk(place.node)
        if isinstance(node, ast.Call)
        and builds_mock(node)
        and id(node) not in assigned
        and _call_name(node).rpartition(".")[2] == root_class
    ]
    if len(found) != 1:
        return None
    call = found[0]
    tree = _source.module_of(place.path)
    statement = _source.statement_at(tree, call.lineno) if tree is not None else None
    where = Location(place.path, call.lineno, place.node.name)
    return Binding(f"{root_class}()", INLINE, where, statement, (), None, call, place.node, place.globals)


def _patch_binding(scope: Scope, root: object) -> Binding | None:
    site = scope.patches.get(id(root))
    if site is None:
        return None
    located = _source.patch_call(site.where.path, site.where.line, site.attribute, decorated=site.decorated)
    name = site.attribute
    if located is None:
        return Binding(name, PATCH_DECORATOR if site.decorated else WITH_PATCH, site.where)
    line, _, written = located
    name = written or name  # ``Store.save`` for ``patch.object(Store, "save")``: how the test reaches it
    where = Location(site.where.path, line, site.where.function)
    tree = _source.module_of(site.where.path)
    statement = _source.statement_at(tree, line) if tree is not None else None
    how = PATCH_DECORATOR if site.decorated else WITH_PATCH
    insert_before = None
    function = None
    if isinstance(statement, (ast.With, ast.AsyncWith)) and statement.body:
        insert_before = statement.body[0]
        target = _with_target(site.where.path, statement, line)
        if target is not None:  # patch.multiple's ``as`` name is a dict of its mocks
            multiple = located[1].removeprefix("@").partition("(")[0].endswith(".multiple")
            name = f"{target}[{site.attribute!r}]" if multiple else target
    place = _test_place(scope)
    if site.decorated and place is not None:
        name = _decorator_parameter(scope, place, line) or name
        statement = insert_before = place.node.body[0]
        function = place.node
    elif place is not None and statement is not None and place.path == site.where.path:
        function = place.node
    return Binding(name, how, where, statement, (), insert_before, None, function)


def _with_target(path: str, statement: ast.With | ast.AsyncWith, line: int) -> str | None:
    """``run`` in ``with patch(...) as run:``: the name of the item whose patch call starts at ``line``."""
    for item in statement.items:
        if item.context_expr.lineno == line and isinstance(item.optional_vars, ast.Name):
            return item.optional_vars.id
    return None


def _decorator_parameter(scope: Scope, place: _Place, line: int) -> str | None:
    """The parameter a ``@patch`` decorator at ``line`` fills (the reverse of ``_injecting_decorator``)."""
    arguments = place.node.args
    positional = [argument.arg for argument in (*arguments.posonlyargs, *arguments.args)]
    for name in positional:
        decorator = _injecting_decorator(scope, place, positional, name)
        if decorator is not None and decorator.lineno == line:
            return name
    return None


def member_assignment(binding: Binding, segments: tuple[str, ...]) -> tuple[ast.stmt, ast.expr] | None:
    """``name.seg1.seg2 = <value>`` in the function that bound ``name``: where the test configured a member
    of the mock it bound (``asset_result.scalars = AsyncMock(...)``); the last one, if several."""
    if binding.function is None or binding.where is None or not segments:
        return None
    target = ".".join((binding.name, *segments))
    found = None
    for statement, value, how in _bindings_of(binding.where.path, binding.function.body, target):
        if how == ASSIGNMENT and value is not None:
            found = (statement, value)
    return found


@dataclass(frozen=True)
class Bound:
    """A mock's binding and its path below the bound ancestor: the subject is ``name.segments``."""

    binding: Binding | None
    anchor: object | None
    segments: tuple[str, ...]

    @property
    def subject(self) -> str:
        head = self.binding.name if self.binding is not None else "mock"
        return ".".join((head, *self.segments))


def _segments_below(chain: list[object], index: int) -> tuple[str, ...]:
    segments = []
    for member in reversed(chain[:index]):
        segment = _naming.segment_of(member)
        if segment is not None:
            segments.append(segment)
    return tuple(segments)


def bind(mock: object, scope: Scope) -> Bound:
    """The binding of ``mock``: its innermost named ancestor's, else what made its root."""
    chain = _naming.ancestry(mock)
    for index, member in enumerate(chain):
        name = scope.names.get(id(member))
        if name is None:
            continue
        binding = _named_binding(scope, member, name)
        if binding is None:
            origin = scope.origins.get(id(member))
            if origin in ("global", "class"):
                continue  # the module or class holds it, but bound it elsewhere (imported, patched): found below
            binding = Binding(name, ASSIGNMENT if origin != "fixture" else FIXTURE, None)
        return Bound(binding, member, _segments_below(chain, index))
    root_index = len(chain) - 1
    root = chain[root_index]
    segments = _segments_below(chain, root_index)
    patched = _patch_binding(scope, root)
    if patched is not None:
        return Bound(patched, root, segments)
    held = _container_name(scope, root)
    if held is not None:
        container = held.partition("[")[0]
        place = _test_place(scope)
        binding = None
        if place is not None and scope.origins.get(id(scope.values.get(container))) == "global":
            binding = _module_binding(place, container)
        elif place is not None:
            binding = _follow(place, container, (), 0)
        where = binding.where if binding is not None else None
        statement = binding.statement if binding is not None else None
        return Bound(Binding(held, CONTAINER, where, statement), root, segments)
    nested = _nested_binding(scope, segments, type(root).__name__)
    if nested is not None:  # bound at its first segment (``instance.run = AsyncMock()``)
        return Bound(nested, chain[root_index - 1], segments[1:])
    inline = _inline_helper_binding(scope, type(root).__name__)
    if inline is not None:
        return Bound(inline, root, segments)
    root_name = _naming.segment_of(root)
    if root_name is None:
        built = _inline_construction(scope, type(root).__name__)
        if built is not None:
            return Bound(built, root, segments)
    if root_name is not None and root_name != "return_value":
        return Bound(Binding(root_name, UNNAMED, None), root, segments)
    return Bound(Binding(f"{type(root).__name__}()", UNNAMED, None), root, segments)


def handed_over(bound: Bound) -> Location | None:
    """The first line after its binding where the test function passes the mock to a call as an argument
    (``register(loop, on_done)``): where a mock that a library later called was handed to the code."""
    binding = bound.binding
    if binding is None or binding.where is None or binding.function is None or binding.statement is None:
        return None
    subject = bound.subject
    after = binding.statement.end_lineno or binding.statement.lineno
    lines = sorted(
        node.lineno
        for node in ast.walk(binding.function)
        if isinstance(node, ast.Call)
        and node.lineno > after
        and any(ast.unparse(argument) == subject for argument in [*node.args, *(k.value for k in node.keywords)])
    )
    return Location(binding.where.path, lines[0], binding.where.function) if lines else None
