"""The pytest runs ``asyncmock-guard fix`` makes: the user's own command line (paths, ``-k``, ``-c``, ``-n``...)
with the guard in warn mode, its report, and each test's outcome (``_fix_plugin``), optionally only for some
tests. Each run is a subprocess: the guard instruments the process it runs in."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from typing import Any, NamedTuple

from asyncmock_guard import _fix_plugin

# pytest's exit statuses after which the run's report says what the tests did
_RAN = (0, 1, 5)  # tests passed, some failed, none collected


class RunError(Exception):
    """pytest could not run the tests (a usage error, an internal error, an interruption)."""


class Run(NamedTuple):
    findings: list[dict[str, Any]]
    outcomes: dict[str, str]  # node id -> the worst of its reports (see ``_fix_plugin.ORDER``)
    rootdir: str
    baseline: dict[str, Any] | None  # the report's baseline section
    output: str  # what pytest printed, when it was captured


class Runner:
    def __init__(self, pytest_args: Sequence[str], directory: str) -> None:
        self.pytest_args = list(pytest_args)
        self.directory = directory  # the fix run's temporary directory
        self.runs = 0

    def run(self, select: Sequence[str] | None = None, *, show: bool = False) -> Run:
        """Run the suite (``select``: only those node ids; none selected runs collection alone); ``show``:
        pytest's own output goes to the terminal (the first run's progress), else it is captured."""
        self.runs += 1
        base = os.path.join(self.directory, f"run-{self.runs}")
        report, outcomes = f"{base}-report.json", f"{base}-outcomes.json"
        environment = dict(os.environ)
        environment[_fix_plugin.OUTCOMES_ENV] = outcomes
        environment.pop(_fix_plugin.SELECT_ENV, None)
        if select is not None:
            selection = f"{base}-select.json"
            with open(selection, "w", encoding="utf-8") as stream:
                json.dump(sorted(select), stream)
            environment[_fix_plugin.SELECT_ENV] = selection
        command = [
            sys.executable,
            "-m",
            "pytest",
            *self.pytest_args,
            "-p",
            "asyncmock_guard",
            "-p",
            "asyncmock_guard._fix_plugin",
            "--asyncmock-guard=warn",  # after the user's: the last mode given wins
            f"--asyncmock-guard-report={report}",
        ]
        completed = subprocess.run(  # noqa: S603 - the user's own pytest command line, as they gave it
            command,
            env=environment,
            check=False,
            text=True,
            stdout=None if show else subprocess.PIPE,
            stderr=None if show else subprocess.STDOUT,
        )
        output = completed.stdout or ""
        if completed.returncode not in _RAN:
            raise RunError(
                f"pytest exited with status {completed.returncode}" + (f":\n{output[-3000:]}" if output else "")
            )
        try:
            with open(report, encoding="utf-8") as stream:
                document = json.load(stream)
            with open(outcomes, encoding="utf-8") as stream:
                tests = json.load(stream)
        except (OSError, ValueError) as error:
            raise RunError(f"the run left no report of its findings ({error})") from None
        return Run(
            document["findings"], tests, document.get("rootdir") or os.getcwd(), document.get("baseline"), output
        )
