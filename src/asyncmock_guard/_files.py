"""Writing the guard's files (the report, the baseline, the files ``edits`` change, a pytest-xdist worker's
findings for its controller) so that no reader ever sees half a file and nothing else changes.

The text goes to a temporary file beside the target, which gets the target's permission bits (and owner,
where the writer may set it; a new file gets what ``open`` would give it, 0666 minus the umask), is flushed
to disk, and is renamed over the target; the directory is flushed before and after the rename. A write
that a kill interrupted leaves its temporary file: the next write to that directory removes the ones whose
writing process has gone.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile
import time

_PREFIX = ".asyncmock-guard-"
_SUFFIX = ".tmp"
_OURS = re.compile(re.escape(_PREFIX) + r"(?:(?P<pid>\d+)-)?[^/\\]*" + re.escape(_SUFFIX))
_STALE_AFTER = 3600.0  # seconds: a temporary file that names no process (an older guard's) is stale then


def write_text(path: str, text: str) -> None:
    """Write JSON text as UTF-8: a lone surrogate (a name Python decoded from bytes that were not UTF-8)
    becomes its JSON escape, which reads back as the same string."""
    write_atomically(path, text.encode("utf-8", "backslashreplace"))


def write_atomically(path: str, data: bytes) -> None:
    """Replace ``path`` (a symlink's target, so that the link stays a link) with ``data``; a crash leaves
    either the old or the new contents. Raises ``OSError`` when the file cannot be written."""
    target = os.path.realpath(path)
    directory = os.path.dirname(target)
    remove_stale_temporaries(directory)
    try:
        existing: os.stat_result | None = os.stat(target)
    except FileNotFoundError:
        existing = None
    handle, temporary = tempfile.mkstemp(prefix=f"{_PREFIX}{os.getpid()}-", suffix=_SUFFIX, dir=directory)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            _keep_mode_and_owner(temporary, stream.fileno(), existing)
            os.fsync(stream.fileno())
        _fsync_directory(directory)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    _fsync_directory(directory)


def _keep_mode_and_owner(temporary: str, handle: int, existing: os.stat_result | None) -> None:
    if existing is None:
        os.chmod(temporary, 0o666 & ~_umask())
        return
    os.chmod(temporary, stat.S_IMODE(existing.st_mode))
    chown = getattr(os, "fchown", None)
    if chown is not None and (existing.st_uid, existing.st_gid) != (os.geteuid(), os.getegid()):
        with contextlib.suppress(OSError):  # only root may give a file away; the group may still be kept
            chown(handle, existing.st_uid, existing.st_gid)


def _umask() -> int:
    """The process's umask, read without changing it where the system says it (Linux), else by setting it
    back at once."""
    with contextlib.suppress(OSError, ValueError), open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync_directory(directory: str) -> None:
    """Make the directory's entries durable; where a directory cannot be opened or flushed (Windows, some
    file systems), the rename is as durable as the system makes it."""
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)
    try:
        handle = os.open(directory, flags)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(handle)
    finally:
        os.close(handle)


def remove_stale_temporaries(directory: str) -> None:
    """Remove the temporary files of writes that were killed: those of processes that no longer run (and
    any after an hour, older guards' among them, which named no process). A live writer's are kept."""
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        matched = _OURS.fullmatch(name)
        if matched is None:
            continue
        path = os.path.join(directory, name)
        pid = matched.group("pid")
        with contextlib.suppress(OSError):
            if (pid is not None and _has_ended(int(pid))) or time.time() - os.stat(path).st_mtime > _STALE_AFTER:
                os.unlink(path)


def _has_ended(pid: int) -> bool:
    """Whether no process has this id now (where the system can tell without harm: not on Windows, where
    ``os.kill`` ends the process)."""
    if pid == os.getpid() or os.name == "nt":
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except (OSError, OverflowError):  # another user's process (PermissionError), or not a process id
        return False
    return False
