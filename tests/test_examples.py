"""The bundled example suite gives exactly the findings the README shows (so neither can rot)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

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
        result.assert_outcomes(failed=9, passed=15, warnings=13)
    summary = _readme_summary()
    assert summary[0].startswith("=")
    assert "asyncmock-guard" in summary[0]
    result.stdout.fnmatch_lines(["*= asyncmock-guard =*", *summary[1:]])


def _readme_pattern_3_report() -> list[str]:
    readme = (REPOSITORY / "README.md").read_text()
    section = readme.split('## Pattern 3: "There is no current event loop"', 1)[1]
    block = section.split("```\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip()]


def test_readme_pattern_3_report_is_real(pytester: pytest.Pytester) -> None:
    shutil.copytree(REPOSITORY / "examples", pytester.path / "examples")
    result = pytester.runpytest_subprocess(
        "-p",
        "asyncmock_guard",
        "-p",
        "no:cacheprovider",
        "-c",
        "examples/pytest.ini",
        "examples/tests/test_event_loop.py",
    )
    result.assert_outcomes(failed=2, passed=3)
    output = {line.strip() for line in result.stdout.lines}
    missing = [line for line in _readme_pattern_3_report() if line.strip() not in output]
    assert not missing, missing
