"""``asyncmock-guard fix``: apply the fixes the guard can prove, each verified by rerunning its test.

1. The suite runs once with the guard in warn mode, showing pytest's progress (or the findings come from
   ``--report FILE``, and the test modules they are in run, as they are): the findings, and each test's
   outcome.
2. The findings with edits (``safe`` ones; with ``--unsafe`` also those that change the code under test)
   are applied together, file by file, each distinct edit once. A finding whose file no longer reads as the
   report says, or whose edits overlap another finding's, is skipped.
3. The tests the edits can change run again: the findings' tests, every test of a test module they edit,
   and, when they edit any other file (a conftest, a helper module, the code under test), every test of
   the suite (from ``--report``, the suite then runs once more as it is first, for those tests' outcomes).
   A finding's edits are kept when it is gone, its test has no new finding, and the test ends as well as
   before or better; a test whose outcome was no finding's gets the same check, against the edits that can
   have changed it (those of the files that are no test module, else those of its module). The others are
   reverted and the rest run again, until every edit left is verified.
4. A line per file, the diff applied (``--diff``: the diff that would be, with every file left as it was),
   the findings left for a person with their fix and why, and the baseline entries the fixes made stale.
   The exit status is 1 when findings remain (with ``--diff``: when there is a diff), else 0.

Files are written atomically and keep their encoding and line breaks; an interruption puts back every
file as it was.
"""

from __future__ import annotations

import linecache
import os
import sys
import tempfile
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple, TextIO

from asyncmock_guard import _edits, _files
from asyncmock_guard._edits import Edit
from asyncmock_guard._findings import relative_path
from asyncmock_guard._fix_plugin import ORDER
from asyncmock_guard._fix_runs import Run, RunError, Runner

_Key = tuple[Any, ...]


class Candidate(NamedTuple):
    """A finding whose edits the run may apply."""

    finding: dict[str, Any]
    edits: tuple[Edit, ...]

    @property
    def key(self) -> _Key:
        return _key(self.finding)

    @property
    def where(self) -> str:
        """The file the fix is about (where the test or code changes), for the summary's lines."""
        change_at = self.finding.get("change_at") or self.finding["where"]
        return str(change_at["path"])


def _key(finding: dict[str, Any]) -> _Key:
    """A finding's identity across the runs (its line may move when an edit above it adds an import)."""
    return (finding.get("nodeid"), finding.get("subtest"), finding.get("phase"), finding["kind"], finding["subject"])


def _describe(finding: dict[str, Any]) -> str:
    test = finding.get("nodeid") or f"<{finding.get('phase')}>"
    return f"{test}  {finding['kind']}  {finding['subject']}"


class Options(NamedTuple):
    pytest_args: tuple[str, ...]
    report: str | None = None
    unsafe: bool = False
    diff: bool = False


class Fixer:
    def __init__(self, options: Options, out: TextIO = sys.stdout) -> None:
        self.options = options
        self.out = out
        self.skipped: list[tuple[dict[str, Any], str]] = []  # (finding, why it was not applied)
        self.reverted: list[tuple[Candidate, str]] = []
        self.originals: dict[str, bytes] = {}  # the files as they were, by path
        self.whole_suite_known = self.options.report is None  # every selected test's outcome before the edits
        self.bystanders_findings: list[dict[str, Any]] = []  # findings of tests the report did not list

    def say(self, line: str = "") -> None:
        print(line, file=self.out, flush=True)

    # --- the steps ------------------------------------------------------------------------------------
    def run(self) -> int:
        with tempfile.TemporaryDirectory(prefix="asyncmock-guard-fix-") as directory:
            runner = Runner(self.options.pytest_args, directory)
            try:
                before = self._before(runner)
            except RunError as error:
                self.say(f"asyncmock-guard fix: {error}")
                return 2
            candidates = self._candidates(before)
            try:
                kept, after = self._verify(runner, before, candidates)
            except BaseException:
                self._restore()
                raise
            return self._finish(before, kept, after)

    def _before(self, runner: Runner) -> Run:
        if self.options.report is None:
            return runner.run(show=True)
        from asyncmock_guard._baseline import UnreadableFileError, read_json  # noqa: PLC0415 - the report's reader

        try:
            document = read_json(self.options.report)
        except UnreadableFileError as error:
            raise RunError(f"the report {self.options.report} {error}") from None
        if not isinstance(document, dict) or not isinstance(document.get("findings"), list):
            raise RunError(f"{self.options.report} is not a report of the guard")
        findings: list[dict[str, Any]] = document["findings"]
        rootdir = str(document.get("rootdir") or os.getcwd())
        # every test of the modules the findings are in: an edit of a test module can change any of them
        modules = sorted({str(finding["nodeid"]).partition("::")[0] for finding in findings if finding.get("nodeid")})
        self.say(
            f"asyncmock-guard fix: {len(findings)} findings in {self.options.report};"
            f" running the {len(modules)} test modules they are in"
        )
        as_they_are = runner.run(modules)
        listed = {_key(finding) for finding in findings}
        self.bystanders_findings = [f for f in as_they_are.findings if _key(f) not in listed]
        return Run(findings, as_they_are.outcomes, rootdir, as_they_are.baseline, "")

    def _candidates(self, before: Run) -> list[Candidate]:
        """The findings whose edits can be applied: every distinct edit once, none overlapping another's."""
        chosen: list[Candidate] = []
        taken: dict[str, list[Edit]] = {}  # the edits chosen so far, by file: overlaps are within a file
        for finding in before.findings:
            if not finding.get("edits"):
                self.skipped.append((finding, _why_no_edit(str(finding.get("message", "")))))
                continue
            if finding.get("applicability") != "safe" and not self.options.unsafe:
                self.skipped.append((finding, "its edits change the code under test: --unsafe applies them"))
                continue
            try:
                edits = tuple(Edit.from_json(edit, before.rootdir) for edit in finding["edits"])
            except ValueError as error:
                self.skipped.append((finding, f"its edits are malformed ({error})"))
                continue
            changed = [
                edit.path
                for edit, data in zip(edits, finding["edits"], strict=True)
                if isinstance(data.get("expected"), str) and not edit.matches(data["expected"])
            ]
            if changed:
                self.skipped.append((finding, f"{relative_path(changed[0], before.rootdir)} changed since the report"))
                continue
            try:
                chosen_there = [chosen for path in {edit.path for edit in edits} for chosen in taken.get(path, ())]
                _edits.render([*chosen_there, *edits])
            except _edits.OverlapError:
                self.skipped.append((finding, "its edits overlap those of another finding applied here"))
                continue
            except (OSError, UnicodeError) as error:
                self.skipped.append((finding, f"its file cannot be read ({error})"))
                continue
            for edit in edits:
                if edit not in taken.setdefault(edit.path, []):
                    taken[edit.path].append(edit)
            chosen.append(Candidate(finding, edits))
        return chosen

    def _verify(self, runner: Runner, before: Run, candidates: list[Candidate]) -> tuple[list[Candidate], Run | None]:
        """Apply, rerun the tests the edits can change, revert what failed; again until what is left holds."""
        kept = list(candidates)
        after: Run | None = None
        while kept:
            tests = self._affected(before, kept)
            try:
                if tests is None and not self.whole_suite_known:
                    self._as_it_is(runner, before)
                self._apply(kept)
                if tests is None:
                    self.say(f"asyncmock-guard fix: verifying {len(kept)} fixes by running the suite again")
                else:
                    self.say(f"asyncmock-guard fix: verifying {len(kept)} fixes by running {len(tests)} tests")
                after = runner.run(tests)
            except RunError as error:
                self._restore()
                self.reverted.extend((candidate, f"the verification run failed: {error}") for candidate in kept)
                return [], None
            failures = self._failures(before, after, kept, tests)
            if not failures:
                break
            self.reverted.extend(failures)
            failed = {id(candidate) for candidate, _ in failures}
            kept = [candidate for candidate in kept if id(candidate) not in failed]
        if not kept:
            self._restore()
        return kept, after

    def _affected(self, before: Run, kept: Sequence[Candidate]) -> list[str] | None:
        """The tests the edits of ``kept`` can change; None: every test of the suite."""
        modules = _test_modules(before.outcomes)
        tests = {c.finding["nodeid"] for c in kept if c.finding.get("nodeid")}
        for candidate in kept:
            for edit in candidate.edits:
                module = modules.get(relative_path(edit.path, before.rootdir))
                if module is None:
                    return None  # a conftest, a helper, the code under test: any test may use it
                tests.update(module)
        return sorted(tests)

    def _as_it_is(self, runner: Runner, before: Run) -> None:
        """From ``--report``: the whole suite once as it is, for the outcomes and findings of the tests the
        report does not list."""
        self._restore()
        self.say("asyncmock-guard fix: the fixes edit files any test may use; running the suite as it is first")
        as_it_is = runner.run()
        for test, outcome in as_it_is.outcomes.items():
            before.outcomes.setdefault(test, outcome)
        listed = {_key(finding) for finding in [*before.findings, *self.bystanders_findings]}
        self.bystanders_findings += [f for f in as_it_is.findings if _key(f) not in listed]
        self.whole_suite_known = True

    def _failures(
        self, before: Run, after: Run, kept: Sequence[Candidate], rerun: list[str] | None
    ) -> list[tuple[Candidate, str]]:
        remaining = {_key(finding): finding for finding in after.findings}
        known = {_key(finding) for finding in [*before.findings, *self.bystanders_findings]}
        failures = []
        for candidate in kept:
            test = candidate.finding.get("nodeid")
            new = [f for key, f in remaining.items() if key[0] == test and test and key not in known]
            if candidate.key in remaining:
                failures.append((candidate, "the finding is still there after its edits"))
            elif new:
                failures.append(
                    (candidate, f"its edits gave the test a new finding: {new[0]['kind']} {new[0]['subject']}")
                )
            elif test and _worse(before.outcomes.get(test), after.outcomes.get(test)):
                was, now = before.outcomes.get(test), after.outcomes.get(test, "not run")
                failures.append((candidate, f"its test {was} before the edits and {now} after them"))
        return failures or self._bystander_failures(before, after, kept, rerun)

    def _bystander_failures(
        self,
        before: Run,
        after: Run,
        kept: Sequence[Candidate],
        rerun: list[str] | None,  # the tests the run was given (None: every test)
    ) -> list[tuple[Candidate, str]]:
        """Tests that were no finding's and that the edits made worse, each blamed on the edits that can have
        changed it: those of the files that are no test module, else those of its own module."""
        own = {c.finding.get("nodeid") for c in kept}
        modules = _test_modules(before.outcomes)
        known = {_key(finding) for finding in [*before.findings, *self.bystanders_findings]}
        new: dict[str, dict[str, Any]] = {}
        for finding in after.findings:
            key = _key(finding)
            if key not in known and key[0] is not None:
                new.setdefault(key[0], finding)
        failures: dict[int, tuple[Candidate, str]] = {}
        for test in sorted(set(before.outcomes) | set(after.outcomes) if rerun is None else rerun):
            was, now = before.outcomes.get(test), after.outcomes.get(test)
            if test in own or (test not in new and not _worse(was, now)):
                continue
            if _worse(was, now):
                why = f"made {test} end {now or 'not run'} (it {was} before them)"
            else:
                why = f"gave {test} a new finding: {new[test]['kind']} {new[test]['subject']}"
            # the edits of files any test may use first; if the test still ends worse without them, the next
            # round blames those of its own module
            suspects = [c for c in kept if any(relative_path(e.path, before.rootdir) not in modules for e in c.edits)]
            module = test.partition("::")[0]
            suspects = suspects or [
                c for c in kept if any(relative_path(e.path, before.rootdir) == module for e in c.edits)
            ]
            for candidate in suspects:
                failures.setdefault(id(candidate), (candidate, f"its edits {why}"))
        return list(failures.values())

    # --- files ----------------------------------------------------------------------------------------
    def _apply(self, kept: Sequence[Candidate]) -> None:
        """The files as they were, with the edits of ``kept`` (each distinct edit once)."""
        self._restore()
        edits = list(dict.fromkeys(edit for candidate in kept for edit in candidate.edits))
        for path in {edit.path for edit in edits}:
            if path not in self.originals:
                with open(path, "rb") as stream:
                    self.originals[path] = stream.read()
        _edits.apply(edits)

    def _restore(self) -> None:
        for path, data in self.originals.items():
            with open(path, "rb") as stream:
                now = stream.read()
            if now != data:
                _files.write_atomically(path, data)
            linecache.checkcache(path)

    # --- the summary ----------------------------------------------------------------------------------
    def _finish(self, before: Run, kept: list[Candidate], after: Run | None) -> int:
        rootdir = before.rootdir
        edits = list(dict.fromkeys(edit for candidate in kept for edit in candidate.edits))
        self._restore()
        diff = _edits.unified_diff(edits, rootdir) if edits else ""
        if not self.options.diff and edits:
            _edits.apply(edits)
        self._per_file(kept, rootdir)
        if diff:
            self.say()
            self.out.write(diff)
        for finding, why in self.skipped:
            self.say(f"not applied: {_describe(finding)} ({why})")
            if not finding.get("edits"):
                self.say("  fix: " + "\n       ".join(str(finding.get("fix", "")).splitlines()))
        stale = (after.baseline or {}).get("stale", []) if after is not None else []
        if stale:
            self.say(
                f"{len(stale)} baseline entr{'ies' if len(stale) != 1 else 'y'} fixed now (stale):"
                " pytest --asyncmock-guard-update-baseline drops them"
            )
            for entry in stale:
                self.say(f"  {entry['test']}  {entry['kind']}  {entry['subject']}  {entry['path']}")
        remaining = len(before.findings) - len(kept)
        verb = "would fix" if self.options.diff else "fixed"
        self.say(f"asyncmock-guard fix: {verb} {len(kept)} of {len(before.findings)} findings; {remaining} remain")
        if self.options.diff:
            return 1 if diff else 0
        return 1 if remaining else 0

    def _per_file(self, kept: Sequence[Candidate], rootdir: str) -> None:
        files: dict[str, tuple[int, list[str]]] = {}
        for candidate in kept:
            count, reasons = files.get(candidate.where, (0, []))
            files[candidate.where] = (count + 1, reasons)
        for candidate, why in self.reverted:
            count, reasons = files.get(candidate.where, (0, []))
            files[candidate.where] = (count, [*reasons, f"{_describe(candidate.finding)}: {why}"])
        for path, (count, reasons) in sorted(files.items()):
            parts = [f"{count} fixed, verified"] if count else []
            parts += [f"{len(reasons)} reverted"] if reasons else []
            line = f"{relative_path(path, rootdir)}: {'; '.join(parts)}"
            self.say(line)
            for reason in reasons:
                self.say(f"  reverted: {reason}")


def _test_modules(outcomes: Iterable[str]) -> dict[str, set[str]]:
    """The tests of each test module, by the module's path as node ids give it (relative to the rootdir)."""
    modules: dict[str, set[str]] = {}
    for test in outcomes:
        modules.setdefault(test.partition("::")[0], set()).add(test)
    return modules


def _why_no_edit(message: str) -> str:
    """Why a finding has no mechanical edit, as its message says it ("No edit is offered: ...")."""
    said = message.partition("No edit is offered")[2]
    reason = said.split(". ")[0].strip(" :.,()") if said else ""
    return f"it needs a person: no edit is offered{', ' + reason if reason else ''}"


def _worse(before: str | None, after: str | None) -> bool:
    """Whether a test ended worse after the edits than before (not run at all is worst)."""
    if before is None:
        return False
    if after is None:
        return True
    return ORDER.index(after) < ORDER.index(before)
