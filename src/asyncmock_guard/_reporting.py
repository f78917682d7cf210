"""Every way a finding is shown: the failure section, the warning, the terminal summary, the JSON file,
JUnit XML properties and GitHub workflow annotations."""

from __future__ import annotations

import json
import textwrap
from collections import Counter
from collections.abc import Sequence
from typing import Any

import pytest

from asyncmock_guard import _files
from asyncmock_guard._baseline import Key, Reconciliation
from asyncmock_guard._findings import UNKNOWN_TEST, Finding, FindingKind, relative_path

REPORT_VERSION = 1


class AsyncMockGuardWarning(pytest.PytestWarning):
    """A finding in warn mode, or a test that keeps the guard from seeing misuse; it points at the offending
    line, so ``-W``/``filterwarnings`` select it."""


class AsyncMockGuardInternalWarning(pytest.PytestWarning):
    """The guard itself failed; the test run went on unchanged."""


def format_finding(finding: Finding, rootdir: str) -> str:
    """The block shown in a test's failure section and in warn mode's warning."""
    head = f"[{finding.kind}] {finding.subject}"
    if finding.count > 1:
        head += f" ({finding.count} times)"
    at = f"at {finding.where.short(rootdir)}"
    if finding.where.function:
        at += f" (in {finding.where.function})"
    if finding.operation:
        at += f", operation: {finding.operation}"
    culprit = "the code under test is wrong" if finding.bug_in == "code" else "the test is wrong"
    change = f"change {finding.change_at.short(rootdir)}"
    if finding.change_at.function:
        change += f" (in {finding.change_at.function})"
    lines = [head, "  " + at, f"  {change}: {culprit}"]
    lines += textwrap.wrap(finding.message, width=100, initial_indent="  ", subsequent_indent="  ")
    lines.append("  fix:")
    lines += ["    " + line for line in finding.fix.splitlines()]
    lines.append(f"  more: asyncmock-guard explain {finding.kind}")
    return printable("\n".join(lines))


def printable(text: str) -> str:
    """A lone surrogate (a name Python decoded from bytes that were not UTF-8) as its escape: pytest-xdist
    cannot send it to its controller, and a terminal cannot show it."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def failure_text(findings: Sequence[Finding], rootdir: str) -> str:
    count = len(findings)
    header = f"asyncmock-guard (strict): {count} AsyncMock/coroutine misuse{'s' if count != 1 else ''} in this test"
    return "\n\n".join([header, *(format_finding(finding, rootdir) for finding in findings)])


def warning_text(finding: Finding, rootdir: str, current_nodeid: str | None) -> str:
    text = format_finding(finding, rootdir)
    if finding.nodeid != current_nodeid:
        text += f"\n  (the coroutine was created in {finding.owner}; it was only detected now)"
    return text


def _order(finding: Finding, rootdir: str) -> tuple[str, str, int, str, str]:
    """Test, file, line: the same order whatever order the findings came in (pytest-xdist)."""
    where = finding.where
    return (finding.owner, relative_path(where.path, rootdir), where.line, finding.kind, finding.subject)


def summary_lines(findings: Sequence[Finding], rootdir: str) -> list[str]:
    """The terminal summary: the count per kind, then one line per finding."""
    if not findings:
        return ["no findings"]
    counts = Counter(finding.kind for finding in findings)
    ordered = [kind for kind in FindingKind if counts[kind]]
    total = len(findings)
    head = f"{total} finding{'s' if total != 1 else ''}"
    baselined = sum(finding.baselined for finding in findings)
    if baselined:
        head += f" ({baselined} baselined, {total - baselined} new)"
    lines = [f"{head}: " + ", ".join(f"{counts[kind]} {kind}" for kind in ordered)]
    lines += [
        f"{finding.owner}  {finding.kind}  {finding.subject}  {finding.where.short(rootdir)}"
        + ("  (baselined)" if finding.baselined else "")
        for finding in sorted(findings, key=lambda finding: _order(finding, rootdir))
    ]
    return lines


def unattributed_lines(findings: Sequence[Finding], rootdir: str) -> list[str]:
    """Strict findings that failed no test (found after their test was reported, or with no test to
    blame): their whole report, which no test's failure shows, and why the run fails."""
    if not findings:
        return []
    unknown = sum(finding.phase == UNKNOWN_TEST and finding.nodeid is None for finding in findings)
    lines = [
        f"{len(findings)} strict finding(s) failed no test: they were detected outside the test that caused"
        " them"
        + (f", and {unknown} of them with no test to blame" if unknown else "")
        + "; the run fails because of them:"
    ]
    for finding in sorted(findings, key=lambda finding: _order(finding, rootdir)):
        lines.append("")
        lines.append(f"{finding.owner}:")
        lines.extend(format_finding(finding, rootdir).splitlines())
    return lines


def stale_lines(stale: Counter[Key]) -> list[str]:
    """Baseline entries this run covered and did not find again: fixed, so the baseline can shrink."""
    total = sum(stale.values())
    if not total:
        return []
    lines = [
        f"{total} stale baseline entr{'ies' if total != 1 else 'y'} (not found again; "
        "--asyncmock-guard-update-baseline removes them):"
    ]
    for key, count in sorted(stale.items()):
        times = f" ({count}x)" if count > 1 else ""
        lines.append(f"{key.test}  {key.kind}  {key.subject}  {key.path}: {key.line_text}{times}")
    return lines


def baseline_update_line(path: str, reconciliation: Reconciliation, rootdir: str, *, stopped_early: bool) -> str:
    total = sum(reconciliation.updated.values())
    line = (
        f"baseline {relative_path(path, rootdir)} updated: {reconciliation.added} added,"
        f" {reconciliation.removed} removed, {total} entr{'ies' if total != 1 else 'y'} in all"
    )
    if stopped_early:
        line += " (the run stopped early: no entry was removed)"
    elif reconciliation.kept_not_run:
        line += f" ({reconciliation.kept_not_run} kept for tests that did not run)"
    return line


def write_failed_line(what: str, path: str, error: str) -> str:
    return f"asyncmock-guard: the {what} {path} was not written ({error}); the run fails"


def junit_property(finding: Finding, rootdir: str) -> str:
    """The value of a finding's ``asyncmock_guard`` property in the JUnit XML: the whole report."""
    status = "baselined" if finding.baselined else finding.mode
    return f"({status}) {format_finding(finding, rootdir)}"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github_annotation(finding: Finding, rootdir: str, workspace: str) -> str:
    """A GitHub workflow command that puts the finding on its line of the pull request: an error in
    strict mode, a warning in warn mode. The file is relative to the workspace, as GitHub wants it."""
    level = "error" if finding.mode == "strict" else "warning"
    path = relative_path(finding.where.path, workspace)
    title = f"asyncmock-guard: {finding.kind} {finding.subject}"
    body = format_finding(finding, rootdir) + f"\n  test: {finding.owner}"
    return (
        f"::{level} file={_escape_property(path)},line={finding.where.line},title={_escape_property(title)}"
        f"::{_escape_data(body)}"
    )


def write_json(
    path: str, mode: str, findings: Sequence[Finding], rootdir: str, baseline: dict[str, Any] | None = None
) -> None:
    """Write the report (findings in the summary's order) atomically, so a CI step never reads half a file."""
    document: dict[str, Any] = {
        "version": REPORT_VERSION,
        "mode": mode,
        "rootdir": rootdir,  # what the relative paths are relative to
        "findings": [
            finding.to_json(relative_path(finding.where.path, rootdir), Key.of(finding, rootdir).fingerprint, rootdir)
            for finding in sorted(findings, key=lambda finding: _order(finding, rootdir))
        ],
    }
    if baseline is not None:
        document["baseline"] = baseline
    _files.write_text(path, json.dumps(document, indent=2) + "\n")
