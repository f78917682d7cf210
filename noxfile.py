"""nox sessions: the tests on every supported Python, lint, type checks, and the benchmark.

nox                 # tests-3.10 ... tests-3.13, tests_oldest_pytest, lint, typecheck
nox -s bench        # the overhead benchmark (not a test)
"""

from __future__ import annotations

import glob
import os

import nox

PYTHONS = ["3.10", "3.11", "3.12", "3.13"]
nox.options.sessions = ["tests", "tests_oldest_pytest", "lint", "typecheck"]
nox.options.reuse_existing_virtualenvs = True

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
    listening, so the guard collects fully itself (see ``GuardPlugin._collect_lost_coroutines``)."""
    session.install("-e", ".[test]", "pytest==8.4.2")
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
