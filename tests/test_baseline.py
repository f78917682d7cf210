"""The baseline: record today's findings, fail only on new ones, report the fixed ones as stale."""

from __future__ import annotations

import json
import os
import stat
import textwrap
from pathlib import Path
from typing import Any

import pytest

from _guardrun import INI, GuardRun, run_guard, write_project

APP = """
def save(db, item):
    db.add(item)


def ping(client):
    client.ping()


def remember(cache, key):
    cache.set(key, 1)


def publish(bus, event):
    bus.publish(event)
"""

# Three tests that pass while testing nothing: each sync call on an AsyncMock makes a coroutine nobody awaits.
LEGACY = """
from unittest.mock import AsyncMock
import app


def test_save():
    db = AsyncMock()
    app.save(db, 1)


def test_ping():
    client = AsyncMock()
    app.ping(client)


def test_remember():
    cache = AsyncMock()
    app.remember(cache, "k")
"""

BASELINE = "asyncmock-guard-baseline.json"


def _baseline_args(*extra: str) -> tuple[str, ...]:
    return (f"--asyncmock-guard-baseline={BASELINE}", *extra)


def _update(pytester: pytest.Pytester, *args: str) -> GuardRun:
    return run_guard(pytester, "strict", *_baseline_args("--asyncmock-guard-update-baseline", *args))


def _entries(pytester: pytest.Pytester) -> list[dict[str, Any]]:
    document = json.loads((pytester.path / BASELINE).read_text())
    entries: list[dict[str, Any]] = document["entries"]
    return entries


def _tests_in(pytester: pytest.Pytester) -> list[str]:
    return sorted(entry["test"] for entry in _entries(pytester))


def _write(pytester: pytest.Pytester, name: str, source: str) -> None:
    (pytester.path / f"{name}.py").write_text(textwrap.dedent(source).lstrip("\n"))


def test_round_trip_record_fix_one_add_one(pytester: pytest.Pytester) -> None:
    write_project(pytester, app=APP, test_legacy=LEGACY)

    # Step 1: record today's three findings; nothing fails while recording.
    recorded = _update(pytester)
    recorded.result.assert_outcomes(passed=3)
    assert recorded.result.ret == 0
    recorded.result.stdout.fnmatch_lines(
        [
            "3 findings (3 baselined, 0 new): 3 never-awaited",
            "test_legacy.py::test_ping  never-awaited  client.ping  app.py:6  (baselined)",
            f"baseline {BASELINE} updated: 3 added, 0 removed, 3 entries in all",
        ]
    )
    text = (pytester.path / BASELINE).read_text()
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert [entry["line_text"] for entry in _entries(pytester)] == [
        "client.ping()",  # sorted by file, then test
        "cache.set(key, 1)",
        "db.add(item)",
    ]
    assert all("line" not in entry for entry in _entries(pytester))  # line numbers change with every edit
    assert [finding["baselined"] for finding in recorded.findings] == [True, True, True]

    # Step 2: with the baseline, strict mode passes and still lists them.
    accepted = run_guard(pytester, "strict", *_baseline_args())
    accepted.result.assert_outcomes(passed=3)
    assert accepted.result.ret == 0
    accepted.result.stdout.fnmatch_lines(["3 findings (3 baselined, 0 new): 3 never-awaited"])
    assert "stale" not in accepted.output
    assert "AsyncMockGuardWarning" not in accepted.output

    # Step 3: fix test_ping, add a new misuse, and move every line (unrelated edits above them).
    _write(pytester, "app", "# a comment\n\n" + textwrap.dedent(APP).lstrip("\n"))
    fixed_and_new = LEGACY.replace(
        "    client = AsyncMock()\n    app.ping(client)", "    client = MagicMock()\n    app.ping(client)"
    ).replace("import AsyncMock", "import AsyncMock, MagicMock")
    fixed_and_new += """

def test_publish():
    bus = AsyncMock()
    app.publish(bus, "created")
"""
    _write(pytester, "test_legacy", fixed_and_new)
    run = run_guard(pytester, "strict", *_baseline_args())
    run.result.assert_outcomes(passed=3, failed=1)
    run.result.stdout.fnmatch_lines(
        ["*_ test_publish _*", "asyncmock-guard (strict): 1 AsyncMock/coroutine misuse in this test"]
    )
    run.result.stdout.fnmatch_lines(
        [
            "*= asyncmock-guard =*",
            "3 findings (2 baselined, 1 new): 3 never-awaited",
            "test_legacy.py::test_publish  never-awaited  bus.publish  app.py:16",
            "test_legacy.py::test_remember  never-awaited  cache.set  app.py:12  (baselined)",
            "test_legacy.py::test_save  never-awaited  db.add  app.py:4  (baselined)",
            "1 stale baseline entry (not found again; --asyncmock-guard-update-baseline removes them):",
            "test_legacy.py::test_ping  never-awaited  client.ping  app.py: client.ping()",
        ]
    )
    assert {finding["nodeid"]: finding["baselined"] for finding in run.findings} == {
        "test_legacy.py::test_publish": False,
        "test_legacy.py::test_remember": True,
        "test_legacy.py::test_save": True,
    }
    [stale] = run.document["baseline"]["stale"]
    assert (stale["test"], stale["subject"]) == ("test_legacy.py::test_ping", "client.ping")

    # Step 4: the update takes the fix out and the new one in.
    updated = _update(pytester)
    updated.result.stdout.fnmatch_lines([f"baseline {BASELINE} updated: 1 added, 1 removed, 3 entries in all"])
    assert _tests_in(pytester) == [
        "test_legacy.py::test_publish",
        "test_legacy.py::test_remember",
        "test_legacy.py::test_save",
    ]
    assert run_guard(pytester, "strict", *_baseline_args()).result.ret == 0


def test_warn_mode_does_not_warn_for_baselined_findings(pytester: pytest.Pytester) -> None:
    write_project(pytester, app=APP, test_legacy=LEGACY)
    _update(pytester)
    run = run_guard(pytester, "warn", *_baseline_args())
    run.result.assert_outcomes(passed=3)
    assert "AsyncMockGuardWarning" not in run.output
    run.result.stdout.fnmatch_lines(["3 findings (3 baselined, 0 new): 3 never-awaited"])


def test_a_loop_is_one_entry_with_a_count(pytester: pytest.Pytester) -> None:
    write_project(
        pytester,
        app=APP,
        test_loop="""
        from unittest.mock import AsyncMock
        import app

        def test_loop():
            db = AsyncMock()
            for item in range({n}):
                app.save(db, item)
        """.replace("{n}", "2"),
    )
    _update(pytester)
    [entry] = _entries(pytester)
    assert entry["count"] == 2
    # the loop's one finding, made a third time, is more than the baseline recorded: new, and it fails
    _write(pytester, "test_loop", (pytester.path / "test_loop.py").read_text().replace("range(2)", "range(3)"))
    run = run_guard(pytester, "strict", *_baseline_args())
    run.result.assert_outcomes(failed=1)
    assert [(finding["baselined"], finding["count"]) for finding in run.findings] == [(False, 3)]
    # as many as recorded are accepted
    _write(pytester, "test_loop", (pytester.path / "test_loop.py").read_text().replace("range(3)", "range(2)"))
    run = run_guard(pytester, "strict", *_baseline_args())
    run.result.assert_outcomes(passed=1)
    assert [(finding["baselined"], finding["count"]) for finding in run.findings] == [(True, 2)]


SESSION_CONFTEST = """
from unittest.mock import AsyncMock
import pytest

@pytest.fixture(scope="session")
def warm_cache():
    cache = AsyncMock()
    cache.warm()
    return cache
"""


def test_partial_runs_keep_the_entries_of_tests_that_did_not_run(pytester: pytest.Pytester) -> None:
    write_project(
        pytester,
        app=APP,
        test_a=LEGACY,
        test_b="""
        from unittest.mock import AsyncMock
        import app

        def test_publish(warm_cache):
            bus = AsyncMock()
            app.publish(bus, "created")
        """,
        conftest=SESSION_CONFTEST,
    )
    _update(pytester)
    assert _tests_in(pytester) == [
        "<session fixture warm_cache>",
        "test_a.py::test_ping",
        "test_a.py::test_remember",
        "test_a.py::test_save",
        "test_b.py::test_publish",
    ]

    # Fix test_b.py's misuse and its fixture's, then update with test_a.py only (a path subset):
    # test_b.py's entries stay, although they no longer occur, because test_b.py did not run.
    _write(pytester, "test_b", (pytester.path / "test_b.py").read_text().replace("AsyncMock()", "MagicMock()"))
    _write(pytester, "test_b", "from unittest.mock import MagicMock\n" + (pytester.path / "test_b.py").read_text())
    _write(pytester, "conftest", SESSION_CONFTEST.replace("    cache.warm()\n", ""))
    subset = _update(pytester, "test_a.py")
    subset.result.stdout.fnmatch_lines(
        [f"baseline {BASELINE} updated: 0 added, 0 removed, 5 entries in all (2 kept for tests that did not run)"]
    )
    assert len(_entries(pytester)) == 5
    assert "stale" not in run_guard(pytester, "strict", *_baseline_args("test_a.py")).output

    # -k deselects: the same
    _update(pytester, "-k", "ping or save")
    assert len(_entries(pytester)) == 5

    # The whole suite: now test_b.py and the session fixture are known to be fixed.
    check = run_guard(pytester, "strict", *_baseline_args())
    check.result.stdout.fnmatch_lines(
        [
            "2 stale baseline entries (not found again; --asyncmock-guard-update-baseline removes them):",
            "test_b.py::test_publish  never-awaited  bus.publish  app.py: bus.publish(event)",
            "<session fixture warm_cache>  never-awaited  cache.warm  conftest.py: cache.warm()",
        ]
    )
    full = _update(pytester)
    full.result.stdout.fnmatch_lines([f"baseline {BASELINE} updated: 0 added, 2 removed, 3 entries in all"])
    assert _tests_in(pytester) == ["test_a.py::test_ping", "test_a.py::test_remember", "test_a.py::test_save"]


def test_skipped_tests_keep_their_entries(pytester: pytest.Pytester) -> None:
    write_project(pytester, app=APP, test_legacy=LEGACY)
    _update(pytester)
    skipped = LEGACY.replace("def test_ping", "@pytest.mark.skip\ndef test_ping").replace(
        "import app", "import app\nimport pytest"
    )
    _write(pytester, "test_legacy", skipped)
    run = _update(pytester)
    run.result.assert_outcomes(passed=2, skipped=1)
    assert len(_entries(pytester)) == 3


def test_update_writes_atomically_and_leaves_no_temporary_file(pytester: pytest.Pytester) -> None:
    write_project(pytester, app=APP, test_legacy=LEGACY)
    _update(pytester)
    leftovers = [path.name for path in pytester.path.iterdir() if path.name.startswith(".asyncmock-guard-")]
    assert leftovers == []


def test_baseline_from_ini_is_relative_to_the_rootdir(pytester: pytest.Pytester) -> None:
    write_project(pytester, app=APP, test_legacy=LEGACY)
    (pytester.path / "ci").mkdir()
    pytester.makeini(INI + "asyncmock_guard_baseline = ci/baseline.json\n")
    first = run_guard(pytester, "strict", "--asyncmock-guard-update-baseline")
    first.result.stdout.fnmatch_lines(["baseline ci/baseline.json updated: 3 added, 0 removed, 3 entries in all"])
    assert len(json.loads((pytester.path / "ci" / "baseline.json").read_text())["entries"]) == 3
    again = run_guard(pytester, "strict")
    again.result.assert_outcomes(passed=3)
    assert again.result.ret == 0
    assert "baseline: " in again.output  # the header names the file


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "is not valid JSON"),
        ("[]", 'is not a baseline: expected a JSON object with an "entries" list'),
        ('{"version": 7, "entries": []}', "has version 7; this version of the guard reads version 1"),
        ('{"version": 1, "entries": [{"test": "t", "kind": "never-awaited"}]}', "entry 1 lacks the text field(s)"),
        (None, "does not exist; record one with --asyncmock-guard-update-baseline"),
    ],
)
def test_a_broken_baseline_is_a_usage_error(pytester: pytest.Pytester, content: str | None, problem: str) -> None:
    write_project(pytester, app=APP, test_legacy=LEGACY)
    path: Path = pytester.path / BASELINE
    if content is not None:
        path.write_text(content)
    result = pytester.runpytest_subprocess("-p", "asyncmock_guard", *_baseline_args())
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: asyncmock-guard: the baseline {path} *{problem}*"])


def test_an_update_never_overwrites_a_broken_baseline(pytester: pytest.Pytester) -> None:
    write_project(pytester, app=APP, test_legacy=LEGACY)
    (pytester.path / BASELINE).write_text("{not json")
    result = pytester.runpytest_subprocess(
        "-p", "asyncmock_guard", *_baseline_args("--asyncmock-guard-update-baseline")
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert (pytester.path / BASELINE).read_text() == "{not json"


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["--asyncmock-guard-update-baseline"], "--asyncmock-guard-update-baseline needs a baseline file"),
        (
            ["--asyncmock-guard-update-baseline", "--asyncmock-guard-baseline=missing/dir/b.json"],
            "the directory * does not exist",
        ),
        (
            ["--asyncmock-guard-update-baseline", f"--asyncmock-guard-baseline={BASELINE}", "--asyncmock-guard=off"],
            "cannot record findings with the guard off",
        ),
    ],
)
def test_update_usage_errors(pytester: pytest.Pytester, args: list[str], problem: str) -> None:
    write_project(pytester, app=APP, test_legacy=LEGACY)
    result = pytester.runpytest_subprocess("-p", "asyncmock_guard", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: asyncmock-guard: *{problem}*"])


def test_off_ignores_the_baseline(pytester: pytest.Pytester) -> None:
    write_project(pytester, app=APP, test_legacy=LEGACY)
    result = pytester.runpytest_subprocess("-p", "asyncmock_guard", "--asyncmock-guard=off", *_baseline_args())
    result.assert_outcomes(passed=3, warnings=3)  # Python's own never-awaited warnings, as without the guard


# The three legacy tests with every misuse fixed, each in a way that may keep it from running its body.
FIXED = """
from unittest.mock import MagicMock

import pytest

import app


@pytest.fixture
def database_down():
    raise ConnectionError("the database is down")


def test_save(database_down):
    db = MagicMock()
    app.save(db, 1)


def test_ping():
    pytest.skip("no network here")
    client = MagicMock()
    app.ping(client)


def test_remember():
    cache = MagicMock()
    app.remember(cache, "k")
"""


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_an_update_keeps_the_entries_of_tests_that_did_not_run_their_body(
    pytester: pytest.Pytester, workers: list[str]
) -> None:
    """A fixture that errors in setup, and a skip in the body: those tests did not show their findings gone."""
    write_project(pytester, app=APP, test_legacy=LEGACY)
    _update(pytester)
    _write(pytester, "test_legacy", FIXED)
    run = _update(pytester, *workers)
    run.result.assert_outcomes(passed=1, skipped=1, errors=1)
    run.result.stdout.fnmatch_lines([f"baseline {BASELINE} updated: 0 added, 1 removed, 2 entries in all*"])
    assert _tests_in(pytester) == ["test_legacy.py::test_ping", "test_legacy.py::test_save"]
    stale = run_guard(pytester, "strict", *_baseline_args(), *workers)
    assert "stale" not in stale.output
    assert stale.document["baseline"]["stale"] == []


STOPPED = {
    "ctrl-c": ("raise KeyboardInterrupt", ()),
    "pytest.exit": ('pytest.exit("enough")', ()),
    "-x": ("assert False", ("-x",)),
    "--maxfail": ("assert False", ("--maxfail=1",)),
}


@pytest.mark.parametrize("how", sorted(STOPPED))
def test_an_update_of_a_run_that_stopped_early_removes_nothing(pytester: pytest.Pytester, how: str) -> None:
    """The tests after the stop did not run, and nothing says which ones those are to every reader: an
    interrupted run adds what it found and removes nothing, even the entries of tests that ran."""
    statement, options = STOPPED[how]
    write_project(pytester, app=APP, test_legacy=LEGACY)
    _update(pytester)
    stopping = FIXED.replace("(database_down)", "()").replace('    pytest.skip("no network here")\n', "")
    publish = 'def test_publish():\n    app.publish(AsyncMock(), "created")\n\n\n'
    stop = f"def test_stop():\n    {statement}\n\n\n"
    stopping = stopping.replace("def test_remember():", f"{publish}{stop}def test_remember():")
    _write(pytester, "test_legacy", stopping.replace("import MagicMock", "import AsyncMock, MagicMock"))
    run = _update(pytester, *options)
    assert run.result.ret != 0
    run.result.stdout.fnmatch_lines(
        [f"baseline {BASELINE} updated: 1 added, 0 removed, 4 entries in all (the run stopped early: no entry*"]
    )
    assert _tests_in(pytester) == [
        "test_legacy.py::test_ping",
        "test_legacy.py::test_publish",
        "test_legacy.py::test_remember",
        "test_legacy.py::test_save",
    ]
    assert run.document["baseline"]["updated"]["stopped_early"] is True


# The disk fills up at the end of the session: every write of a guard's file fails.
DISK_FULL = """
import errno
import os

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish():
    real = os.replace

    def full(source, target):
        if os.path.basename(source).startswith(".asyncmock-guard-"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(source, target)

    os.replace = full
"""


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_an_update_that_cannot_be_written_says_so_and_fails_the_run(
    pytester: pytest.Pytester, workers: list[str]
) -> None:
    """No "updated" line, and exit status 1, however the tests went."""
    write_project(pytester, app=APP, test_legacy=LEGACY, conftest=DISK_FULL)
    result = pytester.runpytest_subprocess(
        "-p", "asyncmock_guard", "-p", "no:randomly", *_baseline_args("--asyncmock-guard-update-baseline"), *workers
    )
    result.assert_outcomes(passed=3)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [f"asyncmock-guard: the baseline {BASELINE} was not written (OSError: *No space left on device); the run fails"]
    )
    assert "updated" not in result.stdout.str()
    assert "internal error" not in result.stdout.str()
    assert not (pytester.path / BASELINE).exists()


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_a_report_that_cannot_be_written_says_so_and_fails_the_run(
    pytester: pytest.Pytester, workers: list[str]
) -> None:
    write_project(pytester, app=APP, test_ok="def test_ok():\n    pass\n", conftest=DISK_FULL)
    result = pytester.runpytest_subprocess(
        "-p", "asyncmock_guard", "-p", "no:randomly", "--asyncmock-guard-report=report.json", *workers
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    lines = result.stdout.lines
    assert "1 passed" in lines[-2]  # pytest's last line, then the guard's, written after it
    assert lines[-1].startswith("asyncmock-guard: the report report.json was not written (OSError: ")
    assert "internal error" not in result.stdout.str()
    assert not (pytester.path / "report.json").exists()


SURROGATE = """
from unittest.mock import AsyncMock

import app


def test_named_from_bytes():
    app.save(AsyncMock(name=b"db\\xff".decode("utf-8", "surrogateescape")), 1)  # named by its mock name only
"""


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_a_name_with_a_lone_surrogate_is_reported_recorded_and_accepted(
    pytester: pytest.Pytester, workers: list[str]
) -> None:
    """A mock named from bytes that were not UTF-8: the report, the baseline and pytest-xdist's messages
    carry it (as its escape where text is shown), and the baseline accepts it on the next run."""
    write_project(pytester, app=APP, test_bytes=SURROGATE)
    strict = run_guard(pytester, "strict", *workers)
    strict.result.assert_outcomes(failed=1)
    assert "INTERNALERROR" not in strict.output
    assert "[never-awaited] db\\udcff.add" in strict.output
    assert strict.only()["subject"] == "db\udcff.add"
    recorded = _update(pytester, *workers)
    assert recorded.result.ret == 0
    assert [entry["subject"] for entry in _entries(pytester)] == ["db\udcff.add"]
    accepted = run_guard(pytester, "strict", *_baseline_args(), *workers)
    assert accepted.result.ret == 0
    assert accepted.only()["baselined"] is True


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_an_update_keeps_the_baselines_mode(pytester: pytest.Pytester) -> None:
    write_project(pytester, app=APP, test_legacy=LEGACY)
    _update(pytester)
    baseline = pytester.path / BASELINE
    assert stat.S_IMODE(baseline.stat().st_mode) == 0o666 & ~_umask()  # a new file: what open would give
    baseline.chmod(0o664)
    _write(pytester, "test_legacy", LEGACY.replace("    client = AsyncMock()", "    client = MagicMock()"))
    _write(
        pytester,
        "test_legacy",
        "from unittest.mock import MagicMock\n" + (pytester.path / "test_legacy.py").read_text(),
    )
    _update(pytester).result.stdout.fnmatch_lines([f"baseline {BASELINE} updated: 0 added, 1 removed, 2 entries*"])
    assert stat.S_IMODE(baseline.stat().st_mode) == 0o664
    assert [path.name for path in pytester.path.iterdir() if path.name.startswith(".asyncmock-guard-")] == []


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
