"""nox sessions: the tests on every supported Python, lint, type checks, and the benchmark.

nox                 # tests-3.10 ... tests-3.15, tests_oldest_pytest, tests_lowest, lint, typecheck
nox -s tests_lowest # the tests on the lowest versions pyproject.toml allows, on Python 3.10
nox -s bench        # the overhead benchmark (not a test)

tests_lowest installs every runtime dependency and test extra at the lowest version pyproject.toml allows
(uv's ``--resolution lowest-direct``; what they depend on in turn at the newest they allow) and runs the
whole suite with ``PYTHONDEVMODE=1``: a floor in pyproject.toml that is too low fails it. It runs on the
lowest supported Python, 3.10, where every floor has wheels. uv is installed into the session's venv.

A session whose Python is not installed is skipped ("Session ... skipped: Python interpreter 3.10 not
found."), on CI too, where nox would otherwise fail it; ``--error-on-missing-interpreters`` fails it.
"""

from __future__ import annotations

import glob
import os

import nox

PYTHONS = ["3.10", "3.11", "3.12", "3.13", "3.14", "3.15"]
nox.options.sessions = ["tests", "tests_oldest_pytest", "tests_lowest", "lint", "typecheck"]
nox.options.reuse_existing_virtualenvs = True
# nox's default is to fail such a session when CI is set (and to skip it elsewhere): skip it everywhere.
nox.options.error_on_missing_interpreters = False

# pyenv installs every version but puts only the global one on PATH (its shims refuse the others):
# make pythonX.Y findable when pyenv's version directories exist. Elsewhere this does nothing.
_PYENV_BINS = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.1[0-9]*/bin")))
if _PYENV_BINS:
    os.environ["PATH"] = os.pathsep.join([*_PYENV_BINS, os.environ.get("PATH", "")])


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs, env={"PYTHONDEVMODE": "1"})


@nox.session(python="3.12")
def tests_oldest_pytest(session: nox.Session) -> None:
    """The last pytest 8: its final garbage collection runs in a cleanup, after the guard has stopped
    listening, so the guard collects fully itself (see ``GuardPlugin._collect_lost_coroutines``); and its
    subtests come from the pytest-subtests plugin (tests/test_subtests.py), not from pytest."""
    session.install("-e", ".[test]", "pytest==8.4.2", "pytest-subtests>=0.13")
    session.run("pytest", *session.posargs, env={"PYTHONDEVMODE": "1"})


@nox.session(python="3.10")
def tests_lowest(session: nox.Session) -> None:
    """The lowest versions pyproject.toml allows, on the lowest supported Python (see the module docstring)."""
    session.install("uv")
    # --reinstall: a reused venv keeps what an earlier run installed, and uv would keep any version of it
    # that satisfies pyproject.toml; reinstalling resolves the lowest versions afresh.
    python = ("--python", os.path.join(session.bin, "python"))
    session.run("uv", "pip", "install", *python, "--reinstall", "--resolution", "lowest-direct", "-e", ".[test]")
    session.run("uv", "pip", "freeze", *python)
    session.run("pytest", *session.posargs, env={"PYTHONDEVMODE": "1"})


@nox.session(python="3.12")
def lint(session: nox.Session) -> None:
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=["3.10", "3.13"])
def typecheck(session: nox.Session) -> None:
    session.install("-e", ".[test]", "mypy", "nox")
    session.run("mypy", "--strict", "--python-version", str(session.python))


@nox.session(python="3.12")
def bench(session: nox.Session) -> None:
    session.install("-e", ".[test]")
    session.run("python", "benchmarks/bench.py", *session.posargs)
