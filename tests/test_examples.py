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
        result.assert_outcomes(failed=10, passed=9)
    else:
        # warn mode changes no outcome: the misuses that raise still fail, the silent ones pass
        result.assert_outcomes(failed=8, passed=11, warnings=11)
    summary = _readme_summary()
    assert summary[0].startswith("=")
    assert "asyncmock-guard" in summary[0]
    result.stdout.fnmatch_lines(["*= asyncmock-guard =*", *summary[1:]])
