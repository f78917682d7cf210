"""The baseline: findings a team has accepted for now, so that strict mode fails only on new ones.

An entry is keyed by what survives unrelated edits: the kind, the test (its node id, or ``<phase>`` for
code that runs outside any test), the subject, the file and the text of the offending line (with its
whitespace collapsed), never the line number. The file is indented JSON with sorted keys and entries,
so that a change to it reads well in review. The same finding made twice in one test (a loop) is one
entry with a count.
"""

from __future__ import annotations

import hashlib
import json
import linecache
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

import pytest

from asyncmock_guard._findings import Finding, FindingKind, relative_path

BASELINE_VERSION = 1
_KINDS = frozenset(kind.value for kind in FindingKind)
_TEXT_FIELDS = ("test", "kind", "subject", "path", "line_text")


def line_text(path: str, line: int) -> str:
    """The offending line as the fingerprint sees it: its text with runs of whitespace collapsed."""
    return " ".join(linecache.getline(path, line).split())


class Key(NamedTuple):
    """A finding's identity across edits (the field order is the file's sort order). A named tuple,
    not a dataclass, like the finding (see ``Finding``)."""

    path: str
    test: str
    kind: str
    subject: str
    line_text: str

    @classmethod
    def of(cls, finding: Finding, rootdir: str) -> Key:
        return cls(
            path=relative_path(finding.where.path, rootdir),
            test=finding.owner,
            kind=finding.kind.value,
            subject=finding.subject,
            line_text=line_text(finding.where.path, finding.where.line),
        )

    @property
    def fingerprint(self) -> str:
        """A short stable digest of the key, to match a report's finding with its baseline entry."""
        joined = "\x1f".join((self.kind, self.test, self.subject, self.path, self.line_text))
        # any string: a name Python decoded from bytes that were not UTF-8 holds lone surrogates
        return hashlib.sha256(joined.encode("utf-8", "surrogatepass")).hexdigest()[:16]

    @property
    def outside_tests(self) -> bool:
        return self.test.startswith("<")

    def to_json(self, count: int) -> dict[str, Any]:
        return {
            "fingerprint": self.fingerprint,
            "test": self.test,
            "kind": self.kind,
            "subject": self.subject,
            "path": self.path,
            "line_text": self.line_text,
            "count": count,
        }


class Baseline:
    """The accepted findings (key -> how many times) read from ``path``; ``claim`` spends them."""

    def __init__(self, path: str, entries: Counter[Key]) -> None:
        self.path = path
        self.entries = entries
        self._unclaimed = Counter(entries)

    @classmethod
    def load(cls, path: str, *, missing_ok: bool = False) -> Baseline:
        """Read and check the file; every problem is a usage error that names it."""
        try:
            document = read_json(path)
        except UnreadableFileError as problem:
            if problem.missing and missing_ok:
                return cls(path, Counter())
            hint = "; record one with --asyncmock-guard-update-baseline" if problem.missing else ""
            raise _error(path, f"{problem}{hint}") from None
        return cls(path, entries_from(path, document))

    def claim(self, key: Key, count: int = 1) -> bool:
        """Whether these ``count`` occurrences of ``key`` (one finding made ``count`` times, by a loop) are
        accepted; each recorded occurrence is accepted once."""
        if self._unclaimed[key] < count:
            return False
        self._unclaimed[key] -= count
        return True


class UnreadableFileError(Exception):
    """What is wrong with a JSON file the guard reads, as the end of a sentence that starts with its name."""

    def __init__(self, problem: str, *, missing: bool = False) -> None:
        super().__init__(problem)
        self.missing = missing


def read_json(path: str) -> object:
    """The parsed file (a baseline, or for the summary command a report too)."""
    try:
        with open(path, encoding="utf-8") as stream:
            text = stream.read()
    except FileNotFoundError:
        raise UnreadableFileError("does not exist", missing=True) from None
    except (OSError, UnicodeDecodeError) as error:
        raise UnreadableFileError(f"cannot be read ({error})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise UnreadableFileError(f"is not valid JSON ({error})") from None


def _error(path: str, problem: str) -> pytest.UsageError:
    return pytest.UsageError(f"asyncmock-guard: the baseline {path} {problem}")


def entries_from(path: str, document: object) -> Counter[Key]:
    """The entries of a parsed baseline, checked; ``path`` names it in the usage errors."""
    if not isinstance(document, dict) or not isinstance(document.get("entries"), list):
        raise _error(path, 'is not a baseline: expected a JSON object with an "entries" list')
    version = document.get("version")
    if version != BASELINE_VERSION:
        raise _error(path, f"has version {version!r}; this version of the guard reads version {BASELINE_VERSION}")
    entries: Counter[Key] = Counter()
    for index, entry in enumerate(document["entries"]):
        where = f"entry {index + 1}"
        if not isinstance(entry, dict):
            raise _error(path, f"is malformed: {where} is not an object")
        missing = [name for name in _TEXT_FIELDS if not isinstance(entry.get(name), str)]
        if missing:
            raise _error(path, f"is malformed: {where} lacks the text field(s) {', '.join(missing)}")
        if entry["kind"] not in _KINDS:
            raise _error(path, f"is malformed: {where} has the unknown kind {entry['kind']!r}")
        count = entry.get("count", 1)
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise _error(path, f"is malformed: {where} has count {count!r}; a count is a positive integer")
        entries[Key(**{name: entry[name] for name in _TEXT_FIELDS})] += count
    return entries


class Reconciliation(NamedTuple):
    """What this run says about the baseline: stale entries, and the file an update writes."""

    stale: Counter[Key]
    updated: Counter[Key]
    added: int
    removed: int
    kept_not_run: int


def reconcile(baseline: Counter[Key], found: Iterable[Key], covered: Callable[[Key], bool]) -> Reconciliation:
    """Compare the baseline with this run's findings. An entry this run did not cover (its test did not
    run) is kept as it is; a covered one takes this run's count, and what it lost is stale."""
    found_counts = Counter(found)
    updated: Counter[Key] = Counter()
    stale: Counter[Key] = Counter()
    kept_not_run = 0
    for key, count in baseline.items():
        if covered(key):
            if found_counts[key] < count:
                stale[key] = count - found_counts[key]
        else:
            updated[key] = count
            kept_not_run += count
    for key, count in found_counts.items():
        updated[key] = max(updated[key], count)
    added = sum(max(0, updated[key] - baseline[key]) for key in updated)
    removed = sum(max(0, baseline[key] - updated[key]) for key in baseline)
    return Reconciliation(stale=stale, updated=updated, added=added, removed=removed, kept_not_run=kept_not_run)


def render(entries: Counter[Key]) -> str:
    """The file's text: sorted entries, sorted keys, one field per line."""
    document = {
        "version": BASELINE_VERSION,
        "tool": "pytest-asyncmock-guard",
        "entries": [key.to_json(count) for key, count in sorted(entries.items()) if count > 0],
    }
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
