"""The finding: one frozen record per misuse, with the kind vocabulary shared by the whole project.

A finding is formatted completely when it is made (mocks and frames change or die afterwards),
so everything downstream (failure text, warnings, summary, JSON) only reads strings.
"""

from __future__ import annotations

import enum
import os
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from asyncmock_guard._edits import Edit


# The phase of a finding whose test is not known: a garbage collection of older objects finalized the
# coroutine during some test, and nothing on its creation stack says which test made it.
UNKNOWN_TEST = "unknown test"


class FindingKind(str, enum.Enum):
    """The stable vocabulary of ``kind`` in reports; CI scripts match on these strings."""

    NEVER_AWAITED = "never-awaited"
    COROUTINE_MISUSE = "coroutine-misuse"
    SPEC_IS_DATA = "spec-is-data"
    ASYNC_MOCK_FOR_SYNC = "async-mock-for-sync"
    COROUTINE_AS_RETURN_VALUE = "coroutine-as-return-value"
    NO_RUNNING_LOOP = "no-running-loop"
    AWAITED_SYNC_MOCK = "awaited-sync-mock"

    def __str__(self) -> str:
        return self.value


def relative_path(path: str, rootdir: str | None) -> str:
    """``path`` relative to the rootdir, with ``/``, when it lies below it; else unchanged."""
    if not rootdir or not os.path.isabs(path):
        return path
    try:
        relative = os.path.relpath(path, rootdir)
    except ValueError:  # pragma: no cover - another drive on Windows
        return path
    return path if relative.startswith("..") else relative.replace(os.sep, "/")


class Location(NamedTuple):
    """A place in the user's code: an absolute path, a line and the function it is in."""

    path: str
    line: int
    function: str = ""

    def short(self, rootdir: str | None) -> str:
        """``path:line`` with the path relative to the rootdir, as every report shows it."""
        return f"{relative_path(self.path, rootdir)}:{self.line}"


class Finding:
    """One misuse, attributed to the test (``nodeid``) during which its coroutine was created.

    ``nodeid`` is None for code that runs outside any test (collection, session fixtures);
    ``phase`` then says where it ran. Treated as immutable. A plain class, not a dataclass: it is
    imported with the guard by every run, and a dataclass compiles its methods at import.
    """

    __slots__ = (
        "applicability",
        "baselined",
        "bug_in",
        "change_at",
        "count",
        "edits",
        "fix",
        "kind",
        "message",
        "mode",
        "nodeid",
        "operation",
        "phase",
        "subject",
        "subtest",
        "where",
    )

    def __init__(  # noqa: PLR0917 - positional like the dataclass it was; every caller names the rest
        self,
        kind: FindingKind,
        nodeid: str | None,
        subject: str,
        where: Location,
        message: str,
        fix: str,
        operation: str | None = None,
        *,
        phase: str = "call",
        mode: str = "strict",
        baselined: bool = False,
        change_at: Location | None = None,
        bug_in: str = "test",
        edits: tuple[Edit, ...] = (),
        applicability: str = "safe",
        count: int = 1,
        subtest: str | None = None,
    ) -> None:
        self.kind = kind
        self.nodeid = nodeid
        self.subject = subject
        self.where = where
        self.message = message
        self.fix = fix
        self.operation = operation
        self.phase = phase
        # The mode in force for the owning test ("strict" or "warn"); not part of the report format.
        self.mode = mode
        # Recorded in the baseline: listed, but it fails no test and raises no warning.
        self.baselined = baselined
        # The line the user must edit (the mock's construction or configuration, or the code under test);
        # ``where`` stays the offending line.
        self.change_at = change_at if change_at is not None else where
        self.bug_in = bug_in  # "test" or "code"
        self.edits = edits  # the leading fix as text edits, ruff's shape; empty when none is mechanical
        self.applicability = applicability  # "safe", or "unsafe": it changes the code under test or an assertion
        self.count = count  # how many times the test did it (a loop, hypothesis examples)
        # The subtest it happened in (``subtests.test(msg=...)``, ``self.subTest(...)``), as pytest shows it:
        # ``[msg] (key=value)``; None outside any subtest.
        self.subtest = subtest

    def _identity(self) -> tuple[object, ...]:
        """What makes two findings the same one (their mode and baseline status aside)."""
        return (
            self.kind,
            self.nodeid,
            self.subtest,
            self.subject,
            self.where,
            self.message,
            self.fix,
            self.operation,
            self.phase,
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Finding) and self._identity() == other._identity()

    def __hash__(self) -> int:
        return hash(self._identity())

    def __repr__(self) -> str:
        return f"Finding({self.kind.value}, {self.owner!r}, {self.subject!r}, {self.where.path}:{self.where.line})"

    def _copy(self, **changes: Any) -> Finding:
        fields = {name: getattr(self, name) for name in _WIRE_FIELDS}
        fields.update(kind=self.kind, where=self.where, change_at=self.change_at, edits=self.edits)
        fields.update(changes)
        return Finding(**fields)

    def accepted(self) -> Finding:
        """The same finding, recorded in the baseline."""
        return self._copy(baselined=True)

    def with_message(self, message: str) -> Finding:
        return self._copy(message=message)

    def in_subtest(self, subtest: str) -> Finding:
        """The same finding, made in the subtest ``subtest`` of its test."""
        return self._copy(subtest=subtest)

    def again(self) -> Finding:
        """The same finding made once more by its test (a loop, another hypothesis example)."""
        return self._copy(count=self.count + 1)

    @property
    def owner(self) -> str:
        """The test it belongs to as reports show it: the node id (and its subtest), or ``<phase>`` outside
        any test."""
        if self.nodeid is None:
            return f"<{self.phase}>"
        return f"{self.nodeid} {self.subtest}" if self.subtest else self.nodeid

    def to_json(self, relpath: str, fingerprint: str, rootdir: str | None = None) -> dict[str, Any]:
        """The report-file form; the key names are a public, stable format."""
        return {
            "kind": self.kind.value,
            "nodeid": self.nodeid,
            "subtest": self.subtest,
            "phase": self.phase,
            "subject": self.subject,
            "where": {"path": relpath, "line": self.where.line},
            "operation": self.operation,
            "message": self.message,
            "fix": self.fix,
            "change_at": {"path": relative_path(self.change_at.path, rootdir), "line": self.change_at.line},
            "bug_in": self.bug_in,
            "edits": [edit.to_json(rootdir) for edit in self.edits],
            "applicability": self.applicability,
            "count": self.count,
            "fingerprint": fingerprint,
            "baselined": self.baselined,
        }

    def to_wire(self) -> dict[str, Any]:
        """Everything, in plain types: how a pytest-xdist worker sends a finding to the controller."""
        wire = {name: getattr(self, name) for name in _WIRE_FIELDS}
        wire["kind"] = self.kind.value
        wire["where"] = list(self.where)
        wire["change_at"] = list(self.change_at)
        wire["edits"] = [list(edit) for edit in self.edits]
        return wire

    @classmethod
    def from_wire(cls, wire: dict[str, Any]) -> Finding:
        from asyncmock_guard._edits import Edit  # noqa: PLC0415 - only findings that cross processes need it

        fields = {name: wire[name] for name in _WIRE_FIELDS}
        return cls(
            kind=FindingKind(wire["kind"]),
            where=Location(*wire["where"]),
            change_at=Location(*wire["change_at"]),
            edits=tuple(Edit(*edit) for edit in wire["edits"]),
            **fields,
        )


_WIRE_FIELDS = (
    "nodeid",
    "subject",
    "message",
    "fix",
    "operation",
    "phase",
    "mode",
    "baselined",
    "bug_in",
    "applicability",
    "count",
    "subtest",
)


class FindingQueue:
    """The findings of a session in the order they were made, and those the plugin has not drained yet.

    One root cause is one finding: the same finding made again by its test (a loop, hypothesis's examples)
    is counted on the first one, and a finding whose edits are those of another of its test's findings
    still queued (one mis-built mock, used wrong in several places) is listed in that one's message.
    """

    __slots__ = ("_by_fix", "_index", "all", "pending")

    def __init__(self) -> None:
        self.all: list[Finding] = []
        self.pending: list[Finding] = []
        self._index: dict[Finding, int] = {}  # where each finding is in ``all``
        # a test's (or subtest's) findings by their edits
        self._by_fix: dict[tuple[str | None, str | None, tuple[Edit, ...]], int] = {}

    def add(self, finding: Finding, rootdir: str | None) -> None:
        index = self._index.get(finding)
        if index is not None:
            self._replace(index, self.all[index].again())
            return
        same_fix = self._by_fix.get((finding.nodeid, finding.subtest, finding.edits)) if finding.edits else None
        if same_fix is not None and self.all[same_fix] in self.pending:
            known = self.all[same_fix]
            also = f" The same fix covers its use at {finding.where.short(rootdir)} (`{finding.subject}`)."
            self._replace(same_fix, known.with_message(known.message + also))
            self._index[finding] = same_fix
            return
        self._index[finding] = len(self.all)
        if finding.edits:
            self._by_fix[(finding.nodeid, finding.subtest, finding.edits)] = len(self.all)
        self.pending.append(finding)
        self.all.append(finding)

    def _replace(self, index: int, finding: Finding) -> None:
        known = self.all[index]
        self.all[index] = finding
        self._index[finding] = index
        self.pending = [finding if queued is known else queued for queued in self.pending]

    def discard(self, finding: Finding) -> None:
        """Take back a queued finding that another one now covers (a spec-is-data folded into the
        async-mock-for-sync of the same line)."""
        self.pending = [queued for queued in self.pending if queued is not finding]
        self.all = [known for known in self.all if known is not finding]
        self._index = {known: index for index, known in enumerate(self.all)}
        self._by_fix = {
            (known.nodeid, known.subtest, known.edits): index for index, known in enumerate(self.all) if known.edits
        }

    def drain(self) -> list[Finding]:
        drained, self.pending = self.pending, []
        return drained

    def forget_test(self, nodeid: str) -> None:
        """``nodeid`` runs again (pytest-rerunfailures): what this attempt finds is its own, not a count on an
        earlier attempt's finding."""
        self._index = {known: index for known, index in self._index.items() if known.nodeid != nodeid}
        self._by_fix = {key: index for key, index in self._by_fix.items() if key[0] != nodeid}

    def drain_subtest(self, nodeid: str, subtest: str) -> list[Finding]:
        """Drain the queue; ``nodeid``'s findings made in its call phase become the subtest's (a later
        subtest's same finding is then a finding of its own, not a count on this one), except those already
        known to be another subtest's (see ``running_unittest_subtest``): they wait for that one's report."""
        drained = []
        pending, self.pending = self.pending, []
        for finding in pending:
            if finding.nodeid == nodeid and finding.subtest not in (None, subtest):
                self.pending.append(finding)
                continue
            if finding.nodeid != nodeid or finding.phase != "call" or finding.subtest is not None:
                drained.append(finding)
                continue
            labelled = finding.in_subtest(subtest)
            index = self._index.pop(finding)
            self.all[index] = labelled
            self._index[labelled] = index
            drained.append(labelled)
        return drained
