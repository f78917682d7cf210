"""Tests of ``asyncmock-guard FILE``: the summary of a report or a baseline, and its errors."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from asyncmock_guard import FindingKind, _baseline, _explain
from asyncmock_guard._baseline import Key
from asyncmock_guard._cli import main


def _finding(
    kind: str, nodeid: str | None, subject: str, path: str, *, baselined: bool = False, phase: str = "call"
) -> dict[str, Any]:
    return {
        "kind": kind,
        "nodeid": nodeid,
        "phase": phase,
        "subject": subject,
        "where": {"path": path, "line": 7},
        "operation": None,
        "message": f"{subject} was never awaited",
        "fix": f"await {subject}(...)",
        "fingerprint": "0123456789abcdef",
        "baselined": baselined,
    }


# Listed in an order unlike the summary's, so that the ordering is the summary's own.
FINDINGS = [
    _finding("spec-is-data", "tests/test_b.py::test_four", "settings", "app/config.py", baselined=True),
    _finding("async-mock-for-sync", None, "cache.get", "app/db.py", phase="collection"),
    _finding("never-awaited", "tests/test_b.py::test_three", "client.get", "app/http.py"),
    _finding("never-awaited", "tests/test_a.py::test_one", "db.execute", "app/db.py", baselined=True),
    _finding("never-awaited", "tests/test_a.py::test_two[x::y]", "db.execute", "app/db.py"),
]


def _write(tmp_path: Path, document: object, name: str = "report.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def _report(tmp_path: Path, findings: list[Any]) -> Path:
    return _write(tmp_path, {"version": 1, "mode": "strict", "findings": findings})


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> list[str]:
    assert main(list(argv)) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert out.endswith("\n")
    return out.splitlines()


def test_report_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _report(tmp_path, FINDINGS)
    assert _run(capsys, str(path)) == [
        f"{path} (report): 5 findings, 2 baselined, 3 new",
        "",
        "per kind:",
        "  3  never-awaited",
        "  1  async-mock-for-sync",
        "  1  spec-is-data",
        "",
        "per file (where the misuse happens):",
        "  3  app/db.py",
        "  1  app/config.py",
        "  1  app/http.py",
        "",
        "per test file:",
        "  2  tests/test_a.py",
        "  2  tests/test_b.py",
        "  1  <collection>",
        "",
        "top subjects (the mocks as the tests name them):",
        "  2  db.execute",
        "  1  cache.get",
        "  1  client.get",
        "  1  settings",
    ]


def test_report_without_baselined_findings_has_a_plain_head(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _report(tmp_path, [dict(finding, baselined=False) for finding in FINDINGS])
    assert _run(capsys, str(path))[0] == f"{path} (report): 5 findings"


def test_report_with_one_finding(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _report(tmp_path, FINDINGS[2:3])
    lines = _run(capsys, str(path))
    assert lines[0] == f"{path} (report): 1 finding"
    assert lines[1:4] == ["", "per kind:", "  1  never-awaited"]


def test_empty_report_prints_only_the_head(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _report(tmp_path, [])
    assert _run(capsys, str(path)) == [f"{path} (report): 0 findings"]


def test_top_truncates_the_tables_but_not_the_kinds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _report(tmp_path, FINDINGS)
    assert _run(capsys, str(path), "--top", "1")[1:] == [
        "",
        "per kind:",
        "  3  never-awaited",
        "  1  async-mock-for-sync",
        "  1  spec-is-data",
        "",
        "per file (where the misuse happens):",
        "  3  app/db.py",
        "     ... and 2 more (2)",
        "",
        "per test file:",
        "  2  tests/test_a.py",
        "     ... and 2 more (3)",
        "",
        "top subjects (the mocks as the tests name them):",
        "  2  db.execute",
        "     ... and 3 more (3)",
    ]


def test_counts_are_right_aligned(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    findings = [
        _finding("never-awaited", f"tests/test_many.py::test_{n}", "db.execute", "app/db.py") for n in range(12)
    ]
    findings += [_finding("spec-is-data", "tests/test_one.py::test_it", "settings", "app/config.py") for _ in range(2)]
    findings.append(_finding("coroutine-misuse", "tests/test_one.py::test_it", "queue.get", "app/queue.py"))
    path = _report(tmp_path, findings)
    lines = _run(capsys, str(path), "--top", "1")
    assert lines[0] == f"{path} (report): 15 findings"
    assert lines[2:6] == ["per kind:", "  12  never-awaited", "   2  spec-is-data", "   1  coroutine-misuse"]
    assert lines[7:10] == ["per file (where the misuse happens):", "  12  app/db.py", "      ... and 2 more (3)"]


def test_baseline_summary_weights_entries_by_count(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    entries = Counter(
        {
            Key("app/db.py", "tests/test_a.py::test_one", "never-awaited", "db.execute", "db.execute()"): 3,
            Key("app/db.py", "tests/test_b.py::test_two", "never-awaited", "db.commit", "db.commit()"): 1,
            Key("app/config.py", "<session fixture settings>", "spec-is-data", "settings", "settings.x"): 2,
        }
    )
    path = tmp_path / "baseline.json"
    path.write_text(_baseline.render(entries), encoding="utf-8")
    assert _run(capsys, str(path)) == [
        f"{path} (baseline): 6 findings",
        "",
        "per kind:",
        "  4  never-awaited",
        "  2  spec-is-data",
        "",
        "per file (where the misuse happens):",
        "  4  app/db.py",
        "  2  app/config.py",
        "",
        "per test file:",
        "  3  tests/test_a.py",
        "  2  <session fixture settings>",
        "  1  tests/test_b.py",
        "",
        "top subjects (the mocks as the tests name them):",
        "  3  db.execute",
        "  2  settings",
        "  1  db.commit",
    ]


def test_empty_baseline(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "baseline.json"
    path.write_text(_baseline.render(Counter()), encoding="utf-8")
    assert _run(capsys, str(path)) == [f"{path} (baseline): 0 findings"]


# --- errors ---------------------------------------------------------------------------------------------


def _error(capsys: pytest.CaptureFixture[str], path: Path) -> str:
    assert main([str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("asyncmock-guard: ")
    assert err.endswith("\n")
    assert str(path) in err
    return err


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "nope.json"
    assert _error(capsys, path) == f"asyncmock-guard: {path} does not exist\n"


def test_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _error(capsys, tmp_path).startswith(f"asyncmock-guard: {tmp_path} cannot be read (")


def test_invalid_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "report.json"
    path.write_text('{"findings": [', encoding="utf-8")
    assert _error(capsys, path).startswith(f"asyncmock-guard: {path} is not valid JSON (")


@pytest.mark.parametrize("document", [{"version": 1}, [], {"findings": {}}, "findings"])
def test_neither_report_nor_baseline(tmp_path: Path, capsys: pytest.CaptureFixture[str], document: object) -> None:
    path = _write(tmp_path, document)
    assert _error(capsys, path) == (
        f'asyncmock-guard: {path} is neither a report ("findings") nor a baseline ("entries")\n'
    )


@pytest.mark.parametrize(
    "bad",
    [
        "never-awaited",
        {key: value for key, value in FINDINGS[0].items() if key != "kind"},
        dict(FINDINGS[0], subject=None),
        dict(FINDINGS[0], where="app/db.py:7"),
        dict(FINDINGS[0], where={"line": 7}),
    ],
)
def test_malformed_finding(tmp_path: Path, capsys: pytest.CaptureFixture[str], bad: object) -> None:
    path = _report(tmp_path, [FINDINGS[1], bad])
    assert _error(capsys, path) == (
        f"asyncmock-guard: {path}: finding 2 is malformed (kind, subject and where.path are needed)\n"
    )


def test_malformed_baseline(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    entry = {"test": "t", "kind": "never-awaited-ish", "subject": "s", "path": "p", "line_text": "x", "count": 1}
    path = _write(tmp_path, {"version": 1, "entries": [entry]}, "baseline.json")
    assert _error(capsys, path) == (
        f"asyncmock-guard: the baseline {path} is malformed: entry 1 has the unknown kind 'never-awaited-ish'\n"
    )


def test_baseline_of_another_version(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, {"version": 2, "entries": []}, "baseline.json")
    assert "has version 2; this version of the guard reads version 1" in _error(capsys, path)


@pytest.mark.parametrize("top", ["0", "-2", "many"])
def test_bad_top_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str], top: str) -> None:
    path = _report(tmp_path, FINDINGS)
    with pytest.raises(SystemExit) as excinfo:
        main([str(path), "--top", top])
    assert excinfo.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("usage: asyncmock-guard ")
    assert "--top" in err.splitlines()[-1]


def test_no_file_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as excinfo:
        main([])
    assert excinfo.value.code == 2
    assert "the following arguments are required: file" in capsys.readouterr().err


# --- python -m asyncmock_guard ---------------------------------------------------------------------------


def test_python_m_runs_the_summary(tmp_path: Path) -> None:
    path = _report(tmp_path, FINDINGS)
    result = subprocess.run(
        [sys.executable, "-m", "asyncmock_guard", str(path), "--top", "2"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[0] == f"{path} (report): 5 findings, 2 baselined, 3 new"
    assert "top subjects (the mocks as the tests name them):" in lines


def test_python_m_reports_errors(tmp_path: Path) -> None:
    path = tmp_path / "nope.json"
    result = subprocess.run(
        [sys.executable, "-m", "asyncmock_guard", str(path)],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == f"asyncmock-guard: {path} does not exist\n"


# --- the installed command's exit statuses, as the README says them ------------------------------------------


def test_the_readme_says_the_exit_statuses() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    paragraph = readme.split("`asyncmock-guard FILE` (or `python -m asyncmock_guard FILE`)", 1)[1].split("\n\n")[0]
    assert "exit status is 0 when it printed the summary, and 2 when it\ncould not" in paragraph


def test_the_installed_command_exits_0_or_2(tmp_path: Path) -> None:
    """The console script, as a CI step runs it: 0 for a summary; 2 for a missing, corrupt or foreign file
    and for a wrong command line."""
    script = shutil.which("asyncmock-guard", path=os.path.dirname(sys.executable)) or shutil.which("asyncmock-guard")
    if script is None:
        pytest.skip("the console script is not installed next to this Python")
    corrupt = tmp_path / "corrupt.json"
    corrupt.write_text("{", encoding="utf-8")
    foreign = _write(tmp_path, {"something": "else"}, "foreign.json")
    cases = {
        (str(_report(tmp_path, FINDINGS)),): 0,
        (str(tmp_path / "missing.json"),): 2,
        (str(corrupt),): 2,
        (str(foreign),): 2,
        (str(corrupt), "--top", "0"): 2,
        (): 2,
        ("--help",): 0,
    }
    for arguments, status in cases.items():
        completed = subprocess.run([script, *arguments], capture_output=True, text=True, check=False, timeout=60)
        assert completed.returncode == status, (arguments, completed.stderr)
        if status == 2:
            assert completed.stderr.strip(), arguments


# --- asyncmock-guard explain -------------------------------------------------------------------------------


def test_explain_lists_the_kinds_with_one_line_each(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain"]) == 0
    lines = capsys.readouterr().out.splitlines()
    kinds = [kind.value for kind in FindingKind]
    assert [line.split()[0] for line in lines[: len(kinds)]] == kinds
    assert all(len(line.split(maxsplit=1)[1]) > 20 for line in lines[: len(kinds)])
    assert lines[-1] == "asyncmock-guard explain KIND shows a kind's page."


def test_explain_kind_prints_its_page(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "spec-is-data"]) == 0
    page = Path(__file__).parent.parent / "docs" / "kinds" / "spec-is-data.md"
    assert capsys.readouterr().out == page.read_text(encoding="utf-8")


@pytest.mark.parametrize("argv", [["nonsense"], ["spec-is-data", "never-awaited"], ["Spec-Is-Data"]])
def test_explain_an_unknown_kind_lists_the_kinds(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    assert main(["explain", *argv]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"asyncmock-guard explain: unknown kind {' '.join(argv)!r}; the kinds are: never-awaited, ")


def test_the_pages_ship_in_the_wheel() -> None:
    """The wheel maps docs/kinds to asyncmock_guard/kinds, where ``explain`` looks first (an editable install
    finds them in the source tree)."""
    pyproject = (Path(__file__).parent.parent / "pyproject.toml").read_text(encoding="utf-8")
    assert '[tool.hatch.build.targets.wheel.force-include]\n"docs/kinds" = "asyncmock_guard/kinds"' in pyproject
    found = _explain.pages()
    assert found is not None
    assert {page.stem for page in found.glob("*.md")} == {
        page.stem for page in (Path(__file__).parent.parent / "docs" / "kinds").glob("*.md")
    }
