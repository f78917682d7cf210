"""The step between what happened and what to tell: one diagnosis per finding, computed once.

A diagnosis knows which mock (its binding: the name the user wrote, where and how), what the real callee is
when anything says so (the spec, autospec, the patch target itself, the known-sync table), and so where the
bug is: in the test (the mock is built wrong) or in the code under test (it calls a coroutine function
without awaiting it). Each kind's remedy (``asyncmock_guard.remedies``) reads only the diagnosis.

Only made when a finding is made, never on the hot path.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from dataclasses import dataclass, field

from asyncmock_guard import _binding, _evidence, _frames, _naming
from asyncmock_guard._binding import Bound, Scope
from asyncmock_guard._evidence import SyncEvidence
from asyncmock_guard._findings import Location

TEST = "test"
CODE = "code"


@dataclass(frozen=True)
class Callee:
    """What the real member a mock stands for is, when something says: ``is_async`` True or False, and
    the source of that knowledge as the report says it (``the spec `Store```, ``the patch target``)."""

    is_async: bool | None
    source: str = ""


UNKNOWN = Callee(None)


@dataclass
class MockDiagnosis:
    """A finding about one mock (its call's coroutine dropped or misused, or its construction)."""

    mock: object
    scope: Scope
    bound: Bound
    callee: Callee
    evidence: SyncEvidence | None
    bug_in: str
    change_at: Location
    where: Location  # the offending line
    call_site: Location | None = None  # where the mock was called
    caller_is_async: bool = False
    explicit_at: Location | None = None  # where the test assigned this member an AsyncMock itself
    rootdir: str | None = None
    likelier_only: bool = False  # nothing decides between test and code: bug_in is the likelier
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def subject(self) -> str:
        return self.bound.subject

    @property
    def names(self) -> Mapping[int, str]:
        return self.scope.names

    @property
    def binding(self) -> _binding.Binding | None:
        return self.bound.binding

    @property
    def attribute(self) -> str:
        return _naming.segment_of(self.mock) or self.subject.rpartition(".")[2]


def callee_of(mock: object, scope: Scope) -> Callee:
    """What the real member behind ``mock`` is: from its parent's spec (``spec=``, ``create_autospec``), or
    the attribute a patch replaced with it."""
    parent, attribute = _naming.parent_of(mock), _naming.segment_of(mock)
    spec = _naming.spec_class(parent) if parent is not None else None
    source = f"the spec `{spec.__qualname__}`" if spec is not None else ""
    if spec is None and parent is not None and _naming.segment_of(parent) == "return_value":
        spec = _evidence.annotated_result_class(parent)  # what a specced method's annotation says it returns
        if spec is not None:
            source = f"the return annotation `{spec.__qualname__}` of the spec"
    if spec is not None and attribute is not None:
        real = inspect.getattr_static(spec, attribute, None)
        if real is not None and callable(getattr(real, "__func__", real)):
            return Callee(_frames.is_coroutine_function(real), source)
    site = scope.patches.get(id(mock))
    if site is not None and site.original is not None:
        return Callee(site.original_is_async, f"the patch target `{site.attribute}`")
    return UNKNOWN


def bug_in_for_mock_call(callee: Callee, evidence: SyncEvidence | None, *, caller_is_async: bool) -> tuple[str, bool]:
    """Test or code, and whether that is only the likelier: the real callee decides when it is known
    (async: the code forgot ``await``; sync: the test made it an AsyncMock); a synchronous member by the
    table or the user's entries means the test; otherwise the test is likelier, since every attribute
    of an AsyncMock is an AsyncMock whatever the real member is."""
    if callee.is_async is True and (evidence is None or evidence.by_name_only):
        return CODE, False
    if callee.is_async is False or (evidence is not None and not evidence.by_name_only):
        return TEST, False
    if evidence is not None:  # a name the table knows as synchronous: likelier than not
        return TEST, True
    return TEST, caller_is_async


def diagnose_mock(
    mock: object,
    scope: Scope,
    *,
    evidence: SyncEvidence | None,
    where: Location,
    call_site: Location | None,
    caller_is_async: bool,
    explicit_at: Location | None,
    rootdir: str | None,
) -> MockDiagnosis:
    """The diagnosis of a coroutine of ``mock`` that was dropped or misused."""
    bound = _binding.bind(mock, scope)
    callee = callee_of(mock, scope)
    bug_in, likelier_only = bug_in_for_mock_call(callee, evidence, caller_is_async=caller_is_async)
    if bug_in == CODE:
        change_at = call_site or where
    elif explicit_at is not None:
        change_at = explicit_at
    elif bound.binding is not None and bound.binding.where is not None:
        change_at = bound.binding.where
    else:
        change_at = where
    return MockDiagnosis(
        mock,
        scope,
        bound,
        callee,
        evidence,
        bug_in,
        change_at,
        where,
        call_site,
        caller_is_async,
        explicit_at,
        rootdir,
        likelier_only,
    )
