"""``asyncmock-guard FILE`` (or ``python -m asyncmock_guard FILE``): summarize a report or a baseline, so a
team can plan the clean-up: how many findings of each kind, in which files, on which mocks."""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import pytest

from asyncmock_guard._baseline import UnreadableFileError, entries_from, read_json


@dataclass(frozen=True)
class Row:
    """One finding (or one baseline entry, ``count`` times) as the summary counts it."""

    kind: str
    test: str
    subject: str
    path: str
    baselined: bool
    count: int = 1

    @property
    def test_file(self) -> str:
        return self.test.split("::", 1)[0] if not self.test.startswith("<") else self.test


class InputError(Exception):
    """The file is missing, unreadable, or neither a report nor a baseline."""


def read_rows(path: str) -> tuple[str, list[Row]]:
    """What the file is ("report" or "baseline") and its rows."""
    try:
        document = read_json(path)
    except UnreadableFileError as problem:
        raise InputError(f"{path} {problem}") from None
    if isinstance(document, dict) and "entries" in document:
        try:
            entries = entries_from(path, document)
        except pytest.UsageError as error:
            raise InputError(str(error).removeprefix("asyncmock-guard: ")) from None
        rows = [Row(key.kind, key.test, key.subject, key.path, True, count) for key, count in entries.items()]
        return "baseline", rows
    if isinstance(document, dict) and isinstance(document.get("findings"), list):
        return "report", [_report_row(path, index, finding) for index, finding in enumerate(document["findings"])]
    raise InputError(f'{path} is neither a report ("findings") nor a baseline ("entries")')


def _report_row(path: str, index: int, finding: object) -> Row:
    where = finding.get("where") if isinstance(finding, dict) else None
    if not (
        isinstance(finding, dict)
        and isinstance(finding.get("kind"), str)
        and isinstance(finding.get("subject"), str)
        and isinstance(where, dict)
        and isinstance(where.get("path"), str)
    ):
        raise InputError(f"{path}: finding {index + 1} is malformed (kind, subject and where.path are needed)")
    nodeid = finding.get("nodeid")
    phase = finding.get("phase")
    test = nodeid if isinstance(nodeid, str) else f"<{phase if isinstance(phase, str) else 'outside the tests'}>"
    return Row(finding["kind"], test, finding["subject"], where["path"], finding.get("baselined") is True)


def _table(title: str, counts: Counter[str], top: int | None) -> list[str]:
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    shown = ranked if top is None else ranked[:top]
    lines = [f"{title}:"]
    width = max((len(str(count)) for _, count in shown), default=1)
    lines += [f"  {count:>{width}}  {name}" for name, count in shown]
    if len(ranked) > len(shown):
        rest = sum(count for _, count in ranked[len(shown) :])
        lines.append(f"  {'':>{width}}  ... and {len(ranked) - len(shown)} more ({rest})")
    return lines


def summarize(source: str, what: str, rows: Sequence[Row], top: int) -> list[str]:
    """The printed summary: totals, then counts per kind, per file, per test file and the top subjects."""
    total = sum(row.count for row in rows)
    head = f"{source} ({what}): {total} finding{'s' if total != 1 else ''}"
    if what == "report":
        baselined = sum(row.count for row in rows if row.baselined)
        if baselined:
            head += f", {baselined} baselined, {total - baselined} new"
    lines = [head]
    if not rows:
        return lines

    def counts(field: str) -> Counter[str]:
        counter: Counter[str] = Counter()
        for row in rows:
            counter[getattr(row, field)] += row.count
        return counter

    for title, counter, limit in (
        ("per kind", counts("kind"), None),
        ("per file (where the misuse happens)", counts("path"), top),
        ("per test file", counts("test_file"), top),
        ("top subjects (the mocks as the tests name them)", counts("subject"), top),
    ):
        lines.append("")
        lines += _table(title, counter, limit)
    return lines


FIX_USAGE = """usage: asyncmock-guard fix [--unsafe] [--diff] [--report FILE] [--] [PYTEST ARGS...]

Run the suite (with the given pytest arguments) with the guard in warn mode, apply the findings' edits,
rerun the tests they can change (every test, when an edit touches a file that is no test module), and
keep each edit only when its finding is gone and no test ends worse than before.

  --unsafe       also apply the edits that change the code under test (a missing await)
  --diff         write nothing: print the verified diff that would be applied
  --report FILE  start from this report instead of running the suite (the test modules of its
                 findings run as they are; the whole suite, when an edit touches another file)

Exit status: 0 when no finding remains (with --diff: when there is no diff), 1 otherwise, 2 when pytest
cannot run the suite or the command line is wrong.
"""


def fix_main(argv: Sequence[str]) -> int:
    """``asyncmock-guard fix``: its own options first, everything after them is pytest's."""
    from asyncmock_guard._fix import Fixer, Options  # noqa: PLC0415 - only this command needs it

    arguments = list(argv)
    unsafe = diff = False
    report: str | None = None
    while arguments:
        head = arguments[0]
        if head in ("-h", "--help"):
            print(FIX_USAGE, end="")
            return 0
        if head == "--":
            arguments.pop(0)
            break
        if head == "--unsafe":
            unsafe = True
        elif head == "--diff":
            diff = True
        elif head == "--report" or head.startswith("--report="):
            report = head.partition("=")[2] if "=" in head else (arguments.pop(1) if len(arguments) > 1 else "")
            if not report:
                print(FIX_USAGE + "\nasyncmock-guard fix: --report needs a file", file=sys.stderr)
                return 2
            if not os.path.isfile(report):
                print(f"asyncmock-guard fix: the report {report} does not exist", file=sys.stderr)
                return 2
        else:
            break
        arguments.pop(0)
    return Fixer(Options(tuple(arguments), report=report, unsafe=unsafe, diff=diff)).run()


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] == "fix":
        return fix_main(argv[1:])
    if argv and argv[0] == "explain":
        from asyncmock_guard._explain import main as explain  # noqa: PLC0415 - only this command needs it

        return explain(argv[1:])
    parser = argparse.ArgumentParser(
        prog="asyncmock-guard",
        description="Summarize an asyncmock-guard report (--asyncmock-guard-report) or baseline"
        " (--asyncmock-guard-baseline): counts per kind, per file and the top subjects.",
    )
    parser.add_argument("file", help="a JSON report or baseline written by the pytest plugin")
    parser.add_argument("--top", type=int, default=10, metavar="N", help="rows per table (default: 10)")
    options = parser.parse_args(argv)
    if options.top < 1:
        parser.error("--top must be at least 1")
    try:
        what, rows = read_rows(options.file)
    except InputError as error:
        print(f"asyncmock-guard: {error}", file=sys.stderr)
        return 2
    print("\n".join(summarize(options.file, what, rows, options.top)))
    return 0
