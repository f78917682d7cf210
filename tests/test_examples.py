"""The bundled example suite gives exactly the findings the README shows (so neither can rot)."""

from __future__ import annotations

import re
import shlex
import shutil
import sys
from pathlib import Path

import pytest

from _guardrun import apply_edits, run_guard

REPOSITORY = Path(__file__).parent.parent


def _readme_summary() -> list[str]:
    readme = (REPOSITORY / "README.md").read_text()
    block = readme.split("Its run ends with:\n\n```\n", 1)[1].split("```", 1)[0]
    return block.strip().splitlines()


@pytest.mark.parametrize("mode", ["strict", "warn"])
def test_example_suite_matches_the_readme(pytester: pytest.Pytester, mode: str) -> None:
    shutil.copytree(REPOSITORY / "examples", pytester.path / "examples")
    result = pytester.runpytest_subprocess(
        "-p",
        "asyncmock_guard",
        f"--asyncmock-guard={mode}",
        "-p",
        "no:cacheprovider",
        "-c",
        "examples/pytest.ini",
        "examples",
    )
    if mode == "strict":
        result.assert_outcomes(failed=12, passed=12)
    else:
        # warn mode changes no outcome: the misuses that raise still fail, the silent ones pass
        result.assert_outcomes(failed=9, passed=15, warnings=12)
    summary = _readme_summary()
    assert summary[0].startswith("=")
    assert "asyncmock-guard" in summary[0]
    result.stdout.fnmatch_lines(["*= asyncmock-guard =*", *summary[1:]])


def _block_after(text: str, marker: str) -> list[str]:
    """The non-blank lines of the first plain code block after ``marker``."""
    section = text.split(marker, 1)[1]
    block = section.split("```\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip()]


def _lines_of(pytester: pytest.Pytester, *args: str) -> set[str]:
    result = pytester.runpytest_subprocess(
        "-p", "asyncmock_guard", "-p", "no:cacheprovider", "-p", "no:randomly", *args
    )
    return {line.strip() for line in result.stdout.lines}


def test_the_readmes_real_report_is_real(pytester: pytest.Pytester) -> None:
    shutil.copytree(REPOSITORY / "examples", pytester.path / "examples")
    shown = _block_after((REPOSITORY / "README.md").read_text(), "## A real report")
    test = "examples/tests/test_seed_patterns.py::test_wrong_pattern_1_so_called_correct"
    output = _lines_of(pytester, "-c", "examples/pytest.ini", test)
    missing = [line for line in shown if line.strip() not in output]
    assert not missing, missing


def test_the_no_running_loop_pages_pattern_3_report_is_real(pytester: pytest.Pytester) -> None:
    shutil.copytree(REPOSITORY / "examples", pytester.path / "examples")
    page = (REPOSITORY / "docs" / "kinds" / "no-running-loop.md").read_text()
    shown = _block_after(page, "## The guide's Pattern 3")
    output = _lines_of(pytester, "-c", "examples/pytest.ini", "examples/tests/test_event_loop.py")
    missing = [line for line in shown if line.strip() not in output]
    assert not missing, missing


def _walkthrough() -> tuple[list[list[str]], list[list[str]]]:
    """The legacy-suite walkthrough's commands (bash blocks) and outputs (plain blocks), in order."""
    readme = (REPOSITORY / "README.md").read_text()
    section = readme.split("## Adopting it in a legacy suite", 1)[1].split("\n## ", 1)[0]
    commands: list[list[str]] = []
    outputs: list[list[str]] = []
    for language, body in re.findall(r"```(\w*)\n(.*?)```", section, flags=re.DOTALL):
        if language == "bash":
            commands.append(shlex.split(body.strip()))
        else:
            outputs.append([line for line in body.splitlines() if line.strip() and line != "..."])
    return commands, outputs


def test_readme_legacy_walkthrough_is_real(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every command of the adoption walkthrough, run in its order on a copy of the example suite, prints
    the lines the README shows."""
    project = pytester.path / "suite"
    shutil.copytree(REPOSITORY / "examples", project)
    commands, outputs = _walkthrough()
    assert len(commands) == 4
    assert len(outputs) == 5
    warn, record, fix, update = commands
    assert warn[0] == record[0] == update[0] == "pytest"
    assert fix[:2] == ["asyncmock-guard", "fix"]

    def run(command: list[str], expected: list[str]) -> None:
        module = ["asyncmock_guard", *command[1:]] if command[0] == "asyncmock-guard" else command
        blocked = ["--", "-p", "no:randomly"] if command[0] == "asyncmock-guard" else ["-p", "no:randomly"]
        result = pytester.run(sys.executable, "-m", *module, *blocked, "-p", "no:cacheprovider", timeout=300)
        lines = result.stdout.lines
        missing = [line for line in expected if not any(line in actual for actual in lines)]
        assert not missing, (missing, result.stdout.str())

    monkeypatch.chdir(project)
    run(warn, outputs[0])
    run(record, outputs[1])
    with (project / "pytest.ini").open("a") as ini:
        ini.write("asyncmock_guard_baseline = asyncmock-guard-baseline.json\n")
    run(["pytest", "-p", "asyncmock_guard"], outputs[2])
    run(fix, outputs[3])
    run(update, outputs[4])


def test_the_example_suites_edits_fix_its_wrong_tests(pytester: pytest.Pytester) -> None:
    """Apply every finding's edits to the example suite and rerun it: each finding that had edits is gone,
    and each test whose findings all had edits passes; the others are the findings without a mechanical
    edit (their message says why), and the right tests are untouched."""
    shutil.copytree(REPOSITORY / "examples", pytester.path / "examples")
    right = {path.name: path.read_text() for path in (pytester.path / "examples" / "tests").glob("*.py")}
    args = ("-c", "examples/pytest.ini", "examples")
    first = run_guard(pytester, "strict", *args)
    assert len(first.findings) == 12
    with_edits = [finding for finding in first.findings if finding["edits"]]
    without = [finding for finding in first.findings if not finding["edits"]]
    assert all("No edit is offered" in finding["message"] for finding in without)
    assert len(with_edits) >= 10, [finding["subject"] for finding in without]
    apply_edits(pytester, first.findings, pytester.path / "examples")
    second = run_guard(pytester, "strict", *args)
    assert [(f["nodeid"], f["kind"]) for f in second.findings] == [(f["nodeid"], f["kind"]) for f in without]
    failed = {
        line.split(" ", 1)[1].split(" - ", 1)[0] for line in second.result.stdout.lines if line.startswith("FAILED ")
    }
    fixed = {finding["nodeid"] for finding in with_edits} - {finding["nodeid"] for finding in without}
    assert not {f"examples/{nodeid}" for nodeid in fixed} & failed, second.output
    assert not fixed & failed, second.output
    for name, text in right.items():  # the edits touched only what they fix: right tests keep their text
        edited = (pytester.path / "examples" / "tests" / name).read_text()
        for block in text.split("\n\n\n"):
            if "def test_right" in block:
                assert block.split("def test_right", 1)[1] in edited
