"""The README's two opening commands work on a fresh copy of the project: the first installs the package
into a new virtual environment and runs the guard on the example suite (whose wrong tests fail, on
purpose); the second is the test command CI runs (``.ci/run``)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).parent.parent
_NOT_COPIED = shutil.ignore_patterns(
    ".git", ".nox", "__pycache__", "*.egg-info", ".mypy_cache", ".ruff_cache", ".pytest_cache", "build", "dist"
)


def _commands() -> list[str]:
    readme = (REPOSITORY / "README.md").read_text(encoding="utf-8")
    block = readme.split("```bash\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip() and not line.startswith("#")]


def test_the_readme_opens_with_the_two_commands() -> None:
    install_and_run, tests = _commands()
    assert re.fullmatch(
        r"python3 -m venv (\S+) && \1/bin/pip install -q '\.\[test\]' && \1/bin/pytest -p asyncmock_guard"
        r" -c examples/pytest\.ini examples",
        install_and_run,
    ), install_and_run
    assert re.fullmatch(
        r"python3 -m venv (\S+) && \1/bin/pip install -q -e '\.\[test\]' && \1/bin/pytest -n auto", tests
    ), tests
    ci = (REPOSITORY / ".ci" / "run").read_text(encoding="utf-8")
    assert "pip\" install --quiet -e '.[test]'" in ci.replace('python" -m pip', 'pip"')
    assert '"$venv/bin/pytest" -n auto' in ci


@pytest.mark.skipif(os.name != "posix" or shutil.which("bash") is None, reason="the README's commands are bash")
def test_the_first_command_installs_and_runs_the_guard_on_a_fresh_copy(tmp_path: Path) -> None:
    """Run as written (the virtual environment in a temporary directory), from a copy of the project."""
    copy = tmp_path / "project"
    shutil.copytree(REPOSITORY, copy, ignore=_NOT_COPIED)
    install_and_run = _commands()[0]
    venv = re.match(r"python3 -m venv (\S+)", install_and_run)
    assert venv is not None
    command = install_and_run.replace(venv.group(1), str(tmp_path / "venv"))
    python = os.path.dirname(sys.executable)  # ``python3`` on the PATH is this test run's Python
    environment = {**os.environ, "PATH": f"{python}{os.pathsep}{os.environ.get('PATH', '')}"}
    environment.pop("PYTHONPATH", None)
    completed = subprocess.run(
        ["bash", "-c", f"{command} -p no:randomly -p no:cacheprovider"],
        cwd=copy,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    assert completed.returncode == 1, completed.stdout[-3000:] + completed.stderr[-3000:]  # the wrong tests fail
    assert "= asyncmock-guard =" in completed.stdout
    assert "12 findings:" in completed.stdout
    assert re.search(r"12 failed, 12 passed", completed.stdout), completed.stdout[-2000:]
