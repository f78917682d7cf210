"""Unit tests of the baseline (keys, file format, claiming, reconciling) and of the path globs and mode precedence."""

from __future__ import annotations

import json
import linecache
import os
import re
from collections import Counter
from pathlib import Path

import pytest

from asyncmock_guard._baseline import Baseline, Key, reconcile, render
from asyncmock_guard._config import Mode, Modes, PathModes, _glob_pattern
from asyncmock_guard._findings import Finding, FindingKind, Location

NODEID = "tests/test_orders.py::test_checkout"
SOURCE = "def test_checkout(db):\n    db.execute(   'select 1',\t1 )\n    pass\n\n    db.execute(   'select 1',\t1 )\n"


def _finding(
    path: Path,
    line: int = 2,
    *,
    kind: FindingKind = FindingKind.NEVER_AWAITED,
    nodeid: str | None = NODEID,
    subject: str = "db.execute",
    phase: str = "call",
) -> Finding:
    return Finding(
        kind=kind,
        nodeid=nodeid,
        subject=subject,
        where=Location(str(path), line, "test_checkout"),
        message="message",
        fix="fix",
        phase=phase,
    )


def _key(**changes: str) -> Key:
    key = Key(
        path="tests/test_orders.py", test=NODEID, kind="never-awaited", subject="db.execute", line_text="db.execute()"
    )
    return key._replace(**changes)


@pytest.fixture
def source_file(tmp_path: Path) -> Path:
    path = tmp_path / "tests" / "test_orders.py"
    path.parent.mkdir()
    path.write_text(SOURCE, encoding="utf-8")
    linecache.checkcache(str(path))
    return path


# --- Key ------------------------------------------------------------------------------------------------


def test_key_of_a_finding_in_a_test(source_file: Path, tmp_path: Path) -> None:
    key = Key.of(_finding(source_file), str(tmp_path))
    assert key == Key(
        path="tests/test_orders.py",
        test=NODEID,
        kind="never-awaited",
        subject="db.execute",
        line_text="db.execute( 'select 1', 1 )",
    )
    assert not key.outside_tests


def test_key_of_a_finding_outside_any_test_names_the_phase(source_file: Path, tmp_path: Path) -> None:
    key = Key.of(_finding(source_file, nodeid=None, phase="collection"), str(tmp_path))
    assert key.test == "<collection>"
    assert key.outside_tests


def test_key_path_outside_the_rootdir_stays_absolute(source_file: Path, tmp_path: Path) -> None:
    other_root = tmp_path / "elsewhere"
    other_root.mkdir()
    assert Key.of(_finding(source_file), str(other_root)).path == str(source_file)


def test_key_ignores_the_line_number(source_file: Path, tmp_path: Path) -> None:
    first = Key.of(_finding(source_file, 2), str(tmp_path))
    moved = Key.of(_finding(source_file, 5), str(tmp_path))
    assert first == moved
    assert first.fingerprint == moved.fingerprint
    assert Key.of(_finding(source_file, 3), str(tmp_path)).line_text == "pass"


def test_key_follows_a_rewritten_line(source_file: Path, tmp_path: Path) -> None:
    before = Key.of(_finding(source_file), str(tmp_path))
    source_file.write_text("def test_checkout(db):\n    db.execute('select 2')\n", encoding="utf-8")
    linecache.checkcache(str(source_file))
    after = Key.of(_finding(source_file), str(tmp_path))
    assert after.line_text == "db.execute('select 2')"
    assert after.fingerprint != before.fingerprint


def test_fingerprint_is_16_hex_chars_and_stable() -> None:
    fingerprint = _key().fingerprint
    assert re.fullmatch(r"[0-9a-f]{16}", fingerprint)
    assert _key().fingerprint == fingerprint  # the same key from another instance


@pytest.mark.parametrize(
    "changes",
    [
        {"kind": "spec-is-data"},
        {"test": "tests/test_orders.py::test_refund"},
        {"subject": "db.commit"},
        {"path": "tests/test_refunds.py"},
        {"line_text": "db.execute(1)"},
    ],
)
def test_fingerprint_changes_with_every_field(changes: dict[str, str]) -> None:
    assert _key(**changes).fingerprint != _key().fingerprint


def test_fingerprint_does_not_confuse_shifted_fields() -> None:
    """The fields are joined with a separator, so moving text from one field to the next changes it."""
    assert (
        _key(subject="db.", line_text="execute()").fingerprint != _key(subject="db", line_text=".execute()").fingerprint
    )


# --- Baseline.load --------------------------------------------------------------------------------------


def _write(tmp_path: Path, document: object) -> Path:
    path = tmp_path / "baseline.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def _entry(**changes: object) -> dict[str, object]:
    entry: dict[str, object] = {
        "test": NODEID,
        "kind": "never-awaited",
        "subject": "db.execute",
        "path": "tests/test_orders.py",
        "line_text": "db.execute()",
        "count": 1,
    }
    entry.update(changes)
    return entry


def _load_error(path: Path) -> str:
    with pytest.raises(pytest.UsageError) as excinfo:
        Baseline.load(str(path))
    message = str(excinfo.value)
    assert message.startswith(f"asyncmock-guard: the baseline {path} ")
    return message


def test_load_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.json"
    message = _load_error(path)
    assert "does not exist" in message
    assert "--asyncmock-guard-update-baseline" in message


def test_load_missing_file_when_allowed_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "nope.json"
    baseline = Baseline.load(str(path), missing_ok=True)
    assert baseline.entries == Counter()
    assert baseline.path == str(path)
    assert not baseline.claim(_key())
    assert not path.exists()


def test_load_invalid_json(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    path.write_text('{"version": 1, "entries": [', encoding="utf-8")
    assert "is not valid JSON" in _load_error(path)


@pytest.mark.parametrize("document", [[], {"version": 1}, {"version": 1, "entries": {}}, "entries"])
def test_load_wrong_top_level_shape(tmp_path: Path, document: object) -> None:
    message = _load_error(_write(tmp_path, document))
    assert 'is not a baseline: expected a JSON object with an "entries" list' in message


@pytest.mark.parametrize(("version", "shown"), [(2, "2"), (None, "None"), ("1", "'1'")])
def test_load_wrong_version(tmp_path: Path, version: object, shown: str) -> None:
    document: dict[str, object] = {"entries": []}
    if version is not None:
        document["version"] = version
    message = _load_error(_write(tmp_path, document))
    assert f"has version {shown}; this version of the guard reads version 1" in message


def test_load_entry_not_an_object(tmp_path: Path) -> None:
    message = _load_error(_write(tmp_path, {"version": 1, "entries": [_entry(), "db.execute"]}))
    assert "is malformed: entry 2 is not an object" in message


@pytest.mark.parametrize(
    ("entry", "missing"),
    [
        ({key: value for key, value in _entry().items() if key != "subject"}, "subject"),
        (_entry(line_text=3), "line_text"),
        (_entry(test=None, path=["tests"]), "test, path"),
    ],
)
def test_load_entry_lacking_a_text_field(tmp_path: Path, entry: dict[str, object], missing: str) -> None:
    message = _load_error(_write(tmp_path, {"version": 1, "entries": [entry]}))
    assert f"is malformed: entry 1 lacks the text field(s) {missing}" in message


def test_load_unknown_kind(tmp_path: Path) -> None:
    message = _load_error(_write(tmp_path, {"version": 1, "entries": [_entry(kind="never-awaited-twice")]}))
    assert "is malformed: entry 1 has the unknown kind 'never-awaited-twice'" in message


@pytest.mark.parametrize(("count", "shown"), [(0, "0"), (-1, "-1"), ("2", "'2'"), (True, "True"), (1.5, "1.5")])
def test_load_bad_count(tmp_path: Path, count: object, shown: str) -> None:
    message = _load_error(_write(tmp_path, {"version": 1, "entries": [_entry(count=count)]}))
    assert f"is malformed: entry 1 has count {shown}; a count is a positive integer" in message


def test_load_a_directory(tmp_path: Path) -> None:
    assert "cannot be read" in _load_error(tmp_path)


def test_load_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    path.write_bytes(b'{"version": 1, "entries": ["\xff\xfe"]}')
    assert "cannot be read" in _load_error(path)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="needs a POSIX user without root rights")
def test_load_a_file_without_read_permission(tmp_path: Path) -> None:
    path = _write(tmp_path, {"version": 1, "entries": []})
    path.chmod(0)
    try:
        assert "cannot be read" in _load_error(path)
    finally:
        path.chmod(0o600)


def test_load_defaults_the_count_to_one_and_sums_repeated_entries(tmp_path: Path) -> None:
    entry = _entry()
    del entry["count"]
    path = _write(tmp_path, {"version": 1, "entries": [entry, _entry(count=2), _entry(subject="db.commit")]})
    assert Baseline.load(str(path)).entries == Counter({_key(): 3, _key(subject="db.commit"): 1})


def test_load_ignores_the_stored_fingerprint(tmp_path: Path) -> None:
    path = _write(tmp_path, {"version": 1, "entries": [_entry(fingerprint="0000000000000000")]})
    assert Baseline.load(str(path)).entries == Counter({_key(): 1})


# --- render ---------------------------------------------------------------------------------------------


def _entries() -> Counter[Key]:
    return Counter(
        {
            _key(path="tests/z.py"): 1,
            _key(subject="réglages.get"): 2,
            _key(test="<session fixture db>", kind="spec-is-data"): 1,
            _key(path="tests/a.py", kind="coroutine-misuse"): 3,
        }
    )


def test_render_round_trips_through_load(tmp_path: Path) -> None:
    text = render(_entries())
    path = tmp_path / "baseline.json"
    path.write_text(text, encoding="utf-8")
    loaded = Baseline.load(str(path))
    assert loaded.entries == _entries()
    assert render(loaded.entries) == text


def test_render_is_sorted_indented_json() -> None:
    text = render(_entries())
    document = json.loads(text)
    assert text == json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert "réglages.get" in text  # not escaped
    assert document["version"] == 1
    assert document["tool"] == "pytest-asyncmock-guard"
    listed = [(e["path"], e["test"], e["kind"], e["subject"], e["line_text"]) for e in document["entries"]]
    assert listed == sorted(listed)
    assert len(listed) == 4
    first = document["entries"][0]
    assert first == {
        "count": 3,
        "fingerprint": _key(path="tests/a.py", kind="coroutine-misuse").fingerprint,
        "kind": "coroutine-misuse",
        "line_text": "db.execute()",
        "path": "tests/a.py",
        "subject": "db.execute",
        "test": NODEID,
    }


def test_render_drops_entries_without_occurrences() -> None:
    document = json.loads(render(Counter({_key(): 0, _key(subject="db.commit"): 1})))
    assert [entry["subject"] for entry in document["entries"]] == ["db.commit"]


def test_render_of_nothing_is_an_empty_baseline(tmp_path: Path) -> None:
    text = render(Counter())
    assert json.loads(text) == {"entries": [], "tool": "pytest-asyncmock-guard", "version": 1}
    path = tmp_path / "baseline.json"
    path.write_text(text, encoding="utf-8")
    assert Baseline.load(str(path)).entries == Counter()


# --- Baseline.claim -------------------------------------------------------------------------------------


def test_claim_accepts_each_recorded_occurrence_once() -> None:
    baseline = Baseline("baseline.json", Counter({_key(): 2}))
    assert [baseline.claim(_key()) for _ in range(3)] == [True, True, False]
    assert baseline.entries == Counter({_key(): 2})  # claiming does not change what the file says


def test_claim_of_an_unknown_key() -> None:
    baseline = Baseline("baseline.json", Counter({_key(): 1}))
    assert not baseline.claim(_key(subject="db.commit"))
    assert baseline.claim(_key())


# --- reconcile ------------------------------------------------------------------------------------------

RAN = _key(test="tests/test_orders.py::test_ran")
GONE = _key(test="tests/test_orders.py::test_fixed")
NOT_RUN = _key(test="tests/test_other.py::test_deselected")
NEW = _key(test="tests/test_orders.py::test_new")


def _covered(key: Key) -> bool:
    return key.test.startswith("tests/test_orders.py::")


def test_reconcile_keeps_found_drops_fixed_and_adds_new() -> None:
    result = reconcile(Counter({RAN: 1, GONE: 1, NOT_RUN: 1}), [RAN, NEW], _covered)
    assert result.updated == Counter({RAN: 1, NOT_RUN: 1, NEW: 1})
    assert result.stale == Counter({GONE: 1})
    assert (result.added, result.removed, result.kept_not_run) == (1, 1, 1)


def test_reconcile_keeps_an_entry_whose_test_did_not_run() -> None:
    result = reconcile(Counter({NOT_RUN: 2}), [], _covered)
    assert result.updated == Counter({NOT_RUN: 2})
    assert result.stale == Counter()
    assert (result.added, result.removed, result.kept_not_run) == (0, 0, 2)


def test_reconcile_an_uncovered_entry_found_anyway_counts_as_kept() -> None:
    result = reconcile(Counter({NOT_RUN: 1}), [NOT_RUN], _covered)
    assert result.updated == Counter({NOT_RUN: 1})
    assert (result.added, result.removed, result.kept_not_run) == (0, 0, 1)


def test_reconcile_fewer_occurrences_are_partly_stale() -> None:
    result = reconcile(Counter({RAN: 2}), [RAN], _covered)
    assert result.stale == Counter({RAN: 1})
    assert result.updated == Counter({RAN: 1})
    assert (result.added, result.removed, result.kept_not_run) == (0, 1, 0)


def test_reconcile_more_occurrences_are_added() -> None:
    result = reconcile(Counter({RAN: 1}), [RAN, RAN, RAN], _covered)
    assert result.stale == Counter()
    assert result.updated == Counter({RAN: 3})
    assert (result.added, result.removed, result.kept_not_run) == (2, 0, 0)


def test_reconcile_an_unchanged_run_changes_nothing() -> None:
    baseline = Counter({RAN: 2, GONE: 1})
    result = reconcile(baseline, [RAN, GONE, RAN], _covered)
    assert result.updated == baseline
    assert result.stale == Counter()
    assert (result.added, result.removed, result.kept_not_run) == (0, 0, 0)


# --- path globs -----------------------------------------------------------------------------------------


def _mode_for(tmp_path: Path, lines: list[str], relative: str) -> Mode | None:
    return PathModes.parse(lines, tmp_path).mode_for(tmp_path / relative)


@pytest.mark.parametrize(
    ("glob", "relative", "matches"),
    [
        ("tests/legacy/**", "tests/legacy/test_a.py", True),
        ("tests/legacy/**", "tests/legacy/sub/test_b.py", True),
        ("tests/legacy/**", "tests/legacy_other/test_c.py", False),
        ("tests/legacy/**", "tests/test_legacy.py", False),
        ("tests/legacy", "tests/legacy/test_a.py", True),
        ("tests/legacy", "tests/legacy/sub/deeper/test_b.py", True),
        ("tests/legacy", "tests/legacy_other/test_c.py", False),
        ("tests/legacy/", "tests/legacy/sub/test_b.py", True),
        ("tests/*/test_x.py", "tests/unit/test_x.py", True),
        ("tests/*/test_x.py", "tests/unit/deep/test_x.py", False),
        ("tests/*/test_x.py", "tests/test_x.py", False),
        ("tests/**/test_x.py", "tests/test_x.py", True),
        ("tests/**/test_x.py", "tests/a/b/test_x.py", True),
        ("**/test_slow_*.py", "test_slow_io.py", True),
        ("**/test_slow_*.py", "tests/test_slow_db.py", True),
        ("**/test_slow_*.py", "tests/a/b/test_slow_net.py", True),
        ("**/test_slow_*.py", "tests/test_fast.py", False),
        ("**/test_slow_*.py", "tests/test_slow_db.pyc", False),
        ("tests/test_?.py", "tests/test_a.py", True),
        ("tests/test_?.py", "tests/test_ab.py", False),
        ("tests?test_a.py", "tests/test_a.py", False),
        ("tests/test_[ab].py", "tests/test_a.py", True),
        ("tests/test_[ab].py", "tests/test_b.py", True),
        ("tests/test_[ab].py", "tests/test_c.py", False),
        ("tests/test_[!ab].py", "tests/test_c.py", True),
        ("tests/test_[!ab].py", "tests/test_a.py", False),
        ("tests/test_[!ab].py", "tests/test_b.py", False),
        ("tests/test_[a-c].py", "tests/test_b.py", True),
        ("tests/test_[a-c].py", "tests/test_d.py", False),
        ("tests/test_x.py", "tests/test_xpy", False),  # the dot is literal
    ],
)
def test_glob(tmp_path: Path, glob: str, relative: str, matches: bool) -> None:
    assert (_mode_for(tmp_path, [f"{glob} = warn"], relative) is Mode.WARN) is matches


@pytest.mark.parametrize("glob", ["tests[!ab]legacy", "tests[!x]legacy/**"])
def test_negated_bracket_does_not_cross_directories(tmp_path: Path, glob: str) -> None:
    """As documented in ``PathModes``: ``*``, ``?`` and ``[...]`` stay within one directory."""
    assert _mode_for(tmp_path, [f"{glob} = warn"], "tests/legacy/test_a.py") is None
    assert not _glob_pattern(glob.removesuffix("/**")).fullmatch("tests/legacy")


def test_glob_pattern_is_anchored() -> None:
    pattern = _glob_pattern("legacy/*.py")
    assert pattern.fullmatch("legacy/test_a.py")
    assert not pattern.fullmatch("tests/legacy/test_a.py")
    assert not pattern.fullmatch("legacy/test_a.py.orig")


def test_last_matching_rule_wins(tmp_path: Path) -> None:
    lines = ["tests/** = warn", "tests/legacy/** = off", "tests/legacy/test_keep.py = strict"]
    assert _mode_for(tmp_path, lines, "tests/test_a.py") is Mode.WARN
    assert _mode_for(tmp_path, lines, "tests/legacy/test_b.py") is Mode.OFF
    assert _mode_for(tmp_path, lines, "tests/legacy/test_keep.py") is Mode.STRICT
    reordered = [lines[1], lines[0]]
    assert _mode_for(tmp_path, reordered, "tests/legacy/test_b.py") is Mode.WARN


def test_no_rule_matches(tmp_path: Path) -> None:
    assert _mode_for(tmp_path, ["tests/legacy/** = off"], "tests/test_a.py") is None
    assert PathModes.parse([], tmp_path).mode_for(tmp_path / "tests" / "test_a.py") is None
    assert PathModes.parse(["tests = off"], tmp_path).mode_for(None) is None


def test_a_path_outside_the_rootdir_matches_nothing(tmp_path: Path) -> None:
    rootdir = tmp_path / "project"
    path_modes = PathModes.parse(["** = off", "**/test_a.py = warn"], rootdir)
    assert path_modes.mode_for(tmp_path / "elsewhere" / "test_a.py") is None
    assert path_modes.mode_for(rootdir / "tests" / "test_a.py") is Mode.WARN


def test_parse_accepts_spaces_and_any_case(tmp_path: Path) -> None:
    path_modes = PathModes.parse(["tests/legacy/**=WARN", "  tests/slow/**   =   Off  "], tmp_path)
    assert path_modes.mode_for(tmp_path / "tests/legacy/test_a.py") is Mode.WARN
    assert path_modes.mode_for(tmp_path / "tests/slow/test_b.py") is Mode.OFF


@pytest.mark.parametrize("line", ["tests/legacy/**", " = warn", "/ = warn"])
def test_parse_rejects_a_line_without_a_glob_and_a_mode(tmp_path: Path, line: str) -> None:
    with pytest.raises(pytest.UsageError) as excinfo:
        PathModes.parse([line], tmp_path)
    message = str(excinfo.value)
    assert message.startswith("asyncmock-guard: ini option asyncmock_guard_paths has ")
    assert repr(line) in message
    assert "write one 'GLOB = MODE' per line" in message


def test_parse_rejects_an_unknown_mode(tmp_path: Path) -> None:
    line = "tests/legacy/** = loud"
    with pytest.raises(pytest.UsageError) as excinfo:
        PathModes.parse(["tests/** = warn", line], tmp_path)
    message = str(excinfo.value)
    assert f"the mode of {line!r} in ini option asyncmock_guard_paths is 'loud';" in message
    assert "valid modes are 'strict', 'warn', 'off'" in message


def test_turns_on(tmp_path: Path) -> None:
    assert not PathModes.parse([], tmp_path).turns_on()
    assert not PathModes.parse(["tests/** = off"], tmp_path).turns_on()
    assert PathModes.parse(["tests/** = off", "tests/new/** = warn"], tmp_path).turns_on()


# --- Modes ----------------------------------------------------------------------------------------------


def _modes(tmp_path: Path, lines: list[str], command_line: Mode | None = None, ini: Mode | None = None) -> Modes:
    return Modes(command_line=command_line, by_path=PathModes.parse(lines, tmp_path), ini=ini)


def test_for_path_precedence(tmp_path: Path) -> None:
    legacy = tmp_path / "tests" / "legacy" / "test_a.py"
    other = tmp_path / "tests" / "test_b.py"
    rules = ["tests/legacy/** = off"]
    assert _modes(tmp_path, rules, command_line=Mode.WARN, ini=Mode.STRICT).for_path(legacy) is Mode.WARN
    assert _modes(tmp_path, rules, ini=Mode.WARN).for_path(legacy) is Mode.OFF
    assert _modes(tmp_path, rules, ini=Mode.WARN).for_path(other) is Mode.WARN
    assert _modes(tmp_path, rules).for_path(other) is Mode.STRICT
    assert _modes(tmp_path, rules).for_path(None) is Mode.STRICT
    assert Modes().for_path(legacy) is Mode.STRICT


def test_installs(tmp_path: Path) -> None:
    turns_on = ["tests/new/** = strict"]
    assert not _modes(tmp_path, turns_on, command_line=Mode.OFF).installs
    assert not _modes(tmp_path, turns_on, command_line=Mode.OFF, ini=Mode.STRICT).installs
    assert _modes(tmp_path, turns_on, ini=Mode.OFF).installs
    assert _modes(tmp_path, ["tests/new/** = warn"], ini=Mode.OFF).installs
    assert not _modes(tmp_path, [], ini=Mode.OFF).installs
    assert not _modes(tmp_path, ["tests/** = off"], ini=Mode.OFF).installs
    assert _modes(tmp_path, [], command_line=Mode.WARN, ini=Mode.OFF).installs
    assert Modes().installs


def test_session(tmp_path: Path) -> None:
    rules = ["tests/** = off"]
    assert _modes(tmp_path, rules, command_line=Mode.WARN, ini=Mode.OFF).session is Mode.WARN
    assert _modes(tmp_path, rules, ini=Mode.WARN).session is Mode.WARN
    assert _modes(tmp_path, rules).session is Mode.STRICT
    assert _modes(tmp_path, ["** = warn"], ini=Mode.OFF).session is Mode.OFF
