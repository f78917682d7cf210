"""Every way a finding is shown: the failure section, the warning, the terminal summary, the JSON file."""

from __future__ import annotations

import json
import os
import tempfile
import textwrap
from collections import Counter
from collections.abc import Sequence

import pytest

from asyncmock_guard._findings import Finding, FindingKind, relative_path

REPORT_VERSION = 1


class AsyncMockGuardWarning(pytest.PytestWarning):
    """A finding in warn mode; it points at the offending line, so ``-W``/``filterwarnings`` select it."""


class AsyncMockGuardInternalWarning(pytest.PytestWarning):
    """The guard itself failed; the test run went on unchanged."""


def owner(finding: Finding) -> str:
    return finding.nodeid if finding.nodeid is not None else f"<{finding.phase}>"


def format_finding(finding: Finding, rootdir: str) -> str:
    """The block shown in a test's failure section and in warn mode's warning."""
    head = f"[{finding.kind}] {finding.subject}"
    at = f"at {finding.where.short(rootdir)}"
    if finding.where.function:
        at += f" (in {finding.where.function})"
    if finding.operation:
        at += f", operation: {finding.operation}"
    lines = [head, "  " + at]
    lines += textwrap.wrap(finding.message, width=100, initial_indent="  ", subsequent_indent="  ")
    lines.append("  fix:")
    lines += ["    " + line for line in finding.fix.splitlines()]
    return "\n".join(lines)


def failure_text(findings: Sequence[Finding], rootdir: str) -> str:
    count = len(findings)
    header = f"asyncmock-guard (strict): {count} AsyncMock/coroutine misuse{'s' if count != 1 else ''} in this test"
    return "\n\n".join([header, *(format_finding(finding, rootdir) for finding in findings)])


def warning_text(finding: Finding, rootdir: str, current_nodeid: str | None) -> str:
    text = format_finding(finding, rootdir)
    if finding.nodeid != current_nodeid:
        text += f"\n  (the coroutine was created in {owner(finding)}; it was only detected now)"
    return text


def summary_lines(findings: Sequence[Finding], rootdir: str) -> list[str]:
    """The terminal summary: the count per kind, then one line per finding."""
    if not findings:
        return ["no findings"]
    counts = Counter(finding.kind for finding in findings)
    ordered = [kind for kind in FindingKind if counts[kind]]
    total = len(findings)
    lines = [f"{total} finding{'s' if total != 1 else ''}: " + ", ".join(f"{counts[kind]} {kind}" for kind in ordered)]
    lines += [
        f"{owner(finding)}  {finding.kind}  {finding.subject}  {finding.where.short(rootdir)}" for finding in findings
    ]
    return lines


def write_json(path: str, mode: str, findings: Sequence[Finding], rootdir: str) -> None:
    """Write the report atomically, so a CI step never reads half a file."""
    document = {
        "version": REPORT_VERSION,
        "mode": mode,
        "findings": [finding.to_json(relative_path(finding.where.path, rootdir)) for finding in findings],
    }
    directory = os.path.dirname(path) or "."
    handle, temporary = tempfile.mkstemp(prefix=".asyncmock-guard-", suffix=".json", dir=directory)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(document, stream, indent=2)
            stream.write("\n")
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
