"""Writing the guard's files: atomic, durable, the file's mode and owner kept, nothing left behind, any
string written (see ``_files``)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from asyncmock_guard import _files

POSIX = pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits and process ids")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _ours(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir() if path.name.startswith(".asyncmock-guard-"))


@POSIX
def test_an_existing_files_mode_is_kept(tmp_path: Path) -> None:
    target = tmp_path / "baseline.json"
    target.write_text("{}")
    target.chmod(0o640)
    _files.write_text(str(target), '{"entries": []}\n')
    assert target.read_text() == '{"entries": []}\n'
    assert _mode(target) == 0o640


@POSIX
@pytest.mark.parametrize(("umask", "expected"), [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600)])
def test_a_new_file_gets_what_open_would_give_it(tmp_path: Path, umask: int, expected: int) -> None:
    previous = os.umask(umask)
    try:
        _files.write_text(str(tmp_path / "report.json"), "{}\n")
    finally:
        os.umask(previous)
    assert _mode(tmp_path / "report.json") == expected


@POSIX
@pytest.mark.skipif(os.name == "posix" and os.geteuid() != 0, reason="only root may give a file away")
def test_an_existing_files_owner_is_kept(tmp_path: Path) -> None:
    target = tmp_path / "baseline.json"
    target.write_text("{}")
    os.chown(target, 65534, 65534)
    _files.write_text(str(target), "[]\n")
    assert (target.stat().st_uid, target.stat().st_gid) == (65534, 65534)


def test_the_file_and_its_directory_are_flushed_around_the_rename(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    done: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(handle: int) -> None:
        done.append("fsync directory" if stat.S_ISDIR(os.fstat(handle).st_mode) else "fsync file")
        real_fsync(handle)

    def replace(source: str, target: str) -> None:
        done.append("replace")
        real_replace(source, target)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    _files.write_text(str(tmp_path / "report.json"), "{}\n")
    expected = ["fsync file", "fsync directory", "replace", "fsync directory"]
    if os.name == "nt":  # a directory cannot be opened there
        expected = ["fsync file", "replace"]
    assert done == expected


def test_a_failed_write_raises_and_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "report.json"
    target.write_text("old")

    def broken(source: str, target: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError, match="No space left"):
        _files.write_text(str(target), "new")
    assert target.read_text() == "old"
    assert _ours(tmp_path) == []
    with pytest.raises(FileNotFoundError):
        _files.write_text(str(tmp_path / "missing" / "report.json"), "{}")


def test_a_lone_surrogate_is_written_as_its_json_escape(tmp_path: Path) -> None:
    target = tmp_path / "baseline.json"
    document = {"subject": "db\udcff.add", "accented": "caf\u00e9 \U0001f600"}
    _files.write_text(str(target), json.dumps(document, ensure_ascii=False))
    assert json.loads(target.read_text(encoding="utf-8")) == document
    assert "caf\u00e9" in target.read_text(encoding="utf-8")  # what can be written as UTF-8 is


@pytest.mark.skipif(not hasattr(os, "symlink") or os.name == "nt", reason="symlinks")
def test_a_symlink_stays_a_link(tmp_path: Path) -> None:
    real = tmp_path / "real.json"
    real.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    _files.write_text(str(link), "new")
    assert link.is_symlink()
    assert real.read_text() == "new"


@POSIX
def test_the_temporary_files_of_killed_writes_are_removed(tmp_path: Path) -> None:
    """A write killed between creating its temporary file and the rename leaves it: the next write removes
    those whose process has ended, and those of older guards after an hour; a live writer's stay."""
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    dead = tmp_path / f".asyncmock-guard-{ended.pid}-abc123.tmp"
    alive = tmp_path / f".asyncmock-guard-{os.getppid()}-def456.tmp"
    old_unnamed = tmp_path / ".asyncmock-guard-k2j4h5.tmp"
    fresh_unnamed = tmp_path / ".asyncmock-guard-x9y8z7.tmp"
    other = tmp_path / ".asyncmock-guard-notes.txt"
    for path in (dead, alive, old_unnamed, fresh_unnamed, other):
        path.write_text("half a file")
    two_hours_ago = time.time() - 7200
    os.utime(old_unnamed, (two_hours_ago, two_hours_ago))

    _files.write_text(str(tmp_path / "report.json"), "{}\n")

    assert _ours(tmp_path) == sorted([alive.name, fresh_unnamed.name, other.name])
