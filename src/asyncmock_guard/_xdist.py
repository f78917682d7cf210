"""What crosses between pytest-xdist's processes: each worker's findings, and what it covered.

A worker attaches the findings of each test to that test's report (an extra attribute, which pytest
serializes); what surfaces after its last test goes with its final output; what only pytest's final
garbage collection finds, after that output has gone, it leaves in a file in a directory the controller
named, which the controller reads once every worker has ended. A worker that pytest-timeout ends in the
middle of a test (see ``_timeout``) leaves that test's findings there too, read when the worker goes down.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import pytest

from asyncmock_guard import _files
from asyncmock_guard._baseline import Key
from asyncmock_guard._findings import Finding

if TYPE_CHECKING:
    from asyncmock_guard._plugin import GuardPlugin

PLUGIN_NAME = "asyncmock-guard-xdist"
_REPORT_ATTRIBUTE = "asyncmock_guard"  # the findings a worker attaches to a test report
_WORKER_OUTPUT_KEY = "asyncmock_guard"
_USAGE_ERROR_KEY = "asyncmock_guard_usage_error"
_LATE_DIRECTORY_KEY = "asyncmock_guard_late"  # in a worker's workerinput: where it leaves its late findings
LATE = "late"  # what a worker leaves: found by pytest's final collection
KILLED = "killed"  # found in the test during which the worker was ended


def _encoded(value: object) -> str:
    """What goes to the controller, as JSON text: execnet refuses a string with a lone surrogate (a mock's
    name decoded from bytes that were not UTF-8), which JSON escapes."""
    return json.dumps(value)


def _decoded(text: object, default: Any) -> Any:
    return json.loads(text) if isinstance(text, str) else default


def attach(report: pytest.TestReport, findings: Iterable[Finding]) -> None:
    """A worker's findings of a test phase, on the report that goes to the controller."""
    wire = [*attached(report), *(finding.to_wire() for finding in findings)]
    setattr(report, _REPORT_ATTRIBUTE, _encoded(wire))


def attached(report: pytest.TestReport) -> list[dict[str, Any]]:
    """What a worker attached to a report (the controller received it)."""
    wire = _decoded(getattr(report, _REPORT_ATTRIBUTE, None), [])
    return wire if isinstance(wire, list) else []


def send_to_controller(config: pytest.Config, after_last_test: Iterable[Finding], covered: Iterable[Key]) -> None:
    """A worker's last word: findings made after its last test (those made during a test went with its
    report), and which baseline entries outside the tests it covered."""
    output: dict[str, Any] = config.workeroutput  # type: ignore[attr-defined]
    output[_WORKER_OUTPUT_KEY] = _encoded(
        {"findings": [finding.to_wire() for finding in after_last_test], "covered": [tuple(key) for key in covered]}
    )


def usage_error(config: pytest.Config, message: str) -> None:
    """A worker found a usage error (a marker with an unknown mode): its controller raises it."""
    config.workeroutput[_USAGE_ERROR_KEY] = message  # type: ignore[attr-defined]


def leave_for_controller(config: pytest.Config, findings: list[Finding], kind: str = LATE) -> None:
    """A worker's findings that its output to the controller cannot carry (it has gone, or never will go):
    pytest's final collection's (``LATE``), or those of the test during which it is ended (``KILLED``). They
    go to a file in the directory the controller named."""
    directory = getattr(config, "workerinput", {}).get(_LATE_DIRECTORY_KEY)
    if not isinstance(directory, str) or not os.path.isdir(directory):
        return
    worker = str(config.workerinput.get("workerid", os.getpid()))  # type: ignore[attr-defined]
    document = json.dumps([finding.to_wire() for finding in findings])
    _files.write_text(os.path.join(directory, f"{worker}.{kind}.json"), document)


def _read(path: str) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as stream:
        wire: list[dict[str, Any]] = json.load(stream)
        return wire


def late_from_workers(directory: str, shielded: Callable[[], contextlib.AbstractContextManager[None]]) -> list[Finding]:
    """What the workers' final collections found (see ``leave_for_controller``), in the order of their
    names; a file that cannot be read is an internal error (``shielded``), and the others still count."""
    late: list[Finding] = []
    for name in sorted(os.listdir(directory)):
        if name.endswith(f".{LATE}.json"):
            with shielded():
                late.extend(Finding.from_wire(entry) for entry in _read(os.path.join(directory, name)))
    return late


class XdistController:
    """Hooks that exist only with pytest-xdist, registered on its controller (pytest rejects a plugin
    that implements a hook nobody declared)."""

    def __init__(self, guard: GuardPlugin) -> None:
        self.guard = guard

    def pytest_configure_node(self, node: Any) -> None:
        if self.guard.late_directory is not None:
            node.workerinput[_LATE_DIRECTORY_KEY] = self.guard.late_directory

    def pytest_testnodedown(self, node: Any) -> None:
        output = getattr(node, "workeroutput", None)
        if isinstance(output, dict) and isinstance(output.get(_USAGE_ERROR_KEY), str):
            raise pytest.UsageError(output[_USAGE_ERROR_KEY])
        last = _decoded(output.get(_WORKER_OUTPUT_KEY), None) if isinstance(output, dict) else None
        if isinstance(last, dict):
            self.guard.worker_finished(last.get("findings", []), [Key(*fields) for fields in last.get("covered", [])])
        directory = self.guard.late_directory
        worker = getattr(node, "workerinput", {}).get("workerid")
        killed = os.path.join(directory, f"{worker}.{KILLED}.json") if directory and worker else None
        if killed is not None and os.path.exists(killed):  # ended in a test (see _timeout): its findings
            with self.guard.errors.shielded():
                self.guard.outcomes.received_of_ended_test(_read(killed))
