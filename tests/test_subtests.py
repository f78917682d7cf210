"""Subtests (pytest 9's ``subtests`` fixture and ``unittest``'s ``self.subTest``; the pytest-subtests plugin on
pytest 8): each reports its own call phase. A finding made inside a subtest is that subtest's: strict mode fails
the subtest, and so its test; the finding keeps the test's node id and names the subtest; a subtest without
findings is left alone; and the end of one subtest is not the end of the test's call phase."""

from __future__ import annotations

import pytest

from _guardrun import line_of, run_guard, write_project

_HAS_SUBTESTS = hasattr(pytest, "Subtests")  # pytest 9 made them part of pytest
if not _HAS_SUBTESTS:  # pragma: no cover - pytest 8 with the pytest-subtests plugin
    pytest.importorskip("pytest_subtests")

APP = """
class Mailer:
    def __init__(self, client):
        self.client = client

    def send(self, to):
        self.client.send(to)  # <-- dropped
"""

SUBTESTS = """
from unittest.mock import AsyncMock

import app


def test_mail(subtests):
    client = AsyncMock()
    with subtests.test(msg="first"):
        app.Mailer(client).send("a")
    with subtests.test(msg="clean", n=2):
        assert client.send.call_count == 1
    with subtests.test(msg="third"):
        app.Mailer(client).send("c")


def test_untouched(subtests):
    with subtests.test(msg="only"):
        assert True
"""

UNITTEST = """
import unittest
from unittest.mock import AsyncMock

import app


class TestMail(unittest.TestCase):
    def test_mail(self):
        client = AsyncMock()
        for n in range(3):
            with self.subTest(n=n):
                if n == 1:
                    app.Mailer(client).send("b")
"""

WHERE = {"path": "app.py", "line": line_of(APP, "<-- dropped")}


def _subtest_failed(subtest: str, nodeid: str, output: str) -> bool:
    """The short summary's line of a failed subtest: pytest 9's ``SUBFAILED[msg] nodeid``, pytest-subtests'
    ``[msg] SUBFAIL nodeid``."""
    return f"SUBFAILED{subtest} {nodeid}" in output or f"{subtest} SUBFAIL {nodeid}" in output


def test_a_finding_in_a_subtest_fails_that_subtest_and_its_test(pytester: pytest.Pytester) -> None:
    write_project(pytester, app=APP, test_case=SUBTESTS)
    run = run_guard(pytester, "strict", "-rA")
    assert [(f["nodeid"], f["subtest"]) for f in run.findings] == [
        ("test_case.py::test_mail", "[first]"),
        ("test_case.py::test_mail", "[third]"),
    ]
    for finding in run.findings:
        assert finding["kind"] == "never-awaited"
        assert finding["subject"] == "client.send"  # named by the test, also after the first subtest ended
        assert finding["phase"] == "call"
        assert finding["where"] == WHERE
    output = run.output
    assert _subtest_failed("[first]", "test_case.py::test_mail", output)
    assert _subtest_failed("[third]", "test_case.py::test_mail", output)
    assert "FAILED test_case.py::test_mail" in output
    assert "asyncmock-guard (strict): 2 of its subtests failed for findings" in output
    assert "PASSED test_case.py::test_untouched" in output
    assert "test_case.py::test_mail [first]  never-awaited  client.send  app.py:" in output
    assert run.result.ret == 1


def test_a_subtest_without_findings_is_left_alone(pytester: pytest.Pytester) -> None:
    write_project(pytester, app=APP, test_case=SUBTESTS)
    run = run_guard(pytester, "strict", "-rA")
    assert not _subtest_failed("[clean] (n=2)", "test_case.py::test_mail", run.output)
    assert not _subtest_failed("[only]", "test_case.py::test_untouched", run.output)
    assert "PASSED test_case.py::test_untouched" in run.output
    assert {f["subtest"] for f in run.findings} == {"[first]", "[third]"}
    run.result.assert_outcomes(failed=3, passed=1)  # two subtests and their test; the other test


def test_warn_mode_keeps_every_outcome_and_names_the_subtest(pytester: pytest.Pytester) -> None:
    write_project(pytester, app=APP, test_case=SUBTESTS)
    plain = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:randomly", "-q")
    run = run_guard(pytester, "warn", "-q")
    assert plain.parseoutcomes().get("passed") == run.result.parseoutcomes().get("passed") == 2
    assert not run.result.parseoutcomes().get("failed")
    assert [f["subtest"] for f in run.findings] == ["[first]", "[third]"]
    assert run.result.ret == 0


def test_unittest_subtests(pytester: pytest.Pytester) -> None:
    write_project(pytester, app=APP, test_case=UNITTEST)
    run = run_guard(pytester, "strict", "-rA")
    finding = run.only()
    assert finding["nodeid"] == "test_case.py::TestMail::test_mail"
    assert finding["subtest"] == "(n=1)"
    assert finding["subject"] == "client.send"
    assert _subtest_failed("(n=1)", "test_case.py::TestMail::test_mail", run.output)
    assert "FAILED test_case.py::TestMail::test_mail" in run.output
    assert "asyncmock-guard (strict): 1 of its subtests failed for findings" in run.output


UNITTEST_SEVERAL = """
import unittest
from unittest.mock import AsyncMock

import app


class TestMail(unittest.TestCase):
    def test_mail(self):
        for n in range(4):
            with self.subTest("sending", n=n):
                client = AsyncMock()
                if n in (1, 3):
                    app.Mailer(client).send(n)
                if n == 2:
                    AsyncMock({"id": 1}).get("id")  # the data as the spec
"""


@pytest.mark.parametrize("mode", ["strict", "warn"])
def test_unittest_subtests_each_get_their_own_findings(pytester: pytest.Pytester, mode: str) -> None:
    """Before Python 3.11 unittest reports every subtest after the test method returns: a finding still
    belongs to the subtest it was made in, a dropped coroutine (diagnosed later) and a value misuse alike."""
    write_project(pytester, app=APP, test_case=UNITTEST_SEVERAL)
    run = run_guard(pytester, mode, "-rA")
    nodeid = "test_case.py::TestMail::test_mail"
    assert sorted((f["nodeid"], f["subtest"], f["kind"]) for f in run.findings) == [
        (nodeid, "[sending] (n=1)", "never-awaited"),
        (nodeid, "[sending] (n=2)", "spec-is-data"),
        (nodeid, "[sending] (n=3)", "never-awaited"),
    ]
    if mode == "strict":
        for n in (1, 2, 3):
            assert _subtest_failed(f"[sending] (n={n})", nodeid, run.output)
        assert not _subtest_failed("[sending] (n=0)", nodeid, run.output)
        assert "asyncmock-guard (strict): 3 of its subtests failed for findings" in run.output
    else:
        assert "SUBFAILED" not in run.output
        assert run.result.ret == 0


def test_subtests_under_xdist_give_the_same_findings(pytester: pytest.Pytester) -> None:
    write_project(pytester, app=APP, test_case=SUBTESTS)
    serial = run_guard(pytester, "strict").findings
    parallel = run_guard(pytester, "strict", "-n", "2").findings
    key = [(f["nodeid"], f["subtest"], f["subject"], f["where"]["line"]) for f in serial]
    assert sorted(key) == sorted((f["nodeid"], f["subtest"], f["subject"], f["where"]["line"]) for f in parallel)
    assert len(key) == 2


HELD = """
import unittest
from unittest.mock import AsyncMock


def test_ready(subtests):
    client = AsyncMock()
    with subtests.test(msg="probe"):
        state = client.is_ready()
        assert state  # <-- pytest subtest
    with subtests.test(msg="clean"):
        assert client.is_ready.call_count == 1


class TestReady(unittest.TestCase):
    def test_ready(self):
        client = AsyncMock()
        with self.subTest("probe"):
            state = client.is_ready()
            assert state  # <-- unittest subtest
        with self.subTest("clean"):
            assert client.is_ready.call_count == 1
"""


@pytest.mark.parametrize("mode", ["strict", "warn"])
def test_a_value_use_whose_coroutine_outlives_its_subtest_is_that_subtests(
    pytester: pytest.Pytester, mode: str
) -> None:
    """A coroutine used as a value is a finding only once it is known not to be awaited after all: when it
    is dropped, or when the subtest that used it ends (here a local of the test keeps it alive)."""
    write_project(pytester, test_case=HELD)
    run = run_guard(pytester, mode, "-rA")
    found = sorted((f["nodeid"], f["subtest"], f["kind"], f["operation"], f["where"]["line"]) for f in run.findings)
    assert found == [
        (
            "test_case.py::TestReady::test_ready",
            "[probe]",
            "coroutine-misuse",
            "truth test",
            line_of(HELD, "<-- unittest"),
        ),
        ("test_case.py::test_ready", "[probe]", "coroutine-misuse", "truth test", line_of(HELD, "<-- pytest subtest")),
    ]
    assert {f["subject"] for f in run.findings} == {"client.is_ready"}
    if mode == "strict":
        assert _subtest_failed("[probe]", "test_case.py::test_ready", run.output)
        assert _subtest_failed("[probe]", "test_case.py::TestReady::test_ready", run.output)
        assert not _subtest_failed("[clean]", "test_case.py::test_ready", run.output)
        assert run.result.ret == 1
    else:
        assert run.result.ret == 0
